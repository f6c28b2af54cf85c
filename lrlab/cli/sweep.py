"""``lrlab sweep``: every (optimizer, learning rate) pair trained as one batched race.

Each optimizer option goes to the listed optimizers (and the ``--range-test`` optimizer)
that take it; only an option none of them takes is refused. The learning rates
(:func:`lrlab.race.parse_lrs`), the number of models and the outputs are checked before
anything is trained. The network, epochs and number of points are the dataset's defaults
(:mod:`lrlab.defaults`) unless given.
"""
from __future__ import annotations

import sys

HELP = "sweep learning rates for several optimizers at once; optional LR range test"


def add_arguments(parser) -> None:
    from ._config import add_config_arguments, add_threads_argument
    parser.add_argument("--optimizers", default="sgd,adam,rmsprop,adagrad", metavar="NAMES",
                        help="comma-separated optimizers (default: sgd,adam,rmsprop,adagrad)")
    parser.add_argument("--lrs", default="1e-4:1:64", metavar="LRS",
                        help="LOW:HIGH:N log-spaced learning rates, or a comma list (default: 1e-4:1:64)")
    parser.add_argument("--metric", default="final_train_loss",
                        choices=["final_train_loss", "final_test_loss", "best_test_loss", "final_test_acc",
                                 "best_test_acc"], help="what the plot shows and --grid prints")
    parser.add_argument("--range-test", action="store_true",
                        help="also run the LR range test for --optimizer and print its suggested lr")
    parser.add_argument("--grid", action="store_true", help="print every (optimizer, lr) row")
    add_config_arguments(parser)
    parser.add_argument("--json", metavar="FILE", help="write the sweep table (and range test) as JSON")
    parser.add_argument("--png", metavar="FILE", help="draw the metric against the learning rate")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(parser)


def run(args) -> int:
    from tqdm.auto import tqdm

    from .. import optim, safeio
    from ..race import lr_range_test, parse_lrs, sweep, sweep_configs
    from ..race import check_models, check_race_size
    from ._config import (check_options, check_outputs, config_from_args,
                          engine_threads, validate_all, write_png)
    from .race import names

    base = config_from_args(args, validate=False)  # each (optimizer, lr) is validated with its own options
    optimizers = names(args.optimizers, optim.OPTIMIZERS, "optimizers")
    lrs = parse_lrs(args.lrs)
    check_models(len(optimizers) * len(lrs), "sweep")
    check_options(base, optimizers + ([base.optimizer] if args.range_test else []))
    params = {o: {k: v for k, v in base.optimizer_params.items() if k in optim.get(o).defaults} for o in optimizers}
    configs = sweep_configs(optimizers, lrs, base, params)
    validate_all(configs)
    test_config = None
    if args.range_test:
        test_config = base.replace(optimizer_params={k: v for k, v in base.optimizer_params.items()
                                                     if k in optim.get(base.optimizer).defaults})
        test_config.validate()
    check_race_size(configs, "sweep")
    check_outputs(files=[("json", args.json), ("png", args.png)], inputs=[base.csv_path])
    bar = tqdm(total=base.max_epochs, unit="epoch", disable=args.quiet or None, file=sys.stderr,
               dynamic_ncols=True, leave=False)

    def on_epoch(records, race):
        bar.update(1)
        bar.set_postfix(running=sum(race.active), refresh=False)

    try:
        with engine_threads(args, base, models=len(configs)):
            result = sweep(optimizers, lrs, config=base, optimizer_params=params, on_epoch=on_epoch)
    finally:
        bar.close()
    print(f"sweep of {len(optimizers)} optimizers x {len(lrs)} learning rates = {len(result.runs)} runs "
          f"in one race: {result.wall_time:.2f} s, {result.epochs} epochs")
    print(f"{'optimizer':<10} {'best lr':>9} {'best test loss':>15} {'best test acc':>14} {'diverged from':>14}")
    for i, o in enumerate(result.optimizers):
        best = result.best_lr(o)
        j = list(result.lrs).index(best) if best == best else None
        div = result.metrics["diverged"][i].astype(bool)
        first_div = f"{result.lrs[div.argmax()]:.3g}" if div.any() else "-"
        loss = result.metrics["best_test_loss"][i, j] if j is not None else float("nan")
        acc = result.metrics["best_test_acc"][i, j] if j is not None else float("nan")
        print(f"{o:<10} {best:>9.3g} {loss:>15.4f} {100 * acc:>13.1f}% {first_div:>14}")
    if args.grid:
        for row in result.rows():
            print(f"  {row['optimizer']:<10} lr={row['lr']:<10.4g} {args.metric}={row[args.metric]:.4g}"
                  + ("  diverged" if row["diverged"] else ""))
    test = None
    if args.range_test:
        with engine_threads(args, test_config):
            test = lr_range_test(test_config)
        suggested = "none (too few usable steps)" if test.suggested_lr is None else f"{test.suggested_lr:.3g}"
        print(f"LR range test ({base.optimizer}): suggested lr {suggested} — rule: {test.rule}")
    if args.json:  # strict JSON: diverged runs' inf/NaN are written as strings that read back
        d = result.to_dict()
        if test is not None:
            d["range_test"] = test.to_dict()
        safeio.write_text(args.json, safeio.dumps(d, indent=1))
        print(f"wrote {args.json}")
    if args.png:
        from ..plots.race import sweep_figure
        write_png(sweep_figure(result, test, args.metric), args.png)
        print(f"wrote {args.png}")
    return 0
