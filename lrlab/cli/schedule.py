"""``lrlab schedule``: print and draw learning-rate schedules, as the schedule explorer does.

    lrlab schedule cosine --max-lr 0.1 --min-lr 0.001 --T-max 50 --png out.png
    lrlab schedule cosine one_cycle cosine_plateau_cuts --epochs 100 --period 10 --png all.png
    lrlab schedule cosine_plateau_cuts --run run.json --png cuts.png   # replay a recorded run

Each parameter flag goes to every named schedule that has that parameter (``--min-lr`` to
cosine and cosine_plateau_cuts alike); a flag none of them has is an error. Reactive
schedules are fed a synthetic loss curve, or the metrics of a run saved by
``lrlab train --json``.
"""
from __future__ import annotations

HELP = "print and draw learning-rate schedules (e.g. lrlab schedule cosine --T-max 50 --png out.png)"


def _params():
    """Every schedule parameter once: name -> kind (the first schedule's kind wins)."""
    from ..schedules import SCHEDULES
    out = {}
    for spec in SCHEDULES.values():
        for param in spec.defaults:
            out.setdefault(param, spec.kinds[param])
    return out


def _int_list(text: str) -> tuple[int, ...]:
    import argparse
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs like 30,60, got {text!r}")


def add_arguments(parser) -> None:
    from ..schedules import SCHEDULES
    parser.add_argument("names", nargs="+", metavar="SCHEDULE", choices=list(SCHEDULES),
                        help="one or more of: " + ", ".join(SCHEDULES))
    parser.add_argument("--lr", type=float, help="the configured learning rate (default: --max-lr, else 0.1)")
    parser.add_argument("--epochs", type=int,
                        help="epochs to draw (default: --T-max / --total-steps / --total-iters if given, else 100)")
    parser.add_argument("--png", metavar="FILE", help="draw the curves (and the cuts of reactive schedules)")
    parser.add_argument("--log", action="store_true", help="logarithmic learning-rate axis")
    parser.add_argument("--run", metavar="FILE.json", help="feed reactive schedules this recorded run's metrics")
    g = parser.add_argument_group("schedule parameters (each goes to the named schedules that have it)")
    types = {"lr": float, "float": float, "epochs": int, "int": int, "milestones": _int_list, "choice": str}
    for param, kind in _params().items():
        g.add_argument(f"--{param.replace('_', '-')}", dest=f"p_{param}", type=types[kind], default=None,
                       metavar="EPOCHS" if kind == "milestones" else None)


def run(args) -> int:
    from ..schedules import SCHEDULES, metrics_of_run, synthetic_metrics
    from ..plots.schedules import schedules_figure, schedule_curve

    given = {k[2:]: v for k, v in vars(args).items() if k.startswith("p_") and v is not None}
    names = list(dict.fromkeys(args.names))
    for param in given:
        if not any(param in SCHEDULES[n].defaults for n in names):
            raise ValueError(f"{param}: not a parameter of {', '.join(names)}")
    lr = args.lr if args.lr is not None else given.get("max_lr", 0.1)
    epochs = args.epochs or next((given[k] for k in ("T_max", "total_steps", "total_iters") if k in given), 100)
    def takes(name, param, value):  # a choice goes only where it is one of the choices (--monitor)
        spec = SCHEDULES[name]
        if param not in spec.defaults:
            return False
        return param not in spec.choices or value in spec.choices[param] or \
            not any(value in SCHEDULES[n].choices.get(param, ()) for n in names)

    entries = [(n, {k: v for k, v in given.items() if takes(n, k, v)}) for n in names]
    if args.run:
        from ..train import Run
        metrics, source = metrics_of_run(Run.from_json(args.run)), "recorded run"
        if args.epochs is None:
            epochs = len(metrics)
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
        fig.savefig(args.png, dpi=100)
        print(f"wrote {args.png}")
    return 0
