"""Defaults that learn: each dataset's network, epoch budget and size.

``DEFAULTS[name]`` holds the :class:`~lrlab.train.TrainConfig` fields a dataset starts with
(:data:`FIELDS`: ``hidden``, ``activation``, ``max_epochs``, ``n_samples``). With them, Adam at
its default learning rate (0.01, constant, full batch) reaches at least 90 % test accuracy on
every dataset (R^2 >= 0.9 on the regression set ``sine``), on every seed tried
(``tests/test_defaults.py`` trains each one). The command line (``lrlab train / race / sweep``),
:func:`lrlab.playground` and a panel's dataset dropdown start from them; a value given
explicitly always wins.

How they were chosen (measured, seeds 0-7, Adam at lr 0.01): the library-wide defaults
``(16, 16)`` tanh, 200 epochs, 512 points reach 96-100 % on moons, circles, xor and blobs and
R^2 0.96-0.98 on sine. The 2-arm spiral with noise 0.1 does not: its arms overlap where the
noise pushes points across, so even with 2048 points two ReLU layers of 32 reach only 92-96 %,
and with 512 points (102 test points) no net of two or three layers of 16-64 units reached
90 % on every seed (0.76-0.97 by seed and net). With 1024 points and two ReLU layers of 32 it
reaches 91-97 % on every seed, passing 90 % within 100-220 epochs; 300 epochs leave room.
Three spiral arms at noise 0.1 overlap more: the same net reaches about 76-80 %, and two ReLU
layers of 64 on 4096 points 79-82 %: 90 % is beyond that data. At noise 0.05 the three arms
part, and the spiral's defaults reach 97-98 % (seeds 0-2): a spiral of three or more classes
starts at that noise (:data:`MORE_CLASSES`).
"""
from __future__ import annotations

from . import data as data_mod
from .checks import shown

#: the TrainConfig fields a dataset chooses
FIELDS = ("hidden", "activation", "max_epochs", "n_samples", "noise")

_COMMON = {"hidden": (16, 16), "activation": "tanh", "max_epochs": 200, "n_samples": 512, "noise": 0.1}

#: each dataset's defaults (every name of :data:`lrlab.data.DATASETS`)
DEFAULTS: dict[str, dict] = {
    "moons": dict(_COMMON),
    "circles": dict(_COMMON),
    "spiral": {"hidden": (32, 32), "activation": "relu", "max_epochs": 300, "n_samples": 1024, "noise": 0.1},
    "xor": dict(_COMMON),
    "blobs": dict(_COMMON),
    "sine": dict(_COMMON),
}


#: what changes from :data:`DEFAULTS` for three classes or more
MORE_CLASSES: dict[str, dict] = {"spiral": {"noise": 0.05}}


def for_dataset(name: str, classes: int = 2) -> dict:
    """The defaults of dataset ``name`` with ``classes`` classes (a fresh dict of :data:`FIELDS`);
    ``ValueError`` for an unknown name."""
    if not isinstance(name, str) or name not in DEFAULTS:
        raise ValueError(f"dataset: unknown dataset {shown(name)}; allowed: {', '.join(data_mod.DATASETS)}")
    out = dict(DEFAULTS[name])
    if isinstance(classes, int) and classes >= 3:
        out.update(MORE_CLASSES.get(name, {}))
    return out


def config(dataset: str = "moons", **given):
    """A :class:`~lrlab.train.TrainConfig` for ``dataset`` with its defaults; every field in ``given``
    wins over them. With ``csv_path`` (the learner's own data) no dataset's defaults apply.

    >>> config("spiral").hidden, config("spiral", hidden=(8,)).hidden
    ((32, 32), (8,))
    """
    from .config import TrainConfig
    chosen = {} if given.get("csv_path") is not None else for_dataset(dataset, given.get("classes", 2))
    return TrainConfig(**{**chosen, "dataset": dataset, **given})


def follow(current: dict, old: str, new: str, old_classes: int = 2, new_classes: int = 2) -> dict:
    """What a panel changes when the dataset goes from ``old`` to ``new`` (or its number of classes
    from ``old_classes`` to ``new_classes``): each field of :data:`FIELDS` in ``current`` that still
    holds the old default takes the new one (a field the learner has changed stays). Returns only
    the fields to change."""
    before, after = for_dataset(old, old_classes), for_dataset(new, new_classes)
    return {k: after[k] for k in FIELDS
            if k in current and _same(current[k], before[k]) and not _same(current[k], after[k])}


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return tuple(a) == tuple(b)
    return a == b
