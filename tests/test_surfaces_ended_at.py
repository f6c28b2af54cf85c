"""surfaces.ended_at: where each path ended, in words (a saddle's tiny f must not read as success)."""
import numpy as np
import pytest

from lrlab import surfaces


def test_the_run_on_the_ridge_is_stuck_at_the_saddle_and_the_nudged_ones_reach_a_minimum():
    runs = [{"optimizer": "sgd", "start": (-1.8, 0.0), "lr": 0.05},
            {"optimizer": "sgd", "start": (-1.8, 1e-3), "lr": 0.05},
            {"optimizer": "sgd", "start": (-1.8, -1e-3), "lr": 0.05}]
    paths = surfaces.trajectories("saddle", runs, 200)
    assert surfaces.ended_at("saddle", paths) == ["stuck at the saddle (0, 0)", "reached the global minimum (0, 1)",
                                                  "reached the global minimum (0, -1)"]
    # what the words are for: the stuck run's f is below the gap f - f* of the others
    assert paths.losses[0, -1] - surfaces.get("saddle").f_min > 0.2


def test_local_minimum_diverged_and_still_on_its_way():
    well = surfaces.get("double_well")
    paths = surfaces.trajectories(well, [{"optimizer": "sgd"}, {"optimizer": "sgd", "lr": 5.0},
                                         {"optimizer": "sgd", "lr": 1e-4}], 300)
    words = surfaces.ended_at(well, paths)
    assert words[0] == "reached the local minimum (0.96, 0)"
    assert paths.diverged_at[1] > 0 and words[1] == f"diverged at step {paths.diverged_at[1]}"
    assert words[2] == "not at a minimum or saddle yet"


def test_a_coordinate_is_never_written_as_minus_zero():
    paths = surfaces.trajectories("quadratic", [{"optimizer": "sgd", "lr": 0.05}], 400)
    assert surfaces.ended_at("quadratic", paths) == ["reached the global minimum (0, 0)"]


def test_tol_decides_what_counts_as_reached():
    paths = surfaces.trajectories("saddle", [{"optimizer": "sgd", "start": (-1.8, 1e-3), "lr": 0.05}], 200)
    end = paths.last_finite()[0]
    distance = float(np.min(np.linalg.norm(end - np.array([[0.0, 1.0], [0.0, -1.0]]), axis=1)))
    assert surfaces.ended_at("saddle", paths, tol=distance * 2) == ["reached the global minimum (0, 1)"]
    assert surfaces.ended_at("saddle", paths, tol=distance / 2) == ["not at a minimum or saddle yet"]


@pytest.mark.parametrize("bad", [None, [], np.zeros((2, 3, 2)), "paths"])
def test_anything_but_paths_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="paths"):
        surfaces.ended_at("saddle", bad)


def test_an_unknown_surface_is_refused():
    paths = surfaces.trajectories("saddle", [{"optimizer": "sgd"}], 5)
    with pytest.raises((ValueError, KeyError)):
        surfaces.ended_at("no such surface", paths)
