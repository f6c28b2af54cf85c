"""The training engine: K >= 1 configs in, K :class:`lrlab.run.Run` out. No widgets here.

One engine trains one model (:func:`lrlab.train.train`, the panels: K = 1) and K models
side by side (:func:`lrlab.race.race`, the sweep, the LR range test). It is the training
loop of the adaptive learning-rate procedure, exactly: initialise the learning rate; for each epoch, for each mini-batch compute
the gradients by backprop, compute the step with the optimizer (:mod:`lrlab.optim`) and
update; record the epoch's learning rate, train/test loss and accuracy; repeat until a
stopping rule fires (:mod:`lrlab.rules`):

* ``max_epochs``       the epoch budget is spent;
* ``target_accuracy``  test accuracy (R^2 for regression) >= ``target_accuracy``;
* ``converged``        the training loss has not improved by ``min_delta`` for ``patience`` epochs;
* ``diverged``         the loss is not finite or exceeds ``divergence_factor`` x the first
  epoch's loss (never raises: the run stops and says so);
* ``stopped_by_user``  ``should_stop()`` returned True (checked before every mini-batch).

Best-model selection: the epoch with the lowest loss (``select_best='loss'``) or the highest
accuracy (``'accuracy'``) on the held-out split (``select_split='test'``, the default) or on the
training split (``'train'``: the epoch's recorded training metrics, as the cosine-with-cuts
procedure chooses); its weights are kept and restored at the end (:mod:`lrlab.rules`).

Epoch metrics: ``train_loss``/``train_acc`` are the means over the epoch's mini-batches
(computed during the forward passes that produced the gradients; with full-batch
training this is the loss *before* the epoch's update); ``test_loss``/``test_acc`` are
measured after the epoch's updates. ``lr`` is the learning rate used during the epoch.

Mini-batches: the training set is shuffled every epoch with ``torch.randperm(n_train,
generator=torch.Generator().manual_seed(seed + 1))`` (one generator for the run, on the
CPU), then cut into ``batch_size`` pieces (the last may be smaller). ``batch_size=None``
means full batch, no shuffling.

How K models run as one program: the K configs share the data, the architecture, the
batch size and the seed (so the same initial weights and the same mini-batches) and differ
only in the optimizer, its hyper-parameters, the learning rate, the schedule and the
regularisation. One forward, one loss and one hand-written backward serve the K models per
mini-batch (:class:`lrlab.batched.BatchedMLP`); the models are grouped by optimizer (and
its boolean options: nesterov, amsgrad, centered, ...; AdamW shares Adam's group, see
:data:`SHARED_STEP`) and each group is stepped with ONE call of the optimizer function
over its rows of the ``[K, P]`` parameter buffer, with per-model hyper-parameters as
``[K]`` tensors. The per-epoch rules work on ``[K]`` arrays (:class:`lrlab.rules.EpochRules`),
with no Python loop over the models. A model that stops (diverged, target reached,
converged, out of epochs) is masked: its parameters stop changing, its weights are
restored to its best epoch, and the others go on.

Plots and widgets read an engine through :meth:`Engine.frame` (an immutable
:class:`Frame`: history columns, predictions on a grid, per-layer norms, effective steps),
never through its insides.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from . import data as data_mod
from . import limits, nets, optim, schedules
from . import threads as threads_mod
from .batched import BatchedMLP
from .config import TrainConfig, features_of, make_dataset, make_model, resolve_device, torch_dtype
from .history import COLUMNS, KHistory
from .rules import DIVERGED, REASONS, EpochRules
from .records import EpochRecords, Frame, _frozen, _host, _record, norm_columns  # noqa: F401
from .run import Run


def minibatches(X: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator):
    """One epoch's mini-batches: the whole set when ``batch_size`` covers it (no shuffling), else a
    fresh ``torch.randperm`` from ``generator`` (on the CPU) cut into ``batch_size`` pieces."""
    n = X.shape[0]
    if batch_size >= n:
        yield X, y
        return
    order = torch.randperm(n, generator=generator).to(X.device)
    for start in range(0, n, batch_size):
        idx = order[start: start + batch_size]
        yield X[idx], y[idx]


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
    sides: tuple = ()  # views for each of the two gradient buffers (views is the one in use)
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


class Engine:
    """K >= 1 runs in progress: ``epoch()`` trains every running model one epoch; :meth:`run`
    drives them to the end (as :func:`lrlab.train.train` for K = 1 and :func:`lrlab.race.race`).

    ``runs`` are in the order of ``configs``. Internally the models are reordered so that
    each optimizer group owns a contiguous block of rows of the ``[K, P]`` buffer.
    ``norms=True`` adds each layer's weight and gradient norm to every epoch's record
    (columns ``weight_norm_1``, ..., ``grad_norm_1``, ...; the gradient of the epoch's last
    mini-batch), as the training panel draws them.

    Bookkeeping on the device (``device_bookkeeping``; by default where the models are not on the
    CPU): the per-epoch metrics stay on the device, the rules run there on ``[K]`` tensors
    (:class:`lrlab.rules.EpochRules` with a device), the best epoch and its metrics are kept
    there, and the history rows are copied to the host in blocks of :data:`HISTORY_BLOCK` epochs
    (or when read); one boolean ("did any model stop?") crosses to the host per epoch.
    """

    def __init__(self, configs: Sequence[TrainConfig], epochs: int | None = None,
                 dataset: data_mod.Dataset | None = None, norms: bool = False,
                 device_bookkeeping: bool | None = None):
        for name, flag in (("norms", norms), ("device_bookkeeping", device_bookkeeping)):
            if not (isinstance(flag, (bool, np.bool_)) or (flag is None and name == "device_bookkeeping")):
                raise ValueError(f"{name}: must be True or False, got {flag!r}")
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
        # two gradient buffers: ``grad`` is the one the last step used; the full-batch pass writes
        # the next step's gradient into the other one (see _full_batch_pass)
        self._grads = (torch.zeros_like(self.params), torch.zeros_like(self.params))
        self._side = 0
        self.grad = self._grads[0]
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
        self.n_layers = len(self.net.sizes) - 1
        self.norms = bool(norms)
        self._layer_of = torch.cat([torch.full((math.prod(s),), i // 2, dtype=torch.long)
                                    for i, s in enumerate(self.net.shapes)]).to(self.device)
        columns = COLUMNS + (norm_columns(self.n_layers) if self.norms else ())
        self._khistories: list[tuple[KHistory, Optional[np.ndarray]]] = []  # (buffer, its internal rows or None: all)
        self._kh_of = np.zeros(K, dtype=np.int64)  # internal row -> its buffer
        self._kh_row = np.arange(K)  # internal row -> its row in that buffer
        self.histories = [None] * K
        for n, cap in enumerate(dict.fromkeys(capacities)):
            rows = np.array([i for i, c in enumerate(capacities) if c == cap], dtype=np.int64)
            kh = KHistory(len(rows), columns, capacity=cap)
            self._kh_of[rows] = n
            self._kh_row[rows] = np.arange(len(rows))
            for view, i in zip(kh.views, rows.tolist()):
                view.cuts = self.schedules[i].cuts
                self.histories[i] = view
            self._khistories.append((kh, None if len(rows) == K else rows))
        self._runs = [Run(c, None, h, self.dataset) for c, h in zip(self.configs, self.histories)]
        # best epoch and its metrics per model ([K], [4, K]: train loss, train score, test loss, test
        # score), copied into the runs when they are read (runs, a stop)
        self.on_device = self.device.type != "cpu" if device_bookkeeping is None else bool(device_bookkeeping)
        if self.on_device:
            self._best_epoch = torch.full((K,), -1, dtype=torch.int64, device=self.device)
            self._best_metrics = torch.full((4, K), math.nan, dtype=torch.float64, device=self.device)
        else:
            self._best_epoch = np.full(K, -1, dtype=np.int64)
            self._best_metrics = np.full((4, K), np.nan)
        self._pending: list = []  # epochs whose history rows are held back (written in blocks, or when read)
        for kh, _ in self._khistories:
            kh.before_read = self.flush_history
        self._pos = np.array([self.position[j] for j in range(K)], dtype=np.int64)  # input index -> internal row
        # the learning rates: pure schedules are functions of the epoch alone, so equal ones (same
        # name, lr, epochs and parameters) are asked once per epoch; a constant one never changes
        # (its rate is filled in once); reduce-on-plateau ones and cosine-with-plateau-cuts ones are
        # watched together as [M] arrays (schedules.PlateauGroup, schedules.CosineCutsGroup); other
        # reactive ones keep their own state and are asked per model
        self._base_lrs = np.zeros(K)
        by_key: dict = {}
        reactive, plateau, cuts = [], [], []
        for i, (c, sc) in enumerate(zip(self.configs, self.schedules)):
            if type(sc) is schedules.ReduceOnPlateau:
                plateau.append(i)
            elif type(sc) is schedules.CosineWithPlateauCuts:
                cuts.append(i)
            elif type(sc) is not schedules.Schedule:
                reactive.append(i)
            elif c.schedule == "constant":
                self._base_lrs[i] = sc.lr(0)
            else:
                key = (c.schedule, c.lr, c.max_epochs, repr(sorted(c.schedule_params.items())))
                by_key.setdefault(key, []).append(i)
        self._lr_groups = [(self.schedules[rows[0]], slice(None) if len(rows) == K else np.array(rows))
                           for rows in by_key.values()]
        self._lr_each = np.array(reactive, dtype=np.int64)
        self._plateau_rows = np.array(plateau, dtype=np.int64)
        self._plateau = schedules.PlateauGroup([self.schedules[i] for i in plateau]) if plateau else None
        self._cuts_rows = np.array(cuts, dtype=np.int64)
        self._cuts = schedules.CosineCutsGroup([self.schedules[i] for i in cuts]) if cuts else None
        self.active = np.ones(K, dtype=bool)  # [K], internal order; a stopped model is False
        self.epoch_index = 0
        self.steps = 0
        # divergence, best epoch, stopping for all K (lrlab.rules), where the metrics are
        self.rules = EpochRules(self.configs, device=self.device if self.on_device else None)
        self._t0 = None
        self._models_built = False
        self.lrs = torch.zeros(K, dtype=self.dtype, device=self.device)
        for g in self.groups:  # the buffers are only ever modified in place, so views stay valid
            g.sides = tuple((self.params[g.rows], G[g.rows], self.lrs[g.rows]) for G in self._grads)
            g.views = g.sides[0]
            g.shrink = isinstance(g.decoupled_decay, torch.Tensor) or g.decoupled_decay != 0
        # schedules whose observe() only returns lr(epoch + 1) (no state) are not called per epoch
        self._observing = np.array([type(sc).observe is not schedules.Schedule.observe for sc in self.schedules],
                                   dtype=bool)
        self._observing[self._plateau_rows] = False  # (their groups observe them)
        self._observing[self._cuts_rows] = False
        self._reactive = bool(self._observing.any()) or self._plateau is not None or self._cuts is not None
        self._n_active = K
        # per chunk: its rows, its optimizer groups and its rows of the (fixed) params and grad buffers
        self._pipeline = [(rows, [g for g in self.groups if rows.start <= g.rows.start < rows.stop],
                           self.params[rows], tuple(G[rows] for G in self._grads)) for rows in self.chunks]
        # (params version, [(train loss, score) per chunk], the gradient buffer holding the next step's gradient)
        self._ahead = None
        self._last_epoch = max(c.max_epochs for c in self.configs)  # no step after this epoch index - 1
        self._last_lrs = None
        self._active_col = None  # self.active as a [K, 1] tensor on the device (None: to be rebuilt)
        self._set_lrs(self._epoch_lrs(0))  # the first epoch's rates (what effective_steps reads before training)

    @property
    def current_lrs(self) -> np.ndarray:
        """Every model's learning rate of the epoch trained last (before any: of the first), configs' order."""
        return self._last_lrs[self._pos].copy()

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
        if self._plateau is not None:
            self._plateau.sync()
        if self._cuts is not None:
            self._cuts.sync()
        return [self._runs[self.position[j]] for j in range(self.K)]

    def _sync_runs(self, rows) -> None:
        """Copy the steps and the best epoch (with its metrics) of the models ``rows`` into their runs."""
        best, metrics = _host(self._best_epoch), None
        for i in rows:
            run = self._runs[i]
            run.steps = self.steps
            b = int(best[i])
            if b >= 0 and run.best_epoch != b:
                metrics = _host(self._best_metrics) if metrics is None else metrics
                tl, ta, vl, va = metrics[:, i].tolist()
                run.best_epoch = b
                run.best_metrics = {"train_loss": tl, "test_loss": vl, "train_acc": ta, "test_acc": va}

    def sync_models(self) -> None:
        """Give each run its :class:`lrlab.nets.MLP` (built on first use): its weights are *views*
        of the model's row of the ``[K, P]`` buffer, so they are always the engine's current ones."""
        if not self._models_built:
            sizes = self.net.sizes
            for i, run in enumerate(self._runs):
                run.model = nets.MLP(sizes[0], sizes[1:-1], sizes[-1], self.net.activation, seed=run.config.seed,
                                     flat=self.params[i])
            self._models_built = True

    def outputs(self, X: torch.Tensor, model: int | None = None) -> torch.Tensor:
        """Every model's output on raw inputs ``X`` [n, d]: ``[K, n, c]`` in the configs' order (one
        forward); ``model``: that model's only, ``[n, c]``."""
        X = torch.as_tensor(X, dtype=self.dtype, device=self.device)
        X = data_mod.transform(X.view(-1, 1) if X.dim() == 1 else X, features_of(self.configs[0]))
        if model is not None:
            i = self.position[model]
            return self.net.forward(X, self.params[i:i + 1])[0]
        return self.net.forward(X)[self._input_rows]

    # -- one epoch -----------------------------------------------------------------
    def batches(self):
        """One epoch's mini-batches ``(X, y)`` (:func:`minibatches`; shuffled by the run's generator)."""
        return minibatches(self.X_train, self.y_train, self.batch_size, self._shuffle_gen)

    def step(self, X: torch.Tensor, y: torch.Tensor, lrs) -> tuple[torch.Tensor, torch.Tensor]:
        """ONE optimizer step of every running model on the mini-batch ``(X, y)`` with learning
        rates ``lrs`` (a number, or one per model in the configs' order); returns the loss and
        score ``[K]`` (configs' order) of the forward pass that gave the gradient. Records
        nothing and applies no stopping rule: the LR range test's step."""
        lrs = np.broadcast_to(np.asarray(lrs, dtype=np.float64), (self.K,))[self.order]
        self._set_lrs(np.where(self.active, lrs, 0.0))
        if self._active_col is None:
            self._active_col = torch.from_numpy(self.active.copy()).to(self.device).view(-1, 1)
        self._ahead = None
        loss, acc = self._step(X, y)
        self.steps += 1
        return loss[self._input_rows], acc[self._input_rows]

    def _set_lrs(self, lrs) -> None:
        """This epoch's learning rate per model (internal order; a list or an array): one
        host->device copy only when one changed; a group whose models share one learning rate
        gets it as a number (fewer tensor operations in its step), else its rows of the ``[K]`` buffer."""
        lrs = np.array(lrs, dtype=np.float64)
        if self._last_lrs is not None and lrs.tobytes() == self._last_lrs.tobytes():  # (cheaper than array_equal)
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
        if self._plateau is not None:
            lrs[self._plateau_rows] = self._plateau.rates  # the rates in force after epoch e - 1
        if self._cuts is not None:
            lrs[self._cuts_rows] = self._cuts.rates_at(e)  # their scales now times the cosine at e
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

    def _use_grad(self, side: int) -> None:
        """Make gradient buffer ``side`` the one the steps use (``grad`` and every group's views)."""
        self._side = side
        self.grad = self._grads[side]
        for g in self.groups:
            g.views = g.sides[side]

    def _full_batch_pass(self) -> torch.Tensor:
        """One full-batch epoch, chunk by chunk: the step, then the test metrics of the updated
        weights; returns ``[4, K]``: train loss, train score, test loss, test score.

        The forward pass of the test metrics runs on the training and test inputs together, and
        the backward of its training part follows at once, while the chunk's activations are
        still in the CPU's cache: it is the next epoch's gradient (the same weights, checked by
        the buffer's version counter), written into the other gradient buffer, and its loss and
        score are the next epoch's training metrics. So one forward and one backward per epoch
        serve both: the test metrics are still those of the weights after the update, the next
        step still sees exactly those weights. The last epoch (``max_epochs``) skips that backward."""
        kept = self._ahead
        if kept is not None and kept[0] != self.params._version:
            kept = None  # the weights changed since (outside code)
        self._ahead = None
        if kept is not None and kept[2] != self._side:
            self._use_grad(kept[2])
        ahead_side = 1 - self._side
        look_ahead = self.epoch_index + 1 < self._last_epoch
        passes, stats = [], []
        whole = slice(None)
        for c, (rows, groups, flat, grads) in enumerate(self._pipeline):
            if kept is None:
                loss, acc = self.net.loss_and_grads(self.X_train, self.y_train, self.loss, grads[self._side],
                                                    flat=flat, tag="step", kind=self.kind)
            else:
                loss, acc = kept[1][c]
            self._update(groups, rows)
            test_loss, test_acc, ahead = self.net.evaluate(self._X_all, self.y_test, self.loss, self.kind, flat=flat,
                                                           split=self.n_train, tag="ahead", y_all=self._y_all)
            if look_ahead:
                passes.append(self.net.loss_and_grads(self.X_train, self.y_train, self.loss, grads[ahead_side],
                                                      flat=flat, layers=[(whole, ahead[0][1])], tag="step",
                                                      kind=self.kind))
            stats.append(torch.stack([loss, acc, test_loss, test_acc]))
        if look_ahead:
            self._ahead = (None, passes, ahead_side)  # its version is set at the end of epoch()
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
            for Xb, yb in self.batches():
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
        # the K models' metrics as float64: on the host, or on the device (bookkeeping there)
        metrics = stats.detach().to(torch.float64) if self.on_device else stats.numpy().astype(np.float64)
        train_loss, train_acc, test_loss, test_acc = metrics
        active = self.active
        if self._n_active == self.K:
            running = True
        elif self.on_device:
            running = self._active_col.view(-1)
        else:
            running = active
        improved, reason = self.rules.after_epoch(e, train_loss, test_loss, train_acc, test_acc, running, stopped)
        ran = None if self._n_active == self.K else active.copy()  # the models that trained this epoch
        # the record of every running model: one row per buffer, written for all of them at once
        extra = self._extra_columns() if self.norms else None  # [K, 2L] per-layer norms, or None
        self._pending.append((e, lrs, metrics, now, extra))
        if len(self._pending) >= HISTORY_BLOCK:  # (any read of a history writes them first)
            self.flush_history()
        self._keep_best(e, improved, metrics)
        # reactive schedules see every running model's epoch unless it diverged
        if self._reactive:
            host_metrics, host_reason = _host(metrics), _host(reason)
            watching = active & (host_reason != DIVERGED)
            for i in np.flatnonzero(self._observing & watching).tolist():
                self.schedules[i].observe(e, _record(i, e, lrs, host_metrics, now, extra))
            if self._plateau is not None:
                rows = self._plateau_rows
                self._plateau.observe(e, {"train_loss": host_metrics[0][rows], "train_acc": host_metrics[1][rows],
                                          "test_loss": host_metrics[2][rows], "test_acc": host_metrics[3][rows]},
                                      watching[rows])
            if self._cuts is not None:
                rows = self._cuts_rows
                self._cuts.observe(e, {"train_loss": host_metrics[0][rows], "train_acc": host_metrics[1][rows]},
                                   watching[rows])
        self.epoch_index += 1
        self.steps += n_batches
        if not self.on_device or bool(reason.any()):  # on the device: one boolean to the host
            reason = _host(reason)
            stopping = np.flatnonzero(reason) if reason.any() else ()
            if len(stopping):
                self._stop_models(stopping, [REASONS[code] for code in reason[stopping].tolist()])
        if self._ahead is not None:
            # a stop restores a model's row: its kept gradient and training metrics are stale, but
            # that model's numbers are masked from now on, so they still serve every running model
            self._ahead = (self.params._version, *self._ahead[1:])
        return EpochRecords(self._pos, ran, e, lrs, metrics, now, extra)

    def _keep_best(self, e: int, improved, metrics) -> None:
        """The best epoch: the epoch and metrics of the models that ``improved``, then their weights
        in one pass over the buffer (index_select + index_copy_ cost more)."""
        if self.on_device:  # no count on the host: one masked pass of each
            self._best_epoch = torch.where(improved, e, self._best_epoch)
            self._best_metrics = torch.where(improved, metrics, self._best_metrics)
            torch.where(improved.view(-1, 1), self.params, self.best_params, out=self.best_params)
            return
        n_better = int(np.count_nonzero(improved))
        if n_better == self.K:  # (every model: plain copies)
            self._best_epoch.fill(e)
            np.copyto(self._best_metrics, metrics)
            self.best_params.copy_(self.params)
            return
        if n_better:
            self._best_epoch[improved] = e
            np.copyto(self._best_metrics, metrics, where=improved)
            mask = torch.from_numpy(improved).to(self.device).view(-1, 1)
            torch.where(mask, self.params, self.best_params, out=self.best_params)

    def flush_history(self) -> None:
        """Write the epochs held back (:data:`HISTORY_BLOCK` at most) into the K histories: their
        metrics cross to the host in one copy (bookkeeping on the device), then the block is
        written with a few numpy assignments per history buffer (:meth:`KHistory.append_block`)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        epochs, lrs, metrics, nows, extras = zip(*pending)
        metrics = torch.stack(metrics).cpu().numpy() if self.on_device else np.stack(metrics)  # [B, 4, K]
        block = np.empty((len(pending), self.K, 7 + (extras[0].shape[1] if extras[0] is not None else 0)))
        block[:, :, 0] = np.array(epochs, dtype=np.float64)[:, None]
        block[:, :, 1] = np.stack(lrs)
        block[:, :, 2:6] = metrics[:, [0, 2, 1, 3]].transpose(0, 2, 1)  # (COLUMNS' order) train/test loss, score
        block[:, :, 6] = np.array(nows)[:, None]
        if extras[0] is not None:
            block[:, :, 7:] = np.stack(extras)
        for kh, rows in self._khistories:
            kh.append_block(block if rows is None else block[:, rows])

    # -- what plots read -----------------------------------------------------------
    def _norms_of(self, buf: torch.Tensor) -> np.ndarray:
        """Per-layer Euclidean norm ``||v_l|| = sqrt(sum_{i in layer l} v_i^2)`` (weights and biases
        together) of each row of ``buf`` ``[K, P]``: ``[K, L]`` float64 on the host."""
        squares = buf.detach().to(torch.float64).square()
        sums = torch.zeros(buf.shape[0], self.n_layers, dtype=torch.float64, device=buf.device)
        sums.index_add_(1, self._layer_of, squares)
        return sums.sqrt_().cpu().numpy()

    def _extra_columns(self) -> np.ndarray:
        """The norm columns of this epoch's records, ``[K, 2L]`` (internal order)."""
        return np.concatenate([self._norms_of(self.params), self._norms_of(self.grad)], axis=1)

    def effective_steps(self, model: int = 0) -> torch.Tensor:
        """Model ``model``'s (configs' order) per-parameter effective step at its last step, flat
        ``[P]``: the multiplier its optimizer applies to the gradient it steps along (:func:`lrlab.optim`
        ``*_effective_step``, e.g. Adam's ``lr / (sqrt(v_hat) + eps)``, the multiplier on ``m_hat``)."""
        i = self.position[model]
        g = next(g for g in self.groups if g.rows.start <= i < g.rows.stop)
        params = g.views[0]
        steps = g.spec.effective_step(g.state, params, lr=g.lr, **g.hyper)
        return steps.expand_as(params)[i - g.rows.start]

    def frame(self, model: int = 0, grid_points=None) -> "Frame":
        """What a plot draws of model ``model`` (configs' order) now, as an immutable :class:`Frame`
        of numpy copies (safe to draw in another thread while training goes on).

        ``grid_points``: raw inputs ``[n, d]`` where the model's output is evaluated (the decision
        boundary's probabilities, the class, or the fitted curve)."""
        i = self.position[model]
        history = self.histories[i]
        columns = {name: _frozen(history[name]) for name in history.columns}
        grid = None
        if grid_points is not None:
            with torch.no_grad():
                out = self.outputs(grid_points, model)
            if self.kind == "regression":
                grid = out[:, 0]
            elif out.shape[1] == 2:
                grid = torch.softmax(out, 1)[:, 1]
            else:
                grid = out.argmax(1).to(out.dtype)
            grid = _frozen(grid.detach().cpu().double().numpy())
        best = int(_host(self._best_epoch)[i])
        return Frame(epochs_done=history.epochs_seen,
                     max_epochs=self.configs[i].max_epochs, done=not self.active[i],
                     stop_reason=self._runs[i].stop_reason, best_epoch=best if best >= 0 else None,
                     history=columns, cuts=tuple(dict(c) for c in history.cuts), grid=grid,
                     weight_norms=_frozen(self._norms_of(self.params[i:i + 1])[0]),
                     grad_norms=_frozen(self._norms_of(self.grad[i:i + 1])[0]),
                     effective_steps=_frozen(self.effective_steps(model).detach().cpu().double().numpy()),
                     layer_of=_frozen(self._layer_of.cpu().numpy()))

    def network_frame(self, model: int = 0, resolution: int = 30, extent=None, X=None, y=None):
        """What the network view draws of model ``model`` (configs' order) now: its weights, each
        hidden unit's output over the input plane (a ``resolution`` grid over ``extent``, by default
        the data's range) and its predictions on the test set (or on raw inputs ``X`` with labels
        ``y``), as an immutable :class:`lrlab.records.NetworkFrame` of numpy copies. The weights
        are copied first, so training may go on in another thread."""
        from .records import network_frame
        i = self.position[model]
        weights, biases = self.net.weights_and_biases(self.params[i:i + 1].detach().clone())
        return network_frame([w[0] for w in weights], [b[0] for b in biases], self.net.activation,
                             features_of(self.configs[i]), self.kind, self.dataset, resolution, extent, X, y)

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
        self.flush_history()  # the epochs held back were trained by these models too
        stop_epoch = self.epoch_index - 1 if self.epoch_index else None
        wall = time.perf_counter() - self._t0 if self._t0 is not None else None
        has_best = self.rules.best_flags
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

    def work(self) -> tuple[int, int, int]:
        """One step's work: (rows of one pass, parameters per model, models). Full batch: the
        training and test rows (one look-ahead pass runs them together); else the mini-batch's rows."""
        rows = self._X_all.shape[0] if self.full_batch else min(self.batch_size, self.n_train)
        return rows, self.params.shape[1], self.K

    def threads(self, override: int | None = None) -> int:
        """The intra-op thread count (:func:`lrlab.threads.resolve`): ``override`` if given, else
        chosen from one step's work (:meth:`work`: rows x parameters x models)."""
        return threads_mod.resolve(override, *self.work())

    def run(self, on_epoch: Callable[[list, "Engine"], Any] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[Run]:
        """Train to the end with :meth:`threads` intra-op threads (torch's setting restored afterwards)."""
        with threads_mod.engine_threads(self.threads()):
            while not self.done:
                records = self.epoch(should_stop)
                if records is not None and on_epoch is not None:
                    on_epoch(records, self)
        return self.runs


#: epochs of history held on the device before one copy to the host (bookkeeping on the device)
HISTORY_BLOCK = 32
