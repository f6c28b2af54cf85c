"""Numbers as text for learners: never a negative zero (``-0.0000`` reads as a sign that means
something), "—" for a missing number. The widgets' text (:mod:`lrlab.widgets.text`) and the
backprop walk-through's equations (:mod:`lrlab.backprop`) format through :func:`num`.

>>> num(-1e-9, ".4f"), num(0.012345), num(None)
('0.0000', '0.01235', '—')
"""
from __future__ import annotations

MISSING = "—"


def num(x, spec: str = ".4g", missing: str = MISSING) -> str:
    """``x`` formatted with ``spec`` (as ``format(x, spec)``), never as negative zero; ``missing``
    for None. ``inf`` and ``nan`` read as themselves."""
    if x is None:
        return missing
    if not isinstance(x, (int, float)):
        x = float(x)  # numpy and torch scalars
    text = format(x, spec)
    mantissa = text.lower().split("e")[0]
    if (text.startswith("-") and any(c.isdigit() for c in mantissa)
            and not any(c in "123456789" for c in mantissa)):
        text = text[1:]  # -0.0000, -0e+00, -0.0 %: all digits zero after rounding
    return text


def doc(obj) -> str:
    """The docstring of ``obj`` (or a string) as a learner reads it, the same on every Python:
    indentation made uniform (:func:`inspect.cleandoc`: Python 3.13 strips docstring
    indentation when it compiles, earlier ones keep it) and the reStructuredText markup taken
    off (````x```` -> ``x``, ``:func:`name``` -> ``name``, a closing ``::`` -> ``:``).

    >>> print(doc('''Cosine annealing (torch ``CosineAnnealingLR``)::
    ...
    ...         lr(e) = min_lr + ...
    ...     see :func:`lrlab.schedules.cosine`.'''))
    Cosine annealing (torch CosineAnnealingLR):
    <BLANKLINE>
        lr(e) = min_lr + ...
    see lrlab.schedules.cosine.
    """
    import inspect
    import re
    if obj is None:  # (None's own __doc__ is text from Python 3.13 on)
        return ""
    text = inspect.cleandoc(obj if isinstance(obj, str) else (getattr(obj, "__doc__", None) or ""))
    text = re.sub(r":(?:func|meth|class|mod|attr|data|obj|exc):`~?([^`]+)`", r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    return re.sub(r"::$", ":", text, flags=re.MULTILINE)
