"""Turning command-line flags into a TrainConfig: one flag per TrainConfig field, and one per
optimizer hyper-parameter, read from its declaration (:class:`lrlab.params.Param`: its help,
default, allowed range; :func:`optimizer_params`). A value given to such a flag is checked
against that declaration before anything else (``lrlab: error: argument --momentum: must be in
[0, 1), got 1.5``); then each optimizer that takes it checks it again when the config is
validated.

Also what every training command shares: ``--threads`` (:func:`add_threads_argument`,
:func:`engine_threads`), the output checks done before any training starts
(:func:`check_outputs`) and the per-optimizer / per-schedule options of a race or sweep
(:func:`check_options`).
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
from dataclasses import MISSING, fields

from ..params import LR, REG_RATE, Param, format_value
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


def key_values(items, what: str = "opt") -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"{what}: expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ValueError(f"{what}: expected KEY=VALUE, got {item!r}")
        if what == "opt" and key == "lr":
            raise ValueError("opt: give the learning rate with --lr, not --opt lr=...")
        out[key] = _number(value.strip())
    return out


def whole(text: str) -> int:
    """An argparse type: a whole number, also written like ``1e3`` (so ``--epochs 1e8`` reaches the
    range check that names the flag instead of failing as 'invalid int value')."""
    text = str(text).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(value)


def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(whole(t) for t in text.split(",") if t.strip()) if text.strip() else ()
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 16,16, got {text!r}") from None


def optional_int(text: str):
    return None if text.strip().lower() in ("none", "0", "full") else whole(text)


def optional_float(text: str):
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


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
    "lr": dict(type=float, metavar="LR", help=f"{LR.help}; {LR.allowed()}"),
    "reg_rate": dict(type=float, metavar="RATE", help=f"{REG_RATE.help}; {REG_RATE.allowed()}"),
    "select_split": dict(metavar="{test,train}",
                         help="judge the best epoch on the held-out test split or on the training split"),
}
SKIP = {"optimizer_params", "schedule_params"}
from ..defaults import FIELDS as DATASET_FIELDS  # noqa: E402 (the fields whose default is the dataset's)


def _per_dataset(name: str) -> str:
    """``'16,16; spiral: 32,32'``: the datasets' defaults of field ``name``, the most common first."""
    from ..defaults import DEFAULTS
    text = lambda v: ",".join(map(str, v)) if isinstance(v, tuple) else str(v)
    by_value: dict[str, list[str]] = {}
    for dataset, d in DEFAULTS.items():
        by_value.setdefault(text(d[name]), []).append(dataset)
    common = max(by_value, key=lambda v: len(by_value[v]))
    return "; ".join([common] + [f"{', '.join(ds)}: {v}" for v, ds in by_value.items() if v != common])
ALIASES = {"max_epochs": ["--epochs"], "n_samples": ["--samples"], "csv_path": ["--csv"]}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("training configuration (every TrainConfig field)")
    for f in fields(TrainConfig):
        if f.name in SKIP:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()
        kw = dict(SPECIAL.get(f.name, {}))
        kind = type(default) if default is not None and not isinstance(default, tuple) else str
        kw.setdefault("type", whole if kind is int else kind)
        kw.setdefault("help", "")
        if f.name in DATASET_FIELDS:
            default = _per_dataset(f.name)
        kw["help"] = (kw["help"] + f" (default: {default})").strip()
        flags = [f"--{f.name.replace('_', '-')}"] + ALIASES.get(f.name, [])
        if f.name == "T_max":
            flags = ["--T-max"]
        g.add_argument(*flags, dest=f.name, default=None, **kw)
    add_optimizer_arguments(parser)
    g.add_argument("--opt", action="append", metavar="KEY=VALUE",
                   help="an optimizer hyper-parameter as KEY=VALUE (each also has its own flag above)")
    g.add_argument("--sched", action="append", metavar="KEY=VALUE",
                   help="a schedule parameter, e.g. --sched T_max=50 --sched min_lr=0.001 "
                        "(the parameters: lrlab schedule --help)")


# ------------------------------------------------------------------------------ optimizer flags
def optimizer_params() -> dict[str, tuple[Param, list[str]]]:
    """Every optimizer hyper-parameter but ``lr`` once: name -> (its declaration, the optimizers
    that take it). One flag per name, so every optimizer must declare a name alike (the same kind,
    range and parts; a default may differ)."""
    from .. import optim
    out: dict[str, tuple[Param, list[str]]] = {}
    for spec in optim.OPTIMIZERS.values():
        for p in spec.params:
            if p.name == "lr":
                continue
            if p.name not in out:
                out[p.name] = (p, [spec.name])
                continue
            first, takers = out[p.name]
            if (first.kind, first.range, first.parts) != (p.kind, p.range, p.parts):
                raise AssertionError(f"{p.name}: declared differently by {takers[0]} and {spec.name}")
            takers.append(spec.name)
    return out


def _defaults_text(name: str, takers: list[str], part: int | None = None) -> str:
    """``default 0.9`` or ``default 0.9 (rmsprop: 0)``, from each taker's declaration."""
    from .. import optim
    by_value: dict[str, list[str]] = {}
    for o in takers:
        default = optim.get(o).param(name).default
        by_value.setdefault(format_value(default if part is None else default[part]), []).append(o)
    common = max(by_value, key=lambda v: len(by_value[v]))
    others = "; ".join(f"{', '.join(os)}: {v}" for v, os in by_value.items() if v != common)
    return f"default {common}" + (f" ({others})" if others else "")


def _flags(name: str, p: Param) -> list[tuple[str, int | None]]:
    """(flag, part index) of hyper-parameter ``name``: ``--momentum``; a pair has one per part (``--beta1``)."""
    if p.kind == "pair" and p.parts:
        return [(f"--{part.replace('_', '-')}", i) for i, part in enumerate(p.parts)]
    return [(p.flag, None)]


def add_optimizer_arguments(parser) -> None:
    """A flag per optimizer hyper-parameter, its help, metavar and type read from the declaration."""
    from .. import optim
    g = parser.add_argument_group("optimizer hyper-parameters (each goes to the optimizers that take it)")
    for name, (p, takers) in optimizer_params().items():
        users = "every optimizer" if len(takers) == len(optim.OPTIMIZERS) else ", ".join(takers)
        for flag, part in _flags(name, p):
            where = f"{_defaults_text(name, takers, part)}; {users}"
            dest = "opt_" + flag[2:].replace("-", "_")
            if p.kind == "bool":
                g.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                               help=f"{p.help} ({where})")
                continue
            which = ("the first", "the second")[part] if part is not None else ""
            what = p.help if part is None else f"{p.parts[part]}, {which} of {name}: {p.help}"
            each = p.allowed() if part is None else p.interval_text()
            g.add_argument(flag, dest=dest, type=float, default=None, metavar=flag[2:].replace("-", "_").upper(),
                           help=f"{what}; {each} ({where})")


def optimizer_flag_values(args, base_params: dict | None = None) -> dict:
    """The optimizer hyper-parameters given by their own flags, each checked against its declaration
    (``ValueError('argument --beta1: ...')`` naming the flag). A pair given by one part takes the
    other from ``base_params`` or the declared default."""
    out = {}
    for name, (p, _) in optimizer_params().items():
        parts = {}
        for flag, part in _flags(name, p):
            value = getattr(args, "opt_" + flag[2:].replace("-", "_"), None)
            if value is None:
                continue
            p.check_part(value, f"argument {flag}") if part is not None else p.check(value, f"argument {flag}")
            parts[part] = value
        if not parts:
            continue
        if p.kind == "pair" and p.parts:
            given = (base_params or {}).get(name)
            other = tuple(given) if isinstance(given, (tuple, list)) and len(given) == 2 else p.default
            out[name] = tuple(parts.get(i, other[i]) for i in range(len(p.parts)))
        else:
            out[name] = parts[None]
    return out


def config_from_args(args, base: TrainConfig | None = None, validate: bool = True) -> TrainConfig:
    """``base`` (default: the dataset's defaults, :mod:`lrlab.defaults`: the network, epochs and size
    with which Adam learns it) with every flag that was given applied; validated unless told not to."""
    if base is None:
        from .. import defaults
        dataset = getattr(args, "dataset", None)
        known = isinstance(dataset, str) and dataset in defaults.DEFAULTS
        classes = getattr(args, "classes", None)
        base = (defaults.config(dataset, **({"classes": classes} if isinstance(classes, int) else {}))
                if known and getattr(args, "csv_path", None) is None else TrainConfig())
    changes = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
               if f.name not in SKIP and getattr(args, f.name, None) is not None}
    opt = key_values(args.opt, "opt")
    opt.update(optimizer_flag_values(args, {**base.optimizer_params, **opt}))
    changes["optimizer_params"] = {**base.optimizer_params, **opt}
    changes["schedule_params"] = {**base.schedule_params, **key_values(args.sched, "sched")}
    config = base.replace(**changes)
    if validate:
        config.validate()
    return config


# ------------------------------------------------------------------------------ threads
def threads_count(text: str) -> int:
    """An argparse type for ``--threads``: a whole number in [1, 1024]."""
    n = whole(text)
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError(f"expected a whole number of threads in [1, 1024], got {text!r}")
    return n


def add_threads_argument(parser) -> None:
    parser.add_argument("--threads", type=threads_count, default=None, metavar="N",
                        help="torch intra-op threads while training (default: chosen from the work — 1 for "
                             "small networks; also LRLAB_THREADS, see lrlab.threads)")


@contextlib.contextmanager
def engine_threads(args, config=None, models: int = 1):
    """Train inside this block with ``--threads`` if given: it becomes the process override for
    the command, and the engine (``train``, ``Race.run``) uses it; without the flag the engine
    chooses from the work (:mod:`lrlab.threads`)."""
    from .. import threads
    given = getattr(args, "threads", None)
    if given is None:
        yield None
        return
    previous = threads.get_override()
    threads.set_override(given)
    try:
        yield given
    finally:
        threads.set_override(previous)


# ------------------------------------------------------------------------------ outputs
def check_outputs(files=(), folders=(), inputs=()) -> None:
    """Before any work: every ``(what, path)`` in ``files`` can be written as a file and every
    ``(what, path, names)`` in ``folders`` as a folder holding ``names``; none is one of ``inputs``
    (the files the command reads), no two outputs are the same file and no output file is
    where another output needs a folder. ``None`` paths are skipped. Missing parent folders
    are created; anything else is a ``ValueError('what: ...')``."""
    from .. import safeio
    inputs = [os.fspath(p) for p in inputs if p is not None]
    files = [(what, path) for what, path in files if path is not None]
    folders = [(what, path, names) for what, path, names in folders if path is not None]

    for what, path in files + [(w, p) for w, p, _ in folders]:
        safeio.check_name(path, what)

    def real(path):
        return os.path.realpath(os.path.expanduser(os.fspath(path)))

    # compare the paths first: the checks below create folders, which must not take a file's place
    targets = [(what, path, real(path)) for what, path in files]
    targets += [(what, os.path.join(path, name), real(os.path.join(path, name)))
                for what, path, names in folders for name in names]
    for i, (what, path, key) in enumerate(targets):
        for other, other_path, other_key in targets[:i]:
            if key == other_key:
                raise ValueError(f"{what}: {path!r} is also the --{other} output; give each output its own name")
    for what, path, key in targets:
        for other, other_path, other_key in targets:
            if other_key.startswith(key + os.sep):
                raise ValueError(f"{what}: {path!r} is where the --{other} output {other_path!r} needs a folder; "
                                 f"give each output its own name")
    for what, path in files:
        safeio.check_output_file(path, what, inputs)
    for what, path, names in folders:
        safeio.check_output_folder(path, what)
        for name in names:
            safeio.check_output_file(os.path.join(os.path.expanduser(path), name), what, inputs)


def write_png(fig, path: str) -> None:
    """``fig`` as a PNG at ``path``, written atomically (a failed write leaves no half file)."""
    from .. import safeio
    from ..plots import fig_to_png
    safeio.write_bytes(path, fig_to_png(fig, dpi=100))


# ------------------------------------------------------------------------------ races and sweeps
def check_options(config, optimizers, schedule_names=None) -> None:
    """Every optimizer option (``--momentum``, ``--opt K=V``...) must be taken by at least one of
    ``optimizers`` and every schedule parameter by one of ``schedule_names`` (default: the config's
    schedule); each goes only to those that take it (:func:`lrlab.cli.race.race_configs`)."""
    from .. import optim, schedules
    for key in config.optimizer_params:
        if not any(key in optim.get(o).defaults for o in optimizers):
            takers = [n for n, spec in optim.OPTIMIZERS.items() if key in spec.defaults]
            if not takers:
                known = sorted({k for spec in optim.OPTIMIZERS.values() for k in spec.defaults} - {"lr"})
                raise ValueError(f"opt: {key!r} is not a hyper-parameter of any optimizer; known: {', '.join(known)}")
            raise ValueError(f"{key}: not a hyper-parameter of {', '.join(dict.fromkeys(optimizers))} "
                             f"(it belongs to {', '.join(takers)})")
    schedule_names = [config.schedule] if schedule_names is None else schedule_names
    for s in schedule_names:
        if s not in schedules.SCHEDULES:
            raise ValueError(f"schedule: unknown schedule {s!r}; allowed: {', '.join(schedules.SCHEDULES)}")
    for key in config.schedule_params:
        if not any(key in schedules.SCHEDULES[s].defaults for s in schedule_names):
            takers = [n for n, spec in schedules.SCHEDULES.items() if key in spec.defaults]
            if not takers:
                known = sorted({k for spec in schedules.SCHEDULES.values() for k in spec.defaults})
                raise ValueError(f"sched: {key!r} is not a parameter of any schedule; known: {', '.join(known)}")
            raise ValueError(f"{key}: not a parameter of {', '.join(dict.fromkeys(schedule_names))} "
                             f"(it belongs to {', '.join(takers)})")


def validate_all(configs) -> None:
    """Validate every contender (each distinct config once), before any data or model is built."""
    seen = set()
    for c in configs:
        key = repr(c)
        if key not in seen:
            seen.add(key)
            c.validate()
