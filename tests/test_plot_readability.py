"""What a learner reads off the plots: a constant learning rate on a sensible axis, every layer of
the effective-step histogram visible, a path stuck at a saddle not shown as a success."""
import numpy as np
import pytest

from lrlab.plots import new_figure
from lrlab.plots.surfaces import paths_figure
from lrlab.plots.training import LiveTrainingFigure, draw_lr, live_frame
from lrlab.surfaces import trajectories
from lrlab.train import TrainConfig, Trainer, train


def test_a_constant_learning_rate_is_drawn_from_zero():
    run = train(TrainConfig(n_samples=60, max_epochs=5, lr=0.01))
    ax = new_figure(4, 3).subplots()
    draw_lr(ax, run.history)
    lo, hi = ax.get_ylim()
    assert lo == 0 and hi == pytest.approx(0.0115)  # not a 0.0096-0.0104 axis
    assert ax.get_yscale() == "linear"


@pytest.mark.parametrize("optimizer, alike", [("sgd", True), ("adam", False)])
def test_layers_with_the_same_effective_steps_stay_visible(optimizer, alike):
    trainer = Trainer(TrainConfig(n_samples=60, max_epochs=10, optimizer=optimizer))
    for _ in range(3):
        trainer.epoch()
    fig = LiveTrainingFigure(trainer.dataset, 3, 10)
    frame = live_frame(trainer, fig.grid_points)
    fig.update(frame)
    hist = frame["step_hist"]
    assert bool(np.all(hist == hist[:1])) == alike  # SGD: every parameter's step is lr
    assert fig.step_note.get_text() == ("every layer alike" if alike else "")
    widths = [a.get_linewidth() for a in fig.step_artists]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 3  # nested outlines, widest below
    assert len({a.get_linestyle() for a in fig.step_artists}) == 3
    assert fig.png()[:4] == b"\x89PNG"


def test_a_path_stuck_at_the_saddle_says_how_far_it_is_from_the_minimum():
    runs = [{"optimizer": "sgd", "lr": 0.1, "start": (1.0, 0.0)}, {"optimizer": "sgd", "lr": 0.1, "start": (1.0, 0.5)}]
    paths = trajectories("saddle", runs, 200)
    fig = paths_figure("saddle", paths, ["y0 = 0", "y0 = 0.5"])
    texts = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert texts[0] == "y0 = 0: f − f* = 0.25"  # stuck at the saddle (f = 0), a quarter above the minima
    gap = float(texts[1].split("= ")[-1])
    assert 0 <= gap < 1e-6  # reached a minimum


def test_the_live_figures_legend_sits_above_the_charts_not_on_their_data():
    trainer = Trainer(TrainConfig(n_samples=60, max_epochs=10, hidden=(4, 4)), norms=True)
    for _ in range(3):
        trainer.epoch()
    fig = LiveTrainingFigure(trainer.dataset, 3, 10)
    fig.update(live_frame(trainer, fig.grid_points), title="epoch 3 of a title long enough to reach the middle")
    fig.png()
    renderer = fig.fig.canvas.get_renderer()
    for ax in (fig.ax_loss, fig.ax_acc, fig.ax_norm, fig.ax_step):
        assert ax.get_legend() is None  # no legend inside a chart
    key = fig.key.get_window_extent(renderer)
    assert [t.get_text() for t in fig.key.get_texts()] == ["train", "test", "layer 1", "layer 2", "layer 3"]
    for ax in fig.fig.axes:
        assert not key.overlaps(ax.get_window_extent(renderer)) and not key.overlaps(ax.title.get_window_extent(renderer))
    assert not key.overlaps(fig.title.get_window_extent(renderer))


def test_a_races_legend_sits_above_its_charts_and_its_figure_fits_a_notebook():
    from lrlab.plots.race import race_figure
    from lrlab.race import race
    base = TrainConfig(n_samples=80, max_epochs=4)
    runs = race([base.replace(optimizer=o, lr=lr) for o, lr in (("sgd", 0.1), ("adam", 0.01), ("rmsprop", 0.001))])
    fig = race_figure(runs)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert fig.get_size_inches()[0] * fig.dpi <= 1000  # shown 1:1 in a notebook cell: 10 pt text is ~14 px
    assert all(ax.get_legend() is None for ax in fig.axes)
    (key,) = fig.legends
    box = key.get_window_extent(renderer)
    assert [t.get_text() for t in key.get_texts()] == ["sgd lr=0.1", "adam lr=0.01", "rmsprop lr=0.001"]
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)


@pytest.mark.parametrize("chart", ["accuracy", "lr", "norms", "steps"])
def test_the_live_figure_fits_beside_the_controls_with_one_picked_chart_and_readable_text(chart):
    from lrlab.plots.training import CHARTS
    trainer = Trainer(TrainConfig(n_samples=60, max_epochs=10, hidden=(4, 4)), norms=True)
    for _ in range(3):
        trainer.epoch()
    fig = LiveTrainingFigure(trainer.dataset, 3, 10, chart=chart)
    fig.update(live_frame(trainer, fig.grid_points))
    png = fig.png()
    width, height = fig.fig.get_size_inches() * fig.fig.dpi
    assert width <= 690 and height <= 470  # beside a 450 px column of controls on a 1366 px screen, 1:1
    assert [name for name, ax in fig.lower.items() if ax.get_visible()] == [chart]
    assert set(CHARTS) == set(fig.lower)
    px = fig.fig.dpi / 72  # pixels per point at 1:1
    for ax in (fig.ax_data, fig.ax_loss, fig.lower[chart]):
        assert ax.title.get_fontsize() * px >= 14
        for text in [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
            assert text.get_fontsize() * px >= 12, text.get_text()
    assert all(t.get_fontsize() * px >= 12 for t in fig.key.get_texts())
    # another pick draws another picture, at the same size; a chart that does not exist is refused
    assert fig.set_options(chart="steps" if chart != "steps" else "lr")
    other = fig.png()
    assert other != png and len(other) > 1000
    with pytest.raises(ValueError, match="chart"):
        fig.set_options(chart="histogram")


def test_a_split_live_frame_leaves_the_points_to_an_overlay_that_completes_it():
    """Live frames without the (unchanging) data points, which a browser lays over them from one
    transparent picture: together they are the whole figure; final frames are whole."""
    import io

    from PIL import Image
    trainer = Trainer(TrainConfig(dataset="spiral", n_samples=200, max_epochs=50))
    for _ in range(20):
        trainer.epoch()
    fig = LiveTrainingFigure(trainer.dataset, 3, 50)
    fig.split_points = True
    frame = live_frame(trainer, fig.grid_points)
    fig.update({**frame, "final": True})
    whole = fig.png()
    fig.update(frame)
    live = fig.png()
    overlay = fig.points_overlay_png()
    assert len(live) < 0.9 * len(whole)  # fewer bytes on the wire, every frame
    picture = lambda png: Image.open(io.BytesIO(png)).convert("RGBA")  # noqa: E731
    over = picture(overlay)
    assert over.size == picture(whole).size and over.getextrema()[3][0] == 0  # transparent around the points
    together = np.asarray(Image.alpha_composite(picture(live), over).convert("RGB")).astype(int)
    apart = np.asarray(picture(live).convert("RGB")).astype(int)
    reference = np.asarray(picture(whole).convert("RGB")).astype(int)
    assert np.abs(together - reference).mean() < 1.0 < np.abs(apart - reference).mean()
    fig.set_options(show_test=False)
    assert fig.points_overlay_png() != overlay  # the overlay follows "show test data"
