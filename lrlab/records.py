"""What the engine hands out: an epoch's records, and frames that plots draw.

* :class:`EpochRecords` — the K records of one epoch, built when read;
* :class:`Frame` — one model's state as plots draw it (read-only numpy copies);
* :func:`norm_columns` — the history columns of the per-layer norms.
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
