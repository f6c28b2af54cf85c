"""Is the Jupyter kernel installed here one that lrlab's panels can rely on?

lrlab's requirement on ipykernel (pyproject.toml) leaves out 7.0-7.3, which can strand a message
to the kernel for good: a Start click or a Run All that does nothing (tests/test_kernel_messages.py
shows it). pip honours that on install; an environment that changed ipykernel afterwards (a
conda install, ``pip install --no-deps``) may not. :func:`kernel_problem` reads the requirement
from lrlab's own installed metadata, so the rule is written once, in pyproject.toml.
"""
from __future__ import annotations

from importlib import metadata


def _requirement(package: str):
    """lrlab's requirement on ``package`` (a ``packaging`` Requirement, e.g.
    ``ipykernel!=7.0.*,...,>=6.29``), or None when lrlab is not installed or packaging is missing
    (it comes with JupyterLab)."""
    try:
        from packaging.requirements import Requirement
        requires = metadata.requires("lrlab") or []
    except (ImportError, metadata.PackageNotFoundError):  # e.g. a source tree never installed
        return None
    for line in requires:
        requirement = Requirement(line)
        if requirement.name == package and requirement.marker is None:  # not an extra's
            return requirement
    return None


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def kernel_problem() -> str | None:
    """None when the installed ipykernel meets lrlab's requirement (or that is unknown); else
    one line saying what is wrong and how to mend it."""
    wanted = _requirement("ipykernel")
    have = installed_version("ipykernel")
    if have is None:
        return "ipykernel is not installed, so notebooks have no kernel. Mend it with: pip install ipykernel"
    if wanted is None or wanted.specifier.contains(have, prereleases=True):
        return None
    return (f"ipykernel {have} is installed, which can lose a click for good (a Start or a Run All "
            f"that does nothing). Mend it with: pip install '{wanted}'")
