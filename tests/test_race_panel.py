"""RacePanel and SweepPanel, headless: construct, set values, click, check state and image bytes."""
import threading

import pytest

from lrlab import optim, schedules
from lrlab.train import TrainConfig
from lrlab.widgets import RacePanel, SweepPanel

PNG = b"\x89PNG"
BASE = TrainConfig(max_epochs=8, n_samples=200)


def test_race_panel_add_remove_and_run():
    panel = RacePanel(BASE)
    panel.optimizer.value, panel.lr.value, panel.schedule.value = "sgd", 0.3, "constant"
    panel.add_button.click()
    panel.add_contender("adam", 0.01, "cosine")
    panel.add_contender("sgd", 0.05)
    assert len(panel.contenders) == 3 and len(panel.list.options) == 3
    panel.list.index = 2
    panel.remove_button.click()
    assert [c.optimizer for c in panel.contenders] == ["sgd", "adam"]
    runs = panel.run(epochs=6)
    assert [r.stop_reason for r in runs] == ["max_epochs", "max_epochs"]
    assert panel.image.value[:4] == PNG and len(panel.image.value) > 10_000
    assert "lrlab-figure" in panel.image._dom_classes and "lrlab-status" in panel.status._dom_classes
    assert "<table" in panel.table.value and "adam lr=0.01 cosine" in panel.table.value
    rows = panel.ranking()
    assert [r["rank"] for r in rows] == [1, 2]


def test_race_panel_diverging_contender_is_ranked_last():
    panel = RacePanel(BASE.replace(divergence_factor=2.0), contenders=[
        {"optimizer": "adam", "lr": 0.02}, {"optimizer": "sgd", "lr": 100.0}])
    runs = panel.run(epochs=6)
    assert runs[1].stop_reason == "diverged"
    assert panel.ranking()[-1]["label"].startswith("sgd lr=100")


def test_race_panel_bad_input_shows_a_message():
    panel = RacePanel(BASE)
    panel.run_button.click()  # no contenders yet
    assert "contenders" in panel.status.value
    with pytest.raises(ValueError, match="lr"):
        panel.add_contender("adam", -1.0)


def test_race_panel_background_thread_and_stop():
    panel = RacePanel(BASE.replace(max_epochs=100000), contenders=[{"optimizer": "adam", "lr": 0.01}])
    thread = panel.start(epochs=100000)
    import time
    time.sleep(0.5)
    panel.stop()
    assert not thread.is_alive()
    assert panel.runs and panel.runs[0].stop_reason == "stopped_by_user"
    assert panel.wait(60)  # the final picture is drawn just after Stop returns
    assert panel.image.value[:4] == PNG and "stopped by you" in panel.status.value
    assert not [t for t in threading.enumerate() if t.name.startswith("lrlab-")]


@pytest.mark.parametrize("optimizer", list(optim.OPTIMIZERS))
def test_race_panel_offers_every_optimizer(optimizer):
    panel = RacePanel(BASE)
    assert optimizer in panel.optimizer.options
    assert set(schedules.SCHEDULES) == set(panel.schedule.options)
    panel.add_contender(optimizer, 0.01)
    panel.run(epochs=2)
    assert panel.runs[0].stop_reason == "max_epochs"


def test_sweep_panel_sweep_and_range_test():
    panel = SweepPanel(BASE, optimizers=("sgd", "adam"), lrs=(1e-3, 10.0), n_lrs=5)
    panel.epochs.value = 5
    panel.run_button.click()
    result = panel.result
    assert result.metrics["final_train_loss"].shape == (2, 5)
    assert panel.image.value[:4] == PNG
    first = panel.image.value
    panel.metric.value = "final_test_acc"
    assert panel.image.value != first
    panel.test_optimizer.value = "adam"
    panel.test_button.click()
    assert panel.test is not None and panel.test.suggested_lr is not None
    assert "suggested lr" in panel.status.value


def test_sweep_panel_needs_an_optimizer():
    panel = SweepPanel(BASE)
    panel.optimizers.value = ()
    panel.run_button.click()
    assert "optimizers" in panel.status.value


def test_the_figure_is_hidden_until_there_is_a_picture():
    from lrlab.widgets import RacePanel
    panel = RacePanel()
    assert panel.image.value == b"" and panel.image.layout.display == "none"
    panel.image.value = b"\x89PNG fake"
    assert panel.image.layout.display is None
