"""Property-based attack: every door lrlab opens to the outside answers hostile input with a
result or a one-line message naming the field, within a memory cap and a time cap.

The attack itself is ``tests/hostile_fuzz.py``; it runs in its own process because the
memory cap (``resource.setrlimit(RLIMIT_AS)``) would bind the whole test session. Set
``LRLAB_FUZZ_EXAMPLES`` to try more inputs (the note in the README reports a long run).
"""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)


@pytest.mark.slow
def test_hostile_inputs_get_one_line_answers_within_memory_and_time():
    examples = int(os.environ.get("LRLAB_FUZZ_EXAMPLES", "150"))
    out = subprocess.run([sys.executable, os.path.join(HERE, "hostile_fuzz.py"), "--examples", str(examples),
                          "--memory-mb", "2048"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "LRLAB_THREADS": "1"})
    assert out.returncode == 0, (out.stdout[-3000:] + out.stderr[-6000:])
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["inputs"]["cli"] >= examples and report["inputs"]["share"] >= 3 * examples, report
    assert report["total"] >= 9 * examples, report
    print(report)
