"""The renderer process that draws the live training figure (lrlab.plots.render_process)."""
import io
import multiprocessing
import threading
import time

import numpy as np
import pytest
from PIL import Image

from lrlab.plots import render_process
from lrlab.widgets import TrainingPanel
from waiting import lrlab_threads, wait_for  # tests/waiting.py

CONFIG = dict(dataset="moons", n_samples=256, hidden=(8,), max_epochs=100_000)


_threads = lrlab_threads


def _renderers():
    return [p for p in multiprocessing.active_children() if p.name == "lrlab-renderer" and p.is_alive()]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def _wait(predicate, timeout=60.0):
    return wait_for(predicate, timeout, interval=0.05)


@pytest.fixture
def renderer():
    r = render_process.get_renderer()
    assert r is not None, render_process.disabled_reason
    assert r.ready(60), "the renderer process did not start within 60 s"
    yield r


@pytest.fixture
def fresh():
    """Forget past failures before and after (tests that break the renderer on purpose)."""
    render_process.reset_for_tests()
    yield
    render_process.reset_for_tests()


@pytest.mark.parametrize("dataset", ["moons", "sine", "spiral"])
def test_the_renderer_draws_what_the_panel_would(renderer, dataset):
    panel = TrainingPanel(dataset=dataset, hidden=(8,), max_epochs=40)
    panel.run()
    frame = panel._snapshot()
    blob = render_process.pickle_figure(panel.figure)  # the figure, options and all, travels pickled
    key = render_process.new_key()
    remote = renderer.render(key, blob, frame)
    here = panel.figure
    here._background = None
    here.update(frame)
    local = here.png()
    a, b = _pixels(remote), _pixels(local)
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 2.0  # the same picture (limits may differ by a growth step)
    renderer.forget(key)
    panel.close()


def test_live_frames_come_from_one_shared_renderer(renderer):
    panels = [TrainingPanel(**CONFIG), TrainingPanel(dataset="circles", n_samples=256, hidden=(8,),
                                                     max_epochs=100_000)]
    try:
        for p in panels:
            p.start()
        assert _wait(lambda: all(p.frames_remote >= 2 for p in panels)), [p.render_mode for p in panels]
        assert all(p.render_mode == "process" for p in panels)
        assert len(_renderers()) == 1 and render_process.current() is renderer  # reused, not one per panel
        before = panels[0].image.value
        assert _wait(lambda: panels[0].image.value != before)
    finally:
        for p in panels:
            p.stop()
    assert all(p.wait(60) for p in panels)  # the final frames are drawn just after Stop returns
    assert not _threads() and not any(p.is_running for p in panels)
    for p in panels:
        p.close()
    assert len(_renderers()) == 1  # closing panels leaves the kernel's renderer for the next one


def test_a_run_that_ends_by_itself_shows_its_final_frame(renderer):
    p = TrainingPanel(dataset="moons", n_samples=256, hidden=(8,), max_epochs=400)
    p.start()
    assert p.wait(120)
    assert not _threads()
    assert p.trainer.done and p.frame_epoch == p.trainer.epoch_index == 400
    assert "400" in p.status.value and p.run_result.message() in p.status.value
    p.close()


def test_stop_abandons_a_frame_in_flight(renderer):
    panel = TrainingPanel(**CONFIG)
    frame = panel._snapshot()
    blob = render_process.pickle_figure(panel.figure)
    key = render_process.new_key()
    assert renderer.render(key, blob, frame)[:4] == b"\x89PNG"
    abandon = threading.Event()
    out = {}

    def slow():
        t = time.perf_counter()
        out["png"] = renderer.render(key, blob, dict(frame, _render_delay=3.0), abandon.is_set)
        out["s"] = time.perf_counter() - t

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.2)
    t = time.perf_counter()
    abandon.set()
    renderer.wake()
    th.join(5)
    assert time.perf_counter() - t < 0.5 and out["png"] is None  # the wait ended at once
    # the next frame waits out the abandoned one, drops its reply, and gets its own picture
    # (a timeout longer than the slow frame: with the default 2 s it would be drawn in-process)
    png = renderer.render(key, blob, frame, timeout=10)
    assert png[:4] == b"\x89PNG" and renderer.alive()
    renderer.forget(key)
    panel.close()


def test_stop_during_a_live_run_is_prompt(renderer):
    p = TrainingPanel(**CONFIG)
    p.start()
    assert _wait(lambda: p.frames_remote >= 3)
    p.stop()
    assert p.last_stop_latency < 2  # generous: the precise figure is `lrlab bench --only panel`
    assert p.wait(60) and not _threads()
    p.close()


def test_a_dead_renderer_is_restarted(fresh):
    first = render_process.get_renderer()
    assert first.ready(60)
    first.process.terminate()
    first.process.join(5)
    p = TrainingPanel(**CONFIG)
    p.start()
    try:
        assert _wait(lambda: p.frames_remote >= 2, 90), p.render_mode
        second = render_process.current()
        assert second is not None and second.pid != first.pid
        assert p.frames_drawn > p.frames_remote or p.frames_remote >= 2
    finally:
        p.stop()
        p.close()
    assert not _threads() and len(_renderers()) == 1


def test_without_a_process_the_panel_draws_in_its_own_thread(fresh, monkeypatch):
    def cannot_start():
        raise OSError("no processes in this sandbox")

    monkeypatch.setattr(render_process, "_start", cannot_start)
    render_process.reset_for_tests()
    p = TrainingPanel(**CONFIG)
    first = p.image.value
    p.start()
    try:
        assert _wait(lambda: p.frames_drawn >= 3)
        assert p.frames_remote == 0 and p.render_mode.startswith("thread (cannot start")
        assert p.image.value != first
    finally:
        p.stop()
        p.wait(60)
    assert not _threads() and not _renderers()
    assert "stopped by you" in p.status.value
    p.close()


def test_the_environment_can_turn_the_renderer_off(monkeypatch):
    monkeypatch.setenv("LRLAB_RENDER_PROCESS", "0")
    assert not render_process.enabled()
    p = TrainingPanel(**CONFIG)
    p.remote.prepare(p.figure)
    assert not p.remote.prepared and p.render_mode.startswith("thread")
    p.close()


def test_shutdown_ends_the_process_and_a_later_start_brings_it_back(fresh):
    r = render_process.get_renderer()
    assert r.ready(60)
    render_process.shutdown()
    r.process.join(5)
    assert not r.process.is_alive() and render_process.current() is None and not _renderers()
    p = TrainingPanel(**CONFIG)
    p.start()
    try:
        assert _wait(lambda: p.frames_remote >= 1, 90), p.render_mode
    finally:
        p.stop()
        p.close()


def test_spawn_preparation_is_restored():
    from multiprocessing import spawn
    before = spawn.get_preparation_data
    render_process.shutdown()
    r = render_process.get_renderer()
    assert spawn.get_preparation_data is before
    assert r.ready(60)


def test_a_live_frame_keeps_a_plots_colours_exactly_in_few_bytes():
    from lrlab.plots import encode_live_png
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, size=(40, 4), dtype=np.uint8)
    rgba = palette[rng.integers(0, 40, size=(37, 53))]  # a plot: few distinct colours
    png = encode_live_png(rgba)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(_pixels(png).astype(np.uint8), rgba[:, :, :3])
    noise = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)  # more colours than the palette: close
    assert np.abs(_pixels(encode_live_png(noise)).astype(int) - noise[:, :, :3]).mean() < 24


def test_a_renderer_that_keeps_dying_is_given_up(fresh, monkeypatch):
    monkeypatch.setattr(render_process, "MAX_DEATHS", 2)
    for _ in range(2):
        r = render_process.get_renderer()
        assert r is not None
        r.process.terminate()
        r.process.join(5)
    assert render_process.get_renderer() is None and not render_process.enabled()
    assert "died 2 times" in render_process.disabled_reason
    p = TrainingPanel(**CONFIG)
    p.start()
    try:
        assert _wait(lambda: p.frames_drawn >= 2)
        assert p.frames_remote == 0 and "died 2 times" in p.render_mode
    finally:
        p.stop()
        p.close()
    assert not _threads()


def test_an_unguarded_script_runs_once_and_exits_cleanly(tmp_path):
    """No ``if __name__ == "__main__":`` in the script: the renderer must not run it again, and at
    exit (atexit) the renderer process ends with it."""
    import os
    import subprocess
    import sys
    script = tmp_path / "lesson.py"
    script.write_text(
        "import time\n"
        "from lrlab.widgets import TrainingPanel\n"
        "print('RAN', flush=True)\n"
        "p = TrainingPanel(dataset='moons', n_samples=256, hidden=(8,), max_epochs=100_000)\n"
        "p.start()\n"
        "deadline = time.time() + 90\n"
        "while p.frames_remote < 2 and time.time() < deadline:\n"
        "    time.sleep(0.05)\n"
        "p.stop()\n"
        "from lrlab.plots import render_process\n"
        "print('PID', render_process.current().pid, p.render_mode, flush=True)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("RAN") == 1, out.stdout
    pid_line = [line for line in out.stdout.splitlines() if line.startswith("PID")][0]
    pid, mode = int(pid_line.split()[1]), pid_line.split()[2]
    assert mode == "process"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the renderer process outlived its parent")


def test_drawing_options_travel_with_the_frames(renderer):
    """Options changed during a run (show test data, discretised output) reach the renderer's copy."""
    panel = TrainingPanel(dataset="moons", hidden=(8,), max_epochs=30)
    panel.run()
    frame = panel._snapshot()
    blob = render_process.pickle_figure(panel.figure)
    key = render_process.new_key()
    shown = {}
    for options in ({"show_test": True, "discrete": False}, {"show_test": False, "discrete": True},
                    {"show_test": True, "discrete": False}):
        shown[tuple(options.values())] = _pixels(renderer.render(key, blob, dict(frame, options=options)))
    assert np.abs(shown[(True, False)] - shown[(False, True)]).mean() > 0.5
    renderer.forget(key)
    panel.close()


def test_a_frame_a_stopped_renderer_cannot_take_never_blocks_the_drawer(fresh, monkeypatch):
    """A stopped (SIGSTOP) renderer does not read its pipe: a frame larger than the pipe's buffer
    used to block the drawer's write for ever (and Stop / close with it). Now the write gives up
    after HANG_TIMEOUT_S (or at once when the frame is abandoned): the process is killed."""
    import os
    import signal
    monkeypatch.setattr(render_process, "HANG_TIMEOUT_S", 1.0)
    r = render_process.get_renderer()
    assert r is not None and r.ready(60), render_process.disabled_reason
    panel = TrainingPanel(**CONFIG)
    frame = panel._snapshot()
    blob = render_process.pickle_figure(panel.figure)
    key = render_process.new_key()
    assert r.render(key, blob, frame)[:4] == b"\x89PNG"
    big = dict(frame, ballast=np.zeros(2_000_000))  # 16 MB: far more than a pipe holds
    os.kill(r.pid, signal.SIGSTOP)
    t = time.perf_counter()
    with pytest.raises(render_process.RenderError, match="did not take a frame"):
        r.render(key, blob, big)
    assert time.perf_counter() - t < 5 and _wait(lambda: not r.process.is_alive(), 10)
    # abandoned (Stop) while the write is stuck: it ends at once
    r2 = render_process.get_renderer()
    assert r2 is not None and r2.ready(60) and r2.pid != r.pid
    assert r2.render(key, blob, frame)[:4] == b"\x89PNG"
    os.kill(r2.pid, signal.SIGSTOP)
    t = time.perf_counter()
    with pytest.raises(render_process.RenderError):
        r2.render(key, blob, big, abandon=lambda: time.perf_counter() - t > 0.2)
    assert time.perf_counter() - t < 0.9 and _wait(lambda: not r2.process.is_alive(), 10)
    assert _wait(lambda: not _threads(), 5), _threads()
    panel.close()


def test_a_live_frame_of_the_playground_keeps_every_line_colour():
    """The live palette rounds anti-aliased edges and shades, never the colours that mean something."""
    from lrlab.plots import CLASS_COLORS, PALETTE, TEST_COLOR, TRAIN_COLOR
    from lrlab.plots.training import LiveTrainingFigure, live_frame
    from lrlab.train import TrainConfig, Trainer
    trainer = Trainer(TrainConfig(dataset="spiral", n_samples=200, max_epochs=100), norms=True)
    for _ in range(60):
        trainer.epoch()
    fig = LiveTrainingFigure(trainer.dataset, 3, 100)
    fig.update(live_frame(trainer, fig.grid_points))
    png = fig.png()
    drawn = np.asarray(fig.fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    shown = _pixels(png).astype(int)
    checked = 0
    for colour in {TRAIN_COLOR, TEST_COLOR, *PALETTE[:3], *CLASS_COLORS[:2]}:
        rgb = np.array([int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)])
        exact = np.abs(drawn - rgb).sum(-1) == 0
        if exact.any():
            checked += 1
            assert np.abs(shown[exact] - rgb).max() <= 10, colour  # (32 colours: off by 15 and more)
    assert checked >= 3 and len(png) < 40_000
