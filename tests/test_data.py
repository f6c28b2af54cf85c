import numpy as np
import pytest
import torch

from lrlab import data


@pytest.mark.parametrize("name", data.DATASETS)
def test_shapes_split_and_determinism(name):
    ds = data.make(name, n=200, noise=0.1, test_fraction=0.25, seed=3)
    d_in = 1 if name == "sine" else 2
    assert ds.X_train.shape == (150, d_in) and ds.X_test.shape == (50, d_in)
    if name == "sine":
        assert ds.kind == "regression" and ds.y_train.shape == (150, 1) and ds.y_train.dtype == torch.float32
    else:
        assert ds.kind == "classification" and ds.y_train.dtype == torch.long
        assert set(ds.y_train.tolist()) | set(ds.y_test.tolist()) == {0, 1}
    again = data.make(name, n=200, noise=0.1, test_fraction=0.25, seed=3)
    assert torch.equal(ds.X_train, again.X_train) and torch.equal(ds.y_test, again.y_test)
    other = data.make(name, n=200, noise=0.1, test_fraction=0.25, seed=4)
    assert not torch.equal(ds.X_train, other.X_train)
    assert float(ds.X_train.abs().max()) < 3


@pytest.mark.parametrize("name", ["spiral", "blobs"])
def test_multiclass(name):
    ds = data.make(name, n=300, classes=4, seed=0)
    assert ds.n_classes == 4 and ds.out_features == 4
    labels = torch.cat([ds.y_train, ds.y_test])
    assert torch.bincount(labels).tolist() == [75, 75, 75, 75]


def test_dtype_and_device():
    ds = data.make("moons", n=64, dtype=torch.float64, device="cpu")
    assert ds.X_train.dtype == torch.float64 and ds.X_train.device.type == "cpu"


@pytest.mark.parametrize("kwargs, field", [
    (dict(name="mnist"), "dataset"), (dict(n=3), "n"), (dict(noise=-1), "noise"),
    (dict(test_fraction=1.0), "test_fraction"), (dict(classes=1), "classes"),
])
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        data.make(**kwargs)


def test_feature_transforms():
    X = torch.tensor([[1.0, 2.0], [-0.5, 0.25]])
    out = data.transform(X, ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2"])
    expected = np.array([[1, 2, 1, 4, 2, np.sin(1), np.sin(2)],
                         [-0.5, 0.25, 0.25, 0.0625, -0.125, np.sin(-0.5), np.sin(0.25)]])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="features"):
        data.transform(X, ["x3"])
