"""Notebook 06 (race and sweep): its questions and exercise, in order."""
from . import Exercise, number_near, register

register(Exercise(
    key="06-1",
    question="Momentum 0.9 with lr = 0.1: its steady-state step per unit of a constant gradient?",
    accepts=number_near(1.0, rel=0.02),
    hint="the velocity sums g + 0.9 g + 0.9^2 g + ...: multiply the sum by the learning rate",
    solution="0.1 / (1 - 0.9) = 1.0, twice plain SGD's 0.5: momentum's small lr takes the larger step",
    note="lr / (1 - momentum): momentum's smaller learning rate takes the larger step on a steady slope",
))
register(Exercise(
    key="06-2",
    question="In the sweep, how many times smaller is Adam's best learning rate than SGD's?",
    accepts=number_near(11.5, rel=0.3),
    hint="result.best_lr(name) gives each optimizer's best learning rate: divide",
    solution="about 11x (1.16 / 0.10): Adam divides each step by the gradient's running size, so its "
             "step is about lr per weight whatever the gradient, while SGD's is lr times a small gradient",
    note="Adam's step is about lr per weight; SGD's is lr times the (small) gradient",
))
register(Exercise(
    key="06-3",
    question="The sweep's best lr for SGD divided by the range test's suggestion for SGD?",
    accepts=number_near(1.36, rel=0.1),
    hint="run lr_range_test with optimizer='sgd' as the Adam one above, then divide result.best_lr('sgd') by its suggestion",
    solution="about 1.4: close, but the range test sees one step per lr (a tenth of its minimum is a "
             "rule of thumb), the sweep trains 40 epochs at each and picks by test loss",
    note="the two agree within a factor of two; they measure different things",
))
