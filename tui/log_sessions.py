"""The session switcher for a replayed log (`--log FILE` with several sessions): one line per session, as
`mailscope logs` lists them; Enter replays the highlighted one into the panes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.dialog import Dialog


class LogSessionsScreen(Dialog[int | None]):
    DEFAULT_CSS = """
    LogSessionsScreen { align: center middle; }
    LogSessionsScreen > Vertical { width: 110; max-width: 100%; height: auto; max-height: 90%; border: double $accent;
                                   background: $panel; padding: 0 1; }
    LogSessionsScreen OptionList { height: auto; max-height: 20; border: none; }
    LogSessionsScreen #log-title { text-style: bold; padding: 1 0 0 0; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close", id="log_sessions_close")]

    def __init__(self, name: str, sessions: list[tuple[int, str]], current: int) -> None:
        super().__init__()
        self.log_name = name
        self.sessions = sessions
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"{self.log_name}: {len(self.sessions)} session(s). Enter replays one, Esc closes."), id="log-title")
            options = [Option(Text(("▶ " if index == self.current else "  ") + label), id=str(index)) for index, label in self.sessions]
            yield OptionList(*options, id="log-sessions")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        indexes = [index for index, _ in self.sessions]
        if self.current in indexes:
            options.highlighted = indexes.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.sessions[event.option_index][0])
