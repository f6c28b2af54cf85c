"""``lrlab race``: train several optimizers x schedules side by side (one batched program).

Each optimizer option (``--momentum``, ``--beta1``, ``--opt K=V``...) goes to the listed
optimizers that take it and each ``--sched K=V`` to the listed schedules that have it;
only an option that none of them takes is refused. Sizes (learning rates, models,
parameters) and the outputs are checked before anything is trained. The network, epochs and
number of points are the dataset's defaults (:mod:`lrlab.defaults`) unless given.
"""
from __future__ import annotations

import sys

HELP = "race optimizers x schedules on the same data from the same initial weights"


def add_arguments(parser) -> None:
    from ._config import add_config_arguments, add_threads_argument
    parser.add_argument("--optimizers", default="sgd,momentum,adam", metavar="NAMES",
                        help="comma-separated optimizers (default: sgd,momentum,adam)")
    parser.add_argument("--schedules", default="constant", metavar="NAMES",
                        help="comma-separated schedules; every optimizer races with every schedule")
    parser.add_argument("--lrs", metavar="LRS", help="learning rates, LOW:HIGH:N or a comma list (default: --lr)")
    parser.add_argument("--by", default="test_loss", choices=["test_loss", "test_acc"], help="ranking metric")
    add_config_arguments(parser)
    parser.add_argument("--json", metavar="FILE", help="write every run (config, history, weights) as JSON")
    parser.add_argument("--png", metavar="FILE", help="draw the overlaid curves and decision boundaries")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(parser)


def names(text: str, registry: dict, what: str) -> list[str]:
    from .. import limits
    if text.count(",") >= limits.MAX_MODELS:
        raise ValueError(f"{what}: more than {limits.MAX_MODELS} names")
    out = [t.strip() for t in text.split(",") if t.strip()]
    if not out:
        raise ValueError(f"{what}: at least one name; allowed: {', '.join(registry)}, got {text!r}")
    for n in out:
        if n not in registry:
            raise ValueError(f"{what}: unknown name {n!r}; allowed: {', '.join(registry)}")
    return out


def race_configs(base, optimizers, schedule_names, lrs=None):
    """optimizers x schedules (x lrs): hyper-parameters given on the command line go to the
    optimizers/schedules that accept them."""
    from .. import optim, schedules
    lrs = [base.lr] if lrs is None else [float(x) for x in lrs]
    configs = []
    for o in optimizers:
        accepted = optim.get(o).defaults
        opt = {k: v for k, v in base.optimizer_params.items() if k in accepted}
        for s in schedule_names:
            sched = {k: v for k, v in base.schedule_params.items() if k in schedules.SCHEDULES[s].defaults}
            for lr in lrs:
                configs.append(base.replace(optimizer=o, schedule=s, lr=lr, optimizer_params=opt,
                                            schedule_params=sched))
    return configs


def run(args) -> int:
    from tqdm.auto import tqdm

    from .. import optim, safeio, schedules
    from ..race import Race, label_of, parse_lrs, ranking
    from ..race import check_models, check_race_size
    from ._config import (check_options, check_outputs, config_from_args,
                          engine_threads, validate_all, write_png)

    base = config_from_args(args, validate=False)  # each contender is validated with its own options
    optimizers = names(args.optimizers, optim.OPTIMIZERS, "optimizers")
    schedule_names = names(args.schedules, schedules.SCHEDULES, "schedules")
    lrs = parse_lrs(args.lrs) if args.lrs else None
    check_models(len(optimizers) * len(schedule_names) * (1 if lrs is None else len(lrs)), "race")
    check_options(base, optimizers, schedule_names)
    configs = race_configs(base, optimizers, schedule_names, lrs)
    validate_all(configs)
    check_race_size(configs, "race")
    check_outputs(files=[("json", args.json), ("png", args.png)], inputs=[base.csv_path])
    bar = tqdm(total=max(c.max_epochs for c in configs), unit="epoch", disable=args.quiet or None,
               file=sys.stderr, dynamic_ncols=True, leave=False)

    def on_epoch(records, race):
        bar.update(1)
        bar.set_postfix(running=sum(race.active), refresh=False)

    try:
        with engine_threads(args, configs[0], models=len(configs)):
            r = Race(configs)
            runs = r.run(on_epoch)
    finally:
        bar.close()
    labels = [label_of(c) for c in configs]
    print(f"race of {len(runs)} contenders, {r.epoch_index} epochs, {r.steps} batched steps")
    width = max(len(x) for x in labels)
    print(f"{'#':>3}  {'contender':<{width}}  {'best test loss':>14}  {'best test acc':>13}  {'best epoch':>10}  stopped")
    for row in ranking(runs, labels, by=args.by):
        epoch = "-" if row["best_epoch"] is None else row["best_epoch"] + 1
        print(f"{row['rank']:>3}  {row['label']:<{width}}  {row['test_loss']:>14.4f}  "
              f"{100 * row['test_acc']:>12.1f}%  {epoch:>10}  {row['stop_reason']}")
    if args.json:  # strict JSON: a diverged contender's inf/NaN are written as strings that read back
        safeio.write_text(args.json, safeio.dumps({"lrlab": 1, "labels": labels,
                                                   "race": [run.to_dict() for run in runs]}, indent=1))
        print(f"wrote {args.json}")
    if args.png:
        from ..plots.race import race_figure
        write_png(race_figure(runs, labels), args.png)
        print(f"wrote {args.png}")
    return 0
