"""Cosine with plateau cuts as batched state (schedules.CosineCutsGroup, issue 15): a race's
cosine_plateau_cuts schedules are watched together as [M] arrays, and every member's rates,
cuts and state are what the textbook CosineWithPlateauCuts gives it alone."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lrlab import schedules as S
from lrlab.engine import Engine
from lrlab.train import TrainConfig, train

CUTS = "cosine_plateau_cuts"
COLUMNS = ("epoch", "lr", "train_loss", "test_loss", "train_acc", "test_acc")


def _params(rng, M):
    return [dict(max_lr=float(rng.choice([0.1, 0.3, 1.0])), min_lr=float(rng.choice([0.0, 1e-3])),
                 T_max=int(rng.choice([20, 50, 150])), period=int(rng.integers(1, 7)),
                 factor=float(rng.choice([0.1, 0.5, 0.9])), monitor=str(rng.choice(S.PLATEAU_MONITOR.choices)))
            for _ in range(M)]


def _same_state(alone, member):
    """Everything the per-model object holds: cuts, rates, epochs observed, the period sums."""
    assert member.cuts == alone.cuts
    assert member._scale.changes == alone._scale.changes
    assert member.observed == alone.observed
    pairs = [(alone._loss, member._loss), (alone._acc, member._acc)]
    assert (alone._previous is None) == (member._previous is None)
    if alone._previous is not None:
        pairs += list(zip(alone._previous, member._previous))
    for a, b in pairs:
        assert [getattr(a, k) for k in a.__slots__] == [getattr(b, k) for k in b.__slots__]


def test_group_watches_many_schedules_as_each_one_alone():
    """Random streams with stops, NaN, infinities, and values 10**-300 .. 10**300 apart (sums that no
    longer fit a pair of floats) and near float64's largest (sums past its range)."""
    rng = np.random.default_rng(1)
    M, epochs = 80, 200
    params = _params(rng, M)
    alone = [S.CosineWithPlateauCuts(**p) for p in params]
    group = S.CosineCutsGroup([S.CosineWithPlateauCuts(**p) for p in params])
    alive = np.ones(M, dtype=bool)  # a member that misses an epoch (stopped, diverged) never observes again
    for e in range(epochs):
        base = rng.random(M) * (1 + 0.5 * np.sin(e / 5))
        loss = np.where(rng.random(M) < 0.1, base * 10.0 ** rng.integers(-300, 300, M), base)
        loss = np.where(rng.random(M) < 0.02, rng.choice([np.nan, np.inf, -np.inf], M), loss)
        loss = np.where(rng.random(M) < 0.01, 1.7e308, loss)
        acc = np.round(rng.random(M) * 8) / 8  # accuracies repeat: equal means are common
        stream = {"train_loss": loss, "train_acc": acc, "test_loss": loss, "test_acc": acc}
        alive &= rng.random(M) < 0.995
        np.testing.assert_array_equal(group.rates, [s.lr(e) for s in alone])
        group.observe(e, stream, alive)
        for i, s in enumerate(alone):
            if alive[i]:
                s.observe(e, {n: float(v[i]) for n, v in stream.items()})
    group.sync()
    assert sum(len(s.cuts) for s in alone) > 2 * M  # the streams exercise cuts, NaN and infinities
    assert group.now[0].big or group.before[0].big  # and sums held as integers
    assert 0 < alive.sum() < M
    for s, g in zip(alone, group.members):
        _same_state(s, g)
        assert [s.lr(e) for e in range(epochs + 5)] == [g.lr(e) for e in range(epochs + 5)]


def test_group_sums_compare_exactly():
    """The same values in another order are no change (float means may differ there); one ulp more is."""
    before, after = [0.3, 0.2, 0.1], [0.1, 0.2, np.nextafter(0.3, 1.0)]
    group = S.CosineCutsGroup([S.CosineWithPlateauCuts(0.1, 0.0, 40, period=3) for _ in range(3)])
    streams = [before + [0.1, 0.2, 0.3], before + after, before + [0.2, 0.1, 0.3]]
    for e in range(6):
        group.observe(e, {"train_loss": np.array([s[e] for s in streams]), "train_acc": np.full(3, 0.5)})
    assert [[c["epoch"] for c in s.cuts] for s in group.members] == [[], [5], []]


def test_group_takes_over_members_that_have_observed_already():
    """A group made of schedules part-way through (sums, a previous period, cuts) goes on as they would."""
    rng = np.random.default_rng(2)
    M = 30
    params = _params(rng, M)
    alone = [S.CosineWithPlateauCuts(**p) for p in params]
    members = [S.CosineWithPlateauCuts(**p) for p in params]
    stream = [{"train_loss": rng.random(M) * 10.0 ** rng.integers(-200, 200, M) if e % 7 == 3 else rng.random(M),
               "train_acc": np.round(rng.random(M) * 4) / 4} for e in range(60)]
    for e in range(23):
        for i, (s, t) in enumerate(zip(alone, members)):
            for x in (s, t):
                x.observe(e, {"train_loss": float(stream[e]["train_loss"][i]),
                              "train_acc": float(stream[e]["train_acc"][i])})
    group = S.CosineCutsGroup(members)
    assert group.now[0].big or group.before[0].big  # sums that need integers are taken over too
    for e in range(23, 60):
        np.testing.assert_array_equal(group.rates, [s.lr(e) for s in alone])
        group.observe(e, stream[e])
        for i, s in enumerate(alone):
            s.observe(e, {"train_loss": float(stream[e]["train_loss"][i]),
                          "train_acc": float(stream[e]["train_acc"][i])})
    group.sync()
    assert sum(len(s.cuts) for s in alone) > M
    for s, g in zip(alone, members):
        _same_state(s, g)


def test_group_refuses_epochs_out_of_order():
    group = S.CosineCutsGroup([S.CosineWithPlateauCuts(0.1, 0.0, 10, period=2) for _ in range(2)])
    metrics = {"train_loss": np.ones(2), "train_acc": np.ones(2)}
    with pytest.raises(ValueError, match="epoch"):
        group.observe(3, metrics)
    group.observe(0, metrics, np.array([True, False]))
    with pytest.raises(ValueError, match="expected epoch 0"):
        group.observe(1, metrics)  # the second member has not seen epoch 0
    with pytest.raises(ValueError, match="train_acc"):
        group.observe(1, {"train_loss": np.ones(2)}, np.array([True, False]))


# ------------------------------------------------------------------ in the engine
def _race(batch_size):
    """Cosine-with-cuts models with different parameters, mixed with other schedules; some diverge,
    converge early or reach their target."""
    b = TrainConfig(max_epochs=60, n_samples=96, hidden=(6,), batch_size=batch_size, dtype="float64")
    return [b.replace(optimizer="sgd", lr=0.5, schedule=CUTS, schedule_params={"period": 2}),
            b.replace(optimizer="adam", lr=0.05, schedule=CUTS,
                      schedule_params={"period": 3, "factor": 0.5, "monitor": "loss"}),
            b.replace(optimizer="adam", lr=0.2, schedule=CUTS,
                      schedule_params={"period": 1, "factor": 0.7, "monitor": "accuracy", "T_max": 20}),
            b.replace(optimizer="sgd", lr=100.0, divergence_factor=2.0, schedule=CUTS,
                      schedule_params={"period": 2}),  # diverges early
            b.replace(optimizer="sgd", lr=0.2, patience=3, min_delta=0.01, schedule=CUTS,
                      schedule_params={"period": 4, "min_lr": 0.01}),  # converges early
            b.replace(optimizer="momentum", lr=0.3, target_accuracy=0.8, schedule=CUTS,
                      schedule_params={"period": 5}),
            b.replace(optimizer="rmsprop", lr=0.01, schedule=CUTS,
                      schedule_params={"period": 2, "factor": 0.3, "T_max": 15, "max_lr": 0.05}),
            b.replace(optimizer="sgd", lr=3.0, schedule=CUTS, schedule_params={"period": 1, "factor": 0.9}),
            b.replace(optimizer="sgd", lr=0.5),
            b.replace(optimizer="adam", lr=0.01, schedule="cosine"),
            b.replace(optimizer="rmsprop", lr=0.01, schedule="reduce_on_plateau", schedule_params={"patience": 2})]


class _PerModel(S.CosineWithPlateauCuts):
    """Not the exact class: the engine observes it per model, as it did every cuts schedule before the group."""


@pytest.fixture
def per_model_cuts(monkeypatch):
    spec = S.SCHEDULES[CUTS]
    monkeypatch.setitem(S.SCHEDULES, CUTS, dataclasses.replace(spec, build=lambda lr, epochs, **p: _PerModel(**p)))


def _table(run):
    return np.array([run.history[c] for c in COLUMNS])


@pytest.fixture(params=[None, 32], ids=["full-batch", "batches-of-32"])
def raced(request):
    configs = _race(request.param)
    engine = Engine(configs)
    assert engine._cuts is not None and len(engine._cuts.members) == 8
    return configs, engine.run()


def test_race_equals_the_per_model_path(raced, per_model_cuts):
    """The same race observed per model (today's code before the group): bit-identical runs."""
    configs, runs = raced
    engine = Engine(configs)
    assert engine._cuts is None and len(engine._lr_each) == 8
    theirs = engine.run()
    assert {r.stop_reason for r in runs} >= {"diverged", "converged", "max_epochs"}
    assert sum(len(r.history.cuts) for r in runs) >= 5
    for ours, other in zip(runs, theirs):
        assert (ours.stop_reason, ours.stop_epoch, ours.best_epoch, ours.steps) == \
            (other.stop_reason, other.stop_epoch, other.best_epoch, other.steps)
        assert ours.history.cuts == other.history.cuts
        np.testing.assert_array_equal(_table(ours), _table(other))
        assert torch.equal(ours.model.flat_parameters(), other.model.flat_parameters())
    assert sum(type(s) is _PerModel for s in engine.schedules) == 8


def test_race_equals_each_model_trained_alone(raced):
    """Each model trained alone (train(config), K = 1) has the same cuts and rates, and its history to 1e-12."""
    configs, runs = raced
    for config, ours in zip(configs, runs):
        alone = train(config)
        assert (ours.stop_reason, ours.stop_epoch, ours.best_epoch) == \
            (alone.stop_reason, alone.stop_epoch, alone.best_epoch)
        assert ours.history.cuts == alone.history.cuts
        np.testing.assert_array_equal(ours.history["lr"], alone.history["lr"])
        np.testing.assert_allclose(_table(ours), _table(alone), rtol=1e-12, atol=1e-12)


def test_race_cuts_replay_through_the_textbook_schedule(raced):
    """The recorded metrics fed to a fresh CosineWithPlateauCuts give the same cuts, rates and state
    (``sync``: what the run's schedule object holds at the end)."""
    configs, runs = raced
    engine = Engine(configs)
    engine.run()
    for config, run, schedule in zip(engine.configs, [engine._runs[i] for i in range(engine.K)], engine.schedules):
        if config.schedule != CUTS:
            continue
        fresh = S.make_schedule(CUTS, config.lr, config.max_epochs, **config.schedule_params)
        watched = S.metrics_of_run(run)
        if run.stop_reason == "diverged":
            watched = watched[:-1]  # the epoch that diverged is not observed
        rates = S.lr_curve(fresh, len(run.history), watched)
        np.testing.assert_array_equal(run.history["lr"], rates)
        assert run.history.cuts is schedule.cuts and fresh.cuts == schedule.cuts
        _same_state(fresh, schedule)


def test_race_never_asks_a_cuts_schedule_per_model(monkeypatch):
    """No per-model observe, and lr() only where a cut is recorded (old and new rate)."""
    calls = []

    def refuse(self, epoch, metrics):
        raise AssertionError("CosineWithPlateauCuts.observe called per model")

    real_lr = S.CosineWithPlateauCuts.lr
    monkeypatch.setattr(S.CosineWithPlateauCuts, "observe", refuse)
    monkeypatch.setattr(S.CosineWithPlateauCuts, "lr", lambda self, epoch: calls.append(epoch) or real_lr(self, epoch))
    for batch_size in (None, 32):
        calls.clear()
        configs = _race(batch_size)
        runs = Engine(configs).run()
        n_cuts = sum(len(r.history.cuts) for r, c in zip(runs, configs) if c.schedule == CUTS)
        assert n_cuts >= 5 and len(calls) == 2 * n_cuts
