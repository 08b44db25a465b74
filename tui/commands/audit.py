"""`mailscope audit MAILBOXES.csv`: every mailbox of a sheet checked in one run, headless.

Each row is one mailbox (column `user`, and optionally host, port, protocol, mechanism, flow, ... for that row; the
check options or `--profile` give the rest). Writes one redacted `mailscope.report/1` record per mailbox to a JSON
Lines file (`-o`, default `MAILBOXES.audit.jsonl`), then prints a summary grouped by finding (text, `--json`, or
`--markdown` for a ticket). `--resume` continues an interrupted audit; Ctrl-C and SIGTERM leave a valid file.
`--lab-fleet N` audits a lab fleet of N mailboxes in-process (`--truth FILE` writes what the lab knows about it).

Exit codes: 0 every mailbox healthy; 1 at least one mailbox failed (or the output could not be written); 2 usage
error (bad options, unreadable CSV, no auditable row, output exists); 3 no failure, but not every mailbox was judged
(rows left out, or still throttled after the last retry); 130 interrupted by Ctrl-C, 143 by SIGTERM (the output holds
every mailbox finished so far).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from tui.commands.common import guarded_diagnoser, internal_error, silence_stdout
from tui.commands.lab_fleet import add_fleet_options, fleet_size, positive

if TYPE_CHECKING:
    from mailscope.audit.plan import AuditPlan
    from mailscope.audit.runner import AuditOptions, Progress
    from mailscope.audit.summary import AuditSummary
    from mailscope.settings import CheckSettings

EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}
_NO_HOST = "host.from.rows.invalid"  # stands in for --host while the base settings are built; rows must then give one


class UsageError(Exception):
    """Bad options or an unusable CSV: message to stderr, exit 2."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 3600")
    return value


def add_parser(subparsers: Any) -> None:
    from tui.commands.check import add_settings_arguments

    p = subparsers.add_parser(
        "audit",
        help="check every mailbox of a CSV sheet (or a lab fleet) and summarize by finding",
        description="Check many mailboxes at once: one redacted report per mailbox (JSON Lines) and a summary grouped by "
        "finding, with who must fix what. Rows give user and optionally host, port, protocol, mechanism, flow, "
        "tenant, client_id, ...; the options below (or --profile) give the rest.",
        epilog="exit codes: 0 all healthy, 1 some failed, 2 usage error, 3 not every mailbox judged (rows left out or still "
        "throttled), 130/143 interrupted (the output is valid; continue with --resume)",
    )
    p.add_argument(
        "mailboxes",
        nargs="?",
        metavar="MAILBOXES.csv",
        help="the sheet: a header row naming the columns, one mailbox per row (or a plain list of addresses)",
    )
    add_settings_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", metavar="FILE", help="JSON Lines output (default: MAILBOXES.audit.jsonl next to the sheet)")
    again = out.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the output: skip the mailboxes already in it")
    again.add_argument("--overwrite", action="store_true", help="replace an existing output")
    shape = out.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print the summary as JSON (mailscope.audit-summary/1)")
    shape.add_argument("--markdown", action="store_true", help="print the summary as Markdown, for a ticket")
    out.add_argument("--no-progress", action="store_true", help="no progress line on stderr (shown only on a terminal anyway)")
    pace = p.add_argument_group("pace")
    pace.add_argument("--concurrency", type=positive, default=32, metavar="N", help="sessions at once (default 32)")
    pace.add_argument("--per-host", type=positive, metavar="N", help="sessions at once to one host (default: --concurrency)")
    pace.add_argument(
        "--max-attempts", type=positive, default=4, metavar="N", help="sign-ins per mailbox while the server throttles (default 4)"
    )
    pace.add_argument("--backoff", type=_seconds, default=1.0, metavar="SECONDS", help="first wait after throttling (default 1)")
    pace.add_argument("--max-backoff", type=_seconds, default=60.0, metavar="SECONDS", help="longest wait (default 60)")
    lab = p.add_argument_group("lab fleet")
    lab.add_argument("--lab-fleet", type=fleet_size, metavar="N", help="audit a lab fleet of N mailboxes, in-process")
    add_fleet_options(lab)
    lab.add_argument("--truth", metavar="FILE", help="write the fleet's truth (JSON) to FILE")


def run(args: argparse.Namespace) -> int:
    from mailscope.audit.output import AuditOutputError
    from mailscope.audit.plan import AuditInputError
    from mailscope.redact import escape_controls

    try:
        return _run(args)
    except (UsageError, AuditInputError) as exc:
        print(f"mailscope audit: error: {escape_controls(str(exc))}", file=sys.stderr)
        return 2
    except AuditOutputError as exc:
        print(f"mailscope audit: error: {escape_controls(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug of ours: one clear line, never a traceback
        return internal_error("audit", exc)


def _run(args: argparse.Namespace) -> int:
    from mailscope.audit import eventloop

    if bool(args.mailboxes) == bool(args.lab_fleet):
        raise UsageError("give a MAILBOXES.csv or --lab-fleet N (one of them)")
    if args.user:
        raise UsageError("--user: an audit takes its users from the sheet (the user column)")
    if args.lab_fleet:
        return eventloop.run(_lab_fleet(args))
    from mailscope.audit.plan import read_csv_file

    plan = _plan(read_csv_file(args.mailboxes), _base_settings(args))
    output = args.output or f"{os.path.splitext(args.mailboxes)[0]}.audit.jsonl"
    if os.path.exists(output) and os.path.samefile(output, args.mailboxes):
        raise UsageError(f"-o {output} is the sheet itself")
    return eventloop.run(_audit(args, plan, output))


def _base_settings(args: argparse.Namespace) -> CheckSettings:
    """The check options (or profile) every row starts from; without --host and profile, the rows must name the host."""
    import dataclasses

    from tui.commands import check

    try:
        if args.host is None and not args.profile:
            return dataclasses.replace(check.settings_from_args(argparse.Namespace(**{**vars(args), "host": _NO_HOST})), host="")
        return check.settings_from_args(args)
    except check.UsageError as exc:
        raise UsageError(str(exc)) from None


def _plan(text: str, base: CheckSettings) -> AuditPlan:
    from mailscope.audit.plan import plan_audit
    from mailscope.redact import escape_controls
    from providers.profiles import parse_secret_source
    from providers.shared_tokens import audit_settings

    plan = plan_audit(text, base, secret_source=parse_secret_source, adapt=audit_settings)
    for error in plan.rejected:
        print(f"mailscope audit: {escape_controls(str(error))}", file=sys.stderr)
    if not plan.items:
        raise UsageError("no row of the sheet can be audited" if plan.rejected else "the sheet names no mailbox")
    return plan


async def _lab_fleet(args: argparse.Namespace) -> int:
    from mailscope.audit.plan import read_csv_file
    from mailscope.lab.fleet import FleetLab
    from tui.commands.lab_fleet import fleet_from_args, write_truth

    try:
        fleet = fleet_from_args(args.lab_fleet, args.seed, args.protocols)
        if args.truth:
            write_truth(fleet, args.truth)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write --truth {args.truth}: {exc.strerror or exc}") from None
    try:
        async with FleetLab(fleet) as lab:
            plan = _plan(read_csv_file(lab.mailboxes_csv), lab.settings)
            return await _audit(args, plan, args.output or f"lab-fleet-{fleet.size}-seed-{fleet.seed}.audit.jsonl")
    except LookupError as exc:  # a protocol whose lab server this build does not have
        raise UsageError(str(exc)) from None


async def _audit(args: argparse.Namespace, plan: AuditPlan, output_path: str) -> int:
    """Run the plan into the output, then print the summary of the whole output file."""
    import asyncio
    import gc
    import signal

    from mailscope.audit.output import AuditOutput, read_records
    from mailscope.audit.runner import run_audit
    from mailscope.audit.summary import MailboxResult, summarize
    from providers.shared_tokens import AuditCredentials

    results = [MailboxResult.from_record(record) for record in read_records(output_path)] if args.resume else []
    done = {result.key for result in results}
    todo = [item for item in plan.items if item.key not in done]
    output = AuditOutput(output_path, resume=args.resume, overwrite=args.overwrite)

    def emit(record: dict[str, Any]) -> None:
        output.append(record)
        results.append(MailboxResult.from_record(record))

    printer = _ProgressLine(enabled=not args.no_progress and sys.stderr.isatty())
    gc.freeze()  # the engine, the plan and the earlier results live as long as the audit: no collection need walk them
    # Each session allocates thousands of short-lived objects and no cycle (a finished session is freed by reference
    # counting: tests/mailscope/probe/test_release.py): a young-generation collection every 700 allocations (the
    # default) walked the sessions in flight about 200 times per 1,000 mailboxes and found nothing to free. One every
    # 100,000 still bounds what a rare cycle (an unforeseen path, a library's) can hold; 1,000 lab mailboxes need none.
    gc.set_threshold(100_000, 10, 10)
    task = asyncio.ensure_future(
        run_audit(todo, AuditCredentials(), guarded_diagnoser(), emit, options=_options(args), on_progress=printer.show)
    )
    stopped_by: list[str] = []
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda name=signum.name: (stopped_by.append(name), task.cancel()))
    elapsed = None
    try:
        elapsed = (await task).elapsed
    except asyncio.CancelledError:
        if not stopped_by:
            raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        printer.clear()  # first: closing writes what is pending, and a full disk must not leave the progress line behind
        output.close()
    summary = summarize(results, rejected=plan.rejected, elapsed=elapsed, audited_now=output.written, interrupted=bool(stopped_by))
    _print_summary(args, summary, output_path)
    return EXIT_INTERRUPTED[stopped_by[0]] if stopped_by else summary.exit_code


def _options(args: argparse.Namespace) -> AuditOptions:
    from mailscope.audit.runner import AuditOptions

    return AuditOptions(
        concurrency=args.concurrency,
        per_host=args.per_host,
        max_attempts=args.max_attempts,
        backoff=args.backoff,
        max_backoff=max(args.max_backoff, args.backoff),
    )


def _print_summary(args: argparse.Namespace, summary: AuditSummary, output_path: str) -> None:
    from mailscope.audit.summary import summary_markdown, summary_text

    try:
        if args.json:
            print(json.dumps({**summary.to_json(), "output": output_path}, indent=2, ensure_ascii=True))
        elif args.markdown:
            print(summary_markdown(summary, output=output_path), end="")
        else:
            print(summary_text(summary, output=output_path))
            print(f"\nrecords: {output_path}")
        sys.stdout.flush()
    except BrokenPipeError:  # `mailscope audit ... | head`: the reader left
        silence_stdout()


class _ProgressLine:
    """`123/1000 mailboxes  96/s  ETA 0:09  4 failed  2 retries` on stderr, redrawn at most ten times a second."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._last = 0.0

    def show(self, progress: Progress) -> None:
        if not self.enabled or (progress.elapsed - self._last < 0.1 and progress.done < progress.total):
            return
        self._last = progress.elapsed
        eta = progress.eta
        when = f"{int(eta) // 60}:{int(eta) % 60:02d}" if eta is not None else "?"
        line = (
            f"{progress.done}/{progress.total} mailboxes  {progress.rate:.0f}/s  ETA {when}  {progress.failed} failed  "
            f"{progress.retries} retries"
        )
        sys.stderr.write(f"\r\x1b[K{line}")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled and self._last:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
