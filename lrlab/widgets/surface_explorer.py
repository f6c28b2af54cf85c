"""SurfaceExplorer: lrlab's optimizers racing on a 2-D loss surface, step by step.

A thin panel: every path comes from :func:`lrlab.surfaces.trajectories` (one batched run of
all the chosen optimizers), every convergence map from :func:`lrlab.surfaces.convergence_map`,
every picture from :mod:`lrlab.plots.surfaces`. No maths here.

Controls: the surface (and the ravine's condition number), which optimizers race, which
one the sliders tune (its learning rate typed or dragged on a log scale, and only the sliders
it has: momentum, beta1/beta2, the decay rho/alpha of a squared-gradient average), the number
of steps, the start point (two sliders; also a click on the map when the optional
``ipyevents`` package is installed), a Play button and a step slider, and a picker of the one
chart the figure shows (:data:`lrlab.plots.surfaces.VIEWS`: the paths on the surface, their
gaps to the minimum, the convergence map).

Layout (a 1366x768 laptop screen, JupyterLab's file browser open: ~930 px): the picker, Play
and the step slider on one row; the figure (528 x 418 px, drawn at the size it is shown, so
that its text is 12-15 px) beside a 390 px column of controls; under both, the surface and the
tuned optimizer's update rule (what it does one click away).

Synchronous methods for notebooks and tests: :meth:`set_start`, :meth:`click`,
:meth:`jump`, :meth:`advance`, :meth:`show`.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import limits, optim
from .. import surfaces as surfaces_mod
from ..plots import fig_to_png
from ..plots import surfaces as plots
from ..checks import check_number
from .controls import lr_entry
from .frameview import PictureRepr

try:  # optional: clicks on the picture set the start point
    from ipyevents import Event as _Event
except Exception:  # pragma: no cover - depends on the environment
    _Event = None

LABEL = {"description_width": "110px"}
#: the steps slider's range; the lr slider's display clamp (1e-5 .. 10, inside lrlab.params.LR's window)
STEPS, LR_CLAMP = (10, 1000), (1e-5, 10.0)


def wide() -> widgets.Layout:
    """A fresh Layout per control: a shared one would hide every control when one is hidden."""
    return widgets.Layout(width="360px")

#: slider -> the optimizer hyper-parameters it sets (the first one the tuned optimizer has)
HYPER_SLIDERS = {"momentum": ("momentum",), "decay": ("alpha", "rho")}


class SurfaceExplorer(PictureRepr, widgets.VBox):
    """Optimizers on a loss surface, animated; or where each start point ends (convergence map)."""

    def __init__(self, surface: str = "rosenbrock", optimizers=("sgd", "momentum", "adam"), steps: int = 200,
                 start=None, map_resolution: int = 41, clicks: bool | None = None):
        names = list(optim.OPTIMIZERS)
        optim.check_names(optimizers)  # before anything is built: a filter would drop a name silently
        check_number("steps", steps, *STEPS, integer=True)
        check_number("map_resolution", map_resolution, 2, limits.MAX_GRID, integer=True)
        if clicks is not None and not isinstance(clicks, bool):
            raise ValueError(f"clicks: must be True, False or None, got {clicks!r}"[:200])
        chosen = list(optimizers) or names[:1]
        self.surface = surfaces_mod.get(surface)
        if start is not None:
            x0, x1, y0, y1 = self.surface.box
            if not isinstance(start, (list, tuple)) or len(start) != 2:
                raise ValueError(f"start: must be a point (x, y), got {start!r}"[:200])
            check_number("start", start[0], x0, x1)
            check_number("start", start[1], y0, y1)
        self.settings: dict[str, dict] = {name: self._default_settings(name) for name in names}
        self.paths = None
        self.map = None
        self._quiet = False
        self._figure = None

        self.surface_box = widgets.Dropdown(options=[(surfaces_mod.get(n).title, n) for n in surfaces_mod.SURFACES],
                                            value=self.surface.name, description="surface",
                                            style={"description_width": "initial"},  # room for the long titles
                                            layout=widgets.Layout(width="380px"))
        self.condition = widgets.FloatLogSlider(value=20.0, base=10, min=0, max=3, step=0.05,
                                                description="condition κ", style=LABEL, layout=wide(),
                                                continuous_update=False)
        self.optimizer_buttons = {n: widgets.ToggleButton(value=n in chosen, description=n,
                                                          layout=widgets.Layout(width="96px"))
                                  for n in names}
        self.tune = widgets.Dropdown(options=chosen, value=chosen[0], description="tune", style=LABEL, layout=wide())
        # the learning rate typed exactly, a log slider beside it to drag (a log slider alone snaps
        # what it is given to its grid in the browser)
        self.lr, self.lr_slider = lr_entry(1e-3, LR_CLAMP, description="lr", step=0.05, digits=3)
        self.lr.style, self.lr.layout.width = LABEL, "230px"
        self.momentum = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum",
                                            style=LABEL, layout=wide(), continuous_update=False)
        self.beta1 = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="β₁",
                                         style=LABEL, layout=wide(), continuous_update=False)
        self.beta2 = widgets.FloatSlider(value=0.999, min=0.5, max=0.9999, step=0.0001, description="β₂",
                                         style=LABEL, layout=wide(), continuous_update=False, readout_format=".4f")
        self.decay = widgets.FloatSlider(value=0.99, min=0.5, max=0.999, step=0.001, description="decay ρ/α",
                                         style=LABEL, layout=wide(), continuous_update=False, readout_format=".3f")
        self.steps = widgets.IntSlider(value=steps, min=STEPS[0], max=STEPS[1], step=10, description="steps", style=LABEL,
                                       layout=wide(), continuous_update=False)
        x0, x1, y0, y1 = self.surface.box
        self.start_x = widgets.FloatSlider(min=x0, max=x1, step=(x1 - x0) / 400, description="start x",
                                           style=LABEL, layout=wide(), continuous_update=False)
        self.start_y = widgets.FloatSlider(min=y0, max=y1, step=(y1 - y0) / 400, description="start y",
                                           style=LABEL, layout=wide(), continuous_update=False)
        self.step = widgets.IntSlider(value=steps, min=0, max=steps, description="step",
                                      style={"description_width": "40px"}, layout=widgets.Layout(width="300px"))
        self.play = widgets.Play(value=steps, min=0, max=steps, step=max(1, steps // 100), interval=60,
                                 description="play")
        widgets.jslink((self.play, "value"), (self.step, "value"))
        # the one chart the figure shows: two side by side would each be too small to read
        self.view = widgets.ToggleButtons(options=list(plots.VIEWS), value="paths", style={"button_width": "150px"},
                                          tooltips=["the paths on the surface (click it to move the start)",
                                                    "each path's f − f* against the step (log scale)",
                                                    "where the tuned optimizer ends from each start point"])
        self.map_resolution = map_resolution
        self.image = widgets.Image(format="png")
        self.image.add_class("lrlab-figure")
        self.status = widgets.HTML()
        self.status.add_class("lrlab-status")

        self._set_start_sliders(*(self.surface.start if start is None else start))
        self._show_settings()
        self._sync_condition_visibility()

        self.clicks_enabled = (_Event is not None) if clicks is None else (bool(clicks) and _Event is not None)
        if self.clicks_enabled:
            self._events = _Event(source=self.image, watched_events=["click"])
            self._events.on_dom_event(self._on_dom_click)
        hint = " <i>(or click on the map)</i>" if self.clicks_enabled else ""
        controls = widgets.VBox([
            self.surface_box, self.condition,
            widgets.HTML("<b>optimizers</b>"),
            widgets.GridBox(list(self.optimizer_buttons.values()),
                            layout=widgets.Layout(grid_template_columns="repeat(4, 96px)", grid_gap="2px")),
            self.tune, widgets.HBox([self.lr, self.lr_slider]), self.momentum, self.beta1, self.beta2, self.decay,
            self.steps,
            widgets.HTML(f"<b>start point</b>{hint}"), self.start_x, self.start_y,
        ])
        # the picture is shown at the size it is drawn (plots.EXPLORER_SIZE: its text as large as
        # matplotlib says); only where the notebook is narrower does it shrink (clicks stay right:
        # ipyevents reports image pixels); the controls keep a fixed column beside it
        self.image.layout = widgets.Layout(width="auto", max_width="100%", height="auto")
        controls.layout = widgets.Layout(flex="0 0 390px", width="390px")
        figure_box = widgets.Box([self.image], layout=widgets.Layout(flex="1 1 auto", min_width="0",
                                                                     align_items="flex-start"))
        super().__init__([
            widgets.HBox([self.view, self.play, self.step], layout=widgets.Layout(flex_flow="row wrap",
                                                                                 align_items="center")),
            widgets.HBox([figure_box, controls], layout=widgets.Layout(width="100%", grid_gap="4px")),
            self.status,
        ])

        self.surface_box.observe(self._on_surface, names="value")
        self.condition.observe(self._on_surface, names="value")
        for button in self.optimizer_buttons.values():
            button.observe(self._on_optimizers, names="value")
        self.tune.observe(self._on_tune, names="value")
        for slider in (self.lr, self.momentum, self.beta1, self.beta2, self.decay):
            slider.observe(self._on_hyper, names="value")
        for slider in (self.steps, self.start_x, self.start_y):
            slider.observe(self._on_recompute, names="value")
        self.step.observe(self._on_step, names="value")
        self.view.observe(self._on_view, names="value")
        self.recompute()

    # ----------------------------------------------------------------- state
    @property
    def chosen(self) -> list[str]:
        """The optimizers in the race, in registry order."""
        return [n for n, b in self.optimizer_buttons.items() if b.value]

    @property
    def start(self) -> tuple[float, float]:
        return (float(self.start_x.value), float(self.start_y.value))

    def hyper(self, name: str) -> dict:
        """The hyper-parameters ``name`` runs with (its defaults, overridden by the sliders' settings)."""
        return dict(self.settings[name])

    def _default_settings(self, name: str) -> dict:
        spec = optim.get(name)
        settings = {"lr": self.surface.suggested_lr(name)}
        for key in ("momentum", "betas", "alpha", "rho"):
            if key in spec.defaults:
                settings[key] = spec.defaults[key]
        if name in ("momentum", "nesterov") and not settings.get("momentum"):
            settings["momentum"] = 0.9
        return settings

    # ----------------------------------------------------------------- synchronous API
    def set_start(self, x: float, y: float) -> None:
        """Move the start point (clamped to the surface's box) and recompute the paths."""
        self._quiet = True
        try:
            self._set_start_sliders(x, y)
        finally:
            self._quiet = False
        self.recompute()

    def click(self, px: float, py: float) -> bool:
        """A click at pixel ``(px, py)`` of the picture (from its top-left corner): when it falls on
        the surface's axes, start there and show the paths. Returns whether it did."""
        if self._figure is None or self._figure["ax"] is None:  # (the gap chart has no start points)
            return False
        fig, ax = self._figure["fig"], self._figure["ax"]
        height = fig.bbox.height
        x, y = ax.transData.inverted().transform((px, height - py))
        x0, x1, y0, y1 = self.surface.box
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        self._quiet = True
        try:
            self.view.value = "paths"
        finally:
            self._quiet = False
        self.set_start(x, y)
        return True

    def jump(self, step: int) -> None:
        """Show the paths as they are after ``step`` steps."""
        target = int(np.clip(step, 0, self.step.max))
        if target != self.step.value:
            self.step.value = target  # the observer redraws
        else:
            self.redraw()

    def advance(self, n: int = 1) -> None:
        """Show ``n`` more steps."""
        self.jump(self.step.value + n)

    def show(self, view: str) -> None:
        """Switch the figure to one of :data:`lrlab.plots.surfaces.VIEWS`: 'paths', 'gap to minimum'
        or 'convergence map'."""
        if view not in plots.VIEWS:
            raise ValueError(f"view: one of {', '.join(plots.VIEWS)}, got {view!r}"[:200])
        self.view.value = view

    def recompute(self) -> None:
        """Run every chosen optimizer from the start (one batched call), and the map when it is shown."""
        runs = [{"optimizer": name, "start": self.start, **self.hyper(name)} for name in self.chosen]
        steps = int(self.steps.value)
        self.paths = surfaces_mod.trajectories(self.surface, runs, steps) if runs else None
        self._quiet = True
        try:
            self.play.max = self.step.max = steps
            self.play.step = max(1, steps // 100)
            self.step.value = steps
        finally:
            self._quiet = False
        if self.view.value == "convergence map":
            name = self.tune.value
            self.map = surfaces_mod.convergence_map(self.surface, name, resolution=self.map_resolution,
                                                    steps=steps, **self.hyper(name))
        self._figure = None
        self.redraw()

    def redraw(self) -> None:
        """Draw the current view into ``self.image`` and describe it in ``self.status``."""
        if self.view.value == "convergence map" and self.map is not None:
            self._figure = plots.explorer_figure(self.surface, "convergence map", cmap_result=self.map,
                                                 start=self.start)
            self.image.value = fig_to_png(self._figure["fig"], fast=True)
        else:
            self._draw_paths()
        self.status.value = self._status_html()

    # ----------------------------------------------------------------- drawing
    def _draw_paths(self) -> None:
        """Build the figure once per computation and view; each frame only moves the paths' artists."""
        view = self.view.value if self.view.value != "convergence map" else "paths"
        if self._figure is None or self._figure["view"] != view:
            self._figure = plots.explorer_figure(self.surface, view, self.paths, self.chosen)
        fig, animated = self._figure["fig"], self._figure["animated"]
        if animated is not None:
            animated.update(int(self.step.value))
        self.image.value = fig_to_png(fig, fast=True)
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")  # the layout is settled: later frames keep it (and draw faster)

    def _status_html(self) -> str:
        """Under the figure: what went wrong (or what the map is) on one line, the surface, and the
        tuned optimizer's update rule (what it does one click away: as a paragraph the panel would
        no longer fit a laptop's screen)."""
        s = self.surface
        notes = []
        if self.paths is not None:
            diverged = [(label, self.paths.diverged_at[k]) for k, label in enumerate(self.chosen)
                        if self.paths.diverged[k]]
            if diverged:  # one line for all of them
                said = ", ".join(f"{label} {'diverged ' if i == 0 else ''}at step {at}"
                                 for i, (label, at) in enumerate(diverged))
                lower = "its learning rate" if len(diverged) == 1 else "their learning rates"
                notes.append(f"<span style='color:#D55E00'>{said}: lower {lower}.</span>")
        if self.view.value == "convergence map" and self.map is not None:
            rows, cols = self.map.codes.shape
            notes.append(f"Map of <b>{self.map.optimizer}</b>: {rows} × {cols} = {self.map.codes.size} starts, "
                         f"one batched run.")
        parts = [" ".join(notes)] if notes else []
        parts.append(f"<b>{html.escape(s.title)}</b>: <code>{html.escape(s.formula)}</code> — "
                     f"{html.escape(s.description)}")
        name = self.tune.value
        if name:
            spec = optim.get(name)
            parts.append(f"<details style='margin:2px 0 0 0'><summary><b>{name}</b>'s update rule "
                         f"<i>(click: what it does)</i></summary>{html.escape(spec.description)}</details>"
                         f"<pre style='margin:0;font-size:13px;line-height:1.3'>{html.escape(spec.formula)}</pre>")
        # (a widget's HTML has a 28 px line height: a paragraph would take twice the room it needs)
        return f"<div style='line-height:1.45'>{'<br>'.join(parts)}</div>"

    # ----------------------------------------------------------------- observers
    def _set_start_sliders(self, x: float, y: float) -> None:
        x0, x1, y0, y1 = self.surface.box
        self.start_x.value = float(np.clip(x, x0, x1))
        self.start_y.value = float(np.clip(y, y0, y1))

    def _sync_condition_visibility(self) -> None:
        self.condition.layout.display = None if self.surface.name == "quadratic" else "none"

    def _show_settings(self) -> None:
        """Put the tuned optimizer's settings on the sliders; disable those it does not have."""
        name = self.tune.value
        settings = self.settings[name]
        self._quiet = True
        try:
            self.lr.value = settings["lr"]
            self.momentum.disabled = "momentum" not in settings
            if "momentum" in settings:
                self.momentum.value = settings["momentum"]
            self.beta1.disabled = self.beta2.disabled = "betas" not in settings
            if "betas" in settings:
                self.beta1.value, self.beta2.value = settings["betas"]
            decay_key = next((k for k in HYPER_SLIDERS["decay"] if k in settings), None)
            self.decay.disabled = decay_key is None
            for slider in (self.momentum, self.beta1, self.beta2, self.decay):  # only the sliders it has
                slider.layout.display = "none" if slider.disabled else None
            if decay_key:
                self.decay.value = settings[decay_key]
                self.decay.description = {"alpha": "decay α", "rho": "decay ρ"}[decay_key]
        finally:
            self._quiet = False

    def _on_surface(self, change) -> None:
        if self._quiet:
            return
        name = self.surface_box.value
        self.surface = (surfaces_mod.get(name, condition=float(self.condition.value)) if name == "quadratic"
                        else surfaces_mod.get(name))
        for opt_name, settings in self.settings.items():
            settings["lr"] = self.surface.suggested_lr(opt_name)
        x0, x1, y0, y1 = self.surface.box
        self._quiet = True
        try:
            # widen first so that the new limits never cross the old ones
            self.start_x.min, self.start_x.max = -1e9, 1e9
            self.start_x.min, self.start_x.max, self.start_x.step = x0, x1, (x1 - x0) / 400
            self.start_y.min, self.start_y.max = -1e9, 1e9
            self.start_y.min, self.start_y.max, self.start_y.step = y0, y1, (y1 - y0) / 400
            self._set_start_sliders(*self.surface.start)
        finally:
            self._quiet = False
        self._show_settings()
        self._sync_condition_visibility()
        self.recompute()

    def _on_optimizers(self, change) -> None:
        chosen = self.chosen
        if not chosen:  # keep at least one
            self._quiet = True
            change["owner"].value = True
            self._quiet = False
            return
        self._quiet = True
        try:
            current = self.tune.value
            self.tune.options = chosen
            self.tune.value = current if current in chosen else chosen[0]
        finally:
            self._quiet = False
        self._show_settings()
        self.recompute()

    def _on_tune(self, change) -> None:
        if self._quiet:
            return
        self._show_settings()
        if self.view.value == "convergence map":
            self.recompute()
        else:
            self.redraw()

    def _on_hyper(self, change) -> None:
        if self._quiet:
            return
        settings = self.settings[self.tune.value]
        settings["lr"] = float(self.lr.value)
        if "momentum" in settings:
            settings["momentum"] = float(self.momentum.value)
        if "betas" in settings:
            settings["betas"] = (float(self.beta1.value), float(self.beta2.value))
        for key in HYPER_SLIDERS["decay"]:
            if key in settings:
                settings[key] = float(self.decay.value)
        self.recompute()

    def _on_recompute(self, change) -> None:
        if not self._quiet:
            self.recompute()

    def _on_view(self, change) -> None:
        if self._quiet:
            return
        if self.view.value == "convergence map":  # (computed when shown: the settings may have changed)
            self.recompute()
        else:  # the same paths, another chart
            self._figure = None
            self.redraw()

    def _on_step(self, change) -> None:
        if not self._quiet and self.view.value != "convergence map":
            self._draw_paths()
            self.status.value = self._status_html()

    def _on_dom_click(self, event: dict) -> None:
        if "dataX" in event and "dataY" in event:
            self.click(event["dataX"], event["dataY"])
