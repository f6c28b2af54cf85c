"""The small widgets the training panel embeds, driven headlessly."""
import datetime
import hashlib
import json
import os

import pytest

from lrlab import share
from lrlab.presets import PRESETS, preset_config
from lrlab.train import TrainConfig, Trainer, train
from lrlab.widgets.extras import CsvUpload, ExportButtons, NetworkView, PresetPicker, ShareBox
from csv_cases import BAD_CSV_FILES  # tests/csv_cases.py

GOOD = ("x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{['no', 'yes'][i % 7 > 3]}" for i in range(40))).encode()


@pytest.fixture(scope="module")
def run():
    return train(TrainConfig(dataset="blobs", classes=3, hidden=(5, 3), max_epochs=10))


def upload_value(name, content):
    return ({"name": name, "type": "text/csv", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


def test_csv_upload_good_file_calls_back(tmp_path):
    got = []
    w = CsvUpload(on_load=lambda ds, path: got.append((ds, path)), folder=str(tmp_path))
    w.upload.value = upload_value("mine.csv", GOOD)
    assert w.dataset is not None and w.error is None
    ds, path = got[0]
    assert ds.n_classes == 2 and ds.class_names == ("no", "yes") and open(path, "rb").read() == GOOD
    # saved under its content's hash in the given folder, never under the uploaded name
    assert path == os.path.join(str(tmp_path), hashlib.sha256(GOOD).hexdigest()[:16] + ".csv") == w.path
    assert "40 rows" in w.status.value and "2 classes (no, yes)" in w.status.value
    c = w.config_for(TrainConfig(max_epochs=3))
    assert c.csv_path == path and c.n_samples == 40
    assert train(c).dataset.n_classes == 2


@pytest.mark.parametrize("content,message", BAD_CSV_FILES)
def test_csv_upload_bad_file_shows_the_message(tmp_path, content, message):
    got = []
    w = CsvUpload(on_load=lambda *a: got.append(a), folder=str(tmp_path))
    assert w.load_bytes("bad.csv", content) is False
    assert got == [] and w.dataset is None
    assert message in w.status.value and "Traceback" not in w.status.value
    assert w.status.value.count("bad.csv") == 1
    with pytest.raises(ValueError, match="csv: no valid CSV"):
        w.config_for(TrainConfig())


def test_share_box_shows_and_loads():
    config = TrainConfig(seed=42, hidden=(3, 3), lr=0.05)
    got = []
    box = ShareBox(config, on_load=got.append)
    assert box.code.value == share.encode(config)
    box.paste.value = box.code.value
    box.button.click()
    assert got == [config] and "seed 42" in box.status.value


def test_share_box_bad_string_shows_the_message():
    got = []
    box = ShareBox(TrainConfig(), on_load=got.append)
    box.paste.value = box.code.value[:-6]
    box.button.click()
    assert got == [] and "damaged or cut short" in box.status.value
    box.load("nonsense")
    assert "starts with" in box.status.value


def test_preset_picker_sentence_and_callback():
    got = []
    picker = PresetPicker(on_pick=got.append)
    picker.dropdown.value = "ReLU dies"
    assert got[-1] == preset_config("ReLU dies")
    assert PRESETS["ReLU dies"].observe.split()[0] in picker.sentence.value
    picker.contrast.value = True
    assert got[-1] == preset_config("ReLU dies", contrast=True)
    assert picker.pick("learning rate too high").lr == 0.5  # contrast still ticked
    picker.contrast.value = False
    assert picker.config.lr == 50.0
    picker.dropdown.value = PresetPicker.NONE
    assert picker.config is None and picker.sentence.value == ""


def test_export_buttons_write_both_files(run, tmp_path):
    b = ExportButtons(lambda: None, folder=str(tmp_path / "out"))
    assert b.export() is None and "train a network first" in b.status.value
    b.set_source(run)
    b.button.click()
    assert os.path.exists(tmp_path / "out" / "model.json") and os.path.exists(tmp_path / "out" / "model.py")
    assert json.loads((tmp_path / "out" / "model.json").read_text())["sizes"] == [2, 5, 3, 3]
    assert "wrote" in b.status.value


def test_network_view_draws_and_redraws_from_a_trainer():
    trainer = Trainer(TrainConfig(dataset="spiral", classes=3, hidden=(4, 4), max_epochs=5))
    view = NetworkView(trainer, resolution=12)
    first = (view.graph.value, view.heatmaps.value, view.confusion.value)
    assert all(v[:4] == b"\x89PNG" for v in first)
    assert "lrlab-figure" in view.graph._dom_classes
    for _ in range(3):
        trainer.epoch()
    view.update(trainer)
    assert view.frames == 2 and view.graph.value != first[0] and view.heatmaps.value != first[1]


def test_network_view_regression_hides_the_confusion_matrix():
    r = train(TrainConfig(dataset="sine", hidden=(3,), max_epochs=2))
    view = NetworkView(r)
    assert view.confusion.layout.display == "none" and view.heatmaps.value[:4] == b"\x89PNG"


def test_share_box_never_shows_a_stale_string_for_a_config_it_cannot_share():
    from lrlab.widgets.extras import ShareBox
    box = ShareBox(TrainConfig(max_epochs=5))
    assert box.code.value.startswith("lrlab1:")
    assert box.set_config(TrainConfig(max_epochs=5, csv_path="/tmp/data.csv")) == ""
    assert box.code.value == "" and "a share string cannot carry a file" in box.status.value
