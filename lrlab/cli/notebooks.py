"""``lrlab notebooks --student DIR --teacher DIR``: the tutorials as a learner's copy (each
exercise's solution cell replaced by a cell asking for the answer) and as the teacher's copy (with
the solutions), from the same source (:func:`lrlab.notebooks.write_versions`)."""
from __future__ import annotations

HELP = "write the tutorials as learners' copies (no solutions) and teachers' copies (with them)"


def add_arguments(parser) -> None:
    parser.add_argument("--student", metavar="DIR", default=None, help="folder for the learners' copies")
    parser.add_argument("--teacher", metavar="DIR", default=None, help="folder for the teachers' copies")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks already there")


def run(args) -> int:
    from ..notebooks import write_versions
    try:
        written = write_versions(args.student, args.teacher, force=args.force)
    except FileNotFoundError as exc:
        raise ValueError(f"notebooks: {exc}") from None
    for path in written:
        print(path)
    return 0
