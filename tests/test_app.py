"""``lrlab app``: which notebook it serves, the dashboard it ships, when it says "ready", and that
stopping it (Ctrl+C, SIGTERM, SIGHUP, even ``kill -9``) leaves no Voila and no kernel running.

The process tests start a real ``lrlab app`` (Voila and a preheated kernel, about 10 s each on a
shared 2-core machine); they are skipped where Voila is not installed (``pip install '.[test]'``).
The browser test is tests/test_dashboard_browser.py.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from lrlab.cli import app, main
from lrlab.dashboards import APP_DIR, NOTEBOOKS, READY_DIR

from app_helpers import can_see_processes, command_line, descendants, running, running_app, start_app, wait_ready
from pythons import pyproject  # tests/pythons.py

REPO = Path(__file__).resolve().parents[1]
needs_voila = pytest.mark.skipif(importlib.util.find_spec("voila") is None,
                                 reason="voila is not installed (pip install voila, or '.[test]')")
needs_proc = pytest.mark.skipif(not can_see_processes(), reason="no /proc and no psutil: processes cannot be listed")


def _fake_tutorials(folder: Path, names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")]), folder / name)
    return folder


# --- which notebook ------------------------------------------------------------------------

def test_the_playground_names_give_the_dashboard_and_other_names_their_notebook(tmp_path, monkeypatch):
    tutorials = _fake_tutorials(tmp_path / "nb", ("02_surfaces.ipynb", "05_playground.ipynb"))
    monkeypatch.setenv("LRLAB_NOTEBOOKS", str(tutorials))
    dashboard = NOTEBOOKS["playground"]
    for name in ("playground", "playground.ipynb", "05_playground", "05_playground.ipynb", "05"):
        assert app.resolve(name) == (dashboard, True), name
    assert app.resolve("02_surfaces") == ((tutorials / "02_surfaces.ipynb").resolve(), False)
    assert app.resolve("02") == ((tutorials / "02_surfaces.ipynb").resolve(), False)
    # a path is served as it is, the playground tutorial's too (the notebook, not the dashboard)
    given = tutorials / "05_playground.ipynb"
    assert app.resolve(str(given)) == (given.resolve(), False)
    for bad in ("nope", "06", "", "../playground"):
        with pytest.raises(ValueError, match="^notebook: "):
            app.resolve(bad)


def test_the_default_is_the_dashboard_and_bad_ports_are_refused(monkeypatch, capsys):
    from lrlab.cli import build_parser

    args = build_parser().parse_args(["app"])
    assert args.notebook == "playground" and app.resolve(args.notebook) == (NOTEBOOKS["playground"], True)
    monkeypatch.setattr(app, "voila_available", lambda: True)
    for port in ("0", "70000", "-1"):
        assert main(["app", "--no-browser", "--port", port]) == 2
        assert "lrlab: error: port: an integer in 1..65535" in capsys.readouterr().err
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert main(["app", "--no-browser", "--port", str(s.getsockname()[1])]) == 2
    assert "lrlab: error: port: a free port" in capsys.readouterr().err


def test_voila_preheats_the_dashboard_only():
    dash = app.voila_command(NOTEBOOKS["playground"], True, 8866)
    other = app.voila_command(Path("x.ipynb"), False, 8866)
    assert "--VoilaConfiguration.preheat_kernel=True" in dash and "--VoilaConfiguration.default_pool_size=1" in dash
    assert not any("preheat" in a for a in other)
    for cmd in (dash, other):  # lrlab app opens the browser itself, on the port it chose
        assert cmd[:3] == [sys.executable, "-m", "voila"] and "--no-browser" in cmd and "--port=8866" in cmd


# --- the dashboard notebook ------------------------------------------------------------------

def test_the_dashboard_ships_in_the_package_and_is_tiny():
    nb = nbformat.read(NOTEBOOKS["playground"], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and len(code[0].source.splitlines()) <= 3, "Voila runs all of it before showing anything"
    assert all(not c.get("outputs") for c in code), "a dashboard is saved without outputs"
    assert NOTEBOOKS["playground"].parent == REPO / "lrlab" / "dashboards"
    data = pyproject()
    assert "dashboards/*.ipynb" in data["tool"]["setuptools"]["package-data"]["lrlab"]
    assert any(req.startswith("voila") for req in data["project"]["optional-dependencies"]["test"])


def test_the_dashboard_shows_the_panel_and_nothing_else_and_says_ready(tmp_path):
    """Run the dashboard's cells in a kernel as Voila does: one widget, no printed text, no error;
    its kernel works where lrlab app was started and writes its ready file after the cell."""
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS["playground"], as_version=4)
    ready, start = tmp_path / "ready", tmp_path / "start"
    ready.mkdir()
    start.mkdir()
    nb.cells.append(nbformat.v4.new_code_cell("import os; print(os.getcwd())"))
    env = {**os.environ, READY_DIR: str(ready), APP_DIR: str(start), "OMP_NUM_THREADS": "1"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.monotonic()
    client.execute(env=env)
    took = time.monotonic() - t0
    panel_cell, cwd_cell = [c for c in nb.cells if c.cell_type == "code"]
    assert [o.output_type for o in panel_cell.outputs] == ["execute_result"]
    assert "application/vnd.jupyter.widget-view+json" in panel_cell.outputs[0].data
    assert cwd_cell.outputs[0].text.strip() == str(start)
    assert [p.suffix for p in ready.iterdir()] == [".ready"]
    print(f"dashboard run in a fresh kernel: {took:.1f} s (kernel start included)")


def test_say_ready_does_nothing_outside_lrlab_app(monkeypatch):
    from lrlab.dashboards import say_ready_after_this_cell

    monkeypatch.delenv(READY_DIR, raising=False)
    assert say_ready_after_this_cell() is False
    monkeypatch.setenv(READY_DIR, "/nonexistent")
    assert say_ready_after_this_cell() is False  # not in IPython


# --- when it says ready ----------------------------------------------------------------------

class _FakeVoila:
    def __init__(self):
        self.returncode = None

    def poll(self):
        return self.returncode


def test_ready_is_said_once_the_kernel_has_shown_the_panel(tmp_path):
    import socket

    out, proc = io.StringIO(), _FakeVoila()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        # not listening yet, and no ready file: not ready
        assert app.announce_when_ready(proc, port, "http://x/", tmp_path, False, timeout=0.3, out=out) is False
        listening.listen()
        assert app.announce_when_ready(proc, port, "http://x/", tmp_path, False, timeout=0.3, out=out) is False
        assert out.getvalue() == ""
        (tmp_path / "123.ready").write_text("")
        assert app.announce_when_ready(proc, port, "http://x/", tmp_path, False, timeout=5, out=out) is True
        assert out.getvalue() == "lrlab app: ready: open http://x/\n"
        # a notebook (no preheated kernel): ready once Voila listens
        assert app.announce_when_ready(proc, port, "http://y/", None, False, timeout=5, out=out) is True
        proc.returncode = 1  # Voila exited: never ready
        assert app.announce_when_ready(proc, port, "http://z/", None, False, timeout=5, out=out) is False


# --- stopping: nothing left behind ----------------------------------------------------------

@needs_proc
def test_marked_processes_are_found_even_orphaned_and_killed(tmp_path):
    """stop_all's backstop: a Voila stand-in that ignores SIGTERM and has started a "kernel" in a
    session of its own; both carry the mark; stop_all kills both. Zombies do not count."""
    mark = f"test-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, app.RUN_MARK: mark}
    script = ("import signal, subprocess, sys, time\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "k = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)\n"
              "print(k.pid, flush=True)\n"
              "time.sleep(120)\n")
    voila = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    kernel = int(voila.stdout.readline())
    unmarked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert sorted(app.marked_processes(mark)) == sorted([voila.pid, kernel])
        t0 = time.monotonic()
        killed = app.stop_all(voila, mark, grace=0.5)
        assert killed == [kernel] and time.monotonic() - t0 < 10
        assert voila.returncode == -signal.SIGKILL
        assert _gone([voila.pid, kernel], 5) == []
        assert app.marked_processes(mark) == []
        assert unmarked.poll() is None  # not ours: untouched
    finally:
        unmarked.kill()
        unmarked.wait()
        for pid in (voila.pid, kernel):
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def _gone(pids, timeout: float) -> list[int]:
    """Of ``pids``, those still running after up to ``timeout`` s (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if running(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _family(proc) -> dict[int, str]:
    return {pid: command_line(pid) for pid in descendants(proc.pid)}


@needs_voila
@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl+C", "SIGHUP"])
def test_stopping_lrlab_app_stops_voila_and_its_kernels(tmp_path, how):
    with running_app(tmp_path) as started:
        with urlopen(started.url) as page:  # a served page: its kernel is in use, the next one preheats
            assert page.status == 200
        time.sleep(1.0)
        family = _family(started.proc)
        assert any("voila" in cmd for cmd in family.values()), family
        assert sum("ipykernel" in cmd for cmd in family.values()) >= 1, family
        if how == "Ctrl+C":  # a terminal sends SIGINT to the foreground process group: lrlab's
            os.killpg(started.proc.pid, signal.SIGINT)
        else:
            started.proc.send_signal(getattr(signal, how))
        code = started.proc.wait(timeout=60)
        left = _gone(list(family), 2)
        assert left == [], f"still running after lrlab app exited: {[family[p] for p in left]}"
        assert code == (130 if how == "Ctrl+C" else 128 + getattr(signal, how))


@needs_voila
@needs_proc
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_kill_9_of_lrlab_app_still_stops_voila_and_its_kernels(tmp_path):
    started = wait_ready(start_app(tmp_path))
    family = _family(started.proc)
    try:
        assert sum("ipykernel" in cmd for cmd in family.values()) >= 1, family
        started.proc.kill()
        started.proc.wait()
        left = _gone(list(family), 30)  # Linux sent Voila SIGTERM (PR_SET_PDEATHSIG): it shuts its kernels down
        assert left == [], f"still running 30 s after kill -9: {[family[p] for p in left]}"
    finally:
        for pid, cmd in family.items():
            if running(pid) and command_line(pid) == cmd:
                os.kill(pid, signal.SIGKILL)


def urlopen(url: str):
    import urllib.request

    return urllib.request.urlopen(url, timeout=60)


@needs_voila
@pytest.mark.slow
def test_another_notebook_is_served_as_a_dashboard(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Mine"),
                                         nbformat.v4.new_code_cell("print('hello from the kernel')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "mine.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    with running_app(tmp_path, str(path)) as started:
        assert "starting Voila on " + str(path) in started.text()
        with urlopen(started.url) as page:
            html = page.read().decode()
        assert "hello from the kernel" in html and "print(" not in html  # run, code hidden
    assert path.read_bytes() == before  # never saved
    assert json.loads(before)["cells"][1]["outputs"] == []
