import json
import math
import threading
import time

import numpy as np
import pytest
import torch

from lrlab import TrainConfig, train
from lrlab.train import Run, Trainer, make_dataset

FAST = dict(n_samples=256, hidden=(8, 8))


def test_moons_adam_reaches_95_percent_quickly():
    t = time.perf_counter()
    run = train(TrainConfig(dataset="moons", optimizer="adam", max_epochs=300, seed=0))
    assert run.stop_reason == "max_epochs"
    assert run.best_metrics["test_acc"] >= 0.95
    assert time.perf_counter() - t < 30  # "a few seconds" on a quiet machine; generous for CI


def test_every_epoch_is_recorded():
    run = train(TrainConfig(max_epochs=25, **FAST))
    h = run.history
    assert list(h["epoch"]) == list(range(25))
    for column in ("lr", "train_loss", "test_loss", "train_acc", "test_acc"):
        assert np.all(np.isfinite(h[column])), column
    assert np.all(h["lr"] == 0.01)
    assert run.steps == 25  # full batch: one step per epoch


def test_minibatches_take_several_steps_and_are_seeded():
    config = TrainConfig(max_epochs=5, batch_size=32, **FAST)
    a, b = train(config), train(config)
    assert a.steps == 5 * math.ceil(205 / 32)
    assert np.array_equal(a.history["train_loss"], b.history["train_loss"])
    c = train(config.replace(seed=1))
    assert not np.array_equal(a.history["train_loss"], c.history["train_loss"])


def test_target_accuracy_stops_early():
    run = train(TrainConfig(max_epochs=500, target_accuracy=0.9, **FAST))
    assert run.stop_reason == "target_accuracy"
    assert run.history.last["test_acc"] >= 0.9 and run.stop_epoch < 499
    assert "test accuracy" in run.message() and run.message().startswith("reached")


def test_converged_when_loss_stalls():
    run = train(TrainConfig(optimizer="sgd", lr=1e-6, max_epochs=1000, patience=10, min_delta=1e-3, **FAST))
    assert run.stop_reason == "converged" and run.stop_epoch == 10  # epoch 0 sets the mark, 10 more stall


def test_divergence_is_a_result_not_an_error():
    run = train(TrainConfig(dataset="sine", optimizer="sgd", lr=50.0, activation="relu", max_epochs=200, **FAST))
    assert run.stop_reason == "diverged"
    assert run.message().startswith(f"diverged at epoch {run.stop_epoch + 1}")
    assert "the learning rate is too high" in run.message() and "where it started" in run.message()
    if run.best_epoch is not None:  # the last good epoch's weights are back
        assert all(torch.isfinite(p).all() for p in run.model.parameters())


def test_stopped_by_user_via_should_stop():
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 7

    run = train(TrainConfig(max_epochs=1000, **FAST), should_stop=should_stop)
    assert run.stop_reason == "stopped_by_user" and run.stop_epoch <= 7


def test_stop_from_another_thread_is_prompt():
    flag = threading.Event()
    result = {}
    th = threading.Thread(target=lambda: result.setdefault("run", train(
        TrainConfig(max_epochs=10**7, **FAST), should_stop=flag.is_set)))
    th.start()
    time.sleep(0.3)
    t = time.perf_counter()
    flag.set()
    th.join(5)
    assert not th.is_alive() and time.perf_counter() - t < 1.0
    assert result["run"].stop_reason == "stopped_by_user"


@pytest.mark.parametrize("select_best", ["loss", "accuracy"])
def test_best_epoch_weights_are_restored(select_best):
    # lr too high for SGD on spiral: the loss wanders, so the best epoch is not the last one
    config = TrainConfig(dataset="spiral", optimizer="sgd", lr=3.0, max_epochs=60, select_best=select_best,
                         dtype="float64", **FAST)
    run = train(config)
    h = run.history
    column = h["test_loss"] if select_best == "loss" else -h["test_acc"]
    assert run.best_epoch == int(np.argmin(column))
    assert run.restored_best
    ds = make_dataset(config)
    again = run.evaluate(ds.X_test, ds.y_test)  # predict with the restored weights
    assert again["loss"] == pytest.approx(h["test_loss"][run.best_epoch], rel=1e-9)
    assert again["acc"] == pytest.approx(h["test_acc"][run.best_epoch], rel=1e-9)
    preds = run.predict(ds.X_test)
    assert float((preds == ds.y_test).double().mean()) == pytest.approx(h["test_acc"][run.best_epoch])


def test_json_round_trip(tmp_path):
    run = train(TrainConfig(max_epochs=20, **FAST))
    path = tmp_path / "run.json"
    run.to_json(str(path))
    json.loads(path.read_text())  # valid strict JSON
    back = Run.from_json(str(path))
    assert back.config == run.config and back.stop_reason == run.stop_reason and back.best_epoch == run.best_epoch
    assert np.array_equal(back.history["test_loss"], run.history["test_loss"])
    X = torch.randn(50, 2)
    assert torch.equal(back.predict(X), run.predict(X))


def test_regression_records_r2():
    run = train(TrainConfig(dataset="sine", max_epochs=300, **FAST))
    assert run.config.loss == "mse" and run.kind == "regression"
    assert run.best_metrics["test_acc"] > 0.8  # R^2
    assert run.predict(torch.zeros(3, 1)).shape == (3, 1)


def test_features_and_regularisation():
    run = train(TrainConfig(dataset="xor", features=("x1", "x2", "x1*x2"), hidden=(4,), max_epochs=150))
    assert run.model.sizes[0] == 3 and run.best_metrics["test_acc"] > 0.9
    plain = train(TrainConfig(max_epochs=50, **FAST))
    l2 = train(TrainConfig(max_epochs=50, regularization="l2", reg_rate=0.1, **FAST))
    l1 = train(TrainConfig(max_epochs=50, regularization="l1", reg_rate=0.01, **FAST))
    norm = lambda r: float(sum(l.weight.detach().abs().sum() for l in r.model.layers))
    assert norm(l2) < norm(plain) and norm(l1) < norm(plain)


def test_multiclass_spiral():
    run = train(TrainConfig(dataset="blobs", classes=4, max_epochs=200, **FAST))
    assert run.model.sizes[-1] == 4 and run.best_metrics["test_acc"] > 0.85


@pytest.mark.parametrize("changes, field", [
    (dict(lr=0), "lr"), (dict(lr=-1), "lr"), (dict(optimizer="rmsprob"), "optimizer"),
    (dict(hidden=(16, 0)), "hidden"), (dict(batch_size=10_000), "batch_size"), (dict(activation="gelu"), "activation"),
    (dict(loss="hinge"), "loss"), (dict(max_epochs=0), "max_epochs"), (dict(target_accuracy=1.5), "target_accuracy"),
    (dict(select_best="f1"), "select_best"), (dict(device="tpu"), "device"), (dict(schedule="sawtooth"), "schedule"),
])
def test_validation_names_the_field(changes, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        TrainConfig(**changes).validate()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="^device: 'cuda' was asked for but no CUDA GPU"):
        train(TrainConfig(device="cuda"))


def test_trainer_epoch_by_epoch_matches_train():
    config = TrainConfig(max_epochs=10, **FAST)
    trainer = Trainer(config)
    while not trainer.done:
        trainer.epoch()
    assert np.array_equal(trainer.run.history["train_loss"], train(config).history["train_loss"])
