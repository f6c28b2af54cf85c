#!/usr/bin/env python
"""Open tutorial notebooks in JupyterLab in headless chromium at a laptop's size (1366 x 768, the
file browser open: a notebook is then ~934 px wide), look at them before running (pictures, not repr
lines), run all cells, and measure every lrlab panel from the DOM: its height, texts under 12 px,
and each figure's drawn vs shown width. Screenshots go to artifacts/panels/.

    .venv/bin/python scripts/measure_panels.py            # every notebook
    .venv/bin/python scripts/measure_panels.py 02 04      # notebooks whose names contain these

Needs chromium and playwright (the test extras), as tests/test_browser.py.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from lab_server import disable_lab_extensions, jupyter_env, lab_user_settings, start_lab, stop, wait_for_server  # noqa: E402
from test_browser import CHROMIUM_ARGS, TEXT_SIZES, chromium_path, wait_until_all_cells_ran  # noqa: E402

from lrlab.cli.lab import free_port  # noqa: E402


def main(names) -> None:
    from playwright import sync_api
    tmp = Path(tempfile.mkdtemp())
    token = "m" + os.urandom(6).hex()
    env = jupyter_env(tmp, token)
    disable_lab_extensions(env, "@jupyterlab/apputils-extension:announcements")
    lab_user_settings(env, "@jupyterlab/notebook-extension:tracker",
                      {"autoStartDefaultKernel": True, "windowingMode": "none"})
    env.setdefault("OMP_NUM_THREADS", "1")
    port = free_port(19888)
    proc = start_lab(tmp, tmp / "work", env, port)
    out = REPO / "artifacts" / "panels"
    out.mkdir(parents=True, exist_ok=True)
    try:
        wait_for_server(proc, port, token, tmp / "lab.log")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
                if names and not any(n in nb.name for n in names):
                    continue
                page.goto(f"http://127.0.0.1:{port}/lab/workspaces/m{nb.stem[:2]}/tree/{nb.name}?reset&token={token}")
                page.wait_for_selector(".jp-Notebook", timeout=90_000)
                time.sleep(4)
                imgs = page.evaluate("() => document.querySelectorAll('.jp-OutputArea-output img').length")
                reprs = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                                      ".map(o => o.innerText).filter(t => /^[A-Za-z]+\\(children=/.test(t)).length")
                print(f"{nb.name}: before running: {imgs} images, {reprs} repr lines", flush=True)
                page.screenshot(path=str(out / f"{nb.stem}_before.png"))
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
                time.sleep(1)
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
                time.sleep(3)
                wait_until_all_cells_ran(page, 300_000)
                time.sleep(2)
                outs = page.locator(".jp-OutputArea-output", has=page.locator(".lrlab-figure"))
                for i in range(outs.count()):
                    o = outs.nth(i)
                    o.evaluate("el => el.scrollIntoView({block: 'start'})")
                    h = o.evaluate("el => el.getBoundingClientRect().height")
                    w = o.evaluate("el => el.getBoundingClientRect().width")
                    small = sorted({(round(s, 1), t) for s, t in o.evaluate(TEXT_SIZES) if s < 12})
                    figs = o.evaluate("el => [...el.querySelectorAll('img')].filter(i => i.getBoundingClientRect()"
                                      ".width > 0).map(i => [i.naturalWidth, Math.round(i.getBoundingClientRect().width)])")
                    print(f"  panel {i}: {w:.0f} x {h:.0f} px; texts < 12 px: {small[:6]}; "
                          f"figures drawn/shown px: {figs}", flush=True)
                    o.screenshot(path=str(out / f"{nb.stem}_panel{i}.png"))
                page.goto("about:blank")
            browser.close()
    finally:
        stop(proc)


if __name__ == "__main__":
    main(sys.argv[1:])
