"""Race K training configs at once, sweep learning rates, run the LR range test.

A race is the engine (:class:`lrlab.engine.Engine`) with K contenders: configs that share
the data, the architecture, the batch size and the seed (so the same initial weights and
the same mini-batches) and differ only in the optimizer, its hyper-parameters, the
learning rate, the schedule and the regularisation. One tensor program trains them all;
each model follows the same per-epoch rules as a single run (a single run *is* the engine
with K = 1), so a race gives the same runs as training each config on its own. The result
is a list of ordinary :class:`lrlab.run.Run` objects, so every plot and export of a single
run works on each contender.

* :func:`race` — K configs -> K runs.
* :func:`sweep` — optimizers x learning rates in one race -> :class:`SweepResult`.
* :func:`lr_range_test` — one run, the learning rate growing exponentially step by step
  -> :class:`RangeTest` with a suggested learning rate (rule in :func:`suggest_lr`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import data as data_mod
from . import limits, optim
from . import threads as threads_mod
from .config import TrainConfig
from .engine import (SHARED_FIELDS, SHARED_STEP, Engine, EpochRecords, check_models, check_race_size,  # noqa: F401
                     check_shared, group_key, params_per_model)
from .history import _num
from .run import Run

#: A race is the engine with K >= 1 contenders (:class:`lrlab.engine.Engine`).
Race = Engine


def race(configs: Sequence[TrainConfig], epochs: int | None = None,
         on_epoch: Callable[[list, Race], Any] | None = None, should_stop: Callable[[], bool] | None = None,
         dataset: data_mod.Dataset | None = None) -> list[Run]:
    """Train ``configs`` side by side as one batched program; return one :class:`Run` per config.

    ``epochs`` (optional) replaces every config's ``max_epochs``. ``on_epoch(records, race)``
    is called after every epoch with the K records (None for models already stopped);
    ``should_stop()`` is polled before every mini-batch and stops every model.

    >>> from lrlab.train import TrainConfig
    >>> runs = race([TrainConfig(optimizer="sgd", lr=0.5), TrainConfig(optimizer="adam")], epochs=5)
    >>> [r.stop_reason for r in runs]
    ['max_epochs', 'max_epochs']
    """
    return Race(configs, epochs, dataset).run(on_epoch, should_stop)


def ranking(runs: Sequence[Run], labels: Sequence[str] | None = None, by: str = "test_loss") -> list[dict]:
    """Contenders sorted best first by their best epoch's ``by`` (``test_loss``: lower is better;
    ``test_acc``: higher is better); diverged runs with no best epoch come last."""
    if by not in ("test_loss", "test_acc", "train_loss", "train_acc"):
        raise ValueError(f"by: must be test_loss, test_acc, train_loss or train_acc, got {by!r}")
    labels = list(labels) if labels is not None else [label_of(r.config) for r in runs]
    rows = []
    for i, (r, name) in enumerate(zip(runs, labels)):
        m = r.best_metrics or {}
        rows.append({"index": i, "label": name, "stop_reason": r.stop_reason,
                     "epochs": (r.stop_epoch + 1) if r.stop_epoch is not None else 0,
                     "best_epoch": r.best_epoch, **{k: m.get(k, float("nan")) for k in
                                                    ("train_loss", "test_loss", "train_acc", "test_acc")}})
    sign = -1 if by.endswith("acc") else 1

    def key(row):
        v = row[by]
        return (row["best_epoch"] is None or not math.isfinite(v), sign * v if math.isfinite(v) else 0)
    rows.sort(key=key)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def label_of(config: TrainConfig) -> str:
    """A short name for a contender: ``adam lr=0.01 cosine``."""
    parts = [config.optimizer, f"lr={config.lr:g}"]
    if config.schedule != "constant":
        parts.append(config.schedule)
    for k, v in sorted(config.optimizer_params.items()):
        parts.append(f"{k}={v}")
    if config.regularization != "none" and config.reg_rate > 0:
        parts.append(f"{config.regularization}={config.reg_rate:g}")
    return " ".join(parts)


# ------------------------------------------------------------------------------ sweep
def parse_lrs(text: str) -> np.ndarray:
    """``'1e-4:1:64'`` -> 64 log-spaced learning rates from 1e-4 to 1; ``'0.01,0.1'`` -> a list.

    At most :data:`lrlab.limits.MAX_LRS` values, each a finite number > 0; the count is checked
    before any array is made. Raises ``ValueError('lrs: ...')``.
    """
    from . import limits
    text = str(text).strip()
    form = ("LOW:HIGH:N (N log-spaced values, 0 < LOW <= HIGH) or a comma list of positive numbers, "
            "e.g. 1e-4:1:64 or 0.01,0.1")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"lrs: expected {form}, got {text[:80]!r}")
        try:
            lo, hi = float(parts[0]), float(parts[1])
            n = float(parts[2])
        except ValueError:
            raise ValueError(f"lrs: expected {form}, got {text[:80]!r}") from None
        if not (math.isfinite(n) and n == int(n) and n >= 1):
            raise ValueError(f"lrs: N must be a whole number >= 1, got {parts[2].strip()[:40]!r}")
        n = int(n)
        if n > limits.MAX_LRS:
            raise ValueError(f"lrs: at most {limits.MAX_LRS} learning rates in one sweep, got N={n}; "
                             f"use fewer points, e.g. {parts[0].strip()[:20]}:{parts[1].strip()[:20]}:64")
        for name, v in (("LOW", lo), ("HIGH", hi)):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"lrs: {name} must be a finite number > 0, got {v!r}")
        if lo > hi:
            raise ValueError(f"lrs: LOW must be <= HIGH, got LOW={lo:g} and HIGH={hi:g}")
        return np.logspace(math.log10(lo), math.log10(hi), n)
    if text.count(",") >= limits.MAX_LRS:
        raise ValueError(f"lrs: at most {limits.MAX_LRS} learning rates in one sweep, "
                         f"got a list of {text.count(',') + 1}")
    values = []
    for t in text.split(","):
        if not t.strip():
            continue
        try:
            v = float(t)
        except ValueError:
            raise ValueError(f"lrs: {t.strip()[:40]!r} is not a number; expected {form}") from None
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"lrs: every learning rate must be a finite number > 0, got {t.strip()[:40]!r}")
        values.append(v)
    if not values:
        raise ValueError(f"lrs: expected {form}, got {text[:80]!r}")
    return np.array(values, dtype=float)


@dataclass
class SweepResult:
    """Final and best metrics per (optimizer, lr): arrays ``[n_optimizers, n_lrs]`` in ``metrics``."""

    optimizers: list[str]
    lrs: np.ndarray
    metrics: dict[str, np.ndarray]
    runs: list[Run] = field(default_factory=list, repr=False)
    wall_time: float = 0.0
    epochs: int = 0

    METRICS = ("final_train_loss", "final_test_loss", "final_train_acc", "final_test_acc",
               "best_test_loss", "best_test_acc", "best_epoch", "stop_epoch", "diverged")

    def run_of(self, optimizer: str, lr_index: int) -> Run:
        return self.runs[self.optimizers.index(optimizer) * len(self.lrs) + lr_index]

    def best_lr(self, optimizer: str, by: str = "best_test_loss") -> float:
        """The learning rate with the lowest ``by`` (loss) or highest (accuracy) among the runs that did not diverge."""
        row = self.metrics[by][self.optimizers.index(optimizer)].astype(float)
        ok = ~self.metrics["diverged"][self.optimizers.index(optimizer)].astype(bool) & np.isfinite(row)
        if not ok.any():
            return float("nan")
        values = np.where(ok, row if "loss" in by else -row, np.inf)
        return float(self.lrs[int(np.argmin(values))])

    def rows(self) -> list[dict]:
        out = []
        for a, name in enumerate(self.optimizers):
            for b, lr in enumerate(self.lrs):
                out.append({"optimizer": name, "lr": float(lr),
                            **{k: (bool(v[a, b]) if k == "diverged" else float(v[a, b])) for k, v in self.metrics.items()}})
        return out

    def to_dict(self) -> dict:
        return {"lrlab": 1, "optimizers": self.optimizers, "lrs": [float(x) for x in self.lrs],
                "epochs": self.epochs, "wall_time": self.wall_time,
                "best_lr": {o: _num(self.best_lr(o)) for o in self.optimizers},
                "rows": [{k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()} for r in self.rows()]}

    def to_json(self, path: str | None = None) -> str:
        """The sweep table as strict JSON (non-finite numbers as strings, :mod:`lrlab.safeio`), written atomically."""
        from . import safeio
        text = safeio.dumps(self.to_dict(), indent=1)
        if path is not None:
            safeio.write_text(path, text)
        return text


def sweep_configs(optimizers: Sequence[str], lrs, config: TrainConfig | None = None,
                  optimizer_params: dict | None = None) -> list[TrainConfig]:
    """One config per (optimizer, lr), optimizer-major; ``optimizer_params[name]`` per optimizer."""
    config = config or TrainConfig()
    optimizers = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    if not optimizers:
        raise ValueError("optimizers: at least one optimizer name, got none")
    for o in optimizers:
        optim.get(o)
    lrs = parse_lrs(lrs) if isinstance(lrs, str) else np.asarray(lrs, dtype=float).reshape(-1)
    if len(lrs) == 0 or not (lrs > 0).all():
        raise ValueError(f"lrs: at least one learning rate, all > 0, got {list(lrs)!r}")
    optimizer_params = optimizer_params or {}
    return [config.replace(optimizer=o, lr=float(lr), optimizer_params=dict(optimizer_params.get(o, {})))
            for o in optimizers for lr in lrs]


def sweep(optimizers: Sequence[str] = ("sgd", "adam"), lrs="1e-4:1:16", config: TrainConfig | None = None,
          epochs: int | None = None, optimizer_params: dict | None = None,
          on_epoch: Callable[[list, Race], Any] | None = None,
          should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Train every (optimizer, lr) pair as ONE race and tabulate final and best metrics.

    ``lrs`` is a sequence or ``'LOW:HIGH:N'`` (N log-spaced values). ``config`` gives the
    rest (data, network, schedule, epochs, batch size, seed). ``final_*`` are the last
    epoch's metrics (of a diverged run: the non-finite or exploded loss that stopped it);
    ``best_*`` are the best epoch's; ``diverged`` is 1 where the run diverged.

    >>> result = sweep(["sgd", "adam"], "1e-3:1:4", epochs=3)
    >>> result.metrics["final_train_loss"].shape
    (2, 4)
    """
    configs = sweep_configs(optimizers, lrs, config, optimizer_params)
    optimizers = list(dict.fromkeys(c.optimizer for c in configs))
    lrs = np.array([c.lr for c in configs[: len(configs) // len(optimizers)]], dtype=float)
    t0 = time.perf_counter()
    r = Race(configs, epochs)
    runs = r.run(on_epoch, should_stop)
    wall = time.perf_counter() - t0
    shape = (len(optimizers), len(lrs))
    metrics = {k: np.full(shape, np.nan) for k in SweepResult.METRICS}
    for n, run in enumerate(runs):
        a, b = divmod(n, len(lrs))
        last = run.history.last or {}
        best = run.best_metrics or {}
        metrics["final_train_loss"][a, b] = last.get("train_loss", np.nan)
        metrics["final_test_loss"][a, b] = last.get("test_loss", np.nan)
        metrics["final_train_acc"][a, b] = last.get("train_acc", np.nan)
        metrics["final_test_acc"][a, b] = last.get("test_acc", np.nan)
        metrics["best_test_loss"][a, b] = best.get("test_loss", np.nan)
        metrics["best_test_acc"][a, b] = best.get("test_acc", np.nan)
        metrics["best_epoch"][a, b] = np.nan if run.best_epoch is None else run.best_epoch
        metrics["stop_epoch"][a, b] = np.nan if run.stop_epoch is None else run.stop_epoch
        metrics["diverged"][a, b] = float(run.stop_reason == "diverged")
    return SweepResult(optimizers, lrs, metrics, runs, wall, r.epoch_index)


# ------------------------------------------------------------------------------ LR range test
SMOOTHING = 0.9  # beta of the exponential moving average of the loss
DIVERGENCE_RATIO = 4.0  # stop when the smoothed loss exceeds this multiple of its minimum


def smooth_losses(losses: Sequence[float], beta: float = SMOOTHING) -> np.ndarray:
    """Bias-corrected exponential moving average: ``avg_t = beta avg_{t-1} + (1 - beta) loss_t``,
    ``smoothed_t = avg_t / (1 - beta^(t+1))``."""
    out, avg = [], 0.0
    for t, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (t + 1)))
    return np.array(out, dtype=float)


def suggest_lr(lrs: Sequence[float], smoothed: Sequence[float], skip_start: int = 5) -> Optional[float]:
    """The suggestion rule: one tenth of the learning rate at the smoothed loss's minimum.

    ``suggested = lrs[argmin smoothed] / 10`` over the finite part of the curve, ignoring the
    first ``skip_start`` steps. At the minimum the learning rate is already on the edge of
    instability; a tenth of it is still large yet safely on the falling side of the curve
    (the rule of Smith 2017 / fastai's ``lr_min / 10``). None when fewer than 3 usable steps.
    """
    lrs = np.asarray(lrs, dtype=float)
    smoothed = np.asarray(smoothed, dtype=float)
    finite = np.isfinite(smoothed)
    n = len(smoothed) if finite.all() else int(np.argmax(~finite))  # up to the first non-finite value
    if n < 3:
        return None
    start = min(skip_start, n - 1)
    best = start + int(np.argmin(smoothed[start:n]))
    return float(lrs[best] / 10)


@dataclass
class RangeTest:
    """The LR range test's curve: ``lrs[i]`` was used for step ``i`` whose loss is ``losses[i]``."""

    config: TrainConfig
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested_lr: Optional[float]
    diverged_lr: Optional[float]  # the lr at which the test stopped (None: it reached end_lr)
    rule: str = ("minimum / 10: one tenth of the lr at which the smoothed loss (EMA beta=0.9, "
                 "bias-corrected) is lowest")

    def to_dict(self) -> dict:
        return {"lrlab": 1, "config": self.config.to_dict(), "lrs": [float(x) for x in self.lrs],
                "losses": [_num(float(x)) for x in self.losses], "smoothed": [_num(float(x)) for x in self.smoothed],
                "suggested_lr": self.suggested_lr, "diverged_lr": self.diverged_lr, "rule": self.rule}


def lr_range_test(config: TrainConfig | None = None, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_steps: int = 100, dataset: data_mod.Dataset | None = None) -> RangeTest:
    """The LR range test (Smith 2017): one run, one optimizer step per learning rate,
    ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``; each step's loss is the
    mini-batch loss of the forward pass that produced its gradient (as in the engine).
    Stops when the loss is not finite or the smoothed loss exceeds ``4 x`` its minimum.
    The suggestion follows :func:`suggest_lr` (a tenth of the lr at the smoothed loss's minimum).

    >>> test = lr_range_test(TrainConfig(optimizer="adam"), num_steps=60)
    >>> 1e-7 <= test.suggested_lr <= 10
    True
    """
    config = config or TrainConfig()
    if not (isinstance(num_steps, int) and num_steps >= 3):
        raise ValueError(f"num_steps: must be an integer >= 3, got {num_steps!r}")
    if not (0 < start_lr < end_lr):
        raise ValueError(f"start_lr: must be > 0 and < end_lr={end_lr!r}, got {start_lr!r}")
    config = config.replace(lr=float(start_lr))
    r = Race([config], dataset=dataset)
    with threads_mod.engine_threads(r.threads()):
        lrs, losses, diverged_lr = _range_test_steps(r, start_lr, end_lr, num_steps)
    smoothed = smooth_losses(losses)
    return RangeTest(config, lrs, np.array(losses, dtype=float), smoothed, suggest_lr(lrs, smoothed), diverged_lr)


def _range_test_steps(r: Engine, start_lr: float, end_lr: float, num_steps: int):
    """The range test's loop: one step per learning rate until the end or the loss explodes."""
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    losses, batches = [], iter(())
    best = math.inf
    avg = 0.0
    diverged_lr = None
    for i, lr in enumerate(lrs):
        try:
            Xb, yb = next(batches)
        except StopIteration:
            batches = r.batches()
            Xb, yb = next(batches)
        loss, _ = r.step(Xb, yb, float(lr))
        loss = float(loss[0])
        losses.append(loss)
        avg = SMOOTHING * avg + (1 - SMOOTHING) * loss
        smoothed = avg / (1 - SMOOTHING ** (i + 1))
        if not math.isfinite(loss) or (i > 0 and smoothed > DIVERGENCE_RATIO * best):
            diverged_lr = float(lr)
            break
        best = min(best, smoothed)
    return lrs[: len(losses)], losses, diverged_lr


# ``lrlab.race`` is both this module and (lazily, in lrlab/__init__.py) the function :func:`race`.
# Once the module is imported Python binds the attribute ``lrlab.race`` to the module, so the
# module itself is made callable: ``lrlab.race(configs, ...)`` calls :func:`race` either way.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return race(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
