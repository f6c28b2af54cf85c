"""lrlab.threads: the intra-op thread count chosen from the work, its overrides, and that the engine,
the race, the sweep and the range test train with it and put torch's own setting back."""
from __future__ import annotations

import threading

import pytest
import torch

from lrlab import threads
from lrlab.train import TrainConfig, Trainer, train

REAL_IDLE_CORES = threads.idle_cores


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """No override and no LRLAB_THREADS unless a test sets them; torch's count as it was; a quiet
    machine (every core idle: the load guard has its own tests)."""
    monkeypatch.delenv("LRLAB_THREADS", raising=False)
    monkeypatch.setattr(threads, "idle_cores", lambda: threads.cores())
    before = torch.get_num_threads()
    previous = threads._override
    threads.set_override(None)
    yield
    threads._override = previous
    torch.set_num_threads(before)


def default_work():
    trainer = Trainer(TrainConfig(max_epochs=1))
    return trainer.n_train, trainer.params.numel()


# ---------------------------------------------------------------------------- choose
@pytest.mark.parametrize("cores", [1, 2, 4, 16, 64])
def test_default_net_gets_one_thread_on_any_machine(monkeypatch, cores):
    monkeypatch.setattr(threads, "cores", lambda: cores)
    rows, n_params = default_work()
    assert (rows, n_params) == (410, 354)  # 2-16-16-2 on 410 moons: the case
    assert threads.choose(rows, n_params) == 1
    assert threads.resolve(None, rows, n_params, 1) == 1


def test_big_work_gets_more_threads_when_there_are_cores(monkeypatch):
    big = 10 * threads.WORK_PER_THREAD  # rows x params x models
    monkeypatch.setattr(threads, "cores", lambda: 1)
    assert threads.choose(big, 1) == 1  # one core: never more than one
    monkeypatch.setattr(threads, "cores", lambda: 2)
    assert threads.choose(big, 1) == 2  # never more than the cores
    assert threads.choose(2048, 3 * 128 + 129 * 128 + 129 * 2) == 2  # 2-128-128-2 on 2048 rows
    monkeypatch.setattr(threads, "cores", lambda: 16)
    assert threads.choose(big, 1) == 11
    assert threads.choose(threads.WORK_PER_THREAD - 1, 1) == 1
    assert threads.choose(threads.WORK_PER_THREAD, 1) == 2
    # the work of a race is rows x params x models: K small nets together can earn a second thread
    rows, n_params = default_work()
    models = threads.WORK_PER_THREAD // (rows * n_params) + 1
    assert threads.choose(rows, n_params, 1) == 1 and threads.choose(rows, n_params, models) == 2


def test_cores_is_the_affinity_capped_by_the_container_quota(monkeypatch, tmp_path):
    import os
    assert 1 <= threads.cores() <= len(os.sched_getaffinity(0))
    assert threads.torch_default() >= 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # cgroup v2: 1.5 CPUs -> 2 threads at most
    assert threads._cgroup_cpus(str(tmp_path)) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads._cgroup_cpus(str(tmp_path)) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")  # cgroup v1: 1 CPU
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads._cgroup_cpus(str(tmp_path)) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads._cgroup_cpus(str(tmp_path)) is None
    assert threads._cgroup_cpus(str(tmp_path / "nothing")) is None
    monkeypatch.setattr(threads, "_cgroup_cpus", lambda: 1)
    assert threads.cores() == 1


def test_idle_cores_subtracts_the_load(monkeypatch):
    """A second thread sharing a core with a busy process makes the engine 6-50x slower: with the
    machine's cores busy, big work gets one thread."""
    import os
    monkeypatch.setattr(threads, "idle_cores", REAL_IDLE_CORES)  # the fixture replaced it
    monkeypatch.setattr(threads, "cores", lambda: 8)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for load, idle in [(0.0, 8), (0.4, 8), (0.6, 7), (3.0, 5), (7.6, 1), (8.0, 1), (40.0, 1)]:
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert threads.idle_cores() == idle, load
    big = 100 * threads.WORK_PER_THREAD
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    assert threads.choose(big, 1) == 6
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # our 8 cores of a 64-core node: our share of its load
    monkeypatch.setattr(os, "getloadavg", lambda: (32.0, 32.0, 32.0))
    assert threads.idle_cores() == 4
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    assert threads.idle_cores() == 8


# ---------------------------------------------------------------------------- overrides
def test_override_order(monkeypatch):
    """argument > set_override > LRLAB_THREADS > choose."""
    monkeypatch.setattr(threads, "cores", lambda: 16)
    big = (10 * threads.WORK_PER_THREAD, 1, 1)
    assert threads.resolve(None, *big) == 11  # choose
    monkeypatch.setenv("LRLAB_THREADS", "3")
    assert threads.resolve(None, *big) == 3  # the environment beats choose
    assert threads.resolve(None, 1, 1, 1) == 3  # also for small work
    threads.set_override(5)
    assert threads.resolve(None, *big) == 5  # set_override beats the environment
    assert threads.resolve(7, *big) == 7  # the argument beats everything
    threads.set_override(None)
    assert threads.resolve(None, *big) == 3
    monkeypatch.setenv("LRLAB_THREADS", " ")
    assert threads.resolve(None, *big) == 11  # blank: as if unset


@pytest.mark.parametrize("bad", [0, -1, 1025, 2.5, 2.0, "2", "x", True, False, [2], 2j])
def test_bad_counts_are_refused_with_a_message(bad):
    with pytest.raises(ValueError, match=r"^threads: must be a whole number of threads in \[1, 1024\], got "):
        threads.resolve(bad)
    with pytest.raises(ValueError, match=r"^threads: must be a whole number of threads in \[1, 1024\], got "):
        threads.set_override(bad)
    with pytest.raises(ValueError, match=r"^threads: "):
        with threads.engine_threads(bad):
            pass
    assert threads._override is None  # a refused override leaves none behind


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "1e3", "99999"])
def test_bad_environment_value_is_refused_with_a_message(monkeypatch, bad):
    monkeypatch.setenv("LRLAB_THREADS", bad)
    with pytest.raises(ValueError, match=r"^LRLAB_THREADS: must be a whole number of threads in \[1, 1024\], "
                                         r"got '.*' \(unset it to let lrlab choose\)$"):
        threads.resolve(None, 1, 1, 1)
    assert threads.resolve(2, 1, 1, 1) == 2  # an explicit count never reads the environment


# ---------------------------------------------------------------------------- engine_threads
def test_engine_threads_restores_the_previous_count_also_nested():
    torch.set_num_threads(3)
    with threads.engine_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        with threads.engine_threads(2):
            assert torch.get_num_threads() == 2
            with threads.engine_threads(2):
                assert torch.get_num_threads() == 2
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1  # the inner block gave the outer one its count back
    assert torch.get_num_threads() == 3


def test_engine_threads_restores_after_an_exception():
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError):
        with threads.engine_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    assert threads._depth == 0


def test_engine_threads_in_other_threads_leave_the_main_thread_alone():
    """A panel trains in its own thread: its count is its own, and when every block has ended,
    threads started later begin with torch's previous default again."""
    torch.set_num_threads(2)
    inside, release = threading.Barrier(3), threading.Event()
    seen = []

    def worker(n):
        with threads.engine_threads(n):
            inside.wait(5)
            release.wait(5)
            seen.append((n, torch.get_num_threads()))

    workers = [threading.Thread(target=worker, args=(n,)) for n in (1, 3)]
    for w in workers:
        w.start()
    inside.wait(5)
    assert torch.get_num_threads() == 2  # the main thread still has its own count
    release.set()
    for w in workers:
        w.join(5)
    assert sorted(seen) == [(1, 1), (3, 3)]
    assert torch.get_num_threads() == 2 and threads._depth == 0
    fresh = []
    t = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    t.start()
    t.join(5)
    assert fresh == [2]


# ---------------------------------------------------------------------------- the engine and the race
def test_train_runs_with_the_chosen_count_and_restores_it():
    torch.set_num_threads(2)
    seen = []
    run = train(TrainConfig(max_epochs=3), on_epoch=lambda record, run: seen.append(torch.get_num_threads()))
    assert len(run.history) == 3
    assert seen == [1, 1, 1]  # the default net: one thread
    assert torch.get_num_threads() == 2


def test_train_follows_the_override_and_the_environment(monkeypatch):
    torch.set_num_threads(1)
    seen = []
    threads.set_override(2)
    train(TrainConfig(max_epochs=2), on_epoch=lambda record, run: seen.append(torch.get_num_threads()))
    threads.set_override(None)
    monkeypatch.setenv("LRLAB_THREADS", "3")
    train(TrainConfig(max_epochs=2), on_epoch=lambda record, run: seen.append(torch.get_num_threads()))
    assert seen == [2, 2, 3, 3]
    assert torch.get_num_threads() == 1


def test_train_chooses_from_the_mini_batch(monkeypatch):
    """The work of one step is the mini-batch's rows, not the whole training set."""
    monkeypatch.setattr(threads, "cores", lambda: 8)
    chosen = []
    real = threads.resolve

    def spy(n, rows, n_params, models):
        chosen.append((rows, n_params, models))
        return real(n, rows, n_params, models)

    monkeypatch.setattr(threads, "resolve", spy)
    train(TrainConfig(max_epochs=1, batch_size=32))
    train(TrainConfig(max_epochs=1))
    # full batch: one pass runs the training and the test rows together (the engine's look-ahead pass)
    assert chosen == [(32, 354, 1), (512, 354, 1)]


def test_race_sweep_and_range_test_run_with_the_chosen_count(monkeypatch):
    from lrlab.race import Race, lr_range_test, sweep
    torch.set_num_threads(2)
    configs = [TrainConfig(optimizer=o, max_epochs=2) for o in ("sgd", "adam", "rmsprop")]
    r = Race(configs)
    assert r.threads() == threads.choose(512, 354, 3) == 1
    seen = []
    r.run(on_epoch=lambda records, race: seen.append(torch.get_num_threads()))
    assert seen == [1, 1] and torch.get_num_threads() == 2
    seen.clear()
    threads.set_override(3)
    sweep(["sgd", "adam"], "1e-3:1e-1:3", epochs=2, on_epoch=lambda records, race: seen.append(torch.get_num_threads()))
    assert seen == [3, 3] and torch.get_num_threads() == 2
    threads.set_override(None)
    # the range test's loop: torch's count inside its steps
    from lrlab import race as race_mod
    real_step = race_mod.Race._step
    counts = []

    def step(self, Xb, yb):
        counts.append(torch.get_num_threads())
        return real_step(self, Xb, yb)

    monkeypatch.setattr(race_mod.Race, "_step", step)
    lr_range_test(TrainConfig(), num_steps=5)
    assert counts == [1] * 5 and torch.get_num_threads() == 2


def test_race_work_counts_every_model(monkeypatch):
    from lrlab.race import Race
    monkeypatch.setattr(threads, "cores", lambda: 16)
    configs = [TrainConfig(lr=lr, max_epochs=1) for lr in (0.01, 0.02, 0.03, 0.04)]
    r = Race(configs)
    assert r.threads() == threads.choose(512, 354, 4)  # full batch: training and test rows in one pass
    many = [TrainConfig(lr=0.001 * (i + 1), max_epochs=1) for i in range(64)]
    assert Race(many).threads() == threads.choose(512, 354, 64) > 1


# ---------------------------------------------------------------------------- the bench row
def test_load_bench_row_runs_and_returns_its_fields(monkeypatch):
    """The figures come from ``lrlab bench --only load``; here only that the row runs (tiny sizes)."""
    from lrlab.bench import Row, load
    torch.set_num_threads(2)
    m = load.measure(epochs=4, repeats=1, load=1, cap_s=0.5)
    assert set(m) >= {"chosen_threads", "default_threads", "load_processes", "epochs", "rows", "params",
                      "quiet_chosen", "quiet_default", "load_chosen", "load_default", "others_without_load"}
    assert m["chosen_threads"] == 1 and m["default_threads"] == threads.torch_default()
    assert (m["rows"], m["params"], m["load_processes"]) == (512, 354, 1)  # full batch: train + test rows in one pass
    assert all(m[k] > 0 for k in ("quiet_chosen", "quiet_default", "load_chosen", "load_default"))
    assert torch.get_num_threads() == 2
    monkeypatch.setattr(load, "EPOCHS", 3)
    monkeypatch.setattr(load.threads, "cores", lambda: 1)  # one busy process
    rows = list(load.rows(quick=True))
    assert len(rows) == 3 and all(isinstance(r, Row) and r.ours > 0 and r.theirs > 0 for r in rows)
    assert rows[0].name.startswith("load: engine under 1-process CPU load")
    assert rows[0].unit == "epochs/s" and rows[0].ratio > 0


def test_cpu_load_kills_its_processes_even_on_error():
    from lrlab.bench import load
    with pytest.raises(KeyboardInterrupt):
        with load.cpu_load(2) as procs:
            assert len(procs) == 2 and all(p.poll() is None for p in procs)
            raise KeyboardInterrupt
    assert all(p.poll() is not None for p in procs)


def test_bench_cli_knows_the_load_topic():
    from lrlab import bench
    assert "load" in bench.modules()
