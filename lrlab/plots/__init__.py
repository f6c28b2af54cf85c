"""Pure drawing functions: (history / run / state, matplotlib Axes) -> None.

Everything here draws on ``matplotlib.figure.Figure`` objects (never pyplot), so it works
headless, in threads, and in every notebook front-end. One module per topic:
``training`` (loss, accuracy, lr, decision boundary, norms, effective steps), and the
topic modules of the other panels.
"""
from __future__ import annotations

import io

from matplotlib.figure import Figure

#: Okabe-Ito colour-blind-safe palette, in the order contenders get them.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Two-class colours for data points and decision regions (blue / orange, colour-blind safe).
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
TRAIN_COLOR, TEST_COLOR = "#0072B2", "#D55E00"

#: Font sizes that stay readable on a classroom projector.
RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
      "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.spines.top": False, "axes.spines.right": False}


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A Figure with lrlab's readable defaults (constrained layout)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def fig_to_png(fig: Figure, dpi: int | None = None, fast: bool = False) -> bytes:
    """Render ``fig`` to PNG bytes. ``fast`` uses PIL with low compression (live redraws)."""
    if fast:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        fig.canvas.draw()
        buf = fig.canvas.buffer_rgba()
        img = Image.frombuffer("RGBA", fig.canvas.get_width_height(), buf, "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        img.save(out, format="PNG", compress_level=1)
        return out.getvalue()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def save_run_png(run, path: str) -> None:
    """Loss/accuracy, learning rate and decision boundary (or fitted curve) of a run, to ``path``."""
    from .training import draw_run
    fig = new_figure(15, 4.2)
    draw_run(fig, run)
    fig.savefig(path, dpi=100)
