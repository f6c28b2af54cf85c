"""RacePanel and SweepPanel, headless: construct, set values, click, check state and image bytes."""
import threading

import pytest

from lrlab import optim, schedules
from lrlab.train import TrainConfig
from lrlab.widgets import RacePanel, SweepPanel
from waiting import lrlab_threads, wait_for  # tests/waiting.py

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


# ------------------------------------------------------------------------------ Pause and a prompt Stop
LONG = BASE.replace(max_epochs=100_000)
#: a Stop click must return within this while a race trains
STOP_CLICK_S = 0.1


def _wait(predicate, timeout=60.0):
    return wait_for(predicate, timeout, interval=0.01)


_lrlab_threads = lrlab_threads


def test_race_panel_pause_holds_the_epoch_and_resume_goes_on_from_it():
    import time
    panel = RacePanel(LONG, contenders=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1}])
    names = [b.description for b in panel.children[0].children[:3]]  # the row of buttons, above all
    assert names == ["Race", "Pause", "Stop"]
    panel.start(epochs=100_000)
    assert _wait(lambda: panel.race.epoch_index >= 5)
    t = time.perf_counter()
    panel.pause_button.click()
    took = time.perf_counter() - t
    print(f"RacePanel Pause click returned after {1000 * took:.1f} ms")
    assert took < 0.25
    assert not panel.is_running and panel.is_paused and panel.pause_button.description == "Resume"
    assert "paused" in panel.status.value  # said at once
    held = panel.race.epoch_index
    time.sleep(0.3)
    assert panel.race.epoch_index == held and not panel.race.done  # epochs no longer advance
    assert panel.wait(60) and not _lrlab_threads()
    assert "paused" in panel.status.value and f"epoch {held}" in panel.status.value  # the paused picture
    assert [r.stop_reason for r in panel.runs] == [None, None]
    assert panel.image.value[:4] == PNG
    panel.pause_button.click()  # Resume: from the same epoch
    assert panel.is_running and panel.pause_button.description == "Pause"
    assert _wait(lambda: panel.race.epoch_index >= held + 5)
    panel.stop()
    assert panel.wait(60)
    for run in panel.runs:  # one history, no epoch lost or trained twice across the pause
        assert run.history["epoch"].tolist() == list(range(panel.race.epoch_index))
        assert run.stop_reason == "stopped_by_user"
    assert "stopped by you" in panel.status.value
    panel.close()
    assert not _lrlab_threads()


@pytest.mark.parametrize("batch_size", [None, 8], ids=["full-batch", "mini-batch"])
def test_race_panel_stop_click_is_prompt_during_a_long_race(batch_size):
    """Stop is polled before every mini-batch: a click returns within 100 ms, even mid-epoch."""
    import time
    config = LONG.replace(n_samples=2000 if batch_size else 200, batch_size=batch_size)
    panel = RacePanel(config, contenders=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1},
                                          {"optimizer": "rmsprop", "lr": 0.001}])
    panel.start(epochs=100_000)
    assert _wait(lambda: panel.race.epoch_index >= 2)
    time.sleep(0.2)
    t = time.perf_counter()
    panel.stop_button.click()
    took = time.perf_counter() - t
    print(f"RacePanel Stop click ({'mini' if batch_size else 'full'} batch) returned after {1000 * took:.1f} ms")
    assert took < STOP_CLICK_S and panel.last_stop_call < STOP_CLICK_S
    assert not panel.is_running and panel.race.done
    assert [r.stop_reason for r in panel.runs] == ["stopped_by_user"] * 3
    assert "stopped by you" in panel.status.value  # said at once
    assert panel.wait(60) and not _lrlab_threads()
    assert "stopped by you" in panel.status.value and f"epoch {panel.race.epoch_index}" in panel.status.value
    assert panel.pause_button.description == "Pause" and not panel.is_paused
    panel.pause_button.click()  # nothing to pause or resume: nothing happens
    assert not panel.is_running
    panel.close()


def test_race_panel_pause_then_stop_ends_the_race():
    panel = RacePanel(LONG, contenders=[{"optimizer": "adam", "lr": 0.01}])
    panel.start(epochs=100_000)
    assert _wait(lambda: panel.race.epoch_index >= 3)
    panel.pause()
    held = panel.race.epoch_index
    panel.stop_button.click()
    assert panel.race.done and panel.race.epoch_index == held
    assert panel.runs[0].stop_reason == "stopped_by_user" and panel.pause_button.description == "Pause"
    assert panel.wait(60) and "stopped by you" in panel.status.value
    assert panel.resume() is False
    panel.close()


def test_race_panel_draws_its_live_frames_in_the_renderer_process():
    """The racing thread only reads numbers; the kernel's renderer process draws them (so a
    drawing never holds the lock a Stop click needs)."""
    panel = RacePanel(LONG, contenders=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1}])
    panel.start(epochs=100_000)
    try:
        assert _wait(lambda: panel.frames_remote >= 2, 90), panel.render_mode
        assert panel.render_mode == "process" and panel.image.value[:4] == PNG
    finally:
        panel.stop()
    assert panel.wait(60) and "stopped by you" in panel.status.value
    panel.close()
    assert not _lrlab_threads()


def test_race_picture_says_what_the_ranking_says():
    """A diverged contender's weights are restored to its best epoch: its small multiple shows
    that epoch's test accuracy, as the table does (not the last, diverged one's)."""
    from lrlab.plots.race import LiveRaceFigure, race_picture
    import pickle
    panel = RacePanel(BASE.replace(divergence_factor=2.0), contenders=[
        {"optimizer": "adam", "lr": 0.02}, {"optimizer": "sgd", "lr": 100.0}])
    runs = panel.run(epochs=6)
    picture = race_picture(runs)
    rows = {r["label"]: r for r in panel.ranking()}
    for run, c in zip(runs, picture.contenders):
        if run.best_epoch is None:
            assert run.stop_reason == "diverged" and c.accuracy != c.accuracy  # nan: "diverged"
        else:
            assert c.accuracy == rows[c.label]["test_acc"] and c.best_epoch == run.best_epoch
    assert runs[1].stop_reason == "diverged"
    assert picture.contenders[1].accuracy != picture.contenders[1].history["test_acc"][-1]
    figure = pickle.loads(pickle.dumps(LiveRaceFigure()))  # the renderer draws a copy
    figure.update({"picture": picture})
    titles = [ax.get_title() for ax in figure.axes["multiples"]]
    assert len(titles) == 2 and all(t.startswith(c.label) for t, c in zip(titles, picture.contenders))
    assert figure.png()[:4] == PNG
    with pytest.raises(ValueError):
        picture.contenders[0].history["test_acc"][0] = 1.0  # a picture is read-only
    panel.close()


# ------------------------------------------------------------------------------ what the panels say (issue 16)
def test_race_panel_status_counts_the_contenders_after_every_click():
    panel = RacePanel(BASE)
    assert panel.status.value == "Add contenders, then press Race."
    panel.add_button.click()
    assert panel.status.value == "1 contender ready."
    panel.lr.value = 0.1
    panel.add_button.click()
    panel.add_button.click()
    assert panel.status.value == "3 contenders ready."
    for left in (2, 1):
        panel.list.index = 0
        panel.remove_button.click()
        assert panel.status.value == f"{left} contender{'s' if left > 1 else ''} ready."
    panel.list.index = 0
    panel.remove_button.click()
    assert panel.contenders == [] and panel.status.value == "Add contenders, then press Race."
    panel.remove_button.click()  # nothing left to remove
    assert panel.status.value == "Add contenders, then press Race."
    assert RacePanel(BASE, contenders=[{"optimizer": "sgd", "lr": 0.1}]).status.value == "1 contender ready."


def test_race_panel_adds_the_lr_as_typed():
    """The lr box keeps what the learner typed: 5 stays 5 (a log slider's grid would make it 5.62)."""
    panel = RacePanel(BASE)
    panel.lr.value = 5
    panel.add_button.click()
    assert panel.contenders[-1].lr == 5 and panel.labels[-1] == "adam lr=5"
    panel.lr_slider.value = 10 ** 0.75  # the browser snaps the slider beside the box and echoes it
    assert panel.lr.value == 5
    panel.add_button.click()
    assert panel.contenders[-1].lr == 5
    panel.lr_slider.value = 10 ** -1.5  # dragging the slider writes its value in the box, as it reads
    assert panel.lr.value == 0.032
    panel.add_button.click()
    assert panel.contenders[-1].lr == 0.032 and panel.labels[-1] == "adam lr=0.032"
    for typed in (0.0123, 3e-4, 42.0):
        panel.lr.value = typed
        panel.add_button.click()
        assert panel.contenders[-1].lr == typed and panel.labels[-1] == f"adam lr={typed:g}"


def test_ranking_table_cells_are_padded_and_ruled():
    import re

    from lrlab.widgets.race_panel import ranking_html
    panel = RacePanel(BASE, contenders=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1}])
    panel.run(epochs=2)
    table = panel.table.value
    cells = re.findall(r"<t[hd]\b[^>]*>", table)
    assert len(cells) == 6 * 3  # a header row and two contenders
    for cell in cells:
        style = re.search(r"style='([^']*)'", cell).group(1)
        assert "padding:" in style and "border-bottom:" in style, cell
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers == ["#", "contender", "best test loss", "best test acc", "best epoch", "stopped"]
    row = {"index": 0, "rank": 1, "label": "sgd lr=0.1", "test_loss": -1e-9, "test_acc": -1e-12, "best_epoch": 0,
           "stop_reason": "max_epochs"}
    text = ranking_html([row])
    assert "0.0000" in text and "0.0 %" in text and "-0.0" not in text


@pytest.mark.parametrize("lo,hi,text", [(-4.0, 1.0, "0.0001 – 10"), (-6.0, 2.0, "1e-06 – 100"),
                                        (-3.5, -0.5, "0.000316 – 0.316"), (-2.0, 0.0, "0.01 – 1")])
def test_sweep_panel_range_reads_as_learning_rates(lo, hi, text):
    panel = SweepPanel(BASE, lrs=(1e-4, 10.0))
    assert panel.lr_range_readout.value == "0.0001 – 10" and panel.lr_range.readout is False
    panel.lr_range.value = (lo, hi)
    assert panel.lr_range_readout.value == text
    assert panel.lrs[0] == pytest.approx(10 ** lo) and panel.lrs[-1] == pytest.approx(10 ** hi)


# ------------------------------------------------------------------------------ a laptop screen (1366 x 768)
def _png_size(png: bytes) -> tuple[int, int]:
    import io

    from PIL import Image
    return Image.open(io.BytesIO(png)).size


def _readable(fig, axes, title_px=14, text_px=12):
    px = fig.dpi / 72  # pixels per point, shown 1:1
    for ax in axes:
        assert ax.title.get_fontsize() * px >= title_px, ax.get_title()
        assert ax.get_legend() is None  # no legend on the data
        for text in [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
            assert text.get_fontsize() * px >= text_px, text.get_text()
    for key in fig.legends:
        assert all(t.get_fontsize() * px >= text_px for t in key.get_texts())
        box = key.get_window_extent(fig.canvas.get_renderer())
        assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes if ax.get_visible())


def test_race_panel_fits_beside_its_controls_and_draws_its_figure_at_the_size_shown():
    from lrlab.plots.race import CHARTS, LIVE_SIZE_PX
    from lrlab.widgets.race_panel import COLUMN_PX
    panel = RacePanel(BASE, contenders=[{"optimizer": "sgd", "lr": 0.3}, {"optimizer": "adam", "lr": 0.01},
                                        {"optimizer": "adam", "lr": 0.03, "schedule": "cosine_warm_restarts"}])
    main = panel.children[2]
    assert main.children[0] is panel.tabs and panel.tabs.layout.width == f"{COLUMN_PX}px"
    assert [panel.tabs.get_title(i) for i in range(2)] == ["Contenders", "Ranking"]
    assert main.children[1].children == (panel.image, panel.chart)
    assert COLUMN_PX + LIVE_SIZE_PX[0] + 16 <= 930  # JupyterLab's notebook at 1366 px, file browser open
    assert panel.image.layout.width == "auto" and panel.image.layout.max_width == "100%"  # shown 1:1
    panel.run(epochs=3)
    assert panel.tabs.selected_index == 1 and "<table" in panel.table.value  # the ranking, on show
    assert _png_size(panel.image.value) == LIVE_SIZE_PX
    fig, axes = panel.figure.fig, panel.figure.axes
    assert fig.dpi * 10 / 72 >= 12  # 10 pt ticks are 12 px
    _readable(fig, [axes["loss"]])
    assert len(axes["multiples"]) == 3 and axes["accuracy"] is None and axes["lr"] is None
    assert all(ax.title.get_fontsize() * fig.dpi / 72 >= 12 for ax in axes["multiples"])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == panel.labels
    # the picker: another view under the loss, redrawn at once (the same size), and carried by a frame
    shown = {"boundaries": panel.image.value}
    for chart in ("accuracy", "lr"):
        panel.chart.value = chart
        assert panel.image.value not in shown.values() and _png_size(panel.image.value) == LIVE_SIZE_PX
        shown[chart] = panel.image.value
        assert panel.figure.chart == chart and panel.figure.axes[chart] is not None
        assert panel.figure.axes["multiples"] == []
        _readable(panel.figure.fig, [panel.figure.axes["loss"], panel.figure.axes[chart]])
        assert panel._frame(panel.runs, "finished", 3, 3)["options"] == {"chart": chart}
    assert set(shown) == set(CHARTS)
    panel.close()


def test_a_live_race_figure_draws_the_chart_its_frame_names_and_refuses_others():
    import pickle

    from lrlab.plots.race import LiveRaceFigure, race_picture
    from lrlab.race import race
    runs = race([BASE.replace(optimizer="sgd", lr=0.1), BASE.replace(optimizer="adam", lr=0.01)], epochs=2)
    figure = pickle.loads(pickle.dumps(LiveRaceFigure()))  # (as the renderer process holds it)
    figure.update({"picture": race_picture(runs), "options": {"chart": "lr"}})
    assert figure.chart == "lr" and figure.axes["lr"].get_visible() and figure.png()[:4] == PNG
    with pytest.raises(ValueError, match="chart"):
        figure.set_options(chart="histogram")


def test_the_ranking_fits_its_tab():
    from lrlab.widgets.race_panel import ranking_html
    row = {"index": 0, "rank": 1, "label": "adam lr=0.03 cosine_warm_restarts", "test_loss": 0.1, "test_acc": 0.9,
           "best_epoch": 3, "stop_reason": "stopped_by_user"}
    text = ranking_html([row])
    assert "stopped by user" in text and "overflow-wrap:anywhere" in text  # long names wrap, in the column
    assert "font-size:13px" in text  # >= 12 px


def test_sweep_panel_shows_one_picked_chart_at_the_size_shown():
    from lrlab.plots.race import SWEEP_SIZE_PX
    panel = SweepPanel(BASE, optimizers=("sgd", "adam"), lrs=(1e-3, 10.0), n_lrs=4)
    assert [panel.tabs.get_title(i) for i in range(2)] == ["Sweep", "Range test"]
    panel.epochs.value = 3
    panel.run()
    assert panel.chart.value == "sweep" and _png_size(panel.image.value) == SWEEP_SIZE_PX
    sweep_png = panel.image.value
    panel.range_test("adam", num_steps=30)
    assert panel.chart.value == "range_test" and panel.image.value != sweep_png
    assert _png_size(panel.image.value) == SWEEP_SIZE_PX
    panel.chart.value = "sweep"
    assert panel.image.value == sweep_png  # the same picture again
    from lrlab.plots.race import sweep_figure
    for chart in ("sweep", "range_test"):
        fig = sweep_figure(panel.result, panel.test, chart=chart, width=6, height=4.9, dpi=88)
        fig.canvas.draw()
        _readable(fig, fig.axes)
    panel.close()
