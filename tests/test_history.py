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
