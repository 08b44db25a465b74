"""`mailscope` with no subcommand: open the console (on the seed lab scenario when nothing is configured)."""

from __future__ import annotations

import argparse

from tui.session import SEED_SCENARIO


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailscope", description="The mailscope console. Subcommands: check, lab, logs.")
    parser.add_argument("--scenario", metavar="ID", help=f"open on this lab scenario (default: {SEED_SCENARIO})")
    parser.add_argument("--profile", metavar="NAME", help="open with a saved settings profile instead of the lab")
    parser.add_argument("--log", metavar="FILE", help="replay a client's debug log (JavaMail, MailKit, ...) instead of the lab")
    parser.add_argument("--log-session", metavar="N", type=int, default=1, help="which session of the log (default: 1)")
    parser.add_argument("--run", action="store_true", help="start the session at once")
    parser.add_argument("--light", action="store_true", help="start in the light theme")
    parser.add_argument("--refresh-hz", type=float, default=25,
                        help="how often new lines are drawn (default 25; try 10 over a slow SSH link)")
    parser.add_argument("--export-dir", default=".", help="where reports and screenshots are written (default: .)")
    return parser


def run_console(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from tui.app import LIGHT_THEME, MailscopeApp
    from tui.session import Target

    settings = None
    if args.profile:
        from tui.profiles import load_profile

        try:
            settings = load_profile(args.profile)
        except (OSError, KeyError, ValueError) as error:
            print(f"mailscope: profile {args.profile}: {error}")
            return 2
    if args.log:
        target = Target(log=args.log, log_session=args.log_session)
    elif settings:
        target = Target(settings=settings)
    else:
        target = Target(scenario=args.scenario or SEED_SCENARIO)
    app = MailscopeApp(target, settings=settings, export_dir=args.export_dir, flush_hz=max(1.0, min(args.refresh_hz, 60.0)))
    if args.light:
        app.theme = LIGHT_THEME
    if args.run:
        app.call_after_refresh(app.action_run)
    result = app.run()
    return result if isinstance(result, int) else 0
