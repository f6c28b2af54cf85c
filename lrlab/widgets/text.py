"""Numbers as the panels show them: one place that formats every number a widget's text carries.

A tiny negative number rounds to ``-0.0000``, which reads as a sign that means something; here
it is ``0.0000``. A missing number (``None``) is "—".

>>> num(-1e-9, ".4f"), num(0.012345), pct(0.9876), num(None)
('0.0000', '0.01235', '98.8 %', '—')
"""
from __future__ import annotations

import math

from ..fmt import MISSING, num

__all__ = ["num", "pct", "vec", "lr_text", "lr_range_text"]


def pct(x, digits: int = 1, missing: str = MISSING) -> str:
    """A fraction as a percentage (``0.9876 -> '98.8 %'``); ``missing`` for None, inf or NaN."""
    if x is None or not math.isfinite(float(x)):
        return missing
    return num(100 * float(x), f".{digits}f") + " %"


def vec(values, spec: str = ".3f") -> str:
    """A vector's entries (any iterable of numbers, a tensor of any shape), ``[0.500, 0.000]``."""
    if hasattr(values, "reshape"):
        values = values.reshape(-1)
    return "[" + ", ".join(num(float(v), spec) for v in values) + "]"


def lr_text(lr) -> str:
    """A learning rate, in the one format the panels use for them (``1e-05``, ``0.0001``, ``0.0316``, ``10``)."""
    return num(lr, ".3g")


def lr_range_text(low, high) -> str:
    """A span of learning rates, both ends in the same format: ``'0.0001 – 10'``."""
    return f"{lr_text(low)} – {lr_text(high)}"
