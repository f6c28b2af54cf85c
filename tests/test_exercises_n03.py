"""Notebook 03's exercises: right answers accepted, plausible wrong ones refused, no hint giving
the answer away. The right answers are computed here the way the notebook computes them."""
from __future__ import annotations

import math

import pytest
import torch

from lrlab import exercises, optim
from lrlab.exercises import n03
from exercise_checks import gives_away  # tests/exercise_checks.py


def _adam_first_effective_step(g: float, lr: float) -> float:
    spec = optim.get("adam")
    hyper = spec.resolve(lr=lr)
    lr = hyper.pop("lr")
    theta = torch.zeros(1, dtype=torch.float64)
    state = spec.step(theta, torch.tensor([g], dtype=torch.float64), spec.init(theta), lr=lr, **hyper)
    return float(spec.effective_step(state, theta, lr=lr, **hyper))


def _recovering(before=100, spike=5, after=5000) -> list[str]:
    """03's spike experiment: the optimizers whose effective step comes back within 10 %."""
    stream = torch.full((before + spike + after, 2), 0.1, dtype=torch.float64)
    stream[before:before + spike, 0] = 5.0
    out = []
    for name in ("adagrad", "rmsprop", "adam"):
        spec = optim.get(name)
        hyper = spec.resolve()
        lr = hyper.pop("lr")
        theta = torch.zeros(2, dtype=torch.float64)
        state = spec.init(theta)
        ratio = []
        for g in stream:
            state = spec.step(theta, g, state, lr=lr, **hyper)
            eff = spec.effective_step(state, theta, lr=lr, **hyper)
            ratio.append(float(eff[0] / eff[1]))
        if max(ratio[before + spike - 1:]) >= 0.9:
            out.append(name)
    return out


def test_every_exercise_of_03_is_registered_in_order():
    keys = [k for k in exercises.exercises() if k.startswith("03-")]
    assert keys == ["03-1", "03-2", "03-3", "03-4"]


def test_03_1_the_effective_step_of_a_small_first_gradient():
    answer = _adam_first_effective_step(0.002, 0.01)
    assert math.isclose(answer, 5.0, rel_tol=1e-4)  # lr / (|g| + eps)
    assert exercises.check("03-1", answer, quiet=True)
    assert exercises.check("03-1", 5, quiet=True)
    for wrong in (0.01, 0.002, 0.5, 50, 1.0, -0.01, "five", None, float("nan")):
        assert not exercises.check("03-1", wrong, quiet=True), wrong


def test_03_2_the_optimizers_that_forget_a_spike():
    answer = _recovering()
    assert sorted(answer) == ["adam", "rmsprop"]
    for right in (answer, ["Adam", " RMSProp "], ("rmsprop", "adam"), {"adam", "rmsprop"}, "rmsprop and adam",
                  "adam, rmsprop"):
        assert exercises.check("03-2", right, quiet=True), right
    for wrong in (["rmsprop"], ["adam"], ["adagrad", "rmsprop", "adam"], ["adagrad"], [], "none", "all",
                  ["rmsprop", "adam", "sgd"], 2, None, [1, 2]):
        assert not exercises.check("03-2", wrong, quiet=True), wrong


def test_03_3_the_factor_that_shrinks():
    for right in ("m_hat", "M_HAT", " m hat ", "the average gradient"):
        assert exercises.check("03-3", right, quiet=True), right
    for wrong in ("v_hat", "lr", "eps", "effective step", "v", "beta1", "sqrt(v_hat)", 0.0, None):
        assert not exercises.check("03-3", wrong, quiet=True), wrong


def _best_rate(optimizer, rates):
    """03's sweep: the rate of the lowest best test loss after 150 epochs on moons."""
    from lrlab.threads import engine_threads
    from lrlab.train import TrainConfig, Trainer
    losses = []
    with engine_threads(1):
        for lr in rates:
            trainer = Trainer(TrainConfig(dataset="moons", n_samples=512, noise=0.1, hidden=(16, 16), activation="tanh", batch_size=None,
                                          max_epochs=150, seed=0, optimizer=optimizer, lr=lr))
            while not trainer.done:
                trainer.epoch()
            losses.append(trainer.run.best_metrics["test_loss"])
    return rates[min(range(len(rates)), key=losses.__getitem__)]


def test_03_4_adagrads_best_rate():
    rates = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    answer = _best_rate("adagrad", rates)
    assert answer > _best_rate("rmsprop", rates)  # what the note says
    assert [r for r in rates if exercises.check("03-4", r, quiet=True)] == [answer]
    for wrong in (0.01, 1.0, 0.001, 0.11, "0.1x", None):
        if wrong != answer:
            assert not exercises.check("03-4", wrong, quiet=True), wrong


@pytest.mark.parametrize("key, secrets", [
    ("03-1", ["5", "five"]),
    ("03-2", ["rmsprop", "adam"]),
    ("03-3", ["m_hat", "m hat", "mhat", "average gradient"]),
    ("03-4", ["0.1", ".1", "1e-1"]),
])
def test_no_hint_gives_the_answer(key, secrets):
    ex = exercises.exercises()[key]
    assert not gives_away(key, secrets), (key, ex.hint)
    assert ex.hint and ex.question and ex.solution and ex.note


def test_a_wrong_answer_prints_the_hint_and_a_right_one_the_note(capsys):
    assert not exercises.check("03-1", 0.01)
    assert capsys.readouterr().out.strip() == f"{exercises.NOT_YET}: {exercises.exercises()['03-1'].hint}"
    assert exercises.check("03-1", 5.0)
    assert capsys.readouterr().out.startswith(f"{exercises.RIGHT}: ")


@pytest.mark.parametrize("answer", [None, object(), ["adam", None], {"a": 1}, b"adam", "x" * 10_000])
def test_odd_answers_are_refused_without_raising(answer):
    assert n03.names(answer) == frozenset() or isinstance(answer, str)
    for key in ("03-1", "03-2", "03-3", "03-4"):
        assert exercises.check(key, answer, quiet=True) is False
