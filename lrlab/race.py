"""Race K training configs at once, sweep learning rates, run the LR range test.

A race trains K configs that share the data, the architecture, the batch size and the
seed (so the same initial weights and the same mini-batches) and differ only in the
optimizer, its hyper-parameters, the learning rate, the schedule and the regularisation.
It is ONE tensor program over a leading K axis (:class:`lrlab.batched.BatchedMLP`): one
forward, one loss and one hand-written backward for the K models per mini-batch; the
models are grouped by optimizer (and its boolean options: nesterov, amsgrad, centered,
...; AdamW shares Adam's group, see :data:`SHARED_STEP`) and each group is stepped with ONE call of the optimizer function over its rows of
the ``[K, P]`` parameter buffer, with per-model hyper-parameters as ``[K]`` tensors.

Each model follows the engine's rules exactly (:mod:`lrlab.train`): the same per-epoch
record (``lr`` used during the epoch; train loss/accuracy = mean over the epoch's
mini-batches; test metrics after the epoch), the same divergence, best-epoch and stop
rules, evaluated per model. A model that stops (diverged, target reached, converged,
out of epochs) is masked: its parameters stop changing, its weights are restored to its
best epoch, and the others go on. The result is a list of ordinary :class:`lrlab.train.Run`
objects, so every plot and export of a single run works on each contender.

* :func:`race` — K configs -> K runs.
* :func:`sweep` — optimizers x learning rates in one race -> :class:`SweepResult`.
* :func:`lr_range_test` — one run, the learning rate growing exponentially step by step
  -> :class:`RangeTest` with a suggested learning rate (rule in :func:`suggest_lr`).
"""
from __future__ import annotations

import collections.abc
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from . import data as data_mod
from . import limits, optim, schedules
from .batched import BatchedMLP
from .history import KHistory, _num
from .rules import DIVERGED, REASONS, EpochRules
from .train import (Run, TrainConfig, features_of, minibatches, make_dataset, make_model, resolve_device,
                    torch_dtype)

#: Fields every config of a race must share (the data, the architecture, the batches, the seed).
SHARED_FIELDS = ("dataset", "n_samples", "noise", "test_fraction", "classes", "data_seed", "csv_path",
                 "features", "hidden", "activation", "loss", "batch_size", "seed", "device", "dtype")


def check_shared(configs: Sequence[TrainConfig]) -> None:
    """Raise ``ValueError`` unless every config shares :data:`SHARED_FIELDS` with the first."""
    if len(configs) == 0:
        raise ValueError("configs: a race needs at least one TrainConfig, got 0")
    first = configs[0]
    for i, c in enumerate(configs):
        if not isinstance(c, TrainConfig):
            raise ValueError(f"configs: every item must be a TrainConfig, got {type(c).__name__} at position {i}")
        for name in SHARED_FIELDS:
            if getattr(c, name) != getattr(first, name):
                raise ValueError(f"configs: every config in a race must share {name} (the data, architecture, "
                                 f"batch size and seed; only optimizer, hyper-parameters, lr, schedule and "
                                 f"regularisation may differ), got {getattr(c, name)!r} in config {i} "
                                 f"and {getattr(first, name)!r} in config 0")


#: Optimizers stepped together with another family's group: AdamW is Adam plus the decoupled
#: shrink ``theta <- theta - lr * weight_decay * theta`` done first, so one group runs both, with
#: a per-model decoupled rate (0 for Adam rows: ``theta * (1 - lr * 0) = theta`` exactly) and a
#: per-model coupled ``weight_decay`` (0 for AdamW rows: ``g + 0 * theta = g`` exactly).
SHARED_STEP = {"adamw": "adam"}


def group_key(config: TrainConfig) -> tuple:
    """Models with equal keys are stepped by one batched optimizer call: the optimizer (AdamW
    joins Adam, see :data:`SHARED_STEP`) and its non-numeric options (booleans such as
    nesterov/amsgrad/centered, strings)."""
    spec = optim.get(config.optimizer)
    hyper = spec.resolve(lr=config.lr, **config.optimizer_params)
    options = tuple(sorted((k, v) for k, v in hyper.items() if isinstance(v, (bool, str)) or v is None))
    return (SHARED_STEP.get(config.optimizer, config.optimizer), options)


def _stack_hyper(values: list, dtype, device):
    """One hyper-parameter over a group: a number if all equal, else a ``[K]`` tensor (tuples by position)."""
    first = values[0]
    if all(v == first for v in values):
        return first
    if isinstance(first, (tuple, list)):
        return tuple(_stack_hyper([v[i] for v in values], dtype, device) for i in range(len(first)))
    return torch.tensor([float(v) for v in values], dtype=dtype, device=device)


@dataclass
class _Group:
    spec: Any
    rows: slice  # contiguous rows of the [K, P] buffer (models are ordered by group)
    hyper: dict
    state: Any
    decoupled_decay: Any = 0.0  # AdamW rows' weight_decay (number or [K] tensor), 0 elsewhere
    views: tuple = ()  # (params, grad, lr) rows of the race's buffers, built once
    lr: Any = 0.0  # this epoch's learning rate: a number if the rows share it, else views[2]
    shrink: bool = False  # any AdamW row with a non-zero decoupled decay




def params_per_model(config: TrainConfig) -> int:
    """Parameters of ``config``'s network, computed from the config alone (before anything is built)."""
    regression = config.dataset in data_mod.REGRESSION or config.loss == "mse"
    sizes = [len(features_of(config)), *config.hidden, 1 if regression else max(2, int(config.classes))]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def check_models(n_models: int, what: str = "race") -> None:
    """A race or sweep trains at most :data:`lrlab.limits.MAX_MODELS` models."""
    if n_models > limits.MAX_MODELS:
        raise ValueError(f"{what}: {n_models} models (optimizers x schedules x learning rates) is more than the "
                         f"{limits.MAX_MODELS} lrlab trains together; use fewer learning rates or optimizers")


def check_race_size(configs: Sequence[TrainConfig], what: str = "race") -> None:
    """``len(configs)`` models x their parameters fit :data:`lrlab.limits.MAX_RACE_PARAMETERS`
    (checked on validated configs, before any data or model is built)."""
    if not configs:
        raise ValueError(f"{what}: at least one contender")
    check_models(len(configs), what)
    n_params = params_per_model(configs[0])
    total = len(configs) * n_params
    if total > limits.MAX_RACE_PARAMETERS:
        raise ValueError(f"{what}: {len(configs)} models x {n_params} parameters = {total:,} numbers, more than the "
                         f"{limits.MAX_RACE_PARAMETERS:,} lrlab holds in one race; use fewer learning rates or "
                         f"optimizers, or a smaller network (--hidden)")


class Race:
    """A race in progress: ``epoch()`` trains every running model one epoch; :func:`race` drives it.

    ``runs`` are in the order of ``configs``. Internally the models are reordered so that
    each optimizer group owns a contiguous block of rows of the ``[K, P]`` buffer.
    """

    def __init__(self, configs: Sequence[TrainConfig], epochs: int | None = None,
                 dataset: data_mod.Dataset | None = None):
        configs = list(configs)
        check_shared(configs)
        if epochs is not None:
            if not (isinstance(epochs, int) and epochs >= 1):
                raise ValueError(f"epochs: must be an integer >= 1, got {epochs!r}")
            configs = [c.replace(max_epochs=epochs) for c in configs]
        check_models(len(configs))
        for c in configs:
            c.validate()
        check_race_size(configs)
        first = configs[0]
        self.K = K = len(configs)
        self.device = resolve_device(first.device)
        self.dtype = torch_dtype(first.dtype)
        self.dataset = make_dataset(first, self.device) if dataset is None else dataset.to(self.device)
        feats = features_of(first)
        self.X_train = data_mod.transform(self.dataset.X_train, feats)
        self.X_test = data_mod.transform(self.dataset.X_test, feats)
        self.y_train, self.y_test = self.dataset.y_train, self.dataset.y_test
        self.kind = self.dataset.kind
        self.loss = first.loss
        self.n_train = self.X_train.shape[0]
        self.batch_size = first.batch_size or self.n_train
        self._shuffle_gen = torch.Generator().manual_seed(first.seed + 1)

        # order the models by optimizer group: internal row i is configs[order[i]]
        keys = [group_key(c) for c in configs]
        distinct = list(dict.fromkeys(keys))
        self.order = sorted(range(K), key=lambda j: distinct.index(keys[j]))
        self.configs = [configs[j] for j in self.order]  # internal order
        self.position = {j: i for i, j in enumerate(self.order)}  # input index -> internal row
        self._input_rows = torch.tensor([self.position[j] for j in range(K)], device=self.device)

        base = make_model(first, self.dataset)  # one seed: the same initial weights for every model
        self.net = BatchedMLP.from_mlp(base, K)
        self.params = self.net.params
        self.grad = torch.zeros_like(self.params)
        self.best_params = self.params.clone()
        self.frozen = self.params.clone()  # rows of stopped models are held at these values

        # full batch: one forward pass serves the test metrics and the next step (see _full_batch_pass)
        self.full_batch = self.batch_size >= self.n_train
        self._X_all = torch.cat([self.X_train, self.X_test]) if self.full_batch else None
        self._y_all = torch.cat([self.y_train, self.y_test]) if self.full_batch else None
        # chunks of rows for the full-batch pass (one on a GPU); groups never straddle two chunks
        self.chunks = self.net.chunks(self._X_all.shape[0], K) if self.full_batch else [slice(0, K)]
        bounds = sorted({c.start for c in self.chunks} | {K})
        self.groups: list[_Group] = []
        start = 0
        internal_keys = [keys[j] for j in self.order]
        for key in distinct:
            members = [c for c, k in zip(self.configs, internal_keys) if k == key]
            stop = start + len(members)
            cuts = [start] + [b for b in bounds if start < b < stop] + [stop]
            for a, b in zip(cuts[:-1], cuts[1:]):
                self.groups.append(self._make_group(key, members[a - start: b - start], slice(a, b)))
            start = stop

        # L1/L2 on weights only (biases excluded), per model
        mask = torch.cat([torch.full((math.prod(s),), float(i % 2 == 0), dtype=self.dtype)
                          for i, s in enumerate(self.net.shapes)]).to(self.device)
        self.weight_mask = mask
        l2 = [c.reg_rate if c.regularization == "l2" else 0.0 for c in self.configs]
        l1 = [c.reg_rate if c.regularization == "l1" else 0.0 for c in self.configs]
        self._l2 = torch.tensor(l2, dtype=self.dtype, device=self.device).view(K, 1) if any(l2) else None
        self._l1 = torch.tensor(l1, dtype=self.dtype, device=self.device).view(K, 1) if any(l1) else None

        self.schedules = [schedules.make_schedule(c.schedule, c.lr, c.max_epochs, **c.schedule_params)
                          for c in self.configs]
        # the K histories: one [K, rows, columns] buffer per history capacity (lrlab.history.KHistory);
        # each run's history is its model's view of it
        capacities = [c.history_capacity for c in self.configs]
        self._khistories: list[tuple[KHistory, Optional[np.ndarray]]] = []  # (buffer, its internal rows or None: all)
        self._kh_of = np.zeros(K, dtype=np.int64)  # internal row -> its buffer
        self._kh_row = np.arange(K)  # internal row -> its row in that buffer
        self.histories = [None] * K
        for n, cap in enumerate(dict.fromkeys(capacities)):
            rows = np.array([i for i, c in enumerate(capacities) if c == cap], dtype=np.int64)
            kh = KHistory(len(rows), capacity=cap)
            self._kh_of[rows] = n
            self._kh_row[rows] = np.arange(len(rows))
            for view, i in zip(kh.views, rows.tolist()):
                view.cuts = self.schedules[i].cuts
                self.histories[i] = view
            self._khistories.append((kh, None if len(rows) == K else rows))
        self._runs = [Run(c, None, h, self.dataset) for c, h in zip(self.configs, self.histories)]
        # best epoch and its metrics per model ([K], [4, K]: train loss, train score, test loss, test
        # score), copied into the runs when they are read (runs, a stop)
        self._best_epoch = np.full(K, -1, dtype=np.int64)
        self._best_metrics = np.full((4, K), np.nan)
        self._pos = np.array([self.position[j] for j in range(K)], dtype=np.int64)  # input index -> internal row
        # the learning rates: pure schedules are functions of the epoch alone, so equal ones (same
        # name, lr, epochs and parameters) are asked once per epoch; a constant one never changes
        # (its rate is filled in once); reactive ones keep their own state and are asked per model
        self._base_lrs = np.zeros(K)
        by_key: dict = {}
        reactive = []
        for i, (c, sc) in enumerate(zip(self.configs, self.schedules)):
            if type(sc) is not schedules.Schedule:
                reactive.append(i)
            elif c.schedule == "constant":
                self._base_lrs[i] = sc.lr(0)
            else:
                key = (c.schedule, c.lr, c.max_epochs, repr(sorted(c.schedule_params.items())))
                by_key.setdefault(key, []).append(i)
        self._lr_groups = [(self.schedules[rows[0]], slice(None) if len(rows) == K else np.array(rows))
                           for rows in by_key.values()]
        self._lr_each = np.array(reactive, dtype=np.int64)
        self.active = np.ones(K, dtype=bool)  # [K], internal order; a stopped model is False
        self.epoch_index = 0
        self.steps = 0
        self.rules = EpochRules(self.configs)  # divergence, best epoch, stopping for all K (lrlab.rules)
        self._t0 = None
        self._models_built = False
        self.lrs = torch.zeros(K, dtype=self.dtype, device=self.device)
        for g in self.groups:  # the buffers are only ever modified in place, so views stay valid
            g.views = (self.params[g.rows], self.grad[g.rows], self.lrs[g.rows])
            g.shrink = isinstance(g.decoupled_decay, torch.Tensor) or g.decoupled_decay != 0
        # schedules whose observe() only returns lr(epoch + 1) (no state) are not called per epoch
        self._observing = np.array([type(sc).observe is not schedules.Schedule.observe for sc in self.schedules],
                                   dtype=bool)
        self._n_active = K
        # per chunk: its rows, its optimizer groups and its rows of the (fixed) params and grad buffers
        self._pipeline = [(rows, [g for g in self.groups if rows.start <= g.rows.start < rows.stop],
                           self.params[rows], self.grad[rows]) for rows in self.chunks]
        self._ahead = None  # (params version, [forward pass of the training inputs per chunk])
        self._last_lrs = None
        self._active_col = None  # self.active as a [K, 1] tensor on the device (None: to be rebuilt)

    def _make_group(self, key: tuple, members: list, rows: slice) -> _Group:
        """One batched optimizer call over ``rows`` (configs ``members``, all of group ``key``)."""
        spec = optim.get(key[0])
        resolved = [optim.get(c.optimizer).resolve(lr=c.lr, **c.optimizer_params) for c in members]
        decoupled = [r["weight_decay"] if c.optimizer in SHARED_STEP else 0.0 for c, r in zip(members, resolved)]
        if any(c.optimizer in SHARED_STEP for c in members):
            resolved = [{**r, "weight_decay": 0.0} if c.optimizer in SHARED_STEP else r
                        for c, r in zip(members, resolved)]
        hyper = {name: _stack_hyper([r[name] for r in resolved], self.dtype, self.device)
                 for name in resolved[0] if name != "lr"}
        group = _Group(spec, rows, hyper, spec.init(self.params[rows]))
        group.decoupled_decay = _stack_hyper(decoupled, self.dtype, self.device)
        if isinstance(group.decoupled_decay, torch.Tensor):
            group.decoupled_decay = group.decoupled_decay.view(-1, 1)
        return group

    # -- state ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._n_active == 0

    @property
    def runs(self) -> list[Run]:
        """The K runs in the order of the configs given (models synced with the buffer)."""
        self.sync_models()
        self._sync_runs(np.flatnonzero(self.active).tolist())
        return [self._runs[self.position[j]] for j in range(self.K)]

    def _sync_runs(self, rows) -> None:
        """Copy the steps and the best epoch (with its metrics) of the models ``rows`` into their runs."""
        best = self._best_epoch
        for i in rows:
            run = self._runs[i]
            run.steps = self.steps
            b = int(best[i])
            if b >= 0 and run.best_epoch != b:
                tl, ta, vl, va = self._best_metrics[:, i].tolist()
                run.best_epoch = b
                run.best_metrics = {"train_loss": tl, "test_loss": vl, "train_acc": ta, "test_acc": va}

    def sync_models(self) -> None:
        """Copy each model's row of the buffer into its :class:`lrlab.nets.MLP` (built on first use)."""
        if not self._models_built:
            for i, run in enumerate(self._runs):
                run.model = self.net.to_mlp(i, seed=run.config.seed)
            self._models_built = True
            return
        with torch.no_grad():
            for i, run in enumerate(self._runs):
                run.model.flat_parameters().copy_(self.params[i])

    def outputs(self, X: torch.Tensor) -> torch.Tensor:
        """Every model's output on raw inputs ``X`` [n, d]: ``[K, n, c]`` in the configs' order (one forward)."""
        X = torch.as_tensor(X, dtype=self.dtype, device=self.device)
        X = data_mod.transform(X.view(-1, 1) if X.dim() == 1 else X, features_of(self.configs[0]))
        return self.net.forward(X)[self._input_rows]

    # -- one epoch -----------------------------------------------------------------
    def _batches(self):
        return minibatches(self.X_train, self.y_train, self.batch_size, self._shuffle_gen)

    def _set_lrs(self, lrs) -> None:
        """This epoch's learning rate per model (internal order; a list or an array): one
        host->device copy only when one changed; a group whose models share one learning rate
        gets it as a number (fewer tensor operations in its step), else its rows of the ``[K]`` buffer."""
        lrs = np.array(lrs, dtype=np.float64)
        if self._last_lrs is not None and np.array_equal(lrs, self._last_lrs):
            return
        self.lrs.copy_(torch.from_numpy(lrs).to(self.dtype))
        self._last_lrs = lrs
        for g in self.groups:
            mine = lrs[g.rows]
            g.lr = float(mine[0]) if (mine == mine[0]).all() else g.views[2]

    def _epoch_lrs(self, e: int) -> np.ndarray:
        """Every model's learning rate for epoch ``e`` (internal order; 0 for stopped models)."""
        lrs = self._base_lrs.copy()
        for s, rows in self._lr_groups:
            lrs[rows] = s.lr(e)
        active = self.active
        for i in self._lr_each.tolist():
            if active[i]:
                lrs[i] = self.schedules[i].lr(e)
        if self._n_active < self.K:
            lrs[~active] = 0.0
        return lrs

    def _regularize(self, rows: slice = slice(None)) -> None:
        if self._l2 is not None:  # penalty rate * |w|^2 / 2 -> grad rate * w
            self.grad[rows].add_(self._l2[rows] * self.params[rows] * self.weight_mask)
        if self._l1 is not None:  # penalty rate * |w| -> grad rate * sign(w)
            self.grad[rows].add_(self._l1[rows] * torch.sign(self.params[rows]) * self.weight_mask)

    def _update(self, groups, rows: slice = slice(None)) -> None:
        """Regularise, then step each group's optimizer over its rows; stopped models keep their weights."""
        self._regularize(rows)
        for g in groups:
            params, grad, _ = g.views  # this group's rows of the (fixed) params and grad buffers
            lr = g.lr  # a number, or this group's rows of the lr buffer
            if g.shrink:  # AdamW's decoupled decay
                rate = lr.view(-1, 1) if isinstance(lr, torch.Tensor) else lr
                params.mul_(optim.scalar(1 - rate * g.decoupled_decay, params))
            g.state = g.spec.step(params, grad, g.state, lr=lr, **g.hyper)
        if self._n_active < self.K and not self.active[rows].all():  # masked: stopped models keep their (restored) weights
            self.params[rows].copy_(torch.where(self._active_col[rows], self.params[rows], self.frozen[rows]))

    def _step(self, Xb, yb):
        """One optimizer step of every model on the mini-batch ``(Xb, yb)``; returns its loss and score ``[K]``."""
        loss, acc = self.net.loss_and_grads(Xb, yb, self.loss, self.grad, tag="step", kind=self.kind)
        self._update(self.groups)
        return loss, acc

    def _full_batch_pass(self) -> torch.Tensor:
        """One full-batch epoch, chunk by chunk: the step, then the test metrics of the updated
        weights; returns ``[4, K]``: train loss, train score, test loss, test score.

        The forward pass of the test metrics runs on the training and test inputs together,
        and its training part is kept for the next epoch's step (the same weights, checked by
        the buffer's version counter), so one forward serves both: test metrics are still those
        of the weights after the update, the next step still sees exactly those weights. Each
        chunk of models goes through backward, update and forward in turn while its numbers
        are still in the CPU's cache."""
        kept = self._ahead
        if kept is not None and kept[0] != self.params._version:
            kept = None  # the weights changed since (outside code)
        self._ahead = None
        passes, stats = [], []
        whole = slice(None)
        for c, (rows, groups, flat, grad) in enumerate(self._pipeline):
            loss, acc = self.net.loss_and_grads(self.X_train, self.y_train, self.loss, grad, flat=flat,
                                                layers=kept and [(whole, kept[1][c])], tag="step", kind=self.kind)
            self._update(groups, rows)
            test_loss, test_acc, ahead = self.net.evaluate(self._X_all, self.y_test, self.loss, self.kind, flat=flat,
                                                           split=self.n_train, tag="ahead", y_all=self._y_all)
            passes.append(ahead[0][1])
            stats.append(torch.stack([loss, acc, test_loss, test_acc]))
        self._ahead = (None, passes)  # its version is set at the end of epoch()
        return stats[0] if len(stats) == 1 else torch.cat(stats, 1)

    def epoch(self, should_stop: Callable[[], bool] | None = None) -> list[dict | None] | None:
        """Train every running model one epoch; return the K records (configs' order; None for
        models that had already stopped), or None if ``should_stop`` fired before any step."""
        if self.done:
            return None
        if self._t0 is None:
            self._t0 = time.perf_counter()
        e = self.epoch_index
        lrs = self._epoch_lrs(e)
        self._set_lrs(lrs)
        if self._active_col is None:
            self._active_col = torch.from_numpy(self.active.copy()).to(self.device).view(-1, 1)
        if self.full_batch:
            if should_stop is not None and should_stop():
                self.stop_all("stopped_by_user")
                return None
            n_batches = 1
            stats = self._full_batch_pass()
        else:
            loss_sum = acc_sum = None
            n_batches = 0
            for Xb, yb in self._batches():
                if should_stop is not None and should_stop():
                    if n_batches == 0:
                        self.stop_all("stopped_by_user")
                        return None
                    break
                loss, acc = self._step(Xb, yb)
                loss_sum = loss if loss_sum is None else loss_sum + loss
                acc_sum = acc if acc_sum is None else acc_sum + acc
                n_batches += 1
            test_loss, test_acc = self.net.evaluate(self.X_test, self.y_test, self.loss, self.kind, tag="eval")
            stats = torch.stack([loss_sum / n_batches, acc_sum / n_batches, test_loss, test_acc])
        stopped = bool(n_batches and should_stop is not None and should_stop())
        now = time.perf_counter() - self._t0
        # the K models' metrics as float64 on the host (the numbers a record holds)
        metrics = stats.detach().to("cpu", torch.float64).numpy()
        train_loss, train_acc, test_loss, test_acc = metrics
        active = self.active
        improved, reason = self.rules.after_epoch(e, train_loss, test_loss, train_acc, test_acc,
                                                  True if self._n_active == self.K else active, stopped)
        ran = None if self._n_active == self.K else active.copy()  # the models that trained this epoch
        # the record of every running model: one row per buffer, written for all of them at once
        columns = (e, lrs, train_loss, test_loss, train_acc, test_acc, now)
        for kh, rows in self._khistories:
            kh.append(columns if rows is None else
                      [c if isinstance(c, (int, float)) else c[rows] for c in columns])
        # the best epoch: the metrics of the models that improved, then their weights in one pass
        n_better = int(np.count_nonzero(improved))
        if n_better:
            self._best_epoch[improved] = e
            np.copyto(self._best_metrics, metrics, where=improved)
        if n_better == self.K:
            self.best_params.copy_(self.params)
        elif n_better:  # one pass over the buffer (index_select + index_copy_ cost more)
            mask = torch.from_numpy(improved).to(self.device).view(-1, 1)
            torch.where(mask, self.params, self.best_params, out=self.best_params)
        # reactive schedules see every running model's epoch unless it diverged
        if self._observing.any():
            for i in np.flatnonzero(self._observing & active & (reason != DIVERGED)).tolist():
                self.schedules[i].observe(e, _record(i, e, lrs, metrics, now))
        self.epoch_index += 1
        self.steps += n_batches
        stopping = np.flatnonzero(reason)
        if len(stopping):
            self._stop_models(stopping, [REASONS[code] for code in reason[stopping].tolist()])
        if self._ahead is not None:
            # a stop restores a model's row: its kept forward pass is stale, but that model's
            # numbers are masked from now on, so the kept pass still serves every running model
            self._ahead = (self.params._version, self._ahead[1])
        return EpochRecords(self._pos, ran, e, lrs, metrics, now)

    def _stop(self, i: int, reason: str) -> None:
        """End model ``i``'s run (see :meth:`_stop_models`)."""
        self._stop_models(np.array([i]), [reason])

    def _stop_models(self, rows: np.ndarray, reasons: list) -> None:
        """End the runs of the models ``rows`` (internal order; those still running): record why,
        restore each one's best epoch's weights (where it has one) and freeze its row."""
        running = self.active[rows]
        if not running.all():
            rows, reasons = rows[running], [r for r, go in zip(reasons, running.tolist()) if go]
        if len(rows) == 0:
            return
        stop_epoch = self.epoch_index - 1 if self.epoch_index else None
        wall = time.perf_counter() - self._t0 if self._t0 is not None else None
        has_best = self.rules.has_best
        self._sync_runs(rows.tolist())
        for n, (kh, _) in enumerate(self._khistories):
            kh.stop(self._kh_row[rows] if len(self._khistories) == 1 else self._kh_row[rows[self._kh_of[rows] == n]])
        for i, reason, best in zip(rows.tolist(), reasons, has_best[rows].tolist()):
            run = self._runs[i]
            run.stop_reason = reason
            run.stop_epoch = stop_epoch
            if best:  # it has a best epoch: its weights are restored below
                run.restored_best = True
            if wall is not None:
                run.wall_time = wall
        self.active[rows] = False
        self._n_active -= len(rows)
        self._active_col = None
        with torch.no_grad():
            if len(rows) == 1:
                i = int(rows[0])
                if has_best[i]:
                    self.params[i].copy_(self.best_params[i])
                self.frozen[i].copy_(self.params[i])
            else:
                stop = np.zeros(self.K, dtype=bool)
                stop[rows] = True
                restore = torch.from_numpy(stop & has_best).to(self.device).view(-1, 1)
                torch.where(restore, self.best_params, self.params, out=self.params)
                torch.where(torch.from_numpy(stop).to(self.device).view(-1, 1), self.params, self.frozen,
                            out=self.frozen)

    def stop_all(self, reason: str = "stopped_by_user") -> list[Run]:
        """Stop every running model (e.g. the learner pressed Stop); returns the runs."""
        self._stop_models(np.arange(self.K), [reason] * self.K)
        return self.runs

    def threads(self, override: int | None = None) -> int:
        """The intra-op thread count for this race (:func:`lrlab.threads.resolve`): ``override`` if
        given, else chosen from one step's work: the rows of one pass (training and test rows on
        full batch) x parameters x ``K`` models."""
        from . import threads
        rows = self._X_all.shape[0] if self.full_batch else min(self.batch_size, self.n_train)
        return threads.resolve(override, rows, self.params.shape[1], self.K)

    def run(self, on_epoch: Callable[[list, "Race"], Any] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[Run]:
        """Train to the end with :meth:`threads` intra-op threads (torch's setting restored afterwards)."""
        from . import threads
        with threads.engine_threads(self.threads()):
            while not self.done:
                records = self.epoch(should_stop)
                if records is not None and on_epoch is not None:
                    on_epoch(records, self)
        return self.runs


def _record(i: int, e: int, lrs: np.ndarray, metrics: np.ndarray, now: float) -> dict:
    """Model ``i``'s (internal row) record of epoch ``e``: the engine's record, numbers as Python floats."""
    return {"epoch": e, "lr": float(lrs[i]), "train_loss": float(metrics[0, i]), "test_loss": float(metrics[2, i]),
            "train_acc": float(metrics[1, i]), "test_acc": float(metrics[3, i]), "seconds": now}


class EpochRecords(collections.abc.Sequence):
    """An epoch's K records in the configs' order (None for a model that had already stopped),
    as :meth:`Race.epoch` returns them: a read-only sequence whose dicts are built when read
    (and kept, so a record read twice is the same dict). ``list(records)`` is a plain list."""

    __slots__ = ("_pos", "_ran", "_e", "_lrs", "_metrics", "_now", "_built")

    def __init__(self, pos: np.ndarray, ran: Optional[np.ndarray], e: int, lrs: np.ndarray, metrics: np.ndarray,
                 now: float):
        self._pos, self._ran, self._e, self._lrs, self._metrics, self._now = pos, ran, e, lrs, metrics, now
        self._built: dict = {}

    def __len__(self) -> int:
        return len(self._pos)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[k] for k in range(*j.indices(len(self)))]
        j = range(len(self))[j]  # an int in range (negative counts from the end), else IndexError/TypeError
        got = self._built.get(j)
        if got is None:
            i = int(self._pos[j])
            if self._ran is not None and not self._ran[i]:
                return None
            got = self._built[j] = _record(i, self._e, self._lrs, self._metrics, self._now)
        return got

    def __eq__(self, other) -> bool:
        if isinstance(other, (EpochRecords, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return repr(list(self))


def race(configs: Sequence[TrainConfig], epochs: int | None = None,
         on_epoch: Callable[[list, Race], Any] | None = None, should_stop: Callable[[], bool] | None = None,
         dataset: data_mod.Dataset | None = None) -> list[Run]:
    """Train ``configs`` side by side as one batched program; return one :class:`Run` per config.

    ``epochs`` (optional) replaces every config's ``max_epochs``. ``on_epoch(records, race)``
    is called after every epoch with the K records (None for models already stopped);
    ``should_stop()`` is polled before every mini-batch and stops every model.

    >>> from lrlab.train import TrainConfig
    >>> runs = race([TrainConfig(optimizer="sgd", lr=0.5), TrainConfig(optimizer="adam")], epochs=5)
    >>> [r.stop_reason for r in runs]
    ['max_epochs', 'max_epochs']
    """
    return Race(configs, epochs, dataset).run(on_epoch, should_stop)


def ranking(runs: Sequence[Run], labels: Sequence[str] | None = None, by: str = "test_loss") -> list[dict]:
    """Contenders sorted best first by their best epoch's ``by`` (``test_loss``: lower is better;
    ``test_acc``: higher is better); diverged runs with no best epoch come last."""
    if by not in ("test_loss", "test_acc", "train_loss", "train_acc"):
        raise ValueError(f"by: must be test_loss, test_acc, train_loss or train_acc, got {by!r}")
    labels = list(labels) if labels is not None else [label_of(r.config) for r in runs]
    rows = []
    for i, (r, name) in enumerate(zip(runs, labels)):
        m = r.best_metrics or {}
        rows.append({"index": i, "label": name, "stop_reason": r.stop_reason,
                     "epochs": (r.stop_epoch + 1) if r.stop_epoch is not None else 0,
                     "best_epoch": r.best_epoch, **{k: m.get(k, float("nan")) for k in
                                                    ("train_loss", "test_loss", "train_acc", "test_acc")}})
    sign = -1 if by.endswith("acc") else 1

    def key(row):
        v = row[by]
        return (row["best_epoch"] is None or not math.isfinite(v), sign * v if math.isfinite(v) else 0)
    rows.sort(key=key)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def label_of(config: TrainConfig) -> str:
    """A short name for a contender: ``adam lr=0.01 cosine``."""
    parts = [config.optimizer, f"lr={config.lr:g}"]
    if config.schedule != "constant":
        parts.append(config.schedule)
    for k, v in sorted(config.optimizer_params.items()):
        parts.append(f"{k}={v}")
    if config.regularization != "none" and config.reg_rate > 0:
        parts.append(f"{config.regularization}={config.reg_rate:g}")
    return " ".join(parts)


# ------------------------------------------------------------------------------ sweep
def parse_lrs(text: str) -> np.ndarray:
    """``'1e-4:1:64'`` -> 64 log-spaced learning rates from 1e-4 to 1; ``'0.01,0.1'`` -> a list.

    At most :data:`lrlab.limits.MAX_LRS` values, each a finite number > 0; the count is checked
    before any array is made. Raises ``ValueError('lrs: ...')``.
    """
    from . import limits
    text = str(text).strip()
    form = ("LOW:HIGH:N (N log-spaced values, 0 < LOW <= HIGH) or a comma list of positive numbers, "
            "e.g. 1e-4:1:64 or 0.01,0.1")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"lrs: expected {form}, got {text[:80]!r}")
        try:
            lo, hi = float(parts[0]), float(parts[1])
            n = float(parts[2])
        except ValueError:
            raise ValueError(f"lrs: expected {form}, got {text[:80]!r}") from None
        if not (math.isfinite(n) and n == int(n) and n >= 1):
            raise ValueError(f"lrs: N must be a whole number >= 1, got {parts[2].strip()[:40]!r}")
        n = int(n)
        if n > limits.MAX_LRS:
            raise ValueError(f"lrs: at most {limits.MAX_LRS} learning rates in one sweep, got N={n}; "
                             f"use fewer points, e.g. {parts[0].strip()[:20]}:{parts[1].strip()[:20]}:64")
        for name, v in (("LOW", lo), ("HIGH", hi)):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"lrs: {name} must be a finite number > 0, got {v!r}")
        if lo > hi:
            raise ValueError(f"lrs: LOW must be <= HIGH, got LOW={lo:g} and HIGH={hi:g}")
        return np.logspace(math.log10(lo), math.log10(hi), n)
    if text.count(",") >= limits.MAX_LRS:
        raise ValueError(f"lrs: at most {limits.MAX_LRS} learning rates in one sweep, "
                         f"got a list of {text.count(',') + 1}")
    values = []
    for t in text.split(","):
        if not t.strip():
            continue
        try:
            v = float(t)
        except ValueError:
            raise ValueError(f"lrs: {t.strip()[:40]!r} is not a number; expected {form}") from None
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"lrs: every learning rate must be a finite number > 0, got {t.strip()[:40]!r}")
        values.append(v)
    if not values:
        raise ValueError(f"lrs: expected {form}, got {text[:80]!r}")
    return np.array(values, dtype=float)


@dataclass
class SweepResult:
    """Final and best metrics per (optimizer, lr): arrays ``[n_optimizers, n_lrs]`` in ``metrics``."""

    optimizers: list[str]
    lrs: np.ndarray
    metrics: dict[str, np.ndarray]
    runs: list[Run] = field(default_factory=list, repr=False)
    wall_time: float = 0.0
    epochs: int = 0

    METRICS = ("final_train_loss", "final_test_loss", "final_train_acc", "final_test_acc",
               "best_test_loss", "best_test_acc", "best_epoch", "stop_epoch", "diverged")

    def run_of(self, optimizer: str, lr_index: int) -> Run:
        return self.runs[self.optimizers.index(optimizer) * len(self.lrs) + lr_index]

    def best_lr(self, optimizer: str, by: str = "best_test_loss") -> float:
        """The learning rate with the lowest ``by`` (loss) or highest (accuracy) among the runs that did not diverge."""
        row = self.metrics[by][self.optimizers.index(optimizer)].astype(float)
        ok = ~self.metrics["diverged"][self.optimizers.index(optimizer)].astype(bool) & np.isfinite(row)
        if not ok.any():
            return float("nan")
        values = np.where(ok, row if "loss" in by else -row, np.inf)
        return float(self.lrs[int(np.argmin(values))])

    def rows(self) -> list[dict]:
        out = []
        for a, name in enumerate(self.optimizers):
            for b, lr in enumerate(self.lrs):
                out.append({"optimizer": name, "lr": float(lr),
                            **{k: (bool(v[a, b]) if k == "diverged" else float(v[a, b])) for k, v in self.metrics.items()}})
        return out

    def to_dict(self) -> dict:
        return {"lrlab": 1, "optimizers": self.optimizers, "lrs": [float(x) for x in self.lrs],
                "epochs": self.epochs, "wall_time": self.wall_time,
                "best_lr": {o: _num(self.best_lr(o)) for o in self.optimizers},
                "rows": [{k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()} for r in self.rows()]}

    def to_json(self, path: str | None = None) -> str:
        """The sweep table as strict JSON (non-finite numbers as strings, :mod:`lrlab.safeio`), written atomically."""
        from . import safeio
        text = safeio.dumps(self.to_dict(), indent=1)
        if path is not None:
            safeio.write_text(path, text)
        return text


def sweep_configs(optimizers: Sequence[str], lrs, config: TrainConfig | None = None,
                  optimizer_params: dict | None = None) -> list[TrainConfig]:
    """One config per (optimizer, lr), optimizer-major; ``optimizer_params[name]`` per optimizer."""
    config = config or TrainConfig()
    optimizers = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    if not optimizers:
        raise ValueError("optimizers: at least one optimizer name, got none")
    for o in optimizers:
        optim.get(o)
    lrs = parse_lrs(lrs) if isinstance(lrs, str) else np.asarray(lrs, dtype=float).reshape(-1)
    if len(lrs) == 0 or not (lrs > 0).all():
        raise ValueError(f"lrs: at least one learning rate, all > 0, got {list(lrs)!r}")
    optimizer_params = optimizer_params or {}
    return [config.replace(optimizer=o, lr=float(lr), optimizer_params=dict(optimizer_params.get(o, {})))
            for o in optimizers for lr in lrs]


def sweep(optimizers: Sequence[str] = ("sgd", "adam"), lrs="1e-4:1:16", config: TrainConfig | None = None,
          epochs: int | None = None, optimizer_params: dict | None = None,
          on_epoch: Callable[[list, Race], Any] | None = None,
          should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Train every (optimizer, lr) pair as ONE race and tabulate final and best metrics.

    ``lrs`` is a sequence or ``'LOW:HIGH:N'`` (N log-spaced values). ``config`` gives the
    rest (data, network, schedule, epochs, batch size, seed). ``final_*`` are the last
    epoch's metrics (of a diverged run: the non-finite or exploded loss that stopped it);
    ``best_*`` are the best epoch's; ``diverged`` is 1 where the run diverged.

    >>> result = sweep(["sgd", "adam"], "1e-3:1:4", epochs=3)
    >>> result.metrics["final_train_loss"].shape
    (2, 4)
    """
    configs = sweep_configs(optimizers, lrs, config, optimizer_params)
    optimizers = list(dict.fromkeys(c.optimizer for c in configs))
    lrs = np.array([c.lr for c in configs[: len(configs) // len(optimizers)]], dtype=float)
    t0 = time.perf_counter()
    r = Race(configs, epochs)
    runs = r.run(on_epoch, should_stop)
    wall = time.perf_counter() - t0
    shape = (len(optimizers), len(lrs))
    metrics = {k: np.full(shape, np.nan) for k in SweepResult.METRICS}
    for n, run in enumerate(runs):
        a, b = divmod(n, len(lrs))
        last = run.history.last or {}
        best = run.best_metrics or {}
        metrics["final_train_loss"][a, b] = last.get("train_loss", np.nan)
        metrics["final_test_loss"][a, b] = last.get("test_loss", np.nan)
        metrics["final_train_acc"][a, b] = last.get("train_acc", np.nan)
        metrics["final_test_acc"][a, b] = last.get("test_acc", np.nan)
        metrics["best_test_loss"][a, b] = best.get("test_loss", np.nan)
        metrics["best_test_acc"][a, b] = best.get("test_acc", np.nan)
        metrics["best_epoch"][a, b] = np.nan if run.best_epoch is None else run.best_epoch
        metrics["stop_epoch"][a, b] = np.nan if run.stop_epoch is None else run.stop_epoch
        metrics["diverged"][a, b] = float(run.stop_reason == "diverged")
    return SweepResult(optimizers, lrs, metrics, runs, wall, r.epoch_index)


# ------------------------------------------------------------------------------ LR range test
SMOOTHING = 0.9  # beta of the exponential moving average of the loss
DIVERGENCE_RATIO = 4.0  # stop when the smoothed loss exceeds this multiple of its minimum


def smooth_losses(losses: Sequence[float], beta: float = SMOOTHING) -> np.ndarray:
    """Bias-corrected exponential moving average: ``avg_t = beta avg_{t-1} + (1 - beta) loss_t``,
    ``smoothed_t = avg_t / (1 - beta^(t+1))``."""
    out, avg = [], 0.0
    for t, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (t + 1)))
    return np.array(out, dtype=float)


def suggest_lr(lrs: Sequence[float], smoothed: Sequence[float], skip_start: int = 5) -> Optional[float]:
    """The suggestion rule: one tenth of the learning rate at the smoothed loss's minimum.

    ``suggested = lrs[argmin smoothed] / 10`` over the finite part of the curve, ignoring the
    first ``skip_start`` steps. At the minimum the learning rate is already on the edge of
    instability; a tenth of it is still large yet safely on the falling side of the curve
    (the rule of Smith 2017 / fastai's ``lr_min / 10``). None when fewer than 3 usable steps.
    """
    lrs = np.asarray(lrs, dtype=float)
    smoothed = np.asarray(smoothed, dtype=float)
    finite = np.isfinite(smoothed)
    n = len(smoothed) if finite.all() else int(np.argmax(~finite))  # up to the first non-finite value
    if n < 3:
        return None
    start = min(skip_start, n - 1)
    best = start + int(np.argmin(smoothed[start:n]))
    return float(lrs[best] / 10)


@dataclass
class RangeTest:
    """The LR range test's curve: ``lrs[i]`` was used for step ``i`` whose loss is ``losses[i]``."""

    config: TrainConfig
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested_lr: Optional[float]
    diverged_lr: Optional[float]  # the lr at which the test stopped (None: it reached end_lr)
    rule: str = ("minimum / 10: one tenth of the lr at which the smoothed loss (EMA beta=0.9, "
                 "bias-corrected) is lowest")

    def to_dict(self) -> dict:
        return {"lrlab": 1, "config": self.config.to_dict(), "lrs": [float(x) for x in self.lrs],
                "losses": [_num(float(x)) for x in self.losses], "smoothed": [_num(float(x)) for x in self.smoothed],
                "suggested_lr": self.suggested_lr, "diverged_lr": self.diverged_lr, "rule": self.rule}


def lr_range_test(config: TrainConfig | None = None, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_steps: int = 100, dataset: data_mod.Dataset | None = None) -> RangeTest:
    """The LR range test (Smith 2017): one run, one optimizer step per learning rate,
    ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``; each step's loss is the
    mini-batch loss of the forward pass that produced its gradient (as in the engine).
    Stops when the loss is not finite or the smoothed loss exceeds ``4 x`` its minimum.
    The suggestion follows :func:`suggest_lr` (a tenth of the lr at the smoothed loss's minimum).

    >>> test = lr_range_test(TrainConfig(optimizer="adam"), num_steps=60)
    >>> 1e-7 <= test.suggested_lr <= 10
    True
    """
    config = config or TrainConfig()
    if not (isinstance(num_steps, int) and num_steps >= 3):
        raise ValueError(f"num_steps: must be an integer >= 3, got {num_steps!r}")
    if not (0 < start_lr < end_lr):
        raise ValueError(f"start_lr: must be > 0 and < end_lr={end_lr!r}, got {start_lr!r}")
    config = config.replace(lr=float(start_lr))
    r = Race([config], dataset=dataset)
    from . import threads
    with threads.engine_threads(r.threads()):
        lrs, losses, diverged_lr = _range_test_steps(r, start_lr, end_lr, num_steps)
    smoothed = smooth_losses(losses)
    return RangeTest(config, lrs, np.array(losses, dtype=float), smoothed, suggest_lr(lrs, smoothed), diverged_lr)


def _range_test_steps(r: Race, start_lr: float, end_lr: float, num_steps: int):
    """The range test's loop: one step per learning rate until the end or the loss explodes."""
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    losses, batches = [], iter(())
    best = math.inf
    avg = 0.0
    diverged_lr = None
    for i, lr in enumerate(lrs):
        try:
            Xb, yb = next(batches)
        except StopIteration:
            batches = r._batches()
            Xb, yb = next(batches)
        r._set_lrs([float(lr)])
        r._active_col = torch.ones(1, 1, dtype=torch.bool, device=r.device)
        loss, _ = r._step(Xb, yb)
        loss = float(loss[0])
        losses.append(loss)
        avg = SMOOTHING * avg + (1 - SMOOTHING) * loss
        smoothed = avg / (1 - SMOOTHING ** (i + 1))
        if not math.isfinite(loss) or (i > 0 and smoothed > DIVERGENCE_RATIO * best):
            diverged_lr = float(lr)
            break
        best = min(best, smoothed)
    return lrs[: len(losses)], losses, diverged_lr


# ``lrlab.race`` is both this module and (lazily, in lrlab/__init__.py) the function :func:`race`.
# Once the module is imported Python binds the attribute ``lrlab.race`` to the module, so the
# module itself is made callable: ``lrlab.race(configs, ...)`` calls :func:`race` either way.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return race(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
