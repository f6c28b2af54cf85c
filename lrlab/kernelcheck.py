"""Is the Jupyter kernel installed here one that lrlab's panels can rely on?

lrlab's requirement on ipykernel (pyproject.toml) leaves out 7.0-7.3, which can strand a message
to the kernel for good: a Start click or a Run All that does nothing (tests/test_kernel_messages.py
shows it). pip honours that on install; an environment that changed ipykernel afterwards (a
conda install, ``pip install --no-deps``) may not. :func:`kernel_problem` reads the requirement
from lrlab's own installed metadata, so the rule is written once, in pyproject.toml.
"""
from __future__ import annotations

from importlib import metadata


def _requirement(package: str) -> str | None:
    """lrlab's requirement on ``package`` ("ipykernel>=6.29,!=7.0.*,..."), or None."""
    try:
        requires = metadata.requires("lrlab") or []
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return None
    for line in requires:
        if ";" not in line and line.replace(" ", "").startswith(package):
            rest = line.replace(" ", "")[len(package):]
            if not rest or rest[0] in "<>=!~":
                return line
    return None


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def kernel_problem() -> str | None:
    """None when the installed ipykernel meets lrlab's requirement (or either is unknown);
    else one line saying what is wrong and how to mend it."""
    wanted = _requirement("ipykernel")
    have = installed_version("ipykernel")
    if have is None:
        return "ipykernel is not installed, so notebooks have no kernel. Mend it with: pip install ipykernel"
    if wanted is None:
        return None
    try:
        from packaging.requirements import Requirement
    except ImportError:  # packaging comes with JupyterLab; without it, no check
        return None
    spec = Requirement(wanted).specifier
    if spec.contains(have, prereleases=True):
        return None
    return (f"ipykernel {have} is installed, which can lose a click for good (a Start or a Run All "
            f"that does nothing). Mend it with: pip install '{wanted}'")
