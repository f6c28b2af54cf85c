"""How many CPU threads torch's intra-op pool uses while lrlab trains: chosen from the work.

torch starts with one thread per core. For lrlab's small networks that is a trap on a
busy machine (a classroom JupyterHub node, a laptop running a browser): the threads
wait for each other at every one of the many tiny operations, and training gets many
times slower than with one thread (``lrlab bench --only load`` measures it). More
threads only help when one step has enough arithmetic to share out.

:func:`choose` turns the size of one optimizer step (rows x parameters x models) into a
thread count: 1 below :data:`WORK_PER_THREAD`, then one more thread per such amount, never
more than the cores. The learner or teacher can override it, most specific first:

1. ``threads=`` where an API takes it (``lrlab train --threads N``, the panels' ``threads``);
2. :func:`set_override` (``lrlab.threads.set_override(2)``) for the whole process;
3. the ``LRLAB_THREADS`` environment variable;
4. otherwise :func:`choose`.

:func:`engine_threads` applies the count for the duration of a ``with`` block and puts
torch's previous setting back afterwards, so lrlab never changes what the learner's own
torch code runs with.
"""
from __future__ import annotations

import contextlib
import os
import threading

import torch

#: multiply-adds per optimizer step that one thread handles before a second one pays off
WORK_PER_THREAD = 4_000_000

_override: int | None = None
_lock = threading.Lock()
_depth = 0
_saved = None


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1024:
        raise ValueError(f"{what}: must be an integer in [1, 1024], got {n!r}")
    return n


def set_override(n: int | None) -> None:
    """Use ``n`` threads for all lrlab training in this process (``None``: choose from the work again)."""
    global _override
    _override = None if n is None else _check(n, "threads")


def choose(rows: int, n_params: int, models: int = 1) -> int:
    """Threads for a step over ``rows`` samples of ``models`` networks of ``n_params`` parameters each."""
    work = max(1, int(rows)) * max(1, int(n_params)) * max(1, int(models))
    return max(1, min(_cores(), work // WORK_PER_THREAD + 1))


def resolve(threads: int | None = None, rows: int = 1, n_params: int = 1, models: int = 1) -> int:
    """The thread count to use: ``threads`` if given, else the override, ``LRLAB_THREADS``, :func:`choose`."""
    if threads is not None:
        return _check(threads, "threads")
    if _override is not None:
        return _override
    env = os.environ.get("LRLAB_THREADS", "").strip()
    if env:
        try:
            return _check(int(env), "LRLAB_THREADS")
        except ValueError:
            raise ValueError(f"LRLAB_THREADS: must be an integer in [1, 1024], got {env!r}") from None
    return choose(rows, n_params, models)


@contextlib.contextmanager
def engine_threads(n: int):
    """Run the block with ``n`` intra-op threads; torch's previous count is restored after the
    outermost block (nested and concurrent blocks, e.g. two panels, share one setting)."""
    global _depth, _saved
    n = _check(n, "threads")
    with _lock:
        if _depth == 0:
            _saved = torch.get_num_threads()
        _depth += 1
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    try:
        yield n
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None and torch.get_num_threads() != _saved:
                torch.set_num_threads(_saved)
