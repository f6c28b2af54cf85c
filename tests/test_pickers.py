"""Pickers: built from the registries, bounded, each turning its controls into TrainConfig fields."""
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
    assert p.config_changes() == {"max_epochs": 200, "target_accuracy": 0.9, "patience": 20, "select_best": "accuracy"}
    p.max_epochs.value = 0
    assert p.max_epochs.value == 1
    p.target.value = 2.0
    assert p.target.value == 1.0


def test_param_control_auto_and_zero():
    c = ParamControl("T_max", None, (1, 10**7, True, True), "epochs", epochs=100, derived=100)
    assert c.value is None and c.parts[0].disabled
    c.auto.value = False
    assert c.value == 100
    z = ParamControl("min_lr", 0.0, (0.0, 100.0, True, True), "lr")
    assert z.value == 0.0
    z.auto.value = False
    assert z.value > 0
