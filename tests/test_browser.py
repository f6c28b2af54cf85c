"""A real browser on a real JupyterLab: the tutorials as a learner meets them, the playground's
training panel training live and stopping, over the local link and a slow one.

``lrlab lab --no-browser`` serves a working copy of the tutorials on a free local port with a
temporary token; Debian's chromium, driven headless by the Python ``playwright`` package
(:mod:`lrlab.bench._browser`, shared with ``lrlab bench --only browser``), opens them.

* ``test_playground_panel_trains_in_a_real_browser``: opens ``05_playground.ipynb``, runs all
  cells, clicks Start on the first training panel, checks that the figure changes and the
  status line reports epochs, measures the panel from the DOM (one screen tall, every text
  >= 12 px, the figure shown at its drawn size), clicks Stop and checks that nothing moves any
  more; then measures the link (bytes/s, frames/s, the age of the frame on show, "stopped"
  shown after Stop) locally and over 5 Mbit/s with 100 ms latency.
* ``test_every_tutorial_opens_on_its_pictures_and_its_panels_fit_a_laptop_screen``: every
  notebook at 1366 x 768 with the file browser open, before and after Run All.

Screenshots go to ``artifacts/browser/``. Skipped, with the reason shown by ``-ra``, when
chromium or playwright is missing (install: ``apt-get install -y chromium`` and
``pip install playwright``; no browser download). ``LRLAB_BROWSER_NOTEBOOK=/path/to/nb.ipynb``
points the playground test at another notebook; ``LRLAB_BROWSER_VIEWPORT=1366x768`` sets its window.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import pytest

from lrlab.bench._browser import (SLOW_LINK, BrowserMissing, epochs_in, figure_src, lab_in_chromium as _lab,
                                  long_run, measure_link, open_and_run_all, open_notebook, playground_parts, poll,
                                  run_all, start_and_wait)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
#: a laptop's screen, JupyterLab's file browser left open (as Binder opens it): a notebook ~930 px wide
LAPTOP = "1366x768"


@contextlib.contextmanager
def lab_in_chromium(viewport: str, source: Path | None = None):
    """:func:`lrlab.bench._browser.lab_in_chromium`, skipped (with the reason) where chromium or
    playwright is missing; a failure leaves ``artifacts/browser/failure.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "failure.png").unlink(missing_ok=True)  # only a failure of this run leaves one
    stack = contextlib.ExitStack()
    try:
        parts = stack.enter_context(_lab(viewport, source=source, screenshot_on_error=ARTIFACTS / "failure.png"))
    except BrowserMissing as exc:
        pytest.skip(f"{exc}; browser test not run")
    with stack:
        yield parts


def test_playground_panel_trains_in_a_real_browser():
    notebook = Path(os.environ.get("LRLAB_BROWSER_NOTEBOOK") or REPO / "notebooks" / "05_playground.ipynb")
    if not notebook.is_file():
        pytest.skip(f"{notebook} does not exist yet")
    source = notebook if os.environ.get("LRLAB_BROWSER_NOTEBOOK") else None
    with lab_in_chromium(os.environ.get("LRLAB_BROWSER_VIEWPORT", "1400x1000"), source) as (page, port, token):
        print(f"Run All Cells took {open_and_run_all(page, port, token, notebook.name)} click(s)")
        page.keyboard.press("Control+b")  # hide the file browser: more room for the panel
        parts = playground_parts(page)
        _train_and_stop(page, parts)
        _links(page, parts)


def _train_and_stop(page, parts: dict) -> None:
    panel, image, status = parts["panel"], parts["image"], parts["status"]
    long_run(page, panel)
    pixels_before = image.screenshot()
    epochs_before = epochs_in(status.inner_text()) or 0

    trained = start_and_wait(parts, timeout=60)
    assert trained, f"after Start the figure or the status did not move; status: {status.inner_text()!r}"
    time.sleep(2.0)  # let a few epochs draw, then capture the panel mid-training
    epochs_mid = epochs_in(status.inner_text())
    panel.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / "playground.png"))
    panel.screenshot(path=str(ARTIFACTS / "playground_panel.png"))
    assert image.screenshot() != pixels_before, "the figure's pixels did not change while training"
    assert epochs_mid and epochs_mid > epochs_before, f"status does not report epochs: {status.inner_text()!r}"
    _readable_and_on_one_screen(panel, image)
    _network_in_the_figures_place(page, panel)

    parts["stop"].click()

    def settled():  # the figure and the status stay put for a full second
        snap = (figure_src(image), status.inner_text())
        time.sleep(1.0)
        return snap == (figure_src(image), status.inner_text())

    assert poll(settled, timeout=20, interval=0.0), "the panel kept changing after Stop"
    text = status.inner_text()
    assert epochs_in(text) is not None, f"status after Stop does not report epochs: {text!r}"
    assert re.search(r"stop", text, re.IGNORECASE), f"status after Stop does not say it stopped: {text!r}"
    page.screenshot(path=str(ARTIFACTS / "playground_stopped.png"))


def _links(page, parts: dict) -> None:
    """Measured in the browser (lrlab.bench._browser.measure_link), locally and over a slow link.
    The panel sends a new frame only once the browser has taken the last one, so over a slow
    link it shows fewer frames, never a queue of stale ones."""
    for name, link, seconds in (("local link", None, 4.0), ("5 Mbit/s, 100 ms link", SLOW_LINK, 6.0)):
        m = measure_link(page, parts, seconds, link)
        print(f"{name}: {m['kb_per_s']:.0f} KB/s to the browser, {m['frames_per_s']:.1f} frames/s shown, "
              f"frame on show {m['lag_median_s']:.2f} s old (median, max {m['lag_max_s']:.2f} s), "
              f"Stop shown after {m['stop_shown_s']:.2f} s")
        assert m["frames_per_s"] > 0.5, f"{name}: the panel showed (almost) no frames"
        assert m["lag_median_s"] is not None and m["lag_max_s"] < 3.0, f"{name}: frames queued ({m})"
        assert m["stop_shown_s"] < 3.0, f"{name}: 'stopped' took {m['stop_shown_s']:.1f} s to appear (frames queued?)"


#: a 1366 x 768 laptop shows about this much of a notebook cell's output (JupyterLab's bars aside)
SCREEN_HEIGHT_PX = 650
#: the smallest text a panel may show at 100 % zoom, in CSS px
MIN_TEXT_PX = 12

#: every piece of visible text in ``el``: its computed font size and the text (JavaScript)
TEXT_SIZES = """el => {
  const out = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest('style')) continue;
    const box = parent.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(parent).visibility === 'hidden') continue;
    out.push([parseFloat(getComputedStyle(parent).fontSize), text.slice(0, 40)]);
  }
  return out;
}"""


def _network_in_the_figures_place(page, panel) -> None:
    """*Network* (above the figure) shows the network's pictures, live, in the figure's place:
    the panel stays one screen tall; *Training* brings the figure back."""
    panel.locator(".widget-toggle-buttons button", has_text=re.compile(r"^\s*Network\s*$")).first.click()
    graph = panel.locator("img.widget-image").filter(visible=True).first
    graph.wait_for(state="visible", timeout=30_000)
    assert poll(lambda: graph.evaluate("el => el.naturalWidth") > 0, timeout=30), "the network graph never drew"
    first = graph.evaluate("el => el.src")
    assert poll(lambda: graph.evaluate("el => el.src") != first, timeout=30), "the network view is not live"
    page.screenshot(path=str(ARTIFACTS / "playground_network.png"))
    assert not panel.locator("div.lrlab-figure").filter(visible=True).count(), "the figure stays beside the network"
    _readable_and_on_one_screen(panel, graph)
    panel.locator(".widget-toggle-buttons button", has_text=re.compile(r"^\s*Training\s*$")).first.click()
    assert poll(lambda: panel.locator("div.lrlab-figure").filter(visible=True).count() > 0, timeout=10)


def _readable_and_on_one_screen(panel, image) -> None:
    """Measured in the DOM: the whole panel (controls, buttons, status, and the figure or the
    network view in its place) fits a laptop screen, every text is at least 12 px, and the figure is shown at its own
    size (its 12 px ticks not shrunk)."""
    height = panel.evaluate("el => el.getBoundingClientRect().height")
    sizes = panel.evaluate(TEXT_SIZES)
    small = sorted({(size, text) for size, text in sizes if size < MIN_TEXT_PX})
    natural, shown = image.evaluate(
        "el => { const img = el.tagName === 'IMG' ? el : el.querySelector('img');"
        " return [img.naturalWidth, img.getBoundingClientRect().width]; }")
    print(f"panel: {height:.0f} px tall, {len(sizes)} texts, smallest {min(s for s, _ in sizes):.1f} px; "
          f"figure {natural} px drawn, shown {shown:.0f} px wide")
    assert height <= SCREEN_HEIGHT_PX, f"the panel is {height:.0f} px tall: taller than a laptop screen"
    assert not small, f"texts below {MIN_TEXT_PX} px: {small[:10]}"
    assert abs(shown - natural) <= 1, f"the figure ({natural} px) is shown scaled to {shown:.0f} px"



def measure_notebook(page, port: int, token: str, name: str, shots: Path | None = None) -> dict:
    """Open notebook ``name`` in JupyterLab as a learner does: before anything runs, count its
    output pictures and the panels shown as a line of Python repr instead; then Run All, and
    measure every lrlab panel (an output holding an ``.lrlab-figure``) from the DOM: its size,
    its texts under :data:`MIN_TEXT_PX` and each visible picture's drawn vs shown width.
    Screenshots into ``shots`` (before running, and each panel)."""
    open_notebook(page, port, token, name, workspace=f"m{abs(hash(name)) % 10**6}")
    time.sleep(2)  # the saved outputs render
    before = {
        "pictures": page.evaluate("() => document.querySelectorAll('.jp-OutputArea-output img').length"),
        "repr_lines": page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                                    ".map(o => o.innerText).filter(t => /^[A-Za-z]+\\(children=/.test(t)).length"),
        "widget_errors": page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                                       ".filter(o => /Error displaying widget|model not found/.test(o.innerText))"
                                       ".length"),
    }
    if shots:
        page.screenshot(path=str(shots / f"{Path(name).stem}_before.png"))
    clicks = run_all(page)
    if clicks > 1:
        print(f"{name}: Run All Cells took {clicks} clicks (one was lost)")
    time.sleep(1)
    panels = []
    outputs = page.locator(".jp-OutputArea-output", has=page.locator(".lrlab-figure"))
    for i in range(outputs.count()):
        out = outputs.nth(i)
        out.evaluate("el => el.scrollIntoView({block: 'start'})")
        box = out.evaluate("el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; }")
        panels.append({
            "width": box[0], "height": box[1],
            "small_texts": sorted({(round(size, 1), text) for size, text in out.evaluate(TEXT_SIZES)
                                   if size < MIN_TEXT_PX}),
            "figures": out.evaluate("el => [...el.querySelectorAll('img')].filter(i => i.getBoundingClientRect()"
                                    ".width > 0).map(i => [i.naturalWidth, Math.round(i.getBoundingClientRect()"
                                    ".width)])"),
        })
        if shots:
            out.screenshot(path=str(shots / f"{Path(name).stem}_panel{i}.png"))
    page.goto("about:blank")
    return {"before": before, "panels": panels}


def test_every_tutorial_opens_on_its_pictures_and_its_panels_fit_a_laptop_screen():
    """Each notebook as a learner meets it on a laptop: before anything runs, pictures (no panel
    shown as a line of Python repr, no "model not found"); after Run All, every panel at most
    one screen tall, every text at least 12 px, every figure shown at the size it was drawn."""
    shots = ARTIFACTS / "tutorials"
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with lab_in_chromium(LAPTOP) as (page, port, token):
        for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
            seen = measure_notebook(page, port, token, nb.name, shots)
            before = seen["before"]
            print(f"{nb.name}: before running {before['pictures']} pictures; panels (w x h px, figures "
                  f"drawn/shown): {[(round(p['width']), round(p['height']), p['figures']) for p in seen['panels']]}")
            if before["repr_lines"] or before["widget_errors"]:
                problems.append(f"{nb.name}: before running, {before['repr_lines']} panel(s) shown as a repr line, "
                                f"{before['widget_errors']} widget error(s)")
            for i, panel in enumerate(seen["panels"]):
                where = f"{nb.name} panel {i}"
                if panel["height"] > SCREEN_HEIGHT_PX:
                    problems.append(f"{where}: {panel['height']:.0f} px tall (a laptop shows {SCREEN_HEIGHT_PX})")
                if panel["small_texts"]:
                    problems.append(f"{where}: texts under {MIN_TEXT_PX} px: {panel['small_texts'][:5]}")
                scaled = [f for f in panel["figures"] if abs(f[0] - f[1]) > 2]
                if scaled:
                    problems.append(f"{where}: figures drawn/shown at other sizes (px): {scaled}")
    assert not problems, "\n".join(problems)
