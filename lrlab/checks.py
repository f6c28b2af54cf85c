"""Checking one value from outside: the single rule every number check in lrlab uses.

``TrainConfig.validate`` (its per-field rules), the panels' constructor arguments and the
explorers' parameters all call :func:`check_number`, so a number is judged, and its message
worded, the same way everywhere: ``name: must be <what is allowed>, got <value>``, with the
value shown short (:func:`shown`: never a huge string, never a traceback from a strange repr).
Bools are not numbers, NaN and infinity are not finite numbers, and an integer too large for a
float is not a finite number either.
"""
from __future__ import annotations

import math
import numbers
import reprlib

import numpy as np


def shown(value, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for messages (never a huge string, never raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict, short.maxset = 3, 6, 6, 4, 4
    short.maxstring, short.maxother, short.maxlong = limit, limit, 40
    try:
        text = short.repr(value)
    except Exception:  # a repr that raises: say what it is instead
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def is_int(value) -> bool:
    """An integer, not a bool (numpy integers count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_number(value) -> bool:
    """A real number, not a bool (numpy numbers count)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def finite(value) -> bool:
    """Not NaN or infinite, and an integer no larger than a float can be (a 5000-digit integer is not a number here)."""
    if isinstance(value, numbers.Integral):
        return int(value).bit_length() <= 1024
    return math.isfinite(value)


def _bound(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def interval(lo=None, hi=None, lo_open: bool = False, hi_open: bool = False) -> str:
    """The allowed range in words: ``in [1, 10]``, ``in (0, 1)``, ``>= 0``, ``< 5`` or ``""``."""
    if lo is None and hi is None:
        return ""
    if hi is None or (isinstance(hi, float) and math.isinf(hi)):
        return f"{'>' if lo_open else '>='} {_bound(lo)}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {_bound(hi)}"
    return f"in {'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"


def check_number(name: str, value, lo=None, hi=None, *, integer: bool = False, lo_open: bool = False,
                 hi_open: bool = False, optional: bool = False):
    """``value`` if it is a finite number (an integer if ``integer``) in the range (``None`` if
    ``optional``), else ``ValueError('name: must be ..., got ...')``."""
    if value is None and optional:
        return None
    allowed = interval(lo, hi, lo_open, hi_open)
    space = " " if allowed else ""
    maybe = "None or " if optional else ""
    below = lambda v: lo is not None and (v <= lo if lo_open else v < lo)  # noqa: E731
    above = lambda v: hi is not None and (v >= hi if hi_open else v > hi)  # noqa: E731
    if integer:
        if not is_int(value) or below(value) or above(value):
            raise ValueError(f"{name}: must be {maybe}an integer{space}{allowed}, got {shown(value)}")
        return value
    if not is_number(value):
        raise ValueError(f"{name}: must be {maybe}a number{space}{allowed}, got {shown(value)}")
    if not finite(value):
        raise ValueError(f"{name}: must be a finite number{space}{allowed}, got {shown(value)}")
    if below(value) or above(value):
        raise ValueError(f"{name}: must be {allowed}, got {shown(value)}")
    return value


def check_whole(name: str, value, lo=None, hi=None) -> int:
    """:func:`check_number` for a count typed as a number: an integer, or a float with no
    fraction (``50.0``, as a slider or JSON may give it), returned as an ``int``."""
    if is_number(value) and not is_int(value) and finite(value) and float(value).is_integer():
        value = int(value)
    return int(check_number(name, value, lo, hi, integer=True))
