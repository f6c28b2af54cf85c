"""What the exercise tests share (tests/test_exercises_nNN.py)."""
import re

from lrlab import exercises


def gives_away(key: str, words) -> list:
    """The ``words`` (numbers or words, each matched whole, case ignored) that exercise ``key``'s
    hint contains: a hint must name none of its answer's."""
    hint = exercises.exercises()[key].hint
    return [w for w in words
            if re.search(rf"(?<![\w.]){re.escape(str(w))}(?![\w]|\.\d)", hint, flags=re.IGNORECASE)]
