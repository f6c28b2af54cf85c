"""Start and stop a throw-away ``lrlab lab`` server (the browser bench, tests/test_lab.py, tests/test_browser.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def jupyter_env(tmp_path: Path, token: str) -> dict:
    """Environment for a throw-away Jupyter server: its config/data/runtime dirs in tmp_path."""
    env = dict(os.environ)
    for var in ("CONFIG", "DATA", "RUNTIME"):
        d = tmp_path / f"jupyter_{var.lower()}"
        d.mkdir(exist_ok=True)
        env[f"JUPYTER_{var}_DIR"] = str(d)
    env["JUPYTER_TOKEN"] = token
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    return env


def start_lab(tmp_path: Path, workdir: Path, env: dict, port: int) -> subprocess.Popen:
    log = open(tmp_path / "lab.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "lrlab", "lab", "--no-browser", "--port", str(port), "--dir", str(workdir)],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_server(proc, port: int, token: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"lrlab lab exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not answer within {timeout} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> int:
    """SIGTERM to lrlab (it forwards to JupyterLab); the whole group is killed as a backstop."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group (kernels, server)
    except (ProcessLookupError, PermissionError):
        pass
    return proc.wait(timeout=10)


def disable_lab_extensions(env: dict, *plugin_ids: str) -> None:
    """Turn JupyterLab plugins off in this server's config dir (e.g. the news pop-up)."""
    labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {pid: True for pid in plugin_ids}}))


def lab_user_settings(env: dict, plugin: str, settings: dict) -> None:
    """Write JupyterLab user settings for ``plugin`` (e.g. "@jupyterlab/notebook-extension:tracker")
    into a settings dir of this server's own (``JUPYTERLAB_SETTINGS_DIR``)."""
    root = Path(env.setdefault("JUPYTERLAB_SETTINGS_DIR", str(Path(env["JUPYTER_CONFIG_DIR"]) / "lab-settings")))
    package, name = plugin.split(":")
    folder = root / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(settings))
