"""Exercise checks: a learner calls ``lrlab.exercises.check("03-1", answer)`` and reads "right"
or a hint that does not give the answer away.

Each notebook's exercises live in their own module here (``n01.py`` ... ``n06.py``), each
registering :class:`Exercise` objects with :func:`register`. A notebook's solution cells (code
cells tagged ``solution``) call :func:`check` with the answer; :mod:`lrlab.notebooks` writes a
learner's copy without them (a cell asking for the answer instead) and a teacher's copy with
them (``lrlab notebooks --student DIR --teacher DIR``).

>>> check("00-1", 2)
right: ...
True
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

#: what check prints before a right answer's note, and before a hint
RIGHT, NOT_YET = "right", "not yet"


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``key`` ("03-1": notebook 03, exercise 1), the ``question`` in one line,
    ``accepts(answer) -> bool``, a ``hint`` that does not give the answer, the ``solution`` (the
    teacher's words; never printed by :func:`check`) and a ``note`` said with a right answer."""
    key: str
    question: str
    accepts: Callable[[Any], bool]
    hint: str
    solution: str
    note: str = ""


_EXERCISES: dict[str, Exercise] = {}
_LOADED = False


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` (its key must be new)."""
    if exercise.key in _EXERCISES and _EXERCISES[exercise.key] is not exercise:
        raise ValueError(f"exercise {exercise.key!r} is registered twice")
    _EXERCISES[exercise.key] = exercise
    return exercise


def exercises() -> dict[str, Exercise]:
    """Every exercise, by key (each notebook's module loaded once)."""
    global _LOADED
    if not _LOADED:
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("n"):
                importlib.import_module(f"{__name__}.{info.name}")
        _LOADED = True
    return dict(sorted(_EXERCISES.items()))


def check(key, answer, *, quiet: bool = False) -> bool:
    """Print whether ``answer`` is right for exercise ``key`` ("right: ..." or "not yet: <hint>")
    and return it. Never raises: an unknown key or an answer of the wrong kind gets a message."""
    table = exercises()
    ex = table.get(key) if isinstance(key, str) else None
    if ex is None:
        if not quiet:
            print(f"no exercise {str(key)[:40]!r}: the exercises are {', '.join(table)}")
        return False
    try:
        ok = bool(ex.accepts(answer))
    except Exception:  # an answer of another kind (text for a number, ...) is just not right
        ok = False
    if not quiet:
        print(f"{RIGHT}: {ex.note}" if ok else f"{NOT_YET}: {ex.hint}")
    return ok


def number_near(target: float, rel: float = 0.05, abs_tol: float = 0.0) -> Callable[[Any], bool]:
    """An ``accepts`` for a number within ``rel`` (relative) or ``abs_tol`` of ``target``."""
    def accepts(answer) -> bool:
        x = float(answer)
        return abs(x - target) <= max(abs_tol, rel * abs(target))
    return accepts


def one_of(*choices: str) -> Callable[[Any], bool]:
    """An ``accepts`` for a word: any of ``choices``, case and surrounding spaces ignored."""
    wanted = {c.strip().lower() for c in choices}
    return lambda answer: isinstance(answer, str) and answer.strip().lower() in wanted
