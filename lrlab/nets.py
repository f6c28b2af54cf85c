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

The engine's forward and backward pass for one or K such networks, written out by hand,
its losses and scores are in :mod:`lrlab.batched` (checked against autograd in the tests).
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
                 device: str | torch.device = "cpu", flat: torch.Tensor | None = None):
        super().__init__()
        hidden = tuple(int(h) if isinstance(h, (int,)) else h for h in hidden)
        validate_architecture(in_features, hidden, out_features, activation)
        self.sizes = (in_features, *hidden, out_features)
        self.activation = activation
        self.seed = seed
        if flat is not None:  # the weights live in ``flat`` (a row of the engine's buffer): no copy, no init
            dtype, device = flat.dtype, flat.device
        with torch.device("meta"):  # shapes only: the values are bound to views of the flat buffer below
            self.layers = nn.ModuleList(nn.Linear(i, o, dtype=dtype) for i, o in zip(self.sizes[:-1], self.sizes[1:]))
        if flat is None:
            values = init_weights(self.sizes, activation, seed)
            flat = torch.cat([v.reshape(-1) for v in values]).to(dtype=dtype, device=device)
        elif flat.shape != (self.num_parameters_of(self.sizes),):
            raise ValueError(f"flat: expected {self.num_parameters_of(self.sizes)} parameters for sizes "
                             f"{self.sizes}, got shape {tuple(flat.shape)}")
        self._flat = flat
        self._bind_views()

    @staticmethod
    def num_parameters_of(sizes: Sequence[int]) -> int:
        """Weights and biases of a network with layer widths ``sizes``."""
        return sum((i + 1) * o for i, o in zip(sizes[:-1], sizes[1:]))

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
