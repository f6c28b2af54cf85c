"""Drawing races and sweeps: overlaid curves (one colour per contender), decision-boundary
small multiples, loss against learning rate per optimizer, the LR range test."""
from __future__ import annotations

import numpy as np

from . import CLASS_COLORS, PALETTE, new_figure

LINESTYLES = ("-", "--", ":", "-.")


def color_of(i: int) -> str:
    """Contender ``i``'s colour (the palette cycles; the line style changes each cycle)."""
    return PALETTE[i % len(PALETTE)]


def style_of(i: int) -> str:
    return LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)]


def _labels(runs, labels):
    if labels is not None:
        return list(labels)
    from ..race import label_of
    return [label_of(r.config) for r in runs]


def draw_race_curves(ax_loss, ax_acc, ax_lr, runs, labels=None, column: str = "test") -> None:
    """Loss (log y), accuracy and learning rate per epoch, one colour per contender; an x where one diverged."""
    labels = _labels(runs, labels)
    regression = bool(runs) and runs[0].kind == "regression"
    lr_ratio = 1.0
    for i, (run, name) in enumerate(zip(runs, labels)):
        h = run.history
        if not len(h):
            continue
        e = h["epoch"] + 1
        kw = dict(color=color_of(i), linestyle=style_of(i), linewidth=1.8)
        loss = np.where(np.isfinite(h[f"{column}_loss"]), h[f"{column}_loss"], np.nan)
        ax_loss.plot(e, loss, label=name, **kw)
        ax_acc.plot(e, h[f"{column}_acc"], **kw)
        ax_lr.plot(e, h["lr"], **kw)
        if run.stop_reason == "diverged":
            finite = np.isfinite(loss)
            y = loss[finite][-1] if finite.any() else 1.0
            ax_loss.plot([e[-1]], [y], marker="x", markersize=10, mew=2.5, color=color_of(i), linestyle="none")
        lr = h["lr"][h["lr"] > 0]
        if len(lr):
            lr_ratio = max(lr_ratio, lr.max() / lr.min())
    ax_loss.set_yscale("log")
    ax_loss.set_title(f"{column.capitalize()} loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_acc.set_title(f"{column.capitalize()} {'R²' if regression else 'accuracy'}")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("R²" if regression else "accuracy")
    if not regression:
        ax_acc.set_ylim(0.3, 1.02)
    ax_lr.set_title("Learning rate")
    ax_lr.set_xlabel("epoch")
    ax_lr.set_ylabel("lr")
    all_lr = [r.history["lr"] for r in runs if len(r.history)]
    if all_lr:
        lrs = np.concatenate(all_lr)
        lrs = lrs[lrs > 0]
        if len(lrs) and lrs.max() / lrs.min() > 20:
            ax_lr.set_yscale("log")
    if runs and len(runs) <= 10:
        ax_loss.legend(loc="upper right", fontsize=9)


def boundary_values(runs, points: np.ndarray) -> list[np.ndarray]:
    """P(class 1) (two classes) or the argmax class on ``points`` for each run's model."""
    from .training import class_probabilities
    return [class_probabilities(run, points) for run in runs]


def draw_boundary_multiple(axes, runs, dataset, labels=None, resolution: int = 60) -> None:
    """One small decision-boundary map per contender (title in its colour), the training points on top."""
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    from .training import boundary_grid
    labels = _labels(runs, labels)
    Xtr, ytr = dataset.X_train.cpu().numpy(), dataset.y_train.cpu().numpy()
    gx, gy, pts, extent = boundary_grid(np.concatenate([Xtr, dataset.X_test.cpu().numpy()]), resolution)
    k = dataset.n_classes
    cmap = (LinearSegmentedColormap.from_list("lrlab2", ["#5DA5DA", "#FFFFFF", "#F5B041"]) if k == 2
            else ListedColormap(CLASS_COLORS[:k]))
    colors = np.array(CLASS_COLORS)
    for i, (ax, run, name) in enumerate(zip(axes, runs, labels)):
        values = boundary_values([run], pts)[0].reshape(gx.shape)
        values = np.nan_to_num(values, nan=0.5)
        vmin, vmax = (0, 1) if k == 2 else (-0.5, k - 0.5)
        ax.imshow(values, origin="lower", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                  alpha=0.85, interpolation="bilinear" if k == 2 else "nearest")
        ax.scatter(Xtr[:, 0], Xtr[:, 1], c=colors[ytr], s=5, linewidths=0)
        acc = (run.history.last or {}).get("test_acc", float("nan"))
        ax.set_title(f"{name}\n{100 * acc:.0f} % test" if np.isfinite(acc) else f"{name}\ndiverged",
                     color=color_of(i), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor(color_of(i))
            spine.set_linewidth(2)


def draw_fit_multiple(axes, runs, dataset, labels=None) -> None:
    """Regression: each contender's fitted curve over the data, in its colour."""
    labels = _labels(runs, labels)
    X, y = dataset.X_train.cpu().numpy()[:, 0], dataset.y_train.cpu().numpy().ravel()
    xs = np.linspace(X.min(), X.max(), 200)
    for i, (ax, run, name) in enumerate(zip(axes, runs, labels)):
        ax.scatter(X, y, s=4, color="#999999")
        ax.plot(xs, run.output(xs.reshape(-1, 1)).cpu().numpy().ravel(), color=color_of(i), linewidth=2)
        ax.set_title(name, color=color_of(i), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])


def draw_race(fig, runs, labels=None, dataset=None, max_multiples: int = 8) -> None:
    """Curves on top (loss, accuracy, learning rate), one small boundary map per contender below."""
    dataset = dataset if dataset is not None else (runs[0].dataset if runs else None)
    n = min(len(runs), max_multiples) if dataset is not None else 0
    grid = fig.add_gridspec(2 if n else 1, max(n, 3) * 2 if n else 6, height_ratios=[1.5, 1] if n else None)
    cols = grid.ncols // 3
    ax_loss = fig.add_subplot(grid[0, 0:cols])
    ax_acc = fig.add_subplot(grid[0, cols:2 * cols])
    ax_lr = fig.add_subplot(grid[0, 2 * cols:])
    draw_race_curves(ax_loss, ax_acc, ax_lr, runs, labels)
    if n:
        width = grid.ncols // n
        axes = [fig.add_subplot(grid[1, i * width:(i + 1) * width]) for i in range(n)]
        if dataset.kind == "regression":
            draw_fit_multiple(axes, runs[:n], dataset, _labels(runs, labels)[:n])
        else:
            draw_boundary_multiple(axes, runs[:n], dataset, _labels(runs, labels)[:n])


def _agg_figure(width: float, height: float):
    """A new figure with an Agg canvas attached (so ``fig_to_png(fast=True)`` can read its buffer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = new_figure(width, height)
    FigureCanvasAgg(fig)
    return fig


def race_figure(runs, labels=None, dataset=None, width: float = 15, height: float = 7.5):
    fig = _agg_figure(width, height)
    draw_race(fig, runs, labels, dataset)
    return fig


def save_race_png(runs, path: str, labels=None) -> None:
    race_figure(runs, labels).savefig(path, dpi=100)


# ------------------------------------------------------------------ sweeps
METRIC_LABELS = {"final_train_loss": "final train loss", "final_test_loss": "final test loss",
                 "best_test_loss": "best test loss", "final_test_acc": "final test accuracy",
                 "best_test_acc": "best test accuracy", "final_train_acc": "final train accuracy"}


def draw_sweep(ax, result, metric: str = "final_train_loss") -> None:
    """``metric`` against the learning rate (log x), one line per optimizer; where an optimizer
    diverged, its lr range is shaded in its colour and the points are marked x at the top."""
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
        ax.plot(lrs, y, color=color_of(i), linestyle=style_of(i), marker="o", markersize=3, linewidth=2,
                label=f"{name} (best lr {result.best_lr(name):.2g})")
        if diverged[i].any():
            first = lrs[np.argmax(diverged[i])]
            ax.axvspan(first / half_step, lrs[-1] * half_step, color=color_of(i), alpha=0.10, linewidth=0)
            ax.axvline(first / half_step, color=color_of(i), linestyle=":", linewidth=1.2)
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
                    color=color_of(i), markersize=6, clip_on=False)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"LR sweep: {METRIC_LABELS.get(metric, metric)} after {result.epochs} epochs (shaded: diverged)")
    ax.legend(loc="best", fontsize=9)


def draw_range_test(ax, test) -> None:
    """The LR range test: loss per step against its learning rate, the smoothed loss, the suggestion."""
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
    ax.legend(loc="upper left", fontsize=9)


def sweep_figure(result, range_test=None, metric: str = "final_train_loss", width: float = 14, height: float = 4.8):
    """The sweep (left) and the range test (right); either may be None."""
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


def save_sweep_png(result, path: str, range_test=None, metric: str = "final_train_loss") -> None:
    sweep_figure(result, range_test, metric).savefig(path, dpi=100)
