"""RacePanel (contenders side by side) and SweepPanel (loss against learning rate, range test).

No maths here: the panels call :mod:`lrlab.race` and draw with :mod:`lrlab.plots.race`.
Controls are built from the registries (``lrlab.optim.OPTIMIZERS``, ``lrlab.schedules.SCHEDULES``)
and bounded. ``run(epochs)`` is synchronous (tests, notebooks); ``start()`` trains in a
background thread, redrawing at most ``fps`` times a second (in a second thread), ``pause()``
/ ``resume()`` hold and go on with the race, and ``stop()`` ends it at once (the final picture
is drawn just after): the threads are a :class:`lrlab.widgets.runner.Runner`'s. The
constructors' arguments are checked before anything is built (``ValueError`` naming the
argument).
"""
from __future__ import annotations

import html
import math
import threading

import ipywidgets as W

from .. import defaults, limits, optim, schedules
from ..plots import fig_to_png, render_process
from ..plots.race import (CHARTS, LIVE_DPI, LIVE_SIZE_PX, SWEEP_CHARTS, SWEEP_SIZE_PX, LiveRaceFigure, inches, race_picture,
                          sweep_figure)
from ..race import Race, label_of, lr_range_test, parse_lrs, ranking, sweep
from ..train import TrainConfig
from ..checks import check_number
from ..params import LR
from .controls import lr_entry
from .text import lr_range_text, lr_text, num, pct
from .frameview import FrameView, PictureRepr
from .runner import Runner, RunnerPanel, check_threads
from .style import PANEL_CLASS, style

MAX_CONTENDERS = 16
#: redraws per second a panel may ask for at most
MAX_FPS = 120.0
LR_LOG10 = LR.exponents()  # the learning-rate sliders' span (lrlab.params.LR: 1e-5 .. 100)
#: the race panel's column of controls beside its figure (LIVE_SIZE_PX): both fit the 930 px that
#: JupyterLab leaves a notebook on a 1366 x 768 screen with its file browser open
COLUMN_PX = 380


def _figure_image() -> FrameView:
    """The figure (its browser views acknowledge each frame, so a slow link never queues frames);
    hidden until it has a picture."""
    image = FrameView(layout=W.Layout(width="auto", max_width="100%", display="none"))  # its own size
    image.add_class("lrlab-figure")
    image.observe(lambda change: setattr(image.layout, "display", None if change["new"] else "none"),
                  names="value")
    return image


def _status() -> W.HTML:
    status = W.HTML()
    status.add_class("lrlab-status")
    return status


#: the ranking table's cells: padded and ruled (inline: a notebook's CSS may set none), numbers right
_CELL = "padding:3px 5px;border-bottom:1px solid #ccc;text-align:{align}"
#: a number stays on one line ("91.3 %")
_NUMBER = ";white-space:nowrap"
#: a contender's name wraps between words, and inside one where it must (cosine_warm_restarts), so
#: that the table fits the panel's column of controls
_NAME = ";overflow-wrap:anywhere;min-width:6em"


def _th(text: str, align: str = "left") -> str:
    return f"<th style='{_CELL.format(align=align)};border-bottom:2px solid #888'>{text}</th>"


def _td(text: str, align: str = "left", extra: str = "") -> str:
    return f"<td style='{_CELL.format(align=align)}{extra}'>{text}</td>"


def ranking_html(rows: list[dict], colors=None) -> str:
    """The ranking table as HTML (contender colour swatch, best epoch's metrics, stop reason);
    ``colors[row["index"]]``: each contender's colour in the picture (grey where not given)."""
    head = "<tr>" + "".join(_th(t, a) for t, a in (("#", "right"), ("contender", "left"), ("best test loss", "right"),
                                                   ("best test acc", "right"), ("best epoch", "right"),
                                                   ("stopped", "left"))) + "</tr>"
    body = []
    for r in rows:
        color = colors[r["index"]] if colors is not None else "#999999"
        swatch = f"<span style='color:{color};font-size:1.3em'>&#9632;</span>"
        loss = num(r["test_loss"], ".4f") if math.isfinite(r["test_loss"]) else "—"
        acc = pct(r["test_acc"])
        epoch = "—" if r["best_epoch"] is None else str(r["best_epoch"] + 1)
        body.append("<tr>" + _td(str(r["rank"]), "right") + _td(f"{swatch} {html.escape(r['label'])}", extra=_NAME)
                    + _td(loss, "right", _NUMBER) + _td(acc, "right", _NUMBER) + _td(epoch, "right", _NUMBER)
                    + _td(html.escape((r["stop_reason"] or "running").replace("_", " "))) + "</tr>")
    return (f"<table class='lrlab-ranking' style='border-collapse:collapse;font-size:13px;line-height:1.3;width:100%'>"
            f"{head}{''.join(body)}</table>")


class RacePanel(PictureRepr, RunnerPanel, W.VBox):
    """Contenders (optimizer, lr, schedule) trained side by side from the same initial weights.

    ``config``: the base config (a :class:`~lrlab.train.TrainConfig`); ``contenders``: dicts of
    :meth:`add_contender`'s arguments or TrainConfigs; ``fps``: redraws per second at most while
    racing, in (0, 120]; ``threads``: intra-op threads while racing (default: chosen from the
    work, :mod:`lrlab.threads`). Each is checked here (``ValueError`` naming the argument).

    Threads (a :class:`lrlab.widgets.runner.Runner`, ``panel.runner``): ``start()`` races in a
    background thread (``lrlab-race``) that only trains; at most ``fps`` times a second it reads
    the race's numbers (a :class:`~lrlab.plots.race.RacePicture`) and hands them to a drawer
    thread (``lrlab-race-drawer``), which has the kernel's renderer process draw them
    (:mod:`lrlab.plots.render_process`: matplotlib would hold the racing thread's lock while
    drawing here; this process draws where no renderer runs). ``stop()`` (the Stop button)
    raises the flag the race polls before every mini-batch, joins the racing thread (it ends
    within one step) and returns at once; ``pause()`` (the Pause / Resume button) ends it at the
    end of the epoch going on and keeps the race, ``resume()`` goes on from that epoch. The
    final (or paused) picture is drawn just after, by a short thread (``wait()`` returns once
    it is on show).

    >>> panel = RacePanel(TrainConfig(max_epochs=20))
    >>> panel.add_contender("sgd", 0.3); panel.add_contender("adam", 0.01, "cosine")
    >>> runs = panel.run(epochs=10)
    """

    def __init__(self, config: TrainConfig | None = None, contenders=None, fps: float = 5.0,
                 threads: int | None = None):
        check_number("fps", fps, 0.0, MAX_FPS, lo_open=True)
        check_threads(threads)
        if config is not None and not isinstance(config, TrainConfig):
            raise ValueError(f"config: must be a TrainConfig, got {type(config).__name__}")
        if contenders is not None and not isinstance(contenders, (list, tuple)):
            raise ValueError(f"contenders: must be a list of dicts or TrainConfigs, got {type(contenders).__name__}")
        self.base = config or defaults.config(TrainConfig().dataset)  # the dataset's defaults that learn
        self.base.validate()
        self.contenders: list[TrainConfig] = []
        self.race: Race | None = None
        self.runs = []
        self._labels: list[str] = []
        self.error: str | None = None
        self.frames_drawn = 0
        self.figure = LiveRaceFigure()  # 528 x 480 px at 88 dpi, shown 1:1 beside the controls: text >= 12 px
        self.remote = render_process.RemoteFigure()  # the figure as the renderer process draws it
        self.runner = Runner(self._snapshot, self._show, max_fps=fps, render=self._render_frame,
                             on_abandon=render_process.wake, on_launch=lambda: self.remote.prepare(self.figure),
                             on_halt=self._on_halt, on_error=self._on_error, threads=threads,
                             thread_count=lambda r: self.race_threads(r), stop_untrained=True,
                             switch_interval=0.0005, display_ready=lambda: self.image.ready(), name="lrlab-race")
        self.optimizer = W.Dropdown(options=list(optim.OPTIMIZERS), value="adam", description="optimizer",
                                    layout=W.Layout(width="300px"))
        # the lr as typed (a log slider alone would snap 5 to 5.62 in the browser), a slider beside it
        self.lr, self.lr_slider = lr_entry(0.01, description="lr", step=0.25)
        self.schedule = W.Dropdown(options=list(schedules.SCHEDULES), value="constant", description="schedule",
                                   layout=W.Layout(width="300px"))
        self.add_button = W.Button(description="Add contender", icon="plus", layout=W.Layout(width="170px"))
        self.list = W.Select(options=[], rows=6, description="contenders", layout=W.Layout(width="320px"))
        self.remove_button = W.Button(description="Remove", icon="minus", layout=W.Layout(width="170px"))
        # the epoch budget: the base config's, shown exactly (the slider's range widens to hold it)
        self.epochs = W.IntSlider(value=self.base.max_epochs, min=1, max=max(2000, self.base.max_epochs),
                                  description="epochs", layout=W.Layout(width="340px"))
        def button():  # a Layout per button (one shared would hide them all with one)
            return W.Layout(width="96px")
        self.run_button = W.Button(description="Race", button_style="success", icon="play", layout=button(),
                                   tooltip="race the contenders from the same initial weights")
        self.pause_button = W.Button(description="Pause", icon="pause", tooltip="pause / resume this race",
                                     layout=button())
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", layout=button(),
                                    tooltip="end this race (each contender's best weights are restored)")
        self.status = _status()
        self.table = W.HTML("No race yet: add contenders, then press Race.")
        self.image = _figure_image()
        # under the loss: ONE picked view (each contender's boundary, the accuracy or the learning rate)
        self.chart = W.Dropdown(options=[(label, key) for key, label in CHARTS.items()], value="boundaries",
                                description="lower chart", style={"description_width": "initial"},
                                layout=W.Layout(width="310px"))
        self.figure.set_options(chart=self.chart.value)
        self._last_frame: dict | None = None  # the picture on show (redrawn when another chart is picked)
        self.add_button.on_click(lambda _: self._guard(lambda: self.add_contender(
            self.optimizer.value, self.lr.value, self.schedule.value)))
        self.remove_button.on_click(lambda _: self._guard(self._remove_selected))
        self.run_button.on_click(lambda _: self._guard(self.start))
        self.pause_button.on_click(lambda _: self.toggle_pause())
        self.stop_button.on_click(lambda _: self.stop())
        self.chart.observe(lambda _: self._chart_picked(), names="value")
        # on a laptop screen (1366 x 768) the controls sit in tabs beside the figure, the buttons and
        # the status line above both: the whole panel fits one screen
        picker = W.VBox([self.optimizer, W.HBox([self.lr, self.lr_slider]), self.schedule, self.add_button,
                         self.list, self.remove_button])
        ranking_box = W.VBox([self.table], layout=W.Layout(max_height=f"{LIVE_SIZE_PX[1] - 40}px",
                                                            overflow="auto"))
        self.tabs = W.Tab(children=[picker, ranking_box])
        for i, title in enumerate(("Contenders", "Ranking")):
            self.tabs.set_title(i, title)
        self.tabs.layout = W.Layout(width=f"{COLUMN_PX}px", min_width=f"{COLUMN_PX}px", flex=f"0 0 {COLUMN_PX}px")
        figure_side = W.VBox([self.image, self.chart],
                             layout=W.Layout(flex="1 1 auto", min_width="0px", align_items="flex-start"))
        main = W.HBox([self.tabs, figure_side], layout=W.Layout(width="100%", grid_gap="8px"))
        # children[0] is the row of buttons (with the epoch budget beside them)
        buttons = W.HBox([self.run_button, self.pause_button, self.stop_button, self.epochs],
                         layout=W.Layout(align_items="center"))
        super().__init__([buttons, self.status, main, style()])
        self.add_class("lrlab-race-panel")
        self.add_class(PANEL_CLASS)
        for i, c in enumerate(contenders or ()):
            try:
                if isinstance(c, dict):
                    self.add_contender(**c)
                elif isinstance(c, TrainConfig):
                    self._add_config(c)
                else:
                    raise ValueError(f"must be a dict or a TrainConfig, got {type(c).__name__}")
            except (TypeError, ValueError) as exc:  # which contender, and the field (or the key) at fault
                self.close()
                raise ValueError(f"contenders[{i}]: {exc}"[:400]) from None
        self._set_status(self._ready_text())

    # -- contenders ------------------------------------------------------------------
    def add_contender(self, optimizer: str, lr: float, schedule: str = "constant", **optimizer_params) -> TrainConfig:
        """Add one contender (validated); returns its config."""
        check_number("lr", lr, 0.0, None, lo_open=True)
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
        if not self.is_running:  # (while racing, the status line shows the race)
            self._set_status(self._ready_text())

    def _ready_text(self) -> str:
        """The status line between races: how many contenders there are now."""
        n = len(self.contenders)
        if n == 0:
            return "Add contenders, then press Race."
        return f"{n} contender{'s' if n != 1 else ''} ready."

    # -- running ---------------------------------------------------------------------
    @property
    def fps(self) -> float:
        """Redraws per second at most while racing (in (0, 120]; checked when set)."""
        return self.runner.max_fps

    @fps.setter
    def fps(self, value: float) -> None:
        self.runner.max_fps = check_number("fps", value, 0.0, MAX_FPS, lo_open=True)

    def _prepare(self, epochs):
        if not self.contenders:
            raise ValueError("contenders: add at least one contender before racing")
        epochs = self.epochs.value if epochs is None else epochs
        check_number("epochs", epochs, 1, limits.MAX_EPOCHS, integer=True)
        race = Race(self.contenders, int(epochs))
        self.runner.attach(race, stop=race.stop_all)  # (ends the previous race's threads first)
        self.race = race
        self._labels = self.labels
        self._set_pause_button(False)
        self.tabs.selected_index = 1  # the Ranking tab: the race's table, live
        return race

    def race_threads(self, race: Race) -> int:
        """Intra-op threads for ``race`` (``self.threads`` if set, else chosen from the work)."""
        return race.threads(self.threads)

    def run(self, epochs: int | None = None):
        """Race the contenders synchronously to the end; returns the runs (the configs' order),
        with the final picture drawn."""
        self.runner.halt(cut=True)
        race = self._prepare(epochs)
        self.runner.run()
        self.runs = race.runs
        self.redraw()
        return self.runs

    def start(self, epochs: int | None = None) -> threading.Thread:
        """Race in a background thread (the kernel stays free); redraws at most ``fps`` per second.
        Returns the racing thread."""
        if self.is_running:
            return self.runner.worker
        self.runner.halt()  # the previous race's final picture is on show; its threads have ended
        self._prepare(epochs)
        self.error = None
        self.runner.start()
        self._set_status(f"racing: {len(self.contenders)} contenders")
        return self.runner.worker

    def pause(self) -> bool:
        """Hold the race at the end of the epoch going on (returns at once; the picture of the
        paused race is drawn just after). True if it was racing."""
        paused = self.runner.pause()
        self._set_pause_button(self.is_paused)
        return paused

    def resume(self) -> bool:
        """Go on with a paused race from the epoch where it was held. False if there is none."""
        if self.runner.resume():
            self._set_pause_button(False)
            self._set_status(f"racing: {len(self._labels)} contenders, from epoch {self.race.epoch_index}")
            return True
        return False

    def toggle_pause(self) -> None:
        """The Pause / Resume button."""
        if self.is_running:
            self.pause()
        elif self.is_paused:
            self.resume()

    def stop(self) -> None:
        """End the race now: returns once the racing thread has ended (within one step); the
        final picture is drawn just after, in the background (``wait()`` waits for it)."""
        self._set_pause_button(False)
        self.runner.stop("stopped_by_user")

    def _chart_picked(self) -> None:
        """Another view under the loss: redrawn now if no race is going on (else the next frame shows it)."""
        if self.is_running:
            return
        self.runner.settle()  # (a final picture being drawn in the background is on show first)
        if self._last_frame is not None:
            self._show({**self._last_frame, "options": {"chart": self.chart.value}})

    def _set_pause_button(self, paused: bool) -> None:
        self.pause_button.description, self.pause_button.icon = ("Resume", "play") if paused else ("Pause", "pause")

    # -- the runner's callbacks (the racing thread, the drawer's or the finisher's) ----
    def _snapshot(self, final: bool) -> dict:
        """What the drawer draws, read between epochs in the racing thread: the numbers of the
        race (a RacePicture and the ranking's rows: no model or tensor travels)."""
        race = self.race
        runs = race.runs
        if final:
            self.runs = runs
        return self._frame(runs, self._state(race, runs), race.epoch_index, race.steps)

    def _frame(self, runs, state: str, epoch: int, steps: int) -> dict:
        return {"picture": race_picture(runs, self._labels), "ranking": ranking(runs, self._labels),
                "status": f"{state}: {len(runs)} contenders, epoch {epoch}, {steps} batched steps",
                "options": {"chart": self.chart.value}}  # (whoever draws the frame shows the picked chart)

    def _state(self, race: Race, runs) -> str:
        """In words: "racing", "paused", "stopped by you" or "finished"."""
        if race.done:
            return "stopped by you" if any(r.stop_reason == "stopped_by_user" for r in runs) else "finished"
        return "racing" if self.is_running else "paused"

    def _show(self, frame: dict) -> None:
        """Publish ``frame``: its PNG from the renderer, or drawn here; the ranking; the status line."""
        png = frame.pop("png", None)
        if png is None:
            self.figure.update(frame)
            png = self.figure.png()
        self._last_frame = frame
        self.image.show(png)
        self.table.value = ranking_html(frame["ranking"], [c.color for c in frame["picture"].contenders])
        self._set_status(frame["status"])
        self.frames_drawn += 1

    def _on_halt(self, state: str) -> None:
        """Stop / Pause returned: said at once (the picture follows)."""
        race = self.race
        if race is None:
            return
        self.runs = race.runs
        e = race.epoch_index
        if state == "paused" and self.is_paused:
            self._set_status(f"paused at epoch {e}: press Resume to go on; drawing the picture")
        elif race.done and self.runner.state == "stopped":
            self._set_status(f"stopped by you at epoch {e}; drawing the final picture")

    def _on_error(self, message: str) -> None:
        self.error = message
        self._set_status(f"error: {html.escape(message)}")

    def close(self) -> None:
        """Stop any race, wait for its threads, and close the widgets."""
        if "runner" not in self.__dict__:  # refused by the constructor: nothing was built
            return
        self.runner.close()  # a race going on ends within one step; every thread has ended
        self.remote.close()
        for w in (self.optimizer, self.lr, self.lr_slider, self.schedule, self.add_button, self.list,
                  self.remove_button, self.epochs, self.run_button, self.pause_button, self.stop_button, self.status,
                  self.table, self.image, self.chart, self.tabs):
            w.close()
        super().close()

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
        """Draw the current runs (in this thread)."""
        if not self.runs:
            return
        race = self.race
        state = "finished" if race is None else self._state(race, self.runs)
        self._show(self._frame(self.runs, state, race.epoch_index if race is not None else 0,
                               race.steps if race is not None else 0))


class SweepPanel(PictureRepr, W.VBox):
    """Loss against learning rate, one line per optimizer (log x, diverged region shaded), and the
    LR range test's curve with its suggested learning rate.

    >>> panel = SweepPanel(TrainConfig(max_epochs=20))
    >>> result = panel.run()
    >>> test = panel.range_test()
    """

    def __init__(self, config: TrainConfig | None = None, optimizers=("sgd", "adam"),
                 lrs: tuple[float, float] = (1e-4, 10.0), n_lrs: int = 16):
        if config is not None and not isinstance(config, TrainConfig):
            raise ValueError(f"config: must be a TrainConfig, got {type(config).__name__}")
        names = list(optim.OPTIMIZERS)
        optim.check_names(optimizers)  # before anything is built: a filter would drop a name silently
        if not isinstance(lrs, (list, tuple)) or len(lrs) != 2:
            raise ValueError(f"lrs: must be (lowest, highest) learning rate, got {lrs!r}"[:200])
        check_number("lrs", lrs[0], 1e-6, 10 ** LR_LOG10[1])
        check_number("lrs", lrs[1], lrs[0], 10 ** LR_LOG10[1], lo_open=True)
        check_number("n_lrs", n_lrs, 2, 128, integer=True)
        self.base = config or TrainConfig(max_epochs=50)
        self.base.validate()
        self.result = None
        self.test = None
        self.optimizers = W.SelectMultiple(options=names, value=tuple(optimizers), rows=min(len(names), 8),
                                           description="optimizers", layout=W.Layout(width="300px"))
        # log10 of the learning rates; the readout beside it says them as learning rates
        self.lr_range = W.FloatRangeSlider(value=(math.log10(lrs[0]), math.log10(lrs[1])), min=-6.0,
                                           max=LR_LOG10[1], step=0.5, description="lr range", readout=False,
                                           layout=W.Layout(width="220px"))
        self.lr_range_readout = W.Label(layout=W.Layout(width="110px"))
        self.lr_range.observe(lambda _: self._show_range(), names="value")
        self._show_range()
        self.n_lrs = W.IntSlider(value=n_lrs, min=2, max=128, description="# lrs", layout=W.Layout(width="330px"))
        self.epochs = W.IntSlider(value=self.base.max_epochs, min=1, max=max(1000, self.base.max_epochs),
                                  description="epochs", layout=W.Layout(width="330px"))
        self.metric = W.Dropdown(options=["final_train_loss", "final_test_loss", "best_test_loss",
                                          "final_test_acc", "best_test_acc"], value="final_train_loss",
                                 description="metric", layout=W.Layout(width="250px"))
        def button():  # a Layout per button (one shared would hide them all with one)
            return W.Layout(width="140px")
        self.run_button = W.Button(description="Sweep", button_style="success", icon="play", layout=button(),
                                   tooltip="train every (optimizer, lr) of the Sweep tab, as one race")
        self.test_optimizer = W.Dropdown(options=names, value=self.base.optimizer if self.base.optimizer in names
                                         else names[0], description="range test", layout=W.Layout(width="300px"))
        self.test_button = W.Button(description="Range test", icon="line-chart", layout=button(),
                                    tooltip="the LR range test of the Range test tab's optimizer")
        # the figure shows ONE chart: the sweep or the range test (each run shows its own)
        self.chart = W.Dropdown(options=[(label, key) for key, label in SWEEP_CHARTS.items()], value="sweep",
                                description="chart", layout=W.Layout(width="220px"))
        self.status = _status()
        self.image = _figure_image()
        self.run_button.on_click(lambda _: self._guard(self.run))
        self.test_button.on_click(lambda _: self._guard(self.range_test))
        self.metric.observe(lambda _: self.redraw(), names="value")
        self.chart.observe(lambda _: self.redraw(), names="value")
        # on a laptop screen (1366 x 768) the controls sit in tabs beside the figure, the buttons and
        # the status line above both (as the race panel)
        sweep_box = W.VBox([self.optimizers, W.HBox([self.lr_range, self.lr_range_readout]), self.n_lrs,
                            self.epochs])
        test_box = W.VBox([self.test_optimizer,
                           W.HTML("One run; the learning rate grows step by step until the loss explodes. "
                                  "Suggested: a tenth of the lr where the smoothed loss is lowest.")])
        self.tabs = W.Tab(children=[sweep_box, test_box])
        for i, title in enumerate(("Sweep", "Range test")):
            self.tabs.set_title(i, title)
        self.tabs.layout = W.Layout(width=f"{COLUMN_PX}px", min_width=f"{COLUMN_PX}px", flex=f"0 0 {COLUMN_PX}px")
        view = W.HBox([self.chart, self.metric], layout=W.Layout(flex_flow="row wrap", align_items="center"))
        figure_side = W.VBox([self.image, view],
                             layout=W.Layout(flex="1 1 auto", min_width="0px", align_items="flex-start"))
        main = W.HBox([self.tabs, figure_side], layout=W.Layout(width="100%", grid_gap="8px"))
        super().__init__([W.HBox([self.run_button, self.test_button]), self.status, main, style()])
        self.add_class("lrlab-sweep-panel")
        self.add_class(PANEL_CLASS)
        self.status.value = "Choose optimizers and a learning-rate range, then press Sweep."

    def _show_range(self) -> None:
        """The range's readout: both ends as learning rates, in one format ('0.0001 – 10')."""
        lo, hi = self.lr_range.value
        self.lr_range_readout.value = lr_range_text(10 ** lo, 10 ** hi)

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
        best = ", ".join(f"{o}: {lr_text(self.result.best_lr(o))}" for o in self.result.optimizers)
        self.status.value = (f"{len(self.result.runs)} runs in one race, {num(self.result.wall_time, '.2f')} s; "
                             f"best lr by best test loss — {best}")
        self._show_chart("sweep")
        return self.result

    def range_test(self, optimizer: str | None = None, num_steps: int = 100):
        """The LR range test for ``optimizer`` (default: the dropdown's) on the panel's config."""
        name = optimizer or self.test_optimizer.value
        self.test = lr_range_test(self.base.replace(optimizer=name, optimizer_params={}), num_steps=num_steps)
        where = f"diverged at lr {lr_text(self.test.diverged_lr)}" if self.test.diverged_lr else "did not diverge"
        sugg = "none" if self.test.suggested_lr is None else lr_text(self.test.suggested_lr)
        self.status.value = (f"range test ({name}): suggested lr <b>{sugg}</b> — {self.test.rule}; {where}")
        self._show_chart("range_test")
        return self.test

    def _guard(self, fn):
        try:
            fn()
        except ValueError as exc:
            self.status.value = f"<b>{html.escape(str(exc))}</b>"

    def _show_chart(self, chart: str) -> None:
        """Show ``chart`` (a key of SWEEP_CHARTS): picked in the dropdown, which redraws, or redrawn."""
        if self.chart.value != chart:
            self.chart.value = chart  # (its observer redraws)
        else:
            self.redraw()

    def redraw(self) -> None:
        """The picked chart, drawn at the size it is shown (SWEEP_SIZE_PX at LIVE_DPI)."""
        if self.result is None and self.test is None:
            return
        width, height = (inches(px, LIVE_DPI) for px in SWEEP_SIZE_PX)
        fig = sweep_figure(self.result, self.test, self.metric.value, width, height, chart=self.chart.value,
                           dpi=LIVE_DPI)
        self.image.show(fig_to_png(fig, fast=True))
