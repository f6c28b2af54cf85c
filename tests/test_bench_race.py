"""The race benchmark's code paths run (the figures themselves come from ``lrlab bench``)."""
import torch

from lrlab.bench import race as bench_race


def test_big_race_pairs_cover_every_optimizer_at_many_rates():
    pairs = bench_race.big_race_pairs(64)
    assert len(pairs) == 64 and len(set(pairs)) == 64
    assert {o for o, _ in pairs} == {o for o, _ in bench_race._available(bench_race.RACE8)}


def test_big_race_rows_run_on_any_device():
    # the K=1024 row (on a GPU where there is one), on the CPU with a small K: the same code
    row, = bench_race.big_race_rows(quick=True, device="cpu", K=16, sample=4)
    assert row.ours > 0 and row.theirs > 0 and "K=16" in row.name


def test_plain_loops_with_metrics_record_what_the_race_records():
    models, opts = bench_race.plain_models([("adam", 0.01)])
    ds = bench_race.make_dataset(bench_race.CONFIG)
    record = bench_race.plain_epoch(models[0], opts[0], torch.nn.CrossEntropyLoss(), [(ds.X_train, ds.y_train)],
                                    ds.X_test, ds.y_test)
    train_loss, train_acc, test_loss, test_acc = record
    assert 0 < train_loss < 2 and 0 <= train_acc <= 1 and 0 < test_loss < 2 and 0 <= test_acc <= 1
    assert bench_race.plain_epoch(models[0], opts[0], torch.nn.CrossEntropyLoss(), [(ds.X_train, ds.y_train)],
                                  ds.X_test, ds.y_test, metrics=False) is None
