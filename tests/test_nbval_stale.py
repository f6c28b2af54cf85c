"""A notebook whose saved outputs are stale fails ``pytest --nbval``; a fresh one passes.

This is what makes CI catch a tutorial that no longer matches the library: the test command
runs ``pytest --nbval notebooks`` and compares every saved output (text, streams, reprs;
``NBVAL_IGNORE_OUTPUT`` cells and the sanitize file aside) with a fresh run. Here a copy of
a notebook gets one saved output corrupted and nbval, run in a subprocess, must fail on it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SANITIZE = REPO / "notebooks" / "sanitize.cfg"
MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT")
STALE = "\n(an output saved by an older lrlab)\n"


def run_nbval(notebook: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``pytest --nbval`` on one notebook, in a subprocess rooted outside the repository."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(cwd),
           "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE), str(notebook)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONHASHSEED": "0"})


def make_stale(src: Path, dest: Path) -> str:
    """Copy ``src`` to ``dest`` with one compared output changed; returns the cell's first line."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or any(m in cell.source for m in MARKERS):
            continue
        if any(t.startswith("nbval-") for t in cell.metadata.get("tags", [])):
            continue
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stdout":
                out.text += STALE
            elif out.output_type in ("execute_result", "display_data") and "text/plain" in out.data \
                    and "image/png" not in out.data:
                out.data["text/plain"] += STALE
            else:
                continue
            nbformat.write(nb, dest)
            return cell.source.splitlines()[0]
    raise AssertionError(f"{src.name} has no compared text output to corrupt")


@pytest.fixture(scope="module")
def tiny_notebook(tmp_path_factory) -> Path:
    """A two-cell notebook executed here, so its saved outputs are fresh."""
    from nbclient import NotebookClient

    path = tmp_path_factory.mktemp("nbval") / "tiny.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# tiny"),
        nbformat.v4.new_code_cell("import math\nprint('lr =', 0.01, ' loss =', round(-math.log(0.5), 4))"),
        nbformat.v4.new_code_cell("sum(range(10))"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, path)
    return path


def test_fresh_notebook_passes_nbval(tiny_notebook):
    result = run_nbval(tiny_notebook, tiny_notebook.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stale_output_fails_nbval(tiny_notebook, tmp_path):
    stale = tmp_path / "tiny_stale.ipynb"
    make_stale(tiny_notebook, stale)
    result = run_nbval(stale, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^1 failed", result.stdout, re.M) and "an output saved by an older lrlab" in result.stdout


def _a_tutorial() -> Path | None:
    tutorials = sorted((REPO / "notebooks").glob("*.ipynb"))
    return tutorials[0] if tutorials else None


@pytest.mark.slow
@pytest.mark.skipif(_a_tutorial() is None, reason="no tutorial notebooks in notebooks/ yet")
def test_stale_tutorial_fails_nbval(tmp_path):
    """The same on a real tutorial (its fresh copy is checked by the main nbval run)."""
    tutorial = _a_tutorial()
    stale = tmp_path / tutorial.name
    cell = make_stale(tutorial, stale)
    result = run_nbval(stale, tmp_path)
    assert result.returncode == 1, f"nbval passed although the output of {cell!r} was made stale"
    assert re.search(r"^1 failed", result.stdout, re.M) and "an output saved by an older lrlab" in result.stdout, result.stdout
