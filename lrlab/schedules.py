"""Learning-rate schedules: pure functions of the epoch, and two reactive ones fed the metrics.

CONTRACT (the engine, the race and the panels rely on it):

* ``SCHEDULES[name] -> ScheduleSpec`` with ``build``, ``defaults``, ``ranges``, ``kinds``,
  ``choices``, ``description``, ``formula``, ``reactive``.  ``ranges[param]`` is
  ``(low, high, low_inclusive, high_inclusive)`` for every numeric parameter (for
  ``milestones`` it bounds each element); ``kinds[param]`` is one of ``'lr'`` (a positive
  rate, best on a log slider), ``'float'``, ``'int'``, ``'epochs'`` (an integer count of
  epochs), ``'milestones'`` (a sorted tuple of epochs) or ``'choice'`` (one of
  ``choices[param]``).  A default of ``None`` is derived from the configured ``lr`` and
  the epoch budget ``epochs`` by ``spec.resolve(lr, epochs, **params)`` (e.g. ``T_max``
  -> ``epochs``, ``max_lr`` -> ``lr``, ``min_lr`` -> ``lr / 100``).
* ``make_schedule(name, lr, epochs, **params) -> Schedule``: ``lr`` is the configured
  (peak) learning rate, ``epochs`` the epoch budget.  Unknown parameters -> ValueError.
* ``Schedule.lr(epoch) -> float``: the learning rate used during epoch ``epoch`` (0-based).
* ``Schedule.observe(epoch, metrics) -> float``: called after epoch ``epoch`` with
  ``{'train_loss', 'train_acc', 'test_loss', 'test_acc'}``; reactive schedules may cut
  the rate here; returns ``lr(epoch + 1)``.
* ``Schedule.cuts``: list of ``{'epoch', 'old_lr', 'new_lr', 'reason'}`` (reactive ones;
  ``epoch`` is the epoch after which the cut was decided, the new rate applies from
  ``epoch + 1``).  The engine stores this very list as ``run.history.cuts``.

The factories (``constant`` ... ``linear``) follow optax: validate the arguments, return a
closure ``f(epoch) -> lr`` that holds no state, so ``f(10)`` is the same whatever was
asked before (d2l's cosine scheduler mutates ``self.base_lr`` on each call; not here).

Parity with ``torch.optim.lr_scheduler`` (tests/test_schedules.py, 3 x T_max epochs, 1e-12),
torch's scheduler stepped once per epoch after the epoch, so that epoch ``e`` trains with
``torch``'s rate after ``e`` steps:

=========================  ================================================================
``step_decay``             ``StepLR(step_size, gamma)``
``multistep``              ``MultiStepLR(milestones, gamma)``
``exponential``            ``ExponentialLR(gamma)``
``cosine``                 ``CosineAnnealingLR(T_max, eta_min=min_lr)``, *past T_max too*
``cosine_warm_restarts``   ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min=min_lr)``
``one_cycle``              ``OneCycleLR(max_lr, total_steps, pct_start, div_factor, final_div_factor)``
``linear``                 ``LinearLR(start_factor, end_factor, total_iters)``
``ReduceOnPlateau``        ``ReduceLROnPlateau`` (same arguments, same defaults)
=========================  ================================================================

A note on cosine past ``T_max``: torch's ``CosineAnnealingLR`` stepped once per epoch uses a
*recursive* form, ``lr_e = (1 + cos(pi e/T)) / (1 + cos(pi (e-1)/T)) (lr_{e-1} - min) + min``
with a special case at ``e = T_max + 1 (mod 2 T_max)``; its closed form (used when an
epoch is passed to ``step``) is the seed's formula.  Both follow the *periodic* cosine:
after ``T_max`` the rate climbs back to ``max_lr`` at ``2 T_max`` and falls again.  Our
``cosine`` is the closed form, so it agrees with torch's recursion step for step (to
rounding, ~1e-17 here) over any number of epochs, including the climb after ``T_max``.
The engine's default ``T_max`` is the epoch budget, so a run never reaches the climb
unless you ask for a shorter ``T_max``.
"""
from __future__ import annotations

import bisect
import math
from fractions import Fraction
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import limits
from .checks import check_number, check_whole

# ---------------------------------------------------------------------------- validation
MAX_EPOCHS = limits.MAX_EPOCHS
LR_RANGE = limits.LR_RANGE
MIN_LR_RANGE = (0.0, 100.0, True, True)
EPOCHS_RANGE = (1, MAX_EPOCHS, True, True)


def check_range(name: str, value, rng) -> None:
    """Raise ``ValueError('name: must be in [lo, hi), got value')`` when ``value`` is outside ``rng``
    (:func:`lrlab.checks.check_number`, the one number rule)."""
    lo, hi, lo_inc, hi_inc = rng
    check_number(name, value, lo, hi, lo_open=not lo_inc, hi_open=not hi_inc)


def _integer(name: str, value, low: int = 1, high: int = MAX_EPOCHS) -> int:
    """An integer in [low, high] (an integral float such as 50.0 is accepted)."""
    return check_whole(name, value, low, high)


def _check_lr_pair(max_lr, min_lr) -> None:
    check_range("max_lr", max_lr, LR_RANGE)
    check_range("min_lr", min_lr, MIN_LR_RANGE)
    if min_lr > max_lr:
        raise ValueError(f"min_lr: must be in [0, max_lr={max_lr:g}], got {min_lr!r}")


def _choice(name: str, value, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


# ---------------------------------------------------------------------------- pure schedules
def constant(lr: float) -> Callable[[int], float]:
    """``lr(e) = lr``"""
    check_range("lr", lr, LR_RANGE)
    return lambda epoch: lr


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Callable[[int], float]:
    """``lr(e) = lr * gamma ** floor(e / step_size)``  (torch ``StepLR``)"""
    check_range("lr", lr, LR_RANGE)
    step_size = _integer("step_size", step_size)
    check_range("gamma", gamma, (0.0, 1.0, False, True))
    return lambda epoch: lr * gamma ** (epoch // step_size)


def multistep(lr: float, milestones: Iterable[int], gamma: float = 0.1) -> Callable[[int], float]:
    """``lr(e) = lr * gamma ** (number of milestones <= e)``  (torch ``MultiStepLR``; a repeated
    milestone counts twice, as in torch)."""
    check_range("lr", lr, LR_RANGE)
    try:
        milestones = tuple(sorted(_integer("milestones", m) for m in milestones))
    except TypeError:
        raise ValueError(f"milestones: must be a sequence of integers >= 1, got {milestones!r}") from None
    check_range("gamma", gamma, (0.0, 1.0, False, True))
    return lambda epoch: lr * gamma ** bisect.bisect_right(milestones, epoch)


def exponential(lr: float, gamma: float) -> Callable[[int], float]:
    """``lr(e) = lr * gamma ** e``  (torch ``ExponentialLR``)"""
    check_range("lr", lr, LR_RANGE)
    check_range("gamma", gamma, (0.0, 1.0, False, True))
    return lambda epoch: lr * gamma ** epoch


def cosine(max_lr: float, min_lr: float, T_max: int) -> Callable[[int], float]:
    """The seed's cosine annealing (torch ``CosineAnnealingLR``)::

        lr(e) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * e / T_max))

    ``max_lr`` at ``e = 0``, ``min_lr`` at ``e = T_max``; past ``T_max`` the cosine goes on
    (it climbs back to ``max_lr`` at ``2 T_max``), exactly as torch's scheduler does.
    """
    _check_lr_pair(max_lr, min_lr)
    T_max = _integer("T_max", T_max)
    return lambda epoch: min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * epoch / T_max))


def cosine_warm_restarts(max_lr: float, min_lr: float, T_0: int, T_mult: int = 1) -> Callable[[int], float]:
    """SGDR (torch ``CosineAnnealingWarmRestarts``)::

        lr(e) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * T_cur / T_i))

    where the i-th cycle lasts ``T_i = T_0 * T_mult ** i`` epochs and ``T_cur`` counts the
    epochs since the last restart (at each restart the rate jumps back to ``max_lr``).
    """
    _check_lr_pair(max_lr, min_lr)
    T_0 = _integer("T_0", T_0)
    T_mult = _integer("T_mult", T_mult, 1, 100)

    def schedule(epoch: int) -> float:
        if T_mult == 1:
            T_cur, T_i = epoch % T_0, T_0
        else:  # walk the cycles: T_0, T_0 T_mult, T_0 T_mult^2, ... (log many)
            T_cur, T_i = epoch, T_0
            while T_cur >= T_i:
                T_cur -= T_i
                T_i *= T_mult
        return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * T_cur / T_i)) / 2

    return schedule


def warmup_cosine(max_lr: float, min_lr: float, warmup: int, T_max: int) -> Callable[[int], float]:
    """Linear warm-up then cosine decay, two schedules joined at ``warmup`` (optax style)::

        lr(e) = min_lr + (max_lr - min_lr) * e / warmup                          e <  warmup
        lr(e) = min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi (e - warmup) / (T_max - warmup)))
                                                                                 warmup <= e <= T_max
        lr(e) = min_lr                                                           e >  T_max

    ``T_max`` is the whole length (warm-up included); ``warmup = 0`` is plain cosine up to T_max.
    """
    _check_lr_pair(max_lr, min_lr)
    T_max = _integer("T_max", T_max)
    warmup = _integer("warmup", warmup, 0, MAX_EPOCHS)
    if warmup >= T_max:
        raise ValueError(f"warmup: must be an integer in [0, T_max - 1 = {T_max - 1}], got {warmup!r}")
    decay = cosine(max_lr, min_lr, T_max - warmup)

    def schedule(epoch: int) -> float:
        if epoch < warmup:
            return min_lr + (max_lr - min_lr) * epoch / warmup
        if epoch > T_max:
            return min_lr
        return decay(epoch - warmup)

    return schedule


def one_cycle(max_lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> Callable[[int], float]:
    """The 1cycle policy (torch ``OneCycleLR``, ``anneal_strategy='cos'``, two phases)::

        initial_lr = max_lr / div_factor;   final_lr = initial_lr / final_div_factor
        phase 1, e <= pct_start * total_steps - 1:  cos-anneal initial_lr -> max_lr
        phase 2, up to e = total_steps - 1:          cos-anneal max_lr -> final_lr
        anneal(start, end, pct) = end + (start - end) / 2 * (1 + cos(pi * pct))

    After ``total_steps - 1`` the rate stays at ``final_lr`` (torch refuses to step further).
    """
    check_range("max_lr", max_lr, LR_RANGE)
    total_steps = _integer("total_steps", total_steps)
    check_range("pct_start", pct_start, (0.0, 1.0, False, False))
    check_range("div_factor", div_factor, (1.0, 1e6, True, True))
    check_range("final_div_factor", final_div_factor, (1.0, 1e9, True, True))
    initial_lr = max_lr / div_factor
    final_lr = initial_lr / final_div_factor
    phases = ((float(pct_start * total_steps) - 1, initial_lr, max_lr),
              (total_steps - 1, max_lr, final_lr))

    def anneal(start: float, end: float, pct: float) -> float:
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def schedule(epoch: int) -> float:
        if epoch >= total_steps - 1:
            return final_lr
        start_step = 0.0
        for i, (end_step, start_lr, end_lr) in enumerate(phases):
            if epoch <= end_step or i == len(phases) - 1:
                span = end_step - start_step
                return anneal(start_lr, end_lr, (epoch - start_step) / span if span else 1.0)
            start_step = end_step
        raise AssertionError("unreachable")

    return schedule


def linear(lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
           total_iters: int = 5) -> Callable[[int], float]:
    """Linear interpolation of the factor (torch ``LinearLR``, same defaults)::

        lr(e) = lr * (start_factor + (end_factor - start_factor) * min(e, total_iters) / total_iters)

    ``start_factor < end_factor`` is a warm-up; ``start_factor > end_factor`` a linear decay.
    """
    check_range("lr", lr, LR_RANGE)
    check_range("start_factor", start_factor, (0.0, 1.0, False, True))
    check_range("end_factor", end_factor, (0.0, 1.0, True, True))
    total_iters = _integer("total_iters", total_iters)
    return lambda epoch: lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)


# ---------------------------------------------------------------------------- Schedule objects
class Schedule:
    """A pure schedule ``f(epoch)`` behind the engine's interface (``observe`` cuts nothing)."""

    reactive = False

    def __init__(self, fn: Callable[[int], float], name: str = "", params: dict | None = None):
        self.fn, self.name, self.params, self.cuts = fn, name, dict(params or {}), []

    def lr(self, epoch: int) -> float:
        return float(self.fn(epoch))

    def observe(self, epoch: int, metrics: dict) -> float:
        return self.lr(epoch + 1)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Schedule({self.name}: {args})"


def _metric(metrics, key: str) -> float:
    if isinstance(metrics, dict):
        if key not in metrics:
            raise ValueError(f"metrics: need {key!r}, got keys {sorted(metrics)}")
        return float(metrics[key])
    return float(metrics)


class _PiecewiseRate:
    """Rates that change only at observed epochs: ``changes`` is [(from_epoch, value)], sorted."""

    def __init__(self, value: float):
        self.changes = [(0, value)]

    def at(self, epoch: int) -> float:
        i = bisect.bisect_right(self.changes, (epoch, math.inf)) - 1
        return self.changes[max(i, 0)][1]

    def set_from(self, epoch: int, value: float) -> None:
        self.changes.append((epoch, value))

    @property
    def current(self) -> float:
        return self.changes[-1][1]


class ReduceOnPlateau:
    """torch's ``ReduceLROnPlateau``, same arguments and defaults, on one rate.

    After each epoch, with ``current`` the monitored metric::

        better  = current < best * (1 - threshold)    (mode 'min', threshold_mode 'rel')
                  current < best - threshold          (mode 'min', 'abs')
                  current > best * (1 + threshold)    (mode 'max', 'rel')
                  current > best + threshold          (mode 'max', 'abs')
        if better: best = current; bad_epochs = 0   else: bad_epochs += 1
        if in cooldown: cooldown_counter -= 1; bad_epochs = 0
        if bad_epochs > patience:
            new = max(lr * factor, min_lr); if lr - new > eps: lr = new   (a cut)
            cooldown_counter = cooldown; bad_epochs = 0

    ``monitor`` names the metric taken from the engine's epoch record (torch takes the
    number itself: :meth:`step` does that).  ``lr(e)`` is the rate in force during epoch e.
    """

    reactive = True
    name = "reduce_on_plateau"
    MONITORS = ("test_loss", "train_loss", "test_acc", "train_acc")

    def __init__(self, lr: float, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8, monitor: str = "test_loss"):
        check_range("lr", lr, LR_RANGE)
        self.mode = _choice("mode", mode, ("min", "max"))
        check_range("factor", factor, (0.0, 1.0, False, False))
        self.patience = _integer("patience", patience, 0, MAX_EPOCHS)
        check_range("threshold", threshold, (0.0, 1.0, True, False))
        self.threshold_mode = _choice("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = _integer("cooldown", cooldown, 0, MAX_EPOCHS)
        check_range("min_lr", min_lr, MIN_LR_RANGE)
        check_range("eps", eps, (0.0, 1.0, True, True))
        self.monitor = _choice("monitor", monitor, self.MONITORS)
        self.factor, self.threshold, self.min_lr, self.eps = factor, threshold, min_lr, eps
        self.params = dict(lr=lr, mode=mode, factor=factor, patience=patience, threshold=threshold,
                           threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps,
                           monitor=monitor)
        self._rate = _PiecewiseRate(float(lr))
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = -1
        self.cuts: list[dict] = []

    def lr(self, epoch: int) -> float:
        return self._rate.at(epoch)

    def is_better(self, current: float, best: float) -> bool:
        if self.mode == "min":
            return current < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return current > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, current: float) -> float:
        """torch's ``scheduler.step(metric)``: observe the next epoch's metric value."""
        return self.observe(self.last_epoch + 1, float(current))

    def observe(self, epoch: int, metrics) -> float:
        """Feed epoch ``epoch``'s metrics (a dict, or the monitored number); return ``lr(epoch + 1)``."""
        current = _metric(metrics, self.monitor)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = self._rate.current
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self._rate.set_from(epoch + 1, new)
                self.cuts.append({"epoch": epoch, "old_lr": old, "new_lr": new,
                                  "reason": f"{self.monitor} has not improved for {self.num_bad_epochs} epochs "
                                            f"(best {self.best:.4g})"})
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return self.lr(epoch + 1)


#: every finite float64 is an integer multiple of 2**-1074
_ULP_SHIFT = 1074


class _ExactSum:
    """The exact sum of a period's values, in O(1) memory and independent of their order.

    A finite float is ``n / 2**k`` with ``k <= 1074``, so ``value * 2**1074`` is an integer:
    those integers are added (Python integers do not round), so the sum is exact, whatever the
    order.  Infinities and NaN are counted, and the sum is then what a float sum gives
    (``inf``, ``-inf``, or NaN for a NaN or ``inf + -inf``)."""

    __slots__ = ("scaled", "pos_inf", "neg_inf", "nan", "count")

    def __init__(self):
        self.scaled, self.pos_inf, self.neg_inf, self.nan, self.count = 0, False, False, False, 0

    def add(self, value: float) -> None:
        self.count += 1
        if math.isfinite(value):
            n, d = value.as_integer_ratio()  # d is a power of two
            self.scaled += n << (_ULP_SHIFT + 1 - d.bit_length())
        elif math.isnan(value):
            self.nan = True
        elif value > 0:
            self.pos_inf = True
        else:
            self.neg_inf = True

    @property
    def total(self):
        """``sum * 2**1074`` as an integer (all finite), else ``inf``, ``-inf`` or ``nan``: compare two."""
        if self.nan or (self.pos_inf and self.neg_inf):
            return math.nan
        if self.pos_inf:
            return math.inf
        if self.neg_inf:
            return -math.inf
        return self.scaled

    @property
    def mean(self) -> float:
        total = self.total
        if not self.count:
            return math.nan
        if isinstance(total, float):
            return total
        return float(Fraction(total, self.count << _ULP_SHIFT))


class CosineWithPlateauCuts:
    """The seed's cosine annealing with periodic plateau checks::

        lr(e) = scale * (min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * e / T_max)))

    ``scale`` starts at 1.  After the metrics of epoch ``e`` are observed, if ``(e + 1)`` is a
    multiple of ``period`` and a previous period exists, the period's mean training loss and
    mean training accuracy (epochs ``e+1-period .. e``) are compared with the previous
    period's (``e+1-2 period .. e-period``): if the mean loss rose (``monitor`` 'loss' or
    'both') or the mean accuracy fell ('accuracy' or 'both'), ``scale *= factor`` from
    epoch ``e + 1`` on.  Every cut is recorded in :attr:`cuts`.  Equal means are no change.
    The loss/accuracy come from ``metrics[loss_key]`` / ``metrics[acc_key]``
    (``train_loss`` / ``train_acc``, as the seed says: training loss and accuracy).

    The means are compared *exactly*: both periods have ``period`` values, so their sums are
    compared, and each sum is exact (integers in units of 2**-1074), so the same values in
    another order are the same sum -- a float mean (``np.mean``) can differ in the last bit
    and would count as a change.  Only the running sums of the current and the previous
    period are kept (memory does not grow with the epochs).  Once ``scale`` is below
    :data:`MIN_SCALE` (the rate is less than a trillionth of the cosine) no further cut is
    made or recorded, so the record of cuts stays bounded too.
    """

    reactive = True
    name = "cosine_plateau_cuts"
    MONITORS = ("both", "loss", "accuracy")
    #: no cut takes ``scale`` below this
    MIN_SCALE = 1e-12

    def __init__(self, max_lr: float, min_lr: float, T_max: int, period: int, factor: float = 0.1,
                 monitor: str = "both", loss_key: str = "train_loss", acc_key: str = "train_acc"):
        self.cosine = cosine(max_lr, min_lr, T_max)
        self.period = _integer("period", period)
        check_range("factor", factor, (0.0, 1.0, False, False))
        self.monitor = _choice("monitor", monitor, self.MONITORS)
        self.factor, self.loss_key, self.acc_key = factor, loss_key, acc_key
        self.params = dict(max_lr=max_lr, min_lr=min_lr, T_max=int(T_max), period=self.period, factor=factor,
                           monitor=monitor)
        self._scale = _PiecewiseRate(1.0)
        self.observed = 0  # epochs observed so far
        self._loss, self._acc = _ExactSum(), _ExactSum()  # the current period, so far
        self._previous: tuple[_ExactSum, _ExactSum] | None = None  # the last complete period
        self.cuts: list[dict] = []

    def scale(self, epoch: int) -> float:
        """The product of the cuts decided before ``epoch``."""
        return self._scale.at(epoch)

    def lr(self, epoch: int) -> float:
        return self.scale(epoch) * self.cosine(epoch)

    def observe(self, epoch: int, metrics: dict) -> float:
        """Record epoch ``epoch``'s training loss/accuracy; maybe cut; return ``lr(epoch + 1)``."""
        if epoch != self.observed:
            raise ValueError(f"epoch: metrics must be observed in order, expected epoch {self.observed}, "
                             f"got {epoch!r}")
        loss, acc = _metric(metrics, self.loss_key), _metric(metrics, self.acc_key)
        self.observed += 1
        self._loss.add(loss)
        self._acc.add(acc)
        p = self.period
        if (epoch + 1) % p:
            return self.lr(epoch + 1)
        now, before = (self._loss, self._acc), self._previous
        self._previous, self._loss, self._acc = now, _ExactSum(), _ExactSum()
        if before is not None:
            reasons = []
            if self.monitor in ("loss", "both") and now[0].total > before[0].total:
                reasons.append(f"mean loss rose {before[0].mean:.4g} -> {now[0].mean:.4g}")
            if self.monitor in ("accuracy", "both") and now[1].total < before[1].total:
                reasons.append(f"mean accuracy fell {before[1].mean:.4g} -> {now[1].mean:.4g}")
            new_scale = self._scale.current * self.factor
            if reasons and new_scale >= self.MIN_SCALE:
                old = self.lr(epoch + 1)
                self._scale.set_from(epoch + 1, new_scale)
                self.cuts.append({"epoch": epoch, "old_lr": old, "new_lr": self.lr(epoch + 1),
                                  "reason": f"epochs {epoch + 1 - p}-{epoch} vs {epoch + 1 - 2 * p}-"
                                            f"{epoch - p}: " + " and ".join(reasons)})
        return self.lr(epoch + 1)


# ---------------------------------------------------------------------------- the registry
@dataclass
class ScheduleSpec:
    """A schedule by name: ``build(lr, epochs, **params) -> Schedule`` and what its parameters are."""

    name: str
    build: Callable[..., Any]  # build(lr, epochs, **params) -> Schedule (params resolved)
    defaults: dict[str, Any]
    ranges: dict[str, tuple] = field(default_factory=dict)
    description: str = ""
    formula: str = ""
    reactive: bool = False
    kinds: dict[str, str] = field(default_factory=dict)
    choices: dict[str, tuple] = field(default_factory=dict)
    derive: dict[str, Callable[[float, int, dict], Any]] = field(default_factory=dict)

    def resolve(self, lr: float, epochs: int, **params) -> dict[str, Any]:
        """Every parameter with a value: given ones, else the default, else derived from lr/epochs."""
        unknown = set(params) - set(self.defaults)
        if unknown:
            allowed = ", ".join(self.defaults) or "none"
            raise ValueError(f"{', '.join(sorted(unknown))}: not a parameter of schedule {self.name}; "
                             f"allowed: {allowed}")
        out = {}
        for key, default in self.defaults.items():
            value = params.get(key)
            if value is None:
                value = default if default is not None else self.derive[key](lr, epochs, out)
            out[key] = value
        return out


def _derived_lr(lr, epochs, resolved):
    return lr


def _derived_min_lr(lr, epochs, resolved):
    return resolved.get("max_lr", lr) / 100


def _derived_budget(lr, epochs, resolved):
    return int(epochs)


def _spec(name, build, defaults, ranges, kinds, description, formula, reactive=False, choices=None, derive=None):
    d = {"max_lr": _derived_lr, "min_lr": _derived_min_lr, "T_max": _derived_budget,
         "total_steps": _derived_budget, "total_iters": _derived_budget}
    d.update(derive or {})
    return ScheduleSpec(name, build, defaults, ranges, description, formula, reactive, kinds, choices or {},
                        {k: v for k, v in d.items() if k in defaults})


_LR_PAIR_RANGES = {"max_lr": LR_RANGE, "min_lr": MIN_LR_RANGE}
_LR_PAIR_KINDS = {"max_lr": "lr", "min_lr": "lr"}

SCHEDULES: dict[str, ScheduleSpec] = {
    "constant": _spec(
        "constant", lambda lr, epochs: Schedule(constant(lr), "constant", {"lr": lr}), {}, {}, {},
        "The learning rate never changes.", "lr(e) = lr"),
    "step_decay": _spec(
        "step_decay",
        lambda lr, epochs, step_size, gamma: Schedule(step_decay(lr, step_size, gamma), "step_decay",
                                                      dict(lr=lr, step_size=step_size, gamma=gamma)),
        {"step_size": None, "gamma": 0.1},
        {"step_size": EPOCHS_RANGE, "gamma": (0.0, 1.0, False, True)}, {"step_size": "epochs", "gamma": "float"},
        "Multiply the rate by gamma every step_size epochs (a staircase).",
        "lr(e) = lr * gamma^floor(e / step_size)",
        derive={"step_size": lambda lr, epochs, r: max(1, int(epochs) // 3)}),
    "multistep": _spec(
        "multistep",
        lambda lr, epochs, milestones, gamma: Schedule(multistep(lr, milestones, gamma), "multistep",
                                                       dict(lr=lr, milestones=tuple(milestones), gamma=gamma)),
        {"milestones": None, "gamma": 0.1},
        {"milestones": EPOCHS_RANGE, "gamma": (0.0, 1.0, False, True)},
        {"milestones": "milestones", "gamma": "float"},
        "Multiply the rate by gamma at each milestone epoch.",
        "lr(e) = lr * gamma^(number of milestones <= e)",
        derive={"milestones": lambda lr, epochs, r: (max(1, int(epochs) // 2), max(1, 3 * int(epochs) // 4))}),
    "exponential": _spec(
        "exponential",
        lambda lr, epochs, gamma: Schedule(exponential(lr, gamma), "exponential", dict(lr=lr, gamma=gamma)),
        {"gamma": None}, {"gamma": (0.0, 1.0, False, True)}, {"gamma": "float"},
        "Multiply the rate by gamma every epoch (default: reach lr/100 at the end of the budget).",
        "lr(e) = lr * gamma^e",
        derive={"gamma": lambda lr, epochs, r: 0.01 ** (1 / max(1, int(epochs)))}),
    "cosine": _spec(
        "cosine",
        lambda lr, epochs, max_lr, min_lr, T_max: Schedule(cosine(max_lr, min_lr, T_max), "cosine",
                                                           dict(max_lr=max_lr, min_lr=min_lr, T_max=T_max)),
        {"max_lr": None, "min_lr": None, "T_max": None},
        {**_LR_PAIR_RANGES, "T_max": EPOCHS_RANGE}, {**_LR_PAIR_KINDS, "T_max": "epochs"},
        "Cosine annealing from max_lr down to min_lr over T_max epochs (the seed's formula).",
        "lr(e) = min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi e / T_max))"),
    "cosine_warm_restarts": _spec(
        "cosine_warm_restarts",
        lambda lr, epochs, max_lr, min_lr, T_0, T_mult: Schedule(
            cosine_warm_restarts(max_lr, min_lr, T_0, T_mult), "cosine_warm_restarts",
            dict(max_lr=max_lr, min_lr=min_lr, T_0=T_0, T_mult=T_mult)),
        {"max_lr": None, "min_lr": None, "T_0": None, "T_mult": 1},
        {**_LR_PAIR_RANGES, "T_0": EPOCHS_RANGE, "T_mult": (1, 100, True, True)},
        {**_LR_PAIR_KINDS, "T_0": "epochs", "T_mult": "int"},
        "Cosine cycles that restart at max_lr; each cycle T_mult times longer (SGDR).",
        "lr(e) = min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi T_cur / T_i)),  T_i = T_0 T_mult^i",
        derive={"T_0": lambda lr, epochs, r: max(1, int(epochs) // 4)}),
    "warmup_cosine": _spec(
        "warmup_cosine",
        lambda lr, epochs, max_lr, min_lr, warmup, T_max: Schedule(
            warmup_cosine(max_lr, min_lr, warmup, T_max), "warmup_cosine",
            dict(max_lr=max_lr, min_lr=min_lr, warmup=warmup, T_max=T_max)),
        {"max_lr": None, "min_lr": None, "T_max": None, "warmup": None},
        {**_LR_PAIR_RANGES, "T_max": EPOCHS_RANGE, "warmup": (0, MAX_EPOCHS - 1, True, True)},
        {**_LR_PAIR_KINDS, "T_max": "epochs", "warmup": "epochs"},
        "Rise linearly from min_lr to max_lr over warmup epochs, then cosine down to min_lr at T_max.",
        "lr(e) = min_lr + (max_lr - min_lr) e / warmup, then cosine over T_max - warmup epochs",
        derive={"warmup": lambda lr, epochs, r: min(int(r["T_max"]) // 10, int(r["T_max"]) - 1)}),
    "one_cycle": _spec(
        "one_cycle",
        lambda lr, epochs, max_lr, total_steps, pct_start, div_factor, final_div_factor: Schedule(
            one_cycle(max_lr, total_steps, pct_start, div_factor, final_div_factor), "one_cycle",
            dict(max_lr=max_lr, total_steps=total_steps, pct_start=pct_start, div_factor=div_factor,
                 final_div_factor=final_div_factor)),
        {"max_lr": None, "total_steps": None, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
        {"max_lr": LR_RANGE, "total_steps": EPOCHS_RANGE, "pct_start": (0.0, 1.0, False, False),
         "div_factor": (1.0, 1e6, True, True), "final_div_factor": (1.0, 1e9, True, True)},
        {"max_lr": "lr", "total_steps": "epochs", "pct_start": "float", "div_factor": "float",
         "final_div_factor": "float"},
        "Warm up from max_lr/div_factor to max_lr over pct_start of the run, then anneal far below.",
        "cos-anneal max_lr/div -> max_lr over pct_start*total, then -> max_lr/(div*final_div)"),
    "linear": _spec(
        "linear",
        lambda lr, epochs, start_factor, end_factor, total_iters: Schedule(
            linear(lr, start_factor, end_factor, total_iters), "linear",
            dict(lr=lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)),
        {"start_factor": 1.0, "end_factor": 0.01, "total_iters": None},
        {"start_factor": (0.0, 1.0, False, True), "end_factor": (0.0, 1.0, True, True),
         "total_iters": EPOCHS_RANGE},
        {"start_factor": "float", "end_factor": "float", "total_iters": "epochs"},
        "Change the rate linearly from lr*start_factor to lr*end_factor over total_iters epochs.",
        "lr(e) = lr (start + (end - start) min(e, total_iters) / total_iters)"),
    "reduce_on_plateau": _spec(
        "reduce_on_plateau",
        lambda lr, epochs, **p: ReduceOnPlateau(lr, **p),
        {"monitor": "test_loss", "mode": None, "factor": 0.1, "patience": 10, "threshold": 1e-4,
         "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0, "eps": 1e-8},
        {"factor": (0.0, 1.0, False, False), "patience": (0, MAX_EPOCHS, True, True),
         "threshold": (0.0, 1.0, True, False), "cooldown": (0, MAX_EPOCHS, True, True),
         "min_lr": MIN_LR_RANGE, "eps": (0.0, 1.0, True, True)},
        {"monitor": "choice", "mode": "choice", "factor": "float", "patience": "epochs", "threshold": "float",
         "threshold_mode": "choice", "cooldown": "epochs", "min_lr": "lr", "eps": "float"},
        "Cut the rate by factor when the monitored metric has not improved for patience epochs.",
        "if no improvement for > patience epochs: lr <- max(lr * factor, min_lr)",
        reactive=True,
        choices={"monitor": ReduceOnPlateau.MONITORS, "mode": ("min", "max"), "threshold_mode": ("rel", "abs")},
        derive={"mode": lambda lr, epochs, r: "max" if r["monitor"].endswith("_acc") else "min"}),
    "cosine_plateau_cuts": _spec(
        "cosine_plateau_cuts",
        lambda lr, epochs, **p: CosineWithPlateauCuts(**p),
        {"max_lr": None, "min_lr": None, "T_max": None, "period": None, "factor": 0.1, "monitor": "both"},
        {**_LR_PAIR_RANGES, "T_max": EPOCHS_RANGE, "period": EPOCHS_RANGE, "factor": (0.0, 1.0, False, False)},
        {**_LR_PAIR_KINDS, "T_max": "epochs", "period": "epochs", "factor": "float", "monitor": "choice"},
        "The seed's cosine annealing; every period epochs, if the mean training loss rose or the "
        "mean accuracy fell against the previous period, multiply the rate by factor.",
        "lr(e) = scale * (min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi e / T_max))),  scale *= factor on a plateau",
        reactive=True, choices={"monitor": CosineWithPlateauCuts.MONITORS},
        derive={"period": lambda lr, epochs, r: max(1, int(epochs) // 10)}),
}
def get(name: str) -> ScheduleSpec:
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    return SCHEDULES[name]


def make_schedule(name: str, lr: float, epochs: int, **params):
    """The schedule ``name`` for a run with peak rate ``lr`` and ``epochs`` epochs (None -> derived)."""
    spec = get(name)
    check_range("lr", lr, LR_RANGE)
    epochs = _integer("epochs", epochs)
    return spec.build(lr, epochs, **spec.resolve(lr, epochs, **params))


# ---------------------------------------------------------------------------- curves
def lr_curve(schedule, epochs: int, metrics: Sequence[dict] | None = None) -> np.ndarray:
    """The rate used in each of ``epochs`` epochs.  A reactive schedule is fed ``metrics[e]`` after
    each epoch (as the engine does), so its cuts land in ``schedule.cuts``; a pure one ignores them."""
    rates = np.empty(epochs)
    for e in range(epochs):
        rates[e] = schedule.lr(e)
        if metrics is not None and e < len(metrics):
            schedule.observe(e, metrics[e])
    return rates


def synthetic_metrics(epochs: int, seed: int = 0, bumps: int = 3) -> list[dict]:
    """A made-up but typical training curve to show reactive schedules on, deterministic by ``seed``::

        loss(e) = 0.08 + 0.9 exp(-e / tau) + (bumps: loss rises for a while) + noise
        acc(e)  = 1 - 0.5 loss(e) clipped to [0, 1] (+ its own noise)

    ``bumps`` humps (the loss climbing, as when the rate is too high) make the plateau
    checks fire.
    """
    rng = np.random.default_rng(seed)
    e = np.arange(epochs, dtype=float)
    tau = max(epochs / 6, 1.0)
    loss = 0.08 + 0.9 * np.exp(-e / tau)
    for k in range(bumps):
        centre = epochs * (k + 1.5) / (bumps + 1.5)
        width = max(epochs / 20, 1.0)
        loss += 0.12 * np.exp(-0.5 * ((e - centre) / width) ** 2)
    loss *= 1 + 0.04 * rng.standard_normal(epochs)
    test_loss = loss * (1.1 + 0.05 * rng.standard_normal(epochs))
    acc = np.clip(1 - 0.5 * loss + 0.01 * rng.standard_normal(epochs), 0, 1)
    test_acc = np.clip(acc - 0.02 + 0.01 * rng.standard_normal(epochs), 0, 1)
    return [{"epoch": int(i), "train_loss": float(a), "test_loss": float(b), "train_acc": float(c),
             "test_acc": float(d)} for i, a, b, c, d in zip(e, loss, test_loss, acc, test_acc)]


def metrics_of_run(run) -> list[dict]:
    """The per-epoch records of a finished :class:`lrlab.train.Run` (as the engine fed them)."""
    return [r for r in run.history.records()]
