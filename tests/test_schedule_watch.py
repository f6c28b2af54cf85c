"""What a reactive schedule's cut reasons cite is what the explorer's metrics chart draws.

Each reactive schedule says which metrics it watches (``watched()``: ReduceOnPlateau its
``monitor``, cosine-with-plateau-cuts the training loss and/or accuracy); the cut reasons name
those keys and the chart under the rates draws exactly them, labelled by the same keys.
"""
import re

import pytest

from lrlab import schedules as S
from lrlab.plots import new_figure
from lrlab.plots.schedules import draw_schedules, watched_metrics
from lrlab.widgets import ScheduleExplorer

KEYS = ("train_loss", "test_loss", "train_acc", "test_acc")

CASES = [
    [("reduce_on_plateau", {})],  # monitor test_loss by default
    [("reduce_on_plateau", {"monitor": "test_acc", "patience": 3})],
    [("cosine_plateau_cuts", {"period": 10})],
    [("cosine_plateau_cuts", {"period": 5, "monitor": "accuracy"})],
    [("cosine", {}), ("reduce_on_plateau", {"patience": 2}), ("cosine_plateau_cuts", {"period": 8})],
]


def _plotted(fig) -> set[str]:
    """The labels of the data lines on the metrics axes (the second axes and its twin)."""
    return {line.get_label() for ax in fig.axes[1:] for line in ax.get_lines() if not line.get_label().startswith("_")}


@pytest.mark.parametrize("entries", CASES, ids=lambda e: "+".join(f"{n}{p}" for n, p in e))
def test_cut_reasons_cite_only_what_is_drawn(entries):
    fig = new_figure(8, 7)
    curves = draw_schedules(fig, entries, lr=0.1, epochs=100)
    reactive = [c for c in curves if c.reactive]
    assert any(c.cuts for c in reactive), "the synthetic curve should make some cut"
    cited = {k for c in reactive for cut in c.cuts for k in KEYS if k in cut["reason"]}
    drawn = _plotted(fig) & set(KEYS)
    assert cited and cited <= drawn
    assert drawn == set(watched_metrics(curves)) == {k for c in reactive for k in c.schedule.watched()}


def test_reduce_on_plateau_alone_draws_its_test_loss_not_the_train_loss():
    fig = new_figure(8, 7)
    draw_schedules(fig, [("reduce_on_plateau", {})], lr=0.1, epochs=100)
    assert _plotted(fig) & set(KEYS) == {"test_loss"}


def test_explorer_numbers_tab_names_what_each_reactive_schedule_watches():
    ex = ScheduleExplorer(["cosine", "reduce_on_plateau", "cosine_plateau_cuts"], lr=0.1, epochs=60)
    text = re.sub("<[^>]+>", "", ex.status.value)
    assert "watches test_loss" in text and "watches train_loss, train_acc" in text
    assert [ex.tabs.get_title(i) for i in range(3)] == ["Schedules", "Parameters", "Numbers"]
