"""Small multi-layer perceptrons, with their parameters in one flat buffer.

``MLP(in_features, hidden=(16, 16), out_features=2, activation='tanh', seed=0)`` is an
ordinary ``torch.nn.Module`` (use it with autograd and ``torch.optim`` as usual). Its
weights and biases are *views into one flat vector* (:meth:`MLP.flat_parameters`), so
an optimizer can update every parameter with a handful of tensor operations, and the
training engine can copy the best epoch's weights with one ``copy_``.

Initialisation (documented, seeded, identical on every device and dtype; drawn in
float64 on the CPU from ``torch.Generator().manual_seed(seed)``, layer by layer, weight
then bias):

* tanh, sigmoid: Glorot/Xavier uniform, ``W ~ U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``
* relu, leaky_relu: He/Kaiming uniform, ``W ~ U(-a, a)``, ``a = sqrt(6 / fan_in)``
* biases: 0

The output layer is linear (logits for classification, the value for regression).

:func:`loss_and_grads` is the training engine's forward and backward pass, written out
by hand (the chain rule, as in :mod:`lrlab.backprop`, without the per-layer record);
it is checked against autograd in the tests.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from . import checks, limits

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
LOSSES = ("cross_entropy", "mse")
LEAKY_SLOPE = 0.01


def activate(z: torch.Tensor, name: str) -> torch.Tensor:
    """The activation function ``a = f(z)``."""
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(z, LEAKY_SLOPE)
    raise ValueError(f"activation: unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}")


def activation_grad(z: torch.Tensor, a: torch.Tensor, name: str) -> torch.Tensor:
    """The local derivative ``f'(z)``, written with the activation ``a = f(z)`` where that is cheaper."""
    if name == "tanh":
        return 1 - a * a  # tanh' = 1 - tanh^2
    if name == "relu":
        return (z > 0).to(z.dtype)
    if name == "sigmoid":
        return a * (1 - a)  # sigma' = sigma (1 - sigma)
    if name == "leaky_relu":
        return torch.full_like(z, LEAKY_SLOPE).masked_fill_(z > 0, 1.0)
    raise ValueError(f"activation: unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}")


shown = checks.shown  # values in messages, shown short (one function for all of lrlab)


def check_hidden(hidden) -> tuple[int, ...]:
    """The hidden layer widths as a tuple, or ``ValueError('hidden: ...')``: a list of at most
    :data:`lrlab.limits.MAX_DEPTH` integers, each in ``[1, limits.MAX_WIDTH]`` (bools are not widths)."""
    if not isinstance(hidden, (list, tuple)):
        raise ValueError(f"hidden: must be a list of layer widths (at most {limits.MAX_DEPTH} integers in "
                         f"[1, {limits.MAX_WIDTH}]), got {shown(hidden)}")
    if len(hidden) > limits.MAX_DEPTH:
        raise ValueError(f"hidden: at most {limits.MAX_DEPTH} hidden layers, got {len(hidden)}")
    for width in hidden:
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= limits.MAX_WIDTH:
            raise ValueError(f"hidden: every layer width must be an integer in [1, {limits.MAX_WIDTH}], "
                             f"got {shown(width)}")
    return tuple(hidden)


def validate_architecture(in_features: int, hidden: Sequence[int], out_features: int, activation: str) -> None:
    if isinstance(in_features, bool) or not (isinstance(in_features, int) and in_features >= 1):
        raise ValueError(f"in_features: must be an integer >= 1, got {shown(in_features)}")
    if isinstance(out_features, bool) or not (isinstance(out_features, int) and out_features >= 1):
        raise ValueError(f"out_features: must be an integer >= 1, got {shown(out_features)}")
    check_hidden(hidden)
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation: unknown activation {shown(activation)}; allowed: {', '.join(ACTIVATIONS)}")


def init_weights(sizes: Sequence[int], activation: str, seed: int) -> list[torch.Tensor]:
    """The documented initialisation, as a list [W1, b1, W2, b2, ...] of float64 CPU tensors."""
    gen = torch.Generator().manual_seed(int(seed))
    tensors = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if activation in ("relu", "leaky_relu"):
            bound = math.sqrt(6.0 / fan_in)
        else:
            bound = math.sqrt(6.0 / (fan_in + fan_out))
        W = (torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        tensors += [W, torch.zeros(fan_out, dtype=torch.float64)]
    return tensors


class MLP(nn.Module):
    """A fully connected network ``in_features -> hidden... -> out_features``.

    >>> net = MLP(2, hidden=(16, 16), out_features=2, activation="tanh", seed=0)
    >>> net(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (16, 16), out_features: int = 2,
                 activation: str = "tanh", seed: int = 0, dtype: torch.dtype = torch.float32,
                 device: str | torch.device = "cpu"):
        super().__init__()
        hidden = tuple(int(h) if isinstance(h, (int,)) else h for h in hidden)
        validate_architecture(in_features, hidden, out_features, activation)
        self.sizes = (in_features, *hidden, out_features)
        self.activation = activation
        self.seed = seed
        self.layers = nn.ModuleList(
            nn.Linear(i, o, dtype=dtype, device=device) for i, o in zip(self.sizes[:-1], self.sizes[1:]))
        values = init_weights(self.sizes, activation, seed)
        self._flat = torch.cat([v.reshape(-1) for v in values]).to(dtype=dtype, device=device)
        self._bind_views()

    # -- the flat parameter buffer -------------------------------------------------
    def _bind_views(self) -> None:
        offset = 0
        for layer in self.layers:
            for name in ("weight", "bias"):
                shape = getattr(layer, name).shape
                size = math.prod(shape)
                view = self._flat[offset: offset + size].view(shape)
                setattr(layer, name, nn.Parameter(view))
                offset += size

    def flat_parameters(self) -> torch.Tensor:
        """All weights and biases as one vector [W1, b1, W2, b2, ...] that *shares memory* with them.

        Re-flattens if the parameters were replaced (e.g. by ``.to(device)``)."""
        first = self.layers[0].weight
        if (self._flat.device != first.device or self._flat.dtype != first.dtype
                or first.data_ptr() != self._flat.data_ptr()):
            self._flat = torch.cat([p.detach().reshape(-1) for p in self.parameters()])
            self._bind_views()
        return self._flat

    def weights_and_biases(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        return ([l.weight for l in self.layers], [l.bias for l in self.layers])

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = activate(layer(x), self.activation)
        return self.layers[-1](x)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}"


def grad_views(model: MLP, flat_grad: torch.Tensor) -> list[torch.Tensor]:
    """Views of ``flat_grad`` shaped like [W1, b1, W2, b2, ...]."""
    views, offset = [], 0
    for p in model.parameters():
        views.append(flat_grad[offset: offset + p.numel()].view(p.shape))
        offset += p.numel()
    return views


def output_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
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
    raise ValueError(f"loss: unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


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
        value, delta = output_loss(out, y, loss)
        for l in range(len(Ws) - 1, -1, -1):
            torch.mm(delta.t(), acts[l], out=grads[2 * l])
            torch.sum(delta, 0, out=grads[2 * l + 1])
            if l > 0:
                delta = torch.mm(delta, Ws[l]).mul_(activation_grad(zs[l - 1], acts[l], act))
        return value, out


def score(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Accuracy (fraction of argmax == label) for classification; R^2 for regression."""
    if kind == "classification":
        return (out.argmax(1) == y).to(out.dtype).mean()
    resid = ((y - out) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum().clamp_min(torch.finfo(out.dtype).tiny)
    return 1 - resid / total
