"""``lrlab app`` in a real browser: the playground dashboard shows its panel within 5 s of the
page being requested, shows nothing but the title, one sentence and the panel (no code, no
developer text), and its panel trains when Start is clicked.

What is timed: ``lrlab app --no-browser`` is started and the test waits (server start-up, at
most 120 s) for its line ``lrlab app: ready: open URL`` (Voila listens and its preheated kernel
has run the dashboard); chromium is launched; then the clock starts at ``page.goto(URL)`` (the
first request for the page) and stops when the panel's Start button and its figure
(``.lrlab-figure``) are both visible. Both times are printed (``-s`` shows them).

Debian's chromium driven by the PyPI ``playwright`` package (as tests/test_browser.py, through
:mod:`lrlab.bench._browser`). Skipped, with the reason shown by ``-ra``, where Voila, playwright
or chromium is missing (``pip install '.[test]'`` brings Voila and playwright;
``apt-get install -y chromium``). A screenshot goes to ``artifacts/dashboard/``.
"""
from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest

from lrlab.bench._browser import CHROMIUM_ARGS, button, epochs_in, figure_src, poll

from app_helpers import TIME_TO_PANEL_S, running_app

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "dashboard"
#: what a learner must never see on the dashboard: the tutorial's checks, docstrings, code, errors
DEVELOPER_TEXT = ("same config", "same history", "share.encode", "Traceback", "Error", "Exception",
                  "import ", "os.chdir", "LRLAB_APP", "playground(", "TrainingPanel", "<lrlab.", "__doc__")


def _chromium():
    if importlib.util.find_spec("voila") is None:
        pytest.skip("voila is not installed (pip install voila, or pip install '.[test]'); dashboard test not run")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright); dashboard test not run")
    from lrlab.bench._browser import chromium_path

    path = chromium_path()
    if not path:
        pytest.skip("chromium is not installed (apt-get install -y chromium); dashboard test not run")
    return sync_api, path


def test_dashboard_shows_the_panel_within_5_s_and_nothing_else(tmp_path):
    sync_api, chromium = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_app(tmp_path) as app, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            t0 = time.monotonic()
            page.goto(app.url, wait_until="commit", timeout=60_000)  # the first request for the page
            panel = page.locator(".lrlab-training-panel").first
            start, figure = button(panel, "Start"), panel.locator(".lrlab-figure").filter(visible=True).first
            try:
                start.wait_for(state="visible", timeout=60_000)
                figure.wait_for(state="visible", timeout=60_000)
            finally:
                took = time.monotonic() - t0
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
            print(f"\nlrlab app: ready {app.ready_s:.1f} s after launch; panel (Start + figure) visible "
                  f"{took:.2f} s after the page was requested")
            assert took < TIME_TO_PANEL_S, (f"the panel took {took:.1f} s to show after the page was requested "
                                            f"(at most {TIME_TO_PANEL_S} s)")

            # only the panel, the title and one sentence: no code, no developer text
            assert page.locator(".lrlab-training-panel").count() == 1
            code = page.locator(".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .cm-editor, .jp-RenderedText, "
                                ".jp-OutputArea-output pre")  # code, printed text, tracebacks
            assert code.count() == 0, f"code or printed text on the dashboard: {code.all_inner_texts()}"
            text = page.evaluate("() => document.body.innerText")
            shown = [t for t in DEVELOPER_TEXT if t in text]
            assert not shown, f"developer text on the dashboard: {shown}\n{text[:2000]}"
            assert "Playground" in text and "guided experiments" in text
            guided = panel.locator("select", has=page.locator("option", has_text="guided experiments"))
            assert guided.count() == 1 and guided.first.is_visible(), "the guided experiments dropdown is not shown"
            assert guided.first.locator("option").count() > 3, "the guided experiments dropdown is empty"
            assert panel.bounding_box()["y"] < 300, "the panel is not at the top of the page"

            # the widgets are live: Start trains, Stop stops
            status = panel.locator(".lrlab-status").filter(visible=True).first
            before = figure_src(figure)
            start.click()
            trained = poll(lambda: figure_src(figure) != before and (epochs_in(status.inner_text()) or 0) > 0,
                           timeout=60)
            assert trained, f"Start did not train: status {status.inner_text()!r}"
            button(panel, "Stop").click()
            assert poll(lambda: re.search(r"stop", status.inner_text(), re.IGNORECASE), timeout=30), \
                f"Stop not shown: {status.inner_text()!r}"
            page.screenshot(path=str(ARTIFACTS / "dashboard_trained.png"))
        finally:
            browser.close()
