"""``lrlab app``: the playground as a dashboard (no code, the panel live) with Voila.

``lrlab app`` (or ``lrlab app playground``, ``05_playground``, ``05``) serves the playground
dashboard shipped in the package (``lrlab/dashboards/playground.ipynb``): a title, one sentence
and the training panel, whose "guided experiments" dropdown sits at its top. It is tiny on
purpose: Voila runs a notebook to the end before it shows anything, so the tutorial
``05_playground`` itself (its experiments train for tens of seconds) would leave a blank page.

A dashboard is served with a preheated kernel (``--VoilaConfiguration.preheat_kernel=True``):
Voila runs it before anyone asks for it, and makes the next one ready a few seconds after each
page is served. ``lrlab app`` says ``ready: open URL`` (and opens the browser, unless
``--no-browser``) once that kernel has shown the panel (the dashboard writes a file into the
folder ``$LRLAB_APP_READY``, see :mod:`lrlab.dashboards`), so the page shows the panel at once.

``lrlab app NOTEBOOK`` with any other tutorial name or a ``.ipynb`` path (the playground
tutorial too, given as a path) serves that notebook as a dashboard, code hidden, run when the
page is asked for; Voila runs it without saving, so a tutorial original is never modified.

Stopping: Ctrl+C, ``kill`` (SIGTERM) or a closed terminal (SIGHUP) stops Voila and every
kernel it started. Voila runs in its own session; ``lrlab app`` sends it SIGTERM, waits for it
to shut its kernels down, then kills whatever is left of the processes carrying this run's mark
in their environment (``LRLAB_APP_RUN``: Voila, its kernels and anything they started, even once
re-parented). On Linux Voila also gets SIGTERM if ``lrlab app`` itself is killed outright
(``kill -9``), and then shuts its kernels down itself.

Voila is an optional extra (``pip install 'lrlab[app]'``). Without it this prints one line
saying how to get it and exits with status 2.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..dashboards import APP_DIR, NOTEBOOKS as DASHBOARDS, READY_DIR
from ..ports import free_port, port_is_free
from .lab import _exit_status, warn_of_the_kernel

HELP = "the playground as a dashboard, or a notebook as one, with Voila (optional extra: pip install 'lrlab[app]')"

MISSING_VOILA = ("lrlab app: Voila is not installed; install it with `pip install 'lrlab[app]'` "
                 "(or `pip install voila`), or open the notebook in JupyterLab with `lrlab lab`")

#: environment variable marking Voila and every process it starts (value: one per run)
RUN_MARK = "LRLAB_APP_RUN"
#: seconds Voila is given to shut its kernels down before what is left is killed
GRACE_S = 10.0
#: seconds after a page is served before Voila starts the next preheated kernel: the first
#: page's widgets get the CPU while they load
FILL_DELAY_S = 3.0


def add_arguments(parser) -> None:
    parser.add_argument("notebook", metavar="NOTEBOOK", nargs="?", default="playground",
                        help="playground (the default: the playground dashboard), another tutorial "
                             "name such as 02_surfaces, or a .ipynb path")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument("--port", type=int, default=None, metavar="N",
                        help="port to serve on (default: the first free port from 8866)")


def voila_available() -> bool:
    return importlib.util.find_spec("voila") is not None


def resolve(name: str) -> tuple[Path, bool]:
    """``(notebook, is_dashboard)``: the notebook ``lrlab app NAME`` serves. An existing file is
    served as it is; a dashboard name, or a tutorial named ``NN_<dashboard name>``, gives the
    dashboard; any other tutorial name gives that tutorial (``ValueError`` when none matches)."""
    from ..notebooks import find_notebook

    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve(), False
    if len(path.parts) > 1:
        raise ValueError(f"notebook: an existing .ipynb file or a tutorial name, got {name!r} (no such file)")
    stem = path.name[:-6] if path.name.endswith(".ipynb") else path.name
    if stem in DASHBOARDS:
        return DASHBOARDS[stem], True
    notebook = find_notebook(name)
    key = notebook.stem.split("_", 1)[-1]
    if key in DASHBOARDS:
        return DASHBOARDS[key], True
    return notebook, False


def voila_command(notebook: Path, dashboard: bool, port: int) -> list[str]:
    """The ``voila`` command line (this Python, so the same environment); ``lrlab app`` opens
    the browser itself, once the page is ready."""
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser",
           f"--port={port}", "--Voila.port_retries=0"]
    if dashboard:  # run before it is asked for; the next kernel waits until the page has loaded
        cmd += ["--VoilaConfiguration.preheat_kernel=True", "--VoilaConfiguration.default_pool_size=1",
                f"--VoilaKernelManager.fill_delay={FILL_DELAY_S}"]
    return cmd


def run(args) -> int:
    if not voila_available():
        print(MISSING_VOILA, file=sys.stderr)
        return 2
    warn_of_the_kernel("lrlab app")
    if args.port is None:
        port = free_port(8866)
    elif not 1 <= args.port <= 65535:
        raise ValueError(f"port: an integer in 1..65535, got {args.port}")
    elif port_is_free(args.port):
        port = args.port
    else:
        raise ValueError(f"port: a free port, got {args.port} (in use); omit --port to pick one")
    notebook, dashboard = resolve(args.notebook)
    url = f"http://localhost:{port}/"
    ready_dir = Path(tempfile.mkdtemp(prefix="lrlab-app-"))
    env = dict(os.environ)
    env[RUN_MARK] = f"{os.getpid()}-{time.time_ns()}"
    env[APP_DIR] = os.getcwd()
    env[READY_DIR] = str(ready_dir)
    what = "the playground dashboard" if dashboard else str(notebook)
    print(f"lrlab app: starting Voila on {what} at {url} (Ctrl+C to stop)", flush=True)
    try:
        proc = subprocess.Popen(voila_command(notebook, dashboard, port), env=env,
                                start_new_session=True, preexec_fn=_term_when_parent_dies)
        ready = ready_dir if dashboard else None
        threading.Thread(target=announce_when_ready, args=(proc, port, url, ready, not args.no_browser),
                         daemon=True).start()
        return serve(proc, env[RUN_MARK])
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)


def announce_when_ready(proc: subprocess.Popen, port: int, url: str, ready_dir: Path | None,
                        open_browser: bool, timeout: float = 600.0, out=None) -> bool:
    """Print ``lrlab app: ready: open URL`` (and open the browser) once Voila listens on ``port``
    and, for a dashboard, its preheated kernel has written a file into ``ready_dir``. False if
    Voila exits first or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _listening(port) and (ready_dir is None or any(ready_dir.glob("*.ready"))):
            print(f"lrlab app: ready: open {url}", file=out or sys.stdout, flush=True)
            if open_browser:
                import webbrowser

                webbrowser.open(url)
            return True
        time.sleep(0.1)
    return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


class _Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum, _frame):
    raise _Stop(signum)


def serve(proc: subprocess.Popen, mark: str) -> int:
    """Wait for Voila; on Ctrl+C, SIGTERM or SIGHUP stop it and everything it started. Voila's
    exit status (a signal N as 128 + N), or 130 / 128 + N when stopped by a signal."""
    catch = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.getsignal(s) for s in (*catch, signal.SIGINT)}
    for s in catch:
        signal.signal(s, _raise_stop)
    code = None
    try:
        code = _exit_status(proc.wait())
    except KeyboardInterrupt:
        code = 130
    except _Stop as stop:
        code = 128 + stop.signum
    finally:
        for s in previous:  # shut down in peace: a second Ctrl+C does not cut the clean-up short
            signal.signal(s, signal.SIG_IGN)
        try:
            stop_all(proc, mark)
        finally:
            for s, handler in previous.items():
                if handler is not None:  # None: installed outside Python, cannot be put back
                    signal.signal(s, handler)
    return code


def stop_all(proc: subprocess.Popen, mark: str, grace: float = GRACE_S) -> list[int]:
    """SIGTERM to Voila (it shuts its kernels down), then SIGKILL to Voila's process group and to
    every process still carrying ``mark``; returns the pids that had to be killed that way."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # Voila, if it did not stop, and its group
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    left = marked_processes(mark)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return left


def marked_processes(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``LRLAB_APP_RUN=mark``: read from
    /proc on Linux, else with psutil when it is installed (else none found)."""
    needle = f"{RUN_MARK}={mark}".encode()
    found = []
    if os.path.isdir("/proc/self"):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
            except OSError:
                continue  # gone, or not ours
            if needle in environ:
                found.append(int(entry.name))
        return found
    try:
        import psutil
    except ImportError:
        return found
    for p in psutil.process_iter():
        try:
            if p.pid != os.getpid() and p.status() != psutil.STATUS_ZOMBIE and p.environ().get(RUN_MARK) == mark:
                found.append(p.pid)
        except (psutil.Error, OSError):
            continue
    return found


def _term_when_parent_dies() -> None:
    """In Voila, before it starts (Linux): SIGTERM when ``lrlab app`` dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
