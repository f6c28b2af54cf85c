"""Learning-rate schedules: pure functions of the epoch, and two reactive ones fed the metrics.

CONTRACT (the engine, the race and the panels rely on it):

* ``SCHEDULES[name] -> ScheduleSpec`` with ``build``, ``params`` (one
  :class:`lrlab.params.Param` per parameter, declared once below: the factories validate with
  them, and ``defaults``, ``ranges``, ``kinds``, ``choices`` and ``derive`` are read from
  them), ``description``, ``formula``, ``reactive``.  ``ranges[param]`` is
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
* A race watches its reactive schedules as batched state, one ``[M]`` array per quantity:
  :class:`PlateauGroup` (``ReduceOnPlateau``) and :class:`CosineCutsGroup`
  (``CosineWithPlateauCuts``), each with ``observe(epoch, {name: [M] array}, which)``, ``rates``
  and ``sync()``; every member's ``lr()``, ``cuts`` and state are what observing it alone gives.

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
epoch is passed to ``step``) is the cosine formula of :func:`cosine`.  Both follow the *periodic* cosine:
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
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import limits
from . import params as params_mod
from .checks import check_number, check_whole
from .params import Declarations, Param

# ---------------------------------------------------------------------------- parameters
# Every schedule parameter declared once (lrlab.params.Param: default, range, kind, help, how a
# default of None is derived). The factories below validate with them, the registry reads its
# defaults/ranges/kinds/choices/derivations from them, and so do the widgets, the CLI and the
# README's table.
MAX_EPOCHS = limits.MAX_EPOCHS
LR = params_mod.LR
LR_RANGE = LR.range


def _budget(lr, epochs, resolved):
    return int(epochs)


def _epochs(name: str, default=None, help: str = "", lo: int = 1, hi: int = MAX_EPOCHS, **more) -> Param:
    """A count of epochs (an integer in [lo, hi]; its slider follows the epoch budget)."""
    return Param(name, default, "epochs", lo, hi, help=help, **more)


MAX_LR = replace(LR, name="max_lr", default=None, derive=lambda lr, epochs, r: lr, derived="lr",
                 help="the highest rate (the peak)")
MIN_LR = Param("min_lr", None, "lr", 0.0, 100.0, window=(1e-6, 100.0),
               derive=lambda lr, epochs, r: r.get("max_lr", lr) / 100, derived="max_lr / 100",
               help="the lowest rate (at most max_lr)")
STEP_SIZE = _epochs("step_size", help="epochs between two cuts",
                    derive=lambda lr, epochs, r: max(1, int(epochs) // 3), derived="epochs // 3")
GAMMA = Param("gamma", 0.1, "float", 0.0, 1.0, lo_open=True, window=(0.01, 1.0),
              help="the factor the rate is multiplied by at each cut")
EXP_GAMMA = replace(GAMMA, default=None, help="the factor the rate is multiplied by every epoch",
                    derive=lambda lr, epochs, r: 0.01 ** (1 / max(1, int(epochs))),
                    derived="reach lr / 100 at the end of the budget")
MILESTONES = Param("milestones", None, "milestones", 1, MAX_EPOCHS, help="the epochs at which the rate is cut",
                   derive=lambda lr, epochs, r: (max(1, int(epochs) // 2), max(1, 3 * int(epochs) // 4)),
                   derived="(epochs // 2, 3 epochs // 4)")
T_MAX = _epochs("T_max", help="epochs of the cosine's fall from max_lr to min_lr", budget=2.0,
                derive=_budget, derived="epochs")
T_0_PARAM = _epochs("T_0", help="epochs of the first cycle", derive=lambda lr, epochs, r: max(1, int(epochs) // 4),
              derived="epochs // 4")
T_MULT = Param("T_mult", 1, "int", 1, 100, window=(1, 4), help="each cycle is T_mult times as long as the one before")
WARMUP = _epochs("warmup", lo=0, hi=MAX_EPOCHS - 1, help="epochs of the linear rise from min_lr to max_lr",
                 derive=lambda lr, epochs, r: min(int(r["T_max"]) // 10, int(r["T_max"]) - 1),
                 derived="T_max // 10")
TOTAL_STEPS = _epochs("total_steps", help="the length of the cycle, in epochs", budget=2.0, derive=_budget,
                      derived="epochs")
PCT_START = Param("pct_start", 0.3, "float", 0.0, 1.0, lo_open=True, hi_open=True, window=(0.05, 0.95),
                  help="the fraction of the cycle spent rising")
DIV_FACTOR = Param("div_factor", 25.0, "float", 1.0, 1e6, log=True, window=(1.0, 1000.0),
                   help="the cycle starts at max_lr / div_factor")
FINAL_DIV_FACTOR = Param("final_div_factor", 1e4, "float", 1.0, 1e9, log=True, window=(1.0, 1e6),
                         help="it ends at the start rate / final_div_factor")
START_FACTOR = Param("start_factor", 1.0, "float", 0.0, 1.0, lo_open=True, window=(0.01, 1.0),
                     help="the rate starts at lr * start_factor")
END_FACTOR = Param("end_factor", 0.01, "float", 0.0, 1.0, help="the rate ends at lr * end_factor")
TOTAL_ITERS = _epochs("total_iters", help="epochs over which the factor changes", derive=_budget, derived="epochs")
MONITOR = Param("monitor", "test_loss", "choice", choices=("test_loss", "train_loss", "test_acc", "train_acc"),
                help="the metric watched")
MODE = Param("mode", None, "choice", choices=("min", "max"), help="whether the metric should fall (min) or rise (max)",
             derive=lambda lr, epochs, r: "max" if r["monitor"].endswith("_acc") else "min",
             derived="'max' for an accuracy, else 'min'")
FACTOR = Param("factor", 0.1, "float", 0.0, 1.0, lo_open=True, hi_open=True, window=(0.01, 0.99),
               help="the rate is multiplied by factor at each cut")
PATIENCE = _epochs("patience", 10, lo=0, help="epochs without improvement before a cut")
THRESHOLD = Param("threshold", 1e-4, "float", 0.0, 1.0, hi_open=True, window=(0.0, 0.1),
                  help="how much better counts as an improvement")
THRESHOLD_MODE = Param("threshold_mode", "rel", "choice", choices=("rel", "abs"),
                       help="threshold relative to the best value (rel) or absolute (abs)")
COOLDOWN = _epochs("cooldown", 0, lo=0, help="epochs after a cut before the metric is watched again")
FLOOR = replace(MIN_LR, default=0.0, derive=None, derived="", help="no cut takes the rate below min_lr")
PLATEAU_EPS = Param("eps", 1e-8, "float", 0.0, 1.0, log=True, window=(1e-12, 1e-2),
                    help="a cut smaller than eps is not made")
PERIOD = _epochs("period", help="epochs per period: each period's mean loss and accuracy are compared with "
                                "the previous period's", derive=lambda lr, epochs, r: max(1, int(epochs) // 10),
                 derived="epochs // 10")
PLATEAU_MONITOR = Param("monitor", "both", "choice", choices=("both", "loss", "accuracy"),
                        help="cut when the mean loss rose (loss), the mean accuracy fell (accuracy), or either")

MIN_LR_RANGE = MIN_LR.range
EPOCHS_RANGE = T_MAX.range


def check_range(name: str, value, rng) -> None:
    """Raise ``ValueError('name: must be in [lo, hi), got value')`` when ``value`` is outside ``rng``
    (:func:`lrlab.checks.check_number`, the one number rule)."""
    lo, hi, lo_inc, hi_inc = rng
    check_number(name, value, lo, hi, lo_open=not lo_inc, hi_open=not hi_inc)


def _check_lr_pair(max_lr, min_lr) -> None:
    MAX_LR.check(max_lr)
    MIN_LR.check(min_lr)
    if min_lr > max_lr:
        raise ValueError(f"min_lr: must be in [0, max_lr={max_lr:g}], got {min_lr!r}")


# ---------------------------------------------------------------------------- pure schedules
def constant(lr: float) -> Callable[[int], float]:
    """``lr(e) = lr``"""
    LR.check(lr)
    return lambda epoch: lr


def step_decay(lr: float, step_size: int, gamma: float = GAMMA.default) -> Callable[[int], float]:
    """``lr(e) = lr * gamma ** floor(e / step_size)``  (torch ``StepLR``)"""
    LR.check(lr)
    step_size = STEP_SIZE.check(step_size)
    GAMMA.check(gamma)
    return lambda epoch: lr * gamma ** (epoch // step_size)


def multistep(lr: float, milestones: Iterable[int], gamma: float = GAMMA.default) -> Callable[[int], float]:
    """``lr(e) = lr * gamma ** (number of milestones <= e)``  (torch ``MultiStepLR``; a repeated
    milestone counts twice, as in torch)."""
    LR.check(lr)
    milestones = MILESTONES.check(milestones)
    GAMMA.check(gamma)
    return lambda epoch: lr * gamma ** bisect.bisect_right(milestones, epoch)


def exponential(lr: float, gamma: float) -> Callable[[int], float]:
    """``lr(e) = lr * gamma ** e``  (torch ``ExponentialLR``)"""
    LR.check(lr)
    EXP_GAMMA.check(gamma)
    return lambda epoch: lr * gamma ** epoch


def cosine(max_lr: float, min_lr: float, T_max: int) -> Callable[[int], float]:
    """Cosine annealing (torch ``CosineAnnealingLR``)::

        lr(e) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * e / T_max))

    ``max_lr`` at ``e = 0``, ``min_lr`` at ``e = T_max``; past ``T_max`` the cosine goes on
    (it climbs back to ``max_lr`` at ``2 T_max``), exactly as torch's scheduler does.
    """
    _check_lr_pair(max_lr, min_lr)
    T_max = T_MAX.check(T_max)
    return lambda epoch: min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * epoch / T_max))


def cosine_warm_restarts(max_lr: float, min_lr: float, T_0: int, T_mult: int = 1) -> Callable[[int], float]:
    """SGDR (torch ``CosineAnnealingWarmRestarts``)::

        lr(e) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * T_cur / T_i))

    where the i-th cycle lasts ``T_i = T_0 * T_mult ** i`` epochs and ``T_cur`` counts the
    epochs since the last restart (at each restart the rate jumps back to ``max_lr``).
    """
    _check_lr_pair(max_lr, min_lr)
    T_0 = T_0_PARAM.check(T_0)
    T_mult = T_MULT.check(T_mult)

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
    T_max = T_MAX.check(T_max)
    warmup = WARMUP.check(warmup)
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


def one_cycle(max_lr: float, total_steps: int, pct_start: float = PCT_START.default,
              div_factor: float = DIV_FACTOR.default,
              final_div_factor: float = FINAL_DIV_FACTOR.default) -> Callable[[int], float]:
    """The 1cycle policy (torch ``OneCycleLR``, ``anneal_strategy='cos'``, two phases)::

        initial_lr = max_lr / div_factor;   final_lr = initial_lr / final_div_factor
        phase 1, e <= pct_start * total_steps - 1:  cos-anneal initial_lr -> max_lr
        phase 2, up to e = total_steps - 1:          cos-anneal max_lr -> final_lr
        anneal(start, end, pct) = end + (start - end) / 2 * (1 + cos(pi * pct))

    After ``total_steps - 1`` the rate stays at ``final_lr`` (torch refuses to step further).
    """
    MAX_LR.check(max_lr)
    total_steps = TOTAL_STEPS.check(total_steps)
    PCT_START.check(pct_start)
    DIV_FACTOR.check(div_factor)
    FINAL_DIV_FACTOR.check(final_div_factor)
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
    LR.check(lr)
    START_FACTOR.check(start_factor)
    END_FACTOR.check(end_factor)
    total_iters = TOTAL_ITERS.check(total_iters)
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
    MONITORS = MONITOR.choices

    def __init__(self, lr: float, mode: str = "min", factor: float = FACTOR.default, patience: int = PATIENCE.default,
                 threshold: float = THRESHOLD.default, threshold_mode: str = THRESHOLD_MODE.default,
                 cooldown: int = COOLDOWN.default, min_lr: float = FLOOR.default, eps: float = PLATEAU_EPS.default,
                 monitor: str = MONITOR.default):
        LR.check(lr)
        self.mode = MODE.check(mode)
        FACTOR.check(factor)
        self.patience = PATIENCE.check(patience)
        THRESHOLD.check(threshold)
        self.threshold_mode = THRESHOLD_MODE.check(threshold_mode)
        self.cooldown = COOLDOWN.check(cooldown)
        FLOOR.check(min_lr)
        PLATEAU_EPS.check(eps)
        self.monitor = MONITOR.check(monitor)
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

    def watched(self) -> tuple[str, ...]:
        """The metrics (record keys) this schedule's cuts look at: its ``monitor``."""
        return (self.monitor,)

    def is_better(self, current: float, best: float) -> bool:
        return bool(plateau_better(current, best, self.mode == "max", self.threshold_mode == "rel", self.threshold))

    def step(self, current: float) -> float:
        """torch's ``scheduler.step(metric)``: observe the next epoch's metric value."""
        return self.observe(self.last_epoch + 1, float(current))

    def observe(self, epoch: int, metrics) -> float:
        """Feed epoch ``epoch``'s metrics (a dict, or the monitored number); return ``lr(epoch + 1)``."""
        current = _metric(metrics, self.monitor)
        self.last_epoch = epoch
        best, bad, cooling = plateau_watch(current, self.best, self.num_bad_epochs, self.cooldown_counter,
                                           self.mode == "max", self.threshold_mode == "rel", self.threshold)
        self.best, self.num_bad_epochs, self.cooldown_counter = float(best), int(bad), int(cooling)
        if self.num_bad_epochs > self.patience:
            self.cut(epoch)
        return self.lr(epoch + 1)

    def cut(self, epoch: int) -> None:
        """The rule's second half, once ``num_bad_epochs > patience`` after epoch ``epoch``: cut the
        rate (unless by less than ``eps``; recorded in :attr:`cuts`) and start the cooldown."""
        old = self._rate.current
        new = max(old * self.factor, self.min_lr)
        if old - new > self.eps:
            self._rate.set_from(epoch + 1, new)
            self.cuts.append({"epoch": epoch, "old_lr": old, "new_lr": new,
                              "reason": f"{self.monitor} has not improved for {self.num_bad_epochs} epochs "
                                        f"(best {self.best:.4g})"})
        self.cooldown_counter = self.cooldown
        self.num_bad_epochs = 0


def plateau_better(current, best, maximize, rel, threshold):
    """ReduceOnPlateau's "better": ``current < best * (1 - threshold)`` (min, rel), ``< best - threshold``
    (min, abs), ``> best * (1 + threshold)`` (max, rel), ``> best + threshold`` (max, abs); numbers or
    arrays (one per schedule), NaN never better."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(maximize, current > np.where(rel, best * (threshold + 1.0), best + threshold),
                        current < np.where(rel, best * (1.0 - threshold), best - threshold))


def plateau_watch(current, best, bad, cooling, maximize, rel, threshold):
    """The first half of ReduceOnPlateau's rule for one epoch, on numbers or on arrays (one entry
    per schedule: the race's :class:`PlateauGroup`): a better value becomes the best and clears
    the count of bad epochs, else the count grows; during a cooldown the count stays 0.
    Returns ``(best, bad, cooling)``; the caller cuts where ``bad > patience``."""
    better = plateau_better(current, best, maximize, rel, threshold)
    best = np.where(better, current, best)
    bad = np.where(better, 0, bad + 1)
    cool = cooling > 0
    return best, np.where(cool, 0, bad), np.where(cool, cooling - 1, cooling)


class PlateauGroup:
    """Many :class:`ReduceOnPlateau` schedules (one per model of a race) watched as ``[M]`` arrays.

    :meth:`observe` runs :func:`plateau_watch` for all members at once; only a member whose count
    of bad epochs passes its patience gets a Python call (:meth:`ReduceOnPlateau.cut`: its own
    rate and cuts), so each member's ``lr()`` and ``cuts`` are what observing it alone gives.
    :attr:`rates` are the members' rates now; :meth:`sync` writes the watched state back."""

    def __init__(self, members):
        self.members = list(members)
        m = self.members
        self.monitors = [s.monitor for s in m]
        self.maximize = np.array([s.mode == "max" for s in m])
        self.rel = np.array([s.threshold_mode == "rel" for s in m])
        self.threshold = np.array([s.threshold for s in m], dtype=np.float64)
        self.patience = np.array([s.patience for s in m], dtype=np.int64)
        self.best = np.array([s.best for s in m], dtype=np.float64)
        self.bad = np.array([s.num_bad_epochs for s in m], dtype=np.int64)
        self.cooling = np.array([s.cooldown_counter for s in m], dtype=np.int64)
        self.rates = np.array([s._rate.current for s in m], dtype=np.float64)
        self.last_epoch = -1

    def observe(self, epoch: int, metrics: dict, which=None) -> None:
        """Epoch ``epoch``'s metrics, ``metrics[name]`` an array over the members; ``which``: the
        members that observe it (bool array; None: all)."""
        current = np.array([metrics[name][i] for i, name in enumerate(self.monitors)], dtype=np.float64)
        best, bad, cooling = plateau_watch(current, self.best, self.bad, self.cooling, self.maximize, self.rel,
                                           self.threshold)
        if which is not None:
            best, bad, cooling = (np.where(which, new, old) for new, old in
                                  ((best, self.best), (bad, self.bad), (cooling, self.cooling)))
        self.best, self.bad, self.cooling = best, bad, cooling
        self.last_epoch = epoch
        for i in np.flatnonzero(self.bad > self.patience).tolist():  # rare: a cut (or a cut smaller than eps)
            s = self.members[i]
            s.best, s.num_bad_epochs, s.cooldown_counter = float(best[i]), int(bad[i]), int(cooling[i])
            s.cut(epoch)
            self.rates[i], self.bad[i], self.cooling[i] = s._rate.current, s.num_bad_epochs, s.cooldown_counter

    def sync(self) -> None:
        """Each member's ``best``, counters and last epoch as the group has them."""
        for i, s in enumerate(self.members):
            s.best, s.num_bad_epochs, s.cooldown_counter = float(self.best[i]), int(self.bad[i]), int(self.cooling[i])
            s.last_epoch = max(s.last_epoch, self.last_epoch)


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
    """Cosine annealing with plateau cuts: the cosine, cut when a period of training got worse::

        lr(e) = scale * (min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * e / T_max)))

    ``scale`` starts at 1.  After the metrics of epoch ``e`` are observed, if ``(e + 1)`` is a
    multiple of ``period`` and a previous period exists, the period's mean training loss and
    mean training accuracy (epochs ``e+1-period .. e``) are compared with the previous
    period's (``e+1-2 period .. e-period``): if the mean loss rose (``monitor`` 'loss' or
    'both') or the mean accuracy fell ('accuracy' or 'both'), ``scale *= factor`` from
    epoch ``e + 1`` on.  Every cut is recorded in :attr:`cuts`.  Equal means are no change.
    The loss/accuracy come from ``metrics[loss_key]`` / ``metrics[acc_key]``
    (``train_loss`` / ``train_acc``: the procedure watches the training loss and accuracy); each
    cut's reason names the keys it compared (``mean train_loss rose ...``).

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
    MONITORS = PLATEAU_MONITOR.choices
    #: no cut takes ``scale`` below this
    MIN_SCALE = 1e-12

    def __init__(self, max_lr: float, min_lr: float, T_max: int, period: int, factor: float = FACTOR.default,
                 monitor: str = PLATEAU_MONITOR.default, loss_key: str = "train_loss", acc_key: str = "train_acc"):
        self.cosine = cosine(max_lr, min_lr, T_max)
        self.period = PERIOD.check(period)
        FACTOR.check(factor)
        self.monitor = PLATEAU_MONITOR.check(monitor)
        self.factor, self.loss_key, self.acc_key = factor, loss_key, acc_key
        self.params = dict(max_lr=max_lr, min_lr=min_lr, T_max=int(T_max), period=self.period, factor=factor,
                           monitor=monitor)
        self._scale = _PiecewiseRate(1.0)
        self.observed = 0  # epochs observed so far
        self._loss, self._acc = _ExactSum(), _ExactSum()  # the current period, so far
        self._previous: tuple[_ExactSum, _ExactSum] | None = None  # the last complete period
        self.cuts: list[dict] = []

    def cut_reason(self, epoch: int, before, now, rose: bool, fell: bool) -> str:
        """Why a cut was made after epoch ``epoch``: the two periods and the means compared, named by
        the metrics' keys (``before``/``now``: the (loss, accuracy) sums of the two periods)."""
        p = self.period
        reasons = []
        if rose:
            reasons.append(f"mean {self.loss_key} rose {before[0].mean:.4g} -> {now[0].mean:.4g}")
        if fell:
            reasons.append(f"mean {self.acc_key} fell {before[1].mean:.4g} -> {now[1].mean:.4g}")
        return f"epochs {epoch + 1 - p}-{epoch} vs {epoch + 1 - 2 * p}-{epoch - p}: " + " and ".join(reasons)

    def watched(self) -> tuple[str, ...]:
        """The metrics (record keys) this schedule's cuts look at."""
        return {"loss": (self.loss_key,), "accuracy": (self.acc_key,)}.get(self.monitor, (self.loss_key, self.acc_key))

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
            rose = self.monitor in ("loss", "both") and now[0].total > before[0].total
            fell = self.monitor in ("accuracy", "both") and now[1].total < before[1].total
            new_scale = self._scale.current * self.factor
            if (rose or fell) and new_scale >= self.MIN_SCALE:
                old = self.lr(epoch + 1)
                self._scale.set_from(epoch + 1, new_scale)
                self.cuts.append({"epoch": epoch, "old_lr": old, "new_lr": self.lr(epoch + 1),
                                  "reason": self.cut_reason(epoch, before, now, rose, fell)})
        return self.lr(epoch + 1)


def _ulps(value: float) -> int:
    """``value * 2**1074`` as an integer (``value`` a finite float): :class:`_ExactSum`'s units."""
    n, d = value.as_integer_ratio()  # d is a power of two
    return n << (_ULP_SHIFT + 1 - d.bit_length())


def _two_sum(a, b):
    """Knuth's TwoSum on arrays: ``s = fl(a + b)`` and ``e`` with ``s + e = a + b`` exactly when nothing
    overflows (an overflow anywhere leaves ``e`` infinite or NaN)."""
    s = a + b
    t = s - a
    return s, (a - (s - t)) + (b - t)


class _ExactSums:
    """:class:`_ExactSum` for M members at once, as ``[M]`` arrays (:class:`CosineCutsGroup`'s sums).

    A finite sum is held exactly as an unevaluated pair ``hi + lo`` with ``hi = fl(sum)`` and
    ``lo = sum - hi`` (each value is added by TwoSum, which rounds nothing away; a pair that would
    need a third part is caught).  The pair of a sum is unique and rounding is monotonic, so two
    sums compare exactly as their pairs ``(hi, lo)`` do, in order.  A sum that no longer fits a
    pair (values far apart: more than about 106 bits from the largest to the last bit of the
    smallest, or a sum past float64's range) moves to :attr:`big` as the integer :class:`_ExactSum`
    holds, and that member alone takes a Python step per value from then on.  Infinities and NaN
    are flags, as in :class:`_ExactSum`."""

    def __init__(self, m: int):
        self.hi, self.lo = np.zeros(m), np.zeros(m)
        self.pos_inf, self.neg_inf, self.nan = np.zeros(m, bool), np.zeros(m, bool), np.zeros(m, bool)
        self.count = np.zeros(m, np.int64)
        self.big: dict[int, int] = {}  # member -> its sum * 2**1074, for the sums that left the pair

    def add(self, values: np.ndarray, which: np.ndarray) -> None:
        """Add ``values[i]`` to the sum of each member ``i`` where ``which[i]``."""
        x = np.where(which, values, 0.0)
        self.count += which
        finite = np.isfinite(x)
        if not finite.all():
            self.nan |= np.isnan(x)
            self.pos_inf |= x == math.inf
            self.neg_inf |= x == -math.inf
            x = np.where(finite, x, 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            s, e = _two_sum(self.hi, x)
            t, err = _two_sum(self.lo, e)  # exact only if err == 0: else the sum needs three parts
            hi, lo = _two_sum(s, t)  # the pair made unique again: hi = fl(hi + lo)
        spill = (err != 0) | ~np.isfinite(hi) | ~np.isfinite(lo)
        if self.big or spill.any():  # rare: those members' sums as Python integers
            for i in np.flatnonzero(spill).tolist():
                if i not in self.big:
                    self.big[i] = _ulps(float(self.hi[i])) + _ulps(float(self.lo[i]))
            for i in self.big:
                self.big[i] += _ulps(float(x[i]))
                hi[i] = lo[i] = 0.0
        self.hi, self.lo = hi, lo

    def scaled(self, i: int) -> int:
        """Member ``i``'s finite part of the sum, times 2**1074 (:attr:`_ExactSum.scaled`)."""
        if i in self.big:
            return self.big[i]
        hi, lo = float(self.hi[i]), float(self.lo[i])
        return (_ulps(hi) if hi else 0) + (_ulps(lo) if lo else 0)

    def exact(self, i: int) -> _ExactSum:
        """Member ``i``'s sum as the :class:`_ExactSum` that adding its values one by one gives."""
        out = _ExactSum()
        out.scaled, out.count = self.scaled(i), int(self.count[i])
        out.pos_inf, out.neg_inf, out.nan = bool(self.pos_inf[i]), bool(self.neg_inf[i]), bool(self.nan[i])
        return out

    def load(self, i: int, s: _ExactSum) -> None:
        """Member ``i``'s sum set to ``s``."""
        self.pos_inf[i], self.neg_inf[i], self.nan[i], self.count[i] = s.pos_inf, s.neg_inf, s.nan, s.count
        self.big.pop(i, None)
        try:
            hi = s.scaled / (1 << _ULP_SHIFT)  # correctly rounded: fl(sum)
            lo = (s.scaled - _ulps(hi)) / (1 << _ULP_SHIFT)
            if _ulps(hi) + _ulps(lo) == s.scaled:
                self.hi[i], self.lo[i] = hi, lo
                return
        except OverflowError:
            pass
        self.big[i], self.hi[i], self.lo[i] = s.scaled, 0.0, 0.0

    def move(self, to: "_ExactSums", rows: np.ndarray) -> None:
        """The members ``rows`` (a mask): their sums here become their sums in ``to``, and start again at 0 here."""
        for name in ("hi", "lo", "pos_inf", "neg_inf", "nan", "count"):  # (np.where: a scattered mask is slow)
            mine, theirs = getattr(self, name), getattr(to, name)
            if name in ("hi", "lo", "count") or mine.any() or theirs.any():
                setattr(to, name, np.where(rows, mine, theirs))
                setattr(self, name, np.where(rows, mine.dtype.type(0), mine))
        for i in [i for i in to.big if rows[i]]:
            del to.big[i]
        for i in [i for i in self.big if rows[i]]:
            to.big[i] = self.big.pop(i)


def _exceeds(a: _ExactSums, b: _ExactSums, rows: np.ndarray) -> np.ndarray:
    """``a.total > b.total`` (:attr:`_ExactSum.total`: exact, NaN never greater) for the members
    ``rows`` (a mask; False elsewhere)."""
    undefined = a.nan | (a.pos_inf & a.neg_inf) | b.nan | (b.pos_inf & b.neg_inf)
    rank_a = a.pos_inf.astype(np.int8) - a.neg_inf  # +1: +inf, -1: -inf, 0: finite
    rank_b = b.pos_inf.astype(np.int8) - b.neg_inf
    finite = (rank_a == 0) & (rank_b == 0)
    out = rows & ~undefined & ((rank_a > rank_b) | (finite & ((a.hi > b.hi) | ((a.hi == b.hi) & (a.lo > b.lo)))))
    for i in set(a.big) | set(b.big):  # rare: sums held as integers
        if rows[i] and finite[i] and not undefined[i]:
            out[i] = a.scaled(i) > b.scaled(i)
    return out


def _rows_by(keys: list) -> list:
    """``[(key, rows)]`` for each distinct key (rows: an index array; None where all members share it)."""
    distinct = list(dict.fromkeys(keys))
    if len(distinct) == 1:
        return [(distinct[0], None)]
    return [(k, np.array([i for i, x in enumerate(keys) if x == k], dtype=np.int64)) for k in distinct]


def _column(metrics: dict, keys: list, m: int) -> np.ndarray:
    """Each member's value of its metric (``keys`` from :func:`_rows_by`) from ``metrics[name]`` ``[M]``."""
    for key, _ in keys:
        if key not in metrics:
            raise ValueError(f"metrics: need {key!r}, got keys {sorted(metrics)}")
    if len(keys) == 1:
        return np.asarray(metrics[keys[0][0]], dtype=np.float64)
    out = np.empty(m)
    for key, rows in keys:
        out[rows] = np.asarray(metrics[key], dtype=np.float64)[rows]
    return out


class CosineCutsGroup:
    """Many :class:`CosineWithPlateauCuts` schedules (one per model of a race) as ``[M]`` arrays.

    :meth:`observe` adds every member's training loss and accuracy to its period's exact sums
    (:class:`_ExactSums`) and, for the members whose period ends, compares them with the previous
    period's, all at once; only a member that is cut gets a Python call (its own rate, and its
    :attr:`~CosineWithPlateauCuts.cuts` with the reason its own ``observe`` writes), so each
    member's ``lr()`` and ``cuts`` are what observing it alone gives.  :attr:`rates` are the
    members' rates for the next epoch (``scale * cosine``; the cosine is asked once per distinct
    ``T_max``); :meth:`sync` writes the rest back (``observed``, the period sums)."""

    def __init__(self, members):
        self.members = list(members)
        m = self.members
        self.period = np.array([s.period for s in m], dtype=np.int64)
        self.factor = np.array([s.factor for s in m], dtype=np.float64)
        self.on_loss = np.array([s.monitor in ("loss", "both") for s in m])
        self.on_acc = np.array([s.monitor in ("accuracy", "both") for s in m])
        self.keys = (_rows_by([s.loss_key for s in m]), _rows_by([s.acc_key for s in m]))
        # the cosine's numbers as CosineWithPlateauCuts.cosine computes them, in the same order
        self.min_lr = np.array([s.params["min_lr"] for s in m], dtype=np.float64)
        self.half_span = 0.5 * (np.array([s.params["max_lr"] for s in m], dtype=np.float64) - self.min_lr)
        T, self.T_index = np.unique([s.params["T_max"] for s in m], return_inverse=True)
        self.T_values = [int(t) for t in T]
        self.scale = np.array([s._scale.current for s in m], dtype=np.float64)
        self.observed = np.array([s.observed for s in m], dtype=np.int64)
        self.now = (_ExactSums(len(m)), _ExactSums(len(m)))  # the current period's loss and accuracy
        self.before = (_ExactSums(len(m)), _ExactSums(len(m)))  # the last complete period's
        self.has_before = np.array([s._previous is not None for s in m], dtype=bool)
        for i, s in enumerate(m):
            if s.observed:  # a member that has seen epochs already
                self.now[0].load(i, s._loss)
                self.now[1].load(i, s._acc)
                if s._previous is not None:
                    self.before[0].load(i, s._previous[0])
                    self.before[1].load(i, s._previous[1])
        self.next_epoch = int(self.observed.max(initial=0))
        self._unsynced = np.zeros(len(m), dtype=bool)  # members that observed an epoch since the last sync

    def rates_at(self, epoch: int) -> np.ndarray:
        """Every member's ``lr(epoch)`` for an epoch after the last one observed (its scale now)."""
        cos = np.array([math.cos(math.pi * epoch / T) for T in self.T_values])[self.T_index]
        return self.scale * (self.min_lr + self.half_span * (1 + cos))

    @property
    def rates(self) -> np.ndarray:
        """Every member's rate for the epoch after the last one observed."""
        return self.rates_at(self.next_epoch)

    def observe(self, epoch: int, metrics: dict, which=None) -> None:
        """Epoch ``epoch``'s metrics, ``metrics[name]`` an array over the members; ``which``: the
        members that observe it (bool array; None: all)."""
        M = len(self.members)
        which = np.ones(M, dtype=bool) if which is None else np.asarray(which, dtype=bool)
        late = which & (self.observed != epoch)
        if late.any():
            i = int(np.flatnonzero(late)[0])
            raise ValueError(f"epoch: metrics must be observed in order, expected epoch {int(self.observed[i])}, "
                             f"got {epoch!r}")
        loss, acc = _column(metrics, self.keys[0], M), _column(metrics, self.keys[1], M)
        self.observed += which
        self.next_epoch = epoch + 1
        self._unsynced |= which
        self.now[0].add(loss, which)
        self.now[1].add(acc, which)
        ends = which & ((epoch + 1) % self.period == 0)
        if not ends.any():
            return
        compare = ends & self.has_before
        rose = self.on_loss & _exceeds(self.now[0], self.before[0], compare)
        fell = self.on_acc & _exceeds(self.before[1], self.now[1], compare)
        new_scale = self.scale * self.factor
        for i in np.flatnonzero((rose | fell) & (new_scale >= CosineWithPlateauCuts.MIN_SCALE)).tolist():
            self._cut(i, epoch, bool(rose[i]), bool(fell[i]), float(new_scale[i]))  # rare: a cut
        self.now[0].move(self.before[0], ends)
        self.now[1].move(self.before[1], ends)
        self.has_before |= ends

    def _cut(self, i: int, epoch: int, rose: bool, fell: bool, new_scale: float) -> None:
        """Member ``i``'s cut after epoch ``epoch``, recorded as :meth:`CosineWithPlateauCuts.observe` does."""
        s = self.members[i]
        now = (self.now[0].exact(i), self.now[1].exact(i))
        before = (self.before[0].exact(i), self.before[1].exact(i))
        old = s.lr(epoch + 1)
        s._scale.set_from(epoch + 1, new_scale)
        s.cuts.append({"epoch": epoch, "old_lr": old, "new_lr": s.lr(epoch + 1),
                       "reason": s.cut_reason(epoch, before, now, rose, fell)})
        self.scale[i] = new_scale

    def sync(self) -> None:
        """Each member's count of epochs observed and its period sums as the group has them (its
        rate and cuts are written when they change)."""
        for i in np.flatnonzero(self._unsynced).tolist():  # (a stopped member is written once)
            s = self.members[i]
            s.observed = int(self.observed[i])
            s._loss, s._acc = self.now[0].exact(i), self.now[1].exact(i)
            s._previous = (self.before[0].exact(i), self.before[1].exact(i)) if self.has_before[i] else None
        self._unsynced[:] = False


# ---------------------------------------------------------------------------- the registry
@dataclass
class ScheduleSpec(Declarations):
    """A schedule by name: ``build(lr, epochs, **params) -> Schedule`` and its parameters
    (:class:`lrlab.params.Param`, one declaration each, in resolution order).

    ``defaults``, ``ranges``, ``kinds``, ``choices`` and ``derive`` are read from ``params``."""

    name: str
    build: Callable[..., Any]  # build(lr, epochs, **params) -> Schedule (params resolved)
    params: tuple = ()
    description: str = ""
    formula: str = ""
    reactive: bool = False

    def __post_init__(self):
        self._index_params()

    @property
    def derive(self) -> dict[str, Callable[[float, int, dict], Any]]:
        """name -> ``f(lr, epochs, resolved_so_far)`` for every parameter whose default is None."""
        return {p.name: p.derive for p in self.params if p.default is None}

    def resolve(self, lr: float, epochs: int, **params) -> dict[str, Any]:
        """Every parameter with a value: given ones, else the default, else derived from lr/epochs."""
        unknown = set(params) - set(self._by_name)
        if unknown:
            allowed = ", ".join(self._by_name) or "none"
            raise ValueError(f"{', '.join(sorted(unknown))}: not a parameter of schedule {self.name}; "
                             f"allowed: {allowed}")
        out = {}
        for p in self.params:
            value = params.get(p.name)
            if value is None:
                value = p.default if p.default is not None else p.derive(lr, epochs, out)
            out[p.name] = value
        return out


_LR_PAIR = (MAX_LR, MIN_LR)

SCHEDULES: dict[str, ScheduleSpec] = {
    "constant": ScheduleSpec(
        "constant", lambda lr, epochs: Schedule(constant(lr), "constant", {"lr": lr}), (),
        "The learning rate never changes.", "lr(e) = lr"),
    "step_decay": ScheduleSpec(
        "step_decay",
        lambda lr, epochs, step_size, gamma: Schedule(step_decay(lr, step_size, gamma), "step_decay",
                                                      dict(lr=lr, step_size=step_size, gamma=gamma)),
        (STEP_SIZE, GAMMA),
        "Multiply the rate by gamma every step_size epochs (a staircase).",
        "lr(e) = lr * gamma^floor(e / step_size)"),
    "multistep": ScheduleSpec(
        "multistep",
        lambda lr, epochs, milestones, gamma: Schedule(multistep(lr, milestones, gamma), "multistep",
                                                       dict(lr=lr, milestones=tuple(milestones), gamma=gamma)),
        (MILESTONES, GAMMA),
        "Multiply the rate by gamma at each milestone epoch.",
        "lr(e) = lr * gamma^(number of milestones <= e)"),
    "exponential": ScheduleSpec(
        "exponential",
        lambda lr, epochs, gamma: Schedule(exponential(lr, gamma), "exponential", dict(lr=lr, gamma=gamma)),
        (EXP_GAMMA,),
        "Multiply the rate by gamma every epoch (default: reach lr/100 at the end of the budget).",
        "lr(e) = lr * gamma^e"),
    "cosine": ScheduleSpec(
        "cosine",
        lambda lr, epochs, max_lr, min_lr, T_max: Schedule(cosine(max_lr, min_lr, T_max), "cosine",
                                                           dict(max_lr=max_lr, min_lr=min_lr, T_max=T_max)),
        (*_LR_PAIR, T_MAX),
        "Cosine annealing from max_lr down to min_lr over T_max epochs.",
        "lr(e) = min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi e / T_max))"),
    "cosine_warm_restarts": ScheduleSpec(
        "cosine_warm_restarts",
        lambda lr, epochs, max_lr, min_lr, T_0, T_mult: Schedule(
            cosine_warm_restarts(max_lr, min_lr, T_0, T_mult), "cosine_warm_restarts",
            dict(max_lr=max_lr, min_lr=min_lr, T_0=T_0, T_mult=T_mult)),
        (*_LR_PAIR, T_0_PARAM, T_MULT),
        "Cosine cycles that restart at max_lr; each cycle T_mult times longer (SGDR).",
        "lr(e) = min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi T_cur / T_i)),  T_i = T_0 T_mult^i"),
    "warmup_cosine": ScheduleSpec(
        "warmup_cosine",
        lambda lr, epochs, max_lr, min_lr, warmup, T_max: Schedule(
            warmup_cosine(max_lr, min_lr, warmup, T_max), "warmup_cosine",
            dict(max_lr=max_lr, min_lr=min_lr, warmup=warmup, T_max=T_max)),
        (*_LR_PAIR, T_MAX, WARMUP),
        "Rise linearly from min_lr to max_lr over warmup epochs, then cosine down to min_lr at T_max.",
        "lr(e) = min_lr + (max_lr - min_lr) e / warmup, then cosine over T_max - warmup epochs"),
    "one_cycle": ScheduleSpec(
        "one_cycle",
        lambda lr, epochs, max_lr, total_steps, pct_start, div_factor, final_div_factor: Schedule(
            one_cycle(max_lr, total_steps, pct_start, div_factor, final_div_factor), "one_cycle",
            dict(max_lr=max_lr, total_steps=total_steps, pct_start=pct_start, div_factor=div_factor,
                 final_div_factor=final_div_factor)),
        (MAX_LR, TOTAL_STEPS, PCT_START, DIV_FACTOR, FINAL_DIV_FACTOR),
        "Warm up from max_lr/div_factor to max_lr over pct_start of the run, then anneal far below.",
        "cos-anneal max_lr/div -> max_lr over pct_start*total, then -> max_lr/(div*final_div)"),
    "linear": ScheduleSpec(
        "linear",
        lambda lr, epochs, start_factor, end_factor, total_iters: Schedule(
            linear(lr, start_factor, end_factor, total_iters), "linear",
            dict(lr=lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)),
        (START_FACTOR, END_FACTOR, TOTAL_ITERS),
        "Change the rate linearly from lr*start_factor to lr*end_factor over total_iters epochs.",
        "lr(e) = lr (start + (end - start) min(e, total_iters) / total_iters)"),
    "reduce_on_plateau": ScheduleSpec(
        "reduce_on_plateau",
        lambda lr, epochs, **p: ReduceOnPlateau(lr, **p),
        (MONITOR, MODE, FACTOR, PATIENCE, THRESHOLD, THRESHOLD_MODE, COOLDOWN, FLOOR, PLATEAU_EPS),
        "Cut the rate by factor when the monitored metric has not improved for patience epochs.",
        "if no improvement for > patience epochs: lr <- max(lr * factor, min_lr)",
        reactive=True),
    "cosine_plateau_cuts": ScheduleSpec(
        "cosine_plateau_cuts",
        lambda lr, epochs, **p: CosineWithPlateauCuts(**p),
        (*_LR_PAIR, T_MAX, PERIOD, FACTOR, PLATEAU_MONITOR),
        "Cosine annealing with plateau cuts: every period epochs, if the mean training loss rose or the "
        "mean training accuracy fell against the previous period, multiply the rate by factor.",
        "lr(e) = scale * (min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi e / T_max))),  scale *= factor on a plateau",
        reactive=True),
}


def get(name: str) -> ScheduleSpec:
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    return SCHEDULES[name]


def make_schedule(name: str, lr: float, epochs: int, **params):
    """The schedule ``name`` for a run with peak rate ``lr`` and ``epochs`` epochs (None -> derived)."""
    spec = get(name)
    LR.check(lr)
    epochs = check_whole("epochs", epochs, 1, MAX_EPOCHS)
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
