"""Exported weights (JSON) and the torch snippet rebuild the trained network exactly."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from lrlab import csvdata, export
from lrlab.train import TrainConfig, train

CONFIGS = [
    TrainConfig(max_epochs=15, hidden=(6, 5), activation="tanh"),
    TrainConfig(max_epochs=15, hidden=(7,), activation="relu", dataset="spiral", classes=3,
                features=("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2")),
    TrainConfig(max_epochs=15, hidden=(4, 4, 3), activation="leaky_relu", dtype="float64"),
    TrainConfig(max_epochs=15, hidden=(5,), activation="sigmoid", dataset="sine"),
    TrainConfig(max_epochs=15, hidden=(), dataset="xor", features=("x1", "x2", "x1*x2")),
]


@pytest.fixture(scope="module", params=range(len(CONFIGS)), ids=["tanh", "relu-3class-features", "leaky-f64",
                                                                    "sigmoid-sine", "no-hidden"])
def run(request):
    return train(CONFIGS[request.param])


def points(run, n=64):
    d = run.dataset.in_features
    return torch.as_tensor(np.random.default_rng(5).uniform(-1.5, 1.5, (n, d)), dtype=run.dataset.X_train.dtype)


def test_json_rebuilds_the_same_predictions(run):
    text = export.to_json(run)
    d = json.loads(text)
    assert d["format"] == "lrlab-weights" and d["sizes"] == list(run.model.sizes)
    model, _ = export.model_from_json(text)
    X = points(run)
    ours = run.output(X)
    theirs = model(run.inputs(X)).detach()
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)


def test_snippet_rebuilds_the_model_in_a_fresh_process(run, tmp_path):
    paths = export.export_run(run, str(tmp_path), stem="net")
    X = points(run)
    np.save(tmp_path / "X.npy", X.double().numpy())
    code = ("import runpy, sys, json, numpy as np\n"
            f"ns = runpy.run_path({paths['py']!r})\n"
            f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
            "print(json.dumps(ns['predict'](X).double().tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    theirs = torch.tensor(json.loads(out.stdout.strip().splitlines()[-1]), dtype=torch.float64)
    ours = run.output(X).double()
    assert theirs.shape == ours.shape
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)
    assert json.loads((tmp_path / "net.json").read_text())["activation"] == run.model.activation


def test_snippet_is_plain_torch_and_runs_as_a_script(tmp_path):
    r = train(TrainConfig(max_epochs=2, hidden=(3,)))
    text = export.torch_snippet(r)
    (tmp_path / "m.py").write_text(text)
    main = subprocess.run([sys.executable, str(tmp_path / "m.py")], capture_output=True, text=True, timeout=120)
    assert main.returncode == 0 and main.stdout.startswith("tensor(")
    assert "lrlab" not in text.split('"""', 2)[2]  # no lrlab import after the docstring
    assert "nn.Sequential(" in text and "nn.Tanh()" in text and "load_state_dict" in text


def test_csv_export_carries_the_rescaling(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,label\n" + "\n".join(f"{i},{10 * (i % 3)},{['a', 'b'][i % 2]}" for i in range(20)))
    ds = csvdata.load_csv(str(path))
    r = train(csvdata.config_for(TrainConfig(max_epochs=3), ds, str(path)))
    d = export.weights_dict(r)
    assert d["class_names"] == ["a", "b"] and d["input_min"] == [0.0, 0.0] and d["input_max"] == [19.0, 20.0]
    ns = {}
    exec(export.torch_snippet(r), ns)
    assert torch.allclose(ns["from_csv_units"]([[19.0, 0.0]]), torch.tensor([[1.0, -1.0]]))


def test_bad_weights_file():
    with pytest.raises(ValueError, match="weights: not an lrlab weights file"):
        export.model_from_json('{"format": "other"}')
