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

For K > 1 the same sums run transposed ("feature-major": ``A_l = a_l^T`` is ``[K, h, n]``,
``Z_l = W_l A_{l-1} + b_l``), so that the thin first and last layers (2 inputs, 2 outputs)
are efficient products, the first layer's for all K models a single 2-D one. On a CPU the
models run in chunks that stay in the cache, and the activations live in reused work
buffers (mapping fresh memory for them at every step costs as much as the sums).

The K losses are independent: model k's gradient only depends on model k's weights, so
one model going to ``nan`` never touches another.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from . import nets
from .optim import scalar as _scalar


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

    def _operands(self, flat: torch.Tensor):
        """Cached per buffer (its address, shape, strides, dtype): the views of :meth:`views` and the
        operands of the products. K = 1 (row-major, the engine's own 2-D calls): ``(b, W^T)`` as
        ``[out]``, ``[in, out]`` and ``W`` for the backward. K > 1 (feature-major): ``(b, W)`` as
        ``[K, out, 1]``, ``[K, out, in]`` and ``W^T`` ``[K, in, out]`` for the backward. Building
        views costs more Python time than the products of a small network; the cached views keep
        their buffer alive, so an address cannot be reused by another buffer while cached."""
        key = (flat.data_ptr(), tuple(flat.shape), tuple(flat.stride()), flat.dtype, flat.device)
        cache = self.__dict__.setdefault("_operand_cache", {})
        ops = cache.get(key)
        if ops is None:
            if len(cache) >= 64:
                cache.clear()
            v = self.views(flat)
            Ws, bs = v[0::2], v[1::2]
            if flat.shape[0] == 1:
                fwd = [(b[0], W[0].t()) for W, b in zip(Ws, bs)]
                back = [W[0] for W in Ws]
                v2 = [x[0] for x in v]
            else:
                fwd = [(b.unsqueeze(2), W) for W, b in zip(Ws, bs)]
                back = [W.transpose(1, 2) for W in Ws]
                v2 = v
            ops = cache[key] = (v2, fwd, back)
        return ops

    def _buffer(self, tag, key: tuple, shape: tuple, like: torch.Tensor) -> torch.Tensor:
        """A reusable work buffer (``tag`` None: a fresh tensor). Buffers of one ``tag`` are
        overwritten by the next pass with that tag; reusing them spares the allocator from mapping
        fresh pages for every activation of every step (on a CPU that costs as much as the sums)."""
        if tag is None:
            return torch.empty(shape, dtype=like.dtype, device=like.device)
        ws = self.__dict__.setdefault("_workspace", {})
        full = (tag, key, shape, like.dtype, like.device)
        buf = ws.get(full)
        if buf is None:
            if len(ws) >= 512:
                ws.clear()
            buf = ws[full] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buf

    # -- forward -----------------------------------------------------------------
    def _layers(self, X: torch.Tensor, flat: torch.Tensor, tag=None) -> "Layers":
        """Forward pass keeping every ``z_l`` and ``a_l`` for the backward (:class:`Layers`).

        K = 1: the engine's own 2-D ``addmm`` per layer, activations ``[n, h]``. K > 1:
        feature-major, ``Z_l = W_l A_{l-1} + b_l`` with ``A_l = a_l^T`` as ``[K, h, n]``, one
        ``baddbmm`` per layer for the K models (the shared input ``X^T`` is broadcast over K,
        not copied). This layout keeps the thin products (2 inputs, 2 outputs) fast. float32
        tanh is ``2 sigmoid(2 z) - 1`` with ``2 z`` from the affine map itself (``2 W`` and
        ``2 b``, exact in binary floating point) and keeps no ``z_l`` (``zs`` holds None): its
        derivative is written with ``a_l``. ``tag``: reuse that tag's work buffers."""
        _, fwd, _ = self._operands(flat)
        K = flat.shape[0]
        sigmoid_tanh = self.activation == "tanh" and flat.dtype == torch.float32
        if K == 1:
            a = X[0] if X.dim() == 3 else X
            zs, acts = [], [a]
            for b, Wt in fwd[:-1]:
                if sigmoid_tanh:
                    a = _tanh_from_sigmoid_(torch.sigmoid_(torch.addmm(b, a, Wt, beta=2.0, alpha=2.0)))
                    z = None
                else:
                    z = torch.addmm(b, a, Wt)
                    a = activate(z, self.activation)
                zs.append(z)
                acts.append(a)
            b, Wt = fwd[-1]
            return Layers(False, zs, acts, torch.addmm(b, a, Wt).unsqueeze(0))
        n = X.shape[-2]
        shared = X.dim() == 2
        a = _transposed(X) if shared else X.transpose(1, 2)  # [d, n] shared by the K models, or [K, d, n]
        zs, acts = [], [a]
        if shared:
            a = a.expand(K, *a.shape)
        key = (K, n)  # work buffers: the chunks of one tag share theirs
        if sigmoid_tanh:  # 2 W and 2 b for 2 z (baddbmm's beta = alpha = 2 costs an extra pass)
            # used within this pass only, so a work buffer even without a tag (a fresh one each call
            # would also fill the operand cache with views of dead buffers)
            doubled = torch.mul(flat, 2.0, out=self._buffer(tag or "scratch", ("2 theta", K), tuple(flat.shape), flat))
            fwd2 = self._operands(doubled)[1]
        for l, (b, W) in enumerate(fwd):
            Z = self._buffer(tag, key + (l,), (K, W.shape[1], n), flat)
            if l == len(fwd) - 1:
                torch.baddbmm(b, W, a, out=Z)
                return Layers(True, zs, acts, Z.transpose(1, 2))
            if sigmoid_tanh:  # tanh(z) = 2 sigmoid(2 z) - 1, in place in the buffer
                torch.baddbmm(fwd2[l][0], fwd2[l][1], a, out=Z)
                a = _tanh_from_sigmoid_(torch.sigmoid_(Z))
                z = None
            else:
                z = torch.baddbmm(b, W, a, out=Z)
                a = activate(z, self.activation)
            zs.append(z)
            acts.append(a)

    def forward(self, X: torch.Tensor, flat: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``[K, n, out]`` of the K models on inputs ``X`` [n, in] (shared) or [K, n, in]."""
        flat = self.params if flat is None else flat
        with torch.no_grad():
            outs = [self._layers(X if X.dim() == 2 else X[rows], flat[rows]).out
                    for rows in self.chunks(X.shape[-2], flat.shape[0])]
            return outs[0] if len(outs) == 1 else torch.cat(outs)

    __call__ = forward

    def evaluate(self, X: torch.Tensor, y: torch.Tensor, loss: str, kind: str, flat: torch.Tensor | None = None,
                 split: int = 0, tag=None, y_all: torch.Tensor | None = None):
        """Loss ``[K]`` and score ``[K]`` (accuracy or R^2) of the K models on inputs ``X[split:]``
        and targets ``y``, chunked as :meth:`chunks`; no gradient.

        ``split > 0``: ``X`` holds other inputs first (the race: training inputs, then test
        inputs, in one forward pass); returns ``(loss, score, kept)``, ``kept`` being the forward
        pass of the first ``split`` inputs per chunk (:meth:`Layers.head`), which
        :meth:`loss_and_grads` accepts as ``layers`` while ``flat`` has not changed (and, with a
        ``tag``, until the next pass with that tag overwrites its work buffers). With
        ``y_all`` (the targets of every input of ``X``) and two classes under cross-entropy,
        one pass over all the outputs also gives the first inputs' loss, score and ``dL/dout``
        (:func:`two_class_split`), kept for that step."""
        flat = self.params if flat is None else flat
        values, scores, kept = [], [], []
        with torch.no_grad():
            for rows in self.chunks(X.shape[-2], flat.shape[0]):
                f = flat[rows]
                layers = self._layers(X if X.dim() == 2 else X[rows], f, tag)
                if split and y_all is not None and _is_two_class(layers.out, y_all, loss, kind):
                    head_stats, (value, acc) = two_class_split(layers.out, y_all, split)
                    values.append(value)
                    scores.append(acc)
                    kept.append((rows, layers.head(split, head_stats)))
                    continue
                out = layers.out[:, split:]
                values.append(output_loss(out, y, loss, with_grad=False)[0])
                scores.append(score(out, y, kind))
                if split:
                    kept.append((rows, layers.head(split)))
        value, acc = (values[0], scores[0]) if len(values) == 1 else (torch.cat(values), torch.cat(scores))
        return (value, acc, kept) if split else (value, acc)

    # -- backward ----------------------------------------------------------------
    #: models per chunk: about this many elements per hidden activation tensor (2 MiB of float32).
    #: Measured on a 2-core CPU with 2 MiB of L2 per core (``lrlab bench --only race``): a
    #: 256-model full-batch epoch took 13.7 ms in chunks of 1 MiB, 12.5 ms of 2 MiB, 13.6 ms
    #: of 4 MiB, 14.2 ms in one piece (fewer, larger calls against activations that stay cached).
    CHUNK_ELEMENTS = 1 << 19

    def chunk_rows(self, n: int, K: int) -> int:
        """How many models one chunk holds for a batch of ``n`` inputs (all K on a GPU)."""
        if self.params.device.type != "cpu":
            return K
        width = max(self.sizes[1:])
        return max(1, min(K, self.CHUNK_ELEMENTS // max(1, n * width)))

    def chunks(self, n: int, K: int) -> list[slice]:
        """The row ranges of the chunks for ``K`` models on ``n`` inputs (one: all K)."""
        cache = self.__dict__.setdefault("_chunks", {})
        key = (n, K, self.CHUNK_ELEMENTS)
        if key not in cache:
            C = self.chunk_rows(n, K)
            cache[key] = [slice(s, min(K, s + C)) for s in range(0, K, C)]
        return cache[key]

    def loss_and_grads(self, X: torch.Tensor, y: torch.Tensor, loss: str,
                       grad: torch.Tensor | None = None, flat: torch.Tensor | None = None,
                       layers: list | None = None, tag=None, kind: str | None = None):
        """Forward, K losses and the hand-written backward; writes ``dL_k/dtheta_k`` into ``grad`` [K, P].

        Returns ``(loss [K], out [K, n, c])``, or ``(loss [K], score [K])`` when ``kind``
        (``classification``/``regression``) is given. ``layers``: this very forward pass on
        ``X`` with ``flat``, already computed: ``[(rows, Layers), ...]`` per chunk, as kept
        by :meth:`evaluate`. ``tag``: reuse that tag's work buffers (the returned ``out`` is
        then overwritten by the next pass with the tag). On a CPU the K models run in chunks of
        :meth:`chunk_rows` (every product and elementwise op is per model; the BLAS may round a
        product in the last bit differently at another batch position, nothing more).
        """
        flat = self.params if flat is None else flat
        if grad is None:
            grad = torch.empty_like(flat)
        if layers is None:
            layers = [(rows, None) for rows in self.chunks(X.shape[-2], flat.shape[0])]
        values, outs = [], []
        for rows, kept in layers:
            f = flat[rows]
            Xr = X if X.dim() == 2 else X[rows]
            with torch.no_grad():
                chunk = self._layers(Xr, f, tag) if kept is None else kept
                if kind is not None and chunk.stats is not None:  # loss, score and dL/dout kept by evaluate
                    value, acc, delta = chunk.stats
                    self._backward(chunk, y, loss, grad[rows], f, tag, delta)
                    values.append(value)
                    outs.append(acc)
                    continue
                value, out = self._backward(chunk, y, loss, grad[rows], f, tag)
            values.append(value)
            outs.append(out if kind is None else score(out, y, kind))
        if len(values) == 1:
            return values[0], outs[0]
        return torch.cat(values), torch.cat(outs)

    def _backward(self, layers: "Layers", y, loss, grad, flat, tag=None, delta=None):
        """The hand-written backward of one chunk from its forward pass; returns ``(loss, out)``
        (``delta``: ``dL/dout`` already known; the loss is then not computed and None).

        Feature-major (K > 1), with ``D_l = delta_l^T`` ``[K, h_l, n]``:
        ``dW_l = D_l A_{l-1}^T``, ``db_l = sum_i D_l``, ``D_{l-1} = (W_l^T D_l) * f'(Z_{l-1})``;
        the first layer's ``dW_1 = D_1 X`` for all K models is one 2-D product."""
        zs, acts, out = layers.zs, layers.acts, layers.out
        value = None
        if delta is None:
            value, delta = output_loss(out, y, loss)
        _, _, Wback = self._operands(flat)
        K = flat.shape[0]
        if not layers.feature_major:  # K = 1: 2-D products written straight into the gradient buffer (as the engine)
            views = self._operands(grad)[0]
            delta = delta[0]
            for l in range(len(Wback) - 1, -1, -1):
                torch.mm(delta.t(), acts[l], out=views[2 * l])
                torch.sum(delta, 0, out=views[2 * l + 1])
                if l > 0:
                    delta = torch.mm(delta, Wback[l])
                    if self.activation == "tanh":  # delta * (1 - a^2) in one pass, in place
                        torch.ops.aten.tanh_backward.grad_input(delta, acts[l], grad_input=delta)
                    else:
                        delta.mul_(activation_grad(zs[l - 1], acts[l], self.activation))
            return value, out
        D = delta.transpose(1, 2)  # [K, c, n]
        n = D.shape[2]
        pieces = [None] * (2 * len(Wback))
        # two classes under cross-entropy: D = [-g; g] (g = dL/dout_1), so the output layer's
        # products are a matrix-vector product and an outer product (a 2-row product wastes the BLAS)
        two_class = loss == "cross_entropy" and D.shape[1] == 2 and not y.dtype.is_floating_point
        for l in range(len(Wback) - 1, -1, -1):
            A = acts[l]
            last_two = two_class and l == len(Wback) - 1 and l > 0
            if last_two:  # dW_L = [-g; g] A^T: one column sum_i a_i g_i per model, and its negative
                g = D[:, 1]  # [K, n]
                gA = torch.bmm(g.unsqueeze(1), A.transpose(1, 2))  # [K, 1, h] (a row: faster than A g)
                pieces[2 * l] = torch.cat([gA.neg(), gA], 1).view(K, -1)
            elif l == 0 and A.dim() == 2:  # shared input X^T [d, n]: dW_1^T = X^T D_1^T for the K models at once
                h = D.shape[1]
                pieces[0] = torch.mm(A, D.reshape(K * h, n).t()).t().reshape(K, -1)
            else:
                pieces[2 * l] = torch.bmm(D, A.transpose(1, 2)).view(K, -1)
            pieces[2 * l + 1] = D.sum(2)
            if l > 0:
                buffer = self._buffer(tag, ("delta", K, n, l), (K, A.shape[1], n), flat)
                if last_two:  # W_L^T [-g; g] = (w_1 - w_0) g^T, an outer product
                    u = Wback[l][:, :, 1] - Wback[l][:, :, 0]  # [K, h]
                    D = torch.mul(u.unsqueeze(2), g.unsqueeze(1), out=buffer)
                else:
                    D = torch.bmm(Wback[l], D, out=buffer)
                if self.activation == "tanh":  # D * (1 - a^2) in one pass, in place
                    torch.ops.aten.tanh_backward.grad_input(D, A, grad_input=D)
                else:
                    D.mul_(activation_grad(zs[l - 1], A, self.activation))
        torch.cat(pieces, 1, out=grad)
        return value, out


class Layers:
    """One forward pass kept for the backward: ``zs`` (None where unused), ``acts`` (``acts[0]``
    is the input), ``out`` ``[K, n, c]``. ``feature_major``: activations are ``[K, h, n]`` (K > 1;
    the shared input as ``X^T`` ``[d, n]``), else ``[n, h]`` (K = 1). ``stats``: ``(loss, score,
    dL/dout)`` of these outputs when already computed (:meth:`BatchedMLP.evaluate`)."""

    __slots__ = ("feature_major", "zs", "acts", "out", "stats")

    def __init__(self, feature_major: bool, zs: list, acts: list, out: torch.Tensor, stats: tuple | None = None):
        self.feature_major, self.zs, self.acts, self.out, self.stats = feature_major, zs, acts, out, stats

    def head(self, n: int, stats: tuple | None = None) -> "Layers":
        """The same pass restricted to its first ``n`` inputs (views, no copy)."""
        cut = (lambda t: None if t is None else t[..., :n]) if self.feature_major else \
            (lambda t: None if t is None else t[:n])
        return Layers(self.feature_major, [cut(z) for z in self.zs], [cut(a) for a in self.acts], self.out[:, :n],
                      stats)


def activate(z: torch.Tensor, name: str) -> torch.Tensor:
    """``f(z)`` as :func:`lrlab.nets.activate`, except tanh in float32, computed as
    ``tanh(z) = 2 sigmoid(2 z) - 1`` (equal to within float32 rounding, ~3x faster on CPU: torch's
    float32 tanh is not vectorised there). float64 uses ``torch.tanh`` (bit-identical to the engine)."""
    if name == "tanh" and z.dtype == torch.float32:
        return _tanh_from_sigmoid_(torch.sigmoid(z * 2))
    return nets.activate(z, name)


def _tanh_from_sigmoid_(s: torch.Tensor) -> torch.Tensor:
    """``2 s - 1`` in place, in one pass (``-1 + 2 s``: ``2 s`` is exact, so the same bits as
    ``s.mul_(2).sub_(1)``, which reads and writes the tensor twice)."""
    return torch.add(_scalar(-1, s), s, alpha=2, out=s)


_ONE = {}


def _one(like: torch.Tensor) -> torch.Tensor:
    """A cached 0-dim tensor 1 of ``like``'s dtype and device."""
    key = (like.dtype, like.device)
    if key not in _ONE:
        _ONE[key] = torch.ones((), dtype=like.dtype, device=like.device)
    return _ONE[key]


def activation_grad(z: torch.Tensor | None, a: torch.Tensor, name: str) -> torch.Tensor:
    """``f'(z)`` as :func:`lrlab.nets.activation_grad`; tanh's ``1 - a^2`` in one ``addcmul`` (``z`` unused)."""
    if name == "tanh":
        return torch.addcmul(_one(a), a, a, value=-1)
    return nets.activation_grad(z, a, name)


def _two_class_margin(out: torch.Tensor, y: torch.Tensor):
    """For c = 2: the margin ``d = out_1 - out_0`` and the sign ``s = 1 - 2 y``, rows padded with
    zeros to a multiple of 64 (``[K, n_pad]``, ``[n_pad]``).

    The padding keeps every model's values independent of K: torch's elementwise kernels run
    the vectorised code on whole vectors and scalar code on the tail of the buffer, and the two
    may differ in the last bit for exp/log; with rows of whole vectors no element of any row
    lies in a tail, so model k's numbers do not depend on how many models run beside it."""
    K, n, _ = out.shape
    n_pad = -(-n // 64) * 64
    d = out.new_zeros(K, n_pad)
    torch.sub(out[..., 1], out[..., 0], out=d[:, :n])
    return d, _labels(y, out.dtype, n_pad)[0]


def _is_two_class(out: torch.Tensor, y: torch.Tensor, loss: str, kind: str) -> bool:
    return loss == "cross_entropy" and kind == "classification" and out.shape[2] == 2 and not y.dtype.is_floating_point


def two_class_split(out: torch.Tensor, y: torch.Tensor, split: int):
    """Two classes, cross-entropy: loss, accuracy and ``dL/dout`` of inputs ``[0, split)`` and
    loss and accuracy of inputs ``[split, n)``, from ONE pass over the outputs ``[K, n, 2]``
    (targets ``y`` [n]); returns ``((loss, acc, dout), (loss, acc))``.

    The same numbers as :func:`output_loss` and :func:`score` on each part: per input,
    ``softplus((1 - 2 y) d)`` with the margin ``d = out_1 - out_0`` and "correct" as in
    :func:`score`; each part's mean over its own inputs; ``dL/dout_1 = (sigmoid(d) - y) / split
    = -dL/dout_0`` for the first part (feature-major, as :func:`output_loss` returns it)."""
    K, n, _ = out.shape
    n_pad = -(-n // 64) * 64
    sign, is_one, y_float = _labels(y, out.dtype, n_pad)
    o0, o1 = out.unbind(2)
    d = out.new_zeros(K, n_pad)  # the margins (see _two_class_margin)
    torch.sub(o1, o0, out=d[:, :n])
    per_input = torch.nn.functional.softplus(d * sign)
    correct = torch.ge(o0, o1).logical_or_(o0 != o0).ne_(is_one)
    first, rest = _scalar(split, d), _scalar(n - split, d)
    losses = (per_input[:, :split].sum(1).div_(first), per_input[:, split:n].sum(1).div_(rest))
    accs = (correct[:, :split].sum(1, dtype=out.dtype).div_(first), correct[:, split:].sum(1, dtype=out.dtype).div_(rest))
    return (losses[0], accs[0], _two_class_dout(d, y, split, y_float)), (losses[1], accs[1])


def _two_class_dout(d: torch.Tensor, y: torch.Tensor, n: int, y_float: torch.Tensor | None = None) -> torch.Tensor:
    """``dL/dout`` of the first ``n`` inputs from the margins ``d`` (rows of :func:`_two_class_margin`)
    and their targets ``y[:n]``: ``dL/dout_1 = (sigmoid(d) - y) / n = -dL/dout_0``, written
    feature-major (``[K, 2, n]``) and returned as its ``[K, n, 2]`` view."""
    dout = d.new_empty(d.shape[0], 2, n)
    if y_float is None:
        y_float = _labels(y, d.dtype, d.shape[1])[2]
    g = torch.sigmoid(d[:, :n], out=dout[:, 1]).sub_(y_float[:n]).div_(_scalar(n, d))
    torch.neg(g, out=dout[:, 0])
    return dout.transpose(1, 2)


_TRANSPOSED: list = []  # [(X, version, X^T contiguous)], the last few inputs seen


def _transposed(X: torch.Tensor) -> torch.Tensor:
    """``X^T`` as a contiguous ``[d, n]`` tensor (a strided transpose makes the first layer's
    products 2-3x slower), cached for the last few inputs (the full-batch race passes the same
    ones every epoch; ``_version`` catches in-place changes)."""
    for entry in _TRANSPOSED:
        if entry[0] is X and entry[1] == X._version:
            return entry[2]
    value = X.t().contiguous()
    _TRANSPOSED.insert(0, (X, X._version, value))
    del _TRANSPOSED[4:]
    return value


_LABELS: list = []  # [(y, dtype, n_pad, (sign, is_one))], the last few label tensors seen


def _labels(y: torch.Tensor, dtype: torch.dtype, n_pad: int):
    """``(s, y == 1)`` for labels ``y``: the sign ``s = 1 - 2 y`` zero-padded to ``n_pad`` and the
    booleans, cached for the last few label tensors (the full-batch race passes the same train
    and test labels every epoch; the cache holds them, so an identical object is the same data
    unless modified in place, which ``_version`` catches)."""
    for entry in _LABELS:
        if entry[0] is y and entry[1] == dtype and entry[2] == n_pad and entry[3] == y._version:
            return entry[4]
    n = y.shape[0]
    sign = torch.zeros(n_pad, dtype=dtype, device=y.device)
    sign[:n].copy_(1 - 2 * y)
    value = (sign, (y == 1).view(1, -1), y.to(dtype))
    _LABELS.insert(0, (y, dtype, n_pad, y._version, value))
    del _LABELS[4:]
    return value


def output_loss(out: torch.Tensor, y: torch.Tensor, loss: str,
                with_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-model loss ``[K]`` and ``dL_k/d(out_k)`` for outputs ``out`` [K, n, c] and shared targets ``y``.

    cross_entropy: ``L_k = -mean_i log softmax(out_k,i)[y_i]``,  ``dL_k/dout_k = (softmax(out_k) - onehot(y)) / n``
    mse:           ``L_k = mean_ij (out_k,ij - t_ij)^2``,       ``dL_k/dout_k = 2 (out_k - t) / (n * c)``
    (as :func:`lrlab.nets.output_loss`, once per model). ``with_grad=False``: the loss only (None).

    Two classes (the same values, written without a softmax over a dimension of 2, which
    torch runs slowly): with the margin ``d = out_1 - out_0``,
    ``-log softmax(out)[y] = softplus((1 - 2 y) d)``, ``softmax(out)_1 = sigmoid(d)``, so
    ``dL/dout_1 = (sigmoid(d) - y) / n = -dL/dout_0``.
    """
    K, n, c = out.shape
    if loss == "cross_entropy":
        if c == 2 and not y.dtype.is_floating_point:
            d, s = _two_class_margin(out, y)
            count = _scalar(n, d)
            value = torch.nn.functional.softplus(d.mul_(s) if not with_grad else d * s)[:, :n].sum(1).div_(count)
            if not with_grad:
                return value, None
            return value, _two_class_dout(d, y, n)
        logp = torch.log_softmax(out, dim=2)
        index = y.view(1, n, 1).expand(K, n, 1)
        value = -logp.gather(2, index).view(K, n).mean(1)
        if not with_grad:
            return value, None
        dout = logp.exp_()
        dout.scatter_add_(2, index, torch.full((1, 1, 1), -1.0, dtype=out.dtype, device=out.device).expand(K, n, 1))
        return value, dout.div_(n)
    if loss == "mse":
        target = y if y.dtype.is_floating_point else torch.nn.functional.one_hot(y, c).to(out.dtype)
        diff = out - target.view(1, n, c)
        value = (diff * diff).mean((1, 2))
        return value, (diff.mul_(2.0 / (n * c)) if with_grad else None)
    raise ValueError(f"loss: unknown loss {loss!r}; allowed: {', '.join(nets.LOSSES)}")


def score(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-model accuracy ``[K]`` (fraction argmax == label) or R^2 (regression), as :func:`lrlab.nets.score`.

    Two classes: argmax (the first maximum; a nan counts as the maximum) is class 0 exactly
    when ``out_0 >= out_1`` or ``out_0`` is nan, so ``correct = (that) != (y == 1)`` — the same
    count without torch's slow reduction over a dimension of 2."""
    if kind == "classification":
        n = out.shape[1]
        if out.shape[2] == 2:
            o0, o1 = out[..., 0], out[..., 1]
            says_0 = torch.ge(o0, o1).logical_or_(o0 != o0)
            return says_0.ne_(_labels(y, out.dtype, -(-n // 64) * 64)[1]).sum(1, dtype=out.dtype).div_(_scalar(n, out))
        return (out.argmax(2) == y.view(1, -1)).to(out.dtype).mean(1)
    resid = ((y.view(1, *y.shape) - out) ** 2).sum((1, 2))
    total = ((y - y.mean()) ** 2).sum().clamp_min(torch.finfo(out.dtype).tiny)
    return 1 - resid / total
