"""Numbers in the panels' text: one helper (lrlab.widgets.text), never "-0.0000"."""
import math

import numpy as np
import pytest
import torch

from lrlab.widgets.text import lr_range_text, lr_text, num, pct, vec


@pytest.mark.parametrize("spec,shown", [(".4f", "0.0000"), (".3f", "0.000"), (".1f", "0.0"), (".0f", "0"),
                                        (".2e", "-1.00e-09"), (".0e", "-1e-09"), (".4g", "-1e-09"), ("g", "-1e-09")])
def test_tiny_negative_numbers_never_read_as_negative_zero(spec, shown):
    assert num(-1e-9, spec) == shown
    assert num(np.float32(-1e-9), spec) == shown
    assert num(torch.tensor(-1e-9, dtype=torch.float64), spec) == shown


def test_num_keeps_every_other_number_as_format_does():
    for x in (-0.5, -1e-3, 0.0, 1e-9, 123.456, -123.456, 1e12, -7):
        for spec in (".4f", ".4g", ".3g", ".2e", "g"):
            assert num(x, spec) == format(x, spec)
    assert num(-0.0) == "0" and num(-0.0, ".4f") == "0.0000"
    assert num(-math.inf) == "-inf" and num(math.inf) == "inf" and num(math.nan) == "nan"
    assert num(None) == "—"


def test_percentages_vectors_and_learning_rates():
    assert pct(-1e-9) == "0.0 %" and pct(0.9876) == "98.8 %" and pct(-0.5) == "-50.0 %"
    assert pct(None) == pct(math.nan) == pct(math.inf) == "—"
    assert vec(torch.tensor([[-1e-9, 0.5], [-0.25, 0.0]])) == "[0.000, 0.500, -0.250, 0.000]"
    assert vec([-1e-9, 1.0], ".1f") == "[0.0, 1.0]"
    assert [lr_text(x) for x in (1e-5, 1e-4, 0.0316227766, 1.0, 10.0, 100.0)] == [
        "1e-05", "0.0001", "0.0316", "1", "10", "100"]
    assert lr_range_text(1e-4, 10) == "0.0001 – 10"


def test_the_panels_format_numbers_through_the_helper():
    """No widget module formats a number by itself (an f-string like {x:.4f} may print -0.0000)."""
    import pathlib
    import re

    import lrlab.widgets
    folder = pathlib.Path(lrlab.widgets.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "text.py":
            continue
        found = re.findall(r"\{[^{}:]+:[-+ ]?,?[0-9]*\.?[0-9]*[efgEFG%]\}", path.read_text())
        assert not found, f"{path.name}: {found}"
