"""The effective step, one definition for every optimizer (lrlab.optim's module docstring): the
parameter change torch.optim makes is ``-effective_step * d``, ``d`` the gradient the optimizer
steps along (the gradient; momentum's velocity; Adam's bias-corrected average ``m_hat``).

The change and ``d`` are read from torch.optim (its parameters and its state) on a tiny problem;
the effective step from lrlab's optimizer class run beside it on an identical copy."""
from __future__ import annotations

import pytest
import torch

from lrlab import optim


def _problem(seed=0):
    """A tiny float64 regression net (2 -> 4 -> 1, tanh) and its data."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(32, 2, generator=gen, dtype=torch.float64)
    y = torch.sin(2 * X[:, :1]) + 0.3 * X[:, 1:] ** 2
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    return net, X, y


def _grads(net, X, y):
    net.zero_grad()
    torch.nn.functional.mse_loss(net(X), y).backward()


# name -> (lrlab class, torch class, shared keyword arguments)
CASES = {
    "sgd": (optim.SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=0.01)),
    "momentum": (optim.Momentum, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "nesterov": (optim.Nesterov, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adagrad": (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.01)),
    "rmsprop": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, weight_decay=0.01)),
    "rmsprop-centered": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, centered=True)),
    "rmsprop-momentum": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, momentum=0.8)),
    "adam": (optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.01)),
    "adam-amsgrad": (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    "adamw": (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "adadelta": (optim.Adadelta, torch.optim.Adadelta, dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01)),
}


def _direction(name, kw, p, state, before, previous_buffer):
    """(d, extra): torch's change should be ``-effective_step * d + extra``, from torch's own
    gradient and state (``before``: the parameter before the step)."""
    wd = kw.get("weight_decay", 0.0)
    g = p.grad + (wd * before if not name.startswith("adamw") else 0.0)
    zero = torch.zeros_like(p)
    if name == "momentum":
        return state["momentum_buffer"], zero
    if name == "nesterov":
        return g + kw["momentum"] * state["momentum_buffer"], zero
    if name.startswith("adam"):
        beta1 = kw.get("betas", (0.9, 0.999))[0]
        m_hat = state["exp_avg"] / (1 - beta1 ** int(state["step"]))
        extra = -kw["lr"] * wd * before if name.startswith("adamw") else zero
        return m_hat, extra
    if name == "rmsprop-momentum":  # the multiplier on g as it enters the velocity; the rest is memory
        return g, -kw["lr"] * kw["momentum"] * previous_buffer
    return g, zero


@pytest.mark.parametrize("name", list(CASES))
def test_the_change_torch_optim_makes_is_the_effective_step_times_the_gradient_it_steps_along(name):
    ours_cls, torch_cls, kw = CASES[name]
    ours_net, X, y = _problem()
    torch_net, _, _ = _problem()
    ours_kw = {k: v for k, v in kw.items() if k != "nesterov"}
    ours = ours_cls(ours_net.parameters(), **ours_kw)
    theirs = torch_cls(torch_net.parameters(), **kw, **({} if name.startswith("sgd") else {"foreach": False}))
    for step in range(25):
        for net in (ours_net, torch_net):
            _grads(net, X, y)
        before = [p.detach().clone() for p in torch_net.parameters()]
        buffers = [theirs.state[p].get("momentum_buffer", torch.zeros_like(p)).clone() for p in torch_net.parameters()]
        ours.step()
        theirs.step()
        for eff, p, b, buf in zip(ours.effective_step(), torch_net.parameters(), before, buffers):
            d, extra = _direction(name, kw, p, theirs.state[p], b, buf)
            change = p.detach() - b
            assert eff.shape == p.shape and bool((eff > 0).all())
            torch.testing.assert_close(change, -eff * d + extra, rtol=1e-7, atol=1e-12,
                                       msg=lambda m: f"{name}, step {step + 1}: {m}")


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam", "adamw"])
def test_an_adaptive_effective_step_is_large_where_the_gradient_is_small(name):
    """Two parameters, gradients 100x apart: the adaptive optimizers give the one with small
    gradients the larger effective step (SGD gives both lr); on the first step Adam's is lr / |g|."""
    spec = optim.get(name)
    hyper = spec.resolve(**({"weight_decay": 0.0} if name == "adamw" else {}))
    lr = hyper.pop("lr")
    theta = torch.zeros(2, dtype=torch.float64)
    state = spec.init(theta)
    g = torch.tensor([1.0, 0.01], dtype=torch.float64)
    state = spec.step(theta, g, state, lr=lr, **hyper)
    eff = spec.effective_step(state, theta, lr=lr, **hyper)
    assert eff[1] > 50 * eff[0]
    if name.startswith("adam"):
        torch.testing.assert_close(eff, lr / (g.abs() + hyper["eps"]), rtol=1e-12, atol=0)
        torch.testing.assert_close(theta, -lr * g / (g.abs() + hyper["eps"]), rtol=1e-12, atol=0)  # lr * sign(g)
    sgd = optim.get("sgd")
    assert torch.equal(sgd.effective_step(sgd.init(theta), theta, lr=lr), torch.full_like(theta, lr))
