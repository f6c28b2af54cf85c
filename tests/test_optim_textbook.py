"""The textbook path of every optimizer (``*_textbook``, readable) equals the fast path
(``*_step``, what the engine runs) to 1e-12 in float64: one model [P], and K = 4 stacked
models [K, P] with per-model [K] tensor hyper-parameters."""
import re

import pytest
import torch

from lrlab import optim

STEPS = 100
TOL = dict(rtol=1e-12, atol=1e-12)

# (optimizer, hyper-parameters): weight decay on/off, amsgrad, centered, momentum variants, lr_decay
CASES = [
    ("sgd", dict(lr=0.05)),
    ("sgd", dict(lr=0.05, weight_decay=0.1)),
    ("momentum", dict(lr=0.02, momentum=0.9)),
    ("momentum", dict(lr=0.02, momentum=0.5, weight_decay=0.05)),
    ("nesterov", dict(lr=0.02, momentum=0.9)),
    ("nesterov", dict(lr=0.02, momentum=0.7, weight_decay=0.05)),
    ("adagrad", dict(lr=0.1)),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.3, eps=1e-6)),
    ("rmsprop", dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, weight_decay=0.05)),
    ("rmsprop", dict(lr=0.01, centered=True)),
    ("rmsprop", dict(lr=0.01, momentum=0.8)),
    ("rmsprop", dict(lr=0.01, alpha=0.9, momentum=0.8, centered=True, weight_decay=0.05)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.01, weight_decay=0.05)),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    ("adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6, amsgrad=True, weight_decay=0.1)),
    ("adamw", dict(lr=0.01)),
    ("adamw", dict(lr=0.01, weight_decay=0.0)),
    ("adamw", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adadelta", dict(lr=1.0)),
    ("adadelta", dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.05)),
]


def _ids(case):
    name, hyper = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in hyper.items())


def _run(step, spec, params, grads, hyper):
    params = params.clone()
    state = spec.init(params)
    for g in grads:
        state = step(params, g.clone(), state, **hyper)
    return params, state


def _assert_same(spec, hyper, params, grads):
    fast_p, fast_s = _run(spec.step, spec, params, grads, hyper)
    text_p, text_s = _run(spec.textbook, spec, params, grads, hyper)
    assert torch.isfinite(fast_p).all()
    assert not torch.equal(fast_p, params)  # it moved
    torch.testing.assert_close(text_p, fast_p, **TOL)
    assert type(text_s) is type(fast_s)
    assert text_s.count == fast_s.count == STEPS
    for field in type(fast_s)._fields[1:]:
        torch.testing.assert_close(getattr(text_s, field), getattr(fast_s, field), **TOL, msg=field)


def _sequence(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    params = torch.randn(shape, dtype=torch.float64, generator=gen)
    grads = [torch.randn(shape, dtype=torch.float64, generator=gen) for _ in range(STEPS)]
    return params, grads


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_textbook_equals_fast_path_one_model(case):
    name, hyper = case
    spec = optim.get(name)
    params, grads = _sequence((37,), seed=1)
    _assert_same(spec, spec.resolve(**hyper), params, grads)


def _per_model(hyper, K, name):
    """Every number hyper-parameter as a [K] float64 tensor, spread over the models."""
    spread = torch.linspace(0.5, 1.0, K, dtype=torch.float64)
    out = {}
    for key, value in hyper.items():
        if isinstance(value, bool):
            out[key] = value
        elif key == "betas":
            out[key] = tuple(torch.full((K,), b, dtype=torch.float64) * torch.linspace(0.9, 1.0, K,
                                                                                       dtype=torch.float64)
                             for b in value)
        elif key == "momentum" and name == "rmsprop" and value == 0:
            out[key] = torch.tensor([0.0, 0.5, 0.0, 0.9], dtype=torch.float64)[:K]  # some models without
        else:
            out[key] = torch.full((K,), float(value), dtype=torch.float64) * spread
    return out


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_textbook_equals_fast_path_k_models_per_model_tensors(case):
    name, hyper = case
    spec = optim.get(name)
    K = 4
    params, grads = _sequence((K, 23), seed=2)
    _assert_same(spec, _per_model(spec.resolve(**hyper), K, name), params, grads)


@pytest.mark.parametrize("case", CASES[:1] + CASES[9:10] + CASES[-5:], ids=_ids)
def test_textbook_equals_fast_path_k_models_number_hyper(case):
    name, hyper = case
    spec = optim.get(name)
    params, grads = _sequence((4, 23), seed=3)
    _assert_same(spec, spec.resolve(**hyper), params, grads)


def _lines(text):
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_optimizer_has_a_textbook_function_whose_docstring_is_the_formula(name):
    """The formula is written once, in the textbook function's docstring: ``spec.formula`` is read
    from it and the fast step's docstring has it filled in (the same text on every Python)."""
    import inspect
    spec = optim.get(name)
    assert callable(spec.textbook) and spec.textbook is not spec.step
    assert spec.textbook.__name__.endswith("_textbook") and spec.textbook.__doc__
    assert spec.formula == optim.formula_of(spec.textbook) and "theta" in spec.formula
    assert spec.formula in inspect.cleandoc(spec.textbook.__doc__)
    assert "{formula}" not in spec.step.__doc__ and spec.textbook.__name__ in spec.step.__doc__
    assert spec.formula in spec.step.__doc__.replace("\n    ", "\n")  # indented once in the step's docstring
    assert spec.step.__doc__ == inspect.cleandoc(spec.step.__doc__)  # no indentation left for 3.13 to strip
    assert len(_lines(spec.formula)) >= 2


def test_textbook_is_a_drop_in_signature():
    import inspect
    for name, spec in optim.OPTIMIZERS.items():
        fast, text = inspect.signature(spec.step), inspect.signature(spec.textbook)
        assert list(fast.parameters) == list(text.parameters), name
        assert {k: p.default for k, p in fast.parameters.items()} == \
            {k: p.default for k, p in text.parameters.items()}, name
