"""lrlab: interactive widgets and a torch engine that teach how neural networks learn."""
from .train import Run, TrainConfig, train  # noqa: F401

__version__ = "0.1.0"


def __getattr__(name):  # lazy: importing lrlab must not import ipywidgets
    if name == "playground":
        from .widgets import playground
        return playground
    if name in ("race", "sweep", "lr_range_test"):
        import importlib
        return getattr(importlib.import_module(".race", __name__), name)
    raise AttributeError(f"module 'lrlab' has no attribute {name!r}")
