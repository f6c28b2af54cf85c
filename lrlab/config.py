"""What a run depends on: :class:`TrainConfig`, its validation, and the data and network it names.

A config holds everything a run depends on (the seed included), so the same config gives
the same run. :meth:`TrainConfig.validate` checks every field before anything is
allocated (one rule per field, then the checks across fields); :func:`make_dataset` and
:func:`make_model` build the data and the initial network a config names. The engine that
trains it is :mod:`lrlab.engine`.
"""
from __future__ import annotations

import copy
import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Optional

import numpy as np
import torch

from . import data as data_mod
from . import checks, limits, nets, optim, schedules
from .params import LR, REG_RATE
from .checks import check_number

DEVICES = ("cpu", "cuda", "auto")
SELECT_BEST = ("loss", "accuracy")
#: the split the best epoch is judged on: the held-out "test" split (the default) or the "train" split
SELECT_SPLIT = ("test", "train")
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
    "lr": lambda name, value: LR.check(value, name),
    "optimizer_params": _parameters("{'momentum': 0.9}"),
    "schedule": _choice(lambda: schedules.SCHEDULES, "schedule"),
    "schedule_params": _parameters("{'T_max': 100}"),
    "regularization": _choice(lambda: REGULARIZATION),
    "reg_rate": lambda name, value: REG_RATE.check(value, name),
    "batch_size": _integer(1, limits.MAX_SAMPLES, optional=True),
    "max_epochs": _integer(1, limits.MAX_EPOCHS),
    "target_accuracy": _number(0.0, 1.0, lo_inc=False, optional=True),
    "patience": _integer(1, limits.MAX_EPOCHS, optional=True),
    "min_delta": _number(0.0),
    "divergence_factor": _number(1.0, lo_inc=False),
    "select_best": _choice(lambda: SELECT_BEST),
    "select_split": _choice(lambda: SELECT_SPLIT),
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


def _check_schedule_params(config) -> None:
    spec = schedules.SCHEDULES[config.schedule]
    params = config.schedule_params
    for key in params:
        if key not in spec.defaults:
            raise ValueError(f"schedule_params.{_key_text(key)}: not a parameter of schedule {spec.name}; "
                             f"allowed: {', '.join(spec.defaults) or 'none'}")
    _plain_values("schedule_params", params)
    for key, value in params.items():
        if value is not None:
            spec.param(key).check(value, f"schedule_params.{key}")  # its declaration (lrlab.params)
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
    select_split: str = "test"  # the best epoch judged on the held-out "test" split or the "train" split
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
