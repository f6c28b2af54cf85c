"""``lrlab lab`` copies the tutorials and serves them; ``lrlab app`` explains a missing Voila."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from lrlab import notebooks
from lrlab.cli import main
from lrlab.ports import free_port

from lrlab.bench._lab import jupyter_env, start_lab, stop, wait_for_server

REPO = Path(__file__).resolve().parents[1]


def _fake_tutorials(folder: Path, names=("01_first.ipynb", "02_second.ipynb")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")])
        nbformat.write(nb, folder / name)
    return folder


def test_tutorial_notebooks_are_found_and_sorted():
    nbs = notebooks.tutorial_notebooks() if any((REPO / "notebooks").glob("*.ipynb")) else []
    assert nbs == sorted(nbs)
    for nb in nbs:
        assert nb.suffix == ".ipynb" and nb.parent == (REPO / "notebooks").resolve()


def test_copy_keeps_existing_copies_and_never_touches_originals(tmp_path):
    src = _fake_tutorials(tmp_path / "orig")
    before = {p.name: p.read_bytes() for p in src.glob("*.ipynb")}
    work = tmp_path / "work"
    first = notebooks.copy_notebooks(work, source=src)
    assert first.copied == ["01_first.ipynb", "02_second.ipynb"] and first.kept == []
    (work / "01_first.ipynb").write_text("my edits")
    (work / "02_second.ipynb").unlink()
    second = notebooks.copy_notebooks(work, source=src)
    assert second.copied == ["02_second.ipynb"] and second.kept == ["01_first.ipynb"]
    assert (work / "01_first.ipynb").read_text() == "my edits"
    assert "kept 1" in second.summary()
    assert {p.name: p.read_bytes() for p in src.glob("*.ipynb")} == before
    with pytest.raises(ValueError, match="^dir: "):
        notebooks.copy_notebooks(src, source=src)


def test_find_notebook_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LRLAB_NOTEBOOKS", str(_fake_tutorials(tmp_path / "nb", ("05_playground.ipynb",))))
    want = (tmp_path / "nb" / "05_playground.ipynb").resolve()
    for name in ("05_playground.ipynb", "05_playground", "playground", "05"):
        assert notebooks.find_notebook(name) == want
    with pytest.raises(ValueError, match="^notebook: "):
        notebooks.find_notebook("nope")


def test_lab_no_browser_serves_the_notebooks(tmp_path):
    env = jupyter_env(tmp_path, token="lrlab-test-" + os.urandom(8).hex())
    expected = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    if not expected:  # no tutorials yet: serve stand-ins so the command itself is still tested
        env["LRLAB_NOTEBOOKS"] = str(_fake_tutorials(tmp_path / "stand_ins"))
        expected = ["01_first.ipynb", "02_second.ipynb"]
    workdir = tmp_path / "my-notebooks"
    port = free_port(18888)
    proc = start_lab(tmp_path, workdir, env, port)
    try:
        wait_for_server(proc, port, env["JUPYTER_TOKEN"], tmp_path / "lab.log")
        url = f"http://127.0.0.1:{port}/api/contents?token={env['JUPYTER_TOKEN']}"
        with urllib.request.urlopen(url, timeout=10) as r:
            listing = json.load(r)
        served = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        assert served == expected
        with pytest.raises(urllib.error.HTTPError) as denied:  # the token is required
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=10)
        assert denied.value.code == 403
    finally:
        stop(proc)
    log = (tmp_path / "lab.log").read_text()
    assert f"copied {len(expected)} notebook(s) into {workdir.resolve()}" in log
    assert f"http://127.0.0.1:{port}/lab?token={env['JUPYTER_TOKEN']}" in log
    assert sorted(p.name for p in workdir.glob("*.ipynb")) == expected


def test_lab_rejects_a_busy_port(tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.setenv("LRLAB_NOTEBOOKS", str(_fake_tutorials(tmp_path / "nb")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        code = main(["lab", "--no-browser", "--port", str(busy), "--dir", str(tmp_path / "w")])
    assert code == 2
    assert capsys.readouterr().err.startswith("lrlab: error: port: ")


def test_app_without_voila_says_how_to_get_it(monkeypatch, capsys):
    from lrlab.cli import app

    monkeypatch.setattr(app, "voila_available", lambda: False)
    assert main(["app", "05_playground"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Voila is not installed" in err and "pip install 'lrlab[app]'" in err


def test_lab_and_app_warn_of_a_kernel_that_can_lose_clicks(tmp_path, capsys, monkeypatch):
    import socket

    from lrlab import kernelcheck
    from lrlab.cli import app

    assert kernelcheck.kernel_problem() is None, "the kernel installed here is one lrlab warns of"
    requirement = str(kernelcheck._requirement("ipykernel") or "")
    assert requirement, "lrlab's installed metadata names no ipykernel requirement (reinstall: pip install -e .)"
    assert "!=7.3.*" in requirement.replace(" ", ""), requirement  # pyproject's rule, as installed
    for fine in ("6.29.5", "6.31.0", "7.4.0", "8.0.0"):
        monkeypatch.setattr(kernelcheck, "installed_version", lambda package, v=fine: v)
        assert kernelcheck.kernel_problem() is None, fine
    monkeypatch.setattr(kernelcheck, "installed_version", lambda package: "7.3.0")
    monkeypatch.setenv("LRLAB_NOTEBOOKS", str(_fake_tutorials(tmp_path / "nb")))
    monkeypatch.setattr(app, "voila_available", lambda: True)
    with socket.socket() as s:  # a busy port: each command warns, then stops before starting a server
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = str(s.getsockname()[1])
        for argv in (["lab", "--no-browser", "--port", busy, "--dir", str(tmp_path / "w")],
                     ["app", "05_playground", "--port", busy]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            warning = [line for line in err.splitlines() if "warning" in line]
            assert len(warning) == 1 and warning[0].startswith(f"lrlab {argv[0]}: warning: ipykernel 7.3.0 "), err
            assert f"pip install '{requirement}'" in warning[0] and "Start" in warning[0], warning
    monkeypatch.setattr(kernelcheck, "installed_version", lambda package: None)
    assert "ipykernel is not installed" in kernelcheck.kernel_problem()
