"""Race and sweep vs plain torch loops (nn.Module + torch.optim), same MLP and data, side by side.

The race and the sweep record, every epoch and for every model, the training loss and
accuracy (of the step's own forward pass) and the test loss and accuracy after the step:
that is what their curves, rankings and "best epoch" columns show. The plain loops they are
compared with do the same job, written as a learner would (``loss.item()``, ``argmax``,
a ``no_grad`` test forward); rows marked "bare" compare with loops that only train and
record nothing, for reference (no target).

* race K=8 (8 optimizers, full batch) vs 8 plain loops stepped together (all 8 per step):
  steps/s, target >= 5x;
* a sweep of 64 learning rates x 4 optimizers (one race of 256 models) vs the same 256
  runs as plain loops: wall time, target >= 10x. The plain loops are timed on a fraction
  of the 256 runs and extrapolated linearly (each loop is independent, so their time adds up);
* the race of K=1024 configs vs plain loops, on the GPU where one exists, else on the CPU
  (no target: the figure shows the race scaling to K >= 1024 in one program).
"""
from __future__ import annotations

import time

import torch

from . import Row, side_by_side
from ..race import Race, sweep_configs
from ..train import TrainConfig, make_dataset

CONFIG = TrainConfig(dataset="moons", n_samples=512, hidden=(16, 16), activation="tanh",
                     optimizer="adam", lr=0.01, max_epochs=10**6)
RACE8 = [("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adagrad", 0.05),
         ("rmsprop", 0.005), ("adam", 0.01), ("adamw", 0.01), ("adadelta", 1.0)]
SWEEP_OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")

TORCH_OPTIM = {"sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
               "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
               "nesterov": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
               "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
               "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
               "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
               "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr),
               "adadelta": lambda p, lr: torch.optim.Adadelta(p, lr=lr)}


def _available(pairs):
    from .. import optim
    return [(o, lr) for o, lr in pairs if o in optim.OPTIMIZERS]


def plain_models(pairs, config=CONFIG):
    """The loop a learner would write, once per (optimizer, lr): nn.Sequential + torch.optim."""
    torch.manual_seed(0)
    models, opts = [], []
    for name, lr in pairs:
        m = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 2)).to(config.device)
        models.append(m)
        opts.append(TORCH_OPTIM[name](m.parameters(), lr))
    return models, opts


def plain_epoch(model, opt, loss_fn, batches, X_test, y_test, metrics: bool = True):
    """One epoch of a plain loop; with ``metrics`` it returns what the race records per epoch:
    (train loss, train accuracy) averaged over the epoch's steps, (test loss, test accuracy) after."""
    loss_sum = acc_sum = 0.0
    for Xb, yb in batches:
        opt.zero_grad()
        out = model(Xb)
        loss = loss_fn(out, yb)
        loss.backward()
        opt.step()
        if metrics:
            loss_sum += loss.item()
            acc_sum += (out.argmax(1) == yb).float().mean().item()
    if not metrics:
        return None
    with torch.no_grad():
        out = model(X_test)
        return (loss_sum / len(batches), acc_sum / len(batches), loss_fn(out, y_test).item(),
                (out.argmax(1) == y_test).float().mean().item())


def plain_loops_rate(pairs, steps: int, config=CONFIG, metrics: bool = True) -> float:
    """Steps/s of len(pairs) plain full-batch loops stepped together (one 'step' = every model
    stepped once), each recording its epoch metrics (``metrics``) or nothing."""
    ds = make_dataset(config)
    batches = [(ds.X_train, ds.y_train)]
    models, opts = plain_models(pairs, config)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = [[] for _ in pairs]
    for model, opt, h in zip(models, opts, history):  # one untimed step each, as the race's first epoch
        h.append(plain_epoch(model, opt, loss_fn, batches, ds.X_test, ds.y_test, metrics))
    _sync(config.device)
    t = time.perf_counter()
    for _ in range(steps):
        for model, opt, h in zip(models, opts, history):
            h.append(plain_epoch(model, opt, loss_fn, batches, ds.X_test, ds.y_test, metrics))
    _sync(config.device)
    return steps / (time.perf_counter() - t)


def _sync(device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def race_rate(pairs, epochs: int, config=CONFIG) -> float:
    """Steps/s of one race over ``pairs`` (full batch: one step per epoch, all metrics recorded)."""
    r = Race([config.replace(optimizer=o, lr=lr) for o, lr in pairs], epochs)
    r.epoch()  # the first epoch allocates the work buffers (and, on a GPU, starts the kernels)
    _sync(r.device)
    t = time.perf_counter()
    while not r.done:
        r.epoch()
    _sync(r.device)
    return (r.steps - 1) / (time.perf_counter() - t)


def big_race_pairs(K: int) -> list:
    """K contenders: the 8 optimizers of the K=8 race, each at K/8 learning rates around its own."""
    import numpy as np
    base = _available(RACE8)
    per = -(-K // len(base))
    return [(o, float(lr * f)) for o, lr in base for f in np.logspace(-1, 1, per)][:K]


def big_race_rows(quick: bool, device: str = "cuda", K: int = 1024, sample: int = 16):
    """The K=1024 race on ``device`` vs plain loops there (timed on ``sample`` of them, scaled to K)."""
    config = CONFIG.replace(device=device)
    pairs = big_race_pairs(K)
    steps = 20 if quick else 200
    ours = race_rate(pairs, steps, config)
    subset = pairs[:: max(1, K // sample)]
    _sync(device)
    theirs = plain_loops_rate(subset, max(2, steps // 10), config) * len(subset) / K
    yield Row(f"race K={K} on {device} vs {K} plain loops there", ours, theirs, "steps/s",
              note=f"2-16-16-2 tanh, 410 moons, full batch, float32, 8 optimizers x {K // 8} lrs; plain loops "
                   f"timed on {len(subset)} of the {K} (with metrics), scaled linearly")


def sweep_time(epochs: int, config=CONFIG) -> float:
    """Wall time of the 64 x 4 sweep as one race (building it included)."""
    t = time.perf_counter()
    names = [o for o, _ in _available([(o, 0) for o in SWEEP_OPTIMIZERS])]
    configs = sweep_configs(names, "1e-4:1:64", config.replace(max_epochs=epochs))
    r = Race(configs)
    while not r.done:
        r.epoch()
    return time.perf_counter() - t


def plain_sweep_time(epochs: int, fraction: int, config=CONFIG, metrics: bool = True) -> float:
    """Wall time of the 256 plain loops, measured on 256 / ``fraction`` of them and scaled up.
    With ``metrics`` each loop keeps what the sweep reports: final and best test loss/accuracy."""
    import numpy as np
    names = [o for o, _ in _available([(o, 0) for o in SWEEP_OPTIMIZERS])]
    lrs = np.logspace(-4, 0, 64)
    pairs = [(o, float(lr)) for o in names for lr in lrs]
    subset = pairs[::fraction]
    ds = make_dataset(config)
    X, y = ds.X_train, ds.y_train
    loss_fn = torch.nn.CrossEntropyLoss()
    n, batch = X.shape[0], config.batch_size or X.shape[0]
    gen = torch.Generator().manual_seed(config.seed + 1)
    t = time.perf_counter()
    for name, lr in subset:
        (model,), (opt,) = plain_models([(name, lr)], config)
        best = None
        for _ in range(epochs):
            if batch >= n:
                batches = [(X, y)]
            else:
                order = torch.randperm(n, generator=gen)
                batches = [(X[order[i:i + batch]], y[order[i:i + batch]]) for i in range(0, n, batch)]
            record = plain_epoch(model, opt, loss_fn, batches, ds.X_test, ds.y_test, metrics)
            if record is not None and (best is None or record[2] < best[2]):
                best = record
    return (time.perf_counter() - t) * len(pairs) / len(subset)


def rows(quick: bool):
    repeats = 2 if quick else 5
    pairs = _available(RACE8)
    steps = 150 if quick else 1000
    shape = "2-16-16-2 tanh, 410 moons, full batch, float32"
    names = " ".join(o for o, _ in pairs)
    ours, theirs = side_by_side(lambda: race_rate(pairs, steps), lambda: plain_loops_rate(pairs, steps), repeats)
    yield Row(f"race K={len(pairs)} vs {len(pairs)} plain torch loops (all stepped)", ours, theirs, "steps/s",
              target=5.0, note=f"{shape}, {len(pairs)} optimizers ({names}); both record train/test loss and "
                               f"accuracy every epoch")
    bare = plain_loops_rate(pairs, steps, metrics=False)
    yield Row(f"  same race vs {len(pairs)} bare loops (no metrics)", ours, bare, "steps/s",
              note="for reference: the loops only train")

    epochs = 10 if quick else 50
    fraction = 32 if quick else 8
    sweep_note = (f"sgd/adam/rmsprop/adagrad x 64 lrs 1e-4..1, {shape}, race built inside the timing; both keep "
                  f"final and best test loss/accuracy; plain loops timed on 1/{fraction} of the 256 runs, extrapolated")
    ours_t, theirs_t = side_by_side(lambda: -sweep_time(epochs), lambda: -plain_sweep_time(epochs, fraction),
                                    1 if quick else 5)
    yield Row(f"sweep 64 lrs x 4 optimizers ({epochs} epochs) vs 256 plain loops", -ours_t, -theirs_t, "s",
              target=10.0, higher_is_better=False, note=sweep_note)
    bare_t = plain_sweep_time(epochs, fraction, metrics=False)
    yield Row("  same sweep vs 256 bare loops (no metrics)", -ours_t, bare_t, "s", higher_is_better=False,
              note="for reference: the loops only train")

    mb = CONFIG.replace(batch_size=32)
    ours_t, theirs_t = side_by_side(lambda: -sweep_time(2 if quick else 5, mb),
                                    lambda: -plain_sweep_time(2 if quick else 5, fraction, mb),
                                    1 if quick else 3)
    yield Row("sweep 64 x 4, mini-batches of 32, vs 256 plain loops", -ours_t, -theirs_t, "s",
              target=10.0, higher_is_better=False,
              note=f"13 steps/epoch, otherwise as above; plain loops timed on 1/{fraction} of the 256 runs, "
                   f"extrapolated linearly")

    # the race of 1024 configs: on the GPU where there is one, else (for reference) on the CPU
    yield from big_race_rows(quick, "cuda" if torch.cuda.is_available() else "cpu")
