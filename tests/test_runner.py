"""lrlab.widgets.runner.Runner with a fake engine: no torch training, no widgets.

start / pause / resume / step / stop / wait, frames at most ``max_fps`` a second and a final one
after Stop / Pause / the end, a prompt Stop during a slow epoch, exceptions kept as a state and
a message (never a traceback), the thread count applied once per worker.
"""
import sys
import threading
import time

import pytest

from lrlab import threads as threads_mod
from lrlab.widgets import runner as runner_mod
from lrlab.widgets.runner import Runner
from waiting import lrlab_threads, wait_for  # tests/waiting.py


class FakeEngine:
    """The engine interface: ``epoch(should_stop)`` (polled before every "mini-batch"), ``done``,
    ``epoch_index``, ``threads(override)``, ``stop(reason)``."""

    def __init__(self, epochs=10**9, batches=1, batch_s=0.0, fail_at=None):
        self.epochs, self.batches, self.batch_s, self.fail_at = epochs, batches, batch_s, fail_at
        self.epoch_index = 0
        self.done = False
        self.stop_reason = None
        self.trained = []  # epoch numbers, in the order trained

    def epoch(self, should_stop=None):
        if self.done:
            return None
        n = 0
        for _ in range(self.batches):
            if should_stop is not None and should_stop():
                if n == 0:
                    self.stop("stopped_by_user")
                    return None
                break
            if self.batch_s:
                time.sleep(self.batch_s)
            n += 1
        if self.fail_at is not None and self.epoch_index == self.fail_at:
            raise RuntimeError("boom")
        e = self.epoch_index
        self.trained.append(e)
        self.epoch_index += 1
        if should_stop is not None and should_stop():
            self.stop("stopped_by_user")
        elif self.epoch_index >= self.epochs:
            self.stop("max_epochs")
        return {"epoch": e}

    def threads(self, override=None):
        return 1 if override is None else override

    def stop(self, reason):
        if not self.done:
            self.done, self.stop_reason = True, reason


class Display:
    """snapshot / show callbacks that record what they were given."""

    def __init__(self):
        self.engine = None
        self.shown = []
        self.errors = []
        self.halts = []

    def snapshot(self, final):
        return {"epoch": self.engine.epoch_index, "final": final, "t": time.perf_counter(),
                "thread": threading.current_thread().name}

    def show(self, frame):
        self.shown.append(frame)

    def make(self, engine, **kwargs):
        self.engine = engine
        r = Runner(self.snapshot, self.show, on_error=self.errors.append, on_halt=self.halts.append, **kwargs)
        r.attach(engine)
        return r


_threads = lrlab_threads


def _wait(predicate, timeout=10.0):
    return wait_for(predicate, timeout, interval=0.005)


@pytest.fixture(autouse=True)
def no_threads_left():
    yield
    assert _wait(lambda: not _threads(), 5), _threads()


def test_a_run_that_ends_by_itself_shows_its_final_frame():
    d = Display()
    engine = FakeEngine(epochs=50, batch_s=0.001)
    r = d.make(engine)
    assert r.state == "ready" and not r.is_running
    assert r.start()
    assert r.is_running and r.state == "running" and r.worker.name.startswith("lrlab-")
    assert r.start() is False  # one worker at a time
    assert r.wait(10)
    assert engine.done and engine.stop_reason == "max_epochs" and r.state == "done"
    assert d.shown[-1]["final"] and d.shown[-1]["epoch"] == 50
    assert r.start() is False  # nothing left to train
    assert not d.errors and r.error is None


def test_pause_holds_the_epoch_and_resume_goes_on_from_it():
    d = Display()
    engine = FakeEngine(batch_s=0.002)
    r = d.make(engine)
    r.start()
    assert _wait(lambda: engine.epoch_index >= 5)
    t = time.perf_counter()
    assert r.pause()
    assert time.perf_counter() - t < 0.1
    assert not r.is_running and r.is_paused and r.state == "paused" and d.halts == ["paused"]
    held = engine.epoch_index
    time.sleep(0.1)
    assert engine.epoch_index == held and not engine.done  # nothing trains while paused
    assert r.wait(5) and d.shown[-1]["final"] and d.shown[-1]["epoch"] == held  # the paused state is drawn
    assert r.resume()
    assert _wait(lambda: engine.epoch_index >= held + 5)
    assert engine.trained == list(range(len(engine.trained)))  # no epoch lost or trained twice
    assert r.stop()
    assert engine.stop_reason == "stopped_by_user" and r.state == "stopped" and d.halts[-1] == "stopped"
    assert r.resume() is False  # a stopped run does not go on
    assert r.wait(5)


def test_step_trains_one_epoch_here_and_pauses_a_running_worker():
    d = Display()
    engine = FakeEngine(batch_s=0.001)
    r = d.make(engine)
    assert r.step() == {"epoch": 0} and engine.epoch_index == 1 and r.is_paused
    r.start()
    assert _wait(lambda: engine.epoch_index >= 5)
    before_step = r.step()["epoch"]
    assert not r.is_running and engine.epoch_index == before_step + 1 and r.is_paused
    assert engine.trained == list(range(engine.epoch_index))
    r.stop()
    assert r.step() is None and r.wait(5)


def test_stop_during_a_slow_epoch_returns_at_once_and_the_final_frame_follows():
    d = Display()
    engine = FakeEngine(batches=10_000, batch_s=0.002)  # one epoch takes ~20 s
    r = d.make(engine)
    r.start()
    time.sleep(0.3)
    assert engine.epoch_index == 0 and r.is_running  # in the middle of the first epoch
    t = time.perf_counter()
    assert r.stop()
    took = time.perf_counter() - t
    print(f"Runner.stop() during a 20 s epoch returned after {1000 * took:.1f} ms")
    assert took < 0.1 and r.last_stop_call < 0.1 and r.last_stop_latency < 0.1
    assert not r.is_running and engine.done and engine.stop_reason == "stopped_by_user"
    assert r.wait(5)
    assert d.shown and d.shown[-1]["final"] and d.shown[-1]["thread"].endswith(("final-frame", "drawer"))


def test_frames_come_at_most_max_fps_a_second_plus_the_final_one():
    d = Display()
    engine = FakeEngine(batch_s=0.0005)
    r = d.make(engine, max_fps=10)
    r.start()
    t0 = time.perf_counter()
    time.sleep(1.5)
    r.stop()
    elapsed = time.perf_counter() - t0
    assert r.wait(5)
    live = [f for f in d.shown if not f["final"]]
    assert 3 <= len(live) <= 10 * elapsed + 1, (len(live), elapsed)
    assert sum(f["final"] for f in d.shown) == 1 and d.shown[-1]["final"]
    gaps = [b["t"] - a["t"] for a, b in zip(live, live[1:])]
    assert min(gaps) > 0.05  # on a 0.1 s clock (a late frame may be followed by an early one)
    assert engine.epoch_index > 10 * len(live)  # drawing did not pace training
    with pytest.raises(ValueError, match="max_fps"):
        r.max_fps = 0
    with pytest.raises(ValueError, match="max_fps"):
        Runner(d.snapshot, d.show, max_fps=121)


def test_an_exception_in_the_engine_is_a_state_and_a_message_not_a_traceback(capsys):
    hooked = []
    old_hook = threading.excepthook
    threading.excepthook = hooked.append
    try:
        d = Display()
        engine = FakeEngine(fail_at=3)
        r = d.make(engine)
        r.start()
        assert r.wait(5)
    finally:
        threading.excepthook = old_hook
    assert not hooked and "Traceback" not in capsys.readouterr().err
    assert r.state == "failed" and r.error == "training stopped: RuntimeError: boom"
    assert d.errors == [r.error] and engine.done and engine.epoch_index == 3
    assert r.start() is False


def test_a_drawing_problem_does_not_stop_training():
    d = Display()
    engine = FakeEngine(batch_s=0.001)
    calls = []

    def bad_show(frame):
        calls.append(frame)
        raise ValueError("no ink")
    r = Runner(d.snapshot, bad_show, on_error=d.errors.append, max_fps=50)
    d.engine = engine
    r.attach(engine)
    r.start()
    assert _wait(lambda: len(calls) >= 3)
    assert r.is_running and d.errors[0] == "drawing failed: ValueError: no ink"
    r.stop()
    assert r.wait(5) and engine.stop_reason == "stopped_by_user"


def test_stop_abandons_a_frame_in_flight():
    """A frame whose slow drawing (a renderer process) is under way is dropped at once."""
    d = Display()
    engine = FakeEngine(batch_s=0.001)
    woken = []

    def slow_render(frame, abandoned):
        while not abandoned():
            time.sleep(0.005)
        return frame
    r = d.make(engine, render=slow_render, on_abandon=lambda: woken.append(1))
    r.start()
    assert _wait(lambda: r.frames_handed >= 1)
    time.sleep(0.1)
    t = time.perf_counter()
    r.pause()
    assert time.perf_counter() - t < 0.1 and woken
    assert r.wait(5)
    assert [f["final"] for f in d.shown] == [True]  # the live frame in flight was dropped, the paused one drawn
    r.stop()
    assert r.wait(5)


def test_the_companion_runs_beside_the_worker_and_quits_on_stop():
    d = Display()
    engine = FakeEngine(batch_s=0.001)
    seen = {}

    def companion(running, quit):
        seen["name"] = threading.current_thread().name
        while running() and not quit.wait(0.01):
            seen["laps"] = seen.get("laps", 0) + 1
        seen["quit"] = quit.is_set()
    r = d.make(engine, companion=companion, companion_name="lrlab-side-view")
    r.start()
    assert _wait(lambda: seen.get("laps", 0) >= 3)
    r.stop()
    assert r.wait(5) and seen["quit"] and seen["name"] == "lrlab-side-view"


def test_the_thread_count_is_applied_once_per_worker_and_per_step(monkeypatch):
    counts = []
    real = threads_mod.engine_threads

    def spy(n):
        counts.append(n)
        return real(n)
    monkeypatch.setattr(threads_mod, "engine_threads", spy)
    d = Display()
    engine = FakeEngine(epochs=30)
    r = d.make(engine, threads=2)
    r.step()
    r.start()
    assert r.wait(5)
    r.attach(FakeEngine(epochs=3))
    d.engine = r.engine
    r.run()
    assert counts == [2, 2, 2] and r.engine.done
    r.threads = None
    r.attach(FakeEngine(epochs=3))
    r.run()
    assert counts[-1] == 1  # the engine's own choice


def test_stop_leaves_an_untrained_run_ready_unless_asked():
    d = Display()
    engine = FakeEngine()
    r = d.make(engine)
    r.stop()
    assert not engine.done and r.wait(5)
    race_like = FakeEngine()
    stopped = []
    r2 = Runner(d.snapshot, d.show, stop_untrained=True)
    d.engine = race_like
    r2.attach(race_like, stop=lambda reason: (stopped.append(reason), race_like.stop(reason)))
    r2.stop()
    assert stopped == ["stopped_by_user"] and race_like.done and r2.state == "stopped"
    assert r2.wait(5)


def test_the_gil_switch_interval_is_put_back():
    before = sys.getswitchinterval()
    d = Display()
    engine = FakeEngine(batch_s=0.001)
    r = d.make(engine, switch_interval=0.0005)
    r.start()
    assert _wait(lambda: sys.getswitchinterval() == 0.0005)
    r.stop()
    assert r.wait(5) and sys.getswitchinterval() == before


def _interpreters_own_frozen() -> int:
    """What the permanent generation holds with nothing of ours frozen: 0 on CPython 3.11 and 3.13,
    a few hundred of the interpreter's own objects on 3.12 (375 on 3.12.1; a collection puts them
    back even after ``gc.unfreeze()``)."""
    import gc
    gc.unfreeze()
    gc.collect()
    return gc.get_freeze_count()


def test_the_heap_is_set_aside_from_the_collector_while_a_worker_trains_and_given_back_after():
    """A full collection of a kernel-sized heap holds the GIL for ~400 ms: during a run the heap that
    was there before is frozen (gc.freeze), so a Stop click never waits for such a collection."""
    import gc
    own = _interpreters_own_frozen()
    heap = len(gc.get_objects())  # what a freeze now sets aside (the test process: 100,000s)
    d1, d2 = Display(), Display()
    r1 = d1.make(FakeEngine(batch_s=0.001))
    r2 = d2.make(FakeEngine(batch_s=0.001))
    r1.start()
    assert _wait(lambda: gc.get_freeze_count() > heap // 2)
    r2.start()
    r1.stop()
    assert r1.wait(5) and gc.get_freeze_count() > heap // 2  # the other worker still trains
    r2.stop()
    assert r2.wait(5) and gc.get_freeze_count() <= own  # all given back to the collector
    garbage = []
    garbage.append(garbage)  # a cycle made during a run is collected once the run has ended
    r1.attach(FakeEngine(batch_s=0.001))
    r1.start()
    del garbage
    r1.stop()
    assert r1.wait(5) and gc.get_freeze_count() <= own and gc.collect() >= 1


def test_the_module_has_no_widgets():
    source = open(runner_mod.__file__).read()
    assert "ipywidgets" not in source


def test_a_drawer_at_work_draws_the_final_frames_and_the_latest_state_is_shown_last():
    """Stop / Pause while a slow frame is being drawn here: no new thread is started (it would
    wait for the busy drawer), the drawer draws the final frame when it is done; Pause then
    Stop at once: the stopped state is the last one drawn."""
    d = Display()
    engine = FakeEngine(batch_s=0.001)
    drawing = threading.Event()

    def slow_show(frame):
        drawing.set()
        time.sleep(0.2)
        d.shown.append(dict(frame, stopped=engine.done))
    r = Runner(d.snapshot, slow_show, on_halt=d.halts.append)
    d.engine = engine
    r.attach(engine)
    r.start()
    assert drawing.wait(5)
    t = time.perf_counter()
    r.pause()
    r.stop()
    assert time.perf_counter() - t < 0.1 and d.halts == ["paused", "stopped"]
    assert r.wait(5)
    finals = [f for f in d.shown if f["final"]]
    assert finals and finals[-1]["stopped"] and finals[-1]["thread"] == "lrlab-runner-drawer"
    assert d.shown[-1] is finals[-1]
    r.settle()
    assert not r.is_running and r.state == "stopped"


def test_the_gc_bench_row_compares_a_frozen_heap_with_a_scanned_one():
    """``lrlab bench --only panel`` prints it; here only that it runs and gives both figures."""
    import gc

    from lrlab.bench.panel import gc_row
    own = _interpreters_own_frozen()
    row = gc_row(quick=True)
    assert row.ours > 0 and row.theirs > 0 and not row.higher_is_better and gc.get_freeze_count() <= own


def test_a_due_frame_the_display_cannot_take_yet_makes_the_worker_give_way():
    """While the display is behind, the worker sleeps ``yield_s`` between epochs (the drawing and
    the browser get the CPU); with a display that keeps up, nothing waits."""
    d = Display()
    behind = FakeEngine()
    r = d.make(behind, display_ready=lambda: False, yield_s=0.05)
    r.start()
    time.sleep(0.5)
    r.stop()
    assert r.wait(5)
    assert 2 <= behind.epoch_index <= 14  # about one epoch per 0.05 s sleep
    d2 = Display()
    keeping_up = FakeEngine()
    r2 = d2.make(keeping_up, display_ready=lambda: True, yield_s=0.05, max_fps=10)
    r2.start()
    time.sleep(0.5)
    r2.stop()
    assert r2.wait(5)
    assert keeping_up.epoch_index > 100  # between frames training runs flat out
    for bad in (-0.01, 0.5, "a"):
        with pytest.raises(ValueError, match="yield_s"):
            Runner(d.snapshot, d.show, yield_s=bad)


# ---------------------------------------------------------------------- pace (epochs per second)
def _epochs_in(runner, engine, seconds):
    n0, t0 = engine.epoch_index, time.perf_counter()
    time.sleep(seconds)
    return (engine.epoch_index - n0) / (time.perf_counter() - t0)


def test_a_paced_runner_trains_at_its_pace_and_an_unpaced_one_flat_out():
    d = Display()
    engine = FakeEngine(batch_s=0.0002)
    paced = d.make(engine, pace=200)
    paced.start()
    time.sleep(0.2)
    rate = _epochs_in(paced, engine, 1.0)
    paced.stop()
    assert 150 <= rate <= 215, rate  # the pace, never above it (the CPU may hold it back a little)
    d2 = Display()
    engine2 = FakeEngine(batch_s=0.0002)
    flat = d2.make(engine2)
    flat.start()
    time.sleep(0.2)
    flat_rate = _epochs_in(flat, engine2, 1.0)
    flat.stop()
    assert flat_rate > 2 * rate, (flat_rate, rate)


def test_a_pace_changed_during_a_run_applies_at_once():
    d = Display()
    engine = FakeEngine()
    runner = d.make(engine, pace=50)
    runner.start()
    time.sleep(0.1)
    slow = _epochs_in(runner, engine, 0.6)
    runner.pace = 400
    time.sleep(0.1)
    fast = _epochs_in(runner, engine, 0.6)
    runner.pace = None
    time.sleep(0.1)
    flat = _epochs_in(runner, engine, 0.3)
    runner.stop()
    assert slow <= 55 and fast >= 4 * slow and flat > 2 * fast, (slow, fast, flat)


def test_stop_and_pause_cut_a_pace_sleep_short():
    d = Display()
    engine = FakeEngine()
    runner = d.make(engine, pace=0.5)  # two seconds between epochs
    runner.start()
    wait_for(lambda: engine.epoch_index >= 1)
    time.sleep(0.05)
    t0 = time.perf_counter()
    runner.pause()
    assert time.perf_counter() - t0 < 0.2 and not runner.is_running
    assert runner.state == "paused" and engine.epoch_index == 1
    runner.resume()
    wait_for(lambda: engine.epoch_index >= 2)
    time.sleep(0.05)
    t0 = time.perf_counter()
    runner.stop()
    assert time.perf_counter() - t0 < 0.2 and runner.state == "stopped"


def test_a_run_the_cpu_held_back_does_not_race_to_catch_up():
    d = Display()
    engine = FakeEngine(batch_s=0.02)
    runner = d.make(engine, pace=100)  # the engine can do ~50 epochs/s
    runner.start()
    time.sleep(0.6)
    engine.batch_s = 0.0  # now it could do thousands a second: it goes on at the pace
    rate = _epochs_in(runner, engine, 0.5)
    runner.stop()
    assert rate <= 100 + runner_mod.PACE_SLACK_S * 100 / 0.5 + 5, rate


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e9, "fast", True, [100]])
def test_a_pace_that_is_not_epochs_per_second_is_refused(bad):
    with pytest.raises(ValueError, match="^pace: "):
        Runner(lambda final: None, lambda frame: None, pace=bad)
    r = Runner(lambda final: None, lambda frame: None, pace=None)
    with pytest.raises(ValueError, match="^pace: "):
        r.pace = bad
    assert r.pace is None
