"""A throw-away ``lrlab app`` for tests/test_app.py and tests/test_dashboard_browser.py, and the
processes it started (read from /proc on Linux, else with psutil)."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lrlab.bench._lab import jupyter_env
from lrlab.ports import free_port

#: the issue's bound: the dashboard's panel shows within this many seconds of the page request
TIME_TO_PANEL_S = 5.0
READY = re.compile(r"lrlab app: ready: open (\S+)")


@dataclass
class App:
    proc: subprocess.Popen
    log: Path
    url: str = ""
    ready_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def app_env(tmp_path: Path) -> dict:
    """Jupyter's config/data/runtime dirs in tmp_path, no token (Voila serves without one)."""
    env = jupyter_env(tmp_path, token="")
    env.pop("JUPYTER_TOKEN", None)
    env["OMP_NUM_THREADS"] = "1"
    env.pop("LRLAB_APP_RUN", None)
    env["TMPDIR"] = str(tmp_path / "tmp")  # lrlab app's ready folder, Voila's connection files
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def start_app(tmp_path: Path, *args: str) -> App:
    """``lrlab app --no-browser --port P ARGS`` in its own session (as a terminal's job is: a
    Ctrl+C is a SIGINT to its process group), its output in ``tmp_path/app.log``."""
    log = tmp_path / "app.log"
    port = free_port(18866)
    proc = subprocess.Popen([sys.executable, "-m", "lrlab", "app", "--no-browser", "--port", str(port), *args],
                            env=app_env(tmp_path), cwd=tmp_path, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    return App(proc, log)


def wait_ready(app: App, timeout: float = 120.0) -> App:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if m := READY.search(app.text()):
            app.url, app.ready_s = m.group(1), time.monotonic() - t0
            return app
        if app.proc.poll() is not None:
            raise AssertionError(f"lrlab app exited with {app.proc.returncode}:\n{app.text()}")
        time.sleep(0.1)
    raise AssertionError(f"lrlab app did not say ready within {timeout} s:\n{app.text()}")


@contextlib.contextmanager
def running_app(tmp_path: Path, *args: str):
    """A started and ready ``lrlab app``; stopped (SIGTERM) afterwards, then anything it started
    and left is killed so that a failing test leaves no server behind."""
    app = start_app(tmp_path, *args)
    family: dict[int, str] = {}
    try:
        wait_ready(app)
        family = {pid: command_line(pid) for pid in descendants(app.proc.pid)}
        yield app
    finally:
        family.update({pid: command_line(pid) for pid in descendants(app.proc.pid)})
        if app.proc.poll() is None:
            app.proc.send_signal(signal.SIGTERM)
            try:
                app.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.proc.kill()
                app.proc.wait()
        for pid, cmd in family.items():  # the same process still (a pid can be reused)
            if running(pid) and command_line(pid) == cmd:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def _ppids() -> dict[int, int]:
    """pid -> parent pid of every process."""
    if os.path.isdir("/proc/self"):
        out = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as f:
                        stat = f.read()
                except OSError:
                    continue
                out[int(entry.name)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        return out
    import psutil

    return {p.pid: p.ppid() for p in psutil.process_iter()}


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` now (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for child, parent in _ppids().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie has exited; only its parent's
    bookkeeping is left, until init reaps it)."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        return stat[stat.rindex(b")") + 2:].split()[0] not in (b"Z", b"X")
    import psutil

    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return False


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        try:
            import psutil

            return " ".join(psutil.Process(pid).cmdline())
        except Exception:
            return ""


def can_see_processes() -> bool:
    if os.path.isdir("/proc/self"):
        return True
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True
