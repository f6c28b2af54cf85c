"""A bounded per-epoch metric history: memory stays flat over very long runs.

Records are kept in numpy columns. When ``capacity`` records are held, every other
record is dropped and from then on only every ``stride``-th epoch is kept (the stride
doubles each time), so a million-epoch run keeps at most ``capacity`` evenly spaced
records plus the latest one (:attr:`History.last`), which is always exact.
"""
from __future__ import annotations

import copy
import operator
from typing import Iterable

import numpy as np

from .safeio import number

COLUMNS = ("epoch", "lr", "train_loss", "test_loss", "train_acc", "test_acc", "seconds")


class History:
    def __init__(self, columns: Iterable[str] = COLUMNS, capacity: int = 5000):
        if capacity < 4:
            raise ValueError(f"capacity: must be >= 4, got {capacity!r}")
        self.columns = tuple(columns)
        self.capacity = int(capacity)
        # rows are allocated as needed (doubling up to capacity): a race of 1000 models does
        # not map 1000 x capacity rows before its first epoch
        self._data = np.full((min(self.capacity, 64), len(self.columns)), np.nan)
        self._row_of = operator.itemgetter(*self.columns)  # record -> its row (every column present)
        self._size = 0
        self._seen = 0
        self.stride = 1
        self.last: dict[str, float] | None = None
        self.cuts: list[dict] = []  # learning-rate cuts by reactive schedules

    def append(self, record: dict) -> None:
        self.last = dict(record)
        keep = self._seen % self.stride == 0
        self._seen += 1
        if not keep:
            return
        if self._size == len(self._data) < self.capacity:
            grown = np.full((min(self.capacity, 2 * len(self._data)), len(self.columns)), np.nan)
            grown[: self._size] = self._data
            self._data = grown
        if self._size == self.capacity:
            half = self._data[: self._size : 2].copy()
            self._data[:] = np.nan
            self._data[: len(half)] = half
            self._size = len(half)
            self.stride *= 2
            if (self._seen - 1) % self.stride:
                return
        try:
            self._data[self._size] = self._row_of(record)
        except KeyError:
            self._data[self._size] = [record.get(c, np.nan) for c in self.columns]
        self._size += 1

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, column: str) -> np.ndarray:
        """The kept values of ``column`` (a view; do not modify)."""
        return self._data[: self._size, self.columns.index(column)]

    @property
    def epochs_seen(self) -> int:
        return self._seen

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, map(float, row))) for row in self._data[: self._size]]

    def to_dict(self) -> dict:
        return {"columns": list(self.columns), "rows": [[_num(x) for x in row] for row in self._data[: self._size]],
                "stride": self.stride, "seen": self._seen, "capacity": self.capacity,
                "last": self.last, "cuts": self.cuts}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        h = cls(d["columns"], d["capacity"])
        rows = np.array([[np.nan if x is None else float(x) for x in r] for r in d["rows"]], dtype=float)
        h._data = np.full((max(len(h._data), len(rows)), len(h.columns)), np.nan)
        h._data[: len(rows)] = rows.reshape(len(rows), len(h.columns)) if len(rows) else rows
        h._size, h._seen, h.stride, h.last, h.cuts = len(rows), d["seen"], d["stride"], d["last"], d["cuts"]
        return h


def _num(x: float):
    """JSON has no NaN/inf: non-finite numbers become strings that read back exactly (:func:`lrlab.safeio.number`)."""
    return number(x)


class KHistory:
    """The bounded histories of K models in one ``[K, rows, columns]`` buffer (a race).

    Every running model gets every epoch's record, so the running models share one count
    of records seen, one stride and one size: :meth:`append` writes one row for all of them
    with one numpy assignment, and the thinning (the rule of :class:`History`: at
    ``capacity`` rows keep every other row and double the stride) is one assignment too.
    :meth:`stop` freezes models: their rows, size, count and stride stay as they were and
    they get no more rows. ``views[i]`` is model ``i``'s :class:`HistoryView`, which reads
    like a :class:`History` fed the same records (the same kept rows, ``last``, ``stride``,
    ``epochs_seen``, ``to_dict``).
    """

    def __init__(self, K: int, columns: Iterable[str] = COLUMNS, capacity: int = 5000):
        if capacity < 4:
            raise ValueError(f"capacity: must be >= 4, got {capacity!r}")
        self.K = int(K)
        self.columns = tuple(columns)
        self.capacity = int(capacity)
        n = len(self.columns)
        self._data = np.full((self.K, min(self.capacity, 64), n), np.nan)
        self._last = np.full((self.K, n), np.nan)  # the latest record of each model (exact)
        self._int = [c == "epoch" for c in self.columns]  # read back as int in ``last`` (as the engine's records)
        self._running = np.ones(self.K, dtype=bool)
        self._rows = slice(None)  # the running models: all, or their indices
        self._size = self._seen = 0  # the running models' common state
        self.stride = 1
        self._sizes = np.zeros(self.K, dtype=np.int64)  # a stopped model's frozen state
        self._seens = np.zeros(self.K, dtype=np.int64)
        self._strides = np.ones(self.K, dtype=np.int64)
        self.views = [HistoryView(self, i) for i in range(self.K)]
        self.before_read = None  # called before a view reads (the engine writes rows it held back)

    @property
    def running(self) -> np.ndarray:
        return self._running

    def append(self, values) -> None:
        """One record for every running model: ``values[c]`` is column ``c``'s value, a number
        (the same for all) or an array ``[K]`` (model ``i``'s value at ``i``; stopped models' are ignored)."""
        rows = self._rows
        n = self.K if isinstance(rows, slice) else len(rows)
        if n == 0:
            return
        row = np.empty((n, len(self.columns)))
        for c, v in enumerate(values):
            row[:, c] = v if isinstance(v, (int, float)) or np.ndim(v) == 0 else np.asarray(v)[rows]
        self._last[rows] = row
        keep = self._seen % self.stride == 0
        self._seen += 1
        if not keep:
            return
        if self._size == self._data.shape[1] < self.capacity:
            grown = np.full((self.K, min(self.capacity, 2 * self._data.shape[1]), len(self.columns)), np.nan)
            grown[:, : self._size] = self._data[:, : self._size]
            self._data = grown
        if self._size == self.capacity:
            half = self._data[rows, : self._size : 2].copy()
            self._data[rows] = np.nan
            self._data[rows, : half.shape[1]] = half
            self._size = half.shape[1]
            self.stride *= 2
            if (self._seen - 1) % self.stride:
                return
        self._data[rows, self._size] = row
        self._size += 1

    def append_block(self, block: np.ndarray) -> None:
        """``B`` epochs' records at once: ``block[b, i, c]`` is epoch ``b``'s value of column ``c``
        for model ``i`` (stopped models' are ignored); the same rows as ``B`` calls of
        :meth:`append`, written with one assignment while no thinning or growth falls in the block."""
        B = block.shape[0]
        if B == 0:
            return
        rows = self._rows
        if self.stride != 1 or self._size + B > self._data.shape[1] or self._size + B > self.capacity:
            for b in range(B):
                self.append(block[b].T)
            return
        mine = block if isinstance(rows, slice) else block[:, rows]
        if mine.shape[1] == 0:
            return
        self._last[rows] = mine[-1]
        self._data[rows, self._size:self._size + B] = mine.transpose(1, 0, 2)
        self._size += B
        self._seen += B

    def stop(self, models) -> None:
        """Freeze ``models`` (indices): they keep their rows and get no more."""
        models = np.asarray(models, dtype=np.int64).reshape(-1)
        models = models[self._running[models]]
        if len(models) == 0:
            return
        self._sizes[models] = self._size
        self._seens[models] = self._seen
        self._strides[models] = self.stride
        self._running[models] = False
        self._rows = slice(None) if self._running.all() else np.flatnonzero(self._running)

    def state(self, i: int) -> tuple[int, int, int]:
        """Model ``i``'s (size, records seen, stride), once the rows held back are written."""
        if self.before_read is not None:
            self.before_read()
        if self._running[i]:
            return self._size, self._seen, self.stride
        return int(self._sizes[i]), int(self._seens[i]), int(self._strides[i])


class HistoryView(History):
    """Model ``i``'s history inside a :class:`KHistory`: reads like a :class:`History` (columns,
    ``len``, ``last``, ``records()``, ``to_dict()``, ``epochs_seen``, ``stride``, ``cuts``).
    It is read-only; a copy (``copy.copy``/``deepcopy``/pickle, :meth:`snapshot`) is a plain
    :class:`History` of the rows kept so far."""

    def __init__(self, owner: KHistory, i: int):  # noqa: super().__init__ is not called: no own buffer
        self._owner = owner
        self._i = i
        self.cuts: list[dict] = []

    @property
    def columns(self) -> tuple:
        return self._owner.columns

    @property
    def capacity(self) -> int:
        return self._owner.capacity

    @property
    def stride(self) -> int:
        return self._owner.state(self._i)[2]

    @property
    def epochs_seen(self) -> int:
        return self._owner.state(self._i)[1]

    @property
    def _size(self) -> int:
        return self._owner.state(self._i)[0]

    @property
    def _seen(self) -> int:
        return self._owner.state(self._i)[1]

    @property
    def _data(self) -> np.ndarray:
        self._owner.state(self._i)
        return self._owner._data[self._i]

    @property
    def last(self) -> dict | None:
        o = self._owner
        if o.state(self._i)[1] == 0:
            return None
        return {c: (int(v) if is_int and v.is_integer() else v)
                for c, v, is_int in zip(o.columns, o._last[self._i].tolist(), o._int)}

    def append(self, record: dict) -> None:
        raise TypeError("a race's history is written by the race; copy it (copy.deepcopy, .snapshot()) to append")

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, column: str) -> np.ndarray:
        """The kept values of ``column`` (a view; do not modify)."""
        o = self._owner
        size = self._size  # first: it brings the rows held back
        return o._data[self._i, :size, o.columns.index(column)]

    def snapshot(self) -> History:
        """A plain :class:`History` equal to this one (its own copies of the rows, ``last`` and ``cuts``)."""
        o = self._owner
        size, seen, stride = o.state(self._i)
        h = History(o.columns, o.capacity)
        h._data = np.full((max(len(h._data), o._data.shape[1]), len(o.columns)), np.nan)
        h._data[:size] = o._data[self._i, :size]
        h._size, h._seen, h.stride = size, seen, stride
        h.last = self.last
        h.cuts = copy.deepcopy(self.cuts)
        return h

    def __copy__(self) -> History:
        return self.snapshot()

    def __deepcopy__(self, memo) -> History:
        return self.snapshot()

    def __reduce_ex__(self, protocol):
        return _history_with_state, (self.snapshot().__dict__,)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return History.from_dict(d)


def _history_with_state(state: dict) -> History:
    """A :class:`History` with the attributes ``state`` (how a :class:`HistoryView` unpickles)."""
    h = History.__new__(History)
    h.__dict__.update(state)
    return h
