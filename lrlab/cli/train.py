"""``lrlab train``: train one network from the command line, with a progress bar."""
from __future__ import annotations

import sys

HELP = "train a network on a toy dataset and print a one-line summary"


def add_arguments(parser) -> None:
    from ._config import add_config_arguments
    add_config_arguments(parser)
    parser.add_argument("--json", metavar="FILE", help="write the run (config, history, weights) as JSON")
    parser.add_argument("--png", metavar="FILE", help="draw loss/accuracy, learning rate and decision boundary")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from tqdm.auto import tqdm

    from ..train import train
    from ._config import config_from_args

    config = config_from_args(args)
    bar = tqdm(total=config.max_epochs, unit="epoch", disable=args.quiet or None, file=sys.stderr,
               dynamic_ncols=True, leave=False)

    def on_epoch(record, run):
        bar.update(1)
        if record["epoch"] % 10 == 0:
            bar.set_postfix(loss=f"{record['train_loss']:.4f}", test_acc=f"{record['test_acc']:.3f}",
                            lr=f"{record['lr']:.2g}", refresh=False)

    try:
        result = train(config, on_epoch=on_epoch)
    finally:
        bar.close()
    print(result.summary())
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    if args.png:
        from ..plots import save_run_png
        save_run_png(result, args.png)
        print(f"wrote {args.png}")
    return 0
