import json

import numpy as np

from lrlab.history import History


def test_history_stays_bounded_and_evenly_spaced():
    h = History(capacity=64)
    for e in range(100_000):
        h.append({"epoch": e, "lr": 0.1, "train_loss": 1.0 / (e + 1)})
    assert len(h) <= 64
    epochs = h["epoch"]
    assert epochs[0] == 0 and np.all(np.diff(epochs) == h.stride)  # evenly spaced
    assert h.last["epoch"] == 99_999 and h.epochs_seen == 100_000
    assert h._data.shape[0] == 64  # memory flat


def test_history_round_trips_through_json_with_inf_and_nan():
    h = History(capacity=8)
    for e in range(20):
        h.append({"epoch": e, "train_loss": float("inf") if e == 19 else e, "lr": float("nan")})
    h2 = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert np.array_equal(h2["epoch"], h["epoch"]) and h2.stride == h.stride and len(h2) == len(h)


def test_rows_are_allocated_as_needed_up_to_capacity():
    h = History(capacity=5000)
    assert h._data.shape[0] <= 64  # a race of many models does not map capacity rows up front
    for e in range(300):
        h.append({"epoch": e, "lr": 0.1, "train_loss": 1.0 / (e + 1), "test_loss": 0.0, "train_acc": 0.5,
                  "test_acc": 0.5, "seconds": e})
    assert len(h) == 300 and 300 <= h._data.shape[0] <= 5000
    assert np.array_equal(h["epoch"], np.arange(300)) and h["train_loss"][-1] == 1.0 / 300
    h.append({"epoch": 300})  # a record missing columns: NaN there
    assert np.isnan(h["lr"][-1]) and h["epoch"][-1] == 300
    h2 = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert np.array_equal(h2["epoch"], h["epoch"]) and len(h2) == 301
    h2.append({"epoch": 301})
    assert h2["epoch"][-1] == 301
