"""Notebook 01's exercises: each right answer (computed here from lrlab, not copied) is accepted,
plausible wrong ones are refused, and no hint gives the answer away."""

import pytest
import torch

from lrlab import backprop, data, exercises
from lrlab.nets import MLP
from exercise_checks import answer_tests, gives_away  # tests/exercise_checks.py

X = torch.tensor([[0.05, 0.10]], dtype=torch.float64)
T = 0.01


def net_221():
    """Notebook 01's 2-2-1 network with the weights of its section 1."""
    net = MLP(2, hidden=(2,), out_features=1, activation="sigmoid", dtype=torch.float64)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[0.15, 0.20], [0.25, 0.30]], dtype=torch.float64))
        net.layers[0].bias.copy_(torch.tensor([0.35, 0.35], dtype=torch.float64))
        net.layers[1].weight.copy_(torch.tensor([[0.40, 0.45]], dtype=torch.float64))
        net.layers[1].bias.copy_(torch.tensor([0.60], dtype=torch.float64))
    return net


def target(t):
    return torch.tensor([[t]], dtype=torch.float64)


def five_steps(lr):
    model, losses = net_221(), []
    losses.append(backprop.loss_value(model, X, target(T), "mse"))
    for _ in range(5):
        backprop.step(model, backprop.trace(model, X, target(T), "mse"), lr=lr)
        losses.append(backprop.loss_value(model, X, target(T), "mse"))
    return losses


def falls(losses):
    return all(b < a for a, b in zip(losses, losses[1:]))


def right_answer(key):
    if key == "01-1":
        z = torch.linspace(-10, 10, 20001, dtype=torch.float64)
        return float((torch.sigmoid(z) * (1 - torch.sigmoid(z))).max())
    if key == "01-2":
        xb = torch.tensor([[0.05, 0.10], [0.10, 0.05]], dtype=torch.float64)
        yb = torch.tensor([[0.01], [0.99]], dtype=torch.float64)
        both = backprop.trace(net_221(), xb, yb, "mse").layers[0].dW
        alone = [backprop.trace(net_221(), xb[i:i + 1], yb[i:i + 1], "mse").layers[0].dW for i in range(2)]
        return "mean" if torch.allclose(both, (alone[0] + alone[1]) / 2) else "sum"
    if key == "01-3":
        return "yes" if falls(five_steps(5.0)) else "no"
    if key == "01-4":
        blobs = data.make("blobs", n=120, noise=0.1, test_fraction=0.25, seed=0, dtype=torch.float64)
        model = MLP(2, hidden=(4,), out_features=2, activation="tanh", seed=0, dtype=torch.float64)
        return backprop.descend(model, blobs.X_train, blobs.y_train, "cross_entropy", lr=0.5,
                                max_iterations=2000, tolerance=1e-7).iterations
    if key == "01-5":
        def grads(t):
            return torch.cat([g.flatten() for g in backprop.trace(net_221(), X, target(t), "mse").gradients()])
        flipped = int((torch.sign(grads(T)) != torch.sign(grads(0.99))).sum())
        return "none" if flipped == 0 else flipped
    if key == "01-6":
        model = MLP(2, hidden=(2,), out_features=2, activation="sigmoid", seed=0, dtype=torch.float64)
        label = torch.tensor([1])
        out = backprop.trace(model, X, label, "cross_entropy").layers[-1]
        expected = torch.softmax(out.z, 1) - torch.nn.functional.one_hot(label, 2).double()
        return float((out.delta - expected).abs().max())
    if key == "01-7":
        original = backprop.f_prime
        backprop.f_prime = lambda z, a, activation: torch.ones_like(z)
        try:
            broken = backprop.trace(net_221(), X, target(T), "mse").check()
        finally:
            backprop.f_prime = original
        caught = [k for k, v in broken.items() if v > 1e-6]
        return "both" if len(caught) == 2 else " and ".join(caught)
    if key == "01-8":
        return max(lr for lr in [round(0.1 * k, 1) for k in range(1, 21)] if falls(five_steps(lr)))
    if key == "01-9":
        xor = data.make("xor", n=80, noise=0.0, seed=0, dtype=torch.float64)
        count = 0
        for seed in range(10):
            model = MLP(2, hidden=(3,), out_features=2, activation="tanh", seed=seed, dtype=torch.float64)
            run = backprop.descend(model, xor.X_train, xor.y_train, "cross_entropy", lr=0.5, max_iterations=800,
                                   tolerance=1e-7)
            count += run.losses[-1] < 0.15
        return count
    if key == "01-10":
        xor = data.make("xor", n=80, noise=0.0, seed=0, dtype=torch.float64)
        model = MLP(2, hidden=(8, 8), out_features=2, activation="relu", seed=0, dtype=torch.float64)
        tr = backprop.trace(model, xor.X_train[:1], xor.y_train[:1], "cross_entropy")
        layer = next(l for l in tr.layers[:-1] if (l.delta[0] == 0).any())
        node = int(torch.nonzero(layer.delta[0] == 0)[0])
        return float(layer.dW[node].abs().max())
    raise KeyError(key)


KEYS = [f"01-{k}" for k in range(1, 11)]
WRONG = {
    "01-1": [1.0, 0.5, 0.1, 4, "quarter"],
    "01-2": ["sum", "neither", "both", 2],
    "01-3": ["yes", "maybe", True],
    "01-4": [265, 266, 1000, 1999.0 - 100, "max_iterations"],
    "01-5": [9, 1, "all", "dv1"],
    "01-6": [0.76, 1.0, 0.1],
    "01-7": ["autograd", "finite_differences", "neither"],
    "01-8": [0.4, 0.6, 1.0, 5.0],
    "01-9": [0, 9, 5],
    "01-10": [0.1, 1.0, -0.5],
}
#: what a hint must not say: the answer's key numbers / words
ANSWER_WORDS = {
    "01-1": ["0.25", "1/4", "quarter"], "01-2": ["mean", "average"], "01-3": ["no"], "01-4": ["2000"],
    "01-5": ["none", "zero"], "01-7": ["both"], "01-8": ["0.5"], "01-9": ["10", "ten", "all"],
}


def test_notebook_01_has_ten_exercises():
    assert [k for k in exercises.exercises() if k.startswith("01-")] == sorted(KEYS)


test_the_computed_answer_is_accepted, test_plausible_wrong_answers_are_refused = answer_tests(KEYS, right_answer, WRONG)


@pytest.mark.parametrize("key", sorted(ANSWER_WORDS))
def test_no_hint_gives_the_answer(key):
    assert not gives_away(key, ANSWER_WORDS[key]), (key, exercises.exercises()[key].hint)


def test_a_wrong_kind_of_answer_gets_a_hint_not_an_error(capsys):
    assert not exercises.check("01-1", "a quarter")
    assert "not yet" in capsys.readouterr().out
