"""Engine vs a plain hand-written torch loop (nn.Module + torch.optim), same MLP and data.

The engine here is a single run (:class:`lrlab.train.Trainer`, the engine with K = 1), which
records every epoch's train and test metrics and applies the stopping rules; the plain loop
only trains. Target (issue 15): >= 1.4x."""
from __future__ import annotations

import torch

from . import Row, side_by_side
from ..train import TrainConfig, Trainer, make_dataset

CONFIG = TrainConfig(dataset="moons", n_samples=512, hidden=(16, 16), activation="tanh",
                     optimizer="adam", lr=0.01, max_epochs=10**6)


def plain_loop_rate(steps: int) -> float:
    """The loop a learner would write: nn.Sequential, CrossEntropyLoss, torch.optim.Adam."""
    import time
    ds = make_dataset(CONFIG)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = ds.X_train, ds.y_train
    t = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t)


def engine_rate(steps: int) -> float:
    """lrlab's engine, full batch: one step per epoch, with every epoch's metrics recorded."""
    import time
    trainer = Trainer(CONFIG)
    t = time.perf_counter()
    for _ in range(steps):
        trainer.epoch()
    return steps / (time.perf_counter() - t)


def rows(quick: bool):
    steps = 300 if quick else 2000
    ours, theirs = side_by_side(lambda: engine_rate(steps), lambda: plain_loop_rate(steps), 2 if quick else 5)
    yield Row("engine (epoch metrics recorded) vs plain torch loop", ours, theirs, "steps/s", target=1.4,
              note="2-16-16-2 tanh, 410 moons, full batch, Adam; one engine: a single run is K = 1")
