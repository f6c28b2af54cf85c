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

Files are untrusted, so reading is bounded (:mod:`lrlab.limits`): at most ``MAX_CSV_BYTES``
(checked before reading or decoding; :func:`load_csv` refuses folders, FIFOs and devices
such as ``/dev/zero`` without reading them), at most ``MAX_CSV_ROWS`` data rows (counted
while reading, one row at a time), at most ``MAX_CSV_CELL`` characters per cell. The text
must be UTF-8 without NUL characters; quoting is strict (an unclosed quote or a row that
runs over several lines is refused, naming its row). Class names are data: kept as given
(surrounding whitespace stripped), but a name holding a control character (line break,
tab, escape, bidirectional override) is refused; plots draw names as plain text
(:func:`lrlab.plots.text.plain_text`), never as mathtext.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from array import array
from dataclasses import dataclass

import numpy as np
import torch

from . import limits, safeio
from .checks import check_number
from .data import Dataset, check_split

MIN_ROWS = 10
MAX_ROWS = limits.MAX_CSV_ROWS
MAX_CLASSES = limits.MAX_CLASSES
#: distinct class names tracked while reading; more is reported as "more than" this
MAX_DISTINCT_TRACKED = 10_000
INPUT_COLUMNS = ("x1", "x2")
CLASS_COLUMNS = ("label", "class")
TARGET_COLUMNS = ("y", "target")
FORMAT_HINT = "expected a header like 'x1,x2,label' (classes) or 'x1,y' / 'x1,x2,y' (regression)"
#: characters a class name may not hold: C0/C1 controls (line breaks, tabs, NUL, ESC ...),
#: the Unicode line/paragraph separators and the bidirectional overrides that reorder text
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# any line longer than this holds a cell over MAX_CSV_CELL or more cells than a valid header (3)
_LONG_LINE = 3 * (limits.MAX_CSV_CELL + 2) + 2


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


def short(text, n: int = 40) -> str:
    """``text`` cut to ``n`` characters (with an ellipsis) for a one-line message."""
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _show(text) -> str:
    return repr(short(text))


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB, more than the {limits.MAX_CSV_BYTES / 2**20:.0f} MB lrlab reads; use a smaller file"


def as_bytes(source) -> bytes:
    """The bytes of an upload (bytes, bytearray, memoryview or str), checked by type and size before copying.

    Raises ``ValueError('csv: ...')`` for any other type (``None``, a number: ``bytes(10**10)``
    would allocate 10 GB) and for more than :data:`lrlab.limits.MAX_CSV_BYTES`."""
    if isinstance(source, str):
        if len(source) > limits.MAX_CSV_BYTES:
            raise ValueError(f"csv: the text is {_megabytes(len(source))}")
        return source.encode("utf-8", "surrogatepass")
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = memoryview(source).nbytes
        if size > limits.MAX_CSV_BYTES:
            raise ValueError(f"csv: the file is {_megabytes(size)}")
        return bytes(source)
    raise ValueError(f"csv: expected the file's text or bytes, got {type(source).__name__}")


def _as_text(source) -> str:
    if isinstance(source, str):
        if len(source) > limits.MAX_CSV_BYTES:
            raise ValueError(f"csv: the text is {_megabytes(len(source))}")
        text = source
    else:
        raw = as_bytes(source)
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ValueError("csv: the file is not UTF-8 text (it is UTF-16); save it as 'CSV UTF-8' "
                             "(comma separated)")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            row = raw.count(b"\n", 0, exc.start) + 1
            raise ValueError(f"csv: the file is not UTF-8 text (row {row} holds the byte 0x{raw[exc.start]:02x}; "
                             f"is it a spreadsheet or Latin-1 text? save it as 'CSV UTF-8')") from None
    nul = text.find("\x00")
    if nul >= 0:
        row = text.count("\n", 0, nul) + 1
        raise ValueError(f"csv: row {row} holds a NUL character: this looks like UTF-16 or binary data, "
                         f"not CSV text; save it as 'CSV UTF-8'")
    return text


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


class _Lines:
    """The physical lines of ``text`` for ``csv.reader``, numbered; blank and ``#`` lines between rows skipped.

    ``start`` is the line the current row began on (set to ``None`` before each row),
    ``end`` the last line read. A line long enough to hold a cell over the limit is
    refused here, before the csv module copies it (its own limit is 131072 characters)."""

    def __init__(self, text: str):
        self.buffer = io.StringIO(text, newline=None)  # universal newlines: \n, \r\n, \r
        self.start: int | None = None
        self.end = 0
        self.header: list[str] | None = None

    def __iter__(self):
        for i, line in enumerate(self.buffer, 1):
            if self.start is None:  # between rows: blank lines and comments are not data
                bare = line.strip()
                if not bare or bare.startswith("#"):
                    continue
                self.start = i
            self.end = i
            if len(line) > _LONG_LINE and '"' not in line:
                self._check_cells(line, i)
            yield line

    def _check_cells(self, line: str, i: int) -> None:
        cells = line.rstrip("\n").split(",")
        j = max(range(len(cells)), key=lambda k: len(cells[k]))
        if len(cells[j]) > limits.MAX_CSV_CELL:
            raise ValueError(f"csv: row {i}, {self.column(j)}: a cell of {len(cells[j])} characters, "
                             f"at most {limits.MAX_CSV_CELL}")

    def column(self, j: int) -> str:
        if self.header is not None and j < len(self.header):
            return f"column {short(self.header[j].strip().lower())!r}"
        return f"column {j + 1}"


def _rows(lines: _Lines):
    """``(line number, cells)`` of each CSV row; ``csv.Error`` becomes a one-line ``ValueError``."""
    reader = csv.reader(lines, strict=True)
    while True:
        lines.start = None
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            at = lines.start or lines.end
            spread = lines.end - at
            reason = str(exc)
            if "expected after" in reason:
                raise ValueError(f"csv: row {at}: text after a closing quote ({reason}); inside a quoted cell "
                                 f"write a quote as two quotes (\"\")") from None
            if spread > 0 or "end of data" in reason:
                raise ValueError(f"csv: row {at}: a quoted cell is never closed (a '\"' without its closing "
                                 f"'\"'{f', it runs over {spread + 1} lines' if spread else ''}); "
                                 f"check the quotes in this row") from None
            if "field limit" in reason:
                raise ValueError(f"csv: row {at}: a cell of more than {csv.field_size_limit()} characters, "
                                 f"at most {limits.MAX_CSV_CELL}") from None
            raise ValueError(f"csv: row {at}: {' '.join(reason.split())}") from None
        at = lines.start
        if lines.end > at:
            raise ValueError(f"csv: row {at}: a quoted cell runs over {lines.end - at + 1} lines (a '\"' "
                             f"without its closing '\"'?); every row must fit on one line")
        for j, cell in enumerate(row):
            if len(cell) > limits.MAX_CSV_CELL:
                raise ValueError(f"csv: row {at}, {lines.column(j)}: a cell of {len(cell)} characters, "
                                 f"at most {limits.MAX_CSV_CELL}")
        yield at, row


def _header(rows) -> list[str]:
    try:
        _, first = next(rows)
    except StopIteration:
        raise ValueError(f"csv: the file is empty; {FORMAT_HINT}") from None
    header = [h.strip().lower() for h in first]
    if len(header) == 1 and ";" in first[0]:
        raise ValueError("csv: columns are separated by ';' — use commas (',') between columns")
    if _number(header[0]) is not None:
        raise ValueError(f"csv: the first row must name the columns, got {_show(','.join(first))}; {FORMAT_HINT}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ValueError(f"csv: column {_show(dupes[0])} appears twice in the header")
    targets = [h for h in header if h in CLASS_COLUMNS + TARGET_COLUMNS]
    if not targets:
        raise ValueError(f"csv: no target column (one of label, class, y, target) in header "
                         f"{_show(','.join(header))}; {FORMAT_HINT}")
    if len(targets) > 1:
        raise ValueError(f"csv: more than one target column ({', '.join(targets)}); keep exactly one")
    unknown = [h for h in header if h not in INPUT_COLUMNS + CLASS_COLUMNS + TARGET_COLUMNS]
    if unknown:
        raise ValueError(f"csv: unknown column {_show(unknown[0])}; allowed columns: x1, x2 and one of "
                         f"label, class, y, target")
    if "x1" not in header:
        raise ValueError(f"csv: missing column 'x1'; {FORMAT_HINT}")
    return header


def parse_csv(source, kind: str = "auto") -> Table:
    """Parse CSV ``source`` (str or bytes) into a validated :class:`Table`.

    ``kind``: ``'auto'`` (decided by the target column, see the module docstring),
    ``'classification'`` or ``'regression'``. Raises ``ValueError`` with a message that
    names the row (the file's line number, 1-based) and the column of the first problem.

    Bounded: more than :data:`lrlab.limits.MAX_CSV_BYTES` is refused before decoding,
    rows are read one at a time (more than ``MAX_CSV_ROWS`` are refused as soon as they
    are seen) and stored as floats, a cell over ``MAX_CSV_CELL`` characters is refused.
    """
    if kind not in ("auto", "classification", "regression"):
        raise ValueError(f"kind: must be 'auto', 'classification' or 'regression', got {_show(kind)}")
    text = _as_text(source)
    lines = _Lines(text)
    rows = _rows(lines)
    header = _header(rows)
    lines.header = header
    target = next(h for h in header if h in CLASS_COLUMNS + TARGET_COLUMNS)
    input_cols = tuple(c for c in INPUT_COLUMNS if c in header)
    col_index = {h: j for j, h in enumerate(header)}
    inputs = [col_index[c] for c in input_cols]
    t = col_index[target]
    numbers_only = kind == "regression" or (kind == "auto" and target in TARGET_COLUMNS)
    X = array("d")
    values = array("d")  # the target as a number (0.0 where it is a name)
    codes = array("q")  # the target as an index into `names` (classification by names)
    names: dict[str, int] = {}
    too_many_names = numbers_only
    first_name = first_non_finite = first_fraction = None  # (line, cell) of the first such target
    n = 0
    for line, row in rows:
        n += 1
        if n > MAX_ROWS:
            raise ValueError(f"csv: too many rows: more than {MAX_ROWS} data rows (row {line} is one too many); "
                             f"use a sample of your data")
        if len(row) != len(header):
            raise ValueError(f"csv: row {line} has {len(row)} cells, the header has {len(header)}")
        for j, c in zip(inputs, input_cols):
            X.append(_cell_value(row[j].strip(), line, c))
        cell = row[t].strip()
        if cell == "" or cell.lower() in ("nan", "na", "n/a", "null", "none"):
            raise ValueError(f"csv: row {line}, column {target!r}: empty or NaN cell — every row needs a {target}")
        value = _number(cell)
        if value is None:
            if numbers_only:
                raise ValueError(f"csv: row {line}, column {target!r}: {_show(cell)} is not a number "
                                 f"(regression targets must be numbers)")
            bad = CONTROL_CHARS.search(cell)
            if bad:
                raise ValueError(f"csv: row {line}, column {target!r}: the class name {_show(cell)} holds the "
                                 f"control character U+{ord(bad.group()):04X}; class names must be plain text "
                                 f"on one line")
            if first_name is None:
                first_name = (line, cell)
            value = 0.0
        elif not math.isfinite(value):
            if first_non_finite is None:
                first_non_finite = (line, cell)
        elif not value.is_integer() and first_fraction is None:
            first_fraction = (line, cell)
        values.append(value)
        if not too_many_names:
            code = names.setdefault(cell, len(names))
            if len(names) > MAX_DISTINCT_TRACKED:
                too_many_names = True
                names.clear()
            else:
                codes.append(code)
    if n == 0 or n < MIN_ROWS:
        raise ValueError(f"csv: too few rows: {n} data row(s), need at least {MIN_ROWS}")
    numeric = first_name is None
    if numeric and first_non_finite is not None:
        line, cell = first_non_finite
        raise ValueError(f"csv: row {line}, column {target!r}: {_show(cell)} is not a finite number")
    X = np.frombuffer(X, dtype=float).reshape(n, len(input_cols)).copy()
    if kind == "auto":
        if target in TARGET_COLUMNS or (numeric and first_fraction is not None):
            kind = "regression"
        else:
            kind = "classification"
    if kind == "regression":
        if not numeric:
            line, cell = first_name
            raise ValueError(f"csv: row {line}, column {target!r}: {_show(cell)} is not a number "
                             f"(regression targets must be numbers)")
        y = np.frombuffer(values, dtype=float).copy()
        if np.ptp(y) == 0:
            raise ValueError(f"csv: column {target!r}: every target is {y[0]:g}; nothing to learn")
        return Table(X, y, "regression", (), input_cols)
    # classification
    if len(input_cols) < 2:
        raise ValueError(f"csv: missing column 'x2': classification needs two inputs x1,x2; {FORMAT_HINT}")
    if numeric:
        if first_fraction is not None:
            line, cell = first_fraction
            raise ValueError(f"csv: row {line}, column {target!r}: class labels must be whole "
                             f"numbers or names, got {_show(cell)}")
        v = np.frombuffer(values, dtype=float)
        keys, y = np.unique(v, return_inverse=True)
        class_names = tuple(str(int(k)) for k in keys)
    elif too_many_names:
        raise ValueError(f"csv: column {target!r} holds more than {MAX_DISTINCT_TRACKED} classes, at most "
                         f"{MAX_CLASSES}")
    else:
        order = sorted(names)
        class_names = tuple(order)
        remap = np.empty(len(names), dtype=np.int64)
        for i, name in enumerate(order):
            remap[names[name]] = i
        y = remap[np.frombuffer(codes, dtype=np.int64)]
    if len(class_names) < 2:
        raise ValueError(f"csv: column {target!r} holds a single class ({_show(class_names[0])}); "
                         f"classification needs at least 2 classes")
    if len(class_names) > MAX_CLASSES:
        raise ValueError(f"csv: column {target!r} holds {len(class_names)} classes, at most {MAX_CLASSES} "
                         f"(for a numeric target, name the column 'y' for regression)")
    return Table(X, np.asarray(y, dtype=np.int64).reshape(-1), "classification", class_names, input_cols)


def _cell_value(cell: str, line: int, column: str) -> float:
    if cell == "":
        raise ValueError(f"csv: row {line}, column {column!r}: empty cell — every row needs a value")
    value = _number(cell)
    if value is None:
        raise ValueError(f"csv: row {line}, column {column!r}: {_show(cell)} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"csv: row {line}, column {column!r}: {_show(cell)} is not a finite number (NaN/inf)")
    return value


def to_dataset(table: Table, test_fraction: float = 0.2, seed: int = 0, device="cpu",
               dtype: torch.dtype = torch.float32, rescale: bool = True, name: str = "csv") -> Dataset:
    """Split a parsed :class:`Table` into a :class:`lrlab.data.Dataset` (inputs rescaled to [-1, 1])."""
    check_number("test_fraction", test_fraction, 0, 1, lo_open=True, hi_open=True)
    check_number("seed", seed, 0, limits.MAX_SEED, integer=True)
    X, y = table.X.copy(), table.y
    n = len(X)
    n_test = check_split(n, test_fraction)
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
    """Read the CSV file at ``path`` into a :class:`lrlab.data.Dataset` (see the module docstring).

    The file is read by :func:`lrlab.safeio.read_bounded`: a folder, a FIFO, a device
    (``/dev/zero``), a missing file or one over :data:`lrlab.limits.MAX_CSV_BYTES` is refused
    with a one-line ``ValueError('csv: ...')`` before a byte is read (a FIFO never blocks)."""
    raw = safeio.read_bounded(path, "csv", limits.MAX_CSV_BYTES)
    name = "csv:" + os.path.basename(os.fspath(path))
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
