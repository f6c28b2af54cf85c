"""Guided experiments: a dropdown of configs, each with one sentence on what to observe.

``PRESETS[name] -> Preset(changes, observe, compare)``: ``changes`` are TrainConfig
fields applied to the defaults (:func:`preset_config`); ``observe`` is the sentence the
panel shows; ``compare`` (optional) are the changes that make the *contrast* run — the
same config with one thing different (the panel or a race can train both).

Each preset's claim is checked by ``tests/test_presets.py`` on the very config here.

:func:`dead_units` measures what "ReLU dies" shows: a hidden unit is *dead* when its
pre-activation ``z = W a + b`` is ``<= 0`` for every training input, so its ReLU output
and its gradient are 0 everywhere and no gradient step can revive it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from . import defaults
from .train import TrainConfig


@dataclass(frozen=True)
class Preset:
    changes: dict
    observe: str
    compare: Optional[dict] = None  # changes for the contrast run (applied on top of ``changes``)
    tags: tuple = field(default=())


#: the spiral's defaults (lrlab.defaults): the network, epochs and size with which Adam learns it
SPIRAL = defaults.for_dataset("spiral")

PRESETS: dict[str, Preset] = {
    "learning rate too high": Preset(
        dict(dataset="moons", activation="relu", optimizer="sgd", lr=50.0, hidden=(16, 16), max_epochs=100),
        "Each step overshoots the minimum by more than it gains: the loss jumps up instead of down "
        "and within a few epochs the run stops with 'diverged'; at lr 0.5 (the contrast run) the "
        "same network fits the moons.",
        compare=dict(lr=0.5)),
    "learning rate too low": Preset(
        dict(dataset="moons", optimizer="sgd", lr=1e-4, hidden=(16, 16), max_epochs=100),
        "The steps are so small that after 100 epochs the loss has barely moved from its starting "
        "value and the boundary is still the random initial one.",
        compare=dict(lr=1.0)),
    "adaptive rates: Adam vs SGD on spiral": Preset(
        dict(dataset="spiral", optimizer="adam", lr=0.01, **SPIRAL),
        "Adam scales each weight's step by its own gradient history, so with the same learning "
        "rate it untangles the spiral (over 90 %) while plain SGD (the contrast run) is still "
        "near chance (under 70 %).",
        compare=dict(optimizer="sgd")),
    "cosine annealing settles mini-batch noise": Preset(
        dict(dataset="spiral", optimizer="momentum", lr=0.1, batch_size=64, schedule="cosine",
             **{**SPIRAL, "max_epochs": 100}),
        "Mini-batches make every step noisy: at a constant rate (the contrast run) the loss keeps "
        "jumping to the last epoch; cosine annealing shrinks the steps, so the loss settles, "
        "lower, over the last epochs.",
        compare=dict(schedule="constant")),
    "cosine cuts rescue a plateau": Preset(
        dict(dataset="circles", optimizer="sgd", lr=8.0, hidden=(16, 16), max_epochs=200,
             schedule="cosine_plateau_cuts", schedule_params=dict(period=10, factor=0.3, min_lr=0.5)),
        "At a constant rate of 8 the loss bounces without settling; every 10 epochs the schedule "
        "compares the mean loss with the previous period's, cuts the rate when it rose (dotted "
        "lines on the learning-rate plot), and the loss then falls to a good fit.",
        compare=dict(schedule="constant", schedule_params={})),
    "ReLU dies": Preset(
        dict(dataset="moons", activation="relu", optimizer="sgd", lr=5.0, hidden=(16, 16), max_epochs=100),
        "One huge step pushes many ReLU units' inputs below zero for every point; their output and "
        "gradient are then 0 forever — the neuron heatmaps show them as blank squares.",
        compare=dict(lr=0.1)),
    "XOR needs features x1*x2": Preset(
        dict(dataset="xor", hidden=(), features=("x1", "x2", "x1*x2"), lr=0.1, max_epochs=100),
        "With no hidden layer the network is a straight line and cannot split XOR's quadrants; "
        "feeding it the product x1*x2 makes the problem linear and it reaches ~100 %.",
        compare=dict(features=("x1", "x2"))),
    "multiclass spiral": Preset(
        dict(dataset="spiral", classes=3, n_samples=600, hidden=(32, 32), lr=0.01, max_epochs=300),
        "Three classes, softmax cross-entropy: the confusion matrix shows which arms the network "
        "still mixes up while the boundary wraps around the spiral.",
        compare=None),
    "L2 smooths the boundary": Preset(
        dict(dataset="circles", noise=0.25, hidden=(32, 32), lr=0.03, max_epochs=300,
             regularization="l2", reg_rate=0.01),
        "The L2 penalty keeps the weights small, so the boundary stays a smooth ring instead of "
        "bending around every noisy point (compare the weights' size with the contrast run).",
        compare=dict(regularization="none", reg_rate=0.0)),
    "regression: fit a sine": Preset(
        dict(dataset="sine", loss="mse", hidden=(16, 16), lr=0.01, max_epochs=300),
        "Mean squared error on a 1-D curve: R^2 climbs towards 1 as the network bends its output "
        "to follow sin(pi x).",
        compare=None),
}


def preset_config(name: str, base: TrainConfig | None = None, contrast: bool = False) -> TrainConfig:
    """The TrainConfig of preset ``name`` (its changes on ``base``, the defaults if None).

    ``contrast=True`` gives the contrast run (the preset's ``compare`` changes on top)."""
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    base = base or TrainConfig()
    changes = dict(preset.changes)
    if contrast:
        if preset.compare is None:
            raise ValueError(f"preset: {name!r} has no contrast run")
        changes.update(preset.compare)
    # reset what a preset may not mention but an earlier choice may have set
    reset = {"csv_path": None, "features": None, "regularization": "none", "reg_rate": 0.0,
             "schedule": "constant", "schedule_params": {}, "optimizer_params": {}, "classes": 2,
             "loss": "cross_entropy", "noise": TrainConfig.noise, "n_samples": TrainConfig.n_samples,
             "batch_size": None}
    return base.replace(**{**reset, **changes})


def describe(name: str) -> str:
    """The sentence on what to observe."""
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    return PRESETS[name].observe


def hidden_preactivations(run_or_model, X_raw=None, features=None) -> list[torch.Tensor]:
    """The pre-activations ``z_l`` [n, width_l] of every hidden layer on raw inputs (default: training set)."""
    from .run import parts_of
    model, features, _, dataset = parts_of(run_or_model, features)
    if X_raw is None:
        if dataset is None:
            raise ValueError("X_raw: give the inputs (this run has no dataset attached)")
        X_raw = dataset.X_train
    from .data import transform
    p = model.flat_parameters()
    X = torch.as_tensor(X_raw, dtype=p.dtype, device=p.device)
    if X.dim() == 1:
        X = X.view(-1, 1)
    a = transform(X, features)
    out = []
    from .nets import activate
    with torch.no_grad():
        for layer in model.layers[:-1]:
            z = layer(a)
            out.append(z)
            a = activate(z, model.activation)
    return out


def dead_unit_mask(run_or_model, X_raw=None, features=None) -> list[torch.Tensor]:
    """Per hidden layer, a bool [width] that is True for units with ``z <= 0`` on every input."""
    return [(z <= 0).all(0).cpu() for z in hidden_preactivations(run_or_model, X_raw, features)]


def dead_units(run_or_model, X_raw=None, features=None) -> float:
    """The fraction of hidden units that are dead: ``z_j <= 0`` for every input (ReLU output 0 always).

    Meaningful for ``relu``; for other activations a unit with ``z <= 0`` everywhere is not
    dead (its gradient is not 0), but the fraction is still reported. 0.0 without hidden layers."""
    masks = dead_unit_mask(run_or_model, X_raw, features)
    if not masks:
        return 0.0
    m = torch.cat(masks)
    return float(m.float().mean())
