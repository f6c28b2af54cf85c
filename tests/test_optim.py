"""lrlab.optim: parity with torch.optim, the batched form, effective steps, validation, the classes."""
from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrlab import data, nets, optim
from reference import grad_views, loss_and_grads  # tests/reference.py

STEPS = 200
TOL = 1e-9


@pytest.fixture(scope="module")
def moons():
    ds = data.make("moons", n=256, noise=0.2, seed=0, dtype=torch.float64)
    return ds.X_train, ds.y_train


def mlp(seed=0):
    return nets.MLP(2, (16, 16), 2, "tanh", seed=seed, dtype=torch.float64)


def max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


# (id, lrlab class, its kwargs, torch class, its kwargs); weight decay is added by the test
PARITY = [
    ("sgd", optim.SGD, dict(lr=0.1), torch.optim.SGD, dict(lr=0.1)),
    ("sgd-momentum", optim.Momentum, dict(lr=0.05, momentum=0.9), torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    ("sgd-nesterov", optim.Nesterov, dict(lr=0.05, momentum=0.9), torch.optim.SGD,
     dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD(momentum, nesterov)", optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True), torch.optim.SGD,
     dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("adagrad", optim.AdaGrad, dict(lr=0.05), torch.optim.Adagrad, dict(lr=0.05)),
    ("adagrad-decay-init", optim.AdaGrad, dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-8),
     torch.optim.Adagrad, dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-8)),
    ("rmsprop", optim.RMSProp, dict(lr=0.005), torch.optim.RMSprop, dict(lr=0.005)),
    ("rmsprop-centered", optim.RMSProp, dict(lr=0.005, centered=True), torch.optim.RMSprop,
     dict(lr=0.005, centered=True)),
    ("rmsprop-momentum", optim.RMSProp, dict(lr=0.002, momentum=0.9), torch.optim.RMSprop,
     dict(lr=0.002, momentum=0.9)),
    ("rmsprop-centered-momentum", optim.RMSProp, dict(lr=0.002, alpha=0.9, momentum=0.5, centered=True),
     torch.optim.RMSprop, dict(lr=0.002, alpha=0.9, momentum=0.5, centered=True)),
    ("adam", optim.Adam, dict(lr=0.01), torch.optim.Adam, dict(lr=0.01, foreach=False)),
    ("adam-amsgrad", optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True), torch.optim.Adam,
     dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True, foreach=False)),
    ("adamw", optim.AdamW, dict(lr=0.01), torch.optim.AdamW, dict(lr=0.01, foreach=False)),
    ("adamw-amsgrad", optim.AdamW, dict(lr=0.01, amsgrad=True), torch.optim.AdamW,
     dict(lr=0.01, amsgrad=True, foreach=False)),
    ("adadelta", optim.Adadelta, dict(lr=1.0, rho=0.9, eps=1e-6), torch.optim.Adadelta,
     dict(lr=1.0, rho=0.9, eps=1e-6)),
]


@pytest.mark.parametrize("weight_decay", [0.0, 0.01], ids=["wd0", "wd0.01"])
@pytest.mark.parametrize("case", PARITY, ids=[c[0] for c in PARITY])
def test_class_matches_torch_optim(case, weight_decay, moons):
    """Our class vs torch.optim: float64 MLP on moons, 200 full-batch steps, max |diff| <= 1e-9."""
    _, ours_cls, ours_kw, torch_cls, torch_kw = case
    X, y = moons
    ours_net, torch_net = mlp(), mlp()
    start = ours_net.flat_parameters().clone()
    ours = ours_cls(ours_net.parameters(), weight_decay=weight_decay, **ours_kw)
    theirs = torch_cls(torch_net.parameters(), weight_decay=weight_decay, **torch_kw)
    for _ in range(STEPS):
        for net, opt in ((ours_net, ours), (torch_net, theirs)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X), y).backward()
            opt.step()
    assert (ours_net.flat_parameters() - start).abs().max() > 1e-3  # it trained
    assert max_diff(ours_net, torch_net) <= TOL


# registry name -> (its hyper-parameters, the torch optimizer that must agree)
REGISTRY_PARITY = {
    "sgd": (dict(lr=0.1), lambda p, wd: torch.optim.SGD(p, lr=0.1, weight_decay=wd)),
    "momentum": (dict(lr=0.05, momentum=0.9),
                 lambda p, wd: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=wd)),
    "nesterov": (dict(lr=0.05, momentum=0.9),
                 lambda p, wd: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=wd)),
    "adagrad": (dict(lr=0.05), lambda p, wd: torch.optim.Adagrad(p, lr=0.05, weight_decay=wd)),
    "rmsprop": (dict(lr=0.005, centered=True, momentum=0.5),
                lambda p, wd: torch.optim.RMSprop(p, lr=0.005, centered=True, momentum=0.5, weight_decay=wd)),
    "adam": (dict(lr=0.01), lambda p, wd: torch.optim.Adam(p, lr=0.01, weight_decay=wd, foreach=False)),
    "adamw": (dict(lr=0.01), lambda p, wd: torch.optim.AdamW(p, lr=0.01, weight_decay=wd, foreach=False)),
    "adadelta": (dict(lr=1.0), lambda p, wd: torch.optim.Adadelta(p, lr=1.0, weight_decay=wd)),
}


@pytest.mark.parametrize("weight_decay", [0.0, 0.01], ids=["wd0", "wd0.01"])
@pytest.mark.parametrize("name", list(REGISTRY_PARITY))
def test_pure_function_on_flat_vector_matches_torch(name, weight_decay, moons):
    """The engine's path: spec.step on the flat parameter vector (gradients from autograd, as
    torch's, so that only the optimizers are compared; the hand-written backprop differs from
    autograd in the last bits, which AdaGrad's tiny early denominators amplify)."""
    X, y = moons
    spec = optim.get(name)
    given_hyper, make_torch = REGISTRY_PARITY[name]
    hyper = spec.resolve(**given_hyper, weight_decay=weight_decay)
    lr = hyper.pop("lr")
    ours_net, torch_net = mlp(), mlp()
    params = ours_net.flat_parameters()
    state = spec.init(params)
    theirs = make_torch(torch_net.parameters(), weight_decay)
    for _ in range(STEPS):
        ours_net.zero_grad()
        torch.nn.functional.cross_entropy(ours_net(X), y).backward()
        grad = torch.cat([p.grad.reshape(-1) for p in ours_net.parameters()])
        state = spec.step(params, grad, state, lr=lr, **hyper)
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(torch_net(X), y).backward()
        theirs.step()
    assert state.count == STEPS
    assert max_diff(ours_net, torch_net) <= TOL


# ------------------------------------------------------------------ batched: K stacked models
K = 8
LRS = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.05, "rmsprop": 0.003,
       "adam": 0.01, "adamw": 0.01, "adadelta": 1.0}
# a second hyper-parameter that also differs per model (a tensor [K]), beside lr
VARIED = {
    "sgd": {"weight_decay": torch.linspace(0.0, 0.02, K)},
    "momentum": {"momentum": torch.linspace(0.5, 0.95, K)},
    "nesterov": {"momentum": torch.linspace(0.5, 0.95, K)},
    "adagrad": {"lr_decay": torch.linspace(0.0, 0.05, K), "initial_accumulator_value": torch.linspace(0, 0.1, K)},
    "rmsprop": {"alpha": torch.linspace(0.9, 0.99, K), "momentum": torch.linspace(0.0, 0.9, K)},
    "adam": {"betas": (torch.linspace(0.5, 0.95, K), torch.linspace(0.9, 0.999, K))},
    "adamw": {"weight_decay": torch.linspace(0.0, 0.1, K)},
    "adadelta": {"rho": torch.linspace(0.8, 0.95, K)},
}


def _numbers(hyper: dict, k: int) -> dict:
    """Model k's hyper-parameters as plain numbers."""
    def pick(v):
        if isinstance(v, torch.Tensor):
            return v[k].item()
        if isinstance(v, tuple):
            return tuple(pick(x) for x in v)
        return v
    return {key: pick(v) for key, v in hyper.items()}


@pytest.mark.parametrize("vary_more", [False, True], ids=["lr", "lr+hyper"])
@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_batched_equals_separate_runs(name, vary_more, moons):
    """K=8 models stacked [K, P] with 8 learning rates (a tensor [K]) == 8 separate runs."""
    X, y = moons
    spec = optim.get(name)
    extra = {k: (tuple(b.double() for b in v) if isinstance(v, tuple) else v.double())
             for k, v in VARIED[name].items()} if vary_more else {}
    hyper = spec.resolve(**extra)
    hyper.pop("lr")
    lrs = LRS[name] * torch.logspace(-0.5, 0.5, K, dtype=torch.float64)
    nets_k = [mlp(seed=k) for k in range(K)]
    batched_params = torch.stack([n.flat_parameters() for n in nets_k])  # [K, P]
    batched_grads = torch.zeros_like(batched_params)
    batched_state = spec.init(batched_params)
    separate = [mlp(seed=k) for k in range(K)]
    separate_state = [spec.init(n.flat_parameters()) for n in separate]
    work = mlp()
    work_grad = torch.zeros_like(work.flat_parameters())
    work_views = grad_views(work, work_grad)
    for _ in range(STEPS // 4):
        for k in range(K):  # grads of model k, evaluated at row k of the batch
            work.flat_parameters().copy_(batched_params[k])
            loss_and_grads(work, X, y, "cross_entropy", work_views)
            batched_grads[k] = work_grad
        batched_state = spec.step(batched_params, batched_grads, batched_state, lr=lrs, **hyper)
        for k, net in enumerate(separate):
            g = torch.zeros_like(net.flat_parameters())
            loss_and_grads(net, X, y, "cross_entropy", grad_views(net, g))
            separate_state[k] = spec.step(net.flat_parameters(), g, separate_state[k], lr=lrs[k].item(),
                                          **_numbers(hyper, k))
    expected = torch.stack([n.flat_parameters() for n in separate])
    assert (batched_params - expected).abs().max().item() <= 1e-12
    eff = spec.effective_step(batched_state, batched_params, lr=lrs, **hyper)
    eff_separate = torch.stack([spec.effective_step(s, n.flat_parameters(), lr=lrs[k].item(), **_numbers(hyper, k))
                                for k, (s, n) in enumerate(zip(separate_state, separate))])
    assert eff.shape == batched_params.shape
    torch.testing.assert_close(eff, eff_separate, rtol=1e-10, atol=0)


# ------------------------------------------------------------------ effective step
def _one_step(name, hyper, params, grads):
    spec = optim.get(name)
    hyper = spec.resolve(**hyper)
    lr = hyper.pop("lr")
    state = spec.init(params)
    before = params.clone()
    state = spec.step(params, grads, state, lr=lr, **hyper)
    return params - before, spec.effective_step(state, params, lr=lr, **hyper), state


@pytest.mark.parametrize("name,hyper", [
    ("sgd", {}), ("momentum", {}), ("nesterov", {"momentum": 0.7}), ("adagrad", {"lr_decay": 0.1}),
    ("rmsprop", {}), ("rmsprop", {"centered": True}), ("rmsprop", {"momentum": 0.9}), ("adadelta", {}),
])
def test_effective_step_is_the_multiplier_on_the_gradient(name, hyper):
    """From the initial state, the update is exactly -effective_step * d, d the gradient the
    optimizer steps along (g; Nesterov: g + momentum * velocity, velocity = g at the first step)."""
    gen = torch.Generator().manual_seed(1)
    params = torch.randn(50, generator=gen, dtype=torch.float64)
    grads = torch.randn(50, generator=gen, dtype=torch.float64)
    update, eff, _ = _one_step(name, hyper, params, grads)
    d = grads * (1 + hyper["momentum"]) if name == "nesterov" else grads
    torch.testing.assert_close(update, -eff * d, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_effective_step_multiplies_m_hat(name):
    gen = torch.Generator().manual_seed(2)
    params = torch.randn(50, generator=gen, dtype=torch.float64)
    grads = torch.randn(50, generator=gen, dtype=torch.float64)
    update, eff, state = _one_step(name, {"weight_decay": 0.0}, params, grads)
    m_hat = state.m / (1 - 0.9)
    torch.testing.assert_close(update, -eff * m_hat, rtol=1e-12, atol=1e-15)
    # t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps), about lr * sign(g),
    # and the effective step is lr / (|g| + eps)
    torch.testing.assert_close(update, -0.01 * grads / (grads.abs() + 1e-8), rtol=1e-9, atol=1e-15)
    torch.testing.assert_close(eff, 0.01 / (grads.abs() + 1e-8), rtol=1e-12, atol=0)


finite_grads = st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)
@given(history=st.lists(finite_grads, min_size=1, max_size=6), name=st.sampled_from(list(optim.OPTIMIZERS)),
       centered=st.booleans())
def test_finite_gradients_give_finite_updates_and_positive_effective_steps(history, name, centered):
    spec = optim.get(name)
    width = min(len(g) for g in history)
    params = torch.linspace(-1, 1, width, dtype=torch.float64)
    hyper = spec.resolve(**({"centered": centered} if name == "rmsprop" else {}))
    lr = hyper.pop("lr")
    state = spec.init(params)
    for g in history:
        state = spec.step(params, torch.tensor(g[:width], dtype=torch.float64), state, lr=lr, **hyper)
        assert torch.isfinite(params).all()
        eff = spec.effective_step(state, params, lr=lr, **hyper)
        assert torch.isfinite(eff).all() and (eff > 0).all()


@settings(max_examples=25, deadline=None)
@given(history=st.lists(finite_grads, min_size=2, max_size=8), lr_decay=st.sampled_from([0.0, 0.1]),
       weight_decay=st.sampled_from([0.0, 0.01]))
def test_adagrad_effective_step_never_increases(history, lr_decay, weight_decay):
    spec = optim.get("adagrad")
    width = min(len(g) for g in history)
    params = torch.linspace(-1, 1, width, dtype=torch.float64)
    state = spec.init(params)
    hyper = dict(lr_decay=lr_decay, weight_decay=weight_decay)
    previous = spec.effective_step(state, params, lr=0.01, **hyper)
    for g in history:
        state = spec.step(params, torch.tensor(g[:width], dtype=torch.float64), state, lr=0.01, **hyper)
        eff = spec.effective_step(state, params, lr=0.01, **hyper)
        assert (eff <= previous).all()
        previous = eff


def test_class_effective_step_matches_the_state():
    net = mlp()
    opt = optim.AdaGrad(net.parameters(), lr=0.1, eps=1e-10)
    X = torch.randn(64, 2, dtype=torch.float64)
    y = (X[:, 0] > 0).long()
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X), y).backward()
        opt.step()
    effs = opt.effective_step()
    assert [e.shape for e in effs] == [p.shape for p in net.parameters()]
    for p, e in zip(net.parameters(), effs):
        torch.testing.assert_close(e, 0.1 / (opt.state[p]["sum_sq"].sqrt() + 1e-10))
    sgd = optim.SGD(net.parameters(), lr=0.3)
    assert all(torch.equal(e, torch.full_like(p, 0.3)) for p, e in zip(net.parameters(), sgd.effective_step()))


# ------------------------------------------------------------------ the classes
def _train(net, opt, steps, X, y):
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X), y).backward()
        opt.step()


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_state_dict_round_trip(name, moons):
    """Save after 20 steps, load into a fresh optimizer (through torch.save), continue: same as never stopping."""
    X, y = moons
    cls = optim.get(name).cls
    a, b = mlp(), mlp()
    opt_a = cls(a.parameters(), lr=0.01 if name != "adadelta" else 1.0)
    _train(a, opt_a, 20, X, y)
    buffer = io.BytesIO()
    torch.save(opt_a.state_dict(), buffer)
    b.load_state_dict(a.state_dict())
    opt_b = cls(b.parameters(), lr=0.5)
    buffer.seek(0)
    opt_b.load_state_dict(torch.load(buffer))
    assert opt_b.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]
    _train(a, opt_a, 20, X, y)
    _train(b, opt_b, 20, X, y)
    assert max_diff(a, b) == 0.0
    assert opt_b.state_dict()["state"][0]["count"] == 40


def test_params_without_grad_are_skipped_like_torch(moons):
    X, y = moons
    ours_net, torch_net = mlp(), mlp()
    for net in (ours_net, torch_net):
        net.layers[0].bias.requires_grad_(False)
    ours = optim.Adam(ours_net.parameters(), lr=0.01)
    theirs = torch.optim.Adam(torch_net.parameters(), lr=0.01, foreach=False)
    _train(ours_net, ours, 30, X, y)
    _train(torch_net, theirs, 30, X, y)
    assert max_diff(ours_net, torch_net) <= TOL
    assert torch.equal(ours_net.layers[0].bias, torch.zeros(16, dtype=torch.float64))


def test_param_groups_and_lr_scheduler(moons):
    X, y = moons
    ours_net, torch_net = mlp(), mlp()

    def groups(net):
        return [{"params": list(net.layers[0].parameters()), "lr": 0.05},
                {"params": list(net.layers[1].parameters()) + list(net.layers[2].parameters())}]
    ours = optim.Momentum(groups(ours_net), lr=0.01, momentum=0.9)
    theirs = torch.optim.SGD(groups(torch_net), lr=0.01, momentum=0.9)
    scheds = [torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5) for o in (ours, theirs)]
    for _ in range(40):
        for net, opt in ((ours_net, ours), (torch_net, theirs)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X), y).backward()
            opt.step()
        for s in scheds:
            s.step()
    assert ours.param_groups[0]["lr"] == pytest.approx(0.05 / 16)
    assert max_diff(ours_net, torch_net) <= TOL


def test_float32_model_trains():
    net = nets.MLP(2, (8,), 2, "relu")
    opt = optim.Adam(net.parameters())
    X = torch.randn(64, 2)
    y = (X[:, 0] * X[:, 1] > 0).long()
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X), y)
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert loss.item() < first


# ------------------------------------------------------------------ registry and validation
def test_registry_contract():
    assert set(optim.OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                                     "adadelta"}
    for name, spec in optim.OPTIMIZERS.items():
        assert spec.name == name and optim.get(name) is spec
        assert issubclass(spec.cls, torch.optim.Optimizer)
        assert spec.defaults["lr"] == (1.0 if name == "adadelta" else 0.01)
        assert spec.resolve() == spec.defaults
        assert set(spec.ranges) <= set(spec.defaults)
        assert len(spec.description) > 100 and "theta" in spec.formula and "\n" in spec.formula
        assert "lr" in spec.ranges
        for key, (lo, hi, lo_inc, hi_inc) in spec.ranges.items():
            assert lo < hi
        params = torch.zeros(3, 4)
        state = spec.init(params)
        assert state.count == 0
        assert spec.effective_step(state, params, lr=torch.ones(3), **{k: v for k, v in spec.defaults.items()
                                                                       if k != "lr"}).shape == (3, 4)
        assert spec.step.__doc__ and "theta" in spec.step.__doc__


@pytest.mark.parametrize("name,given,message", [
    ("sgd", dict(lr=0.0), "lr: must be in (0, 100]"),
    ("adam", dict(lr=-1), "lr: must be in (0, 100]"),
    ("adam", dict(lr=float("nan")), "lr: must be a finite number in (0, 100]"),
    ("adam", dict(betas=(0.9, 1.0)), "betas: must be in [0, 1)"),
    ("adam", dict(betas=(-0.1, 0.9)), "betas: must be in [0, 1)"),
    ("adam", dict(betas=0.9), "betas: must be a pair"),
    ("adamw", dict(eps=0.0), "eps: must be in (0, 1]"),
    ("adam", dict(weight_decay=-0.1), "weight_decay: must be in [0, 1]"),
    ("momentum", dict(momentum=1.0), "momentum: must be in [0, 1)"),
    ("nesterov", dict(momentum=-0.5), "momentum: must be in [0, 1)"),
    ("rmsprop", dict(momentum=1.5), "momentum: must be in [0, 1)"),
    ("rmsprop", dict(alpha=1.0), "alpha: must be in [0, 1)"),
    ("rmsprop", dict(centered="maybe"), "centered: must be True or False"),
    ("adadelta", dict(rho=1.2), "rho: must be in [0, 1)"),
    ("adagrad", dict(lr_decay=-1), "lr_decay: must be in [0, 1]"),
    ("sgd", dict(momentum=0.9), "momentum: not a hyper-parameter of sgd"),
    ("adam", dict(lr="fast"), "lr: must be a number"),
    ("adam", dict(lr=torch.tensor([0.1, -0.1])), "lr: must be in (0, 100]"),
])
def test_validation_names_the_argument_and_its_range(name, given, message):
    with pytest.raises(ValueError) as info:
        optim.get(name).resolve(**given)
    assert message in str(info.value)


def test_classes_validate_like_the_registry():
    params = [torch.nn.Parameter(torch.zeros(3))]
    with pytest.raises(ValueError, match=r"lr: must be in \(0, 100\]"):
        optim.Adam(params, lr=0)
    with pytest.raises(ValueError, match=r"betas: must be in \[0, 1\)"):
        optim.AdamW(params, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match=r"momentum: must be in \[0, 1\)"):
        optim.SGD(params, momentum=1.0)
    with pytest.raises(ValueError, match=r"eps: must be in"):
        optim.RMSProp(params, eps=-1e-8)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.Adadelta(params, weight_decay=-1)
    with pytest.raises(ValueError, match="lr: must be in"):
        optim.SGD(params).add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": -1.0})
    assert optim.get("rmsprop").resolve(centered="true")["centered"] is True
    with pytest.raises(ValueError, match="optimizer: unknown optimizer 'lion'"):
        optim.get("lion")


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_engine_trains_with_every_optimizer(name):
    from lrlab.train import TrainConfig, train
    run = train(TrainConfig(optimizer=name, lr=optim.get(name).defaults["lr"], n_samples=128, max_epochs=30))
    assert run.stop_reason == "max_epochs"
    first, last = run.history["train_loss"][0], run.history["train_loss"][-1]
    assert last < first


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scalar_tensors_give_the_same_bits_as_python_numbers(dtype):
    from lrlab.optim import scalar
    x = torch.randn(5, 7, dtype=dtype, generator=torch.Generator().manual_seed(0))
    for value in (0.9, 1e-8, 0.999, 3):
        assert torch.equal(x.clone().mul_(value), x.clone().mul_(scalar(value, x)))
        assert torch.equal(x.clone().add_(value), x.clone().add_(scalar(value, x)))
    assert scalar(0.9, x) is scalar(0.9, x) and scalar(0.9, x).dtype == dtype  # cached, x's dtype
    t = torch.tensor([1.0, 2.0])
    assert scalar(t, x) is t  # tensors pass through
