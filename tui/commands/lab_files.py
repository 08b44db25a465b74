"""`mailscope lab validate FILE|DIR...`: checks scenario, course and answer files without running them. Prints every
problem as FILE:LINE: KEY: MESSAGE; exit 0 when all are valid, 2 otherwise."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_validate_parser(sub: Any) -> None:
    validate = sub.add_parser("validate", help="check scenario, course and answer files without running them",
                              description="Check mailscope.scenario/1, mailscope.course/1 and mailscope.answers/1 files: unknown "
                                          "keys, unknown finding ids or server keys, impossible combinations. Exit 0 valid, 2 not.")
    validate.add_argument("paths", nargs="+", metavar="FILE", help="files, or directories of *.toml files")
    validate.add_argument("--json", action="store_true", help="machine-readable result")


def run_validate(args: argparse.Namespace) -> int:
    from mailscope.redact import escape_controls
    from mailscope.training.files import check_paths

    checked = check_paths(args.paths)
    if args.json:
        print(json.dumps([{"file": c.path, "kind": c.kind or None, "name": c.name or None, "valid": not c.problems,
                           "problems": [{"line": p.line, "key": p.key, "message": p.message} for p in c.problems]} for c in checked],
                         indent=2))
    else:
        for c in checked:
            if c.problems:
                print("\n".join(escape_controls(str(problem)) for problem in c.problems))
            else:
                print(escape_controls(f"{c.path}: valid {c.kind} {c.name!r}"))
    if not checked:
        print("mailscope lab validate: no *.toml file found", file=sys.stderr)
        return 2
    return 2 if any(c.problems for c in checked) else 0
