"""The live training panel: Stop latency, training speed with live drawing on vs off, frames/s.

Measured side by side in one run, on the panel's own background threads (headless: the PNG
bytes go into the ``ipywidgets.Image`` as in a notebook, with no front-end attached). Live
frames are drawn in the kernel's renderer process (:mod:`lrlab.plots.render_process`), which
is started once per kernel: it is started and warmed up before anything is timed, as it is
after a notebook's first Start. The note says where the frames were drawn.

The Stop latency is measured again with the panel's device set to cuda where CUDA exists
(:func:`stop_latency` takes the device; the cuda row is printed as skipped elsewhere).
"""
from __future__ import annotations

import time

from . import Row, side_by_side

CONFIG = dict(dataset="moons", n_samples=512, hidden=(16, 16), activation="tanh", optimizer="adam", lr=0.01,
              max_epochs=10**6)


def _panel(live: bool, device: str = "cpu", speed: float | None = None):
    """A panel training ``CONFIG`` (flat out by default: what live drawing costs training shows)."""
    from ..widgets.training_panel import TrainingPanel
    panel = TrainingPanel(live=live, **CONFIG, device=device, speed=speed)
    if panel.config().device != device:  # the device picker offers cuda only where CUDA exists
        panel.close()
        raise ValueError(f"device: this panel cannot train on {device!r} here (it offers "
                         f"{', '.join(panel.device.options)})")
    return panel


def warm_up_renderer(timeout: float = 60.0) -> str:
    """Start the kernel's renderer process and wait until it has drawn a frame; where frames go."""
    from ..plots import render_process
    renderer = render_process.get_renderer()
    if renderer is None or not renderer.ready(timeout):
        return f"in-process ({render_process.disabled_reason or 'renderer not ready'})"
    panel = _panel(True)
    panel.start()
    deadline = time.perf_counter() + timeout
    while panel.frames_remote < 2 and time.perf_counter() < deadline:
        time.sleep(0.05)
    panel.stop()
    panel.close()
    return panel.render_mode


def training_rate(live: bool, seconds: float, modes: list | None = None) -> tuple[float, float]:
    """(steps/s, frames/s) of a background run for ``seconds`` (after a short warm-up)."""
    panel = _panel(live)
    panel.start()
    deadline = time.perf_counter() + 10
    while panel.frames_drawn < 4 and live and time.perf_counter() < deadline:  # warm-up: first full draws
        time.sleep(0.05)
    time.sleep(0.3)
    steps0, frames0, t0 = panel.trainer.run.steps, panel.frames_drawn, time.perf_counter()
    time.sleep(seconds)
    steps, frames, t = panel.trainer.run.steps, panel.frames_drawn, time.perf_counter()
    if modes is not None:
        modes.append(panel.render_mode)
    panel.stop()
    panel.close()
    return (steps - steps0) / (t - t0), (frames - frames0) / (t - t0)


def stop_latency(repeats: int, device: str = "cpu") -> tuple[float, float]:
    """Worst times (ms), over ``repeats`` runs, from pressing Stop to ``stop()`` returning (the click)
    and to the final frame being on show (``wait()``: trainer and drawer ended), with the panel's
    device set to ``device``."""
    panel = _panel(True, device)
    worst_call = worst_frame = 0.0
    for _ in range(repeats):
        panel.start()
        time.sleep(0.4)
        t0 = time.perf_counter()
        panel.stop()
        worst_call = max(worst_call, (time.perf_counter() - t0) * 1000)
        panel.wait(30)
        worst_frame = max(worst_frame, (time.perf_counter() - t0) * 1000)
    panel.close()
    return worst_call, worst_frame


def rows(quick: bool):
    import inspect

    from ..widgets.training_panel import TrainingPanel
    seconds = 1.5 if quick else 4.0
    where = warm_up_renderer()
    frames, modes = [], []

    def on():
        rate, fps = training_rate(True, seconds, modes)
        frames.append(fps)
        return rate

    ours, theirs = side_by_side(on, lambda: training_rate(False, seconds)[0], 1 if quick else 3)
    drawn = "renderer process" if modes and all(m == "process" for m in modes) else \
        f"drawn: {', '.join(sorted(set(modes))) or where}"
    cap = inspect.signature(TrainingPanel).parameters["max_fps"].default
    yield Row("panel: training steps/s, live drawing on vs off", ours, theirs, "steps/s", target=0.8,
              note=f"moons 2-16-16-2, Adam, full batch; {drawn}, {cap:g} frames/s cap")
    yield Row("panel: frames drawn per second during training", max(frames), None, "frames/s", target=15)
    call, frame = stop_latency(3 if quick else 8)
    yield Row("panel: Stop click returns (worst of several)", call, None, "ms", target=100,
              higher_is_better=False, note="Stop pressed -> stop() returned, trainer thread ended")
    yield Row("panel: Stop -> final frame on show (worst)", frame, None, "ms",
              higher_is_better=False, note="drawn after the click returned, by a short thread")
    yield from cuda_stop_rows(quick)
    yield gc_row(quick)


#: objects in the heap of the GC row: about what a kernel holds after a few lessons
GC_HEAP_OBJECTS = 300_000


def gc_pause(frozen: bool, objects: int = GC_HEAP_OBJECTS) -> float:
    """Milliseconds of one full collection (``gc.collect()``, which holds the GIL) with a heap of
    ``objects`` small containers plus a tenth as many made during the run, as a panel's worker
    meets it: ``frozen``, the heap from before the run is set aside (the runner's
    :func:`lrlab.widgets.runner.hold_collector`), else it is scanned too."""
    import gc

    from ..widgets import runner
    heap = [{"i": [i]} for i in range(objects)]
    gc.collect()
    if frozen:
        runner.hold_collector()
    try:
        made = [{"i": [i]} for i in range(objects // 10)]  # what the run allocates (a tenth of the heap)
        t = time.perf_counter()
        gc.collect()
        return 1e3 * (time.perf_counter() - t)
    finally:
        if frozen:
            runner.release_collector()
        del heap, made


def gc_row(quick: bool) -> Row:
    """A full collection during a run, the heap before the run frozen (the runner) vs scanned."""
    objects = GC_HEAP_OBJECTS // (10 if quick else 1)
    ours, theirs = side_by_side(lambda: -gc_pause(True, objects), lambda: -gc_pause(False, objects), 3)
    return Row("panel: a full GC pause during a run, heap frozen vs scanned", -ours, -theirs, "ms",
               higher_is_better=False,
               note=f"{objects:,} objects in the heap; a collection holds the GIL, so it delays a Stop click")


def cuda_stop_rows(quick: bool, device: str = "cuda"):
    """The Stop click's latency with the panel training on ``device`` (cuda: skipped without CUDA)."""
    import torch
    name = f"panel: Stop click returns, device={device} (worst)"
    if device == "cuda" and not torch.cuda.is_available():
        yield Row(name, None, None, "ms", target=100, higher_is_better=False,
                  note="skipped: no CUDA here (target <= 100 ms)")
        return
    call, _ = stop_latency(3 if quick else 8, device)
    yield Row(name, call, None, "ms", target=100, higher_is_better=False,
              note="Stop pressed -> stop() returned, trainer thread ended; moons 2-16-16-2, Adam, full batch")
