"""One declaration per parameter: its default, its allowed range or choices, its kind, a line of help.

Every optimizer hyper-parameter (``lrlab.optim``) and every schedule parameter
(``lrlab.schedules``) is one :class:`Param`; the registries hold them (``spec.params``) and
everything else reads them from there:

* validation -- :meth:`Param.check`, the one rule for a value (numbers through
  :func:`lrlab.checks.check_number`), used by ``spec.resolve`` and the schedule factories;
* the registries' ``defaults``, ``ranges``, ``kinds`` and ``choices`` -- derived from the
  declarations (properties of ``OptimizerSpec`` / ``ScheduleSpec``);
* the widgets -- one control factory, :func:`lrlab.widgets.controls.make_control`, builds a
  bounded control from a declaration (its slider window: :meth:`Param.window_at`);
* the command line -- the per-optimizer flags of ``lrlab train / race / sweep`` and the
  parameter flags of ``lrlab schedule``, with their help, choices and range checks
  (:mod:`lrlab.cli._config`);
* the docs -- :func:`readme_tables` prints the README's parameter tables
  (``tests/test_params.py`` keeps the README equal to it).

The learning rate has its own declaration, :data:`LR` (its range is
:data:`lrlab.limits.LR_RANGE`); every learning-rate slider takes its span from
:meth:`Param.exponents` of it.

Kinds: ``'lr'`` (a positive rate, on a log slider), ``'float'``, ``'int'``, ``'epochs'`` (an
integer count of epochs), ``'milestones'`` (a sorted tuple of epochs, each in the range),
``'choice'`` (one of ``choices``), ``'bool'``, ``'pair'`` (two numbers, each in the range,
named by ``parts``: Adam's ``betas``). A default of ``None`` is derived from the configured
learning rate and epoch budget by ``derive(lr, epochs, resolved_so_far)`` (``derived`` says
how, in words).
"""
from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import limits
from .checks import check_number, check_whole, interval, shown

__all__ = ["Param", "Declarations", "LR", "REG_RATE", "KINDS", "check_bool", "format_value"]

KINDS = ("lr", "float", "int", "epochs", "milestones", "choice", "bool", "pair")
#: kinds whose values are numbers with a range (a pair and milestones: each element)
NUMERIC = ("lr", "float", "int", "epochs", "milestones", "pair")
#: kinds whose values are whole numbers
WHOLE = ("int", "epochs", "milestones")


def _is_tensor(value) -> bool:
    torch = sys.modules.get("torch")  # a torch tensor can only exist once torch is imported
    return torch is not None and isinstance(value, torch.Tensor)


@dataclass(frozen=True)
class Param:
    """One parameter of an optimizer or a schedule, declared once.

    ``lo``/``hi`` bound a number (``lo_open``/``hi_open``: the bound itself is excluded);
    ``log``: shown on a log slider (``'lr'`` always is); ``window``: the slider's span when it
    is narrower than the range (a display clamp: a value outside it is still valid);
    ``budget``: for ``'epochs'``/``'milestones'``, the slider spans up to ``budget`` times the
    epoch budget.
    """

    name: str
    default: Any
    kind: str = "float"
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    help: str = ""
    log: bool = False
    window: Optional[tuple] = None
    budget: float = 1.0
    parts: tuple = ()
    derive: Optional[Callable] = field(default=None, compare=False, repr=False)
    derived: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind in NUMERIC and (self.lo is None or self.hi is None):
            raise ValueError(f"{self.name}: a {self.kind} parameter needs lo and hi")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"{self.name}: a choice parameter needs choices")
        if self.default is None and self.derive is None:
            raise ValueError(f"{self.name}: a default of None needs derive")

    # ------------------------------------------------------------------ the range
    @property
    def range(self) -> Optional[tuple]:
        """``(lo, hi, lo_inclusive, hi_inclusive)``, the registries' ``ranges`` format (None: no range)."""
        if self.lo is None:
            return None
        return (self.lo, self.hi, not self.lo_open, not self.hi_open)

    @property
    def logscale(self) -> bool:
        return self.log or self.kind == "lr"

    @property
    def flag(self) -> str:
        """The command-line flag: ``--weight-decay``."""
        return "--" + self.name.replace("_", "-")

    def interval_text(self) -> str:
        """The range alone, in words: ``in (0, 100]`` (each number of a pair or of milestones)."""
        return interval(*self._bounds())

    def allowed(self) -> str:
        """What is allowed, in words: ``in (0, 100]``, ``one of 'min', 'max'``, ``True or False``."""
        if self.kind == "choice":
            return "one of " + ", ".join(map(repr, self.choices))
        if self.kind == "bool":
            return "True or False"
        text = self.interval_text()
        if self.kind == "pair":
            return f"two numbers, each {text}"
        if self.kind == "milestones":
            return f"epochs, each an integer {text}"
        if self.kind in WHOLE:
            return f"an integer {text}"
        return text

    def _bounds(self):
        lo, hi = self.lo, self.hi
        if self.kind in WHOLE:  # whole numbers: an open bound is the next integer in
            lo, hi = int(lo) + (1 if self.lo_open else 0), int(hi) - (1 if self.hi_open else 0)
            return lo, hi, False, False
        return lo, hi, self.lo_open, self.hi_open

    def accepts(self, value) -> bool:
        """Whether :meth:`check` takes ``value``."""
        try:
            self.check(value)
        except ValueError:
            return False
        return True

    # ------------------------------------------------------------------ validation
    def check(self, value, name: Optional[str] = None):
        """``value`` as used (an integral float as an ``int``, milestones as a sorted tuple, a
        pair as a tuple, ``'true'`` as True), or ``ValueError('name: must be ..., got ...')``.

        Numbers go through :func:`lrlab.checks.check_number`; a number may also be a 1-D
        tensor of numbers (one per model, for a race), checked element by element."""
        name = name or self.name
        kind = self.kind
        if kind == "bool":
            return check_bool(name, value)
        if kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{name}: must be {self.allowed()}, got {shown(value)}")
            return value
        lo, hi, lo_open, hi_open = self._bounds()
        if kind in ("int", "epochs"):
            return check_whole(name, value, lo, hi)
        if kind == "milestones":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise ValueError(f"{name}: must be a sequence of integers >= {lo}, got {shown(value)}")
            return tuple(sorted(check_whole(name, m, lo, hi) for m in value))
        if kind == "pair":
            return self._check_pair(name, value)
        return self._check_number(name, value)

    def check_part(self, value, name: Optional[str] = None):
        """One number of a pair (``beta1``), checked against the pair's range."""
        return self._check_number(name or self.name, value)

    def _check_number(self, name, value):
        if not _is_tensor(value):
            return check_number(name, value, self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open)
        where = interval(self.lo, self.hi, self.lo_open, self.hi_open)
        if value.dim() > 1 or value.is_complex() or value.dtype == sys.modules["torch"].bool:
            raise ValueError(f"{name}: must be a number or a 1-D tensor of numbers {where}, got {shown(value)}")
        v = value.detach().double()
        above = (v > self.lo) if self.lo_open else (v >= self.lo)
        below = (v < self.hi) if self.hi_open else (v <= self.hi)
        inside = above & below
        if not bool(inside.all()):  # NaN fails every comparison
            raise ValueError(f"{name}: must be {where}, got {shown(value)}")
        return value

    def _check_pair(self, name, value):
        where = interval(self.lo, self.hi, self.lo_open, self.hi_open)
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            names = f" ({', '.join(self.parts)})" if self.parts else ""
            raise ValueError(f"{name}: must be a pair{names}, each {where}, got {shown(value)}")
        for part in value:
            try:
                self._check_number(name, part)
            except ValueError:
                raise ValueError(f"{name}: must be {where} (both of the pair), got {shown(value)}") from None
        return tuple(value)

    # ------------------------------------------------------------------ display
    def window_at(self, epochs: int = 100) -> tuple:
        """The span of this parameter's slider: ``(low, high)``, inside the range.

        ``window`` when declared (a display clamp), else the range with an open end stepped in;
        ``'epochs'``/``'milestones'`` up to ``budget`` times ``epochs``; a log slider never
        reaches 0 (its low end is the window's, or a thousandth of the high end)."""
        lo, hi, lo_open, hi_open = self._bounds()
        if self.kind in WHOLE:
            top = hi if self.window is None else min(hi, self.window[1])
            low = lo if self.window is None else max(lo, self.window[0])
            if self.kind != "int" or self.window is None:
                top = min(top, max(int(self.budget * epochs), low + 1))
            return int(low), int(max(low + 1, top))
        if self.window is not None:
            return self.window
        if self.logscale:
            high = hi
            low = lo if lo > 0 else high * 1e-3
            return low, high
        step = self.step()
        return (lo + step if lo_open else lo), (hi - step if hi_open else hi)

    def step(self) -> float:
        """A linear slider's step: about a thousandth of its span (a power of ten)."""
        lo, hi = self.window if self.window is not None else (self.lo, self.hi)
        span = hi - lo
        return 10.0 ** math.floor(math.log10(span / 1000)) if span > 0 else 1e-3

    def exponents(self, clamp: Optional[tuple] = None) -> tuple:
        """A log slider's span as exponents of 10: ``log10`` of :meth:`window_at`, narrowed to
        ``clamp = (low, high)`` when a panel shows less (a documented display clamp)."""
        low, high = self.window_at()
        if clamp is not None:
            low, high = max(low, clamp[0]), min(high, clamp[1])
        return math.log10(low), math.log10(high)


class Declarations:
    """What an optimizer's or a schedule's spec reads from its ``params`` (a tuple of :class:`Param`):
    ``defaults``, ``ranges``, ``kinds``, ``choices`` and :meth:`param`, all from the declarations.
    A dataclass using it calls :meth:`_index_params` from its ``__post_init__``."""

    params: tuple

    def _index_params(self) -> None:
        self.params = tuple(self.params)
        self._by_name = {p.name: p for p in self.params}

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    @property
    def ranges(self) -> dict[str, tuple]:
        """name -> (low, high, low_inclusive, high_inclusive) for every numeric parameter (milestones: each)."""
        return {p.name: p.range for p in self.params if p.range is not None}

    @property
    def kinds(self) -> dict[str, str]:
        return {p.name: p.kind for p in self.params}

    @property
    def choices(self) -> dict[str, tuple]:
        return {p.name: p.choices for p in self.params if p.kind == "choice"}

    def param(self, name: str) -> "Param":
        """The declaration of parameter ``name``."""
        return self._by_name[name]


def check_bool(name: str, value) -> bool:
    """``value`` as a bool: True/False, 'true'/'false' (any case) or 0/1; else ``ValueError('name: ...')``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name}: must be True or False, got {shown(value)}")


# ---------------------------------------------------------------------------- the learning rate
#: the learning rate (``TrainConfig.lr``, every optimizer's ``lr``, a schedule's peak rate):
#: its range is :data:`lrlab.limits.LR_RANGE`; its slider spans 1e-5 .. 100 (exponents -5 .. 2)
LR = Param("lr", 0.01, "lr", limits.LR_RANGE[0], limits.LR_RANGE[1], lo_open=not limits.LR_RANGE[2],
           hi_open=not limits.LR_RANGE[3], window=(1e-5, limits.LR_RANGE[1]),
           help="the learning rate: the step is lr times what the optimizer makes of the gradient")

#: the regularisation rate (``TrainConfig.reg_rate``): a log slider with a "zero" box
REG_RATE = Param("reg_rate", 0.0, "float", 0.0, 1.0, log=True, window=(1e-6, 1.0),
                 help="L1/L2 regularisation strength (biases excluded)")


# ---------------------------------------------------------------------------- docs
def format_value(value) -> str:
    """A default or a bound as the docs write it: ``0.01``, ``1e-08``, ``(0.9, 0.999)``, ``False``."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    return str(value)
