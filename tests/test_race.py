"""The race (one batched program over K models) against the engine, sweeps, the LR range test."""
import json
import math

import numpy as np
import pytest
import torch

from lrlab import nets, optim, schedules
from reference import grad_views, loss_and_grads, plain_output_loss, plain_score  # tests/reference.py
from lrlab.batched import BatchedMLP, output_loss, score
from lrlab.race import (Race, SweepResult, check_shared, lr_range_test, parse_lrs, race, ranking,
                        smooth_losses, suggest_lr, sweep, sweep_configs)
from lrlab.train import TrainConfig, make_dataset, make_model, train

COLS = ("lr", "train_loss", "test_loss", "train_acc", "test_acc")
BASE = TrainConfig(dtype="float64", max_epochs=25, batch_size=82, n_samples=256)


def table(run):
    return np.array([[r[k] for k in COLS] for r in run.history.records()])


def assert_same_run(ours, theirs, atol=1e-6, rtol=1e-7):
    """Same stop, best epoch and history to ``atol + rtol * |value|``: the relative part lets a run
    that is blowing up (losses in the hundreds, lr = 100) differ in its last float64 bits, which
    large learning rates amplify from epoch to epoch; every ordinary value is held to 1e-6."""
    assert ours.stop_reason == theirs.stop_reason
    assert ours.stop_epoch == theirs.stop_epoch
    assert ours.best_epoch == theirs.best_epoch
    assert ours.restored_best == theirs.restored_best
    assert ours.steps == theirs.steps
    a, b = table(ours), table(theirs)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, equal_nan=True)
    np.testing.assert_allclose(ours.model.flat_parameters().numpy(), theirs.model.flat_parameters().numpy(),
                               atol=atol, rtol=0)
    assert ours.history.cuts == theirs.history.cuts


# ------------------------------------------------------------------ the batched MLP
@pytest.mark.parametrize("activation", nets.ACTIVATIONS)
@pytest.mark.parametrize("loss", nets.LOSSES)
def test_batched_grads_match_the_engine_per_model(activation, loss):
    config = TrainConfig(dtype="float64", activation=activation, loss=loss, hidden=(5, 4))
    ds = make_dataset(config)
    model = make_model(config, ds)
    net = BatchedMLP.from_mlp(model, 3)
    net.params[1] += 0.05 * torch.randn(net.num_parameters, generator=torch.Generator().manual_seed(1),
                                        dtype=torch.float64)
    grad = torch.zeros_like(net.params)
    losses, out = net.loss_and_grads(ds.X_train, ds.y_train, loss, grad)
    for k in range(3):
        single = net.to_mlp(k)
        g = torch.zeros_like(single.flat_parameters())
        value, out_k = loss_and_grads(single, ds.X_train, ds.y_train, loss, grad_views(single, g))
        assert float(losses[k]) == pytest.approx(float(value), abs=1e-12)
        torch.testing.assert_close(grad[k], g, atol=1e-12, rtol=0)
        torch.testing.assert_close(out[k], out_k, atol=1e-12, rtol=0)


def test_batched_grads_match_autograd():
    net = BatchedMLP((2, 6, 3), "tanh", K=2, dtype=torch.float64)
    X = torch.randn(7, 2, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    grad = torch.zeros_like(net.params)
    losses, _ = net.loss_and_grads(X, y, "cross_entropy", grad)
    p = net.params.clone().requires_grad_(True)
    W1, b1, W2, b2 = net.views(p)
    h = torch.tanh(X @ W1.transpose(1, 2) + b1.unsqueeze(1))
    out = h @ W2.transpose(1, 2) + b2.unsqueeze(1)
    total = sum(torch.nn.functional.cross_entropy(out[k], y) for k in range(2))
    total.backward()
    torch.testing.assert_close(grad, p.grad, atol=1e-12, rtol=0)


def test_output_loss_and_score_per_model():
    out = torch.randn(4, 9, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (9,))
    value, dout = output_loss(out, y, "cross_entropy")
    acc = score(out, y, "classification")
    for k in range(4):
        v, d = plain_output_loss(out[k].clone(), y, "cross_entropy")
        torch.testing.assert_close(value[k], v)
        torch.testing.assert_close(dout[k], d)
        torch.testing.assert_close(acc[k], plain_score(out[k], y, "classification"))


# ------------------------------------------------------------------ the race vs the engine
def mixed_configs():
    b = BASE
    return [
        b.replace(optimizer="sgd", lr=0.5),
        b.replace(optimizer="adam", lr=0.01, schedule="cosine"),
        b.replace(optimizer="adam", lr=0.003, optimizer_params={"betas": (0.8, 0.99)}),
        b.replace(optimizer="sgd", lr=100.0, divergence_factor=2.0),  # diverges at epoch 1
        b.replace(optimizer="sgd", lr=0.1, regularization="l2", reg_rate=0.01),
        b.replace(optimizer="adam", lr=0.05, regularization="l1", reg_rate=0.001, select_best="accuracy"),
        b.replace(optimizer="sgd", lr=0.2, patience=3, min_delta=0.01),
        b.replace(optimizer="adam", lr=0.02, target_accuracy=0.9, optimizer_params={"weight_decay": 0.01}),
    ]


def test_race_of_8_mixed_configs_equals_8_engine_runs():
    configs = mixed_configs()
    runs = race(configs)
    assert len(runs) == 8
    reasons = {r.stop_reason for r in runs}
    assert {"diverged", "max_epochs", "converged", "target_accuracy"} <= reasons
    for config, ours in zip(configs, runs):
        assert ours.config.optimizer == config.optimizer and ours.config.lr == config.lr
        assert_same_run(ours, train(config))


def test_a_diverging_model_does_not_disturb_the_others():
    good = [BASE.replace(optimizer="adam", lr=0.01), BASE.replace(optimizer="sgd", lr=0.3)]
    bad = BASE.replace(optimizer="sgd", lr=100.0, divergence_factor=2.0)
    alone = race(good)
    together = race([good[0], bad, good[1]])
    assert together[1].stop_reason == "diverged"
    assert together[1].stop_epoch < 3
    for a, b in zip(alone, [together[0], together[2]]):
        np.testing.assert_array_equal(table(a), table(b))
        assert b.stop_reason == "max_epochs"


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_optimizer_races_like_the_engine(name):
    spec = optim.get(name)
    configs = [BASE.replace(optimizer=name, lr=lr, max_epochs=12) for lr in (0.003, 0.03)]
    if "weight_decay" in spec.defaults:
        configs.append(BASE.replace(optimizer=name, lr=0.01, max_epochs=12, optimizer_params={"weight_decay": 0.02}))
    for ours, config in zip(race(configs), configs):
        assert_same_run(ours, train(config))


@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_every_schedule_races_like_the_engine(name):
    configs = [BASE.replace(optimizer="adam", lr=0.02, schedule=name, max_epochs=15),
               BASE.replace(optimizer="sgd", lr=0.3, schedule=name, max_epochs=15)]
    for ours, config in zip(race(configs), configs):
        assert_same_run(ours, train(config))


def test_boolean_options_make_separate_groups():
    names = set(optim.OPTIMIZERS)
    configs = [BASE.replace(optimizer="sgd", lr=0.1), BASE.replace(optimizer="adam", lr=0.01),
               BASE.replace(optimizer="sgd", lr=0.2), BASE.replace(optimizer="adam", lr=0.02)]
    for opt_name, option in (("adam", "amsgrad"), ("sgd", "nesterov"), ("rmsprop", "centered")):
        if opt_name in names and option in optim.get(opt_name).defaults:
            params = {option: True, **({"momentum": 0.9} if option == "nesterov" else {})}
            configs.append(BASE.replace(optimizer=opt_name, lr=0.01, optimizer_params=params))
    r = Race(configs, epochs=3)
    assert len(r.groups) == len({(c.optimizer, tuple(sorted(c.optimizer_params.items()))
                                  if any(isinstance(v, bool) for v in c.optimizer_params.values()) else ())
                                 for c in configs})
    for g in r.groups:  # one step call per group; its rows are contiguous
        assert g.rows.stop - g.rows.start >= 1
    lr_hyper = [g.hyper for g in r.groups]
    assert all("lr" not in h for h in lr_hyper)
    runs = r.run()
    for ours, config in zip(runs, configs):
        assert_same_run(ours, train(config.replace(max_epochs=3)))


def test_race_float32_close_to_engine():
    config = TrainConfig(max_epochs=20)
    ours, = race([config])
    theirs = train(config)
    np.testing.assert_allclose(table(ours), table(theirs), atol=1e-4)


def test_race_returns_working_runs(tmp_path):
    configs = [BASE.replace(optimizer="adam", lr=0.02), BASE.replace(optimizer="sgd", lr=0.5)]
    runs = race(configs, epochs=5)
    for run in runs:
        assert run.config.max_epochs == 5 and run.stop_reason == "max_epochs"
        pred = run.predict(run.dataset.X_test.numpy())
        assert pred.shape == (run.dataset.X_test.shape[0],)
        again = type(run).from_json(run.to_json())
        assert again.best_epoch == run.best_epoch
        assert "best epoch" in run.summary()
        from lrlab.plots import save_run_png
        save_run_png(run, str(tmp_path / "run.png"))
        assert (tmp_path / "run.png").stat().st_size > 1000


def test_race_outputs_match_each_runs_model():
    configs = [BASE.replace(optimizer="sgd", lr=0.3), BASE.replace(optimizer="adam", lr=0.01),
               BASE.replace(optimizer="sgd", lr=0.1)]
    r = Race(configs, epochs=4)
    r.run()
    X = r.dataset.X_test
    out = r.outputs(X)
    for k, run in enumerate(r.runs):
        torch.testing.assert_close(out[k], run.output(X))


def test_should_stop_stops_every_model():
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 10

    runs = race([BASE.replace(optimizer="sgd", lr=0.1), BASE.replace(optimizer="adam")], should_stop=should_stop)
    assert {r.stop_reason for r in runs} == {"stopped_by_user"}
    assert all(r.stop_epoch < 5 for r in runs)


def test_on_epoch_gets_records_in_the_configs_order():
    seen = []
    configs = [BASE.replace(optimizer="adam", lr=0.01), BASE.replace(optimizer="sgd", lr=0.2)]
    race(configs, epochs=3, on_epoch=lambda records, r: seen.append([x["lr"] for x in records]))
    assert seen == [[0.01, 0.2]] * 3


def test_regression_race_matches_engine():
    configs = [TrainConfig(dataset="sine", dtype="float64", max_epochs=10, optimizer=o, lr=lr)
               for o, lr in (("adam", 0.01), ("sgd", 0.1))]
    for ours, config in zip(race(configs), configs):
        assert_same_run(ours, train(config))


@pytest.mark.parametrize("field, value", [("hidden", (8,)), ("seed", 3), ("batch_size", 32),
                                          ("dataset", "circles"), ("activation", "relu")])
def test_configs_must_share_data_architecture_batches_and_seed(field, value):
    with pytest.raises(ValueError, match=f"configs: every config in a race must share {field}"):
        race([TrainConfig(), TrainConfig(**{field: value})], epochs=2)


def test_validation_errors():
    with pytest.raises(ValueError, match="configs: a race needs at least one"):
        race([])
    with pytest.raises(ValueError, match="epochs: must be an integer"):
        race([TrainConfig()], epochs=0)
    with pytest.raises(ValueError, match="lr"):
        race([TrainConfig(lr=-1.0)], epochs=2)
    with pytest.raises(ValueError, match="configs: every item"):
        check_shared([TrainConfig(), "adam"])


def test_ranking_puts_diverged_last():
    runs = race(mixed_configs()[:4])
    rows = ranking(runs, by="test_loss")
    assert rows[-1]["stop_reason"] == "diverged"
    losses = [r["test_loss"] for r in rows[:-1]]
    assert losses == sorted(losses)
    by_acc = ranking(runs, by="test_acc")
    accs = [r["test_acc"] for r in by_acc[:-1]]
    assert accs == sorted(accs, reverse=True)
    with pytest.raises(ValueError, match="by:"):
        ranking(runs, by="speed")


# ------------------------------------------------------------------ sweep
def test_parse_lrs():
    lrs = parse_lrs("1e-4:1:5")
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1, 1])
    np.testing.assert_allclose(parse_lrs("0.1,0.2"), [0.1, 0.2])
    for bad in ("1:0.1:3", "a:b:c", "", "0,1", "1e-3:1:0"):
        with pytest.raises(ValueError, match="lrs:"):
            parse_lrs(bad)


def test_sweep_tabulates_every_optimizer_and_lr():
    config = TrainConfig(max_epochs=15, n_samples=200, dtype="float64", divergence_factor=1.5)
    result = sweep(["sgd", "adam"], "1e-3:1e2:6", config=config)
    assert result.optimizers == ["sgd", "adam"]
    assert result.metrics["final_train_loss"].shape == (2, 6)
    np.testing.assert_array_equal(result.metrics["diverged"],
                                  [[0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1]])  # large lrs explode
    best = result.best_lr("adam")
    assert 1e-3 <= best <= 1e3 and result.metrics["diverged"][1, list(result.lrs).index(best)] == 0
    # one cell against the engine
    run = train(config.replace(optimizer="adam", lr=float(result.lrs[2])))
    assert result.metrics["final_test_loss"][1, 2] == pytest.approx(run.history.last["test_loss"], abs=1e-6)
    assert result.run_of("adam", 2).config.lr == result.lrs[2]
    d = json.loads(result.to_json())
    assert len(d["rows"]) == 12 and set(d["best_lr"]) == {"sgd", "adam"}


def test_sweep_validation():
    with pytest.raises(ValueError, match="optimizer"):
        sweep(["nope"], [0.1])
    with pytest.raises(ValueError, match="lrs:"):
        sweep_configs(["sgd"], [])


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_optimizer_sweeps(name):
    result = sweep([name], [1e-3, 1e-1], config=TrainConfig(max_epochs=3, n_samples=128))
    assert np.isfinite(result.metrics["final_train_loss"]).all()


# ------------------------------------------------------------------ LR range test
def test_suggest_lr_is_a_tenth_of_the_lr_at_the_smoothed_minimum():
    lrs = np.logspace(-6, 1, 141)  # 20 per decade
    x = np.log10(lrs)
    loss = 1.0 - 0.8 / (1 + np.exp(-(x + 3) * 3)) + np.where(x > -1, (x + 1) ** 2 * 5, 0)  # minimum at 0.1
    got = suggest_lr(lrs, loss)
    assert got == pytest.approx(lrs[np.argmin(loss)] / 10)
    assert 0.005 < got < 0.02
    assert suggest_lr(lrs[:2], loss[:2]) is None
    with_nan = loss.copy()
    with_nan[60:] = np.nan  # only the part before the first nan counts
    assert suggest_lr(lrs, with_nan) == pytest.approx(lrs[59] / 10)


def test_smooth_losses_is_the_bias_corrected_ema():
    s = smooth_losses([2.0, 2.0, 2.0])
    np.testing.assert_allclose(s, [2.0, 2.0, 2.0])
    s = smooth_losses([1.0, 3.0], beta=0.5)
    np.testing.assert_allclose(s, [1.0, (0.25 + 1.5) / 0.75])


def test_lr_range_test_stops_at_divergence_and_suggests_a_useful_lr():
    config = TrainConfig(optimizer="adam", n_samples=256)
    test = lr_range_test(config, start_lr=1e-5, end_lr=100, num_steps=80)
    assert test.diverged_lr is not None and len(test.losses) < 80
    assert test.lrs[0] == pytest.approx(1e-5)
    ratios = test.lrs[1:] / test.lrs[:-1]
    np.testing.assert_allclose(ratios, ratios[0])
    assert 1e-5 <= test.suggested_lr < test.diverged_lr
    assert "minimum / 10" in test.rule
    short = train(config.replace(lr=test.suggested_lr, max_epochs=30))
    assert short.history["train_loss"][-1] < 0.7 * short.history["train_loss"][0]
    json.dumps(test.to_dict())


def test_lr_range_test_validation():
    with pytest.raises(ValueError, match="num_steps"):
        lr_range_test(TrainConfig(), num_steps=1)
    with pytest.raises(ValueError, match="start_lr"):
        lr_range_test(TrainConfig(), start_lr=1.0, end_lr=0.1)


def test_lazy_exports():
    import lrlab
    assert lrlab.sweep is sweep and lrlab.lr_range_test is lr_range_test
    runs = lrlab.race([TrainConfig(optimizer="sgd", lr=0.1)], epochs=2)  # the module is callable too
    assert runs[0].stop_reason == "max_epochs"


# ------------------------------------------------------------------ fast paths
def test_chunked_loss_and_grads_equal_one_chunk(monkeypatch):
    # widths of 16: every model's rows are whole SIMD vectors, so elementwise ops do not depend on K
    config = TrainConfig(hidden=(16, 16))
    ds = make_dataset(config)
    net = BatchedMLP.from_mlp(make_model(config, ds), 7)
    net.params.add_(0.1 * torch.randn(net.params.shape, generator=torch.Generator().manual_seed(3)))
    whole = torch.zeros_like(net.params)
    v1, o1 = net.loss_and_grads(ds.X_train, ds.y_train, "cross_entropy", whole)
    f1 = net.forward(ds.X_test)
    monkeypatch.setattr(BatchedMLP, "CHUNK_ELEMENTS", ds.X_train.shape[0] * 16 * 3)  # chunks of 3 models
    assert net.chunk_rows(ds.X_train.shape[0], 7) == 3
    chunked = torch.zeros_like(net.params)
    v2, o2 = net.loss_and_grads(ds.X_train, ds.y_train, "cross_entropy", chunked)
    # the BLAS may round a product differently in another batch position (last bit only)
    for a, b in ((v1, v2), (o1, o2), (whole, chunked), (f1, net.forward(ds.X_test))):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_two_class_loss_and_score_match_the_engine_with_nan_and_ties(dtype):
    out = torch.randn(5, 50, 2, dtype=dtype, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 2, (50,), generator=torch.Generator().manual_seed(1))
    out[0, 3, 1] = float("nan")
    out[1, 4, 0] = float("nan")
    out[2, 5] = float("nan")
    out[3, 6] = float("inf")
    out[4, 7, 0] = out[4, 7, 1]  # a tie: argmax says class 0
    value, dout = output_loss(out, y, "cross_entropy")
    only, none = output_loss(out, y, "cross_entropy", with_grad=False)
    assert none is None and torch.equal(value.nan_to_num(7.0), only.nan_to_num(7.0))
    acc = score(out, y, "classification")
    for k in range(5):
        v, d = plain_output_loss(out[k].clone(), y, "cross_entropy")
        assert math.isnan(float(v)) == math.isnan(float(value[k]))
        if math.isfinite(float(v)):
            assert float(value[k]) == pytest.approx(float(v), abs=1e-6 if dtype == torch.float32 else 1e-12)
        torch.testing.assert_close(dout[k], d, equal_nan=True)
        assert float(acc[k]) == float(plain_score(out[k], y, "classification"))


def test_adam_and_adamw_share_one_group_and_race_like_the_engine():
    configs = [BASE.replace(optimizer="adamw", lr=0.01, max_epochs=12),
               BASE.replace(optimizer="adam", lr=0.02, max_epochs=12),
               BASE.replace(optimizer="adamw", lr=0.005, max_epochs=12, optimizer_params={"weight_decay": 0.1}),
               BASE.replace(optimizer="adam", lr=0.01, max_epochs=12, optimizer_params={"weight_decay": 0.02}),
               BASE.replace(optimizer="sgd", lr=0.3, max_epochs=12)]
    r = Race(configs)
    assert len(r.groups) == 2
    for ours, config in zip(r.run(), configs):
        assert ours.config.optimizer == config.optimizer
        assert_same_run(ours, train(config))
    only_adamw = [BASE.replace(optimizer="adamw", lr=lr, max_epochs=6) for lr in (0.01, 0.03)]
    for ours, config in zip(race(only_adamw), only_adamw):
        assert_same_run(ours, train(config))


@pytest.mark.parametrize("K", [1, 4])
def test_full_batch_look_ahead_forward_races_like_the_engine(K):
    pairs = [("sgd", 0.5), ("adam", 0.01), ("adamw", 0.02), ("sgd", 100.0)][:K]
    configs = [BASE.replace(batch_size=None, optimizer=o, lr=lr, max_epochs=20) for o, lr in pairs]
    r = Race(configs)
    used = 0
    while not r.done:
        used += r._ahead is not None
        r.epoch()
    assert used == r.epoch_index - 1  # every epoch after the first reused the test-time forward
    for ours, config in zip(r.runs, configs):
        assert_same_run(ours, train(config))
    r = Race(configs[:1], epochs=3)
    r.epoch()
    with torch.no_grad():
        r.params.mul_(0.5)  # weights changed outside the race: the kept forward is not used
    expected, _ = r.net.loss_and_grads(r.X_train, r.y_train, r.loss, torch.zeros_like(r.grad))
    record, = r.epoch()
    assert record["train_loss"] == float(expected[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_two_class_split_equals_loss_and_score_of_each_part(dtype):
    from lrlab.batched import two_class_split
    gen = torch.Generator().manual_seed(4)
    out = torch.randn(6, 130, 2, dtype=dtype, generator=gen) * 3
    out[1, 5, 0] = float("nan")
    out[2, 120] = float("inf")
    y = torch.randint(0, 2, (130,), generator=torch.Generator().manual_seed(5))
    (l1, a1, d1), (l2, a2) = two_class_split(out, y, 100)
    v1, g1 = output_loss(out[:, :100], y[:100], "cross_entropy")
    v2, _ = output_loss(out[:, 100:], y[100:], "cross_entropy", with_grad=False)
    for ours, theirs in ((l1, v1), (l2, v2), (d1, g1), (a1, score(out[:, :100], y[:100], "classification")),
                         (a2, score(out[:, 100:], y[100:], "classification"))):
        torch.testing.assert_close(ours, theirs, atol=0, rtol=0, equal_nan=True)


def test_full_batch_race_keeps_the_next_steps_loss_from_the_look_ahead_pass():
    configs = [BASE.replace(batch_size=None, optimizer=o, lr=lr, max_epochs=6, dtype="float32")
               for o, lr in (("sgd", 0.3), ("adam", 0.01), ("rmsprop", 0.003))]
    r = Race(configs)
    r.epoch()
    grad = torch.zeros_like(r.grad)
    expected, _ = r.net.loss_and_grads(r.X_train, r.y_train, r.loss, grad)
    records = r.epoch()
    assert [rec["train_loss"] for rec in records] == pytest.approx(expected.tolist(), abs=1e-6)
    # the second step used the gradient the look-ahead backward computed at those same weights
    assert not torch.equal(grad, torch.zeros_like(grad))
    torch.testing.assert_close(r.grad, grad, atol=1e-6, rtol=1e-5)
    for ours, config in zip(r.run(), configs):
        np.testing.assert_allclose(table(ours), table(train(config)), atol=1e-4)


def test_full_batch_race_runs_one_backward_per_chunk_per_epoch_and_none_after_the_last(monkeypatch):
    configs = [BASE.replace(batch_size=None, optimizer=o, lr=lr, max_epochs=4, dtype="float32")
               for o, lr in (("sgd", 0.3), ("adam", 0.01))]
    r = Race(configs)
    calls = []
    real = r.net._backward
    monkeypatch.setattr(r.net, "_backward", lambda *a, **k: calls.append(1) or real(*a, **k))
    r.run()
    assert all(run.history.epochs_seen == 4 for run in r.runs)
    assert len(calls) == 4 * len(r.chunks)  # the first epoch its own, epochs 1..3 the next one's, none after the 4th
    for ours, config in zip(r.runs, configs):
        np.testing.assert_allclose(table(ours), table(train(config)), atol=1e-4)


def test_a_race_of_1024_configs_runs_as_one_program_and_each_model_is_its_own_run():
    from lrlab.bench.race import big_race_pairs
    config = TrainConfig(max_epochs=3)
    configs = [config.replace(optimizer=o, lr=lr) for o, lr in big_race_pairs(1024)]
    r = Race(configs)
    assert r.K == 1024 and len(r.chunks) >= 1 and sum(c.stop - c.start for c in r.chunks) == 1024
    runs = r.run()
    assert len(runs) == 1024 and all(run.history.epochs_seen == 3 for run in runs)
    for k in (0, 300, 777, 1023):  # spot checks against the engine, model by model
        np.testing.assert_allclose(table(runs[k]), table(train(configs[k])), atol=1e-4)
