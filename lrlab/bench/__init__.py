"""Ratio benchmarks, measured side by side in one run and printed by ``lrlab bench``.

Each module ``lrlab/bench/<topic>.py`` exposes ``rows(quick: bool) -> Iterable[Row]``;
modules are discovered automatically. A row compares *ours* with *theirs* (a plain
torch loop, torch.optim, ...) measured in the same process, alternating, best of
several repeats, and states the target ratio from the issue that asked for it.
"""
from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional


@dataclass
class Row:
    name: str
    ours: Optional[float]  # None: not measured here (skipped; the note says why)
    theirs: Optional[float]
    unit: str
    target: Optional[float] = None  # ratio ours/theirs (or the value itself when theirs is None)
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> Optional[float]:
        if self.theirs is None or self.ours is None:
            return None
        return self.ours / self.theirs if self.higher_is_better else self.theirs / self.ours

    @property
    def passed(self) -> Optional[bool]:
        if self.target is None or self.ours is None:
            return None
        value = self.ratio if self.theirs is not None else self.ours
        return value >= self.target if (self.higher_is_better or self.theirs is not None) else value <= self.target


def rate(fn: Callable[[], None], n: int) -> float:
    """Calls per second of ``fn`` over ``n`` calls."""
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t)


def side_by_side(ours: Callable[[], float], theirs: Callable[[], float], repeats: int = 5) -> tuple[float, float]:
    """Best of ``repeats`` for each, alternating ours/theirs so that machine noise hits both alike."""
    a, b = [], []
    for _ in range(repeats):
        a.append(ours())
        b.append(theirs())
    return max(a), max(b)


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def collect(only: Iterable[str] | None = None, quick: bool = False) -> Iterable[Row]:
    for name in modules():
        if only and name not in only:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        yield from module.rows(quick)


def format_row(r: Row) -> str:
    if r.ours is None:  # skipped: nothing measured
        return f"{r.name:<58} {'-':>12} {'-':>12} {r.unit:<10} {'':8}  SKIPPED {r.note}".rstrip()
    ratio = r.ratio
    theirs = "" if r.theirs is None else f"{r.theirs:12.4g}"
    shown = f"{ratio:7.2f}x" if ratio is not None else "        "
    target = ""
    if r.target is not None:
        op = ">=" if (r.higher_is_better or r.theirs is not None) else "<="
        target = f"target {op} {r.target:g}{'x' if r.theirs is not None else ''}  {'PASS' if r.passed else 'FAIL'}"
    return f"{r.name:<58} {r.ours:12.4g} {theirs:>12} {r.unit:<10} {shown}  {target} {r.note}".rstrip()
