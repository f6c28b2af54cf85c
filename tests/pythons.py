"""The other CPythons (3.10-3.13) beside the one running the tests: find them, give each a
virtual environment with lrlab and the same torch, and run every notebook's nbval there, with
tests/test_kernel_messages.py (pip picks a different ipykernel on 3.10).

Why it is built this way: off PyPI, torch for x86-64 Linux is a CUDA build, and its NVIDIA
libraries take 2.7 GB per environment (the CPU-only file on this machine's disk is for 3.11
alone). Those libraries are plain shared objects, the same for every Python. So they are unpacked
once into ``.venvs/cuda-libs``, and each environment reaches them through a ``.pth`` file (torch
looks for ``nvidia/*/lib`` on ``sys.path``). Each environment installs only its own torch wheel
(about 0.5 GB) without dependencies, torch's pure-Python requirements, lrlab's requirements
(torch aside) and lrlab itself, editable. triton, which only ``torch.compile`` uses, is left out.

``python tests/pythons.py [--versions 3.10,3.12]`` prepares the environments and runs nbval under
each, in order, writing ``.venvs/report.json`` (per version: the interpreter, whether it passed,
the seconds it took and the tail of its output) as each finishes. ``tests/conftest.py`` starts it
in the background (at the lowest CPU priority) as soon as the tests are collected, so that it
overlaps the rest of the suite; ``tests/test_python_versions.py`` waits for its report last.
Environments are reused while the torch wheel, ``pyproject.toml`` and this file stay the same.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / ".venvs"
REPORT = ROOT / "report.json"
VERSIONS = ("3.10", "3.11", "3.12", "3.13")
#: disk the first build takes for three other Pythons (measured: 12 GB): the wheels, the NVIDIA
#: libraries (2.7 GB) and 1.6 GB per Python
NEEDS_GB = 13


def this_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def interpreters() -> dict[str, str]:
    """Each CPython of :data:`VERSIONS` found here: pyenv's, else ``python3.X`` on the PATH."""
    found: dict[str, str] = {}
    root = None
    if shutil.which("pyenv"):
        try:
            root = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                       timeout=20).stdout.strip()) / "versions"
        except (OSError, subprocess.SubprocessError):
            root = None
    for v in VERSIONS:
        for d in sorted(root.glob(f"{v}.*")) if root and root.is_dir() else []:
            exe = d / "bin" / f"python{v}"
            if exe.is_file():
                found[v] = str(exe)
        if v not in found and shutil.which(f"python{v}"):
            found[v] = shutil.which(f"python{v}")
    return found


def others() -> dict[str, str]:
    """:func:`interpreters` without the one running now."""
    return {v: p for v, p in interpreters().items() if v != this_version()}


def torch_pin() -> str:
    """The torch the suite runs on (``torch==2.13.0``), so every Python is tested on the same
    (read from its metadata: importing torch here would only cost time)."""
    from importlib.metadata import version
    return "torch==" + version("torch").split("+")[0]


def pyproject() -> dict:
    """pyproject.toml, parsed (Python 3.10 too)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pip carries the same parser
        from pip._vendor import tomli as tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def lrlab_requirements() -> list[str]:
    """lrlab's requirements, torch aside (installed apart), and what nbval runs with."""
    deps = [d for d in pyproject()["project"]["dependencies"] if not re.match(r"torch\b", d)]
    return deps + ["pytest"]


def nbval_options() -> str:
    """The suite's own pytest options (``--nbval``, the sanitizer, the cell timeout)."""
    return pyproject()["tool"]["pytest"]["ini_options"]["addopts"]


def _torch_wheel(wheels: Path, version: str) -> Path | None:
    tag = "cp" + version.replace(".", "")
    hits = sorted(wheels.glob(f"torch-*-{tag}-{tag}-*.whl"))
    return hits[-1] if hits else None


def torch_pure_requirements(wheel: Path) -> list[str]:
    """torch's own requirements minus the NVIDIA/CUDA libraries and triton (with their markers,
    which pip evaluates for the Python it installs into)."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        lines = z.read(meta).decode().splitlines()
    reqs = []
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        req = line.split(":", 1)[1].strip()
        if "extra ==" in req or re.match(r"(nvidia|cuda|triton)\b", req, re.I):
            continue
        reqs.append(req)
    return reqs


def _run(cmd: list, log, **kw) -> None:
    log.write(f"$ {' '.join(map(str, cmd))}\n")
    log.flush()
    proc = subprocess.run([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode:
        raise RuntimeError(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}")


def _pip(log, python: str | Path, *args) -> None:
    _run([python, "-m", "pip", "--disable-pip-version-check", *args], log)


def download(versions: list[str], log, wheels: Path = ROOT / "wheels") -> None:
    """torch for each version, with what it requires, into ``wheels`` (kept and reused: pip skips
    the files already there, so the NVIDIA libraries, the same for every Python, come once)."""
    wheels.mkdir(parents=True, exist_ok=True)
    missing = [v for v in versions if not _torch_wheel(wheels, v)]
    free = shutil.disk_usage(wheels).free / 2**30
    if missing and free < NEEDS_GB:
        raise RuntimeError(f"{free:.1f} GB free under {wheels.parent}: the environments of Python "
                           f"{', '.join(missing)} need about {NEEDS_GB} GB (torch's CUDA build)")
    for v in missing:
        _pip(log, sys.executable, "download", "--only-binary=:all:", "--python-version", v, "-d", wheels, torch_pin())


def cuda_libs(log, wheels: Path = ROOT / "wheels", target: Path = ROOT / "cuda-libs") -> Path:
    """The NVIDIA libraries torch's CUDA build loads, unpacked once for every Python."""
    files = sorted(wheels.glob("nvidia_*.whl"))
    stamp = target / ".stamp"
    names = "\n".join(f.name for f in files)
    if stamp.is_file() and stamp.read_text() == names:
        return target
    shutil.rmtree(target, ignore_errors=True)
    _pip(log, sys.executable, "install", "--no-deps", "--no-compile", "--no-index", "--target", target, *files)
    stamp.write_text(names)
    return target


def environment(version: str, python: str, log, wheels: Path = ROOT / "wheels") -> Path:
    """``.venvs/py<version>``: torch (its own wheel), lrlab's requirements and lrlab, editable;
    rebuilt only when the torch wheel, pyproject.toml or this file changed. Returns its python."""
    venv = ROOT / f"py{version}"
    exe = venv / "bin" / "python"
    wheel = _torch_wheel(wheels, version)
    if wheel is None:
        raise RuntimeError(f"no torch wheel for Python {version} in {wheels}")
    key = hashlib.sha256((wheel.name + (REPO / "pyproject.toml").read_text()
                          + Path(__file__).read_text()).encode()).hexdigest()  # and how it is built
    stamp = venv / ".lrlab-stamp"
    if exe.is_file() and stamp.is_file() and stamp.read_text() == key:
        return exe
    shutil.rmtree(venv, ignore_errors=True)
    _run([python, "-m", "venv", venv], log)
    _pip(log, exe, "install", "--no-deps", "--no-compile", wheel)
    site = Path(subprocess.run([exe, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "lrlab_cuda_libs.pth").write_text(str(cuda_libs(log, wheels)) + "\n")
    _pip(log, exe, "install", *torch_pure_requirements(wheel), *lrlab_requirements())
    _pip(log, exe, "install", "--no-deps", "-e", REPO)
    _run([exe, "-c", "import torch, lrlab; torch.ones(2) @ torch.ones(2)"], log)
    stamp.write_text(key)
    return exe


#: run under each Python beside nbval: the kernel that Python gets answers every request
KERNEL_CHECK = REPO / "tests" / "test_kernel_messages.py"


def nbval(version: str, exe: Path, log) -> None:
    """Every notebook through nbval under ``exe``, on a copy (the suite's own run may be using
    the originals), with the suite's options; and :data:`KERNEL_CHECK` (pip picks the kernel
    per Python: ipykernel 7.4 needs 3.11)."""
    work = ROOT / f"run{version}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(REPO / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (work / "pytest.ini").write_text(f"[pytest]\naddopts = {nbval_options()}\n")
    _run([exe, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "pytest.ini", "--rootdir", ".",
          "--noconftest", "notebooks", KERNEL_CHECK], log, cwd=work)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", help="comma-separated, e.g. 3.10,3.12 (default: every other one found)")
    args = parser.parse_args(argv)
    found = others()
    versions = args.versions.split(",") if args.versions else sorted(found)
    ROOT.mkdir(exist_ok=True)
    report: dict = {"versions": versions, "done": False, "results": {}}

    def save():
        tmp = REPORT.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(REPORT)

    save()
    with open(ROOT / "prepare.log", "w") as log:
        try:
            download([v for v in versions if v in found], log)
        except Exception as exc:  # noqa: BLE001 - reported per version below
            report["error"] = f"download: {exc}"
    for v in versions:
        t0 = time.monotonic()
        result = {"python": found.get(v), "passed": False}
        path = ROOT / f"nbval{v}.log"
        with open(path, "w") as log:
            try:
                if v not in found:
                    raise RuntimeError(f"no Python {v} here")
                if "error" in report:
                    raise RuntimeError(report["error"])
                nbval(v, environment(v, found[v], log), log)
                result["passed"] = True
            except Exception as exc:  # noqa: BLE001 - the report carries it
                result["error"] = str(exc)
        result["seconds"] = round(time.monotonic() - t0, 1)
        result["tail"] = path.read_text(errors="replace")[-3000:]
        report["results"][v] = result
        save()
    report["done"] = True
    save()
    return 0 if all(r["passed"] for r in report["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
