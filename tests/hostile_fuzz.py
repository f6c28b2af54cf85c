"""Property-based attack on everything lrlab reads from outside (run by tests/test_hostile_property.py).

    python tests/hostile_fuzz.py [--examples N] [--memory-mb MB] [--seed S]

Runs in its own process under ``resource.setrlimit(RLIMIT_AS)`` (what the process holds
after its imports plus ``--memory-mb``) and with hypothesis' per-example deadline, and feeds
random and hostile inputs to five doors:

* ``cli``      ``lrlab.cli.main(argv)`` for train / race / sweep / schedule with hostile flag values;
* ``share``    ``share.decode`` on random text, mangled share strings and encoded hostile dicts;
* ``config``   ``TrainConfig.from_dict(d).validate()`` on dicts of hostile field values;
* ``csv``      ``csvdata.parse_csv`` on random bytes and on CSVs with hostile cells and names;
* ``upload``   ``CsvUpload.load_bytes(name, content)`` with hostile names and contents.

Each input must end in a result or one ``ValueError`` (exit 2 in the CLI) whose one-line
message starts with the field it is about; never another exception, a traceback, a file
outside the upload folder, more memory than the cap or more time than the deadline. It
prints one JSON line: how many inputs each door was given.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import sys
import tempfile
import time
import zlib
import base64
from dataclasses import fields

from hypothesis import HealthCheck, given, seed, settings, strategies as st

import lrlab.cli
from lrlab import csvdata, optim, share
from lrlab.optim import OPTIMIZERS
from lrlab.schedules import SCHEDULES
from lrlab.train import TrainConfig
from lrlab.widgets.extras import CsvUpload

COUNTS = {"cli": 0, "share": 0, "config": 0, "csv": 0, "upload": 0}
FIELDS = [f.name for f in fields(TrainConfig)]
#: what may start a message: a TrainConfig field, a CLI option, a file kind, or a parameter of an
#: optimizer or schedule (read from their registries, so a new parameter needs no edit here)
PREFIXES = tuple(FIELDS) + tuple({p for spec in SCHEDULES.values() for p in spec.defaults}) + tuple(
    {p for name in OPTIMIZERS for p in optim.get(name).defaults}) + (
    "csv", "share", "json", "png", "export", "run", "optimizers", "schedules", "lrs", "epochs", "threads", "preset",
    "weights", "betas", "optimizer_params", "schedule_params", "kind", "model", "opt", "sched", "race", "sweep",
    "argument", "unrecognized", "expected", "history", "config", "names", "by", "metric")


def one_line_naming_a_field(message: str) -> None:
    assert "\n" not in message.strip(), f"more than one line: {message!r}"
    assert "Traceback" not in message, message
    head = message.split(":", 1)[0].strip().split(".")[0].split("[")[0].lstrip("-").replace("-", "_")
    assert head in PREFIXES or head.split()[0] in PREFIXES, f"the message does not start with a field: {message!r}"


HOSTILE_TEXT = st.sampled_from([
    "", " ", "abc", "nan", "NaN", "inf", "-inf", "1e400", "-1", "0", "1e10", "10000000000", str(2**64 - 1),
    str(2**63), "-9223372036854775809", "2.5", "1,2,3", ",,", "16,abc", "0,0", "1025", "99999999", "None",
    "true", "/dev/zero", "/dev/full", "/proc/x", "nofolder/deeper/r.json", "../../etc/passwd", "a\x00b",
    "$\\frac{$", '"""+str(__import__("os").system("touch PWNED"))+"""', "x" * 5000, "é", "\u202e", "{}", "[]",
    "lrlab1:", "lrlab1:eJzLSM3JyQcABiwCFQ", "lrlab2:abc", "1e-4:1:1000000000", "1:1e-4:5", "0:1:5", "nan:1:3",
    "1e-4:1:0", "1e-4:1:-3", "1e-300", "5e-324", "1.7976931348623157e308",
])
SMALL_INT = st.integers(min_value=-3, max_value=40).map(str)
VALUE = st.one_of(HOSTILE_TEXT, SMALL_INT, st.text(max_size=30))

COMMON = ["--seed", "--samples", "--noise", "--test-fraction", "--classes", "--hidden", "--activation", "--loss",
          "--optimizer", "--lr", "--schedule", "--batch-size", "--target-accuracy", "--patience", "--min-delta",
          "--divergence-factor", "--select-best", "--device", "--dtype", "--history-capacity", "--dataset",
          "--features", "--momentum", "--beta1", "--beta2", "--eps", "--weight-decay", "--opt", "--sched",
          "--reg-rate", "--regularization", "--data-seed", "--csv", "--threads"]
COMMAND_FLAGS = {
    "train": COMMON + ["--json", "--png", "--export", "--from-share", "--preset"],
    "race": COMMON + ["--optimizers", "--schedules", "--lrs", "--json", "--png", "--by"],
    "sweep": COMMON + ["--optimizers", "--lrs", "--json", "--png", "--metric"],
    "schedule": ["--lr", "--epochs", "--png", "--T-max", "--min-lr", "--max-lr", "--period", "--factor",
                 "--step-size", "--gamma", "--run", "--milestones"],
}


@st.composite
def argvs(draw):
    command = draw(st.sampled_from(sorted(COMMAND_FLAGS)))
    argv = [command]
    if command == "schedule":
        argv += draw(st.lists(st.sampled_from(["cosine", "step", "cosine_plateau_cuts", "one_cycle", "bogus"]),
                              min_size=1, max_size=3))
    for flag in draw(st.lists(st.sampled_from(COMMAND_FLAGS[command]), max_size=4)):
        argv += [flag, draw(VALUE)]
    if command != "schedule":  # keep every run that is accepted short
        argv += ["--epochs", draw(st.sampled_from(["2", "3"])), "--samples", "64", "--quiet"]
    return argv


@given(argvs())
def attack_cli(argv):
    COUNTS["cli"] += 1
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            try:
                code = lrlab.cli.main(argv)
            except SystemExit as exc:  # argparse's own usage errors
                code = exc.code
        finally:
            os.chdir(cwd)
    assert code in (0, 2), f"{argv}: exit {code}\n{err.getvalue()[-2000:]}"
    text = err.getvalue()
    assert "Traceback" not in text, f"{argv}: {text[-2000:]}"
    if code == 2:
        last = [line for line in text.splitlines() if line.startswith("lrlab: error:")]
        assert len(last) == 1, f"{argv}: {text!r}"
        one_line_naming_a_field(last[0][len("lrlab: error:"):].strip())


def _pack(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return "lrlab1:" + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                 HOSTILE_TEXT, st.text(max_size=10)),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=4), max_leaves=12)
GOOD = share.encode(TrainConfig())


@st.composite
def share_texts(draw):
    kind = draw(st.sampled_from(["text", "mangled", "dict", "bytes"]))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "mangled":
        s = list(GOOD)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(s) - 1))
            s[i] = draw(st.sampled_from(list("Aa0-_=+/ !\n")))
        return "".join(s[: draw(st.integers(0, len(s)))])
    if kind == "bytes":
        return _pack(draw(st.binary(max_size=200)))
    base = TrainConfig().to_dict()
    base.update(draw(st.dictionaries(st.sampled_from(FIELDS + ["junk"]), JSONISH, max_size=4)))
    return _pack(draw(st.one_of(st.just(base), JSONISH)))


@given(share_texts())
def attack_share(text):
    COUNTS["share"] += 1
    try:
        config = share.decode(text)
    except ValueError as exc:
        message = str(exc)
        assert message.startswith("share: "), message
        one_line_naming_a_field(message)  # "share" names the door; fields are checked by attack_config
        return
    assert isinstance(config, TrainConfig)


@given(st.dictionaries(st.sampled_from(FIELDS), JSONISH, max_size=5))
def attack_config(d):
    COUNTS["config"] += 1
    base = TrainConfig().to_dict()
    base.update(d)
    try:
        config = TrainConfig.from_dict(base)
        config.validate()
    except ValueError as exc:
        one_line_naming_a_field(str(exc))
        return
    assert isinstance(config, TrainConfig)


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str), HOSTILE_TEXT,
                 st.text(max_size=12))


@st.composite
def csv_bytes(draw):
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    header = draw(st.sampled_from(["x1,x2,label", "x1,y", "x1,x2,y", "x1,x2,class", "label,x2,x1", "x1;x2;label",
                                   "x1,x2,label,extra", "x1,x1,label"]))
    n = len(header.split(","))
    rows = draw(st.lists(st.lists(CELL, min_size=n - 1, max_size=n + 1), min_size=0, max_size=25))
    lines = [header] + [",".join(r) for r in rows]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@given(csv_bytes())
def attack_csv(raw):
    COUNTS["csv"] += 1
    try:
        table = csvdata.parse_csv(raw)
    except ValueError as exc:
        assert str(exc).startswith(("csv:", "kind:")), str(exc)
        one_line_naming_a_field(str(exc))
        return
    assert len(table.X) == len(table.y)


NAMES = st.one_of(HOSTILE_TEXT, st.text(max_size=300), st.just(".."), st.just("../../x.csv"), st.just("a" * 300),
                  st.none(), st.integers())


@given(NAMES, st.one_of(csv_bytes(), st.none(), st.integers(), st.text(max_size=50)))
def attack_upload(name, content):
    COUNTS["upload"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "uploads")
        widget = CsvUpload(folder=folder)
        ok = widget.load_bytes(name, content)
        assert ok in (True, False)
        assert widget.status.value
        if ok:
            assert os.path.realpath(widget.path).startswith(os.path.realpath(folder) + os.sep)
        outside = [p for p in os.listdir(tmp) if p != "uploads"]
        assert not outside, f"the upload wrote outside its folder: {outside}"
        widget.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--examples", type=int, default=100)
    p.add_argument("--memory-mb", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    held = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    cap = held + args.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    t0 = time.perf_counter()
    # seed 0: the same inputs every run (CI); another seed: other inputs, still repeatable
    common = dict(deadline=10_000, derandomize=args.seed == 0, database=None, print_blob=True,
                  suppress_health_check=list(HealthCheck))
    for name, target, scale in (("cli", attack_cli, 1), ("share", attack_share, 3), ("config", attack_config, 3),
                                ("csv", attack_csv, 3), ("upload", attack_upload, 1)):
        run = settings(max_examples=args.examples * scale, **common)(target)
        (seed(args.seed)(run) if args.seed else run)()
    print(json.dumps({"inputs": COUNTS, "total": sum(COUNTS.values()), "memory_cap_mb": cap // 2**20,
                      "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
