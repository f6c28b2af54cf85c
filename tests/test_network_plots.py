"""Network graph, per-neuron heatmaps and the confusion matrix."""
import numpy as np
import pytest
import torch

from lrlab.nets import MLP
from lrlab.plots import fig_to_png, new_figure
from lrlab.plots.network import (NEGATIVE, POSITIVE, confusion_matrix, draw_confusion_matrix, draw_network,
                                 draw_neuron_heatmaps, neuron_outputs)
from lrlab.train import TrainConfig, train


@pytest.fixture(scope="module")
def run():
    return train(TrainConfig(dataset="spiral", classes=3, hidden=(5, 4), max_epochs=20,
                             features=("x1", "x2", "x1*x2")))


def test_confusion_matrix_counts_true_by_predicted():
    C = confusion_matrix([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0], 3)
    assert C.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert C.sum() == 6 and np.trace(C) == 4


def test_confusion_matrix_validates():
    with pytest.raises(ValueError, match="pred: must have one prediction per label"):
        confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match=r"y: class indices must be in \[0, 1\]"):
        confusion_matrix([0, 1], [0, 2], 2)


def test_draw_confusion_matrix_matches_accuracy(run):
    fig = new_figure(4, 4)
    C = draw_confusion_matrix(fig.add_subplot(1, 1, 1), run)
    acc = run.evaluate(run.dataset.X_test, run.dataset.y_test)["acc"]
    assert C.shape == (3, 3) and C.sum() == len(run.dataset.y_test)
    assert np.trace(C) / C.sum() == pytest.approx(acc)
    assert fig_to_png(fig)[:4] == b"\x89PNG"


def test_draw_network_edges_width_and_sign_colour(run):
    fig = new_figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    draw_network(ax, run)
    lines = ax.collections[0]
    n_weights = sum(W.numel() for W in run.model.weights_and_biases()[0])
    assert len(lines.get_segments()) == n_weights
    widths = np.asarray(lines.get_linewidths())
    W = torch.cat([w.detach().abs().flatten() for w in run.model.weights_and_biases()[0]])
    assert widths.max() == pytest.approx(0.2 + 4.0) and widths.min() >= 0.2
    colours = {tuple(np.round(c[:3], 3)) for c in lines.get_colors()}
    from matplotlib.colors import to_rgb
    assert colours <= {tuple(np.round(to_rgb(POSITIVE), 3)), tuple(np.round(to_rgb(NEGATIVE), 3))}
    assert len(colours) == 2
    assert "x1*x2" in [t.get_text() for t in ax.texts]
    assert len(fig_to_png(fig)) > 5000


def test_draw_network_caps_wide_layers():
    fig = new_figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    draw_network(ax, MLP(2, (100,), 2), max_units=10)
    assert len(ax.collections[0].get_segments()) == 2 * 10 + 10 * 2
    assert "+90" in [t.get_text() for t in ax.texts]


def test_neuron_outputs_are_the_hidden_activations(run):
    outs = neuron_outputs(run, resolution=7, extent=(-1, 1, -1, 1))
    assert [o.shape for o in outs] == [(5, 7, 7), (4, 7, 7)]
    # grid cell (row r, col c) is the point (x1 = xs[c], x2 = ys[r])
    xs = np.linspace(-1, 1, 7)
    point = torch.tensor([[xs[2], xs[5]]], dtype=torch.float32)
    feats = torch.stack([point[:, 0], point[:, 1], point[:, 0] * point[:, 1]], 1)
    a1 = torch.tanh(run.model.layers[0](feats)).detach().numpy()[0]
    assert np.allclose(outs[0][:, 5, 2], a1, atol=1e-6)


def test_neuron_heatmaps_one_image_per_unit(run):
    fig = new_figure(8, 3)
    axes = draw_neuron_heatmaps(fig, run, resolution=20)
    assert len(axes) == 5 + 4
    assert sum(len(ax.images) for ax in axes) == 9
    assert len(fig_to_png(fig)) > 5000


def test_neuron_heatmaps_regression_and_dead_labels():
    r = train(TrainConfig(dataset="sine", hidden=(3,), activation="relu", max_epochs=2))
    with torch.no_grad():
        r.model.layers[0].bias[0] = -100.0
    fig = new_figure(6, 2)
    axes = draw_neuron_heatmaps(fig, r)
    assert len(axes) == 3 and all(len(ax.lines) == 2 for ax in axes)  # curve + zero line
    assert axes[0].get_title().endswith("dead")
    fig = new_figure(3, 2)
    assert draw_neuron_heatmaps(fig, MLP(2, (), 2))[0].texts[0].get_text() == "no hidden layer"


def test_neuron_mosaic_one_image_with_every_unit(run):
    from lrlab.plots.network import draw_neuron_mosaic
    fig = new_figure(6, 3)
    ax = fig.add_subplot(1, 1, 1)
    img = draw_neuron_mosaic(ax, run, resolution=10)
    assert len(ax.images) == 1
    assert img.shape == (2 * 10 + 3, 5 * 10 + 4 * 3, 4)  # 2 layers, widest layer 5 units, 3-px gaps
    assert img[:10, 4 * 13: 4 * 13 + 10, 3].min() == 1.0  # unit L1.5 drawn
    assert img[13:, 4 * 13:, 3].max() == 0.0  # layer 2 has 4 units: the 5th slot is empty
    assert len(fig_to_png(fig)) > 3000
