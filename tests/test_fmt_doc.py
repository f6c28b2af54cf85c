"""lrlab.fmt.doc: a docstring shown to learners reads the same on every Python (3.13 strips the
indentation of docstrings when it compiles them) and without reStructuredText markup."""
import inspect

from lrlab import fmt, optim, schedules


def test_the_same_text_whether_or_not_the_compiler_stripped_the_indentation():
    for obj in (schedules.cosine, optim.OPTIMIZERS["adam"].step, optim.adam_textbook):
        as_310 = obj.__doc__
        lines = inspect.cleandoc(as_310).splitlines()
        as_313 = "\n".join(lines[:1] + ["    " + line if line else line for line in lines[1:]])  # re-indented
        stripped = inspect.cleandoc(as_310)  # what 3.13 stores
        assert fmt.doc(as_310) == fmt.doc(as_313) == fmt.doc(stripped) == fmt.doc(obj)


def test_markup_is_taken_off_and_the_formula_kept():
    text = fmt.doc(optim.OPTIMIZERS["adam"].step)
    assert "``" not in text and ":func:" not in text
    assert "theta  <- theta - lr * m_hat / (sqrt(v_hat) + eps)" in text
    assert fmt.doc("A (torch ``X``)::\n\n        f(x)\n    see it.") == "A (torch X):\n\n    f(x)\nsee it."
    assert fmt.doc(None) == "" and fmt.doc("") == ""
