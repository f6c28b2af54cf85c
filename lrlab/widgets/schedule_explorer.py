"""The schedule explorer: pick schedules, set their parameters with bounded sliders, see the curves.

No maths here: the rates come from :mod:`lrlab.schedules` and the figure from
:func:`lrlab.plots.schedules.draw_schedules`, both called directly by the tests.

Every control is built from the registry (``spec.ranges``, ``spec.kinds``, ``spec.choices``)
and clipped to a practical window inside the allowed range, so the sliders cannot produce an
invalid schedule; the two constraints between parameters are kept by moving a slider's
bound: ``min_lr <= max_lr`` (``min_lr``'s maximum follows ``max_lr``) and
``warmup <= T_max - 1`` (``warmup``'s maximum follows ``T_max``).

Synchronous use (notebooks, tests)::

    ex = ScheduleExplorer(["cosine", "cosine_plateau_cuts"], lr=0.1, epochs=100)
    ex.set_params("cosine_plateau_cuts", period=10, factor=0.5)
    curves = ex.update()           # redraws ex.image; returns the curves (rates, cuts)
    ex.use_run(run)                # reactive schedules replayed on a recorded run's metrics
"""
from __future__ import annotations

import html
import math
from typing import Sequence

import ipywidgets as W

from .. import schedules as S
from ..plots import fig_to_png
from ..plots.schedules import schedules_figure
from ..checks import check_number

#: the lr slider's exponents (1e-4 .. 1), the epochs slider's range, the widest figure (inches)
LR_EXP, EPOCHS, MAX_WIDTH_IN = (-4, 0), (5, 500), 40.0

LR_EXPONENTS = (-5.0, 0.0)  # 'lr' kind sliders: 1e-5 .. 1

#: practical slider windows (inside spec.ranges) for the float parameters: (min, max, step or 'log')
FLOAT_WINDOWS = {
    "gamma": (0.01, 1.0, 0.01),
    "factor": (0.01, 0.99, 0.01),
    "pct_start": (0.05, 0.95, 0.05),
    "div_factor": (1.0, 1000.0, "log"),
    "final_div_factor": (1.0, 1e6, "log"),
    "start_factor": (0.01, 1.0, 0.01),
    "end_factor": (0.0, 1.0, 0.01),
    "threshold": (0.0, 0.1, 0.001),
    "eps": (1e-12, 1e-2, "log"),
    "min_lr": (0.0, 0.01, 1e-4),  # reduce_on_plateau's floor (0 allowed, so not a log slider)
}


def _inside(value, rng) -> bool:
    lo, hi, lo_inc, hi_inc = rng
    return (value >= lo if lo_inc else value > lo) and (value <= hi if hi_inc else value < hi)


def control_bounds(control) -> tuple[float, float]:
    """The smallest and largest value a control can produce."""
    if isinstance(control, W.FloatLogSlider):
        return control.base ** control.min, control.base ** control.max
    return control.min, control.max


def control_kwargs(spec: S.ScheduleSpec, param: str, value, epochs: int) -> tuple[type, dict]:
    """The control class and its arguments for ``spec``'s parameter ``param`` showing ``value``
    (bounds inside ``spec.ranges``; epoch-like ones scaled to the epoch budget)."""
    kind = spec.kinds[param]
    if kind == "choice":
        return W.Dropdown, dict(options=list(spec.choices[param]), value=value)
    lo, hi, lo_inc, hi_inc = spec.ranges[param]
    if kind == "lr":
        exps = (max(LR_EXPONENTS[0], math.log10(lo) if lo > 0 else -math.inf), min(LR_EXPONENTS[1], math.log10(hi)))
        return W.FloatLogSlider, dict(value=value, base=10, min=exps[0], max=exps[1], step=0.05, readout_format=".2e")
    if kind in ("epochs", "int", "milestones"):
        low = int(lo if lo_inc else lo + 1)
        top = {"int": 4, "milestones": epochs}.get(kind, 2 * epochs if param in ("T_max", "total_steps") else epochs)
        top = max(low + 1, min(int(hi if hi_inc else hi - 1), top))
        if kind == "milestones":
            first, second = (list(value) + [top, top])[:2]
            return W.IntRangeSlider, dict(value=(min(max(first, low), top), min(max(second, low), top)),
                                          min=low, max=top)
        return W.IntSlider, dict(value=min(max(int(value), low), top), min=low, max=top)
    wlo, whi, step = FLOAT_WINDOWS[param]
    if step == "log":
        return W.FloatLogSlider, dict(value=value, base=10, min=math.log10(wlo), max=math.log10(whi), step=0.1,
                                      readout_format=".2g")
    return W.FloatSlider, dict(value=value, min=wlo, max=whi, step=step, readout_format=".3g")


def make_control(spec: S.ScheduleSpec, param: str, value, epochs: int):
    """A bounded control for ``spec``'s parameter ``param`` showing ``value``."""
    cls, kwargs = control_kwargs(spec, param, value, epochs)
    if cls is not W.Dropdown:
        kwargs["continuous_update"] = False
    return cls(description=param, style={"description_width": "110px"}, layout=W.Layout(width="380px"), **kwargs)


def control_value(control):
    value = control.value
    if isinstance(control, W.IntRangeSlider):
        return tuple(int(v) for v in value)
    return value


class ScheduleExplorer(W.VBox):
    """Curves of learning-rate schedules, overlaid, with a slider for every parameter.

    ``schedules``: the names picked at the start; ``lr``/``epochs``: the configured rate and the
    epoch budget (parameters left at their derived defaults follow them); ``run``: a finished
    :class:`lrlab.train.Run` whose recorded metrics the reactive schedules are replayed on.
    """

    def __init__(self, schedules: Sequence[str] = ("cosine", "cosine_plateau_cuts"), lr: float = 0.1,
                 epochs: int = 100, run=None, width: float = 10.0):
        # checked before anything is built: the sliders would clamp a value outside their range
        if isinstance(schedules, str) or not isinstance(schedules, (list, tuple)):
            raise ValueError(f"schedules: must be a list of schedule names, got {schedules!r}"[:200])
        for name in schedules:
            S.get(name)
        check_number("lr", lr, 10.0 ** LR_EXP[0], 10.0 ** LR_EXP[1])
        check_number("epochs", epochs, *EPOCHS, integer=True)
        check_number("width", width, 0.0, MAX_WIDTH_IN, lo_open=True)
        self.fig_width = width
        self.curves = []
        self.run = None
        self._syncing = False
        self._touched: set[tuple[str, str]] = set()
        self.lr_slider = W.FloatLogSlider(value=lr, base=10, min=LR_EXP[0], max=LR_EXP[1], step=0.05, description="lr",
                                          readout_format=".2e", continuous_update=False)
        self.epochs_slider = W.IntSlider(value=epochs, min=EPOCHS[0], max=EPOCHS[1], description="epochs",
                                         continuous_update=False)
        self.picker = W.SelectMultiple(options=list(S.SCHEDULES), value=tuple(schedules), rows=len(S.SCHEDULES),
                                       description="schedules", layout=W.Layout(width="330px"))
        self.editing = W.Dropdown(description="parameters of", options=list(schedules) or [None],
                                  style={"description_width": "110px"}, layout=W.Layout(width="380px"))
        self.log_scale = W.Checkbox(value=False, description="log scale")
        self.source = W.Dropdown(options=["synthetic"], value="synthetic", description="metrics")
        self.reset_button = W.Button(description="Reset parameters", icon="undo")
        self.controls: dict[str, dict[str, W.Widget]] = {}
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
        left = W.VBox([self.picker, self.lr_slider, self.epochs_slider, W.HBox([self.log_scale]),
                       self.source, self.reset_button])
        right = W.VBox([self.editing, self.params_box])
        super().__init__([W.HBox([left, right]), self.image, self.status])
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
                control.observe(self._on_param(name, param), names="value")
                self.controls[name][param] = control
            self._link_bounds(name)

    def _link_bounds(self, name: str) -> None:
        c = self.controls[name]
        if "max_lr" in c and "min_lr" in c and isinstance(c["min_lr"], W.FloatLogSlider):
            c["min_lr"].max = max(c["min_lr"].min, _log_at_most(c["max_lr"].value))
        if "warmup" in c and "T_max" in c:
            c["warmup"].max = max(c["warmup"].min, c["T_max"].value - 1)

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
                fresh = {param: control_kwargs(spec, param, values[param], epochs)[1] for param in spec.defaults}
                for param, control in self.controls[name].items():  # widest bounds first, then the values
                    if isinstance(control, (W.IntSlider, W.IntRangeSlider, W.FloatLogSlider)):
                        control.max = fresh[param]["max"]  # epoch-like sliders follow the budget
                for param, control in self.controls[name].items():
                    if (name, param) not in self._touched:
                        control.value = fresh[param]["value"]
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
                        f"<code>{html.escape(spec.formula)}</code>", layout=W.Layout(width="380px"))
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
                    controls[param].value = params[param]
                    self._link_bounds(name)
            for param, value in params.items():
                controls[param].value = value
                self._touched.add((name, param))
            self._link_bounds(name)
        finally:
            self._syncing = syncing

    def params(self, name: str) -> dict:
        """The parameters the sliders give ``name`` now."""
        return {param: control_value(c) for param, c in self.controls[name].items()}

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
        try:
            fig, curves = schedules_figure(self.entries(), self.lr_slider.value, epochs, metrics, source,
                                           self.log_scale.value, width=self.fig_width)
        except ValueError as exc:  # cannot come from the sliders; shown rather than raised in a callback
            self.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            return self.curves
        if source == "recorded run":
            ax = fig.axes[0]
            h = self.run.history
            ax.plot(h["epoch"], h["lr"], color="k", linestyle="--", linewidth=1.2, label="recorded lr",
                    drawstyle="steps-post")
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
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
                cuts = "; ".join(f"after epoch {cut['epoch']}: {cut['old_lr']:.3g} &rarr; {cut['new_lr']:.3g} "
                                 f"({html.escape(cut['reason'])})" for cut in c.cuts) or "no cuts"
                cuts = f"<br><small>{len(c.cuts)} cut(s) on the {source} metrics: {cuts}</small>"
            rows.append(f"<li><b style='color:{c.color}'>{html.escape(c.name)}</b> "
                        f"<code>{html.escape(spec.formula)}</code> &mdash; {html.escape(params)}"
                        f"<br><small>lr from {c.rates[0]:.3g} to {c.rates[-1]:.3g} "
                        f"(max {c.rates.max():.3g}, min {c.rates.min():.3g})</small>{cuts}</li>")
        return "<ul style='margin:0'>" + "".join(rows) + "</ul>" if rows else "<i>no schedule picked</i>"


def _log_at_most(value: float) -> float:
    """The largest exponent x with 10 ** x <= value (log10 may round up by one ulp)."""
    x = math.log10(value)
    while 10 ** x > value:
        x = math.nextafter(x, -math.inf)
    return x


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
