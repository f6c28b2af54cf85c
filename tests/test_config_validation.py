"""Hostile configs and share strings: every one is a one-line ``ValueError`` naming the field, before any work.

The cases are the ones the reviewer of issue 14 found (seed "abc", classes 2.5, optimizer_params
as a list, n_samples=1e10 in a 430-character share string, a zip bomb ...), each checked three
ways: ``TrainConfig(...).validate()``, ``TrainConfig.from_dict`` of its dict, and ``share.decode``
of a string packed with share's own encoding. The size cases also check that nothing big was
allocated (tracemalloc here; the resident size of a fresh process for torch and numpy too).
"""
import json
import math
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from dataclasses import fields

import numpy as np
import pytest

from lrlab import data, limits, nets, share
from lrlab.presets import PRESETS, preset_config
from lrlab.train import _RULES, TrainConfig, make_dataset, train

NAN, INF = math.nan, math.inf

#: (field, hostile value) -> validate() must say ``ValueError('field...')``
HOSTILE = [
    # the nineteen wrong-typed fields that ended in TypeError / AttributeError / overflow tracebacks
    ("seed", "abc"), ("seed", 2**64 - 1), ("seed", -1), ("seed", True), ("seed", 1.5), ("seed", 2**63),
    ("data_seed", "1"), ("data_seed", -1), ("data_seed", 2**64 - 1),
    ("classes", 2.5), ("classes", 99), ("classes", 1), ("classes", True), ("classes", "3"),
    ("optimizer_params", [0.9]), ("optimizer_params", "momentum=0.9"), ("optimizer_params", None),
    ("optimizer_params", {"betas": "abc"}), ("optimizer_params", {"eps": "tiny"}), ("optimizer_params", {"lr": 0.1}),
    ("optimizer_params", {"nope": 1}), ("optimizer_params", {"eps": 10**5000}), ("optimizer_params", {"eps": [[1]]}),
    ("schedule_params", [1]), ("schedule_params", "T_max=5"), ("schedule_params", None),
    ("n_samples", 1e10), ("n_samples", 10**10), ("n_samples", 512.0), ("n_samples", True), ("n_samples", "512"),
    ("n_samples", 3), ("n_samples", -5),
    ("noise", -0.1), ("noise", NAN), ("noise", INF), ("noise", "0.1"), ("noise", 5), ("noise", None),
    ("test_fraction", INF), ("test_fraction", NAN), ("test_fraction", 0), ("test_fraction", 1),
    ("test_fraction", "0.2"),
    ("test_fraction", 0.0005), ("test_fraction", 0.999),
    ("lr", NAN), ("lr", INF), ("lr", -0.1), ("lr", 0), ("lr", "fast"), ("lr", True), ("lr", None), ("lr", 1e9),
    ("hidden", "16,16"), ("hidden", 16), ("hidden", 16.5), ("hidden", [True]), ("hidden", [16.0]), ("hidden", [[16]]),
    ("hidden", ["16"]), ("hidden", [16] * (limits.MAX_DEPTH + 1)), ("hidden", [limits.MAX_WIDTH + 1]), ("hidden", [0]),
    ("hidden", {"a": 1}), ("hidden", None), ("hidden", [10**5000]),
    ("features", "x1"), ("features", ["x9"]), ("features", [1]), ("features", []), ("features", 5),
    ("features", ["x1", "x1"]), ("features", [["x1"]]),
    ("max_epochs", 10.0), ("max_epochs", limits.MAX_EPOCHS + 1), ("max_epochs", 10**12), ("max_epochs", 0),
    ("max_epochs", "200"), ("max_epochs", True),
    ("history_capacity", "5000"), ("history_capacity", limits.MAX_HISTORY_CAPACITY + 1), ("history_capacity", 3),
    ("history_capacity", 5000.0),
    ("batch_size", True), ("batch_size", 32.0), ("batch_size", 0), ("batch_size", "32"), ("batch_size", 10**12),
    ("target_accuracy", "0.9"), ("target_accuracy", 1.5), ("target_accuracy", NAN), ("target_accuracy", 0),
    ("patience", 2.5), ("patience", 0), ("patience", "5"), ("patience", True),
    ("min_delta", NAN), ("min_delta", "0"), ("min_delta", -1), ("min_delta", INF),
    ("divergence_factor", NAN), ("divergence_factor", "x"), ("divergence_factor", 1), ("divergence_factor", INF),
    ("reg_rate", NAN), ("reg_rate", -0.1), ("reg_rate", "0.1"), ("reg_rate", 2),
    ("device", 1), ("device", "tpu"), ("device", None), ("device", ["cpu"]),
    ("dtype", None), ("dtype", "float16"), ("dtype", 32),
    ("select_best", True), ("select_best", "f1"),
    ("regularization", ["l2"]), ("regularization", "l3"), ("regularization", None),
    ("csv_path", 5), ("csv_path", "a\0b"), ("csv_path", ""), ("csv_path", ["a.csv"]), ("csv_path", "x" * 5000),
    ("dataset", 5), ("dataset", "mnist"), ("dataset", ["moons"]),
    ("activation", None), ("activation", "gelu"), ("loss", 3), ("loss", "hinge"),
    ("optimizer", 3), ("optimizer", "rmsprob"), ("optimizer", ["adam"]), ("schedule", []), ("schedule", "sawtooth"),
]


def _id(case):
    field, value = case
    return f"{field}={nets.shown(value, 20)}"


def assert_names(exc: BaseException, field: str, prefix: str = "") -> str:
    """``exc`` is a one-line ValueError that starts with ``prefix + field`` (``field.key:`` for a parameter)."""
    message = str(exc)
    assert isinstance(exc, ValueError), f"{type(exc).__name__}: {message}"
    assert message.startswith(f"{prefix}{field}:") or message.startswith(f"{prefix}{field}."), message
    assert "\n" not in message and len(message) < 400, message
    assert "Traceback" not in message
    return message


def _json_able(value) -> bool:
    try:
        json.dumps(value, allow_nan=True)
        return True
    except (TypeError, ValueError):
        return False


def test_every_field_has_one_rule():
    assert list(_RULES) == [f.name for f in fields(TrainConfig)]


@pytest.mark.parametrize("case", HOSTILE, ids=_id)
def test_validate_names_the_field(case):
    field, value = case
    config = TrainConfig(**{field: value})  # constructing never fails on a type: validate() names it
    with pytest.raises(Exception) as info:
        config.validate()
    assert_names(info.value, field)


@pytest.mark.parametrize("case", [c for c in HOSTILE if _json_able(c[1]) and c[0] != "csv_path"], ids=_id)
def test_from_dict_and_share_string_name_the_field(case):
    field, value = case
    d = {**TrainConfig().to_dict(), field: value}
    with pytest.raises(Exception) as info:
        TrainConfig.from_dict(json.loads(json.dumps(d))).validate()
    assert_names(info.value, field)
    with pytest.raises(Exception) as info:
        share.decode(share.pack(d, allow_nan=True))
    assert_names(info.value, field, prefix="share: ")


@pytest.mark.parametrize("value", [[1, 2], "config", None, 5, 2.5, True, ("a",)], ids=repr)
def test_from_dict_of_a_non_dict(value):
    with pytest.raises(Exception) as info:
        TrainConfig.from_dict(value)
    assert_names(info.value, "config")


@pytest.mark.parametrize("d,field", [
    ({"colour": 1}, "colour"),
    ({1: 2}, "1"),
    ({"x" * 1000: 1}, "'" + "x" * 17 + "..." + "x" * 18 + "'"),  # a long name, cut short
    ({"optimizer_params": [0.9]}, "optimizer_params"),
    ({"optimizer_params": {"betas": [0.9, 0.99, 0.1]}}, "optimizer_params"),
    ({"hidden": 16}, "hidden"),
    ({"hidden": "16,16"}, "hidden"),
    ({"features": "x1"}, "features"),
    ({"features": 3}, "features"),
    ({"loss": ["mse"], "dataset": {"sine": 1}}, "dataset"),
    ({"hidden": [[[[[[[[[[16]]]]]]]]]]}, "hidden"),
])
def test_from_dict_never_raises_type_errors(d, field):
    with pytest.raises(Exception) as info:
        TrainConfig.from_dict(d).validate()
    assert_names(info.value, field)


def test_post_init_leaves_wrong_types_for_validate():
    for value in (5, "16", None, 2.5, {"a": 1}, np.array([1, 2])):
        config = TrainConfig(hidden=value, features=value, loss=value, dataset=value)
        with pytest.raises(ValueError):
            config.validate()
    # numpy scalars are plain numbers (so the config is JSON and shares)
    config = TrainConfig(seed=np.int64(3), lr=np.float32(0.5), hidden=[np.int64(4)], n_samples=np.int32(100))
    assert type(config.seed) is int and type(config.lr) is float and config.hidden == (4,)
    assert type(config.hidden[0]) is int and type(config.n_samples) is int
    config.validate()
    assert share.decode(share.encode(config)) == config


def test_some_exact_messages():
    def message(**changes):
        with pytest.raises(ValueError) as info:
            TrainConfig(**changes).validate()
        return str(info.value)

    assert message(seed=2**64 - 1) == f"seed: must be an integer in [0, {limits.MAX_SEED}], got 18446744073709551615"
    assert message(seed="abc") == f"seed: must be an integer in [0, {limits.MAX_SEED}], got 'abc'"
    assert message(classes=2.5) == f"classes: must be an integer in [2, {limits.MAX_CLASSES}], got 2.5"
    assert message(n_samples=1e10) == \
        f"n_samples: must be an integer in [{data.MIN_SAMPLES}, {limits.MAX_SAMPLES}], got 10000000000.0"
    assert message(optimizer_params=[0.9]) == ("optimizer_params: must be a dict of parameter names to values, "
                                               "e.g. {'momentum': 0.9}, got [0.9]")
    assert message(test_fraction=INF) == "test_fraction: must be a finite number in (0, 1), got inf"
    assert message(lr=0.0) == "lr: must be in (0, 100], got 0.0"
    assert message(hidden=[16] * 9) == f"hidden: at most {limits.MAX_DEPTH} hidden layers, got 9"
    assert message(batch_size=True) == f"batch_size: must be None or an integer in [1, {limits.MAX_SAMPLES}], got True"
    assert message(optimizer="momentum", optimizer_params={"momentum": 1.5}) == \
        "optimizer_params.momentum: must be in [0, 1), got 1.5"
    assert message(optimizer="sgd", optimizer_params={"momentum": 0.9}) == \
        "optimizer_params.momentum: not a hyper-parameter of sgd; allowed: weight_decay"
    assert message(schedule="cosine", schedule_params={"T_max": "x"}) == \
        "schedule_params.T_max: must be an integer in [1, 10000000], got 'x'"  # its declaration's range
    assert message(dataset="sine", features=("x1", "x2")) == \
        "features: 'x2' needs 2-D inputs; sine has 1 input column (x1)"
    assert message(n_samples=100, test_fraction=0.001).startswith("test_fraction: 0.001 of 100 samples leaves an empty")
    long = message(seed="x" * 10_000)
    assert len(long) < 120 and "x...x" in long
    assert message(seed=10**5000) == f"seed: must be an integer in [0, {limits.MAX_SEED}], got an integer of " \
                                      f"about 5001 digits"


# ------------------------------------------------------------------------------ sizes: nothing allocated
def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    _peak_bytes.message = str(info.value)
    return peak


HUGE = [("n_samples", 1e10), ("n_samples", 10**10), ("hidden", [10**6] * 2), ("hidden", [16] * 10**6),
        ("max_epochs", 10**12), ("history_capacity", 10**12), ("batch_size", 10**12), ("classes", 10**9),
        ("schedule_params", {"milestones": list(range(10**6))})]


@pytest.mark.parametrize("case", HUGE, ids=_id)
def test_huge_sizes_are_refused_before_any_allocation(case):
    field, value = case
    config = TrainConfig(**{field: value}, **({"schedule": "multistep"} if field == "schedule_params" else {}))
    assert _peak_bytes(config.validate) < 2**20
    assert_names(ValueError(_peak_bytes.message), field)
    assert _peak_bytes(lambda: train(config)) < 2**20  # the engine validates before building anything
    assert_names(ValueError(_peak_bytes.message), field)


def test_the_430_character_share_string_with_1e10_samples():
    s = share.pack({**TrainConfig().to_dict(), "n_samples": 1e10})
    assert len(s) < 500
    start = time.perf_counter()
    assert _peak_bytes(lambda: share.decode(s)) < 2**20
    assert time.perf_counter() - start < 1
    assert _peak_bytes.message == \
        f"share: n_samples: must be an integer in [8, {limits.MAX_SAMPLES}], got 10000000000.0"
    assert _peak_bytes(lambda: make_dataset(share.decode(s, validate=False))) < 2**20  # data.make checks it too
    assert _peak_bytes.message.startswith("n: number of samples must be an integer")


@pytest.mark.parametrize("kwargs,field", [
    (dict(n=10**10), "n"), (dict(n=1e10), "n"), (dict(n=True), "n"), (dict(classes=99), "classes"),
    (dict(classes=2.5), "classes"), (dict(noise=NAN), "noise"), (dict(noise="0.1"), "noise"),
    (dict(test_fraction=INF), "test_fraction"), (dict(test_fraction="0.2"), "test_fraction"),
    (dict(seed=2**64 - 1), "seed"), (dict(seed="abc"), "seed"), (dict(seed=-1), "seed"),
    (dict(name=["moons"]), "dataset"),
    (dict(n=10, test_fraction=0.01), "test_fraction"),
])
def test_data_make_bounds_and_names(kwargs, field):
    assert _peak_bytes(lambda: data.make(**kwargs)) < 2**20
    assert_names(ValueError(_peak_bytes.message), field)


def _zlib_of_zeros(total: int, chunk: int) -> bytes:
    """zlib data that inflates to ``total`` zero bytes, built without ever holding them: with a full
    flush after each ``chunk`` the compressed blocks repeat, and the adler32 of n zeros is (n % 65521) << 16 | 1."""
    assert total % chunk == 0 and total // chunk >= 3
    zeros = bytes(chunk)
    c = zlib.compressobj(9)
    head = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(zeros) + c.flush()
    return head + block * (total // chunk - 2) + last[:-4] + struct.pack(">I", ((total % 65521) << 16) | 1)


def _as_share_string(packed: bytes) -> str:
    import base64
    return share.PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def test_the_zip_bomb_is_refused_fast_and_small():
    bomb = _zlib_of_zeros(2**31, 2**24)  # ~2 MB that inflates to 2 GiB
    assert len(bomb) < 2.2e6 and zlib.decompressobj().decompress(bomb[:4096], 2**20)  # a real zlib stream
    text = _as_share_string(bomb)
    start = time.perf_counter()
    assert _peak_bytes(lambda: share.decode(text)) < 2**20  # refused by its length, before base64
    assert _peak_bytes.message.startswith(f"share: the text is {len(text)} characters, more than the "
                                          f"{limits.MAX_SHARE_CHARS}")
    # the decompression itself is capped too, whatever the length of the text
    body = text[len(share.PREFIX):]
    assert _peak_bytes(lambda: share._unpack(body)) < 4 * len(body)  # the text's copies, never its 2 GiB
    assert _peak_bytes.message.startswith(f"share: the string unpacks to more than {limits.MAX_SHARE_BYTES // 1024} KB")
    assert time.perf_counter() - start < 2


def test_a_bomb_within_the_length_limit_stops_at_the_byte_cap():
    bomb = _zlib_of_zeros(70 * 2**20, 2**20)  # 70 MB of zeros in ~70 KB
    text = _as_share_string(bomb)
    assert len(text) <= limits.MAX_SHARE_CHARS
    start = time.perf_counter()
    peak = _peak_bytes(lambda: share.decode(text))
    assert time.perf_counter() - start < 1
    assert peak < 2 * limits.MAX_SHARE_BYTES + 3 * len(text)  # the text, its bytes, at most the cap inflated
    assert _peak_bytes.message.startswith("share: the string unpacks to more than 64 KB")


@pytest.mark.parametrize("text,start", [
    (share.pack([1, 2]), "share: the string does not hold a config"),
    (share.pack("lrlab"), "share: the string does not hold a config"),
    (share.PREFIX + "A" * 50, "share: the string is damaged"),
    (_as_share_string(zlib.compress(b"[" * 60_000)), "share: the string is damaged (its content is not a config)"),
    (_as_share_string(zlib.compress(b'{"seed": ' + b"9" * 6000 + b"}")), "share: the string is damaged"),
    (_as_share_string(zlib.compress(b"\xff\xfe")), "share: the string is damaged"),
    (_as_share_string(zlib.compress(b"{}") + b"junk"), "share: the string is damaged"),
    ("x" * (limits.MAX_SHARE_CHARS + 1), "share: the text is"),
    (share.pack({**TrainConfig().to_dict(), "csv_path": "/dev/zero"}), "share: csv_path: a share string cannot carry"),
    (share.pack({**TrainConfig().to_dict(), "hidden": [1024] * 100}), "share: hidden: at most"),
    (share.pack({**TrainConfig().to_dict(), "x" * 5000: 1}), "share: 'xxxx"),
])
def test_damaged_and_hostile_strings_are_one_line(text, start):
    with pytest.raises(ValueError) as info:
        share.decode(text)
    message = str(info.value)
    assert message.startswith(start) and "\n" not in message and len(message) < 400, message


# ------------------------------------------------------------------------------ what still passes
def test_every_default_and_preset_validates_and_shares():
    configs = [TrainConfig(), *(TrainConfig(dataset=name) for name in data.DATASETS)]
    for name, preset in PRESETS.items():
        configs.append(preset_config(name))
        if preset.compare is not None:
            configs.append(preset_config(name, contrast=True))
    for config in configs:
        config.validate()
        assert share.decode(share.encode(config)) == config


def test_the_largest_allowed_values_still_validate():
    config = TrainConfig(n_samples=limits.MAX_SAMPLES, hidden=(limits.MAX_WIDTH,) * limits.MAX_DEPTH,
                         max_epochs=limits.MAX_EPOCHS, history_capacity=limits.MAX_HISTORY_CAPACITY,
                         classes=limits.MAX_CLASSES, seed=limits.MAX_SEED, data_seed=0, dataset="blobs",
                         batch_size=1, patience=limits.MAX_EPOCHS, noise=data.MAX_NOISE, target_accuracy=1.0)
    config.validate()
    assert share.decode(share.encode(config)) == config


RSS_CHILD = r"""
import resource, sys
from lrlab import data, share
from lrlab.train import TrainConfig, train
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
train(TrainConfig(max_epochs=2, n_samples=64))  # warm up torch's allocator and the engine
before = rss()
cases = [lambda: train(TrainConfig(n_samples=10**10)), lambda: train(TrainConfig(n_samples=1e10)),
         lambda: train(TrainConfig(hidden=(10**6, 10**6))), lambda: train(TrainConfig(history_capacity=10**12)),
         lambda: train(TrainConfig(max_epochs=10**12)), lambda: data.make(n=10**10),
         lambda: share.decode(share.pack({**TrainConfig().to_dict(), "n_samples": 1e10}))]
for case in cases:
    try:
        case()
        print("no error"); sys.exit(1)
    except ValueError:
        pass
print(rss() - before)
"""


def test_huge_sizes_do_not_grow_a_fresh_process():
    """Also what tracemalloc cannot see (torch's allocator): the resident size stays flat."""
    out = subprocess.run([sys.executable, "-c", RSS_CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert int(out.stdout.strip().splitlines()[-1]) < 50 * 2**20
