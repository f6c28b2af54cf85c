"""Drawing a training run: loss and accuracy curves, the learning rate, the decision boundary."""
from __future__ import annotations

import numpy as np
import torch

from . import CLASS_COLORS, TEST_COLOR, TRAIN_COLOR


def draw_loss(ax, history, log: bool = True) -> None:
    e = history["epoch"] + 1
    ax.plot(e, history["train_loss"], color=TRAIN_COLOR, label="train")
    ax.plot(e, history["test_loss"], color=TEST_COLOR, label="test", linestyle="--")
    if log and len(e) and np.nanmin(history["train_loss"]) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.legend(loc="upper right")


def draw_accuracy(ax, history, regression: bool = False) -> None:
    e = history["epoch"] + 1
    ax.plot(e, history["train_acc"], color=TRAIN_COLOR, label="train")
    ax.plot(e, history["test_acc"], color=TEST_COLOR, label="test", linestyle="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("R²" if regression else "accuracy")
    ax.set_title("R² (fit)" if regression else "Accuracy")
    acc = np.asarray(history["test_acc"], dtype=float)
    finite = acc[np.isfinite(acc)]  # a diverged fit's R² can be -inf or NaN
    ax.set_ylim(0 if not regression else min(0, finite.min(initial=0)), 1.02)
    ax.legend(loc="lower right")


def draw_lr(ax, history, cuts=()) -> None:
    e = history["epoch"] + 1
    ax.plot(e, history["lr"], color="#009E73")
    for i, cut in enumerate(cuts):
        ax.axvline(cut["epoch"] + 1.5, color="#D55E00", linestyle=":", label="plateau cut" if i == 0 else None)
    if cuts:
        ax.legend(loc="upper right")
    lr = history["lr"]
    if len(lr) and np.nanmin(lr) > 0 and np.nanmax(lr) / np.nanmin(lr) > 20:
        ax.set_yscale("log")
    elif len(lr) and np.isfinite(lr).any() and np.nanmax(lr) > 0:
        ax.set_ylim(0, 1.15 * np.nanmax(lr))  # from 0: a constant rate is a flat line, not noise on a 0.0096-0.0104 axis
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title("Learning rate")


def boundary_grid(X: np.ndarray, resolution: int = 100, margin: float = 0.3):
    lo, hi = X.min(0) - margin, X.max(0) + margin
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], 1), (lo[0], hi[0], lo[1], hi[1])


def class_probabilities(run, points: np.ndarray) -> np.ndarray:
    """P(class 1) (two classes) or the argmax class (more) on raw input ``points``."""
    out = run.output(points)
    if out.shape[1] == 2:
        return torch.softmax(out, 1)[:, 1].cpu().numpy()
    return out.argmax(1).cpu().numpy().astype(float)


def draw_boundary(ax, run, dataset, show_test: bool = True, resolution: int = 100) -> None:
    """Decision regions of ``run``'s model under the train (o) and test (x) points."""
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap
    Xtr, ytr = dataset.X_train.cpu().numpy(), dataset.y_train.cpu().numpy()
    Xte, yte = dataset.X_test.cpu().numpy(), dataset.y_test.cpu().numpy()
    gx, gy, pts, extent = boundary_grid(np.concatenate([Xtr, Xte]), resolution)
    values = class_probabilities(run, pts).reshape(gx.shape)
    k = dataset.n_classes
    if k == 2:
        cmap = LinearSegmentedColormap.from_list("lrlab2", ["#5DA5DA", "#FFFFFF", "#F5B041"])
        ax.imshow(values, origin="lower", extent=extent, cmap=cmap, vmin=0, vmax=1, aspect="auto", alpha=0.8)
        ax.contour(gx, gy, values, levels=[0.5], colors="k", linewidths=1)
    else:
        ax.imshow(values, origin="lower", extent=extent, cmap=ListedColormap(CLASS_COLORS[:k]),
                  vmin=-0.5, vmax=k - 0.5, aspect="auto", alpha=0.35, interpolation="nearest")
    colors = np.array(CLASS_COLORS)
    ax.scatter(Xtr[:, 0], Xtr[:, 1], c=colors[ytr], s=14, edgecolors="white", linewidths=0.4, label="train")
    if show_test:
        ax.scatter(Xte[:, 0], Xte[:, 1], c=colors[yte], s=22, marker="X", edgecolors="k", linewidths=0.4,
                   label="test")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("Decision boundary")


def draw_fit(ax, run, dataset) -> None:
    """Regression: the fitted curve over the training and test points."""
    Xtr, ytr = dataset.X_train.cpu().numpy()[:, 0], dataset.y_train.cpu().numpy()[:, 0]
    Xte, yte = dataset.X_test.cpu().numpy()[:, 0], dataset.y_test.cpu().numpy()[:, 0]
    xs = np.linspace(min(Xtr.min(), Xte.min()), max(Xtr.max(), Xte.max()), 300)
    ys = run.output(xs.reshape(-1, 1)).cpu().numpy()[:, 0]
    ax.scatter(Xtr, ytr, s=10, color=TRAIN_COLOR, alpha=0.6, label="train")
    ax.scatter(Xte, yte, s=18, color=TEST_COLOR, marker="X", label="test")
    ax.plot(xs, ys, color="k", linewidth=2, label="network")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Fitted curve")
    ax.legend(loc="upper left")


def draw_run(fig, run) -> None:
    """Four panels of a finished run: loss, accuracy, learning rate, decision boundary / fit."""
    dataset = run.data()
    axes = fig.subplots(1, 4)
    regression = dataset.kind == "regression"
    draw_loss(axes[0], run.history)
    draw_accuracy(axes[1], run.history, regression)
    draw_lr(axes[2], run.history, run.history.cuts)
    if regression:
        draw_fit(axes[3], run, dataset)
    else:
        draw_boundary(axes[3], run, dataset)
    if run.best_epoch is not None:
        for ax in axes[:3]:
            ax.axvline(run.best_epoch + 1, color="0.5", linewidth=0.8, linestyle="-.")
    fig.suptitle(run.message())


# ============================================================================ live figure
# What the training panel shows while it trains. Two halves, kept apart so that each can
# be tested on its own:
#   * ``live_frame(trainer, ...)`` snapshots the numbers (torch -> numpy), nothing drawn;
#   * ``LiveTrainingFigure.update(frame)`` draws them.
# Speed (see TESTING.md): artists are created once and updated with ``set_data``; the
# static parts (axes, ticks, labels, data points) are drawn once into a cached background
# and each frame only restores it and re-draws the changing artists (blitting). The axis
# limits grow in whole steps (epochs double, decades on log axes) so that a full redraw
# is rare.

#: Bins of the effective step size histogram: log10(step) from -9 to 2, 0.2 decade wide.
STEP_LOG_EDGES = np.linspace(-9.0, 2.0, 56)


def _host(values) -> np.ndarray:
    """A tensor (any device) or an array as a numpy array."""
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)


def step_histograms(steps, index, n_layers: int, edges: np.ndarray = STEP_LOG_EDGES) -> np.ndarray:
    """Fraction of each layer's parameters per bin of ``log10(effective step)``: [L, len(edges)-1].

    ``steps``, ``index``: per parameter, its effective step and its layer (tensors or arrays).
    Values outside the bins are counted in the first/last bin; non-finite or zero steps are dropped.
    """
    s = np.abs(_host(steps).astype(np.float64))
    idx = _host(index)
    out = np.zeros((n_layers, len(edges) - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(s)
    ok = np.isfinite(logs)
    logs = np.clip(logs, edges[0], edges[-1] - 1e-9)
    for layer in range(n_layers):
        sel = ok & (idx == layer)
        if sel.any():
            counts, _ = np.histogram(logs[sel], bins=edges)
            out[layer] = counts / sel.sum()
    return out


def live_frame(trainer, grid_points: np.ndarray | None = None, norms: tuple | None = None) -> dict:
    """What the live figure draws, from the engine's frame (:meth:`lrlab.train.Trainer.frame`):
    numpy arrays, safe to draw in another thread.

    ``grid_points``: raw inputs where the decision boundary (or fitted curve) is evaluated.
    ``norms``: ``(epochs, weight_norms [T, L], grad_norms [T, L])`` recorded so far; by default
    the frame's norm columns when the run records them.
    """
    f = trainer.frame(grid_points)
    frame = {name: f.history[name] for name in ("epoch", "lr", "train_loss", "test_loss", "train_acc", "test_acc")}
    frame["cuts"] = [dict(c) for c in f.cuts]
    frame["epochs_done"] = f.epochs_done
    frame["max_epochs"] = f.max_epochs
    frame["best_epoch"] = f.best_epoch if f.done else None
    if f.grid is not None:
        frame["grid"] = f.grid
    frame["step_hist"] = step_histograms(f.effective_steps, f.layer_of, f.n_layers)
    if norms is None and "weight_norm_1" in f.history:
        L = f.n_layers
        norms = (f.history["epoch"], np.stack([f.history[f"weight_norm_{l}"] for l in range(1, L + 1)], 1),
                 np.stack([f.history[f"grad_norm_{l}"] for l in range(1, L + 1)], 1))
    if norms is not None:
        frame["norm_epochs"], frame["weight_norms"], frame["grad_norms"] = norms
    return frame


def _decades(lo: float, hi: float, below: int = 1, above: int = 0) -> tuple[float, float]:
    """Whole-decade limits around [lo, hi], with spare decades so that they rarely change again."""
    lo = max(lo, 1e-12)
    hi = max(hi, lo * 1.0001)
    return 10.0 ** (np.floor(np.log10(lo) - 1e-9) - below), 10.0 ** (np.ceil(np.log10(hi) + 1e-9) + above)


def _finite(*arrays) -> np.ndarray:
    v = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.array([])
    return v[np.isfinite(v)]


#: The charts the live figure's lower right corner can show, one at a time (the panel's picker).
CHARTS = {"accuracy": "accuracy", "lr": "learning rate", "norms": "weight & gradient norms",
          "steps": "effective steps"}


class LiveTrainingFigure:
    """The training panel's figure, sized to sit beside the controls on a laptop screen
    (528 x 431 px at the default 88 dpi, so that 10 pt ticks are 12 px and titles 15 px; beside a
    380 px column of controls that is 930 px, what JupyterLab leaves a notebook at 1366 px with its
    file browser open): the
    data with the network's decision boundary (or fitted curve) big on the left; on the right the
    loss (train/test, log) and below it ONE picked chart (:data:`CHARTS`): accuracy (or R^2),
    the learning rate per epoch (plateau cuts marked), per-layer weight and gradient norms, or the
    histogram of log10(effective step) per layer (the change of a parameter per unit of the gradient
    it steps along, :mod:`lrlab.optim`: large where the gradients are small). Its artists are updated in place and rendered
    fast to PNG; every chart is kept up to date, the hidden ones are simply not drawn.

    Drawing options: ``show_test=False`` hides the test points; ``discrete=True`` shows the
    decided class instead of the probability (two classes: ``P(class 1) >= 0.5`` in the class
    colours, no shades), as in TensorFlow Playground; ``chart`` picks the lower chart. Set them
    with :meth:`set_options` or in a frame (``frame["options"] = {"show_test": .., "discrete":
    .., "chart": ..}``), so that whoever draws the frame applies them.
    """

    def __init__(self, dataset, n_layers: int, max_epochs: int, width: float = 6.0, height: float = 4.9,
                 dpi: int = 88, grid_resolution: int = 80, show_test: bool = True, discrete: bool = False,
                 chart: str = "accuracy"):
        import matplotlib
        from . import RC
        with matplotlib.rc_context(RC):  # lrlab's projector-sized fonts for every artist made here
            self._build(dataset, n_layers, max_epochs, width, height, dpi, grid_resolution)
        self.show_test, self.discrete, self.chart = True, False, None
        self._grid = None
        #: live frames without the data points, which never change: a browser shows them from
        #: :meth:`points_overlay_png`, sent once (fewer bytes per frame); final frames stay whole
        self.split_points = False
        self._omit = False
        self.set_options(show_test=show_test, discrete=discrete, chart=chart)

    def set_options(self, show_test: bool | None = None, discrete: bool | None = None,
                    chart: str | None = None) -> bool:
        """Show/hide the test points; discretised or graded boundary; the lower chart (a key of
        :data:`CHARTS`). True if anything changed."""
        changed = False
        if chart is not None and chart != self.chart:
            if chart not in CHARTS:
                raise ValueError(f"chart: one of {', '.join(CHARTS)}, got {chart!r}")
            self.chart = chart
            for name, ax in self.lower.items():
                ax.set_visible(name == chart)
            changed = True
        if show_test is not None and bool(show_test) != self.show_test:
            self.show_test = bool(show_test)
            for artist in self.test_artists:
                artist.set_visible(self.show_test)
            changed = True
        if discrete is not None and bool(discrete) != self.discrete:
            self.discrete = bool(discrete)
            if not self.regression:
                self.ax_data.set_title("Decision boundary (discretised)" if self.discrete else "Decision boundary")
                if self._grid is not None:
                    self.image.set_data(self._boundary_values(self._grid))
            changed = True
        if changed:
            self._background = None  # the static part (legend, non-animated points) changed
        return changed

    def _boundary_values(self, grid: np.ndarray) -> np.ndarray:
        """What the boundary image shows: P(class 1), or with ``discrete`` the decided class (0/1)."""
        values = np.asarray(grid).reshape(self.grid_shape)
        if self.discrete and self.n_classes == 2:
            return (values >= 0.5).astype(float)
        return values

    def _build(self, dataset, n_layers, max_epochs, width, height, dpi, grid_resolution):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import LinearSegmentedColormap, ListedColormap
        from . import PALETTE
        from matplotlib.figure import Figure
        # fixed margins: constrained layout costs ~1 s per figure on a small machine
        self.fig = Figure(figsize=(width, height), dpi=dpi)
        self.fig.subplots_adjust(left=0.085, right=0.98, bottom=0.1, wspace=0.3, hspace=0.5)
        FigureCanvasAgg(self.fig)
        self.kind = dataset.kind
        self.n_layers = n_layers
        self.max_epochs = max_epochs
        self.regression = dataset.kind == "regression"
        grid = self.fig.add_gridspec(2, 2, width_ratios=[1.1, 1])
        self.ax_data = self.fig.add_subplot(grid[:, 0])
        self.ax_loss = self.fig.add_subplot(grid[0, 1])
        # the lower right corner: four charts in one place, one shown (set_options(chart=...))
        self.ax_acc, self.ax_lr, self.ax_norm, self.ax_step = (self.fig.add_subplot(grid[1, 1], label=name)
                                                               for name in CHARTS)
        self.lower = dict(zip(CHARTS, (self.ax_acc, self.ax_lr, self.ax_norm, self.ax_step)))
        self.animated = []
        anim = self._anim

        # loss and accuracy
        self.loss_train = anim(self.ax_loss.plot([], [], color=TRAIN_COLOR, label="train")[0])
        self.loss_test = anim(self.ax_loss.plot([], [], color=TEST_COLOR, linestyle="--", label="test")[0])
        self.ax_loss.set(yscale="log", xlabel="epoch", ylabel="loss", title="Loss")
        self.acc_train = anim(self.ax_acc.plot([], [], color=TRAIN_COLOR, label="train")[0])
        self.acc_test = anim(self.ax_acc.plot([], [], color=TEST_COLOR, linestyle="--", label="test")[0])
        self.ax_acc.set(xlabel="epoch", ylabel="R²" if self.regression else "accuracy",
                        title="R² (fit)" if self.regression else "Accuracy")
        self.acc_limits = (0.0, 1.02)
        self.ax_acc.set_ylim(*self.acc_limits)

        # the data, and the network's boundary / curve over it (points drawn once, as markers)
        Xtr, ytr = dataset.X_train.cpu().numpy(), dataset.y_train.cpu().numpy()
        Xte, yte = dataset.X_test.cpu().numpy(), dataset.y_test.cpu().numpy()
        self.points_artists = []
        self.test_artists = []
        self.n_classes = dataset.n_classes
        if self.regression:
            xs = np.concatenate([Xtr[:, 0], Xte[:, 0]])
            self.grid_points = np.linspace(xs.min(), xs.max(), 200).reshape(-1, 1)
            self.ax_data.plot(Xtr[:, 0], ytr[:, 0], "o", ms=3, color=TRAIN_COLOR, alpha=0.6, label="train")
            self.test_artists.append(self.ax_data.plot(Xte[:, 0], yte[:, 0], "X", ms=5, color=TEST_COLOR,
                                                       label="test")[0])
            self.fit_line = anim(self.ax_data.plot(self.grid_points[:, 0], np.zeros(200), color="k", lw=2,
                                                   label="network")[0])
            ys = np.concatenate([ytr[:, 0], yte[:, 0]])
            pad = 0.15 * (ys.max() - ys.min() + 1e-9)
            self.ax_data.set(xlabel="x", ylabel="y", title="Fitted curve", ylim=(ys.min() - pad, ys.max() + pad))
            self.ax_data.legend(loc="upper left")
            self.image = None
        else:
            gx, gy, self.grid_points, extent = boundary_grid(np.concatenate([Xtr, Xte]), grid_resolution)
            self.grid_shape = gx.shape
            k = dataset.n_classes
            if k == 2:
                cmap = LinearSegmentedColormap.from_list("lrlab2", ["#5DA5DA", "#FFFFFF", "#F5B041"])
                # the grid's cells as they are (as TensorFlow Playground's heatmap): smoothing them
                # costs a live frame ~30 % more bytes and says nothing more
                kw = dict(cmap=cmap, vmin=0, vmax=1, alpha=0.85, interpolation="nearest")
            else:
                kw = dict(cmap=ListedColormap(CLASS_COLORS[:k]), vmin=-0.5, vmax=k - 0.5, alpha=0.4,
                          interpolation="nearest")
            self.image = anim(self.ax_data.imshow(np.full(gx.shape, 0.5 if k == 2 else 0.0), origin="lower",
                                                  extent=extent, aspect="auto", **kw))
            for c in range(k):  # markers, not scatter: one stamped path per class draws fast
                sel_tr, sel_te = ytr == c, yte == c
                self.points_artists.append(anim(self.ax_data.plot(
                    Xtr[sel_tr, 0], Xtr[sel_tr, 1], "o", ms=4, color=CLASS_COLORS[c], mec="white", mew=0.4,
                    label="train" if c == 0 else None)[0]))
                self.points_artists.append(anim(self.ax_data.plot(
                    Xte[sel_te, 0], Xte[sel_te, 1], "X", ms=6, color=CLASS_COLORS[c], mec="k", mew=0.4,
                    label="test" if c == 0 else None)[0]))
                self.test_artists.append(self.points_artists[-1])
            self.ax_data.set(xlim=extent[:2], ylim=extent[2:], xlabel="x1", ylabel="x2", title="Decision boundary")

        # learning rate, norms, effective steps
        self.lr_line = anim(self.ax_lr.plot([], [], color="0.15", lw=2)[0])
        self.ax_lr.set(yscale="log", xlabel="epoch", ylabel="learning rate", title="Learning rate")
        self.cut_lines = []
        colors = [PALETTE[i % len(PALETTE)] for i in range(n_layers)]
        self.weight_lines = [anim(self.ax_norm.plot([], [], color=colors[l], lw=2, label=f"layer {l + 1} |w|")[0])
                             for l in range(n_layers)]
        self.grad_lines = [anim(self.ax_norm.plot([], [], color=colors[l], lw=1.2, linestyle=":",
                                                  label=f"layer {l + 1} |grad|")[0]) for l in range(n_layers)]
        self.ax_norm.set(yscale="log", xlabel="epoch", ylabel="norm", title="Weights (—), gradients (···)")
        centers = 10 ** ((STEP_LOG_EDGES[:-1] + STEP_LOG_EDGES[1:]) / 2)
        self.step_edges = 10 ** STEP_LOG_EDGES
        # widest first, each drawn over the one before: layers with the same steps (SGD: every
        # parameter's step is lr) stay visible as nested outlines
        self.step_artists = [anim(self.ax_step.stairs(np.zeros(len(centers)), self.step_edges, color=colors[l],
                                                      lw=1.5 + 2.0 * (n_layers - 1 - l) / max(n_layers - 1, 1),
                                                      linestyle=("-", "--", ":", "-.")[l % 4], label=f"layer {l + 1}"))
                             for l in range(n_layers)]
        self.step_note = anim(self.ax_step.text(0.02, 0.95, "", transform=self.ax_step.transAxes, ha="left", va="top",
                                                fontsize=10, color="0.25"))
        # the effective step (lrlab.optim): the change of a parameter per unit of the gradient it
        # steps along (Adam: per unit of m_hat), so a small gradient shows a large step
        self.ax_step.set(xscale="log", xlabel="change ÷ gradient (log)", ylabel="share of parameters",
                         title="Effective steps", ylim=(0, 1.02))
        # one legend for the whole figure, above the charts (no legend sits on data): train / test
        # in the loss and accuracy charts, the layers' colours in the norm and step charts
        from matplotlib.lines import Line2D
        keys = [Line2D([], [], color=TRAIN_COLOR, lw=2, label="train"),
                Line2D([], [], color=TEST_COLOR, lw=2, linestyle="--", label="test")]
        keys += [Line2D([], [], color=colors[l], lw=3, label=f"layer {l + 1}") for l in range(n_layers)]
        # (on its own line under the title, which can be as wide as the figure)
        self.key = self.fig.legend(handles=keys, loc="upper right", ncol=len(keys), frameon=False, fontsize=10,
                                   handlelength=1.6, columnspacing=1.0, handletextpad=0.5, borderaxespad=0.0)
        self.best_lines = []
        self.title = self.fig.suptitle("", x=0.02, y=0.995, ha="left", va="top")
        self._place_title("")

        self.x_max = None
        self.loss_limits = self.lr_limits = self.norm_limits = self.step_limits = None
        self.n_cuts = 0
        self.best_epoch = None
        self._background = None
        self._laid_out = False
        self.full_redraws = 0
        self.frames = 0

    def _place_title(self, text: str) -> None:
        """The title (wrapped to the figure's width), the key on the line under it, the charts under both."""
        import textwrap
        self._title_text = text
        width_px, height_px = self.fig.get_size_inches() * self.fig.dpi
        size_px = self.title.get_fontsize() * self.fig.dpi / 72
        lines = textwrap.wrap(text, max(20, int(width_px / (0.55 * size_px)))) if text.strip() else []
        self.title.set_text("\n".join(lines))
        below_title = 4 + 1.25 * size_px * len(lines)  # px from the top
        self.key.set_bbox_to_anchor((0.98, 1 - below_title / height_px), transform=self.fig.transFigure)
        self.fig.subplots_adjust(top=1 - (below_title + 52) / height_px)  # key row + the top charts' titles

    def _anim(self, artist):
        artist.set_animated(True)
        self.animated.append(artist)
        return artist

    # -- limits that grow in whole steps -----------------------------------------------
    def _limits(self, frame) -> bool:
        """Update the axes' limits if the data left them; True if anything changed."""
        changed = False
        done = max(int(frame["epochs_done"]), 1)
        x_max = min(50, self.max_epochs)
        while x_max < done:  # grows x4 so that fast runs redraw the axes rarely
            x_max = min(4 * x_max, max(self.max_epochs, done))
        if x_max != self.x_max:
            self.x_max = x_max
            for ax in (self.ax_loss, self.ax_acc, self.ax_lr, self.ax_norm):
                ax.set_xlim(0, x_max + 0.5)
            changed = True

        def grow(current, values, log=True):
            v = _finite(*values)
            if log:
                v = v[v > 0]
            if not len(v):
                return current, False
            lo, hi = float(v.min()), float(v.max())
            if current is not None and current[0] <= lo and hi <= current[1]:
                return current, False
            new = _decades(lo, hi)
            if current is not None:
                new = (min(new[0], current[0]), max(new[1], current[1]))
            return new, True

        self.loss_limits, c1 = grow(self.loss_limits, [frame["train_loss"], frame["test_loss"]])
        if c1:
            self.ax_loss.set_ylim(*self.loss_limits)
        self.lr_limits, c2 = grow(self.lr_limits, [frame["lr"]])
        if c2:
            self.ax_lr.set_ylim(*self.lr_limits)
        c3 = False
        if "weight_norms" in frame and len(frame["weight_norms"]):
            self.norm_limits, c3 = grow(self.norm_limits, [frame["weight_norms"], frame["grad_norms"]])
            if c3:
                self.ax_norm.set_ylim(*self.norm_limits)
        c4 = False
        hist = frame.get("step_hist")
        if hist is not None and hist.sum() > 0:
            used = np.nonzero(hist.sum(0))[0]
            lo, hi = self.step_edges[used[0]], self.step_edges[used[-1] + 1]
            if self.step_limits is None or lo < self.step_limits[0] or hi > self.step_limits[1]:
                new = _decades(lo, hi, 1, 1)
                self.step_limits = new if self.step_limits is None else \
                    (min(new[0], self.step_limits[0]), max(new[1], self.step_limits[1]))
                self.ax_step.set_xlim(*self.step_limits)
                c4 = True
        c5 = False
        if self.regression and len(frame["test_acc"]):
            v = _finite(frame["train_acc"], frame["test_acc"])
            if len(v):
                lo = max(-5.0, np.floor(min(0.0, v.min()) * 2) / 2)
                if lo < self.acc_limits[0]:
                    self.acc_limits = (lo, 1.02)
                    self.ax_acc.set_ylim(*self.acc_limits)
                    c5 = True
        if len(frame["cuts"]) != self.n_cuts:
            for line in self.cut_lines:
                line.remove()
            self.cut_lines = [self.ax_lr.axvline(c["epoch"] + 1.5, color="#D55E00", linestyle=":", lw=1.5,
                                                 label="plateau cut" if i == 0 else None)
                              for i, c in enumerate(frame["cuts"])]
            self.n_cuts = len(frame["cuts"])
            if self.cut_lines:
                self.ax_lr.legend(loc="upper right")
            changed = True
        best = frame.get("best_epoch")
        if best != self.best_epoch:
            for line in self.best_lines:
                line.remove()
            self.best_lines = [] if best is None else [
                ax.axvline(best + 1, color="0.4", lw=1, linestyle="-.") for ax in (self.ax_loss, self.ax_acc, self.ax_lr)]
            self.best_epoch = best
            changed = True
        return changed or c1 or c2 or c3 or c4 or c5

    # -- drawing --------------------------------------------------------------------------
    def update(self, frame: dict, title: str | None = None) -> None:
        """Put ``frame``'s numbers (see :func:`live_frame`) into the artists."""
        if frame.get("options"):
            self.set_options(**frame["options"])
        self._omit = self.omits_points(frame)
        e = frame["epoch"] + 1
        self.loss_train.set_data(e, frame["train_loss"])
        self.loss_test.set_data(e, frame["test_loss"])
        self.acc_train.set_data(e, frame["train_acc"])
        self.acc_test.set_data(e, frame["test_acc"])
        self.lr_line.set_data(e, frame["lr"])
        if "grid" in frame:
            if self.regression:
                self.fit_line.set_ydata(frame["grid"])
            else:
                self._grid = frame["grid"]
                self.image.set_data(self._boundary_values(self._grid))
        if "weight_norms" in frame and len(frame["weight_norms"]):
            ne = np.asarray(frame["norm_epochs"]) + 1
            for l in range(self.n_layers):
                self.weight_lines[l].set_data(ne, frame["weight_norms"][:, l])
                self.grad_lines[l].set_data(ne, frame["grad_norms"][:, l])
        if frame.get("step_hist") is not None:
            hist = frame["step_hist"]
            for l, art in enumerate(self.step_artists):
                art.set_data(hist[l])
            alike = len(hist) > 1 and hist.sum() > 0 and bool(np.all(hist == hist[:1]))
            self.step_note.set_text("every layer alike" if alike else "")
        if title is not None and title != self._title_text:
            self._place_title(title)
            self._background = None
        if self._limits(frame):
            self._background = None
        self.frames += 1

    def render(self) -> None:
        """Draw into the canvas: the cached background plus the changing artists."""
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()  # animated artists are left out of this
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self.full_redraws += 1
        else:
            canvas.restore_region(self._background)
        omit = self.points_artists if self._omit else ()
        for artist in self.animated:
            if artist.axes.get_visible() and artist not in omit:  # (the lower charts not picked are not drawn)
                artist.axes.draw_artist(artist)

    def omits_points(self, frame: dict) -> bool:
        """Whether ``frame`` is drawn without the data points (a live frame of :attr:`split_points`;
        final frames stay whole): its viewer then lays :meth:`points_overlay_png` over it."""
        return self.split_points and bool(self.points_artists) and not frame.get("final")

    def points_overlay_png(self) -> bytes:
        """The data points alone, where the figure draws them, on a transparent picture of the
        figure's size (RGBA PNG; empty bytes where the figure has no such points): what a live
        frame of :attr:`split_points` leaves out."""
        if not self.points_artists:
            return b""
        from matplotlib.backends.backend_agg import RendererAgg
        from PIL import Image
        import io
        if self._background is None:
            self.render()  # lays the figure out: the points' transforms
        width, height = (int(round(v)) for v in self.fig.bbox.size)
        renderer = RendererAgg(width, height, self.fig.dpi)
        for artist in self.points_artists:
            if artist.get_visible():
                artist.draw(renderer)
        out = io.BytesIO()
        Image.fromarray(np.asarray(renderer.buffer_rgba()), "RGBA").save(out, format="PNG", compress_level=6)
        return out.getvalue()

    def png(self) -> bytes:
        """Render (blitting) and encode a live frame (:func:`lrlab.plots.encode_live_png`)."""
        from . import encode_live_png
        self.render()
        return encode_live_png(self.fig.canvas.buffer_rgba())

    def savefig(self, path: str, dpi: int = 100) -> None:
        """The full figure (every artist) to a file, at print quality."""
        self.fig.savefig(path, dpi=dpi)
        self._background = None  # savefig re-renders the canvas at another size
