"""Notebook 04 (learning-rate schedules)."""
from . import Exercise, number_near, one_of, register


def _epochs(*wanted: int):
    """An ``accepts`` for a list of epochs (any sequence of whole numbers, in order)."""
    def accepts(answer) -> bool:
        if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__"):
            return False
        return len(answer) == len(wanted) and all(float(a) == w for a, w in zip(answer, wanted))
    return accepts


register(Exercise(
    key="04-1",
    question="Cosine annealing with max_lr = 0.1, min_lr = 0.001, T_max = 50: what is the rate at e = T_max / 2?",
    accepts=number_near(0.0505, rel=0.005),
    hint="put e = T_max / 2 into the printed formula: the cosine of pi/2 is 0, so (1 + cos) is 1",
    solution="0.0505 = (max_lr + min_lr) / 2: halfway in time is halfway in rate. The engine sets T_max to "
             "the epoch budget so that the run ends at min_lr and never reaches the climb back",
    note="halfway through T_max the rate is halfway between max_lr and min_lr",
))

register(Exercise(
    key="04-2",
    question="SGDR with T_0 = 10, T_mult = 2: at which epochs below 150 does the rate restart (a list)?",
    accepts=_epochs(10, 30, 70),
    hint="a restart comes where a cycle ends: add the cycle lengths T_0, T_0*T_mult, T_0*T_mult**2, ... "
         "one at a time and stop once the sum passes 150",
    solution="[10, 30, 70]: the cycles last 10, 20, 40 (and 80, which would end at 150)",
    note="each cycle is twice as long as the one before",
))

register(Exercise(
    key="04-3",
    question="warmup_cosine with lr = 0.1, warmup = 10 and the default min_lr: by how much does the rate "
             "rise in each warm-up epoch?",
    accepts=number_near(0.0099, rel=0.005),
    hint="the warm-up is a straight line from min_lr to max_lr over warmup epochs; "
         "S.SCHEDULES['warmup_cosine'].resolve(0.1, 100) shows the min_lr you get when you leave it out",
    solution="0.0099 = (0.1 - 0.001) / 10: min_lr defaults to lr / 100, so the first epoch already "
             "trains at 0.001 rather than wasting an epoch at rate 0",
    note="the line starts at min_lr = lr / 100, not at 0, so no epoch is wasted",
))

register(Exercise(
    key="04-4",
    question="One-cycle with max_lr = 0.1, div_factor = 25, final_div_factor = 1e4: what is the last rate?",
    accepts=number_near(4e-7, rel=0.01),
    hint="the printed docstring gives initial_lr and final_lr: divide max_lr by div_factor, then that "
         "by final_div_factor",
    solution="4e-7: it starts at 0.1 / 25 = 0.004 and ends at 0.004 / 1e4; the ends are 250 000 times "
             "apart, so only a log axis shows both",
    note="the ends of the run are five orders of magnitude apart: that is why the axis is logarithmic",
))

register(Exercise(
    key="04-5",
    question="Spiral (noise 0.1, lr 0.05, 200 epochs): which reaches the lower best test loss, plain 'cosine' "
             "or 'cosine_plateau_cuts' (period 10)?",
    accepts=one_of("cosine", "plain cosine", "plain", "cosine without cuts", "without cuts"),
    hint="train both with the same config and compare run.best_metrics['test_loss']; then look where "
         "the cuts fell on the lr panel",
    solution="plain cosine: the accuracy means wobble early on the spiral, the cuts fire while the "
             "network is still learning and freeze it; with monitor='loss' no cut fires and the run is "
             "the plain cosine one",
    note="a cut that fires while the network is still learning freezes it far from a good model",
))

register(Exercise(
    key="04-6",
    question="Which best epoch would you hand to a user who needs calibrated probabilities: the one by "
             "'loss' or by 'accuracy'?",
    accepts=one_of("loss", "by loss", "test loss", "lowest loss"),
    hint="which of the two numbers changes when a correct prediction becomes more, or less, confident?",
    solution="by loss: the cross-entropy punishes confident mistakes and rewards calibrated confidence; "
             "accuracy only counts the side of the boundary. Picking either on the test split makes "
             "its test number optimistic: pick on a validation split and report the test split once",
    note="the cross-entropy scores the probabilities themselves, accuracy only their side of 0.5",
))

register(Exercise(
    key="04-7",
    question="On the explorer's synthetic curve (lr 0.1, 100 epochs), what is the smallest period for which "
             "cosine_plateau_cuts with monitor='both' makes no cut?",
    accepts=number_near(16, abs_tol=0.0, rel=0.0),
    hint="move the period slider up from 1 and read the number of cuts in the Numbers tab (or loop over "
         "periods with explorer.set_params and len(curve.cuts))",
    solution="16: longer periods average the synthetic curve's bumps away (though period 18 cuts once "
             "more). 'both' cuts whenever 'loss' or 'accuracy' would, so it cuts at least as often as either",
    note="long periods average the bumps away; 'both' cuts whenever either alone would",
))
