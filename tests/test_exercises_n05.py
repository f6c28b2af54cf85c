"""Notebook 05's exercises: each right answer (computed here, as the solution cells do) is accepted,
plausible wrong ones are refused, and no hint gives the answer away."""
import re

import numpy as np
import pytest

from lrlab import exercises
from lrlab.presets import dead_unit_mask, preset_config
from lrlab.race import Race
from lrlab.train import train
from exercise_checks import gives_away  # tests/exercise_checks.py

KEYS = ("05-1", "05-2", "05-3", "05-4", "05-5", "05-6")


def ok(key, answer):
    return exercises.check(key, answer, quiet=True)


def test_every_exercise_is_registered_with_a_question_and_a_hint():
    table = exercises.exercises()
    assert [k for k in table if k.startswith("05-")] == list(KEYS)
    for key in KEYS:
        ex = table[key]
        assert "?" in ex.question and ex.hint and ex.solution and ex.note


def test_05_1_the_epoch_the_run_diverged():
    high = train(preset_config("learning rate too high"))
    assert high.stop_reason == "diverged"
    assert ok("05-1", len(high.history)) and ok("05-1", float(len(high.history)))
    for wrong in (len(high.history) - 1, len(high.history) + 1, 100, "three", None):
        assert not ok("05-1", wrong)


def test_05_2_the_largest_rate_that_still_trains():
    config = preset_config("learning rate too high")
    trials = Race([config.replace(lr=lr) for lr in (10.0, 3.0, 1.0)]).run()
    right = max(r.config.lr for r in trials if r.stop_reason != "diverged")
    assert right < 10.0  # the question has one right answer among three
    assert ok("05-2", right)
    for wrong in {10.0, 3.0, 1.0, 50.0, 0.5} - {right}:
        assert not ok("05-2", wrong)


def test_05_3_the_factor_the_low_rate_lacks():
    low = preset_config("learning rate too low")
    factors = (10, 100, 1000, 10000)
    trials = Race([low.replace(lr=low.lr * f) for f in factors]).run()
    right = min(f for f, r in zip(factors, trials) if max(r.history["test_acc"]) >= 0.95)
    assert ok("05-3", right) and ok("05-3", float(right))
    for wrong in set(factors) - {right} | {1, 1e5}:
        assert not ok("05-3", wrong)


def test_05_4_the_best_rate_for_sgd_on_the_spiral():
    sgd = preset_config("adaptive rates: Adam vs SGD on spiral", contrast=True)
    trials = Race([sgd.replace(lr=lr) for lr in (0.1, 1.0, 3.0)]).run()
    best = max(trials, key=lambda r: r.best_metrics["test_acc"])
    assert ok("05-4", best.config.lr)
    for wrong in {0.1, 1.0, 3.0, 0.01} - {best.config.lr}:
        assert not ok("05-4", wrong)


def test_05_5_the_full_batch_does_not_jump():
    constant = train(preset_config("cosine annealing settles mini-batch noise", contrast=True))
    full = train(constant.config.replace(batch_size=None))
    spread = lambda r: float(np.ptp(r.history["train_loss"][-20:]))
    right = "yes" if spread(full) > spread(constant) / 3 else "no"
    assert ok("05-5", right) and ok("05-5", f"  {right.upper()} ")
    for wrong in ({"yes", "no"} - {right}) | {"maybe", "", 0}:
        assert not ok("05-5", wrong)


def test_05_6_dead_relu_units():
    run = train(preset_config("ReLU dies"))
    right = int(sum(int(m.sum()) for m in dead_unit_mask(run)))
    assert 0 < right < 32
    assert ok("05-6", right)
    for wrong in (0, 32, right - 3, right + 3, "half"):
        assert not ok("05-6", wrong)


@pytest.mark.parametrize("key", KEYS)
def test_no_hint_gives_the_answer(key):
    ex = exercises.exercises()[key]
    answer = re.split(r"[:(]", ex.solution)[0].split()[-1]  # each solution starts with its answer
    assert ok(key, float(answer) if answer.isdigit() else answer)
    assert not gives_away(key, [answer]), (key, ex.hint)
