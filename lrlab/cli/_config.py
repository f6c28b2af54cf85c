"""Turning command-line flags into a TrainConfig: one flag per TrainConfig field."""
from __future__ import annotations

import argparse
from dataclasses import MISSING, fields

from ..train import TrainConfig


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text.lower() in ("none", "null"):
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "," in text:
        return tuple(_number(t) for t in text.split(","))
    return text


def key_values(items) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = _number(value.strip())
    return out


def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip()) if text.strip() else ()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 16,16, got {text!r}")


def optional_int(text: str):
    return None if text.lower() in ("none", "0", "full") else int(text)


def optional_float(text: str):
    return None if text.lower() == "none" else float(text)


SPECIAL = {
    "hidden": dict(type=int_list, metavar="W1,W2,...", help="hidden layer widths, e.g. 16,16"),
    "features": dict(type=lambda s: tuple(t.strip() for t in s.split(",")), metavar="F1,F2,...",
                     help="input features: x1,x2,x1^2,x2^2,x1*x2,sin x1,sin x2"),
    "batch_size": dict(type=optional_int, metavar="N", help="mini-batch size (default: full batch)"),
    "target_accuracy": dict(type=optional_float, metavar="ACC", help="stop at this test accuracy, e.g. 0.97"),
    "patience": dict(type=optional_int, metavar="EPOCHS", help="stop when the loss stalls this long"),
    "data_seed": dict(type=optional_int, metavar="SEED"),
    "csv_path": dict(type=str, metavar="FILE",
                     help="your own data: a CSV with header x1,x2,label (classes) or x1[,x2],y (regression); "
                          "inputs are rescaled to [-1, 1] (see lrlab.csvdata)"),
}
SKIP = {"optimizer_params", "schedule_params"}
ALIASES = {"max_epochs": ["--epochs"], "n_samples": ["--samples"], "csv_path": ["--csv"]}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("training configuration (every TrainConfig field)")
    for f in fields(TrainConfig):
        if f.name in SKIP:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()
        kw = dict(SPECIAL.get(f.name, {}))
        kw.setdefault("type", type(default) if default is not None and not isinstance(default, tuple) else str)
        kw.setdefault("help", "")
        kw["help"] = (kw["help"] + f" (default: {default})").strip()
        flags = [f"--{f.name.replace('_', '-')}"] + ALIASES.get(f.name, [])
        if f.name == "T_max":
            flags = ["--T-max"]
        g.add_argument(*flags, dest=f.name, default=None, **kw)
    g.add_argument("--momentum", type=float, help="optimizer momentum (momentum, nesterov, rmsprop)")
    g.add_argument("--beta1", type=float, help="Adam/AdamW beta1")
    g.add_argument("--beta2", type=float, help="Adam/AdamW beta2")
    g.add_argument("--eps", type=float, help="optimizer epsilon")
    g.add_argument("--weight-decay", type=float, help="optimizer weight decay")
    g.add_argument("--opt", action="append", metavar="KEY=VALUE", help="any other optimizer hyper-parameter")
    g.add_argument("--sched", action="append", metavar="KEY=VALUE",
                   help="a schedule parameter, e.g. --sched T_max=50 --sched min_lr=0.001")


def config_from_args(args, base: TrainConfig | None = None, validate: bool = True) -> TrainConfig:
    """``base`` (default: the defaults) with every flag that was given applied; validated unless told not to."""
    base = base or TrainConfig()
    changes = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
               if f.name not in SKIP and getattr(args, f.name, None) is not None}
    opt = key_values(args.opt)
    if args.momentum is not None:
        opt["momentum"] = args.momentum
    if args.beta1 is not None or args.beta2 is not None:
        opt["betas"] = (0.9 if args.beta1 is None else args.beta1, 0.999 if args.beta2 is None else args.beta2)
    if args.eps is not None:
        opt["eps"] = args.eps
    if args.weight_decay is not None:
        opt["weight_decay"] = args.weight_decay
    changes["optimizer_params"] = {**base.optimizer_params, **opt}
    changes["schedule_params"] = {**base.schedule_params, **key_values(args.sched)}
    config = base.replace(**changes)
    if validate:
        config.validate()
    return config
