"""Repository-wide pytest settings, mostly for ``pytest --nbval notebooks``.

- Notebooks run in a kernel of *this* Python (nbval's ``--nbval-current-env``) unless a kernel
  is named with ``--nbval-kernel-name``: a ``python3`` kernelspec elsewhere on the machine
  (a user-level one, another venv) cannot silently run the tutorials against another lrlab.
- The kernels inherit a fixed ``PYTHONHASHSEED``: set orders in printed outputs are the same
  as when ``scripts/refresh_notebooks.py`` saved them (it sets the same value).
"""
from __future__ import annotations

import os

NOTEBOOK_ENV = {"PYTHONHASHSEED": "0"}


def pytest_configure(config):
    if getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False):
        for key, value in NOTEBOOK_ENV.items():
            os.environ.setdefault(key, value)
        if not getattr(config.option, "nbval_kernel_name", None):
            config.option.nbval_current_env = True
