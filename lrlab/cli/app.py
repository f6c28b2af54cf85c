"""``lrlab app NOTEBOOK``: a notebook as a dashboard (code hidden, widgets live) with Voila.

Voila is an optional extra (``pip install 'lrlab[app]'``). Without it this prints one line
saying how to get it and exits with status 2. NOTEBOOK is a path, or a tutorial name
(``05_playground``, ``playground``, ``05``); Voila runs it without saving, so a tutorial
original is never modified.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

HELP = "open a notebook as a dashboard with Voila (optional extra: pip install 'lrlab[app]')"

MISSING_VOILA = ("lrlab app: Voila is not installed; install it with `pip install 'lrlab[app]'` "
                 "(or `pip install voila`), or open the notebook in JupyterLab with `lrlab lab`")


def add_arguments(parser) -> None:
    parser.add_argument("notebook", metavar="NOTEBOOK",
                        help="a .ipynb path or a tutorial name such as 05_playground")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument("--port", type=int, default=None, metavar="N", help="port to serve on")


def voila_available() -> bool:
    return importlib.util.find_spec("voila") is not None


def run(args) -> int:
    if not voila_available():
        print(MISSING_VOILA, file=sys.stderr)
        return 2
    from ..notebooks import find_notebook

    if args.port is not None and not 1 <= args.port <= 65535:
        raise ValueError(f"port: an integer in 1..65535, got {args.port}")
    notebook = find_notebook(args.notebook)
    cmd = [sys.executable, "-m", "voila", str(notebook)]
    if args.no_browser:
        cmd.append("--no-browser")
    if args.port is not None:
        cmd.append(f"--port={args.port}")
    print(f"lrlab app: serving {notebook} with Voila (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(cmd, env=dict(os.environ))
    except KeyboardInterrupt:
        return 130
