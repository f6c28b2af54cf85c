"""The schedule explorer: pick schedules, set their parameters with bounded sliders, see the curves.

No maths here: the rates come from :mod:`lrlab.schedules` and the figure from
:func:`lrlab.plots.schedules.draw_schedules`, both called directly by the tests.

Every control is built from the parameter's declaration (``spec.params``) by the one control
factory (:func:`lrlab.widgets.controls.make_control`), inside the declared range (its slider
window: a practical span, e.g. ``gamma`` from 0.01, epoch counts up to the epoch budget), so the
sliders cannot produce an invalid schedule; the two constraints between parameters are kept by
moving a slider's bound: ``min_lr <= max_lr`` (``min_lr``'s maximum follows ``max_lr``) and
``warmup <= T_max - 1`` (``warmup``'s maximum follows ``T_max``).

Synchronous use (notebooks, tests)::

    ex = ScheduleExplorer(["cosine", "cosine_plateau_cuts"], lr=0.1, epochs=100)
    ex.set_params("cosine_plateau_cuts", period=10, factor=0.5)
    curves = ex.update()           # redraws ex.image; returns the curves (rates, cuts)
    ex.use_run(run)                # reactive schedules replayed on a recorded run's metrics
"""
from __future__ import annotations

import html
from typing import Sequence

import ipywidgets as W

from .. import schedules as S
from ..plots import fig_to_png
from ..plots.schedules import schedules_figure
from ..checks import check_number
from ..params import LR
from .controls import ParamControl, lr_slider
from .controls import make_control as _make_control
from .text import lr_text, num
from .frameview import PictureRepr
from .style import PANEL_CLASS, style

#: the lr slider's display clamp (1e-4 .. 1, inside lrlab.params.LR's window), the epochs slider's
#: range, the widest figure (inches)
LR_CLAMP, EPOCHS, MAX_WIDTH_IN = (1e-4, 1.0), (5, 500), 40.0


def make_control(spec: S.ScheduleSpec, param: str, value, epochs: int) -> ParamControl:
    """The control for ``spec``'s parameter ``param`` showing ``value``: the one control factory
    (:func:`lrlab.widgets.controls.make_control`) on the parameter's declaration, without an
    *auto* box (the explorer shows derived values, which follow lr and epochs until touched) and
    clipping what it is given, as a slider does."""
    return _make_control(spec.param(param), epochs=epochs, derived=value, auto=False, exact=False)


class ScheduleExplorer(PictureRepr, W.VBox):
    """Curves of learning-rate schedules, overlaid, with a slider for every parameter.

    ``schedules``: the names picked at the start; ``lr``/``epochs``: the configured rate and the
    epoch budget (parameters left at their derived defaults follow them); ``run``: a finished
    :class:`lrlab.train.Run` whose recorded metrics the reactive schedules are replayed on.
    """

    def __init__(self, schedules: Sequence[str] = ("cosine", "cosine_plateau_cuts"), lr: float = 0.1,
                 epochs: int = 100, run=None, width: float = 5.4):
        # checked before anything is built: the sliders would clamp a value outside their range
        if isinstance(schedules, str) or not isinstance(schedules, (list, tuple)):
            raise ValueError(f"schedules: must be a list of schedule names, got {schedules!r}"[:200])
        for name in schedules:
            S.get(name)
        lr_lo, lr_hi = LR.exponents(LR_CLAMP)
        check_number("lr", lr, 10.0 ** lr_lo, 10.0 ** lr_hi)
        check_number("epochs", epochs, *EPOCHS, integer=True)
        check_number("width", width, 0.0, MAX_WIDTH_IN, lo_open=True)
        self.fig_width = width
        self.curves = []
        self.run = None
        self._syncing = False
        self._touched: set[tuple[str, str]] = set()
        self.lr_slider = lr_slider(lr, LR_CLAMP, description="lr", readout_format=".2e")
        self.epochs_slider = W.IntSlider(value=epochs, min=EPOCHS[0], max=EPOCHS[1], description="epochs",
                                         continuous_update=False)
        self.picker = W.SelectMultiple(options=list(S.SCHEDULES), value=tuple(schedules), rows=len(S.SCHEDULES),
                                       description="schedules", layout=W.Layout(width="340px"))
        self.editing = W.Dropdown(description="parameters of", options=list(schedules) or [None],
                                  style={"description_width": "110px"}, layout=W.Layout(width="340px"))
        self.log_scale = W.Checkbox(value=False, description="log scale")
        self.source = W.Dropdown(options=["synthetic"], value="synthetic", description="metrics")
        self.reset_button = W.Button(description="Reset parameters", icon="undo", layout=W.Layout(width="190px"))
        self.controls: dict[str, dict[str, ParamControl]] = {}
        self.params_box = W.VBox()
        self.image = W.Image(format="png")
        self.image.add_class("lrlab-figure")
        self.status = W.HTML()
        self.status.add_class("lrlab-status")
        self._build_controls()
        for w in (self.lr_slider, self.epochs_slider):
            w.observe(self._on_budget, names="value")
        self.picker.observe(self._on_pick, names="value")
        self.editing.observe(lambda change: self._show_params(), names="value")
        self.log_scale.observe(lambda change: self.update(), names="value")
        self.source.observe(lambda change: self.update(), names="value")
        self.reset_button.on_click(lambda button: self.reset_parameters())
        # on a laptop screen (1366 x 768, JupyterLab's file browser open: ~930 px) a 380 px column
        # of controls in tabs sits beside the figure, drawn 1:1 for the room left (5.4 in at 100 dpi)
        chosen = W.VBox([self.picker, self.lr_slider, self.epochs_slider, W.HBox([self.log_scale]),
                         self.source, self.reset_button])
        editing = W.VBox([self.editing, self.params_box])
        self.tabs = W.Tab(children=[chosen, editing, self.status],
                          layout=W.Layout(width="380px", min_width="380px", flex="0 0 380px"))
        for i, title in enumerate(("Schedules", "Parameters", "Numbers")):
            self.tabs.set_title(i, title)
        self.image.layout = W.Layout(width="auto", max_width="100%")
        figure = W.Box([self.image], layout=W.Layout(flex="1 1 auto", min_width="0px"))
        super().__init__([W.HBox([self.tabs, figure], layout=W.Layout(width="100%", grid_gap="8px")), style()])
        self.add_class(PANEL_CLASS)
        self._show_params()
        if run is not None:
            self.use_run(run)
        else:
            self.update()

    # -------------------------------------------------------------------- controls
    def _build_controls(self) -> None:
        lr, epochs = self.lr_slider.value, self.epochs_slider.value
        for name, spec in S.SCHEDULES.items():
            values = spec.resolve(lr, epochs)
            self.controls[name] = {}
            for param in spec.defaults:
                control = make_control(spec, param, values[param], epochs)
                control.observe_value(self._on_param(name, param))
                self.controls[name][param] = control
            self._link_bounds(name)

    def _link_bounds(self, name: str) -> None:
        c = self.controls[name]
        if "max_lr" in c and "min_lr" in c:
            c["min_lr"].limit(c["max_lr"].value)
        if "warmup" in c and "T_max" in c:
            c["warmup"].limit(c["T_max"].value - 1)

    def _on_param(self, name: str, param: str):
        def handler(change):
            if self._syncing:
                return
            self._touched.add((name, param))
            self._syncing = True
            try:
                self._link_bounds(name)
            finally:
                self._syncing = False
            if name in self.picker.value:
                self.update()
        return handler

    def _on_budget(self, change) -> None:
        self._rederive()
        self.update()

    def _rederive(self) -> None:
        """Parameters the learner has not touched follow lr and epochs (their derived defaults)."""
        lr, epochs = self.lr_slider.value, self.epochs_slider.value
        self._syncing = True
        try:
            for name, spec in S.SCHEDULES.items():
                values = spec.resolve(lr, epochs)
                for control in self.controls[name].values():  # the declared windows first, then the values
                    control.rescale(epochs)  # epoch-like sliders follow the budget; the links' caps are lifted
                for param, control in self.controls[name].items():
                    if (name, param) not in self._touched:
                        control.set(values[param])
                self._link_bounds(name)
        finally:
            self._syncing = False

    def _on_pick(self, change) -> None:
        picked = list(self.picker.value)
        current = self.editing.value
        self.editing.options = picked or [None]
        if current in picked:
            self.editing.value = current
        self._show_params()
        self.update()

    def _show_params(self) -> None:
        name = self.editing.value
        if name is None:
            self.params_box.children = [W.HTML("<i>pick a schedule on the left</i>")]
            return
        spec = S.SCHEDULES[name]
        header = W.HTML(f"<b>{html.escape(name)}</b>: {html.escape(spec.description)}<br>"
                        f"<code>{html.escape(spec.formula)}</code>", layout=W.Layout(width="340px"))
        children = list(self.controls[name].values())
        self.params_box.children = [header] + (children or [W.HTML("<i>no parameters</i>")])

    def reset_parameters(self) -> None:
        """Every parameter back to its (derived) default."""
        self._touched.clear()
        self._rederive()
        self.update()

    # -------------------------------------------------------------------- synchronous API
    def select(self, *names: str) -> None:
        """Pick these schedules (and redraw)."""
        for name in names:
            S.get(name)
        self.picker.value = tuple(names)

    def set_params(self, name: str, **params) -> None:
        """Move ``name``'s sliders; values outside a slider's bounds are clipped by the slider."""
        self._apply_params(name, params)
        self.update()

    def _apply_params(self, name: str, params: dict) -> None:
        controls = self.controls[S.get(name).name]
        unknown = set(params) - set(controls)
        if unknown:
            raise ValueError(f"{', '.join(sorted(unknown))}: not a parameter of schedule {name}; "
                             f"allowed: {', '.join(controls) or 'none'}")
        syncing, self._syncing = self._syncing, True
        try:
            for param in ("max_lr", "T_max"):  # the bounds others follow first
                if param in params:
                    controls[param].set(params[param])
                    self._link_bounds(name)
            for param, value in params.items():
                controls[param].set(value)
                self._touched.add((name, param))
            self._link_bounds(name)
        finally:
            self._syncing = syncing

    def params(self, name: str) -> dict:
        """The parameters the sliders give ``name`` now."""
        return {param: c.value for param, c in self.controls[name].items()}

    def entries(self) -> list[tuple[str, dict]]:
        return [(name, self.params(name)) for name in self.picker.value]

    def use_run(self, run) -> None:
        """Replay the reactive schedules on ``run``'s recorded metrics (and show its own schedule)."""
        self.run = run
        records = S.metrics_of_run(run)
        self._syncing = True
        try:
            self.epochs_slider.max = max(self.epochs_slider.max, len(records))
            self.epochs_slider.value = max(self.epochs_slider.min, len(records))
            self.lr_slider.value = run.config.lr
            self.source.options = ["synthetic", "recorded run"]
            self.source.value = "recorded run"
            name = run.config.schedule
            if name in S.SCHEDULES and name not in self.picker.value:
                self.picker.value = tuple(self.picker.value) + (name,)
                self.editing.options = list(self.picker.value)
                self.editing.value = name
        finally:
            self._syncing = False
        self._rederive()
        given = {k: v for k, v in run.config.schedule_params.items() if v is not None}
        if name in S.SCHEDULES and given:
            self._apply_params(name, given)
        self._show_params()
        self.update()

    def metrics(self):
        if self.source.value == "recorded run" and self.run is not None:
            return S.metrics_of_run(self.run), "recorded run"
        return S.synthetic_metrics(self.epochs_slider.value), "synthetic"

    def update(self):
        """Redraw the figure and the status from the current controls; return the curves drawn."""
        if self._syncing:
            return self.curves
        metrics, source = self.metrics()
        epochs = self.epochs_slider.value
        recorded = (self.run.history["epoch"], self.run.history["lr"]) if source == "recorded run" else None
        try:
            fig, curves = schedules_figure(self.entries(), self.lr_slider.value, epochs, metrics, source,
                                           self.log_scale.value, width=self.fig_width, recorded=recorded)
        except ValueError as exc:  # cannot come from the sliders; shown rather than raised in a callback
            self.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            self.tabs.selected_index = 2
            return self.curves
        self.image.value = fig_to_png(fig)
        self.curves = curves
        self.status.value = self._status_html(curves, source)
        return curves

    def _status_html(self, curves, source: str) -> str:
        rows = []
        for c in curves:
            spec = S.SCHEDULES[c.name]
            params = ", ".join(f"{k}={_fmt(v)}" for k, v in c.params.items())
            cuts = ""
            if c.reactive:
                cuts = "; ".join(f"after epoch {cut['epoch']}: {lr_text(cut['old_lr'])} &rarr; "
                                 f"{lr_text(cut['new_lr'])} "
                                 f"({html.escape(cut['reason'])})" for cut in c.cuts) or "no cuts"
                watched = ", ".join(c.schedule.watched()) if c.schedule is not None else "?"
                cuts = f"<br>watches {html.escape(watched)} (drawn under the rates); " \
                       f"{len(c.cuts)} cut(s) on the {source} metrics: {cuts}"
            rows.append(f"<li><b style='color:{c.color}'>{html.escape(c.name)}</b> "
                        f"<code>{html.escape(spec.formula)}</code> &mdash; {html.escape(params)}"
                        f"<br>lr from {lr_text(c.rates[0])} to {lr_text(c.rates[-1])} "
                        f"(max {lr_text(c.rates.max())}, min {lr_text(c.rates.min())}){cuts}</li>")
        return "<ul style='margin:0'>" + "".join(rows) + "</ul>" if rows else "<i>no schedule picked</i>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return num(v, ".3g")
    return str(v)
