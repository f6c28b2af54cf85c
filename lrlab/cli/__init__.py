"""The ``lrlab`` command. Each sub-command lives in its own module ``lrlab/cli/<name>.py``
exposing ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``; they are
discovered automatically, so adding a command never touches this file.

Bad input (any ``ValueError`` raised while validating or running) prints one line
``lrlab: error: <field>: <what is allowed>`` and exits with status 2, never a traceback.
Outputs are checked before any work (:func:`lrlab.cli._config.check_outputs`); a file
system error that still happens while writing (the disk filled up) is one line too,
``lrlab: error: <file>: <reason>``, with status 1.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

ORDER = ("lab", "app", "notebooks", "train", "race", "sweep", "schedule", "bench")


def _commands():
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: usage line + one message, exit 2
        self.print_usage(sys.stderr)
        print(f"lrlab: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lrlab", description="lrlab: watch neural networks learn (see README.md).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _commands():
        module = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except ValueError as exc:
        print(f"lrlab: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # outputs are checked first; this is a failure while writing (disk full...)
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"lrlab: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lrlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
