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
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


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
    """Copy the tutorial notebooks into ``dest`` (created if needed), only those missing there.

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
        else:
            shutil.copyfile(nb, target)  # content only: a read-only install stays read-only, the copy is writable
            report.copied.append(nb.name)
    return report
