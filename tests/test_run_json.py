"""A run saved as JSON: diverged runs are kept exactly; hostile run files are refused before allocating."""
import json
import math
import tracemalloc

import numpy as np
import pytest

from lrlab.train import Run, TrainConfig, train

DIVERGING = TrainConfig(dataset="sine", optimizer="sgd", lr=10, activation="relu", hidden=(64, 64, 64),
                        max_epochs=50)


@pytest.fixture(scope="module")
def diverged():
    run = train(DIVERGING)
    assert run.stop_reason == "diverged"
    return run


def test_a_diverged_run_is_saved_as_strict_json_and_read_back_exactly(diverged, tmp_path):
    path = tmp_path / "d.json"
    diverged.to_json(str(path))
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    back = Run.from_json(str(path))
    assert not all(math.isfinite(v) for v in diverged.history.last.values())  # there is an inf to keep
    assert back.history.last == pytest.approx(diverged.history.last, nan_ok=True)
    for column in diverged.history.columns:
        assert np.array_equal(back.history[column], diverged.history[column], equal_nan=True), column
    assert back.stop_reason == "diverged" and back.best_epoch == diverged.best_epoch
    assert back.config == diverged.config
    for a, b in zip(back.model.parameters(), diverged.model.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy(), equal_nan=True)


def huge(d, **model):
    d = json.loads(json.dumps(d))
    d["model"].update(model)
    return json.dumps(d)


@pytest.fixture(scope="module")
def small_json():
    return json.loads(train(TrainConfig(max_epochs=3, hidden=(3,))).to_json())


@pytest.mark.parametrize("change, field", [
    (dict(sizes=[2, 100000, 100000, 2]), "hidden"),
    (dict(sizes=[2] + [8] * 30 + [2]), "model.sizes"),
    (dict(sizes=[10**9, 4, 2]), "model.sizes"),
    (dict(sizes="2,3,2"), "model.sizes"),
    (dict(sizes=[2, 3.5, 2]), "model.sizes"),
    (dict(activation=["tanh"]), "model.activation"),
    (dict(parameters=[[1.0]]), "model.parameters"),
    (dict(parameters=[[["x"]]] * 4), "model.parameters"),
])
def test_hostile_run_files_are_refused_naming_the_field(small_json, change, field):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="^" + field.replace(".", r"\.")):
            Run.from_json(huge(small_json, **change))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB allocated before refusing"


@pytest.mark.parametrize("text, message", [
    ("{not json", "run: not valid JSON"),
    ('{"lrlab": 2}', "run: not a run saved by lrlab"),
    ("[1, 2]", "run: not a run saved by lrlab"),
    ('{"lrlab": 1, "config": []}', "run.config: expected dict"),
])
def test_malformed_run_files(text, message):
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        Run.from_json(text)


def test_run_paths_are_read_boundedly(tmp_path):
    with pytest.raises(ValueError, match="^run: '/dev/zero' is not a regular file"):
        Run.from_json("/dev/zero")
    with pytest.raises(ValueError, match="^run: no such file"):
        Run.from_json(str(tmp_path / "missing.json"))
