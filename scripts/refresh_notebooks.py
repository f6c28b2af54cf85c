#!/usr/bin/env python
"""Re-execute every tutorial notebook top to bottom and save it with fresh outputs.

    python scripts/refresh_notebooks.py                 # every notebooks/*.ipynb
    python scripts/refresh_notebooks.py notebooks/05_playground.ipynb
    python scripts/refresh_notebooks.py --dry-run       # run and time them, save nothing

Run it after changing lrlab or a notebook, then commit the notebooks: CI runs
``pytest --nbval notebooks`` and fails on any saved output that no longer matches a fresh
run (that is how a stale notebook is caught). Each notebook runs in a fresh kernel of this
Python (the same kernel nbval uses, see conftest.py), with its own folder as the working
directory and ``PYTHONHASHSEED=0``; per-cell timing metadata is not recorded (clean diffs);
widget state is stored, so the saved panels render before the learner runs anything.
Prints each notebook's wall time; exits 1 if any notebook fails (the others are still run).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from lrlab.execute import execute

REPO = Path(__file__).resolve().parents[1]


def refresh(path: Path, timeout: int, save: bool = True) -> float:
    """Execute ``path`` in a fresh kernel (:func:`lrlab.execute.execute`); save it in place unless
    ``save`` is false. Returns seconds."""
    run = execute(path, timeout)
    if save:
        prune_widget_state(run.nb)
        nbformat.write(run.nb, path)
    return run.seconds


def prune_widget_state(nb) -> tuple[int, int]:
    """Keep only the widget models reachable from displayed widget views.

    nbclient stores every widget the kernel ever made (closed panels included), which can
    grow a notebook to megabytes; what the saved outputs show needs only the models that
    their ``widget-view+json`` outputs reference, directly or through ``IPY_MODEL_`` links.
    Returns (models before, models kept).
    """
    import json
    import re
    key = "application/vnd.jupyter.widget-state+json"
    state = nb.metadata.get("widgets", {}).get(key, {}).get("state", {})
    todo = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
            for cell in nb.cells for o in cell.get("outputs", [])
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    keep = set()
    while todo:
        model = todo.pop()
        if model in keep or model not in state:
            continue
        keep.add(model)
        todo.extend(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state[model])))
    before = len(state)
    for model in [m for m in state if m not in keep]:
        del state[model]
    return before, len(keep)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to refresh (default: every notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--dry-run", action="store_true", help="execute and time, but do not save")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    failed, total = [], 0.0
    for path in paths:
        try:
            seconds = refresh(path.resolve(), args.timeout, save=not args.dry_run)
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"{path.name:<40} FAILED\n" + str(exc).strip().splitlines()[-1], flush=True)
            continue
        total += seconds
        print(f"{path.name:<40} {seconds:6.1f} s{'' if args.dry_run else '  saved'}", flush=True)
    print(f"{'total':<40} {total:6.1f} s  ({len(paths) - len(failed)} ok, {len(failed)} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
