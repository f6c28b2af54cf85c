"""Notebook 05 (the playground): the guided experiments' exercises."""
from . import Exercise, number_near, one_of, register

register(Exercise(
    key="05-1",
    question="Experiment 1 (SGD at lr 50 on the moons): at which epoch did the run stop?",
    accepts=number_near(3, abs_tol=0.0),
    hint="the status line printed above the figure says why the run stopped and when",
    solution="epoch 3: the loss grew ten thousandfold and the divergence rule stopped the run",
    note="a few steps too large and the loss is more than ten thousand times where it started",
))

register(Exercise(
    key="05-2",
    question="Of the learning rates 10, 3 and 1, which is the largest with which SGD still trains "
             "the same network on the moons (the run does not diverge)?",
    accepts=number_near(3.0, abs_tol=1e-9),
    hint="train the experiment's config with each rate (config.replace(lr=...)) and read each run's "
         "stop_reason",
    solution="3: at 10 the run diverges within a few epochs; at 3 (and at 1) it trains",
    note="the edge lies between the rate that trains and the one that diverges: here within a factor of a few",
))

register(Exercise(
    key="05-3",
    question="Experiment 2: by what factor must SGD's learning rate of 1e-4 grow (try 10x, 100x, 1000x, "
             "10000x) so that it reaches 95 % test accuracy on the moons within the same 100 epochs? "
             "Give the smallest factor that does.",
    accepts=number_near(10_000, rel=0.01),
    hint="race the rates side by side (lrlab.race.Race) and compare each run's highest test accuracy "
         "with 0.95",
    solution="10000: only lr 1 reaches 95 % within 100 epochs; lr 0.1 stops short of it",
    note="the rate was not a little too low: it was four orders of magnitude too low",
))

register(Exercise(
    key="05-4",
    question="Experiment 3: of the learning rates 0.1, 1 and 3, which gives plain SGD its highest test "
             "accuracy on the spiral within the 300 epochs?",
    accepts=number_near(1.0, abs_tol=1e-9),
    hint="race the contrast run's config at the three rates and compare best_metrics['test_acc']",
    solution="1: SGD then reaches about 80 %, still below Adam's over 90 % at lr 0.01; at 3 it is worse again",
    note="no single SGD rate does what Adam's per-weight scaling does here",
))

register(Exercise(
    key="05-5",
    question="Experiment 4: train the constant-rate run on the full batch instead of mini-batches of 64. "
             "Does its training loss still jump over the last 20 epochs (yes or no)?",
    accepts=one_of("no", "n"),
    hint="compare np.ptp of the last 20 training losses of the two runs (batch_size=None is the full batch)",
    solution="no: the full batch's loss moves smoothly (its jumps are a small fraction of the mini-batch "
             "run's); the jumps came from the mini-batches",
    note="the jumps came from the mini-batches; with one step per epoch instead of 13 it has also learned far less",
))

register(Exercise(
    key="05-6",
    question="Preset 'ReLU dies': how many of its 32 hidden units are dead when the run ends?",
    accepts=number_near(17, abs_tol=1.0),
    hint="in the Network view a dead unit's heatmap is one flat colour; count them in both hidden layers "
         "(or use lrlab.presets.dead_unit_mask)",
    solution="17 (53 %): one huge step pushed their inputs below zero for every point",
    note="more than half the network is gone after one step too large",
))
