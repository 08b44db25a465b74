"""The help screen (`?` / F1): every key, grouped, from the same command table as the footer and the palette,
with the user's keymap applied, plus the keys the transcript and the Paste view bind themselves."""

from __future__ import annotations

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


def help_table(app: MailscopeApp) -> Table:
    """Key, what it does, and the binding id a keymap file names."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    table.add_column(no_wrap=True, style="dim")
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for command in COMMANDS:
        groups.setdefault(command.group, []).append((app.key_display(command.id), command.help, command.id))
    for section, found in widget_bindings().items():
        groups[section] = [(app.key_display(b.id or "", b.key), b.description, b.id or "") for b in found]
    groups.setdefault("Anywhere", []).append((app.key_display("command_palette", "ctrl+p"),
                                              "Command palette: every command and every lab scenario by name", ""))
    for group, rows in groups.items():
        table.add_row(Text(group, style="bold underline"), "", "")
        for row in rows:
            table.add_row(*row)
        table.add_row("", "", "")
    return table


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
