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
    ax.set_ylim(0 if not regression else min(0, np.nanmin(history["test_acc"], initial=0)), 1.02)
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
    from ..train import make_dataset
    dataset = run.dataset if run.dataset is not None else make_dataset(run.config, device=run.model.flat_parameters().device)
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
