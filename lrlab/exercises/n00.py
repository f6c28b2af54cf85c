"""Notebook 00 (quick start)."""
from . import Exercise, one_of, register

register(Exercise(
    key="00-1",
    question="Could a straight line separate the two moons' classes?",
    accepts=one_of("no"),
    hint="train the same config with hidden=() (no hidden layer: its boundary is a straight line) "
         "and compare its test accuracy with the network's",
    solution="no: without hidden layers the network reaches about 87 % test accuracy, with two hidden "
             "layers about 98 %; a straight line leaves the tips of each moon on the wrong side",
    note="a straight line leaves the tips of each moon on the wrong side",
))

register(Exercise(
    key="00-2",
    question="With lr = 1.0 and with lr = 0.0001, which stopping rule ends the run?",
    accepts=one_of("max_epochs", "max epochs", "the epoch budget", "epoch budget"),
    hint="print run.message() and run.stop_reason after each run",
    solution="max_epochs in both: neither diverges nor reaches a target; lr = 1.0 finds its best "
             "epoch early and then wanders, lr = 0.0001 has barely started when the budget ends",
    note="both runs use up their epochs: a run that neither diverges nor meets a target ends there",
))
