"""The training engine: a config in, a :class:`Run` out. No widgets here.

The seed's loop, exactly: initialise the learning rate (default 0.01); for each epoch,
for each mini-batch compute the gradients by backprop (:func:`lrlab.nets.loss_and_grads`),
compute the step with the optimizer (:mod:`lrlab.optim`) and update; record the epoch's
learning rate, train/test loss and accuracy; repeat until a stopping rule fires:

* ``max_epochs``       the epoch budget is spent;
* ``target_accuracy``  test accuracy (R^2 for regression) >= ``target_accuracy``;
* ``converged``        the training loss has not improved by ``min_delta`` for ``patience`` epochs;
* ``diverged``         the loss is not finite or exceeds ``divergence_factor`` x the first
  epoch's loss (never raises: the run stops and says so);
* ``stopped_by_user``  ``should_stop()`` returned True (checked before every mini-batch).

Best-model selection: the epoch with the lowest test loss (``select_best='loss'``) or the
highest test accuracy (``'accuracy'``); its weights are kept and restored at the end.

Epoch metrics: ``train_loss``/``train_acc`` are the means over the epoch's mini-batches
(computed during the forward passes that produced the gradients; with full-batch
training this is the loss *before* the epoch's update); ``test_loss``/``test_acc`` are
measured after the epoch's updates. ``lr`` is the learning rate used during the epoch.

Mini-batches: the training set is shuffled every epoch with ``torch.randperm(n_train,
generator=torch.Generator().manual_seed(seed + 1))`` (one generator for the run, on the
CPU), then cut into ``batch_size`` pieces (the last may be smaller). ``batch_size=None``
means full batch, no shuffling.
"""
from __future__ import annotations

import copy
import math
import numbers
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Optional

import numpy as np
import torch

from . import data as data_mod
from . import checks, limits, nets, optim, safeio, schedules
from .checks import check_number
from .history import History
from .rules import DIVERGED, REASONS, EpochRules

STOP_REASONS = ("max_epochs", "target_accuracy", "converged", "diverged", "stopped_by_user")
DEVICES = ("cpu", "cuda", "auto")
SELECT_BEST = ("loss", "accuracy")
REGULARIZATION = ("none", "l1", "l2")


# ------------------------------------------------------------------------------ config rules
# One rule per TrainConfig field: ``rule(name, value)`` raises ``ValueError('name: ...')`` or returns.
# Each looks at its own field only (type and range, nothing allocated); the checks that involve
# several fields (the optimizer's and schedule's parameters, the split, the batch size) follow.
_shown = checks.shown


_is_int, _is_number, _finite = checks.is_int, checks.is_number, checks.finite


def _integer(lo: int, hi: int, optional: bool = False):
    def rule(name, value):
        check_number(name, value, lo, hi, integer=True, optional=optional)
    return rule


def _number(lo: float, hi: float = math.inf, lo_inc: bool = True, hi_inc: bool = True, optional: bool = False):
    def rule(name, value):
        check_number(name, value, lo, None if math.isinf(hi) else hi, lo_open=not lo_inc, hi_open=not hi_inc,
                     optional=optional)
    return rule


def _choice(options: Callable[[], Any], what: Optional[str] = None):
    """A name out of ``options()``; ``what`` words the message as 'unknown <what> ...; allowed: ...'."""
    def rule(name, value):
        allowed = tuple(options())
        if isinstance(value, str) and value in allowed:
            return
        if what is not None:
            raise ValueError(f"{name}: unknown {what} {_shown(value)}; allowed: {', '.join(allowed)}")
        raise ValueError(f"{name}: must be one of {', '.join(map(repr, allowed))}, got {_shown(value)}")
    return rule


MAX_PATH_CHARS = 4096


def _file_name(name, value):
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: must be None or a file name, got {_shown(value)}")
    if "\0" in value:
        raise ValueError(f"{name}: a file name cannot contain a NUL character, got {_shown(value)}")
    if len(value) > MAX_PATH_CHARS:
        raise ValueError(f"{name}: a file name of {len(value)} characters; at most {MAX_PATH_CHARS}")


def _features(name, value):
    if value is None:
        return
    allowed = ", ".join(data_mod.FEATURES)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name}: must be None (the raw inputs) or a list of feature names out of {allowed}; "
                         f"got {_shown(value)}")
    if not value:
        raise ValueError(f"{name}: pick at least one input feature")
    for f in value:
        if not isinstance(f, str) or f not in data_mod.FEATURES:
            raise ValueError(f"{name}: unknown feature {_shown(f)}; allowed: {allowed}")
    if len(set(value)) < len(value):
        twice = next(f for f in value if value.count(f) > 1)
        raise ValueError(f"{name}: {twice!r} is listed twice")


def _hidden(name, value):
    nets.check_hidden(value)


def _parameters(example: str):
    """A dict of parameter names (text) to values; the values are the optimizer's / schedule's to check."""
    def rule(name, value):
        if not isinstance(value, dict):
            raise ValueError(f"{name}: must be a dict of parameter names to values, e.g. {example}, "
                             f"got {_shown(value)}")
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"{name}: parameter names must be text, got {_shown(key)}")
    return rule


#: every TrainConfig field and its rule, in the order they are checked
_RULES: dict[str, Callable[[str, Any], None]] = {
    "dataset": _choice(lambda: data_mod.DATASETS, "dataset"),
    "n_samples": _integer(data_mod.MIN_SAMPLES, limits.MAX_SAMPLES),
    "noise": _number(0.0, data_mod.MAX_NOISE),
    "test_fraction": _number(0.0, 1.0, lo_inc=False, hi_inc=False),
    "classes": _integer(2, limits.MAX_CLASSES),
    "data_seed": _integer(0, limits.MAX_SEED, optional=True),
    "csv_path": _file_name,
    "features": _features,
    "hidden": _hidden,
    "activation": _choice(lambda: nets.ACTIVATIONS, "activation"),
    "loss": _choice(lambda: nets.LOSSES, "loss"),
    "optimizer": _choice(lambda: optim.OPTIMIZERS, "optimizer"),
    "lr": _number(optim.LR_RANGE[0], optim.LR_RANGE[1], optim.LR_RANGE[2], optim.LR_RANGE[3]),
    "optimizer_params": _parameters("{'momentum': 0.9}"),
    "schedule": _choice(lambda: schedules.SCHEDULES, "schedule"),
    "schedule_params": _parameters("{'T_max': 100}"),
    "regularization": _choice(lambda: REGULARIZATION),
    "reg_rate": _number(0.0, 1.0),
    "batch_size": _integer(1, limits.MAX_SAMPLES, optional=True),
    "max_epochs": _integer(1, limits.MAX_EPOCHS),
    "target_accuracy": _number(0.0, 1.0, lo_inc=False, optional=True),
    "patience": _integer(1, limits.MAX_EPOCHS, optional=True),
    "min_delta": _number(0.0),
    "divergence_factor": _number(1.0, lo_inc=False),
    "select_best": _choice(lambda: SELECT_BEST),
    "seed": _integer(0, limits.MAX_SEED),
    "device": _choice(lambda: DEVICES),
    "dtype": _choice(lambda: ("float32", "float64")),
    "history_capacity": _integer(4, limits.MAX_HISTORY_CAPACITY),
}


def _key_text(key: str) -> str:
    return key if len(key) <= 40 and key.isprintable() else _shown(key, 40)


def _within(field_name: str, keys, exc: ValueError) -> ValueError:
    """``exc`` from an optimizer / schedule about one of its parameters, as 'field.key: ...' (one short line)."""
    message = " ".join(str(exc).split())
    message = message if len(message) <= 300 else message[:297] + "..."
    return ValueError(f"{field_name}.{message}" if message.split(":", 1)[0] in keys else message)


def _plain_values(field_name: str, params: dict) -> None:
    """Parameter values are plain: None, True/False, short text, a finite number, or a short list of numbers."""
    for key, value in params.items():
        where = f"{field_name}.{_key_text(key)}"
        items = value if isinstance(value, (list, tuple)) else (value,)
        if isinstance(value, (list, tuple)) and len(value) > MAX_PARAM_ITEMS:
            raise ValueError(f"{where}: a list of {len(value)} values; at most {MAX_PARAM_ITEMS}")
        for item in items:
            if item is None or isinstance(item, (bool, torch.Tensor)):
                continue
            if isinstance(item, str) and len(item) <= 40:
                continue
            if _is_number(item) and (not isinstance(item, numbers.Integral) or _finite(item)):
                continue  # NaN and infinity: the optimizer / schedule names its allowed range
            raise ValueError(f"{where}: must be a number (or a list of numbers), got {_shown(value)}")


#: the most values one optimizer / schedule parameter may list (a schedule's milestones)
MAX_PARAM_ITEMS = 10_000


def _check_optimizer_params(config) -> None:
    spec = optim.get(config.optimizer)
    params = config.optimizer_params
    allowed = [k for k in spec.defaults if k != "lr"]
    for key in params:
        if key == "lr":
            raise ValueError("optimizer_params.lr: the learning rate is the lr field, not an optimizer_params entry")
        if key not in allowed:
            raise ValueError(f"optimizer_params.{_key_text(key)}: not a hyper-parameter of {spec.name}; "
                             f"allowed: {', '.join(allowed) or 'none'}")
    _plain_values("optimizer_params", params)
    try:
        spec.resolve(lr=config.lr, **params)
    except ValueError as exc:
        raise _within("optimizer_params", allowed, exc) from None
    except (TypeError, AttributeError, OverflowError, ZeroDivisionError, IndexError, KeyError) as exc:
        raise ValueError(f"optimizer_params: {_shown(params)} do not fit {spec.name} ({exc})"[:300]) from None


def _finite_number(name, value):
    if not (_is_number(value) and _finite(value)):
        raise ValueError(f"{name}: must be a finite number, got {_shown(value)}")


#: schedule parameter kinds whose values must be numbers (each schedule then checks the range)
_NUMBER_KINDS = ("lr", "float", "epochs", "int")


def _check_schedule_params(config) -> None:
    spec = schedules.SCHEDULES[config.schedule]
    params = config.schedule_params
    for key in params:
        if key not in spec.defaults:
            raise ValueError(f"schedule_params.{_key_text(key)}: not a parameter of schedule {spec.name}; "
                             f"allowed: {', '.join(spec.defaults) or 'none'}")
    _plain_values("schedule_params", params)
    for key, value in params.items():
        where = f"schedule_params.{key}"
        if value is None:
            continue
        kind = spec.kinds.get(key)
        if kind in _NUMBER_KINDS:
            _finite_number(where, value)  # the schedule checks the range
        elif kind == "choice":
            _choice(lambda: spec.choices[key])(where, value)
        elif kind == "milestones":
            if not isinstance(value, (list, tuple)) or not all(_is_number(m) and _finite(m) for m in value):
                raise ValueError(f"{where}: must be a list of epochs, got {_shown(value)}")
    try:
        schedules.make_schedule(config.schedule, config.lr, config.max_epochs, **params)
    except ValueError as exc:
        raise _within("schedule_params", spec.defaults, exc) from None
    except (TypeError, AttributeError, OverflowError, ZeroDivisionError, IndexError, KeyError) as exc:
        raise ValueError(f"schedule_params: {_shown(params)} do not fit schedule {spec.name} ({exc})"[:300]) from None


def _check_split_and_batch(config) -> None:
    n_test = data_mod.check_split(config.n_samples, config.test_fraction)
    n_train = config.n_samples - n_test
    if config.batch_size is not None and config.batch_size > n_train:
        raise ValueError(f"batch_size: must be an integer in [1, {n_train}] (the training set size), "
                         f"got {config.batch_size!r}")


def _check_features_fit(config) -> None:
    if config.features is None or config.csv_path is not None or config.dataset not in data_mod.REGRESSION:
        return
    for f in config.features:
        if "x2" in f:
            raise ValueError(f"features: {f!r} needs 2-D inputs; {config.dataset} has 1 input column (x1)")


def _check_device_here(config) -> None:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but no CUDA GPU is available here; use 'cpu' or 'auto'")


#: the checks across fields, run once every field has passed its own rule
_CROSS_CHECKS = (_check_optimizer_params, _check_schedule_params, _check_split_and_batch, _check_features_fit,
                 _check_device_here)


@dataclass
class TrainConfig:
    """Everything a run depends on (the seed included): the same config gives the same run."""

    dataset: str = "moons"
    n_samples: int = 512
    noise: float = 0.1
    test_fraction: float = 0.2
    classes: int = 2
    data_seed: Optional[int] = None  # None: use ``seed``
    csv_path: Optional[str] = None  # the learner's own data (lrlab.csvdata); overrides ``dataset``
    features: Optional[tuple[str, ...]] = None  # None: the raw inputs (x1, x2) / (x1,)
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 0.01
    optimizer_params: dict = field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: dict = field(default_factory=dict)
    regularization: str = "none"
    reg_rate: float = 0.0
    batch_size: Optional[int] = None  # None: full batch
    max_epochs: int = 200
    target_accuracy: Optional[float] = None
    patience: Optional[int] = None
    min_delta: float = 1e-4
    divergence_factor: float = 1e4
    select_best: str = "loss"
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    history_capacity: int = 5000

    def __post_init__(self):
        # Nothing here may fail on a wrong type: a value of the wrong kind is left as it is for
        # validate() to name. Lists become tuples; numpy scalars become plain numbers.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                setattr(self, f.name, value.item())
        if isinstance(self.hidden, (list, tuple, range)):
            self.hidden = tuple(h.item() if isinstance(h, np.generic) else h for h in self.hidden)
        if isinstance(self.features, list):
            self.features = tuple(self.features)
        if isinstance(self.loss, str) and self.loss == "cross_entropy" and isinstance(self.dataset, str) \
                and self.dataset in data_mod.REGRESSION:
            self.loss = "mse"  # regression has no classes: the only sensible loss

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes``; the parameter dicts are copied, never shared between configs."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(changes)
        for name in ("optimizer_params", "schedule_params"):
            if isinstance(d[name], dict):
                d[name] = copy.deepcopy(d[name])
        return TrainConfig(**d)

    def to_dict(self) -> dict:
        d = asdict(self)
        if isinstance(self.hidden, tuple):
            d["hidden"] = list(self.hidden)
        if isinstance(self.features, tuple):
            d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The config a dict describes (JSON, a share string). A non-dict or an unknown key is a
        ``ValueError`` naming it; values of the wrong type are kept for :meth:`validate` to name."""
        if not isinstance(d, dict):
            raise ValueError(f"config: must be a dict of TrainConfig fields, got {_shown(d)}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(k if isinstance(k, str) and len(k) <= 40 and k.isprintable() else _shown(k, 40)
                         for k in d if k not in known)
        if unknown:
            raise ValueError(f"{unknown[0]}: not a TrainConfig field")
        d = dict(d)
        params = d.get("optimizer_params")
        if isinstance(params, dict) and isinstance(params.get("betas"), list):
            d["optimizer_params"] = {**params, "betas": tuple(params["betas"])}
        return cls(**d)

    # -- validation ---------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError('field: what is allowed, got ...')`` for the first invalid field.

        First every field's type and range, one rule per field (:data:`_RULES`; bools are not
        numbers, sizes within :mod:`lrlab.limits`), then the checks across fields (the
        optimizer's and schedule's parameters, the train/test split, the batch size, the
        device). Nothing is allocated before the sizes have passed.
        """
        for name, rule in _RULES.items():
            rule(name, getattr(self, name))
        for check in _CROSS_CHECKS:
            check(self)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def make_dataset(config: TrainConfig, device=None) -> data_mod.Dataset:
    device = resolve_device(config.device) if device is None else device
    if config.csv_path is not None:
        from . import csvdata
        return csvdata.load_csv(config.csv_path, test_fraction=config.test_fraction,
                                seed=config.seed if config.data_seed is None else config.data_seed,
                                device=device, dtype=torch_dtype(config.dtype))
    return data_mod.make(config.dataset, n=config.n_samples, noise=config.noise,
                         test_fraction=config.test_fraction,
                         seed=config.seed if config.data_seed is None else config.data_seed,
                         device=device, dtype=torch_dtype(config.dtype), classes=config.classes)


def features_of(config: TrainConfig) -> tuple[str, ...]:
    return config.features if config.features is not None else data_mod.default_features(config.dataset)


def make_model(config: TrainConfig, dataset: data_mod.Dataset) -> nets.MLP:
    return nets.MLP(len(features_of(config)), config.hidden, dataset.out_features, config.activation,
                    seed=config.seed, dtype=torch_dtype(config.dtype), device=dataset.X_train.device)


# ------------------------------------------------------------------------------ Run
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
        out = self.output(X)
        y = torch.as_tensor(y, device=out.device)
        loss, _ = nets.output_loss(out, y, self.config.loss)
        return {"loss": float(loss), "acc": float(nets.score(out, y, self.kind))}

    def message(self) -> str:
        """The stop reason in plain words."""
        last = self.history.last or {}
        e = (self.stop_epoch or 0) + 1
        what = "R^2" if self.kind == "regression" else "test accuracy"
        if self.stop_reason == "target_accuracy":
            return f"reached {100 * last.get('test_acc', float('nan')):.1f} % {what} at epoch {e}"
        if self.stop_reason == "diverged":
            loss = last.get("train_loss", float("nan"))
            became = "inf" if math.isinf(loss) else "nan" if math.isnan(loss) else f"{loss:.3g}"
            return f"diverged at epoch {e}: the loss became {became} — try a smaller learning rate"
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
            parts.append(f"best epoch {self.best_epoch + 1} (by {self.config.select_best}): "
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


# ------------------------------------------------------------------------------ engine
def minibatches(X: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator):
    """One epoch's mini-batches: the whole set when ``batch_size`` covers it (no shuffling), else a
    fresh ``torch.randperm`` from ``generator`` (on the CPU) cut into ``batch_size`` pieces."""
    n = X.shape[0]
    if batch_size >= n:
        yield X, y
        return
    order = torch.randperm(n, generator=generator).to(X.device)
    for start in range(0, n, batch_size):
        idx = order[start: start + batch_size]
        yield X[idx], y[idx]


class Trainer:
    """A run in progress: ``epoch()`` trains one epoch; ``finish()`` restores the best weights.

    :func:`train` drives it to the end; the widgets drive it epoch by epoch.
    """

    def __init__(self, config: TrainConfig, dataset: data_mod.Dataset | None = None):
        config.validate()
        self.config = config
        self.device = resolve_device(config.device)
        self.dataset = make_dataset(config, self.device) if dataset is None else dataset.to(self.device)
        feats = features_of(config)
        self.X_train = data_mod.transform(self.dataset.X_train, feats)
        self.X_test = data_mod.transform(self.dataset.X_test, feats)
        self.y_train, self.y_test = self.dataset.y_train, self.dataset.y_test
        self.model = make_model(config, self.dataset)
        self.params = self.model.flat_parameters()
        self.grad = torch.zeros_like(self.params)
        self.grads = nets.grad_views(self.model, self.grad)
        # biases are excluded from L1/L2 regularisation (as in TensorFlow Playground)
        self.weight_mask = torch.cat([torch.full((p.numel(),), float(i % 2 == 0), dtype=self.params.dtype,
                                                 device=self.device) for i, p in enumerate(self.model.parameters())])
        self.opt = optim.get(config.optimizer)
        self.hyper = self.opt.resolve(lr=config.lr, **config.optimizer_params)
        self.hyper.pop("lr")
        self.opt_state = self.opt.init(self.params)
        self.schedule = schedules.make_schedule(config.schedule, config.lr, config.max_epochs, **config.schedule_params)
        self.history = History(capacity=config.history_capacity)
        self.history.cuts = self.schedule.cuts
        self.run = Run(config, self.model, self.history, self.dataset)
        self.kind = self.dataset.kind
        self.n_train = self.X_train.shape[0]
        self.batch_size = config.batch_size or self.n_train
        self._shuffle_gen = torch.Generator().manual_seed(config.seed + 1)
        self.epoch_index = 0
        self.best_params = self.params.clone()
        self.rules = EpochRules([config], scalar=True)  # divergence, best epoch, stopping (lrlab.rules)
        self.lr = self.schedule.lr(0)
        self.done = False
        self._t0 = None

    def threads(self, override: int | None = None) -> int:
        """The intra-op thread count for this run's steps (:func:`lrlab.threads.resolve`): ``override``
        if given, else chosen from one step's work (mini-batch rows x parameters)."""
        from . import threads
        return threads.resolve(override, min(self.batch_size, self.n_train), self.params.numel(), 1)

    def _batches(self):
        return minibatches(self.X_train, self.y_train, self.batch_size, self._shuffle_gen)

    def _regularize(self) -> None:
        c = self.config
        if c.regularization == "l2" and c.reg_rate > 0:  # penalty rate * |w|^2 / 2 -> grad rate * w
            self.grad.add_(c.reg_rate * self.params * self.weight_mask)
        elif c.regularization == "l1" and c.reg_rate > 0:  # penalty rate * |w| -> grad rate * sign(w)
            self.grad.add_(c.reg_rate * torch.sign(self.params) * self.weight_mask)

    def epoch(self, should_stop: Callable[[], bool] | None = None) -> dict | None:
        """Train one epoch and return its record; None if ``should_stop`` fired before any step."""
        if self.done:
            return None
        if self._t0 is None:
            self._t0 = time.perf_counter()
        c = self.config
        lr = self.lr = self.schedule.lr(self.epoch_index)
        loss_sum = acc_sum = None
        n_batches = 0
        for Xb, yb in self._batches():
            if should_stop is not None and should_stop():
                if n_batches == 0:
                    self.stop("stopped_by_user")
                    return None
                break
            loss, out = nets.loss_and_grads(self.model, Xb, yb, c.loss, self.grads)
            if c.regularization != "none":
                self._regularize()
            self.opt_state = self.opt.step(self.params, self.grad, self.opt_state, lr=lr, **self.hyper)
            acc = nets.score(out, yb, self.kind)
            loss_sum = loss if loss_sum is None else loss_sum + loss
            acc_sum = acc if acc_sum is None else acc_sum + acc
            n_batches += 1
            self.run.steps += 1
        with torch.no_grad():
            out_test = self.model(self.X_test)
            test_loss, _ = nets.output_loss(out_test, self.y_test, c.loss)
            test_acc = nets.score(out_test, self.y_test, self.kind)
        train_loss, train_acc, test_loss, test_acc = torch.stack(
            [loss_sum / n_batches, acc_sum / n_batches, test_loss, test_acc]).tolist()
        record = {"epoch": self.epoch_index, "lr": lr, "train_loss": train_loss, "test_loss": test_loss,
                  "train_acc": train_acc, "test_acc": test_acc, "seconds": time.perf_counter() - self._t0}
        self.history.append(record)
        self._after_epoch(record, stopped=n_batches and should_stop is not None and should_stop())
        return record

    def _after_epoch(self, r: dict, stopped: bool) -> None:
        """The rules of :mod:`lrlab.rules` (the same code as the race's, K = 1) on epoch ``r``."""
        e = self.epoch_index
        self.epoch_index += 1
        improved, reason = self.rules.after_epoch(e, r["train_loss"], r["test_loss"], r["train_acc"], r["test_acc"],
                                                  stopped=bool(stopped))
        if reason == DIVERGED:
            return self.stop("diverged")
        if improved:
            self.best_params.copy_(self.params)
            self.run.best_epoch = e
            self.run.best_metrics = {k: r[k] for k in ("train_loss", "test_loss", "train_acc", "test_acc")}
        self.schedule.observe(e, r)
        if reason:
            return self.stop(REASONS[reason])

    def stop(self, reason: str) -> Run:
        """End the run: record why, restore the best epoch's weights."""
        if self.done:
            return self.run
        self.done = True
        run = self.run
        run.stop_reason = reason
        run.stop_epoch = self.epoch_index - 1 if self.epoch_index else None
        if run.best_epoch is not None:
            self.params.copy_(self.best_params)
            run.restored_best = True
        if self._t0 is not None:
            run.wall_time = time.perf_counter() - self._t0
        return run


def train(config: TrainConfig, on_epoch: Callable[[dict, Run], Any] | None = None,
          should_stop: Callable[[], bool] | None = None, dataset: data_mod.Dataset | None = None) -> Run:
    """Run ``config`` to a stopping rule and return the :class:`Run` (never raises on divergence).

    ``on_epoch(record, run)`` is called after every epoch; ``should_stop()`` is polled
    before every mini-batch (so it is seen within one step, far under 50 ms here).

    The loop runs with the intra-op thread count that :mod:`lrlab.threads` chooses from one
    step's work (mini-batch rows x parameters; 1 for small networks), unless overridden with
    ``lrlab.threads.set_override`` or ``LRLAB_THREADS``; torch's own setting is restored afterwards.
    """
    from . import threads
    trainer = Trainer(config, dataset)
    with threads.engine_threads(trainer.threads()):
        while not trainer.done:
            record = trainer.epoch(should_stop)
            if record is not None and on_epoch is not None:
                on_epoch(record, trainer.run)
    return trainer.run
