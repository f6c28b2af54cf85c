"""The live training panel: pick a dataset, a network, an optimizer and a schedule, press Start.

``TrainingPanel(**config)`` composes the pickers of :mod:`lrlab.widgets.pickers` with the
buttons Start, Pause/Resume, Stop, Step (one epoch), Reset and Save, a status line
(``HTML``, class ``lrlab-status``) and a live figure (``Image``, class ``lrlab-figure``)
drawn by :class:`lrlab.plots.training.LiveTrainingFigure`.

Threads: the machinery is a :class:`lrlab.widgets.runner.Runner` (``panel.runner``); the
panel is its display (controls, status line, figure). Start trains in a background thread
(the *worker*) so the kernel stays responsive; the worker polls the stop flag before every
mini-batch (the engine's ``should_stop``), so Stop acts within one step. Pause ends the
worker at the end of the epoch going on and keeps the run; Resume starts a new worker on the
same run. A second thread (the *drawer*) publishes frames: every ``1 / max_fps`` seconds at
most, the worker snapshots the numbers between two epochs
(:func:`lrlab.plots.training.live_frame`) and hands them over; the drawer sends them to the
kernel's renderer process (:mod:`lrlab.plots.render_process`: matplotlib holds the GIL while
drawing, a process does not take it from training) and waits for the PNG, or draws here
where no renderer runs. Drawing never paces training (a frame is skipped while the drawer is
busy); a run that ends by itself shows its final frame. The network view, when shown, is
redrawn by a third, slow thread beside the worker (the runner's *companion*). Changing a
control applies at the next Start (or Reset / Step of a new run); the status line says so.

Stop (and Pause) return at once: they raise the flag, join the worker (Stop: within one
training step) and say so on the status line; a frame in flight is abandoned, and the final
frame (the stopped run, its best weights restored) is drawn *after* the click returns, in
the background (by the drawer if it is still at work, else by a short thread,
``lrlab-trainer-final-frame``). Every other action (Start, Reset, Step, Save, ``run``,
``set_config``, ``close``) first waits for it, so no loop is ever left running and a final
frame is never lost or drawn over a newer one; ``panel.wait()`` returns once it is on show.

Threads for the arithmetic: the worker (and ``run``/``step``) train inside
``lrlab.threads.engine_threads(lrlab.threads.resolve(panel.threads, rows, parameters))``:
one intra-op thread for small networks (many times faster on a busy machine), more only
where a step has enough work; ``TrainingPanel(threads=N)`` overrides it.

``panel.run(epochs=N)`` trains synchronously (deterministic: same controls, same run) and
returns with its final frame drawn, for notebooks and tests; ``panel.is_running`` and
``panel.wait(timeout)`` help tests.

What it is given, it keeps: the constructor's arguments are checked before any thread
exists (``ValueError('max_fps: ...')``), and a config loaded from a share string, a preset
or :meth:`TrainingPanel.set_config` is shown exactly by the controls (their ranges widen to
hold it) or refused with a message naming each field the panel cannot show; the panel never
trains another config than the one it names.
"""
from __future__ import annotations

import html
import io
import os
import threading
import time
from dataclasses import fields
from typing import Optional

import ipywidgets as widgets
import numpy as np
import torch

from .. import safeio
from ..plots import render_process
from ..engine import norm_columns
from ..plots.training import CHARTS, LiveTrainingFigure, live_frame
from .style import PANEL_CLASS, style
from ..rules import best_rule
from ..train import Run, TrainConfig, Trainer
from .extras import CsvUpload, ExportButtons, NetworkView, PresetPicker, ShareBox
from .pickers import LABEL, DatasetPicker, NetworkPicker, OptimizerPicker, SchedulePicker, StopPicker
from .frameview import FrameView, PictureRepr
from .runner import MAX_PACE, Runner, RunnerPanel, check_threads
from .text import lr_text, num as _num, pct as _pct
from ..checks import check_number

BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
#: the batch-size dropdown's value for full batch (``batch_size=None``): never None itself, which
#: ipywidgets takes for "nothing selected" (the browser then shows a blank dropdown)
FULL_BATCH = "full batch"
_KEEP = object()  # _update_batch_options: keep the dropdown's current choice
#: frames per second a live panel may draw at most (``max_fps`` is in ``(0, MAX_FPS]``)
MAX_FPS = 120.0
#: the longest folder name the Save box takes
MAX_FOLDER_CHARS = 4096


#: the speeds offered while drawing live (epochs per second at most; None: as fast as it can).
#: A learner follows the boundary forming at a hundred epochs a second, as in TensorFlow
#: Playground, and a shared classroom host keeps four such panels at their pace with frames to
#: spare (lrlab bench --only classroom); flat out, four of them share its cores.
SPEEDS = ((30.0, "30 epochs/s"), (100.0, "100 epochs/s"), (300.0, "300 epochs/s"), (1000.0, "1000 epochs/s"),
          (None, "as fast as it can"))
DEFAULT_SPEED = 100.0
#: px wide the figure's place is drawn for (LiveTrainingFigure's default 6 in at 88 dpi, beside
#: the 380 px column of controls in a notebook ~930 px wide); the network view fits it too
FIGURE_WIDTH_PX = 528
_FLAT_OUT = 0.0  # the speed dropdown's value for None (never None itself: a blank dropdown)


def check_speed(value):
    """A panel's speed: None (as fast as it can) or epochs per second in ``(0, MAX_PACE]``."""
    return check_number("speed", value, 0.0, MAX_PACE, lo_open=True, optional=True)


def check_panel_arguments(max_fps, live, save_dir, threads, speed=None) -> None:
    """``ValueError('argument: ...')`` for a bad panel argument (before anything is built)."""
    check_number("max_fps", max_fps, 0.0, MAX_FPS, lo_open=True)
    check_speed(speed)
    if not isinstance(live, bool):
        raise ValueError(f"live: must be True or False, got {live!r}"[:200])
    if not isinstance(save_dir, str) or "\0" in save_dir or len(save_dir) > MAX_FOLDER_CHARS:
        raise ValueError(f"save_dir: must be a folder name (text, no NUL, at most {MAX_FOLDER_CHARS} characters), "
                         f"got {save_dir!r}"[:200])
    check_threads(threads)


def config_from_arguments(config: dict) -> TrainConfig:
    """The panel's keyword arguments as a validated TrainConfig (``ValueError`` naming the argument)."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(k for k in config if k not in known)
    if unknown:
        raise ValueError(f"{unknown[0]}: not an argument of the panel nor a TrainConfig field; "
                         f"the panel takes max_fps, live, save_dir, threads, speed and {', '.join(sorted(known))}")
    try:
        base = TrainConfig(**config)
    except (TypeError, AttributeError) as exc:  # (TrainConfig leaves wrong types to validate())
        raise ValueError(f"config: {exc}"[:300]) from None
    base.validate()
    return base


def differing_fields(wanted: TrainConfig, got: TrainConfig) -> list[str]:
    """The fields of ``wanted`` that ``got`` does not hold (as 'field: given X, the controls give Y')."""
    out = []
    for f in fields(TrainConfig):
        a, b = getattr(wanted, f.name), getattr(got, f.name)
        if a != b:
            out.append(f"{f.name} (given {a!r}, the controls give {b!r})")
    return out


def device_options() -> tuple[list[str], str]:
    """The devices offered, and a note: cuda only where ``torch.cuda.is_available()``."""
    if torch.cuda.is_available():
        return ["cpu", "cuda", "auto"], f"GPU: {html.escape(torch.cuda.get_device_name(0))}"
    return ["cpu", "auto"], "cuda is disabled: no CUDA GPU here (torch.cuda.is_available() is False)"


#: live frames per second at most, by default: smooth to the eye, and with frames of ~13-16 kB
#: (the data points sent once as an overlay) under ~300 kB/s to each learner's browser
#: (lrlab bench --only browser)
DEFAULT_FPS = 18.0


class TrainingPanel(PictureRepr, RunnerPanel, widgets.VBox):
    """The full training panel. Keyword arguments are :class:`~lrlab.train.TrainConfig` fields.

    ``max_fps``: live frames per second at most, in (0, 120]; ``live``: draw while training;
    ``speed``: epochs per second at most while drawing live (None: as fast as it can; default
    :data:`DEFAULT_SPEED`, the Run tab's *speed*; without live drawing a run goes flat out);
    ``save_dir``: the Save button's folder; ``threads``: intra-op threads while training
    (default: chosen from the work, see :mod:`lrlab.threads`). Each is checked here, before
    any widget or thread exists (``ValueError`` naming the argument).

    >>> panel = TrainingPanel(dataset="spiral", optimizer="adam", lr=0.01, max_epochs=100)
    >>> run = panel.run(epochs=50)        # synchronous, deterministic
    >>> panel.start(); panel.stop()        # what the buttons do
    """

    def __init__(self, max_fps: float = DEFAULT_FPS, live: bool = True, save_dir: str = "lrlab_runs",
                 threads: int | None = None, speed: float | None = DEFAULT_SPEED, **config):
        check_panel_arguments(max_fps, live, save_dir, threads, speed)
        base = config_from_arguments(config)
        self.base_config = base
        self.runner = self._build_runner(max_fps, threads)  # the threads (lrlab.widgets.runner); none started
        self.data_picker = DatasetPicker(base)
        self.network_picker = NetworkPicker(base)
        self.optimizer_picker = OptimizerPicker(base)
        self.schedule_picker = SchedulePicker(base)
        self.stop_picker = StopPicker(base)
        options, note = device_options()
        self.device = widgets.Dropdown(options=options, value=base.device if base.device in options else "cpu",
                                       description="device", style=LABEL)
        self.device_note = widgets.HTML(note)
        self.batch_size = widgets.Dropdown(description="batch size", style=LABEL)
        self._update_batch_options(base.batch_size)
        self.live = widgets.Checkbox(value=live, description="draw while training", indent=False)
        self.speed_box = widgets.Dropdown(options=[], description="speed", style=LABEL,
                                          layout=widgets.Layout(width="300px"))
        self.speed = speed  # (the setter fills the dropdown)
        self.live.observe(lambda _: self._apply_pace(), names="value")
        self.speed_box.observe(lambda _: self._apply_pace(), names="value")
        self.folder = widgets.Text(value=save_dir, description="save to folder", style=LABEL,
                                   layout=widgets.Layout(width="340px"))

        self.buttons = {}
        for name, icon, tip in (("Start", "play", "train a new run from the controls"),
                                ("Pause", "pause", "pause / resume this run"),
                                ("Stop", "stop", "end this run (its best weights are restored)"),
                                ("Step", "step-forward", "train one epoch"),
                                ("Reset", "undo", "a fresh, untrained network from the controls"),
                                ("Save", "save", "run to JSON and figure to PNG in the folder")):
            b = widgets.Button(description=name, icon=icon, tooltip=tip, layout=widgets.Layout(width="96px"))
            self.buttons[name] = b
        self.start_button, self.pause_button = self.buttons["Start"], self.buttons["Pause"]
        self.stop_button, self.step_button = self.buttons["Stop"], self.buttons["Step"]
        self.reset_button, self.save_button = self.buttons["Reset"], self.buttons["Save"]
        self.start_button.button_style = "success"
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.toggle_pause())
        self.stop_button.on_click(lambda _: self.stop())
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.save_button.on_click(lambda _: self.save())

        self.status = widgets.HTML()
        self.status.add_class("lrlab-status")
        # the live figure: the browser acknowledges each frame (a slow link never queues frames)
        self.image = FrameView(layout=widgets.Layout(width="auto", max_width="100%"))
        self.image.add_class("lrlab-figure")
        self._build_extras(save_dir)

        run_box = widgets.VBox([self.stop_picker, self.batch_size, widgets.HBox([self.device, self.device_note]),
                                self.live, self.speed_box])
        save_box = widgets.VBox([widgets.HTML("<b>Save</b> (button above): the run as JSON, the figure as PNG"),
                                 self.folder, widgets.HTML("<b>Export the network</b>"), self.export_buttons,
                                 widgets.HTML("<b>Share</b>"), self.share_box])
        data_box = widgets.VBox([self.data_picker, self.csv_upload])  # your CSV: the Data tab's last row
        self.tabs = widgets.Tab(children=[data_box, self.network_picker, self.optimizer_picker,
                                          self.schedule_picker, run_box, save_box])
        for i, title in enumerate(("Data", "Network", "Optimizer", "Schedule", "Run", "Save")):
            self.tabs.set_title(i, title)
        # one row each above and under the figure (a wrapped row made a panel taller than a screen):
        # Training | Network and the lower chart above, the two drawing options under it
        self.view_options = widgets.HBox([self.show_test, self.discretize],
                                         layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.top_row = widgets.HBox([self.shown_view, self.chart], layout=widgets.Layout(align_items="center"))
        # on a laptop screen (1366 x 768) the controls sit beside the figure, the buttons and the
        # status line above both: the whole panel fits one screen (the network view takes the figure's place when picked)
        self.tabs.layout = widgets.Layout(width="380px", min_width="380px", flex="0 0 380px")
        # (the figure's own element is shown and hidden by its front end: a box around it is not)
        self.figure_box = widgets.VBox([self.image, self.view_options],
                                       layout=widgets.Layout(align_items="flex-start", min_width="0px"))
        figure_side = widgets.VBox([self.top_row, self.figure_box, self.network_view],
                                   layout=widgets.Layout(flex="1 1 auto", min_width="0px", align_items="flex-start"))
        # (no wrap: where a few px are missing the figure shrinks a little rather than drop below)
        main = widgets.HBox([self.tabs, figure_side], layout=widgets.Layout(width="100%", grid_gap="8px"))
        # children[1] is the row of buttons (the browser test finds them there)
        super().__init__([self.presets, widgets.HBox(list(self.buttons.values())), self.status, main, style()])
        self.add_class("lrlab-training-panel")
        self.add_class(PANEL_CLASS)

        self._lock = threading.RLock()  # guards trainer swaps and the runner's actions
        self.trainer: Optional[Trainer] = None
        self.figure: Optional[LiveTrainingFigure] = None
        self.error: Optional[str] = None
        self.frames_drawn = 0
        self.remote = render_process.RemoteFigure()  # the live figure as the renderer process draws it
        self._steps_rate = None
        self._rate_mark = (0.0, 0)  # (time, steps) where the steps/s window began
        self._controls_changed = False
        self._net_lock = threading.Lock()
        self._overlay_lock = threading.Lock()
        self._overlay = (None, None, b"")  # (figure, show test data, its points overlay)
        self._net_key = None
        self.network_interval = 0.75  # s between live network-view redraws (each costs ~0.2-0.5 s)

        self._dataset_shown = (base.dataset, base.classes)  # a dataset picked in the dropdown brings its defaults
        self.data_picker.on_change(self._data_changed)
        for picker in (self.network_picker, self.optimizer_picker, self.schedule_picker, self.stop_picker):
            picker.on_change(self._control_changed)
        for w in (self.device, self.batch_size):
            w.observe(self._control_changed, names="value")
        self._sync_schedule_context()
        unshown = differing_fields(base, self.config())
        if unshown:  # a safety net: the controls widen to hold every value validate() accepts
            raise ValueError(f"{unshown[0].split(' ', 1)[0]}: the panel's controls cannot show "
                             f"{'; '.join(unshown)}")
        self.reset()
        self._refresh_extras()

    @property
    def max_fps(self) -> float:
        """Live frames per second at most (in (0, 120]; checked when set)."""
        return self.runner.max_fps

    @max_fps.setter
    def max_fps(self, value: float) -> None:
        self.runner.max_fps = check_number("max_fps", value, 0.0, MAX_FPS, lo_open=True)

    @property
    def speed(self) -> float | None:
        """Epochs per second at most while drawing live (None: as fast as it can); the Run tab's
        *speed*. Any value in ``(0, MAX_PACE]`` is taken (the dropdown gains it)."""
        v = self.speed_box.value
        return None if v == _FLAT_OUT else v

    @speed.setter
    def speed(self, value: float | None) -> None:
        value = check_speed(value)
        options = [(label, _FLAT_OUT if v is None else v) for v, label in SPEEDS]
        if value is not None and value not in [v for _, v in options]:
            options = sorted(options[:-1] + [(f"{_num(value, 'g')} epochs/s", float(value))], key=lambda o: o[1]) + options[-1:]
        self.speed_box.options = options
        self.speed_box.value = _FLAT_OUT if value is None else float(value)
        self._apply_pace()

    def _apply_pace(self) -> None:
        """The runner's pace: the speed while drawing live; flat out without live drawing."""
        self.runner.pace = self.speed if self.live.value else None

    # ------------------------------------------------------------------ the embedded extras
    def _build_extras(self, save_dir: str) -> None:
        """Presets, CSV upload, share string, export, network view, drawing options (lrlab.widgets.extras)."""
        self.presets = PresetPicker(on_pick=self._preset_picked)
        self.presets.sentence.remove_class("lrlab-status")  # the panel's status line stays the first one
        self.presets.sentence.add_class("lrlab-preset-note")
        self.csv_upload = CsvUpload(on_load=self._csv_loaded, test_fraction=self.base_config.test_fraction,
                                    seed=self.base_config.seed)
        self.share_box = ShareBox(on_load=self._share_loaded)
        self.export_buttons = ExportButtons(source=lambda: self.trainer,
                                            folder=os.path.join(save_dir, "export"))
        self.network_view = NetworkView(width_px=FIGURE_WIDTH_PX)
        self.network_view.layout.display = "none"
        # what the figure's place shows: the training figure, or the network (its graph, each
        # neuron's output, the confusion matrix), picked, not stacked: the panel stays one screen
        self.shown_view = widgets.ToggleButtons(options=[("Training", "training"), ("Network", "network")],
                                                value="training", style={"button_width": "100px"},
                                                tooltips=["the data, the boundary and the curves",
                                                          "edges by weight, each neuron's output, confusion matrix"])
        self.shown_view.observe(self._network_toggled, names="value")
        self.show_test = widgets.Checkbox(value=True, description="show test data", indent=False,
                                          layout=widgets.Layout(width="150px"))
        self.discretize = widgets.Checkbox(value=False, description="discretize output", indent=False,
                                           layout=widgets.Layout(width="170px"))
        self.chart = widgets.Dropdown(options=[(label, key) for key, label in CHARTS.items()], value="accuracy",
                                      description="lower chart", style={"description_width": "initial"},
                                      layout=widgets.Layout(width="310px"))
        for box in (self.show_test, self.discretize, self.chart):
            box.observe(self._view_option_changed, names="value")
        self.data_picker.regenerate_button.on_click(lambda _: self._regenerated())

    def _figure_options(self) -> dict:
        return {"show_test": bool(self.show_test.value), "discrete": bool(self.discretize.value),
                "chart": self.chart.value}

    def _refresh_extras(self) -> None:
        """The share string of the current controls; the CSV parser's split follows the controls."""
        try:
            config = self.config()
            self.share_box.set_config(config)
            self.csv_upload.test_fraction = config.test_fraction
            self.csv_upload.seed = config.seed if config.data_seed is None else config.data_seed
        except (ValueError, TypeError) as exc:  # a half-set control: the share string waits
            self.share_box.status.value = html.escape(str(exc))

    def _preset_picked(self, config: TrainConfig) -> None:
        try:
            self.set_config(config)
        except ValueError as exc:
            self._set_status(self._status_text(note=f"this preset cannot be loaded: {exc}"))

    def _share_loaded(self, config: TrainConfig) -> None:
        try:
            self.set_config(config)
        except ValueError as exc:
            self.share_box.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"

    def _csv_loaded(self, dataset, path: str) -> None:
        from .. import csvdata
        config = csvdata.config_for(self.config(), dataset, path)
        n_train = dataset.X_train.shape[0]
        if config.batch_size is not None and config.batch_size > n_train:
            config = config.replace(batch_size=None)
        try:
            self.set_config(config)
        except ValueError as exc:
            self.csv_upload.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            return
        self.tabs.selected_index = 0  # show the Data tab: it now says "data: your CSV"

    def _regenerated(self) -> None:
        if not self.is_running:
            self.reset()  # show the new data at once

    def _view_option_changed(self, *_):
        if not self.is_running and self.trainer is not None:
            self.draw_now()  # while training, the next frame carries the options

    # -- the network view: drawn only while it is shown (it costs ~0.2-0.5 s)
    @property
    def network_visible(self) -> bool:
        return self.shown_view.value == "network"

    def _network_toggled(self, *_):
        network = self.network_visible
        self.network_view.layout.display = "" if network else "none"
        self.figure_box.layout.display = "none" if network else ""
        self.chart.layout.visibility = "hidden" if network else "visible"  # (the figure's own chart)
        if network:
            self.update_network_view()

    def update_network_view(self, force: bool = False) -> bool:
        """Redraw the network view from the current weights (if open, or ``force``). True if drawn.

        It draws the engine's snapshot (``trainer.network_frame``: a copy of the weights and every
        forward pass of the view, taken under the lock). Skipped when it already shows this state
        (same run, epoch and doneness)."""
        t = self.trainer
        if t is None or not (force or self.network_visible):
            return False
        with self._net_lock:
            key = (id(t), t.epoch_index, t.done)
            if key == self._net_key and not force:
                return False
            self.network_view.update(t.network_frame(self.network_view.resolution))
            self._net_key = key
        return True

    def _network_loop(self, running, quit: threading.Event) -> None:
        """The runner's companion, off the training path: every ``network_interval`` s, if the view
        is open, redraw it; once more when the run has ended by itself (not on Stop / Pause: the
        final frame does it)."""
        last, gap = 0.0, self.network_interval
        while running() and not quit.wait(0.05):
            if self.network_visible and time.perf_counter() - last >= gap:
                t0 = time.perf_counter()
                if self.update_network_view():
                    last = time.perf_counter()
                    gap = max(self.network_interval, 2 * (last - t0))  # drawing <= 1/3 of the time
        if not quit.is_set():
            self.update_network_view()  # the run ended by itself: its final (best) weights

    # ------------------------------------------------------------------ config
    def set_config(self, config: TrainConfig) -> TrainConfig:
        """Set every control from ``config``; afterwards ``panel.config() == config``.

        Any run is stopped and the fresh, untrained network of ``config`` is shown (Start
        trains it: the same run as ``lrlab.train.train(config)``). Fields without a control
        (``min_delta``, ``divergence_factor``, ``dtype``, ``history_capacity``) are kept from
        ``config``. Raises ``ValueError`` for an invalid config, and for one the controls
        cannot show exactly (naming each such field); nothing is changed then, a run going on
        goes on.
        """
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config: must be a TrainConfig, got {type(config).__name__}")
        config.validate()
        if config.device not in self.device.options:
            raise ValueError(f"device: this panel offers {', '.join(self.device.options)}, got {config.device!r}")
        with self._lock:
            previous_base, previous = self.base_config, self.config()
            self._apply_controls(config)
            unshown = differing_fields(config, self.config())
            if unshown:  # never train another config than the one named: refuse, keep the previous one
                self._apply_controls(previous)
                self.base_config = previous_base
                raise ValueError(f"{unshown[0].split(' ', 1)[0]}: the panel cannot show {'; '.join(unshown)}; "
                                 f"it keeps its previous configuration (train this one with lrlab.train.train "
                                 f"or `lrlab train`)")
            self._halt(cut=True)
            self._controls_changed = False
            self.reset()
            self._refresh_extras()
            return self.config()

    def _apply_controls(self, config: TrainConfig) -> None:
        """Every control from ``config``, quietly (no reset, no "controls changed")."""
        self._quiet = True
        try:
            self.base_config = config
            self._dataset_shown = (config.dataset, config.classes)
            for picker in (self.stop_picker, self.data_picker, self.network_picker, self.optimizer_picker,
                           self.schedule_picker):
                picker.set_config(config)
            self.device.value = config.device
            self._update_batch_options(config.batch_size)  # full batch (None) is always an option
            self._sync_schedule_context()
        finally:
            self._quiet = False

    def _update_batch_options(self, value=_KEEP) -> None:
        """The batch sizes below the training set's size (and ``value``'s), full batch first; shows
        ``value`` (a batch size, or None for full batch; default: the current choice), or full batch
        where it no longer fits the data. The value is always one of the options."""
        n_train = self.data_picker.n_train
        current = self.batch_size_value if value is _KEEP else value
        sizes = {b for b in BATCH_SIZES if b < n_train}
        if isinstance(current, int) and not isinstance(current, bool) and 1 <= current <= n_train:
            sizes.add(current)  # e.g. a shared config's batch size of 50
        options = [(FULL_BATCH, FULL_BATCH)] + [(str(b), b) for b in sorted(sizes)]
        chosen = current if current in sizes else FULL_BATCH
        if [tuple(o) for o in self.batch_size.options] == options and self.batch_size.value == chosen:
            return
        quiet, self._quiet = getattr(self, "_quiet", False), True  # the caller says what changed
        try:
            self.batch_size.options = options  # (ipywidgets keeps the value if it is still an option)
            self.batch_size.value = chosen
        finally:
            self._quiet = quiet

    @property
    def batch_size_value(self):
        """The batch size the dropdown shows: an int, or None for full batch."""
        value = self.batch_size.value
        return None if value == FULL_BATCH or value is None else value

    def _sync_schedule_context(self) -> None:
        self.schedule_picker.set_context(float(self.optimizer_picker.lr.value),
                                         int(self.stop_picker.max_epochs.value))

    def config_changes(self) -> dict:
        changes = {}
        for picker in (self.data_picker, self.network_picker, self.optimizer_picker, self.schedule_picker,
                       self.stop_picker):
            changes.update(picker.config_changes())
        changes["device"] = self.device.value
        changes["batch_size"] = self.batch_size_value
        return changes

    def config(self) -> TrainConfig:
        """The TrainConfig the controls describe now (what the next Start will train)."""
        return self.base_config.replace(**self.config_changes())

    def _data_changed(self, *_):
        """A data control changed. A dataset picked in the dropdown (not by a config, a preset or a
        CSV) brings its defaults (:mod:`lrlab.defaults`) to each of the network, max epochs and
        samples controls that still holds the previous dataset's default (one the learner changed stays)."""
        old = self._dataset_shown
        new = (self.data_picker.dataset.value, int(self.data_picker.classes.value))
        self._dataset_shown = new
        if new != old and not getattr(self, "_quiet", False) and self.data_picker.csv_path is None:
            self._follow_defaults(old, new)
        self._control_changed()

    def _follow_defaults(self, old: tuple, new: tuple) -> None:
        """``old``, ``new``: (dataset, classes) shown before and now."""
        from .. import defaults
        net = self.network_picker.config_changes()
        current = {"hidden": net["hidden"], "activation": net["activation"],
                   "max_epochs": int(self.stop_picker.max_epochs.value), "n_samples": int(self.data_picker.n_samples.value),
                   "noise": float(self.data_picker.noise.value)}
        changes = defaults.follow(current, old[0], new[0], old[1], new[1])
        quiet, self._quiet = getattr(self, "_quiet", False), True  # one "controls changed" for them all
        try:
            if "hidden" in changes or "activation" in changes:
                self.network_picker.set_config(self.network_picker.config().replace(
                    **{k: changes[k] for k in ("hidden", "activation") if k in changes}))
            if "max_epochs" in changes:
                self.stop_picker.max_epochs.value = changes["max_epochs"]
            with self.data_picker.muted():  # (a default lies within the sliders' ranges)
                for name in ("n_samples", "noise"):
                    if name in changes:
                        getattr(self.data_picker, name).value = changes[name]
        finally:
            self._quiet = quiet

    def _control_changed(self, *_):
        if getattr(self, "_quiet", False):
            return
        self._update_batch_options()
        self._sync_schedule_context()
        if hasattr(self, "share_box"):
            self._refresh_extras()
        if self.trainer is not None and self.trainer.epoch_index > 0 and not self.trainer.done:
            self._controls_changed = True
            self._set_status(self._status_text(note="controls changed: they apply at the next Start"))
        elif self.trainer is not None and self.trainer.epoch_index == 0 and not self.is_running:
            self.reset()  # nothing trained yet: show the new network / data at once

    # ------------------------------------------------------------------ state
    @property
    def run_result(self) -> Optional[Run]:
        return None if self.trainer is None else self.trainer.run

    @property
    def history(self):
        return None if self.trainer is None else self.trainer.history

    # ------------------------------------------------------------------ building a run
    def _new_trainer(self) -> Optional[Trainer]:
        try:
            config = self.config()
            trainer = Trainer(config, norms=True)  # per-layer norms as history columns (bounded with it)
        except ValueError as exc:
            self.error = str(exc)
            self._set_status(f"<b style='color:#D55E00'>cannot train this configuration</b>: {html.escape(str(exc))}")
            return None
        self.error = None
        self.runner.attach(trainer, stop=trainer.stop)
        self.trainer = trainer
        self._controls_changed = False
        n_layers = len(trainer.model.sizes) - 1
        self._n_layers = n_layers
        self.figure = LiveTrainingFigure(trainer.dataset, n_layers, config.max_epochs)
        self.figure.split_points = True  # live frames without the data points: the browser's overlay
        self._steps_rate = None
        return trainer

    def norms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(epochs [T], weight norms [T, L], gradient norms [T, L]) kept so far (copies): the run's
        norm columns (:func:`lrlab.engine.norm_columns`; evenly spaced rows of its bounded
        history), and always the latest epoch."""
        h, L = self.trainer.history, self._n_layers
        columns = ["epoch", *norm_columns(L)]
        rows = np.column_stack([h[c] for c in columns]).reshape(-1, len(columns))
        if h.last is not None and (not len(rows) or rows[-1, 0] != h.last["epoch"]):
            rows = np.vstack([rows, [[h.last[c] for c in columns]]])
        return rows[:, 0].astype(np.int64), rows[:, 1:1 + L], rows[:, 1 + L:]

    def _snapshot(self, final: bool = False) -> dict:
        """The numbers of the current state (call between epochs, from the thread that trains);
        ``final``: the last frame of a run (or of a stop / pause), marked ``frame["final"]``."""
        frame = live_frame(self.trainer, self.figure.grid_points, norms=self.norms())
        frame["taken_at"] = time.time()  # (the browser shows how old the frame on show is)
        frame["status"] = self._status_text()
        frame["options"] = self._figure_options()
        if final:
            frame["final"] = True
        return frame

    def _draw(self, frame: dict, png: bytes | None = None) -> None:
        """Publish ``frame``: ``png`` drawn by the renderer process, or rendered here (any thread; one at a time)."""
        if png is None:
            fig = self.figure
            fig.update(frame)
            png = fig.png()
        # a live frame leaves the data points out: the browser lays them over it
        overlay = self._points_overlay(frame["options"]["show_test"]) if self.figure.omits_points(frame) else b""
        self.image.show(png, stamp=frame.get("taken_at"), overlay=overlay)
        self.frames_drawn += 1
        self.frame_epoch = frame.get("epochs_done")
        self._set_status(frame["status"])

    def _points_overlay(self, show_test: bool) -> bytes:
        """The data points of this run's figure as the browser's overlay (:meth:`LiveTrainingFigure.
        points_overlay_png`), made once per figure and ``show test data`` setting (the frame's)."""
        fig = self.figure
        with self._overlay_lock:
            made_for, shown, png = self._overlay
            if made_for is not fig or shown != show_test:  # (the figure itself is kept: an id could be reused)
                fig.set_options(show_test=show_test)
                png = fig.points_overlay_png()
                self._overlay = (fig, show_test, png)
            return png

    def figure_png(self) -> bytes:
        """The current figure as a well-compressed PNG (for notebooks' saved outputs)."""
        from ..plots import fig_to_png
        self._settle()
        with self._lock:
            png = fig_to_png(self.figure.fig)
            self.figure._background = None
        return png

    def draw_now(self) -> None:
        """Draw the current state synchronously."""
        self._settle()
        if self.trainer is not None:
            self._draw(self._snapshot(final=True))  # (a whole picture: nothing is live)
            self.update_network_view()  # only if open (and not already showing this state)

    # ------------------------------------------------------------------ status
    def _set_status(self, text: str) -> None:
        self.status.value = f"<div class='lrlab-status'>{text}</div>"

    def _status_text(self, note: str | None = None) -> str:
        t = self.trainer
        if t is None:
            return "no run"
        last = t.history.last
        c = t.config
        what = "R²" if t.kind == "regression" else "accuracy"
        if last is None:
            text = (f"ready: {c.dataset}, {c.n_samples} samples, network {t.model.sizes}, {c.optimizer} "
                    f"(lr {lr_text(c.lr)}), schedule {c.schedule}; press Start")
        else:
            rate = f" · {_num(self._steps_rate, ',.0f')} steps/s" if self._steps_rate else ""
            text = (f"epoch {t.epoch_index}/{c.max_epochs} · lr {lr_text(last['lr'])} · loss train "
                    f"{_num(last['train_loss'])} / test {_num(last['test_loss'])} · {what} train "
                    f"{_pct(last['train_acc'])} / test {_pct(last['test_acc'])}{rate}")
        if t.done:
            run = t.run
            text += f"<br><b>{html.escape(run.message())}</b>"
            if run.best_epoch is not None:
                m = run.best_metrics
                text += (f"; best epoch {run.best_epoch + 1} ({best_rule(c)}: test {what} "
                         f"{_pct(m.get('test_acc'))}, test loss {_num(m.get('test_loss'))})"
                         + (" — its weights were restored" if run.restored_best else ""))
        elif self.is_paused and not self.is_running:
            text += " · <b>paused</b>"
        if note is None and self._controls_changed:
            note = "controls changed: they apply at the next Start"
        if note:
            text += f"<br><i>{html.escape(note)}</i>"
        return text

    # ------------------------------------------------------------------ threads
    # The machinery (worker, drawer, finisher, flags, thread counts) is lrlab.widgets.runner's
    # Runner; the panel gives it its callbacks. Live frames are drawn in the kernel's renderer
    # process (lrlab.plots.render_process): matplotlib holds the GIL while it draws, so drawing
    # in a thread here would take its time out of training. The drawer thread only sends the
    # worker's snapshot down a pipe and waits there (GIL released). Where no renderer runs
    # (still starting, cannot start, LRLAB_RENDER_PROCESS=0) it draws in this process.
    frame_epoch = None  # epochs_done of the frame on show

    def _build_runner(self, max_fps: float, threads: int | None) -> Runner:
        return Runner(self._frame_for_runner, self._show, max_fps=max_fps, render=self._render_frame,
                      on_abandon=render_process.wake, on_epoch=self._on_epoch, on_launch=self._on_launch,
                      on_halt=self._on_halt, on_error=self._on_error, companion=self._network_loop,
                      companion_name="lrlab-network-view", threads=threads,
                      thread_count=lambda trainer: self.engine_threads(trainer), switch_interval=0.0005,
                      display_ready=lambda: self.image.ready(),
                      name="lrlab-trainer")

    def engine_threads(self, trainer: Trainer) -> int:
        """The intra-op thread count for ``trainer``'s steps (``self.threads`` if set, else from the work)."""
        return trainer.threads(self.threads)

    # -- the runner's callbacks (the worker's and the drawer's threads, or the finisher's)
    def _on_launch(self) -> None:
        """Before each worker starts: the renderer gets this figure; the steps rate starts anew."""
        if self.live.value:
            self.remote.prepare(self.figure)
        t = self.trainer
        self._rate_mark = (time.perf_counter(), t.run.steps)
        self.pause_button.description, self.pause_button.icon = "Pause", "pause"

    def _on_epoch(self, record) -> None:
        """After each epoch (worker): the steps/s shown on the status line, over ~0.5 s windows."""
        t0, steps0 = self._rate_mark
        now = time.perf_counter()
        if now - t0 >= 0.5 or (self._steps_rate is None and (now - t0 >= 0.05 or self.trainer.done)):
            steps = self.trainer.run.steps
            self._steps_rate = (steps - steps0) / max(now - t0, 1e-9)
            self._rate_mark = (now, steps)

    def _frame_for_runner(self, final: bool) -> Optional[dict]:
        """A frame for the runner: the final one always; a live one only while drawing is on
        (else the numbers go to the status line and no frame is drawn)."""
        if final or self.live.value:
            return self._snapshot(final)
        self._set_status(self._status_text())
        return None

    def _show(self, frame: dict) -> None:
        """Publish ``frame`` (drawn by the renderer, else here); a final one updates the panel's own
        figure (figure_png, Save) and the network view (if open)."""
        png = frame.pop("png", None)
        self._draw(frame, png)
        if frame.get("final"):
            if png is not None:
                self.figure.update(frame)
            self.update_network_view()

    def _on_halt(self, state: str) -> None:
        """Stop / Pause returned: said at once on the status line (the frame follows)."""
        if self.trainer is not None:
            self._set_status(self._status_text())

    def _on_error(self, message: str) -> None:
        self.error = message
        if self.trainer is not None:
            self._set_status(self._status_text(note=message))

    def _halt(self, cut: bool = False) -> bool:
        """End the worker (``cut``: within one step; else at the end of its epoch), the drawer
        (its frame dropped), the network view's thread and a final frame being drawn; True if
        a worker was running."""
        return self.runner.halt(cut=cut)

    def _settle(self) -> None:
        """Wait for a final frame being drawn in the background (Stop / Pause) to be on show."""
        self.runner.settle()

    # ------------------------------------------------------------------ actions
    def start(self) -> bool:
        """Train a new run from the controls in the background. False if it could not start."""
        with self._lock:
            if self.is_running:
                self._set_status(self._status_text(note="already training: press Stop first for a new run"))
                return False
            self._halt(cut=True)
            fresh = self.trainer is not None and self.trainer.epoch_index == 0 and not self.trainer.done
            if not (fresh and self.trainer.config == self.config()):  # else: the untrained network on show
                if self._new_trainer() is None:
                    return False
            return self.runner.start()

    def pause(self) -> None:
        """Pause between two epochs; the run is kept (Resume continues it). Returns at once: the
        paused state is drawn just after."""
        with self._lock:
            if self.is_running:
                self.pause_button.description, self.pause_button.icon = "Resume", "play"
                self.runner.pause()

    def resume(self) -> bool:
        with self._lock:
            return self.runner.resume()

    def toggle_pause(self) -> None:
        if self.is_running:
            self.pause()
        elif self.is_paused:
            self.resume()

    def stop(self) -> Optional[Run]:
        """End the run now (within one training step); its best weights are restored.

        Returns at once (the worker ends within a step): the status line says the run has
        stopped, and the final frame is drawn just after, in the background (``wait()``
        returns once it is on show)."""
        with self._lock:
            self.pause_button.description, self.pause_button.icon = "Pause", "pause"
            self.runner.stop("stopped_by_user")
            t = self.trainer
            return None if t is None else t.run

    def step(self) -> Optional[dict]:
        """Train exactly one epoch (pausing a running run first). Returns the epoch's record."""
        with self._lock:
            self._halt()  # a running run pauses (the drawer's frame is dropped)
            if self.trainer is None or self.trainer.done or self._controls_changed and self.trainer.epoch_index == 0:
                if self._new_trainer() is None:
                    return None
            record = self.runner.step()
            self.pause_button.description, self.pause_button.icon = "Resume", "play"
            self.draw_now()
            return record

    def reset(self) -> None:
        """Stop any run and show a fresh, untrained network built from the controls."""
        with self._lock:
            self._halt(cut=True)
            self.pause_button.description, self.pause_button.icon = "Pause", "pause"
            if self._new_trainer() is not None:
                self.draw_now()

    def run(self, epochs: int | None = None) -> Optional[Run]:
        """Train synchronously, from a fresh network, to a stopping rule; deterministic.

        ``epochs`` sets the epoch budget (the *max epochs* control) first. Norms are recorded
        every epoch; the figure is drawn once at the end. Returns the :class:`Run`.
        """
        with self._lock:
            self._halt(cut=True)
            if epochs is not None:
                self._quiet = True
                try:
                    self.stop_picker.max_epochs.value = int(epochs)
                finally:
                    self._quiet = False
            if self._new_trainer() is None:
                return None
            t = self.trainer
            t0 = time.perf_counter()
            self.runner.run()
            self._steps_rate = t.run.steps / max(time.perf_counter() - t0, 1e-9)
            self.draw_now()
            return t.run

    def save(self, folder: str | None = None) -> Optional[tuple[str, str]]:
        """Write the run as JSON and the figure as PNG into ``folder`` (the text box by default).

        The folder is checked first (created if missing; a file, a device or a read-only place
        is refused on the status line); the JSON is strict (a diverged run's inf/NaN read back
        exactly by :meth:`Run.from_json`) and both files are written atomically
        (:mod:`lrlab.safeio`). A run going on is paused while it is saved, then goes on.
        Returns the two paths, or None (the status line says why)."""
        t = self.trainer
        if t is None or t.epoch_index == 0:
            self._set_status(self._status_text(note="nothing to save yet: train first"))
            return None
        with self._lock:
            was_running = self._halt()
            try:
                return self._save(folder)
            finally:
                if was_running and not self.trainer.done:
                    self.runner.start()

    def _save(self, folder: str | None) -> Optional[tuple[str, str]]:
        t = self.trainer
        c = t.config
        name = f"lrlab_{c.dataset}_{c.optimizer}_{c.schedule}_epoch{t.epoch_index}"
        try:
            where = folder if folder is not None else self.folder.value.strip() or "."
            where = safeio.check_output_folder(where, "save folder", files=(name + ".json", name + ".png"))
            stem = os.path.join(where, name)
            text = t.run.to_json()
            frame = live_frame(t, self.figure.grid_points, norms=self.norms())
            frame["options"] = self._figure_options()
            fig = LiveTrainingFigure(t.dataset, self._n_layers, c.max_epochs, dpi=100)
            fig.update(frame, title=t.run.message() if t.done else f"epoch {t.epoch_index}")
            png = io.BytesIO()
            fig.fig.savefig(png, format="png", dpi=100)
            safeio.write_text(stem + ".json", text)
            safeio.write_bytes(stem + ".png", png.getvalue())
        except (OSError, ValueError) as exc:
            self._set_status(self._status_text(note=f"could not save: {exc}"))
            return None
        except Exception as exc:  # a drawing problem: said on the status line, never a traceback
            self._set_status(self._status_text(note=f"could not save: {type(exc).__name__}: {exc}"))
            return None
        self._set_status(self._status_text(note=f"saved {stem}.json and {stem}.png"))
        return stem + ".json", stem + ".png"

    def close(self) -> None:
        """Stop any run and close this panel and every widget inside it (frees the front-end state).

        The kernel's renderer process is shared by all panels: it forgets this panel's figure
        and keeps running (it ends with the kernel, or ``lrlab.plots.render_process.shutdown()``).
        """
        if "runner" not in self.__dict__:  # refused by the constructor: nothing was built
            return
        self.runner.close()
        self.remote.close()
        seen = set()

        def close_tree(w):
            if id(w) in seen:
                return
            seen.add(id(w))
            for child in getattr(w, "children", ()):
                close_tree(child)
            for ctrl in getattr(w, "controls", {}).values():
                close_tree(ctrl)
            for part in list(getattr(w, "parts", ())) + ([w.auto] if isinstance(getattr(w, "auto", None), widgets.Widget) else []):
                close_tree(part)
            if w is not self:
                w.close()
        close_tree(self)
        super().close()


def playground(**config) -> TrainingPanel:
    """A full training panel that learns from the start: Adam at lr 0.01 (constant) on the spiral,
    with the dataset's network, epoch budget and size (:mod:`lrlab.defaults`, with which Adam
    reaches at least 90 % test accuracy).

    Any :class:`~lrlab.train.TrainConfig` field (or panel argument) may be given and wins over
    the defaults, e.g. ``playground(dataset="moons")`` starts from the moons' defaults.
    """
    from .. import defaults
    given = dict(dataset="spiral", optimizer="adam", lr=0.01, schedule="constant", target_accuracy=None)
    given.update(config)
    dataset = given["dataset"]
    if isinstance(dataset, str) and dataset in defaults.DEFAULTS and given.get("csv_path") is None:
        given = {**defaults.for_dataset(dataset), **given}
    return TrainingPanel(**given)
