"""lrlab.safeio: strict JSON that keeps inf/NaN, outputs checked before the work, bounded reads."""
import json
import math
import os
import threading

import numpy as np
import pytest
import torch

from lrlab import safeio


def strict(text):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))


def test_non_finite_numbers_round_trip_as_strict_json():
    obj = {"a": [1.5, math.inf, -math.inf, math.nan], "b": np.float32("inf"), "c": torch.tensor([1.0, math.nan]),
           "n": None, "s": "text", "k": 3, "t": (1, 2.5)}
    text = safeio.dumps(obj)
    strict(text)
    back = safeio.loads(text)
    assert back["a"][:3] == [1.5, math.inf, -math.inf] and math.isnan(back["a"][3])
    assert back["b"] == math.inf and back["c"][0] == 1.0 and math.isnan(back["c"][1])
    assert back["n"] is None and back["s"] == "text" and back["k"] == 3 and back["t"] == [1, 2.5]


def test_text_fields_are_never_read_as_numbers():
    obj = {"class_names": ["NaN", "Infinity"], "config": {"dataset": "Infinity"}, "x": "NaN"}
    back = safeio.loads(safeio.dumps(obj))
    assert back["class_names"] == ["NaN", "Infinity"] and back["config"]["dataset"] == "Infinity"
    assert math.isnan(back["x"])


def test_old_files_with_bare_tokens_still_read():
    assert safeio.loads('{"v": Infinity}')["v"] == math.inf


def test_unwritable_objects_are_refused():
    with pytest.raises(TypeError, match="cannot write object"):
        safeio.dumps({"x": object()})


def test_output_file_creates_missing_folders(tmp_path):
    target = tmp_path / "new" / "deeper" / "r.json"
    assert safeio.check_output_file(str(target), "json") == str(target)
    assert target.parent.is_dir() and not target.exists()
    assert os.listdir(target.parent) == []  # the probe file is gone


@pytest.mark.parametrize("case", ["folder", "device", "fifo", "input", "file-as-parent", "nul", "empty"])
def test_bad_outputs_are_refused_naming_the_option(tmp_path, case):
    data = tmp_path / "data.csv"
    data.write_text("x1,x2,label\n")
    path = {"folder": str(tmp_path), "device": "/dev/full", "fifo": str(tmp_path / "pipe"),
            "input": str(tmp_path / "." / "data.csv"), "file-as-parent": str(data / "r.json"),
            "nul": "r\0.json", "empty": "  "}[case]
    if case == "fifo":
        os.mkfifo(path)
    with pytest.raises(ValueError, match="^json: "):
        safeio.check_output_file(path, "json", inputs=[str(data)])
    assert data.read_text() == "x1,x2,label\n"


def test_unwritable_place_is_refused(tmp_path):
    """/proc takes no new files, even from root (a read-only folder would not stop root)."""
    with pytest.raises(ValueError, match="^png: cannot write into '/proc'"):
        safeio.check_output_file("/proc/lrlab-x.png", "png")


def test_output_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("keep")
    with pytest.raises(ValueError, match="^export: .*is an existing file"):
        safeio.check_output_folder(str(f), "export")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.py").mkdir()  # a folder where a file must go
    with pytest.raises(ValueError, match="^export: .*model.py' is a folder"):
        safeio.check_output_folder(str(tmp_path / "out"), "export", files=("model.py",))


def test_atomic_write_replaces_a_planted_link_instead_of_following_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    safeio.write_text(str(link), "{}")
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "{}"


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_text("old")
    real = os.replace

    def boom(*a):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        safeio.write_text(str(target), "new")
    monkeypatch.setattr(os, "replace", real)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_bounded_reads_refuse_before_reading(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(200 * 2**20)  # sparse: 200 MB that cost nothing
    with pytest.raises(ValueError, match="^csv: .*200.0 MB, more than the 1 MB"):
        safeio.read_bounded(str(big), "csv", 2**20)
    with pytest.raises(ValueError, match="^csv: '/dev/zero' is not a regular file"):
        safeio.read_bounded("/dev/zero", "csv", 2**20)
    with pytest.raises(ValueError, match="^csv: .* is a folder"):
        safeio.read_bounded(str(tmp_path), "csv", 2**20)
    with pytest.raises(ValueError, match="^csv: no such file"):
        safeio.read_bounded(str(tmp_path / "nope"), "csv", 2**20)
    small = tmp_path / "s.csv"
    small.write_bytes(b"abc")
    assert safeio.read_bounded(str(small), "csv", 3) == b"abc"


def test_a_fifo_never_blocks(tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    result = []
    t = threading.Thread(target=lambda: result.append(pytest.raises(ValueError, safeio.read_bounded,
                                                                    str(pipe), "csv", 100)), daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "reading a FIFO blocked"
    assert "not a regular file" in str(result[0].value)


def test_results_get_the_usual_permissions_uploads_stay_private(tmp_path):
    old = os.umask(0o022)
    try:
        safeio.write_text(str(tmp_path / "r.json"), "{}")
        safeio.write_bytes(str(tmp_path / "u.csv"), b"x", private=True)
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "u.csv").stat().st_mode & 0o777 == 0o600


def test_overlong_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^json: the file name '.*'\.\.\. is too long for this file system \(at most 255 bytes per name"):
        safeio.check_output_file(str(tmp_path / ("a" * 300 + ".json")), "json")
