"""Issue 14, the CSV parts: every hostile file, cell, class name and upload gets one plain line.

Reproduces the exact cases of the issue: ``--csv /dev/zero``, a FIFO, a 200 MB CSV, a cell
over 131072 characters, a class name ``$\\frac{$`` (mathtext in the network view), and the
shared upload folder (two panels uploading ``data.csv``, a planted symlink, names ``..``,
NUL or 300 characters).
"""
import csv
import hashlib
import io
import os
import stat
import threading
import time

import pytest

from lrlab import csvdata, limits
from lrlab.plots import fig_to_png, new_figure, save_run_png
from lrlab.plots.network import draw_confusion_matrix, draw_network
from lrlab.plots.text import plain_text
from lrlab.train import TrainConfig, train
from lrlab.widgets.extras import CsvUpload, NetworkView

HEADER = "x1,x2,label\n"


def rows(n=20, label=lambda i: i % 2):
    return "".join(f"{i},{(3 * i) % 7},{label(i)}\n" for i in range(n))


def written(names, n=40):
    """A CSV whose label column cycles through ``names``, quoted the way a spreadsheet writes them."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["x1", "x2", "label"])
    for i in range(n):
        w.writerow([i % 7, (3 * i) % 5 + (i % len(names)), names[i % len(names)]])
    return out.getvalue()


def refused(source, **kw):
    with pytest.raises(ValueError) as info:
        csvdata.parse_csv(source, **kw)
    message = str(info.value)
    assert "\n" not in message and message.startswith("csv: "), message
    return message


# ------------------------------------------------------------------------------ files by path
def quickly_refused(path):
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as info:
        csvdata.load_csv(path)
    assert time.perf_counter() - t0 < 2.0
    message = str(info.value)
    assert "\n" not in message and message.startswith("csv: "), message
    return message


def test_dev_zero_is_refused_without_reading():
    assert "not a regular file" in quickly_refused("/dev/zero")


def test_a_fifo_is_refused_and_never_blocks(tmp_path):
    fifo = str(tmp_path / "pipe.csv")
    os.mkfifo(fifo)
    got = []
    t = threading.Thread(target=lambda: got.append(quickly_refused(fifo)), daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # blocked in open(): release it, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("load_csv blocked on a FIFO")
    assert got and "not a regular file" in got[0]


def test_a_folder_and_a_missing_file(tmp_path):
    assert "is a folder" in quickly_refused(str(tmp_path))
    assert quickly_refused(str(tmp_path / "nope.csv")).startswith("csv: no such file")


def test_a_200_mb_csv_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "wb") as fh:  # sparse: 200 MB on paper, nothing on disk
        fh.write(HEADER.encode())
        fh.truncate(200 * 2**20)
    message = quickly_refused(str(path))
    assert "200.0 MB, more than the 32 MB lrlab reads" in message


def test_load_csv_wrong_types():
    assert quickly_refused(None) == "csv: expected a file name, got NoneType"
    assert quickly_refused(3) == "csv: expected a file name, got int"  # never the file descriptor 3


def test_a_good_file_still_loads(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(HEADER + rows())
    assert csvdata.load_csv(str(path)).n_classes == 2


# ------------------------------------------------------------------------------ bytes and text
def test_a_cell_over_131072_characters():
    """Was ``_csv.Error: field larger than field limit (131072)``."""
    text = HEADER + rows(12) + "1,2," + "a" * 200_000 + "\n"
    assert refused(text) == "csv: row 14, column 'label': a cell of 200000 characters, at most 1000"
    text = HEADER + rows(12) + "x" * 150_000 + ",2,0\n"
    assert refused(text) == "csv: row 14, column 'x1': a cell of 150000 characters, at most 1000"
    text = HEADER + rows(12) + "1,2," + "b" * 5000 + "\n"  # under csv's own limit: the same message
    assert refused(text) == "csv: row 14, column 'label': a cell of 5000 characters, at most 1000"
    text = HEADER + rows(12) + '1,2,"' + "a," * 100_000 + '"\n'  # quoted: csv's limit, turned into a line
    assert refused(text) == "csv: row 14: a cell of more than 131072 characters, at most 1000"


def test_a_10k_character_class_name_is_refused_by_the_cell_limit():
    names = ["n" * 10_000, "short"]
    assert refused(written(names)) == "csv: row 2, column 'label': a cell of 10000 characters, at most 1000"


def test_a_long_header_cell():
    message = refused("x1,x2," + "l" * 3000 + "\n" + rows())
    assert message == "csv: row 1, column 3: a cell of 3000 characters, at most 1000"


def test_more_than_max_bytes_is_refused_before_decoding():
    big = b"x" * (limits.MAX_CSV_BYTES + 1)
    for source in (big, bytearray(big), memoryview(big)):
        assert "more than the 32 MB lrlab reads" in refused(source)
    assert "more than the 32 MB lrlab reads" in refused("x" * (limits.MAX_CSV_BYTES + 1))


def test_wrong_types_never_allocate():
    assert refused(None) == "csv: expected the file's text or bytes, got NoneType"
    assert refused(10**10) == "csv: expected the file's text or bytes, got int"  # bytes(10**10) would be 10 GB
    assert refused([1, 2]) == "csv: expected the file's text or bytes, got list"
    with pytest.raises(ValueError, match="csv: expected the file's text or bytes, got float"):
        csvdata.as_bytes(1.5)


def test_rows_are_counted_while_reading(monkeypatch):
    monkeypatch.setattr(csvdata, "MAX_ROWS", 50)
    assert csvdata.parse_csv(HEADER + rows(50)).X.shape == (50, 2)
    message = refused(HEADER + rows(51))
    assert message.startswith("csv: too many rows: more than 50 data rows (row 52 is one too many)")


def test_nul_bytes_and_odd_encodings():
    assert refused(HEADER + rows(3) + "1,2\x00,0\n" + rows()).startswith("csv: row 5 holds a NUL character")
    assert refused((HEADER + rows()).encode("utf-16")).startswith("csv: the file is not UTF-8 text (it is UTF-16)")
    assert refused((HEADER + rows()).encode("utf-16-le")).startswith("csv: row 1 holds a NUL character")
    latin = (HEADER + rows(label=lambda i: "café" if i % 2 else "thé")).encode("latin-1")
    assert refused(latin).startswith("csv: the file is not UTF-8 text (row 2 holds the byte 0xe9")
    bom = ("\ufeff" + HEADER + rows()).encode("utf-8")  # Excel's 'CSV UTF-8' is fine
    assert csvdata.parse_csv(bom).n_classes == 2


def test_quotes_that_never_close_or_run_over_lines():
    text = HEADER + rows(5) + '1,"2,0\n' + rows(6)
    assert refused(text).startswith("csv: row 7: a quoted cell is never closed (a '\"' without its closing '\"', "
                                    "it runs over 7 lines)")
    assert refused(HEADER + rows(12) + '1,2,"0\n').startswith("csv: row 14: a quoted cell is never closed")
    assert refused(HEADER + rows(12) + '1,2,"a\nb"\n').startswith("csv: row 14: a quoted cell runs over 2 lines")
    assert refused(HEADER + rows(12) + '1,2,"a"b\n').startswith("csv: row 14: text after a closing quote")
    # a lone quote inside an unquoted cell is just a character
    assert refused(HEADER + rows(12) + '1,2",0\n') == "csv: row 14, column 'x2': '2\"' is not a number"


def test_absurd_numbers():
    assert refused(HEADER + rows(12) + "1e400,2,0\n") == \
        "csv: row 14, column 'x1': '1e400' is not a finite number (NaN/inf)"
    assert refused(HEADER + rows(12) + "1,2,1e400\n") == "csv: row 14, column 'label': '1e400' is not a finite number"
    assert refused(HEADER + rows(12) + "1,-inf,0\n").startswith("csv: row 14, column 'x2': '-inf' is not a finite")
    assert refused("x1,y\n" + "".join(f"{i},{'1' * 500}\n" for i in range(12))) == \
        "csv: row 2, column 'y': " + repr("1" * 39 + "…") + " is not a finite number"


def test_hostile_class_names_are_data_kept_as_given():
    names = ["<b>bold</b><script>alert(1)</script>", "$\\frac{$", "a_b^c$",
             '"""+str(__import__("os").system("touch PWNED"))+"""', "  spaced  ", "é ☃ 日本"]
    table = csvdata.parse_csv(written(names, 60))
    assert set(table.class_names) == {n.strip() for n in names}


@pytest.mark.parametrize("name,code", [("a\nb", None), ("a\tb", "0009"), ("red\x1b[31m", "001B"),
                                       ("abc\u202e", "202E"), ("x\x7f", "007F"), ("p\u2028q", "2028")])
def test_class_names_with_control_characters_are_refused(name, code):
    message = refused(written([name, "ok"]))
    if code is None:  # a line break inside quotes
        assert message.startswith("csv: row 2: a quoted cell runs over 2 lines")
    else:
        assert message.startswith("csv: row 2, column 'label': the class name ")
        assert f"holds the control character U+{code}; class names must be plain text on one line" in message


def test_too_many_distinct_names_are_not_all_kept():
    text = HEADER + "".join(f"{i},{i % 3},name{i}\n" for i in range(csvdata.MAX_DISTINCT_TRACKED + 5))
    assert refused(text) == f"csv: column 'label' holds more than {csvdata.MAX_DISTINCT_TRACKED} classes, at most 8"


def test_error_messages_show_short_cells():
    message = refused(HEADER + rows(12) + "1," + "z" * 900 + ",0\n")
    assert len(message) < 200 and "…" in message


# ------------------------------------------------------------------------------ drawing names
@pytest.fixture(scope="module")
def mathtext_run(tmp_path_factory):
    """The issue's case: class names ``$\\frac{$`` and ``a_b^c$`` (and HTML), trained a few epochs."""
    path = tmp_path_factory.mktemp("mathtext") / "math.csv"
    path.write_text(written(["$\\frac{$", "a_b^c$", "<b>$x$</b>"], 60))
    ds = csvdata.load_csv(str(path))
    assert ds.class_names == ("$\\frac{$", "<b>$x$</b>", "a_b^c$")
    return train(csvdata.config_for(TrainConfig(max_epochs=4, hidden=(4,)), ds, str(path)))


def test_plain_text_escapes_every_dollar():
    import matplotlib.cbook as cbook
    for name in ["$\\frac{$", "a_b^c$", "$x$", "\\$a$b$", "$$"]:
        assert not cbook.is_math_text(plain_text(name))
    assert plain_text("a\nb\x1b") == "a b "
    assert plain_text("x" * 100, 10) == "x" * 9 + "…"


def test_mathtext_class_names_render_in_the_network_graph(mathtext_run):
    fig = new_figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    draw_network(ax, mathtext_run)
    assert fig_to_png(fig)[:4] == b"\x89PNG"
    texts = [t.get_text() for t in ax.texts]
    assert "\\$\\frac{\\$" in texts and "a_b^c\\$" in texts  # drawn as "$\frac{$" and "a_b^c$"


def test_mathtext_class_names_render_in_the_confusion_matrix(mathtext_run):
    fig = new_figure(4, 4)
    ax = fig.add_subplot(1, 1, 1)
    draw_confusion_matrix(ax, mathtext_run)
    assert fig_to_png(fig)[:4] == b"\x89PNG"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["\\$\\frac{\\$", "<b>\\$x\\$</b>", "a_b^c\\$"]


def test_mathtext_class_names_render_in_the_network_view_and_the_training_figure(mathtext_run, tmp_path):
    view = NetworkView(mathtext_run, resolution=8)
    assert view.graph.value[:4] == b"\x89PNG" and view.confusion.value[:4] == b"\x89PNG"
    save_run_png(mathtext_run, str(tmp_path / "run.png"))
    assert (tmp_path / "run.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------ the upload widget
GOOD = (HEADER + rows(40, lambda i: ["no", "yes"][i % 7 > 3])).encode()
OTHER = (HEADER + rows(30, lambda i: ["cat", "dog", "emu"][i % 3])).encode()


def content_path(folder, raw):
    return os.path.join(folder, hashlib.sha256(raw).hexdigest()[:16] + ".csv")


def test_two_widgets_uploading_data_csv_keep_their_own_data():
    a, b = CsvUpload(), CsvUpload()
    assert a.folder is None and b.folder is None  # made at the first good upload
    assert a.load_bytes("data.csv", GOOD) and b.load_bytes("data.csv", OTHER)
    assert a.path != b.path and a.folder != b.folder
    for w in (a, b):
        assert os.path.basename(w.folder).startswith("lrlab_csv_")
        assert stat.S_IMODE(os.stat(w.folder).st_mode) == 0o700
    assert open(a.path, "rb").read() == GOOD and open(b.path, "rb").read() == OTHER
    assert a.dataset.class_names == ("no", "yes") and b.dataset.class_names == ("cat", "dog", "emu")
    assert csvdata.load_csv(a.config_for(TrainConfig()).csv_path).class_names == ("no", "yes")
    assert a.load_bytes("data.csv", OTHER) and a.path == content_path(a.folder, OTHER)


def test_same_name_different_content_in_one_shared_folder(tmp_path):
    a, b = CsvUpload(folder=str(tmp_path)), CsvUpload(folder=str(tmp_path))
    assert a.load_bytes("data.csv", GOOD) and b.load_bytes("data.csv", OTHER)
    assert a.path == content_path(str(tmp_path), GOOD) and b.path == content_path(str(tmp_path), OTHER)
    assert open(a.path, "rb").read() == GOOD  # b did not overwrite a's data
    assert "data.csv: 40 rows" in a.status.value


def test_a_planted_symlink_is_replaced_never_followed(tmp_path):
    folder, target = tmp_path / "uploads", tmp_path / "precious.txt"
    folder.mkdir()
    target.write_text("keep me")
    planted = content_path(str(folder), GOOD)
    os.symlink(target, planted)
    w = CsvUpload(folder=str(folder))
    assert w.load_bytes("data.csv", GOOD)
    assert target.read_text() == "keep me"
    assert w.path == planted and not os.path.islink(planted) and open(planted, "rb").read() == GOOD


def test_a_folder_planted_at_the_path_gives_a_message(tmp_path):
    os.mkdir(content_path(str(tmp_path), GOOD))
    w = CsvUpload(folder=str(tmp_path))
    assert w.load_bytes("data.csv", GOOD) is False
    assert w.error.startswith("data.csv: csv: could not keep a copy for training") and w.path is None


@pytest.mark.parametrize("name,shown", [
    ("..", "upload.csv"), ("../../etc/passwd", "passwd"), ("a\x00b.csv", "a?b.csv"), ("x" * 300, None),
    ("", "upload.csv"), (None, "upload.csv"), (5, "upload.csv"), ("..\\..\\win.csv", "win.csv"),
    ("/", "upload.csv"), ("evil\n<script>.csv", "evil?<script>.csv"), (b"bytes.csv", "bytes.csv"),
    ("\ud800.csv", "?.csv"),
])
def test_hostile_upload_names_never_raise_nor_escape(tmp_path, name, shown):
    folder = tmp_path / "uploads"
    w = CsvUpload(folder=str(folder))
    assert w.load_bytes(name, GOOD) is True
    assert os.path.dirname(w.path) == str(folder) and os.listdir(tmp_path) == ["uploads"]
    assert os.listdir(folder) == [os.path.basename(content_path(str(folder), GOOD))]
    display = CsvUpload.display_name(name)
    if shown is None:
        assert len(display) == 60 and "…" in display
    else:
        assert display == shown
    assert w.dataset.name == "csv:" + display
    assert w.load_bytes(name, b"x1,x2,label\n1,2,0\n") is False  # bad content: the same name, one line
    assert w.error.startswith(display + ": csv: too few rows") and "\n" not in w.error


@pytest.mark.parametrize("content,message", [
    (None, "csv: expected the file's text or bytes, got NoneType"),
    (10**10, "csv: expected the file's text or bytes, got int"),
    (3.5, "csv: expected the file's text or bytes, got float"),
    ({"a": 1}, "csv: expected the file's text or bytes, got dict"),
])
def test_wrong_content_types_give_the_status_line(tmp_path, content, message):
    w = CsvUpload(folder=str(tmp_path))
    assert w.load_bytes("data.csv", content) is False
    assert w.error == "data.csv: " + message and "Traceback" not in w.status.value
    assert os.listdir(tmp_path) == []


def test_an_upload_over_the_byte_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    def never(*a, **k):
        raise AssertionError("parsed an oversized upload")
    monkeypatch.setattr(csvdata, "parse_csv", never)
    w = CsvUpload(folder=str(tmp_path))
    big = memoryview(b"x" * (limits.MAX_CSV_BYTES + 1))
    assert w.load_bytes("big.csv", big) is False
    assert w.error == "big.csv: csv: the file is 32.0 MB, more than the 32 MB lrlab reads; use a smaller file"


def test_the_upload_observer_with_odd_values(tmp_path):
    w = CsvUpload(folder=str(tmp_path))
    w._on_upload({"new": ({"name": None, "content": None},)})
    assert w.error == "upload.csv: csv: expected the file's text or bytes, got NoneType"
    w._on_upload({"new": (object(),)})
    assert w.error.startswith("upload.csv: csv: expected")
    w._on_upload({"new": {"k": {"name": "ok.csv", "content": GOOD}}})
    assert w.error is None and w.dataset.n_classes == 2


def test_an_uploaded_csv_with_hostile_names_trains_from_its_saved_copy(tmp_path):
    raw = written(["$\\frac{$", '"""+str(__import__("os").system("touch PWNED"))+"""'], 40).encode()
    w = CsvUpload(folder=str(tmp_path))
    assert w.load_bytes("../$evil$.csv", raw)
    run = train(w.config_for(TrainConfig(max_epochs=3, hidden=(3,))))
    assert run.dataset.class_names == w.dataset.class_names
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*"))
