"""Notebook 02's exercises: each right answer (computed here from lrlab.surfaces, not copied) is
accepted, plausible wrong ones are refused, and no hint gives the answer away."""
import math

import numpy as np
import pytest

from lrlab import exercises, surfaces
from exercise_checks import answer_tests, gives_away  # tests/exercise_checks.py


def escape_step(points):
    """The first step at which |y| > 0.5 (the path has left the saddle's ridge)."""
    return int(np.argmax(np.abs(points[:, 1]) > 0.5))


def right_answer(key):
    if key == "02-1":
        return sum(len(surfaces.get(n).critical_points) > 1 for n in surfaces.SURFACES)
    if key == "02-2":  # the best of a few learning rates: the distance to the minimum shrinks fastest
        narrow = surfaces.get("quadratic", condition=100.0)
        tries = 2 / 101 * np.array([0.8, 0.9, 0.95, 1.0, 1.003])
        points = surfaces.trajectories(narrow, [{"optimizer": "sgd", "lr": float(lr)} for lr in tries], 300).points
        rate = np.linalg.norm(points[:, 300], axis=1) / np.linalg.norm(points[:, 200], axis=1)
        return float(tries[np.argmin(rate)])
    if key == "02-3":
        velocity = 0.0
        for _ in range(200):
            velocity = 0.8 * velocity + 1.0
        return velocity
    if key == "02-4":
        beale, starts = surfaces.get("beale"), [(1.0, 1.0), (-3.0, 3.0)]
        grows = []
        for name in ("sgd", "adagrad", "rmsprop", "adam"):
            first = surfaces.trajectories(beale, [{"optimizer": name, "start": s} for s in starts], 1).points
            lengths = np.linalg.norm(first[:, 1] - first[:, 0], axis=1)
            if lengths[1] > 10 * lengths[0]:
                grows.append(name)
        return ", ".join(grows)
    if key == "02-5":
        paths = surfaces.trajectories("saddle", [{"optimizer": "sgd", "start": (-1.8, y0), "lr": 0.05}
                                                 for y0 in (1e-3, 1e-6)], 400)
        return escape_step(paths.points[1]) - escape_step(paths.points[0])
    if key == "02-6":
        well = surfaces.get("double_well")
        kinds = [c.kind for c in well.critical_points]
        g, l = kinds.index("global minimum"), kinds.index("local minimum")
        plain = surfaces.convergence_map(well, "sgd", resolution=41, steps=300).codes
        rolled = surfaces.convergence_map(well, "momentum", resolution=41, steps=300, momentum=0.9).codes
        return float(((plain == g) & (rolled == l)).mean())
    raise KeyError(key)


KEYS = [f"02-{k}" for k in range(1, 7)]
WRONG = {
    "02-1": [7, 3, 2, 1, "Himmelblau"],
    "02-2": [2 / 100, 0.095, 0.01, 0.1],
    "02-3": [1.25, 4, 10, 0.8],
    "02-4": ["adam", "adagrad", "rmsprop", "sgd, adam"],
    "02-5": [1000, 30, 272, 14],
    "02-6": [0.12, 0.49, 0.56, 0.0],
}
#: what a hint must not say: the answer's key numbers / words
ANSWER_WORDS = {
    "02-1": ["4", "four", "himmelblau", "rastrigin"], "02-2": ["0.0198", "0.02", "2/101"], "02-3": ["5", "five"],
    "02-4": ["sgd", "gradient descent"], "02-5": ["141", "142", "140"], "02-6": ["82", "0.049", "5 %", "4.9"],
}


def test_notebook_02_has_six_exercises():
    assert [k for k in exercises.exercises() if k.startswith("02-")] == KEYS


def test_the_saddle_answer_is_what_the_growth_factor_predicts():
    assert right_answer("02-5") == pytest.approx(math.log(1000) / math.log(1.05), rel=0.05)


test_the_computed_answer_is_accepted, test_plausible_wrong_answers_are_refused = answer_tests(KEYS, right_answer, WRONG)


@pytest.mark.parametrize("key", sorted(ANSWER_WORDS))
def test_no_hint_gives_the_answer(key):
    assert not gives_away(key, ANSWER_WORDS[key]), (key, exercises.exercises()[key].hint)
