"""The learner's own data from a CSV file, validated with plain messages (never a traceback).

Format (one header row, comma separated, ``#`` lines are comments)::

    x1,x2,label          x1,x2,y           x1,y
    0.1,0.7,0            0.1,0.7,3.25      -0.5,0.12
    -1.2,0.3,1           ...               ...

* Inputs: a column ``x1`` and, for 2-D data, ``x2`` (column order does not matter; extra
  columns are an error, so that a typo is never silently ignored).
* The target: exactly one of ``label`` / ``class`` (classification) or ``y`` / ``target``
  (regression).

  - ``label`` / ``class`` holding whole numbers (``0, 1, 2`` or ``-1, 1``) or names
    (``cat, dog``): classification. The distinct values, sorted, become the classes
    ``0 .. k-1`` (``Dataset.class_names`` keeps the originals); 2 <= k <= 8.
  - ``label`` / ``class`` holding fractional numbers, or a ``y`` / ``target`` column:
    regression (mean squared error, scored by R^2). Classification data needs ``x1`` and
    ``x2``; regression may have ``x1`` only (the fitted curve is drawn) or both.

* Every cell must be filled and numeric (except class names); NaN/inf are refused.
  At least :data:`MIN_ROWS` rows; classification needs at least 2 classes.

Inputs are rescaled (``rescale=True``, the default) column by column, linearly, to
``[-1, 1]``: ``x' = 2 (x - min) / (max - min) - 1`` — the range the toy datasets use, so
the same initialisation, learning rates and view box suit the learner's data. The
original ranges are kept on the dataset as ``input_min`` / ``input_max`` (numpy arrays)
so that a prediction can be mapped back; regression targets are left as they are.

The train/test split is the one :func:`lrlab.data.make` uses: a seeded permutation of
the rows, the last ``round(n * test_fraction)`` of it are the test set.

:func:`parse_csv` reads text or bytes (what a ``FileUpload`` widget holds);
:func:`load_csv` reads a path (what ``TrainConfig.csv_path`` and ``lrlab train --csv`` use).
Every problem raises ``ValueError`` with a one-line message naming the row and column.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from .data import Dataset

MIN_ROWS = 10
MAX_ROWS = 1_000_000
MAX_CLASSES = 8
INPUT_COLUMNS = ("x1", "x2")
CLASS_COLUMNS = ("label", "class")
TARGET_COLUMNS = ("y", "target")
FORMAT_HINT = "expected a header like 'x1,x2,label' (classes) or 'x1,y' / 'x1,x2,y' (regression)"


@dataclass
class Table:
    """A parsed, validated CSV: raw inputs X [n, d], targets y (class indices or values)."""

    X: np.ndarray
    y: np.ndarray
    kind: str  # "classification" | "regression"
    class_names: tuple[str, ...]  # () for regression
    columns: tuple[str, ...]  # the input columns, in order x1[, x2]

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.kind == "classification" else 1


def _as_text(source) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("csv: the file is not UTF-8 text (is it a spreadsheet? save it as CSV)") from None
    return source


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def parse_csv(source, kind: str = "auto") -> Table:
    """Parse CSV ``source`` (str or bytes) into a validated :class:`Table`.

    ``kind``: ``'auto'`` (decided by the target column, see the module docstring),
    ``'classification'`` or ``'regression'``. Raises ``ValueError`` with a message that
    names the row (1-based, the header is row 1) and the column of the first problem.
    """
    if kind not in ("auto", "classification", "regression"):
        raise ValueError(f"kind: must be 'auto', 'classification' or 'regression', got {kind!r}")
    text = _as_text(source)
    if not isinstance(text, str):
        raise ValueError(f"csv: expected text or bytes, got {type(source).__name__}")
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines())]
    lines = [(i, line) for i, line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"csv: the file is empty; {FORMAT_HINT}")
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    line_numbers = [i for i, _ in lines]
    header = [h.strip().lower() for h in rows[0]]
    if len(header) == 1 and ";" in rows[0][0]:
        raise ValueError("csv: columns are separated by ';' — use commas (',') between columns")
    if _number(header[0]) is not None:
        raise ValueError(f"csv: the first row must name the columns, got {','.join(rows[0])!r}; {FORMAT_HINT}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ValueError(f"csv: column {dupes[0]!r} appears twice in the header")
    targets = [h for h in header if h in CLASS_COLUMNS + TARGET_COLUMNS]
    if not targets:
        raise ValueError(f"csv: no target column (one of label, class, y, target) in header "
                         f"{','.join(header)!r}; {FORMAT_HINT}")
    if len(targets) > 1:
        raise ValueError(f"csv: more than one target column ({', '.join(targets)}); keep exactly one")
    unknown = [h for h in header if h not in INPUT_COLUMNS + CLASS_COLUMNS + TARGET_COLUMNS]
    if unknown:
        raise ValueError(f"csv: unknown column {unknown[0]!r}; allowed columns: x1, x2 and one of "
                         f"label, class, y, target")
    if "x1" not in header:
        raise ValueError(f"csv: missing column 'x1'; {FORMAT_HINT}")
    target = targets[0]
    input_cols = tuple(c for c in INPUT_COLUMNS if c in header)
    body = rows[1:]
    n = len(body)
    if n < MIN_ROWS:
        raise ValueError(f"csv: too few rows: {n} data row(s), need at least {MIN_ROWS}")
    if n > MAX_ROWS:
        raise ValueError(f"csv: too many rows: {n}, at most {MAX_ROWS}")
    col_index = {h: j for j, h in enumerate(header)}
    X = np.empty((n, len(input_cols)))
    labels: list[str] = []
    for r, row in enumerate(body):
        line = line_numbers[r + 1]
        if len(row) != len(header):
            raise ValueError(f"csv: row {line} has {len(row)} cells, the header has {len(header)}")
        for j, c in enumerate(input_cols):
            cell = row[col_index[c]].strip()
            X[r, j] = _cell_value(cell, line, c)
        cell = row[col_index[target]].strip()
        if cell == "" or cell.lower() in ("nan", "na", "n/a", "null", "none"):
            raise ValueError(f"csv: row {line}, column {target!r}: empty or NaN cell — every row needs a {target}")
        labels.append(cell)
    values = [_number(v) for v in labels]
    numeric = all(v is not None for v in values)
    if numeric and not all(math.isfinite(v) for v in values):
        r = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise ValueError(f"csv: row {line_numbers[r + 1]}, column {target!r}: {labels[r]!r} is not a finite number")
    if kind == "auto":
        if target in TARGET_COLUMNS:
            kind = "regression"
        elif numeric and not all(float(v).is_integer() for v in values):
            kind = "regression"
        else:
            kind = "classification"
    if kind == "regression":
        if not numeric:
            r = next(i for i, v in enumerate(values) if v is None)
            raise ValueError(f"csv: row {line_numbers[r + 1]}, column {target!r}: {labels[r]!r} is not a number "
                             f"(regression targets must be numbers)")
        y = np.asarray(values, dtype=float)
        if np.ptp(y) == 0:
            raise ValueError(f"csv: column {target!r}: every target is {y[0]:g}; nothing to learn")
        return Table(X, y, "regression", (), input_cols)
    # classification
    if len(input_cols) < 2:
        raise ValueError(f"csv: missing column 'x2': classification needs two inputs x1,x2; {FORMAT_HINT}")
    if numeric:
        if not all(float(v).is_integer() for v in values):
            r = next(i for i, v in enumerate(values) if not float(v).is_integer())
            raise ValueError(f"csv: row {line_numbers[r + 1]}, column {target!r}: class labels must be whole "
                             f"numbers or names, got {labels[r]!r}")
        keys = [int(v) for v in values]
        names = sorted(set(keys))
        class_names = tuple(str(k) for k in names)
    else:
        keys = labels
        names = sorted(set(keys))
        class_names = tuple(names)
    if len(names) < 2:
        raise ValueError(f"csv: column {target!r} holds a single class ({class_names[0]!r}); "
                         f"classification needs at least 2 classes")
    if len(names) > MAX_CLASSES:
        raise ValueError(f"csv: column {target!r} holds {len(names)} classes, at most {MAX_CLASSES} "
                         f"(for a numeric target, name the column 'y' for regression)")
    index = {k: i for i, k in enumerate(names)}
    y = np.asarray([index[k] for k in keys], dtype=np.int64)
    return Table(X, y, "classification", class_names, input_cols)


def _cell_value(cell: str, line: int, column: str) -> float:
    if cell == "":
        raise ValueError(f"csv: row {line}, column {column!r}: empty cell — every row needs a value")
    value = _number(cell)
    if value is None:
        raise ValueError(f"csv: row {line}, column {column!r}: {cell!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"csv: row {line}, column {column!r}: {cell!r} is not a finite number (NaN/inf)")
    return value


def to_dataset(table: Table, test_fraction: float = 0.2, seed: int = 0, device="cpu",
               dtype: torch.dtype = torch.float32, rescale: bool = True, name: str = "csv") -> Dataset:
    """Split a parsed :class:`Table` into a :class:`lrlab.data.Dataset` (inputs rescaled to [-1, 1])."""
    if not (0 < test_fraction < 1):
        raise ValueError(f"test_fraction: must be in (0, 1), got {test_fraction!r}")
    X, y = table.X.copy(), table.y
    n = len(X)
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n - n_test < 4:
        raise ValueError(f"test_fraction: {test_fraction} of {n} rows leaves an empty split")
    lo, hi = X.min(0), X.max(0)
    for j, c in enumerate(table.columns):
        if hi[j] == lo[j]:
            raise ValueError(f"csv: column {c!r}: every value is {lo[j]:g}; an input that never changes "
                             f"carries no information")
    if rescale:
        X = 2 * (X - lo) / (hi - lo) - 1
    order = np.random.default_rng(seed).permutation(n)
    X, y = X[order], y[order]
    Xt = torch.as_tensor(X, dtype=dtype, device=device)
    if table.kind == "regression":
        yt = torch.as_tensor(y, dtype=dtype, device=device).reshape(-1, 1)
    else:
        yt = torch.as_tensor(y, device=device).long()
    ds = Dataset(name, Xt[: n - n_test], yt[: n - n_test], Xt[n - n_test:], yt[n - n_test:],
                 table.kind, table.n_classes)
    ds.class_names = table.class_names
    ds.input_columns = table.columns
    ds.input_min, ds.input_max = (lo, hi) if rescale else (None, None)
    return ds


def parse_dataset(source, test_fraction: float = 0.2, seed: int = 0, device="cpu",
                  dtype: torch.dtype = torch.float32, rescale: bool = True, kind: str = "auto",
                  name: str = "csv") -> Dataset:
    """CSV text or bytes -> :class:`lrlab.data.Dataset` (``parse_csv`` then ``to_dataset``)."""
    return to_dataset(parse_csv(source, kind), test_fraction, seed, device, dtype, rescale, name)


def load_csv(path: str, test_fraction: float = 0.2, seed: int = 0, device="cpu",
             dtype: torch.dtype = torch.float32, rescale: bool = True, kind: str = "auto") -> Dataset:
    """Read the CSV file at ``path`` into a :class:`lrlab.data.Dataset` (see the module docstring)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"csv: no such file {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"csv: {path!r} is a folder, not a CSV file")
    with open(path, "rb") as fh:
        raw = fh.read()
    name = "csv:" + os.path.basename(path)
    return parse_dataset(raw, test_fraction, seed, device, dtype, rescale, kind, name)


def config_for(config, dataset: Dataset, csv_path: str | None = None):
    """``config`` adjusted to train on a CSV ``dataset``: the settings the data decides.

    Sets ``csv_path`` (when given), ``n_samples`` (the row count, so that batch sizes are
    checked against it), the loss (``mse`` for regression), ``features`` (the input
    columns when none were chosen) and, for regression, ``dataset='sine'`` — the engine
    tells regression from classification by that name.
    """
    n = dataset.X_train.shape[0] + dataset.X_test.shape[0]
    changes = {"n_samples": n}
    if csv_path is not None:
        changes["csv_path"] = csv_path
    columns = getattr(dataset, "input_columns", tuple(f"x{i + 1}" for i in range(dataset.in_features)))
    if config.features is None or (dataset.in_features < 2 and any("2" in f for f in config.features)):
        changes["features"] = tuple(columns)
    if dataset.kind == "regression":
        changes["dataset"] = "sine"
        changes["loss"] = "mse"
    else:
        if config.dataset == "sine":
            changes["dataset"] = "moons"
        if config.loss == "mse" and config.dataset == "sine":
            changes["loss"] = "cross_entropy"
        changes["classes"] = max(2, min(8, dataset.n_classes))
    return config.replace(**changes)
