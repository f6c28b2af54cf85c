"""A learner's copy and a teacher's copy of the tutorials from one source: solution cells (tagged
``solution``) are left out of the learner's copy, a cell asking for the answer in their place;
every exercise the package knows is solved in its notebook, and every solution checks a known
exercise."""
import contextlib
import io
import json
import re
import zlib
from pathlib import Path

import pytest

from lrlab import exercises, notebooks
from lrlab.cli import main

REPO = Path(__file__).resolve().parents[1]


def _nb(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(source, tags=()):
    return {"cell_type": "code", "execution_count": 1, "id": f"c{zlib.crc32(source.encode()):08x}",
            "metadata": {"tags": list(tags)}, "outputs": [{"output_type": "stream", "name": "stdout",
                                                          "text": "right: 42\n"}], "source": source}


def _source_folder(tmp_path):
    src = tmp_path / "orig"
    src.mkdir()
    nb = _nb([{"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "**Exercise.** How many?"},
              _code('answer = 6 * 7\nlrlab.exercises.check("00-1", answer)', tags=["solution"]),
              _code("x = 1")])
    (src / "00_demo.ipynb").write_text(json.dumps(nb))
    return src


def test_the_learners_copy_asks_for_the_answer_and_the_teachers_keeps_it(tmp_path):
    src = _source_folder(tmp_path)
    written = notebooks.write_versions(tmp_path / "student", tmp_path / "teacher", source=src)
    assert sorted(p.parent.name for p in written) == ["student", "teacher"]
    assert (tmp_path / "teacher" / "00_demo.ipynb").read_bytes() == (src / "00_demo.ipynb").read_bytes()
    student = json.loads((tmp_path / "student" / "00_demo.ipynb").read_text())
    cells = student["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "code"]
    asked = "".join(cells[1]["source"])
    assert "6 * 7" not in asked and "42" not in json.dumps(cells[1]["outputs"])  # neither the solution nor its output
    assert 'lrlab.exercises.check("00-1", ...)' in asked and cells[1]["metadata"]["tags"] == ["answer"]
    assert cells[2]["source"] == "x = 1" and cells[2]["outputs"]  # everything else as it was
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(asked, {})  # the learner runs it before answering: a hint, not an error
    assert out.getvalue().startswith("not yet: ")


def test_lrlab_lab_copies_are_learners_copies(tmp_path):
    src = _source_folder(tmp_path)
    notebooks.copy_notebooks(tmp_path / "work", source=src)
    cells = json.loads((tmp_path / "work" / "00_demo.ipynb").read_text())["cells"]
    assert not any(notebooks.is_solution(c) for c in cells) and "6 * 7" not in json.dumps(cells)


def test_the_command_refuses_what_would_lose_work(tmp_path, capsys):
    assert main(["notebooks"]) == 2
    assert "give at least one folder" in capsys.readouterr().err
    assert main(["notebooks", "--student", str(tmp_path / "s")]) == 0
    assert main(["notebooks", "--student", str(tmp_path / "s")]) == 2  # a learner's edits are not overwritten
    assert "exists" in capsys.readouterr().err
    assert main(["notebooks", "--student", str(tmp_path / "s"), "--force"]) == 0
    assert main(["notebooks", "--teacher", str(notebooks.notebooks_dir())]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["notebooks", "--teacher", str(tmp_path / "file")]) == 2


def _solution_keys(path):
    keys = []
    for cell in json.loads(path.read_text())["cells"]:
        if notebooks.is_solution(cell):
            found = re.findall(r"""check\(\s*["']([0-9]{2}-[0-9]+)["']""", "".join(cell["source"]))
            assert found, f"{path.name}: a solution cell that checks no exercise"
            keys += found
    return keys


def test_every_exercise_is_solved_in_its_notebook_and_every_solution_checks_a_known_one():
    known = exercises.exercises()
    solved = {}
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for key in _solution_keys(path):
            assert key in known, f"{path.name} checks an exercise lrlab does not know: {key}"
            assert key.split("-")[0] == path.name[:2], f"{path.name} checks {key}, another notebook's"
            solved.setdefault(key, []).append(path.name)
    unsolved = sorted(set(known) - set(solved))
    assert not unsolved, f"exercises without a solution cell in their notebook: {unsolved}"
    twice = {k: v for k, v in solved.items() if len(v) > 1}
    assert not twice, twice


def test_a_check_never_raises_and_hints_do_not_give_the_answer_away():
    for key, ex in exercises.exercises().items():
        assert ex.hint and ex.question and ex.solution
        for odd in (None, "", "zzz", [], float("nan"), object()):
            assert exercises.check(key, odd, quiet=True) in (True, False)
    assert exercises.check("99-9", 1, quiet=True) is False
    assert exercises.check(None, 1, quiet=True) is False
    with pytest.raises(ValueError, match="twice"):
        exercises.register(exercises.Exercise("00-1", "q", lambda a: True, "h", "s"))
