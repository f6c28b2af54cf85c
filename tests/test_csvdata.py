"""The learner's own CSV data: good files load, every bad file gets its own one-line message."""
import numpy as np
import pytest
import torch

from lrlab import csvdata
from lrlab.train import TrainConfig, train


def csv_text(header="x1,x2,label", n=20, label=lambda i: i % 2, x2=True):
    rows = [header]
    for i in range(n):
        rows.append(f"{i * 0.5},{(i * 7) % 5}," + str(label(i)) if x2 else f"{i * 0.5}," + str(label(i)))
    return "\n".join(rows) + "\n"


def test_classification_with_integer_labels():
    ds = csvdata.parse_dataset(csv_text(), test_fraction=0.25, seed=1)
    assert ds.kind == "classification" and ds.n_classes == 2
    assert ds.X_train.shape == (15, 2) and ds.X_test.shape == (5, 2)
    assert ds.y_train.dtype == torch.long
    X = torch.cat([ds.X_train, ds.X_test])
    assert float(X.min()) == -1.0 and float(X.max()) == 1.0  # rescaled to [-1, 1]
    assert ds.input_min.tolist() == [0.0, 0.0] and ds.input_max.tolist() == [9.5, 4.0]


def test_string_labels_become_sorted_classes_and_bytes_are_read():
    text = csv_text("x1,x2,class", label=lambda i: ["dog", "cat", "emu"][i % 3]).encode("utf-8-sig")
    table = csvdata.parse_csv(text)
    assert table.class_names == ("cat", "dog", "emu")
    assert table.y[:3].tolist() == [1, 0, 2]


def test_minus_one_plus_one_labels_map_to_0_1():
    table = csvdata.parse_csv(csv_text(label=lambda i: 1 if i % 2 else -1))
    assert table.class_names == ("-1", "1") and set(table.y.tolist()) == {0, 1}


def test_regression_by_target_name_or_fractional_labels():
    t = csvdata.parse_csv(csv_text("x1,y", x2=False, label=lambda i: 2 * i))
    assert t.kind == "regression" and t.X.shape == (20, 1)
    t = csvdata.parse_csv(csv_text("x1,x2,label", label=lambda i: i / 3))
    assert t.kind == "regression"


def test_column_order_comments_and_blank_lines():
    text = "# my data\n\nlabel,x2,x1\n" + "\n".join(f"{i % 2},{i},{-i}" for i in range(12))
    t = csvdata.parse_csv(text)
    assert t.columns == ("x1", "x2") and t.X[3].tolist() == [-3.0, 3.0]


def test_split_is_seeded():
    a = csvdata.parse_dataset(csv_text(), seed=3)
    b = csvdata.parse_dataset(csv_text(), seed=3)
    c = csvdata.parse_dataset(csv_text(), seed=4)
    assert torch.equal(a.X_train, b.X_train) and not torch.equal(a.X_train, c.X_train)


def test_no_rescale_keeps_units():
    ds = csvdata.parse_dataset(csv_text(), rescale=False)
    assert float(torch.cat([ds.X_train, ds.X_test]).max()) == 9.5 and ds.input_min is None


BAD = [
    ("", "csv: the file is empty"),
    ("1,2,0\n" * 12, "csv: the first row must name the columns"),
    (csv_text("x1,x2,colour"), "csv: no target column (one of label, class, y, target)"),
    (csv_text("x1,x2,label").replace("x1,x2,label", "x1,x2,label,y"), "csv: more than one target column"),
    (csv_text("a,x2,label"), "csv: unknown column 'a'"),
    (csv_text("x2,x3,label"), "csv: unknown column 'x3'"),
    (csv_text("x2,label", x2=False), "csv: missing column 'x1'"),
    (csv_text("x1,label", x2=False), "csv: missing column 'x2': classification needs two inputs"),
    (csv_text("x1,x1,label"), "csv: column 'x1' appears twice"),
    (csv_text(n=5), "csv: too few rows: 5 data row(s), need at least 10"),
    (csv_text().replace("1.5,", "abc,"), "csv: row 5, column 'x1': 'abc' is not a number"),
    (csv_text().replace("\n1.0,4,0", "\n1.0,,0"), "csv: row 4, column 'x2': empty cell"),
    (csv_text().replace("2.0,3,0", "2.0,nan,0"), "csv: row 6, column 'x2': 'nan' is not a finite number"),
    (csv_text().replace("2.0,3,0", "2.0,3,"), "csv: row 6, column 'label': empty or NaN cell"),
    (csv_text().replace("2.0,3,0", "2.0,3,NaN"), "csv: row 6, column 'label': empty or NaN cell"),
    (csv_text().replace("2.0,3,0", "2.0,3,0,7"), "csv: row 6 has 4 cells, the header has 3"),
    (csv_text(label=lambda i: 1), "csv: column 'label' holds a single class ('1')"),
    (csv_text(label=lambda i: i % 9), "csv: column 'label' holds 9 classes, at most 8"),
    (csv_text("x1,x2,y", label=lambda i: "a" if i == 3 else i), "csv: row 5, column 'y': 'a' is not a number"),
    (csv_text("x1,x2,y", label=lambda i: 1.5), "csv: column 'y': every target is 1.5; nothing to learn"),
    (csv_text().replace(",", ";"), "csv: columns are separated by ';'"),
    ("x1,x2,label\n" + "1,2,0\n1,3,1\n" * 6, "csv: column 'x1': every value is 1"),
    (b"\xff\xfe\x00x1,", "csv: the file is not UTF-8 text"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m.split(":", 1)[1][:40] for _, m in BAD])
def test_each_bad_file_gets_its_message(text, message):
    with pytest.raises(ValueError) as info:
        csvdata.parse_dataset(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_load_csv_missing_file_and_folder(tmp_path):
    with pytest.raises(ValueError, match="csv: no such file"):
        csvdata.load_csv(str(tmp_path / "nope.csv"))
    with pytest.raises(ValueError, match="is a folder"):
        csvdata.load_csv(str(tmp_path))


def test_engine_trains_on_a_csv_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, (80, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    path = tmp_path / "mine.csv"
    path.write_text("x1,x2,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, y)))
    ds = csvdata.load_csv(str(path))
    config = csvdata.config_for(TrainConfig(max_epochs=60, lr=0.05), ds, str(path))
    assert config.csv_path == str(path) and config.n_samples == 80
    run = train(config)
    assert run.dataset.name == "csv:mine.csv"
    assert run.best_metrics["test_acc"] > 0.85


def test_engine_regression_on_a_1d_csv(tmp_path):
    xs = np.linspace(-3, 3, 60)
    path = tmp_path / "curve.csv"
    path.write_text("x1,y\n" + "\n".join(f"{x},{np.sin(x)}" for x in xs))
    ds = csvdata.load_csv(str(path))
    config = csvdata.config_for(TrainConfig(max_epochs=150, lr=0.03), ds, str(path))
    assert (config.loss, config.features) == ("mse", ("x1",))
    run = train(config)
    assert run.kind == "regression" and run.best_metrics["test_acc"] > 0.7
