"""BackpropExplorer: walk the backpropagation algorithm one stage at a time on a small network.

Forward (layer by layer) -> Loss -> Backward (layer by layer) -> Update, on one chosen
sample, with the current equation shown with its numbers; Train repeats the whole cycle on
all the training points until the loss stops falling, then shows the decision on new points.

Every number comes from :mod:`lrlab.backprop` (``trace``, ``step``, ``descend``, ``describe``);
the drawing from :mod:`lrlab.plots.backprop`. Synchronous methods for tests and notebooks:
``next_stage()``, ``forward()``, ``compute_loss()``, ``backward()``, ``update()``,
``train(iterations=...)``, ``reset()``.
"""
from __future__ import annotations

import time

import ipywidgets as W
import torch

from .. import backprop, data
from ..nets import ACTIVATIONS, LOSSES, MLP
from ..plots import fig_to_png, new_figure
from ..plots import backprop as draw
from ..checks import check_number
from ..params import LR
from .controls import lr_slider
from .text import num, vec
from .frameview import PictureRepr
from matplotlib.backends.backend_agg import FigureCanvasAgg

#: the networks on offer: 2 inputs, 2 outputs (two classes)
ARCHITECTURES = ("2-2-2", "2-3-2", "2-4-2", "2-8-2", "2-3-3-2", "2-4-4-2", "2-8-8-2")
DATASETS = ("xor", "moons", "circles", "blobs")
N_POINTS, NEW_FRACTION = 60, 1 / 3
#: the sliders' ranges (exponents of 10 for the log sliders); the learning rate's is lrlab.params.LR's
#: window narrowed to LR_CLAMP (1e-3 .. about 3.16), a display clamp for a hand-stepped network
LR_CLAMP, ITERATIONS, TOLERANCE_EXP, SEEDS = (1e-3, 10 ** 0.5), (50, 5000), (-9, -2), (0, 20)
LR_EXP = LR.exponents(LR_CLAMP)


def parse_architecture(text: str) -> tuple[int, ...]:
    if text not in ARCHITECTURES:
        raise ValueError(f"architecture: one of {', '.join(ARCHITECTURES)}, got {text!r}")
    return tuple(int(k) for k in text.split("-"))


class BackpropExplorer(PictureRepr, W.VBox):
    """A small network drawn as a graph; buttons step through forward, loss, backward, update; Train repeats.

    >>> ex = BackpropExplorer(architecture="2-3-2")
    >>> ex.next_stage()          # forward, layer 1
    ('forward', 1)
    """

    def __init__(self, architecture: str = "2-3-2", activation: str = "tanh", loss: str = "cross_entropy",
                 dataset: str = "xor", sample: int = 0, lr: float = 0.5, max_iterations: int = 2000,
                 tolerance: float = 1e-6, seed: int = 0):
        parse_architecture(architecture)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss: one of {', '.join(LOSSES)}, got {loss!r}")
        if dataset not in DATASETS:
            raise ValueError(f"dataset: one of {', '.join(DATASETS)}, got {dataset!r}")
        # the sliders' ranges: a value outside one would be clamped silently, so it is refused here
        n_train = N_POINTS - round(N_POINTS * NEW_FRACTION)
        check_number("sample", sample, 0, n_train - 1, integer=True)
        check_number("lr", lr, 10.0 ** LR_EXP[0], 10.0 ** LR_EXP[1])
        check_number("max_iterations", max_iterations, *ITERATIONS, integer=True)
        check_number("tolerance", tolerance, 10.0 ** TOLERANCE_EXP[0], 10.0 ** TOLERANCE_EXP[1])
        check_number("seed", seed, *SEEDS, integer=True)
        style = {"description_width": "initial"}
        # (each label as wide as its text: the dropdowns keep their width for the options)
        self.architecture = W.Dropdown(options=ARCHITECTURES, value=architecture, description="network",
                                       style=style, layout=W.Layout(width="170px"))
        self.activation = W.Dropdown(options=ACTIVATIONS, value=activation, description="activation",
                                     style=style, layout=W.Layout(width="210px"))
        self.loss = W.Dropdown(options=LOSSES, value=loss, description="loss", style=style,
                               layout=W.Layout(width="190px"))
        self.dataset = W.Dropdown(options=DATASETS, value=dataset, description="data", style=style,
                                  layout=W.Layout(width="160px"))
        n_train = N_POINTS - round(N_POINTS * NEW_FRACTION)
        self.sample = W.IntSlider(value=sample, min=0, max=n_train - 1, description="sample",
                                  continuous_update=False, style=style)
        self.lr = lr_slider(lr, LR_CLAMP, description="learning rate η", readout_format=".3f", style=style)
        self.max_iterations = W.IntSlider(value=max_iterations, min=ITERATIONS[0], max=ITERATIONS[1], step=50,
                                          description="iteration budget", continuous_update=False, style=style)
        self.tolerance = W.FloatLogSlider(value=tolerance, base=10, min=TOLERANCE_EXP[0], max=TOLERANCE_EXP[1], step=0.5,
                                          description="stop when |ΔL| <", readout_format=".0e",
                                          continuous_update=False, style=style)
        self.seed = W.IntSlider(value=seed, min=SEEDS[0], max=SEEDS[1], description="seed", continuous_update=False,
                                style=style)

        self.forward_button = W.Button(description="Forward", icon="arrow-right", tooltip="next layer of the forward pass")
        self.loss_button = W.Button(description="Loss", icon="bullseye", tooltip="the loss at the output")
        self.backward_button = W.Button(description="Backward", icon="arrow-left", tooltip="next layer of the backward pass")
        self.update_button = W.Button(description="Update", icon="pencil", tooltip="W <- W - lr dL/dW")
        self.next_button = W.Button(description="Next", icon="step-forward", tooltip="the next stage, whatever it is")
        self.train_button = W.Button(description="Train", icon="play", button_style="success",
                                     tooltip="repeat the cycle on all points until the loss stops falling")
        self.reset_button = W.Button(description="Reset", icon="refresh", tooltip="fresh weights")

        self.image = W.Image(format="png", layout=W.Layout(width="auto", max_width="100%", align_self="flex-start"))
        self.image.add_class("lrlab-figure")
        self.status = W.HTML()
        self.status.add_class("lrlab-status")

        self.forward_button.on_click(lambda _: self.forward())
        self.loss_button.on_click(lambda _: self.compute_loss())
        self.backward_button.on_click(lambda _: self.backward())
        self.update_button.on_click(lambda _: self.update())
        self.next_button.on_click(lambda _: self.next_stage())
        self.train_button.on_click(lambda _: self.train())
        self.reset_button.on_click(lambda _: self.reset())
        for control in (self.architecture, self.activation, self.dataset, self.seed):
            control.observe(lambda _: self.reset(), names="value")
        self.loss.observe(lambda _: self._new_cycle(), names="value")
        self.sample.observe(lambda _: self._new_cycle(), names="value")

        self._figure = new_figure(9.2, 4.4)  # 920 x 440 px: shown 1:1 in a notebook ~930 px wide (a laptop)
        FigureCanvasAgg(self._figure)  # an Agg canvas, for fig_to_png(fast=True)
        grid = self._figure.add_gridspec(2, 2, width_ratios=[1.7, 1])
        self._ax_net = self._figure.add_subplot(grid[:, 0])
        self._ax_loss = self._figure.add_subplot(grid[0, 1])
        self._ax_data = self._figure.add_subplot(grid[1, 1])

        super().__init__([
            W.HBox([self.dataset, self.architecture, self.activation, self.loss]),
            W.HBox([self.sample, self.lr, self.seed]),
            W.HBox([self.forward_button, self.loss_button, self.backward_button, self.update_button,
                    self.next_button]),
            W.HBox([self.train_button, self.max_iterations, self.tolerance, self.reset_button]),
            self.status, self.image])
        self.reset()

    # -- state --------------------------------------------------------------------------------
    @property
    def stages(self) -> list[tuple[str, int]]:
        return backprop.stages(len(self.model.layers))

    @property
    def stage(self) -> tuple[str, int] | None:
        """The stage shown now (``None``: ready, before the forward pass)."""
        return None if self.stage_index < 0 else self.stages[self.stage_index]

    @property
    def next_kind(self) -> str:
        """What the next stage is: 'forward', 'loss', 'backward' or 'update'."""
        index = self.stage_index + 1
        return self.stages[index % len(self.stages)][0]

    def _sample_xy(self):
        i = self.sample.value
        return self.data.X_train[i: i + 1], self.data.y_train[i: i + 1]

    def reset(self) -> None:
        """Fresh data and weights for the chosen dataset, network, activation and seed."""
        sizes = parse_architecture(self.architecture.value)
        self.data = data.make(self.dataset.value, n=N_POINTS, noise=0.1 if self.dataset.value != "xor" else 0.0,
                              test_fraction=NEW_FRACTION, seed=self.seed.value, dtype=torch.float64)
        self.model = MLP(sizes[0], hidden=sizes[1:-1], out_features=sizes[-1], activation=self.activation.value,
                         seed=self.seed.value, dtype=torch.float64)
        self.losses: list[float] = []
        self.stop_reason: str | None = None
        self.trained = False
        self._new_cycle()

    def _new_cycle(self) -> None:
        """Trace the chosen sample with the current weights; back to 'ready'."""
        self.trace = backprop.trace(self.model, *self._sample_xy(), loss=self.loss.value)
        self.stage_index = -1
        self.loss_after: float | None = None
        self.sample_losses: list[float] = []
        self._show()

    # -- the stages -----------------------------------------------------------------------------
    def next_stage(self) -> tuple[str, int]:
        """Go one stage on (after Update, a new cycle starts with the new weights); returns the stage shown."""
        if self.stage_index == len(self.stages) - 1:  # the cycle is over: trace again with the new weights
            self.trace = backprop.trace(self.model, *self._sample_xy(), loss=self.loss.value)
            self.stage_index = -1
        self.stage_index += 1
        if self.stage[0] == "update":
            backprop.step(self.model, self.trace, self.lr.value)
            self.loss_after = backprop.loss_value(self.model, *self._sample_xy(), loss=self.loss.value)
            if not self.sample_losses:
                self.sample_losses.append(float(self.trace.loss))
            self.sample_losses.append(self.loss_after)
        self._show()
        return self.stage

    def _advance(self, kind: str) -> tuple[str, int] | None:
        if self.next_kind != kind:
            self.status.value = (f"<b>Next comes {self.next_kind}</b>, not {kind}.<br>" + self._equation())
            return None
        return self.next_stage()

    def forward(self):
        """The next layer of the forward pass."""
        return self._advance("forward")

    def compute_loss(self):
        """The loss at the output."""
        return self._advance("loss")

    def backward(self):
        """The next layer of the backward pass."""
        return self._advance("backward")

    def update(self):
        """The gradient-descent update of every weight and bias."""
        return self._advance("update")

    def run_cycle(self) -> float:
        """All the stages of one cycle on the chosen sample; returns the sample's loss after the update."""
        while True:
            if self.next_stage()[0] == "update":
                return self.loss_after

    # -- training: the whole cycle, repeated --------------------------------------------------------
    def train(self, iterations: int | None = None, redraw_every: float | None = 0.3) -> backprop.Descent:
        """Repeat forward, loss, backward, update on all training points until ``|ΔL| <`` tolerance or the budget.

        ``iterations``: the budget (default: the slider). The loss curve is redrawn every
        ``redraw_every`` seconds or more (``None``: only at the end). Returns the :class:`lrlab.backprop.Descent`.
        """
        budget = int(iterations if iterations is not None else self.max_iterations.value)
        last, interval = [time.perf_counter()], [redraw_every]

        def live(iteration, losses):  # redraw now and then; drawing takes at most ~1/4 of the time
            if redraw_every and time.perf_counter() - last[0] > interval[0]:
                started = time.perf_counter()
                self.losses, self.stop_reason = list(losses), None
                self._redraw()
                last[0] = time.perf_counter()
                interval[0] = max(redraw_every, 4 * (last[0] - started))
            return False

        result = backprop.descend(self.model, self.data.X_train, self.data.y_train, self.loss.value,
                                  lr=self.lr.value, max_iterations=budget, tolerance=self.tolerance.value,
                                  callback=live)
        self.losses, self.stop_reason, self.trained = result.losses, result.stop_reason, True
        self._new_cycle()
        return result

    # -- showing --------------------------------------------------------------------------------------
    def _buttons(self) -> None:
        kind = self.next_kind
        self.forward_button.disabled = kind != "forward"
        self.loss_button.disabled = kind != "loss"
        self.backward_button.disabled = kind != "backward"
        self.update_button.disabled = kind != "update"

    def _equation(self) -> str:
        if self.stage is None:
            x, y = self._sample_xy()
            label = f"class y = {int(y[0])}"
            head = (f"<b>Sample {self.sample.value}</b>: x = {vec(x[0])}, {label}. "
                    "Press <b>Forward</b> to start the forward pass.")
            if self.trained:
                predicted = backprop.predict(self.model, self.data.X_test)
                right = int((predicted == self.data.y_test).sum())
                head += (f"<br><b>Trained</b> ({self.stop_reason}, {len(self.losses) - 1} iterations): loss "
                         f"{num(self.losses[0], '.4f')} &rarr; {num(self.losses[-1], '.4f')}; "
                         f"new points: {right}/{len(predicted)} predicted right.")
            return head
        return backprop.describe(self.trace, self.stage, lr=self.lr.value, loss_after=self.loss_after)

    def _redraw(self) -> None:
        model = self.model
        draw.draw_network(self._ax_net, model.sizes, [l.weight for l in model.layers], self.trace, self.stage,
                          activation=self.activation.value)
        draw.draw_losses(self._ax_loss, self.losses, self.stop_reason, self.sample_losses)
        draw.draw_decision(self._ax_data, model, self.data.X_train.numpy(), self.data.y_train.numpy(),
                           sample=self.sample.value,
                           new_X=self.data.X_test.numpy() if self.trained else None,
                           new_y=self.data.y_test.numpy() if self.trained else None)
        self.image.value = fig_to_png(self._figure, fast=True)
        if self._figure.get_layout_engine() is not None:  # lay out once, then keep the axes where they are
            self._figure.set_layout_engine("none")

    def _show(self) -> None:
        self._buttons()
        self.status.value = self._equation()
        self._redraw()

    def png(self, dpi: int = 80) -> bytes:
        """The current figure as well-compressed PNG bytes (to keep in a notebook's saved output)."""
        return fig_to_png(self._figure, dpi=dpi)
