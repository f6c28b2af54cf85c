"""lrlab.rules: the per-epoch rules on [K] arrays against the old per-model rules, written plainly."""
import inspect
import math

import numpy as np
import pytest
import torch

from lrlab import rules
from lrlab.race import Race
from lrlab.rules import REASONS, EpochRules
from lrlab.train import TrainConfig, Trainer


class Reference:
    """The engine's rules for one model as they were written per model (Trainer._after_epoch)."""

    def __init__(self, c):
        self.c = c
        self.first_loss = None
        self.best_value = None
        self.best_train_loss = math.inf
        self.since_improved = 0
        self.epochs_above = 0

    def after_epoch(self, e, r, stopped):
        """Returns (improved, stop reason or None)."""
        c = self.c
        if self.first_loss is None:
            self.first_loss = r["train_loss"]
        bound = c.divergence_factor * max(abs(self.first_loss), 1e-3)
        if not (math.isfinite(r["train_loss"]) and math.isfinite(r["test_loss"])) or r["train_loss"] > bound:
            return False, "diverged"
        if r["train_loss"] > rules.HOLD_FACTOR * max(abs(self.first_loss), 1e-3):  # far above the start
            self.epochs_above += 1
            if self.epochs_above >= rules.HOLD_EPOCHS:
                return False, "diverged"
        else:
            self.epochs_above = 0
        improved = False
        value = r["test_loss"] if c.select_best == "loss" else -r["test_acc"]
        if self.best_value is None or value < self.best_value:
            self.best_value = value
            improved = True
        if stopped:
            return improved, "stopped_by_user"
        if c.target_accuracy is not None and r["test_acc"] >= c.target_accuracy:
            return improved, "target_accuracy"
        if c.patience is not None:
            if r["train_loss"] < self.best_train_loss - c.min_delta:
                self.best_train_loss, self.since_improved = r["train_loss"], 0
            else:
                self.since_improved += 1
                if self.since_improved >= c.patience:
                    return improved, "converged"
        if e + 1 >= c.max_epochs:
            return improved, "max_epochs"
        return improved, None


LOSSES = [0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.5, 1.0, 2.0, 8.0, 40.0, 1e3, math.nan, math.inf, -math.inf]
LOSS_P = np.array([4, 6, 6, 6, 6, 6, 6, 5, 4, 2, 1, 0.5, 0.3, 0.3, 0.1])
ACCS = [0.0, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0, math.nan, -math.inf]
ACC_P = np.array([2, 3, 5, 5, 5, 3, 1, 0.2, 0.1])


def random_configs(rng, K):
    configs = []
    for _ in range(K):
        configs.append(TrainConfig(
            divergence_factor=float(rng.choice([1.5, 5.0, 10.0, 100.0, 1e4, 1e6])),
            select_best=str(rng.choice(["loss", "accuracy"])),
            target_accuracy=None if rng.random() < 0.5 else float(rng.choice([0.75, 0.9, 1.0])),
            patience=None if rng.random() < 0.4 else int(rng.integers(1, 6)),
            min_delta=float(rng.choice([0.0, 0.0, 0.05, 0.3])),
            max_epochs=int(rng.integers(1, 40))))
    return configs


def random_stream(rng, K, epochs):
    """[epochs, K] of each metric, values from small sets (ties), with NaN and +-inf."""
    pick = lambda values, p, *shape: np.array(values)[rng.choice(len(values), size=shape, p=p / p.sum())]  # noqa: E731
    return {"train_loss": pick(LOSSES, LOSS_P, epochs, K), "test_loss": pick(LOSSES, LOSS_P, epochs, K),
            "train_acc": pick(ACCS, ACC_P, epochs, K), "test_acc": pick(ACCS, ACC_P, epochs, K)}


@pytest.mark.parametrize("seed", range(12))
def test_rules_match_the_per_model_reference(seed, monkeypatch):
    if seed % 2:  # a short hold, so that "far above the start for HOLD_EPOCHS epochs" fires often
        monkeypatch.setattr(rules, "HOLD_EPOCHS", 2)
    rng = np.random.default_rng(seed)
    K, epochs = 96, 40
    configs = random_configs(rng, K)
    stream = random_stream(rng, K, epochs)
    user_stop = int(rng.integers(3, 30)) if seed % 3 == 0 else None
    batched = EpochRules(configs)
    on_device = EpochRules(configs, device="cpu")  # the same code on torch tensors (as on a GPU)
    singles = [EpochRules([c]) for c in configs]  # K = 1: one model's rules (a single run)
    refs = [Reference(c) for c in configs]
    active = np.ones(K, dtype=bool)
    stop_epoch = [None] * K
    improvements = 0
    for e in range(epochs):
        if not active.any():
            break
        stopped = e == user_stop
        m = {k: v[e] for k, v in stream.items()}
        improved, reason = batched.after_epoch(e, m["train_loss"], m["test_loss"], m["train_acc"], m["test_acc"],
                                               True if active.all() else active.copy(), stopped)
        assert improved.shape == reason.shape == (K,)
        t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in m.items()}
        t_improved, t_reason = on_device.after_epoch(e, t["train_loss"], t["test_loss"], t["train_acc"],
                                                     t["test_acc"], True if active.all() else torch.from_numpy(active),
                                                     stopped)
        np.testing.assert_array_equal(t_improved.numpy(), improved)
        np.testing.assert_array_equal(t_reason.numpy(), reason)
        assert not improved[~active].any() and not reason[~active].any()
        for k in np.flatnonzero(active):
            r = {name: float(m[name][k]) for name in m}
            want_improved, want_reason = refs[k].after_epoch(e, r, stopped)
            one_improved, one_reason = singles[k].after_epoch(
                e, *(np.array([r[n]]) for n in ("train_loss", "test_loss", "train_acc", "test_acc")), stopped=stopped)
            assert (bool(improved[k]), REASONS[reason[k]]) == (want_improved, want_reason), (k, e, r)
            assert (bool(one_improved[0]), REASONS[one_reason[0]]) == (want_improved, want_reason), (k, e, r)
            improvements += want_improved
            if want_reason is not None:
                active[k] = False
                stop_epoch[k] = e
    assert improvements > K  # the streams exercise the best-epoch rule
    assert len({s for s in stop_epoch if s is not None}) > 3  # models stop at different epochs


def test_every_stop_reason_occurs_across_the_random_streams():
    seen = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        K, epochs = 96, 40
        configs = random_configs(rng, K)
        stream = random_stream(rng, K, epochs)
        refs = [Reference(c) for c in configs]
        done = [False] * K
        for e in range(epochs):
            for k in range(K):
                if done[k]:
                    continue
                _, reason = refs[k].after_epoch(e, {n: float(v[e][k]) for n, v in stream.items()}, e == 1 and seed == 0)
                if reason:
                    seen.add(reason)
                    done[k] = True
    assert seen == set(REASONS[1:])


def run_rules(config, rows, stopped_at=None):
    """Feed ``rows`` of (train_loss, test_loss, test_acc) to one model's rules until it stops."""
    r = EpochRules([config])
    improved_at = []
    for e, (tl, vl, va) in enumerate(rows):
        args = (np.array([tl]), np.array([vl]), np.array([0.5]), np.array([va]))
        improved, reason = r.after_epoch(e, *args, stopped=e == stopped_at)
        improved, reason = bool(improved[0]), int(reason[0])
        if improved:
            improved_at.append(e)
        if reason:
            return REASONS[reason], e, improved_at
    return None, None, improved_at


def test_patience_with_min_delta_and_ties():
    c = TrainConfig(patience=2, min_delta=0.1, max_epochs=100)
    # 1.0 -> 0.85 improves by more than 0.1; 0.8 and 0.8 (a tie) do not: converged after 2 epochs
    rows = [(1.0, 1.0, 0.5), (0.85, 0.9, 0.5), (0.8, 0.9, 0.5), (0.8, 0.7, 0.5), (0.1, 0.1, 0.5)]
    assert run_rules(c, rows) == ("converged", 3, [0, 1, 3])  # the tie at 0.9 is no improvement


def test_select_best_by_accuracy_and_target():
    c = TrainConfig(select_best="accuracy", target_accuracy=0.9, max_epochs=100)
    rows = [(1.0, 1.0, 0.5), (0.9, 0.5, 0.5), (0.8, 2.0, 0.75), (0.7, 0.1, 0.75), (0.6, 0.9, 0.95)]
    assert run_rules(c, rows) == ("target_accuracy", 4, [0, 2, 4])


def test_divergence_against_the_first_loss_and_non_finite():
    c = TrainConfig(divergence_factor=10.0, max_epochs=100)
    assert run_rules(c, [(0.5, 0.5, 0.5), (5.0, 0.4, 0.5), (5.01, 0.3, 0.5)]) == ("diverged", 2, [0, 1])
    assert run_rules(c, [(math.nan, 0.5, 0.5)]) == ("diverged", 0, [])
    assert run_rules(c, [(0.5, 0.5, 0.5), (0.4, math.inf, 0.5)]) == ("diverged", 1, [0])
    # a tiny first loss: the bound is divergence_factor x 1e-3
    assert run_rules(c, [(1e-6, 0.5, 0.5), (0.01, 0.4, 0.5), (0.0101, 0.3, 0.5)]) == ("diverged", 2, [0, 1])


def test_user_stop_after_divergence_and_best():
    c = TrainConfig(max_epochs=3, target_accuracy=0.5)
    # the learner's stop comes after the best-epoch rule and before the target
    assert run_rules(c, [(1.0, 1.0, 0.9)], stopped_at=0) == ("stopped_by_user", 0, [0])
    assert run_rules(c, [(math.nan, 1.0, 0.9)], stopped_at=0) == ("diverged", 0, [])
    assert run_rules(c, [(1.0, 1.0, 0.1), (1.0, 1.0, 0.1), (1.0, 1.0, 0.1)]) == ("max_epochs", 2, [0])


def test_race_and_trainer_use_the_rules_module():
    assert not hasattr(Race, "_after_epoch")  # the race's copy of the engine's rules is gone
    config = TrainConfig(max_epochs=3, n_samples=64)
    race = Race([config, config.replace(lr=0.1)])
    trainer = Trainer(config)
    assert isinstance(race.rules, EpochRules) and race.rules.K == 2
    assert trainer.engine.rules.K == 1 and type(trainer.engine) is Race  # one engine: a single run is K = 1
    # neither the engine nor the single-run view writes a rule itself
    for cls in (Race, Trainer):
        source = inspect.getsource(cls)
        for rule in ("divergence_factor", "target_accuracy", "min_delta", "patience", "select_best"):
            assert rule not in source, (cls.__name__, rule)
    calls = []
    original = EpochRules.after_epoch

    def spy(self, *args, **kwargs):
        calls.append(self.K)
        return original(self, *args, **kwargs)

    EpochRules.after_epoch = spy
    try:
        race.epoch()
        trainer.epoch()
    finally:
        EpochRules.after_epoch = original
    assert calls == [2, 1]
    assert rules.REASONS[1:] and set(rules.REASONS[1:]) == {"diverged", "stopped_by_user", "target_accuracy",
                                                             "converged", "max_epochs"}


def test_a_loss_held_far_above_its_start_is_a_divergence():
    """Below the explosion bound, but 100x the first loss for 20 epochs in a row: diverged
    (a learning rate too high for the loss to come down); one epoch back below restarts the count."""
    c = TrainConfig(divergence_factor=1e4, max_epochs=100)
    high = (0.5 * rules.HOLD_FACTOR * 1.01, 0.5, 0.5)
    stream = [(0.5, 0.5, 0.5)] + [high] * (rules.HOLD_EPOCHS - 1) + [(1.0, 0.5, 0.5)] + [high] * rules.HOLD_EPOCHS
    reason, epoch, _ = run_rules(c, stream)
    assert (reason, epoch) == ("diverged", 2 * rules.HOLD_EPOCHS)
    # exactly at the bound is not above it
    assert run_rules(c, [(0.5, 0.5, 0.5)] + [(0.5 * rules.HOLD_FACTOR, 0.5, 0.5)] * 30)[0] is None


def test_the_held_divergence_says_how_far_the_loss_is_from_its_start():
    from lrlab.train import train
    run = train(TrainConfig(dataset="spiral", optimizer="sgd", lr=100.0, max_epochs=300))
    assert run.stop_reason == "diverged" and run.stop_epoch < 100
    first, last = run.history["train_loss"][0], run.history["train_loss"][-1]
    assert last > rules.HOLD_FACTOR * first and np.isfinite(last)
    assert f"{last / first:,.0f}x where it started" in run.message() and "too high" in run.message()
