"""Schedules: parity with torch.optim.lr_scheduler, plateau cuts on hand-built metrics, validation."""
from __future__ import annotations

import math

import pytest
import torch

from lrlab import schedules as S

T_MAX = 20
EPOCHS = 3 * T_MAX


def torch_rates(make_scheduler, epochs=EPOCHS, lr=0.1, optimizer="sgd"):
    """The rate torch uses in each epoch when its scheduler is stepped once after every epoch."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def ours(fn, epochs=EPOCHS):
    return [fn(e) for e in range(epochs)]


L = torch.optim.lr_scheduler

PARITY = {
    "StepLR": (lambda o: L.StepLR(o, step_size=7, gamma=0.5), S.step_decay(0.1, 7, 0.5)),
    "StepLR gamma 0.1": (lambda o: L.StepLR(o, step_size=T_MAX, gamma=0.1), S.step_decay(0.1, T_MAX)),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, milestones=[5, 17, 40], gamma=0.3),
                    S.multistep(0.1, [40, 5, 17], 0.3)),
    "MultiStepLR repeated": (lambda o: L.MultiStepLR(o, milestones=[10, 10, 30], gamma=0.5),
                             S.multistep(0.1, [10, 10, 30], 0.5)),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, gamma=0.93), S.exponential(0.1, 0.93)),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=T_MAX, eta_min=0.001), S.cosine(0.1, 0.001, T_MAX)),
    "CosineAnnealingLR eta_min 0": (lambda o: L.CosineAnnealingLR(o, T_max=T_MAX), S.cosine(0.1, 0.0, T_MAX)),
    "CosineAnnealingLR T_max 7": (lambda o: L.CosineAnnealingLR(o, T_max=7, eta_min=1e-4), S.cosine(0.1, 1e-4, 7)),
    "CosineAnnealingWarmRestarts": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=6, eta_min=0.002),
                                    S.cosine_warm_restarts(0.1, 0.002, 6, 1)),
    "CosineAnnealingWarmRestarts T_mult 2": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3),
                                             S.cosine_warm_restarts(0.1, 1e-3, 3, 2)),
    "LinearLR warm-up": (lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=T_MAX),
                         S.linear(0.1, 0.25, 1.0, T_MAX)),
    "LinearLR decay": (lambda o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=T_MAX),
                       S.linear(0.1, 1.0, 0.05, T_MAX)),
    "LinearLR defaults": (lambda o: L.LinearLR(o), S.linear(0.1)),
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_parity_with_torch(case):
    make, fn = PARITY[case]
    expected = torch_rates(make)
    got = ours(fn)
    assert max(abs(a - b) for a, b in zip(got, expected)) < 1e-12, (got, expected)


def test_cosine_past_T_max_follows_torch_recursion_and_closed_form():
    """torch's recursive form, stepped once per epoch, climbs back after T_max; so do we."""
    fn = S.cosine(0.1, 0.001, T_MAX)
    rates = ours(fn)
    assert rates[T_MAX] == pytest.approx(0.001, abs=1e-15)
    assert rates[2 * T_MAX] == pytest.approx(0.1, abs=1e-15)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = L.CosineAnnealingLR(opt, T_max=T_MAX, eta_min=0.001)
    for e in range(EPOCHS):  # the closed form torch uses when given the epoch
        sched.last_epoch = e
        assert sched._get_closed_form_lr()[0] == pytest.approx(fn(e), abs=1e-15)


@pytest.mark.parametrize("total_steps, pct_start, div, final_div",
                         [(EPOCHS, 0.3, 25.0, 1e4), (EPOCHS, 0.45, 10.0, 100.0), (17, 0.2, 5.0, 1e3), (3, 0.5, 25.0, 1e4)])
def test_one_cycle_parity(total_steps, pct_start, div, final_div):
    expected = torch_rates(lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=total_steps, pct_start=pct_start,
                                                  div_factor=div, final_div_factor=final_div),
                           epochs=total_steps)
    got = ours(S.one_cycle(0.1, total_steps, pct_start, div, final_div), total_steps)
    assert max(abs(a - b) for a, b in zip(got, expected)) < 1e-12
    # past the end torch refuses to step; we hold the final rate
    assert S.one_cycle(0.1, total_steps, pct_start, div, final_div)(total_steps + 5) == pytest.approx(got[-1])


def plateau_metric_sequence(n=EPOCHS, seed=3):
    """Falls, stalls with noise, bumps: enough to make ReduceLROnPlateau cut several times."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, generator=g, dtype=torch.float64).tolist()
    return [1.0 / (1 + e) + (0.3 if 25 <= e < 30 else 0.0) + 0.05 * noise[e] if e < 10 else 0.1 + 0.05 * noise[e]
            + (0.3 if 25 <= e < 30 else 0.0) for e in range(n)]


@pytest.mark.parametrize("kwargs", [
    {},
    {"patience": 2},
    {"patience": 3, "factor": 0.5, "cooldown": 2, "min_lr": 0.004},
    {"patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    {"mode": "max", "patience": 2, "factor": 0.3},
    {"mode": "max", "patience": 0, "threshold_mode": "abs", "threshold": 0.01, "eps": 1e-3},
])
def test_reduce_on_plateau_parity(kwargs):
    values = plateau_metric_sequence()
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1)
    ref = L.ReduceLROnPlateau(opt, **kwargs)
    mine = S.ReduceOnPlateau(0.1, **kwargs)
    cuts_seen = 0
    for e, v in enumerate(values):
        assert mine.lr(e) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12)
        opt.step()
        ref.step(v)
        assert mine.observe(e, {"test_loss": v}) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12)
        cuts_seen = len(mine.cuts)
    if kwargs.get("mode") != "max":
        assert cuts_seen >= 1
    # lr(e) stays a function of the epoch after the cuts: asking for an early epoch gives its rate
    assert mine.lr(0) == 0.1


def test_reduce_on_plateau_defaults_match_torch():
    import inspect
    torch_defaults = {k: v.default for k, v in inspect.signature(L.ReduceLROnPlateau).parameters.items()
                      if v.default is not inspect.Parameter.empty}
    ours_defaults = {k: v.default for k, v in inspect.signature(S.ReduceOnPlateau).parameters.items()
                     if v.default is not inspect.Parameter.empty}
    for key, value in torch_defaults.items():
        assert ours_defaults[key] == value, key


# ---------------------------------------------------------------------- CosineWithPlateauCuts
def metrics(losses, accs):
    return [{"train_loss": l, "train_acc": a, "test_loss": l, "test_acc": a} for l, a in zip(losses, accs)]


def feed(schedule, seq):
    rates = []
    for e, m in enumerate(seq):
        rates.append(schedule.lr(e))
        schedule.observe(e, m)
    return rates


def test_plateau_cuts_none_in_first_period_even_if_worse():
    s = S.CosineWithPlateauCuts(0.1, 0.001, 30, period=5)
    feed(s, metrics([1, 2, 3, 4, 5], [0.9, 0.8, 0.7, 0.6, 0.5]))  # getting worse all along
    assert s.cuts == []


def test_plateau_cuts_none_when_both_improve():
    s = S.CosineWithPlateauCuts(0.1, 0.001, 30, period=3)
    losses = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35, 0.3, 0.29, 0.28, 0.27]
    accs = [0.5, 0.6, 0.62, 0.7, 0.71, 0.72, 0.8, 0.81, 0.82, 0.9, 0.91, 0.92]
    rates = feed(s, metrics(losses, accs))
    assert s.cuts == []
    assert rates == [S.cosine(0.1, 0.001, 30)(e) for e in range(12)]


def test_plateau_cuts_exactly_when_loss_mean_rises():
    s = S.CosineWithPlateauCuts(0.1, 0.001, 40, period=3, factor=0.5)
    # period means: 1.0 | 0.8 (down) | 0.9 (ROSE) | 0.7 (down)   accuracy constant
    losses = [1.1, 1.0, 0.9, 0.9, 0.8, 0.7, 0.8, 1.0, 0.9, 0.7, 0.7, 0.7]
    rates = feed(s, metrics(losses, [0.5] * 12))
    assert [c["epoch"] for c in s.cuts] == [8]
    cos = S.cosine(0.1, 0.001, 40)
    assert rates[:9] == [cos(e) for e in range(9)]
    assert rates[9:] == [0.5 * cos(e) for e in range(9, 12)]
    cut = s.cuts[0]
    assert cut["old_lr"] == cos(9) and cut["new_lr"] == 0.5 * cos(9)
    assert cut["reason"] == "epochs 6-8 vs 3-5: mean train_loss rose 0.8 -> 0.9"  # the keys it watched
    assert s.watched() == ("train_loss", "train_acc")


def test_plateau_cuts_exactly_when_accuracy_mean_falls():
    s = S.CosineWithPlateauCuts(0.1, 0.001, 40, period=2)
    # accuracy means: 0.6 | 0.7 | 0.65 (FELL) | 0.8 | 0.75 (FELL); loss always falling
    accs = [0.55, 0.65, 0.7, 0.7, 0.6, 0.7, 0.8, 0.8, 0.75, 0.75]
    losses = [1.0 - 0.05 * e for e in range(10)]
    rates = feed(s, metrics(losses, accs))
    assert [c["epoch"] for c in s.cuts] == [5, 9]
    cos = S.cosine(0.1, 0.001, 40)
    assert rates[6:] == pytest.approx([0.1 * cos(e) for e in range(6, 10)], abs=0)
    assert s.lr(10) == pytest.approx(0.01 * cos(10))
    assert s.cuts[0]["reason"] == "epochs 4-5 vs 2-3: mean train_acc fell 0.7 -> 0.65"
    assert S.CosineWithPlateauCuts(0.1, 0.001, 40, period=2, monitor="accuracy").watched() == ("train_acc",)
    assert S.ReduceOnPlateau(0.1, monitor="test_acc").watched() == ("test_acc",)


@pytest.mark.parametrize("monitor, expected", [("both", [3, 5]), ("loss", [3]), ("accuracy", [5])])
def test_plateau_cuts_monitor(monitor, expected):
    # period 2: loss means 1.0, 1.1 (rose at e=3), 0.9, 0.8; acc means 0.5, 0.6, 0.55 (fell at e=5), 0.7
    losses = [1.0, 1.0, 1.1, 1.1, 0.9, 0.9, 0.8, 0.8]
    accs = [0.5, 0.5, 0.6, 0.6, 0.55, 0.55, 0.7, 0.7]
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=2, monitor=monitor)
    feed(s, metrics(losses, accs))
    assert [c["epoch"] for c in s.cuts] == expected


def test_plateau_cuts_equal_means_are_no_change():
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=2)
    feed(s, metrics([1.0, 0.5, 0.5, 1.0], [0.6, 0.8, 0.8, 0.6]))  # same means, different order
    assert s.cuts == []


def test_plateau_cuts_a_permutation_is_no_change_even_where_float_means_differ():
    """np.mean([0.3, 0.2, 0.1]) < np.mean([0.1, 0.2, 0.3]) in float64 (last bit): the same values
    in another order must not count as a rising loss or a falling accuracy."""
    import numpy as np
    before, after = [0.3, 0.2, 0.1], [0.1, 0.2, 0.3]
    assert np.mean(after) > np.mean(before)  # the float means differ: the old comparison cut here
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=3)
    feed(s, metrics(before + after, [0.5] * 6))
    assert s.cuts == []
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=3, monitor="accuracy")
    feed(s, metrics([1.0] * 6, after + before))  # accuracy "falls" in float: no cut either
    assert s.cuts == []


def test_plateau_cuts_no_change_for_any_permutation_found_by_search():
    """Search random float64 periods for permutations whose np.mean differs from the original's;
    none of them may cut. A value changed by one ulp still does."""
    import numpy as np
    rng = np.random.default_rng(0)
    found = 0
    for trial in range(400):
        p = int(rng.integers(3, 9))
        values = list(rng.uniform(0.0, 2.0, p) * 10.0 ** rng.integers(-3, 3))
        permuted = [values[i] for i in rng.permutation(p)]
        if np.mean(permuted) == np.mean(values):
            continue
        found += 1
        hi, lo = (permuted, values) if np.mean(permuted) > np.mean(values) else (values, permuted)
        s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=p)
        feed(s, metrics(lo + hi, [0.5] * (2 * p)))  # loss "rises" in float, accuracy constant
        assert s.cuts == [], (lo, hi)
        s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=p, monitor="accuracy")
        feed(s, metrics([1.0] * (2 * p), hi + lo))  # accuracy "falls" in float
        assert s.cuts == [], (hi, lo)
    assert found >= 20, "the search should find float means that differ"
    # the comparison is still exact: one ulp more in one value is a rise
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=3)
    feed(s, metrics([0.3, 0.2, 0.1, 0.1, 0.2, math.nextafter(0.3, 1.0)], [0.5] * 6))
    assert [c["epoch"] for c in s.cuts] == [5]


def test_plateau_cuts_non_finite_metrics_compare_like_floats():
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=2)
    feed(s, metrics([1.0, 1.0, 1.0, math.inf], [0.5] * 4))  # loss rose to inf: a cut
    assert [c["epoch"] for c in s.cuts] == [3] and "inf" in s.cuts[0]["reason"]
    s = S.CosineWithPlateauCuts(0.1, 0.0, 40, period=2)
    feed(s, metrics([1.0, 1.0, math.nan, 1.0, math.inf, -math.inf], [0.5] * 6))  # NaN: no comparison holds
    assert s.cuts == []


def test_plateau_cuts_memory_is_flat():
    """Only the running sums of the current and previous period are kept (the old schedule kept
    every loss and accuracy: about 100 bytes per epoch)."""
    import tracemalloc
    s = S.CosineWithPlateauCuts(0.1, 0.001, 1000, period=2, factor=0.5)
    seq = metrics([1.0 + 0.01 * (e % 7) for e in range(35)], [0.9 - 0.01 * (e % 5) for e in range(35)])
    tracemalloc.start()
    try:
        for e in range(2_000):
            s.observe(e, seq[e % 35])
        start = tracemalloc.get_traced_memory()[0]
        for e in range(2_000, 30_000):
            s.observe(e, seq[e % 35])
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < 4096, f"{grown} bytes more after 28 000 more epochs"
    assert s.observed == 30_000
    # the cuts stop once the rate is below a trillionth of the cosine: the record is bounded too
    assert 0 < len(s.cuts) <= math.ceil(math.log(S.CosineWithPlateauCuts.MIN_SCALE) / math.log(0.5))
    assert s.scale(30_000) >= S.CosineWithPlateauCuts.MIN_SCALE


def test_plateau_cuts_compound_and_period_one():
    s = S.CosineWithPlateauCuts(0.1, 0.0, 10, period=1, factor=0.1)
    feed(s, metrics([1.0, 1.1, 1.2, 1.0], [0.5] * 4))
    assert [c["epoch"] for c in s.cuts] == [1, 2]
    assert s.scale(4) == pytest.approx(0.01)
    assert s.scale(2) == pytest.approx(0.1) and s.scale(1) == 1.0


def test_plateau_cuts_out_of_order_is_refused():
    s = S.CosineWithPlateauCuts(0.1, 0.0, 10, period=2)
    with pytest.raises(ValueError, match="epoch"):
        s.observe(3, metrics([1.0], [0.5])[0])


# ---------------------------------------------------------------------- purity, registry, validation
def test_factories_are_pure():
    """Asking for epochs in any order, repeatedly, gives the same rates (unlike d2l's scheduler)."""
    for name in S.SCHEDULES:
        spec = S.SCHEDULES[name]
        if spec.reactive:
            continue
        fn = S.make_schedule(name, 0.1, 40).fn
        forward = [fn(e) for e in range(40)]
        backward = [fn(e) for e in reversed(range(40))][::-1]
        assert forward == backward == [fn(e) for e in range(40)], name


def test_registry_contract():
    names = {"constant", "step_decay", "multistep", "exponential", "cosine", "cosine_warm_restarts",
             "warmup_cosine", "one_cycle", "linear", "reduce_on_plateau", "cosine_plateau_cuts"}
    assert names <= set(S.SCHEDULES)
    for name, spec in S.SCHEDULES.items():
        assert spec.name == name and spec.description and spec.formula
        for param in spec.defaults:
            kind = spec.kinds[param]
            if kind == "choice":
                assert spec.choices[param]
            else:
                lo, hi, lo_inc, hi_inc = spec.ranges[param]
                assert lo < hi and isinstance(lo_inc, bool) and isinstance(hi_inc, bool)
            if spec.defaults[param] is None:
                assert param in spec.derive
        s = S.make_schedule(name, 0.05, 30)
        assert s.cuts == [] and s.lr(0) > 0
        assert s.observe(0, {"train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.0, "test_acc": 0.5}) == s.lr(1)
        assert spec.reactive == bool(getattr(s, "reactive", False))


def test_derived_defaults():
    assert S.make_schedule("cosine", 0.2, 80).params == {"max_lr": 0.2, "min_lr": 0.002, "T_max": 80}
    s = S.make_schedule("cosine_plateau_cuts", 0.2, 80, T_max=40)
    assert s.params["T_max"] == 40 and s.params["period"] == 8 and s.params["max_lr"] == 0.2
    assert S.make_schedule("one_cycle", 0.3, 25).params["total_steps"] == 25
    assert S.make_schedule("reduce_on_plateau", 0.1, 10, monitor="test_acc").mode == "max"
    ex = S.make_schedule("exponential", 0.1, 50)
    assert ex.lr(50) == pytest.approx(0.001)
    assert S.make_schedule("warmup_cosine", 0.1, 1).params["warmup"] == 0


def test_unknown_parameter_names_it():
    with pytest.raises(ValueError, match="T_maximum"):
        S.make_schedule("cosine", 0.1, 10, T_maximum=5)
    with pytest.raises(ValueError, match="schedule: unknown schedule 'cosin'"):
        S.make_schedule("cosin", 0.1, 10)


BAD = [
    (lambda: S.cosine(0.1, 0.001, 0), "T_max"),
    (lambda: S.cosine(0.1, 0.001, -3), "T_max"),
    (lambda: S.cosine(0.1, 0.001, 2.5), "T_max"),
    (lambda: S.cosine(0.1, 0.2, 10), "min_lr"),
    (lambda: S.cosine(0.0, 0.0, 10), "max_lr"),
    (lambda: S.cosine(0.1, -0.1, 10), "min_lr"),
    (lambda: S.cosine(float("nan"), 0.0, 10), "max_lr"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.001, 10, period=0), "period"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.001, 10, period=2, factor=1.0), "factor"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.001, 10, period=2, factor=0.0), "factor"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.001, 10, period=2, factor=1.5), "factor"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.2, 10, period=2), "min_lr"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.01, 0, period=2), "T_max"),
    (lambda: S.CosineWithPlateauCuts(0.1, 0.01, 10, period=2, monitor="val"), "monitor"),
    (lambda: S.ReduceOnPlateau(0.1, factor=1.0), "factor"),
    (lambda: S.ReduceOnPlateau(0.1, mode="up"), "mode"),
    (lambda: S.ReduceOnPlateau(0.1, patience=-1), "patience"),
    (lambda: S.step_decay(0.1, 0), "step_size"),
    (lambda: S.step_decay(0.1, 5, gamma=1.5), "gamma"),
    (lambda: S.multistep(0.1, [0, 3]), "milestones"),
    (lambda: S.multistep(0.1, 5), "milestones"),
    (lambda: S.exponential(0.1, 0.0), "gamma"),
    (lambda: S.cosine_warm_restarts(0.1, 0.0, 0), "T_0"),
    (lambda: S.cosine_warm_restarts(0.1, 0.0, 5, 0), "T_mult"),
    (lambda: S.warmup_cosine(0.1, 0.0, 10, 10), "warmup"),
    (lambda: S.one_cycle(0.1, 0), "total_steps"),
    (lambda: S.one_cycle(0.1, 10, pct_start=1.0), "pct_start"),
    (lambda: S.one_cycle(0.1, 10, div_factor=0.5), "div_factor"),
    (lambda: S.linear(0.1, start_factor=0.0), "start_factor"),
    (lambda: S.linear(0.1, end_factor=1.5), "end_factor"),
    (lambda: S.make_schedule("cosine", 0.1, 10, min_lr=0.5), "min_lr"),
    (lambda: S.make_schedule("cosine_plateau_cuts", 0.1, 10, factor=2.0), "factor"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_arguments_raise_clear_value_error(i):
    call, argument = BAD[i]
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(argument + ":"), message
    assert "got" in message


def test_lr_curve_and_synthetic_metrics():
    seq = S.synthetic_metrics(100, seed=1)
    assert len(seq) == 100 and seq == S.synthetic_metrics(100, seed=1)
    s = S.make_schedule("cosine_plateau_cuts", 0.1, 100, period=10)
    rates = S.lr_curve(s, 100, seq)
    assert len(s.cuts) >= 1  # the synthetic bumps make the checks fire
    first = s.cuts[0]["epoch"]
    assert rates[first + 1] == pytest.approx(0.1 * S.cosine(0.1, 0.001, 100)(first + 1))
    assert list(S.lr_curve(S.make_schedule("cosine", 0.1, 100), 100)) == [S.cosine(0.1, 0.001, 100)(e) for e in range(100)]


# ---------------------------------------------------------------------- the engine
def test_engine_runs_cosine_plateau_cuts_and_records_cuts():
    from lrlab.train import TrainConfig, train
    config = TrainConfig(dataset="moons", n_samples=200, hidden=(8,), optimizer="adam", lr=0.3, max_epochs=60,
                         schedule="cosine_plateau_cuts", schedule_params={"period": 4, "factor": 0.5, "T_max": 60},
                         select_best="accuracy", seed=0)
    run = train(config)
    h = run.history
    assert run.stop_reason in ("max_epochs", "diverged")
    assert len(h.cuts) >= 1, "a large Adam rate should make some period worse than the one before"
    # replaying the recorded metrics through a fresh schedule gives the same cuts and rates
    replay = S.make_schedule("cosine_plateau_cuts", 0.3, 60, period=4, factor=0.5, T_max=60)
    rates = S.lr_curve(replay, len(h), S.metrics_of_run(run))
    assert replay.cuts == h.cuts
    assert list(h["lr"]) == pytest.approx(list(rates), rel=1e-12)
    for cut in h.cuts:
        assert cut["new_lr"] == pytest.approx(0.5 * cut["old_lr"])
        assert h["lr"][cut["epoch"] + 1] == pytest.approx(cut["new_lr"])
    # best-model selection by accuracy: the best epoch has the highest test accuracy
    assert h["test_acc"][run.best_epoch] == max(h["test_acc"])


@pytest.mark.parametrize("name", sorted(S.SCHEDULES))
def test_engine_accepts_every_schedule(name):
    from lrlab.train import TrainConfig, train
    run = train(TrainConfig(n_samples=100, hidden=(4,), max_epochs=12, schedule=name))
    assert len(run.history) == 12
    fresh = S.make_schedule(name, 0.01, 12)
    if not S.SCHEDULES[name].reactive:
        assert list(run.history["lr"]) == pytest.approx([fresh.lr(e) for e in range(12)], rel=1e-12)


def test_plateau_group_watches_many_schedules_as_each_one_alone():
    """A race's ReduceOnPlateau schedules are watched together as [M] arrays (S.PlateauGroup):
    every member's rates, cuts and state equal the same schedule observed on its own."""
    import numpy as np
    rng = np.random.default_rng(4)
    M, epochs = 40, 120
    params = [dict(mode=str(rng.choice(["min", "max"])), factor=float(rng.choice([0.1, 0.5, 0.9])),
                   patience=int(rng.integers(0, 6)), threshold=float(rng.choice([0.0, 1e-4, 0.05])),
                   threshold_mode=str(rng.choice(["rel", "abs"])), cooldown=int(rng.integers(0, 4)),
                   min_lr=float(rng.choice([0.0, 1e-3])), eps=float(rng.choice([1e-8, 1e-3])),
                   monitor=str(rng.choice(["test_loss", "train_loss", "test_acc", "train_acc"])))
              for _ in range(M)]
    alone = [S.ReduceOnPlateau(0.1, **p) for p in params]
    group = S.PlateauGroup([S.ReduceOnPlateau(0.1, **p) for p in params])
    names = ("train_loss", "train_acc", "test_loss", "test_acc")
    for e in range(epochs):
        stream = {n: np.where(rng.random(M) < 0.03, np.nan, rng.random(M) * (1 + 0.5 * np.sin(e / 7))) for n in names}
        which = rng.random(M) < 0.9  # a member that does not observe an epoch (stopped, diverged) is left as it is
        np.testing.assert_array_equal(group.rates, [s.lr(e) for s in alone])
        group.observe(e, stream, which)
        for i, s in enumerate(alone):
            if which[i]:
                s.observe(e, {n: float(stream[n][i]) for n in names})
    group.sync()
    assert sum(len(s.cuts) for s in alone) > M  # the streams exercise cuts and cooldowns
    for s, g in zip(alone, group.members):
        assert s.cuts == g.cuts and [s.lr(e) for e in range(epochs + 1)] == [g.lr(e) for e in range(epochs + 1)]
        assert (s.num_bad_epochs, s.cooldown_counter) == (g.num_bad_epochs, g.cooldown_counter)
        assert s.best == g.best or (math.isnan(s.best) and math.isnan(g.best))
