"""Train one config: :func:`train` (a config in, a :class:`Run` out) and :class:`Trainer`
(a run in progress, epoch by epoch, as the panels drive it). No widgets here.

One model is the engine (:class:`lrlab.engine.Engine`) with K = 1: the same loop, rules and
numbers as a race's contender (see :mod:`lrlab.engine` for the loop, the stopping rules,
the best-epoch selection, the epoch metrics and the mini-batches).

The config, its validation and the data and network it names are in :mod:`lrlab.config`;
the result, :class:`Run`, in :mod:`lrlab.run`. Both are importable from here as well.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from . import data as data_mod
from .config import (_RULES, DEVICES, REGULARIZATION, SELECT_BEST, TrainConfig, features_of,  # noqa: F401
                     make_dataset, make_model, resolve_device, torch_dtype)
from .engine import Engine, Frame, minibatches  # noqa: F401
from . import threads as threads_mod
from .history import History
from .rules import REASONS
from .run import Run  # noqa: F401

#: why a run stops, in plain names (:mod:`lrlab.rules`)
STOP_REASONS = tuple(r for r in REASONS if r)


class Trainer:
    """One run in progress: ``epoch()`` trains one epoch and returns its record; ``stop()`` ends
    the run and restores the best weights. :func:`train` drives it to the end; the widgets
    drive it epoch by epoch. It is a view of one :class:`lrlab.engine.Engine` with K = 1
    (``trainer.engine``); ``model`` and ``params`` are that engine's live weights.

    ``norms=True``: every record also holds each layer's weight and gradient norm
    (:func:`lrlab.engine.norm_columns`), as the training panel draws them.
    """

    def __init__(self, config: TrainConfig, dataset: data_mod.Dataset | None = None, norms: bool = False):
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config: must be a TrainConfig, got {type(config).__name__}")
        self.engine = Engine([config], dataset=dataset, norms=norms)
        e = self.engine
        self.config = e.configs[0]
        self.device, self.dataset, self.kind = e.device, e.dataset, e.kind
        self.X_train, self.X_test, self.y_train, self.y_test = e.X_train, e.X_test, e.y_train, e.y_test
        self.n_train, self.batch_size = e.n_train, e.batch_size
        self._run = e.runs[0]  # its model's weights are views of the engine's buffer
        self.model = self._run.model
        self.params = e.params[0]
        self.history: History = e.histories[0]
        self.schedule = e.schedules[0]

    @property
    def grad(self) -> torch.Tensor:
        """The gradient of the last step (the last mini-batch's), flat, in the model's order."""
        return self.engine.grad[0]

    @property
    def run(self) -> Run:
        """The run so far: steps, best epoch and its metrics brought up to date when read."""
        self.engine.runs
        return self._run

    @property
    def epoch_index(self) -> int:
        return self.engine.epoch_index

    @property
    def done(self) -> bool:
        return self.engine.done

    @property
    def lr(self) -> float:
        """The learning rate of the epoch trained last (before any: of the first)."""
        return float(self.engine.current_lrs[0])

    def threads(self, override: int | None = None) -> int:
        """The intra-op thread count for this run's steps (:func:`lrlab.threads.resolve`): ``override``
        if given, else chosen from one step's work."""
        return self.engine.threads(override)

    def epoch(self, should_stop: Callable[[], bool] | None = None) -> dict | None:
        """Train one epoch and return its record; None if ``should_stop`` fired before any step."""
        records = self.engine.epoch(should_stop)
        return None if records is None else records[0]

    def stop(self, reason: str = "stopped_by_user") -> Run:
        """End the run: record why, restore the best epoch's weights."""
        self.engine.stop_all(reason)
        return self.run

    def effective_steps(self) -> torch.Tensor:
        """The optimizer's per-parameter effective step (flat): the multiplier on the direction it
        steps along (:mod:`lrlab.optim`), e.g. Adam's ``lr / (sqrt(v_hat) + eps)``, the multiplier on ``m_hat``."""
        return self.engine.effective_steps(0)

    def frame(self, grid_points: np.ndarray | None = None) -> Frame:
        """What plots draw now (:meth:`lrlab.engine.Engine.frame`)."""
        return self.engine.frame(0, grid_points)

    def network_frame(self, resolution: int = 30, extent=None, X=None, y=None):
        """What the network view draws now (:meth:`lrlab.engine.Engine.network_frame`)."""
        return self.engine.network_frame(0, resolution, extent, X, y)


def train(config: TrainConfig, on_epoch: Callable[[dict, Run], Any] | None = None,
          should_stop: Callable[[], bool] | None = None, dataset: data_mod.Dataset | None = None) -> Run:
    """Run ``config`` to a stopping rule and return the :class:`Run` (never raises on divergence).

    ``on_epoch(record, run)`` is called after every epoch; ``should_stop()`` is polled
    before every mini-batch (so it is seen within one step, far under 50 ms here).

    The loop runs with the intra-op thread count that :mod:`lrlab.threads` chooses from one
    step's work (mini-batch rows x parameters; 1 for small networks), unless overridden with
    ``lrlab.threads.set_override`` or ``LRLAB_THREADS``; torch's own setting is restored afterwards.
    """
    trainer = Trainer(config, dataset)
    with threads_mod.engine_threads(trainer.threads()):
        while not trainer.done:
            record = trainer.epoch(should_stop)
            if record is not None and on_epoch is not None:
                on_epoch(record, trainer.run)
    return trainer.run
