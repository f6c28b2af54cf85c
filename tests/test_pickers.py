"""Pickers: built from the registries, bounded, each turning its controls into TrainConfig fields."""
import math

import pytest
import traitlets

from lrlab import optim, schedules
from lrlab.train import TrainConfig
from lrlab.widgets.pickers import (DatasetPicker, NetworkPicker, OptimizerPicker, ParamControl, SchedulePicker,
                                   StopPicker)


def test_dataset_picker_changes_and_bounds():
    p = DatasetPicker(dataset="spiral", classes=3)
    assert p.config_changes()["classes"] == 3
    p.dataset.value = "moons"
    assert p.classes.disabled and p.config_changes()["classes"] == 2
    p.noise.value = 5.0  # sliders clamp: out-of-range values cannot be set
    assert p.noise.value == p.noise.max
    p.n_samples.value = 10**9
    assert p.n_samples.value == p.n_samples.max
    with pytest.raises(traitlets.TraitError):
        p.dataset.value = "mnist"
    p.config().validate()


def test_network_picker_hidden_layers():
    p = NetworkPicker(hidden=(8, 4), activation="relu")
    assert p.config_changes() == {"hidden": (8, 4), "activation": "relu", "loss": "cross_entropy"}
    p.layers.value = 3
    p.widths[2].value = 5
    assert p.config_changes()["hidden"] == (8, 4, 5)
    p.widths[0].value = 0
    assert p.widths[0].value == 1
    p.layers.value = 0
    assert p.config_changes()["hidden"] == ()


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_optimizer_picker_every_registered_optimizer(name):
    p = OptimizerPicker()
    p.optimizer.value = name
    changes = p.config_changes()
    assert changes["optimizer"] == name and "lr" not in changes["optimizer_params"]
    spec = optim.OPTIMIZERS[name]
    assert set(changes["optimizer_params"]) <= set(spec.defaults)
    TrainConfig(**changes).validate()
    assert spec.formula.split()[0] in p.info.value or name in p.info.value


def test_optimizer_picker_bounds_and_pairs():
    p = OptimizerPicker(optimizer="adam", optimizer_params={"betas": (0.8, 0.99)})
    betas = p.controls["betas"]
    assert len(betas.parts) == 2 and betas.value == pytest.approx((0.8, 0.99))
    betas.parts[1].value = 1.5  # beta < 1: the slider stops below 1
    assert betas.value[1] < 1
    p.lr.value = 1e9
    assert p.lr.value <= 100
    p.lr.value = -1
    assert p.lr.value > 0
    eps = p.controls["eps"].parts[0]
    assert type(eps).__name__ == "FloatLogSlider"
    TrainConfig(**p.config_changes()).validate()


@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_schedule_picker_every_registered_schedule(name):
    p = SchedulePicker(lr=0.05, max_epochs=120)
    p.schedule.value = name
    TrainConfig(lr=0.05, max_epochs=120, **p.config_changes()).validate()
    for ctrl in p.controls.values():  # untick every "auto": the derived values are valid too
        if ctrl.auto is not None:
            ctrl.auto.value = False
    TrainConfig(lr=0.05, max_epochs=120, **p.config_changes()).validate()
    assert p.preview.value[:4] == b"\x89PNG"
    values = p.preview_values()
    assert len(values) == 120 and all(v >= 0 for v in values)


def test_schedule_preview_follows_context():
    p = SchedulePicker(schedule="cosine")
    before = p.preview.value
    p.set_context(0.1, 50)
    assert p.preview.value != before
    assert p.preview_values()[0] == pytest.approx(0.1)


def test_stop_picker():
    p = StopPicker()
    assert p.config_changes()["target_accuracy"] is None
    p.use_target.value = True
    p.target.value = 0.9
    p.use_patience.value = True
    p.patience.value = 20
    p.select_best.value = "accuracy"
    p.select_split.value = "train"
    assert p.config_changes() == {"max_epochs": 200, "target_accuracy": 0.9, "patience": 20, "select_best": "accuracy",
                                  "select_split": "train"}
    p.max_epochs.value = 0
    assert p.max_epochs.value == 1
    p.target.value = 2.0
    assert p.target.value == 1.0


def test_param_control_auto_and_zero():
    from lrlab.params import Param
    c = ParamControl(Param("T_max", None, "epochs", 1, 10**7, derive=lambda lr, epochs, r: epochs), epochs=100,
                     derived=100)
    assert c.value is None and c.parts[0].disabled
    c.auto.value = False
    assert c.value == 100
    z = ParamControl(Param("min_lr", 0.0, "lr", 0.0, 100.0, window=(1e-6, 100.0)))
    assert z.value == 0.0
    z.auto.value = False
    assert z.value > 0


def test_every_picker_round_trips_a_config():
    from lrlab import share
    config = TrainConfig(dataset="blobs", classes=5, n_samples=300, noise=0.3, data_seed=3, seed=2,
                         features=("x2", "x1", "sin x1"), hidden=(8, 8, 8, 8, 8, 8), activation="leaky_relu",
                         optimizer="adam", lr=0.02, optimizer_params={"betas": (0.8, 0.99)},
                         schedule="cosine", schedule_params={"min_lr": 0.0, "T_max": 50},
                         regularization="l2", reg_rate=0.01, max_epochs=80, patience=10, select_best="accuracy")
    for c in (config, share.decode(share.encode(config)), TrainConfig()):
        for picker_class in (DatasetPicker, NetworkPicker, OptimizerPicker, SchedulePicker, StopPicker):
            picker = picker_class()
            calls = []
            picker.on_change(lambda: calls.append(1))
            picker.set_config(c)
            assert picker.config(c) == c, picker_class.__name__
            assert len(calls) == 1  # one callback for the whole config, not one per control


def test_dataset_picker_features_regenerate_and_csv():
    p = DatasetPicker(dataset="moons", seed=5)
    assert p.config_changes()["features"] is None and p.config_changes()["data_seed"] is None
    p.feature_boxes["x1*x2"].value = True
    assert p.config_changes()["features"] == ("x1", "x2", "x1*x2")
    p.regenerate_button.click()
    assert p.config_changes()["data_seed"] == 6
    p.dataset.value = "sine"
    assert p.feature_boxes["x2"].disabled and p.config_changes()["features"] is None  # x1: the raw input
    p.feature_boxes["sin x1"].value = True
    assert p.config_changes()["features"] == ("x1", "sin x1")
    p.set_csv("/tmp/x.csv", n_samples=1234, classes=3, dataset="moons", input_dims=2)
    ch = p.config_changes()
    assert ch["csv_path"] == "/tmp/x.csv" and ch["n_samples"] == 1234 and ch["classes"] == 3
    assert p.dataset.disabled and p.n_samples.disabled
    p.clear_csv()
    assert p.config_changes()["csv_path"] is None and not p.dataset.disabled


def test_optimizer_picker_regularisation():
    p = OptimizerPicker()
    assert p.config_changes()["regularization"] == "none" and p.config_changes()["reg_rate"] == 0.0
    assert p.config_changes()["optimizer_params"] == {}  # defaults are not spelled out
    p.regularization.value = "l1"
    assert p.config_changes()["reg_rate"] == pytest.approx(0.001)  # a rate that shows
    p.reg_rate.parts[0].value = 5.0  # bounded: at most 1
    assert p.config_changes()["reg_rate"] == 1.0
    TrainConfig(**p.config_changes()).validate()


@pytest.mark.parametrize("typed", [5.0, 0.003, 0.0123])
def test_a_typed_learning_rate_is_the_one_used_whatever_the_slider_shows(typed):
    p = OptimizerPicker(optimizer="sgd", lr=0.01)
    p.lr.value = typed
    assert p.config_changes()["lr"] == typed
    # the browser's log slider echoes the value snapped to its grid (10 ** 0.7 for 5): the box keeps it
    snapped = 10 ** (round(math.log10(typed) / 0.05) * 0.05)
    p.lr_slider.value = snapped
    assert p.config_changes()["lr"] == typed
    # a drag to elsewhere writes the slider's value, rounded to 3 digits, into the box
    p.lr_slider.value = 10 ** -1.5
    assert p.config_changes()["lr"] == 0.0316


def test_a_config_outside_the_sliders_window_widens_it_and_keeps_the_exact_lr():
    p = OptimizerPicker(optimizer="sgd", lr=0.01)
    p.set_config(TrainConfig(optimizer="sgd", lr=3e-7))
    assert p.lr.value == 3e-7 and p.config_changes()["lr"] == 3e-7
    assert p.lr_slider.min <= math.log10(3e-7)
    p.set_config(TrainConfig(optimizer="adam", lr=0.02))
    assert p.config_changes()["lr"] == 0.02 and p.lr.min == pytest.approx(1e-5)
