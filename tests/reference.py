"""Plain single-model references for the tests: the loss, its gradient, the score and the
hand-written backward of ONE :class:`lrlab.nets.MLP`, written as simply as possible.

The package's own (fast, batched over K models) versions live in :mod:`lrlab.batched`; the
tests hold them equal to these and to autograd.
"""
from __future__ import annotations

import torch

from lrlab.nets import MLP, activate, activation_grad


def grad_views(model: MLP, flat_grad: torch.Tensor) -> list[torch.Tensor]:
    """Views of ``flat_grad`` shaped like [W1, b1, W2, b2, ...]."""
    views, offset = [], 0
    for p in model.parameters():
        views.append(flat_grad[offset: offset + p.numel()].view(p.shape))
        offset += p.numel()
    return views


def plain_output_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss at the output and its gradient dL/d(out).

    cross_entropy: ``L = -mean_i log softmax(out_i)[y_i]``,  ``dL/dout = (softmax(out) - onehot(y)) / n``
    mse:           ``L = mean_ij (out_ij - t_ij)^2``,        ``dL/dout = 2 (out - t) / (n * c)``
    (``t = onehot(y)`` for class labels, ``t = y`` for regression targets).
    """
    n = out.shape[0]
    if loss == "cross_entropy":
        logp = torch.log_softmax(out, dim=1)
        value = -logp.gather(1, y.view(-1, 1)).mean()
        dout = logp.exp()
        dout[torch.arange(n, device=out.device), y] -= 1
        return value, dout.div_(n)
    if loss == "mse":
        target = y if y.dtype.is_floating_point else torch.nn.functional.one_hot(y, out.shape[1]).to(out.dtype)
        diff = out - target.view(out.shape)
        return (diff * diff).mean(), diff.mul_(2.0 / diff.numel())
    raise ValueError(f"loss: unknown loss {loss!r}")


def loss_and_grads(model: MLP, X: torch.Tensor, y: torch.Tensor, loss: str,
                   grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward pass, loss, and backward pass by the chain rule; writes dL/dW, dL/db into ``grads``.

    Returns ``(loss, out)``. Per layer l (a_0 = X):
    ``z_l = a_{l-1} W_l^T + b_l``, ``a_l = f(z_l)`` (output layer: ``a_L = z_L``);
    ``delta_L = dL/dz_L``; ``dW_l = delta_l^T a_{l-1}``; ``db_l = sum_i delta_l``;
    ``delta_{l-1} = (delta_l W_l) * f'(z_{l-1})``.
    """
    with torch.no_grad():
        Ws, bs = model.weights_and_biases()
        act = model.activation
        zs, acts = [], [X]
        a = X
        for W, b in zip(Ws[:-1], bs[:-1]):
            z = torch.addmm(b, a, W.t())
            a = activate(z, act)
            zs.append(z)
            acts.append(a)
        out = torch.addmm(bs[-1], a, Ws[-1].t())
        value, delta = plain_output_loss(out, y, loss)
        for l in range(len(Ws) - 1, -1, -1):
            torch.mm(delta.t(), acts[l], out=grads[2 * l])
            torch.sum(delta, 0, out=grads[2 * l + 1])
            if l > 0:
                delta = torch.mm(delta, Ws[l]).mul_(activation_grad(zs[l - 1], acts[l], act))
        return value, out


def plain_score(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Accuracy (fraction of argmax == label) for classification; R^2 for regression."""
    if kind == "classification":
        return (out.argmax(1) == y).to(out.dtype).mean()
    resid = ((y - out) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum().clamp_min(torch.finfo(out.dtype).tiny)
    return 1 - resid / total
