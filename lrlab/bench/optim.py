"""lrlab's optimizers vs torch.optim: optimizer steps per second on the same model and gradients.

The model is the reference MLP (2-16-16-2, float32, 6 parameter tensors) as a plain
``nn.Sequential``; its gradients are filled once, then only ``opt.step()`` is timed.
torch runs its multi-tensor ("foreach") implementation, its fastest on this size.
"""
from __future__ import annotations

import time

import torch

from . import Row, side_by_side
from .. import optim


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 2))
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 0.1
    return model


def _class_rate(make, steps: int) -> float:
    """Steps per second of ``make(parameters)``'s ``step()``."""
    opt = make(_model().parameters())
    opt.step()  # state allocated outside the timing
    t = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return steps / (time.perf_counter() - t)


def _flat_rate(name: str, steps: int) -> float:
    """The engine's path: the pure function on one flat parameter vector."""
    model = _model()
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    spec = optim.get(name)
    hyper = spec.resolve()
    lr = hyper.pop("lr")
    state = spec.init(params)
    t = time.perf_counter()
    for _ in range(steps):
        state = spec.step(params, grads, state, lr=lr, **hyper)
    return steps / (time.perf_counter() - t)


# (row name, ours, theirs) for the informational rows: every class vs its torch counterpart
PAIRS = [
    ("SGD", lambda p: optim.SGD(p, lr=0.01), lambda p: torch.optim.SGD(p, lr=0.01, foreach=True)),
    ("Momentum", lambda p: optim.Momentum(p, lr=0.01, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, foreach=True)),
    ("AdaGrad", lambda p: optim.AdaGrad(p, lr=0.01), lambda p: torch.optim.Adagrad(p, lr=0.01, foreach=True)),
    ("RMSProp", lambda p: optim.RMSProp(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01, foreach=True)),
    ("AdamW", lambda p: optim.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01, foreach=True)),
    ("Adadelta", lambda p: optim.Adadelta(p), lambda p: torch.optim.Adadelta(p, foreach=True)),
]


def rows(quick: bool):
    steps = 300 if quick else 3000
    repeats = 2 if quick else 5
    torch_adam = lambda p: torch.optim.Adam(p, lr=0.01, foreach=True)  # noqa: E731
    ours, theirs = side_by_side(lambda: _class_rate(lambda p: optim.Adam(p, lr=0.01), steps),
                                lambda: _class_rate(torch_adam, steps), repeats)
    yield Row("lrlab Adam step vs torch.optim.Adam(foreach=True)", ours, theirs, "steps/s", target=0.8,
              note="2-16-16-2 MLP, 6 tensors, opt.step() only")
    ours, theirs = side_by_side(lambda: _class_rate(lambda p: optim.Adam(p, lr=0.01), steps),
                                lambda: _class_rate(lambda p: torch.optim.Adam(p, lr=0.01, foreach=False), steps),
                                repeats)
    yield Row("lrlab Adam step vs torch.optim.Adam(foreach=False)", ours, theirs, "steps/s",
              note="informational: torch's per-tensor loop")
    ours, theirs = side_by_side(lambda: _flat_rate("adam", steps), lambda: _class_rate(torch_adam, steps), repeats)
    yield Row("adam_step on the flat vector (engine) vs torch Adam(foreach)", ours, theirs, "steps/s",
              note="informational")
    if quick:
        return
    for label, make_ours, make_theirs in PAIRS:
        ours, theirs = side_by_side(lambda: _class_rate(make_ours, steps), lambda: _class_rate(make_theirs, steps),
                                    3)
        yield Row(f"lrlab {label} step vs torch.optim (foreach)", ours, theirs, "steps/s", note="informational")
