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


HOSTILE_NAMES = ['"""+str(__import__("os").system("touch PWNED"))+"""',
                 "'''+str(__import__('os').system('touch PWNED'))+'''",
                 "\\\\ __import__('os').system('touch PWNED') #"]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES, ids=["triple-double", "triple-single", "backslash"])
def test_a_csv_cannot_put_code_into_the_snippet(tmp_path, hostile):
    """The issue's exact class name (and two variants) is exported and the snippet run: nothing is created."""
    quoted = '"' + hostile.replace('"', '""') + '"'
    rows = [f"{i % 7},{(3 * i) % 5},{quoted if i % 2 else 'plain'}" for i in range(30)]
    path = tmp_path / "evil.csv"
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    try:
        ds = csvdata.load_csv(str(path))
    except ValueError as exc:  # refusing the name outright is also safe
        pytest.skip(f"the CSV reader refuses this name: {exc}")
    r = train(csvdata.config_for(TrainConfig(max_epochs=3), ds, str(path)))
    paths = export.export_run(r, str(tmp_path / "out"))
    work = tmp_path / "work"
    work.mkdir()
    out = subprocess.run([sys.executable, paths["py"]], cwd=work, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*")), "the snippet ran code from the CSV"
    ns = {}
    exec(compile(open(paths["py"]).read(), paths["py"], "exec"), ns)  # the name is data in the file
    assert hostile in ns["CLASS_NAMES"]
    assert hostile not in open(paths["py"]).read().split("CLASS_NAMES = ", 1)[0]


def test_a_diverged_network_exports_and_its_snippet_runs(tmp_path):
    r = train(TrainConfig(max_epochs=2, hidden=(3,)))
    with torch.no_grad():
        r.model.flat_parameters()[:3] = torch.tensor([float("inf"), float("-inf"), float("nan")])
    paths = export.export_run(r, str(tmp_path))
    text = open(paths["json"]).read()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    model, _ = export.model_from_json(text)
    first = next(model.parameters()).detach().flatten()[:3]
    assert first[0] == float("inf") and first[1] == float("-inf") and torch.isnan(first[2])
    ns = {}
    exec(open(paths["py"]).read(), ns)
    assert torch.isinf(ns["model"][0].weight.flatten()[0])


@pytest.mark.parametrize("bad, field", [
    ({"format": "lrlab-weights", "sizes": [2, 10**9, 2], "activation": "tanh", "layers": []}, "weights.sizes"),
    ({"format": "lrlab-weights", "sizes": [2] * 40, "activation": "tanh", "layers": []}, "weights.sizes"),
    ({"format": "lrlab-weights", "sizes": [2, 3, 2], "activation": "__import__('os')", "layers": []},
     "weights.activation"),
    ({"format": "lrlab-weights", "sizes": [2, 3, 2], "activation": "tanh", "dtype": "int8", "layers": []},
     "weights.dtype"),
    ({"format": "lrlab-weights", "sizes": [2, 3, 2], "activation": "tanh",
      "layers": [{"weight": [[1, 2]], "bias": [0]}, {"weight": "x", "bias": 1}]}, "weights.layers"),
    ("[1, 2", "weights"),
])
def test_hostile_weights_files_are_refused_before_allocating(bad, field):
    with pytest.raises(ValueError, match="^" + field.replace(".", r"\.")):
        export.model_from_json(bad if isinstance(bad, str) else json.dumps(bad))


def test_export_refuses_a_file_as_folder_before_writing(tmp_path):
    r = train(TrainConfig(max_epochs=1, hidden=(2,)))
    target = tmp_path / "taken"
    target.write_text("mine")
    with pytest.raises(ValueError, match="^export: .*is an existing file"):
        export.export_run(r, str(target))
    assert target.read_text() == "mine"
    with pytest.raises(ValueError, match="^export: the file stem"):
        export.export_run(r, str(tmp_path), stem="../escape")
