import math

import pytest
import torch

from lrlab import nets
from lrlab.batched import BatchedMLP, score


def test_forward_shapes_and_flat_views():
    net = nets.MLP(2, (16, 8), 3, "relu", seed=1)
    assert net(torch.zeros(7, 2)).shape == (7, 3)
    flat = net.flat_parameters()
    assert flat.numel() == net.num_parameters == 2 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3
    with torch.no_grad():
        flat.zero_()
    assert all(float(p.detach().abs().sum()) == 0 for p in net.parameters())  # parameters are views of flat


def test_initialisation_is_documented_and_seeded():
    a, b = nets.MLP(2, (16,), 2, "tanh", seed=5), nets.MLP(2, (16,), 2, "tanh", seed=5)
    assert torch.equal(a.flat_parameters(), b.flat_parameters())
    W = a.layers[0].weight
    assert float(W.detach().abs().max()) <= math.sqrt(6 / (2 + 16))  # Glorot uniform bound
    assert float(a.layers[0].bias.detach().abs().sum()) == 0
    relu = nets.MLP(2, (16,), 2, "relu", seed=5)
    assert float(relu.layers[0].weight.detach().abs().max()) > math.sqrt(6 / 18)  # He bound sqrt(6/2) is wider
    # same values on float64 (rounded to float32 for float32 nets)
    d = nets.MLP(2, (16,), 2, "tanh", seed=5, dtype=torch.float64)
    assert torch.allclose(d.flat_parameters().float(), a.flat_parameters())


def test_flat_parameters_survive_to():
    net = nets.MLP(2, (4,), 2)
    net = net.to(torch.float64)
    flat = net.flat_parameters()
    assert flat.dtype == torch.float64
    with torch.no_grad():
        flat.add_(1.0)
    assert float(net.layers[0].bias.detach().sum()) == 4.0


@pytest.mark.parametrize("activation", nets.ACTIVATIONS)
@pytest.mark.parametrize("loss", nets.LOSSES)
def test_loss_and_grads_match_autograd(activation, loss):
    """The engine's hand-written backward of one model (K = 1) against autograd."""
    torch.manual_seed(0)
    net = nets.MLP(2, (5, 4), 3, activation, seed=2, dtype=torch.float64)
    X = torch.randn(9, 2, dtype=torch.float64)
    y = torch.randint(0, 3, (9,))
    engine = BatchedMLP.from_mlp(net, 1)
    flat_grad = torch.zeros_like(engine.params)
    value, out = engine.loss_and_grads(X, y, loss, flat_grad)
    flat_grad = flat_grad[0]
    out_ref = net(X)
    ref = (torch.nn.functional.cross_entropy(out_ref, y) if loss == "cross_entropy"
           else torch.nn.functional.mse_loss(out_ref, torch.nn.functional.one_hot(y, 3).double()))
    ref.backward()
    auto = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert abs(float(value) - float(ref.detach())) < 1e-12
    assert torch.allclose(flat_grad, auto, atol=1e-12, rtol=1e-10)


def test_regression_loss_and_r2():
    net = nets.MLP(1, (8,), 1, "tanh", seed=0, dtype=torch.float64)
    X = torch.linspace(-1, 1, 20, dtype=torch.float64).view(-1, 1)
    y = torch.sin(3 * X)
    engine = BatchedMLP.from_mlp(net, 1)
    g = torch.zeros_like(engine.params)
    value, out = engine.loss_and_grads(X, y, "mse", g)
    g = g[0]
    ref = torch.nn.functional.mse_loss(net(X), y)
    ref.backward()
    assert torch.allclose(g, torch.cat([p.grad.reshape(-1) for p in net.parameters()]), atol=1e-12)
    assert float(score(y[None], y, "regression")[0]) == 1.0
    assert float(score(torch.full_like(y, float(y.mean()))[None], y, "regression")[0]) == pytest.approx(0.0, abs=1e-12)


def test_bad_architecture():
    with pytest.raises(ValueError, match="hidden"):
        nets.MLP(2, (0,), 2)
    with pytest.raises(ValueError, match="activation"):
        nets.MLP(2, (4,), 2, "swish")
