"""``lrlab train``: exit codes, one-line messages, presets, share strings, CSV, export, JSON."""
import json
import subprocess
import sys

import pytest
import torch

from lrlab.cli import main
from lrlab.train import Run


def lrlab(capsys, *argv):
    code = main(["train", "--quiet", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,field", [
    (["--lr", "0"], "lr:"),
    (["--lr", "-0.1"], "lr:"),
    (["--optimizer", "sgdx"], "optimizer:"),
    (["--hidden", "16,0"], "hidden:"),
    (["--batch-size", "100000"], "batch_size:"),
    (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], "device:"),
    (["--features", "x1,x3"], "features:"),
    (["--regularization", "l3"], "regularization:"),
    (["--preset", "nope"], "preset:"),
    (["--from-share", "lrlab1:garbage"], "share:"),
])
def test_bad_input_exits_2_with_one_line_naming_the_field(capsys, argv, field):
    code, out, err = lrlab(capsys, "--epochs", "2", *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lrlab: error: {field}"), err
    assert "Traceback" not in err


def test_no_traceback_in_a_real_process():
    out = subprocess.run([sys.executable, "-m", "lrlab", "train", "--quiet", "--lr", "0"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "lrlab: error: lr: must be in (0, 100], got 0.0" or \
        out.stderr.strip().startswith("lrlab: error: lr:")


def test_divergence_exits_0_and_says_so(capsys):
    code, out, err = lrlab(capsys, "--preset", "learning rate too high")
    assert code == 0
    assert "diverged at epoch " in out.splitlines()[0]


def test_json_round_trips_via_run_from_json(capsys, tmp_path):
    path = tmp_path / "run.json"
    code, out, _ = lrlab(capsys, "--epochs", "5", "--hidden", "4", "--features", "x1,x2,x1*x2",
                         "--regularization", "l2", "--reg-rate", "0.01", "--json", str(path))
    assert code == 0 and f"wrote {path}" in out
    run = Run.from_json(str(path))
    assert run.config.features == ("x1", "x2", "x1*x2") and run.config.regularization == "l2"
    assert len(run.history) == 5 and run.stop_reason == "max_epochs"
    assert json.loads(path.read_text())["summary"] == out.splitlines()[0]


def test_share_then_from_share_reproduces_the_run(capsys, tmp_path):
    code, out, _ = lrlab(capsys, "--epochs", "6", "--hidden", "5", "--seed", "3", "--optimizer", "sgd",
                         "--lr", "0.3", "--share", "--json", str(tmp_path / "a.json"))
    assert code == 0
    share_line = [l for l in out.splitlines() if l.startswith("share: ")][0]
    s = share_line.split(" ", 1)[1]
    code, out2, _ = lrlab(capsys, "--from-share", s, "--json", str(tmp_path / "b.json"))
    assert code == 0
    a, b = Run.from_json(str(tmp_path / "a.json")), Run.from_json(str(tmp_path / "b.json"))
    assert a.config == b.config
    assert (a.history["train_loss"] == b.history["train_loss"]).all()
    # flags given after --from-share override it
    code, out3, _ = lrlab(capsys, "--from-share", s, "--epochs", "2", "--json", str(tmp_path / "c.json"))
    assert Run.from_json(str(tmp_path / "c.json")).config.max_epochs == 2


def test_preset_and_flags_override(capsys, tmp_path):
    code, out, _ = lrlab(capsys, "--preset", "XOR needs features x1*x2", "--epochs", "3",
                         "--json", str(tmp_path / "x.json"))
    assert code == 0
    c = Run.from_json(str(tmp_path / "x.json")).config
    assert (c.dataset, c.hidden, c.features, c.max_epochs) == ("xor", (), ("x1", "x2", "x1*x2"), 3)
    code, out, _ = lrlab(capsys, "--list-presets")
    assert code == 0 and out.startswith("learning rate too high: ")


def test_export_writes_weights_and_snippet(capsys, tmp_path):
    code, out, _ = lrlab(capsys, "--epochs", "3", "--hidden", "3", "--export", str(tmp_path / "m"))
    assert code == 0
    assert (tmp_path / "m" / "model.json").exists() and (tmp_path / "m" / "model.py").exists()
    assert "nn.Sequential" in (tmp_path / "m" / "model.py").read_text()


def test_csv_trains(capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{int(i % 7 > 3)}" for i in range(40)))
    code, out, err = lrlab(capsys, "--csv", str(path), "--epochs", "10", "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    c = Run.from_json(str(tmp_path / "r.json")).config
    assert c.csv_path == str(path) and c.n_samples == 40


@pytest.mark.parametrize("content,message", [
    ("x1,x2,colour\n" + "1,2,0\n" * 12, "csv: no target column"),
    ("x1,x2,label\n" + "1,2,0\n" * 3, "csv: too few rows: 3"),
    ("x1,x2,label\n" + "1,2,0\n" * 5 + "1,oops,1\n" + "2,1,1\n" * 6, "csv: row 7, column 'x2': 'oops' is not a number"),
    ("x1,x2,label\n" + "1,2,0\n" * 5 + "1,,1\n" + "2,1,1\n" * 6, "csv: row 7, column 'x2': empty cell"),
    ("x1,x2,label\n" + "1,2,0\n" * 5 + "nan,1,1\n" + "2,1,1\n" * 6, "csv: row 7, column 'x1': 'nan' is not a finite"),
    ("x1,x2,label\n" + "1,2,0\n2,3,0\n" * 6, "csv: column 'label' holds a single class"),
    ("x1,label\n" + "1,0\n2,1\n" * 6, "csv: missing column 'x2'"),
])
def test_bad_csv_files_each_get_their_message(capsys, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, out, err = lrlab(capsys, "--csv", str(path), "--epochs", "2")
    assert code == 2
    assert err.strip() == f"lrlab: error: {message}" or err.strip().startswith(f"lrlab: error: {message}"), err
    assert len(err.strip().splitlines()) == 1


def test_missing_csv_file(capsys, tmp_path):
    code, out, err = lrlab(capsys, "--csv", str(tmp_path / "nope.csv"))
    assert code == 2 and err.startswith("lrlab: error: csv: no such file")
