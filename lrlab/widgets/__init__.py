"""ipywidgets panels built from the engine, the optimizers, the schedules and the plots.

No maths here: every number a panel shows comes from a function the tests also call
directly. Panels render with matplotlib's object API to PNG bytes in an
``ipywidgets.Image``. Imported lazily so that ``import lrlab`` stays light.
"""
from __future__ import annotations

import importlib

#: public name -> module (inside lrlab.widgets) that defines it
_WHERE = {
    "TrainingPanel": "training_panel", "playground": "training_panel",
    "DatasetPicker": "pickers", "NetworkPicker": "pickers", "OptimizerPicker": "pickers",
    "SchedulePicker": "pickers", "StopPicker": "pickers",
    "ScheduleExplorer": "schedule_explorer",
    "BackpropExplorer": "backprop_explorer",
    "SurfaceExplorer": "surface_explorer",
    "RacePanel": "race_panel", "SweepPanel": "race_panel",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lrlab.widgets' has no attribute {name!r}")
