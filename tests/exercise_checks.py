"""What the exercise tests share (tests/test_exercises_nNN.py)."""
import re

from lrlab import exercises


def gives_away(key: str, words) -> list:
    """The ``words`` (numbers or words, each matched whole, case ignored) that exercise ``key``'s
    hint contains: a hint must name none of its answer's."""
    hint = exercises.exercises()[key].hint
    return [w for w in words
            if re.search(rf"(?<![\w.]){re.escape(str(w))}(?![\w]|\.\d)", hint, flags=re.IGNORECASE)]


def answer_tests(keys, right_answer, wrong):
    """The two tests every notebook's exercises get: the answer computed from lrlab is accepted
    (``right_answer(key)``), and each plausible wrong one (``wrong[key]``) is refused. Assign them
    to module-level ``test_...`` names."""
    import pytest

    @pytest.mark.parametrize("key", list(keys))
    def accepted(key):
        assert exercises.check(key, right_answer(key), quiet=True)

    @pytest.mark.parametrize("key", sorted(wrong))
    def refused(key):
        for answer in wrong[key]:
            assert not exercises.check(key, answer, quiet=True), (key, answer)

    return accepted, refused
