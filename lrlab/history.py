"""A bounded per-epoch metric history: memory stays flat over very long runs.

Records are kept in numpy columns. When ``capacity`` records are held, every other
record is dropped and from then on only every ``stride``-th epoch is kept (the stride
doubles each time), so a million-epoch run keeps at most ``capacity`` evenly spaced
records plus the latest one (:attr:`History.last`), which is always exact.
"""
from __future__ import annotations

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
