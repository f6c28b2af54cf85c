"""Every tutorial, Run All in a fresh kernel pinned to one core (lrlab.execute): it finishes in
under a minute, and once its first live panel is on show the kernel is busy for at most 5 s more,
so a learner's first Start click is answered at once (it waited 51 s in 05 before)."""
from pathlib import Path

import pytest

from lrlab.execute import MAX_BUSY_AFTER_PANEL_S, MAX_NOTEBOOK_S, execute

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_is_quick_and_leaves_the_first_panel_free(path):
    run = execute(path, timeout=300, one_core=True)
    panel = ("no live panel" if run.first_panel_s is None else
             f"first panel (cell {run.first_panel_cell}) at {run.first_panel_s:.1f} s, "
             f"then busy {run.busy_after_panel_s:.1f} s")
    print(f"{path.name}: {run.seconds:.1f} s on one core; {panel}")
    assert run.seconds < MAX_NOTEBOOK_S, f"{path.name} takes {run.seconds:.0f} s on one core"
    assert run.busy_after_panel_s <= MAX_BUSY_AFTER_PANEL_S, \
        f"{path.name}: the kernel stays busy {run.busy_after_panel_s:.1f} s after the first panel appears"
