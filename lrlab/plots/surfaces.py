"""Drawing loss surfaces, optimizer paths on them, their losses, and convergence maps.

Pure drawing: every number comes from :mod:`lrlab.surfaces`. Contours are drawn in
``log10(f - f_min + floor)`` where the surface says that helps (Rosenbrock, Beale,
Himmelblau: values spanning many orders of magnitude), in ``f`` otherwise.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import surfaces as surfaces_mod
from . import PALETTE, new_figure, run_styles

#: light grey-to-white background, so that the palette's colours stand out on it
BACKGROUND_CMAP = LinearSegmentedColormap.from_list("lrlab_surface", ["#c9d3dc", "#eef1f4", "#ffffff"])
CONTOUR_COLOR = "#7b8794"
DIVERGED_COLOR, NOT_CONVERGED_COLOR = "#222222", "#d9d9d9"
#: path colours: the palette without its yellow (unreadable on a light background)
PATH_COLORS = tuple(c for c in PALETTE if c != "#F0E442")


def contour_values(surface, z: np.ndarray) -> tuple[np.ndarray, str]:
    """What the contours show: ``log10(f - f_min + 1e-3 * spread)`` where ``log_contour``, else ``f``."""
    s = surfaces_mod.get(surface)
    if not s.log_contour:
        return z, "f"
    spread = float(np.nanmax(z) - s.f_min)
    return np.log10(z - s.f_min + 1e-4 * max(spread, 1e-12)), "log₁₀(f − f*)"


def draw_surface(ax, surface, resolution: int = 200, levels: int = 18, colorbar: bool = False):
    """Background image and contour lines of ``surface`` over its box, with its critical points."""
    s = surfaces_mod.get(surface)
    xs, ys, z = surfaces_mod.grid(s, resolution)
    values, label = contour_values(s, z)
    if not s.log_contour:  # plain values: spread the levels where the surface is low
        lo, hi = float(np.nanmin(values)), float(np.nanpercentile(values, 97))
        level_values = lo + (hi - lo) * np.linspace(0, 1, levels + 1)[1:] ** 2
    else:
        level_values = np.linspace(np.nanmin(values), np.nanmax(values), levels + 2)[1:-1]
    # filled bands between the contour levels (an image: as fast as imshow, compresses like contourf)
    bands = np.digitize(values, level_values)
    image = ax.imshow(bands, origin="lower", extent=s.box, cmap=BACKGROUND_CMAP.reversed(), aspect="auto",
                      interpolation="nearest", vmin=0, vmax=len(level_values), zorder=0)
    ax.contour(xs, ys, values, levels=level_values, colors=CONTOUR_COLOR, linewidths=0.7, alpha=0.8, zorder=1)
    draw_critical_points(ax, s)
    ax.set_xlim(s.box[0], s.box[1])
    ax.set_ylim(s.box[2], s.box[3])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(s.title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.85)
    return image


def draw_critical_points(ax, surface) -> None:
    """Global minima as white stars, local minima as white circles, saddles as crosses."""
    s = surfaces_mod.get(surface)
    for c in s.critical_points:
        if c.kind == "global minimum":
            ax.plot(c.x, c.y, marker="*", markersize=16, color="white", markeredgecolor="black", zorder=5)
        elif c.kind == "local minimum":
            ax.plot(c.x, c.y, marker="o", markersize=6, color="white", markeredgecolor="#555555", zorder=5)
        else:
            ax.plot(c.x, c.y, marker="X", markersize=9, color="white", markeredgecolor="black", zorder=5)


def _format_loss(value: float) -> str:
    if not np.isfinite(value):
        return "diverged"
    if value == 0:
        return "0"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"


def _loss_text(label: str, loss: float, f_min: float | None) -> str:
    """The legend's words for a path now: its gap ``f − f*`` to the global minimum (or ``f``)."""
    if f_min is None:
        return f"{label}: f = {_format_loss(loss)}"
    return f"{label}: f − f* = {_format_loss(max(loss - f_min, 0.0) if np.isfinite(loss) else loss)}"


def path_styles(paths, n: int) -> list[tuple[str, str]]:
    """``(colour, line style)`` of the first ``n`` paths: their optimizer's colour, the same as in
    every other view (:data:`lrlab.plots.OPTIMIZER_COLORS`); a second path of one optimizer dashed."""
    return run_styles([r.get("optimizer") for r in paths.runs[:n]])


def _colors_and_styles(paths, n: int, colors) -> tuple[list, list]:
    if colors:
        return list(colors), ["-"] * n
    styles = path_styles(paths, n)
    return [c for c, _ in styles], [s for _, s in styles]


def draw_paths(ax, paths, labels, colors=None, upto: int | None = None, legend: bool = True,
               f_min: float | None = None) -> list:
    """Each path up to step ``upto`` (all of it when None): a line through its points, a ring at its
    start, a large dot where it is now, a cross where it diverged. Legend: label and current loss.
    Colours: each path's optimizer's (:func:`path_styles`) unless ``colors`` are given. With the
    surface's ``f_min`` the legend says each path's gap ``f − f*`` (what the loss plot shows: a
    path stuck at a saddle reads 0.25, not a success-looking f = 1.6e-18)."""
    colors, styles = _colors_and_styles(paths, len(labels), colors)
    T = paths.points.shape[1] - 1
    upto = T if upto is None else int(np.clip(upto, 0, T))
    handles = []
    for k, (label, color) in enumerate(zip(labels, colors)):
        pts = paths.points[k, :upto + 1]
        ended = paths.diverged_at[k] >= 0 and paths.diverged_at[k] <= upto
        finite = pts[np.isfinite(pts).all(1)]
        ax.plot(finite[:, 0], finite[:, 1], color=color, linestyle=styles[k], linewidth=2.0, alpha=0.9, zorder=3,
                marker="o" if len(finite) <= 60 else None, markersize=2.5)
        ax.plot(finite[0, 0], finite[0, 1], marker="o", markersize=10, markerfacecolor="none",
                markeredgecolor=color, markeredgewidth=2, zorder=4)
        if ended:
            ax.plot(finite[-1, 0], finite[-1, 1], marker="X", markersize=13, color=color, markeredgecolor="black",
                    zorder=6)
            text = f"{label}: diverged at step {paths.diverged_at[k]}"
        else:
            ax.plot(finite[-1, 0], finite[-1, 1], marker="o", markersize=9, color=color, markeredgecolor="black",
                    zorder=6)
            text = _loss_text(label, paths.losses[k, upto], f_min)
        handles.append(Line2D([], [], color=color, linestyle=styles[k], linewidth=2.5, marker="X" if ended else "o",
                              markeredgecolor="black", label=text))
    if legend:
        path_legend(ax, handles, paths, upto)
    return handles


def draw_losses(ax, paths, labels, f_min: float, colors=None, upto: int | None = None) -> None:
    """``f(theta_t) - f*`` against the step on a log axis (the gap to the global minimum)."""
    colors, styles = _colors_and_styles(paths, len(labels), colors)
    T = paths.points.shape[1] - 1
    upto = T if upto is None else int(np.clip(upto, 0, T))
    steps = np.arange(upto + 1)
    floor = 1e-16
    for k, (label, color) in enumerate(zip(labels, colors)):
        gap = np.maximum(paths.losses[k, :upto + 1] - f_min, floor)
        ax.plot(steps, gap, color=color, linestyle=styles[k], linewidth=2, label=label)
        if 0 <= paths.diverged_at[k] <= upto:
            d = paths.diverged_at[k] - 1
            ax.plot(d, gap[d], marker="X", markersize=11, color=color, markeredgecolor="black")
    ax.set_yscale("log")
    ax.set_xlim(0, max(T, 1))
    ax.set_xlabel("step")
    ax.set_ylabel("f(θ) − f*")
    ax.set_title("Gap to the global minimum")
    ax.grid(True, which="major", alpha=0.3)


def paths_figure(surface, paths, labels, upto: int | None = None, losses: bool = True, width: float = 12.5,
                 height: float = 5.2):
    """A figure: the surface with the paths (left) and their loss gaps (right)."""
    s = surfaces_mod.get(surface)
    fig = new_figure(width, height)
    if losses:
        ax, ax_loss = fig.subplots(1, 2, width_ratios=[1.25, 1])
    else:
        ax, ax_loss = fig.subplots(1, 1), None
    draw_surface(ax, s)
    handles = draw_paths(ax, paths, labels, upto=upto, legend=ax_loss is None, f_min=s.f_min)
    if ax_loss is not None:
        draw_losses(ax_loss, paths, labels, s.f_min, upto=upto)
        path_legend(ax_loss, handles, paths, upto)
    return fig


#: how far under its axes a legend below a chart starts, in the legend's font sizes: clear of the
#: tick labels and the x label (tick 3.5 pt + pad 3.5 + 10 pt labels + 4 + an 11 pt label ~ 32 pt)
BELOW_AXES_PAD = 3.3


def path_legend(ax, handles, paths, upto: int | None = None, ncol: int | None = None) -> None:
    """The legend of :func:`draw_paths` (label and current loss) on ``ax``, under the chart (never on
    a path or its end marker); ``ncol`` columns (default: one for up to three paths, else two)."""
    T = paths.points.shape[1] - 1
    upto = T if upto is None else int(np.clip(upto, 0, T))
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=BELOW_AXES_PAD,
                  ncol=ncol or (1 if len(handles) <= 3 else 2), fontsize=10, frameon=False,
                  title=f"step {upto} of {T}", title_fontsize=10, columnspacing=1.2, handlelength=1.8)


def convergence_categories(surface) -> list[tuple[list[int], str, str]]:
    """``[(codes, label, colour)]``: one category per minimum and saddle (local minima pooled into one
    when there are many), then 'not converged' and 'diverged'."""
    s = surfaces_mod.get(surface)
    colors = iter(PATH_COLORS[:7])
    categories = []
    minima = [i for i, c in enumerate(s.critical_points) if c.is_minimum]
    pooled = len(minima) > 6
    for i, c in enumerate(s.critical_points):
        if pooled and c.kind == "local minimum":
            continue
        categories.append(([i], f"{c.kind} ({c.x:.2f}, {c.y:.2f})", next(colors)))
    if pooled:
        locals_ = [i for i, c in enumerate(s.critical_points) if c.kind == "local minimum"]
        categories.append((locals_, "a local minimum", "#56B4E9"))
    categories.append(([surfaces_mod.NOT_CONVERGED], "still moving", NOT_CONVERGED_COLOR))
    categories.append(([surfaces_mod.DIVERGED], "diverged", DIVERGED_COLOR))
    return categories


def draw_convergence_map(ax, surface, cmap_result, legend: bool | str = True) -> None:
    """Colour each start point by where the optimizer ended; contour lines of the surface on top.
    ``legend``: True (or "right") beside the chart, "below" under it in two columns (a narrow
    figure), False none."""
    if legend not in (True, False, "right", "below"):
        raise ValueError(f"legend: True, False, 'right' or 'below', got {legend!r}"[:200])
    s = surfaces_mod.get(surface)
    categories = convergence_categories(s)
    index = np.zeros(cmap_result.codes.shape, dtype=int)
    for k, (codes, _, _) in enumerate(categories):
        index[np.isin(cmap_result.codes, codes)] = k
    colors = ListedColormap([c for _, _, c in categories])
    dx = (cmap_result.xs[1] - cmap_result.xs[0]) / 2 if len(cmap_result.xs) > 1 else 0
    dy = (cmap_result.ys[1] - cmap_result.ys[0]) / 2 if len(cmap_result.ys) > 1 else 0
    extent = (cmap_result.xs[0] - dx, cmap_result.xs[-1] + dx, cmap_result.ys[0] - dy, cmap_result.ys[-1] + dy)
    ax.imshow(index, origin="lower", extent=extent, cmap=colors, vmin=-0.5, vmax=len(categories) - 0.5,
              interpolation="nearest", aspect="auto", alpha=0.85, zorder=0)
    xs, ys, z = surfaces_mod.grid(s, 160)
    values, _ = contour_values(s, z)
    ax.contour(xs, ys, values, levels=12, colors="#444444", linewidths=0.6, alpha=0.45, zorder=1)
    draw_critical_points(ax, s)
    ax.set_xlim(s.box[0], s.box[1])
    ax.set_ylim(s.box[2], s.box[3])
    ax.set_xlabel("start x")
    ax.set_ylabel("start y")
    ax.set_title(f"Where {cmap_result.optimizer} ends after {cmap_result.steps} steps, from each start")
    if legend:
        total = cmap_result.codes.size
        handles = []
        for codes, label, color in categories:
            share = np.isin(cmap_result.codes, codes).sum() / total
            if share > 0 or codes[0] >= 0:
                handles.append(Patch(facecolor=color, edgecolor="#555555", label=f"{label}: {share:.0%}"))
        if legend == "below":
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=BELOW_AXES_PAD,
                      ncol=2, fontsize=10, frameon=False, title=f"{cmap_result.optimizer} ends at", title_fontsize=10,
                      columnspacing=1.2, handlelength=1.5)
        else:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=10, framealpha=0.95,
                      title=f"{cmap_result.optimizer} ends at", borderaxespad=0)


class AnimatedPaths:
    """Paths drawn once and moved to step ``t`` by :meth:`update` (artists updated, never re-plotted).

    On ``ax`` (optional): for each path a line through its first ``t + 1`` points, a ring at the
    start and a dot at ``theta_t`` (a cross where it diverged); on ``ax_loss`` (optional): the
    whole curve of ``f(theta_t) - f*``, a dot at step ``t`` and a vertical line marking ``t``; the
    legend (under ``ax_loss``, else under ``ax``; ``legend_columns`` columns) says each path's
    current loss.
    """

    def __init__(self, ax, paths, labels, f_min: float, ax_loss=None, colors=None, legend_columns: int | None = None):
        if ax is None and ax_loss is None:
            raise ValueError("AnimatedPaths: give ax (the surface), ax_loss (the gaps) or both")
        self.ax, self.ax_loss, self.paths, self.labels = ax, ax_loss, paths, list(labels)
        self.legend_columns = legend_columns
        self.colors, self.styles = _colors_and_styles(paths, len(self.labels), colors)
        self.T = paths.points.shape[1] - 1
        self.f_min = f_min
        self.gap = np.maximum(paths.losses - f_min, 1e-16)
        self.lines, self.heads, self.loss_heads = [], [], []
        for k, color in enumerate(self.colors if ax is not None else ()):
            start = paths.points[k, 0]
            ax.plot(start[0], start[1], marker="o", markersize=10, markerfacecolor="none", markeredgecolor=color,
                    markeredgewidth=2, zorder=4)
            (line,) = ax.plot([], [], color=color, linestyle=self.styles[k], linewidth=2.0, alpha=0.9, zorder=3,
                              markersize=2.5,
                              marker="o" if self.T <= 60 else None)
            (head,) = ax.plot([], [], marker="o", markersize=9, color=color, markeredgecolor="black", zorder=6,
                              linestyle="none")
            self.lines.append(line)
            self.heads.append(head)
        if ax_loss is not None:
            steps = np.arange(self.T + 1)
            for k, color in enumerate(self.colors):
                ax_loss.plot(steps, self.gap[k], color=color, linewidth=2, alpha=0.35)
                (head,) = ax_loss.plot([], [], color=color, linewidth=2.2)
                self.loss_heads.append(head)
                if paths.diverged[k]:
                    d = paths.diverged_at[k] - 1
                    ax_loss.plot(d, self.gap[k, d], marker="X", markersize=11, color=color, markeredgecolor="black",
                                 alpha=0.5)
            self.now = ax_loss.axvline(self.T, color="#444444", linewidth=1, linestyle=":")
            ax_loss.set_yscale("log")
            ax_loss.set_xlim(0, max(self.T, 1))
            finite = self.gap[np.isfinite(self.gap)]
            if finite.size:
                ax_loss.set_ylim(max(finite.min() / 3, 1e-16), finite.max() * 3)
            ax_loss.set_xlabel("step")
            ax_loss.set_ylabel("f(θ) − f*")
            ax_loss.set_title("Gap to the global minimum")
            ax_loss.grid(True, which="major", alpha=0.3)

    def update(self, upto: int) -> None:
        upto = int(np.clip(upto, 0, self.T))
        handles = []
        for k, (label, color) in enumerate(zip(self.labels, self.colors)):
            pts = self.paths.points[k, :upto + 1]
            finite = pts[np.isfinite(pts).all(1)]
            ended = 0 <= self.paths.diverged_at[k] <= upto
            if self.lines:
                self.lines[k].set_data(finite[:, 0], finite[:, 1])
                self.heads[k].set_data(finite[-1:, 0], finite[-1:, 1])
                self.heads[k].set_marker("X" if ended else "o")
                self.heads[k].set_markersize(13 if ended else 9)
            if self.loss_heads:
                n = len(finite)
                self.loss_heads[k].set_data(np.arange(n), self.gap[k, :n])
            text = (f"{label}: diverged at step {self.paths.diverged_at[k]}" if ended
                    else _loss_text(label, self.paths.losses[k, upto], self.f_min))
            handles.append(Line2D([], [], color=color, linestyle=self.styles[k], linewidth=2.5,
                              marker="X" if ended else "o", markeredgecolor="black", label=text))
        if self.ax_loss is not None:
            self.now.set_xdata([upto, upto])
        path_legend(self.ax_loss if self.ax_loss is not None else self.ax, handles, self.paths, upto,
                    ncol=self.legend_columns)


#: what the surface explorer shows, one chart at a time (its picker): the paths on the surface,
#: their gaps to the minimum against the step, or where each start point ends
VIEWS = ("paths", "gap to minimum", "convergence map")
#: the explorer's figure, drawn at the size it is shown: 6.0 x 4.75 in at 88 dpi = 528 x 418 px, beside
#: the panel's 390 px column of controls (JupyterLab leaves a notebook ~930 px on a 1366 px screen
#: with its file browser open); at 88 dpi lrlab's 10 pt ticks and legends are 12 px, 11 pt axis
#: labels 13 px and 12 pt titles 15 px (:data:`lrlab.plots.RC`)
EXPLORER_SIZE, EXPLORER_DPI = (6.0, 4.75), 88


def explorer_figure(surface, view: str, paths=None, labels=(), cmap_result=None, start=None,
                    size: tuple[float, float] = EXPLORER_SIZE, dpi: int = EXPLORER_DPI) -> dict:
    """The surface explorer's figure for one of :data:`VIEWS`, one chart filling it:

    * "paths": the surface with the paths, animated (``animated.update(t)``), the legend under it;
    * "gap to minimum": the paths' gaps ``f - f*`` against the step, animated the same way;
    * "convergence map": where ``cmap_result``'s optimizer ends from each start, ``start`` ringed.

    Returns ``{"fig", "ax", "animated", "view"}``: ``ax`` is the axes whose data coordinates are
    the surface's (None in the gap view), so that a click on the picture can be read as a point;
    ``animated`` None where there is nothing to animate."""
    if view not in VIEWS:
        raise ValueError(f"view: one of {', '.join(VIEWS)}, got {view!r}"[:200])
    s = surfaces_mod.get(surface)
    fig = new_figure(*size, dpi=dpi)
    chart = fig.subplots(1, 1)
    ax, animated = chart, None
    if view == "convergence map":
        if cmap_result is None:
            raise ValueError("explorer_figure: the convergence map view needs cmap_result")
        draw_convergence_map(chart, s, cmap_result, legend="below")
        if start is not None:
            chart.plot(*start, marker="o", markersize=11, markerfacecolor="none", markeredgecolor="black",
                       markeredgewidth=2)
    elif view == "paths":
        draw_surface(chart, s)
        if paths is not None:
            animated = AnimatedPaths(chart, paths, labels, s.f_min, legend_columns=min(2, len(labels)))
    else:
        ax = None
        if paths is not None:
            animated = AnimatedPaths(None, paths, labels, s.f_min, ax_loss=chart, legend_columns=min(2, len(labels)))
        else:
            chart.set_title("Gap to the global minimum")
    return {"fig": fig, "ax": ax, "animated": animated, "view": view}

