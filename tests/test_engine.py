"""lrlab.engine: one engine for one model and for K models.

* a single run (train(), K = 1) equals a plain torch loop (nn.Module, autograd, torch.optim)
  epoch by epoch, for every optimizer, full batch and mini-batches;
* a run is the engine with K = 1 (no second training loop in lrlab.train);
* frames: what plots read, immutable copies; the layering: plots and widgets never read the
  engine's private attributes, the engine imports nothing from plots or widgets.
"""
import ast
import math
import pathlib

import numpy as np
import pytest
import torch

from lrlab import engine as engine_mod
from lrlab import optim
from lrlab.engine import Engine, Frame, norm_columns
from lrlab.race import race
from lrlab.train import TrainConfig, Trainer, make_dataset, train

PACKAGE = pathlib.Path(engine_mod.__file__).parent

TORCH = {  # lrlab optimizer -> (lr, the torch.optim optimizer that must agree)
    "sgd": (0.1, lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum": (0.05, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "nesterov": (0.05, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "adagrad": (0.05, lambda p: torch.optim.Adagrad(p, lr=0.05)),
    "rmsprop": (0.005, lambda p: torch.optim.RMSprop(p, lr=0.005)),
    "adam": (0.01, lambda p: torch.optim.Adam(p, lr=0.01, foreach=False)),
    "adamw": (0.01, lambda p: torch.optim.AdamW(p, lr=0.01, foreach=False)),
    "adadelta": (1.0, lambda p: torch.optim.Adadelta(p, lr=1.0)),
}


def plain_loop(config: TrainConfig, make_opt, epochs: int):
    """What a learner writes: nn.Sequential with the run's initial weights, CrossEntropyLoss,
    autograd, torch.optim; the engine's batches (randperm from Generator(seed + 1) each epoch).
    Returns per epoch (train loss = mean of the batches' losses, test loss after the epoch)."""
    ds = make_dataset(config)
    sizes = (2, *config.hidden, 2)
    init = Trainer(config).model  # the documented initialisation (lrlab.nets.init_weights)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = torch.nn.Linear(a, b, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(init.layers[i].weight)
            layer.bias.copy_(init.layers[i].bias)
        layers += [layer, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = make_opt(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(config.seed + 1)
    n = ds.X_train.shape[0]
    batch = config.batch_size or n
    rows = []
    for _ in range(epochs):
        order = torch.arange(n) if batch >= n else torch.randperm(n, generator=gen)
        losses = []
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss = loss_fn(model(ds.X_train[idx]), ds.y_train[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            test = loss_fn(model(ds.X_test), ds.y_test).item()
        rows.append((sum(losses) / len(losses), test))
    return np.array(rows), model


@pytest.mark.parametrize("batch_size", [None, 32], ids=["full-batch", "batches-of-32"])
@pytest.mark.parametrize("name", list(TORCH))
def test_a_single_run_equals_a_plain_torch_loop(name, batch_size):
    lr, make_opt = TORCH[name]
    epochs = 25
    config = TrainConfig(dataset="moons", n_samples=160, hidden=(8, 8), activation="tanh", optimizer=name, lr=lr,
                         max_epochs=epochs, batch_size=batch_size, dtype="float64", divergence_factor=1e300)
    run = train(config)
    theirs, model = plain_loop(config, make_opt, epochs)
    ours = np.stack([run.history["train_loss"], run.history["test_loss"]], 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    assert run.steps == epochs * (1 if batch_size is None else math.ceil(128 / batch_size))


def test_a_run_is_the_engine_with_one_model():
    import inspect

    from lrlab import train as train_mod
    t = Trainer(TrainConfig(max_epochs=3, n_samples=64))
    assert type(t.engine) is Engine and t.engine.K == 1
    # the single run's model and params are the engine's buffer (views: no copy to keep in sync)
    assert t.params.data_ptr() == t.engine.params.data_ptr() == t.model.flat_parameters().data_ptr()
    source = inspect.getsource(train_mod)
    for name in ("loss_and_grads", "minibatches(", ".step(", "randperm", "EpochRules"):
        assert name not in source, name  # no second training loop
    t.epoch()
    before = t.model(t.X_test[:3]).detach().clone()
    t.epoch()
    assert not torch.equal(before, t.model(t.X_test[:3]))  # the model follows the training


def test_race_of_one_equals_train():
    config = TrainConfig(max_epochs=15, n_samples=96, optimizer="rmsprop", lr=0.01, schedule="cosine")
    (a,), b = race([config]), train(config)
    for col in ("train_loss", "test_loss", "train_acc", "test_acc", "lr"):
        np.testing.assert_array_equal(a.history[col], b.history[col])
    assert (a.stop_reason, a.best_epoch, a.steps) == (b.stop_reason, b.best_epoch, b.steps)


# ------------------------------------------------------------------ frames
def test_frame_is_an_immutable_copy_of_what_plots_draw():
    config = TrainConfig(max_epochs=20, n_samples=96, optimizer="adam", hidden=(6, 5))
    t = Trainer(config, norms=True)
    for _ in range(4):
        t.epoch()
    grid = np.random.default_rng(0).uniform(-2, 2, (50, 2))
    f = t.frame(grid)
    assert isinstance(f, Frame) and f.epochs_done == 4 and f.max_epochs == 20 and not f.done
    np.testing.assert_array_equal(f.history["epoch"], [0, 1, 2, 3])
    np.testing.assert_allclose(f.grid, torch.softmax(t.run.output(grid), 1)[:, 1].double().numpy(), rtol=1e-6)
    # the norm columns are the engine's records, and the frame's norms are those of the weights now
    weights = [p.detach().double() for p in t.model.parameters()]
    by_layer = [math.sqrt(float((weights[2 * l] ** 2).sum() + (weights[2 * l + 1] ** 2).sum())) for l in range(3)]
    np.testing.assert_allclose(f.weight_norms, by_layer, rtol=1e-6)
    np.testing.assert_allclose([f.history[c][-1] for c in norm_columns(3)[:3]], by_layer, rtol=1e-6)
    # effective steps: Adam's multiplier on the gradient, per parameter, with its layer
    assert f.effective_steps.shape == f.layer_of.shape == (t.params.numel(),)
    np.testing.assert_allclose(f.effective_steps, t.effective_steps().double().numpy())
    assert sorted(set(f.layer_of.tolist())) == [0, 1, 2]
    # immutable: the frame cannot be changed, and training on does not change it
    with pytest.raises(ValueError):
        f.history["train_loss"][0] = 0.0
    with pytest.raises(Exception):
        f.epochs_done = 9
    kept = f.history["train_loss"].copy()
    t.epoch()
    np.testing.assert_array_equal(f.history["train_loss"], kept)
    assert t.frame().epochs_done == 5


def test_frames_of_a_race_are_per_model():
    configs = [TrainConfig(max_epochs=6, n_samples=64, optimizer="sgd", lr=0.2),
               TrainConfig(max_epochs=6, n_samples=64, optimizer="adam", lr=0.01)]
    e = Engine(configs)
    e.run()
    frames = [e.frame(k) for k in range(2)]
    runs = e.runs
    for f, r in zip(frames, runs):
        np.testing.assert_array_equal(f.history["train_loss"], r.history["train_loss"])
        assert f.done and f.stop_reason == r.stop_reason and f.best_epoch == r.best_epoch
    assert np.allclose(frames[0].effective_steps, 0.2)  # SGD: lr for every parameter
    grid = np.random.default_rng(1).uniform(-2, 2, (40, 2))
    for k in range(2):  # each model's own predictions on the grid
        expected = torch.softmax(runs[k].output(grid), 1)[:, 1].double().numpy()
        np.testing.assert_allclose(e.frame(k, grid).grid, expected, rtol=1e-6, atol=1e-7)
    assert not np.allclose(e.frame(0, grid).grid, e.frame(1, grid).grid)


def test_the_range_test_uses_the_engines_public_step():
    from lrlab import race as race_mod
    source = pathlib.Path(race_mod.__file__).read_text()
    for private in ("r._", "race._", "engine._"):
        assert private not in source


# ------------------------------------------------------------------ layering
def _imports(path: pathlib.Path) -> set:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


ENGINE_SIDE = ("engine.py", "train.py", "race.py", "batched.py", "rules.py", "history.py", "config.py", "run.py",
               "optim.py", "schedules.py", "nets.py", "data.py")


@pytest.mark.parametrize("name", ENGINE_SIDE)
def test_the_engine_imports_nothing_from_plots_or_widgets(name):
    for module in _imports(PACKAGE / name):
        assert "plots" not in module and "widgets" not in module, (name, module)


ENGINE_PRIVATE = ("_ahead", "_groups", "_khistories", "_set_lrs", "_step", "_stop_models", "_sync_runs", "_t0",
                  "_best_epoch", "_pipeline", "opt_state", "_epoch_lrs", "_active_col")


@pytest.mark.parametrize("path", sorted((PACKAGE / "plots").glob("*.py")) + sorted((PACKAGE / "widgets").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plots_and_widgets_read_no_private_engine_attribute(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_PRIVATE:
            raise AssertionError(f"{path.name}:{node.lineno} reads .{node.attr}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in (
                "trainer", "race", "engine") and node.attr in ("opt", "hyper", "groups", "rules", "net"):
            raise AssertionError(f"{path.name}:{node.lineno} reads {node.value.id}.{node.attr}")


# the network view's plots draw the engine's NetworkFrame: no forward pass, no model, no data of their own
NO_FORWARD_IN = ("plots/network.py",)
FORWARD_NAMES = ("hidden_preactivations", "weights_and_biases", "flat_parameters", "predict", "predict_proba",
                 "output", "outputs", "forward", "model", "layers", "dead_unit_mask", "activate", "_parts",
                 "make_dataset", "data", "transform")


def _forward_reads(source: str) -> list:
    """What ``source`` does that only a forward pass of its own needs: imports torch or lrlab's
    maths (nets, presets, export, data, engine, batched), calls anything named in FORWARD_NAMES
    (``run.model(X)``, ``hidden_preactivations(m, X)``, ``m.weights_and_biases()``, ...) or reads
    ``.model`` / ``.layers`` / ``.weights_and_biases``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                                                    else [])
            for name in names:
                if name.split(".")[0] == "torch" or name.split(".")[-1] in (
                        "nets", "presets", "export", "data", "engine", "batched", "hidden_preactivations", "activate"):
                    found.append(f"{node.lineno}: imports {name}")
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name in FORWARD_NAMES:
                found.append(f"{node.lineno}: calls {name}")
        elif isinstance(node, ast.Attribute) and node.attr in ("model", "layers", "weights_and_biases"):
            found.append(f"{node.lineno}: reads .{node.attr}")
    return found


@pytest.mark.parametrize("name", NO_FORWARD_IN)
def test_the_network_plots_run_no_forward_pass(name):
    assert _forward_reads((PACKAGE / name).read_text()) == []


@pytest.mark.parametrize("source", [
    "def draw(ax, run):\n    out = run.model(X)",
    "def draw(ax, run):\n    Ws, bs = run.model.weights_and_biases()",
    "def draw(ax, m):\n    Ws, bs = m.weights_and_biases()",
    "from ..presets import hidden_preactivations\ndef f(m, X):\n    return hidden_preactivations(m, X)",
    "def f(m, X):\n    return hidden_preactivations(m, X)",
    "import torch\ndef f(x):\n    return torch.tanh(x)",
    "def f(run, X):\n    return run.predict(X)",
    "def f(m, x):\n    for layer in m.layers:\n        x = layer(x)",
    "from ..export import _parts\n",
])
def test_the_forward_pass_check_finds_one(source):
    assert _forward_reads(source), source


# ------------------------------------------------------------------ bookkeeping on the device
def _mixed(epochs=70, batch_size=None):
    b = TrainConfig(max_epochs=epochs, n_samples=96, hidden=(6,), batch_size=batch_size, dtype="float64")
    return [b.replace(optimizer="sgd", lr=0.5),
            b.replace(optimizer="adam", lr=0.01, schedule="cosine"),
            b.replace(optimizer="sgd", lr=100.0, divergence_factor=2.0),  # diverges early
            b.replace(optimizer="sgd", lr=0.2, patience=3, min_delta=0.01),
            b.replace(optimizer="adam", lr=0.05, target_accuracy=0.75, select_best="accuracy"),
            b.replace(optimizer="rmsprop", lr=0.01, schedule="reduce_on_plateau", schedule_params={"patience": 2}),
            b.replace(optimizer="momentum", lr=0.3, schedule="cosine_plateau_cuts",
                      schedule_params={"period": 5, "min_lr": 0.01})]


@pytest.mark.parametrize("batch_size", [None, 32], ids=["full-batch", "batches-of-32"])
def test_bookkeeping_on_the_device_gives_the_same_runs(batch_size):
    """The GPU's bookkeeping path (rules, best epoch, history blocks on the device), run on the CPU."""
    configs = _mixed(batch_size=batch_size)
    host, dev = Engine(configs), Engine(configs, device_bookkeeping=True)
    assert not host.on_device and dev.on_device and isinstance(dev._best_epoch, torch.Tensor)
    seen = []
    probe = Engine(configs[:2], device_bookkeeping=True)
    probe.epoch()
    assert len(probe._pending) == 1  # the epoch's rows are held back on the device ...
    assert probe.runs[0].history["epoch"].tolist() == [0] and not probe._pending  # ... and written when read
    a = host.run()
    b = dev.run(on_epoch=lambda records, _: seen.append(records[1]["train_loss"]))
    assert len(seen) == len(b[1].history["train_loss"])  # its record read every epoch
    assert len({r.stop_reason for r in a}) >= 4 and max(len(r.history) for r in a) > 32  # crosses a block
    for x, y in zip(a, b):
        assert (x.stop_reason, x.stop_epoch, x.best_epoch, x.steps) == (y.stop_reason, y.stop_epoch, y.best_epoch,
                                                                        y.steps)
        assert x.best_metrics == y.best_metrics
        assert x.history.columns == y.history.columns and x.history.epochs_seen == y.history.epochs_seen
        for column in x.history.columns[:-1]:  # every column but the wall-clock seconds
            np.testing.assert_array_equal(x.history[column], y.history[column])
        assert {k: v for k, v in x.history.last.items() if k != "seconds"} == \
            {k: v for k, v in y.history.last.items() if k != "seconds"}
        assert torch.equal(x.model.flat_parameters(), y.model.flat_parameters())


@pytest.mark.parametrize("name, value", [("norms", "yes"), ("norms", 1), ("device_bookkeeping", "no"),
                                         ("device_bookkeeping", 0)])
def test_engine_flags_must_be_booleans(name, value):
    """A flag given as a string or a number is refused (bool("no") would be True)."""
    with pytest.raises(ValueError, match=name):
        Engine([TrainConfig(max_epochs=2, n_samples=40)], **{name: value})
