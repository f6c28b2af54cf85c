"""Small control panels, each usable alone, that together make a :class:`~lrlab.train.TrainConfig`.

Every picker is an ``ipywidgets.VBox`` with

* ``config_changes() -> dict``: the ``TrainConfig`` fields it controls, with their current values;
* ``config(base=None) -> TrainConfig``: ``base`` (default ``TrainConfig()``) with those changes;
* ``on_change(callback)``: ``callback()`` is called whenever one of its controls changes.

Every hyper-parameter control is built from its declaration (``spec.params``, one
:class:`lrlab.params.Param` each) by the one control factory,
:func:`lrlab.widgets.controls.make_control`: sliders clamp to the declared range (or the
declaration's narrower slider window), dropdowns refuse unknown options, so a value outside
the allowed range cannot be set. The learning-rate slider is :func:`~lrlab.widgets.controls.lr_slider`
(its span from :data:`lrlab.params.LR`). The option lists are read from the registries when a
picker is built, so new optimizers, schedules and parameters appear by themselves. No maths here.

A config is never changed on its way in: ``set_config(c)`` (and a picker built from ``c``)
gives ``config_changes()`` equal to ``c``'s fields for every config the engine accepts. A
slider's range is a convenient default, widened (within the engine's bounds,
:mod:`lrlab.limits`) to hold a value it is given (a shared config's 256 units, seed
3000000000, 10000 samples); a hyper-parameter a slider cannot show exactly (0 on a log
scale, a third milestone) is kept as given until the control is moved.
"""
from __future__ import annotations

import contextlib
import html
from typing import Any, Callable

import ipywidgets as widgets

from .. import data as data_mod
from .. import limits, nets, optim, params, schedules
from ..train import TrainConfig
from .controls import (LABEL, ParamControl, label_style, log_at_least, log_at_most, lr_entry, lr_slider, make_control,
                       same_value, wide)

__all__ = ["DatasetPicker", "NetworkPicker", "OptimizerPicker", "SchedulePicker", "StopPicker", "ParamControl",
           "LABEL", "wide"]


def _code(text: str) -> str:
    return f"<code style='white-space:pre-wrap'>{html.escape(text)}</code>"


def _fit(control, value, lo, hi) -> None:
    """Set a slider / bounded box to ``value``: its range is ``[lo, hi]``, widened to hold ``value``.

    The engine checks ``value`` (``TrainConfig.validate``); the control only has to show it."""
    new_min, new_max = min(lo, value), max(hi, value)
    if new_max > control.max:  # widen first, so that no step clamps the value
        control.max = new_max
    if new_min < control.min:
        control.min = new_min
    control.value = value
    control.max, control.min = new_max, new_min  # then the final range (it holds the value)


class _Picker(widgets.VBox):
    """Base: remembers change callbacks and turns ``config_changes()`` into a config."""

    def __init__(self, children=(), **kwargs):
        children = list(children)
        for child in children:  # rows keep their height: in a JupyterLab tab they would shrink to nothing
            child.layout.flex = "0 0 auto"
        super().__init__(children=children, **kwargs)
        self._callbacks: list[Callable[[], Any]] = []
        self._muted = 0

    def config_changes(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def config(self, base: TrainConfig | None = None) -> TrainConfig:
        return (base or TrainConfig()).replace(**self.config_changes())

    def on_change(self, callback: Callable[[], Any]) -> None:
        self._callbacks.append(callback)

    def _changed(self, *_):
        if self._muted:
            return
        for callback in list(self._callbacks):
            callback()

    @contextlib.contextmanager
    def muted(self):
        """No change callbacks inside (``set_config`` sets many controls, then calls back once)."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    def set_config(self, config: TrainConfig) -> None:
        """Set every control from ``config`` so that ``config_changes()`` gives its fields back.

        Callbacks run once, at the end (not once per control)."""
        with self.muted():
            self._set(config)
        self._changed()

    def _set(self, config: TrainConfig) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _watch(self, *controls):
        for c in controls:
            c.observe(self._changed, names="value")


def _base(config: TrainConfig | None, fields: dict) -> TrainConfig:
    config = config or TrainConfig()
    return config.replace(**fields) if fields else config


# ------------------------------------------------------------------------ parameters
def _param_controls(params, given: dict | None = None, skip=(), epochs: int = 200, derived: dict | None = None):
    """A control per declared parameter (:func:`lrlab.widgets.controls.make_control`), set to ``given``."""
    controls = {}
    for param in params:
        if param.name in skip:
            continue
        ctrl = make_control(param, epochs=epochs, derived=(derived or {}).get(param.name))
        if given and param.name in given and (given[param.name] is not None or ctrl.optional):
            ctrl.set(given[param.name])
        controls[param.name] = ctrl
    return controls


def _params_out(controls: dict, defaults: dict, given: dict) -> dict:
    """The parameters to put in the config: the ones given (as given, if unchanged) and those off their default.

    So that a config round-trips exactly (``{}`` stays ``{}``, ``[0.9, 0.99]`` stays a list)."""
    out = {}
    for name, ctrl in controls.items():
        value = ctrl.value
        if name in given and same_value(value, given[name]):
            out[name] = given[name]
        elif value is None:
            continue
        elif name in given or not same_value(value, defaults.get(name, object())):
            out[name] = value
    return out


# ------------------------------------------------------------------------ dataset
#: datasets whose number of classes can be chosen
MULTICLASS = ("spiral", "blobs")


class DatasetPicker(_Picker):
    """Dataset, noise, number of samples, test fraction, classes (spiral/blobs), seed, input features.

    * ``features``: one checkbox per input transform of :data:`lrlab.data.FEATURES` (x1, x2,
      x1^2, x2^2, x1*x2, sin x1, sin x2); the ones of x2 are disabled for 1-D data. The raw
      inputs give ``features=None`` (the default).
    * *Regenerate data*: a new data seed (``data_seed = (data_seed or seed) + 1``); the
      network's seed (its initial weights, the batch order) stays.
    * Your own CSV (:meth:`set_csv`, or a config with ``csv_path``): the data controls are
      disabled; *built-in data* goes back to the dataset dropdown.
    """

    def __init__(self, config: TrainConfig | None = None, **fields):
        c = _base(config, fields)
        self.dataset = widgets.Dropdown(options=list(data_mod.DATASETS), value=c.dataset, description="dataset",
                                        style=LABEL, layout=wide())
        self.noise = widgets.FloatSlider(value=c.noise, min=0.0, max=1.0, step=0.01, description="noise",
                                         style=LABEL, layout=wide(), continuous_update=False)
        self.n_samples = widgets.IntSlider(value=c.n_samples, min=32, max=4096, step=16, description="samples",
                                           style=LABEL, layout=wide(), continuous_update=False)
        self.test_fraction = widgets.FloatSlider(value=c.test_fraction, min=0.05, max=0.5, step=0.05,
                                                 description="test fraction", style=LABEL, layout=wide(),
                                                 continuous_update=False)
        self.classes = widgets.IntSlider(value=c.classes, min=2, max=8, description="classes", style=LABEL,
                                         layout=wide(), continuous_update=False)
        self.seed = widgets.BoundedIntText(value=c.seed, min=0, max=limits.MAX_SEED, description="seed", style=LABEL,
                                           layout=widgets.Layout(width="180px"))
        self.data_seed = c.data_seed
        self.regenerate_button = widgets.Button(description="Regenerate data", icon="refresh",
                                                tooltip="new random data (a new data seed); the network stays",
                                                layout=widgets.Layout(width="170px"))
        self.data_seed_note = widgets.HTML()
        self.regenerate_button.on_click(lambda _: self.regenerate())
        self.feature_boxes = {name: widgets.Checkbox(value=False, description=name, indent=False,
                                                     layout=widgets.Layout(width="72px"))
                              for name in data_mod.FEATURES}
        self.features_label = widgets.HTML("<span title='what the network is fed'>input features</span>",
                                           layout=widgets.Layout(width="120px"))
        self._given_features = None
        self.csv_path = None
        self.csv_note = widgets.HTML()
        self.builtin_button = widgets.Button(description="built-in data", icon="database",
                                             tooltip="leave your CSV: train on the dataset chosen above",
                                             layout=widgets.Layout(width="160px", display="none"))
        self.builtin_button.on_click(lambda _: self.clear_csv())
        self._csv_fields: dict = {}
        self._csv_dims = 2
        self.dataset.observe(self._dataset_changed, names="value")
        self._set_features(c.features, c.dataset)
        self._dataset_changed()
        self._note()
        super().__init__([self.dataset, self.noise, self.n_samples, self.test_fraction, self.classes,
                          widgets.HBox([self.seed, self.regenerate_button, self.data_seed_note],
                                       layout=widgets.Layout(flex_flow="row wrap")),
                          widgets.HBox([self.features_label, *self.feature_boxes.values()],
                                       layout=widgets.Layout(flex_flow="row wrap")),
                          widgets.HBox([self.csv_note, self.builtin_button])])
        self._watch(self.dataset, self.noise, self.n_samples, self.test_fraction, self.classes, self.seed,
                    *self.feature_boxes.values())
        self.seed.observe(lambda _: self._note(), names="value")
        with self.muted():
            self._set(c)  # the sliders' ranges widened to hold c's values

    # -- what the controls allow
    @property
    def input_dims(self) -> int:
        """1 for 1-D data (``sine``, a one-column CSV), else 2."""
        if self.csv_path is not None:
            return self._csv_dims
        return 1 if self.dataset.value in data_mod.REGRESSION else 2

    def _dataset_changed(self, *_):
        csv = self.csv_path is not None
        self.classes.disabled = csv or self.dataset.value not in MULTICLASS
        for w in (self.dataset, self.noise, self.n_samples):
            w.disabled = csv
        for name, box in self.feature_boxes.items():
            box.disabled = self.input_dims < 2 and "x2" in name
        if not any(b.value and not b.disabled for b in self.feature_boxes.values()):
            for name in data_mod.default_features("sine" if self.input_dims < 2 else "moons"):
                self.feature_boxes[name].value = True

    def _set_features(self, features, dataset: str) -> None:
        self._given_features = None if features is None else tuple(features)
        chosen = set(features if features is not None else data_mod.default_features(dataset))
        for name, box in self.feature_boxes.items():
            box.value = name in chosen

    def _note(self) -> None:
        if self.data_seed is None:
            self.data_seed_note.value = "data seed = seed"
        else:
            self.data_seed_note.value = f"data seed {self.data_seed}"

    @property
    def n_train(self) -> int:
        n = self._csv_fields.get("n_samples", self.n_samples.value) if self.csv_path else self.n_samples.value
        return n - int(round(n * self.test_fraction.value))

    # -- actions
    def regenerate(self) -> int:
        """A new data seed: ``(data_seed if set, else seed) + 1``. Returns it."""
        self.data_seed = (self.data_seed if self.data_seed is not None else int(self.seed.value)) + 1
        self._note()
        self._changed()
        return self.data_seed

    def set_csv(self, path: str, n_samples: int, classes: int, dataset: str, input_dims: int) -> None:
        """Train on the CSV at ``path`` (the data controls are disabled until :meth:`clear_csv`)."""
        with self.muted():
            self._enter_csv(path, n_samples, classes, dataset, input_dims)
        self._changed()

    def _enter_csv(self, path, n_samples, classes, dataset, input_dims) -> None:
        self.csv_path = path
        self._csv_fields = {"n_samples": int(n_samples), "classes": int(classes)}
        self._csv_dims = int(input_dims)
        self.dataset.value = dataset
        self.classes.value = max(self.classes.min, min(self.classes.max, int(classes)))
        self.csv_note.value = (f"<b>data: your CSV</b> <code>{html.escape(str(path))}</code> "
                               f"({int(n_samples)} rows)")
        self.builtin_button.layout.display = ""
        self._dataset_changed()

    def clear_csv(self) -> None:
        """Back to the built-in datasets."""
        if self.csv_path is None:
            return
        self.csv_path = None
        self._csv_fields = {}
        self.csv_note.value = ""
        self.builtin_button.layout.display = "none"
        with self.muted():
            self._dataset_changed()
        self._changed()

    # -- config
    #: the sliders' ranges; a config's value outside them widens them (within the engine's bounds)
    NOISE, SAMPLES, TEST_FRACTION = (0.0, 1.0), (32, 4096), (0.05, 0.5)

    def _set(self, c: TrainConfig) -> None:
        self.csv_path = None
        self._csv_fields = {}
        _fit(self.noise, c.noise, *self.NOISE)
        _fit(self.test_fraction, c.test_fraction, *self.TEST_FRACTION)
        self.seed.value = c.seed
        self.data_seed = c.data_seed
        if c.csv_path is not None:
            dims = 2 if c.features is None or any("x2" in f for f in c.features) else 1
            self._enter_csv(c.csv_path, c.n_samples, c.classes, c.dataset, dims)
        else:
            self.csv_note.value = ""
            self.builtin_button.layout.display = "none"
            self.dataset.value = c.dataset
            _fit(self.n_samples, c.n_samples, *self.SAMPLES)
            self.classes.value = c.classes
        self._set_features(c.features, c.dataset)
        self._dataset_changed()
        self._note()

    def features(self):
        """The checked input features; None when they are the raw inputs and none were given."""
        dims = self.input_dims
        chosen = tuple(n for n, b in self.feature_boxes.items() if b.value and not b.disabled)
        given = self._given_features
        if given is not None and set(given) == set(chosen) and len(given) == len(chosen):
            return given
        if given is None and chosen == data_mod.default_features("sine" if dims < 2 else "moons"):
            return None
        return chosen

    def config_changes(self) -> dict:
        csv = self.csv_path is not None
        multiclass = csv or self.dataset.value in MULTICLASS
        changes = {"dataset": self.dataset.value, "noise": float(self.noise.value),
                   "n_samples": int(self._csv_fields["n_samples"] if csv else self.n_samples.value),
                   "test_fraction": float(self.test_fraction.value),
                   "classes": int(self._csv_fields["classes"] if csv else self.classes.value) if multiclass else 2,
                   "seed": int(self.seed.value), "data_seed": self.data_seed, "csv_path": self.csv_path,
                   "features": self.features()}
        return changes


# ------------------------------------------------------------------------ network
class NetworkPicker(_Picker):
    """Hidden layers (up to 6) and their widths (up to 128 units), activation, loss.

    A config with more (up to :data:`lrlab.limits.MAX_DEPTH`) or wider (up to
    :data:`lrlab.limits.MAX_WIDTH`) layers widens the sliders to show it exactly."""

    MAX_LAYERS = 6
    MAX_WIDTH = 128

    def __init__(self, config: TrainConfig | None = None, **fields):
        c = _base(config, fields)
        self.layers = widgets.IntSlider(value=0, min=0, max=self.MAX_LAYERS, description="hidden layers",
                                        style=LABEL, layout=wide())
        self.widths = [widgets.IntSlider(value=8, min=1, max=self.MAX_WIDTH, description=f"width {i + 1}",
                                         style=LABEL, layout=wide(), continuous_update=False)
                       for i in range(limits.MAX_DEPTH)]
        self.activation = widgets.Dropdown(options=list(nets.ACTIVATIONS), value=c.activation,
                                           description="activation", style=LABEL, layout=wide())
        self.loss = widgets.Dropdown(options=list(nets.LOSSES), value=c.loss, description="loss", style=LABEL,
                                     layout=wide())
        self.layers.observe(self._layers_changed, names="value")
        self._set(c)
        self._layers_changed()
        super().__init__([self.layers, *self.widths, self.activation, self.loss])
        self._watch(self.layers, *self.widths, self.activation, self.loss)

    def _layers_changed(self, *_):
        for i, w in enumerate(self.widths):
            w.layout.display = "" if i < self.layers.value else "none"

    def _set(self, c: TrainConfig) -> None:
        hidden = tuple(c.hidden)[: len(self.widths)]
        for w, width in zip(self.widths, hidden):
            _fit(w, width, 1, self.MAX_WIDTH)
        _fit(self.layers, len(hidden), 0, self.MAX_LAYERS)
        self.activation.value = c.activation
        self.loss.value = c.loss

    def config_changes(self) -> dict:
        return {"hidden": tuple(int(w.value) for w in self.widths[: self.layers.value]),
                "activation": self.activation.value, "loss": self.loss.value}


# ------------------------------------------------------------------------ optimizer
class OptimizerPicker(_Picker):
    """Optimizer (from ``lrlab.optim.OPTIMIZERS``), learning rate and its hyper-parameters.

    Shows the optimizer's description and update formula. Changing the optimizer resets
    the learning rate and the hyper-parameters to that optimizer's defaults.

    Regularisation (biases excluded, as in TensorFlow Playground): ``l2`` adds
    ``reg_rate * w`` to each weight's gradient (the penalty ``reg_rate * |w|^2 / 2``),
    ``l1`` adds ``reg_rate * sign(w)`` (the penalty ``reg_rate * |w|``).
    """

    def __init__(self, config: TrainConfig | None = None, **fields):
        c = _base(config, fields)
        self.optimizer = widgets.Dropdown(options=list(optim.OPTIMIZERS), value=c.optimizer, description="optimizer",
                                          style=LABEL, layout=wide())
        # the learning rate typed exactly, a log slider beside it to drag (a log slider alone snaps
        # what it is given to its grid in the browser)
        self.lr, self.lr_slider = lr_entry(params.LR.default, description="learning rate", step=0.05, digits=3)
        self.lr.style, self.lr.layout.width = LABEL, "230px"
        self.lr_slider.layout.width = "150px"
        self.info = widgets.HTML()
        self.params_box = widgets.VBox()
        self.controls: dict[str, ParamControl] = {}
        self._given: dict = {}
        self._build(c.optimizer, c.optimizer_params)
        self.optimizer.observe(self._optimizer_changed, names="value")
        self.regularization = widgets.Dropdown(options=[("none", "none"), ("L1: rate * sign(w)", "l1"),
                                                        ("L2: rate * w", "l2")], value=c.regularization,
                                               description="regularization", style=LABEL, layout=wide())
        self.reg_rate = make_control(params.REG_RATE, description="reg. rate")
        self.reg_rate.set(c.reg_rate)
        self.regularization.observe(self._regularization_changed, names="value")
        self._set_lr(c.lr)
        super().__init__([self.optimizer, widgets.HBox([self.lr, self.lr_slider]), self.params_box,
                          self.regularization, self.reg_rate, self.info])
        self._watch(self.optimizer, self.lr, self.regularization)
        self.reg_rate.observe_value(self._changed)

    def _regularization_changed(self, *_):
        if self.regularization.value != "none" and self.reg_rate.value == 0:
            self.reg_rate.set(0.001)  # a rate that shows: Playground's smallest

    def _build(self, name: str, given: dict | None = None) -> None:
        spec = optim.OPTIMIZERS[name]
        hyper = [p for p in spec.params if p.name != "lr"]
        self._defaults, self._given = {p.name: p.default for p in hyper}, dict(given or {})
        self.controls = _param_controls(hyper, given=given)
        for ctrl in self.controls.values():
            ctrl.observe_value(self._changed)
        self.params_box.children = list(self.controls.values())
        self.info.value = (f"<div class='lrlab-formula'><b>{html.escape(name)}</b>: {html.escape(spec.description)}"
                           f"<br>{_code(spec.formula)}</div>")

    def _optimizer_changed(self, change) -> None:
        spec = optim.OPTIMIZERS[change["new"]]
        self._build(change["new"])
        if "lr" in spec.defaults:
            self.lr.value = spec.defaults["lr"]

    def _set_lr(self, lr: float) -> None:
        """The learning rate box at ``lr`` (its slider follows); the span of both
        (:data:`lrlab.params.LR`'s window) widened to hold it (a config may hold any lr the
        engine allows)."""
        lo, hi = params.LR.exponents()
        if params.LR.accepts(lr):
            lo, hi = min(lo, log_at_most(lr)), max(hi, log_at_least(lr))  # 10 ** lo <= lr <= 10 ** hi
        box, slider = self.lr, self.lr_slider
        # widen first, set, then narrow: a bounded value is clipped to the span in force
        box.max, box.min = max(box.max, 10.0 ** hi), min(box.min, 10.0 ** lo)
        slider.max, slider.min = max(slider.max, hi), min(slider.min, lo)
        box.value = lr
        box.max, box.min = 10.0 ** hi, 10.0 ** lo
        slider.max, slider.min = hi, lo

    def _set(self, c: TrainConfig) -> None:
        self.optimizer.value = c.optimizer  # (re)builds the controls if it changed
        self._build(c.optimizer, c.optimizer_params)
        self._set_lr(c.lr)
        self.regularization.value = c.regularization
        self.reg_rate.set(c.reg_rate)

    def config_changes(self) -> dict:
        params = _params_out(self.controls, self._defaults, self._given)
        return {"optimizer": self.optimizer.value, "lr": float(self.lr.value), "optimizer_params": params,
                "regularization": self.regularization.value, "reg_rate": float(self.reg_rate.value)}


# ------------------------------------------------------------------------ schedule
class SchedulePicker(_Picker):
    """Schedule (from ``lrlab.schedules.SCHEDULES``) and its parameters, with a preview of its curve.

    Parameters whose default is derived from the learning rate and the epoch budget get an
    *auto* box. ``set_context(lr, epochs)`` tells the preview which lr and budget to use (the
    training panel keeps it in step with the optimizer and stop pickers).
    """

    def __init__(self, config: TrainConfig | None = None, **fields):
        c = _base(config, fields)
        self.lr, self.epochs = c.lr, c.max_epochs
        self.schedule = widgets.Dropdown(options=list(schedules.SCHEDULES), value=c.schedule, description="schedule",
                                         style=LABEL, layout=wide())
        self.info = widgets.HTML()
        self.params_box = widgets.VBox()
        self.preview = widgets.Image(format="png", layout=widgets.Layout(width="360px"))
        self.preview.add_class("lrlab-figure")
        self.controls: dict[str, ParamControl] = {}
        self._given: dict = {}
        self._fig = None
        self._build(c.schedule, c.schedule_params)
        self.schedule.observe(self._schedule_changed, names="value")
        super().__init__([self.schedule, self.params_box, self.info, self.preview])
        self._watch(self.schedule)
        self.on_change(self.draw_preview)
        self.draw_preview()

    def _build(self, name: str, given: dict | None = None) -> None:
        spec = schedules.SCHEDULES[name]
        derived = {}
        try:
            resolved = spec.resolve(self.lr, self.epochs) if hasattr(spec, "resolve") else {}
            derived = {k: resolved.get(k) for k, v in spec.defaults.items() if v is None}
        except Exception:  # a registry without derivations: sliders start at their range's low end
            pass
        self._defaults, self._given = dict(spec.defaults), dict(given or {})
        self.controls = _param_controls(spec.params, given=given, epochs=self.epochs, derived=derived)
        for ctrl in self.controls.values():
            ctrl.observe_value(self._changed)
        self.params_box.children = list(self.controls.values())
        note = " <i>(reactive: it cuts the rate during training, from the metrics)</i>" if spec.reactive else ""
        self.info.value = (f"<div class='lrlab-formula'><b>{html.escape(name)}</b>: "
                           f"{html.escape(spec.description)}{note}<br>{_code(spec.formula)}</div>")

    def _schedule_changed(self, change) -> None:
        self._build(change["new"])

    def set_context(self, lr: float, epochs: int) -> None:
        """The learning rate and the epoch budget the schedule will be built with."""
        if (lr, epochs) != (self.lr, self.epochs):
            self.lr, self.epochs = lr, epochs
            self.draw_preview()

    def _set(self, c: TrainConfig) -> None:
        self.lr, self.epochs = c.lr, c.max_epochs  # the sliders' ranges follow the epoch budget
        self.schedule.value = c.schedule
        self._build(c.schedule, c.schedule_params)

    def config_changes(self) -> dict:
        params = _params_out(self.controls, self._defaults, self._given)
        return {"schedule": self.schedule.value, "schedule_params": params}

    def preview_values(self) -> list[float]:
        """lr(e) for every epoch of the budget (reactive schedules: without any cut)."""
        ch = self.config_changes()
        sched = schedules.make_schedule(ch["schedule"], self.lr, self.epochs, **ch["schedule_params"])
        return [sched.lr(e) for e in range(self.epochs)]

    def draw_preview(self) -> None:
        from ..plots import fig_to_png, new_figure
        ch = self.config_changes()
        fig = new_figure(4.5, 1.9, dpi=80)
        ax = fig.add_subplot()
        try:
            try:
                from ..plots.schedules import draw_schedule_preview
            except ImportError:
                draw_schedule_preview = None
            if draw_schedule_preview is not None:
                draw_schedule_preview(ax, ch["schedule"], self.lr, self.epochs, **ch["schedule_params"])
            else:
                ax.plot(range(1, self.epochs + 1), self.preview_values(), color="#009E73", lw=2)
                ax.set(xlabel="epoch", ylabel="lr")
            self.error = None
        except ValueError as exc:
            self.error = str(exc)
            ax.text(0.5, 0.5, str(exc), ha="center", va="center", wrap=True, transform=ax.transAxes, color="#D55E00")
            ax.set_axis_off()
        self.preview.value = fig_to_png(fig)


# ------------------------------------------------------------------------ stopping rules
class StopPicker(_Picker):
    """Epoch budget, target accuracy, patience, and how the best epoch is picked (by loss or
    accuracy, judged on the held-out or the training split)."""

    def __init__(self, config: TrainConfig | None = None, **fields):
        c = _base(config, fields)
        self.max_epochs = widgets.BoundedIntText(value=c.max_epochs, min=1, max=limits.MAX_EPOCHS, description="max epochs",
                                                 style=LABEL, layout=widgets.Layout(width="240px"))
        self.use_target = widgets.Checkbox(value=c.target_accuracy is not None, description="stop at accuracy",
                                           indent=False, layout=widgets.Layout(width="170px"))
        self.target = widgets.FloatSlider(value=c.target_accuracy or 0.975, min=0.5, max=1.0, step=0.005,
                                          description="target", style=LABEL, readout_format=".1%",
                                          continuous_update=False)
        self.use_patience = widgets.Checkbox(value=c.patience is not None, description="stop when stalled",
                                             indent=False, layout=widgets.Layout(width="170px"))
        self.patience = widgets.IntSlider(value=c.patience or 50, min=1, max=1000, description="patience (epochs)",
                                          style=label_style("patience (epochs)"), continuous_update=False)
        # the best epoch (its weights are restored at the end): by loss or accuracy, judged on the
        # held-out split (the default) or on the training split (the cosine-with-cuts procedure's choice)
        self.select_best = widgets.ToggleButtons(options=[("lowest loss", "loss"), ("highest accuracy", "accuracy")],
                                                 value=c.select_best, description="best epoch",
                                                 style={"button_width": "170px"})
        self.select_split = widgets.ToggleButtons(
            options=[("held-out (test)", "test"), ("training", "train")], value=c.select_split,
            description="judged on", style={"button_width": "170px"},
            tooltips=["on data the network never trained on: the safe choice (the default)",
                      "on the training data, as the cosine-with-cuts procedure says: an overfit "
                      "network's last epochs look best there"])
        for box, ctrl in ((self.use_target, self.target), (self.use_patience, self.patience)):
            box.observe(lambda ch, ctrl=ctrl: setattr(ctrl, "disabled", not ch["new"]), names="value")
            ctrl.disabled = not box.value
        super().__init__([self.max_epochs, widgets.HBox([self.use_target, self.target]),
                          widgets.HBox([self.use_patience, self.patience]), self.select_best, self.select_split])
        self._watch(self.max_epochs, self.use_target, self.target, self.use_patience, self.patience, self.select_best,
                    self.select_split)
        with self.muted():
            self._set(c)  # the sliders' ranges widened to hold c's values

    #: the sliders' ranges; a config's value outside them widens them (within the engine's bounds)
    TARGET, PATIENCE = (0.5, 1.0), (1, 1000)

    def _set(self, c: TrainConfig) -> None:
        self.max_epochs.value = c.max_epochs
        self.use_target.value = c.target_accuracy is not None
        if c.target_accuracy is not None:
            _fit(self.target, c.target_accuracy, *self.TARGET)
        self.use_patience.value = c.patience is not None
        if c.patience is not None:
            _fit(self.patience, c.patience, *self.PATIENCE)
        self.select_best.value = c.select_best
        self.select_split.value = c.select_split

    def config_changes(self) -> dict:
        return {"max_epochs": int(self.max_epochs.value),
                "target_accuracy": float(self.target.value) if self.use_target.value else None,
                "patience": int(self.patience.value) if self.use_patience.value else None,
                "select_best": self.select_best.value, "select_split": self.select_split.value}
