"""KHistory (K bounded histories in one buffer) against K separate History objects fed the same
records; the race's K-row histories, lazy records and grouped learning rates against the engine."""
import copy
import json
import pickle

import numpy as np
import pytest

from lrlab.history import COLUMNS, History, HistoryView, KHistory
from lrlab.race import EpochRecords, Race, race
from lrlab.train import TrainConfig, train


def _feed(K, capacity, epochs, stops, seed=0):
    """K histories two ways: one KHistory and K History objects; model i stops after epoch stops[i]."""
    rng = np.random.default_rng(seed)
    kh = KHistory(K, capacity=capacity)
    plain = [History(capacity=capacity) for _ in range(K)]
    for e in range(epochs):
        running = kh.running.copy()
        if not running.any():
            break
        lr = rng.uniform(1e-3, 1, K)
        cols = rng.normal(size=(4, K))
        cols[0, rng.random(K) < 0.05] = np.nan
        cols[1, rng.random(K) < 0.05] = np.inf
        cols[2, rng.random(K) < 0.05] = -np.inf
        now = float(e) * 0.25
        kh.append((e, lr, cols[0], cols[1], cols[2], cols[3], now))
        for i in np.flatnonzero(running).tolist():
            plain[i].append({"epoch": e, "lr": float(lr[i]), "train_loss": float(cols[0, i]),
                             "test_loss": float(cols[1, i]), "train_acc": float(cols[2, i]),
                             "test_acc": float(cols[3, i]), "seconds": now})
        kh.stop([i for i in np.flatnonzero(running).tolist() if stops[i] == e])
    return kh, plain


def _same(view, h):
    assert len(view) == len(h) and view.epochs_seen == h.epochs_seen and view.stride == h.stride
    assert view.columns == h.columns and view.capacity == h.capacity
    for c in COLUMNS:
        np.testing.assert_array_equal(view[c], h[c])
    assert json.dumps(view.last) == json.dumps(h.last)
    assert json.dumps(view.records()) == json.dumps(h.records())
    assert json.dumps(view.to_dict()) == json.dumps(h.to_dict())


@pytest.mark.parametrize("capacity,epochs", [(4, 3), (8, 70), (16, 200), (64, 40)])
def test_khistory_equals_k_histories_fed_the_same_records(capacity, epochs):
    K = 9
    rng = np.random.default_rng(capacity)
    stops = rng.integers(0, epochs + 5, K)  # some stop early, some in the middle of a thinning, some never
    stops[0], stops[1] = 0, epochs - 1
    kh, plain = _feed(K, capacity, epochs, stops, seed=capacity)
    for i in range(K):
        _same(kh.views[i], plain[i])
    assert kh._data.shape[1] <= capacity  # memory bounded


def test_khistory_stops_before_any_record_and_reads_empty():
    kh = KHistory(3, capacity=8)
    kh.stop([1])
    kh.append((0, np.ones(3), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), 0.0))
    h = History(capacity=8)
    _same(kh.views[1], h)
    assert kh.views[1].last is None and len(kh.views[0]) == 1 and kh.views[0].last["epoch"] == 0


def test_views_copy_pickle_and_round_trip_through_json_as_plain_histories():
    stops = np.array([5, 30, 100, 2])
    kh, plain = _feed(4, 8, 60, stops, seed=3)
    kh.views[2].cuts = [{"epoch": 3, "old_lr": 0.1, "new_lr": 0.01, "reason": "plateau"}]
    plain[2].cuts = copy.deepcopy(kh.views[2].cuts)
    for i, view in enumerate(kh.views):
        assert isinstance(view, HistoryView) and isinstance(view, History)
        for other in (copy.deepcopy(view), copy.copy(view), pickle.loads(pickle.dumps(view)), view.snapshot(),
                      History.from_dict(json.loads(json.dumps(view.to_dict()))),
                      HistoryView.from_dict(json.loads(json.dumps(view.to_dict())))):
            assert type(other) is History
            _same(view, other)
            _same(other, plain[i])
            other.append({"epoch": 1000})  # a copy is an ordinary History
            assert other.last == {"epoch": 1000}
    with pytest.raises(TypeError):
        kh.views[0].append({"epoch": 0})


def test_a_race_with_different_capacities_and_stops_keeps_each_runs_history_like_the_engine():
    base = TrainConfig(dtype="float64", max_epochs=30, n_samples=120, batch_size=None, loss="mse")
    configs = [base.replace(optimizer="sgd", lr=0.3, history_capacity=8),
               base.replace(optimizer="adam", lr=0.01, max_epochs=11),
               base.replace(optimizer="sgd", lr=100.0, history_capacity=8),  # diverges early
               base.replace(optimizer="adam", lr=0.02, patience=3, schedule="cosine"),
               base.replace(optimizer="sgd", lr=0.1, schedule="reduce_on_plateau", history_capacity=16),
               base.replace(optimizer="sgd", lr=0.1, schedule="cosine", max_epochs=17)]
    runs = race(configs)
    for ours, config in zip(runs, configs):
        theirs = train(config)
        assert ours.stop_reason == theirs.stop_reason and ours.stop_epoch == theirs.stop_epoch
        assert ours.steps == theirs.steps and ours.best_epoch == theirs.best_epoch
        assert len(ours.history) == len(theirs.history) and ours.history.stride == theirs.history.stride
        assert ours.history.epochs_seen == theirs.history.epochs_seen
        for c in ("epoch", "lr"):
            np.testing.assert_array_equal(ours.history[c], theirs.history[c])
        np.testing.assert_allclose(ours.history["train_loss"], theirs.history["train_loss"], rtol=1e-7,
                                   equal_nan=True)
        assert ours.history.cuts == theirs.history.cuts
        assert set(ours.history.last) == set(theirs.history.last) and ours.history.last["epoch"] == theirs.stop_epoch
        assert type(ours.history.last["epoch"]) is int
        assert ours.best_metrics.keys() == theirs.best_metrics.keys()


def test_epoch_records_are_lazy_dicts_in_the_configs_order():
    base = TrainConfig(dtype="float64", n_samples=100, batch_size=None)
    configs = [base.replace(optimizer="adam", lr=0.01, max_epochs=4), base.replace(optimizer="sgd", lr=0.1, max_epochs=1),
               base.replace(optimizer="adam", lr=0.02, max_epochs=4)]
    r = Race(configs)
    first = r.epoch()
    assert isinstance(first, EpochRecords) and len(first) == 3
    assert [x["lr"] for x in first] == [0.01, 0.1, 0.02]
    assert first[0] is first[0] and first[-1] is first[2] and first[1:] == [first[1], first[2]]
    assert first == list(first) and json.loads(json.dumps(list(first)))[1]["epoch"] == 0
    with pytest.raises(IndexError):
        first[3]
    second = r.epoch()
    assert second[1] is None and second[0]["epoch"] == 1
    runs = r.runs
    assert runs[0].history.last == second[0] and runs[1].history.last == first[1]
    assert runs[1].steps == 1 and runs[0].steps == 2


def test_pure_schedules_are_asked_once_per_distinct_schedule():
    base = TrainConfig(dtype="float64", n_samples=100, batch_size=None, max_epochs=6)
    configs = [base.replace(optimizer=o, lr=lr, schedule=s) for o in ("sgd", "adam")
               for lr in (0.01, 0.1) for s in ("constant", "cosine", "step_decay")]
    r = Race(configs)
    assert len(r._lr_groups) == 4  # cosine and step_decay at 2 lrs; constant ones are filled in once
    expected = [np.array([sc.lr(e) for sc in r.schedules]) for e in range(6)]
    while not r.done:
        e = r.epoch_index
        r.epoch()
        r.flush_history()  # (rows are written in blocks, or when a history is read)
        np.testing.assert_array_equal(r.histories[0]._owner._last[:, 1], expected[e])


@pytest.mark.parametrize("capacity", [4, 7, 64, 5000])
def test_append_block_writes_what_appending_row_by_row_writes(capacity):
    """Blocks of epochs (the engine writes its history in blocks) give the same buffer, sizes,
    strides and ``last`` as one append per epoch, across growth, thinning and stopped models."""
    rng = np.random.default_rng(0)
    K, C = 5, len(COLUMNS)
    one, blocks = KHistory(K, COLUMNS, capacity), KHistory(K, COLUMNS, capacity)
    epoch = 0
    for size in [1, 3, 32, 2, 50, 7, 120, 1]:
        block = rng.normal(size=(size, K, C))
        block[:, :, 0] = np.arange(epoch, epoch + size)[:, None]
        epoch += size
        for b in range(size):
            one.append(block[b].T)
        blocks.append_block(block)
        if epoch > 40 and one.running[2]:
            one.stop([2])
            blocks.stop([2])
    for i in range(K):
        assert blocks.state(i) == one.state(i)
        for c in COLUMNS:
            np.testing.assert_array_equal(blocks.views[i][c], one.views[i][c])
        assert blocks.views[i].last == one.views[i].last
