"""Drawing races and sweeps: overlaid curves (one colour per contender), decision-boundary
small multiples, loss against learning rate per optimizer, the LR range test."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..records import _frozen
from . import CLASS_COLORS, PALETTE, fig_to_png, new_figure, optimizer_color, run_styles


def _labels(runs, labels):
    if labels is not None:
        return list(labels)
    from ..race import label_of
    return [label_of(r.config) for r in runs]


#: the history columns a race picture carries
PICTURE_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc")


@dataclass(frozen=True)
class ContenderPicture:
    """One contender as a race picture draws it: numbers only (picklable, safe across threads).

    ``values``: its output on the picture's grid (P(class 1) with two classes, else the class)
    or its fitted curve on ``xs`` (regression); None for contenders beyond the small multiples.
    ``accuracy``: what its small multiple says (the best epoch's once its weights were restored)."""

    label: str
    history: dict
    stop_reason: Optional[str]
    best_epoch: Optional[int]
    accuracy: float
    values: Optional[np.ndarray]
    color: str = PALETTE[0]  # its optimizer's colour (lrlab.plots.OPTIMIZER_COLORS)
    style: str = "-"  # solid; dashed, dotted, ... for a second, third, ... run of that optimizer


@dataclass(frozen=True)
class RacePicture:
    """A race as :func:`draw_race` draws it (:func:`race_picture` builds it from runs)."""

    contenders: tuple
    kind: str
    n_classes: int
    X: Optional[np.ndarray]  # training inputs [n, d] (None: no small multiples)
    y: Optional[np.ndarray]
    extent: Optional[tuple]  # the grid's (x0, x1, y0, y1) (classification)
    xs: Optional[np.ndarray]  # where the fitted curves are evaluated (regression)


def race_picture(runs, labels=None, dataset=None, resolution: int = 60, max_multiples: int = 8) -> RacePicture:
    """The numbers :func:`draw_race` draws, read from ``runs`` now (call it where the runs are
    not being trained at that moment, e.g. between epochs in the racing thread)."""
    from .training import boundary_grid, class_probabilities
    labels = _labels(runs, labels)
    dataset = dataset if dataset is not None else (runs[0].dataset if runs else None)
    kind = runs[0].kind if runs else "classification"
    X = y = extent = xs = None
    n = min(len(runs), max_multiples) if dataset is not None else 0
    if dataset is not None:
        X, y = _frozen(dataset.X_train.cpu().numpy()), _frozen(dataset.y_train.cpu().numpy())
        if dataset.kind == "regression":
            xs = _frozen(np.linspace(X[:, 0].min(), X[:, 0].max(), 200))
        else:
            gx, _, pts, extent = boundary_grid(np.concatenate([X, dataset.X_test.cpu().numpy()]), resolution)
    contenders = []
    styles = run_styles([run.config.optimizer for run in runs])
    for i, (run, name) in enumerate(zip(runs, labels)):
        h = run.history
        history = {c: _frozen(h[c]) for c in PICTURE_COLUMNS}
        values = None
        if i < n:
            if xs is not None:
                values = run.output(np.array(xs).reshape(-1, 1)).cpu().numpy().ravel()  # (a writable copy)
            else:
                values = class_probabilities(run, pts).reshape(gx.shape)
            values = _frozen(values)
        restored = run.stop_reason is not None and run.best_epoch is not None and run.best_metrics
        acc = (run.best_metrics.get("test_acc", float("nan")) if restored
               else (float(history["test_acc"][-1]) if len(history["test_acc"]) else float("nan")))
        contenders.append(ContenderPicture(name, history, run.stop_reason, run.best_epoch if restored else None,
                                           float(acc), values, *styles[i]))
    return RacePicture(tuple(contenders), kind, dataset.n_classes if dataset is not None else 0, X, y, extent, xs)


def _picture(runs, labels=None, dataset=None, max_multiples: int = 8) -> RacePicture:
    """``runs`` itself if it is a :class:`RacePicture`, else the picture of those runs now."""
    return runs if isinstance(runs, RacePicture) else race_picture(runs, labels, dataset, max_multiples=max_multiples)


def draw_race_curves(ax_loss, ax_acc, ax_lr, runs, labels=None, column: str = "test", legend: bool = True) -> None:
    """Loss (log y), accuracy and learning rate per epoch, one colour per contender; an x where one
    diverged. ``runs``: a :class:`RacePicture` or runs. ``ax_acc`` / ``ax_lr`` may be None (not drawn)."""
    picture = _picture(runs, labels)
    regression = picture.kind == "regression"
    for c in picture.contenders:
        h = c.history
        if not len(h["epoch"]):
            continue
        e = h["epoch"] + 1
        kw = dict(color=c.color, linestyle=c.style, linewidth=1.8)
        loss = np.where(np.isfinite(h[f"{column}_loss"]), h[f"{column}_loss"], np.nan)
        ax_loss.plot(e, loss, label=c.label, **kw)
        if ax_acc is not None:
            ax_acc.plot(e, h[f"{column}_acc"], **kw)
        if ax_lr is not None:
            ax_lr.plot(e, h["lr"], **kw)
        if c.stop_reason == "diverged":
            finite = np.isfinite(loss)
            y = loss[finite][-1] if finite.any() else 1.0
            ax_loss.plot([e[-1]], [y], marker="x", markersize=10, mew=2.5, color=c.color, linestyle="none")
    ax_loss.set_yscale("log")
    ax_loss.set_title(f"{column.capitalize()} loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    if ax_acc is not None:
        ax_acc.set_title(f"{column.capitalize()} {'R²' if regression else 'accuracy'}")
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("R²" if regression else "accuracy")
        if not regression:
            ax_acc.set_ylim(0.3, 1.02)
    if ax_lr is not None:
        ax_lr.set_title("Learning rate")
        ax_lr.set_xlabel("epoch")
        ax_lr.set_ylabel("lr")
        all_lr = [c.history["lr"] for c in picture.contenders if len(c.history["lr"])]
        if all_lr:
            lrs = np.concatenate(all_lr)
            lrs = lrs[lrs > 0]
            if len(lrs) and lrs.max() / lrs.min() > 20:
                ax_lr.set_yscale("log")
    if legend and 0 < len(picture.contenders) <= 10:
        ax_loss.legend(loc="upper right", fontsize=9)


def draw_boundary_multiple(axes, picture: RacePicture, fontsize: float = 9, chars: int | None = None) -> None:
    """One small decision-boundary map per contender (title in its colour), the training points on top.
    ``fontsize``: the titles' (pt); ``chars``: wrap each title's name at this many characters."""
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap
    k = picture.n_classes
    cmap = (LinearSegmentedColormap.from_list("lrlab2", ["#5DA5DA", "#FFFFFF", "#F5B041"]) if k == 2
            else ListedColormap(CLASS_COLORS[:k]))
    colors = np.array(CLASS_COLORS)
    for ax, c in zip(axes, picture.contenders):
        values = np.nan_to_num(c.values, nan=0.5)
        vmin, vmax = (0, 1) if k == 2 else (-0.5, k - 0.5)
        ax.imshow(values, origin="lower", extent=picture.extent, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                  alpha=0.85, interpolation="bilinear" if k == 2 else "nearest")
        ax.scatter(picture.X[:, 0], picture.X[:, 1], c=colors[picture.y], s=5, linewidths=0)
        _multiple_title(ax, c, regression=False, fontsize=fontsize, chars=chars)
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor(c.color)
            spine.set_linewidth(2)
            spine.set_linestyle(c.style)  # (a second run of one optimizer: dashed, as its curves)


def _multiple_title(ax, c: ContenderPicture, regression: bool, fontsize: float = 9, chars: int | None = None) -> None:
    """The contender's name and its test score in its colour (the best epoch's once restored);
    the name wrapped at ``chars`` characters (and within a word where one is longer)."""
    import textwrap
    if np.isfinite(c.accuracy):
        score = f"R² {c.accuracy:.2f} test" if regression else f"{100 * c.accuracy:.0f} % test"
        if c.best_epoch is not None:
            score += f" (epoch {c.best_epoch + 1})" if chars is None or chars >= 20 else f", ep. {c.best_epoch + 1}"
    else:
        score = "diverged"
    name = c.label if chars is None else "\n".join(textwrap.wrap(c.label, max(chars, 6), break_on_hyphens=False))
    ax.set_title(f"{name}\n{score}", color=c.color, fontsize=fontsize)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_fit_multiple(axes, picture: RacePicture, fontsize: float = 9, chars: int | None = None) -> None:
    """Regression: each contender's fitted curve over the data, in its colour."""
    for ax, c in zip(axes, picture.contenders):
        ax.scatter(picture.X[:, 0], np.ravel(picture.y), s=4, color="#999999")
        ax.plot(picture.xs, c.values, color=c.color, linestyle=c.style, linewidth=2)
        _multiple_title(ax, c, regression=True, fontsize=fontsize, chars=chars)


#: What the race panel's figure shows under its loss chart, one at a time (the panel's picker):
#: each contender's decision boundary (or fitted curve), the test accuracy, the learning rate.
CHARTS = {"boundaries": "boundaries (or fits)", "accuracy": "test accuracy", "lr": "learning rate"}
#: the text sizes (pt) of a figure drawn with a ``chart``: at the live figure's 88 dpi, 10 pt is
#: 12 px (ticks, the key, the small multiples' names) and 12 pt titles are 15 px
KEY_PT = MULTIPLE_PT = 10


def _key(fig, handles, names, fontsize: float, **kw):
    """The figure's key above its charts, in as many columns as fit the figure's width (measured)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not isinstance(fig.canvas, FigureCanvasAgg):  # (e.g. an unpickled figure's bare canvas)
        FigureCanvasAgg(fig)
    width = fig.bbox.width - 8
    renderer = fig.canvas.get_renderer()
    for ncol in range(len(names), 0, -1):
        key = fig.legend(handles, names, loc="outside upper center", ncol=ncol, frameon=False, fontsize=fontsize,
                         **kw)
        if ncol == 1 or key.get_window_extent(renderer).width <= width:
            return key
        key.remove()


def draw_race(fig, runs, labels=None, dataset=None, max_multiples: int = 8, chart: str | None = None) -> dict:
    """``chart=None``: curves on top (loss, accuracy, learning rate), one small boundary map per
    contender below. ``chart`` (a key of :data:`CHARTS`): the loss on top and under it ONE picked
    view: the small multiples (``"boundaries"``; in up to two rows), the accuracy or the learning
    rate; its text sized for the race panel (:data:`KEY_PT`). Either way one key for the figure,
    above the charts. ``runs``: a :class:`RacePicture`, or runs (read now with :func:`race_picture`).
    Returns the axes: ``{"loss", "accuracy", "lr", "multiples"}`` (None / [] where not drawn)."""
    if chart is not None and chart not in CHARTS:
        raise ValueError(f"chart: one of {', '.join(CHARTS)}, got {chart!r}")
    picture = _picture(runs, labels, dataset, max_multiples)
    n = sum(c.values is not None for c in picture.contenders[:max_multiples])
    width_px = fig.get_size_inches()[0] * fig.dpi
    if chart is None:
        grid = fig.add_gridspec(2 if n else 1, max(n, 3) * 2 if n else 6, height_ratios=[1.5, 1] if n else None)
        cols = grid.ncols // 3
        ax_loss = fig.add_subplot(grid[0, 0:cols])
        ax_acc = fig.add_subplot(grid[0, cols:2 * cols])
        ax_lr = fig.add_subplot(grid[0, 2 * cols:])
        lower, per_row, size = (grid[1, :] if n else None), n, None
    else:
        shown = n if chart == "boundaries" else 0
        rows = 2 if shown > 4 else 1
        grid = fig.add_gridspec(2, 1, height_ratios=[1, 1.7 if rows == 2 else 1.1] if shown else [1, 0.8])
        ax_loss = fig.add_subplot(grid[0, 0])
        ax_acc = fig.add_subplot(grid[1, 0], sharex=ax_loss) if chart == "accuracy" else None
        ax_lr = fig.add_subplot(grid[1, 0], sharex=ax_loss) if chart == "lr" else None
        lower, per_row, size = (grid[1, 0] if shown else None), -(-shown // rows), MULTIPLE_PT
    draw_race_curves(ax_loss, ax_acc, ax_lr, picture, legend=False)
    handles, names = ax_loss.get_legend_handles_labels()
    if 0 < len(handles) <= 16:  # one legend above the charts, not on the curves
        if chart is None:
            fig.legend(handles, names, loc="outside upper center", ncol=min(4, len(handles)), frameon=False,
                       fontsize=10)
        else:  # as many columns as fit: a long name takes its room, short ones share a row
            _key(fig, handles, names, KEY_PT, handlelength=1.6, columnspacing=1.2, handletextpad=0.5)
    axes = []
    if lower is not None:
        rows = -(-n // per_row)
        cells = lower.subgridspec(rows, per_row)
        axes = [fig.add_subplot(cells[i // per_row, i % per_row]) for i in range(n)]
        # a name wraps to the width of its map (~0.6 em a character)
        chars = None if size is None else int(width_px / per_row / (0.6 * size * fig.dpi / 72))
        (draw_fit_multiple if picture.kind == "regression" else draw_boundary_multiple)(
            axes, picture, **({} if size is None else {"fontsize": size, "chars": chars}))
    return {"loss": ax_loss, "accuracy": ax_acc, "lr": ax_lr, "multiples": axes}


def _agg_figure(width: float, height: float, dpi: int = 100):
    """A new figure with an Agg canvas attached (so ``fig_to_png(fast=True)`` can read its buffer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = new_figure(width, height, dpi)
    FigureCanvasAgg(fig)
    return fig


def race_figure(runs, labels=None, dataset=None, width: float = 10, height: float = 6.2, chart: str | None = None,
                dpi: int = 100):
    """The race as a figure: every chart (``chart=None``), or the loss and one picked view
    (see :func:`draw_race`)."""
    fig = _agg_figure(width, height, dpi)
    draw_race(fig, runs, labels, dataset, chart=chart)
    return fig


#: the live figure's size: 528 x 480 px at 88 dpi, beside the race panel's 380 px column of
#: controls in the 930 px JupyterLab leaves a notebook on a 1366 px screen with its file browser open
LIVE_DPI = 88
LIVE_SIZE_PX = (528, 480)


def inches(px: int, dpi: int) -> float:
    """A figure size in inches that gives ``px`` pixels at ``dpi`` whether matplotlib rounds the
    product (3.11) or truncates it (3.10: 480 / 88 * 88 = 479.99... gave 479 px)."""
    return (px + 0.25) / dpi


class LiveRaceFigure:
    """The race panel's figure: redrawn whole from each frame's ``frame["picture"]`` (a
    :class:`RacePicture`): the loss and under it ONE picked view (:data:`CHARTS`), drawn at
    the size it is shown (:data:`LIVE_SIZE_PX` at :data:`LIVE_DPI`: 10 pt text is 12 px). It pickles,
    so the kernel's renderer process draws its own copy (:mod:`lrlab.plots.render_process`)
    and the racing thread keeps the lock; the picked view travels in the frame
    (``frame["options"] = {"chart": ...}``), so that whoever draws the frame shows it."""

    def __init__(self, width: float = inches(LIVE_SIZE_PX[0], LIVE_DPI), height: float = inches(LIVE_SIZE_PX[1], LIVE_DPI),
                 dpi: int = LIVE_DPI, chart: str = "boundaries"):
        self.fig = _agg_figure(width, height, dpi)
        self._background = None
        self.chart = None
        self.axes: dict = {}
        self.set_options(chart=chart)

    def set_options(self, chart: str | None = None) -> bool:
        """The view under the loss chart (a key of :data:`CHARTS`; drawn at the next update).
        True if it changed."""
        if chart is None or chart == self.chart:
            return False
        if chart not in CHARTS:
            raise ValueError(f"chart: one of {', '.join(CHARTS)}, got {chart!r}")
        self.chart = chart
        return True

    def update(self, frame: dict) -> None:
        if frame.get("options"):
            self.set_options(**frame["options"])
        self.fig.clf()
        self.axes = draw_race(self.fig, frame["picture"], chart=self.chart)

    def png(self) -> bytes:
        return fig_to_png(self.fig, fast=True)


def save_race_png(runs, path: str, labels=None) -> None:
    race_figure(runs, labels).savefig(path, dpi=100)


# ------------------------------------------------------------------ sweeps
METRIC_LABELS = {"final_train_loss": "final train loss", "final_test_loss": "final test loss",
                 "best_test_loss": "best test loss", "final_test_acc": "final test accuracy",
                 "best_test_acc": "best test accuracy", "final_train_acc": "final train accuracy"}


def draw_sweep(ax, result, metric: str = "final_train_loss", legend: bool = True) -> None:
    """``metric`` against the learning rate (log x), one line per optimizer; where an optimizer
    diverged, its lr range is shaded in its colour and the points are marked x at the top, and
    the key has an entry for it (``"<name> diverged: lr >= <first>"``, :func:`diverged_label`).
    ``legend=True``: the key beside the chart, never on the data; ``legend=False``: no key drawn
    (the figure's key, above the chart, says it: :func:`sweep_figure`)."""
    if result is None:
        return
    if metric not in result.metrics:
        raise ValueError(f"metric: one of {', '.join(result.metrics)}, got {metric!r}")
    values = result.metrics[metric]
    diverged = result.metrics["diverged"].astype(bool)
    is_loss = "loss" in metric
    finite = values[np.isfinite(values) & ~diverged]
    top = None
    if is_loss and finite.size:
        top = min(finite.max() * 1.3, np.nanmedian(values[:, 0]) * 3) if np.isfinite(values[:, 0]).any() \
            else finite.max() * 1.3
        top = max(top, finite.min() * 2)
    lrs = result.lrs
    half_step = np.sqrt(lrs[1] / lrs[0]) if len(lrs) > 1 else 1.5
    for i, name in enumerate(result.optimizers):
        y = np.where(diverged[i], np.nan, values[i])
        color = optimizer_color(name)
        ax.plot(lrs, y, color=color, marker="o", markersize=3, linewidth=2,
                label=f"{name} (best lr {result.best_lr(name):.2g})")
        if diverged[i].any():
            first = lrs[np.argmax(diverged[i])]
            ax.axvspan(first / half_step, lrs[-1] * half_step, color=color, alpha=0.10, linewidth=0,
                       label=diverged_label(name, first))
            ax.axvline(first / half_step, color=color, linestyle=":", linewidth=1.2)
    ax.set_xscale("log")
    if is_loss and finite.size and finite.min() > 0:
        ax.set_yscale("log")
        ax.set_ylim(finite.min() * 0.7, top)
    elif not is_loss:
        ax.set_ylim(0, 1.02)
    for i, name in enumerate(result.optimizers):  # x marks for diverged runs, along the top
        if diverged[i].any():
            y_top = ax.get_ylim()[1]
            ax.plot(lrs[diverged[i]], np.full(int(diverged[i].sum()), y_top), linestyle="none", marker="x",
                    color=optimizer_color(name), markersize=6, clip_on=False)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"LR sweep: {METRIC_LABELS.get(metric, metric)} after {result.epochs} epochs")
    if legend:  # beside the chart: the shading and the lines stay uncovered
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9)


def diverged_label(name: str, first_lr: float) -> str:
    """The key's words for an optimizer's shaded (diverged) learning rates, from ``first_lr`` on."""
    return f"{name} diverged: lr ≥ {first_lr:.2g}"


def draw_range_test(ax, test, legend: bool = True) -> None:
    """The LR range test: loss per step against its learning rate, the smoothed loss, the suggestion.
    ``legend=False``: no legend in the chart (the figure's key says it, :func:`sweep_figure`)."""
    ax.plot(test.lrs, test.losses, color="#999999", linewidth=1, label="loss per step")
    ax.plot(test.lrs, test.smoothed, color=PALETTE[0], linewidth=2.2, label="smoothed (EMA 0.9)")
    if test.suggested_lr is not None:
        ax.axvline(test.suggested_lr, color=PALETTE[2], linewidth=2, linestyle="--",
                   label=f"suggested lr {test.suggested_lr:.2g} (minimum / 10)")
    if test.diverged_lr is not None:
        ax.axvspan(test.diverged_lr, test.lrs[-1] * 10 if len(test.lrs) else test.diverged_lr * 10,
                   color=PALETTE[3], alpha=0.12, linewidth=0, label=f"diverged from {test.diverged_lr:.2g}")
        ax.set_xlim(test.lrs[0], test.diverged_lr * 3)
    ax.set_xscale("log")
    finite = test.smoothed[np.isfinite(test.smoothed)]
    if finite.size:
        ax.set_ylim(max(finite.min() * 0.8, 0), finite[0] * 2.0 if finite[0] > 0 else None)
    ax.set_xlabel("learning rate (one step each)")
    ax.set_ylabel("training loss")
    ax.set_title(f"LR range test: {test.config.optimizer}")
    if legend:
        ax.legend(loc="upper left", fontsize=9)


#: What the sweep panel's figure shows, one at a time (the panel's picker).
SWEEP_CHARTS = {"sweep": "LR sweep", "range_test": "LR range test"}
#: the sweep panel's figure: 528 x 431 px at 88 dpi (10 pt text is 12 px), beside a 380 px column
SWEEP_SIZE_PX = (528, 431)


def sweep_figure(result, range_test=None, metric: str = "final_train_loss", width: float = 10.5, height: float = 4.4,
                 chart: str | None = None, dpi: int = 100):
    """``chart=None``: the sweep (left) and the range test (right); either may be None.
    ``chart`` (a key of :data:`SWEEP_CHARTS`): that one alone (an empty figure where it is None),
    ``width`` x ``height`` in at ``dpi``, its title wrapped to the width and its legend a key above
    the chart (never on the data), 10 pt (:data:`KEY_PT`)."""
    if chart is not None:
        if chart not in SWEEP_CHARTS:
            raise ValueError(f"chart: one of {', '.join(SWEEP_CHARTS)}, got {chart!r}")
        fig = _agg_figure(width, height, dpi)
        ax = fig.add_subplot(1, 1, 1)
        if chart == "sweep" and result is not None:
            draw_sweep(ax, result, metric, legend=False)
        elif chart == "range_test" and range_test is not None:
            draw_range_test(ax, range_test, legend=False)
        else:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "press Sweep" if chart == "sweep" else "press Range test", ha="center", va="center",
                    transform=ax.transAxes, color="0.4")
            return fig
        _wrap_title(ax, fig)
        handles, names = ax.get_legend_handles_labels()
        if handles:
            _key(fig, handles, names, KEY_PT, handlelength=1.6, columnspacing=1.2, handletextpad=0.5)
        return fig
    both = result is not None and range_test is not None
    fig = _agg_figure(width if both else width * 0.6, height)
    if result is None and range_test is not None:
        draw_range_test(fig.add_subplot(1, 1, 1), range_test)
    elif both:
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.4, 1])
        draw_sweep(ax1, result, metric)
        draw_range_test(ax2, range_test)
    else:
        draw_sweep(fig.add_subplot(1, 1, 1), result, metric)
    return fig


def _wrap_title(ax, fig) -> None:
    """The axes' title wrapped to the axes' width (~85 % of the figure's; ~0.6 em a character)."""
    import textwrap
    size_px = ax.title.get_fontsize() * fig.dpi / 72
    chars = int(0.85 * fig.bbox.width / (0.6 * size_px))
    ax.set_title("\n".join(textwrap.wrap(ax.get_title(), chars)))


def save_sweep_png(result, path: str, range_test=None, metric: str = "final_train_loss") -> None:
    sweep_figure(result, range_test, metric).savefig(path, dpi=100)
