"""What the engine hands out: an epoch's records, and frames that plots draw.

* :class:`EpochRecords` — the K records of one epoch, built when read;
* :class:`Frame` — one model's state as plots draw it (read-only numpy copies);
* :func:`norm_columns` — the history columns of the per-layer norms;
* :class:`NetworkFrame` / :func:`network_frame` — the network itself as the network view
  draws it (weights, each hidden unit's output over the input plane, test predictions).
"""
from __future__ import annotations

import collections.abc
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch


def _host(values):
    """A tensor (any device) as a numpy array; numpy arrays pass through."""
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values


@dataclass(frozen=True)
class Frame:
    """One model's state as plots draw it (:meth:`Engine.frame`): numpy copies, read-only.

    ``history``: every history column (``epoch``, ``lr``, ``train_loss``, ... and, with
    ``norms=True``, the per-layer norms); ``grid``: the output on the grid points asked for;
    ``weight_norms``/``grad_norms``: per-layer norms now ``[L]``; ``effective_steps``: the
    optimizer's multiplier on the gradient per parameter ``[P]``, ``layer_of[p]`` its layer."""

    epochs_done: int
    max_epochs: int
    done: bool
    stop_reason: Optional[str]
    best_epoch: Optional[int]
    history: dict
    cuts: tuple
    grid: Optional[np.ndarray]
    weight_norms: np.ndarray
    grad_norms: np.ndarray
    effective_steps: np.ndarray
    layer_of: np.ndarray

    @property
    def n_layers(self) -> int:
        return len(self.weight_norms)


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a``."""
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class NetworkFrame:
    """The network as the network view draws it (:meth:`Engine.network_frame`, or
    :func:`lrlab.run.network_frame` for a finished run): read-only numpy copies, picklable.

    ``sizes``: layer widths, input to output; ``weights[l]`` ``[sizes[l+1], sizes[l]]`` and
    ``biases[l]``; ``hidden[l]``: hidden layer ``l + 1``'s activations ``a_j = f(z_j)`` on the
    grid, ``[width, resolution, resolution]`` (row ``r`` is ``x2 = linspace(y0, y1)[r]``, column
    ``c`` is ``x1 = linspace(x0, x1)[c]``) or, 1-D inputs, ``[width, resolution]`` over ``x1``;
    ``extent``: ``(x0, x1, y0, y1)`` (1-D: ``y0 = y1 = 0``). ``predictions`` / ``targets``: the
    predicted and true classes of the test set (None for regression or without data)."""

    sizes: tuple
    activation: str
    features: tuple
    kind: str
    class_names: tuple
    weights: tuple
    biases: tuple
    resolution: int
    extent: tuple
    hidden: tuple
    predictions: Optional[np.ndarray]
    targets: Optional[np.ndarray]

    def __post_init__(self):
        freeze = lambda a: None if a is None else _frozen(a)  # noqa: E731
        for name in ("weights", "biases", "hidden"):
            object.__setattr__(self, name, tuple(_frozen(a) for a in getattr(self, name)))
        for name in ("predictions", "targets"):
            object.__setattr__(self, name, freeze(getattr(self, name)))
        for name in ("sizes", "features", "class_names", "extent"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def __reduce__(self):  # unpickled through __init__, so its arrays are read-only again
        return (type(self), tuple(getattr(self, f) for f in self.__dataclass_fields__))


def input_extent(dataset, margin: float = 0.3) -> tuple[float, float, float, float]:
    """The view box of the input plane: the data's range plus ``margin`` (1-D inputs:
    ``(x0, x1, 0, 0)``), or ``[-1.5, 1.5]^2`` without data."""
    if dataset is None:
        return (-1.5, 1.5, -1.5, 1.5)
    X = torch.cat([dataset.X_train, dataset.X_test]).cpu().numpy()
    lo, hi = X.min(0) - margin, X.max(0) + margin
    if X.shape[1] == 1:
        return (float(lo[0]), float(hi[0]), 0.0, 0.0)
    return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def network_frame(weights, biases, activation: str, features, kind: str, dataset=None, resolution: int = 30,
                  extent=None, X=None, y=None) -> NetworkFrame:
    """The :class:`NetworkFrame` of the network with ``weights`` / ``biases`` (torch tensors, one
    per layer; the caller hands copies if training goes on): every forward pass of the network
    view happens here, layer by layer, ``a = f(W a + b)``.

    ``features``: the input features the first layer reads (raw inputs are ``x1`` and, for 2-D
    data, ``x2``); ``dataset``: gives the default ``extent`` (:func:`input_extent`), the class
    names and the test set whose predictions are kept (classification); ``X``, ``y``: another set
    (raw inputs and labels) instead of the test set."""
    from . import data as data_mod
    from .nets import activate
    if not (isinstance(resolution, (int, np.integer)) and resolution >= 2):
        raise ValueError(f"resolution: must be an integer >= 2, got {resolution!r}")
    weights, biases, features = [w.detach() for w in weights], [b.detach() for b in biases], tuple(features)
    sizes = (weights[0].shape[1], *(w.shape[0] for w in weights))
    dtype, device = weights[0].dtype, weights[0].device
    extent = tuple(float(v) for v in (extent or input_extent(dataset)))

    def inputs(raw):
        raw = torch.as_tensor(raw, dtype=dtype, device=device)
        return data_mod.transform(raw.view(-1, 1) if raw.dim() == 1 else raw, features)

    x0, x1, y0, y1 = extent
    xs = np.linspace(x0, x1, resolution)
    if any("x2" in f for f in features):
        gx, gy = np.meshgrid(xs, np.linspace(y0, y1, resolution))
        points, shape = np.stack([gx.ravel(), gy.ravel()], 1), (resolution, resolution)
    else:
        points, shape = xs.reshape(-1, 1), (resolution,)
    def forward(a):  # (every hidden layer's activations, the output)
        hidden = []
        for W, b in zip(weights[:-1], biases[:-1]):
            a = activate(torch.nn.functional.linear(a, W, b), activation)
            hidden.append(a)
        return hidden, torch.nn.functional.linear(a, weights[-1], biases[-1])

    with torch.no_grad():
        hidden = [a.T.reshape(-1, *shape).cpu().numpy() for a in forward(inputs(points))[0]]
        if X is None and dataset is not None:
            X, y = dataset.X_test, dataset.y_test
        predictions = targets = None
        if kind == "classification" and X is not None:
            predictions = forward(inputs(X))[1].argmax(1).cpu().numpy()
            targets = _host(torch.as_tensor(y)).astype(np.int64).ravel()
    return NetworkFrame(sizes=sizes, activation=activation, features=features, kind=kind,
                        class_names=tuple(getattr(dataset, "class_names", ()) or ()),
                        weights=tuple(w.cpu().numpy() for w in weights), biases=tuple(b.cpu().numpy() for b in biases),
                        resolution=int(resolution), extent=extent, hidden=tuple(hidden),
                        predictions=predictions, targets=targets)


def _record(i: int, e: int, lrs: np.ndarray, metrics: np.ndarray, now: float, extra=None) -> dict:
    """Model ``i``'s (internal row) record of epoch ``e``: the engine's record, numbers as Python
    floats (``extra``: the per-layer norms ``[K, 2L]`` in the order of :func:`norm_columns`, or None)."""
    record = {"epoch": e, "lr": float(lrs[i]), "train_loss": float(metrics[0, i]), "test_loss": float(metrics[2, i]),
              "train_acc": float(metrics[1, i]), "test_acc": float(metrics[3, i]), "seconds": now}
    if extra is not None:
        record.update(zip(norm_columns(extra.shape[1] // 2), extra[i].tolist()))
    return record


def norm_columns(n_layers: int) -> tuple[str, ...]:
    """The history columns of the per-layer norms: ``weight_norm_1 .. L``, then ``grad_norm_1 .. L``."""
    return tuple(f"{what}_norm_{l}" for what in ("weight", "grad") for l in range(1, n_layers + 1))


class EpochRecords(collections.abc.Sequence):
    """An epoch's K records in the configs' order (None for a model that had already stopped),
    as :meth:`Race.epoch` returns them: a read-only sequence whose dicts are built when read
    (and kept, so a record read twice is the same dict). ``list(records)`` is a plain list."""

    __slots__ = ("_pos", "_ran", "_e", "_lrs", "_metrics", "_now", "_extra", "_built")

    def __init__(self, pos: np.ndarray, ran: Optional[np.ndarray], e: int, lrs: np.ndarray, metrics: np.ndarray,
                 now: float, extra: Optional[np.ndarray] = None):
        self._pos, self._ran, self._e, self._lrs, self._metrics, self._now = pos, ran, e, lrs, metrics, now
        self._extra = extra
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
            self._metrics = _host(self._metrics)  # metrics kept on the device cross to the host once
            got = self._built[j] = _record(i, self._e, self._lrs, self._metrics, self._now, self._extra)
        return got

    def __eq__(self, other) -> bool:
        if isinstance(other, (EpochRecords, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return repr(list(self))
