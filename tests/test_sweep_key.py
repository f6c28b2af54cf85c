"""The sweep's "diverged" shading has a key: an entry per optimizer that diverged (in its colour,
naming the first learning rate that diverged), in the legend beside the chart or in the figure's
key above it, never on the data; optimizers that never diverged get no such entry."""
import matplotlib.colors as mcolors
import numpy as np
import pytest

from lrlab.plots import new_figure, optimizer_color
from lrlab.plots.race import SWEEP_SIZE_PX, diverged_label, draw_sweep, sweep_figure
from lrlab.race import sweep
from lrlab.train import TrainConfig

CONFIG = TrainConfig(n_samples=80, max_epochs=5, divergence_factor=3.0)


@pytest.fixture(scope="module")
def result():
    return sweep(["sgd", "adam"], "1e-2:100:6", config=CONFIG)


def _first_diverged(result, name):
    row = result.metrics["diverged"][result.optimizers.index(name)].astype(bool)
    return float(result.lrs[np.argmax(row)]) if row.any() else None


def _entries(legend):
    return {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}


def test_every_diverged_optimizer_has_a_key_entry_in_its_colour(result):
    diverged = {n: _first_diverged(result, n) for n in result.optimizers}
    assert any(v is not None for v in diverged.values()), "the fixture must diverge somewhere"
    fig = new_figure(10, 5)
    ax = fig.add_subplot(1, 1, 1)
    draw_sweep(ax, result)
    entries = _entries(ax.get_legend())
    for name, first in diverged.items():
        labels = [t for t in entries if t.startswith(f"{name} diverged")]
        if first is None:
            assert labels == []
            continue
        assert labels == [diverged_label(name, first)]
        handle = entries[labels[0]]
        assert mcolors.same_color(handle.get_facecolor()[:3], mcolors.to_rgb(optimizer_color(name)))


def test_the_key_beside_the_chart_does_not_cover_the_data(result):
    fig = new_figure(10, 5)
    ax = fig.add_subplot(1, 1, 1)
    draw_sweep(ax, result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert not ax.get_legend().get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


def test_the_panels_figure_names_the_shading_in_its_key_above_the_chart(result):
    width, height = (px / 88 for px in SWEEP_SIZE_PX)
    fig = sweep_figure(result, chart="sweep", width=width, height=height, dpi=88)
    (ax,) = fig.axes
    assert ax.get_legend() is None
    (key,) = fig.legends
    texts = [t.get_text() for t in key.get_texts()]
    for name in result.optimizers:
        first = _first_diverged(result, name)
        assert (diverged_label(name, first) in texts) == (first is not None)
    box = key.get_window_extent(fig.canvas.get_renderer())
    assert not box.overlaps(ax.get_window_extent())


def test_the_label_reads_as_words_and_a_learning_rate():
    assert diverged_label("adam", 0.31622) == "adam diverged: lr ≥ 0.32"
    assert diverged_label("sgd", 10.0) == "sgd diverged: lr ≥ 10"
