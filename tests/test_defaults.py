"""Defaults that learn (lrlab.defaults): with each dataset's network, epochs and size, Adam at its
default learning rate reaches 90 % (R^2 0.9 on sine) on several seeds; the CLI, the playground and
the panel's dataset dropdown start from them, and an explicit value always wins."""
import pytest

from lrlab import defaults, optim
from lrlab.cli import build_parser, main
from lrlab.cli._config import config_from_args
from lrlab.cli.race import race_configs
from lrlab.data import DATASETS
from lrlab.train import TrainConfig, train
from lrlab.widgets import TrainingPanel
from lrlab.widgets.training_panel import playground


@pytest.mark.parametrize("name", DATASETS)
def test_adam_at_its_default_lr_learns_every_dataset(name):
    for seed in (0, 1, 2):
        config = defaults.config(name, seed=seed)
        assert config.optimizer == "adam" and config.lr == optim.get("adam").defaults["lr"]
        assert config.schedule == "constant" and config.batch_size is None
        run = train(config)
        assert run.best_metrics["test_acc"] >= 0.9, (name, seed, run.summary())  # R^2 for sine


@pytest.mark.parametrize("seed", [0, 1])
def test_three_spiral_arms_learn_too(seed):
    config = defaults.config("spiral", classes=3, seed=seed)
    assert config.noise == 0.05  # at 0.1 three arms overlap: 76-80 % at best (lrlab.defaults)
    run = train(config)
    assert run.dataset.n_classes == 3 and run.best_metrics["test_acc"] >= 0.9, run.summary()
    assert defaults.config("spiral", classes=3, noise=0.2).noise == 0.2  # given values win


def test_more_classes_bring_their_defaults_in_the_panel_until_changed():
    p = TrainingPanel(live=False, dataset="spiral", **{k: v for k, v in defaults.for_dataset("spiral").items()})
    p.data_picker.classes.value = 3
    assert p.config().noise == 0.05 and p.config().classes == 3
    p.data_picker.classes.value = 2
    assert p.config().noise == 0.1
    p.data_picker.noise.value = 0.3  # the learner's choice stays
    p.data_picker.classes.value = 4
    assert p.config().noise == 0.3
    p.close()


def test_every_dataset_has_its_defaults_and_explicit_values_win():
    assert set(defaults.DEFAULTS) == set(DATASETS)
    for name in DATASETS:
        d = defaults.for_dataset(name)
        assert set(d) == set(defaults.FIELDS)
        d["hidden"] = (1,)  # a copy: the table stays
        assert defaults.for_dataset(name)["hidden"] != (1,)
        config = defaults.config(name)
        config.validate()
        assert {k: getattr(config, k) for k in defaults.FIELDS} == defaults.for_dataset(name)
    c = defaults.config("spiral", hidden=(8,), max_epochs=5, n_samples=100, activation="tanh")
    assert (c.hidden, c.max_epochs, c.n_samples, c.activation) == ((8,), 5, 100, "tanh")
    assert defaults.config("sine").loss == "mse"
    # the learner's CSV takes no dataset's defaults; TrainConfig itself is unchanged
    assert defaults.config("spiral", csv_path="x.csv").hidden == TrainConfig().hidden
    assert TrainConfig(dataset="spiral").hidden == (16, 16) and TrainConfig().max_epochs == 200


@pytest.mark.parametrize("bad", ["nope", "", None, 3, ("spiral",), "Spiral"])
def test_unknown_dataset_is_refused(bad):
    with pytest.raises(ValueError, match="dataset: unknown dataset"):
        defaults.for_dataset(bad)
    with pytest.raises(ValueError, match="dataset: unknown dataset"):
        defaults.config(bad)


def test_follow_moves_only_untouched_controls():
    moons, spiral = defaults.for_dataset("moons"), defaults.for_dataset("spiral")
    differ = [k for k in defaults.FIELDS if spiral[k] != moons[k]]
    assert differ and "noise" not in differ  # (the same noise for two arms)
    assert defaults.follow(dict(moons), "moons", "spiral") == {k: spiral[k] for k in differ}
    assert defaults.follow(dict(spiral), "spiral", "moons") == {k: moons[k] for k in differ}
    assert defaults.follow(dict(spiral), "spiral", "spiral", 2, 3) == {"noise": 0.05}
    assert defaults.follow({**spiral, "noise": 0.3}, "spiral", "spiral", 2, 3) == {}
    changed = {**moons, "hidden": [8, 8], "max_epochs": 77}
    assert defaults.follow(changed, "moons", "spiral") == {"activation": "relu", "n_samples": 1024}
    assert defaults.follow(dict(moons), "moons", "xor") == {}
    assert defaults.follow({"hidden": [16, 16]}, "moons", "spiral") == {"hidden": (32, 32)}


def args(*argv):
    return build_parser().parse_args(argv)


def test_cli_starts_from_the_dataset_defaults():
    c = config_from_args(args("train", "--dataset", "spiral"))
    assert {k: getattr(c, k) for k in defaults.FIELDS} == defaults.for_dataset("spiral")
    c = config_from_args(args("train", "--dataset", "spiral", "--hidden", "8", "--epochs", "5", "--samples", "64"))
    assert (c.hidden, c.max_epochs, c.n_samples, c.activation) == ((8,), 5, 64, "relu")
    assert config_from_args(args("train")) == TrainConfig()  # moons: the TrainConfig defaults
    race = config_from_args(args("race", "--dataset", "spiral", "--epochs", "150"), validate=False)
    assert (race.hidden, race.max_epochs) == ((32, 32), 150)


def test_help_says_each_dataset_has_its_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 16,16; spiral: 32,32)" in out and "(default: 200; spiral: 300)" in out


def test_the_race_from_the_issue_now_teaches_something():
    base = config_from_args(args("race", "--dataset", "spiral"), validate=False)
    runs = {c.optimizer: train(c) for c in race_configs(base, ["sgd", "adam", "rmsprop"], ["constant"])}
    assert runs["adam"].best_metrics["test_acc"] >= 0.9 and runs["rmsprop"].best_metrics["test_acc"] >= 0.85
    assert runs["sgd"].best_metrics["test_acc"] <= 0.7  # plain SGD at 0.01: still near chance


def test_playground_starts_from_the_spiral_defaults_and_given_values_win():
    p = playground(live=False)
    assert p.config() == defaults.config("spiral", target_accuracy=None)
    p.close()
    p = playground(dataset="moons", hidden=(8,), live=False)
    assert p.config().hidden == (8,) and p.config().max_epochs == defaults.for_dataset("moons")["max_epochs"]
    p.close()


def test_picking_a_dataset_in_the_panel_brings_its_defaults_until_changed():
    p = TrainingPanel(live=False)
    fields = lambda: {k: getattr(p.config(), k) for k in defaults.FIELDS}
    assert fields() == defaults.for_dataset("moons")
    p.data_picker.dataset.value = "spiral"
    assert fields() == defaults.for_dataset("spiral")
    assert p.trainer.model.sizes == (2, 32, 32, 2)  # the panel shows the new network at once
    p.stop_picker.max_epochs.value = 77  # the learner's choice stays
    p.data_picker.dataset.value = "xor"
    assert fields() == {**defaults.for_dataset("xor"), "max_epochs": 77}
    # a config (a preset, a share string) is shown as given: no defaults on top
    p.set_config(TrainConfig(dataset="spiral", hidden=(4,), max_epochs=9))
    assert (p.config().hidden, p.config().max_epochs, p.config().n_samples) == ((4,), 9, 512)
    p.close()


def test_the_race_panel_starts_from_the_defaults_too():
    from lrlab.widgets import RacePanel
    panel = RacePanel()
    assert panel.base == defaults.config(TrainConfig().dataset)
    assert panel.epochs.value == defaults.for_dataset(TrainConfig().dataset)["max_epochs"]
