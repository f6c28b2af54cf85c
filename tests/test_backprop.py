"""lrlab.backprop: the hand-written trace against torch autograd and finite differences (micrograd style)."""
import itertools
import math

import pytest
import torch

from lrlab import backprop, data
from lrlab.batched import BatchedMLP
from lrlab.nets import ACTIVATIONS, LOSSES, MLP

DEPTHS = (1, 2, 3, 4)
BATCHES = (1, 32)




def _case(activation, depth, batch, seed=0, outputs=3, width=5, regression=False):
    """A float64 network with ``depth`` hidden layers and a seeded batch (x, y).

    Finite differences are meaningless across the kink of (leaky) ReLU at z = 0, so the data
    is redrawn (next seed) until every hidden pre-activation is at least 1e-3 away from it.
    """
    for attempt in range(100):
        model, x, y = _draw(activation, depth, batch, seed + 1000 * attempt, outputs, width, regression)
        with torch.no_grad():
            t = backprop.trace(model, x, y, "mse")
        if all(float(layer.z.abs().min()) > 1e-3 for layer in t.layers[:-1]):
            return model, x, y
    raise AssertionError("no draw away from the kinks")


def _draw(activation, depth, batch, seed, outputs, width, regression):
    model = MLP(2, hidden=(width,) * depth, out_features=outputs, activation=activation, seed=seed,
                dtype=torch.float64)
    gen = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(batch, 2, generator=gen, dtype=torch.float64)
    if regression:
        y = torch.randn(batch, outputs, generator=gen, dtype=torch.float64)
    else:
        y = torch.randint(0, outputs, (batch,), generator=gen)
    with torch.no_grad():  # non-zero biases, so that they matter in the check
        for layer in model.layers:
            layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=gen, dtype=torch.float64))
    return model, x, y


# -- every activation x loss x depth (1..4 hidden layers) x batch size (1, 32) -------------------------

@pytest.mark.parametrize("activation,loss,depth,batch",
                         list(itertools.product(ACTIVATIONS, LOSSES, DEPTHS, BATCHES)))
def test_trace_gradients_equal_autograd_and_finite_differences(activation, loss, depth, batch):
    model, x, y = _case(activation, depth, batch, seed=depth)
    t = backprop.trace(model, x, y, loss)
    errors = t.check()
    assert errors["autograd"] < 1e-10
    assert errors["finite_differences"] < 1e-6
    # the loss itself is the torch one
    with torch.no_grad():
        reference = (torch.nn.functional.cross_entropy(model(x), y) if loss == "cross_entropy"
                     else torch.nn.functional.mse_loss(model(x), torch.nn.functional.one_hot(y, 3).double()))
    assert abs(float(t.loss) - reference.item()) < 1e-12


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mse_regression_targets(activation):
    model, x, y = _case(activation, 2, 16, outputs=1, regression=True)
    errors = backprop.trace(model, x, y, "mse").check()
    assert errors["autograd"] < 1e-10 and errors["finite_differences"] < 1e-6
    # a 1-D target vector for a single-output network is the same as [n, 1]
    assert float(backprop.trace(model, x, y[:, 0], "mse").loss) == float(backprop.trace(model, x, y, "mse").loss)


def test_float32_model_checks_against_float64_differences():
    model = MLP(2, hidden=(4,), out_features=2, activation="tanh", seed=0)
    x, y = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 2
    errors = backprop.trace(model, x, y, "cross_entropy").check()
    assert errors["autograd"] < 1e-5 and errors["finite_differences"] < 1e-3


def test_engine_loss_and_grads_agrees_with_the_trace():
    for activation, loss in itertools.product(ACTIVATIONS, LOSSES):
        model, x, y = _case(activation, 2, 32)
        engine = BatchedMLP.from_mlp(model, 1)  # the training engine, one model
        flat = torch.empty_like(engine.params)
        value, out = engine.loss_and_grads(x, y, loss, flat)
        value, out = value[0], out[0]
        grads = [v[0] for v in engine.views(flat)]
        t = backprop.trace(model, x, y, loss)
        assert abs(float(value) - float(t.loss)) < 1e-12
        assert torch.allclose(out, t.output, rtol=0, atol=1e-12)
        assert max(backprop.relative_error(g, r) for g, r in zip(grads, t.gradients())) < 1e-10


# -- what a trace holds ---------------------------------------------------------------------------

def test_trace_records_every_layer():
    model, x, y = _case("tanh", 2, 4)
    t = backprop.trace(model, x, y, "cross_entropy")
    assert len(t.layers) == 3 and [layer.index for layer in t.layers] == [1, 2, 3]
    assert torch.equal(t.a[0], x) and len(t.a) == 4
    for layer, torch_layer in zip(t.layers, model.layers):
        assert layer.z.shape == (4, torch_layer.weight.shape[0])
        assert layer.delta.shape == layer.z.shape
        assert layer.dW.shape == torch_layer.weight.shape and layer.db.shape == torch_layer.bias.shape
    assert torch.allclose(t.layers[0].a, torch.tanh(t.layers[0].z))
    assert torch.equal(t.output, t.layers[-1].z)  # linear output layer
    assert torch.allclose(t.output, model(x))
    assert torch.allclose(t.probabilities.sum(1), torch.ones(4, dtype=torch.float64))
    # the chain rule, read off the record: delta_1 = (delta_2 W_2) * f'(z_1)
    l1, l2 = t.layers[0], t.layers[1]
    assert torch.allclose(l1.delta, (l2.delta @ l2.W) * (1 - l1.a ** 2))


def test_one_sample_without_batch_axis_equals_a_batch_of_one():
    model, x, y = _case("sigmoid", 1, 1)
    single = backprop.trace(model, x[0], int(y[0]), "mse")
    batch = backprop.trace(model, x, y, "mse")
    assert float(single.loss) == float(batch.loss)
    assert all(torch.equal(a, b) for a, b in zip(single.gradients(), batch.gradients()))


def test_cross_entropy_is_stable_for_large_logits():
    model, x, y = _case("relu", 1, 4)
    with torch.no_grad():
        model.layers[-1].weight.mul_(1e4)
    t = backprop.trace(model, x, y, "cross_entropy")
    assert math.isfinite(float(t.loss)) and all(torch.isfinite(g).all() for g in t.gradients())


# -- the update, and the whole algorithm --------------------------------------------------------------

def test_step_is_plain_gradient_descent_and_lowers_the_loss():
    model, x, y = _case("tanh", 2, 32)
    before = [p.detach().clone() for p in model.parameters()]
    t = backprop.trace(model, x, y, "cross_entropy")
    backprop.step(model, t, lr=0.01)
    for p, p0, g in zip(model.parameters(), before, t.gradients()):
        assert torch.allclose(p.detach(), p0 - 0.01 * g, rtol=0, atol=1e-15)
    assert backprop.loss_value(model, x, y, "cross_entropy") < float(t.loss)
    # the trace keeps the weights it used, not the updated ones
    assert torch.equal(t.layers[0].W, before[0])


def test_descend_converges_and_predicts_new_points():
    ds = data.make("blobs", n=80, noise=0.0, seed=0, dtype=torch.float64)
    model = MLP(2, hidden=(4,), out_features=2, activation="tanh", seed=0, dtype=torch.float64)
    result = backprop.descend(model, ds.X_train, ds.y_train, "cross_entropy", lr=0.5,
                              max_iterations=3000, tolerance=1e-5)
    assert result.stop_reason == "converged"
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert result.iterations == len(result.losses) - 1
    accuracy = float((backprop.predict(model, ds.X_test) == ds.y_test).double().mean())
    assert accuracy >= 0.9


def test_descend_budget_and_callback_stop():
    model, x, y = _case("relu", 1, 16)
    assert backprop.descend(model, x, y, "mse", lr=0.01, max_iterations=5, tolerance=0).stop_reason == "max_iterations"
    seen = []
    result = backprop.descend(model, x, y, "mse", lr=0.01, max_iterations=100, tolerance=0,
                              callback=lambda i, losses: seen.append(i) or i == 3)
    assert result.stop_reason == "stopped" and seen == [1, 2, 3] and len(result.losses) == 4


def test_descend_reports_divergence():
    model, x, y = _case("relu", 2, 16)
    result = backprop.descend(model, x * 100, y, "mse", lr=50.0, max_iterations=200)
    assert result.stop_reason == "diverged"


# -- the stages of one cycle and their equations -------------------------------------------------------

@pytest.mark.parametrize("loss", LOSSES)
def test_each_stage_has_its_equation_with_numbers(loss):
    model, x, y = _case("leaky_relu", 2, 1)
    t = backprop.trace(model, x, y, loss)
    order = backprop.stages(3)
    assert order == [("forward", 1), ("forward", 2), ("forward", 3), ("loss", 3),
                     ("backward", 3), ("backward", 2), ("backward", 1), ("update", 0)]
    texts = [backprop.describe(t, s, lr=0.1, loss_after=0.5) for s in order]
    assert len(set(texts)) == len(texts)
    assert f"{float(t.layers[0].z[0, 0]):.3f}" in texts[0]
    assert f"{float(t.loss):.4f}" in texts[3]
    assert f"{float(t.layers[-1].delta[0, 0]):.4f}" in texts[4]
    assert "0.50000" in texts[-1]


# -- bad input: a clear ValueError -----------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    model, x, y = _case("tanh", 1, 8)
    with pytest.raises(ValueError, match="x: a tensor of shape"):
        backprop.trace(model, torch.randn(8, 3, dtype=torch.float64), y)
    with pytest.raises(ValueError, match=r"y: class labels of shape \[8\]"):
        backprop.trace(model, x, y[:5])
    with pytest.raises(ValueError, match=r"y: regression targets of shape \[8, 3\]"):
        backprop.trace(model, x, torch.randn(8, 2, dtype=torch.float64), "mse")
    with pytest.raises(ValueError, match="y: cross_entropy needs integer class labels"):
        backprop.trace(model, x, torch.randn(8, 3, dtype=torch.float64), "cross_entropy")
    with pytest.raises(ValueError, match=r"y: class labels in 0..2"):
        backprop.trace(model, x, y + 3)
    with pytest.raises(ValueError, match="loss: one of cross_entropy, mse, got 'hinge'"):
        backprop.trace(model, x, y, "hinge")
    model.activation = "swish"
    with pytest.raises(ValueError, match="activation: one of tanh, relu, sigmoid, leaky_relu, got 'swish'"):
        backprop.trace(model, x, y)
    with pytest.raises(ValueError, match="activation"):
        backprop.f(x, "swish")


def test_step_rejects_bad_learning_rate_and_foreign_trace():
    model, x, y = _case("tanh", 1, 8)
    t = backprop.trace(model, x, y)
    for lr in (0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr: a finite number > 0"):
            backprop.step(model, t, lr)
    other, _, _ = _case("tanh", 2, 8)
    with pytest.raises(ValueError, match="trace: a trace of this model"):
        backprop.step(other, t, 0.1)


def test_the_walk_through_never_prints_a_negative_zero():
    from lrlab.backprop import _num, _val, _vec
    assert _val(-1e-9) == "0.000" and _num(-1e-9) == "0.000" and _num(-0.5) == "(-0.500)"
    assert _vec(torch.tensor([-1e-9, 0.5])) == "[0.000, 0.500]"
