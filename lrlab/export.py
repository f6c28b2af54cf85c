"""Export a trained network: its weights as JSON, and a runnable torch snippet that rebuilds it.

The network lrlab trains is ``features(X) -> Linear -> f -> ... -> Linear`` (the output
layer is linear: logits for classification, the value for regression). Both exports
carry everything needed to reproduce its outputs outside lrlab:

* :func:`weights_dict` / :func:`to_json`: ``{"format": "lrlab-weights", "version": 1,
  "sizes": [in, h1, ..., out], "activation", "features", "kind", "class_names",
  "input_min", "input_max", "layers": [{"weight": [[...]], "bias": [...]}, ...]}``.
  Numbers are written with ``repr`` (17 significant digits), so float32 and float64
  weights come back bit for bit.
* :func:`torch_snippet`: a stand-alone ``.py`` text (needs only torch) that builds the
  same ``nn.Sequential``, loads the weights written inline, and defines
  ``features(X)`` (the input transforms the run used) and ``predict(X)`` (raw inputs
  -> network outputs). Running it prints the predictions for a few points.
  ``predict`` takes the inputs the run was trained on; for a rescaled CSV those are the
  rescaled ones, ``from_csv_units(X)`` maps the file's units to them.
* :func:`export_run`: both files into a folder.

**Nothing a file brought in is run.** Class names, column names and file names come from
the learner's CSV, so they may hold anything, code included. They reach the generated
``.py`` only as Python literals written by ``repr()`` (``CLASS_NAMES = [...]``), never
formatted into its code, docstrings or comments; every other word of the snippet is
chosen from the fixed tables below (activations, features, dtypes), and numbers are
written by :func:`_literal` (``float('inf')`` for a diverged weight). The JSON is strict
(:mod:`lrlab.safeio`), and :func:`model_from_json` checks sizes before it builds anything.
"""
from __future__ import annotations

import math
import os

import torch

from . import data as data_mod
from . import limits, safeio
from .run import parts_of

#: lrlab activation name -> the torch.nn module that computes it (as source text)
TORCH_ACTIVATIONS = {"tanh": "nn.Tanh()", "relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()",
                     "leaky_relu": "nn.LeakyReLU(0.01)"}
#: the same modules as constructors (what :func:`model_from_json` builds; no ``eval``)
_ACTIVATION_MODULES = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
                       "leaky_relu": lambda: torch.nn.LeakyReLU(0.01)}
DTYPES = ("float32", "float64")

#: lrlab feature name -> a torch expression of the raw inputs X [n, d]
FEATURE_SOURCE = {"x1": "X[:, 0]", "x2": "X[:, 1]", "x1^2": "X[:, 0] ** 2", "x2^2": "X[:, 1] ** 2",
                  "x1*x2": "X[:, 0] * X[:, 1]", "sin x1": "torch.sin(X[:, 0])", "sin x2": "torch.sin(X[:, 1])"}


def weights_dict(run_or_model, features=None) -> dict:
    """The network's architecture and weights as plain Python (JSON-ready)."""
    model, features, kind, dataset = parts_of(run_or_model, features)
    check_features(features)
    Ws, bs = model.weights_and_biases()
    lo = getattr(dataset, "input_min", None)
    hi = getattr(dataset, "input_max", None)
    return {
        "format": "lrlab-weights", "version": 1,
        "sizes": list(model.sizes), "activation": model.activation, "features": list(features),
        "kind": kind, "dtype": str(Ws[0].dtype).replace("torch.", ""),
        "class_names": list(getattr(dataset, "class_names", ()) or ()),
        "input_min": None if lo is None else [float(v) for v in lo],
        "input_max": None if hi is None else [float(v) for v in hi],
        "layers": [{"weight": W.detach().cpu().double().tolist(), "bias": b.detach().cpu().double().tolist()}
                   for W, b in zip(Ws, bs)],
    }


def to_json(run_or_model, path: str | None = None, features=None) -> str:
    """:func:`weights_dict` as JSON text (also written to ``path`` when given)."""
    text = safeio.dumps(weights_dict(run_or_model, features), separators=(",", ":"))
    if path is not None:
        safeio.write_text(path, text)
    return text


def model_from_json(text_or_dict) -> tuple[torch.nn.Sequential, dict]:
    """Rebuild ``nn.Sequential`` from :func:`to_json`'s output; returns ``(model, the dict)``.

    The file is checked (format, sizes within :mod:`lrlab.limits`, activation, dtype, every
    layer's shape) before anything is allocated; problems are one-line ``ValueError``\\ s."""
    if isinstance(text_or_dict, (str, bytes)):
        d = safeio.loads_bounded(text_or_dict, "weights", limits.MAX_JSON_BYTES)
    else:
        d = text_or_dict
    if not isinstance(d, dict) or d.get("format") != "lrlab-weights":
        raise ValueError("weights: not an lrlab weights file (format != 'lrlab-weights')")
    dtype_name = d.get("dtype", "float32")
    if dtype_name not in DTYPES:
        raise ValueError(f"weights.dtype: must be one of {', '.join(DTYPES)}, got {dtype_name!r}")
    sizes = d.get("sizes")
    if not (isinstance(sizes, list) and 2 <= len(sizes) <= limits.MAX_DEPTH + 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= limits.MAX_WIDTH for v in sizes)):
        raise ValueError(f"weights.sizes: expected 2 to {limits.MAX_DEPTH + 2} integers in [1, {limits.MAX_WIDTH}], "
                         f"got {str(sizes)[:80]}")
    if d.get("activation") not in _ACTIVATION_MODULES:
        raise ValueError(f"weights.activation: must be one of {', '.join(_ACTIVATION_MODULES)}, "
                         f"got {str(d.get('activation'))[:40]!r}")
    layers_in = d.get("layers")
    if not isinstance(layers_in, list) or len(layers_in) != len(sizes) - 1:
        raise ValueError(f"weights.layers: expected {len(sizes) - 1} layers for sizes {sizes}")
    dtype = getattr(torch, dtype_name)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATION_MODULES[d["activation"]]())
    model = torch.nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for i, (lin, layer) in enumerate(zip(linears, layers_in)):
            try:
                W = torch.tensor(layer["weight"], dtype=dtype)
                b = torch.tensor(layer["bias"], dtype=dtype)
            except (TypeError, ValueError, KeyError, RuntimeError):
                raise ValueError(f"weights.layers[{i}]: expected 'weight' and 'bias' lists of numbers") from None
            if W.shape != lin.weight.shape or b.shape != lin.bias.shape:
                raise ValueError(f"weights.layers[{i}]: shapes {tuple(W.shape)}, {tuple(b.shape)}; expected "
                                 f"{tuple(lin.weight.shape)}, {tuple(lin.bias.shape)}")
            lin.weight.copy_(W)
            lin.bias.copy_(b)
    return model, d


def _literal(v) -> str:
    """A float as Python source: ``repr`` for finite numbers, ``float('inf')`` / ``float('nan')`` otherwise."""
    v = float(v)
    return repr(v) if math.isfinite(v) else f"float({str(v)!r})"


def _vector(values) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


def _matrix(rows) -> str:
    return "[" + ",\n    ".join(_vector(row) for row in rows) + "]"


def torch_snippet(run_or_model, features=None) -> str:
    """A runnable Python file (torch only) that rebuilds the trained network and predicts."""
    d = weights_dict(run_or_model, features)
    sizes, act = [int(v) for v in d["sizes"]], d["activation"]
    if act not in TORCH_ACTIVATIONS or d["dtype"] not in DTYPES:
        raise ValueError(f"export: activation {act!r} / dtype {d['dtype']!r} has no torch equivalent here")
    modules = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(f"nn.Linear({fan_in}, {fan_out})")
        if i < len(sizes) - 2:
            modules.append(TORCH_ACTIVATIONS[act])
    feats = d["features"]
    dims = 2 if any(("x2" in f) for f in feats) else 1
    feature_lines = "\n        ".join(f"{FEATURE_SOURCE[f]},  # {f}" for f in feats)
    weight_lines = []
    for i, layer in enumerate(d["layers"]):
        weight_lines.append(f"W{i + 1} = {_matrix(layer['weight'])}")
        weight_lines.append(f"b{i + 1} = {_vector(layer['bias'])}")
    linear_index = [2 * i for i in range(len(d["layers"]))]
    state = ", ".join(f"'{j}.weight': W{i + 1}, '{j}.bias': b{i + 1}" for i, j in enumerate(linear_index))
    kind = d["kind"]
    if kind == "classification":
        how = "model(features(X)) are the class logits; argmax gives the class (its name: CLASS_NAMES[k])"
    else:
        how = "model(features(X)) is the predicted value [n, 1]"
    # the only text from the learner's data in this file: a literal, written by repr()
    class_names = repr([str(n) for n in d["class_names"]])
    rescale = ""
    if d["input_min"] is not None:
        rescale = f'''

INPUT_MIN = {_vector(d["input_min"])}
INPUT_MAX = {_vector(d["input_max"])}


def from_csv_units(X):
    """The CSV's units -> the rescaled inputs the network saw: x' = 2 (x - min) / (max - min) - 1."""
    X = torch.as_tensor(X, dtype=DTYPE)
    lo, hi = torch.tensor(INPUT_MIN, dtype=DTYPE), torch.tensor(INPUT_MAX, dtype=DTYPE)
    return 2 * (X - lo) / (hi - lo) - 1
'''
    example = "[[0.5, -0.5], [-1.0, 0.25], [0.0, 0.0]]" if dims == 2 else "[[-0.5], [0.0], [0.5]]"
    return f'''"""A network trained with lrlab, rebuilt in plain torch (generated by lrlab.export).

Architecture: {" -> ".join(map(str, sizes))}, activation {act}, inputs {", ".join(feats)}.
{how}.
"""
import torch
from torch import nn

DTYPE = torch.{d["dtype"]}
CLASS_NAMES = {class_names}


def features(X):
    """Raw inputs X [n, {dims}] -> the network's input features [n, {len(feats)}]."""
    X = torch.as_tensor(X, dtype=DTYPE)
    if X.dim() == 1:
        X = X.view(-1, 1)
    return torch.stack([
        {feature_lines}
    ], dim=1)


{chr(10).join(weight_lines)}

model = nn.Sequential(
    {(","+chr(10)+"    ").join(modules)},
).to(DTYPE)
model.load_state_dict({{k: torch.tensor(v, dtype=DTYPE) for k, v in {{{state}}}.items()}})
model.eval()


def predict(X):
    """Network outputs for raw inputs X: {"logits [n, " + str(sizes[-1]) + "]" if kind == "classification" else "values [n, 1]"}."""
    with torch.no_grad():
        return model(features(X))
{rescale}

if __name__ == "__main__":
    X = {example}
    out = predict(X)
    print(out{".argmax(1)" if kind == "classification" else ""})
'''


def export_run(run_or_model, folder: str, stem: str = "model", features=None) -> dict[str, str]:
    """Write ``<stem>.json`` (weights) and ``<stem>.py`` (torch snippet) into ``folder``; returns the paths."""
    if not isinstance(stem, str) or not stem or os.path.basename(stem) != stem or stem in (".", ".."):
        raise ValueError(f"export: the file stem must be a plain name, got {stem!r}")
    safeio.check_output_folder(folder, "export", files=(f"{stem}.json", f"{stem}.py"))
    paths = {"json": os.path.join(folder, f"{stem}.json"), "py": os.path.join(folder, f"{stem}.py")}
    snippet = torch_snippet(run_or_model, features)  # both built before either file is written
    to_json(run_or_model, paths["json"], features)
    safeio.write_text(paths["py"], snippet)
    return paths


def check_features(features) -> None:
    for f in features:
        if f not in data_mod.FEATURES:
            raise ValueError(f"features: unknown feature {f!r}; allowed: {', '.join(data_mod.FEATURES)}")
