"""The help screen (`?` / F1): every key, grouped, from the same command table as the footer and the palette,
with the user's keymap applied, plus the keys the transcript and the Paste view bind themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.dialog import Dialog
from tui.keys import COMMANDS, widget_bindings

if TYPE_CHECKING:
    from tui.app import MailscopeApp


def key_groups(display: Callable[[str, str], str]) -> dict[str, list[tuple[str, str, str]]]:
    """Section -> (keys as `display(binding id, default keys)` shows them, what it does, binding id): the help
    screen and the README's keys table."""
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for command in COMMANDS:
        groups.setdefault(command.group, []).append((display(command.id, command.keys), command.help, command.id))
    for section, found in widget_bindings().items():
        groups[section] = [(display(b.id or "", b.key), b.description, b.id or "") for b in found]
    groups.setdefault("Anywhere", []).append((display("command_palette", "ctrl+p"),
                                              "Command palette: every command and every lab scenario by name", ""))
    return groups


def help_table(app: MailscopeApp) -> Table:
    """Key, what it does, and the binding id a keymap file names."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    table.add_column(no_wrap=True, style="dim")
    groups = key_groups(app.key_display)
    for group, rows in groups.items():
        table.add_row(Text(group, style="bold underline"), "", "")
        for row in rows:
            table.add_row(*row)
        table.add_row("", "", "")
    return table


def markdown_keys() -> str:
    """The README's keys table (default keys): `python -m tui.help` prints it; tests/tui/test_readme.py keeps the
    README in step with tui/keys.py."""
    from textual.keys import format_key

    def display(_binding_id: str, keys: str) -> str:
        return " ".join(f"`{format_key(key.strip())}`" for key in keys.split(","))

    lines = ["| key | what it does | binding id |", "|---|---|---|"]
    for group, rows in key_groups(display).items():
        lines.append(f"| **{group}** | | |")
        lines += [f"| {keys} | {what} | {f'`{binding_id}`' if binding_id else ''} |" for keys, what, binding_id in rows]
    return "\n".join(lines) + "\n"


class HelpScreen(Dialog[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 100%; height: auto; max-height: 100%; border: double $accent;
                                  background: $panel; padding: 0 2; }
    HelpScreen #help-title { text-style: bold; padding: 1 0; }
    """
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close", id="help_close")]

    def compose(self) -> ComposeResult:
        app: MailscopeApp = self.app  # type: ignore[assignment]
        with VerticalScroll():
            yield Static("mailscope keys. Remap one by its id (right column) in ~/.config/mailscope/keymap.toml, "
                         'e.g. run = "ctrl+r". Esc closes.', id="help-title")
            yield Static(help_table(app), id="help-keys")


if __name__ == "__main__":
    print(markdown_keys(), end="")
