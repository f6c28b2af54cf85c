"""One declaration per parameter (lrlab.params.Param): validation, the CLI, the widgets and the
README all read it, so they agree on every parameter's default and range."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from lrlab import optim, paramdocs, params, schedules
from lrlab.cli import main
from lrlab.cli._config import _flags, optimizer_params
from lrlab.params import LR, Param
from lrlab.widgets.controls import make_control

ROOT = Path(__file__).resolve().parents[1]
OPTIMIZER_PARAMS = [(name, p) for name, spec in optim.OPTIMIZERS.items() for p in spec.params]
SCHEDULE_PARAMS = [(name, p) for name, spec in schedules.SCHEDULES.items() for p in spec.params]
EVERY = [("optimizer", n, p) for n, p in OPTIMIZER_PARAMS] + [("schedule", n, p) for n, p in SCHEDULE_PARAMS]
EPOCHS = (1, 7, 100, 5000)


def _id(case):
    return f"{case[1]}.{case[2].name}"


def _value_for(p: Param, v):
    """``v`` as the kind takes it: milestones a tuple, a pair two equal numbers."""
    return (v,) if p.kind == "milestones" else (v, v) if p.kind == "pair" else v


def just_outside(p: Param) -> list:
    """The values just outside ``p``'s range, on both sides."""
    if p.kind in ("int", "epochs", "milestones"):
        lo, hi = int(p.lo) + (1 if p.lo_open else 0), int(p.hi) - (1 if p.hi_open else 0)
        return [lo - 1, hi + 1]
    return [p.lo if p.lo_open else math.nextafter(p.lo, -math.inf),
            p.hi if p.hi_open else math.nextafter(p.hi, math.inf)]


def test_the_registries_read_the_declarations():
    for spec in list(optim.OPTIMIZERS.values()) + list(schedules.SCHEDULES.values()):
        assert spec.defaults == {p.name: p.default for p in spec.params}
        assert list(spec.defaults) == [p.name for p in spec.params]  # resolution order
        assert spec.ranges == {p.name: p.range for p in spec.params if p.range is not None}
        assert spec.kinds == {p.name: p.kind for p in spec.params}
        assert spec.choices == {p.name: p.choices for p in spec.params if p.kind == "choice"}
        for p in spec.params:
            assert spec.param(p.name) is p and p.kind in params.KINDS and p.help
    assert optim.LR_RANGE == schedules.LR_RANGE == LR.range
    for spec in optim.OPTIMIZERS.values():
        assert spec.param("lr").range == LR.range  # the learning rate's range is declared once


@pytest.mark.parametrize("case", EVERY, ids=_id)
def test_every_default_lies_in_its_range(case):
    family, owner, p = case
    if p.default is not None:
        assert p.check(p.default) == p.default
        return
    spec = schedules.SCHEDULES[owner]  # only schedules derive defaults
    assert p.derived, f"{owner}.{p.name}: say how the default is derived"
    for lr in (1e-4, 0.1, 100.0):
        for epochs in EPOCHS:
            value = spec.resolve(lr, epochs)[p.name]
            assert p.accepts(value), (owner, p.name, lr, epochs, value)


@pytest.mark.parametrize("case", EVERY, ids=_id)
def test_the_widget_control_spans_the_declared_window_inside_the_range(case):
    """The control's min/max are the declared range, or the declaration's slider window (a
    documented display clamp, always inside the range)."""
    family, owner, p = case
    for epochs in EPOCHS:
        derived = None
        if p.default is None:
            derived = schedules.SCHEDULES[owner].resolve(0.1, epochs)[p.name]
        control = make_control(p, epochs=epochs, derived=derived, auto=False, exact=False)
        assert control.param is p
        if p.kind in ("bool", "choice"):
            assert control.bounds() is None
            if p.kind == "choice":
                assert tuple(control.parts[0].options) == p.choices
            continue
        lo, hi = control.bounds()
        assert p.accepts(_value_for(p, lo)) and p.accepts(_value_for(p, hi)), (owner, p.name, lo, hi)
        w_lo, w_hi = p.window_at(epochs)
        start = derived if p.default is None else p.default
        if control.zero:
            assert lo == 0.0  # a log slider and a "zero" box: 0 is the range's closed low end
        elif isinstance(start, (int, float)) and not (w_lo <= start <= w_hi):
            assert lo <= start <= hi  # widened to show where it starts (valid, so still inside the range)
        else:
            assert lo == pytest.approx(w_lo, rel=1e-12), (owner, p.name)
        if not (isinstance(start, (int, float)) and start > w_hi):
            assert hi == pytest.approx(w_hi, rel=1e-12), (owner, p.name)
        if p.window is None and p.kind not in ("int", "epochs", "milestones") and not p.logscale:
            step = p.step()  # no declared window: the range itself, an open end one step in
            assert w_lo == (p.lo + step if p.lo_open else p.lo) and w_hi == (p.hi - step if p.hi_open else p.hi)


def test_the_learning_rate_sliders_span_the_declared_window():
    from lrlab.widgets import schedule_explorer
    from lrlab.widgets.pickers import OptimizerPicker
    assert LR.exponents() == (-5.0, 2.0) and 10 ** LR.exponents()[1] == LR.hi  # up to the range's top
    picker = OptimizerPicker()
    assert (picker.lr_slider.min, picker.lr_slider.max) == LR.exponents()  # the slider beside the typed box
    assert (picker.lr.min, picker.lr.max) == pytest.approx((1e-5, LR.hi))  # the box: the same window, in values
    ex = schedule_explorer.ScheduleExplorer(["constant"], lr=0.1, epochs=20, width=4)
    assert (ex.lr_slider.min, ex.lr_slider.max) == LR.exponents(schedule_explorer.LR_CLAMP) == (-4.0, 0.0)


def test_the_pickers_and_the_explorer_build_their_controls_from_the_declarations():
    from lrlab.widgets import ScheduleExplorer
    from lrlab.widgets.pickers import OptimizerPicker, SchedulePicker
    for name, spec in optim.OPTIMIZERS.items():
        picker = OptimizerPicker(optimizer=name, lr=spec.param("lr").default)
        assert {k: c.param for k, c in picker.controls.items()} == {p.name: p for p in spec.params if p.name != "lr"}
    for name, spec in schedules.SCHEDULES.items():
        picker = SchedulePicker(schedule=name)
        assert [c.param for c in picker.controls.values()] == list(spec.params)
    ex = ScheduleExplorer(["constant"], lr=0.1, epochs=20, width=4)
    for name, spec in schedules.SCHEDULES.items():
        assert [c.param for c in ex.controls[name].values()] == list(spec.params)


# ------------------------------------------------------------------ just outside: refused everywhere
@pytest.mark.parametrize("case", [c for c in EVERY if c[2].kind not in ("bool", "choice")], ids=_id)
def test_just_outside_the_range_is_refused_by_validation(case):
    family, owner, p = case
    for v in just_outside(p):
        with pytest.raises(ValueError) as info:
            if family == "optimizer":
                optim.get(owner).resolve(**{p.name: _value_for(p, v)})
            else:
                schedules.make_schedule(owner, 0.1, 100, **{p.name: _value_for(p, v)})
        assert str(info.value).startswith(f"{p.name}: must be"), str(info.value)


def _cli(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize("name", [n for n, (p, _) in optimizer_params().items() if p.kind != "bool"])
def test_just_outside_the_range_is_refused_by_the_cli_naming_the_flag(capsys, name):
    p, takers = optimizer_params()[name]
    for command in ("train", "race"):
        for flag, _ in _flags(name, p):
            for v in just_outside(p):
                code, err = _cli(capsys, [command, "--quiet", "--epochs", "1", "--optimizers" if command == "race"
                                          else "--optimizer", takers[0], f"{flag}={float(v)!r}"])
                assert code == 2 and len(err) == 1, (flag, v, err)
                assert err[0].startswith(f"lrlab: error: argument {flag}: must be"), err


@pytest.mark.parametrize("case", [c for c in EVERY if c[0] == "schedule" and c[2].kind not in ("bool", "choice")],
                         ids=_id)
def test_just_outside_the_range_is_refused_by_lrlab_schedule_naming_the_flag(capsys, case):
    family, owner, p = case
    for v in just_outside(p):
        text = str(int(v)) if p.kind in ("int", "epochs", "milestones") else repr(float(v))
        code, err = _cli(capsys, ["schedule", owner, "--epochs", "20", f"{p.flag}={text}"])
        assert code == 2 and len(err) == 1, (p.flag, v, err)
        assert err[0].startswith(f"lrlab: error: argument {p.flag}: must be"), err


def test_the_cli_help_and_choices_come_from_the_declarations(capsys):
    def help_of(argv):
        with pytest.raises(SystemExit):
            main(argv)
        return " ".join(capsys.readouterr().out.split())

    text = help_of(["train", "--help"])
    for name, (p, _) in optimizer_params().items():
        for flag, _ in _flags(name, p):
            assert flag in text
        assert " ".join(p.help.split()) in text, name
    assert LR.help in text
    text = help_of(["schedule", "--help"])
    for _, p in SCHEDULE_PARAMS:
        assert p.flag in text and " ".join(p.help.split()) in text, p.name
        if p.kind == "choice":
            assert ",".join(p.choices) in text.replace(" ", "")


def test_a_pair_given_by_one_part_keeps_the_other_from_the_base(capsys, tmp_path):
    from lrlab.cli._config import add_config_arguments, config_from_args
    import argparse
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    from lrlab.train import TrainConfig
    base = TrainConfig(optimizer="adam", optimizer_params={"betas": (0.8, 0.99)})
    assert config_from_args(parser.parse_args(["--beta1", "0.7"]), base).optimizer_params["betas"] == (0.7, 0.99)
    assert config_from_args(parser.parse_args(["--beta2", "0.9"]), TrainConfig(optimizer="adam")
                            ).optimizer_params["betas"] == (optim.BETAS.default[0], 0.9)


# ------------------------------------------------------------------ the docs
def test_readme_parameter_tables_equal_the_declarations():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Parameters\n", 1)[1].split("\n## ", 1)[0]
    assert paramdocs.readme_tables() in section, "README parameter tables differ from lrlab.paramdocs.readme_tables()"
    rows = re.findall(r"^\| `(\w+)` \|", section, re.M)
    declared = {p.name for _, p in OPTIMIZER_PARAMS + SCHEDULE_PARAMS}
    assert set(rows) == declared


def test_a_declaration_is_checked_when_it_is_made():
    with pytest.raises(ValueError, match="kind"):
        Param("x", 1.0, "number", 0.0, 1.0)
    with pytest.raises(ValueError, match="lo and hi"):
        Param("x", 1.0, "float")
    with pytest.raises(ValueError, match="derive"):
        Param("x", None, "float", 0.0, 1.0)
    with pytest.raises(ValueError, match="choices"):
        Param("x", "a", "choice")
