"""The training panel, headless: buttons, threads, status, image, save, divergence."""
import json
import os
import time

import pytest

from lrlab.widgets import TrainingPanel, playground
from waiting import lrlab_threads  # tests/waiting.py


_threads = lrlab_threads


@pytest.fixture
def panel():
    p = TrainingPanel(dataset="moons", n_samples=256, hidden=(8,), max_epochs=100_000)
    yield p
    p.stop()
    assert p.wait(60)  # the final frame is drawn just after Stop returns
    assert not _threads()


def test_buttons_are_named_for_the_browser_test(panel):
    names = [b.description for b in panel.children[1].children]
    assert names == ["Start", "Pause", "Stop", "Step", "Reset", "Save"]
    assert "lrlab-status" in panel.status._dom_classes and "lrlab-figure" in panel.image._dom_classes
    assert panel.image.value[:4] == b"\x89PNG"  # the untrained network is shown before Start


def test_start_draws_and_stop_is_prompt(panel):
    first = panel.image.value
    panel.start_button.click()
    deadline = time.time() + 60
    while (panel.frames_drawn < 3 or panel.trainer.epoch_index < 5) and time.time() < deadline:
        time.sleep(0.05)
    assert panel.is_running
    assert panel.image.value != first
    assert "epoch" in panel.status.value
    shown = panel.image.value
    t = time.perf_counter()
    panel.stop_button.click()
    assert time.perf_counter() - t < 10  # generous here: tests/test_panel_reliability.py times it
    assert panel.last_stop_latency < 2
    assert not panel.is_running
    run = panel.run_result
    assert run.stop_reason == "stopped_by_user"
    assert "stopped by you" in panel.status.value and "restored" in panel.status.value  # at once
    assert panel.wait(60) and not _threads()  # the final frame, drawn after the click returned
    assert panel.image.value != shown and panel.frame_epoch == panel.trainer.epoch_index
    assert len(run.history) == panel.trainer.epoch_index


def test_pause_resume_step(panel):
    panel.start()
    time.sleep(0.5)
    panel.pause_button.click()
    assert not panel.is_running and panel.pause_button.description == "Resume"
    assert "paused" in panel.status.value
    epochs = panel.trainer.epoch_index
    assert epochs >= 1 and not panel.trainer.done
    panel.step_button.click()
    assert panel.trainer.epoch_index == epochs + 1
    panel.pause_button.click()  # Resume
    assert panel.is_running and panel.pause_button.description == "Pause"
    time.sleep(0.3)
    panel.stop()
    assert panel.trainer.epoch_index > epochs + 1


def test_start_twice_reset_and_control_changes_during_a_run(panel):
    panel.start()
    trainer = panel.trainer
    assert panel.start() is False  # the second Start does not start a second loop
    assert panel.trainer is trainer
    panel.optimizer_picker.optimizer.value = "sgd"  # applies at the next Start
    time.sleep(0.2)
    assert panel.trainer.config.optimizer == "adam"
    assert "next Start" in panel.status.value or panel.is_running
    panel.reset_button.click()
    assert not panel.is_running and not _threads()  # Reset waits for everything
    assert panel.trainer.epoch_index == 0 and panel.trainer.config.optimizer == "sgd"
    panel.start()
    panel.start()
    panel.reset()
    assert not _threads()


def test_step_from_scratch():
    p = TrainingPanel(dataset="sine", hidden=(8,), max_epochs=50)
    image = p.image.value
    record = p.step()
    assert record["epoch"] == 0 and p.trainer.epoch_index == 1
    assert p.image.value != image
    assert "R²" in p.status.value


def test_synchronous_run_is_deterministic():
    a = TrainingPanel(dataset="xor", hidden=(8,), lr=0.03).run(epochs=30)
    b = TrainingPanel(dataset="xor", hidden=(8,), lr=0.03).run(epochs=30)
    assert a.history["train_loss"].tolist() == b.history["train_loss"].tolist()
    assert len(a.history) == 30 and a.stop_reason == "max_epochs"


def test_target_accuracy_message():
    p = TrainingPanel(dataset="moons", target_accuracy=0.9, max_epochs=500)
    run = p.run()
    assert run.stop_reason == "target_accuracy"
    assert "reached" in p.status.value and "test accuracy" in p.status.value


def test_divergent_configuration_ends_in_plain_words():
    p = TrainingPanel(dataset="moons", optimizer="sgd", lr=100.0, loss="mse", max_epochs=100)
    run = p.run()
    assert run.stop_reason == "diverged"
    assert "diverged at epoch" in p.status.value and "the learning rate is too high" in p.status.value


def test_invalid_combination_is_reported_not_raised():
    p = TrainingPanel(dataset="moons", n_samples=64, max_epochs=10)
    p.schedule_picker.schedule.value = "cosine"
    p.schedule_picker.controls["min_lr"].auto.value = False
    p.schedule_picker.controls["min_lr"].parts[0].value = 50.0  # min_lr > max_lr
    assert p.start() is False
    assert "cannot train" in p.status.value and not p.is_running


def test_save_writes_json_and_png(tmp_path):
    p = TrainingPanel(dataset="moons", hidden=(8,), save_dir=str(tmp_path / "runs"))
    p.run(epochs=10)
    p.save_button.click()
    files = sorted(os.listdir(tmp_path / "runs"))
    assert [f.rsplit(".", 1)[1] for f in files] == ["json", "png"]
    d = json.loads((tmp_path / "runs" / files[0]).read_text())
    assert len(d["history"]["rows"]) == 10
    assert (tmp_path / "runs" / files[1]).read_bytes()[:4] == b"\x89PNG"


def test_device_choices_and_playground():
    import torch
    p = playground(max_epochs=20)
    assert p.config().dataset == "spiral" and p.config().optimizer == "adam"
    if not torch.cuda.is_available():
        assert "cuda" not in p.device.options and "cuda is disabled" in p.device_note.value
    import lrlab
    assert lrlab.playground is playground


def test_no_two_controls_share_a_layout():
    """A Layout shared by several controls hides them all when one is hidden (e.g. unused width sliders)."""
    from collections import Counter

    import ipywidgets as widgets

    from lrlab import widgets as lw

    for make in (lw.TrainingPanel, lw.SurfaceExplorer, lw.ScheduleExplorer, lw.BackpropExplorer, lw.RacePanel,
                 lw.SweepPanel):
        panel = make()
        seen, todo = [], [panel]
        while todo:
            w = todo.pop()
            if isinstance(w, widgets.DOMWidget):
                seen.append(w.layout.model_id)
            todo.extend(c for c in getattr(w, "children", ()) if isinstance(c, widgets.Widget))
        shared = [m for m, n in Counter(seen).items() if n > 1]
        assert not shared, f"{type(panel).__name__}: {len(shared)} Layout(s) shared by several controls"
        panel.close()


def _batch_size_shown(p):
    """The batch-size dropdown shows one of its options, and the config trains what it shows."""
    d = p.batch_size
    assert d.value in [v for _, v in d.options] and d.index is not None
    assert d.label == d.options[d.index][0] and d.label  # the text the browser shows
    size = p.config().batch_size
    assert (d.label, size) == ("full batch", None) or (d.label == str(size) and size <= p.data_picker.n_train)


@pytest.mark.parametrize("n_samples,batch_size", [(32, None), (100, 16), (512, None), (512, 50), (4096, 1024)])
def test_batch_size_dropdown_starts_on_one_of_its_options(n_samples, batch_size):
    """A dropdown whose value is not among its options is blank in the browser (selectedIndex -1):
    full batch as the value None was (ipywidgets reads None as "nothing selected")."""
    p = TrainingPanel(dataset="moons", n_samples=n_samples, batch_size=batch_size, hidden=(4,), max_epochs=5)
    try:
        _batch_size_shown(p)
        assert p.batch_size.label == ("full batch" if batch_size is None else str(batch_size))
        assert p.batch_size.options[0][0] == "full batch"
    finally:
        p.close()


def test_batch_size_dropdown_follows_the_dataset_size():
    p = TrainingPanel(dataset="moons", n_samples=256, hidden=(4,), max_epochs=5)
    d = p.batch_size
    try:
        for index in (1, len(d.options) - 1, 0):  # the learner picks a size, the largest, full batch
            d.index = index
            _batch_size_shown(p)
        d.value = 128
        for n in (64, 4096, 48):  # the dataset shrinks under the chosen size, grows, shrinks
            p.data_picker.n_samples.value = n
            _batch_size_shown(p)
            d.index = len(d.options) - 1
            _batch_size_shown(p)
        assert p.config().batch_size == 32
        for size in (20, None, 8):  # a loaded config's batch size, full batch among them
            p.set_config(p.config().replace(batch_size=size))
            _batch_size_shown(p)
            assert p.config().batch_size == size
    finally:
        p.close()


def test_the_status_line_shows_the_learning_rate_as_set_not_its_float32_digits():
    p = TrainingPanel(dataset="moons", n_samples=100, hidden=(4,), lr=0.01, max_epochs=50)
    p.step_button.click() if hasattr(p, "step_button") else p.runner.step()
    p.draw_now()
    assert "lr 0.01 " in p.status.value and "0.009999" not in p.status.value
    p.close()


# ---------------------------------------------------------------------- speed (the Run tab)
def _epochs_per_s(p, seconds):
    n0, t0 = p.trainer.epoch_index, time.perf_counter()
    time.sleep(seconds)
    return (p.trainer.epoch_index - n0) / (time.perf_counter() - t0)


def test_the_speed_a_learner_picks_paces_a_live_run_and_live_off_runs_flat_out(panel):
    from lrlab.widgets.training_panel import DEFAULT_SPEED
    assert panel.speed == DEFAULT_SPEED and panel.runner.pace == DEFAULT_SPEED
    labels = [label for label, _ in panel.speed_box.options]
    assert labels[-1] == "as fast as it can" and f"{DEFAULT_SPEED:g} epochs/s" in labels
    assert panel.speed_box in panel.tabs.children[4].children  # the Run tab
    panel.speed_box.label = "30 epochs/s"  # what a learner's pick does
    assert panel.speed == 30 and panel.runner.pace == 30
    panel.start_button.click()
    time.sleep(0.5)
    paced = _epochs_per_s(panel, 1.5)
    assert 20 <= paced <= 33, paced
    panel.live.value = False  # nobody watches: no reason to hold training back
    assert panel.runner.pace is None
    time.sleep(0.2)
    flat = _epochs_per_s(panel, 0.5)
    assert flat > 5 * paced, (flat, paced)
    panel.live.value = True
    panel.speed_box.label = "as fast as it can"
    assert panel.speed is None and panel.runner.pace is None


def test_any_speed_given_is_shown_by_the_dropdown_and_nonsense_is_refused():
    p = TrainingPanel(speed=250, max_epochs=10)
    try:
        assert p.speed == 250 and p.speed_box.label == "250 epochs/s"
        values = [v for _, v in p.speed_box.options]
        assert values[:-1] == sorted(values[:-1])  # in order, "as fast as it can" last
        p.speed = None
        assert p.speed_box.label == "as fast as it can" and p.runner.pace is None
        for bad in (0, -5, float("nan"), "fast", True, 1e9):
            with pytest.raises(ValueError, match="^speed: "):
                p.speed = bad
            with pytest.raises(ValueError, match="^speed: "):
                TrainingPanel(speed=bad)
        assert p.speed is None
    finally:
        p.close()


def _png_width(data: bytes) -> int:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big")


def test_network_takes_the_figures_place_and_fits_its_width():
    from lrlab.widgets.training_panel import FIGURE_WIDTH_PX
    p = TrainingPanel(dataset="spiral", hidden=(32, 32, 32, 32, 32, 32), max_epochs=10)
    try:
        assert p.network_view.layout.display == "none" and p.figure_box.layout.display != "none"
        frames = p.network_view.frames
        p.shown_view.value = "network"  # what a learner's click does
        assert p.figure_box.layout.display == "none" and p.network_view.layout.display != "none"
        assert p.network_view.frames == frames + 1  # drawn on being shown
        view = p.network_view
        for img in (view.graph, view.heatmaps, view.confusion):
            assert _png_width(img.value) <= FIGURE_WIDTH_PX
        p.shown_view.value = "training"
        assert p.network_view.layout.display == "none" and p.figure_box.layout.display != "none"
    finally:
        p.close()
