"""The race vs a torch.func ensemble: what a GPU user would write to train K models at once.

"Theirs" is :class:`Ensemble`, written as in PyTorch's "model ensembling" tutorial:

* K copies of one :class:`lrlab.nets.MLP` (the same seed, so the same initial weights as the
  race) are stacked with ``torch.func.stack_module_state``: every weight and bias gets a
  leading K axis;
* the loss of ONE model is an ordinary function of its parameters
  (``torch.func.functional_call`` of the network on a "meta" copy, then cross-entropy; the
  training accuracy of the same forward pass is returned beside it);
* ``torch.func.vmap(torch.func.grad_and_value(loss))`` gives the K gradients, losses and
  accuracies in one call (full batch: the whole training set every epoch);
* one Adam step is written out plainly on the stacked tensors (m, v, bias correction, with a
  learning rate per model), as ``torch.optim.Adam`` does for one model;
* after the step, a ``vmap``-ed forward pass under ``no_grad`` gives each model's test loss and
  accuracy.

Each epoch it keeps, for every model, the same four numbers the race records: the training loss
and accuracy of the forward pass that produced the epoch's gradient (before the update) and the
test loss and accuracy after the update. They stay on the device as one ``[4, K]`` tensor per
epoch (no host round trip per epoch) and :meth:`Ensemble.metrics` stacks them at the end.

"Ours" is :class:`lrlab.race.Race` on the same configs: the same data, network, initial weights,
Adam and learning rates (tests/test_bench_ensemble.py checks that both give the same losses).

Rows (``lrlab bench --only ensemble``):

* K=1024 models on the CPU, one torch thread for both: model-epochs/s, target >= 3x;
* K=65,536 models on CUDA: model-epochs/s (= model-steps/s: full batch, one step per epoch),
  target >= 1x; measured only where ``torch.cuda.is_available()``, else printed as skipped.

Both sides are built and run for one untimed epoch first (allocation, CUDA start-up), then timed
over the same number of epochs; best of several repeats, alternating (:func:`lrlab.bench.side_by_side`).
"""
from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from . import Row, side_by_side
from ..nets import MLP
from ..race import Race
from ..threads import engine_threads
from ..train import TrainConfig, make_dataset

CONFIG = TrainConfig(dataset="moons", n_samples=410, hidden=(16, 16), activation="tanh", optimizer="adam", lr=0.01)
SHAPE = "2-16-16-2 tanh, moons n_samples=410, full batch, float32, Adam"


class Ensemble:
    """K copies of ``config``'s MLP trained together with torch.func, Adam at ``lrs[k]`` for model k."""

    def __init__(self, config: TrainConfig, lrs, betas=(0.9, 0.999), eps=1e-8):
        dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
        device = torch.device(config.device)
        data = make_dataset(config, device)
        self.X_train, self.y_train = data.X_train, data.y_train
        self.X_test, self.y_test = data.X_test, data.y_test

        # K copies of the same network (same seed: same initial weights), stacked along a new first axis
        model = MLP(data.X_train.shape[1], config.hidden, data.out_features, config.activation,
                    seed=config.seed, dtype=dtype, device=device)
        self.K = len(lrs)
        params, _ = stack_module_state([model] * self.K)
        self.params = {name: p.detach() for name, p in params.items()}
        self.base = copy.deepcopy(model).to("meta")  # only its structure is used by functional_call

        # Adam's state, one slot per stacked tensor; a learning rate per model, shaped to broadcast
        self.lrs = torch.as_tensor(np.asarray(lrs, dtype=float), dtype=dtype, device=device)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = {name: torch.zeros_like(p) for name, p in self.params.items()}
        self.v = {name: torch.zeros_like(p) for name, p in self.params.items()}
        self.t = 0

        # the gradient of one model's loss w.r.t. its parameters, vmapped over the K models
        self.grads_and_losses = vmap(grad_and_value(self.loss_and_accuracy, has_aux=True), in_dims=(0, None, None))
        self.evaluate = vmap(self.loss_and_accuracy, in_dims=(0, None, None))
        self.history = []  # one [4, K] tensor per epoch: train loss, train acc, test loss, test acc

    def loss_and_accuracy(self, params, X, y):
        """One model: (cross-entropy loss, (accuracy,)) of its forward pass on (X, y)."""
        logits = functional_call(self.base, params, (X,))
        loss = torch.nn.functional.cross_entropy(logits, y)
        accuracy = (logits.argmax(dim=1) == y).to(logits.dtype).mean()
        return loss, accuracy

    def adam_step(self, grads) -> None:
        """One Adam step (torch.optim.Adam's formula) on every stacked tensor at once."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for name, p in self.params.items():
            g = grads[name]
            m, v = self.m[name], self.v[name]
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            m_hat = m / (1 - b1 ** self.t)
            v_hat = v / (1 - b2 ** self.t)
            lr = self.lrs.view(-1, *([1] * (p.dim() - 1)))  # [K, 1, ...]
            p.sub_(lr * m_hat / (v_hat.sqrt() + self.eps))

    def epoch(self) -> None:
        """One full-batch epoch of every model: gradient, Adam step, test metrics after the step."""
        grads, (train_loss, train_acc) = self.grads_and_losses(self.params, self.X_train, self.y_train)
        self.adam_step(grads)
        with torch.no_grad():
            test_loss, test_acc = self.evaluate(self.params, self.X_test, self.y_test)
        self.history.append(torch.stack([train_loss, train_acc, test_loss, test_acc]))

    def metrics(self) -> np.ndarray:
        """``[epochs, 4, K]`` on the host: train loss, train accuracy, test loss, test accuracy."""
        return torch.stack(self.history).cpu().numpy()


def ensemble(config: TrainConfig, lrs, epochs: int) -> np.ndarray:
    """Train the torch.func ensemble for ``epochs``; its ``[epochs, 4, K]`` metrics."""
    e = Ensemble(config, lrs)
    for _ in range(epochs):
        e.epoch()
    return e.metrics()


# ---------------------------------------------------------------------------- timing
def learning_rates(K: int) -> np.ndarray:
    """K Adam learning rates, log-spaced 1e-3 .. 1e-1 (none of them diverges on this problem)."""
    return np.logspace(-3, -1, K)


def _sync(device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def race_rate(K: int, epochs: int, device: str = "cpu") -> float:
    """Model-epochs/s of ``lrlab.race.Race`` over K Adam configs (after one untimed epoch)."""
    base = CONFIG.replace(device=device)
    r = Race([base.replace(lr=float(lr)) for lr in learning_rates(K)], epochs + 1)
    r.epoch()
    _sync(device)
    t = time.perf_counter()
    while not r.done:
        r.epoch()
    _sync(device)
    seconds = time.perf_counter() - t
    if any(run.stop_reason != "max_epochs" for run in r.runs):
        raise RuntimeError("a model of the race stopped early: it would have done less work than the ensemble")
    return K * epochs / seconds


def ensemble_rate(K: int, epochs: int, device: str = "cpu") -> float:
    """Model-epochs/s of :class:`Ensemble` over the same K learning rates (after one untimed epoch)."""
    e = Ensemble(CONFIG.replace(device=device), learning_rates(K))
    e.epoch()
    _sync(device)
    t = time.perf_counter()
    for _ in range(epochs):
        e.epoch()
    e.metrics()  # the recorded numbers reach the host, as the race's do every epoch
    _sync(device)
    return K * epochs / (time.perf_counter() - t)


def compare(K: int, epochs: int, device: str, repeats: int) -> tuple[float, float]:
    """(race, ensemble) model-epochs/s, side by side, best of ``repeats``."""
    return side_by_side(lambda: race_rate(K, epochs, device), lambda: ensemble_rate(K, epochs, device), repeats)


def cpu_rows(quick: bool, K: int | None = None):
    K = K or (64 if quick else 1024)
    epochs = 20 if quick else 50
    with engine_threads(1):
        ours, theirs = compare(K, epochs, "cpu", 2 if quick else 5)
    yield Row(f"race vs torch.func ensemble, K={K:,}, CPU, 1 thread", ours, theirs, "model-epochs/s", target=3.0,
              note=f"{SHAPE}, lrs 1e-3..1e-1; {epochs} epochs timed; both record train/test loss and accuracy "
                   f"every epoch")


def cuda_rows(quick: bool, K: int | None = None):
    K = K or (4096 if quick else 65_536)
    name = f"race vs torch.func ensemble, K={K:,}, CUDA"
    if not torch.cuda.is_available():
        yield Row(name, None, None, "model-epochs/s", target=1.0, note="skipped: no CUDA here (target >= 1x)")
        return
    epochs = 10 if quick else 50
    ours, theirs = compare(K, epochs, "cuda", 1 if quick else 3)
    yield Row(name, ours, theirs, "model-epochs/s", target=1.0,
              note=f"{torch.cuda.get_device_name(0)}; {SHAPE}; full batch: model-steps/s = model-epochs/s; "
                   f"{epochs} epochs timed")


def rows(quick: bool):
    yield from cpu_rows(quick)
    yield from cuda_rows(quick)
