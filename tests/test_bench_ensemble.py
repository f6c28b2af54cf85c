"""The race vs torch.func ensemble benchmark: both sides do the same job, and the rows run
(the figures themselves come from ``lrlab bench --only ensemble``)."""
import numpy as np
import pytest
import torch

from lrlab import bench
from lrlab.bench import ensemble as bench_ensemble
from lrlab.bench import panel as bench_panel
from lrlab.race import race

LRS = [0.001, 0.01, 0.03, 0.1]
COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc")


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-9), ("float32", 1e-5)])
def test_ensemble_records_what_the_race_records(dtype, tol):
    """Same data, network, initial weights and Adam: the ensemble's per-epoch train loss/accuracy
    (before the update) and test loss/accuracy (after it) equal the race's, model by model."""
    config = bench_ensemble.CONFIG.replace(dtype=dtype)
    epochs = 30
    metrics = bench_ensemble.ensemble(config, LRS, epochs)
    assert metrics.shape == (epochs, 4, len(LRS))
    runs = race([config.replace(lr=lr) for lr in LRS], epochs=epochs)
    for k, run in enumerate(runs):
        assert run.stop_reason == "max_epochs" and len(run.history) == epochs
        for j, column in enumerate(COLUMNS):
            np.testing.assert_allclose(metrics[:, j, k], run.history[column], rtol=0, atol=tol,
                                       err_msg=f"model {k} (lr {LRS[k]}), {column}")
    # the models really differ (different learning rates), so the check is not one model four times
    assert len({round(float(x), 6) for x in metrics[-1, 0]}) == len(LRS)


def test_ensemble_starts_from_the_race_weights():
    e = bench_ensemble.Ensemble(bench_ensemble.CONFIG, [0.01, 0.02])
    assert all(p.shape[0] == 2 for p in e.params.values())
    runs = race([bench_ensemble.CONFIG.replace(lr=0.01)], epochs=1)
    # one epoch of the ensemble's model 0 gives the race's first training loss (same initial weights)
    e.epoch()
    assert float(e.history[0][0, 0]) == pytest.approx(runs[0].history["train_loss"][0], abs=1e-6)


def test_cpu_row_runs_quick():
    row, = bench_ensemble.cpu_rows(quick=True, K=8)
    assert row.name == "race vs torch.func ensemble, K=8, CPU, 1 thread"
    assert row.ours > 0 and row.theirs > 0 and row.unit == "model-epochs/s" and row.target == 3.0
    assert row.passed in (True, False)
    assert torch.get_num_threads() == 1  # put back (conftest runs every test on one thread)


def test_cuda_rows_are_skipped_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    row, = bench_ensemble.cuda_rows(quick=True)
    assert row.ours is None and row.theirs is None and row.ratio is None and row.passed is None
    assert "skipped: no CUDA here" in row.note
    line = bench.format_row(row)
    assert "SKIPPED" in line and "K=4,096, CUDA" in line
    stop, = bench_panel.cuda_stop_rows(quick=True)
    assert stop.ours is None and stop.passed is None and "skipped: no CUDA here" in stop.note
    assert "SKIPPED" in bench.format_row(stop)


def test_rate_functions_run_on_the_cpu():
    # the CUDA row's code path, on the CPU with a tiny K
    ours, theirs = bench_ensemble.compare(K=4, epochs=3, device="cpu", repeats=1)
    assert ours > 0 and theirs > 0


def test_stop_latency_runs_with_device_cpu(monkeypatch):
    call, frame = bench_panel.stop_latency(1, device="cpu")
    assert 0 < call <= frame
    # the device row reports what stop_latency measured on its device (stubbed here: measured above)
    asked = []
    monkeypatch.setattr(bench_panel, "stop_latency", lambda repeats, device: asked.append(device) or (call, frame))
    row, = bench_panel.cuda_stop_rows(quick=True, device="cpu")
    assert asked == ["cpu"] and row.name == "panel: Stop click returns, device=cpu (worst)"
    assert row.ours == call and row.theirs is None and row.target == 100 and row.passed == (call <= 100)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here: the panel offers it")
def test_panel_refuses_cuda_without_cuda():
    with pytest.raises(ValueError, match="device"):
        bench_panel.stop_latency(1, device="cuda")


def test_bench_knows_the_ensemble_topic():
    assert "ensemble" in bench.modules()
