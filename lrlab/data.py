"""Toy datasets, generated with numpy from a seed (never downloaded).

``make(name, n=512, noise=0.1, test_fraction=0.2, seed=0)`` returns a :class:`Dataset`
with a train/test split, as torch tensors on the chosen device.

Classification sets are 2-D points with integer labels ``0 .. n_classes-1``:

* ``moons``   two interleaving half circles (the classic "moons").
* ``circles`` a disc inside a ring.
* ``spiral``  ``classes`` interleaved spiral arms (2 by default).
* ``xor``     four quadrants, label = sign(x1) XOR sign(x2).
* ``blobs``   ``classes`` Gaussian blobs (2 by default) on a circle.

Regression: ``sine`` is ``y = sin(pi * x) + noise`` on ``x in [-1, 1]`` (1-D input).

Every input is roughly within ``[-1.5, 1.5]`` so that the same view box and the same
initialisation suit every set. ``noise`` is the standard deviation of Gaussian noise
added to the points (classification) or to ``y`` (regression).

Input feature transforms (TensorFlow Playground's x1, x2, x1^2, x2^2, x1*x2, sin x1,
sin x2) are applied by :func:`transform` and listed in :data:`FEATURES`.

Each dataset's default network, epoch budget and size (those with which Adam at lr 0.01
learns it) are in :mod:`lrlab.defaults`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from . import limits
from .nets import shown

CLASSIFICATION = ("moons", "circles", "spiral", "xor", "blobs")
REGRESSION = ("sine",)
DATASETS = CLASSIFICATION + REGRESSION

#: Input features a network may be fed, by name, as functions of the raw columns.
FEATURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1],
    "sin x1": lambda X: torch.sin(X[:, 0]),
    "sin x2": lambda X: torch.sin(X[:, 1]),
}


@dataclass
class Dataset:
    """A train/test split. ``y`` is ``long`` [n] for classification, float [n, 1] for regression."""

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    kind: str  # "classification" | "regression"
    n_classes: int  # 1 for regression

    @property
    def in_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def out_features(self) -> int:
        return self.n_classes if self.kind == "classification" else 1

    def to(self, device) -> "Dataset":
        return Dataset(self.name, self.X_train.to(device), self.y_train.to(device),
                       self.X_test.to(device), self.y_test.to(device), self.kind, self.n_classes)


def default_features(name_or_dataset) -> tuple[str, ...]:
    """The raw inputs: ``('x1', 'x2')`` for 2-D sets, ``('x1',)`` for ``sine``."""
    kind = name_or_dataset if isinstance(name_or_dataset, str) else name_or_dataset.name
    return ("x1",) if kind in REGRESSION else ("x1", "x2")


def transform(X: torch.Tensor, features: Sequence[str]) -> torch.Tensor:
    """Stack the named features of raw inputs ``X`` [n, d] into [n, len(features)]."""
    features = tuple(features)
    if features == tuple(f"x{i + 1}" for i in range(X.shape[1])):
        return X
    for f in features:
        if f not in FEATURES:
            raise ValueError(f"features: unknown feature {f!r}; allowed: {', '.join(FEATURES)}")
        if f.endswith("2") and "x2" in f and X.shape[1] < 2:
            raise ValueError(f"features: {f!r} needs 2-D inputs; this data has 1 input column")
    return torch.stack([FEATURES[f](X) for f in features], dim=1)


def _moons(n, rng):
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], 1),
        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1),
    ])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    X = (X - [0.5, 0.25]) * [1.0, 1.5]  # centre on the origin, roughly [-1.5, 1.5]
    return X, y


def _circles(n, rng):
    n_out = n // 2
    n_in = n - n_out
    t_out = rng.uniform(0, 2 * np.pi, n_out)
    t_in = rng.uniform(0, 2 * np.pi, n_in)
    r_in = 0.5 * np.sqrt(rng.uniform(0, 1, n_in))
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], 1) * 1.0,
        np.stack([np.cos(t_in), np.sin(t_in)], 1) * r_in[:, None],
    ])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return X, y


def _spiral(n, rng, classes=2):
    per = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    Xs, ys = [], []
    for k, m in enumerate(per):
        r = np.linspace(0.05, 1.0, m)
        t = 3.5 * np.pi * r + 2 * np.pi * k / classes  # 1.75 turns per arm
        Xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1) * 1.4)
        ys.append(np.full(m, k))
    return np.concatenate(Xs), np.concatenate(ys)


def _xor(n, rng):
    X = rng.uniform(-1.2, 1.2, size=(n, 2))
    X += np.sign(X) * 0.1  # a small margin around the axes
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(float)
    return X, y


def _blobs(n, rng, classes=2):
    per = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    Xs, ys = [], []
    for k, m in enumerate(per):
        angle = 2 * np.pi * k / classes + np.pi / 4
        centre = 0.8 * np.array([np.cos(angle), np.sin(angle)])
        Xs.append(centre + 0.25 * rng.standard_normal((m, 2)))
        ys.append(np.full(m, k))
    return np.concatenate(Xs), np.concatenate(ys)


def _sine(n, rng):
    x = rng.uniform(-1, 1, size=(n, 1))
    return x, np.sin(np.pi * x[:, 0])


#: the fewest samples a toy dataset has, and the largest noise level
MIN_SAMPLES = 8
MAX_NOISE = 2.0
#: a split keeps at least this many training samples (and one test sample)
MIN_TRAIN = 4


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and math.isfinite(x)


def check_split(n: int, test_fraction: float) -> int:
    """The test set size ``round(n * test_fraction)``, or ``ValueError('test_fraction: ...')`` when
    either part of the split would be (nearly) empty: the test set needs 1 sample, training :data:`MIN_TRAIN`."""
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n - n_test < MIN_TRAIN:
        raise ValueError(f"test_fraction: {test_fraction:g} of {n} samples leaves an empty split "
                         f"({n_test} test, {n - n_test} training; needs at least 1 test and {MIN_TRAIN} training)")
    return n_test


def make(name: str = "moons", n: int = 512, noise: float = 0.1, test_fraction: float = 0.2,
         seed: int = 0, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
         classes: int = 2) -> Dataset:
    """Generate dataset ``name`` with ``n`` points, seeded, split into train and test.

    ``classes`` (2..``limits.MAX_CLASSES``) applies to ``spiral`` and ``blobs``; the other classification
    sets have two classes. The split is a seeded permutation: the last
    ``round(n * test_fraction)`` points of it form the test set.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"dataset: unknown dataset {shown(name)}; allowed: {', '.join(DATASETS)}")
    if not (_is_int(n) and MIN_SAMPLES <= n <= limits.MAX_SAMPLES):
        raise ValueError(f"n: number of samples must be an integer in [{MIN_SAMPLES}, {limits.MAX_SAMPLES}], "
                         f"got {shown(n)}")
    if not (_is_real(noise) and 0 <= noise <= MAX_NOISE):
        raise ValueError(f"noise: must be a number in [0, {MAX_NOISE:g}], got {shown(noise)}")
    if not (_is_real(test_fraction) and 0 < test_fraction < 1):
        raise ValueError(f"test_fraction: must be a number in (0, 1), got {shown(test_fraction)}")
    if not (_is_int(classes) and 2 <= classes <= limits.MAX_CLASSES):
        raise ValueError(f"classes: must be an integer in [2, {limits.MAX_CLASSES}], got {shown(classes)}")
    if not (_is_int(seed) and 0 <= seed <= limits.MAX_SEED):
        raise ValueError(f"seed: must be an integer in [0, {limits.MAX_SEED}], got {shown(seed)}")
    n, classes, seed = int(n), int(classes), int(seed)
    n_test = check_split(n, test_fraction)
    rng = np.random.default_rng(seed)
    if name in ("spiral", "blobs"):
        X, y = {"spiral": _spiral, "blobs": _blobs}[name](n, rng, classes)
    else:
        X, y = {"moons": _moons, "circles": _circles, "xor": _xor, "sine": _sine}[name](n, rng)
    regression = name in REGRESSION
    if noise > 0:
        if regression:
            y = y + noise * rng.standard_normal(y.shape)
        else:
            X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    X, y = X[order], y[order]
    Xt = torch.as_tensor(X, dtype=dtype, device=device)
    if regression:
        yt = torch.as_tensor(y, dtype=dtype, device=device).reshape(-1, 1)
        n_classes = 1
    else:
        yt = torch.as_tensor(y, device=device).long()
        n_classes = int(y.max()) + 1
    return Dataset(name, Xt[: n - n_test], yt[: n - n_test], Xt[n - n_test:], yt[n - n_test:],
                   "regression" if regression else "classification", n_classes)
