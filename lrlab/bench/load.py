"""The engine's speed with a competing CPU load, at lrlab's chosen thread count vs torch's default.

torch starts with one intra-op thread per core. On a busy machine (a classroom JupyterHub node,
a laptop running a browser) lrlab's small networks then run many times slower than with one
thread: every tiny operation waits for a thread that the other work holds. :mod:`lrlab.threads`
chooses the count from the work (1 for the default net). The rows here train the default
moons config (2-16-16-2, 410 rows, full batch, Adam) for 300 epochs:

* with a competing load (one busy-loop process per core, started and killed here): epochs/s
  with the chosen count vs with torch's default (one per core);
* the same without the load (on a quiet machine the two are about equal; the row says how much
  of the CPUs other processes used meanwhile, as the machine may not be quiet);

measured side by side, alternating, best of the repeats. Under load the slow side is timed for
at most a few seconds (its rate is the epochs it finished in that time), so the row stays short.

``python -m lrlab.bench.load --tune`` prints the side-by-side figures that set
:data:`lrlab.threads.WORK_PER_THREAD`: epochs/s with 1 and 2 threads for networks from the
default one to large ones, on a quiet machine.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

from . import Row
from .. import threads
from ..train import TrainConfig, Trainer

CONFIG = TrainConfig()  # the default: moons, 512 samples (410 training rows), 2-16-16-2 tanh, Adam, full batch
EPOCHS = 300
#: at most this many seconds per timed run (the slow side under load takes ~20 ms an epoch)
RUN_CAP_S = 2.5

_BUSY = "while True:\n    pass\n"


@contextlib.contextmanager
def cpu_load(processes: int):
    """``processes`` busy-loop Python processes for the duration of the block (killed after it)."""
    procs = []
    try:
        for _ in range(processes):
            procs.append(subprocess.Popen([sys.executable, "-c", _BUSY], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.2)  # let them reach the loop
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def work_of(config: TrainConfig) -> tuple[int, int]:
    """(rows per step, parameters) of ``config``'s network, as the engine passes them to :mod:`lrlab.threads`."""
    rows, n_params, _ = Trainer(config.replace(max_epochs=1)).engine.work()  # what Trainer.threads() uses
    return rows, n_params


def engine_rate(n_threads: int, epochs: int = EPOCHS, config: TrainConfig = CONFIG,
                cap_s: float | None = RUN_CAP_S) -> float:
    """Epochs/s of the engine (the loop of :func:`lrlab.train.train`) on ``config`` with ``n_threads``
    intra-op threads: ``epochs`` epochs, or the epochs finished in ``cap_s`` seconds."""
    trainer = Trainer(config.replace(max_epochs=epochs, patience=None, target_accuracy=None))
    with threads.engine_threads(n_threads):
        trainer.epoch()  # warm-up (first-call allocations)
        done = 0
        start = time.perf_counter()
        deadline = None if cap_s is None else start + cap_s
        while not trainer.done and done < epochs - 1:
            trainer.epoch()
            done += 1
            if deadline is not None and time.perf_counter() > deadline:
                break
        return done / (time.perf_counter() - start)


def measure(epochs: int = EPOCHS, repeats: int = 2, load: int | None = None, config: TrainConfig = CONFIG,
            cap_s: float | None = RUN_CAP_S) -> dict:
    """Side by side, alternating, best of ``repeats``: epochs/s at the chosen thread count and at
    torch's default (one per core), with ``load`` busy processes (default: one per core) and without."""
    rows, n_params = work_of(config)
    chosen = threads.resolve(None, rows, n_params, 1)
    default = threads.torch_default()
    load = threads.cores() if load is None else load

    def pair():
        a, b = [], []
        for _ in range(repeats):
            a.append(engine_rate(chosen, epochs, config, cap_s))
            b.append(engine_rate(default, epochs, config, cap_s))
        return max(a), max(b)

    (quiet_chosen, quiet_default), others = others_share(pair)
    with cpu_load(load):
        load_chosen, load_default = pair()
    return {"chosen_threads": chosen, "default_threads": default, "load_processes": load, "epochs": epochs,
            "rows": rows, "params": n_params,
            "quiet_chosen": quiet_chosen, "quiet_default": quiet_default,
            "load_chosen": load_chosen, "load_default": load_default, "others_without_load": others}


def rows(quick: bool):
    m = measure(EPOCHS, 1 if quick else 2)
    c, d = m["chosen_threads"], m["default_threads"]
    what = f"{m['rows']} rows x {m['params']} params, {m['epochs']} epochs"
    yield Row(f"load: engine under {m['load_processes']}-process CPU load, {c} vs {d} threads",
              m["load_chosen"], m["load_default"], "epochs/s", target=1.0 if c != d else None,
              note=f"chosen vs torch default (one per core); {what}")
    others = m["others_without_load"]
    busy = "" if others is None else f"; other processes used {others:.0%} of the CPUs meanwhile"
    yield Row(f"load: engine without the added load, {c} vs {d} threads", m["quiet_chosen"], m["quiet_default"],
              "epochs/s", target=0.9 if c != d else None, note=f"about equal on a quiet machine{busy}")
    yield Row(f"load: engine with {c} thread(s), under load vs without", m["load_chosen"], m["quiet_chosen"],
              "epochs/s", note="the slowdown the load causes at the chosen count")


# --------------------------------------------------------------------------- tuning WORK_PER_THREAD
#: (label, config): from the default net to large ones, full batch
TUNE_CONFIGS = [
    ("2-16-16-2, 410 rows (default)", CONFIG),
    ("2-32-32-2, 820 rows", CONFIG.replace(n_samples=1024, hidden=(32, 32))),
    ("2-64-64-2, 410 rows", CONFIG.replace(hidden=(64, 64))),
    ("2-32-32-2, 2048 rows", CONFIG.replace(n_samples=2560, hidden=(32, 32))),
    ("2-128-128-2, 205 rows", CONFIG.replace(n_samples=256, hidden=(128, 128))),
    ("2-64-64-2, 820 rows", CONFIG.replace(n_samples=1024, hidden=(64, 64))),
    ("2-256-256-2, batch 32", CONFIG.replace(n_samples=2560, hidden=(256, 256), batch_size=32)),
    ("2-64-64-2, 1230 rows", CONFIG.replace(n_samples=1536, hidden=(64, 64))),
    ("2-128-128-2, 410 rows", CONFIG.replace(hidden=(128, 128))),
    ("2-64-64-2, 2048 rows", CONFIG.replace(n_samples=2560, hidden=(64, 64))),
    ("2-256-256-2, batch 128", CONFIG.replace(n_samples=2560, hidden=(256, 256), batch_size=128)),
    ("2-128-128-2, 2048 rows", CONFIG.replace(n_samples=2560, hidden=(128, 128))),
    ("2-256-256-2, 2048 rows", CONFIG.replace(n_samples=2560, hidden=(256, 256))),
    ("2-256-256-256-2, 4096 rows", CONFIG.replace(n_samples=5120, hidden=(256, 256, 256))),
]


def _machine_busy_s() -> float | None:
    """CPU seconds all processes of the machine have used so far (Linux ``/proc/stat``), else None."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def others_share(fn):
    """Run ``fn()``; return (its result, the share of the machine's cores that *other* processes
    used meanwhile: 0 on a quiet machine, 1 when they kept every core busy; None if unknown)."""
    busy0, own0, t0 = _machine_busy_s(), sum(os.times()[:2]), time.perf_counter()
    result = fn()
    busy1, own1, wall = _machine_busy_s(), sum(os.times()[:2]), time.perf_counter() - t0
    if busy0 is None or busy1 is None:
        return result, None
    return result, max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall * threads.cores())


def tune(repeats: int = 5, seconds: float = 0.6, counts=(1, 2), quiet: float = 0.05,
         patience_s: float = 120.0, configs=None) -> list[dict]:
    """Epochs/s with each thread count in ``counts`` for each of :data:`TUNE_CONFIGS`, alternating, best
    of ``repeats`` samples taken while other processes used under ``quiet`` of the machine (a sample
    taken while they were busier is dropped; after ``patience_s`` seconds per network the best of
    whatever was measured is kept, marked ``quiet=False``)."""
    out = []
    for label, config in configs or TUNE_CONFIGS:
        rows_, n_params = work_of(config)
        kept = {n: [] for n in counts}
        every = {n: [] for n in counts}
        shares = []
        begin = time.perf_counter()
        while min(len(v) for v in kept.values()) < repeats and time.perf_counter() - begin < patience_s:
            # wait (idle) for a quiet moment rather than measure through other work
            while time.perf_counter() - begin < patience_s and (others_share(lambda: time.sleep(0.5))[1] or 0) >= quiet:
                pass
            for n in counts:
                rate, share = others_share(lambda: engine_rate(n, 10**6, config, cap_s=seconds))
                every[n].append(rate)
                if share is not None:
                    shares.append(share)
                if share is None or share < quiet:
                    kept[n].append(rate)
        is_quiet = min(len(v) for v in kept.values()) >= repeats
        best = {n: max(kept[n] if is_quiet else every[n]) for n in counts}
        out.append({"label": label, "rows": rows_, "params": n_params, "work": rows_ * n_params,
                    "chosen": threads.choose(rows_, n_params, 1), "quiet": is_quiet,
                    "samples": min(len(v) for v in (kept if is_quiet else every).values()),
                    "others": min(shares) if shares else None, **{f"t{n}": best[n] for n in counts}})
    return out


def _main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m lrlab.bench.load")
    parser.add_argument("--tune", action="store_true", help="1 vs 2 threads over network sizes (quiet machine)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--counts", default="1,2", help="thread counts to compare (tune)")
    parser.add_argument("--quiet", type=float, default=0.05,
                        help="tune: keep samples taken while other processes used under this share of the CPUs")
    parser.add_argument("--patience", type=float, default=120.0, help="tune: seconds to wait for quiet samples")
    args = parser.parse_args(argv)
    if args.tune:
        counts = tuple(int(c) for c in args.counts.split(","))
        print(f"cores {threads.cores()}, WORK_PER_THREAD {threads.WORK_PER_THREAD:,}")
        print(f"{'network':<30} {'rows x params':>14} {'chosen':>6} " + " ".join(f"{f'{n} thr ep/s':>12}" for n in counts)
              + f" {'2 vs 1':>7}")
        for r in tune(args.repeats, counts=counts, quiet=args.quiet, patience_s=args.patience):
            ratio = r["t2"] / r["t1"] if "t2" in r and "t1" in r else float("nan")
            print(f"{r['label']:<30} {r['work']:>14,} {r['chosen']:>6} "
                  + " ".join(f"{r[f't{n}']:>12.1f}" for n in counts) + f" {ratio:>6.2f}x"
                  + ("" if r["quiet"] else f"  (NOT quiet: others used >= {r['others']:.0%} of the machine)"),
                  flush=True)
        return 0
    from . import format_row
    for row in rows(False):
        print(format_row(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
