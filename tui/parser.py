"""The argparse parser of `mailscope` and its subcommands (`tui.cli` imports it once the garbage collector is off)."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from typing import Any

from tui.cli import COMMANDS


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, told the help width: argparse makes a formatter for every option it adds and imports
    shutil to ask for the width each time, and shutil brings zlib, bz2 and lzma (a few ms of every start)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _help_width() if width is None else width)


@functools.cache
def _help_width() -> int:
    """What argparse uses, as shutil.get_terminal_size() finds it: $COLUMNS, else the terminal on stdout, else 80; minus 2."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns - 2


class _Parser(argparse.ArgumentParser):
    """The parser of `mailscope` and of every subcommand (add_subparsers makes its parsers of the parent's class)."""

    def __init__(self, *args: Any, formatter_class: type[argparse.HelpFormatter] = _HelpFormatter, **kwargs: Any) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` just that subcommand's: a headless command must not pay for
    importing the others (start-up time is part of `mailscope check`'s wall time)."""
    parser = _Parser(
        prog="mailscope",
        description="Find out why OAuth2 sign-in to a mail server fails. Without a subcommand, opens the console.",
    )
    if only is None:  # `mailscope --help` lists the console's options too
        from tui.console import add_console_arguments

        add_console_arguments(parser.add_argument_group("console options (no subcommand)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"tui.commands.{module}").add_parser(sub)
    return parser
