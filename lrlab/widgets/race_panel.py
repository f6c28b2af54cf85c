"""RacePanel (contenders side by side) and SweepPanel (loss against learning rate, range test).

No maths here: the panels call :mod:`lrlab.race` and draw with :mod:`lrlab.plots.race`.
Controls are built from the registries (``lrlab.optim.OPTIMIZERS``, ``lrlab.schedules.SCHEDULES``)
and bounded. ``run(epochs)`` is synchronous (tests, notebooks); ``start()`` trains in a
background thread, redrawing at most ``fps`` times a second (in a second thread), and
``stop()`` ends it at once (the final picture is drawn just after). The constructors'
arguments are checked before anything is built (``ValueError`` naming the argument).
"""
from __future__ import annotations

import html
import math
import threading
import time

import ipywidgets as W

from .. import limits, optim, schedules
from .. import threads as threads_mod
from ..plots import fig_to_png
from ..plots.race import color_of, race_figure, sweep_figure
from ..race import Race, label_of, lr_range_test, parse_lrs, ranking, sweep
from ..train import TrainConfig
from ..checks import check_number

MAX_CONTENDERS = 16
#: redraws per second a panel may ask for at most
MAX_FPS = 120.0
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

    ``config``: the base config (a :class:`~lrlab.train.TrainConfig`); ``contenders``: dicts of
    :meth:`add_contender`'s arguments or TrainConfigs; ``fps``: redraws per second at most while
    racing, in (0, 120]; ``threads``: intra-op threads while racing (default: chosen from the
    work, :mod:`lrlab.threads`). Each is checked here (``ValueError`` naming the argument).

    Threads: ``start()`` races in a background thread (``lrlab-race``) that only trains; at
    most ``fps`` times a second it hands a copy of the runs to a drawer thread
    (``lrlab-race-drawer``). ``stop()`` raises the flag and joins the racing thread (it ends
    within one step) and returns at once; the final picture is drawn just after by the drawer
    (``wait()`` returns once it is on show).

    >>> panel = RacePanel(TrainConfig(max_epochs=20))
    >>> panel.add_contender("sgd", 0.3); panel.add_contender("adam", 0.01, "cosine")
    >>> runs = panel.run(epochs=10)
    """

    def __init__(self, config: TrainConfig | None = None, contenders=None, fps: float = 5.0,
                 threads: int | None = None):
        check_number("fps", fps, 0.0, MAX_FPS, lo_open=True)
        check_number("threads", threads, 1, 1024, integer=True, optional=True)
        if config is not None and not isinstance(config, TrainConfig):
            raise ValueError(f"config: must be a TrainConfig, got {type(config).__name__}")
        if contenders is not None and not isinstance(contenders, (list, tuple)):
            raise ValueError(f"contenders: must be a list of dicts or TrainConfigs, got {type(contenders).__name__}")
        self.base = config or TrainConfig(max_epochs=100)
        self.base.validate()
        self.fps = float(fps)
        self.threads = threads
        self.contenders: list[TrainConfig] = []
        self.race: Race | None = None
        self.runs = []
        self._labels: list[str] = []
        self.error: str | None = None
        self._thread: threading.Thread | None = None  # the racing thread
        self._drawer: threading.Thread | None = None
        self._stop_flag = threading.Event()
        self._frame_ready = threading.Condition()
        self._pending = None
        self._drawer_busy = False
        self._drawer_quit = False
        self.frames_drawn = 0
        self.last_stop_call: float | None = None
        self.optimizer = W.Dropdown(options=list(optim.OPTIMIZERS), value="adam", description="optimizer")
        self.lr = W.FloatLogSlider(value=0.01, base=10, min=LR_LOG10[0], max=LR_LOG10[1], step=0.25,
                                   description="lr", readout_format=".2g")
        self.schedule = W.Dropdown(options=list(schedules.SCHEDULES), value="constant", description="schedule")
        self.add_button = W.Button(description="Add contender", icon="plus")
        self.list = W.Select(options=[], rows=6, description="contenders")
        self.remove_button = W.Button(description="Remove", icon="minus")
        # the epoch budget: the base config's, shown exactly (the slider's range widens to hold it)
        self.epochs = W.IntSlider(value=self.base.max_epochs, min=1, max=max(2000, self.base.max_epochs),
                                  description="epochs")
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
        self._set_status("Add contenders, then press Race." if not self.contenders else
                         f"{len(self.contenders)} contenders ready.")

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

    # -- running ---------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def _prepare(self, epochs):
        if not self.contenders:
            raise ValueError("contenders: add at least one contender before racing")
        epochs = self.epochs.value if epochs is None else epochs
        check_number("epochs", epochs, 1, limits.MAX_EPOCHS, integer=True)
        self.race = Race(self.contenders, int(epochs))
        self._labels = self.labels
        return self.race

    def race_threads(self, race: Race) -> int:
        """Intra-op threads for ``race`` (``self.threads`` if set, else chosen from the work)."""
        return race.threads(self.threads)

    def run(self, epochs: int | None = None):
        """Race the contenders synchronously to the end; returns the runs (the configs' order),
        with the final picture drawn."""
        self.stop()
        self.wait()
        race = self._prepare(epochs)
        with threads_mod.engine_threads(self.race_threads(race)):
            while not race.done:
                race.epoch()
        self.runs = race.runs
        self.redraw()
        return self.runs

    def start(self, epochs: int | None = None) -> threading.Thread:
        """Race in a background thread (the kernel stays free); redraws at most ``fps`` per second."""
        if self.is_running:
            return self._thread
        self.wait()  # the previous race's final picture is on show; its drawer has ended
        race = self._prepare(epochs)
        self._stop_flag.clear()
        self._pending, self._drawer_busy, self._drawer_quit = None, False, False
        self.error = None
        self._thread = threading.Thread(target=self._race_loop, args=(race,), name="lrlab-race", daemon=True)
        self._drawer = threading.Thread(target=self._draw_loop, name="lrlab-race-drawer", daemon=True)
        self._drawer.start()
        self._thread.start()
        self._set_status(f"racing: {len(self.contenders)} contenders")
        return self._thread

    def _race_loop(self, race: Race) -> None:
        """The racing thread: epochs until done or Stop; a copy of the runs for the drawer when one is due."""
        interval, next_frame = 1.0 / self.fps, 0.0
        labels = list(self._labels)
        try:
            with threads_mod.engine_threads(self.race_threads(race)):
                while not race.done:
                    race.epoch(self._stop_flag.is_set)
                    now = time.perf_counter()
                    if now >= next_frame and not self._drawer_busy and not race.done:
                        next_frame = now + interval
                        self._hand_over((_copies(race.runs), labels, False, race.epoch_index, race.steps))
        except Exception as exc:  # shown, never raised into the thread's void
            self.error = f"{type(exc).__name__}: {exc}"
            self._set_status(f"error: {html.escape(self.error)}")
        finally:
            try:
                self.runs = race.runs
                # the race is over: nothing changes its runs any more, the drawer may read them as they are
                self._hand_over((self.runs, labels, True, race.epoch_index, race.steps))
            finally:
                with self._frame_ready:
                    self._drawer_quit = True
                    self._frame_ready.notify()

    def _hand_over(self, frame) -> None:
        with self._frame_ready:
            self._pending = frame
            self._drawer_busy = True
            self._frame_ready.notify()

    def _draw_loop(self) -> None:
        """The drawer thread: draw what the racing thread hands over; end after its last frame."""
        while True:
            with self._frame_ready:
                while self._pending is None and not self._drawer_quit:
                    self._frame_ready.wait(0.5)
                frame, self._pending = self._pending, None
                if frame is None:
                    return
            try:
                self._render(*frame)
            except Exception as exc:  # a drawing problem is shown, never raised into the void
                self.error = f"drawing failed: {type(exc).__name__}: {exc}"
                self._set_status(f"error: {html.escape(self.error)}")
            finally:
                self._drawer_busy = False

    def stop(self) -> None:
        """End the race now: returns once the racing thread has ended (within one step); the
        final picture is drawn just after, in the background (``wait()`` waits for it)."""
        t0 = time.perf_counter()
        self._stop_flag.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            was_running = t.is_alive()
            t.join()
            if was_running:
                self.last_stop_call = time.perf_counter() - t0
                e = self.race.epoch_index if self.race is not None else 0
                if self._drawer is not None and self._drawer.is_alive():
                    self._set_status(f"stopped by you at epoch {e}; drawing the final picture")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the race has ended and its final picture is drawn (or ``timeout`` s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for th in (self._thread, self._drawer):
            if th is not None and th is not threading.current_thread():
                th.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
                if th.is_alive():
                    return False
        return True

    def close(self) -> None:
        """Stop any race, wait for its threads, and close the widgets."""
        if "_stop_flag" not in self.__dict__:  # refused by the constructor: nothing was built
            return
        self.stop()
        self.wait()
        for w in (self.optimizer, self.lr, self.schedule, self.add_button, self.list, self.remove_button,
                  self.epochs, self.run_button, self.stop_button, self.status, self.table, self.image):
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
        self._render(self.runs, self._labels, race is None or race.done,
                     race.epoch_index if race is not None else 0, race.steps if race is not None else 0)

    def _render(self, runs, labels, done: bool, epoch: int, steps: int) -> None:
        if not runs:
            return
        fig = race_figure(runs, labels, width=15, height=7.5)
        self.image.value = fig_to_png(fig, fast=True)
        self.table.value = ranking_html(ranking(runs, labels))
        stopped = any(r.stop_reason == "stopped_by_user" for r in runs)
        state = ("stopped by you" if stopped else "finished") if done else "racing"
        self._set_status(f"{state}: {len(runs)} contenders, epoch {epoch}, {steps} batched steps")
        self.frames_drawn += 1


def _copies(runs) -> list:
    """The runs as they are now, copied (history, weights), so that a drawer may draw them while racing goes on."""
    import copy
    import dataclasses
    return [dataclasses.replace(r, model=copy.deepcopy(r.model), history=copy.deepcopy(r.history),
                                best_metrics=dict(r.best_metrics)) for r in runs]


class SweepPanel(W.VBox):
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
        self.optimizers = W.SelectMultiple(options=names, value=tuple(optimizers),
                                           rows=min(len(names), 8), description="optimizers")
        self.lr_range = W.FloatRangeSlider(value=(math.log10(lrs[0]), math.log10(lrs[1])), min=-6.0,
                                           max=LR_LOG10[1], step=0.5, description="log10 lr")
        self.n_lrs = W.IntSlider(value=n_lrs, min=2, max=128, description="# lrs")
        self.epochs = W.IntSlider(value=self.base.max_epochs, min=1, max=max(1000, self.base.max_epochs),
                                  description="epochs")
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
