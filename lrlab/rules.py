"""The per-epoch rules of a run, for K models at once: divergence, best epoch, stop.

One piece of code serves every run, one model (K = 1) or a race of K (the engine,
:class:`lrlab.engine.Engine`): :class:`EpochRules` holds each model's rule constants
and rule state as ``[K]`` numpy arrays, and :meth:`EpochRules.after_epoch` applies the rules
to one epoch's metrics of all K models with array operations (no Python loop over models).

The rules, for a model still running after epoch ``e`` (in this order; the first that fires
ends the run):

1. ``diverged``: the train or test loss is not finite, or
   ``train_loss > divergence_factor * max(|first epoch's train loss|, 1e-3)``, or the train
   loss has stayed above :data:`HOLD_FACTOR` times that for :data:`HOLD_EPOCHS` epochs in a row
   (a learning rate so high that the loss neither explodes nor comes down: it sits far above
   where it started). Nothing else is looked at (the epoch is not a candidate for the best epoch).
2. best epoch: the value ``test_loss`` (``select_best='loss'``) or ``-test_acc``
   (``'accuracy'``) is strictly lower than the best so far (or is the first) -> *improved*.
   ``select_split='train'`` judges on the training split instead (``train_loss`` /
   ``-train_acc``: the epoch's recorded training metrics, measured during its updates (the
   mean over its mini-batches; full batch: before its one step), as the cosine-with-cuts
   procedure records them); ``'test'`` (the default) on the held-out split.
   The caller keeps that epoch's weights and metrics (and lets reactive schedules observe).
3. ``stopped_by_user``: the learner asked to stop during this epoch.
4. ``target_accuracy``: ``test_acc >= target_accuracy`` (when set).
5. ``converged`` (when ``patience`` is set): the train loss is below the best train loss so
   far minus ``min_delta`` -> it becomes the best and the count restarts; otherwise the count
   of epochs without improvement grows, and the run stops when it reaches ``patience``.
6. ``max_epochs``: ``e + 1 >= max_epochs``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

#: Stop-reason codes returned by :meth:`EpochRules.after_epoch` (0: the model goes on).
GOING_ON, DIVERGED, STOPPED_BY_USER, TARGET_ACCURACY, CONVERGED, MAX_EPOCHS = range(6)
#: Rule 1's second form: a train loss above ``HOLD_FACTOR * max(|first loss|, 1e-3)`` for
#: ``HOLD_EPOCHS`` epochs in a row is a divergence too.
HOLD_FACTOR, HOLD_EPOCHS = 100.0, 20
#: The first loss the divergence bounds are measured against is at least this (a near-zero first
#: loss would make any later loss "diverged").
LOSS_FLOOR = 1e-3
#: ``REASONS[code]``: the :class:`lrlab.train.Run`'s ``stop_reason`` of each code.
REASONS = (None, "diverged", "stopped_by_user", "target_accuracy", "converged", "max_epochs")


class _NumpyArrays:
    """The array operations the rules use, on numpy arrays (the host)."""

    where, isfinite, floor_at = staticmethod(np.where), staticmethod(np.isfinite), staticmethod(np.maximum)

    def __init__(self, device=None):
        self.device = None

    def column(self, values, kind):
        return np.array(values, dtype={float: np.float64, int: np.int64, bool: bool}[kind])

    @staticmethod
    def all(mask) -> bool:
        return bool(np.all(mask))


def _pick(condition, a, b):
    """``where`` for one model: ``a`` if ``condition`` else ``b``."""
    return a if condition else b


class _Numbers:
    """The same operations on plain Python numbers: one model on the host (a single run, K = 1),
    where NumPy calls on one-element arrays would cost more than the rules themselves."""

    where, isfinite, floor_at = staticmethod(_pick), staticmethod(math.isfinite), staticmethod(max)
    device = None

    @staticmethod
    def column(values, kind):
        return kind(values[0])

    @staticmethod
    def all(mask) -> bool:
        return bool(mask)


class _TorchArrays:
    """The same operations on torch tensors on ``device`` (a GPU: the rules run where the metrics are)."""

    where, isfinite, floor_at = staticmethod(torch.where), staticmethod(torch.isfinite), staticmethod(torch.clamp_min)

    def __init__(self, device):
        self.device = torch.device(device)

    def column(self, values, kind):
        dtype = {float: torch.float64, int: torch.int64, bool: torch.bool}[kind]
        return torch.tensor(values, dtype=dtype, device=self.device)

    @staticmethod
    def all(mask) -> bool:
        return bool(mask.all()) if isinstance(mask, torch.Tensor) else bool(mask)


def best_rule(config) -> str:
    """How ``config``'s best epoch is chosen, in words: "lowest test loss", "highest train accuracy" ..."""
    split = "train" if config.select_split == "train" else "test"
    return f"lowest {split} loss" if config.select_best == "loss" else f"highest {split} accuracy"


class EpochRules:
    """The stopping and best-epoch rules of K runs (one per config), as ``[K]`` arrays.

    Constants (from the configs, built once): ``divergence_factor``, ``by_accuracy``
    (``select_best == 'accuracy'``), ``on_train`` (``select_split == 'train'``), ``has_target``/``target`` (NaN where unset),
    ``has_patience``/``patience`` (0 where unset), ``min_delta``, ``max_epochs``. State:
    ``first_loss`` and ``bound`` (NaN before the first epoch), ``has_best``/``best_value``,
    ``best_train_loss`` (inf), ``since_improved``.

    ``device=None``: numpy arrays on the host (one model: Python numbers, the arrays it is
    given and returns still ``[1]``). ``device='cuda'`` (any torch device): the same code on
    torch tensors there, so a race on a GPU applies its rules without copying the metrics to
    the host every epoch (:class:`lrlab.engine.Engine`).
    """

    def __init__(self, configs: Sequence, device=None):
        configs = list(configs)
        self.K = len(configs)
        if device is not None:
            xp = _TorchArrays(device)
        else:
            xp = _Numbers() if self.K == 1 else _NumpyArrays()
        self.xp = xp
        self._numbers = isinstance(xp, _Numbers)
        column = xp.column
        f64, i64 = float, int
        self.divergence_factor = column([c.divergence_factor for c in configs], f64)
        self.by_accuracy = column([c.select_best != "loss" for c in configs], bool)
        self.on_train = column([c.select_split == "train" for c in configs], bool)
        self.has_target = column([c.target_accuracy is not None for c in configs], bool)
        self.target = column([math.nan if c.target_accuracy is None else c.target_accuracy for c in configs], f64)
        self.has_patience = column([c.patience is not None for c in configs], bool)
        self.patience = column([c.patience or 0 for c in configs], i64)
        self.min_delta = column([c.min_delta for c in configs], f64)
        self.max_epochs = column([c.max_epochs for c in configs], i64)
        # rules no model uses are skipped
        self._any_target = any(c.target_accuracy is not None for c in configs)
        self._any_patience = any(c.patience is not None for c in configs)
        self._all_by_loss = all(c.select_best == "loss" for c in configs)
        splits = {c.select_split for c in configs}
        self._split = splits.pop() if len(splits) == 1 else None  # the one split all judge on, or None
        self._fewest_epochs = min((c.max_epochs for c in configs), default=0)
        # state
        self.first_loss = column([math.nan] * self.K, f64)
        self.bound = column([math.nan] * self.K, f64)  # divergence_factor * max(|first_loss|, 1e-3)
        self.hold_bound = column([math.nan] * self.K, f64)  # HOLD_FACTOR * max(|first_loss|, 1e-3)
        self.epochs_above = column([0] * self.K, i64)  # epochs in a row above hold_bound
        self.has_first = column([False] * self.K, bool)
        self._first_pending = True  # some model has no first loss yet
        self.has_best = column([False] * self.K, bool)
        self.best_value = column([math.inf] * self.K, f64)
        self.best_train_loss = column([math.inf] * self.K, f64)
        self.since_improved = column([0] * self.K, i64)

    def after_epoch(self, epoch: int, train_loss, test_loss, train_acc, test_acc, active=True,
                    stopped: bool = False):
        """Apply the rules to epoch ``epoch``'s metrics (``[K]`` float64 arrays) of the models where
        ``active`` (``[K]`` bool; True: all); update their state.

        Returns ``(improved, reason)`` (``[K]`` arrays): ``improved``
        where the epoch is the model's best so far (never for a diverged or inactive model);
        ``reason`` the stop code (an index into :data:`REASONS`), 0 where the model goes on or
        was not active. A model that is not active stays so (a stopped run does not resume).
        """
        if not self._numbers:
            return self._apply(epoch, train_loss, test_loss, train_acc, test_acc, active, stopped)
        one = [v if isinstance(v, (bool, float)) else v.item()  # (size-1 arrays, numpy scalars)
               for v in (train_loss, test_loss, train_acc, test_acc, active)]
        improved, reason = self._apply(epoch, *one, stopped)
        return np.array([improved]), np.array([reason], dtype=np.int64)

    @property
    def best_flags(self) -> np.ndarray:
        """``has_best`` as a host array ``[K]`` (whatever the state is held in)."""
        has_best = self.has_best
        if isinstance(has_best, torch.Tensor):
            return has_best.cpu().numpy()
        return np.atleast_1d(np.asarray(has_best, dtype=bool))

    def _apply(self, epoch: int, train_loss, test_loss, train_acc, test_acc, active, stopped):
        xp = self.xp
        where, isfinite = xp.where, xp.isfinite
        # 1. divergence, against the first epoch's train loss (its bound is computed once)
        if self._first_pending:
            first = active & (self.has_first ^ True)
            self.first_loss = where(first, train_loss, self.first_loss)
            start = xp.floor_at(abs(self.first_loss), LOSS_FLOOR)
            self.bound = where(first, self.divergence_factor * start, self.bound)
            self.hold_bound = where(first, HOLD_FACTOR * start, self.hold_bound)
            self.has_first = self.has_first | first
            self._first_pending = not xp.all(self.has_first)
        # for a finite loss, "not loss > bound" is "loss <= bound" (the bound is never NaN then)
        going = isfinite(train_loss) & isfinite(test_loss) & (train_loss <= self.bound) & active
        reason = where(active & (going ^ True), DIVERGED, GOING_ON)
        above = going & (train_loss > self.hold_bound)  # far above the start: how long in a row?
        self.epochs_above = where(above, self.epochs_above + 1, 0)
        held = above & (self.epochs_above >= HOLD_EPOCHS)
        reason = where(held, DIVERGED, reason)
        going = going & (held ^ True)
        # 2. best epoch: strictly better than the best so far, or the first (on the split chosen)
        if self._split == "test":
            loss, acc = test_loss, test_acc
        elif self._split == "train":
            loss, acc = train_loss, train_acc
        else:
            loss, acc = where(self.on_train, train_loss, test_loss), where(self.on_train, train_acc, test_acc)
        value = loss if self._all_by_loss else where(self.by_accuracy, -acc, loss)
        improved = going & ((self.has_best ^ True) | (value < self.best_value))
        self.best_value = where(improved, value, self.best_value)
        self.has_best = self.has_best | improved
        # 3. the learner's stop
        if stopped:
            return improved, where(going, STOPPED_BY_USER, reason)
        # 4. target accuracy
        if self._any_target:
            hit = going & self.has_target & (test_acc >= self.target)
            reason = where(hit, TARGET_ACCURACY, reason)
            going = going & (hit ^ True)
        # 5. patience: epochs since the train loss last improved by more than min_delta
        if self._any_patience:
            watched = going & self.has_patience
            better = watched & (train_loss < self.best_train_loss - self.min_delta)
            worse = watched & (better ^ True)
            self.best_train_loss = where(better, train_loss, self.best_train_loss)
            self.since_improved = where(better, 0, self.since_improved + worse)
            converged = worse & (self.since_improved >= self.patience)
            reason = where(converged, CONVERGED, reason)
            going = going & (converged ^ True)
        # 6. the epoch budget (nothing to compute before the first model's last epoch)
        if epoch + 1 >= self._fewest_epochs:
            reason = where(going & (epoch + 1 >= self.max_epochs), MAX_EPOCHS, reason)
        return improved, reason
