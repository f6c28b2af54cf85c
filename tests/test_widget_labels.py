"""Every label of every panel fits where the browser draws it (no "cross_entrop", "moment…").

The browser cuts a widget's text with an ellipsis where it is wider than its box: a
description wider than the description width (default 80 px), a dropdown's option wider than
the dropdown, a button's text wider than the button (default 148 px). Headless, text width is
estimated at 8 px a character (13 px sans-serif is ~6.5-7.5 px), plus the room a dropdown's
arrow or a button's padding and icon take.
"""
import re

import ipywidgets as W
import pytest

from lrlab import optim, schedules
from lrlab.train import TrainConfig
from lrlab.widgets import (BackpropExplorer, RacePanel, ScheduleExplorer, SurfaceExplorer, SweepPanel,
                           TrainingPanel)

CHAR = 8  # px a character, generously
DESCRIPTION = 80  # px: ipywidgets' default description width (--jp-widgets-inline-label-width)
INLINE = 300  # px: a control's default width (--jp-widgets-inline-width)
BUTTON = 148  # px: a button's default width (--jp-widgets-inline-width-short)
ARROW = 30  # px a dropdown's arrow and padding take
PADDING = 30  # px a button's padding takes
ICON = 20  # px a button's icon takes
BOX = 24  # px a checkbox and its gap take


def px(size: str | None, default: float | None = None) -> float | None:
    """A CSS length in px ('380px', '28em' at 13 px); ``default`` if unset; None if relative ('100%')."""
    if not size:
        return default
    m = re.fullmatch(r"\s*([\d.]+)\s*(px|em)\s*", str(size))
    if m is None:
        return None
    return float(m.group(1)) * (13 if m.group(2) == "em" else 1)


def text_px(text: str) -> float:
    return CHAR * len(text)


def walk(root):
    """Every widget under ``root``: children (boxes, tabs, accordions) and the widgets a panel keeps
    as attributes (controls hidden or not shown right now)."""
    seen, out, todo = set(), [], [root]
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        out.append(w)
        items = list(getattr(w, "children", ()) or ())
        for value in vars(w).values():
            if isinstance(value, W.Widget):
                items.append(value)
            elif isinstance(value, (list, tuple)):
                items.extend(v for v in value if isinstance(v, W.Widget))
            elif isinstance(value, dict):
                for v in value.values():
                    if isinstance(v, W.Widget):
                        items.append(v)
                    elif isinstance(v, dict):
                        items.extend(x for x in v.values() if isinstance(x, W.Widget))
        todo.extend(i for i in items if isinstance(i, W.Widget))
    return out


def description_room(w) -> float | None:
    """The px the description label of ``w`` may take (None: as wide as its text, 'initial')."""
    width = getattr(w.style, "description_width", "") or ""
    if width == "initial" or width == "auto":
        return None
    return px(width, DESCRIPTION)


def problems(root) -> list[str]:
    """Each label of ``root``'s widgets that the browser would cut, in words."""
    out = []
    for w in walk(root):
        desc = getattr(w, "description", "") or ""
        name = f"{type(w).__name__}({desc!r})"
        width = px(w.layout.width) if hasattr(w, "layout") else None
        if isinstance(w, (W.Button, W.ToggleButton, W.FileUpload)):
            room = px(w.layout.width, BUTTON)
            need = text_px(desc) + PADDING + (ICON if getattr(w, "icon", "") else 0)
            if room is not None and need > room:
                out.append(f"{name}: text needs ~{need:.0f} px, the button is {room:.0f} px")
            continue
        if isinstance(w, W.Checkbox):
            room = width
            label = DESCRIPTION if w.indent else 0
            if room is not None and desc and label + BOX + text_px(desc) > room:
                out.append(f"{name}: text needs ~{label + BOX + text_px(desc):.0f} px, the box is {room:.0f} px")
            continue
        if isinstance(w, W.ToggleButtons):
            room = px(getattr(w.style, "button_width", ""), BUTTON)
            for label, _ in zip(w._options_labels, w._options_values):
                need = text_px(label) + PADDING
                if room is not None and need > room:
                    out.append(f"{type(w).__name__} option {label!r}: needs ~{need:.0f} px, a button is {room:.0f} px")
        label_room = description_room(w) if desc and hasattr(w, "style") else 0
        if desc and hasattr(w, "style") and label_room is not None and text_px(desc) > label_room:
            out.append(f"{name}: description needs ~{text_px(desc):.0f} px, its label is {label_room:.0f} px "
                       f"(give it style={{'description_width': 'initial'}} or a wider one)")
        if isinstance(w, W.Dropdown) and w.options:
            total = px(w.layout.width, INLINE)
            if total is None:
                continue
            taken = (text_px(desc) + 8 if label_room is None else label_room) if desc else 0
            longest = max(w._options_labels, key=len)
            if text_px(longest) + ARROW > total - taken:
                out.append(f"{name} option {longest!r}: needs ~{text_px(longest) + ARROW:.0f} px, the dropdown "
                           f"leaves {total - taken:.0f} px")
    return out


def _training_panel_everything():
    """A training panel, and its pickers showing each optimizer's and each schedule's controls."""
    panel = TrainingPanel(max_epochs=20, n_samples=128)
    found = problems(panel)
    for name in optim.OPTIMIZERS:
        panel.optimizer_picker.optimizer.value = name
        found += problems(panel.optimizer_picker)
    for name in schedules.SCHEDULES:
        panel.schedule_picker.schedule.value = name
        found += problems(panel.schedule_picker)
    panel.close()
    return found


PANELS = {
    "TrainingPanel": _training_panel_everything,
    "RacePanel": lambda: problems(RacePanel(TrainConfig(max_epochs=5))),
    "SweepPanel": lambda: problems(SweepPanel(TrainConfig(max_epochs=5))),
    "ScheduleExplorer": lambda: problems(ScheduleExplorer(schedules=list(schedules.SCHEDULES))),
    "SurfaceExplorer": lambda: problems(SurfaceExplorer(optimizers=list(optim.OPTIMIZERS)[:4])),
    "BackpropExplorer": lambda: problems(BackpropExplorer()),
}


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_every_label_fits_its_box(panel):
    found = sorted(set(PANELS[panel]()))
    assert not found, f"{panel}: labels the browser would cut:\n" + "\n".join(found)


def test_the_checker_sees_the_cuts_that_were_reported():
    """The estimate catches the cut labels seen in the browser (issue 16)."""
    assert problems(W.Dropdown(options=["mse", "cross_entropy"], description="loss", layout=W.Layout(width="190px")))
    assert problems(W.ToggleButton(description="momentum", layout=W.Layout(width="92px")))
    assert problems(W.ToggleButtons(options=["best by test accuracy"], style={"button_width": "150px"}))
    assert problems(W.ToggleButtons(options=["paths", "convergence map"], style={"button_width": "130px"}))
    assert problems(W.Button(description="Reset parameters", icon="undo"))
    assert problems(W.IntSlider(description="patience (epochs)", style={"description_width": "120px"}))
    assert not problems(W.IntSlider(description="patience (epochs)", style={"description_width": "initial"}))
    assert not problems(W.Dropdown(options=["mse", "cross_entropy"], description="loss",
                                   style={"description_width": "initial"}, layout=W.Layout(width="200px")))
