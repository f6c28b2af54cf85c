"""K multi-layer perceptrons trained as ONE tensor program over a leading K axis.

A :class:`BatchedMLP` holds K models of the same architecture. Their parameters live in
one buffer ``params`` of shape ``[K, P]``: row ``k`` is model ``k``'s flat parameter
vector in :class:`lrlab.nets.MLP`'s order ``[W1, b1, W2, b2, ...]``, so a row can be
copied into an ``MLP`` (and back) with one ``copy_``. Per-layer *views* of the buffer
give ``W_l`` as ``[K, out, in]`` and ``b_l`` as ``[K, out]``.

Forward pass for all K at once (``a_0 = X`` shared by every model, ``@`` batched over K):

    z_l = a_{l-1} @ W_l^T + b_l        (torch.baddbmm: one call for the K models)
    a_l = f(z_l),  output a_L = z_L    (linear output layer)

Backward pass, written out by hand exactly as :func:`lrlab.nets.loss_and_grads` (no
autograd: per-op dispatch, not arithmetic, is the cost on small networks):

    delta_L = dL/dz_L                  (per model: the loss is a mean over that model's batch)
    dW_l = delta_l^T @ a_{l-1}          db_l = sum_i delta_l
    delta_{l-1} = (delta_l @ W_l) * f'(z_{l-1})

The K losses are independent: model k's gradient only depends on model k's weights, so
one model going to ``nan`` never touches another.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from . import nets


class BatchedMLP:
    """K stacked MLPs ``sizes[0] -> ... -> sizes[-1]`` with a flat ``[K, P]`` parameter buffer.

    >>> net = BatchedMLP((2, 16, 16, 2), "tanh", K=8)
    >>> net.params.shape, net.forward(torch.zeros(5, 2)).shape
    (torch.Size([8, 354]), torch.Size([8, 5, 2]))
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", K: int = 1,
                 params: torch.Tensor | None = None, seed: int = 0,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"):
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes: at least (in_features, out_features), got {sizes!r}")
        nets.validate_architecture(sizes[0], sizes[1:-1], sizes[-1], activation)
        if not (isinstance(K, int) and K >= 1):
            raise ValueError(f"K: must be an integer >= 1, got {K!r}")
        self.sizes, self.activation, self.K = sizes, activation, K
        self.shapes = []  # [(out, in), (out,), ...] in the flat order W1, b1, W2, b2, ...
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.shapes += [(fan_out, fan_in), (fan_out,)]
        self.offsets = [0]
        for shape in self.shapes:
            self.offsets.append(self.offsets[-1] + math.prod(shape))
        self.num_parameters = self.offsets[-1]
        if params is None:  # K copies of the documented initialisation (lrlab.nets.init_weights)
            flat = torch.cat([v.reshape(-1) for v in nets.init_weights(sizes, activation, seed)])
            params = flat.to(dtype=dtype, device=device).expand(K, -1).clone()
        if params.shape != (K, self.num_parameters):
            raise ValueError(f"params: must have shape [K={K}, P={self.num_parameters}], got {tuple(params.shape)}")
        self.params = params

    @classmethod
    def from_mlp(cls, model: nets.MLP, K: int) -> "BatchedMLP":
        """K copies of ``model``'s current weights (the race: same initial weights for every contender)."""
        flat = model.flat_parameters().detach()
        return cls(model.sizes, model.activation, K, flat.expand(K, -1).clone())

    # -- views -------------------------------------------------------------------
    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views of a ``[K, P]`` buffer shaped ``[K, out, in]`` (weights) and ``[K, out]`` (biases)."""
        K = flat.shape[0]
        return [flat[:, a:b].view(K, *shape) for a, b, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    def weights_and_biases(self, flat: torch.Tensor | None = None):
        v = self.views(self.params if flat is None else flat)
        return v[0::2], v[1::2]

    def to_mlp(self, k: int, seed: int = 0) -> nets.MLP:
        """Model ``k`` as an ordinary :class:`lrlab.nets.MLP` (its own copy of the weights)."""
        p = self.params
        model = nets.MLP(self.sizes[0], self.sizes[1:-1], self.sizes[-1], self.activation, seed=seed,
                         dtype=p.dtype, device=p.device)
        with torch.no_grad():
            model.flat_parameters().copy_(p[k])
        return model

    # -- forward -----------------------------------------------------------------
    def _layers(self, X: torch.Tensor, flat: torch.Tensor):
        """Forward pass keeping every ``z_l`` and ``a_l``; returns ``(zs, acts, out)``."""
        Ws, bs = self.weights_and_biases(flat)
        K = flat.shape[0]
        a = X if X.dim() == 3 else X.unsqueeze(0).expand(K, *X.shape)
        zs, acts = [], [a]
        for W, b in zip(Ws[:-1], bs[:-1]):
            z = torch.baddbmm(b.unsqueeze(1), a, W.transpose(1, 2))
            a = activate(z, self.activation)
            zs.append(z)
            acts.append(a)
        out = torch.baddbmm(bs[-1].unsqueeze(1), a, Ws[-1].transpose(1, 2))
        return zs, acts, out

    def forward(self, X: torch.Tensor, flat: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``[K, n, out]`` of the K models on inputs ``X`` [n, in] (shared) or [K, n, in]."""
        with torch.no_grad():
            return self._layers(X, self.params if flat is None else flat)[2]

    __call__ = forward

    # -- backward ----------------------------------------------------------------
    def loss_and_grads(self, X: torch.Tensor, y: torch.Tensor, loss: str,
                       grad: torch.Tensor | None = None, flat: torch.Tensor | None = None):
        """Forward, K losses and the hand-written backward; writes ``dL_k/dtheta_k`` into ``grad`` [K, P].

        Returns ``(loss [K], out [K, n, c])``.
        """
        flat = self.params if flat is None else flat
        with torch.no_grad():
            Ws, _ = self.weights_and_biases(flat)
            zs, acts, out = self._layers(X, flat)
            value, delta = output_loss(out, y, loss)
            K = flat.shape[0]
            pieces = [None] * (2 * len(Ws))
            for l in range(len(Ws) - 1, -1, -1):
                pieces[2 * l] = torch.bmm(delta.transpose(1, 2), acts[l]).view(K, -1)
                pieces[2 * l + 1] = delta.sum(1)
                if l > 0:
                    delta = torch.bmm(delta, Ws[l]).mul_(activation_grad(zs[l - 1], acts[l], self.activation))
            if grad is None:
                grad = torch.empty_like(flat)
            torch.cat(pieces, 1, out=grad)
            return value, out


def activate(z: torch.Tensor, name: str) -> torch.Tensor:
    """``f(z)`` as :func:`lrlab.nets.activate`, except tanh in float32, computed as
    ``tanh(z) = 2 sigmoid(2 z) - 1`` (equal to within float32 rounding, ~3x faster on CPU: torch's
    float32 tanh is not vectorised there). float64 uses ``torch.tanh`` (bit-identical to the engine)."""
    if name == "tanh" and z.dtype == torch.float32:
        return torch.sigmoid(z * 2).mul_(2).sub_(1)
    return nets.activate(z, name)


def activation_grad(z: torch.Tensor, a: torch.Tensor, name: str) -> torch.Tensor:
    """``f'(z)`` as :func:`lrlab.nets.activation_grad`; tanh's ``1 - a^2`` computed in place (no temporaries)."""
    if name == "tanh":
        return torch.mul(a, a).neg_().add_(1)
    return nets.activation_grad(z, a, name)


def output_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-model loss ``[K]`` and ``dL_k/d(out_k)`` for outputs ``out`` [K, n, c] and shared targets ``y``.

    cross_entropy: ``L_k = -mean_i log softmax(out_k,i)[y_i]``,  ``dL_k/dout_k = (softmax(out_k) - onehot(y)) / n``
    mse:           ``L_k = mean_ij (out_k,ij - t_ij)^2``,       ``dL_k/dout_k = 2 (out_k - t) / (n * c)``
    (as :func:`lrlab.nets.output_loss`, once per model).
    """
    K, n, c = out.shape
    if loss == "cross_entropy":
        logp = torch.log_softmax(out, dim=2)
        index = y.view(1, n, 1).expand(K, n, 1)
        value = -logp.gather(2, index).view(K, n).mean(1)
        dout = logp.exp_()
        dout.scatter_add_(2, index, torch.full((1, 1, 1), -1.0, dtype=out.dtype, device=out.device).expand(K, n, 1))
        return value, dout.div_(n)
    if loss == "mse":
        target = y if y.dtype.is_floating_point else torch.nn.functional.one_hot(y, c).to(out.dtype)
        diff = out - target.view(1, n, c)
        return (diff * diff).mean((1, 2)), diff.mul_(2.0 / (n * c))
    raise ValueError(f"loss: unknown loss {loss!r}; allowed: {', '.join(nets.LOSSES)}")


def score(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-model accuracy ``[K]`` (fraction argmax == label) or R^2 (regression), as :func:`lrlab.nets.score`."""
    if kind == "classification":
        return (out.argmax(2) == y.view(1, -1)).to(out.dtype).mean(1)
    resid = ((y.view(1, *y.shape) - out) ** 2).sum((1, 2))
    total = ((y - y.mean()) ** 2).sum().clamp_min(torch.finfo(out.dtype).tiny)
    return 1 - resid / total
