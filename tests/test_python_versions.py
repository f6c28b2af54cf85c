"""The lessons read the same on Python 3.10 through 3.13.

Python 3.13 strips the indentation of docstrings when it compiles them; 3.10-3.12 keep it. A
formula or description a notebook prints from a docstring must therefore go through one
formatter, :func:`lrlab.fmt.doc`, which gives the same text on every Python.

* Under every CPython 3.10-3.13 found here (pyenv's, or ``python3.X`` on the PATH), a script
  with no dependencies compiles each lrlab module, takes every docstring from the compiled code
  objects (as that Python stores it) and formats it with ``lrlab/fmt.py``: the texts must be
  equal on every version (and each module must compile there).
* No notebook prints a raw ``__doc__``.
* nbval on every notebook under each of those other Pythons, in a virtual environment of its own
  with the same torch (:mod:`pythons`, i.e. tests/pythons.py, which says how the several GB of
  CUDA torch are kept to one copy); prepared and run in the background while the rest of the
  suite runs, and checked last.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pythons import REPORT, VERSIONS, others  # tests/pythons.py

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import importlib.util, json, sys, types
from pathlib import Path
repo = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("lrlab_fmt", repo / "lrlab" / "fmt.py")
fmt = importlib.util.module_from_spec(spec); spec.loader.exec_module(fmt)
out = {}
def walk(code, where):
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, f"{where}.{c.co_name}")
    # a module's, class's or function's docstring is its code's first constant (CPython <= 3.13)
    doc = code.co_consts[0] if code.co_consts and isinstance(code.co_consts[0], str) else None
    if doc and doc.strip() and "\n" in doc:
        out[where] = fmt.doc(doc)
for path in sorted((repo / "lrlab").rglob("*.py")):
    src = path.read_text(encoding="utf-8")
    code = compile(src, str(path), "exec")
    walk(code, str(path.relative_to(repo)))
print(json.dumps(out, sort_keys=True))
"""


def _docs(python: str) -> dict:
    proc = subprocess.run([python, "-c", _SCRIPT, str(REPO)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{python}: {proc.stderr.strip()[-800:]}"
    return json.loads(proc.stdout)


def test_every_docstring_reads_the_same_on_every_python_present():
    here = _docs(sys.executable)
    assert len(here) > 50  # the script found lrlab's docstrings
    found = others()
    if not found:
        pytest.skip(f"no other CPython of {', '.join(VERSIONS)} here (pyenv or python3.X on the PATH)")
    for version, python in found.items():
        theirs = _docs(python)
        assert theirs.keys() == here.keys(), version
        differ = [k for k in here if here[k] != theirs[k]]
        assert not differ, f"Python {version} formats these docstrings differently: {differ[:5]}"
    print(f"same docstrings ({len(here)}) on {sys.version.split()[0]} and {', '.join(sorted(found))}")


def test_no_notebook_prints_a_raw_docstring():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                assert not re.search(r"print\([^)]*__doc__", src), \
                    f"{path.name} prints a raw __doc__ (Python 3.13 shows it otherwise): use lrlab.fmt.doc"


def test_nbval_passes_under_each_other_python(request):
    """nbval on every notebook, and tests/test_kernel_messages.py, under each other CPython
    3.10-3.13 found here. The work runs in the background from the moment the tests are
    collected (tests/conftest.py starts tests/pythons.py); this test runs last and waits for
    its report."""
    found = others()
    if not found:
        pytest.skip(f"no other CPython of {', '.join(VERSIONS)} here (pyenv or python3.X on the PATH)")
    proc = getattr(request.config, "lrlab_other_pythons", None)
    if proc is None:  # not started by the conftest (e.g. this file run on its own by path::name)
        proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "pythons.py")], cwd=REPO)
    proc.wait(timeout=1800)
    report = json.loads(REPORT.read_text())
    assert report["done"] and set(report["results"]) == set(found), report
    for version, result in sorted(report["results"].items()):
        print(f"Python {version} ({result['python']}): nbval and the kernel check "
              f"{'passed' if result['passed'] else 'FAILED'} "
              f"in {result['seconds']} s (environment included)")
    failed = {v: r for v, r in report["results"].items() if not r["passed"]}
    assert not failed, "\n\n".join(f"Python {v}: {r.get('error')}\n{r['tail']}" for v, r in failed.items())


def test_other_pythons_get_torchs_pure_requirements_but_not_its_cuda_libraries(tmp_path):
    import zipfile

    import pythons
    wheel = tmp_path / "torch-2.13.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("torch-2.13.0.dist-info/METADATA", "\n".join([
            "Metadata-Version: 2.4", "Name: torch", "Version: 2.13.0",
            "Requires-Dist: filelock", "Requires-Dist: sympy>=1.13.3",
            'Requires-Dist: setuptools; python_version >= "3.12"',
            'Requires-Dist: nvidia-cublas==13.1.1.3; platform_system == "Linux"',
            'Requires-Dist: cuda-bindings==13.5.0; platform_system == "Linux"',
            'Requires-Dist: triton==3.7.1; platform_system == "Linux"',
            'Requires-Dist: opt-einsum>=3.3; extra == "opt-einsum"', "", "The description."]))
    assert pythons.torch_pure_requirements(wheel) == ["filelock", "sympy>=1.13.3",
                                                      'setuptools; python_version >= "3.12"']
    assert pythons._torch_wheel(tmp_path, "3.12") == wheel and pythons._torch_wheel(tmp_path, "3.10") is None
    reqs = pythons.lrlab_requirements()
    assert not [r for r in reqs if r.startswith("torch")] and {"nbval", "pytest"} <= set(reqs)
    assert [r for r in reqs if r.startswith("ipykernel")] == [k for k in pythons.pyproject()["project"][
        "dependencies"] if k.startswith("ipykernel")], "each Python gets the kernel lrlab asks for (no 7.0-7.3)"
    assert "--nbval" in pythons.nbval_options()


def test_other_pythons_refuse_to_start_on_a_full_disk_with_a_clear_reason(tmp_path, monkeypatch):
    import collections
    import shutil

    import pythons
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**40, 2**40 - 2**29, 2**29))
    with pytest.raises(RuntimeError, match=r"0\.5 GB free .* Python 3\.12 need about 13 GB"):
        pythons.download(["3.12"], log=None, wheels=tmp_path / "wheels")
