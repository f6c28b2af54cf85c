"""A finished (or running) training run: :class:`Run` — its config, network, history, why it
stopped and its best epoch; saved and read back as strict JSON (:mod:`lrlab.safeio`).
:func:`network_frame`: what the network view draws of a run, a trainer or a bare network."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from . import data as data_mod
from . import limits, nets, safeio
from .batched import output_loss, score
from .config import TrainConfig, features_of, make_dataset, torch_dtype
from .history import History
from .rules import best_rule
from .rules import LOSS_FLOOR

@dataclass
class Run:
    """The result of a run: history, why it stopped, the best epoch (its weights restored)."""

    config: TrainConfig
    model: nets.MLP
    history: History
    dataset: Optional[data_mod.Dataset] = None
    stop_reason: Optional[str] = None
    stop_epoch: Optional[int] = None  # the last epoch trained (0-based)
    best_epoch: Optional[int] = None
    best_metrics: dict = field(default_factory=dict)
    wall_time: float = 0.0
    steps: int = 0
    restored_best: bool = False

    @property
    def kind(self) -> str:
        """'classification' or 'regression': the data decides (a CSV may hold either)."""
        if self.dataset is not None:
            return self.dataset.kind
        return "regression" if self.config.dataset in data_mod.REGRESSION else "classification"

    def data(self) -> data_mod.Dataset:
        """The run's data: the dataset it trained on, or (a run read from JSON) the same data
        made again from its config (datasets are generated from the seed)."""
        if self.dataset is None:
            self.dataset = make_dataset(self.config, device=self.model.flat_parameters().device)
        return self.dataset

    def inputs(self, X) -> torch.Tensor:
        """Raw inputs -> the network's input features, as a tensor on the model's device."""
        p = self.model.flat_parameters()
        X = torch.as_tensor(X, dtype=p.dtype, device=p.device)
        if X.dim() == 1:
            X = X.view(-1, 1)
        return data_mod.transform(X, features_of(self.config))

    def output(self, X) -> torch.Tensor:
        with torch.no_grad():
            return self.model(self.inputs(X))

    def predict(self, X) -> torch.Tensor:
        """Class labels (classification) or predicted values [n, 1] (regression) for raw inputs X."""
        out = self.output(X)
        return out.argmax(1) if self.kind == "classification" else out

    def predict_proba(self, X) -> torch.Tensor:
        return torch.softmax(self.output(X), dim=1)

    def evaluate(self, X, y) -> dict:
        """Loss and accuracy (R^2 for regression) of the current weights on (X, y)."""
        out = self.output(X).unsqueeze(0)
        y = torch.as_tensor(y, device=out.device)
        loss, _ = output_loss(out, y, self.config.loss, with_grad=False)
        return {"loss": float(loss[0]), "acc": float(score(out, y, self.kind)[0])}

    def message(self) -> str:
        """The stop reason in plain words."""
        last = self.history.last or {}
        e = (self.stop_epoch or 0) + 1
        what = "R^2" if self.kind == "regression" else "test accuracy"
        if self.stop_reason == "target_accuracy":
            return f"reached {100 * last.get('test_acc', float('nan')):.1f} % {what} at epoch {e}"
        if self.stop_reason == "diverged":
            loss = last.get("train_loss", float("nan"))
            if not math.isfinite(loss):
                return (f"diverged at epoch {e}: the loss became {'inf' if math.isinf(loss) else 'nan'}: "
                        f"the learning rate is too high")
            first = self.history["train_loss"][0] if len(self.history) else float("nan")
            ratio = loss / max(abs(first), LOSS_FLOOR)  # as the divergence rule measures it
            how_far = f"{ratio:,.0f}x" if ratio < 1e4 else f"{ratio:.1e}x" if math.isfinite(ratio) else "far above"
            return (f"diverged at epoch {e}: the loss is {how_far} where it started ({first:.3g} -> "
                    f"{loss:.3g}): the learning rate is too high")
        if self.stop_reason == "converged":
            return (f"converged at epoch {e}: the training loss has not improved by {self.config.min_delta:g} "
                    f"for {self.config.patience} epochs")
        if self.stop_reason == "stopped_by_user":
            return f"stopped by you at epoch {e}"
        if self.stop_reason == "max_epochs":
            return f"finished the {self.config.max_epochs} epochs"
        return "not started"

    def summary(self) -> str:
        """One line: stop reason, best epoch and its test accuracy, wall time."""
        parts = [self.message()]
        if self.best_epoch is not None:
            m = self.best_metrics
            what = "R^2" if self.kind == "regression" else "test accuracy"
            parts.append(f"best epoch {self.best_epoch + 1} ({best_rule(self.config)}): "
                         f"{what} {100 * m.get('test_acc', float('nan')):.1f} %, test loss {m.get('test_loss', float('nan')):.4f}"
                         + (" — its weights were restored" if self.restored_best else ""))
        parts.append(f"{self.wall_time:.2f} s")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "lrlab": 1,
            "config": self.config.to_dict(),
            "stop_reason": self.stop_reason, "stop_epoch": self.stop_epoch,
            "best_epoch": self.best_epoch, "best_metrics": dict(self.best_metrics),
            "wall_time": self.wall_time, "steps": self.steps, "restored_best": self.restored_best,
            "summary": self.summary(),
            "history": self.history.to_dict(),
            "model": {"sizes": list(self.model.sizes), "activation": self.model.activation,
                      "parameters": [p.detach().cpu().double().tolist() for p in self.model.parameters()]},
        }

    def to_json(self, path: str | None = None) -> str:
        """The run as strict JSON (a diverged run's inf/NaN as strings that read back exactly)."""
        text = safeio.dumps(self.to_dict(), indent=1)
        if path is not None:
            safeio.write_text(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str) -> "Run":
        """A run saved by :meth:`to_json` (text or a path), checked before anything is allocated."""
        if not isinstance(text_or_path, str):
            raise ValueError(f"run: expected JSON text or a file name, got {type(text_or_path).__name__}")
        text = text_or_path
        if not text_or_path.lstrip().startswith(("{", "[")):
            text = safeio.read_bounded(text_or_path, "run", limits.MAX_JSON_BYTES).decode("utf-8", "replace")
        return cls._from_dict(safeio.loads_bounded(text, "run", limits.MAX_JSON_BYTES))

    @classmethod
    def _from_dict(cls, d) -> "Run":
        def need(obj, key, kind, where="run"):
            if not isinstance(obj, dict) or key not in obj:
                raise ValueError(f"{where}: missing field {key!r} (not a run saved by lrlab)")
            if not isinstance(obj[key], kind) or isinstance(obj[key], bool):
                raise ValueError(f"{where}.{key}: expected {getattr(kind, '__name__', 'a value')}, "
                                 f"got {type(obj[key]).__name__}")
            return obj[key]

        if not isinstance(d, dict) or d.get("lrlab") != 1:
            raise ValueError("run: not a run saved by lrlab (no \"lrlab\": 1 field)")
        config = TrainConfig.from_dict(need(d, "config", dict))
        m = need(d, "model", dict)
        sizes = need(m, "sizes", list, "model")
        if not (2 <= len(sizes) <= limits.MAX_DEPTH + 2) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in sizes):
            raise ValueError(f"model.sizes: expected 2 to {limits.MAX_DEPTH + 2} integers, got {str(sizes)[:80]}")
        if not (1 <= sizes[0] <= len(data_mod.FEATURES) and 1 <= sizes[-1] <= limits.MAX_CLASSES):
            raise ValueError(f"model.sizes: inputs must be in [1, {len(data_mod.FEATURES)}] and outputs in "
                             f"[1, {limits.MAX_CLASSES}], got {sizes[0]} and {sizes[-1]}")
        nets.validate_architecture(sizes[0], tuple(sizes[1:-1]), sizes[-1], need(m, "activation", str, "model"))
        params = need(m, "parameters", list, "model")
        model = nets.MLP(sizes[0], tuple(sizes[1:-1]), sizes[-1], m["activation"], dtype=torch_dtype(config.dtype))
        shapes = [tuple(p.shape) for p in model.parameters()]
        if len(params) != len(shapes):
            raise ValueError(f"model.parameters: expected {len(shapes)} tensors for sizes {sizes}, got {len(params)}")
        with torch.no_grad():
            for i, (p, values) in enumerate(zip(model.parameters(), params)):
                try:
                    t = torch.tensor(values, dtype=p.dtype)
                except (TypeError, ValueError, RuntimeError):
                    raise ValueError(f"model.parameters[{i}]: not a list of numbers") from None
                if tuple(t.shape) != tuple(p.shape):
                    raise ValueError(f"model.parameters[{i}]: shape {tuple(t.shape)}, expected {tuple(p.shape)}")
                p.copy_(t)
        try:
            history = History.from_dict(need(d, "history", dict))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"history: not a history saved by lrlab ({exc})") from None
        best = d.get("best_metrics") or {}
        return cls(config, model, history, None, d.get("stop_reason"), d.get("stop_epoch"),
                   d.get("best_epoch"), best if isinstance(best, dict) else {}, float(d.get("wall_time") or 0.0),
                   int(d.get("steps") or 0), bool(d.get("restored_best")))


def parts_of(run_or_model, features=None):
    """``(model, features, kind, dataset or None)`` of a Run, a Trainer or a bare MLP (a bare
    network's inputs are ``x1 .. xn`` unless ``features`` are given)."""
    run = getattr(run_or_model, "run", run_or_model)  # a Trainer holds its Run
    model = getattr(run, "model", run)
    dataset = getattr(run, "dataset", None)
    if features is None:
        config = getattr(run, "config", None)
        features = features_of(config) if config is not None else tuple(f"x{i + 1}" for i in range(model.sizes[0]))
    kind = getattr(run, "kind", None) or ("classification" if model.sizes[-1] > 1 else "regression")
    return model, tuple(features), kind, dataset


def network_frame(source, resolution: int = 30, extent=None, features=None, X=None, y=None):
    """The :class:`lrlab.records.NetworkFrame` of ``source`` — a :class:`Run`, a bare
    :class:`lrlab.nets.MLP` (``features``: its inputs, default ``x1 .. xn``) or a Trainer (its
    engine's :meth:`~lrlab.engine.Engine.network_frame`, live weights) — through the one function
    that does the network view's maths (:func:`lrlab.records.network_frame`). A run read from
    JSON has no data attached: its view box is the default and it holds no predictions."""
    from .records import NetworkFrame
    from .records import network_frame as build
    if isinstance(source, NetworkFrame):
        return source
    if callable(getattr(source, "network_frame", None)):  # a Trainer: its engine's snapshot
        if features is not None:
            raise ValueError("features: a trainer's network reads its config's features; give them to a run "
                             "or a bare network only")
        return source.network_frame(resolution, extent, X, y)
    model, features, kind, dataset = parts_of(source, features)
    weights, biases = model.weights_and_biases()
    return build(weights, biases, model.activation, features, kind, dataset, resolution, extent, X, y)
