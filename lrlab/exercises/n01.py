"""Notebook 01 (backpropagation, step by step): its questions and exercises, in the order they come."""
from . import Exercise, number_near, one_of, register


def _none(answer) -> bool:
    """'none' (or the number 0): no gradient changes sign."""
    if isinstance(answer, str):
        return answer.strip().lower() in {"none", "zero", "0", "no"}
    return float(answer) == 0


register(Exercise(
    key="01-1",
    question="What is the largest value the sigmoid's slope sigma(z)(1 - sigma(z)) can take?",
    accepts=number_near(0.25, rel=0.01),
    hint="sigma(z) is a number p between 0 and 1: where is the product p(1 - p) largest?",
    solution="1/4 = 0.25, at z = 0 (sigma = 1/2): each sigmoid layer shrinks the error by at least 4x",
    note="at most 1/4, at z = 0: every sigmoid layer the error passes shrinks it at least fourfold",
))
register(Exercise(
    key="01-2",
    question="With a batch of two samples, is the batch's dW the 'sum' or the 'mean' of the two samples' "
             "own dW (each traced alone)?",
    accepts=one_of("mean", "the mean", "average", "the average"),
    hint="trace each sample alone and the two together, then compare dW with both combinations; "
         "look at how delta_L depends on the batch size n",
    solution="the mean: delta_L is divided by n (the loss is a mean over samples), so "
             "dW = delta^T a sums per-sample terms that are already divided by n",
    note="delta_L carries the 1/n of the mean loss, so delta^T a sums terms already divided by n",
))
register(Exercise(
    key="01-3",
    question="With lr = 5.0 instead of 0.5 on the 2-2-1 network, does the loss fall at every one of "
             "the five steps ('yes' or 'no')?",
    accepts=one_of("no"),
    hint="run the five steps with lr=5.0 and compare each step's loss with the one before",
    solution="no: the first step overshoots (loss 1.2 -> about 204) and it grows from there",
    note="the step overshoots the minimum and every step makes it worse: the learning rate is too high",
))
register(Exercise(
    key="01-4",
    question="With tolerance 1e-7, after how many iterations does descend stop on the blobs "
             "(max_iterations=2000)?",
    accepts=number_near(2000, abs_tol=0),
    hint="run the cell of section 4 again with tolerance=1e-7 and read run.iterations and run.stop_reason",
    solution="2000: the loss still changes by more than 1e-7 per iteration, so the budget ends it "
             "(stop reason max_iterations); the new points are still all right",
    note="the budget ends it before the change of the loss drops that low; the accuracy does not change",
))
register(Exercise(
    key="01-10",
    question="With relu, a node whose delta is exactly 0: what is the largest |dL/dW| of the weights "
             "into it (for that sample)?",
    accepts=number_near(0.0, abs_tol=1e-12),
    hint="the weights into node j of layer l have gradients delta_l[j] times a_(l-1): "
         "look at that node's row of dW",
    solution="0: relu'(z) = 0 where z < 0, so delta = 0 and the weights into it get no gradient "
             "from that sample (a 'dead' unit if that holds for every sample)",
    note="relu'(z) = 0 for z < 0 kills the error there: the weights into it do not move for that sample",
))
register(Exercise(
    key="01-5",
    question="With target t = 0.99 instead of 0.01, which of the nine gradients change sign?",
    accepts=_none,
    hint="every gradient carries the factor delta_out = 2(out - t): compare out with the new target",
    solution="none: out = 1.106 is still above t = 0.99, so delta_out stays positive and every "
             "gradient keeps its sign (they all shrink, about 19x)",
    note="out is still above the target, so delta_out keeps its sign and so does every gradient",
))
register(Exercise(
    key="01-6",
    question="Cross-entropy: the largest |delta_L - (softmax(z_L) - onehot(y))| over the outputs?",
    accepts=number_near(0.0, abs_tol=1e-9),
    hint="trace the network with a second output and loss='cross_entropy'; compare the output "
         "layer's delta with torch.softmax(z, 1) - one_hot(y)",
    solution="0 (up to rounding): the softmax's Jacobian and the log's derivative cancel to p - onehot(y)",
    note="the derivative of -log softmax(z)_y is softmax(z) - onehot(y)",
))
register(Exercise(
    key="01-7",
    question="Drop the f'(z) factor from trace's backward pass: which of check()'s errors catches it "
             "('autograd', 'finite_differences' or 'both')?",
    accepts=one_of("both"),
    hint="each reference computes the true gradient its own way: run check() on the broken trace",
    solution="both: autograd and finite differences are both independent of trace, so both disagree",
    note="autograd and finite differences are independent references; each catches the bug",
))
register(Exercise(
    key="01-8",
    question="On the 2-2-1 network of section 3 (five steps from its first weights): the largest "
             "learning rate among 0.1, 0.2, ..., 2.0 for which the loss falls at every step?",
    accepts=number_near(0.5, rel=0.01),
    hint="rebuild the network for each learning rate (the same first weights), take five steps "
         "and test that every loss is below the one before it",
    solution="0.5: at 0.6 the first step overshoots (the loss goes up, then falls again); from "
             "about 1.0 on it grows step after step",
    note="just above it the first step overshoots and the loss goes up before it falls; far above, it blows up",
))
register(Exercise(
    key="01-9",
    question="The local minima of section 5 with hidden=(3,): how many of the ten seeds reach a loss below 0.15?",
    accepts=number_near(10, abs_tol=0),
    hint="repeat section 5's loop over the seeds with hidden=(3,) and count the final losses below 0.15",
    solution="all ten: with a third hidden unit no seed gets stuck (with hidden=(4,) nine of ten)",
    note="one more hidden unit and the bad valleys are gone for these seeds",
))
