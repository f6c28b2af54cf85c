"""Learning-rate schedules (foundation version: constant and cosine; the rest arrive with issue 4).

CONTRACT (the engine and the race rely on it):

* ``SCHEDULES[name] -> ScheduleSpec`` with ``defaults``/``ranges``/``description``/``formula``.
* ``make_schedule(name, lr, epochs, **params) -> Schedule``: ``lr`` is the configured
  (peak) learning rate, ``epochs`` the epoch budget (the default ``T_max``).
* ``Schedule.lr(epoch) -> float``: the learning rate used during epoch ``epoch`` (0-based).
* ``Schedule.observe(epoch, metrics) -> float``: called after epoch ``epoch`` with
  ``{'train_loss', 'train_acc', 'test_loss', 'test_acc'}``; reactive schedules may cut
  the rate here; returns ``lr(epoch + 1)``.
* ``Schedule.cuts``: list of ``{'epoch', 'old_lr', 'new_lr', 'reason'}`` (reactive ones).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable


def constant(lr: float) -> Callable[[int], float]:
    """lr(epoch) = lr"""
    if not lr > 0:
        raise ValueError(f"lr: must be > 0, got {lr!r}")
    return lambda epoch: lr


def cosine(max_lr: float, min_lr: float, T_max: int) -> Callable[[int], float]:
    """lr(e) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * e / T_max))"""
    if not T_max >= 1:
        raise ValueError(f"T_max: must be >= 1, got {T_max!r}")
    if not 0 <= min_lr <= max_lr:
        raise ValueError(f"min_lr: must be in [0, max_lr={max_lr}], got {min_lr!r}")
    return lambda e: min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * e / T_max))


class Schedule:
    """A pure schedule ``f(epoch)`` behind the engine's interface (observe does nothing)."""

    def __init__(self, fn: Callable[[int], float], name: str = ""):
        self.fn, self.name, self.cuts = fn, name, []

    def lr(self, epoch: int) -> float:
        return float(self.fn(epoch))

    def observe(self, epoch: int, metrics: dict) -> float:
        return self.lr(epoch + 1)


@dataclass
class ScheduleSpec:
    name: str
    build: Callable[..., Schedule]  # build(lr, epochs, **params) -> Schedule
    defaults: dict[str, Any]
    ranges: dict[str, tuple] = field(default_factory=dict)
    description: str = ""
    formula: str = ""
    reactive: bool = False


SCHEDULES: dict[str, ScheduleSpec] = {
    "constant": ScheduleSpec("constant", lambda lr, epochs: Schedule(constant(lr), "constant"), {},
                             description="The learning rate never changes.", formula="lr(e) = lr"),
    "cosine": ScheduleSpec(
        "cosine",
        lambda lr, epochs, min_lr=None, T_max=None: Schedule(
            cosine(lr, lr * 0.01 if min_lr is None else min_lr, epochs if T_max is None else T_max), "cosine"),
        {"min_lr": None, "T_max": None},
        description="Cosine annealing from lr down to min_lr over T_max epochs.",
        formula="lr(e) = min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi e / T_max))"),
}


def make_schedule(name: str, lr: float, epochs: int, **params) -> Schedule:
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    return SCHEDULES[name].build(lr, epochs, **params)
