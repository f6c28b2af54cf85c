"""The one control factory: a bounded widget built from a parameter's declaration.

Every optimizer and schedule parameter is declared once (:class:`lrlab.params.Param`);
:func:`make_control` turns a declaration into a :class:`ParamControl` -- a checkbox, a
dropdown, an integer or range slider, a linear or log slider, or two sliders for a pair --
whose bounds are the declared range, narrowed to the declaration's slider window
(:meth:`lrlab.params.Param.window_at`: a documented display clamp, e.g. ``gamma`` from 0.01,
epoch counts up to the epoch budget). :attr:`ParamControl.value` reads it,
:meth:`ParamControl.set` sets it. The pickers (:mod:`lrlab.widgets.pickers`) and the
schedule explorer (:mod:`lrlab.widgets.schedule_explorer`) build all their parameter
controls here; :func:`lr_slider` is every panel's learning-rate slider, its span read from
:data:`lrlab.params.LR`.

Two options say how a panel uses a control:

* ``auto`` -- a parameter whose default is derived from the learning rate and the epoch
  budget (a default of ``None``) gets an *auto* box; ``value`` is ``None`` while it is ticked.
  A log-scale parameter whose default is exactly 0 (``min_lr=0``, ``reg_rate=0``) gets a
  *zero* box instead, since a log slider cannot show 0.
* ``exact`` -- a valid value the control cannot show (0 on a log slider, a value outside
  the slider's window, a third milestone) is kept as given until the control is moved (the
  pickers: a config round-trips exactly). Without it a value is clipped to the control, as
  a slider does (the explorer).
"""
from __future__ import annotations

import math

import ipywidgets as widgets

from ..params import LR, Param

__all__ = ["LABEL", "ParamControl", "make_control", "lr_slider", "lr_entry", "wide", "label", "label_style",
           "same_value"]

LABEL = {"description_width": "120px"}
#: px a character of a label takes, generously (13 px sans-serif: ~7 px): what fits in LABEL's 120 px
CHAR_PX = 8


def label_style(description: str, width: int = 120) -> dict:
    """A control's style: its description in a ``width`` px column (the panels' column of labels,
    :data:`LABEL`) where it fits, else as wide as its text (``'initial'``): never cut short."""
    if CHAR_PX * len(description) <= width:
        return {"description_width": f"{width}px"}
    return {"description_width": "initial"}


def wide() -> widgets.Layout:
    """A fresh Layout per control: a shared one would hide every control when one is hidden."""
    return widgets.Layout(width="340px")  # a panel's column of controls is 380 px (beside its figure)


def label(name: str) -> str:
    return name.replace("_", " ")


def log_at_most(value: float) -> float:
    """The largest exponent x with 10 ** x <= value (log10 may round up by one ulp)."""
    x = math.log10(value)
    while 10 ** x > value:
        x = math.nextafter(x, -math.inf)
    return x


def log_at_least(value: float) -> float:
    """The smallest exponent x with 10 ** x >= value."""
    x = math.log10(value)
    while 10 ** x < value:
        x = math.nextafter(x, math.inf)
    return x


def lr_slider(value: float, clamp: tuple | None = None, *, description: str = "learning rate",
              step: float = 0.05, readout_format: str = ".3g", **kwargs) -> widgets.FloatLogSlider:
    """A learning-rate slider: a log slider over :data:`lrlab.params.LR`'s window (1e-5 .. 100),
    narrowed to ``clamp = (low, high)`` where a panel shows less (its documented display clamp)."""
    lo, hi = LR.exponents(clamp)
    kwargs.setdefault("continuous_update", False)
    return widgets.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=step, description=description,
                                  readout_format=readout_format, **kwargs)


def lr_entry(value: float, clamp: tuple | None = None, *, description: str = "lr", step: float = 0.25,
             digits: int = 2) -> tuple[widgets.BoundedFloatText, widgets.FloatLogSlider]:
    """A learning rate typed exactly (a text box), and a log slider beside it to drag.

    A log slider alone snaps a typed value to its grid in the browser (5 becomes 10 ** 0.75 =
    5.62). The box keeps what the learner typed, and its value is the learning rate; the slider
    follows the box (its handle as near as its grid allows: the browser's snapped echo leaves
    the box alone), and dragging the slider writes its value into the box, rounded to ``digits``
    significant digits (what the learner reads is what is used). Both span :data:`lrlab.params.LR`'s
    window, narrowed to ``clamp`` as in :func:`lr_slider`. Returns ``(box, slider)``.
    """
    lo, hi = LR.exponents(clamp)
    box = widgets.BoundedFloatText(value=value, min=10 ** lo, max=10 ** hi, description=description,
                                   style={"description_width": "initial"}, layout=widgets.Layout(width="150px"))
    slider = lr_slider(value, clamp, description="", step=step, readout=False, layout=widgets.Layout(width="150px"))

    def box_changed(change):
        slider.value = change["new"]

    def slider_changed(change):
        typed = box.value
        if typed > 0 and abs(math.log10(change["new"]) - math.log10(typed)) <= step / 2 + 1e-9:
            return  # the slider shows the typed value, as near as its grid allows
        box.value = float(f"{change['new']:.{digits}g}")

    box.observe(box_changed, names="value")
    slider.observe(slider_changed, names="value")
    return box, slider


def same_value(a, b) -> bool:
    """Equal values, a tuple equal to a list with the same items (JSON turns tuples into lists)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                               and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class ParamControl(widgets.HBox):
    """A control for one declared parameter (:class:`lrlab.params.Param`), bounded by its range.

    By kind: ``'bool'`` a checkbox, ``'choice'`` a dropdown, ``'int'``/``'epochs'`` an integer
    slider, ``'milestones'`` a range slider of two epochs, ``'pair'`` two sliders (Adam's
    betas), ``'lr'`` and any ``log`` parameter a log slider, ``'float'`` a linear slider. The
    slider spans the declaration's window (``param.window_at(epochs)``), widened at the start
    to hold the value it starts from (within the declared range).
    """

    def __init__(self, param: Param, *, epochs: int = 200, derived=None, auto: bool = True, exact: bool = True,
                 description: str | None = None):
        self.param = param
        self.name = param.name
        self.kind = kind = param.kind
        self.exact = exact
        self.optional = auto and param.default is None
        #: a log-scale parameter whose default is exactly 0 (e.g. min_lr=0): a "zero" box stands for 0
        self.zero = (param.logscale and kind != "pair" and _number(param.default) and param.default == 0
                     and param.lo == 0 and not param.lo_open)
        start = derived if param.default is None else param.default
        self._desc = description or label(param.name)
        self._epochs = epochs
        self.parts: list[widgets.Widget] = self._build(start)
        self.auto = None
        self._exact = None  # (a value the control cannot show, e.g. 0 on a log slider; its parts' values then)
        children = list(self.parts)
        if self.optional or self.zero:
            self.auto = widgets.Checkbox(value=True, description="zero" if self.zero else "auto", indent=False,
                                         layout=widgets.Layout(width="70px"),
                                         tooltip="0" if self.zero else "derived from the learning rate and the "
                                                                       "epoch budget")
            self.auto.observe(self._auto_changed, names="value")
            self._auto_changed()
            children.append(self.auto)
        super().__init__(children=children)

    # ------------------------------------------------------------------ building
    @property
    def log(self) -> bool:
        return self.param.logscale and self.kind not in ("pair", "bool", "choice")

    def _window(self, epochs: int) -> tuple:
        """The sliders' (min, max) for the epoch budget ``epochs`` (exponents for a log slider)."""
        lo, hi = self.param.window_at(epochs)
        if self.log:
            return log_at_least(lo), log_at_most(hi)
        return lo, hi

    def _hold(self, lo, hi, value) -> tuple:
        """(lo, hi) widened to hold ``value`` when the declaration accepts it (a display window is
        only a default)."""
        values = value if isinstance(value, (tuple, list)) else (value,)
        for v in values:
            if not _number(v) or not self.param.accepts(v if self.kind not in ("pair", "milestones") else
                                                           ((v, v) if self.kind == "pair" else (v,))):
                continue
            if self.log:
                if v > 0:
                    lo, hi = min(lo, log_at_most(v)), max(hi, log_at_least(v))  # 10 ** lo <= v <= 10 ** hi
            else:
                lo, hi = min(lo, v), max(hi, v)
        return lo, hi

    def _build(self, start) -> list:
        kind, desc, p = self.kind, self._desc, self.param
        common = dict(style=label_style(desc), continuous_update=False)  # and a fresh layout=wide() per widget
        if kind == "bool":
            return [widgets.Checkbox(value=bool(start), description=desc, style=LABEL, indent=False)]
        if kind == "choice":
            opts = list(p.choices)
            return [widgets.Dropdown(options=opts, value=start if start in opts else opts[0], description=desc,
                                     style=label_style(desc), layout=wide())]
        lo, hi = self._window(self._epochs)
        if kind in ("int", "epochs"):
            value = int(start) if _number(start) else lo
            lo, hi = self._hold(lo, hi, value)
            self._max = hi
            return [widgets.IntSlider(value=value, min=int(lo), max=int(hi), description=desc, layout=wide(),
                                      **common)]
        if kind == "milestones":
            e = self._epochs
            value = tuple(start)[:2] if start else (max(lo, e // 2), max(lo, 3 * e // 4))
            value = (min(value), max(value))
            lo, hi = self._hold(lo, hi, value)
            self._max = hi
            return [widgets.IntRangeSlider(value=value, min=int(lo), max=int(hi), description=desc, layout=wide(),
                                           **common)]
        if self.log:
            value = float(start) if _number(start) and start > 0 else max(10 ** lo, min(1e-3, 10 ** hi))
            lo, hi = self._hold(lo, hi, value)
            self._max = hi
            return [widgets.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=0.01, description=desc,
                                           readout_format=".3g", layout=wide(), **common)]
        step = p.step()
        values = tuple(start) if kind == "pair" else (start,)
        values = tuple(float(v) if _number(v) else lo for v in values)
        lo, hi = self._hold(lo, hi, values if kind == "pair" else values[0])
        self._max = hi
        names = list(p.parts) if kind == "pair" and p.parts else (
            [f"{desc} [0]", f"{desc} [1]"] if kind == "pair" else [desc])
        return [widgets.FloatSlider(value=v, min=lo, max=hi, step=step, description=n, readout_format=".4g",
                                    layout=wide(), continuous_update=False, style=label_style(n))
                for v, n in zip(values, names)]

    def _auto_changed(self, *_):
        for part in self.parts:
            part.disabled = bool(self.auto.value)

    # ------------------------------------------------------------------ reading and setting
    @property
    def value(self):
        """The parameter's value: ``None`` while *auto* is ticked, ``0.0`` while *zero* is, a value
        kept exactly from :meth:`set` while the control is untouched, else what the control shows."""
        if self.auto is not None and self.auto.value:
            return 0.0 if self.zero else None
        if self._exact is not None and self._state() == self._exact[1]:
            return self._exact[0]  # set from a config, untouched since
        return self._shown()

    @value.setter
    def value(self, value) -> None:
        self.set(value)

    def _state(self) -> tuple:
        return tuple(p.value for p in self.parts)

    def _shown(self):
        """The value the control shows (``value`` without an exact value kept from :meth:`set`)."""
        if self.kind == "pair":
            return tuple(float(p.value) for p in self.parts)
        if self.kind == "milestones":
            a, b = self.parts[0].value
            return (a,) if a == b else (a, b)
        v = self.parts[0].value
        if self.kind in ("int", "epochs"):
            return int(v)
        if self.kind in ("float", "lr"):
            return float(v)
        return v

    def set(self, value) -> None:
        """Show ``value`` (``None``: *auto*; 0: *zero*). With ``exact``, a valid value the control
        cannot show is kept as given until the control is moved; without, it is clipped."""
        self._exact = None
        if self.auto is not None:
            if value is None and self.optional or self.zero and _number(value) and value == 0:
                self.auto.value = True
                return
            self.auto.value = False
        if self.kind == "pair":
            for part, v in zip(self.parts, value):
                part.value = v
        elif self.kind == "milestones":
            v = tuple(value)
            self.parts[0].value = (min(v), max(v))
        else:
            self.parts[0].value = value
        if self.exact and not same_value(self._shown(), value):
            self._exact = (value, self._state())

    def observe_value(self, callback) -> None:
        """``callback(change)`` whenever the value may have changed."""
        for w in self.parts + ([self.auto] if self.auto is not None else []):
            w.observe(callback, names="value")

    # ------------------------------------------------------------------ bounds
    def bounds(self) -> tuple | None:
        """The smallest and largest value the control can give (``None`` for a checkbox or dropdown)."""
        part = self.parts[0]
        if isinstance(part, (widgets.Checkbox, widgets.Dropdown)):
            return None
        if isinstance(part, widgets.FloatLogSlider):
            lo, hi = part.base ** part.min, part.base ** part.max
        else:
            lo, hi = part.min, part.max
        return (0.0 if self.zero else lo), hi

    def limit(self, upper) -> None:
        """Cap the slider at ``upper`` (another parameter's value: ``min_lr <= max_lr``,
        ``warmup <= T_max - 1``); never above its window, never below its minimum."""
        for part in self.parts:
            if isinstance(part, (widgets.Checkbox, widgets.Dropdown)):
                return
            top = log_at_most(upper) if self.log else upper
            part.max = max(part.min, min(self._max, top))

    def rescale(self, epochs: int) -> None:
        """Back to the declaration's window for the epoch budget ``epochs`` (a cap from :meth:`limit` is
        lifted; epoch counts follow the budget). Values outside the new window are clipped."""
        self._epochs = epochs
        if self.kind in ("bool", "choice"):
            return
        lo, hi = self._window(epochs)
        self._max = hi
        for part in self.parts:
            if hi > part.max:  # widen first, so that no step clamps the value needlessly
                part.max = hi
            if lo < part.min:
                part.min = lo
            part.min, part.max = lo, hi


def make_control(param: Param, **options) -> ParamControl:
    """The control for ``param`` (:class:`ParamControl`; ``epochs``, ``derived``, ``auto``,
    ``exact``, ``description`` as there)."""
    return ParamControl(param, **options)
