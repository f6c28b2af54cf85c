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

#: One colour per optimizer in every view (panels, notebooks, CLI PNGs): Okabe-Ito, and grey for
#: the eighth (Okabe-Ito's yellow is too pale for a line on white). Related methods share a hue:
#: momentum / Nesterov blues, Adam / AdamW oranges.
OPTIMIZER_COLORS = {"sgd": "#000000", "momentum": "#0072B2", "nesterov": "#56B4E9", "adagrad": "#009E73",
                    "rmsprop": "#CC79A7", "adam": "#E69F00", "adamw": "#D55E00", "adadelta": "#999999"}
#: One colour per learning-rate schedule in every view (the same palette, its own assignment).
SCHEDULE_COLORS = {"constant": "#000000", "step_decay": "#0072B2", "multistep": "#56B4E9",
                   "exponential": "#009E73", "cosine": "#E69F00", "cosine_warm_restarts": "#D55E00",
                   "warmup_cosine": "#CC79A7", "one_cycle": "#999999", "linear": "#56B4E9",
                   "reduce_on_plateau": "#009E73", "cosine_plateau_cuts": "#D55E00"}
#: Eleven schedules, eight colours: the second schedule of each colour is dashed, so that each
#: schedule's (colour, line style) is its own in every view.
SCHEDULE_LINESTYLES = {"linear": "--", "reduce_on_plateau": "--", "cosine_plateau_cuts": "--"}
#: Line styles that tell apart runs of one optimizer (the second one dashed, the third dotted, ...).
LINESTYLES = ("-", "--", ":", "-.")


def _named_color(table: dict, name: str) -> str:
    """``table[name]``, or (a name added to a registry later) a palette colour chosen from the name."""
    return table.get(name) or PALETTE[sum(map(ord, str(name))) % len(PALETTE)]


def optimizer_color(name: str) -> str:
    """The optimizer's colour, the same in every view (:data:`OPTIMIZER_COLORS`)."""
    return _named_color(OPTIMIZER_COLORS, name)


def schedule_color(name: str) -> str:
    """The schedule's colour, the same in every view (:data:`SCHEDULE_COLORS`)."""
    return _named_color(SCHEDULE_COLORS, name)


def schedule_linestyle(name: str) -> str:
    """The schedule's own line style (:data:`SCHEDULE_LINESTYLES`; solid unless it shares its colour)."""
    return SCHEDULE_LINESTYLES.get(name, "-")


def run_styles(names, color=None, linestyle=None) -> list[tuple[str, str]]:
    """``(colour, line style)`` for runs of these optimizers (or, with ``color=schedule_color,
    linestyle=schedule_linestyle``, schedules), in order: each its name's colour and line style;
    the next run of one name in the next style (solid, dashed, dotted, ...). Runs that all share
    one name (one optimizer at several learning rates) get the palette's colours instead: there
    the colour has nothing else to say."""
    color = color or optimizer_color
    first = (lambda name: LINESTYLES.index(linestyle(name))) if linestyle else (lambda name: 0)
    names = list(names)
    if len(names) > 1 and len(set(names)) == 1:  # runs of one optimizer only: the colour tells them apart
        return [(PALETTE[i % len(PALETTE)], LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)])
                for i in range(len(names))]
    seen: dict = {}
    out = []
    for name in names:
        n = seen[name] = seen.get(name, -1) + 1
        out.append((color(name), LINESTYLES[(first(name) + n) % len(LINESTYLES)]))
    return out

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


#: colours of a live frame's palette: the lines' and classes' own colours stay within 10/255 per
#: channel (tests/test_render_process.py; too little to see), the anti-aliased edges and the
#: boundary's shades are rounded; 32 shifted the lines' colours visibly, 256 makes frames 15 % bigger
LIVE_COLOURS = 64


def encode_live_png(rgba) -> bytes:
    """A live frame's PNG from an RGBA image ``[h, w, 4]`` (uint8; e.g. an Agg canvas's
    ``buffer_rgba()``): :data:`LIVE_COLOURS` colours at most (an adaptive palette, exact where
    the image has no more), zlib level 6. A plot is mostly flat colour: the playground's
    528 x 431 px frame is ~22 kB (RGB: ~80 kB), what the websocket carries up to 20 times a
    second, in ~3 ms."""
    import numpy as np
    from PIL import Image
    a = np.asarray(rgba)
    img = Image.fromarray(np.ascontiguousarray(a[:, :, :3]), "RGB").quantize(LIVE_COLOURS,
                                                                             method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def fig_to_png(fig: Figure, dpi: int | None = None, fast: bool = False) -> bytes:
    """Render ``fig`` to PNG bytes. ``fast``: a live frame (:func:`encode_live_png`)."""
    if fast:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        fig.canvas.draw()
        return encode_live_png(fig.canvas.buffer_rgba())
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def save_run_png(run, path: str) -> None:
    """Loss/accuracy, learning rate and decision boundary (or fitted curve) of a run, to ``path``."""
    from .training import draw_run
    fig = new_figure(15, 4.2)
    draw_run(fig, run)
    fig.savefig(path, dpi=100)
