"""Choosing the final model on the held-out split (the default) or on the training split.

The cosine-with-cuts procedure ends with "choose the model with the lowest training loss or the
highest accuracy": ``select_split='train'`` does that; ``'test'`` judges on the held-out split.
On an overfitting run the two choices differ, and the weights restored are those of the best
epoch by the split chosen (checked against the run's history and against the weights the
engine had at the end of that epoch).
"""
import numpy as np
import pytest
import torch

from lrlab import rules, share
from lrlab.config import SELECT_SPLIT
from lrlab.engine import Engine
from lrlab.race import race
from lrlab.run import Run
from lrlab.train import TrainConfig, make_dataset, train

#: few points, a wide network, many epochs: the training loss falls to the end, the test loss
#: turns up early (an overfitting net)
OVERFIT = dict(dataset="moons", noise=0.3, n_samples=100, hidden=(64, 64), optimizer="adam", lr=0.01,
               max_epochs=200, dtype="float64", seed=0)


def _column(history, split, by):
    return history[f"{split}_loss"] if by == "loss" else -history[f"{split}_acc"]


@pytest.mark.parametrize("value", ["val", "Train", "", None, 1, True, ("train",)])
def test_bad_split_is_a_value_error_naming_the_field(value):
    with pytest.raises(ValueError, match=r"^select_split: "):
        TrainConfig(select_split=value).validate()


def test_default_is_the_held_out_split():
    assert TrainConfig().select_split == "test"
    assert SELECT_SPLIT == ("test", "train")


def test_overfitting_run_the_two_choices_differ():
    runs = {split: train(TrainConfig(**OVERFIT, select_split=split)) for split in SELECT_SPLIT}
    h = runs["test"].history
    assert np.array_equal(h["train_loss"], runs["train"].history["train_loss"])  # the same training
    by_test, by_train = int(np.argmin(h["test_loss"])), int(np.argmin(h["train_loss"]))
    assert by_test != by_train
    assert runs["test"].best_epoch == by_test and runs["train"].best_epoch == by_train
    # the held-out choice is the better model on held-out data
    assert runs["test"].best_metrics["test_loss"] < runs["train"].best_metrics["test_loss"]


@pytest.mark.parametrize("by", ["loss", "accuracy"])
@pytest.mark.parametrize("split", SELECT_SPLIT)
def test_restored_weights_are_those_of_the_best_epoch_by_the_split(split, by):
    config = TrainConfig(**OVERFIT, select_split=split, select_best=by)
    engine = Engine([config])
    snapshots = []
    while not engine.done:
        engine.epoch()
        snapshots.append(engine.params[0].detach().clone())
    run = engine.runs[0]
    h = run.history
    best = int(np.argmin(_column(h, split, by)))  # the first of equals: a later tie is no improvement
    assert run.best_epoch == best and run.restored_best
    # the weights at the end of that epoch (the last snapshot is taken after the restore), and of
    # no other epoch before the last
    assert torch.equal(engine.params[0], snapshots[best])
    assert best == len(h) - 1 or [torch.equal(s, snapshots[best]) for s in snapshots[:-1]].count(True) == 1
    ds = make_dataset(config)
    again = run.evaluate(ds.X_test, ds.y_test)
    assert again["loss"] == pytest.approx(h["test_loss"][best], rel=1e-9)
    for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
        assert run.best_metrics[name] == pytest.approx(h[name][best], rel=1e-12)


def test_a_race_judges_each_model_on_its_own_split():
    base = TrainConfig(**OVERFIT)
    configs = [base.replace(select_split="train"), base.replace(select_split="test"),
               base.replace(select_split="train", select_best="accuracy", lr=0.02)]
    runs = race(configs)
    for config, run in zip(configs, runs):
        assert run.best_epoch == int(np.argmin(_column(run.history, config.select_split, config.select_best)))
    assert runs[0].best_epoch != runs[1].best_epoch


def test_the_rules_alone_on_hand_made_metrics():
    # train loss falls every epoch; test loss is lowest at epoch 1; train accuracy peaks at 2, test at 0
    train_loss, test_loss = [0.9, 0.5, 0.3, 0.2], [0.8, 0.4, 0.6, 0.9]
    train_acc, test_acc = [0.6, 0.8, 0.95, 0.95], [0.9, 0.85, 0.8, 0.7]
    want = {("train", "loss"): 3, ("test", "loss"): 1, ("train", "accuracy"): 2, ("test", "accuracy"): 0}
    for (split, by), epoch in want.items():
        r = rules.EpochRules([TrainConfig(select_split=split, select_best=by, max_epochs=4)])
        improved = [bool(r.after_epoch(e, *(np.array([m[e]]) for m in (train_loss, test_loss, train_acc, test_acc)))[0][0])
                    for e in range(4)]
        assert max(e for e, up in enumerate(improved) if up) == epoch, (split, by)


def test_best_rule_in_words():
    assert rules.best_rule(TrainConfig()) == "lowest test loss"
    assert rules.best_rule(TrainConfig(select_split="train", select_best="accuracy")) == "highest train accuracy"


def test_share_string_and_run_json_carry_the_split(tmp_path):
    config = TrainConfig(select_split="train", max_epochs=5, n_samples=64)
    assert share.decode(share.encode(config)).select_split == "train"
    assert share.decode(share.encode(TrainConfig())).select_split == "test"
    run = train(config)
    back = Run.from_json(run.to_json())
    assert back.config.select_split == "train" and back.best_epoch == run.best_epoch
    # a run saved before the field existed reads as the default (the held-out split)
    d = config.to_dict()
    del d["select_split"]
    assert TrainConfig.from_dict(d).select_split == "test"


def test_stop_picker_shows_and_sets_the_split():
    from lrlab.widgets.pickers import StopPicker
    p = StopPicker(select_split="train")
    assert p.select_split.value == "train" and p.config_changes()["select_split"] == "train"
    p.select_split.value = "test"
    assert p.config(TrainConfig()).select_split == "test"
    assert dict(p.select_split.options) == {"held-out (test)": "test", "training": "train"}


@pytest.mark.parametrize("bookkeeping", [False, True])
def test_mixed_splits_with_the_rules_on_the_host_or_as_torch_tensors(bookkeeping):
    # device_bookkeeping=True runs the rules on torch tensors (as on a GPU), here on the CPU
    base = TrainConfig(**{**OVERFIT, "max_epochs": 120})
    configs = [base.replace(select_split="train"), base.replace(select_split="test", select_best="accuracy"),
               base.replace(select_split="test"), base.replace(select_split="train", select_best="accuracy")]
    runs = Engine(configs, device_bookkeeping=bookkeeping).run()
    for config, run in zip(configs, runs):
        assert run.best_epoch == int(np.argmin(_column(run.history, config.select_split, config.select_best)))
    assert runs[0].best_epoch != runs[2].best_epoch
