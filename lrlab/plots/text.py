"""Text that came from outside (CSV class and column names), drawn as plain text.

Matplotlib reads a string with an even number of ``$`` as mathtext (and, with
``text.usetex``, hands it to LaTeX): a class name such as ``$\\frac{$`` then raises while
the figure is drawn. Every name a learner's file brings is drawn through
:func:`plain_text` (its ``$`` escaped as ``\\$``, which matplotlib shows as ``$``; control
characters replaced; at most ``max_chars`` characters) with :data:`PLAIN` (no LaTeX)."""
from __future__ import annotations

import re

#: keyword arguments for ``ax.text`` / ``set_xticks(labels=...)``: never hand the text to LaTeX
PLAIN = {"usetex": False}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def plain_text(text, max_chars: int = 32) -> str:
    """``text`` as a label matplotlib draws literally: ``$`` escaped, one line, at most ``max_chars`` characters."""
    text = _CONTROL.sub(" ", str(text))
    if max_chars and len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text.replace("$", r"\$")
