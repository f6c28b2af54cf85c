"""``lrlab schedule``: print and draw learning-rate schedules, as the schedule explorer does.

    lrlab schedule cosine --max-lr 0.1 --min-lr 0.001 --T-max 50 --png out.png
    lrlab schedule cosine one_cycle cosine_plateau_cuts --epochs 100 --period 10 --png all.png
    lrlab schedule cosine_plateau_cuts --run run.json --png cuts.png   # replay a recorded run

Each parameter flag goes to every named schedule that has that parameter (``--min-lr`` to
cosine and cosine_plateau_cuts alike); a flag none of them has is an error. The flags, their
help, choices and allowed ranges are read from the parameters' declarations
(:class:`lrlab.params.Param`, ``spec.params``); a value outside the range of a schedule it goes
to is refused naming the flag (``argument --T-max: must be an integer in [1, 10000000], got 0``). Reactive
schedules are fed a synthetic loss curve, or the metrics of a run saved by
``lrlab train --json`` (read through :meth:`lrlab.train.Run.from_json`, which checks it).
At most :data:`lrlab.limits.MAX_SCHEDULE_EPOCHS` epochs are drawn; ``--png`` is checked
before anything is computed and written atomically.
"""
from __future__ import annotations

HELP = "print and draw learning-rate schedules (e.g. lrlab schedule cosine --T-max 50 --png out.png)"


def _params():
    """Every schedule parameter once: name -> (its declarations, one per distinct way it is
    declared, each with the schedules that have it), in registry order."""
    from ..schedules import SCHEDULES
    out: dict[str, dict] = {}
    for spec in SCHEDULES.values():
        for p in spec.params:
            key = (p.kind, p.range, p.choices, p.help)
            out.setdefault(p.name, {}).setdefault(key, (p, []))[1].append(spec.name)
    return out


def _help(declared: dict) -> str:
    """A flag's help from its declarations: what it is, what is allowed, the default, the schedules."""
    from ..params import format_value
    texts = []
    for p, users in declared.values():
        default = f"default: {p.derived}" if p.default is None and p.derived else (
            "derived" if p.default is None else f"default {format_value(p.default)}")
        allowed = p.allowed() if p.kind != "choice" else ""
        texts.append(f"{p.help}{'; ' + allowed if allowed else ''} ({default}; {', '.join(users)})")
    return " | ".join(texts)


def _int_list(text: str) -> tuple[int, ...]:
    import argparse

    from ._config import whole
    try:
        return tuple(whole(t) for t in text.split(",") if t.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs like 30,60, got {text!r}") from None


def _float(text: str) -> float:
    import argparse
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def add_arguments(parser) -> None:
    from ..schedules import SCHEDULES
    from ._config import whole
    parser.add_argument("names", nargs="+", metavar="SCHEDULE", choices=list(SCHEDULES),
                        help="one or more of: " + ", ".join(SCHEDULES))
    parser.add_argument("--lr", type=_float, help="the configured learning rate (default: --max-lr, else 0.1)")
    parser.add_argument("--epochs", type=whole,
                        help="epochs to draw (default: --T-max / --total-steps / --total-iters if given, else 100)")
    parser.add_argument("--png", metavar="FILE", help="draw the curves (and the cuts of reactive schedules)")
    parser.add_argument("--log", action="store_true", help="logarithmic learning-rate axis")
    parser.add_argument("--run", metavar="FILE.json", help="feed reactive schedules this recorded run's metrics")
    g = parser.add_argument_group("schedule parameters (each goes to the named schedules that have it)")
    types = {"lr": _float, "float": _float, "epochs": whole, "int": whole, "milestones": _int_list, "choice": str}
    for param, declared in _params().items():
        first = next(iter(declared.values()))[0]
        kinds = {p.kind for p, _ in declared.values()}
        if len(kinds) != 1:
            raise AssertionError(f"{param}: declared as {', '.join(sorted(kinds))}; one flag needs one kind")
        kw = dict(type=types[first.kind], metavar="EPOCHS" if first.kind == "milestones" else param.upper())
        if first.kind == "choice":  # every choice any schedule allows; each schedule keeps only its own
            kw = dict(choices=list(dict.fromkeys(c for p, _ in declared.values() for c in p.choices)))
        g.add_argument(first.flag, dest=f"p_{param}", default=None, help=_help(declared), **kw)


def _check_epochs(epochs, where: str) -> int:
    from .. import limits
    if not 1 <= epochs <= limits.MAX_SCHEDULE_EPOCHS:
        hint = "; give a smaller --epochs" if epochs > limits.MAX_SCHEDULE_EPOCHS else ""
        raise ValueError(f"epochs: a schedule is drawn for 1 to {limits.MAX_SCHEDULE_EPOCHS} epochs, got {epochs} "
                         f"({where}){hint}")
    return epochs


def run(args) -> int:
    from ..schedules import SCHEDULES, metrics_of_run, synthetic_metrics
    from ..plots.schedules import schedules_figure, schedule_curve
    from ._config import check_outputs, write_png

    given = {k[2:]: v for k, v in vars(args).items() if k.startswith("p_") and v is not None}
    names = list(dict.fromkeys(args.names))
    for param in given:
        if not any(param in SCHEDULES[n].defaults for n in names):
            raise ValueError(f"{param}: not a parameter of {', '.join(names)}")

    def takes(name, param, value):  # a choice goes only where it is one of the choices (--monitor)
        spec = SCHEDULES[name]
        if param not in spec.defaults:
            return False
        return param not in spec.choices or value in spec.choices[param] or \
            not any(value in SCHEDULES[n].choices.get(param, ()) for n in names)

    entries = [(n, {k: v for k, v in given.items() if takes(n, k, v)}) for n in names]
    lr = args.lr if args.lr is not None else given.get("max_lr", 0.1)
    if args.epochs is not None:
        epochs = _check_epochs(args.epochs, "--epochs")
    else:
        key = next((k for k in ("T_max", "total_steps", "total_iters") if k in given), None)
        epochs = 100 if key is None else _check_epochs(given[key], f"from --{key.replace('_', '-')}; "
                                                                   f"--epochs sets how many are drawn")
    for n, params in entries:  # each value in the range of every schedule it goes to, refused naming the flag
        for k, v in params.items():
            p = SCHEDULES[n].param(k)
            if p.kind != "choice":  # a choice is checked by the schedule itself, against its own choices
                p.check(v, f"argument {p.flag}")
    check_outputs(files=[("png", args.png)], inputs=[args.run])
    if args.run:
        from ..train import Run
        metrics, source = metrics_of_run(Run.from_json(args.run)), "recorded run"
        if args.epochs is None:
            epochs = _check_epochs(len(metrics), f"the epochs of the run {args.run!r}")
    else:
        metrics, source = synthetic_metrics(epochs), "synthetic"
    curves = [schedule_curve(n, lr, epochs, metrics=metrics, **p) for n, p in entries]  # validates
    for c in curves:
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.params.items())
        print(f"{c.name}: {SCHEDULES[c.name].formula}")
        print(f"  {params}")
        print(f"  epochs 0..{epochs - 1}: lr {c.rates[0]:.4g} -> {c.rates[-1]:.4g} "
              f"(max {c.rates.max():.4g}, min {c.rates.min():.4g})")
        if c.reactive:
            print(f"  {len(c.cuts)} cut(s) on the {source} metrics")
            for cut in c.cuts:
                print(f"    after epoch {cut['epoch']}: {cut['old_lr']:.4g} -> {cut['new_lr']:.4g} ({cut['reason']})")
    if args.png:
        fig, _ = schedules_figure(entries, lr, epochs, metrics, source, args.log)
        write_png(fig, args.png)
        print(f"wrote {args.png}")
    return 0
