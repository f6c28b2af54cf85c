"""The CLI under hostile input (issue 14): every refused case is exit 2 with ONE line naming the
field and nothing trained or written; every case that must work saves readable files, a
diverged run included. Everything runs in-process (``lrlab.cli.main``) with a few epochs."""
import importlib
import json
import math
import os
import tracemalloc

import numpy as np
import pytest
import torch

from lrlab import limits, safeio
from lrlab.cli import main
from lrlab.train import Run

train_module = importlib.import_module("lrlab.train")  # ``lrlab.train`` is also the function
race_module = importlib.import_module("lrlab.race")
PNG = b"\x89PNG\r\n\x1a\n"
DIVERGING = ["--dataset", "sine", "--activation", "relu", "--hidden", "64,64,64"]


def refuse_constant(token):
    raise ValueError(f"not strict JSON: {token}")


def strict_json(path):
    """The file parses as strict JSON: no bare NaN / Infinity tokens."""
    return json.loads(open(path).read(), parse_constant=refuse_constant)


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if anything starts to train."""
    def trained(*args, **kwargs):
        raise AssertionError("training started although the command had to be refused first")
    for module, name in ((train_module, "train"), (train_module, "Trainer"), (race_module, "Race"),
                         (race_module, "sweep"), (race_module, "lr_range_test")):
        monkeypatch.setattr(module, name, trained)


def refused(capsys, argv, field):
    """``argv`` exits 2 with exactly one line ``lrlab: error: <field>: ...``; returns that line."""
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith(f"lrlab: error: {field}:"), err
    assert "Traceback" not in err and "wrote" not in out
    return lines[0]


def usage_error(capsys, argv, flag):
    """argparse's own refusal: exit 2, usage, then one line naming ``flag``."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.strip().splitlines()[-1].startswith(f"lrlab: error: argument {flag}"), err
    return err.strip().splitlines()[-1]


def small_csv(path):
    path.write_text("x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{int(i % 7 > 3)}" for i in range(40)) + "\n")
    return path


# ------------------------------------------------------------------ outputs checked before training
def test_missing_folders_are_created(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--quiet", "--epochs", "2", "--json", "nofolder/r.json", "--png", "nofolder/x.png",
                 "--export", "deep/er/exp"]) == 0
    assert Run.from_json("nofolder/r.json").config.max_epochs == 2
    assert open("nofolder/x.png", "rb").read(8) == PNG
    assert os.path.exists("deep/er/exp/model.json") and os.path.exists("deep/er/exp/model.py")


def test_export_onto_an_existing_file(capsys, tmp_path, no_training):
    target = tmp_path / "existing"
    target.write_text("keep me")
    line = refused(capsys, ["train", "--quiet", "--epochs", "2", "--export", str(target)], "export")
    assert "not a folder" in line and target.read_text() == "keep me"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("argv,field", [
    (["train", "--png", "/dev/full"], "png"),
    (["train", "--json", "/dev/full"], "json"),
    (["race", "--json", "/dev/full"], "json"),
    (["race", "--png", "/dev/full"], "png"),
    (["sweep", "--lrs", "0.1,1", "--json", "/dev/full"], "json"),
    (["sweep", "--lrs", "0.1,1", "--png", "/dev/full"], "png"),
])
def test_a_device_is_refused_before_training(capsys, no_training, argv, field):
    line = refused(capsys, [argv[0], "--quiet", "--epochs", "2", *argv[1:]], field)
    assert "not a regular file" in line


def test_schedule_png_onto_a_device_is_refused(capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    refused(capsys, ["schedule", "cosine", "--png", "/dev/full"], "png")


@pytest.mark.parametrize("command", [["train"], ["race"], ["sweep", "--lrs", "0.1"]])
def test_a_folder_given_as_json(capsys, tmp_path, no_training, command):
    line = refused(capsys, [*command, "--quiet", "--epochs", "2", "--json", str(tmp_path)], "json")
    assert "is a folder" in line
    assert os.listdir(tmp_path) == []


def test_an_unwritable_place(capsys, no_training):
    refused(capsys, ["train", "--quiet", "--epochs", "2", "--json", "/proc/lrlab-nope/r.json"], "json")


def test_json_never_overwrites_the_input_csv(capsys, tmp_path, no_training):
    data = small_csv(tmp_path / "data.csv")
    before = data.read_bytes()
    line = refused(capsys, ["train", "--quiet", "--epochs", "2", "--csv", str(data), "--json", str(data)], "json")
    assert "input file" in line and data.read_bytes() == before
    refused(capsys, ["race", "--quiet", "--epochs", "2", "--csv", str(data), "--png", str(data)], "png")
    assert data.read_bytes() == before


def test_two_outputs_on_one_file(capsys, tmp_path, no_training):
    same = str(tmp_path / "same")
    refused(capsys, ["train", "--quiet", "--epochs", "2", "--json", same, "--png", same], "png")
    refused(capsys, ["train", "--quiet", "--epochs", "2", "--json", str(tmp_path / "e" / "model.json"),
                     "--export", str(tmp_path / "e")], "export")


@pytest.mark.parametrize("argv,field", [
    (["--json", "abc", "--export", "abc"], "json"),  # the export folder would take the JSON file's place
    (["--json", "abc", "--png", "abc/x.png"], "json"),
    (["--json", "a\x00b"], "json"),
    (["--png", "x" * 5000], "png"),
    (["--json", ""], "json"),
])
def test_output_names_that_cannot_work(capsys, tmp_path, monkeypatch, no_training, argv, field):
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["train", "--quiet", "--epochs", "2", *argv], field)
    assert os.listdir(tmp_path) == []


def test_schedule_png_never_overwrites_the_run_it_reads(capsys, tmp_path):
    run = tmp_path / "run.json"
    assert main(["train", "--quiet", "--epochs", "3", "--json", str(run)]) == 0
    capsys.readouterr()
    before = run.read_bytes()
    refused(capsys, ["schedule", "reduce_on_plateau", "--run", str(run), "--png", str(run)], "png")
    assert run.read_bytes() == before


# ------------------------------------------------------------------ sizes refused before memory grows
def peak_mib(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def test_a_billion_learning_rates(capsys, no_training):
    peak = peak_mib(lambda: refused(capsys, ["sweep", "--quiet", "--lrs", "1e-4:1:1000000000"], "lrs"))
    assert peak < 64
    with pytest.raises(ValueError, match=f"lrs: at most {limits.MAX_LRS}"):
        race_module.parse_lrs("1e-4:1:1000000000")


@pytest.mark.parametrize("lrs", [
    ",".join(["0.1"] * (limits.MAX_LRS + 1)),  # too many in a list
    "nan", "inf", "-0.1", "0", "0.1,nan", "1e-3:inf:4", "nan:1:4", "-1:1:4", "0:1:4",
    "1:0.1:4",  # LOW > HIGH
    "1e-3:1:0", "1e-3:1:2.5", "1e-3:1", "a:b:c", "abc", ",",
])
def test_bad_learning_rates(capsys, no_training, lrs):
    refused(capsys, ["sweep", "--quiet", f"--lrs={lrs}"], "lrs")
    refused(capsys, ["race", "--quiet", f"--lrs={lrs}"], "lrs")


def test_parse_lrs_still_parses():
    assert np.allclose(race_module.parse_lrs("1e-3:1:4"), [1e-3, 1e-2, 1e-1, 1])
    assert list(race_module.parse_lrs("0.01, 0.1")) == [0.01, 0.1]
    assert len(race_module.parse_lrs(f"1e-4:1:{limits.MAX_LRS}")) == limits.MAX_LRS
    assert len(race_module.parse_lrs("1e3:1e3:1")) == 1


def test_too_many_models(capsys, no_training):
    line = refused(capsys, ["race", "--quiet", "--optimizers", "sgd,momentum,nesterov,adagrad,rmsprop,adam,adamw,adadelta",
                            "--schedules", "constant,cosine,linear", "--lrs", f"1e-4:1:{limits.MAX_LRS}"], "race")
    assert str(limits.MAX_MODELS) in line


def test_too_many_parameters(capsys, no_training):
    line = refused(capsys, ["sweep", "--quiet", "--hidden", "1024,1024", "--lrs", "1e-4:1:64"], "sweep")
    assert "--hidden" in line


@pytest.mark.parametrize("epochs", ["1e8", "100000000", "0"])
def test_schedule_epochs_bounded(capsys, epochs):
    peak = peak_mib(lambda: refused(capsys, ["schedule", "cosine", "--epochs", epochs], "epochs"))
    assert peak < 64


def test_schedule_epochs_from_T_max_bounded(capsys):
    line = refused(capsys, ["schedule", "cosine", "--T-max", "1e9"], "epochs")
    assert "--T-max" in line


def test_schedule_epochs_not_a_number(capsys):
    usage_error(capsys, ["schedule", "cosine", "--epochs", "abc"], "--epochs")


@pytest.mark.parametrize("text", [
    '{"lrlab": 1}', "[1, 2", "\ufffe\x00", '{"lrlab": 1, "config": {}, "model": {"sizes": [2, 100000000, 2], '
                                          '"activation": "tanh", "parameters": []}, "history": {}}',
])
def test_schedule_run_of_a_hostile_json(capsys, tmp_path, text):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    code = main(["schedule", "reduce_on_plateau", "--run", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("lrlab: error: "), err


def test_schedule_run_of_a_device(capsys):
    refused(capsys, ["schedule", "reduce_on_plateau", "--run", "/dev/zero"], "run")


# ------------------------------------------------------------------ fields named
def test_test_fraction_inf(capsys, no_training):
    refused(capsys, ["train", "--quiet", "--test-fraction", "inf"], "test_fraction")
    refused(capsys, ["race", "--quiet", "--test-fraction", "inf"], "test_fraction")


def test_seed_2_to_the_64_minus_1(capsys, no_training):
    refused(capsys, ["train", "--quiet", "--seed", str(2**64 - 1)], "seed")
    refused(capsys, ["sweep", "--quiet", "--lrs", "0.1", "--seed", str(2**64 - 1)], "seed")


@pytest.mark.parametrize("argv,flag", [
    (["train", "--seed", "abc"], "--seed"),
    (["train", "--epochs", "1.5"], "--max-epochs"),
    (["train", "--batch-size", "abc"], "--batch-size"),
    (["train", "--threads", "0"], "--threads"),
    (["race", "--threads", "x"], "--threads"),
    (["train", "--target-accuracy", "high"], "--target-accuracy"),
])
def test_argparse_errors_name_the_flag(capsys, no_training, argv, flag):
    usage_error(capsys, argv, flag)


def test_epochs_written_like_1e3_reach_the_range_check(capsys, no_training):
    refused(capsys, ["train", "--quiet", "--epochs", "1e8"], "max_epochs")


def test_opt_lr_is_refused(capsys, no_training):
    refused(capsys, ["train", "--quiet", "--opt", "lr=0.1"], "opt")
    refused(capsys, ["race", "--quiet", "--opt", "lr=0.1"], "opt")


# ------------------------------------------------------------------ per-optimizer options
def test_race_momentum_goes_to_the_optimizers_that_take_it(capsys, tmp_path):
    out = tmp_path / "race.json"
    assert main(["race", "--quiet", "--optimizers", "sgd,momentum", "--momentum", "0.9", "--epochs", "2",
                 "--json", str(out)]) == 0
    capsys.readouterr()
    runs = safeio.loads(out.read_text())["race"]
    params = {r["config"]["optimizer"]: r["config"]["optimizer_params"] for r in runs}
    assert params == {"sgd": {}, "momentum": {"momentum": 0.9}}


def test_race_option_no_optimizer_takes(capsys, no_training):
    line = refused(capsys, ["race", "--quiet", "--optimizers", "sgd,adam", "--momentum", "0.9"], "momentum")
    assert "sgd, adam" in line and "momentum, nesterov, rmsprop" in line
    refused(capsys, ["race", "--quiet", "--opt", "0="], "opt")
    refused(capsys, ["race", "--quiet", "--sched", "foo=1"], "sched")


def test_race_schedule_param_no_schedule_takes(capsys, no_training):
    refused(capsys, ["race", "--quiet", "--schedules", "constant,linear", "--sched", "min_lr=0.001"], "min_lr")


def test_race_schedule_params_taken_by_one(capsys, tmp_path):
    out = tmp_path / "race.json"
    assert main(["race", "--quiet", "--optimizers", "adam", "--schedules", "constant,cosine", "--sched",
                 "min_lr=0.001", "--epochs", "2", "--json", str(out)]) == 0
    capsys.readouterr()
    runs = safeio.loads(out.read_text())["race"]
    assert {r["config"]["schedule"]: r["config"]["schedule_params"] for r in runs} == \
        {"constant": {}, "cosine": {"min_lr": 0.001}}


def test_sweep_options_per_optimizer(capsys, tmp_path):
    out = tmp_path / "sweep.json"
    assert main(["sweep", "--quiet", "--optimizers", "sgd,momentum", "--momentum", "0.5", "--lrs", "0.01,0.1",
                 "--epochs", "2", "--json", str(out)]) == 0
    capsys.readouterr()
    assert len(safeio.loads(out.read_text())["rows"]) == 4
    refused(capsys, ["sweep", "--quiet", "--optimizers", "sgd,adam", "--momentum", "0.5", "--lrs", "0.1"], "momentum")


# ------------------------------------------------------------------ diverged runs are saved
def test_the_diverged_run_of_the_issue_is_saved(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["train", "--dataset", "sine", "--optimizer", "sgd", "--lr", "10", "--activation", "relu",
                 "--hidden", "64,64,64", "--json", "d.json", "--png", "d.png", "--export", "dexp", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "diverged" in out.splitlines()[0]
    strict_json("d.json")
    run = Run.from_json("d.json")
    assert run.stop_reason == "diverged"
    loss = run.history["train_loss"]
    acc = run.history["test_acc"]
    assert not np.isfinite(acc).all() or loss[-1] > 1e6  # the divergence is kept, not smoothed away
    again = Run.from_json(run.to_json())
    assert np.array_equal(again.history["test_acc"], acc) and np.array_equal(again.history["train_loss"], loss)
    assert open("d.png", "rb").read(8) == PNG
    assert os.path.exists("dexp/model.json") and os.path.exists("dexp/model.py")
    json.loads(open("dexp/model.json").read(), parse_constant=refuse_constant)


def test_inf_reads_back_as_inf(tmp_path, capsys):
    main(["train", "--quiet", *DIVERGING, "--optimizer", "sgd", "--lr", "10", "--json", str(tmp_path / "d.json")])
    capsys.readouterr()
    raw = strict_json(tmp_path / "d.json")
    run = Run.from_json(str(tmp_path / "d.json"))
    values = run.history["test_acc"]
    if not np.isinf(values).any():
        pytest.skip("this torch build's divergence stayed finite")
    assert "-Infinity" in json.dumps(raw) and math.isinf(values[-1])


def test_race_with_a_diverging_contender_is_saved(capsys, tmp_path):
    js, png = tmp_path / "r.json", tmp_path / "r.png"
    assert main(["race", "--quiet", *DIVERGING, "--optimizers", "sgd,adam", "--lrs", "0.01,10", "--epochs", "3",
                 "--json", str(js), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "diverged" in out
    d = strict_json(js)
    assert len(d["race"]) == 4 and len(d["labels"]) == 4
    runs = [Run._from_dict(safeio.restore(r)) for r in d["race"]]
    assert "diverged" in [r.stop_reason for r in runs]
    assert png.read_bytes()[:8] == PNG


def test_sweep_with_a_diverging_contender_is_saved(capsys, tmp_path):
    js, png = tmp_path / "s.json", tmp_path / "s.png"
    assert main(["sweep", "--quiet", *DIVERGING, "--optimizers", "sgd", "--lrs", "0.01,10", "--epochs", "3",
                 "--range-test", "--json", str(js), "--png", str(png)]) == 0
    capsys.readouterr()
    d = strict_json(js)
    assert [row["diverged"] for row in d["rows"]] == [False, True]
    assert "range_test" in d
    assert png.read_bytes()[:8] == PNG
    back = safeio.loads(js.read_text())
    assert all(isinstance(row["final_train_loss"], float) for row in back["rows"])


def test_sweep_result_to_json_is_strict(tmp_path):
    result = race_module.SweepResult(["sgd"], np.array([0.1, 10.0]),
                                    {k: np.array([[1.0, math.inf if k != "diverged" else 1.0]])
                                     for k in race_module.SweepResult.METRICS})
    path = tmp_path / "sweep.json"
    result.to_json(str(path))
    d = strict_json(path)
    assert d["rows"][1]["final_train_loss"] == "Infinity"
    assert safeio.loads(path.read_text())["rows"][1]["final_train_loss"] == math.inf


# ------------------------------------------------------------------ threads
def test_threads_flag_applies_and_restores(capsys, monkeypatch):
    import lrlab.threads as threads
    monkeypatch.delenv("LRLAB_THREADS", raising=False)
    seen = []
    real = train_module.train

    def spy(*args, **kwargs):
        seen.append((torch.get_num_threads(), threads.resolve()))
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train", spy)
    before = torch.get_num_threads()
    assert main(["train", "--quiet", "--epochs", "2", "--threads", "1"]) == 0
    assert seen == [(1, 1)]  # the engine's own choice follows the flag
    assert torch.get_num_threads() == before
    assert threads.resolve(None, 10**6, 10**6) == threads.choose(10**6, 10**6)  # the override is gone again
    assert main(["train", "--quiet", "--epochs", "2"]) == 0  # default: chosen from the work (a small net: 1)
    assert seen[-1][0] == 1
    capsys.readouterr()


def test_share_of_a_csv_run_is_refused_before_training(tmp_path, capsys):
    from lrlab.cli import main
    data = tmp_path / "d.csv"
    data.write_text("x1,x2,label\n" + "\n".join(f"{i % 5},{i % 3},{i % 2}" for i in range(40)) + "\n")
    code = main(["train", "--csv", str(data), "--epochs", "2", "--share", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2 and "csv_path: a share string cannot carry a file" in err
    assert "finished" not in out and "epoch" not in out  # nothing trained
