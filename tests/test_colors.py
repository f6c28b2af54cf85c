"""One colour per optimizer (and per schedule) in every view: race, sweep, surface paths, schedules."""
import re

import numpy as np
from matplotlib.colors import to_hex

from lrlab import optim, schedules
from lrlab.plots import (OPTIMIZER_COLORS as OPT, SCHEDULE_COLORS as SCHED, new_figure, optimizer_color, run_styles,
                         schedule_color, schedule_linestyle)

OPTIMIZER_COLORS = {k: v.lower() for k, v in OPT.items()}  # as matplotlib's to_hex writes them
SCHEDULE_COLORS = {k: v.lower() for k, v in SCHED.items()}
from lrlab.plots.race import race_figure, race_picture, sweep_figure
from lrlab.plots.schedules import draw_schedules
from lrlab.plots.surfaces import paths_figure
from lrlab.race import race, sweep
from lrlab.surfaces import trajectories
from lrlab.train import TrainConfig


def _line_colors(ax):
    return [(to_hex(line.get_color()), line.get_linestyle()) for line in ax.get_lines()]


def test_every_optimizer_and_schedule_has_its_own_colour():
    assert set(optim.OPTIMIZERS) <= set(OPT)
    assert len(set(OPTIMIZER_COLORS.values())) == len(OPTIMIZER_COLORS)
    assert set(schedules.SCHEDULES) <= set(SCHEDULE_COLORS)
    assert optimizer_color("a-new-one") == optimizer_color("a-new-one")  # a later registry entry: stable
    assert run_styles(["adam", "sgd", "adam", "adam"]) == [
        (OPT["adam"], "-"), (OPT["sgd"], "-"), (OPT["adam"], "--"), (OPT["adam"], ":")]
    # eleven schedules, eight colours: each schedule's (colour, line style) is still its own
    pairs = run_styles(list(schedules.SCHEDULES), color=schedule_color, linestyle=schedule_linestyle)
    assert len(set(pairs)) == len(schedules.SCHEDULES)


def test_a_race_draws_each_contender_in_its_optimizers_colour():
    base = TrainConfig(n_samples=100, max_epochs=3)
    runs = race([base.replace(optimizer="sgd", lr=0.1), base.replace(optimizer="adam", lr=0.01),
                 base.replace(optimizer="adam", lr=0.03, schedule="cosine")])
    fig = race_figure(runs)
    loss_ax = fig.axes[0]
    assert _line_colors(loss_ax) == [(OPTIMIZER_COLORS["sgd"], "-"), (OPTIMIZER_COLORS["adam"], "-"),
                                     (OPTIMIZER_COLORS["adam"], "--")]
    picture = race_picture(runs)
    assert [c.color for c in picture.contenders] == [OPT[o] for o in ("sgd", "adam", "adam")]
    # the small multiples' titles and the ranking table's swatches are in the same colours
    from lrlab.widgets import RacePanel
    panel = RacePanel(base, contenders=[c.config for c in runs])
    panel.run(epochs=3)
    swatches = re.findall(r"color:(#[0-9A-Fa-f]{6});font-size", panel.table.value)
    by_rank = [panel.ranking()[k]["index"] for k in range(3)]
    assert swatches == [picture.contenders[i].color for i in by_rank]
    panel.close()
    assert [to_hex(ax.title.get_color()) for ax in fig.axes[3:]] == [c.color.lower() for c in picture.contenders]


def test_a_sweep_draws_each_optimizer_in_its_colour():
    result = sweep(["rmsprop", "sgd"], "1e-3:1:4", config=TrainConfig(n_samples=80, max_epochs=2))
    fig = sweep_figure(result)
    colors = [c for c, _ in _line_colors(fig.axes[0])]
    assert colors[:2] == [OPTIMIZER_COLORS["rmsprop"], OPTIMIZER_COLORS["sgd"]]


def test_surface_paths_are_drawn_in_their_optimizers_colour():
    runs = [{"optimizer": "momentum", "lr": 0.01, "start": (-1.0, 1.0)}, {"optimizer": "adam", "lr": 0.05,
                                                                        "start": (-1.0, 1.0)}]
    paths = trajectories("quadratic", runs, 20)
    fig = paths_figure("quadratic", paths, ["momentum", "adam"])
    gap_lines = _line_colors(fig.axes[1])
    assert gap_lines[0][0] == OPTIMIZER_COLORS["momentum"] and OPTIMIZER_COLORS["adam"] in [c for c, _ in gap_lines]


def test_schedules_are_drawn_in_their_own_colour():
    fig = new_figure(8, 4)
    curves = draw_schedules(fig, [("cosine", {}), ("step_decay", {}), ("cosine", {"min_lr": 0.001})], 0.1, 50)
    assert [(c.color, c.style) for c in curves] == [(SCHED["cosine"], "-"), (SCHED["step_decay"], "-"),
                                                    (SCHED["cosine"], "--")]
    assert [(to_hex(line.get_color()), line.get_linestyle()) for line in fig.axes[0].get_lines()][:3] == [
        (SCHEDULE_COLORS["cosine"], "-"), (SCHEDULE_COLORS["step_decay"], "-"), (SCHEDULE_COLORS["cosine"], "--")]
    assert np.all([c.rates.size == 50 for c in curves])


def test_runs_of_one_optimizer_only_get_the_palettes_colours():
    """Three SGD runs at three learning rates: the colour tells the runs apart (all black would not)."""
    styles = run_styles(["sgd", "sgd", "sgd"])
    assert len({c for c, _ in styles}) == 3 and {s for _, s in styles} == {"-"}
