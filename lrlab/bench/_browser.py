"""A learner's browser on a real JupyterLab: Debian's chromium driven headless by the PyPI
``playwright`` package (no browser download), on a throw-away ``lrlab lab``
(:mod:`lrlab.bench._lab`). Used by the browser bench (:mod:`lrlab.bench.browser`) and by
tests/test_browser.py, which assert on what these functions measure.

* :func:`lab_in_chromium`: the server and a page at a given window size;
* :func:`open_notebook`, :func:`run_all` (both: :func:`open_and_run_all`), :func:`playground_parts`:
  a notebook opened and run, its first training panel's figure, status line and buttons;
  :func:`start_and_wait`: Start clicked, and whether the panel trained;
* :func:`measure_link`: while the panel trains, the websocket bytes per second, the frames shown
  per second, the age of the frame on show (the browser stamps each image it shows with the
  moment the kernel took it) and how long "stopped" takes to appear after a Stop click; over the
  local link or a throttled one (DevTools' network emulation).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ..ports import free_port
from ._lab import disable_lab_extensions, jupyter_env, lab_user_settings, start_lab, stop, wait_for_server

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-first-run", "--metrics-recording-only",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]
EPOCH = re.compile(r"epoch\D{0,3}(\d+)", re.IGNORECASE)
#: the slow link of issue 16: 5 Mbit/s down and up, 100 ms latency (DevTools' network emulation)
SLOW_LINK = {"offline": False, "latency": 100, "downloadThroughput": 5e6 / 8, "uploadThroughput": 5e6 / 8}
FAST_LINK = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


class BrowserMissing(RuntimeError):
    """chromium or playwright is not installed here (the message says which and how to get it)."""


def chromium_path() -> str | None:
    if os.environ.get("LRLAB_CHROMIUM"):  # an explicit choice: used only if it exists
        return os.environ["LRLAB_CHROMIUM"] if os.path.exists(os.environ["LRLAB_CHROMIUM"]) else None
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


@contextlib.contextmanager
def lab_in_chromium(viewport: str, workdir: Path | None = None, source: Path | None = None,
                    screenshot_on_error: Path | None = None):
    """A throw-away ``lrlab lab`` (serving the tutorials, or the notebook ``source`` alone) in
    ``workdir`` (default: a temporary folder) and a headless chromium page on it at ``viewport``
    ("WIDTHxHEIGHT"); yields ``(page, port, token)``. Raises :class:`BrowserMissing`."""
    try:
        from playwright import sync_api
    except ImportError:
        raise BrowserMissing("playwright is not installed (pip install playwright)") from None
    chromium = chromium_path()
    if not chromium:
        raise BrowserMissing("chromium is not installed (apt-get install -y chromium)")
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lrlab-browser-")))
        token = "lrlab-browser-" + os.urandom(8).hex()
        env = jupyter_env(workdir, token)
        disable_lab_extensions(env, "@jupyterlab/apputils-extension:announcements")  # no news pop-up
        lab_user_settings(env, "@jupyterlab/notebook-extension:tracker",
                          {"autoStartDefaultKernel": True, "windowingMode": "none"})  # every cell in the DOM
        env.setdefault("OMP_NUM_THREADS", "1")
        if source is not None:
            alone = workdir / "source"
            alone.mkdir()
            shutil.copyfile(source, alone / source.name)
            env["LRLAB_NOTEBOOKS"] = str(alone)
        port = free_port(19888)
        proc = start_lab(workdir, workdir / "work", env, port)
        try:
            wait_for_server(proc, port, token, workdir / "lab.log")
            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                width, height = (int(v) for v in viewport.split("x"))
                page = browser.new_page(viewport={"width": width, "height": height})
                console_errors: list = []
                page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
                try:
                    yield page, port, token
                except BaseException:
                    if screenshot_on_error is not None:
                        page.screenshot(path=str(screenshot_on_error))
                    print("browser console errors:", *console_errors[-20:], sep="\n  ")
                    raise
                finally:
                    browser.close()
        finally:
            stop(proc)


def poll(predicate, timeout: float, interval: float = 0.1):
    """Call ``predicate`` (at least once) until it returns something truthy (returned) or
    ``timeout`` s pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def epochs_in(text: str) -> int | None:
    m = EPOCH.search(text)
    return int(m.group(1)) if m else None


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


def figure_stamp(image) -> float | None:
    """When the kernel took the frame on show (a FrameView's image carries it; else None)."""
    value = image.evaluate("el => (el.tagName === 'IMG' ? el : el.querySelector('img'))?.dataset.stamp || null")
    return float(value) if value not in (None, "", "0") else None


def frames_shown(image) -> int | None:
    """How many frames this view of a FrameView has shown (its image counts them; else None)."""
    value = image.evaluate("el => (el.tagName === 'IMG' ? el : el.querySelector('img'))?.dataset.shown || null")
    return int(value) if value else None


def _kernel_dialog(page):
    """The accept button of JupyterLab's "Select Kernel" dialog if it is on screen now, else None."""
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    return accept.first if accept.count() > 0 and accept.first.is_visible() else None


def accept_kernel_dialog(page, wait_s: float = 10) -> None:
    """JupyterLab may ask which kernel to start ("Select Kernel"): accept the proposed one."""
    button = poll(lambda: _kernel_dialog(page), timeout=wait_s)
    if button:
        button.click()


def open_notebook(page, port: int, token: str, name: str, workspace: str = "lrlab", tries: int = 2) -> None:
    """Open notebook ``name`` in JupyterLab and wait until its kernel is connected and idle. A
    kernel the status bar still calls "Unknown" after a minute is met as a learner would meet it:
    the page is loaded again (``tries`` loads in all). Seen under Python 3.10 with ipykernel 7.3.0,
    which strands requests (tests/test_kernel_messages.py) and which lrlab no longer installs."""
    idle = ("() => /Idle/.test(document.querySelector('.jp-StatusBar-Widget')?.parentElement?.textContent"
            " || '')")  # the status bar names the kernel and says Idle: it is connected
    for attempt in range(1, tries + 1):
        page.goto(f"http://127.0.0.1:{port}/lab/workspaces/{workspace}/tree/{name}?reset&token={token}")
        accept_kernel_dialog(page, wait_s=3)  # a fallback: the settings of lab_in_chromium should prevent it
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
        try:
            page.wait_for_function(idle, timeout=60_000 if attempt < tries else 90_000)
            return
        except Exception as exc:  # playwright's TimeoutError
            if attempt == tries or "Timeout" not in type(exc).__name__:
                raise
            print(f"{name}: the kernel was not connected after 60 s; loading the page again")


#: A run has started: a cell shows ``[*]`` or the toolbar's indicator says busy. (Not "a prompt
#: shows a number": a saved notebook shows its saved counts before anything runs, so a lost click
#: went unnoticed and the wait for the run to end timed out after 300 s.)
STARTED = """() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') === 'busy'
    || [...document.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'))"""


def run_all(page, tries: int = 3) -> int:
    """Run All Cells in the open notebook, clicked again if swallowed, as a learner would (seen
    with ipykernel 7.3.0, see :func:`open_notebook`); returns the clicks it took, once every cell
    has run. Raises RuntimeError when no cell started after ``tries`` clicks."""
    for clicks in range(1, tries + 1):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
        if poll(lambda: accept_kernel_dialog(page, wait_s=0) or page.evaluate(STARTED), timeout=15, interval=0.05):
            break
    else:
        raise RuntimeError(f"Run All Cells: no cell started after {tries} clicks")
    wait_until_all_cells_ran(page, timeout_ms=300_000)
    return clicks


def open_and_run_all(page, port: int, token: str, name: str, workspace: str = "lrlab") -> int:
    """:func:`open_notebook`, then :func:`run_all`; returns the clicks Run All took."""
    open_notebook(page, port, token, name, workspace)
    return run_all(page)


def playground_parts(page) -> dict:
    """The first training panel on the page: ``panel``, its visible ``image`` and ``status``, and
    its ``start`` / ``stop`` buttons (playwright locators)."""
    page.wait_for_selector(".lrlab-figure", state="attached", timeout=120_000)
    outputs = page.locator(".jp-OutputArea-output", has=page.locator(".lrlab-figure"))
    panel = outputs.locator(".lrlab-training-panel").first if page.locator(".lrlab-training-panel").count() \
        else outputs.first
    panel.evaluate("el => el.scrollIntoView({block: 'start'})")
    image = panel.locator(".lrlab-figure").filter(visible=True).first
    image.wait_for(state="visible", timeout=30_000)
    return {"panel": panel, "image": image, "status": panel.locator(".lrlab-status").filter(visible=True).first,
            "start": button(panel, "Start"), "stop": button(panel, "Stop")}


def start_and_wait(parts: dict, timeout: float) -> bool:
    """Click the panel's Start; True once a new frame shows and the status line reports a later
    epoch, within ``timeout`` s (False: the click had no effect)."""
    image, status = parts["image"], parts["status"]
    before, epochs = figure_src(image), epochs_in(status.inner_text()) or 0
    parts["start"].click()
    return bool(poll(lambda: figure_src(image) != before and (epochs_in(status.inner_text()) or 0) > epochs,
                     timeout=timeout))


def long_run(page, panel, epochs: int = 100_000, speed: str | None = None) -> None:
    """Raise the panel's "max epochs" (tab "Run") so that the run is still going when Stop is
    clicked: a small full-batch run can finish its default epochs in a few seconds. ``speed``:
    the label to pick in the Run tab's "speed" dropdown (e.g. "as fast as it can"; None: as it is)."""
    tab = panel.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Run\s*$"))
    if not tab.count():
        return
    tab.first.click()
    field = panel.locator(".widget-text", has=page.locator("label", has_text="max epochs")).locator("input")
    field.first.fill(str(epochs))
    field.first.press("Enter")
    field.first.press("Tab")
    if speed is not None:
        pick(page, panel, "speed", speed)
    panel.locator(".lm-TabBar-tab").first.click()  # back to the first tab


def pick(page, panel, description: str, label: str) -> None:
    """Choose ``label`` in the panel's visible dropdown described as ``description``."""
    box = panel.locator(".widget-dropdown", has=page.locator("label", has_text=description)).filter(visible=True)
    box.locator("select").first.select_option(label=label)


def measure_link(page, parts: dict, seconds: float, link: dict | None = None, warmup: float = 1.5) -> dict:
    """Start the panel; ``warmup`` s after its first frame shows (the first frames are full
    redraws), for ``seconds``: ``kb_per_s`` (websocket bytes
    received), ``frames_per_s`` (new pictures shown), ``lag_median_s`` / ``lag_max_s`` (the age of
    the frame on show, sampled every 50 ms: now minus when the kernel took it); then Stop and
    ``stop_shown_s`` (from the click until the status line says it stopped). ``link``: DevTools'
    network conditions while measuring (e.g. :data:`SLOW_LINK`); the local link afterwards."""
    image, status = parts["image"], parts["status"]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    received = []
    # the payload of a binary frame comes base64-encoded in the DevTools event: its bytes are 3/4 of it
    cdp.on("Network.webSocketFrameReceived", lambda e: received.append(
        len(e["response"]["payloadData"]) * (3 / 4 if e["response"].get("opcode") == 2 else 1)))
    if link is not None:
        cdp.send("Network.emulateNetworkConditions", link)
    try:
        before = figure_src(image)
        parts["start"].click()
        if not poll(lambda: figure_src(image) != before, timeout=60):
            raise RuntimeError("no frame shown after Start")
        time.sleep(warmup)
        received.clear()
        # frames shown: counted by the browser itself (polling the picture from here misses some)
        shown0, last, polled, ages, t0 = frames_shown(image), figure_src(image), 0, [], time.monotonic()
        while time.monotonic() - t0 < seconds:
            now = figure_src(image)
            if now != last:
                polled, last = polled + 1, now
            stamp = figure_stamp(image)
            if stamp is not None:
                ages.append(time.time() - stamp)
            time.sleep(0.05)
        took = time.monotonic() - t0
        shown1 = frames_shown(image)
        shown = shown1 - shown0 if shown0 is not None and shown1 is not None else polled
        kb_per_s, frames_per_s = sum(received) / took / 1024, shown / took
        t1 = time.monotonic()
        parts["stop"].click()
        if not poll(lambda: re.search(r"stop", status.inner_text(), re.IGNORECASE), timeout=60):
            raise RuntimeError(f"'stopped' never shown: {status.inner_text()!r}")
        stop_shown_s = time.monotonic() - t1
    finally:
        if link is not None:
            cdp.send("Network.emulateNetworkConditions", FAST_LINK)
        cdp.detach()
    return {"kb_per_s": kb_per_s, "frames_per_s": frames_per_s, "stop_shown_s": stop_shown_s,
            "lag_median_s": statistics.median(ages) if ages else None, "lag_max_s": max(ages) if ages else None}
