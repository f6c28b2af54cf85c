"""Notebook 02 (optimizers on loss surfaces): the question of each section, in order."""
from . import Exercise, number_near, one_of, register

register(Exercise(
    key="02-1",
    question="How many of the seven surfaces have more than one place where the gradient is zero?",
    accepts=number_near(4, abs_tol=0),
    hint="each surface lists its zero-gradient points in surface.critical_points (minima and saddles): "
         "count the surfaces whose list has more than one entry",
    solution="4: Himmelblau (four minima), Rastrigin (an egg box of minima), the saddle (a saddle and "
             "two minima) and the double well (two minima and a saddle)",
    note="Himmelblau, Rastrigin, the saddle and the double well: where gradient descent ends depends on where it starts",
))
register(Exercise(
    key="02-2",
    question="In the ravine with condition=100, what is the best learning rate lr* for gradient descent?",
    accepts=number_near(2 / 101, rel=0.005),  # 2/100, the limit, is 1 % off
    hint="the slowest coordinate shrinks fastest when |1 - lr| and |1 - lr * kappa| are equal: solve for lr",
    solution="2/(1 + 100) = 0.0198; the error along the valley then shrinks by 99/101 per step, so "
             "gradient descent needs about 5x the steps it needed at kappa = 20",
    note="a narrower ravine forces a smaller step, and the valley floor is then crossed more slowly",
))
register(Exercise(
    key="02-3",
    question="Momentum beta = 0.8 and a constant gradient: the step along the valley floor is how many "
             "times the step without momentum?",
    accepts=number_near(5, rel=0.02),
    hint="the velocity is g + beta g + beta^2 g + ...: sum the geometric series",
    solution="1/(1 - 0.8) = 5 (at beta = 0.95 it is 20: the path overshoots and circles the minimum)",
    note="the velocity builds up to g / (1 - beta)",
))
register(Exercise(
    key="02-4",
    question="Of sgd, adagrad, rmsprop and adam, which one's first step on Beale gets longer when the "
             "gradient is far larger?",
    accepts=one_of("sgd", "gradient descent"),
    hint="write each rule's first update with its state at zero: which ones divide g by a size of g itself?",
    solution="sgd: its step is lr * g. AdaGrad, RMSProp and Adam divide g by the root of its own "
             "square, so each coordinate's first step is a fixed length whatever the gradient's size. "
             "AdaGrad's sum only grows, so its steps only shrink; RMSProp forgets old gradients",
    note="only plain gradient descent steps in proportion to the gradient; the adaptive rules divide it out",
))
register(Exercise(
    key="02-5",
    question="Nudge the saddle run by y0 = 1e-6 instead of 1e-3: how many more steps does gradient "
             "descent (lr 0.05) need before |y| exceeds 0.5?",
    accepts=number_near(141.6, rel=0.1),
    hint="near the saddle y grows by the factor (1 + lr) per step: how many such factors make "
         "another factor of a thousand? Or run both starts and compare",
    solution="about ln(1000)/ln(1.05) = 142 more steps: each factor 1000 smaller a nudge costs as "
             "many steps again; noise (mini-batches) keeps nudging, so it never starts that close",
    note="every factor of 1000 closer to the ridge costs the same number of steps again",
))
register(Exercise(
    key="02-6",
    question="On the double well's convergence maps: what fraction of the starts end in the local "
             "minimum with momentum 0.9 but in the global minimum with gradient descent?",
    accepts=number_near(82 / 1681, rel=0.1, abs_tol=0.003),
    hint="compare the two maps' codes start by start: count the starts whose code is the global "
         "minimum's index for sgd and the local minimum's for momentum",
    solution="about 5 % (82 of the 1681 starts), against about 12 % the other way round: momentum "
             "rolls through the global minimum's valley from some starts and over the ridge into the "
             "local one; with momentum 0.99 the paths keep rolling for far longer",
    note="momentum trades some starts for others: it does not know where the global minimum is",
))
