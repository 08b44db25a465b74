"""Command line entry point: `mailscope` opens the console; subcommands run headless.

Imports are lazy: `mailscope check` with a static token must not import Textual, msal or google-auth.
"""

from __future__ import annotations

import gc
import importlib
import sys

# subcommand -> module under tui.commands exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {"check": "check", "lab": "lab", "logs": "logs", "cache": "cache", "train": "train", "audit": "audit", "diff": "diff"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        from mailscope import codecache

        codecache.install()  # before any module with dataclasses is imported
        from tui.console import run_console  # Textual only here

        return run_console(argv)
    # Start-up creates modules, classes and tables that live as long as the process: nothing to collect. Off before
    # anything else is imported: a collection every 700 new objects cost a check ~1 ms.
    gc.disable()
    try:
        from mailscope import codecache

        codecache.install(part=argv[0] if argv[0] in COMMANDS else "")  # before any module with dataclasses is imported
        from tui.parser import build_parser

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
    finally:
        gc.freeze()  # the command is over: the collection at exit need not walk all it made (~1 ms of a check)


if __name__ == "__main__":
    sys.exit(main())
