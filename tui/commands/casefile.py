"""Case files on the command line: `mailscope logs CASEFILE` shows a saved session's diagnosis as it was (text, or
`--json` the case again), `mailscope check --save FILE` and `mailscope logs --save FILE` write one, `mailscope diff`
reads two. A case file is untrusted input: a bad one is a usage error (exit 2) in one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, TYPE_CHECKING

from tui.commands.common import silence_stdout

if TYPE_CHECKING:
    from mailscope.casefile import Case
    from mailscope.record import SessionRecord

_SIDE = {"client": "C:", "server": "S:", "info": "* "}


def load_case(path: str, command: str, err: IO[str]) -> Case | None:
    """The case at `path`, or None after saying on `err` why it cannot be reopened."""
    from mailscope.casefile import CaseFileError, read_case

    try:
        return read_case(path)
    except CaseFileError as exc:
        print(f"mailscope {command}: {exc}", file=err)
        return None


def save(record: SessionRecord, path: str, command: str) -> bool:
    """Write the case file; False after saying on stderr why it could not be written."""
    from mailscope.casefile import save_case
    from mailscope.redact import escape_controls

    try:
        save_case(record, path)
    except OSError as exc:
        reason = str(exc) if exc.strerror is None else exc.strerror
        print(f"mailscope {command}: --save {escape_controls(path)}: cannot write the case file: {reason}", file=sys.stderr)
        return False
    return True


def show_case(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """`mailscope logs CASEFILE`: the saved session as it was, judged at its saved time; exit code as `check` gave."""
    from mailscope.report import EXIT_USAGE, exit_code

    case = load_case(args.path, "logs", err)
    if case is None:
        return EXIT_USAGE
    try:
        return _show(case, args.json, out)
    except BrokenPipeError:  # `mailscope logs case.json | head`: the reader left
        silence_stdout()
        return exit_code(case.record)


def _show(case: Case, as_json: bool, out: IO[str]) -> int:
    from mailscope.diff import mailbox_user
    from mailscope.report import exit_code
    from tui.commands.check import print_result

    record = case.record
    if as_json:
        out.write(json.dumps(case.report(), indent=2, ensure_ascii=True) + "\n")
        return exit_code(record)
    evidence, when = record.evidence, record.judged_at()
    out.write(f"{case.name}: mailscope case file, saved {case.generated_at or 'at an unknown time'} by mailscope "
              f"{case.tool_version or '(unknown version)'}\n")  # fmt: skip
    out.write(f"mailbox: {mailbox_user(record) or '(no user)'} {evidence.protocol} {evidence.host}:{evidence.port} ({evidence.security})\n")
    out.write(f"judged at {when.stated or 'an unknown time'} ({when.source}: {when.detail}); as saved, never re-judged at today's clock\n")
    for line in record.lines:
        notes = f"    [{'; '.join(line.annotations)}]" if line.annotations else ""
        out.write(f"{line.seq:>5} {_SIDE.get(str(line.direction), '  ')} {line.text}{notes}\n")
    out.flush()
    return print_result(argparse.Namespace(json=False), record)
