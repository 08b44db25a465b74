"""`mailscope` with no subcommand: open the console (on the seed lab scenario when nothing is configured).

Every option is checked before the UI starts, as the headless commands do: a wrong scenario, an unreadable
or session-less log, a session the log lacks, a refresh rate of 0 or an unknown profile end with exit 2 and one
clear line, never an app that fails only after `r`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tui.session import SEED_SCENARIO

MAX_REFRESH_HZ = 60.0


def _refresh_hz(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= MAX_REFRESH_HZ:
        raise argparse.ArgumentTypeError(f"{text} is out of range: use a rate above 0 and at most {MAX_REFRESH_HZ:g} per second")
    return value


def _session_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a session number (1, 2, ...)")
    return int(text)


def add_console_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The console's options: on `mailscope`'s own parser, and listed by `mailscope --help`."""
    source = parser.add_mutually_exclusive_group() if isinstance(parser, argparse.ArgumentParser) else parser
    source.add_argument("--scenario", metavar="ID", help=f"open on this lab scenario (default: {SEED_SCENARIO}; `mailscope lab list`)")
    source.add_argument("--profile", metavar="NAME", help="open with a saved settings profile instead of the lab")
    source.add_argument("--log", metavar="FILE", help="replay a client's debug log (JavaMail, MailKit, ...) instead of the lab")
    source.add_argument("--open", metavar="FILE", help="reopen a saved case file (check --save, the console's export) as it was")
    parser.add_argument("--log-session", metavar="N", type=_session_number, default=1,
                        help="which session of the log (default: 1; n switches in the console)")
    parser.add_argument("--run", action="store_true", help="start the session at once")
    parser.add_argument("--light", action="store_true", help="start in the light theme")
    parser.add_argument("--presenter", action="store_true", help="start in presenter mode (identifiers masked)")
    parser.add_argument("--refresh-hz", metavar="HZ", type=_refresh_hz, default=25.0,
                        help="how often new lines are drawn (default 25, at most 60; try 10 over a slow SSH link)")
    parser.add_argument("--export-dir", metavar="DIR",
                        help="where reports and screenshots go (default: $XDG_DATA_HOME/mailscope/reports)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailscope", description="The mailscope console. Subcommands: check, lab, logs.")
    add_console_arguments(parser)
    return parser


def run_console(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from tui.app import LIGHT_THEME, MailscopeApp
    from tui.keys import KeymapError, load_keymap
    from tui.session import Target, scan_log

    settings = None
    log_sessions = None
    if args.scenario:
        _check_scenario(parser, args.scenario)
    if args.profile:
        from providers.profiles import ProfileError
        from tui.profiles import load_profile

        try:
            settings = load_profile(args.profile)
        except (ProfileError, OSError, KeyError, ValueError) as error:
            parser.error(f"--profile {args.profile}: {error}")
    if args.log_session != 1 and not args.log:
        parser.error("--log-session needs --log FILE")
    if args.log:
        log_sessions = _check_log(parser, args.log, args.log_session, scan_log)
    if args.open:
        from mailscope.casefile import CaseFileError, read_case

        try:
            read_case(args.open)
        except CaseFileError as error:
            parser.error(f"--open: {error}")
    if args.export_dir and Path(args.export_dir).exists() and not Path(args.export_dir).is_dir():
        parser.error(f"--export-dir {args.export_dir}: exists and is not a directory")
    try:
        keymap = load_keymap()
    except KeymapError as error:
        parser.error(f"keymap: {error}")
    if args.open:
        target = Target(case=args.open)
    elif args.log:
        target = Target(log=args.log, log_session=args.log_session)
    elif settings:
        target = Target(settings=settings)
    else:
        target = Target(scenario=args.scenario or SEED_SCENARIO)
    app = MailscopeApp(target, settings=settings, export_dir=args.export_dir, flush_hz=args.refresh_hz, keymap=keymap,
                       log_sessions=log_sessions, run_at_start=args.run or bool(args.open),
                       presenter_at_start=args.presenter)
    if args.light:
        app.theme = LIGHT_THEME
    result = app.run()
    return result if isinstance(result, int) else 0


def _check_scenario(parser: argparse.ArgumentParser, scenario_id: str) -> None:
    from tui.session import lab_scenarios

    known = [s.id for s in lab_scenarios()]
    if scenario_id not in known:
        import difflib

        close = difflib.get_close_matches(scenario_id, known, n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        parser.error(f"--scenario {scenario_id}: no such lab scenario; {hint}`mailscope lab list` shows all {len(known)}")


def _check_log(parser: argparse.ArgumentParser, path: str, wanted: int, scan_log) -> tuple[tuple[int, str], ...]:
    from mailscope.redact import escape_controls

    shown = escape_controls(path, keep_newlines=False)
    if not os.path.exists(path):
        parser.error(f"--log {shown}: no such file")
    if os.path.isdir(path):
        parser.error(f"--log {shown}: a directory, not a log file")
    try:
        contents = scan_log(path)
    except OSError as error:
        parser.error(f"--log {shown}: cannot read it: {error.strerror or error}")
    if not contents.sessions:
        why = f" ({contents.notes[0]})" if contents.notes else ""
        parser.error(f"--log {shown}: no mail session found in it{why}")
    indexes = [index for index, _ in contents.sessions]
    if wanted not in indexes:
        parser.error(f"--log-session {wanted}: {Path(shown).name} has {len(indexes)} session(s) (1-{max(indexes)})")
    return contents.sessions
