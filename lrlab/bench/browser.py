"""The playground panel in a learner's browser: chromium on JupyterLab, as tests/test_browser.py
drives it (:mod:`lrlab.bench._browser`). ``lrlab lab`` serves the tutorials; chromium opens
``05_playground.ipynb`` at 1366 x 768, runs it, raises the first panel's epoch budget, and
measures while it trains: over the local link, then over a link throttled to 5 Mbit/s with
100 ms latency (chromium's DevTools network emulation).

* bytes per second the browser receives (the websocket; binary frames counted as bytes);
* frames shown per second (new pictures on screen);
* the age of the frame on show: the browser stamps each picture it shows with the moment the
  kernel took that frame, sampled every 50 ms (median and worst);
* how long after a Stop click the status line says "stopped".

The panel trains as fast as it can for these (its Run tab's speed), then frames/s once more at
the speed a learner first meets (:data:`lrlab.widgets.training_panel.DEFAULT_SPEED`).

Skipped rows (with the reason) where chromium or playwright is missing. The browser, the
server, the kernel and its renderer share this machine's cores, as they would not in a class.
"""
from __future__ import annotations

from . import Row

VIEWPORT = "1366x768"
NOTEBOOK = "05_playground.ipynb"

NAMES = {
    "bytes": "panel: bytes per second sent to the browser",
    "fps": "panel: frames shown per second in chromium during training",
    "lag": "panel: lag of the shown frame behind training over a throttled link",
    "stop": "panel: Stop shown in the browser over the throttled link",
    "fps_paced": "panel: frames shown per second in chromium during training, at the panel's default speed",
}
FLAT_OUT = "as fast as it can"


def measure(seconds: float) -> dict:
    """``{"local": ..., "slow": ...}``: :func:`lrlab.bench._browser.measure_link` on each link."""
    from ._browser import SLOW_LINK, lab_in_chromium, long_run, measure_link, open_and_run_all, playground_parts
    with lab_in_chromium(VIEWPORT) as (page, port, token):
        open_and_run_all(page, port, token, NOTEBOOK)
        page.keyboard.press("Control+b")  # the file browser folded: the whole panel on screen
        parts = playground_parts(page)
        long_run(page, parts["panel"], speed=FLAT_OUT)  # the rows say "while training at full speed"
        out = {"local": measure_link(page, parts, seconds), "slow": measure_link(page, parts, seconds, SLOW_LINK)}
        long_run(page, parts["panel"], speed=default_speed_label())  # as a learner first meets it
        out["paced"] = measure_link(page, parts, seconds)
        return out


def default_speed_label() -> str:
    from ..widgets.training_panel import DEFAULT_SPEED, SPEEDS
    return dict(SPEEDS)[DEFAULT_SPEED]


def rows(quick: bool):
    from ._browser import BrowserMissing
    try:
        m = measure(3.0 if quick else 8.0)
    except BrowserMissing as exc:
        for key, unit, target, higher in (("bytes", "KB/s", 300, False), ("fps", "frames/s", 15, True),
                                          ("lag", "s", 0.5, False), ("stop", "s", 1.0, False),
                                          ("fps_paced", "frames/s", 15, True)):
            yield Row(NAMES[key], None, None, unit, target=target, higher_is_better=higher, note=f"skipped: {exc}")
        return
    local, slow, paced = m["local"], m["slow"], m["paced"]
    where = f"chromium on JupyterLab, {NOTEBOOK}'s first panel at {VIEWPORT}"
    yield Row(NAMES["bytes"], local["kb_per_s"], None, "KB/s", target=300, higher_is_better=False,
              note=f"{where}, local link, while training; over 5 Mbit/s: {slow['kb_per_s']:.0f} KB/s")
    yield Row(NAMES["fps"], local["frames_per_s"], None, "frames/s", target=15,
              note=f"local link, training as fast as it can; over 5 Mbit/s: {slow['frames_per_s']:.1f}; "
                   f"the browser shares this host's cores")
    yield Row(NAMES["lag"], slow["lag_median_s"], None, "s", target=0.5, higher_is_better=False,
              note=f"median age of the frame on show, 5 Mbit/s + 100 ms (worst {slow['lag_max_s']:.2f} s; "
                   f"local link: median {local['lag_median_s']:.2f} s, worst {local['lag_max_s']:.2f} s)")
    yield Row(NAMES["stop"], slow["stop_shown_s"], None, "s", target=1.0, higher_is_better=False,
              note=f"from the Stop click to 'stopped' on the status line (local link: {local['stop_shown_s']:.2f} s)")
    yield Row(NAMES["fps_paced"], paced["frames_per_s"], None, "frames/s", target=15,
              note=f"local link, the Run tab's speed at {default_speed_label()} (the default): training leaves "
                   f"the CPU to the drawing; {paced['kb_per_s']:.0f} KB/s")
