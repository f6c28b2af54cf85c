#!/usr/bin/env python
"""Open tutorial notebooks in JupyterLab in headless chromium at a laptop's size (1366 x 768, the
file browser open: a notebook is then ~934 px wide), look at them before running (pictures, not repr
lines), run all cells, and measure every lrlab panel from the DOM: its size, texts under 12 px, and
each figure's drawn vs shown width (tests/test_browser.py's measure_notebook, which the browser test
asserts on). Screenshots go to artifacts/panels/.

    .venv/bin/python scripts/measure_panels.py            # every notebook
    .venv/bin/python scripts/measure_panels.py 02 04      # notebooks whose names contain these

Needs chromium and playwright (the test extras), as tests/test_browser.py.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_browser import LAPTOP, measure_notebook  # noqa: E402

from lrlab.bench._browser import lab_in_chromium  # noqa: E402


def main(names) -> None:
    out = REPO / "artifacts" / "panels"
    out.mkdir(parents=True, exist_ok=True)
    with lab_in_chromium(LAPTOP) as (page, port, token):
        for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
            if names and not any(n in nb.name for n in names):
                continue
            seen = measure_notebook(page, port, token, nb.name, out)
            b = seen["before"]
            print(f"{nb.name}: before running: {b['pictures']} pictures, {b['repr_lines']} repr lines, "
                  f"{b['widget_errors']} widget errors", flush=True)
            for i, p in enumerate(seen["panels"]):
                print(f"  panel {i}: {p['width']:.0f} x {p['height']:.0f} px; texts < 12 px: {p['small_texts'][:6]}; "
                      f"figures drawn/shown px: {p['figures']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
