"""A real browser on a real JupyterLab: the playground's training panel trains live and stops.

``lrlab lab --no-browser`` serves a working copy of the tutorials on a free local port with a
temporary token (Jupyter's config/data/runtime dirs in a temporary folder); Debian's chromium,
driven headless by the Python ``playwright`` package, opens ``05_playground.ipynb``, runs all
cells, clicks Start on the first training panel, and checks that the panel's figure changes
and its status line reports epochs; then clicks Stop and checks that nothing moves any more.
Screenshots go to ``artifacts/browser/`` (``playground.png``: mid-training).

Skipped, with the reason shown by ``-ra``, when chromium or playwright is missing
(install: ``apt-get install -y chromium`` and ``pip install playwright``; no browser download).
``LRLAB_BROWSER_NOTEBOOK=/path/to/nb.ipynb`` points the test at another notebook;
``LRLAB_BROWSER_VIEWPORT=1366x768`` sets the window (a laptop's) for the screenshots.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from lrlab.cli.lab import free_port

from lab_server import (disable_lab_extensions, jupyter_env, lab_user_settings, start_lab, stop,
                        wait_for_server)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-first-run", "--metrics-recording-only",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]
EPOCH = re.compile(r"epoch\D{0,3}(\d+)", re.IGNORECASE)


def chromium_path() -> str | None:
    if os.environ.get("LRLAB_CHROMIUM"):  # an explicit choice: used only if it exists
        return os.environ["LRLAB_CHROMIUM"] if os.path.exists(os.environ["LRLAB_CHROMIUM"]) else None
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def epochs_in(text: str) -> int | None:
    m = EPOCH.search(text)
    return int(m.group(1)) if m else None


def poll(predicate, timeout: float, interval: float = 0.1):
    """Call ``predicate`` until it returns something truthy (returned) or ``timeout`` s pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def wait_until_all_cells_ran(page, timeout_ms: int) -> None:
    """Kernel idle and no cell prompt showing ``[*]`` (queued or running)."""
    page.wait_for_function(
        """() => {
            const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
            if (!ind || ind.getAttribute('data-status') !== 'idle') return false;
            const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => !p.textContent.includes('*'));
        }""", timeout=timeout_ms)


def button(scope, label: str):
    """The button whose text is ``label`` (its icon is CSS generated content, not text)."""
    return scope.locator("button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first


def figure_src(image) -> str | None:
    """The live figure's current image URL (the figure is an ``img``, or a FrameView holding one)."""
    return image.evaluate("el => (el.tagName === 'IMG' ? el : el.querySelector('img'))?.src || null")


def long_run(page, panel, epochs: int = 100_000) -> None:
    """Raise the panel's "max epochs" (tab "Run") so that the run is still going when
    Stop is clicked: a small full-batch run can finish its default epochs in a few seconds."""
    tab = panel.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Run\s*$"))
    if not tab.count():
        return
    tab.first.click()
    field = panel.locator(".widget-text", has=page.locator("label", has_text="max epochs")).locator("input")
    field.first.fill(str(epochs))
    field.first.press("Enter")
    field.first.press("Tab")
    panel.locator(".lm-TabBar-tab").first.click()  # back to the first tab for the screenshot


def accept_kernel_dialog(page, wait_s: float = 10) -> None:
    """JupyterLab may ask which kernel to start ("Select Kernel"): accept the proposed one."""
    button = page.locator(".jp-Dialog .jp-mod-accept")

    def shown():
        return button.count() > 0 and button.first.is_visible()

    if poll(shown, timeout=wait_s):
        button.first.click()


@contextlib.contextmanager
def lab_in_chromium(tmp_path: Path, viewport: str, source: Path | None = None):
    """A throw-away ``lrlab lab`` (serving the tutorials, or the notebook ``source`` alone) and a
    headless chromium page on it at ``viewport`` ("WIDTHxHEIGHT"); yields ``(page, port, token)``.
    Skips (with the reason) where playwright or chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    chromium = chromium_path()
    if not chromium:
        pytest.skip("chromium is not installed (apt-get install -y chromium); browser test not run")
    token = "lrlab-browser-" + os.urandom(8).hex()
    env = jupyter_env(tmp_path, token)
    disable_lab_extensions(env, "@jupyterlab/apputils-extension:announcements")  # no news pop-up
    lab_user_settings(env, "@jupyterlab/notebook-extension:tracker", {"autoStartDefaultKernel": True,
                                                                     "windowingMode": "none"})  # all cells in the DOM
    env.setdefault("OMP_NUM_THREADS", "1")
    if source is not None:  # serve that notebook alone
        alone = tmp_path / "source"
        alone.mkdir()
        shutil.copyfile(source, alone / source.name)
        env["LRLAB_NOTEBOOKS"] = str(alone)
    port = free_port(19888)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = start_lab(tmp_path, tmp_path / "work", env, port)
    try:
        wait_for_server(proc, port, token, tmp_path / "lab.log")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            width, height = (int(v) for v in viewport.split("x"))
            page = browser.new_page(viewport={"width": width, "height": height})
            console_errors = []
            page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
            try:
                yield page, port, token
            except BaseException:
                page.screenshot(path=str(ARTIFACTS / "failure.png"))
                print("browser console errors:", *console_errors[-20:], sep="\n  ")
                raise
            finally:
                browser.close()
    finally:
        stop(proc)


def test_playground_panel_trains_in_a_real_browser(tmp_path):
    notebook = Path(os.environ.get("LRLAB_BROWSER_NOTEBOOK") or REPO / "notebooks" / "05_playground.ipynb")
    if not notebook.is_file():
        pytest.skip(f"{notebook} does not exist yet")
    (ARTIFACTS / "failure.png").unlink(missing_ok=True)  # only a failure of this run leaves one
    source = notebook if os.environ.get("LRLAB_BROWSER_NOTEBOOK") else None
    with lab_in_chromium(tmp_path, os.environ.get("LRLAB_BROWSER_VIEWPORT", "1400x1000"), source) as (page, port, token):
        _drive_playground(page, port, token, notebook.name)


#: a laptop's screen, JupyterLab's file browser left open (as Binder opens it): a notebook ~930 px wide
LAPTOP = "1366x768"


def test_every_tutorial_opens_on_its_pictures_and_its_panels_fit_a_laptop_screen(tmp_path):
    """Each notebook as a learner meets it on a laptop: before anything runs, pictures (no panel
    shown as a line of Python repr, no "model not found"); after Run All, every panel at most
    one screen tall, every text at least 12 px, every figure shown at the size it was drawn."""
    shots = ARTIFACTS / "tutorials"
    shots.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    problems = []
    with lab_in_chromium(tmp_path, LAPTOP) as (page, port, token):
        for nb in notebooks:
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


def _drive_playground(page, port: int, token: str, name: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/lab/workspaces/lrlab-test/tree/{name}?reset&token={token}")
    accept_kernel_dialog(page, wait_s=3)  # a fallback: the settings above should prevent it
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.wait_for_function(  # the status bar names the kernel and says Idle: it is connected
        "() => /Idle/.test(document.querySelector('.jp-StatusBar-Widget')?.parentElement?.textContent || '')",
        timeout=90_000)
    for _attempt in range(3):  # "Run All Cells", again if it was swallowed while the kernel connected
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
        accept_kernel_dialog(page, wait_s=1)
        if poll(lambda: page.evaluate(
                "() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
                ".some(p => /\\[[*0-9]/.test(p.textContent))"), timeout=15):
            print(f"Run All Cells took {_attempt + 1} click(s)")
            break
    page.wait_for_selector(".lrlab-figure", state="attached", timeout=120_000)
    wait_until_all_cells_ran(page, timeout_ms=300_000)  # clicks reach the kernel once it is idle

    page.keyboard.press("Control+b")  # hide the file browser: more room for the panel
    # the first training panel (a panel may hold more than one figure, e.g. a schedule preview
    # in a hidden tab: the visible ones count)
    outputs = page.locator(".jp-OutputArea-output", has=page.locator(".lrlab-figure"))
    panel = outputs.locator(".lrlab-training-panel").first if page.locator(".lrlab-training-panel").count() \
        else outputs.first
    panel.evaluate("el => el.scrollIntoView({block: 'start'})")
    image = panel.locator(".lrlab-figure").filter(visible=True).first
    image.wait_for(state="visible", timeout=30_000)
    status = panel.locator(".lrlab-status").filter(visible=True).first
    start, stop_button = button(panel, "Start"), button(panel, "Stop")

    long_run(page, panel)
    src_before = figure_src(image)
    pixels_before = image.screenshot()
    epochs_before = epochs_in(status.inner_text()) or 0

    start.click()
    trained = poll(lambda: figure_src(image) != src_before
                   and (epochs_in(status.inner_text()) or 0) > epochs_before, timeout=60)
    assert trained, f"after Start the figure or the status did not move; status: {status.inner_text()!r}"
    time.sleep(2.0)  # let a few epochs draw, then capture the panel mid-training
    epochs_mid = epochs_in(status.inner_text())
    panel.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / "playground.png"))
    panel.screenshot(path=str(ARTIFACTS / "playground_panel.png"))
    assert image.screenshot() != pixels_before, "the figure's pixels did not change while training"
    assert epochs_mid and epochs_mid > epochs_before, f"status does not report epochs: {status.inner_text()!r}"
    _readable_and_on_one_screen(panel, image)

    stop_button.click()

    def settled():  # the figure and the status stay put for a full second
        snap = (figure_src(image), status.inner_text())
        time.sleep(1.0)
        return snap == (figure_src(image), status.inner_text())

    assert poll(settled, timeout=20, interval=0.0), "the panel kept changing after Stop"
    text = status.inner_text()
    assert epochs_in(text) is not None, f"status after Stop does not report epochs: {text!r}"
    assert re.search(r"stop", text, re.IGNORECASE), f"status after Stop does not say it stopped: {text!r}"
    page.screenshot(path=str(ARTIFACTS / "playground_stopped.png"))
    _throttled_link(page, panel, image, status, start, stop_button)


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


def _readable_and_on_one_screen(panel, image) -> None:
    """Measured in the DOM: the whole panel (controls, buttons, status, figure; the network view
    folded) fits a laptop screen, every text is at least 12 px, and the figure is shown at its own
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
    page.goto(f"http://127.0.0.1:{port}/lab/workspaces/m{abs(hash(name)) % 10**6}/tree/{name}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
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
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
    poll(lambda: page.evaluate("() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
                               ".some(p => /\\[[*0-9]/.test(p.textContent))"), timeout=15)
    wait_until_all_cells_ran(page, 300_000)
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


#: the slow link of issue 16: 5 Mbit/s down and up, 100 ms latency (DevTools' network emulation)
SLOW_LINK = {"offline": False, "latency": 100, "downloadThroughput": 5e6 / 8, "uploadThroughput": 5e6 / 8}


def _throttled_link(page, panel, image, status, start, stop_button) -> None:
    """Measured in the browser: the websocket bytes per second while training, the frames shown
    per second over a slow link, and how long the "stopped" line takes to appear there after a
    Stop click. The panel sends a new frame only once the browser has taken the last one, so
    over a slow link it shows fewer frames, never a queue of stale ones."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    received = []
    # the payload of a binary frame comes base64-encoded in the DevTools event: its bytes are 3/4 of it
    cdp.on("Network.webSocketFrameReceived", lambda e: received.append(
        len(e["response"]["payloadData"]) * (3 / 4 if e["response"].get("opcode") == 2 else 1)))

    def train_and_count(seconds: float) -> tuple[float, float]:
        """Start; after the first frame, (KB/s received, frames shown per second) over ``seconds``."""
        before = figure_src(image)
        start.click()
        assert poll(lambda: figure_src(image) != before, timeout=60), "no frame after Start"
        received.clear()
        shown, last, t0 = 0, figure_src(image), time.monotonic()
        while time.monotonic() - t0 < seconds:
            now = figure_src(image)
            if now != last:
                shown, last = shown + 1, now
            time.sleep(0.02)
        took = time.monotonic() - t0
        return sum(received) / took / 1024, shown / took

    def stop_shown() -> float:
        t0 = time.monotonic()
        stop_button.click()
        assert poll(lambda: re.search(r"stop", status.inner_text(), re.IGNORECASE), timeout=60), \
            f"'stopped' never shown: {status.inner_text()!r}"
        return time.monotonic() - t0

    kbps, fps = train_and_count(4.0)
    local_stop = stop_shown()
    print(f"local link: {kbps:.0f} KB/s to the browser, {fps:.1f} frames/s shown, Stop shown after {local_stop:.2f} s")
    cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
    try:
        kbps, fps = train_and_count(6.0)
        slow_stop = stop_shown()
    finally:
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                        "uploadThroughput": -1})
    print(f"5 Mbit/s, 100 ms link: {kbps:.0f} KB/s, {fps:.1f} frames/s shown, Stop shown after {slow_stop:.2f} s")
    assert fps > 0.5, "over the slow link the panel showed (almost) no frames"
    assert slow_stop < 3.0, f"over a 5 Mbit/s link 'stopped' took {slow_stop:.1f} s to appear (frames queued?)"
