"""Share strings: the whole config in one line (never a file); decoding reproduces the identical run."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from lrlab import share
from lrlab.train import TrainConfig, train

CONFIG = TrainConfig(dataset="spiral", classes=3, n_samples=240, noise=0.05, features=("x1", "x2", "x1*x2"),
                     hidden=(12, 8), activation="relu", optimizer="adam", lr=0.02,
                     optimizer_params={"betas": (0.85, 0.99)}, schedule="cosine", schedule_params={"T_max": 30},
                     regularization="l2", reg_rate=0.001, batch_size=64, max_epochs=30, seed=1234, data_seed=99)


def history_of(run):
    return np.stack([run.history[c] for c in ("lr", "train_loss", "test_loss", "train_acc", "test_acc")])


def test_encode_is_compact_and_prefixed():
    s = share.encode(CONFIG)
    assert s.startswith("lrlab1:") and len(s) < 600
    assert all(c.isalnum() or c in "-_:" for c in s)  # urlsafe, no padding, no spaces


def test_round_trip_gives_the_same_config():
    assert share.decode(share.encode(CONFIG)) == CONFIG
    assert share.decode(share.encode(TrainConfig())) == TrainConfig()


def test_round_trip_gives_the_identical_run():
    a = train(CONFIG)
    b = train(share.decode(share.encode(CONFIG)))
    assert np.array_equal(history_of(a), history_of(b))
    assert torch.equal(a.model.flat_parameters(), b.model.flat_parameters())


def test_pasted_with_whitespace_and_quotes():
    s = share.encode(CONFIG)
    assert share.decode(f"  '{s[:40]}\n  {s[40:]}'  ") == CONFIG


RUN_IN_CHILD = """
import json, sys, torch
torch.set_num_threads(1)
from lrlab import share
from lrlab.train import train
config = share.decode(sys.argv[1])
run = train(config)
print(json.dumps({"share": share.encode(config),
                  "history": [run.history[c].tolist() for c in ("lr", "train_loss", "test_loss", "train_acc", "test_acc")]}))
"""


def test_round_trip_across_a_fresh_process():
    s = share.encode(CONFIG)
    out = subprocess.run([sys.executable, "-c", RUN_IN_CHILD, s], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert child["share"] == s  # the child re-encodes to the same string
    here = train(share.decode(child["share"]))
    assert np.array_equal(np.array(child["history"]), history_of(here))


MANGLED = [
    ("", "share: the string is empty"),
    ("hello world", "share: a share string starts with 'lrlab1:'"),
    ("lrlab9:abcd", "share: unsupported version 'lrlab9'"),
    ("lrlab1:!!!*", "share: the string is damaged"),
    ("lrlab1:abcdefgh", "share: the string is damaged or cut short"),
]


@pytest.mark.parametrize("text,message", MANGLED)
def test_mangled_strings_get_a_clear_message(text, message):
    with pytest.raises(ValueError) as info:
        share.decode(text)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_cut_short_or_one_character_changed():
    s = share.encode(CONFIG)
    with pytest.raises(ValueError, match="share: the string is damaged or cut short"):
        share.decode(s[:-7])
    i = len(s) // 2
    changed = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
    with pytest.raises(ValueError, match="share: the string is damaged"):
        share.decode(changed)
    assert not share.is_share_string(changed) and share.is_share_string(s)


def _pack(d):
    import base64
    import zlib
    return "lrlab1:" + base64.urlsafe_b64encode(zlib.compress(json.dumps(d).encode())).decode().rstrip("=")


def test_valid_packing_of_a_bad_config_names_the_field():
    d = TrainConfig().to_dict()
    with pytest.raises(ValueError, match="share: colour: not a TrainConfig field"):
        share.decode(_pack({**d, "colour": 1}))
    with pytest.raises(ValueError, match="share: lr: "):
        share.decode(_pack({**d, "lr": -1.0}))
    with pytest.raises(ValueError, match="share: the string does not hold a config"):
        share.decode(_pack([1, 2]))


def test_a_share_string_carries_no_file():
    with pytest.raises(ValueError) as info:
        share.encode(CONFIG.replace(csv_path="/home/me/data.csv"))
    message = str(info.value)
    assert message.startswith("share: csv_path: a share string cannot carry a file; send the CSV file itself")
    assert "upload box" in message and "--csv" in message and "\n" not in message
    for path in ("/dev/zero", "/home/me/data.csv", "x" * 5000):
        with pytest.raises(ValueError) as info:
            share.decode(_pack({**CONFIG.to_dict(), "csv_path": path}))
        message = str(info.value)
        assert message.startswith("share: csv_path: a share string cannot carry a file")
        assert "ask for the CSV file itself" in message and "upload box" in message and len(message) < 300
    share.decode(_pack({**CONFIG.to_dict(), "csv_path": None}))  # what encode writes: no file


def test_encode_refuses_a_config_that_would_not_decode():
    with pytest.raises(ValueError, match=r"^share: lr: must be a finite number"):
        share.encode(CONFIG.replace(lr=float("inf")))
    with pytest.raises(ValueError, match=r"^share: seed: must be an integer"):
        share.encode(CONFIG.replace(seed=2**64))
    with pytest.raises(ValueError, match=r"^share: expected a TrainConfig"):
        share.encode(CONFIG.to_dict())


def test_pack_is_the_encoding():
    assert share.pack(CONFIG.to_dict()) == share.encode(CONFIG)
    assert share.decode(share.pack(CONFIG.to_dict())) == CONFIG


def test_decode_without_validation_still_wants_parameter_dicts():
    d = TrainConfig().to_dict()
    assert share.decode(_pack({**d, "lr": 1e9}), validate=False).lr == 1e9  # the CLI's flags may fix it
    for field in ("optimizer_params", "schedule_params"):
        with pytest.raises(ValueError, match=f"^share: {field}: must be a dict"):
            share.decode(_pack({**d, field: [0.9]}), validate=False)
