"""``lrlab train``: train one network from the command line, with a progress bar.

Where the config comes from, in order (later wins): the dataset's defaults (:mod:`lrlab.defaults`:
the network, epochs and size with which Adam at lr 0.01 learns it), or ``--preset NAME``
(a guided experiment, :mod:`lrlab.presets`), or ``--from-share STRING`` (a share string,
:mod:`lrlab.share`); then every flag given explicitly; then, with ``--csv FILE``, what the
data decides (loss for regression, input columns, row count; :func:`lrlab.csvdata.config_for`).

Outputs: the one-line summary; ``--json FILE`` (the run), ``--png FILE`` (its plots),
``--export DIR`` (``model.json`` weights + ``model.py`` torch snippet, :mod:`lrlab.export`),
``--share`` (the share string that reproduces the run). Every output is checked before
training starts (missing folders are created; a folder given as a file, a device, an
unwritable place or the input CSV are refused with one line), and each file is written
atomically — a diverged run included (strict JSON, see :mod:`lrlab.safeio`).
"""
from __future__ import annotations

import sys

HELP = "train a network on a toy dataset (or your CSV) and print a one-line summary"


def add_arguments(parser) -> None:
    from ._config import add_config_arguments, add_threads_argument
    add_config_arguments(parser)
    g = parser.add_argument_group("starting points and outputs")
    g.add_argument("--preset", metavar="NAME",
                   help="start from a guided experiment, e.g. 'learning rate too high' (lrlab train --list-presets)")
    g.add_argument("--from-share", metavar="STRING", help="start from a share string (lrlab1:...)")
    g.add_argument("--list-presets", action="store_true", help="list the presets with what each shows, and exit")
    parser.add_argument("--json", metavar="FILE", help="write the run (config, history, weights) as JSON")
    parser.add_argument("--png", metavar="FILE", help="draw loss/accuracy, learning rate and decision boundary")
    parser.add_argument("--export", metavar="DIR", help="write the trained weights (model.json) and a torch "
                                                        "snippet that rebuilds the network (model.py) into DIR")
    parser.add_argument("--share", action="store_true", help="print the share string that reproduces this run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(parser)


def build_config(args):
    """The TrainConfig the flags describe (see the module docstring); ValueError on bad input."""
    from ._config import config_from_args
    base = None
    if args.preset and args.from_share:
        raise ValueError("preset: give --preset or --from-share, not both")
    if args.preset:
        from ..presets import preset_config
        base = preset_config(args.preset)
    elif args.from_share:
        from ..share import decode
        base = decode(args.from_share, validate=False)
    config = config_from_args(args, base, validate=False)
    if config.csv_path is not None:
        from .. import csvdata
        from ..train import torch_dtype
        if config.dtype not in ("float32", "float64"):  # checked by validate(), which needs the CSV's rows first
            raise ValueError(f"dtype: must be 'float32' or 'float64', got {config.dtype!r}")
        dataset = csvdata.load_csv(config.csv_path, test_fraction=config.test_fraction,
                                   seed=config.seed if config.data_seed is None else config.data_seed,
                                   device="cpu", dtype=torch_dtype(config.dtype))
        config = csvdata.config_for(config, dataset)
    config.validate()
    return config


def run(args) -> int:
    if args.list_presets:
        from ..presets import PRESETS
        for name, preset in PRESETS.items():
            print(f"{name}: {preset.observe}")
        return 0
    from tqdm.auto import tqdm

    from ..train import train
    from ._config import check_outputs, engine_threads, write_png

    config = build_config(args)
    check_outputs(files=[("json", args.json), ("png", args.png)],
                  folders=[("export", args.export, ("model.json", "model.py"))], inputs=[config.csv_path])
    share_string = None
    if args.share:  # before training: a config that cannot be shared (a CSV path) is refused now, not after
        from ..share import encode
        share_string = encode(config)
    bar = tqdm(total=config.max_epochs, unit="epoch", disable=args.quiet or None, file=sys.stderr,
               dynamic_ncols=True, leave=False)

    def on_epoch(record, run):
        bar.update(1)
        if record["epoch"] % 10 == 0:
            bar.set_postfix(loss=f"{record['train_loss']:.4f}", test_acc=f"{record['test_acc']:.3f}",
                            lr=f"{record['lr']:.2g}", refresh=False)

    try:
        with engine_threads(args, config):
            result = train(config, on_epoch=on_epoch)
    finally:
        bar.close()
    print(result.summary())
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    if args.png:
        from ..plots import new_figure
        from ..plots.training import draw_run
        fig = new_figure(15, 4.2)
        draw_run(fig, result)
        write_png(fig, args.png)
        print(f"wrote {args.png}")
    if args.export:
        from ..export import export_run
        paths = export_run(result, args.export)
        print(f"wrote {paths['json']} and {paths['py']}")
    if share_string is not None:
        print(f"share: {share_string}")
    return 0
