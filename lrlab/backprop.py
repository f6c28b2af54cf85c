"""Backpropagation written out by hand, one layer at a time, with every number kept.

The algorithm (layers ``l = 1 .. L``, inputs ``a_0 = x``, activation ``f``; the output
layer is linear, as in :class:`lrlab.nets.MLP`)::

    forward    z_l = a_{l-1} W_l^T + b_l          (pre-activation)
               a_l = f(z_l)    for l < L,  a_L = z_L   (the output layer is linear)
    loss       cross_entropy: L = -1/n sum_i log softmax(z_L)_i[y_i]
               mse:           L = 1/(n c) sum_ij (z_L - t)_ij^2   (t = onehot(y), or y for regression)
    backward   delta_L = dL/dz_L = (softmax(z_L) - onehot(y)) / n      cross_entropy
                                 = 2 (z_L - t) / (n c)                  mse
               dW_l = delta_l^T a_{l-1},   db_l = sum_i delta_l[i]     (the gradients)
               delta_{l-1} = (delta_l W_l) * f'(z_{l-1})               (the chain rule)
    update     W_l <- W_l - lr dW_l,   b_l <- b_l - lr db_l

Rows are samples (``x`` is ``[n, in_features]``), so ``a W^T`` is the batched form of the
textbook ``W a``. :func:`trace` runs exactly these lines and keeps every ``z``, ``a``,
``delta``, ``dW`` and ``db`` in a :class:`Trace`; :meth:`Trace.check` compares the
gradients with torch autograd and with central finite differences; :func:`step` takes one
plain gradient-descent step; :func:`descend` repeats the cycle until the loss stops falling.

>>> import torch
>>> from lrlab.nets import MLP
>>> net = MLP(2, hidden=(2,), out_features=1, activation="sigmoid", dtype=torch.float64)
>>> t = trace(net, torch.tensor([[0.05, 0.10]], dtype=torch.float64),
...           torch.tensor([[0.01]], dtype=torch.float64), loss="mse")
>>> errors = t.check()
>>> errors["autograd"] < 1e-10 and errors["finite_differences"] < 1e-6
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .fmt import num
from .nets import ACTIVATIONS, LEAKY_SLOPE, LOSSES, MLP

__all__ = ["Layer", "Trace", "Descent", "trace", "step", "descend", "loss_value", "predict",
           "stages", "describe", "relative_error", "f", "f_prime"]


# -- the activation functions, each beside its local derivative ----------------------------

def f(z: torch.Tensor, activation: str) -> torch.Tensor:
    """The activation ``a = f(z)``."""
    if activation == "tanh":
        return torch.tanh(z)                                   # tanh(z)
    if activation == "sigmoid":
        return 1 / (1 + torch.exp(-z))                         # sigma(z) = 1 / (1 + e^-z)
    if activation == "relu":
        return torch.where(z > 0, z, 0.0)                      # max(0, z)
    if activation == "leaky_relu":
        return torch.where(z > 0, z, LEAKY_SLOPE * z)          # z if z > 0 else 0.01 z
    raise ValueError(f"activation: one of {', '.join(ACTIVATIONS)}, got {activation!r}")


def f_prime(z: torch.Tensor, a: torch.Tensor, activation: str) -> torch.Tensor:
    """The local derivative ``f'(z)``, written with ``a = f(z)`` where that is how the textbook writes it."""
    if activation == "tanh":
        return 1 - a * a                                       # tanh' = 1 - tanh^2
    if activation == "sigmoid":
        return a * (1 - a)                                     # sigma' = sigma (1 - sigma)
    if activation == "relu":
        return (z > 0).to(z.dtype)                             # 1 if z > 0 else 0
    if activation == "leaky_relu":
        return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, LEAKY_SLOPE))  # 1 if z > 0 else 0.01
    raise ValueError(f"activation: one of {', '.join(ACTIVATIONS)}, got {activation!r}")


# -- what one pass leaves behind ------------------------------------------------------------

@dataclass
class Layer:
    """Everything one layer ``l`` computed: forward (``a_in = a_{l-1}``, ``z``, ``a``), backward (``delta``, ``dW``, ``db``).

    ``W`` and ``b`` are copies of the weights the pass used (so a later :func:`step` does not change them).
    """

    index: int                # l, counted from 1
    W: torch.Tensor           # [out, in]
    b: torch.Tensor           # [out]
    a_in: torch.Tensor        # a_{l-1}  [n, in]
    z: torch.Tensor           # z_l      [n, out]
    a: torch.Tensor           # a_l      [n, out]  (= z_l for the output layer)
    delta: torch.Tensor | None = None   # dL/dz_l  [n, out]
    dW: torch.Tensor | None = None      # dL/dW_l  [out, in]
    db: torch.Tensor | None = None      # dL/db_l  [out]
    f_prime: torch.Tensor | None = None  # f'(z_l) (hidden layers), used to carry delta down


@dataclass
class Trace:
    """One forward and backward pass of ``model`` on ``(x, y)``, every intermediate kept.

    ``layers[l - 1]`` is layer ``l``; ``z``, ``a``, ``delta``, ``dW``, ``db`` are the same numbers as
    lists over the layers. ``loss`` is the scalar loss, ``probabilities`` the softmax of the output
    (cross-entropy) and ``target`` the target the loss compares against (mse).
    """

    model: MLP
    x: torch.Tensor
    y: torch.Tensor
    loss_name: str
    activation: str
    layers: list[Layer]
    loss: torch.Tensor
    target: torch.Tensor | None = None
    probabilities: torch.Tensor | None = None

    @property
    def z(self) -> list[torch.Tensor]:
        return [layer.z for layer in self.layers]

    @property
    def a(self) -> list[torch.Tensor]:
        """``[a_0 = x, a_1, ..., a_L = output]``."""
        return [self.x] + [layer.a for layer in self.layers]

    @property
    def delta(self) -> list[torch.Tensor]:
        return [layer.delta for layer in self.layers]

    @property
    def dW(self) -> list[torch.Tensor]:
        return [layer.dW for layer in self.layers]

    @property
    def db(self) -> list[torch.Tensor]:
        return [layer.db for layer in self.layers]

    @property
    def output(self) -> torch.Tensor:
        return self.layers[-1].a

    def gradients(self) -> list[torch.Tensor]:
        """``[dW_1, db_1, dW_2, db_2, ...]``, in the order of ``model.parameters()``."""
        return [g for layer in self.layers for g in (layer.dW, layer.db)]

    def check(self, eps: float = 1e-5) -> dict[str, float]:
        """Compare the hand-written gradients with torch autograd and with central finite differences.

        ``autograd``: the same loss built from ``torch.nn.functional`` on the model, differentiated
        by ``torch.autograd.grad``. ``finite_differences``: ``(L(w + eps) - L(w - eps)) / (2 eps)`` for
        every single weight and bias, computed in float64 whatever the model's dtype. Returns the
        largest :func:`relative_error` over the parameter tensors for each.
        """
        weights = [p for layer in self.layers for p in (layer.W, layer.b)]
        reference = _autograd_gradients(weights, self.x, self.y, self.loss_name, self.activation)
        numeric = _finite_difference_gradients(weights, self.x, self.y, self.loss_name, self.activation, eps)
        ours = self.gradients()
        return {
            "autograd": max(relative_error(g, r) for g, r in zip(ours, reference)),
            "finite_differences": max(relative_error(g.double(), r) for g, r in zip(ours, numeric)),
        }


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """``max_i |value_i - reference_i| / max_i |reference_i|`` (the absolute error where the reference is all zero).

    Scaled by the tensor's largest entry rather than entry by entry, so that gradients that are
    zero up to rounding (e.g. behind a dead ReLU) do not turn rounding noise into a huge ratio.
    """
    difference = (value.detach() - reference.detach()).abs().max().item()
    scale = reference.detach().abs().max().item()
    return difference / scale if scale > 0 else difference


# -- input checks -----------------------------------------------------------------------------

def _check_inputs(model: MLP, x: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return ``(x [n, in], y)``; a single sample ``x [in]`` becomes a batch of one."""
    if not isinstance(model, MLP):
        raise ValueError(f"model: an lrlab.nets.MLP, got {type(model).__name__}")
    if loss not in LOSSES:
        raise ValueError(f"loss: one of {', '.join(LOSSES)}, got {loss!r}")
    if model.activation not in ACTIVATIONS:
        raise ValueError(f"activation: one of {', '.join(ACTIVATIONS)}, got {model.activation!r}")
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    n_in, n_out = model.sizes[0], model.sizes[-1]
    dtype = model.layers[0].weight.dtype
    if not x.dtype.is_floating_point:
        x = x.to(dtype)
    if x.dim() == 1:  # one sample
        x = x.unsqueeze(0)
        if y.dtype.is_floating_point:
            y = y.reshape(1, -1)                                # its target(s) [1, out]
        elif y.numel() == 1:
            y = y.reshape(1)                                    # its label [1]
    if x.dim() != 2 or x.shape[1] != n_in:
        raise ValueError(f"x: a tensor of shape [n, {n_in}] (or one sample [{n_in}]), got shape {list(x.shape)}")
    n = x.shape[0]
    if y.dtype.is_floating_point:
        if loss != "mse":
            raise ValueError(f"y: {loss} needs integer class labels of shape [{n}], got a float tensor")
        if y.dim() == 1 and n_out == 1:
            y = y.reshape(-1, 1)
        if list(y.shape) != [n, n_out]:
            raise ValueError(f"y: regression targets of shape [{n}, {n_out}] to match x [{n}, {n_in}], "
                             f"got shape {list(y.shape)}")
    else:
        if y.dim() != 1 or y.shape[0] != n:
            raise ValueError(f"y: class labels of shape [{n}] to match x [{n}, {n_in}], got shape {list(y.shape)}")
        if n and (int(y.min()) < 0 or int(y.max()) >= n_out):
            raise ValueError(f"y: class labels in 0..{n_out - 1} (the model has {n_out} outputs), "
                             f"got values {int(y.min())}..{int(y.max())}")
        y = y.long()
    if n == 0:
        raise ValueError("x: at least one sample, got an empty batch")
    return x.to(dtype), y


def _target(y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """What mse compares the output with: ``onehot(y)`` for class labels, ``y`` itself for regression."""
    if y.dtype.is_floating_point:
        return y.to(out.dtype)
    return torch.nn.functional.one_hot(y, out.shape[1]).to(out.dtype)


# -- the pass ---------------------------------------------------------------------------------

def trace(model: MLP, x: torch.Tensor, y: torch.Tensor, loss: str = "mse") -> Trace:
    """Forward pass, loss and backward pass of ``model`` on ``(x, y)``, by hand (no autograd), every number kept.

    ``x``: ``[n, in_features]`` (or one sample ``[in_features]``). ``y``: class labels ``[n]`` (long),
    or for ``mse`` float targets ``[n, out_features]``. ``loss``: ``'mse'`` or ``'cross_entropy'``.
    The equations are in the module docstring and beside each line below.
    """
    x, y = _check_inputs(model, x, y, loss)
    activation = model.activation
    weights = [(layer.weight.detach().clone(), layer.bias.detach().clone()) for layer in model.layers]
    n_layers = len(weights)
    layers: list[Layer] = []

    with torch.no_grad():
        # ---- forward pass, layer by layer -------------------------------------------------
        a = x                                                   # a_0 = x
        for l, (W, b) in enumerate(weights, start=1):
            z = a @ W.T + b                                     # z_l = a_{l-1} W_l^T + b_l
            if l < n_layers:
                a_next = f(z, activation)                       # a_l = f(z_l)
            else:
                a_next = z                                      # a_L = z_L (linear output layer)
            layers.append(Layer(l, W, b, a_in=a, z=z, a=a_next))
            a = a_next

        # ---- loss at the output, and its derivative delta_L = dL/dz_L ----------------------
        out, n = layers[-1].z, x.shape[0]
        probabilities = target = None
        if loss == "cross_entropy":
            shifted = out - out.max(dim=1, keepdim=True).values  # softmax is shift-invariant; avoids overflow
            log_p = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))  # log softmax(z_L)
            probabilities = torch.exp(log_p)                    # p = softmax(z_L)
            value = -log_p[torch.arange(n), y].sum() / n        # L = -1/n sum_i log p_i[y_i]
            onehot = torch.nn.functional.one_hot(y, out.shape[1]).to(out.dtype)
            delta = (probabilities - onehot) / n                # delta_L = (p - onehot(y)) / n
        else:
            target = _target(y, out)
            error = out - target                                # e = z_L - t
            value = (error * error).sum() / error.numel()       # L = 1/(n c) sum e^2
            delta = 2 * error / error.numel()                   # delta_L = 2 e / (n c)

        # ---- backward pass, from the output layer to the input (the chain rule) -------------
        for l in range(n_layers, 0, -1):
            layer = layers[l - 1]
            layer.delta = delta                                 # delta_l = dL/dz_l
            layer.dW = delta.T @ layer.a_in                     # dL/dW_l = delta_l^T a_{l-1}
            layer.db = delta.sum(dim=0)                         # dL/db_l = sum_i delta_l[i]
            if l > 1:
                below = layers[l - 2]
                below.f_prime = f_prime(below.z, below.a, activation)   # f'(z_{l-1})
                delta = (delta @ layer.W) * below.f_prime       # delta_{l-1} = (delta_l W_l) * f'(z_{l-1})

    return Trace(model, x, y, loss, activation, layers, value, target=target, probabilities=probabilities)


def step(model: MLP, trace: Trace, lr: float) -> None:
    """One plain gradient-descent update, in place: ``W_l <- W_l - lr dW_l``, ``b_l <- b_l - lr db_l``."""
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: a finite number > 0, got {lr!r}")
    if len(trace.layers) != len(model.layers) or any(
            layer.weight.shape != t.W.shape for layer, t in zip(model.layers, trace.layers)):
        raise ValueError(f"trace: a trace of this model (sizes {model.sizes}), got one of another shape")
    with torch.no_grad():
        for layer, t in zip(model.layers, trace.layers):
            layer.weight -= lr * t.dW.to(layer.weight.dtype)    # W_l <- W_l - lr dL/dW_l
            layer.bias -= lr * t.db.to(layer.bias.dtype)        # b_l <- b_l - lr dL/db_l


def loss_value(model: MLP, x: torch.Tensor, y: torch.Tensor, loss: str = "mse") -> float:
    """The loss ``L`` of ``model`` on ``(x, y)`` (forward pass only), as a float."""
    x, y = _check_inputs(model, x, y, loss)
    with torch.no_grad():
        out = model(x)
        if loss == "cross_entropy":
            return float(torch.nn.functional.cross_entropy(out, y))
        return float(torch.nn.functional.mse_loss(out, _target(y, out)))


def predict(model: MLP, x: torch.Tensor) -> torch.Tensor:
    """Prediction on new data: the class ``argmax_k z_L[k]`` (several outputs) or the value ``z_L`` (one output)."""
    with torch.no_grad():
        out = model(torch.as_tensor(x, dtype=model.layers[0].weight.dtype))
    return out.argmax(dim=1) if out.shape[1] > 1 else out


# -- the whole algorithm: repeat the cycle until the loss stops falling -------------------------

@dataclass
class Descent:
    """The loss before each iteration of :func:`descend`, and why it stopped (``converged`` or ``max_iterations``)."""

    losses: list[float]
    stop_reason: str

    @property
    def iterations(self) -> int:
        return len(self.losses) - 1


def descend(model: MLP, x: torch.Tensor, y: torch.Tensor, loss: str = "mse", lr: float = 0.5,
            max_iterations: int = 1000, tolerance: float = 1e-6, callback=None) -> Descent:
    """Repeat forward, loss, backward, update (full batch) until ``|L_t - L_{t-1}| < tolerance`` or ``max_iterations``.

    ``losses[t]`` is the loss before update ``t + 1``; the last entry is the loss of the final weights.
    ``callback(iteration, losses)`` is called after every update (a panel uses it to redraw); a
    ``True`` return value stops the descent (``stop_reason='stopped'``). A loss that becomes
    inf/nan stops it with ``stop_reason='diverged'``.
    """
    if not (isinstance(max_iterations, int) and max_iterations >= 1):
        raise ValueError(f"max_iterations: an integer >= 1, got {max_iterations!r}")
    if not (tolerance >= 0):
        raise ValueError(f"tolerance: a number >= 0, got {tolerance!r}")
    losses: list[float] = []
    reason = "max_iterations"
    for iteration in range(1, max_iterations + 1):
        t = trace(model, x, y, loss)                            # forward, loss, backward
        losses.append(float(t.loss))
        if not math.isfinite(losses[-1]):
            return Descent(losses, "diverged")
        if len(losses) > 1 and abs(losses[-1] - losses[-2]) < tolerance:
            return Descent(losses, "converged")
        step(model, t, lr)                                      # update
        if callback is not None and callback(iteration, losses):
            reason = "stopped"
            break
    losses.append(loss_value(model, x, y, loss))
    return Descent(losses, reason)


# -- the stages of one cycle, and each stage's equation with its numbers ------------------------

def stages(n_layers: int) -> list[tuple[str, int]]:
    """The stages of one cycle, in order: ``('forward', 1..L)``, ``('loss', L)``, ``('backward', L..1)``, ``('update', 0)``."""
    return ([("forward", l) for l in range(1, n_layers + 1)] + [("loss", n_layers)]
            + [("backward", l) for l in range(n_layers, 0, -1)] + [("update", 0)])


def _vec(values: torch.Tensor, digits: int = 3) -> str:
    return "[" + ", ".join(num(float(v), f".{digits}f") for v in values.reshape(-1)) + "]"


def _num(value: float, digits: int = 3) -> str:
    """An operand: negative numbers in brackets, so that ``0.2 &middot; (-0.5)`` reads right."""
    text = num(float(value), f".{digits}f")
    return f"({text})" if text.startswith("-") else text


def _val(value: float, digits: int = 3) -> str:
    """A result (never a negative zero: :func:`lrlab.fmt.num`)."""
    return num(float(value), f".{digits}f")


def describe(t: Trace, stage: tuple[str, int], lr: float | None = None, loss_after: float | None = None,
             sample: int = 0) -> str:
    """The equation of ``stage`` with the numbers of sample ``sample`` of trace ``t`` filled in, as HTML."""
    kind, l = stage
    act = {"tanh": "tanh", "sigmoid": "&sigma;", "relu": "ReLU", "leaky_relu": "LeakyReLU"}[t.activation]
    L = len(t.layers)
    i = sample
    lines: list[str] = []
    if kind == "forward":
        layer = t.layers[l - 1]
        terms = " + ".join(f"{_num(w)}&middot;{_num(a)}" for w, a in zip(layer.W[0], layer.a_in[i]))
        lines.append(f"<b>Forward, layer {l}</b>: z<sup>({l})</sup> = W<sup>({l})</sup> a<sup>({l - 1})</sup> + "
                     f"b<sup>({l})</sup>" + (f", &nbsp; a<sup>({l})</sup> = {act}(z<sup>({l})</sup>)" if l < L
                                             else " &nbsp;(output layer: linear)"))
        lines.append(f"first unit: z<sub>1</sub> = {terms} + {_num(layer.b[0])} = {_val(layer.z[i, 0])}"
                     + (f", &nbsp; a<sub>1</sub> = {act}({_val(layer.z[i, 0])}) = {_val(layer.a[i, 0])}" if l < L else ""))
        lines.append(f"z<sup>({l})</sup> = {_vec(layer.z[i])}" + (f", &nbsp; a<sup>({l})</sup> = {_vec(layer.a[i])}"
                                                                  if l < L else ""))
    elif kind == "loss":
        out = t.layers[-1].z[i]
        if t.loss_name == "cross_entropy":
            p, label = t.probabilities[i], int(t.y[i])
            lines.append("<b>Loss (cross-entropy)</b>: p = softmax(z<sup>(L)</sup>), &nbsp; L = &minus;log p<sub>y</sub>")
            lines.append(f"z<sup>(L)</sup> = {_vec(out)}, &nbsp; p = {_vec(p)}, &nbsp; y = {label}")
            lines.append(f"L = &minus;log {_num(p[label])} = {_val(-math.log(float(p[label])), 4)}")
        else:
            target = t.target[i]
            lines.append("<b>Loss (MSE)</b>: L = mean<sub>k</sub> (z<sub>k</sub><sup>(L)</sup> &minus; t<sub>k</sub>)<sup>2</sup>")
            lines.append(f"z<sup>(L)</sup> = {_vec(out)}, &nbsp; target t = {_vec(target)}")
            squares = " + ".join(f"{_num(o - g)}<sup>2</sup>" for o, g in zip(out, target))
            sample_loss = float(((out - target) ** 2).mean())
            lines.append(f"L = ({squares}) / {out.numel()} = {_val(sample_loss, 4)}")
        if t.x.shape[0] > 1:
            lines.append(f"mean over the batch of {t.x.shape[0]}: L = {_val(t.loss, 4)}")
    elif kind == "backward":
        layer = t.layers[l - 1]
        n = t.x.shape[0]
        if l == L:
            if t.loss_name == "cross_entropy":
                rule = "&delta;<sup>(L)</sup> = &part;L/&part;z<sup>(L)</sup> = p &minus; onehot(y)"
            else:
                rule = (f"&delta;<sup>(L)</sup> = &part;L/&part;z<sup>(L)</sup> = 2 (z<sup>(L)</sup> &minus; t) / "
                        f"{t.layers[-1].z.shape[1]}")
            if n > 1:
                rule += f" &nbsp;(each divided by the batch size {n})"
            lines.append(f"<b>Backward, output layer {l}</b>: {rule}")
            lines.append(f"&delta;<sup>({l})</sup> = {_vec(layer.delta[i], 4)}")
        else:
            above = t.layers[l]
            lines.append(f"<b>Backward, layer {l}</b> (chain rule): &delta;<sup>({l})</sup> = "
                         f"(W<sup>({l + 1})</sup>)<sup>T</sup> &delta;<sup>({l + 1})</sup> &odot; {act}'(z<sup>({l})</sup>)")
            carried = above.delta[i] @ above.W
            lines.append(f"= {_vec(carried, 4)} &odot; {_vec(layer.f_prime[i])} = {_vec(layer.delta[i], 4)}")
        lines.append(f"&part;L/&part;W<sup>({l})</sup> = &delta;<sup>({l})</sup> (a<sup>({l - 1})</sup>)<sup>T</sup>, "
                     f"&nbsp; &part;L/&part;b<sup>({l})</sup> = &delta;<sup>({l})</sup>"
                     + (" &nbsp;(summed over the batch)" if n > 1 else ""))
        lines.append(f"e.g. &part;L/&part;w<sub>11</sub> = {_num(layer.delta[i, 0], 4)} &middot; {_num(layer.a_in[i, 0])}"
                     + (f" (this sample) &nbsp; total {_val(layer.dW[0, 0], 4)}" if n > 1
                        else f" = {_val(layer.dW[0, 0], 4)}")
                     + f", &nbsp; &part;L/&part;b<sup>({l})</sup> = {_vec(layer.db, 4)}")
    elif kind == "update":
        rate = "&eta;" if lr is None else _num(lr)
        first = t.layers[0]
        lines.append(f"<b>Update</b> (gradient descent, learning rate &eta; = {rate}): "
                     "W &larr; W &minus; &eta; &part;L/&part;W, &nbsp; b &larr; b &minus; &eta; &part;L/&part;b")
        if lr is not None:
            lines.append(f"e.g. w<sub>11</sub><sup>(1)</sup> &larr; {_num(first.W[0, 0], 4)} &minus; {_num(lr)} &middot; "
                         f"{_num(first.dW[0, 0], 4)} = {_val(first.W[0, 0] - lr * first.dW[0, 0], 4)}")
        if loss_after is not None:
            lines.append(f"loss L: {_val(t.loss, 5)} &rarr; {_val(loss_after, 5)}")
    else:
        raise ValueError(f"stage: one of forward, loss, backward, update, got {kind!r}")
    return "<br>".join(lines)


# -- the two references Trace.check compares against ---------------------------------------------

def _torch_activation(activation: str):
    return {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
            "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, LEAKY_SLOPE)}[activation]


def _reference_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "cross_entropy":
        return torch.nn.functional.cross_entropy(out, y)
    return torch.nn.functional.mse_loss(out, _target(y, out))


def _autograd_gradients(weights, x, y, loss, activation) -> list[torch.Tensor]:
    """The same loss written with ``torch.nn.functional``, differentiated by ``torch.autograd.grad``."""
    leaves = [w.detach().clone().requires_grad_(True) for w in weights]
    with torch.enable_grad():
        a = x
        for k in range(0, len(leaves), 2):
            a = torch.nn.functional.linear(a, leaves[k], leaves[k + 1])
            if k + 2 < len(leaves):
                a = _torch_activation(activation)(a)
        return list(torch.autograd.grad(_reference_loss(a, y, loss), leaves))


def _stacked_losses(stack: torch.Tensor, shapes, x, y, loss, activation) -> torch.Tensor:
    """The loss of each of K networks whose flat parameters are the rows of ``stack`` [K, P], as [K]."""
    K, n = stack.shape[0], x.shape[0]
    a, offset = x.expand(K, *x.shape), 0
    for k, (out_features, in_features) in enumerate(shapes):
        W = stack[:, offset: offset + out_features * in_features].reshape(K, out_features, in_features)
        offset += out_features * in_features
        b = stack[:, offset: offset + out_features].reshape(K, 1, out_features)
        offset += out_features
        a = torch.baddbmm(b, a, W.transpose(1, 2))             # z = a W^T + b, for each network
        if k + 1 < len(shapes):
            a = _torch_activation(activation)(a)
    if loss == "cross_entropy":
        log_p = torch.log_softmax(a, dim=2)
        return -log_p.gather(2, y.view(1, n, 1).expand(K, n, 1)).mean(dim=(1, 2))
    return ((a - _target(y, a[0])) ** 2).mean(dim=(1, 2))


def _finite_difference_gradients(weights, x, y, loss, activation, eps, chunk: int = 256) -> list[torch.Tensor]:
    """``dL/dw_k ~ (L(w + eps e_k) - L(w - eps e_k)) / (2 eps)`` for every single weight and bias ``w_k``, in float64.

    The 2P nudged networks (P parameters) are evaluated together as one stack, ``chunk`` at a time.
    """
    flat = torch.cat([w.detach().to(torch.float64).reshape(-1) for w in weights])
    shapes = [tuple(weights[k].shape) for k in range(0, len(weights), 2)]
    x64 = x.to(torch.float64)
    y64 = y.to(torch.float64) if y.dtype.is_floating_point else y
    P = flat.numel()
    grad = torch.empty(P, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, P, chunk):
            rows = torch.arange(start, min(start + chunk, P))
            nudges = torch.zeros(len(rows), P, dtype=torch.float64)
            nudges[torch.arange(len(rows)), rows] = eps
            up = _stacked_losses(flat + nudges, shapes, x64, y64, loss, activation)      # L(w + eps e_k)
            down = _stacked_losses(flat - nudges, shapes, x64, y64, loss, activation)    # L(w - eps e_k)
            grad[rows] = (up - down) / (2 * eps)
    out, offset = [], 0
    for w in weights:
        out.append(grad[offset: offset + w.numel()].view(w.shape))
        offset += w.numel()
    return out
