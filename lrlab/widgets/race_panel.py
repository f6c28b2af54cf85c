"""RacePanel (contenders side by side) and SweepPanel (loss against learning rate, range test).

No maths here: the panels call :mod:`lrlab.race` and draw with :mod:`lrlab.plots.race`.
Controls are built from the registries (``lrlab.optim.OPTIMIZERS``, ``lrlab.schedules.SCHEDULES``)
and bounded. ``run(epochs)`` is synchronous (tests, notebooks); ``start()`` trains in a
background thread, redrawing at most ``fps`` times a second, and ``stop()`` ends it.
"""
from __future__ import annotations

import html
import math
import threading
import time

import ipywidgets as W

from .. import optim, schedules
from ..plots import fig_to_png
from ..plots.race import color_of, race_figure, sweep_figure
from ..race import Race, label_of, lr_range_test, parse_lrs, ranking, sweep
from ..train import TrainConfig

MAX_CONTENDERS = 16
LR_LOG10 = (-5.0, 2.0)  # lr sliders span 1e-5 .. 100 (optim.LR_RANGE's upper bound)


def _figure_image() -> W.Image:
    """The figure; hidden until it has a picture (an empty Image shows as a broken-image icon)."""
    image = W.Image(format="png", layout=W.Layout(width="100%", display="none"))
    image.add_class("lrlab-figure")
    image.observe(lambda change: setattr(image.layout, "display", None if change["new"] else "none"),
                  names="value")
    return image


def _status() -> W.HTML:
    status = W.HTML()
    status.add_class("lrlab-status")
    return status


def ranking_html(rows: list[dict]) -> str:
    """The ranking table as HTML (contender colour swatch, best epoch's metrics, stop reason)."""
    head = ("<tr><th>#</th><th>contender</th><th>best test loss</th><th>best test acc</th>"
            "<th>best epoch</th><th>stopped</th></tr>")
    body = []
    for r in rows:
        swatch = f"<span style='color:{color_of(r['index'])};font-size:1.3em'>&#9632;</span>"
        loss = f"{r['test_loss']:.4f}" if math.isfinite(r["test_loss"]) else "—"
        acc = f"{100 * r['test_acc']:.1f} %" if math.isfinite(r["test_acc"]) else "—"
        epoch = "—" if r["best_epoch"] is None else str(r["best_epoch"] + 1)
        body.append(f"<tr><td>{r['rank']}</td><td>{swatch} {html.escape(r['label'])}</td><td>{loss}</td>"
                    f"<td>{acc}</td><td>{epoch}</td><td>{r['stop_reason'] or 'running'}</td></tr>")
    return f"<table class='lrlab-ranking'>{head}{''.join(body)}</table>"


class RacePanel(W.VBox):
    """Contenders (optimizer, lr, schedule) trained side by side from the same initial weights.

    >>> panel = RacePanel(TrainConfig(max_epochs=20))
    >>> panel.add_contender("sgd", 0.3); panel.add_contender("adam", 0.01, "cosine")
    >>> runs = panel.run(epochs=10)
    """

    def __init__(self, config: TrainConfig | None = None, contenders=None, fps: float = 5.0):
        self.base = config or TrainConfig(max_epochs=100)
        self.base.validate()
        self.fps = fps
        self.contenders: list[TrainConfig] = []
        self.race: Race | None = None
        self.runs = []
        self._thread = None
        self._stop_flag = False
        self.optimizer = W.Dropdown(options=list(optim.OPTIMIZERS), value="adam", description="optimizer")
        self.lr = W.FloatLogSlider(value=0.01, base=10, min=LR_LOG10[0], max=LR_LOG10[1], step=0.25,
                                   description="lr", readout_format=".2g")
        self.schedule = W.Dropdown(options=list(schedules.SCHEDULES), value="constant", description="schedule")
        self.add_button = W.Button(description="Add contender", icon="plus")
        self.list = W.Select(options=[], rows=6, description="contenders")
        self.remove_button = W.Button(description="Remove", icon="minus")
        self.epochs = W.IntSlider(value=self.base.max_epochs, min=1, max=2000, description="epochs")
        self.run_button = W.Button(description="Race", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop")
        self.status = _status()
        self.table = W.HTML()
        self.image = _figure_image()
        self.add_button.on_click(lambda _: self._guard(lambda: self.add_contender(
            self.optimizer.value, self.lr.value, self.schedule.value)))
        self.remove_button.on_click(lambda _: self._guard(self._remove_selected))
        self.run_button.on_click(lambda _: self._guard(self.start))
        self.stop_button.on_click(lambda _: self.stop())
        picker = W.VBox([self.optimizer, self.lr, self.schedule, self.add_button])
        chosen = W.VBox([self.list, self.remove_button])
        controls = W.HBox([picker, chosen, W.VBox([self.epochs, W.HBox([self.run_button, self.stop_button])])])
        super().__init__([controls, self.status, self.image, self.table])
        for c in contenders or ():
            self.add_contender(**c) if isinstance(c, dict) else self._add_config(c)
        self._set_status("Add contenders, then press Race." if not self.contenders else
                         f"{len(self.contenders)} contenders ready.")

    # -- contenders ------------------------------------------------------------------
    def add_contender(self, optimizer: str, lr: float, schedule: str = "constant", **optimizer_params) -> TrainConfig:
        """Add one contender (validated); returns its config."""
        config = self.base.replace(optimizer=optimizer, lr=float(lr), schedule=schedule,
                                   optimizer_params=optimizer_params, schedule_params={})
        return self._add_config(config)

    def _add_config(self, config: TrainConfig) -> TrainConfig:
        if len(self.contenders) >= MAX_CONTENDERS:
            raise ValueError(f"contenders: at most {MAX_CONTENDERS}, got {len(self.contenders) + 1}")
        config.validate()
        self.contenders.append(config)
        self._refresh_list()
        return config

    def remove_contender(self, index: int) -> None:
        if not 0 <= index < len(self.contenders):
            raise ValueError(f"index: must be in [0, {len(self.contenders) - 1}], got {index}")
        del self.contenders[index]
        self._refresh_list()

    def _remove_selected(self):
        if self.list.index is not None:
            self.remove_contender(self.list.index)

    @property
    def labels(self) -> list[str]:
        return [label_of(c) for c in self.contenders]

    def _refresh_list(self):
        self.list.options = [(f"{i + 1}. {name}", i) for i, name in enumerate(self.labels)]

    # -- running ---------------------------------------------------------------------
    def _prepare(self, epochs):
        if not self.contenders:
            raise ValueError("contenders: add at least one contender before racing")
        epochs = int(self.epochs.value if epochs is None else epochs)
        self.race = Race(self.contenders, epochs)
        self._labels = self.labels
        return self.race

    def run(self, epochs: int | None = None):
        """Race the contenders synchronously to the end; returns the runs (the configs' order)."""
        race = self._prepare(epochs)
        self.runs = race.run()
        self.redraw()
        return self.runs

    def start(self, epochs: int | None = None) -> threading.Thread:
        """Race in a background thread (the kernel stays free); redraws at most ``fps`` per second."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        race = self._prepare(epochs)
        self._stop_flag = False

        def work():
            last = 0.0
            try:
                while not race.done:
                    race.epoch(lambda: self._stop_flag)
                    if time.perf_counter() - last > 1.0 / self.fps:
                        self.runs = race.runs
                        self.redraw()
                        last = time.perf_counter()
                self.runs = race.runs
                self.redraw()
            except Exception as exc:  # shown, never raised into the thread's void
                self._set_status(f"error: {html.escape(str(exc))}")
        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop_flag = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _guard(self, fn):
        try:
            fn()
        except ValueError as exc:
            self._set_status(f"<b>{html.escape(str(exc))}</b>")

    def _set_status(self, text: str) -> None:
        self.status.value = text

    # -- drawing ---------------------------------------------------------------------
    def ranking(self, by: str = "test_loss") -> list[dict]:
        return ranking(self.runs, self._labels, by=by) if self.runs else []

    def redraw(self) -> None:
        if not self.runs:
            return
        fig = race_figure(self.runs, self._labels, width=15, height=7.5)
        self.image.value = fig_to_png(fig, fast=True)
        done = self.race is not None and self.race.done
        self.table.value = ranking_html(self.ranking())
        e = self.race.epoch_index if self.race is not None else 0
        self._set_status(f"{'finished' if done else 'racing'}: {len(self.runs)} contenders, epoch {e}, "
                         f"{self.race.steps if self.race else 0} batched steps")


class SweepPanel(W.VBox):
    """Loss against learning rate, one line per optimizer (log x, diverged region shaded), and the
    LR range test's curve with its suggested learning rate.

    >>> panel = SweepPanel(TrainConfig(max_epochs=20))
    >>> result = panel.run()
    >>> test = panel.range_test()
    """

    def __init__(self, config: TrainConfig | None = None, optimizers=("sgd", "adam"),
                 lrs: tuple[float, float] = (1e-4, 10.0), n_lrs: int = 16):
        self.base = config or TrainConfig(max_epochs=50)
        self.base.validate()
        self.result = None
        self.test = None
        names = list(optim.OPTIMIZERS)
        self.optimizers = W.SelectMultiple(options=names, value=tuple(o for o in optimizers if o in names),
                                           rows=min(len(names), 8), description="optimizers")
        self.lr_range = W.FloatRangeSlider(value=(math.log10(lrs[0]), math.log10(lrs[1])), min=-6.0,
                                           max=LR_LOG10[1], step=0.5, description="log10 lr")
        self.n_lrs = W.IntSlider(value=n_lrs, min=2, max=128, description="# lrs")
        self.epochs = W.IntSlider(value=self.base.max_epochs, min=1, max=1000, description="epochs")
        self.metric = W.Dropdown(options=["final_train_loss", "final_test_loss", "best_test_loss",
                                          "final_test_acc", "best_test_acc"], value="final_train_loss",
                                 description="metric")
        self.run_button = W.Button(description="Sweep", button_style="success", icon="play")
        self.test_optimizer = W.Dropdown(options=names, value=self.base.optimizer if self.base.optimizer in names
                                         else names[0], description="range test")
        self.test_button = W.Button(description="Range test", icon="line-chart")
        self.status = _status()
        self.image = _figure_image()
        self.run_button.on_click(lambda _: self._guard(self.run))
        self.test_button.on_click(lambda _: self._guard(self.range_test))
        self.metric.observe(lambda _: self.redraw(), names="value")
        controls = W.HBox([W.VBox([self.optimizers]),
                           W.VBox([self.lr_range, self.n_lrs, self.epochs, self.metric, self.run_button]),
                           W.VBox([self.test_optimizer, self.test_button])])
        super().__init__([controls, self.status, self.image])
        self.status.value = "Choose optimizers and a learning-rate range, then press Sweep."

    @property
    def lrs(self):
        lo, hi = self.lr_range.value
        return parse_lrs(f"{10 ** lo}:{10 ** hi}:{self.n_lrs.value}")

    def run(self, epochs: int | None = None):
        """Sweep synchronously: every (optimizer, lr) in one race; returns the :class:`SweepResult`."""
        if not self.optimizers.value:
            raise ValueError("optimizers: pick at least one optimizer")
        config = self.base.replace(max_epochs=int(self.epochs.value if epochs is None else epochs))
        self.result = sweep(list(self.optimizers.value), self.lrs, config=config)
        best = ", ".join(f"{o}: {self.result.best_lr(o):.2g}" for o in self.result.optimizers)
        self.status.value = (f"{len(self.result.runs)} runs in one race, {self.result.wall_time:.2f} s; "
                             f"best lr by best test loss — {best}")
        self.redraw()
        return self.result

    def range_test(self, optimizer: str | None = None, num_steps: int = 100):
        """The LR range test for ``optimizer`` (default: the dropdown's) on the panel's config."""
        name = optimizer or self.test_optimizer.value
        self.test = lr_range_test(self.base.replace(optimizer=name, optimizer_params={}), num_steps=num_steps)
        where = f"diverged at lr {self.test.diverged_lr:.2g}" if self.test.diverged_lr else "did not diverge"
        sugg = "none" if self.test.suggested_lr is None else f"{self.test.suggested_lr:.2g}"
        self.status.value = (f"range test ({name}): suggested lr <b>{sugg}</b> — {self.test.rule}; {where}")
        self.redraw()
        return self.test

    def _guard(self, fn):
        try:
            fn()
        except ValueError as exc:
            self.status.value = f"<b>{html.escape(str(exc))}</b>"

    def redraw(self) -> None:
        if self.result is None and self.test is None:
            return
        self.image.value = fig_to_png(sweep_figure(self.result, self.test, self.metric.value), fast=True)
