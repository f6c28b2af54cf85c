"""How many CPU threads torch's intra-op pool uses while lrlab trains: chosen from the work.

torch starts with one thread per core. For lrlab's small networks that is a trap on a
busy machine (a classroom JupyterHub node, a laptop running a browser): the threads
wait for each other at every one of the many tiny operations, and training gets many
times slower than with one thread (``lrlab bench --only load`` measures it). More
threads only help when one step has enough arithmetic to share out.

:func:`choose` turns the size of one optimizer step (rows x parameters x models) into a
thread count: 1 below :data:`WORK_PER_THREAD`, then one more thread per such amount, never
more than the cores that other work leaves idle (:func:`idle_cores`: on a 2-core machine with
one busy process, a second thread makes even a 2-128-128-2 net on 2048 rows 6x slower). The learner or teacher can override it, most specific first:

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
import math
import numbers
import os
import threading

import torch

#: the most threads an override may ask for
MAX_THREADS = 1024

#: work per optimizer step (rows x parameters x models) that one thread handles before a second one
#: pays off. Measured side by side on a quiet 2-core machine (``python -m lrlab.bench.load --tune``,
#: full batch, epochs/s with 2 threads / with 1): the default 2-16-16-2 on 410 rows (0.15 M) 0.76-1.00x,
#: 0.9-3.5 M 0.77-1.12x (noise), 2-64-64-2 on 820 rows (3.7 M) 1.29x, 5.5-9.2 M 1.33-1.51x,
#: 35-540 M 1.42-1.77x. Under load a second thread loses 6-50x at every size: see :func:`idle_cores`.
WORK_PER_THREAD = 4_000_000

_override: int | None = None
_lock = threading.Lock()
_depth = 0  # engine_threads blocks running now, in all threads
_original: int | None = None  # the calling thread's count when the first of them began
_last_set: int | None = None  # the last count lrlab set (torch's default for new threads)


def _cgroup_cpus(root: str = "/sys/fs/cgroup") -> int | None:
    """The CPU quota of this container (cgroup v2 ``cpu.max``, v1 ``cfs_quota_us``) in whole cores, or None."""
    try:
        with open(os.path.join(root, "cpu.max")) as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as fh:
            quota = int(fh.read())
        with open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as fh:
            period = int(fh.read())
        return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def cores() -> int:
    """The cores this process may run on: its CPU affinity (else the machine's count), capped by a
    container's CPU quota (a JupyterHub pod limited to 2 CPUs on a 64-core node has 2)."""
    try:
        n = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        n = max(1, os.cpu_count() or 1)
    quota = _cgroup_cpus()
    return min(n, quota) if quota else n


def idle_cores() -> int:
    """Of :func:`cores`, those other work leaves free: minus our share of the machine's 1-minute load
    average (rounded), at least 1. A second thread that has to share a core with a busy process
    makes the engine 6-50x slower (``python -m lrlab.bench.load --tune`` and the module doc)."""
    n = cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return n
    machine = max(1, os.cpu_count() or 1)
    return max(1, n - round(load * min(1.0, n / machine)))


def torch_default() -> int:
    """The count torch starts with when nothing sets it: one per core (``OMP_NUM_THREADS`` if set)."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return cores()


def _check(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_THREADS:
        raise ValueError(f"{what}: must be a whole number of threads in [1, {MAX_THREADS}], got {n!r}")
    return int(n)


def set_override(n: int | None) -> None:
    """Use ``n`` threads for all lrlab training in this process (``None``: choose from the work again)."""
    global _override
    _override = None if n is None else _check(n, "threads")


def get_override() -> int | None:
    """The process-wide count set by :func:`set_override` (None: none set)."""
    return _override


def choose(rows: int, n_params: int, models: int = 1) -> int:
    """Threads for a step over ``rows`` samples of ``models`` networks of ``n_params`` parameters each:
    one per :data:`WORK_PER_THREAD` of work, never more than the :func:`idle_cores`."""
    work = max(1, int(rows)) * max(1, int(n_params)) * max(1, int(models))
    return max(1, min(idle_cores(), work // WORK_PER_THREAD + 1))


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
            raise ValueError(f"LRLAB_THREADS: must be a whole number of threads in [1, {MAX_THREADS}], "
                             f"got {env[:40]!r} (unset it to let lrlab choose)") from None
    return choose(rows, n_params, models)


@contextlib.contextmanager
def engine_threads(n: int):
    """Run the block with ``n`` intra-op threads and put the previous count back afterwards.

    torch's count is per thread in practice (OpenMP: ``torch.set_num_threads`` changes the calling
    thread's count, and the default that threads touching torch for the first time start with),
    so each block restores its own thread's previous count when it ends -- nested blocks unwind
    like a stack -- and when the last block of the process ends, the default that new threads
    inherit is put back to what it was before the first one began. A panel's trainer thread
    thus never changes the count of the learner's own torch code in the main thread.
    """
    global _depth, _original, _last_set
    n = _check(n, "threads")
    previous = torch.get_num_threads()
    with _lock:
        if _depth == 0:
            _original, _last_set = previous, None
        _depth += 1
        if previous != n:
            torch.set_num_threads(n)
            _last_set = n
    try:
        yield n
    finally:
        with _lock:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)
                _last_set = previous
            _depth -= 1
            if _depth == 0:
                if _last_set is not None and _last_set != _original:
                    torch.set_num_threads(_original)  # the default new threads inherit, as before
                _original = _last_set = None
