"""`mailscope diff A B`: what changed between two case files of one mailbox ("before and after the fix"): settings,
the token's decisive claims, how the session went, the outcome, the findings resolved, appeared or still there.

Exit 0: the same outcome and findings; 1: the diagnosis changed (as diff(1): differences found); 2: a file cannot be
reopened (usage error). Engine: mailscope/diff.py; the files are read as untrusted input by mailscope/casefile.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

from tui.commands.common import internal_error, silence_stdout


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff",
        help="compare two case files of one mailbox (before and after a fix)",
        description="Compare two saved sessions (`mailscope check --save FILE`, the console's JSON export, `mailscope check "
        "--json`): settings, token claims (scope, audience, user, tenant, expiry), mechanism, outcome and findings.",
    )
    p.add_argument("before", metavar="A", help="the earlier case file (e.g. the failing run)")
    p.add_argument("after", metavar="B", help="the later case file (e.g. the run after the fix)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON (mailscope.diff/1)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args, sys.stdout, sys.stderr)
    except Exception as exc:  # a bug of ours: one clear line, never a traceback
        return internal_error("diff", exc)


def _run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from mailscope.diff import diff_records
    from mailscope.report import EXIT_USAGE
    from tui.commands.casefile import load_case

    before, after = load_case(args.before, "diff", err), load_case(args.after, "diff", err)
    if before is None or after is None:
        return EXIT_USAGE
    result = diff_records(before.record, after.record)
    code = 1 if result.diagnosis_changed else 0
    try:
        if args.json:
            report = result.to_json() | {"before_file": before.name, "after_file": after.name}
            out.write(json.dumps(report, indent=2, ensure_ascii=True) + "\n")
        else:
            out.write(render(result, before.name, after.name))
        out.flush()
    except BrokenPipeError:  # `mailscope diff a b | head`
        silence_stdout()
    return code


def render(result: Any, before_name: str, after_name: str) -> str:
    """The comparison as text; every value passes escape_controls once more (it came from files anyone may edit)."""
    from mailscope.redact import escape_controls as esc

    a, b = result.before, result.after
    out = []
    for label, name, side in (("before", before_name, a), ("after ", after_name, b)):
        when = side.judged_at
        out.append(f"{label}: {esc(name)}: {esc(side.user) or '(no user)'} {esc(side.protocol)} {esc(side.host)}:{side.port}, "
                   f"judged at {esc(when.stated) or 'an unknown time'} ({when.source})")  # fmt: skip
    if not result.same_mailbox:
        out.append("note: these are not the same mailbox (user, protocol or host differ): the comparison may not show a fix")
    out.append(f"outcome: {a.outcome} (exit {a.exit_code}) -> {b.outcome} (exit {b.exit_code})" if result.outcome_changed
               else f"outcome: {a.outcome} (exit {a.exit_code}), unchanged")  # fmt: skip
    for title, changes in (("settings", result.settings), ("token", result.token), ("session", result.session)):
        if title == "settings" and not (a.typed and b.typed):
            which = "neither session has them" if a.typed == b.typed else f"only the {'after' if b.typed else 'before'} session has them"
            out.append(f"\nsettings: {which} (a session imported from a log has none)")
        elif title == "token" and a.token != b.token:
            out.append(f"\ntoken: {esc(a.token)} -> {esc(b.token)}")
        else:
            out.append(f"\n{title}:" if changes else f"\n{title}: unchanged")
        out += [f"  {esc(change.name)}: {_change_text(change, esc)}" for change in changes]
    out.append("\nfindings:" if result.findings else "\nfindings: none in either")
    for finding in result.findings:
        level = finding.severity.upper() + ("" if (finding.confirmed_after if finding.status != "resolved" else finding.confirmed_before)
                                            else "?")  # fmt: skip
        out.append(f"  {finding.status:<9} {level:<8} {esc(finding.id)}: {esc(finding.title)}")
    return "\n".join(out) + "\n"


def _change_text(change: Any, esc: Any) -> str:
    """`before -> after`; a list that kept some items also says which went and which came (`-Mail.Read +IMAP...`)."""
    swapped = change.before.split() == list(change.removed) and change.after.split() == list(change.added)
    if (change.removed or change.added) and not (swapped and len(change.removed) <= 1 and len(change.added) <= 1):
        parts = [f"-{esc(item)}" for item in change.removed] + [f"+{esc(item)}" for item in change.added]
        return f"{esc(change.before) or '(none)'} -> {esc(change.after) or '(none)'}  ({' '.join(parts)})"
    return f"{esc(change.before) or '(none)'} -> {esc(change.after) or '(none)'}"
