"""Command line entry point: `mailscope` opens the console; subcommands run headless.

Imports are lazy: `mailscope check` with a static token must not import Textual, msal or google-auth.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

# subcommand -> module under tui.commands exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {"check": "check", "lab": "lab", "logs": "logs", "cache": "cache", "train": "train", "audit": "audit"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` just that subcommand's: a headless command must not pay for
    importing the others (start-up time is part of `mailscope check`'s wall time)."""
    parser = argparse.ArgumentParser(
        prog="mailscope",
        description="Find out why OAuth2 sign-in to a mail server fails. Without a subcommand, opens the console.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"tui.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        from tui.console import run_console  # Textual only here

        return run_console(argv)
    gc.disable()  # start-up creates modules, classes and tables that live as long as the process: nothing to collect
    try:
        parser = build_parser(only=argv[0] if argv[0] in COMMANDS else None)
        args = parser.parse_args(argv)
        module = importlib.import_module(f"tui.commands.{COMMANDS[args.command]}")
    finally:
        gc.freeze()  # ... and no later collection walks them again
        gc.enable()
    try:
        return module.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
