"""Textbook optimizers: the update of each one is a short pure function you can read.

The adaptive learning-rate loop, in code: compute the gradient ``g``; compute
the step size from the gradient history (AdaGrad: accumulated squares ``G``; RMSProp:
an exponential average of squares ``v``; Adam: first and second moments ``m``, ``v`` with
bias correction); update the parameters ``theta``; repeat.

Three layers, one source of truth:

1. **Pure functions** (optax style), one trio per optimizer, e.g. for Adam::

       state = adam_init(params)                                   # AdamState(count, m, v, v_max)
       state = adam_step(params, grads, state, lr=0.01)            # updates params IN PLACE
       multiplier = adam_effective_step(state, params, lr=0.01)    # same shape as params

   The docstring of every ``*_textbook`` function is the formula, written once: ``spec.formula``
   is read from it (:func:`formula_of`) and each ``*_step``'s docstring has it filled in at
   import (its ``{formula}`` line). ``params``/``grads`` may have a
   leading batch axis K (K models stacked, ``[K, P]``); ``lr`` and every hyper-parameter is
   then a Python number *or* a tensor of shape [K] (one value per model), so a race of K
   configs is one tensor program. Tensor state is updated in place; the returned state
   carries the new ``count``.

   Two paths, as torch.optim keeps ``_single_tensor_adam`` beside ``_multi_tensor_adam``:
   ``*_step`` is the fast path the engine runs (its numerics are held bit for bit to
   torch.optim); ``*_textbook`` (e.g. :func:`adam_textbook`, also ``spec.textbook``) is the
   readable one, with the same arguments and state, whose docstring is the formula and whose
   body follows it line by line in plain tensor arithmetic. ``tests/test_optim_textbook.py``
   holds the two equal to 1e-12 in float64, for one model and for K models.
2. **torch.optim.Optimizer subclasses** (:class:`SGD`, :class:`Momentum`, :class:`Nesterov`,
   :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`, :class:`AdamW`, :class:`Adadelta`),
   constructed exactly like their torch counterparts
   (``Adam(model.parameters(), lr=0.01, betas=(0.9, 0.999))``), with ``state_dict`` /
   ``load_state_dict`` and :meth:`~TextbookOptimizer.effective_step`. They keep one flat
   state vector per parameter group and apply the pure function once per group.
3. **The registry** :data:`OPTIMIZERS`: name -> :class:`OptimizerSpec` with the functions,
   the hyper-parameters (``spec.params``: one :class:`lrlab.params.Param` each, declared once
   below -- default, range, kind, help -- from which ``defaults``, ``ranges``, ``kinds``,
   validation, the widgets' controls, the CLI flags and the README's table are read), a
   plain-language ``description`` and the ``formula``, and the class (``spec.cls``).

The effective step
------------------
``effective_step`` is, for every parameter element, the learning rate that parameter
actually got at the last step: the number that multiplies the gradient the optimizer steps
along, ``d``, in the parameter change ``theta_new - theta = -effective_step * d``
(what "adaptive" means: one number per parameter instead of one ``lr`` for all).
``d`` is the gradient ``g`` (with ``weight_decay * theta`` added), or the average of
gradients the optimizer keeps:

=========  =========================  ========================================
optimizer  d, what it steps along      effective step
=========  =========================  ========================================
sgd        g                          lr
momentum   velocity (sums past g)     lr
nesterov   g + momentum * velocity    lr
adagrad    g                          lr_t / (sqrt(G) + eps),
                                      lr_t = lr / (1 + (t - 1) * lr_decay)
rmsprop    g                          lr / (sqrt(v) + eps); centered:
                                      lr / (sqrt(v - m^2) + eps); momentum:
                                      the multiplier on g entering the velocity
adam(w)    m_hat = m / (1 - beta1^t)  lr / (sqrt(v_hat) + eps) (amsgrad: v_max
                                      in v_hat; AdamW also shrinks theta by
                                      lr * weight_decay * theta)
adadelta   g                          lr * sqrt(u + eps) / sqrt(v + eps)
                                      (u before the step)
=========  =========================  ========================================

An adaptive effective step is large where the gradients are small: Adam's first step
(``m_hat = g``, ``v_hat = g^2``) moves every parameter by ``lr * g / (|g| + eps)``, about
``lr`` whatever ``|g|``, so its effective step is ``lr / (|g| + eps)``: a gradient of 0.001
gets an effective step of about ``1000 * lr``.

CONTRACT (the engine, the race and the surfaces rely on it): ``OPTIMIZERS[name]`` /
:func:`get` -> :class:`OptimizerSpec` with ``init(params) -> state``,
``step(params, grads, state, *, lr, **hyper) -> state``,
``effective_step(state, params, *, lr, **hyper) -> tensor like params``, ``resolve(**given)``,
``params`` (:class:`lrlab.params.Param`), ``defaults``, ``ranges`` (name -> (low, high,
low_inclusive, high_inclusive)), ``kinds``, ``description``, ``formula``, ``cls``, ``textbook``
(a drop-in for ``step``).

Speed tricks (the fast ``*_step`` path only; documented here and nowhere else in this module)
----------------------------------------------------------------------------------------------
The fast path runs the same formula with fewer and cheaper tensor operations, rounding as
torch.optim does so that the engine's outputs equal torch.optim's bit for bit:

* **cached scalars** -- :func:`scalar`: a Python number as a cached 0-dim tensor of the
  operand's dtype and device. ``x.mul_(0.9)`` makes a tensor of 0.9 on every call (about
  1.5 us on a CPU, as much as the multiplication of a small buffer); the cached 0-dim tensor
  gives the same bits without that cost.
* **``_bcast``** -- a per-model hyper-parameter [K] viewed as [K, 1, ...] against [K, ...];
  a Python number passes through unchanged, so the number case keeps torch's fused
  ``alpha=`` / ``value=`` arguments.
* **tensor-or-number branches** -- :func:`_add_scaled_` (``x <- x + coef * y``),
  :func:`_add_ratio_` (``x <- x + coef * num / den``), :func:`_average_squares_` and
  :func:`_with_weight_decay` pick ``add_(y, alpha=c)`` / ``addcdiv_(num, den, value=c)`` /
  ``addcmul_(g, g, value=c)`` for a number and a broadcasting ``addcmul_`` / ``addcdiv_``
  for a per-model tensor; a term whose coefficient is the number 0 is skipped
  (:func:`_maybe_nonzero`; a tensor is never tested, which would sync a device).
* **fused in-place ops** -- state is updated in place (``lerp_`` for ``beta * m + (1 - beta)
  * g``, ``addcmul_``, ``torch.maximum(..., out=v_max)``, ``sqrt_().add_(eps)``), and Adam
  folds the bias corrections into ``lr / (1 - beta1^t)`` and ``sqrt(v) / sqrt(1 - beta2^t)``
  as torch does, to save whole-buffer passes.

The batched MLP's own tricks (the operand caches of per-layer views, tanh as
``2 sigmoid(2 z) - 1``, work buffers and chunking) are documented in :mod:`lrlab.batched`;
the engine's look-ahead pass (the forward pass for the test metrics, whose training part's
backward runs at once and gives the next epoch's gradient) in
:meth:`lrlab.engine.Engine._full_batch_pass`.

Agreement with torch.optim (float64, 200 steps, weight decay on and off) is tested in
``tests/test_optim.py``: SGD (plain, momentum, Nesterov; dampening 0), Adagrad (with
``lr_decay`` and ``initial_accumulator_value``), RMSprop (plain, centered, momentum),
Adam (plain, amsgrad), AdamW, Adadelta.
"""
from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple, Optional

import torch

from . import params as params_mod
from .params import Declarations, Param, check_bool

__all__ = [
    "OPTIMIZERS", "OptimizerSpec", "get", "TextbookOptimizer",
    "SGD", "Momentum", "Nesterov", "AdaGrad", "Adagrad", "RMSProp", "RMSprop", "Adam", "AdamW", "Adadelta",
]


# =========================================================================== helpers
# The fast path's speed tricks (cached scalars, _bcast, _add_scaled_/_add_ratio_, fused
# in-place ops) are documented in one place: the module docstring, "Speed tricks".

def _bcast(value, like: torch.Tensor):
    """A per-model hyper-parameter of shape [K] broadcast against [K, ...]; numbers pass through."""
    if isinstance(value, torch.Tensor) and value.dim() == 1 and like.dim() > 1:
        return value.view(-1, *([1] * (like.dim() - 1)))
    return value


_SCALARS: dict = {}


def scalar(value, like: torch.Tensor):
    """A number as a cached 0-dim tensor of ``like``'s dtype and device (tensors pass through).

    In ``x.mul_(0.9)`` torch turns the number into a tensor on every call (about 1.5 us on a
    CPU, as much as the multiplication of a small buffer); the same number as a 0-dim tensor
    of ``x``'s dtype gives the same result without that cost."""
    if isinstance(value, torch.Tensor):
        return value
    key = (float(value), like.dtype, like.device)
    t = _SCALARS.get(key)
    if t is None:
        if len(_SCALARS) >= 1024:
            _SCALARS.clear()
        t = _SCALARS[key] = torch.tensor(float(value), dtype=like.dtype, device=like.device)
    return t


def _is_number(x) -> bool:
    return not isinstance(x, torch.Tensor)


def _maybe_nonzero(x) -> bool:
    """False only for the number 0; a tensor counts as non-zero (no device sync: the term it
    guards is then computed, and adds exactly 0 where the tensor is 0)."""
    return isinstance(x, torch.Tensor) or x != 0


def _with_weight_decay(grads, params, weight_decay):
    """g + weight_decay * theta (the gradient of the L2 penalty weight_decay/2 |theta|^2 added)."""
    if not _maybe_nonzero(weight_decay):
        return grads
    if _is_number(weight_decay):
        return grads.add(params, alpha=weight_decay)
    return torch.addcmul(grads, weight_decay, params)


def _add_scaled_(x, coef, y):
    """x <- x + coef * y, in place."""
    return x.add_(y, alpha=coef) if _is_number(coef) else x.addcmul_(coef, y)


def _add_ratio_(x, coef, num, den):
    """x <- x + coef * num / den, in place."""
    return x.addcdiv_(num, den, value=coef) if _is_number(coef) else x.addcdiv_(coef * num, den)


def _average_squares_(avg, g, beta):
    """avg <- beta * avg + (1 - beta) * g^2, in place."""
    avg.mul_(scalar(beta, avg))
    return avg.addcmul_(g, g, value=1 - beta) if _is_number(beta) else avg.addcmul_((1 - beta) * g, g)


def _sqrt(x):
    return x ** 0.5  # as torch.optim writes it (a number or a tensor)


# =========================================================================== SGD
class SGDState(NamedTuple):
    count: int


def sgd_init(params: torch.Tensor) -> SGDState:
    return SGDState(0)


def sgd_step(params, grads, state: SGDState, *, lr, weight_decay=0.0) -> SGDState:
    """Plain gradient descent; the fast path of :func:`sgd_textbook`, whose docstring is the formula:

    {formula}

    Effective step: ``lr`` for every parameter.
    """
    lr, weight_decay = _bcast(lr, params), _bcast(weight_decay, params)
    g = _with_weight_decay(grads, params, weight_decay)
    _add_scaled_(params, -lr, g)
    return SGDState(state.count + 1)


def sgd_effective_step(state: SGDState, params, *, lr, **_):
    """``lr``, broadcast to the shape of ``params``."""
    return torch.ones_like(params) * _bcast(lr, params)


# =========================================================================== Momentum, Nesterov
class MomentumState(NamedTuple):
    count: int
    velocity: torch.Tensor


def momentum_init(params: torch.Tensor) -> MomentumState:
    return MomentumState(0, torch.zeros_like(params))


def momentum_step(params, grads, state: MomentumState, *, lr, momentum=0.9, weight_decay=0.0) -> MomentumState:
    """Heavy-ball momentum (torch.optim.SGD with ``momentum``, dampening 0); the fast path of
    :func:`momentum_textbook`, whose docstring is the formula:

    {formula}

    Effective step: ``lr``, the multiplier on the velocity (earlier gradients keep acting
    through it, with weights lr * momentum^k).
    """
    lr, momentum, weight_decay = (_bcast(x, params) for x in (lr, momentum, weight_decay))
    g = _with_weight_decay(grads, params, weight_decay)
    velocity = state.velocity.mul_(scalar(momentum, params)).add_(g)
    _add_scaled_(params, -lr, velocity)
    return MomentumState(state.count + 1, velocity)


def momentum_effective_step(state: MomentumState, params, *, lr, **_):
    """``lr`` (the multiplier on the velocity), shaped like ``params``."""
    return torch.ones_like(params) * _bcast(lr, params)


def nesterov_step(params, grads, state: MomentumState, *, lr, momentum=0.9, weight_decay=0.0) -> MomentumState:
    """Nesterov momentum (torch.optim.SGD with ``nesterov=True``, dampening 0): look ahead
    along the velocity before stepping; the fast path of :func:`nesterov_textbook`, whose
    docstring is the formula:

    {formula}

    Effective step: ``lr``, the multiplier on ``g + momentum * velocity`` (so the current
    gradient moves theta by ``lr * (1 + momentum)`` per unit: once directly, once through
    the new velocity).
    """
    lr, momentum, weight_decay = (_bcast(x, params) for x in (lr, momentum, weight_decay))
    g = _with_weight_decay(grads, params, weight_decay)
    velocity = state.velocity.mul_(scalar(momentum, params)).add_(g)
    g = g.add(velocity, alpha=momentum) if _is_number(momentum) else torch.addcmul(g, momentum, velocity)
    _add_scaled_(params, -lr, g)
    return MomentumState(state.count + 1, velocity)


def nesterov_effective_step(state: MomentumState, params, *, lr, **_):
    """``lr`` (the multiplier on ``g + momentum * velocity``), shaped like ``params``."""
    return torch.ones_like(params) * _bcast(lr, params)


# =========================================================================== AdaGrad
class AdaGradState(NamedTuple):
    count: int
    sum_sq: torch.Tensor  # G, the sum of squared gradients (plus initial_accumulator_value)


def adagrad_init(params: torch.Tensor) -> AdaGradState:
    return AdaGradState(0, torch.zeros_like(params))


def adagrad_step(params, grads, state: AdaGradState, *, lr, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10) -> AdaGradState:
    """AdaGrad: divide by the root of *all* squared gradients so far (torch.optim.Adagrad); the
    fast path of :func:`adagrad_textbook`, whose docstring is the formula:

    {formula}

    Effective step: ``lr_t / (sqrt(G) + eps)``. G only grows, so the effective step only
    shrinks: parameters with large past gradients slow down first.
    """
    lr, lr_decay, weight_decay, initial_accumulator_value, eps = (
        _bcast(x, params) for x in (lr, lr_decay, weight_decay, initial_accumulator_value, eps))
    t = state.count + 1
    g = _with_weight_decay(grads, params, weight_decay)
    sum_sq = state.sum_sq
    if t == 1 and _maybe_nonzero(initial_accumulator_value):
        sum_sq.add_(initial_accumulator_value)
    sum_sq.addcmul_(g, g)
    lr_t = lr / (1 + (t - 1) * lr_decay)
    _add_ratio_(params, -lr_t, g, sum_sq.sqrt().add_(scalar(eps, params)))
    return AdaGradState(t, sum_sq)


def adagrad_effective_step(state: AdaGradState, params, *, lr, lr_decay=0.0, eps=1e-10, **_):
    """``lr_t / (sqrt(G) + eps)`` with ``lr_t = lr / (1 + (t - 1) * lr_decay)``."""
    t = max(state.count, 1)
    lr_t = _bcast(lr, params) / (1 + (t - 1) * _bcast(lr_decay, params))
    return lr_t / (state.sum_sq.sqrt() + _bcast(eps, params))


# =========================================================================== RMSProp
class RMSPropState(NamedTuple):
    count: int
    v: torch.Tensor         # running average of g^2
    m: torch.Tensor         # running average of g (centered only; stays 0 otherwise)
    velocity: torch.Tensor  # momentum buffer (momentum > 0 only; stays 0 otherwise)


def rmsprop_init(params: torch.Tensor) -> RMSPropState:
    return RMSPropState(0, torch.zeros_like(params), torch.zeros_like(params), torch.zeros_like(params))


def rmsprop_step(params, grads, state: RMSPropState, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False) -> RMSPropState:
    """RMSProp: divide by the root of a *running average* of squared gradients (torch.optim.RMSprop);
    the fast path of :func:`rmsprop_textbook`, whose docstring is the formula:

    {formula}

    Effective step: ``lr / denom`` (the multiplier on the current gradient; with momentum,
    on the gradient as it enters the velocity). Old gradients
    are forgotten at rate ``alpha``, so unlike AdaGrad the step can grow again.
    """
    lr, alpha, eps, weight_decay, momentum = (_bcast(x, params) for x in (lr, alpha, eps, weight_decay, momentum))
    g = _with_weight_decay(grads, params, weight_decay)
    v = _average_squares_(state.v, g, alpha)
    if centered:
        m = state.m.lerp_(g, 1 - alpha)
        denom = v.addcmul(m, m, value=-1).sqrt_().add_(scalar(eps, params))
    else:
        denom = v.sqrt().add_(scalar(eps, params))
    if _maybe_nonzero(momentum):
        velocity = state.velocity.mul_(scalar(momentum, params)).addcdiv_(g, denom)
        _add_scaled_(params, -lr, velocity)
    else:
        _add_ratio_(params, -lr, g, denom)
    return RMSPropState(state.count + 1, v, state.m, state.velocity)


def rmsprop_effective_step(state: RMSPropState, params, *, lr, eps=1e-8, **_):
    """``lr / (sqrt(v - m^2) + eps)`` (``m`` stays 0 unless centered, giving ``lr / (sqrt(v) + eps)``)."""
    return _bcast(lr, params) / (state.v.addcmul(state.m, state.m, value=-1).sqrt() + _bcast(eps, params))


# =========================================================================== Adam, AdamW
class AdamState(NamedTuple):
    count: int
    m: torch.Tensor      # first moment: running average of g
    v: torch.Tensor      # second moment: running average of g^2
    v_max: torch.Tensor  # amsgrad only: the largest v so far (stays 0 otherwise)


def adam_init(params: torch.Tensor) -> AdamState:
    return AdamState(0, torch.zeros_like(params), torch.zeros_like(params), torch.zeros_like(params))


def adam_step(params, grads, state: AdamState, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              amsgrad=False) -> AdamState:
    """Adam: momentum on the gradient, RMSProp on its square, both bias-corrected (torch.optim.Adam);
    the fast path of :func:`adam_textbook`, whose docstring is the formula:

    {formula}

    The last three lines of the formula run as torch does, with fewer tensor operations:
    ``theta - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.

    Effective step: ``lr / (sqrt(v_hat) + eps)``, the multiplier on ``m_hat`` (the
    bias-corrected average gradient): theta moves by ``-effective_step * m_hat``.
    """
    beta1, beta2 = (_bcast(b, params) for b in betas)
    lr, eps, weight_decay = (_bcast(x, params) for x in (lr, eps, weight_decay))
    t = state.count + 1
    g = _with_weight_decay(grads, params, weight_decay)
    m = state.m.lerp_(g, 1 - beta1)
    v = _average_squares_(state.v, g, beta2)
    if amsgrad:
        v = torch.maximum(state.v_max, v, out=state.v_max)
    step_size = lr / (1 - beta1 ** t)                   # lr / bias correction of m
    denom = (v.sqrt() / _sqrt(1 - beta2 ** t)).add_(scalar(eps, params))  # sqrt(v_hat) + eps, as torch rounds it
    _add_ratio_(params, -step_size, m, denom)
    return AdamState(t, m, state.v, state.v_max)


def adam_effective_step(state: AdamState, params, *, lr, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, **_):
    """``lr / (sqrt(v_hat) + eps)``, ``v_hat = v / (1 - beta2^t)`` (amsgrad: ``v_max``): the
    multiplier on ``m_hat = m / (1 - beta1^t)``, the bias-corrected average gradient."""
    t = max(state.count, 1)
    beta2 = _bcast(betas[1], params)
    v_hat = (state.v_max if amsgrad else state.v) / (1 - beta2 ** t)
    return _bcast(lr, params) / (v_hat.sqrt() + _bcast(eps, params))


def adamw_step(params, grads, state: AdamState, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
               amsgrad=False) -> AdamState:
    """AdamW: Adam with *decoupled* weight decay (torch.optim.AdamW): shrink the weights
    directly instead of adding ``weight_decay * theta`` to the gradient, then take Adam's step
    (:func:`adam_step`, with no weight decay in g); the fast path of :func:`adamw_textbook`,
    whose docstring is the formula:

    {formula}

    Effective step: as Adam, ``lr / (sqrt(v_hat) + eps)``, the multiplier on ``m_hat``
    (the decoupled shrink ``lr * weight_decay * theta`` comes on top).
    """
    if _maybe_nonzero(weight_decay):
        params.mul_(1 - _bcast(lr, params) * _bcast(weight_decay, params))
    return adam_step(params, grads, state, lr=lr, betas=betas, eps=eps, weight_decay=0.0, amsgrad=amsgrad)


# =========================================================================== Adadelta
class AdadeltaState(NamedTuple):
    count: int
    v: torch.Tensor      # running average of g^2
    u: torch.Tensor      # running average of delta^2 (the squared updates)
    scale: torch.Tensor  # sqrt(u + eps) / sqrt(v + eps) used at the last step


def adadelta_init(params: torch.Tensor) -> AdadeltaState:
    return AdadeltaState(0, torch.zeros_like(params), torch.zeros_like(params), torch.zeros_like(params))


def adadelta_step(params, grads, state: AdadeltaState, *, lr, rho=0.9, eps=1e-6, weight_decay=0.0) -> AdadeltaState:
    """Adadelta: the step size is the ratio of two running RMS values, so the units of the
    update match the units of theta (torch.optim.Adadelta); the fast path of
    :func:`adadelta_textbook`, whose docstring is the formula:

    {formula}

    Effective step: ``lr * scale`` (with ``u`` from before this step).
    """
    lr, rho, eps, weight_decay = (_bcast(x, params) for x in (lr, rho, eps, weight_decay))
    g = _with_weight_decay(grads, params, weight_decay)
    v = _average_squares_(state.v, g, rho)
    eps = scalar(eps, params)
    scale = torch.div(state.u.add(eps).sqrt_(), v.add(eps).sqrt_(), out=state.scale)
    delta = scale * g
    u = _average_squares_(state.u, delta, rho)
    _add_scaled_(params, -lr, delta)
    return AdadeltaState(state.count + 1, v, u, scale)


def adadelta_effective_step(state: AdadeltaState, params, *, lr, eps=1e-6, **_):
    """``lr * sqrt(u + eps) / sqrt(v + eps)`` as used at the last step (before any step: from the zero state)."""
    scale = state.scale
    if state.count == 0:
        eps = _bcast(eps, params)
        scale = (state.u + eps).sqrt() / (state.v + eps).sqrt()
    return _bcast(lr, params) * scale


# =========================================================================== textbook path
# The readable reference of every update, as torch.optim keeps ``_single_tensor_adam`` beside
# ``_multi_tensor_adam``: the docstring of each ``*_textbook`` function is the formula, and its
# body follows the formula line by line in plain out-of-place tensor arithmetic. Each one has
# the contract of its fast ``*_step`` (same arguments, same state, params and state tensors
# updated in place at the end, the new state returned), so either can replace the other;
# tests/test_optim_textbook.py holds the two equal to 1e-12 in float64, for one model [P] and
# for K stacked models [K, P] with per-model hyper-parameters. The registry points at them as
# ``OPTIMIZERS[name].textbook``.

def _columns(params, *values):
    """Every hyper-parameter as a tensor of ``params``' dtype that broadcasts against it: a
    number becomes a 0-dim tensor, a per-model tensor [K] becomes a column [K, 1]."""
    out = []
    for x in values:
        x = torch.as_tensor(x, dtype=params.dtype, device=params.device)
        if x.dim() == 1 and params.dim() > 1:
            x = x.view(-1, *([1] * (params.dim() - 1)))
        out.append(x)
    return out


def sgd_textbook(params, grads, state: SGDState, *, lr, weight_decay=0.0) -> SGDState:
    """Plain gradient descent.

    g     <- g + weight_decay * theta
    theta <- theta - lr * g
    """
    lr, weight_decay = _columns(params, lr, weight_decay)
    theta, g = params, grads
    g = g + weight_decay * theta
    theta = theta - lr * g
    params.copy_(theta)
    return SGDState(state.count + 1)


def momentum_textbook(params, grads, state: MomentumState, *, lr, momentum=0.9, weight_decay=0.0) -> MomentumState:
    """Heavy-ball momentum (torch.optim.SGD with ``momentum``, dampening 0).

    g        <- g + weight_decay * theta
    velocity <- momentum * velocity + g
    theta    <- theta - lr * velocity
    """
    lr, momentum, weight_decay = _columns(params, lr, momentum, weight_decay)
    theta, g, velocity = params, grads, state.velocity
    g = g + weight_decay * theta
    velocity = momentum * velocity + g
    theta = theta - lr * velocity
    params.copy_(theta)
    state.velocity.copy_(velocity)
    return MomentumState(state.count + 1, state.velocity)


def nesterov_textbook(params, grads, state: MomentumState, *, lr, momentum=0.9, weight_decay=0.0) -> MomentumState:
    """Nesterov momentum (torch.optim.SGD with ``nesterov=True``, dampening 0).

    g        <- g + weight_decay * theta
    velocity <- momentum * velocity + g
    g        <- g + momentum * velocity
    theta    <- theta - lr * g
    """
    lr, momentum, weight_decay = _columns(params, lr, momentum, weight_decay)
    theta, g, velocity = params, grads, state.velocity
    g = g + weight_decay * theta
    velocity = momentum * velocity + g
    g = g + momentum * velocity
    theta = theta - lr * g
    params.copy_(theta)
    state.velocity.copy_(velocity)
    return MomentumState(state.count + 1, state.velocity)


def adagrad_textbook(params, grads, state: AdaGradState, *, lr, lr_decay=0.0, weight_decay=0.0,
                     initial_accumulator_value=0.0, eps=1e-10) -> AdaGradState:
    """AdaGrad (torch.optim.Adagrad); t counts the steps from 1.

    g     <- g + weight_decay * theta
    G     <- G + g^2
    lr_t   = lr / (1 + (t - 1) * lr_decay)
    theta <- theta - lr_t * g / (sqrt(G) + eps)

    G starts at 0, and initial_accumulator_value is added to it at t = 1.
    """
    lr, lr_decay, weight_decay, initial_accumulator_value, eps = _columns(
        params, lr, lr_decay, weight_decay, initial_accumulator_value, eps)
    t = state.count + 1
    theta, g, G = params, grads, state.sum_sq
    g = g + weight_decay * theta
    if t == 1:
        G = G + initial_accumulator_value
    G = G + g ** 2
    lr_t = lr / (1 + (t - 1) * lr_decay)
    theta = theta - lr_t * g / (torch.sqrt(G) + eps)
    params.copy_(theta)
    state.sum_sq.copy_(G)
    return AdaGradState(t, state.sum_sq)


def rmsprop_textbook(params, grads, state: RMSPropState, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                     momentum=0.0, centered=False) -> RMSPropState:
    """RMSProp (torch.optim.RMSprop).

    g        <- g + weight_decay * theta
    v        <- alpha * v + (1 - alpha) * g^2
    m        <- alpha * m + (1 - alpha) * g          (centered)
    denom     = sqrt(v - m^2) + eps                  (centered; else sqrt(v) + eps)
    velocity <- momentum * velocity + g / denom
    theta    <- theta - lr * velocity

    m stays 0 unless centered. With momentum 0 the velocity is g / denom, so the step is
    theta <- theta - lr * g / denom and no velocity is kept.
    """
    # a per-model momentum tensor [K] keeps a velocity for every model (with momentum 0 it is
    # g / denom, the same step)
    keeps_velocity = isinstance(momentum, torch.Tensor) or momentum > 0
    lr, alpha, eps, weight_decay, momentum = _columns(params, lr, alpha, eps, weight_decay, momentum)
    theta, g, v, m, velocity = params, grads, state.v, state.m, state.velocity
    g = g + weight_decay * theta
    v = alpha * v + (1 - alpha) * g ** 2
    if centered:
        m = alpha * m + (1 - alpha) * g
        denom = torch.sqrt(v - m ** 2) + eps
    else:
        denom = torch.sqrt(v) + eps
    if keeps_velocity:
        velocity = momentum * velocity + g / denom
        theta = theta - lr * velocity
    else:
        theta = theta - lr * g / denom
    params.copy_(theta)
    for old, new in ((state.v, v), (state.m, m), (state.velocity, velocity)):
        old.copy_(new)
    return RMSPropState(state.count + 1, state.v, state.m, state.velocity)


def adam_textbook(params, grads, state: AdamState, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                  amsgrad=False) -> AdamState:
    """Adam (torch.optim.Adam); t counts the steps from 1.

    g      <- g + weight_decay * theta
    m      <- beta1 * m + (1 - beta1) * g
    v      <- beta2 * v + (1 - beta2) * g^2
    m_hat   = m / (1 - beta1^t)
    v_hat   = v / (1 - beta2^t)
    theta  <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    amsgrad: v_max <- max(v_max, v) after the v line, and v_max replaces v in v_hat.
    """
    lr, beta1, beta2, eps, weight_decay = _columns(params, lr, *betas, eps, weight_decay)
    t = state.count + 1
    theta, g, m, v, v_max = params, grads, state.m, state.v, state.v_max
    g = g + weight_decay * theta
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
    if amsgrad:
        v_max = torch.maximum(v_max, v)
    m_hat = m / (1 - beta1 ** t)
    v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
    theta = theta - lr * m_hat / (torch.sqrt(v_hat) + eps)
    params.copy_(theta)
    for old, new in ((state.m, m), (state.v, v), (state.v_max, v_max)):
        old.copy_(new)
    return AdamState(t, state.m, state.v, state.v_max)


def adamw_textbook(params, grads, state: AdamState, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                   amsgrad=False) -> AdamState:
    """AdamW: Adam with decoupled weight decay (torch.optim.AdamW); t counts the steps from 1.

    theta  <- theta - lr * weight_decay * theta
    m      <- beta1 * m + (1 - beta1) * g
    v      <- beta2 * v + (1 - beta2) * g^2
    m_hat   = m / (1 - beta1^t)
    v_hat   = v / (1 - beta2^t)
    theta  <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    amsgrad: as in Adam (:func:`adam_textbook`).
    """
    lr_col, weight_decay = _columns(params, lr, weight_decay)
    params.copy_(params - lr_col * weight_decay * params)
    return adam_textbook(params, grads, state, lr=lr, betas=betas, eps=eps, weight_decay=0.0, amsgrad=amsgrad)


def adadelta_textbook(params, grads, state: AdadeltaState, *, lr, rho=0.9, eps=1e-6,
                      weight_decay=0.0) -> AdadeltaState:
    """Adadelta (torch.optim.Adadelta).

    g     <- g + weight_decay * theta
    v     <- rho * v + (1 - rho) * g^2
    scale  = sqrt(u + eps) / sqrt(v + eps)
    delta  = scale * g
    u     <- rho * u + (1 - rho) * delta^2
    theta <- theta - lr * delta
    """
    lr, rho, eps, weight_decay = _columns(params, lr, rho, eps, weight_decay)
    theta, g, v, u = params, grads, state.v, state.u
    g = g + weight_decay * theta
    v = rho * v + (1 - rho) * g ** 2
    scale = torch.sqrt(u + eps) / torch.sqrt(v + eps)
    delta = scale * g
    u = rho * u + (1 - rho) * delta ** 2
    theta = theta - lr * delta
    params.copy_(theta)
    for old, new in ((state.v, v), (state.u, u), (state.scale, scale)):
        old.copy_(new)
    return AdadeltaState(state.count + 1, state.v, state.u, state.scale)


# =========================================================================== parameters
# Every hyper-parameter declared once (lrlab.params.Param: default, range, kind, help); the
# registry, validation, the panels' controls, the CLI flags and the README's table read them.
# An optimizer whose default differs takes the declaration with its own default
# (``EPS.with_default(1e-10)`` reads: the same eps, another default).

Range = tuple  # (low, high, low_inclusive, high_inclusive)

LR = params_mod.LR
WEIGHT_DECAY = Param("weight_decay", 0.0, "float", 0.0, 1.0,
                     help="L2 penalty: weight_decay * theta is added to the gradient")
MOMENTUM = Param("momentum", 0.9, "float", 0.0, 1.0, hi_open=True,
                 help="how much of the velocity each step keeps (0: none)")
BETAS = Param("betas", (0.9, 0.999), "pair", 0.0, 1.0, hi_open=True, parts=("beta1", "beta2"),
              help="the averaging rates of m, the gradient's average (beta1), and v, its square's (beta2)")
EPS = Param("eps", 1e-8, "float", 0.0, 1.0, lo_open=True, log=True, window=(1e-12, 1.0),
            help="added to the denominator so that it is never 0")
AMSGRAD = Param("amsgrad", False, "bool", help="divide by the largest v seen so far, so steps never grow")
LR_DECAY = Param("lr_decay", 0.0, "float", 0.0, 1.0, help="lr_t = lr / (1 + (t - 1) * lr_decay)")
INITIAL_ACCUMULATOR = Param("initial_accumulator_value", 0.0, "float", 0.0, 10.0,
                            help="the value G starts from (added at the first step)")
ALPHA = Param("alpha", 0.99, "float", 0.0, 1.0, hi_open=True,
              help="the averaging rate of v: how slowly old squared gradients are forgotten")
CENTERED = Param("centered", False, "bool",
                 help="divide by the running variance of g (v - m^2) instead of its mean square")
RHO = Param("rho", 0.9, "float", 0.0, 1.0, hi_open=True,
            help="the averaging rate of v (squared gradients) and u (squared updates)")


def _with_default(param: Param, default, **changes) -> Param:
    return replace(param, default=default, **changes)


LR_RANGE: Range = LR.range  # lr > 0 (declared once: lrlab.params.LR, from lrlab.limits.LR_RANGE)


# =========================================================================== registry
def formula_of(fn: Callable) -> str:
    """The formula in the docstring of a ``*_textbook`` function: its second paragraph, cleaned
    with :func:`inspect.cleandoc` (the same text on every Python; 3.13 strips docstring
    indentation itself). ``''`` when docstrings are stripped (``python -OO``)."""
    paragraphs = _paragraphs(fn.__doc__)
    return paragraphs[1] if len(paragraphs) > 1 else ""


def _paragraphs(doc: Optional[str]) -> list[str]:
    return [p for p in re.split(r"\n[ \t]*\n", inspect.cleandoc(doc or "")) if p.strip()]


def _fill_formula(step: Callable, textbook: Callable) -> None:
    """Write ``textbook``'s formula (and the notes after it) into the ``{formula}`` line of the fast
    ``step``'s docstring, which then reads the same on every Python (cleaned)."""
    if step.__doc__ is None or "{formula}" not in step.__doc__:
        return
    body = "\n\n".join(_paragraphs(textbook.__doc__)[1:])
    step.__doc__ = inspect.cleandoc(step.__doc__).replace("{formula}", textwrap.indent(body, "    "))


@dataclass
class OptimizerSpec(Declarations):
    """One optimizer: its pure functions, its hyper-parameters (:class:`lrlab.params.Param`, one
    declaration each) and words for the panels.

    ``defaults``, ``ranges``, ``kinds`` and ``choices`` are read from ``params``;
    ``formula`` from the docstring of ``textbook``."""

    name: str
    init: Callable
    step: Callable
    effective_step: Callable
    params: tuple
    description: str
    cls: Optional[type] = None
    textbook: Optional[Callable] = None  # the readable reference of ``step`` (its docstring is the formula)

    def __post_init__(self):
        self._index_params()
        #: the hyper-parameters besides ``lr``, in order (read at every step of a torch.optim class)
        self.hyper_names = tuple(p.name for p in self.params if p.name != "lr")

    @property
    def formula(self) -> str:
        """The update, as the docstring of :attr:`textbook` writes it (:func:`formula_of`)."""
        return formula_of(self.textbook) if self.textbook is not None else ""

    def resolve(self, **given) -> dict[str, Any]:
        """The defaults overlaid with ``given`` (``None`` means "use the default"), validated.

        Raises ``ValueError('<argument>: <allowed range>, got <value>')`` (:meth:`Param.check`).
        Tensor values [K] are checked element by element.
        """
        unknown = set(given) - set(self._by_name)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a hyper-parameter of {self.name}; "
                             f"allowed: {', '.join(self._by_name)}")
        hyper = {}
        for p in self.params:
            value = given.get(p.name)
            hyper[p.name] = p.check(p.default if value is None else value)
        return hyper


_MOMENTUM_WORDS = ("Momentum keeps a velocity: a running sum of past gradients, each older one "
                   "weighted by another factor of momentum.")

OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(
        "sgd", sgd_init, sgd_step, sgd_effective_step, (LR, WEIGHT_DECAY),
        "Plain gradient descent: every step moves each parameter downhill by the learning rate "
        "times its gradient. The step size is the same for every parameter and every step, so "
        "a learning rate small enough for the steepest direction is slow in the flat ones."),
    "momentum": OptimizerSpec(
        "momentum", momentum_init, momentum_step, momentum_effective_step, (LR, MOMENTUM, WEIGHT_DECAY),
        "Heavy-ball momentum: the parameters move along a velocity that accumulates past "
        "gradients, like a ball rolling downhill. " + _MOMENTUM_WORDS + " Along a consistent "
        "slope it speeds up to about lr / (1 - momentum) per unit gradient; across a narrow "
        "valley the back-and-forth gradients cancel out."),
    "nesterov": OptimizerSpec(
        "nesterov", momentum_init, nesterov_step, nesterov_effective_step, (LR, MOMENTUM, WEIGHT_DECAY),
        "Nesterov momentum: like heavy-ball momentum, but the step looks ahead: it adds the "
        "current gradient once more on top of the updated velocity, so the ball brakes earlier "
        "when the slope turns. " + _MOMENTUM_WORDS),
    "adagrad": OptimizerSpec(
        "adagrad", adagrad_init, adagrad_step, adagrad_effective_step,
        (LR, LR_DECAY, WEIGHT_DECAY, INITIAL_ACCUMULATOR, _with_default(EPS, 1e-10)),
        "AdaGrad gives every parameter its own step size: the learning rate divided by the "
        "square root of the sum of all its squared gradients so far. Parameters that have seen "
        "large gradients slow down, rarely-updated ones keep large steps. The sum only grows, "
        "so every step size only shrinks, and long runs can stall."),
    "rmsprop": OptimizerSpec(
        "rmsprop", rmsprop_init, rmsprop_step, rmsprop_effective_step,
        (LR, ALPHA, EPS, WEIGHT_DECAY, _with_default(MOMENTUM, 0.0), CENTERED),
        "RMSProp fixes AdaGrad's ever-shrinking steps: it divides by the root of a running "
        "average of squared gradients that forgets old ones at rate alpha, so step sizes can "
        "grow again when gradients get small. 'centered' divides by the running variance "
        "instead (subtracting the squared mean gradient); 'momentum' adds a velocity on top."),
    "adam": OptimizerSpec(
        "adam", adam_init, adam_step, adam_effective_step, (LR, BETAS, EPS, WEIGHT_DECAY, AMSGRAD),
        "Adam combines momentum and RMSProp: it keeps running averages of the gradient (m, "
        "rate beta1) and of its square (v, rate beta2), corrects both for starting at zero, and "
        "steps by lr * m_hat / (sqrt(v_hat) + eps). Each parameter moves by at most a few times lr "
        "per step, however large or small its gradients are. 'amsgrad' divides by the largest v seen so far, so "
        "step sizes never grow."),
    "adamw": OptimizerSpec(
        "adamw", adam_init, adamw_step, adam_effective_step,
        # weight decay 0.01 as torch.optim.AdamW: decoupled decay is the point of AdamW
        (LR, BETAS, EPS, _with_default(WEIGHT_DECAY, 0.01, help="decoupled weight decay: every weight "
                                       "shrinks by the fraction lr * weight_decay each step"), AMSGRAD),
        "AdamW is Adam with decoupled weight decay: instead of adding weight_decay * theta to "
        "the gradient (where Adam's scaling would shrink it for parameters with large "
        "gradients), it shrinks every weight by the same fraction lr * weight_decay each step, "
        "then takes Adam's step."),
    "adadelta": OptimizerSpec(
        "adadelta", adadelta_init, adadelta_step, adadelta_effective_step,
        # lr 1.0 (torch's default): Adadelta sets its own step size; lr only rescales it
        (_with_default(LR, 1.0), RHO, _with_default(EPS, 1e-6), WEIGHT_DECAY),
        "Adadelta needs no learning rate of its own: each parameter's step size is the ratio of "
        "the running RMS of its recent updates to the running RMS of its recent gradients (both "
        "averaged at rate rho), so the update has the units of the parameter. lr (default 1) "
        "only rescales it. Steps start tiny (about sqrt(eps)) and grow as updates accumulate."),
}

for _name, _textbook in {
        "sgd": sgd_textbook, "momentum": momentum_textbook, "nesterov": nesterov_textbook,
        "adagrad": adagrad_textbook, "rmsprop": rmsprop_textbook, "adam": adam_textbook,
        "adamw": adamw_textbook, "adadelta": adadelta_textbook}.items():
    OPTIMIZERS[_name].textbook = _textbook
    _fill_formula(OPTIMIZERS[_name].step, _textbook)
del _name, _textbook


def get(name: str) -> OptimizerSpec:
    """The registry entry for ``name`` (lower case), or ``ValueError`` listing the names."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def check_names(names, what: str = "optimizers") -> list[str]:
    """``names`` as a list, each one a registered optimizer; ``ValueError('what: ...')`` otherwise
    (checked before a panel builds anything: a filter would drop an unknown name silently)."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise ValueError(f"{what}: must be a list of optimizer names, got {names!r}"[:200])
    unknown = [o for o in names if not isinstance(o, str) or o not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"{what}: unknown optimizer {unknown[0]!r}; allowed: {', '.join(OPTIMIZERS)}"[:300])
    return list(names)


# =========================================================================== torch.optim classes
class _GroupBuffers:
    """A parameter group's flat buffers: the parameters, their gradients and every state
    field as one vector each; ``self.state[p]`` holds views of them shaped like ``p``."""

    def __init__(self, spec, params, param_flat, grad_flat, state):
        self.spec = spec
        self.params = params
        self.param_flat, self.grad_flat, self.state = param_flat, grad_flat, state
        self.param_views = _views(param_flat, params)
        self.grad_views = _views(grad_flat, params)
        self.in_step = True  # every parameter has the same count (set False by a per-parameter step)


def _views(flat: torch.Tensor, params) -> list[torch.Tensor]:
    views, offset = [], 0
    for p in params:
        views.append(flat[offset: offset + p.numel()].view(p.shape))
        offset += p.numel()
    return views


_STATE_TYPES: dict[str, type] = {}


def _state_type(spec: OptimizerSpec) -> type:
    """The NamedTuple class of ``spec``'s state (count first, then the tensor fields)."""
    if spec.name not in _STATE_TYPES:
        _STATE_TYPES[spec.name] = type(spec.init(torch.zeros(0)))
    return _STATE_TYPES[spec.name]


class TextbookOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` over one of lrlab's pure update functions.

    Per parameter group, the state is one flat vector per state field (``self.state[p]``
    holds views of it shaped like ``p``, plus ``count``); a step copies the gradients and
    parameters into flat buffers (``torch._foreach_copy_``), applies the pure ``step``
    function *once* to the whole group, and copies the parameters back. Parameters whose
    ``grad`` is None are skipped, as in torch (the group is then stepped parameter by
    parameter, on the same state views).
    """

    name = ""  # the registry key

    def __init__(self, params, **hyper):
        defaults = get(self.name).resolve(**hyper)
        self._buffers: dict[int, _GroupBuffers] = {}
        super().__init__(params, defaults)

    # -- which function a group uses ----------------------------------------------
    def _spec(self, group) -> OptimizerSpec:
        return get(self.name)

    def _hyper(self, group, spec) -> dict:
        return {k: group[k] for k in spec.hyper_names}

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        resolved = get(self.name).resolve(**{k: group[k] for k in self.defaults})
        group.update(resolved)
        self._buffers = {}

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        self._buffers = {}  # rebuilt from the loaded per-parameter state at the next step

    # -- state ----------------------------------------------------------------------
    def _group_buffers(self, index: int, group) -> Optional[_GroupBuffers]:
        spec = self._spec(group)
        buffers = self._buffers.get(index)
        if buffers is not None and buffers.spec is spec:
            return buffers
        params = group["params"]
        if not params:
            return None
        if len({(p.dtype, p.device) for p in params}) != 1:
            for p in params:  # mixed dtypes/devices: state per parameter, no flat path
                self._ensure_param_state(p, spec)
            return None
        with torch.no_grad():
            param_flat = torch.cat([p.detach().reshape(-1) for p in params])
        state_cls = _state_type(spec)
        fields = state_cls._fields[1:]  # every field but count
        pieces = {f: [] for f in fields}
        counts = []
        for p, piece in zip(params, _views(param_flat, params)):
            old = self.state.get(p, {})
            counts.append(old.get("count", 0))
            for f in fields:
                value = old.get(f)
                pieces[f].append(value.detach().reshape(-1).to(param_flat) if isinstance(value, torch.Tensor)
                                 and value.numel() == p.numel() else torch.zeros(p.numel(), dtype=p.dtype,
                                                                                 device=p.device))
        flat_fields = {f: torch.cat(pieces[f]) for f in fields}
        state = state_cls(counts[0], **flat_fields)
        buffers = _GroupBuffers(spec, params, param_flat, torch.zeros_like(param_flat), state)
        buffers.in_step = len(set(counts)) == 1
        field_views = {f: _views(flat_fields[f], params) for f in fields}
        for i, p in enumerate(params):
            self.state[p] = {"count": counts[i], **{f: field_views[f][i] for f in fields}}
        self._buffers[index] = buffers
        return buffers

    def _ensure_param_state(self, p, spec) -> None:
        st = self.state.get(p)
        if st and all(f in st for f in _state_type(spec)._fields):
            return
        fresh = spec.init(p.detach())
        self.state[p] = {"count": 0, **{f: getattr(fresh, f) for f in type(fresh)._fields[1:]}}

    def _param_state(self, p, spec):
        st = self.state[p]
        state_cls = _state_type(spec)
        return state_cls(st["count"], **{f: st[f] for f in state_cls._fields[1:]})

    # -- the step ---------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for index, group in enumerate(self.param_groups):
            spec = self._spec(group)
            buffers = self._group_buffers(index, group)
            hyper = self._hyper(group, spec)
            params = group["params"]
            grads = [p.grad for p in params]
            if any(g is not None and g.is_sparse for g in grads):
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            if buffers is not None and buffers.in_step and all(g is not None for g in grads):
                # the flat path: one call of the pure function for the whole group
                torch._foreach_copy_(buffers.grad_views, grads)
                torch._foreach_copy_(buffers.param_views, params)
                buffers.state = spec.step(buffers.param_flat, buffers.grad_flat, buffers.state,
                                          lr=group["lr"], **hyper)
                torch._foreach_copy_(params, buffers.param_views)
                count = buffers.state.count
                for p in params:
                    self.state[p]["count"] = count
            else:
                # parameter by parameter (some grads are None, or mixed dtypes/devices)
                for p, g in zip(params, grads):
                    if g is None:
                        continue
                    self._ensure_param_state(p, spec)
                    new = spec.step(p, g, self._param_state(p, spec), lr=group["lr"], **hyper)
                    self.state[p]["count"] = new.count
                if buffers is not None:
                    counts = {self.state[p]["count"] for p in params}
                    buffers.in_step = len(counts) == 1
                    if buffers.in_step:
                        buffers.state = buffers.state._replace(count=counts.pop())
        return loss

    @torch.no_grad()
    def effective_step(self) -> list[torch.Tensor]:
        """For every parameter (in ``param_groups`` order), a tensor shaped like it: the
        multiplier applied at the last step to the gradient the optimizer steps along (the
        gradient, or its average: Adam's ``m_hat``; see the module docstring; before
        any step, the multiplier the first step would use with zero state)."""
        out = []
        for index, group in enumerate(self.param_groups):
            spec = self._spec(group)
            self._group_buffers(index, group)
            hyper = self._hyper(group, spec)
            for p in group["params"]:
                self._ensure_param_state(p, spec)
                out.append(spec.effective_step(self._param_state(p, spec), p.detach(), lr=group["lr"], **hyper))
        return out


class SGD(TextbookOptimizer):
    """Plain gradient descent, ``theta <- theta - lr * (g + weight_decay * theta)``
    (:func:`sgd_step`), constructed like ``torch.optim.SGD``.

    As in torch, ``momentum > 0`` gives heavy-ball momentum (:func:`momentum_step`) and
    ``nesterov=True`` Nesterov momentum (:func:`nesterov_step`); dampening is always 0.
    Effective step: ``lr``.
    """

    name = "sgd"

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0, nesterov=False):
        MOMENTUM.check(momentum)
        nesterov = check_bool("nesterov", nesterov)
        if nesterov and momentum == 0:
            raise ValueError("nesterov: needs momentum in (0, 1), got momentum 0")
        self._extra = {"momentum": momentum, "nesterov": nesterov}
        super().__init__(params, lr=lr, weight_decay=weight_decay)

    def add_param_group(self, param_group: dict) -> None:
        extra = {k: param_group.pop(k, v) for k, v in self._extra.items()}
        super().add_param_group(param_group)
        MOMENTUM.check(extra["momentum"])
        self.param_groups[-1].update(extra)

    def _spec(self, group) -> OptimizerSpec:
        if group.get("nesterov"):
            return OPTIMIZERS["nesterov"]
        return OPTIMIZERS["momentum"] if group.get("momentum", 0) != 0 else OPTIMIZERS["sgd"]

    def _hyper(self, group, spec) -> dict:
        return {k: group[k] for k in spec.hyper_names}


class Momentum(TextbookOptimizer):
    """Heavy-ball momentum (:func:`momentum_step`); ``torch.optim.SGD(momentum=...)`` with
    dampening 0. Effective step: ``lr``, the multiplier on the velocity."""

    name = "momentum"

    def __init__(self, params, lr=0.01, momentum=0.9, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


class Nesterov(TextbookOptimizer):
    """Nesterov momentum (:func:`nesterov_step`); ``torch.optim.SGD(momentum=..., nesterov=True)``.
    Effective step: ``lr``, the multiplier on ``g + momentum * velocity``."""

    name = "nesterov"

    def __init__(self, params, lr=0.01, momentum=0.9, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


class AdaGrad(TextbookOptimizer):
    """AdaGrad (:func:`adagrad_step`), constructed like ``torch.optim.Adagrad``.
    Effective step: ``lr_t / (sqrt(G) + eps)``, ``lr_t = lr / (1 + (t - 1) lr_decay)``."""

    name = "adagrad"

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)


class RMSProp(TextbookOptimizer):
    """RMSProp (:func:`rmsprop_step`), constructed like ``torch.optim.RMSprop``.
    Effective step: ``lr / (sqrt(v) + eps)`` (centered: ``lr / (sqrt(v - m^2) + eps)``)."""

    name = "rmsprop"

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered)


class Adam(TextbookOptimizer):
    """Adam (:func:`adam_step`), constructed like ``torch.optim.Adam`` (default lr 0.01, as the adaptive learning-rate procedure starts).
    Effective step: ``lr / (sqrt(v_hat) + eps)``, the multiplier on ``m_hat``."""

    name = "adam"

    def __init__(self, params, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class AdamW(TextbookOptimizer):
    """AdamW (:func:`adamw_step`), constructed like ``torch.optim.AdamW`` (decoupled weight decay 0.01).
    Effective step: as Adam."""

    name = "adamw"

    def __init__(self, params, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class Adadelta(TextbookOptimizer):
    """Adadelta (:func:`adadelta_step`), constructed like ``torch.optim.Adadelta`` (lr 1.0).
    Effective step: ``lr * sqrt(u + eps) / sqrt(v + eps)`` with ``u`` from before the step."""

    name = "adadelta"

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)


Adagrad, RMSprop = AdaGrad, RMSProp  # torch's spellings

for _cls in (SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam, AdamW, Adadelta):
    OPTIMIZERS[_cls.name].cls = _cls
del _cls
