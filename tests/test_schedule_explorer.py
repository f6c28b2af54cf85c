"""ScheduleExplorer, headless: construct, move controls, read state and image bytes; CLI; preview."""
from __future__ import annotations

import random

import ipywidgets as W
import pytest

from lrlab import schedules as S
from lrlab.plots import new_figure
from lrlab.plots.schedules import draw_schedule_preview, schedule_curve
from lrlab.widgets import ScheduleExplorer

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def explorer():
    return ScheduleExplorer(["cosine", "cosine_plateau_cuts"], lr=0.1, epochs=60, width=8)


def test_constructs_and_draws(explorer):
    assert bytes(explorer.image.value).startswith(PNG)
    assert "lrlab-figure" in explorer.image._dom_classes and "lrlab-status" in explorer.status._dom_classes
    names = [c.name for c in explorer.curves]
    assert names == ["cosine", "cosine_plateau_cuts"]
    cos = explorer.curves[0]
    assert list(cos.rates) == [S.cosine(0.1, 0.001, 60)(e) for e in range(60)]
    assert "cosine" in explorer.status.value and "cut" in explorer.status.value


def test_every_control_is_bounded_inside_the_registry_ranges(explorer):
    for name, controls in explorer.controls.items():
        spec = S.SCHEDULES[name]
        assert set(controls) == set(spec.defaults)
        for param, control in controls.items():
            declared = spec.param(param)
            assert control.param is declared  # built from the declaration
            if isinstance(control.parts[0], W.Dropdown):
                assert set(control.parts[0].options) <= set(spec.choices[param])
                continue
            lo, hi = control.bounds()
            check = (lambda v: (v,)) if declared.kind == "milestones" else (lambda v: v)
            assert declared.accepts(check(lo)) and declared.accepts(check(hi)), (name, param, lo, hi)


def test_sliders_cannot_produce_invalid_schedules():
    """Drive every control to its extremes and to random values: the schedule always builds."""
    ex = ScheduleExplorer(["constant"], lr=0.1, epochs=40, width=6)
    ex.update = lambda: ex.curves  # this test is about the controls, not the drawing
    rng = random.Random(0)
    for name, controls in ex.controls.items():
        for trial in range(12):
            for param, ctrl in controls.items():
                if ctrl.auto is not None:  # a "zero" box: 0 or the slider
                    ctrl.auto.value = rng.random() < 0.3
                for control in ctrl.parts:
                    if isinstance(control, W.Dropdown):
                        control.value = rng.choice(control.options)
                    elif isinstance(control, W.IntRangeSlider):
                        a, b = sorted(rng.randint(control.min, control.max) for _ in range(2))
                        control.value = (a, b)
                    else:
                        choice = trial % 3
                        if isinstance(control, W.FloatLogSlider):
                            x = [control.min, control.max, rng.uniform(control.min, control.max)][choice]
                            control.value = control.base ** x
                        else:
                            control.value = [control.min, control.max, rng.uniform(control.min, control.max)][
                                choice] if isinstance(control, W.FloatSlider) else \
                                [control.min, control.max, rng.randint(control.min, control.max)][choice]
            params = ex.params(name)
            for lr, epochs in ((ex.lr_slider.value, ex.epochs_slider.value),):
                S.make_schedule(name, lr, epochs, **params)  # must not raise
        # moving lr/epochs keeps them valid too
        for lr_exp, epochs in ((0, 5), (-4, 500), (-1, 7)):
            ex.lr_slider.value = 10 ** lr_exp
            ex.epochs_slider.value = epochs
            S.make_schedule(name, ex.lr_slider.value, ex.epochs_slider.value, **ex.params(name))


def test_min_lr_follows_max_lr_and_warmup_follows_T_max():
    ex = ScheduleExplorer(["cosine", "warmup_cosine"], lr=0.1, epochs=50, width=6)
    ex.set_params("cosine", max_lr=0.01, min_lr=0.5)  # min_lr above max_lr: the slider clips it
    p = ex.params("cosine")
    assert p["min_lr"] <= p["max_lr"] == pytest.approx(0.01)
    ex.set_params("warmup_cosine", T_max=10, warmup=40)
    p = ex.params("warmup_cosine")
    assert p["T_max"] == 10 and p["warmup"] == 9
    assert ex.curves[1].rates[9] == pytest.approx(p["max_lr"])
    # lowering max_lr by hand later drags min_lr down with it
    ex.controls["cosine"]["max_lr"].value = 1e-4
    assert ex.params("cosine")["min_lr"] <= 1e-4


def test_lr_and_epochs_rederive_untouched_parameters():
    ex = ScheduleExplorer(["cosine", "step_decay"], lr=0.1, epochs=50, width=6)
    ex.set_params("step_decay", step_size=7)
    ex.epochs_slider.value = 80
    ex.lr_slider.value = 0.01
    assert ex.params("cosine") == {"max_lr": pytest.approx(0.01), "min_lr": pytest.approx(1e-4), "T_max": 80}
    assert ex.params("step_decay")["step_size"] == 7  # touched: kept
    assert len(ex.curves[0].rates) == 80
    ex.reset_parameters()
    assert ex.params("step_decay")["step_size"] == 80 // 3


def test_picking_and_parameters_redraw():
    ex = ScheduleExplorer(["cosine"], lr=0.1, epochs=40, width=6)
    before = ex.image.value
    ex.select("cosine", "one_cycle", "multistep")
    assert [c.name for c in ex.curves] == ["cosine", "one_cycle", "multistep"]
    assert list(ex.editing.options) == ["cosine", "one_cycle", "multistep"]
    assert ex.image.value != before
    ex.editing.value = "multistep"
    assert ex.controls["multistep"]["gamma"] in ex.params_box.children
    ex.set_params("multistep", milestones=(10, 30), gamma=0.5)
    assert ex.curves[2].rates[10] == pytest.approx(0.05) and ex.curves[2].rates[30] == pytest.approx(0.025)
    ex.picker.value = ()
    assert ex.curves == [] and bytes(ex.image.value).startswith(PNG)
    with pytest.raises(ValueError, match="T_maximum"):
        ex.set_params("cosine", T_maximum=3)


def test_reactive_cuts_on_synthetic_curve_are_marked():
    ex = ScheduleExplorer(["cosine_plateau_cuts", "reduce_on_plateau"], lr=0.1, epochs=100, width=6)
    ex.set_params("cosine_plateau_cuts", period=10, factor=0.5)
    curve = ex.curves[0]
    replay = S.CosineWithPlateauCuts(0.1, 0.001, 100, period=10, factor=0.5)
    S.lr_curve(replay, 100, S.synthetic_metrics(100))
    assert curve.cuts == replay.cuts and len(curve.cuts) >= 1
    assert "cut(s) on the synthetic metrics" in ex.status.value


def test_recorded_run_replay():
    from lrlab.train import TrainConfig, train
    run = train(TrainConfig(n_samples=200, hidden=(8,), lr=0.3, max_epochs=60, schedule="cosine_plateau_cuts",
                            schedule_params={"period": 4, "factor": 0.5}))
    ex = ScheduleExplorer(["cosine"], width=6, run=run)
    assert ex.source.value == "recorded run" and ex.epochs_slider.value == 60
    assert ex.lr_slider.value == pytest.approx(0.3)
    plateau = [c for c in ex.curves if c.name == "cosine_plateau_cuts"][0]
    assert plateau.cuts == run.history.cuts
    assert list(plateau.rates) == pytest.approx(list(run.history["lr"]), rel=1e-9)
    ex.source.value = "synthetic"
    assert "synthetic" in ex.status.value


def test_draw_schedule_preview_every_schedule():
    for name in S.SCHEDULES:
        fig = new_figure(3, 2)
        ax = fig.subplots()
        draw_schedule_preview(ax, name, 0.05, 30)
        assert ax.lines, name
    with pytest.raises(ValueError, match="min_lr"):
        draw_schedule_preview(new_figure(3, 2).subplots(), "cosine", 0.1, 30, min_lr=1.0)


def test_schedule_curve_reactive_default_metrics():
    c = schedule_curve("reduce_on_plateau", 0.1, 100, patience=3, monitor="train_loss")
    assert c.reactive and len(c.cuts) >= 1 and len(c.rates) == 100


def test_cli_schedule_png(tmp_path, capsys):
    from lrlab.cli import main
    out = tmp_path / "out.png"
    assert main(["schedule", "cosine", "--max-lr", "0.1", "--min-lr", "0.001", "--T-max", "50", "--png", str(out)]) == 0
    assert out.read_bytes().startswith(PNG)
    text = capsys.readouterr().out
    assert "cosine" in text and "0.1" in text
    out2 = tmp_path / "two.png"
    assert main(["schedule", "cosine", "cosine_plateau_cuts", "--period", "5", "--epochs", "40",
                 "--png", str(out2)]) == 0
    assert out2.exists()


def test_cli_schedule_bad_arguments_exit_2(capsys):
    from lrlab.cli import main
    assert main(["schedule", "cosine", "--max-lr", "0.1", "--min-lr", "0.5"]) == 2
    assert "min_lr" in capsys.readouterr().err
    assert main(["schedule", "cosine", "--T-max", "0"]) == 2
    assert main(["schedule", "cosine", "--period", "3"]) == 2  # cosine has no period
    assert "period" in capsys.readouterr().err
    assert main(["schedule", "cosine_plateau_cuts", "--monitor", "test_loss"]) == 2
    assert "monitor" in capsys.readouterr().err


def test_cli_shared_flag_goes_where_it_fits(capsys):
    from lrlab.cli import main
    assert main(["schedule", "cosine_plateau_cuts", "reduce_on_plateau", "--epochs", "80", "--period", "8",
                 "--patience", "4", "--monitor", "train_loss"]) == 0
    out = capsys.readouterr().out
    assert "monitor=train_loss" in out and "monitor=both" in out


def test_the_explorer_draws_for_its_column_and_keeps_its_legends_off_the_data():
    import io

    from PIL import Image

    from lrlab.plots.schedules import schedules_figure
    ex = ScheduleExplorer(["cosine", "cosine_warm_restarts", "one_cycle", "cosine_plateau_cuts"], lr=0.1, epochs=100)
    width, height = Image.open(io.BytesIO(bytes(ex.image.value))).size
    assert width == 540 and height <= 560  # beside a 380 px column: ~930 px, a laptop with the file browser open
    assert [ex.tabs.get_title(i) for i in range(3)] == ["Schedules", "Parameters", "Numbers"]
    assert "cut(s)" in ex.status.value  # the Numbers tab: each curve's rates and cuts
    fig, _ = schedules_figure(ex.entries(), 0.1, 100, width=ex.fig_width)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 2  # above and under
    for legend in fig.legends:
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)
