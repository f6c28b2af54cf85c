"""The README's promises: two set-up commands first, and every comparison row backed by a real test."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_exactly_two_commands_and_ci_runs_the_second():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block and README.index(block.group(0)) < 200
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("lrlab lab") and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_every_comparison_row_names_tests_that_exist():
    table = README.split("## lrlab vs TensorFlow Playground vs ConvNetJS", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Feature")
            and not line.startswith("|---")]
    assert len(rows) >= 30
    for row in rows:
        lrlab_cell = row.replace("\\|", "").split("|")[2]
        refs = re.findall(r"tests/(test_\w+)\.py::(test_\w+)", lrlab_cell)
        assert refs, f"row without a backing test: {row[:80]}"
        for module, name in refs:
            source = (ROOT / "tests" / f"{module}.py").read_text()
            assert re.search(rf"^\s*(async )?def {name}\(", source, re.M), f"{module}.py has no {name}"


def test_reliability_limits_table_equals_lrlab_limits():
    from lrlab import limits
    table = README.split("**Size limits**", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(MAX_\w+)` \| (\d+) \|", table, re.M)
    assert len(rows) >= 15
    for name, value in rows:
        assert getattr(limits, name) == int(value), f"README says {name} = {value}, lrlab.limits says otherwise"
    documented = {name for name, _ in rows}
    missing = [n for n in dir(limits) if n.startswith("MAX_") and n not in documented and n != "MAX_SEED"]
    assert not missing, f"limits not in the README table: {missing}"
