"""Notebook 03 (adaptive learning rates): the effective step, a spike of large gradients, Adam's
rising steps near a minimum, AdaGrad's learning rate."""
from __future__ import annotations

import re

from . import Exercise, number_near, one_of, register

#: the optimizers whose effective step comes back after the spike in 03's experiment
RECOVERING = frozenset({"rmsprop", "adam"})


def names(answer) -> frozenset:
    """Optimizer names from a list/tuple/set of words, or from one text ("rmsprop and adam",
    "rmsprop, adam"); case and spaces ignored. Anything else: an empty set."""
    if isinstance(answer, str):
        words = [w for w in re.split(r"[\s,;/+&]+", answer.lower()) if w and w != "and"]
    elif isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(w, str) for w in answer):
        words = [w.strip().lower() for w in answer]
    else:
        return frozenset()
    return frozenset(words)


register(Exercise(
    key="03-1",
    question="A weight's first gradient is 0.002 and Adam runs at lr = 0.01. What is its effective step "
             "after that first step?",
    accepts=number_near(5.0, rel=0.01),
    hint="on the first step Adam's average gradient is the gradient itself and the weight moves by about lr; "
         "the effective step is the number that turns the one into the other",
    solution="5: lr / |g| = 0.01 / 0.002 (the weight moves by lr = 0.01, i.e. 5 times its gradient)",
    note="lr / |g| = 0.01 / 0.002: the weight moves by lr, five times its small gradient",
))

register(Exercise(
    key="03-2",
    question="After the spike, which optimizers' effective steps come back to within 10 % of the run "
             "without the spike, within the 5000 steps? (a list of names)",
    accepts=lambda answer: names(answer) == RECOVERING,
    hint="read the ratio curves of the figure against the dotted line at 0.9; then ask of each formula "
         "whether it sums the squared gradients or averages them with weights that fade",
    solution="rmsprop and adam: both average the squared gradients with weights that fade (alpha = 0.99, "
             "beta2 = 0.999), so the spike is forgotten; AdaGrad's G is a sum that keeps it forever",
    note="RMSProp (alpha = 0.99, a memory of about 100 steps) and Adam (beta2 = 0.999, about 1000 steps) "
         "forget the spike's squares; AdaGrad adds them to G, a sum that never forgets",
))

register(Exercise(
    key="03-3",
    question="Near a minimum Adam's effective steps rise, yet its weights move less and less. Which factor "
             "of the change shrinks? (its name in the formula)",
    accepts=one_of("m_hat", "m hat", "mhat", "m", "the average gradient", "average gradient",
                   "the bias-corrected average gradient", "bias-corrected average gradient"),
    hint="the change is the effective step times one more factor; which factor is that in Adam's last "
         "formula line, and what becomes of the gradients it is made of near a minimum?",
    solution="m_hat, the bias-corrected average gradient: it shrinks with the gradients, so the change "
             "(effective step x m_hat) stays small while lr / (sqrt(v_hat) + eps) grows",
    note="m_hat shrinks with the gradients near a minimum, so the change stays small while "
         "lr / (sqrt(v_hat) + eps) grows: a rising effective step is Adam keeping its pace, not a jump",
))

register(Exercise(
    key="03-4",
    question="In the sweep of lr = 1e-4 ... 1 (150 epochs on moons), which learning rate gives AdaGrad its "
             "lowest test loss?",
    accepts=number_near(0.1, rel=0.01),
    hint="run the same sweep with optimizer='adagrad' and pick the rate of the smallest best test loss; "
         "remember that AdaGrad's effective step only falls",
    solution="0.1, ten times RMSProp's best rate (0.01): AdaGrad's effective step only falls, so it needs a "
             "larger lr to cover the same distance in 150 epochs",
    note="AdaGrad's effective step only falls (G only grows), so its best lr is larger than RMSProp's",
))
