"""A classroom's kernel host: several learners' playground panels training live at once.

Each panel runs in its own process, as each learner's kernel does on a JupyterHub node (each
kernel with its own renderer process, :mod:`lrlab.plots.render_process`), on one torch thread,
headless (the frames go into the panel's picture as in a notebook; no browser is attached, so
every frame the drawer finishes is taken). All of them start together, train for the same
seconds, and report their epochs/s and frames drawn per second. One panel alone, measured in
the same way just before, is the reference.

Rows (``lrlab bench --only classroom``):

* ``classroom: 4 live panels on this host, frames/s each (lowest)``: target >= 10;
* ``classroom: 4 live panels on this host, epochs/s each vs one panel alone`` (the lowest of
  the four over the one alone): target >= 0.8x.

Both at the panel's default speed (:data:`lrlab.widgets.training_panel.DEFAULT_SPEED` epochs/s at
most while drawing live, the pace a learner follows), then both again with every panel as fast
as it can (no target: four trainers flat out on two cores get half a core each at best).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from . import Row

PANELS = 4
#: one learner's panel: the playground's default spiral net is heavier; this is bench/panel's
CONFIG = dict(dataset="moons", n_samples=512, hidden=(16, 16), activation="tanh", optimizer="adam", lr=0.01,
              max_epochs=10**6)

_CHILD = r"""
import json, sys, time
from lrlab.bench.panel import warm_up_renderer
from lrlab.widgets.training_panel import TrainingPanel
config, seconds, start_at, speed = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
where = warm_up_renderer()
panel = TrainingPanel(threads=1, speed=speed, **config)
time.sleep(max(0.0, start_at - time.time()))  # every panel starts at the same moment
panel.start()
time.sleep(1.0)  # warm-up: the first full draws
steps0, frames0, t0 = panel.trainer.run.steps, panel.frames_drawn, time.perf_counter()
time.sleep(seconds)
steps, frames, t = panel.trainer.run.steps, panel.frames_drawn, time.perf_counter()
panel.stop()
panel.close()
print(json.dumps({"epochs_per_s": (steps - steps0) / (t - t0), "frames_per_s": (frames - frames0) / (t - t0),
                  "drawn": panel.render_mode}))
"""


def panels_at_once(n: int, seconds: float, config: dict = CONFIG, speed: float | None = None) -> list[dict]:
    """``n`` live panels at ``speed`` (epochs/s at most; None: as fast as they can), each in its own
    process, started together; each one's measurements."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start_at = time.time() + 8.0 + 1.5 * n  # time for every process to import and warm its renderer up
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(config), str(seconds), str(start_at),
                              json.dumps(speed)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=seconds + 120)
        if p.returncode != 0:
            raise RuntimeError(f"a classroom panel failed: {err.strip().splitlines()[-1] if err.strip() else p.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def rows(quick: bool):
    from ..widgets.training_panel import DEFAULT_SPEED
    seconds = 3.0 if quick else 8.0
    cores = os.cpu_count() or 1
    for speed in (DEFAULT_SPEED, None):
        alone = panels_at_once(1, seconds, speed=speed)[0]
        together = panels_at_once(PANELS, seconds, speed=speed)
        fps = min(r["frames_per_s"] for r in together)
        slowest = min(r["epochs_per_s"] for r in together)
        pace = f"at the panel's default speed ({DEFAULT_SPEED:g} epochs/s at most)" if speed else "as fast as they can"
        note = (f"{PANELS} processes (one per learner's kernel, each with its renderer), 1 torch thread each, "
                f"moons 2-16-16-2 Adam, {pace}, headless; alone: {alone['epochs_per_s']:.0f} epochs/s, "
                f"{alone['frames_per_s']:.1f} frames/s")
        tail = "" if speed else ", as fast as they can"
        yield Row(f"classroom: {PANELS} live panels on this {cores}-core host, frames/s each (lowest){tail}", fps,
                  None, "frames/s", target=10 if speed else None, note=note)
        limit = (f"{PANELS} trainers flat out share {cores} core(s): at most {min(1.0, cores / PANELS):.2f}x each "
                 f"even if drawing cost nothing" if not speed else
                 f"each trains at the pace a learner follows and leaves the rest of the CPU to the others")
        yield Row(f"classroom: {PANELS} live panels on this {cores}-core host, epochs/s each vs one panel alone{tail}",
                  slowest, alone["epochs_per_s"], "epochs/s", target=0.8 if speed else None,
                  note=f"the slowest of the {PANELS} against one panel alone, {pace}; {limit}")
