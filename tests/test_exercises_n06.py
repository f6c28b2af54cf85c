"""Notebook 06's exercises: each right answer (computed here with lrlab.race, the notebook's
settings) is accepted, plausible wrong ones are refused, and no hint gives the answer away."""

import pytest

from lrlab import exercises
from lrlab.race import lr_range_test, sweep
from lrlab.train import TrainConfig
from exercise_checks import gives_away  # tests/exercise_checks.py

BASE = TrainConfig(dataset="moons", n_samples=400, hidden=(16, 16), max_epochs=60, seed=0, divergence_factor=3.0)


@pytest.fixture(scope="module")
def result():
    return sweep(["sgd", "momentum", "adam", "rmsprop"], "1e-4:30:32", config=BASE.replace(max_epochs=40))


@pytest.fixture(scope="module")
def right(result):
    velocity = 0.0
    for _ in range(300):
        velocity = 0.9 * velocity + 1.0
    sgd_test = lr_range_test(BASE.replace(optimizer="sgd"), start_lr=1e-6, end_lr=10, num_steps=100)
    return {"06-1": 0.1 * velocity,
            "06-2": result.best_lr("sgd") / result.best_lr("adam"),
            "06-3": result.best_lr("sgd") / sgd_test.suggested_lr}


KEYS = ["06-1", "06-2", "06-3"]
WRONG = {"06-1": [0.1, 0.5, 0.9, 10], "06-2": [1, 3, 100, 0.087], "06-3": [1.0, 10, 0.1, 0.73]}
ANSWER_WORDS = {"06-1": ["1", "1.0", "one"], "06-2": ["11", "11.5", "12", "10"], "06-3": ["1.36", "1.4"]}


def test_notebook_06_has_three_exercises():
    assert [k for k in exercises.exercises() if k.startswith("06-")] == KEYS


@pytest.mark.parametrize("key", KEYS)
def test_the_computed_answer_is_accepted(key, right):
    assert exercises.check(key, right[key], quiet=True)


@pytest.mark.parametrize("key", KEYS)
def test_plausible_wrong_answers_are_refused(key):
    for answer in WRONG[key]:
        assert not exercises.check(key, answer, quiet=True), (key, answer)


@pytest.mark.parametrize("key", KEYS)
def test_no_hint_gives_the_answer(key):
    assert not gives_away(key, ANSWER_WORDS[key]), (key, exercises.exercises()[key].hint)
