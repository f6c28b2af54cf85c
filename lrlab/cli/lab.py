"""``lrlab lab``: JupyterLab on a working copy of the tutorial notebooks.

The tutorials are copied into ``--dir`` (default ``./lrlab-notebooks``): only the files
missing there, so neither the originals nor a learner's edited copies are ever overwritten.
Then JupyterLab starts in that folder and the URL (with its token) is printed.

The token is ``$JUPYTER_TOKEN`` when set, else a fresh random one. Without ``--port`` the
first free port from 8888 up is used; with ``--port`` that port or a clear error.
Extra JupyterLab options go after ``--``: ``lrlab lab -- --ServerApp.ip=0.0.0.0``.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import sys

from ..ports import free_port, port_is_free

HELP = "copy the tutorial notebooks into a working folder and open them in JupyterLab"

DEFAULT_DIR = "lrlab-notebooks"


def add_arguments(parser) -> None:
    parser.add_argument("--dir", default=DEFAULT_DIR, metavar="DIR",
                        help=f"working folder for your copies (default: ./{DEFAULT_DIR}); "
                             "existing notebooks there are kept, never overwritten")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument("--port", type=int, default=None, metavar="N",
                        help="port to serve on (default: the first free port from 8888)")
    parser.add_argument("jupyter_args", nargs="*", metavar="-- JUPYTER_ARGS",
                        help="extra options passed to `jupyter lab` (after --)")


def jupyter_command(root_dir, port: int, no_browser: bool, extra=()) -> list[str]:
    """The ``jupyter lab`` command line (run with this Python, so the same environment)."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root_dir}",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, CI, Binder-like images
        cmd.append("--allow-root")
    return cmd + list(extra)


def warn_of_the_kernel(prog: str) -> None:
    """One line on stderr when the kernel installed here can lose clicks (:mod:`lrlab.kernelcheck`)."""
    from ..kernelcheck import kernel_problem

    problem = kernel_problem()
    if problem:
        print(f"{prog}: warning: {problem}", file=sys.stderr, flush=True)


def run(args) -> int:
    from ..notebooks import copy_notebooks

    if args.port is not None and not 1 <= args.port <= 65535:
        raise ValueError(f"port: an integer in 1..65535, got {args.port}")
    if importlib.util.find_spec("jupyterlab") is None:
        raise ValueError("jupyterlab: not installed in this Python; install it with `pip install jupyterlab`")
    warn_of_the_kernel("lrlab lab")
    try:
        report = copy_notebooks(args.dir)
    except FileNotFoundError as exc:
        raise ValueError(f"notebooks: {exc}") from None
    print(f"lrlab lab: {report.summary()}", flush=True)

    if args.port is None:
        port = free_port()
    elif port_is_free(args.port):
        port = args.port
    else:
        raise ValueError(f"port: a free port, got {args.port} (in use); omit --port to pick one")
    env = dict(os.environ)
    token = env.get("JUPYTER_TOKEN") or secrets.token_hex(16)
    env["JUPYTER_TOKEN"] = token
    url = f"http://127.0.0.1:{port}/lab?token={token}" if token else f"http://127.0.0.1:{port}/lab"
    print(f"lrlab lab: JupyterLab starting in {report.dest}", flush=True)
    print(f"lrlab lab: open {url}", flush=True)
    print("lrlab lab: press Ctrl+C to stop the server", flush=True)

    cmd = jupyter_command(report.dest, port, args.no_browser, args.jupyter_args)
    proc = subprocess.Popen(cmd, env=env, cwd=report.dest)

    def forward(signum, _frame):  # `kill <lrlab pid>` stops JupyterLab too
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return _exit_status(proc.wait())
    except KeyboardInterrupt:
        # Ctrl+C reached JupyterLab as well (same process group); it asks to confirm or exits
        try:
            return _exit_status(proc.wait(timeout=10))
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            proc.terminate()
            return _exit_status(proc.wait())
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_status(returncode: int) -> int:
    """A child killed by signal N (returncode -N) exits like a shell reports it: 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode
