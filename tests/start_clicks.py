"""Does the first Start click after Run All train, in fresh kernels? A developer's count, run
in a real browser as tests/test_browser.py does (chromium and playwright needed):

    python tests/start_clicks.py [kernels]      # default 12

For each fresh kernel: open 05_playground.ipynb, Run All, click Start on the first training
panel, and wait up to 30 s for a new frame and a later epoch; a lost click is clicked once more.
Then the kernel is shut down and the next one starts. It prints one row per kernel and the count
of lost clicks, with the Python and ipykernel that ran them (the environment of the python that
runs this script). tests/test_kernel_messages.py is the quick check of the cause it found:
ipykernel 7.0-7.3 strands requests.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

from lrlab.bench._browser import (lab_in_chromium, long_run, open_notebook, playground_parts, poll, run_all,
                                  start_and_wait)

NOTEBOOK = "05_playground.ipynb"
#: how long a Start click gets to show a new frame and a later epoch
START_S = 30.0


def shut_down_kernels(port: int, token: str) -> None:
    base = f"http://127.0.0.1:{port}/api/sessions"
    for s in json.load(urllib.request.urlopen(f"{base}?token={token}")):
        urllib.request.urlopen(urllib.request.Request(f"{base}/{s['id']}?token={token}", method="DELETE"))


def main(kernels: int) -> int:
    print(f"Python {sys.version.split()[0]}, ipykernel {version('ipykernel')}: "
          f"the first Start click after Run All of {NOTEBOOK}, in {kernels} fresh kernels", flush=True)
    lost = 0
    with tempfile.TemporaryDirectory(prefix="lrlab-clicks-") as work, \
            lab_in_chromium("1400x1000", workdir=Path(work)) as (page, port, token):
        for k in range(1, kernels + 1):
            t0 = time.monotonic()
            try:
                open_notebook(page, port, token, NOTEBOOK)
                run_all(page)
                parts = playground_parts(page)
                long_run(page, parts["panel"])
                first = start_and_wait(parts, START_S)
                row = "trained" if first else ("LOST; a second click: "
                                               + ("trained" if start_and_wait(parts, START_S) else "LOST too"))
                parts["stop"].click()
                poll(lambda: "stop" in parts["status"].inner_text().lower(), timeout=20)
            except Exception as exc:  # noqa: BLE001 - a kernel that never got that far is a row too
                first, row = False, f"LOST before Start: {str(exc).splitlines()[0][:120]}"
            lost += not first
            print(f"  kernel {k}: {row}  ({time.monotonic() - t0:.0f} s)", flush=True)
            shut_down_kernels(port, token)
            time.sleep(1.0)
    print(f"lost: {lost} of {kernels}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 12))
