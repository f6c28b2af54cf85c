"""Every preset runs and shows what its sentence claims (on the very config in lrlab.presets)."""
import numpy as np
import pytest
import torch

from lrlab import presets
from lrlab.presets import PRESETS, dead_units, preset_config
from lrlab.train import TrainConfig, train


def run(name, contrast=False, seed=0):
    return train(preset_config(name, TrainConfig(seed=seed), contrast=contrast))


SEEDS = (0, 1, 2)  # a claim holds on every one of them, not on one lucky seed


def test_required_presets_exist_with_a_sentence():
    for name in ("learning rate too high", "learning rate too low", "adaptive rates: Adam vs SGD on spiral",
                 "cosine cuts rescue a plateau", "ReLU dies", "XOR needs features x1*x2", "multiclass spiral",
                 "cosine annealing settles mini-batch noise"):
        assert name in PRESETS
    for name, p in PRESETS.items():
        assert p.observe.endswith(".") and 40 < len(p.observe) < 300, name
        preset_config(name).validate()
        if p.compare is not None:
            preset_config(name, contrast=True).validate()


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="preset: unknown preset 'nope'; allowed: learning rate too high"):
        preset_config("nope")


def test_preset_resets_earlier_choices():
    base = TrainConfig(regularization="l1", reg_rate=0.1, features=("x1",), schedule="cosine", seed=7)
    c = preset_config("learning rate too low", base)
    assert (c.regularization, c.features, c.schedule, c.seed) == ("none", None, "constant", 7)
    c = preset_config("ReLU dies", preset_config("cosine annealing settles mini-batch noise"))
    assert c.batch_size is None  # a preset that says nothing of batches trains on the full batch


def test_learning_rate_too_high_diverges():
    for seed in SEEDS:
        r = run("learning rate too high", seed=seed)
        assert r.stop_reason == "diverged" and len(r.history) <= 5  # within a few epochs
        assert "diverged at epoch" in r.summary()
        ok = run("learning rate too high", contrast=True, seed=seed)
        assert ok.stop_reason != "diverged" and ok.best_metrics["test_acc"] >= 0.95  # it fits the moons


def test_learning_rate_too_low_barely_moves():
    r = run("learning rate too low")
    loss = r.history["train_loss"]
    assert loss[-1] > 0.97 * loss[0]
    fast = run("learning rate too low", contrast=True)
    assert fast.history["train_loss"][-1] < 0.3 * loss[-1]


def test_adam_beats_sgd_on_spiral():
    for seed in SEEDS:
        adam = run("adaptive rates: Adam vs SGD on spiral", seed=seed)
        sgd = run("adaptive rates: Adam vs SGD on spiral", contrast=True, seed=seed)
        assert adam.best_metrics["test_acc"] > 0.9 and sgd.best_metrics["test_acc"] < 0.7  # chance: 0.5
        assert adam.best_metrics["train_loss"] < 0.5 * sgd.best_metrics["train_loss"]


def test_cosine_annealing_settles_mini_batch_noise():
    spread = lambda r: float(np.ptp(r.history["train_loss"][-20:]))  # how much the last epochs jump
    for seed in SEEDS:
        cosine = run("cosine annealing settles mini-batch noise", seed=seed)
        const = run("cosine annealing settles mini-batch noise", contrast=True, seed=seed)
        assert cosine.config.batch_size == const.config.batch_size == 64
        assert spread(cosine) < spread(const) / 3
        assert cosine.history["train_loss"][-1] < const.history["train_loss"][-1]


def test_cosine_cuts_rescue_a_plateau():
    cuts = run("cosine cuts rescue a plateau")
    const = run("cosine cuts rescue a plateau", contrast=True)
    assert len(cuts.history.cuts) >= 1
    assert const.history.cuts == []
    # the constant rate bounces: the loss rose in many epochs and ends far above the cut run's
    assert (np.diff(const.history["train_loss"]) > 0).mean() > 0.3
    assert cuts.history["train_loss"][-1] < 0.5 * const.history["train_loss"][-1]
    assert cuts.best_metrics["test_acc"] > 0.85 > const.best_metrics["test_acc"]


def test_relu_dies():
    r = run("ReLU dies")
    healthy = run("ReLU dies", contrast=True)
    assert dead_units(r) >= 0.3
    assert dead_units(healthy) <= 0.1


def test_dead_units_counts_units_off_for_every_input():
    r = train(TrainConfig(activation="relu", hidden=(4,), max_epochs=1))
    with torch.no_grad():
        r.model.layers[0].bias[:2] = -100.0  # two units can never fire on inputs in [-2, 2]
        r.model.layers[0].bias[2:] = 100.0
    assert dead_units(r) == 0.5
    assert [m.tolist() for m in presets.dead_unit_mask(r)] == [[True, True, False, False]]
    no_hidden = train(TrainConfig(hidden=(), max_epochs=1))
    assert dead_units(no_hidden) == 0.0


def test_xor_needs_the_product_feature():
    with_product = run("XOR needs features x1*x2")
    without = run("XOR needs features x1*x2", contrast=True)
    assert with_product.best_metrics["test_acc"] >= 0.95
    assert without.best_metrics["test_acc"] <= 0.75


def test_multiclass_spiral_learns_three_classes():
    r = run("multiclass spiral")
    assert r.dataset.n_classes == 3 and r.model.sizes[-1] == 3
    assert r.best_metrics["test_acc"] > 0.7  # chance is 1/3


def test_l2_keeps_weights_small():
    l2 = run("L2 smooths the boundary")
    free = run("L2 smooths the boundary", contrast=True)
    norm = lambda r: float(sum((w.detach() ** 2).sum() for w in r.model.weights_and_biases()[0]))
    assert norm(l2) < 0.7 * norm(free)


def test_sine_regression_fits():
    r = run("regression: fit a sine")
    assert r.kind == "regression" and r.best_metrics["test_acc"] > 0.8
