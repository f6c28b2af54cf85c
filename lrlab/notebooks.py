"""Where the tutorial notebooks are, and how a learner gets a working copy of them.

The notebooks live in ``<repo>/notebooks/*.ipynb``. A wheel carries them as package data in
``lrlab/notebooks/*.ipynb`` (pyproject: ``[tool.setuptools.package-data] lrlab =
["notebooks/*.ipynb"]``); in the repository ``lrlab/notebooks`` is a symbolic link to
``../notebooks``, so ``pip install .`` (and an editable install) see the same files and no
build step copies anything. Lookup order, first folder holding at least one ``*.ipynb`` wins:

1. ``$LRLAB_NOTEBOOKS`` (a folder) when set;
2. ``<package>/notebooks`` (installed wheel, or the link in a checkout);
3. ``<package>/../notebooks`` (a checkout whose link was not materialised, e.g. Windows
   without symlink support).

:func:`copy_notebooks` copies only the notebooks missing from the destination, so the
originals are never written and a learner's edited copies are never overwritten.

Solutions. The notebooks are the teacher's copy: each exercise is followed by a code cell tagged
``solution`` that computes the answer and checks it (``lrlab.exercises.check("03-1", answer)``).
A learner's copy (:func:`student_version`; what :func:`copy_notebooks` writes, so what ``lrlab
lab`` opens) has in its place a cell asking for the answer, tagged ``answer``, which says "not
yet" and a hint until the learner fills it in. ``lrlab notebooks --student DIR --teacher DIR``
writes both versions (:func:`write_versions`).
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: the tag of a cell with an exercise's solution (the teacher's copy only)
SOLUTION_TAG = "solution"
#: the tag of the cell that asks the learner for the answer in its place
ANSWER_TAG = "answer"
_CHECK = re.compile(r'check\(\s*["\']([0-9]{2}-[0-9]+)["\']')


def candidate_dirs() -> list[Path]:
    """The folders searched for the tutorial notebooks, in order."""
    dirs = []
    if os.environ.get("LRLAB_NOTEBOOKS"):
        dirs.append(Path(os.environ["LRLAB_NOTEBOOKS"]).expanduser())
    dirs.append(PACKAGE_DIR / "notebooks")
    dirs.append(PACKAGE_DIR.parent / "notebooks")
    return dirs


def notebooks_dir() -> Path:
    """The folder that holds the tutorial notebooks (see the module docstring for the order).

    Raises ``FileNotFoundError`` naming the folders searched when none holds a notebook.
    """
    for d in candidate_dirs():
        if d.is_dir() and any(d.glob("*.ipynb")):
            return d.resolve()
    searched = ", ".join(str(d) for d in candidate_dirs())
    raise FileNotFoundError(f"no tutorial notebooks found (searched: {searched}); "
                            "reinstall lrlab or set LRLAB_NOTEBOOKS to a folder of .ipynb files")


def tutorial_notebooks() -> list[Path]:
    """Every tutorial notebook, sorted by name (``01_...`` first: the lesson order)."""
    return sorted(p for p in notebooks_dir().glob("*.ipynb") if p.is_file())


def find_notebook(name: str) -> Path:
    """A notebook given as a path, or a tutorial by name: ``05_playground.ipynb``,
    ``05_playground``, ``playground`` or ``05`` all find ``notebooks/05_playground.ipynb``.
    """
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    stem = path.name[:-6] if path.name.endswith(".ipynb") else path.name
    try:
        tutorials = tutorial_notebooks()
    except FileNotFoundError:
        tutorials = []
    for nb in tutorials:
        if stem in (nb.stem, nb.stem.split("_", 1)[0], nb.stem.split("_", 1)[-1]):
            return nb
    names = ", ".join(nb.name for nb in tutorials) or "none found"
    raise ValueError(f"notebook: a .ipynb path or a tutorial name ({names}), got {name!r}")


@dataclass
class CopyReport:
    """What :func:`copy_notebooks` did: files ``copied`` and files ``kept`` (already there)."""
    dest: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"copied {len(self.copied)} notebook(s) into {self.dest}"]
        if self.kept:
            parts.append(f"kept {len(self.kept)} already there unchanged ({', '.join(self.kept)}): "
                         "delete a file to get a fresh copy")
        return "; ".join(parts)


def copy_notebooks(dest: str | os.PathLike, source: str | os.PathLike | None = None) -> CopyReport:
    """Copy the tutorial notebooks into ``dest`` (created if needed), only those missing there,
    as learners' copies (:func:`student_version`: the solutions left out).

    Never overwrites: an existing ``dest/NAME.ipynb`` (a learner's edited copy) is kept as is.
    Refuses (``ValueError``) when ``dest`` is the folder of the originals.
    """
    src_dir = Path(source).resolve() if source is not None else notebooks_dir()
    dest = Path(dest).expanduser().resolve()
    if dest == src_dir:
        raise ValueError(f"dir: a folder other than the original notebooks' ({src_dir}), got {dest}")
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"dir: a folder (it is created when missing), got the file {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    report = CopyReport(dest)
    for nb in sorted(src_dir.glob("*.ipynb")):
        target = dest / nb.name
        if target.exists():
            report.kept.append(nb.name)
        else:  # a learner's copy (solutions left out); written anew: the copy is writable
            _write_json(target, student_version(json.loads(nb.read_text(encoding="utf-8"))))
            report.copied.append(nb.name)
    return report

def is_solution(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def answer_cell(solution: dict) -> dict:
    """The learner's cell in place of ``solution``: the same exercise key(s), ``...`` for the answer."""
    source = "".join(solution.get("source", ""))
    keys = list(dict.fromkeys(_CHECK.findall(source)))
    lines = ["# Your answer: put it in place of ... and run this cell."]
    lines += [f'lrlab.exercises.check("{k}", ...)' for k in keys] or ["# (write your answer here)"]
    return {"cell_type": "code", "execution_count": None, "id": solution.get("id", "answer"),
            "metadata": {"tags": [ANSWER_TAG]}, "outputs": [],
            "source": "import lrlab.exercises\n" + "\n".join(lines)}


def student_version(nb: dict) -> dict:
    """A learner's copy of notebook ``nb`` (a dict as in the .ipynb file): every solution cell
    replaced by :func:`answer_cell`; everything else as it is (the saved pictures included)."""
    out = copy.deepcopy(nb)
    out["cells"] = [answer_cell(c) if is_solution(c) else c for c in out.get("cells", [])]
    return out


def _write_json(path: Path, nb: dict) -> None:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_versions(student: str | os.PathLike | None, teacher: str | os.PathLike | None,
                   source: str | os.PathLike | None = None, force: bool = False) -> list[Path]:
    """Write every tutorial as a learner's copy into ``student`` and as the teacher's copy (with
    the solutions) into ``teacher`` (either may be None); the files written. Refuses
    (``ValueError``) a folder that is the originals' and, unless ``force``, existing files."""
    src_dir = Path(source).resolve() if source is not None else notebooks_dir()
    plan = []
    for name, folder in (("student", student), ("teacher", teacher)):
        if folder is None:
            continue
        dest = Path(folder).expanduser().resolve()
        if dest == src_dir:
            raise ValueError(f"{name}: a folder other than the original notebooks' ({src_dir}), got {dest}")
        if dest.exists() and not dest.is_dir():
            raise ValueError(f"{name}: a folder (it is created when missing), got the file {dest}")
        for nb in sorted(src_dir.glob("*.ipynb")):
            if (dest / nb.name).exists() and not force:
                raise ValueError(f"{name}: {dest / nb.name} exists; delete it or pass --force to overwrite")
            plan.append((name, dest, nb))
    if not plan:
        raise ValueError("student, teacher: give at least one folder to write")
    written = []
    for name, dest, nb in plan:
        dest.mkdir(parents=True, exist_ok=True)
        if name == "teacher":
            shutil.copyfile(nb, dest / nb.name)
        else:
            _write_json(dest / nb.name, student_version(json.loads(nb.read_text(encoding="utf-8"))))
        written.append(dest / nb.name)
    return written
