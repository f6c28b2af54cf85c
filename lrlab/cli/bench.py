"""``lrlab bench``: print every ratio benchmark, measured side by side in one run."""
from __future__ import annotations

HELP = "print benchmark ratios (lrlab vs a plain torch loop), measured side by side"


def add_arguments(parser) -> None:
    parser.add_argument("--only", metavar="TOPICS", help="comma-separated topics (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test, noisier)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: comparable figures)")


def run(args) -> int:
    import torch

    from .. import bench
    torch.set_num_threads(args.threads)
    only = [t.strip() for t in args.only.split(",")] if args.only else None
    if only:
        unknown = set(only) - set(bench.modules())
        if unknown:
            raise ValueError(f"only: unknown topic {sorted(unknown)[0]!r}; allowed: {', '.join(bench.modules())}")
    print(f"lrlab bench — torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"cuda: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    print(f"{'benchmark':<58} {'ours':>12} {'theirs':>12} {'unit':<10} {'ratio':>8}")
    for row in bench.collect(only, args.quick):
        print(bench.format_row(row), flush=True)
    return 0
