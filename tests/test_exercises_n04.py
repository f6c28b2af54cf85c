"""Notebook 04's exercises: each right answer is accepted, plausible wrong ones are refused, and
no hint gives the answer away. The right answers are computed here from lrlab, not copied."""
import numpy as np
import pytest

from lrlab import exercises
from lrlab import schedules as S
from exercise_checks import gives_away  # tests/exercise_checks.py


def _right_answers():
    cos = S.cosine(max_lr=0.1, min_lr=0.001, T_max=50)
    sgdr = S.cosine_warm_restarts(max_lr=0.1, min_lr=0.001, T_0=10, T_mult=2)
    warm = S.make_schedule("warmup_cosine", 0.1, 100, warmup=10)
    one = S.one_cycle(max_lr=0.1, total_steps=100, pct_start=0.3, div_factor=25, final_div_factor=1e4)
    synthetic = S.synthetic_metrics(100)

    def cuts(period):
        s = S.make_schedule("cosine_plateau_cuts", 0.1, 100, period=period, monitor="both")
        S.lr_curve(s, 100, synthetic)
        return len(s.cuts)

    return {
        "04-1": cos(25),
        "04-2": [e for e in range(1, 150) if sgdr(e) > sgdr(e - 1)],
        "04-3": warm.lr(1) - warm.lr(0),
        "04-4": one(99),
        "04-6": "loss",
        "04-7": next(p for p in range(1, 101) if cuts(p) == 0),
    }


RIGHT = _right_answers()
WRONG = {
    "04-1": [0.1, 0.001, 0.05, 0.0253, "half"],
    "04-2": [[10, 20, 40], [10, 30, 70, 150], [10, 30], (20, 40, 80), "10, 30, 70", 70],
    "04-3": [0.01, 0.001, 0.1, 0.0109],
    "04-4": [0.004, 4e-6, 1e-5, 0.0],
    "04-5": ["cosine_plateau_cuts", "cuts", "both", "the same"],
    "04-6": ["accuracy", "by accuracy", "either", ""],
    "04-7": [10, 15, 18, 17, 50, "16 epochs"],
}


def test_notebook_04_has_seven_exercises_in_order():
    keys = [k for k in exercises.exercises() if k.startswith("04-")]
    assert keys == [f"04-{k}" for k in range(1, 8)]


@pytest.mark.parametrize("key", sorted(RIGHT))
def test_the_computed_answer_is_accepted(key):
    assert exercises.check(key, RIGHT[key], quiet=True)


def test_the_spiral_answer_is_the_run_with_the_lower_best_test_loss():
    from lrlab.train import TrainConfig, train
    base = dict(dataset="spiral", noise=0.1, n_samples=400, hidden=(16, 16), optimizer="adam", lr=0.05,
                max_epochs=200, seed=0)
    plain = train(TrainConfig(**base, schedule="cosine"))
    cut = train(TrainConfig(**base, schedule="cosine_plateau_cuts", schedule_params={"period": 10}))
    better = "cosine" if plain.best_metrics["test_loss"] < cut.best_metrics["test_loss"] else "cosine_plateau_cuts"
    assert exercises.check("04-5", better, quiet=True)


@pytest.mark.parametrize("key", sorted(WRONG))
def test_plausible_wrong_answers_are_refused(key):
    for wrong in WRONG[key]:
        assert not exercises.check(key, wrong, quiet=True), (key, wrong)


def test_no_hint_gives_the_answer():
    table = exercises.exercises()
    keys = {"04-1": ["0.0505", "0.05"], "04-2": ["30", "70"], "04-3": ["0.0099", "0.01"], "04-4": ["4e-7", "4e-07"],
            "04-5": ["plain", "cosine'"], "04-6": ["loss"], "04-7": ["16"]}
    for key, words in keys.items():
        assert not gives_away(key, words), (key, table[key].hint)
    assert np.isclose(RIGHT["04-3"], 0.0099)  # (the hint's words above are those of these answers)
