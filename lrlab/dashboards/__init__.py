"""Dashboards that ``lrlab app`` serves with Voila: the notebooks in this folder (package data)
and the functions their one code cell calls.

A dashboard notebook is tiny on purpose: Voila runs a notebook to the end before it shows
anything. ``lrlab app`` runs it ahead of time in a preheated kernel and needs to know when that
kernel is done: it passes a folder in ``$LRLAB_APP_READY`` and the dashboard writes a file
there once the cell that shows the panel has run.
"""
from __future__ import annotations

import os
from pathlib import Path

#: folder where a dashboard's kernel writes ``<pid>.ready`` once its panel is shown (set by lrlab app)
READY_DIR = "LRLAB_APP_READY"
#: the folder ``lrlab app`` was started in: the dashboard's relative paths (the Save button's) resolve there
APP_DIR = "LRLAB_APP_DIR"

HERE = Path(__file__).resolve().parent
#: dashboard name -> its notebook
NOTEBOOKS = {"playground": HERE / "playground.ipynb"}


def playground():
    """The playground's training panel (:func:`lrlab.playground` with its defaults: its
    "guided experiments" dropdown at the top), for the playground dashboard."""
    folder = os.environ.get(APP_DIR)
    if folder and os.path.isdir(folder):
        os.chdir(folder)
    from ..widgets import playground as training_panel

    panel = training_panel()
    say_ready_after_this_cell()
    return panel


def say_ready_after_this_cell() -> bool:
    """Once the running cell has finished (its output shown), write ``$LRLAB_APP_READY/<pid>.ready``.
    False (nothing to do) outside IPython or when ``lrlab app`` did not ask."""
    folder = os.environ.get(READY_DIR)
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if not folder or shell is None:
        return False

    def ready(*_):
        shell.events.unregister("post_run_cell", ready)
        try:
            (Path(folder) / f"{os.getpid()}.ready").write_text("")
        except OSError:
            pass  # lrlab app has gone (its folder with it): nobody to tell

    shell.events.register("post_run_cell", ready)
    return True
