"""Drawing learning-rate schedules: curves overlaid, reactive ones on a loss curve with their cuts.

Conventions: the x axis is the 0-based epoch ``e`` of the formulas; the rate of epoch ``e`` is
drawn as a step over ``[e, e + 1)`` (``drawstyle='steps-post'``), a metric measured after
epoch ``e`` at ``x = e + 1``, and a cut decided after epoch ``e`` (applying from ``e + 1``)
as a vertical line at ``x = e + 1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import schedules as S
from . import PALETTE, new_figure, run_styles, schedule_color, schedule_linestyle

CUT_MARKER = dict(marker="v", markersize=9, linestyle="none", markeredgecolor="k", markeredgewidth=0.6)


@dataclass
class Curve:
    """One schedule's rates over the epochs (and the cuts a reactive one made on ``metrics``)."""

    name: str
    params: dict
    rates: np.ndarray
    cuts: list = field(default_factory=list)
    reactive: bool = False
    color: str = PALETTE[0]
    schedule: object = None
    style: str = "-"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def schedule_curve(name: str, lr: float, epochs: int, metrics: Sequence[dict] | None = None,
                   color: str | None = None, style: str | None = None, **params) -> Curve:
    """Build ``name`` (validated by :func:`lrlab.schedules.make_schedule`) and compute its rates.
    ``color``: by default the schedule's own (:data:`lrlab.plots.SCHEDULE_COLORS`).

    A reactive schedule is fed ``metrics`` (default: :func:`lrlab.schedules.synthetic_metrics`)."""
    spec = S.get(name)
    schedule = S.make_schedule(name, lr, epochs, **params)
    if spec.reactive and metrics is None:
        metrics = S.synthetic_metrics(epochs)
    rates = S.lr_curve(schedule, epochs, metrics if spec.reactive else None)
    return Curve(name, dict(getattr(schedule, "params", {})), rates, list(schedule.cuts), spec.reactive,
                 color or schedule_color(name), schedule, style or schedule_linestyle(name))


def _style_lr_axes(ax, epochs: int, log: bool, rates: Sequence[np.ndarray]) -> None:
    ax.set_xlim(0, epochs)
    positive = [r[r > 0] for r in rates if np.any(r > 0)]
    if log and positive:
        ax.set_yscale("log")
        lo = min(p.min() for p in positive)
        hi = max(p.max() for p in positive)
        ax.set_ylim(lo / 1.5, hi * 1.5)
    else:
        hi = max((float(np.max(r)) for r in rates), default=1.0)
        ax.set_ylim(0, hi * 1.08 if hi > 0 else 1.0)
    ax.set_xlabel("epoch e")
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.25)


def draw_curve(ax, curve: Curve, linewidth: float = 2.0) -> None:
    """The rate per epoch as steps, cuts as downward triangles at the new rate."""
    e = np.arange(len(curve.rates) + 1)
    values = np.append(curve.rates, curve.rates[-1]) if len(curve.rates) else curve.rates
    ax.plot(e, values, drawstyle="steps-post", color=curve.color, linestyle=curve.style, linewidth=linewidth,
            label=curve.label)
    cuts = [c for c in curve.cuts if c["epoch"] + 1 < len(curve.rates)]
    if cuts:
        ax.plot([c["epoch"] + 1 for c in cuts], [c["new_lr"] for c in cuts], color=curve.color, **CUT_MARKER)


def draw_schedule_curves(ax, curves: Sequence[Curve], epochs: int, log: bool = False, legend: bool = True) -> None:
    """Several schedules overlaid on one axes."""
    for curve in curves:
        draw_curve(ax, curve)
    _style_lr_axes(ax, epochs, log, [c.rates for c in curves])
    if any(c.cuts for c in curves):
        ax.plot([], [], color="0.4", label="cut", **CUT_MARKER)
    if legend and curves:
        _legend_outside(ax, "upper")


def _legend_outside(ax, where: str, handles=None, labels=None) -> None:
    """``ax``'s legend off the data: above the figure's charts (``where="upper"``) or under them
    (``"lower"``), in as many columns as fit, where the figure lays itself out (constrained
    layout, :func:`lrlab.plots.new_figure`); else beside the axes, on the right."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    fig = ax.figure
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        width_px = fig.get_size_inches()[0] * fig.dpi
        longest = max((len(str(label)) for label in labels), default=1)
        ncol = max(1, min(len(labels), int(width_px // (60 + 8 * longest))))
        fig.legend(handles, labels, loc=f"outside {where} center", ncol=ncol, frameon=False)
    else:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)


def period_means(values: Sequence[float], period: int) -> list[tuple[int, int, float]]:
    """``(start, stop, mean)`` of each complete period of ``values`` (what the plateau check compares)."""
    values = np.asarray(values, dtype=float)
    return [(s, s + period, float(values[s: s + period].mean()))
            for s in range(0, len(values) - period + 1, period)]


#: how each metric a reactive schedule can watch is drawn (labelled by its key, as the cut reasons cite it)
METRIC_STYLES = {"train_loss": dict(color="0.25", linewidth=1.6, linestyle="-"),
                 "test_loss": dict(color="0.1", linewidth=1.3, linestyle="-."),
                 "train_acc": dict(color="0.55", linewidth=1.2, linestyle="--"),
                 "test_acc": dict(color="0.45", linewidth=1.4, linestyle=":")}


def watched_metrics(curves: Sequence[Curve]) -> list[str]:
    """The metrics (record keys, in :data:`METRIC_STYLES`' order) the reactive ``curves`` look at:
    what their cuts compare and their reasons cite, so what :func:`draw_metrics_with_cuts` draws."""
    keys = {key for c in curves if c.reactive and c.schedule is not None for key in c.schedule.watched()}
    return [k for k in METRIC_STYLES if k in keys] + sorted(keys - set(METRIC_STYLES))


def draw_metrics_with_cuts(ax, metrics: Sequence[dict], curves: Sequence[Curve], epochs: int,
                           source: str = "synthetic") -> None:
    """The metrics the reactive schedules watched (:func:`watched_metrics`: losses on the left axis,
    accuracies on the right; each labelled by its key, as the cut reasons cite it), the period means
    a plateau-cut schedule compared, and the cuts as vertical lines."""
    e = np.arange(1, len(metrics) + 1)
    keys = watched_metrics(curves) or ["train_loss"]
    values = {k: np.array([m.get(k, np.nan) for m in metrics], dtype=float) for k in keys}
    losses = [k for k in keys if not k.endswith("_acc")]
    accs = [k for k in keys if k.endswith("_acc")]
    left, right = (losses, accs) if losses else (accs, [])
    twin = ax.twinx() if right else None
    for axis, group in ((ax, left), (twin, right)):
        for k in group:
            axis.plot(e, values[k], label=k, **METRIC_STYLES.get(k, {}))
    for curve in curves:
        if curve.name == "cosine_plateau_cuts" and curve.params.get("period") and curve.schedule is not None:
            period = int(curve.params["period"])
            label = f"period means ({period} epochs)"
            for k in curve.schedule.watched():
                axis = ax if k in left else twin
                for start, stop, mean in period_means(values[k], period):
                    axis.plot([start + 1, stop], [mean, mean], color=curve.color, linewidth=3.5, alpha=0.55,
                              solid_capstyle="butt", label=label)
                    label = None
            break
    ax.set_xlim(0, epochs)
    shown = np.concatenate([values[k] for k in left]) if left else np.array([])
    shown = shown[np.isfinite(shown)]
    if losses and len(shown) and shown.min() > 0 and shown.max() / shown.min() > 10:
        ax.set_yscale("log")  # late plateaus (where the cuts happen) stay visible
    ax.set_xlabel("epoch e")
    ax.set_ylabel("loss" if losses else "accuracy")
    ax.grid(True, alpha=0.25)
    handles, labels = [], []
    if twin is not None:
        acc = np.concatenate([values[k] for k in right])
        low = float(np.nanmin(acc)) if np.isfinite(acc).any() else 0.5
        twin.set_ylabel("accuracy")
        twin.set_ylim(min(0.5, low) - 0.02, 1.02)
        twin.spines["right"].set_visible(True)
        handles, labels = twin.get_legend_handles_labels()
    for curve in curves:
        for i, cut in enumerate(curve.cuts):
            ax.axvline(cut["epoch"] + 1, color=curve.color, linestyle=":", linewidth=2,
                       label=f"{curve.label} cut" if i == 0 else None)
    h, l = ax.get_legend_handles_labels()
    _legend_outside(ax, "lower", h + handles, l + labels)
    ax.set_title(f"What the reactive schedules watched ({source} metrics)")


def draw_schedules(fig, entries: Sequence[tuple[str, dict]], lr: float, epochs: int,
                   metrics: Sequence[dict] | None = None, source: str = "synthetic", log: bool = False,
                   title: str | None = None, recorded=None) -> list[Curve]:
    """The explorer's figure: every schedule of ``entries`` (``[(name, params), ...]``) overlaid;
    if any is reactive, a second axes with the loss/accuracy it was fed and its cuts.
    ``recorded``: ``(epochs, lrs)`` of a recorded run, drawn over them as "recorded lr".
    Returns the curves drawn (rates and cuts), so callers and tests can read the numbers."""
    if metrics is None:
        metrics = S.synthetic_metrics(epochs)
    styles = run_styles([name for name, _ in entries], color=schedule_color, linestyle=schedule_linestyle)
    curves = [schedule_curve(name, lr, epochs, metrics=metrics, color=color, style=style, **params)
              for (name, params), (color, style) in zip(entries, styles)]
    reactive = [c for c in curves if c.reactive]
    if reactive:
        ax_lr, ax_m = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    else:
        ax_lr, ax_m = fig.subplots(1, 1), None
    if recorded is not None:
        ax_lr.plot(*recorded, color="k", linestyle="--", linewidth=1.2, label="recorded lr", drawstyle="steps-post")
    draw_schedule_curves(ax_lr, curves, epochs, log=log)
    ax_lr.set_title(title or f"Learning-rate schedules over {epochs} epochs (lr = {lr:g})")
    if ax_m is not None:
        ax_lr.set_xlabel("")
        draw_metrics_with_cuts(ax_m, metrics[:epochs], reactive, epochs, source)
    if not curves:
        ax_lr.text(0.5, 0.5, "pick a schedule", ha="center", va="center", transform=ax_lr.transAxes, fontsize=14)
    return curves


def draw_schedule_preview(ax, name: str, lr: float, epochs: int, **params) -> None:
    """A small preview of one schedule for a picker: its rate per epoch, cuts marked (reactive
    schedules run on :func:`lrlab.schedules.synthetic_metrics`). Raises ValueError on bad params."""
    curve = schedule_curve(name, lr, epochs, **params)
    draw_curve(ax, curve, linewidth=1.8)
    _style_lr_axes(ax, epochs, False, [curve.rates])
    ax.set_xlabel("epoch")
    ax.set_ylabel("lr")
    ax.grid(True, alpha=0.25)
    n = len(curve.cuts)
    ax.set_title(f"{curve.label}" + (f" ({n} cut{'s' if n != 1 else ''} on a sample curve)" if curve.reactive else ""),
                 fontsize=10)


def schedules_figure(entries: Sequence[tuple[str, dict]], lr: float, epochs: int, metrics=None,
                     source: str = "synthetic", log: bool = False, width: float = 10, height: float | None = None,
                     recorded=None):
    """A new Figure with :func:`draw_schedules` on it; returns ``(fig, curves)``. ``height``: by
    default in proportion to ``width`` (taller with the reactive schedules' metrics under the rates)."""
    reactive = any(S.get(name).reactive for name, _ in entries)
    fig = new_figure(width, height or width * (0.9 if reactive else 0.55) + 0.6)
    curves = draw_schedules(fig, entries, lr, epochs, metrics, source, log, recorded=recorded)
    return fig, curves
