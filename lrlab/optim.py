"""Textbook optimizers (foundation version: SGD and Adam; the rest arrive with issue 3).

CONTRACT (the engine, the race and the surfaces rely on it):

* ``OPTIMIZERS[name] -> OptimizerSpec`` with ``init(params) -> state``,
  ``step(params, grads, state, lr=..., **hyper) -> state`` (updates ``params`` in place;
  ``params``/``grads`` have any shape, a leading batch axis K allowed; ``lr`` and every
  hyper-parameter are a Python number or a tensor of shape [K], broadcast over the
  trailing axes), ``effective_step(state, lr=..., **hyper) -> tensor like params``,
  ``defaults``, ``ranges`` (name -> (low, high, low_inclusive, high_inclusive)),
  ``description``, ``formula``, ``cls`` (a ``torch.optim.Optimizer`` subclass).
* ``spec.resolve(**given) -> dict`` fills defaults and validates (ValueError naming the
  argument and its allowed range).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch


def _bcast(value, like: torch.Tensor):
    """A per-model hyper-parameter of shape [K] broadcast against [K, ...]; numbers pass through."""
    if isinstance(value, torch.Tensor) and value.dim() == 1 and like.dim() > 1:
        return value.view(-1, *([1] * (like.dim() - 1)))
    return value


# --------------------------------------------------------------------------- SGD
class SGDState(NamedTuple):
    count: int


def sgd_init(params: torch.Tensor) -> SGDState:
    return SGDState(0)


def sgd_step(params, grads, state: SGDState, *, lr, weight_decay=0.0) -> SGDState:
    """g <- g + weight_decay * theta;  theta <- theta - lr * g"""
    lr, weight_decay = _bcast(lr, params), _bcast(weight_decay, params)
    g = grads + weight_decay * params if _nonzero(weight_decay) else grads
    params.sub_(lr * g)
    return SGDState(state.count + 1)


def sgd_effective_step(state, params, *, lr, **_):
    return torch.ones_like(params) * _bcast(lr, params)


# --------------------------------------------------------------------------- Adam
class AdamState(NamedTuple):
    count: int
    m: torch.Tensor
    v: torch.Tensor


def adam_init(params: torch.Tensor) -> AdamState:
    return AdamState(0, torch.zeros_like(params), torch.zeros_like(params))


def adam_step(params, grads, state: AdamState, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0) -> AdamState:
    """g <- g + weight_decay * theta
    m <- beta1 m + (1 - beta1) g
    v <- beta2 v + (1 - beta2) g^2
    m_hat = m / (1 - beta1^t);  v_hat = v / (1 - beta2^t)
    theta <- theta - lr m_hat / (sqrt(v_hat) + eps)
    """
    b1, b2 = (_bcast(b, params) for b in betas)
    lr, eps, weight_decay = _bcast(lr, params), _bcast(eps, params), _bcast(weight_decay, params)
    t = state.count + 1
    g = grads + weight_decay * params if _nonzero(weight_decay) else grads
    m = state.m.mul_(b1).add_((1 - b1) * g)
    v = state.v.mul_(b2).add_((1 - b2) * g * g)
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    params.sub_(lr * m_hat / (v_hat.sqrt() + eps))
    return AdamState(t, m, v)


def adam_effective_step(state: AdamState, params, *, lr, betas=(0.9, 0.999), eps=1e-8, **_):
    t = max(state.count, 1)
    b1, b2 = (_bcast(b, params) for b in betas)
    v_hat = state.v / (1 - b2 ** t)
    return _bcast(lr, params) / (1 - b1 ** t) / (v_hat.sqrt() + _bcast(eps, params))


def _nonzero(x) -> bool:
    if isinstance(x, torch.Tensor):
        return bool((x != 0).any())
    return x != 0


# --------------------------------------------------------------------------- registry
@dataclass
class OptimizerSpec:
    name: str
    init: Callable
    step: Callable
    effective_step: Callable
    defaults: dict[str, Any]
    ranges: dict[str, tuple]
    description: str
    formula: str
    cls: type | None = None

    def resolve(self, **given) -> dict[str, Any]:
        unknown = set(given) - set(self.defaults)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a hyper-parameter of {self.name}; "
                             f"allowed: {', '.join(self.defaults)}")
        hyper = {**self.defaults, **{k: v for k, v in given.items() if v is not None}}
        for key, value in hyper.items():
            if key in self.ranges:
                for part in (value if isinstance(value, (tuple, list)) else (value,)):
                    _check_range(key, part, self.ranges[key])
        return hyper


def _check_range(name, value, rng):
    lo, hi, lo_inc, hi_inc = rng
    ok = (value >= lo if lo_inc else value > lo) and (value <= hi if hi_inc else value < hi)
    if not ok or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{name}: must be in {'[' if lo_inc else '('}{lo}, {hi}{']' if hi_inc else ')'}, got {value!r}")


LR_RANGE = (0.0, 100.0, False, True)

OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec("sgd", sgd_init, sgd_step, sgd_effective_step,
                         {"lr": 0.01, "weight_decay": 0.0},
                         {"lr": LR_RANGE, "weight_decay": (0.0, 1.0, True, True)},
                         "Plain gradient descent: step downhill by the learning rate times the gradient.",
                         "theta <- theta - lr * g"),
    "adam": OptimizerSpec("adam", adam_init, adam_step, adam_effective_step,
                          {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
                          {"lr": LR_RANGE, "betas": (0.0, 1.0, True, False), "eps": (0.0, 1.0, False, True),
                           "weight_decay": (0.0, 1.0, True, True)},
                          "Adam keeps running averages of the gradient (m) and its square (v).",
                          "theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)"),
}


def get(name: str) -> OptimizerSpec:
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]
