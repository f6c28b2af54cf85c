"""Drawing the network itself: the graph with its weights, each hidden unit's output, a confusion matrix.

* :func:`draw_network` — TensorFlow Playground's picture: one column of nodes per layer,
  an edge per weight, its width proportional to ``|w| / max |w|`` and its colour the
  sign (blue ``#0072B2`` positive, orange ``#E69F00`` negative: colour-blind safe).
* :func:`neuron_outputs` / :func:`draw_neuron_heatmaps` — each hidden unit's activation
  ``a_j(x) = f(z_j(x))`` over the input plane (1-D inputs: over the x axis), one small
  image per unit, same colours (blue > 0 > orange).
* :func:`confusion_matrix` / :func:`draw_confusion_matrix` — ``C[i, j]`` = number of
  samples of true class ``i`` predicted as class ``j``.

Wide layers are drawn with at most ``max_units`` nodes (the first ones) and a "+N" mark.

Every drawing function draws a :class:`lrlab.records.NetworkFrame` (numbers the engine hands
out: :meth:`lrlab.engine.Engine.network_frame`, ``Trainer.network_frame``); given a Run, a
Trainer or a bare network it first takes that snapshot (:func:`lrlab.run.network_frame`). No
forward pass runs here.
"""
from __future__ import annotations

import numpy as np

from ..records import NetworkFrame, input_extent
from .text import PLAIN, plain_text

POSITIVE, NEGATIVE = "#0072B2", "#E69F00"
NODE_COLOR = "#404040"


def _snapshot(source, features=None, resolution=None, extent=None, X=None, y=None,
              default_resolution: int = 30) -> NetworkFrame:
    """``source`` as a :class:`NetworkFrame`: itself, or the snapshot of a Run / Trainer / network."""
    if isinstance(source, NetworkFrame):
        asked = {"features": features is not None and tuple(features) != source.features,
                 "resolution": resolution is not None and resolution != source.resolution,
                 "extent": extent is not None and tuple(float(v) for v in extent) != source.extent,
                 "X": X is not None}
        for name, differs in asked.items():
            if differs:
                raise ValueError(f"{name}: a network frame is drawn as it was taken; take a new one "
                                 f"(network_frame(..., {name}=...)) to change it")
        return source
    from ..run import network_frame
    return network_frame(source, resolution or default_resolution, extent, features, X, y)


def layer_positions(sizes, max_units: int = 16) -> list[np.ndarray]:
    """The (x, y) of each drawn node, layer by layer: x = layer index, y centred on 0."""
    out = []
    for i, n in enumerate(sizes):
        shown = min(n, max_units)
        ys = (np.arange(shown) - (shown - 1) / 2)[::-1]
        out.append(np.stack([np.full(shown, float(i)), ys], 1))
    return out


def draw_network(ax, source, features=None, max_units: int = 16, show_labels: bool = True) -> None:
    """The network graph: nodes per layer, edges width ~ |w|, colour by sign (blue +, orange -).

    ``source``: a :class:`NetworkFrame` (or a Run, Trainer or network, snapshotted first)."""
    from matplotlib.collections import LineCollection
    frame = _snapshot(source, features)
    Ws, sizes, features, kind = frame.weights, frame.sizes, frame.features, frame.kind
    pos = layer_positions(sizes, max_units)
    wmax = max((float(np.abs(W).max()) for W in Ws if W.size), default=1.0) or 1.0
    segments, widths, colors = [], [], []
    for l, W in enumerate(Ws):
        src, dst = pos[l], pos[l + 1]
        for j in range(len(dst)):
            for i in range(len(src)):
                w = W[j, i]
                segments.append([src[i], dst[j]])
                widths.append(0.2 + 4.0 * abs(w) / wmax)
                colors.append(POSITIVE if w >= 0 else NEGATIVE)
    order = np.argsort(widths)  # thick edges on top
    ax.add_collection(LineCollection([segments[k] for k in order], linewidths=[widths[k] for k in order],
                                     colors=[colors[k] for k in order], alpha=0.8, zorder=1))
    for l, p in enumerate(pos):
        ax.scatter(p[:, 0], p[:, 1], s=180, color="white", edgecolors=NODE_COLOR, linewidths=1.5, zorder=3)
        if sizes[l] > len(p):
            ax.text(l, p[:, 1].min() - 0.9, f"+{sizes[l] - len(p)}", ha="center", va="top", fontsize=9)
    if show_labels:
        for i, f in enumerate(features[: len(pos[0])]):
            ax.text(-0.12, pos[0][i, 1], plain_text(f), ha="right", va="center", fontsize=10, **PLAIN)
        out_names = list(frame.class_names)
        if kind == "regression":
            out_names = ["y"]
        elif not out_names:
            out_names = [f"class {k}" for k in range(sizes[-1])]
        for k, name in enumerate(out_names[: len(pos[-1])]):
            ax.text(len(sizes) - 1 + 0.12, pos[-1][k, 1], plain_text(name), ha="left", va="center", fontsize=10,
                    **PLAIN)
    titles = ["input"] + [f"hidden {l}" for l in range(1, len(sizes) - 1)] + ["output"]
    top = max(len(p) for p in pos) / 2 + 0.6
    for l, t in enumerate(titles):  # the layer headers just above the axes, the title above them
        ax.text(l, 1.0, f"{t}\n({sizes[l]})", ha="center", va="bottom", fontsize=10,
                transform=ax.get_xaxis_transform())
    ax.set_xlim(-0.9, len(sizes) - 1 + 0.9)
    truncated = any(sizes[l] > len(p) for l, p in enumerate(pos))
    ax.set_ylim(-top - (2.2 if truncated else 0.6), top)  # room for the "+N" labels above the legend
    ax.set_axis_off()
    from matplotlib.lines import Line2D
    ax.legend(handles=[Line2D([], [], color=POSITIVE, lw=3, label="w > 0"),
                       Line2D([], [], color=NEGATIVE, lw=3, label="w < 0")],
              loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, -0.02))
    ax.set_title("Network: edge width = |weight|", pad=34)  # above the two-line layer headers


def default_extent(source, margin: float = 0.3) -> tuple[float, float, float, float]:
    """The view box: the data's range plus a margin, or [-1.5, 1.5]^2 without data
    (:func:`lrlab.records.input_extent`; a :class:`NetworkFrame`: its own)."""
    if isinstance(source, NetworkFrame):
        return source.extent
    return input_extent(getattr(getattr(source, "run", source), "dataset", None), margin)


def neuron_outputs(source, features=None, resolution: int = 40, extent=None) -> list[np.ndarray]:
    """Each hidden layer's activations over the input plane: ``[width, resolution, resolution]``.

    Grid row ``r`` is ``x2 = linspace(y0, y1)[r]``, column ``c`` is ``x1 = linspace(x0, x1)[c]``
    (``origin='lower'`` for imshow). 1-D inputs: ``[width, resolution]`` over ``x1``. They are
    the snapshot's (:attr:`NetworkFrame.hidden`), read-only."""
    own = isinstance(source, NetworkFrame)  # drawn on its own grid
    return list(_snapshot(source, features, None if own else resolution, extent).hidden)


def draw_neuron_heatmaps(fig_or_axes, source, features=None, resolution: int | None = None, extent=None,
                         max_units: int = 8, dead=None) -> list:
    """One small heatmap per hidden unit (rows = layers, at most ``max_units`` per row).

    ``fig_or_axes``: a Figure (a grid is made in it) or a 2-D array of Axes
    ``[layers, max_units]``. ``source``: a :class:`NetworkFrame`, drawn on its own grid, or a
    Run / Trainer / network, snapshotted on a ``resolution`` grid (default 40). Colour: blue
    where the unit's output is high, orange where it is low (tanh/leaky: signed, centred on 0;
    relu/sigmoid: 0 .. max). Dead units (never positive, ReLU) are labelled "dead". Returns
    the Axes used."""
    frame = _snapshot(source, features, resolution, extent, default_resolution=40)
    ext, outputs, activation = frame.extent, frame.hidden, frame.activation
    if not outputs:
        if hasattr(fig_or_axes, "add_subplot"):
            ax = fig_or_axes.add_subplot(1, 1, 1)
            ax.text(0.5, 0.5, "no hidden layer", ha="center", va="center")
            ax.set_axis_off()
            return [ax]
        return []
    cols = min(max_units, max(o.shape[0] for o in outputs))
    if hasattr(fig_or_axes, "add_subplot"):
        axes = np.atleast_2d(fig_or_axes.subplots(len(outputs), cols, squeeze=False))
    else:
        axes = np.atleast_2d(np.asarray(fig_or_axes, dtype=object))
    from matplotlib.colors import LinearSegmentedColormap
    cmap = LinearSegmentedColormap.from_list("lrlab_signed", [NEGATIVE, "#FFFFFF", POSITIVE])
    signed = activation in ("tanh", "leaky_relu")
    used = []
    for l, out in enumerate(outputs):
        for j in range(axes.shape[1]):
            ax = axes[l, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= out.shape[0]:
                ax.set_axis_off()
                continue
            a = out[j]
            top = float(np.abs(a).max()) or 1.0
            if activation == "sigmoid":
                vmin, vmax = 0.0, 1.0
            else:
                vmin, vmax = (-top, top) if signed else (-top, top)
            if a.ndim == 1:
                xs = np.linspace(ext[0], ext[1], a.shape[0])
                ax.axhline(0, color="0.7", lw=0.8)
                ax.plot(xs, a, color=POSITIVE, lw=1.5)
            else:
                ax.imshow(a, origin="lower", extent=ext, cmap=cmap, vmin=vmin, vmax=vmax,
                          aspect="auto", interpolation="bilinear")
            is_dead = activation == "relu" and float(a.max()) <= 0
            ax.set_title(f"L{l + 1}.{j + 1}" + (" dead" if is_dead else ""), fontsize=9, pad=2,
                         color=NEGATIVE if is_dead else "black")
            for side in ax.spines.values():
                side.set_visible(True)
                side.set_color("0.6")
            used.append(ax)
    return used


def confusion_matrix(pred, y, k: int) -> np.ndarray:
    """``C[i, j]`` = how many samples of true class ``i`` were predicted as class ``j`` (int [k, k])."""
    pred, y = (np.asarray(v.detach().cpu() if hasattr(v, "detach") else v).astype(np.int64).ravel() for v in (pred, y))
    if pred.shape != y.shape:
        raise ValueError(f"pred: must have one prediction per label ({y.shape[0]}), got {pred.shape[0]}")
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"k: number of classes must be an integer >= 1, got {k!r}")
    for name, v in (("pred", pred), ("y", y)):
        if v.size and (v.min() < 0 or v.max() >= k):
            raise ValueError(f"{name}: class indices must be in [0, {k - 1}], got {int(v.min())}..{int(v.max())}")
    return np.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def draw_confusion_matrix(ax, source, X=None, y=None, class_names=None, title: str | None = None) -> np.ndarray:
    """The confusion matrix of ``source`` on its test set, counts written in each cell.

    ``source``: a :class:`NetworkFrame` (its predictions and targets), or a Run / Trainer,
    snapshotted first on its test set or on (X, y) when given."""
    frame = _snapshot(source, X=X, y=y)
    if frame.predictions is None:
        raise ValueError("source: no class predictions to count (a regression network, or no data: give X and y)")
    k = frame.sizes[-1]
    C = confusion_matrix(frame.predictions, frame.targets, k)
    names = [plain_text(n, 16) for n in (class_names or frame.class_names or range(k))]
    from matplotlib.colors import LinearSegmentedColormap
    cmap = LinearSegmentedColormap.from_list("lrlab_counts", ["#FFFFFF", POSITIVE])
    ax.imshow(C, cmap=cmap, vmin=0, vmax=max(1, C.max()))
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=11,
                    color="white" if C[i, j] > 0.6 * C.max() else "black")
    ax.set_xticks(range(k), names, **PLAIN)
    ax.set_yticks(range(k), names, **PLAIN)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(C) / max(1, C.sum())
    ax.set_title(title or f"Confusion matrix ({100 * acc:.1f} % correct)")
    return C


def neuron_mosaic(outputs: list[np.ndarray], activation: str, max_units: int = 8, gap: int = 3) -> np.ndarray:
    """All units' heatmaps in one RGBA image: row = layer, column = unit (``max_units`` per row).

    Each unit is scaled by its own ``max |a|`` (sigmoid: 0..1) and coloured like
    :func:`draw_neuron_heatmaps` (orange low, white 0, blue high); gaps are transparent."""
    from matplotlib.colors import LinearSegmentedColormap
    cmap = LinearSegmentedColormap.from_list("lrlab_signed", [NEGATIVE, "#FFFFFF", POSITIVE])
    rh, rw = outputs[0].shape[1], outputs[0].shape[2]
    cols = min(max_units, max(o.shape[0] for o in outputs))
    H, Wd = len(outputs) * (rh + gap) - gap, cols * (rw + gap) - gap
    img = np.zeros((H, Wd, 4))
    for l, out in enumerate(outputs):
        for j in range(min(cols, out.shape[0])):
            a = out[j]
            if activation == "sigmoid":
                t = a
            else:
                top = float(np.abs(a).max()) or 1.0
                t = 0.5 + 0.5 * a / top
            r0, c0 = l * (rh + gap), j * (rw + gap)
            img[r0:r0 + rh, c0:c0 + rw] = cmap(t[::-1])  # row 0 of the image is the top: flip x2
    return img


def draw_neuron_mosaic(ax, source, features=None, resolution: int | None = None, extent=None,
                       max_units: int = 8) -> np.ndarray:
    """Every hidden unit's output over the input plane, in one image on one Axes (fast: one imshow).

    Rows are layers (``L1`` at the top), columns units; dead ReLU units are marked with an
    orange x. 1-D inputs: each unit's curve as a strip. ``source``: a :class:`NetworkFrame`
    (its grid), or a Run / Trainer / network snapshotted on a ``resolution`` grid (default 30).
    Returns the mosaic."""
    frame = _snapshot(source, features, resolution, extent)
    outputs, activation, resolution = list(frame.hidden), frame.activation, frame.resolution
    ax.set_axis_off()
    if not outputs:
        ax.text(0.5, 0.5, "no hidden layer", ha="center", va="center", transform=ax.transAxes)
        return np.zeros((1, 1, 4))
    if outputs[0].ndim == 2:  # 1-D inputs: turn each curve into a strip
        outputs = [np.repeat(o[:, None, :], max(4, resolution // 4), axis=1) for o in outputs]
    img = neuron_mosaic(outputs, activation, max_units)
    ax.imshow(img, interpolation="bilinear", aspect="equal")
    res_h, res_w, gap = outputs[0].shape[1], outputs[0].shape[2], 3
    for l, out in enumerate(outputs):
        ax.text(-gap, l * (res_h + gap) + res_h / 2, f"L{l + 1}", ha="right", va="center", fontsize=10)
        for j in range(min(max_units, out.shape[0])):
            if activation == "relu" and float(out[j].max()) <= 0:
                x, y = j * (res_w + gap) + res_w / 2, l * (res_h + gap) + res_h / 2
                ax.text(x, y, "dead", ha="center", va="center", fontsize=9, color=NEGATIVE)
        if out.shape[0] > max_units:
            ax.text(max_units * (res_w + gap), l * (res_h + gap) + res_h / 2, f"+{out.shape[0] - max_units}",
                    ha="left", va="center", fontsize=9)
    ax.set_title("Each hidden unit's output over the input plane\n(blue high, orange low)", fontsize=11)
    return img
