"""`mailscope logs PATH|-`: diagnose the mail sessions in a client's debug log (JavaMail/Jira, Python imaplib/smtplib/
poplib, MailKit, imapflow/node-imap, Thunderbird, email-oauth2-proxy, Postfix with sasl-xoauth2, curl -v, C:/S:
transcripts, or anything else via the generic parser; plain, gzip-compressed or UTF-16).

Text in no client format at all (a pasted excerpt, a lone server line, an exception that quotes the server) is read
by the generic/fragment importer: every line a server or client writes is diagnosed.

Exit 0: every session authenticated and reached its mailbox; 1: a cause found (a confirmed error finding); 2: usage
error (missing file, unknown format); 3: a session failed but the evidence only supports unconfirmed candidates (each
says what would decide); 4: no mail session found. (mailscope.report's EXIT_* constants; README "Exit codes".)
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import IO, Any

from mailscope.logs.detect import FORMATS
from tui.commands.common import guarded_diagnoser, internal_error, silence_stdout

MAX_SESSION_LINES = 40  # session rows printed in text mode; --json lists them all


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "logs",
        help="diagnose the mail sessions in a client's debug log",
        description="Find every mail session in a log (a file, or - for stdin), rebuild it with secrets redacted, "
        "and diagnose it. A failure repeated in many sessions is reported once, with a count.",
    )
    p.add_argument("path", metavar="PATH", help="log file, or - to read standard input")
    p.add_argument("--format", default="auto", choices=("auto", *FORMATS), help="log format (default: detect)")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    p.add_argument(
        "--full-scan",
        action="store_true",
        help="in a large log, look at every mail-looking line, not only those near an AUTH line (slower)",
    )
    p.add_argument("--session", type=int, metavar="N", help="also show session N's rebuilt, redacted transcript and its diagnosis")
    p.add_argument("--save", metavar="FILE", help="write session N (or the only session) as a case file: `mailscope logs FILE` reopens it")


def run(args: argparse.Namespace, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    try:
        return _run(args, stdout or sys.stdout, stderr or sys.stderr)
    except Exception as exc:  # a parser or report bug on some odd log: one redacted line, never a traceback
        return internal_error("logs", exc)


def _run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from mailscope.casefile import looks_like_case
    from mailscope.logs import LogScan, LogSummary, replay
    from mailscope.logs.diagnose import diagnosed, no_session_note
    from mailscope.record import SessionRecord
    from mailscope.redact import escape_controls
    from mailscope.report import EXIT_UNDECIDED, EXIT_USAGE, build_report, findings_of
    from providers.inspect import inspect_token  # local decoding only: the provider rules load with the diagnosis

    save = getattr(args, "save", None)  # `run` is called with hand-built arguments too (tests) that predate --save
    if args.path != "-" and looks_like_case(args.path):  # mailscope's own case file: shown as it was saved
        from tui.commands.casefile import show_case

        return show_case(args, out, err)
    try:
        stream = sys.stdin.buffer if args.path == "-" else open(args.path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        print(f"mailscope logs: no such file: {escape_controls(args.path)}", file=err)
        return EXIT_USAGE
    except IsADirectoryError:
        print(f"mailscope logs: {escape_controls(args.path)} is a directory, not a log file", file=err)
        return EXIT_USAGE
    except OSError as exc:
        print(f"mailscope logs: cannot read {escape_controls(args.path)}: {exc.strerror}", file=err)
        return EXIT_USAGE
    diagnoser = guarded_diagnoser()
    # Claims of tokens the log leaked (curl -v, Postfix debug) take part in the diagnosis, as a live token's do.
    inspect = functools.partial(inspect_token, source="imported log", flow="unknown (seen in a log)")
    summary = LogSummary()
    shown: SessionRecord | None = None
    scan = LogScan(stream, args.format, full_scan=args.full_scan)
    try:
        for item in diagnosed(scan, diagnoser=diagnoser, inspect_token=inspect):  # identical sessions are diagnosed once
            summary.add(item.session, item.record, item.findings)
            if item.session.index == (args.session if args.session is not None else 1 if save else None):
                shown = SessionRecord(diagnoser=diagnoser)  # its own replay: the shared one carries another's positions
                replay(item.session, shown, inspect_token=inspect)
    except (OSError, EOFError) as exc:
        print(f"mailscope logs: read error in {escape_controls(args.path)}: {getattr(exc, 'strerror', None) or exc}", file=err)
        return EXIT_USAGE
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if args.session is not None and shown is None:
        print(f"mailscope logs: no session #{args.session} in this log ({summary.sessions} found)", file=err)
        return EXIT_USAGE
    if save:
        if args.session is None and summary.sessions != 1 or shown is None:
            print(f"mailscope logs: --save writes one session: this log has {summary.sessions}; pick one with --session N", file=err)
            return EXIT_USAGE
        from tui.commands.casefile import save as save_case_file

        if not save_case_file(shown, save, "logs"):
            return EXIT_USAGE
        shown = shown if args.session is not None else None  # saved, not shown unless asked for
    notes = list(scan.notes)
    if summary.sessions == 0:
        notes.append(no_session_note(scan.format))
    elif summary.exit_code == EXIT_UNDECIDED:
        notes.append("no cause could be confirmed from this evidence alone: the candidates above are ranked, and each says "
                     "what would decide it (exit code 3)")
    try:
        if args.json:
            report = _report(args.path, scan, summary, notes)
            if shown is not None:
                report["session_detail"] = build_report(shown)  # the shape of `mailscope check --json`
            out.write(json.dumps(report, indent=2, ensure_ascii=True) + "\n")  # one write: json.dump writes per token
        else:
            _print_text(out, escape_controls(args.path), scan, summary, notes)
            if shown is not None:
                _print_session(out, args.session, shown, findings_of(shown))
        out.flush()
    except BrokenPipeError:  # `mailscope logs big.log | head`: the reader left, nothing more to say
        silence_stdout()
    return summary.exit_code


def _report(path: str, scan: Any, summary: Any, notes: list[str]) -> dict[str, Any]:
    from mailscope.redact import escape_controls
    from mailscope.report import to_plain  # the rows hold stored, already redacted evidence: no second redaction

    findings = summary.findings()
    return {
        "schema": "mailscope.logs/1",
        "source": escape_controls(path),
        "format": scan.format,
        "read": {
            "bytes": scan.stats.bytes_read,
            "lines": scan.stats.lines_seen if not scan.stats.anchored else None,
            "anchored": scan.stats.anchored,
            "positions": scan.stats.position_unit,
        },
        "notes": notes,
        "summary": {
            "sessions": summary.sessions,
            "healthy": summary.healthy,
            "outcomes": summary.outcomes,
            "top": findings[0].id if findings else None,
            "top_confirmed": findings[0].confirmed if findings else None,
            "exit_code": summary.exit_code,
        },
        "evidence_time": {  # what time-dependent checks judged at: each session's own evidence, never today's clock
            "sources": summary.time_sources,
            "first": summary.first_judged.stated if summary.first_judged else None,
            "last": summary.last_judged.stated if summary.last_judged else None,
        },
        "findings": [to_plain(f) | {"sessions": summary.sessions_with(f.id)[:100]} for f in findings],
        "sessions": [to_plain(row) for row in summary.rows_in_log_order()],
        "sessions_listed": len(summary.rows),
    }


def _print_session(out: IO[str], index: int, record: Any, findings: tuple[Any, ...]) -> None:
    w = out.write
    w(f"\nSession #{index}, rebuilt from the log (secrets redacted):\n")
    when = record.judged_at()
    w(f"  judged at {when.stated or 'an unknown time'} ({when.source}): {when.detail}\n")
    for line in record.lines:
        side = {"client": "C:", "server": "S:"}.get(str(line.direction), " *")
        notes = f"   [{'; '.join(line.annotations)}]" if line.annotations else ""
        w(f"  {line.seq:>4} {line.t:8.3f}s {side} {line.text}{notes}\n")
    w(f"  outcome: {record.outcome.kind}: {record.outcome.summary}\n" if record.outcome else "")
    for finding in findings:
        cited = f" (lines {', '.join(map(str, finding.cited_lines))})" if finding.cited_lines else ""
        w(f"  {label(finding):8} {finding.id}{cited}: {finding.title}{'' if finding.confirmed else ' (unconfirmed candidate)'}\n")
        for step in finding.decide:
            w(f"           to decide: {step}\n")


def _reference_time(summary: Any) -> str:
    """One line: what the time-dependent checks judged at, and where it came from."""
    first, last = summary.first_judged, summary.last_judged
    if summary.sessions == 1 and first is not None:
        return f"reference time: {first.stated} ({first.source}: {first.detail}); never today's clock"
    if first is None:
        return "reference time: unknown (no timestamps, server time, Date: header or token time); expiry is never judged at today's clock"
    sources = ", ".join(f"{source} {count}" for source, count in summary.time_sources.items())
    return f"reference time: each session's own evidence, never today's clock (sources: {sources}); {first.stated} to {last.stated}"


def label(finding: Any) -> str:
    """The severity as text output shows it: `ERROR` when the evidence proves it, `ERROR?` for an unconfirmed candidate."""
    return finding.severity.upper() + ("" if finding.confirmed else "?")


def _print_text(out: IO[str], path: str, scan: Any, summary: Any, notes: list[str]) -> None:
    from mailscope.report import EXIT_UNDECIDED

    w = out.write
    size = f"{scan.stats.lines_seen:,} lines" if not scan.stats.anchored else f"{scan.stats.bytes_read / 1e6:,.0f} MB"
    w(f"{path}: {scan.format} log, {size}, {summary.sessions} mail session(s), {summary.healthy} healthy\n")
    if summary.sessions:
        w(f"{_reference_time(summary)}\n")
    rows = summary.rows_in_log_order()
    shown = rows if len(rows) <= MAX_SESSION_LINES else rows[: MAX_SESSION_LINES - 5] + rows[-5:]
    for i, row in enumerate(shown):
        if len(rows) > MAX_SESSION_LINES and i == MAX_SESSION_LINES - 5:
            w(f"  ... {len(rows) - MAX_SESSION_LINES} more session(s); --json lists all\n")
        target = f"{row.host}:{row.port}" if row.port else row.host or "?"
        lines = f"{row.position_unit}s {row.first_line}-{row.last_line}" if row.first_line is not None else ""
        top = f" -> {row.findings[0]}" + (" (undecided)" if row.exit_code == EXIT_UNDECIDED else "") if row.findings else ""
        w(f"  #{row.index:<4} {row.where:<26} {lines:<16} {row.protocol} {target} {row.user} {row.mechanism or '-'}: {row.outcome}{top}\n")
    findings = summary.findings()
    if findings:
        w("\nFindings across the log (most important first):\n")
    for f in findings:
        seen = f"first {f.first_seen}, last {f.last_seen}" if f.count > 1 else f"seen {f.first_seen}"
        status = "" if f.confirmed else "  unconfirmed candidate"
        w(f"\n{label(f):8} {f.id}  x{f.count} session(s) ({seen}){status}\n")
        w(f"        {f.title}\n")
        if f.explanation:
            w(f"        {f.explanation}\n")
        w(f"        who fixes it: {f.owner}\n")
        for step in f.fix:
            w(f"        fix: {step}\n")
        for step in f.decide:
            w(f"        to decide: {step}\n")
        for link in f.links[:3]:
            w(f"        see: {link}\n")
    for note in notes:
        w(f"\nnote: {note}\n")
