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


# ------------------------------------------------------------------ the snapshot the plots draw
ACT = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
       "leaky_relu": lambda: torch.nn.LeakyReLU(0.01)}


def _sequential(model):
    """A plain ``nn.Sequential`` with ``model``'s weights (copied), activation after each hidden layer."""
    layers = []
    for l, layer in enumerate(model.layers):
        lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=layer.weight.dtype)
        with torch.no_grad():
            lin.weight.copy_(layer.weight)
            lin.bias.copy_(layer.bias)
        layers.append(lin)
        if l < len(model.layers) - 1:
            layers.append(ACT[model.activation]())
    return torch.nn.Sequential(*layers)


def _grid_inputs(frame):
    """The snapshot's grid points as the network's input features, built here by hand."""
    x0, x1, y0, y1 = frame.extent
    xs = np.linspace(x0, x1, frame.resolution)
    if "x2" not in frame.features:
        return torch.tensor(xs.reshape(-1, 1))
    gx, gy = np.meshgrid(xs, np.linspace(y0, y1, frame.resolution))
    a, b = gx.ravel(), gy.ravel()
    columns = {"x1": a, "x2": b, "x1*x2": a * b}
    return torch.tensor(np.stack([columns[f] for f in frame.features], 1))


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "leaky_relu"])
def test_snapshot_hidden_outputs_equal_a_plain_torch_forward(dtype, tol, activation):
    from lrlab.train import Trainer
    trainer = Trainer(TrainConfig(dataset="spiral", classes=3, hidden=(5, 4), max_epochs=20, activation=activation,
                                  features=("x1", "x2", "x1*x2"), dtype=dtype))
    for _ in range(3):
        trainer.epoch()
    frame = trainer.network_frame(resolution=9)
    net = _sequential(trainer.model)
    X = _grid_inputs(frame).to(net[0].weight.dtype)
    with torch.no_grad():
        for l, out in enumerate(frame.hidden):
            a = net[: 2 * l + 2](X).T.reshape(-1, 9, 9).numpy()
            assert out.dtype == a.dtype and out.shape == a.shape
            np.testing.assert_allclose(out, a, rtol=tol, atol=tol)
        test = torch.stack([trainer.dataset.X_test[:, 0], trainer.dataset.X_test[:, 1],
                            trainer.dataset.X_test[:, 0] * trainer.dataset.X_test[:, 1]], 1)
        assert np.array_equal(frame.predictions, net(test).argmax(1).numpy())
    assert np.array_equal(frame.targets, trainer.dataset.y_test.numpy())
    for W, layer in zip(frame.weights, trainer.model.layers):
        assert np.array_equal(W, layer.weight.detach().numpy())
    # a finished run's snapshot goes through the same maths: the same numbers
    from lrlab.run import network_frame
    again = network_frame(trainer.run, resolution=9)
    for a, b in zip(frame.hidden + frame.weights + frame.biases, again.hidden + again.weights + again.biases):
        assert np.array_equal(a, b)


def test_snapshot_one_dimensional_inputs():
    from lrlab.run import network_frame
    r = train(TrainConfig(dataset="sine", hidden=(3, 2), max_epochs=3))
    frame = network_frame(r, resolution=11)
    assert [h.shape for h in frame.hidden] == [(3, 11), (2, 11)] and frame.extent[2:] == (0.0, 0.0)
    assert frame.predictions is None and frame.kind == "regression"
    with torch.no_grad():
        expected = _sequential(r.model)[:2](_grid_inputs(frame).float()).T.numpy()
    np.testing.assert_allclose(frame.hidden[0], expected, rtol=1e-6, atol=1e-6)


def test_snapshot_is_read_only_and_pickles(run):
    import dataclasses
    import pickle
    from lrlab.records import NetworkFrame
    from lrlab.run import network_frame
    frame = network_frame(run, resolution=6)
    back = pickle.loads(pickle.dumps(frame))
    for f in (frame, back):
        assert isinstance(f, NetworkFrame)
        for a in f.weights + f.biases + f.hidden + (f.predictions, f.targets):
            assert isinstance(a, np.ndarray) and not a.flags.writeable
            with pytest.raises(ValueError):
                a[(0,) * a.ndim] = 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            f.activation = "relu"
    for a, b in zip(frame.hidden + frame.weights, back.hidden + back.weights):
        assert np.array_equal(a, b)
    assert (back.sizes, back.features, back.class_names, back.extent) == (frame.sizes, frame.features,
                                                                          frame.class_names, frame.extent)
    # a copy, not a view: training on does not change a snapshot taken before
    with torch.no_grad():
        run.model.layers[0].weight.add_(1.0)
    try:
        assert not np.array_equal(network_frame(run, resolution=6).weights[0], frame.weights[0])
    finally:
        with torch.no_grad():
            run.model.layers[0].weight.sub_(1.0)


def test_engine_snapshots_each_model_its_own():
    from lrlab.engine import Engine
    base = TrainConfig(dataset="moons", n_samples=96, hidden=(4,), max_epochs=5)
    e = Engine([base.replace(lr=0.5), base.replace(lr=0.01, optimizer="adam")])
    e.run()
    runs = e.runs
    for k in range(2):
        frame = e.network_frame(k, resolution=5)
        with torch.no_grad():
            expected = _sequential(runs[k].model)[:2](_grid_inputs(frame).float()).T.reshape(-1, 5, 5).numpy()
        np.testing.assert_allclose(frame.hidden[0], expected, rtol=1e-6, atol=1e-6)
        assert np.array_equal(frame.predictions, runs[k].predict(runs[k].dataset.X_test).numpy())
    assert not np.allclose(e.network_frame(0).weights[0], e.network_frame(1).weights[0])


def test_drawing_a_snapshot_gives_the_pictures_of_the_run(run):
    """The heatmaps' image arrays are the hidden units' outputs (a plain torch forward here), and a
    snapshot draws the same pictures as the run it was taken of."""
    from lrlab.plots.network import draw_neuron_mosaic
    from lrlab.run import network_frame
    frame = network_frame(run, resolution=20)
    fig_run, fig_frame = new_figure(8, 3), new_figure(8, 3)
    from_run, from_frame = draw_neuron_heatmaps(fig_run, run, resolution=20), draw_neuron_heatmaps(fig_frame, frame)
    with torch.no_grad():
        net, X = _sequential(run.model), _grid_inputs(frame).float()
        expected = [net[:2](X).T.reshape(-1, 20, 20).numpy(), net[:4](X).T.reshape(-1, 20, 20).numpy()]
    assert len(from_run) == len(from_frame) == 9
    for n, (a, b) in enumerate(zip(from_run, from_frame)):
        l, j = (0, n) if n < 5 else (1, n - 5)
        assert np.array_equal(a.images[0].get_array(), b.images[0].get_array())
        assert a.images[0].get_extent() == b.images[0].get_extent() == list(frame.extent)
        np.testing.assert_allclose(b.images[0].get_array(), expected[l][j], rtol=1e-6, atol=1e-6)
        assert a.get_title() == b.get_title()
    assert fig_to_png(fig_run) == fig_to_png(fig_frame)
    f1, f2 = new_figure(6, 3), new_figure(6, 3)
    assert np.array_equal(draw_neuron_mosaic(f1.add_subplot(1, 1, 1), run, resolution=20),
                          draw_neuron_mosaic(f2.add_subplot(1, 1, 1), frame))
    f1, f2 = new_figure(6, 4), new_figure(6, 4)
    a1, a2 = f1.add_subplot(1, 1, 1), f2.add_subplot(1, 1, 1)
    draw_network(a1, run)
    draw_network(a2, frame)
    assert np.array_equal(a1.collections[0].get_linewidths(), a2.collections[0].get_linewidths())
    assert [t.get_text() for t in a1.texts] == [t.get_text() for t in a2.texts]
    f1, f2 = new_figure(4, 4), new_figure(4, 4)
    assert np.array_equal(draw_confusion_matrix(f1.add_subplot(1, 1, 1), run),
                          draw_confusion_matrix(f2.add_subplot(1, 1, 1), frame))


def test_a_snapshot_is_drawn_as_it_was_taken(run):
    from lrlab.run import network_frame
    frame = network_frame(run, resolution=6)
    fig = new_figure(4, 3)
    with pytest.raises(ValueError, match="resolution: a network frame is drawn as it was taken"):
        draw_neuron_heatmaps(fig, frame, resolution=7)
    with pytest.raises(ValueError, match="X: a network frame"):
        draw_confusion_matrix(fig.add_subplot(1, 1, 1), frame, X=run.dataset.X_train, y=run.dataset.y_train)
    C = draw_confusion_matrix(fig.add_subplot(1, 1, 1), run, X=run.dataset.X_train, y=run.dataset.y_train)
    assert C.sum() == len(run.dataset.y_train)
    assert np.trace(C) / C.sum() == pytest.approx(run.evaluate(run.dataset.X_train, run.dataset.y_train)["acc"])


def test_the_panels_network_view_draws_the_engines_snapshots_while_training(monkeypatch):
    """The live view draws what ``Trainer.network_frame`` hands out (never a Run rebuilt from the
    weights), and it changes while training goes on."""
    import time

    from lrlab import run as run_mod
    from lrlab.train import Trainer
    from lrlab.widgets import TrainingPanel
    taken = []
    original = Trainer.network_frame

    def spy(self, *args, **kwargs):
        frame = original(self, *args, **kwargs)
        taken.append(frame)
        return frame

    def no_run(*_, **__):
        raise AssertionError("the panel's network view converted a run or model itself")

    monkeypatch.setattr(Trainer, "network_frame", spy)
    monkeypatch.setattr(run_mod, "parts_of", no_run)
    panel = TrainingPanel(dataset="moons", n_samples=256, hidden=(6,), max_epochs=100_000)
    try:
        view = panel.network_view
        panel.shown_view.value = "network"  # opening it draws the current state
        assert view.frames == 1 and len(taken) == 1 and taken[0].resolution == view.resolution
        panel.start()
        deadline = time.time() + 60
        while view.frames < 4 and time.time() < deadline:
            time.sleep(0.05)
        panel.stop()
        assert panel.wait(60)
        assert view.frames >= 4 and len(taken) == view.frames
        assert not np.array_equal(taken[0].weights[0], taken[-1].weights[0])  # live weights, one copy each
        final = panel.trainer.network_frame(view.resolution)
        assert np.array_equal(taken[-1].weights[0], final.weights[0])  # the last one: the final (best) weights
    finally:
        panel.close()


@pytest.mark.parametrize("hidden", [(4,), (16, 16)])
def test_the_network_title_does_not_cover_the_layer_headers(hidden):
    run = train(TrainConfig(n_samples=80, hidden=hidden, max_epochs=2))
    fig = new_figure(6.5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    draw_network(ax, run)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = ax.title.get_window_extent(renderer)
    headers = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().split("\n")[0] in
               ("input", "output") or t.get_text().startswith("hidden")]
    assert len(headers) == len(hidden) + 2
    assert not any(h.overlaps(title) for h in headers)
    assert all(h.y1 <= fig.bbox.y1 for h in headers) and title.y1 <= fig.bbox.y1  # nothing cut off at the top
