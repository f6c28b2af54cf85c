"""TensorFlow Playground parity in the training panel, driven through its widgets headlessly.

Each test sets controls (``.value``), clicks buttons (``.click()``) and asserts on the panel's
config, its run, its history and its image bytes.
"""
import hashlib
import runpy
import time

import numpy as np
import pytest
import torch

from lrlab import export, share
from lrlab.presets import PRESETS, preset_config
from lrlab.train import TrainConfig, train
from lrlab.widgets import TrainingPanel
from waiting import lrlab_threads  # tests/waiting.py
from csv_cases import BAD_CSV_FILES  # tests/csv_cases.py

GOOD_CSV = ("x1,x2,label\n" + "\n".join(f"{(i * 37) % 23 / 23:.3f},{(i * 11) % 19 / 19:.3f},"
                                         f"{'yes' if ((i * 37) % 23 / 23) > ((i * 11) % 19 / 19) else 'no'}"
                                         for i in range(80))).encode()


_threads = lrlab_threads


def small(**changes):
    base = dict(dataset="moons", n_samples=128, hidden=(6,), max_epochs=15)
    base.update(changes)
    return TrainConfig(**base)


def losses(run):
    return run.history["train_loss"].tolist()


def weight_norm(trainer):
    Ws, _ = trainer.model.weights_and_biases()
    return float(sum((W.detach() ** 2).sum() for W in Ws).sqrt())


CONFIGS = {
    "defaults": TrainConfig(max_epochs=12),
    "everything set": TrainConfig(
        dataset="spiral", classes=3, n_samples=600, noise=0.2, test_fraction=0.25, data_seed=9, seed=7,
        features=("x1", "sin x2", "x1*x2"), hidden=(8, 8, 8, 8, 8, 8), activation="relu",
        optimizer="nesterov", lr=0.3, optimizer_params={"momentum": 0.8},
        schedule="cosine_plateau_cuts", schedule_params={"period": 5, "factor": 0.3, "min_lr": 0.05},
        regularization="l1", reg_rate=0.003, batch_size=50, max_epochs=20, target_accuracy=0.95, patience=40,
        select_best="accuracy"),
    "regression": TrainConfig(dataset="sine", features=("x1", "sin x1"), optimizer="adam",
                              optimizer_params={"betas": (0.8, 0.99), "eps": 1e-8}, schedule="multistep",
                              schedule_params={"milestones": (5, 10), "gamma": 0.5}, regularization="l2",
                              reg_rate=0.01, max_epochs=15, min_delta=1e-3, history_capacity=100),
    "plateau": TrainConfig(optimizer="rmsprop", schedule="reduce_on_plateau",
                           schedule_params={"min_lr": 0.0, "patience": 3}, max_epochs=12),
}
CONFIGS["decoded from a share string"] = share.decode(share.encode(CONFIGS["everything set"]))
CONFIGS["decoded regression"] = share.decode(share.encode(CONFIGS["regression"]))


@pytest.fixture(scope="module")
def panel():
    p = TrainingPanel(**small().to_dict())
    yield p
    p.close()
    assert not _threads()


# ------------------------------------------------------------------------------ set_config
@pytest.mark.parametrize("name", list(CONFIGS))
def test_set_config_round_trips_and_trains_the_same_run(panel, name):
    config = CONFIGS[name]
    panel.set_config(config)
    assert panel.config() == config
    assert panel.trainer.config == config and panel.trainer.epoch_index == 0  # its untrained network on show
    run = panel.run()
    assert losses(run) == losses(train(config))
    assert run.stop_reason == train(config).stop_reason


def test_set_config_refuses_an_invalid_config_and_changes_nothing(panel):
    panel.set_config(small())
    with pytest.raises(ValueError, match="lr"):
        panel.set_config(small(lr=-1.0))
    assert panel.config() == small()


# ------------------------------------------------------------------------------ parity controls
def test_input_features_change_the_input_size(panel):
    panel.set_config(small())
    boxes = panel.data_picker.feature_boxes
    assert [n for n, b in boxes.items() if b.value] == ["x1", "x2"] and panel.config().features is None
    for name in ("x1^2", "x2^2", "x1*x2"):
        boxes[name].value = True
    assert panel.config().features == ("x1", "x2", "x1^2", "x2^2", "x1*x2")
    assert panel.trainer.model.sizes[0] == 5  # untrained: the new network is on show at once
    run = panel.run()
    assert run.model.sizes[0] == 5 and len(run.history) == 15
    panel.data_picker.dataset.value = "sine"  # 1-D data: the x2 features cannot be ticked
    assert boxes["x2"].disabled and boxes["x1*x2"].disabled and not boxes["sin x1"].disabled
    assert panel.config().features == ("x1", "x1^2")


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularisation_shrinks_the_weights(panel, kind):
    panel.set_config(small(max_epochs=60, lr=0.05))
    panel.run()
    plain = weight_norm(panel.trainer)
    panel.optimizer_picker.regularization.value = kind
    panel.optimizer_picker.reg_rate.parts[0].value = 0.03
    assert panel.config().regularization == kind and panel.config().reg_rate == pytest.approx(0.03)
    panel.run()
    assert weight_norm(panel.trainer) < 0.8 * plain


def test_classes_change_the_output_size(panel):
    panel.set_config(small(dataset="spiral"))
    assert not panel.data_picker.classes.disabled
    panel.data_picker.classes.value = 4
    assert panel.trainer.model.sizes[-1] == 4
    run = panel.run()
    assert run.dataset.n_classes == 4 and set(run.dataset.y_train.tolist()) == {0, 1, 2, 3}
    panel.data_picker.dataset.value = "moons"  # two classes only
    assert panel.data_picker.classes.disabled and panel.config().classes == 2


def test_six_hidden_layers_of_eight_and_more(panel):
    picker = panel.network_picker
    panel.set_config(small())
    picker.layers.value = 6
    for w in picker.widths:
        w.value = 12
    assert panel.config().hidden == (12,) * 6
    picker.layers.value = 7  # bounded: 6 at most
    assert picker.layers.value == 6
    assert panel.trainer.model.sizes == (2, 12, 12, 12, 12, 12, 12, 2)


def test_regenerate_data_changes_the_data_not_the_rest(panel):
    panel.set_config(small())
    before, data_before = panel.config(), panel.trainer.dataset.X_train.clone()
    weights_before = panel.trainer.params.clone()
    panel.data_picker.regenerate_button.click()
    after = panel.config()
    assert after.data_seed == before.seed + 1
    assert after.replace(data_seed=None) == before
    assert not torch.equal(panel.trainer.dataset.X_train, data_before)  # shown at once (nothing trained)
    assert torch.equal(panel.trainer.params, weights_before)  # the same initial network
    panel.data_picker.regenerate_button.click()
    assert panel.config().data_seed == before.seed + 2
    assert losses(panel.run()) == losses(train(panel.config()))


def test_show_test_data_and_discretize_change_the_image(panel):
    panel.set_config(small(max_epochs=30))
    panel.run()
    shown = panel.image.value
    panel.show_test.value = False
    hidden = panel.image.value
    assert hidden != shown
    panel.discretize.value = True
    discrete = panel.image.value
    assert discrete != hidden
    panel.show_test.value, panel.discretize.value = True, False
    assert panel.image.value == shown  # the drawing options only change the drawing


def test_the_lower_chart_picker_changes_the_image_and_nothing_else(panel):
    panel.set_config(small(max_epochs=30))
    panel.run()
    shown, history = panel.image.value, panel.history["train_loss"].copy()
    pictures = {"accuracy": shown}
    for chart in ("lr", "norms", "steps"):
        panel.chart.value = chart
        pictures[chart] = panel.image.value
    assert len(set(pictures.values())) == 4  # each pick draws its own chart
    panel.chart.value = "accuracy"
    assert panel.image.value == shown
    assert np.array_equal(panel.history["train_loss"], history)  # the run is untouched


def test_live_frames_leave_the_points_to_the_overlay_and_a_finished_run_shows_a_whole_picture(panel):
    panel.set_config(small(max_epochs=20))
    panel.run()
    whole = panel.image.value
    assert panel.image.overlay == b""  # at rest: one whole picture (what a saved notebook keeps)
    panel._draw(panel._snapshot(False))  # a live frame, as the runner's drawer publishes it
    assert panel.image.overlay[:4] == b"\x89PNG" and panel.image.value != whole
    assert len(panel.image.value) < len(whole)
    panel.draw_now()
    assert panel.image.overlay == b"" and panel.image.value == whole
    # the overlay follows the frame's "show test data" and each new run's own figure
    first = panel._points_overlay(True)
    assert panel._points_overlay(False) != first and panel._points_overlay(True) == first
    panel.set_config(small(max_epochs=20, seed=7))
    assert panel._points_overlay(True) != first  # a new figure: its own points, whatever its id


def test_live_figure_options_travel_in_the_frame():
    from lrlab.plots.training import LiveTrainingFigure, live_frame
    from lrlab.train import Trainer
    trainer = Trainer(small())
    for _ in range(5):
        trainer.epoch()
    fig = LiveTrainingFigure(trainer.dataset, 2, 15)
    frame = live_frame(trainer, fig.grid_points)
    fig.update(frame)
    graded = fig.png()
    assert len(np.unique(fig.image.get_array())) > 2 and all(a.get_visible() for a in fig.test_artists)
    fig.update({**frame, "options": {"show_test": False, "discrete": True}})
    assert set(np.unique(fig.image.get_array())) <= {0.0, 1.0}  # the decided class, no shades
    assert not any(a.get_visible() for a in fig.test_artists) and "discretised" in fig.ax_data.get_title()
    assert fig.png() != graded
    fig.update({**frame, "options": {"show_test": True, "discrete": False}})
    assert fig.png() == graded


# ------------------------------------------------------------------------------ embedded extras
def test_preset_dropdown_sets_the_config(panel):
    name = "XOR needs features x1*x2"
    panel.presets.dropdown.value = name
    assert panel.config() == preset_config(name)
    assert panel.data_picker.feature_boxes["x1*x2"].value and panel.network_picker.layers.value == 0
    assert "Observe" in panel.presets.sentence.value
    panel.presets.contrast.value = True
    assert panel.config() == preset_config(name, contrast=True)
    panel.presets.contrast.value = False
    panel.presets.dropdown.value = panel.presets.NONE
    assert set(PRESETS) <= set(panel.presets.dropdown.options)


def test_pasted_share_string_reproduces_the_run(panel):
    source = TrainingPanel(**small(dataset="xor", hidden=(5, 3), optimizer="sgd", lr=0.3, seed=4,
                                   features=("x1", "x2", "x1*x2")).to_dict())
    source.data_picker.regenerate_button.click()
    source.optimizer_picker.regularization.value = "l2"
    text = source.share_box.code.value  # what the learner copies
    assert share.decode(text) == source.config()
    expected = source.run()
    source.close()
    panel.set_config(small())
    panel.share_box.paste.value = "  " + text[:40] + "\n" + text[40:]  # a chat program's line break
    panel.share_box.button.click()
    assert panel.config() == share.decode(text)
    assert losses(panel.run()) == losses(expected)
    assert panel.share_box.code.value == text


def test_bad_share_string_shows_its_message(panel):
    panel.set_config(small())
    panel.share_box.load("lrlab1:abc")
    assert "damaged" in panel.share_box.status.value and "Traceback" not in panel.share_box.status.value
    assert panel.config() == small()


def test_csv_upload_trains_on_that_data(panel, tmp_path):
    panel.set_config(small())
    panel.csv_upload.folder = str(tmp_path)
    assert panel.csv_upload.load_bytes("mine.csv", GOOD_CSV)
    config = panel.config()
    stored = tmp_path / (hashlib.sha256(GOOD_CSV).hexdigest()[:16] + ".csv")  # content-addressed, not by name
    assert config.csv_path == panel.csv_upload.path == str(stored) and config.n_samples == 80
    assert panel.data_picker.dataset.disabled and "your CSV" in panel.data_picker.csv_note.value
    run = panel.run()
    assert run.dataset.class_names == ("no", "yes")
    assert run.dataset.X_train.shape[0] + run.dataset.X_test.shape[0] == 80
    assert losses(run) == losses(train(config))
    # a share string carries no file: the box says so instead of showing another config's string
    assert panel.share_box.code.value == ""
    assert "csv_path: a share string cannot carry a file" in panel.share_box.status.value
    panel.data_picker.builtin_button.click()
    assert panel.config().csv_path is None and not panel.data_picker.dataset.disabled


@pytest.mark.parametrize("content,message", BAD_CSV_FILES)
def test_bad_csv_shows_its_message_and_keeps_the_config(panel, content, message):
    panel.set_config(small())
    assert panel.csv_upload.load_bytes("bad.csv", content) is False
    assert message in panel.csv_upload.status.value and "Traceback" not in panel.csv_upload.status.value
    assert panel.config() == small()


def test_export_from_the_panel_rebuilds_the_same_predictions(panel, tmp_path):
    panel.set_config(small(features=("x1", "x2", "x1*x2", "sin x1"), hidden=(7, 5)))
    run = panel.run()
    panel.export_buttons.folder.value = str(tmp_path)
    panel.export_buttons.button.click()
    paths = panel.export_buttons.paths
    X = torch.cat([run.dataset.X_train, run.dataset.X_test])
    ours = run.output(X)
    model, _ = export.model_from_json(open(paths["json"]).read())
    assert torch.allclose(model(run.inputs(X)).detach(), ours, atol=1e-6, rtol=0)
    snippet = runpy.run_path(paths["py"])
    assert torch.allclose(snippet["predict"](X).detach().to(ours.dtype), ours, atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------ network view
def test_network_view_is_drawn_only_while_open_and_at_the_end(panel):
    view = panel.network_view
    panel.set_config(small(max_epochs=100_000, n_samples=256))
    frames = view.frames
    panel.start()
    time.sleep(0.5)
    panel.pause()
    assert view.frames == frames  # closed: never drawn, not even on pause
    panel.shown_view.value = "network"  # opening it draws the current state
    assert view.frames == frames + 1
    graph = view.graph.value
    panel.resume()
    deadline = time.time() + 60
    while view.frames < frames + 3 and time.time() < deadline:
        time.sleep(0.05)
    assert view.frames >= frames + 3 and view.graph.value != graph  # live, while training
    live = view.heatmaps.value
    panel.stop()
    assert panel.wait(60)  # Stop returns at once; the final frame follows
    assert not _threads()
    assert view.heatmaps.value != live or view.graph.value != graph  # the restored best weights
    assert view.confusion.value[:4] == b"\x89PNG"
    panel.shown_view.value = "training"


def test_network_view_after_a_synchronous_run(panel):
    panel.shown_view.value = "network"
    panel.set_config(small(dataset="spiral", classes=3, hidden=(8, 8)))
    untrained = panel.network_view.heatmaps.value
    panel.run(epochs=40)
    assert panel.network_view.heatmaps.value != untrained
    panel.shown_view.value = "training"
    panel.set_config(small())
    frames = panel.network_view.frames
    panel.run()
    assert panel.network_view.frames == frames  # closed: not drawn
