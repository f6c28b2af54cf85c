"""The race's bookkeeping per model-epoch: the time an epoch spends outside the batched pass.

A race of 16,384 tiny nets (2-4-2 tanh, 40 moons, full batch, Adam at 16,384 learning rates,
1 thread) runs 20 timed epochs after one untimed one. Each epoch's time is split into the
batched forward/backward/update (:meth:`lrlab.race.Race._full_batch_pass`, timed around each
call) and the rest: the learning rates, the records, the rules (:mod:`lrlab.rules`), the best
weights, the stops. The row is that rest divided by the model-epochs trained, in
microseconds; the net is so small that the rest is nearly all Python per model.
"""
from __future__ import annotations

import time

import numpy as np

from . import Row
from .. import threads
from ..race import Race
from ..train import TrainConfig

CONFIG = TrainConfig(dataset="moons", n_samples=50, test_fraction=0.2, hidden=(4,), activation="tanh",
                     optimizer="adam", lr=0.01)


def bookkeeping_us(K: int = 16384, epochs: int = 20) -> tuple[float, float]:
    """(bookkeeping, batched pass) in microseconds per model-epoch, over ``epochs`` timed epochs."""
    configs = [CONFIG.replace(lr=float(lr), max_epochs=epochs + 1) for lr in np.logspace(-3, -1, K)]
    r = Race(configs)
    inner = r._full_batch_pass
    spent = [0.0]

    def timed_pass():
        t = time.perf_counter()
        out = inner()
        spent[0] += time.perf_counter() - t
        return out

    with threads.engine_threads(1):
        r.epoch()  # untimed: the first epoch allocates the work buffers
        r._full_batch_pass = timed_pass
        model_epochs = 0
        t = time.perf_counter()
        while not r.done:
            model_epochs += int(np.count_nonzero(r.active))
            r.epoch()
        total = time.perf_counter() - t
    return (total - spent[0]) / model_epochs * 1e6, spent[0] / model_epochs * 1e6


def rows(quick: bool):
    K = 4096 if quick else 16384
    best = min((bookkeeping_us(K) for _ in range(1 if quick else 3)), key=lambda x: x[0])
    yield Row("race bookkeeping per model-epoch", best[0], None, "us", target=1.0, higher_is_better=False,
              note=f"outside the batched pass ({best[1]:.2f} us/model-epoch); race of {K} 2-4-2 tanh nets, "
                   f"40 moons, full batch, Adam, 20 epochs, 1 thread")
