"""The panels under hostile arguments, Stop clicks, long runs and pasted configs (issue 14).

* constructor arguments are checked before any thread or widget exists;
* Stop returns at once, the final frame comes just after and is never lost; a frozen
  renderer process gives way to drawing in-process within seconds;
* a long run keeps memory flat (the per-layer norms are a bounded History);
* the panel trains exactly the config it names (share string, preset, set_config);
* a diverged run is saved (strict JSON that reads back to the same inf, a PNG), atomically,
  into a folder checked first;
* training runs with the thread count chosen from the work, or the panel's ``threads``.
"""
import gc
import json
import os
import signal
import time
import tracemalloc

import pytest

from lrlab import limits, share
from lrlab import threads as threads_mod
from lrlab.plots import render_process
from lrlab.train import Run, TrainConfig
from lrlab.widgets import (BackpropExplorer, RacePanel, ScheduleExplorer, SurfaceExplorer, SweepPanel,
                           TrainingPanel)
from waiting import lrlab_threads, wait_for  # tests/waiting.py

LIVE = dict(dataset="moons", n_samples=256, hidden=(8,), max_epochs=100_000)
#: a Stop click must return within this (it takes ~1-20 ms; generous for a loaded 2-core machine)
CLICK_S = 0.25


_threads = lrlab_threads


def _wait(predicate, timeout=60.0):
    return wait_for(predicate, timeout, interval=0.02)


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize("kwargs, field", [
    ({"max_fps": 0}, "max_fps"), ({"max_fps": -5}, "max_fps"), ({"max_fps": float("nan")}, "max_fps"),
    ({"max_fps": float("inf")}, "max_fps"), ({"max_fps": 500}, "max_fps"), ({"max_fps": "20"}, "max_fps"),
    ({"max_fps": True}, "max_fps"), ({"live": "yes"}, "live"), ({"save_dir": 5}, "save_dir"),
    ({"save_dir": "a\0b"}, "save_dir"), ({"threads": 0}, "threads"), ({"threads": 2.5}, "threads"),
    ({"colour": "red"}, "colour"), ({"hidden": (0,)}, "hidden"), ({"seed": -1}, "seed"),
    ({"lr": "fast"}, "lr"), ({"max_epochs": 10**12}, "max_epochs"),
])
def test_training_panel_arguments_are_checked_before_any_thread(kwargs, field):
    before = _threads()
    with pytest.raises(ValueError) as info:
        TrainingPanel(**kwargs)
    assert str(info.value).startswith(field), str(info.value)
    assert "\n" not in str(info.value)
    assert _threads() == before  # nothing was started (the old max_fps=0 left its drawer running)


def test_max_fps_set_later_is_checked_too():
    p = TrainingPanel(dataset="xor", hidden=(4,), max_epochs=5)
    with pytest.raises(ValueError, match="max_fps"):
        p.max_fps = 0
    p.max_fps = 60
    assert p.max_fps == 60.0
    p.close()


@pytest.mark.parametrize("make, field", [
    (lambda: RacePanel(fps=0), "fps"), (lambda: RacePanel(fps=float("nan")), "fps"),
    (lambda: RacePanel(threads=0), "threads"), (lambda: RacePanel(config={"lr": 1}), "config"),
    (lambda: RacePanel(contenders="adam"), "contenders"),
    (lambda: RacePanel(contenders=[{"optimizer": "adam", "lr": 0.01, "colour": 1}]),
     "contenders[0]: optimizer_params.colour"),
    (lambda: RacePanel(contenders=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "adam", "lr": -1}]),
     "contenders[1]: lr"),
    (lambda: RacePanel(contenders=[{"optimizer": "adam", "learning_rate": 0.1}]), "contenders[0]"),
    (lambda: SweepPanel(n_lrs=1), "n_lrs"), (lambda: SweepPanel(lrs=(0.0, 1.0)), "lrs"),
    (lambda: SweepPanel(lrs=(1.0, 0.1)), "lrs"), (lambda: SweepPanel(optimizers=("adam", "nope")), "optimizers"),
    (lambda: ScheduleExplorer(lr=10.0), "lr"), (lambda: ScheduleExplorer(epochs=0), "epochs"),
    (lambda: ScheduleExplorer(epochs=2.5), "epochs"), (lambda: ScheduleExplorer(width=-1), "width"),
    (lambda: ScheduleExplorer("cosine"), "schedules"),
    (lambda: SurfaceExplorer(steps=10**6), "steps"), (lambda: SurfaceExplorer(map_resolution=10**5), "map_resolution"),
    (lambda: SurfaceExplorer(start=(1e9, 0.0)), "start"), (lambda: SurfaceExplorer(optimizers=("sgdd",)), "optimizers"),
    (lambda: BackpropExplorer(seed=100), "seed"), (lambda: BackpropExplorer(lr=float("inf")), "lr"),
    (lambda: BackpropExplorer(sample=-1), "sample"), (lambda: BackpropExplorer(max_iterations=10**9), "max_iterations"),
    (lambda: BackpropExplorer(tolerance=0.0), "tolerance"),
])
def test_other_panels_check_their_numeric_arguments(make, field):
    before = _threads()
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(field), str(info.value)
    assert _threads() == before


# ------------------------------------------------------------------------------ Stop
@pytest.mark.parametrize("network_view", [False, True])
def test_the_stop_click_returns_at_once_and_the_final_frame_follows(network_view):
    p = TrainingPanel(**LIVE)
    if network_view:
        p.shown_view.value = "network"  # the open network view made Stop take ~0.9 s
    p.start()
    assert _wait(lambda: p.frames_drawn >= 3 and p.trainer.epoch_index >= 5)
    if network_view:
        assert _wait(lambda: p.network_view.frames >= 2)
    shown = p.image.value
    t = time.perf_counter()
    p.stop_button.click()
    took = time.perf_counter() - t
    print(f"Stop click returned after {1000 * took:.1f} ms (network view {'open' if network_view else 'closed'})")
    assert took < CLICK_S
    assert not p.is_running and p.run_result.stop_reason == "stopped_by_user"
    assert "stopped by you" in p.status.value  # said at once
    assert p.wait(60)  # ... and the final frame is drawn just after
    assert not _threads()
    assert p.image.value != shown and p.frame_epoch == p.trainer.epoch_index
    assert "stopped by you" in p.status.value
    p.close()


def test_pause_returns_at_once_and_a_quick_start_after_stop_loses_nothing():
    p = TrainingPanel(**LIVE)
    p.start()
    assert _wait(lambda: p.frames_drawn >= 2)
    t = time.perf_counter()
    p.pause_button.click()
    assert time.perf_counter() - t < CLICK_S and p.pause_button.description == "Resume"
    epochs = p.trainer.epoch_index
    p.pause_button.click()  # Resume: waits for the paused frame, then goes on
    assert p.is_running
    assert _wait(lambda: p.trainer.epoch_index > epochs + 2)
    p.stop()
    p.start()  # at once after Stop: the final frame of the stopped run is drawn first, never over the new one
    assert p.is_running and p.trainer.epoch_index < 1000
    p.stop()
    assert p.wait(60) and not _threads()
    assert p.frame_epoch == p.trainer.epoch_index
    p.close()


def test_run_returns_with_its_final_frame_drawn():
    p = TrainingPanel(dataset="xor", hidden=(4,), max_epochs=30)
    before = p.frames_drawn
    p.run(epochs=20)
    assert p.frames_drawn == before + 1 and p.frame_epoch == 20 and not _threads()
    p.close()


def test_race_panel_stop_click_returns_at_once():
    panel = RacePanel(TrainConfig(max_epochs=100_000, n_samples=200),
                      contenders=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1}])
    panel.start(epochs=100_000)
    assert _wait(lambda: panel.frames_drawn >= 1)
    time.sleep(0.3)
    t = time.perf_counter()
    panel.stop_button.click()
    took = time.perf_counter() - t
    print(f"RacePanel Stop click returned after {1000 * took:.1f} ms")
    assert took < CLICK_S and not panel.is_running
    assert [r.stop_reason for r in panel.runs] == ["stopped_by_user"] * 2
    assert panel.wait(60) and not _threads()
    assert panel.image.value[:4] == b"\x89PNG" and "stopped by you" in panel.status.value
    assert f"epoch {panel.race.epoch_index}" in panel.status.value  # the final state, not an earlier frame
    panel.close()


@pytest.fixture
def fresh_renderer(monkeypatch):
    render_process.reset_for_tests()
    r = render_process.get_renderer()
    assert r is not None and r.ready(60), render_process.disabled_reason
    yield r
    if r.process.is_alive():  # (never signal a pid that may have been reused)
        os.kill(r.pid, signal.SIGCONT)
    render_process.reset_for_tests()


def test_a_frozen_renderer_gives_way_to_drawing_here_within_seconds(fresh_renderer, monkeypatch):
    monkeypatch.setattr(render_process, "HANG_TIMEOUT_S", 4.0)  # (15 s by default)
    r = fresh_renderer
    p = TrainingPanel(**LIVE)
    p.start()
    try:
        assert _wait(lambda: p.frames_remote >= 2, 90), p.render_mode
        os.kill(r.pid, signal.SIGSTOP)  # frozen: alive, never answers
        t0, drawn = time.perf_counter(), p.frames_drawn
        assert _wait(lambda: p.frames_drawn >= drawn + 3, 20)
        took = time.perf_counter() - t0
        print(f"frozen renderer: 3 frames drawn in-process {took:.1f} s after SIGSTOP")
        # drawn here: the renderer did not answer, or (a frame too large for its stopped pipe) it was
        # killed at once and a new one is starting
        assert took < 10 and p.render_mode.startswith("thread ("), p.render_mode
        # hung for HANG_TIMEOUT_S: killed (SIGKILL: a stopped process ignores SIGTERM), a new one serves
        assert _wait(lambda: getattr(render_process.current(), "pid", r.pid) != r.pid, 60)  # current() read once
        assert not r.process.is_alive()
        remote = p.frames_remote
        assert _wait(lambda: p.frames_remote > remote, 90), p.render_mode
        t = time.perf_counter()
        p.stop_button.click()
        assert time.perf_counter() - t < CLICK_S
    finally:
        p.stop()
        p.wait(60)
        p.close()
    assert not _threads()


# ------------------------------------------------------------------------------ memory
def test_a_long_run_keeps_memory_flat():
    """The per-layer norms were kept for every epoch (+130 MB over 100k epochs); now a bounded History."""
    p = TrainingPanel(dataset="xor", n_samples=64, hidden=(2,), max_epochs=100, history_capacity=500, live=False)
    p.run(epochs=200)  # warm-up: first-call allocations
    tracemalloc.start()
    try:
        p.run(epochs=1000)
        gc.collect()  # the previous run's trainer and figure (reference cycles)
        short, _ = tracemalloc.get_traced_memory()
        p.run(epochs=6000)
        gc.collect()
        long, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"traced memory after 1000 epochs {short / 1e6:.2f} MB, after 6000 epochs {long / 1e6:.2f} MB")
    assert long - short < 1_000_000  # the lists grew ~1.4 kB per epoch: 7 MB here
    assert len(p.trainer.history) <= 500 and p.trainer.history.last["epoch"] == 5999  # norms are its columns
    epochs, weights, grads = p.norms()
    assert weights.shape == grads.shape == (len(epochs), 2) and epochs[-1] == 5999


# ------------------------------------------------------------------------------ the config it names
EDGE_CONFIGS = [
    TrainConfig(hidden=(256,), seed=3_000_000_000),
    TrainConfig(hidden=(limits.MAX_WIDTH,) + (3,) * (limits.MAX_DEPTH - 1), n_samples=5000, noise=1.5, test_fraction=0.9,
                lr=1e-7, seed=limits.MAX_SEED, data_seed=limits.MAX_SEED),
    TrainConfig(max_epochs=limits.MAX_EPOCHS, patience=5000, target_accuracy=0.2, n_samples=8, test_fraction=0.5),
    TrainConfig(optimizer="adam", optimizer_params={"betas": (0.5, 0.99999), "eps": 1e-12}, reg_rate=1e-9,
                regularization="l2"),
    TrainConfig(schedule="multistep", schedule_params={"milestones": [10, 20, 30]}, max_epochs=100, batch_size=7),
    TrainConfig(dataset="spiral", classes=limits.MAX_CLASSES, features=("sin x2", "x1"), hidden=(), lr=100.0,
                dtype="float64", min_delta=0.5, divergence_factor=1.5, history_capacity=4, device="auto"),
]


@pytest.mark.parametrize("config", EDGE_CONFIGS, ids=range(len(EDGE_CONFIGS)))
def test_set_config_keeps_every_value_the_engine_accepts(config):
    config.validate()
    p = TrainingPanel(dataset="xor", hidden=(4,), max_epochs=5)
    assert p.set_config(config) == config
    assert p.config() == config and p.trainer.config == config  # shown, and what Start trains
    p.close()
    q = TrainingPanel(**config.to_dict())  # built from it: the same
    assert q.config() == config
    q.close()


def test_the_cli_share_string_trains_what_it_says():
    """`lrlab train --hidden 256 --seed 3000000000` shared: it trained hidden (128,), seed 2147483647."""
    config = TrainConfig(hidden=(256,), seed=3_000_000_000, max_epochs=3)
    text = share.encode(config)
    p = TrainingPanel()
    p.share_box.paste.value = text
    p.share_box.button.click()
    assert "loaded" in p.share_box.status.value and "3000000000" in p.share_box.status.value
    assert p.config() == config == share.decode(text)
    run = p.run()
    assert run.config == config and p.trainer.model.sizes[1:-1] == (256,)
    assert p.data_picker.seed.value == 3_000_000_000 and p.network_picker.widths[0].value == 256
    p.close()


def test_a_config_the_controls_cannot_show_is_refused_by_name(monkeypatch):
    """The safety net: were a control to give another value, loading refuses and keeps the previous config."""
    p = TrainingPanel(dataset="moons", hidden=(8,), max_epochs=100_000, n_samples=256)
    picker = p.network_picker
    real = picker.config_changes
    monkeypatch.setattr(picker, "config_changes",
                        lambda: {**real(), "hidden": tuple(min(w, 128) for w in real()["hidden"])})
    previous = p.config()
    p.start()
    assert _wait(lambda: p.trainer.epoch_index > 2)
    trainer = p.trainer
    wanted = TrainConfig(hidden=(256,), seed=3_000_000_000)
    with pytest.raises(ValueError) as info:
        p.set_config(wanted)
    message = str(info.value)
    assert message.startswith("hidden:") and "(256,)" in message and "(128,)" in message and "seed" not in message
    assert p.config() == previous and p.trainer is trainer and p.is_running  # nothing else trained or stopped
    p.share_box.paste.value = share.encode(wanted)
    p.share_box.button.click()  # the share box says why, instead of "loaded"
    assert "cannot show hidden" in p.share_box.status.value and p.config() == previous
    p.stop()
    assert p.wait(60)
    p.close()


# ------------------------------------------------------------------------------ saving
DIVERGED = dict(dataset="sine", optimizer="sgd", lr=10.0, activation="relu", hidden=(64, 64, 64))


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_a_diverged_run_is_saved(tmp_path):
    p = TrainingPanel(save_dir=str(tmp_path / "runs"), **DIVERGED)
    run = p.run()
    assert run.stop_reason == "diverged"
    p.save_button.click()
    assert "saved" in p.status.value, p.status.value
    files = sorted(os.listdir(tmp_path / "runs"))
    assert [f.rsplit(".", 1)[1] for f in files] == ["json", "png"]  # no half-written leftovers
    text = (tmp_path / "runs" / files[0]).read_text()
    _strict(text)
    assert "Infinity" in text or "NaN" in text  # the non-finite numbers are there, as strict JSON
    back = Run.from_json(str(tmp_path / "runs" / files[0]))
    assert back.stop_reason == "diverged" and back.config == run.config
    for column in run.history.columns:
        a, b = run.history[column].tolist(), back.history[column].tolist()
        assert len(a) == len(b) and all(x == y or (x != x and y != y) for x, y in zip(a, b)), column
    assert back.history.last == run.history.last or json.dumps(back.history.last) == json.dumps(run.history.last)
    assert (tmp_path / "runs" / files[1]).read_bytes()[:4] == b"\x89PNG"


def test_save_into_a_file_says_so_on_the_status_line(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    p = TrainingPanel(dataset="xor", hidden=(4,), save_dir=str(blocker))
    p.run(epochs=3)
    assert p.save() is None  # no traceback
    assert "could not save" in p.status.value and "not a folder" in p.status.value
    assert blocker.read_text() == "x"
    assert p.save(str(tmp_path / "new" / "deeper")) is not None  # a missing folder is created
    p.close()


def test_save_during_a_live_run_pauses_saves_and_goes_on(tmp_path):
    p = TrainingPanel(save_dir=str(tmp_path), **LIVE)
    p.start()
    assert _wait(lambda: p.trainer.epoch_index > 3)
    paths = p.save()
    assert paths is not None and p.is_running
    assert _strict(open(paths[0]).read())["stop_reason"] is None
    p.stop()
    assert p.wait(60)
    p.close()


# ------------------------------------------------------------------------------ threads
@pytest.fixture
def thread_counts(monkeypatch):
    seen = []
    real = threads_mod.engine_threads

    def spy(n):
        seen.append(n)
        return real(n)
    monkeypatch.setattr(threads_mod, "engine_threads", spy)
    return seen


def test_the_panel_trains_with_the_thread_count_from_the_work_or_its_override(thread_counts):
    p = TrainingPanel(dataset="xor", hidden=(4,), max_epochs=5)
    p.run()
    rows = min(p.trainer.batch_size, p.trainer.n_train)
    assert thread_counts == [threads_mod.resolve(None, rows, p.trainer.params.numel())] == [1]
    p.close()
    thread_counts.clear()
    q = TrainingPanel(dataset="xor", hidden=(4,), max_epochs=100_000, threads=2)
    q.run(epochs=3)  # (the epoch budget is now 3)
    q.step()
    q.start()
    assert q.wait(60) and q.trainer.done
    assert thread_counts == [2, 2, 2]  # run, step, the background worker
    q.close()


def test_the_race_panel_uses_the_race_thread_count_or_its_override(thread_counts):
    base = TrainConfig(max_epochs=4, n_samples=200)
    panel = RacePanel(base, contenders=[{"optimizer": "adam", "lr": 0.01}], threads=3)
    panel.run()
    panel.start(epochs=100_000)
    time.sleep(0.3)
    panel.stop()
    assert panel.wait(60)
    assert thread_counts == [3, 3]
    thread_counts.clear()
    plain = RacePanel(base, contenders=[{"optimizer": "adam", "lr": 0.01}])
    plain.run()
    assert thread_counts == [plain.race.threads()]
    panel.close()
    plain.close()
