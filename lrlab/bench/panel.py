"""The live training panel: Stop latency, training speed with live drawing on vs off, frames/s.

Measured side by side in one run, on the panel's own background thread (headless: the
PNG bytes go into the ``ipywidgets.Image`` as in a notebook, with no front-end attached).
"""
from __future__ import annotations

import time

from . import Row, side_by_side

CONFIG = dict(dataset="moons", n_samples=512, hidden=(16, 16), activation="tanh", optimizer="adam", lr=0.01,
              max_epochs=10**6)


def _panel(live: bool):
    from ..widgets.training_panel import TrainingPanel
    return TrainingPanel(live=live, **CONFIG)


def training_rate(live: bool, seconds: float) -> tuple[float, float]:
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
    panel.stop()
    return (steps - steps0) / (t - t0), (frames - frames0) / (t - t0)


def stop_latency(repeats: int) -> float:
    """Worst time (ms) from Stop to the training loop having ended, over ``repeats`` runs."""
    panel = _panel(True)
    worst = 0.0
    for _ in range(repeats):
        panel.start()
        time.sleep(0.4)
        panel.stop()
        worst = max(worst, panel.last_stop_latency * 1000)
    return worst


def rows(quick: bool):
    seconds = 1.5 if quick else 4.0
    frames = []

    def on():
        rate, fps = training_rate(True, seconds)
        frames.append(fps)
        return rate

    ours, theirs = side_by_side(on, lambda: training_rate(False, seconds)[0], 1 if quick else 3)
    yield Row("panel: training steps/s, live drawing on vs off", ours, theirs, "steps/s", target=0.8,
              note="moons 2-16-16-2, Adam, full batch; drawer thread, 15 frames/s cap")
    yield Row("panel: frames drawn per second during training", max(frames), None, "frames/s", target=15)
    yield Row("panel: Stop latency (worst of several)", stop_latency(3 if quick else 8), None, "ms", target=100,
              higher_is_better=False)
