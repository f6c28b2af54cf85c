"""Drawing backpropagation: the network as a graph at one stage of the cycle, the loss falling, the decision.

Colours (colour-blind safe, Okabe-Ito blue/orange): positive numbers blue, negative orange,
white near zero. Nodes are coloured by their value (input ``x``, activation ``a``, output
``z_L``); edges by the sign of the weight, their width by its size. In the backward stages
the layers already reached show their error ``delta`` beside each node and their edges
switch to the gradient ``dL/dW`` (dashed: sign and size of the gradient).
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm

from . import CLASS_COLORS, PALETTE

POSITIVE, NEGATIVE = PALETTE[0], PALETTE[1]  # blue, orange
#: value -> colour: orange (negative), white (0), blue (positive)
VALUE_CMAP = LinearSegmentedColormap.from_list("lrlab_value", [NEGATIVE, "#FFFFFF", POSITIVE])
DELTA_COLOR = "#6A3D9A"
HIGHLIGHT = "#FFF3C4"


def layout(sizes) -> list[np.ndarray]:
    """Node centres ``[(x, y), ...]`` per layer: layer ``l`` at x = l; each layer's nodes spread evenly, centred on y = 0.

    The tallest layer's nodes are ``min(1, 6 / tallest)`` apart; shorter layers spread out (at most 2 apart).
    """
    tallest = max(sizes)
    height = (tallest - 1) * min(1.0, 6.0 / tallest) if tallest > 1 else 0.0
    spread = []
    for l, n in enumerate(sizes):
        gap = min(height / (n - 1), 2.0) if n > 1 else 0.0
        spread.append(np.stack([np.full(n, float(l)), (np.arange(n)[::-1] - (n - 1) / 2) * gap], 1))
    return spread


def _stage_state(stage, n_layers):
    """(layers whose values are known, layers whose delta and dW are known, highlighted layer or None)."""
    if stage is None:
        return 0, n_layers + 1, None
    kind, l = stage
    if kind == "forward":
        return l, n_layers + 1, l
    if kind == "loss":
        return n_layers, n_layers + 1, n_layers
    if kind == "backward":
        return n_layers, l, l
    return n_layers, n_layers + 1, None  # update


def stage_title(stage, activation: str, n_layers: int | None = None) -> str:
    """A one-line title of the stage, e.g. ``'Forward, layer 1:  z = W a + b,  a = tanh(z)'``."""
    if stage is None:
        return "Ready: the input x of the chosen sample"
    kind, l = stage
    if kind == "forward" and l == n_layers:
        return f"Forward, layer {l}:  z = W a + b  (output layer: linear)"
    return {"forward": f"Forward, layer {l}:  z = W a + b,  a = {activation}(z)",
            "loss": "Loss at the output",
            "backward": f"Backward, layer {l}:  δ and ∂L/∂W (dashed)",
            "update": "Update:  W ← W − η ∂L/∂W  (new weights)"}[kind]


def node_size(sizes) -> float:
    """Marker area (points^2) of a node: big enough for its value, smaller for tall layers."""
    return 1500.0 if max(sizes) <= 4 else (900.0 if max(sizes) <= 6 else 620.0)


def draw_network(ax, sizes, weights, trace=None, stage=None, sample: int = 0, activation: str = "tanh") -> None:
    """The network as a graph at ``stage`` of the cycle (``None``: before the forward pass).

    ``weights``: the current ``W`` of each layer ([out, in] tensors). ``trace``: a
    :class:`lrlab.backprop.Trace` whose sample ``sample`` gives the node values, deltas and gradients.
    """
    ax.clear()
    positions = layout(sizes)
    n_layers = len(sizes) - 1
    known, grads_from, highlight = _stage_state(stage, n_layers)
    values = [trace.a[l][sample].detach().cpu().numpy() if trace is not None and l <= known else None
              for l in range(n_layers + 1)]  # per layer: each node's value, or None if not computed yet
    vmax = max([1.0] + [float(np.abs(v).max()) for v in values if v is not None])
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax)
    area = node_size(sizes)
    radius_points = np.sqrt(area / np.pi)
    small = max(sizes) <= 4

    if highlight is not None:  # the layer this stage works on: its incoming edges and its nodes
        ax.axvspan(highlight - 0.78, highlight + 0.2, color=HIGHLIGHT, zorder=0)

    # edges: weights (solid) or, once the backward pass reached the layer, gradients (dashed)
    for l in range(1, n_layers + 1):
        gradient = trace is not None and l >= grads_from
        matrix = (trace.layers[l - 1].dW if gradient else weights[l - 1]).detach().cpu().numpy()
        scale = max(float(np.abs(matrix).max()), 1e-12)
        segments, colors, widths, fractions = [], [], [], []
        for j in range(sizes[l]):
            for i in range(sizes[l - 1]):
                segments.append([positions[l - 1][i], positions[l][j]])
                colors.append(POSITIVE if matrix[j, i] >= 0 else NEGATIVE)
                widths.append(0.5 + 4.5 * abs(matrix[j, i]) / scale)
                fractions.append(0.3 + 0.4 * j / max(1, sizes[l] - 1))
        active = highlight is None or l == highlight
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, zorder=1, capstyle="round",
                                         linestyles=(0, (3, 1.5)) if gradient else "-", alpha=0.95 if active else 0.4))
        if stage is not None and l == highlight and len(segments) <= 9:  # label the numbers of small layers
            for (p, q), w, frac in zip(segments, matrix.reshape(-1), fractions):
                mid = p + frac * (q - p)
                ax.text(mid[0], mid[1], f"{w:+.2f}", fontsize=9, ha="center", va="center", zorder=5, color="0.1",
                        bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.85))

    # nodes, coloured by value, the value written inside
    for l, (xy, v) in enumerate(zip(positions, values)):
        faces = [VALUE_CMAP(norm(value)) for value in v] if v is not None else ["#EEEEEE"] * len(xy)
        ax.scatter(xy[:, 0], xy[:, 1], s=area, c=faces, edgecolors="0.25", linewidths=1.0, zorder=3,
                   linestyles="-" if v is not None else "--")
        for k, (px, py) in enumerate(xy):
            if v is not None:
                dark = abs(norm(v[k]) - 0.5) > 0.33
                ax.text(px, py, f"{v[k]:.2f}", ha="center", va="center", fontsize=10 if small else 9,
                        color="white" if dark else "black", zorder=4)
            if trace is not None and l >= 1 and l >= grads_from:
                delta = float(trace.layers[l - 1].delta[sample, k])
                ax.annotate(f"δ={delta:+.3f}", (px, py), xytext=(radius_points + 2, -radius_points * 0.75),
                            textcoords="offset points", fontsize=9, color=DELTA_COLOR,
                            ha="left", va="center", zorder=5)

    # the loss at the output
    out_xy = positions[-1]
    if trace is not None and stage is not None and stage[0] in ("loss", "backward", "update"):
        for k, (px, py) in enumerate(out_xy):
            if trace.loss_name == "cross_entropy":
                text = f"p={float(trace.probabilities[sample, k]):.2f}"
                if k == int(trace.y[sample]):
                    text += "  ← y"
            else:
                text = f"t={float(trace.target[sample, k]):.0f}"
            ax.annotate(text, (px, py), xytext=(radius_points + 2, radius_points * 0.55),
                        textcoords="offset points", fontsize=10 if small else 9, ha="left", va="center", zorder=5)
        ax.annotate(f"L = {float(trace.loss):.4f}", (n_layers, float(out_xy[:, 1].min())),
                    xytext=(0, -radius_points - 22), textcoords="offset points", fontsize=12,
                    ha="center", va="top", fontweight="bold")

    # layer names
    top = max(float(xy[:, 1].max()) for xy in positions)
    bottom = min(float(xy[:, 1].min()) for xy in positions)
    for l in range(n_layers + 1):
        name = "input x" if l == 0 else ("output (linear)" if l == n_layers else f"hidden {l}\n({activation})")
        ax.annotate(name, (l, top), xytext=(0, radius_points + 6), textcoords="offset points",
                    ha="center", va="bottom", fontsize=10)
    span = top - bottom if top > bottom else 1.0
    ax.set_xlim(-0.45, n_layers + 0.75)
    ax.set_ylim(bottom - 0.32 * span - 0.5, top + 0.22 * span + 0.45)
    ax.axis("off")
    ax.set_title(stage_title(stage, activation, n_layers), loc="left")
    ax.text(0.0, 0.0, "nodes: value (blue +, orange −)    edges: weight sign, width = size"
            + ("    dashed: gradient ∂L/∂W, purple: error δ" if trace is not None and grads_from <= n_layers else ""),
            transform=ax.transAxes, fontsize=9, color="0.35", ha="left", va="bottom")


def draw_losses(ax, losses, stop_reason: str | None = None, step_losses=None) -> None:
    """The training loss against the iteration (log scale), with why the training stopped."""
    ax.clear()
    if len(losses):
        ax.plot(np.arange(len(losses)), losses, color=PALETTE[0], linewidth=2, label="training loss (all samples)")
        if min(losses) > 0:
            from matplotlib.ticker import NullFormatter
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())  # (a short span labels every minor tick)
        title = f"Loss: {losses[0]:.3f} → {losses[-1]:.4f}"
        if stop_reason:  # (why it stopped: in the explorer's status line)
            title += f" ({len(losses) - 1} it.)"
        ax.set_title(title, loc="left")
    elif step_losses:
        ax.plot(np.arange(len(step_losses)), step_losses, "o-", color=PALETTE[2], label="this sample, per update")
        ax.set_title("Loss of the sample, update by update", loc="left")
        ax.set_xlabel("update")
        ax.set_ylabel("loss")
        return
    else:
        ax.text(0.5, 0.5, "press Train to repeat the cycle\nuntil the loss stops falling",
                ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_title("Loss", loc="left")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")


def decision_scores(model, points: np.ndarray) -> np.ndarray:
    """``softmax(z_L)[:, 1]`` on ``points``: above 0.5 the network predicts class 1 (the argmax)."""
    dtype = model.layers[0].weight.dtype
    with torch.no_grad():
        out = model(torch.as_tensor(points, dtype=dtype))
    return torch.softmax(out, 1)[:, 1].cpu().numpy()


def draw_decision(ax, model, X, y, sample: int | None = None, new_X=None, new_y=None, resolution: int = 60) -> None:
    """The decision regions of ``model`` over the training points (o); ``new_X``: new points (x), coloured by prediction."""
    ax.clear()
    X, y = np.asarray(X), np.asarray(y)
    everything = X if new_X is None else np.concatenate([X, np.asarray(new_X)])
    lo, hi = everything.min(0) - 0.3, everything.max(0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    scores = decision_scores(model, np.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
    cmap = LinearSegmentedColormap.from_list("lrlab2", ["#5DA5DA", "#FFFFFF", "#F5B041"])
    ax.imshow(scores, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=cmap, vmin=0, vmax=1,
              aspect="auto", alpha=0.8, interpolation="bilinear")
    if 0 < scores.min() < 0.5 < scores.max():
        ax.contour(gx, gy, scores, levels=[0.5], colors="k", linewidths=1)
    colors = np.array(CLASS_COLORS)
    ax.scatter(X[:, 0], X[:, 1], c=colors[y], s=22, edgecolors="white", linewidths=0.5, zorder=3)
    title = "Decision (class 1 above 0.5)"
    if sample is not None:
        ax.scatter([X[sample, 0]], [X[sample, 1]], s=170, facecolors="none", edgecolors="k", linewidths=2, zorder=4)
    if new_X is not None:
        new_X = np.asarray(new_X)
        predicted = (decision_scores(model, new_X) > 0.5).astype(int)
        ax.scatter(new_X[:, 0], new_X[:, 1], c=colors[predicted], s=60, marker="X", edgecolors="k",
                   linewidths=0.7, zorder=4)
        if new_y is not None:
            correct = int((predicted == np.asarray(new_y)).sum())
            title = f"New points ✕: {correct}/{len(new_X)} right"
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title, loc="left")
