"""The panels' CSS: a few rules shipped inside the package (nothing fetched at run time), put on
the page by an ``ipywidgets.HTML`` holding a ``<style>`` element, and scoped to a panel's class.

* A tab is as wide as its title: ipywidgets gives every tab the same share of the bar and cuts
  the longer titles short ("Optimi…") in a column beside the figure.
"""
from __future__ import annotations

import ipywidgets as widgets

#: the class every panel that uses :func:`style` carries
PANEL_CLASS = "lrlab-panel"

CSS = f"""
.{PANEL_CLASS} .lm-TabBar-tab, .{PANEL_CLASS} .p-TabBar-tab {{
  flex: 0 0 auto !important; min-width: 0 !important; max-width: none !important;
  padding-left: 9px !important; padding-right: 9px !important;
}}
"""


def style() -> widgets.HTML:
    """The rules as a widget of no height (put it anywhere inside the panel)."""
    return widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(height="0px", margin="0px"))
