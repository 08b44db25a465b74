"""The console's views. Each view is a Textual *mode* with its own screen, built the first time it is shown and
kept for the rest of the run: leave Settings and come back, and every field is as you left it; the Lab picker
keeps its highlight; the Token view its scroll. Enter and leave any view, any number of times, in any order.

A new view (Paste, Exercise, Audit...) is one `View` entry here, one `ViewScreen` subclass, and one
`view_<id>` command in tui/keys.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from widgets.diagnosis import DiagnosisPane
from widgets.transcript import Transcript

if TYPE_CHECKING:
    from tui.app import MailscopeApp


class StatusBar(Static):
    """One line on every view: target, state, and the badges (presenter mode, TLS verification off)."""

    def on_mount(self) -> None:
        self.watch(self.app, "status", self._show, init=True)

    def _show(self, status: tuple[Text, str]) -> None:
        text, kind = status
        self.update(text)
        for state in ("running", "failed", "ok"):
            self.set_class(kind == state, f"-{state}")


class NavBar(Static):
    """The views, clickable, the current one marked: a one-row stand-in for tabs that costs nothing at startup."""

    DEFAULT_CSS = "NavBar { height: 1; padding: 0 1; background: $panel; color: $text-muted; }"

    def __init__(self, current: str) -> None:
        super().__init__(id="navbar")
        self.current = current

    def on_mount(self) -> None:
        app: MailscopeApp = self.app  # type: ignore[assignment]
        parts = []
        for view in VIEWS:
            style = "bold reverse" if view.id == self.current else "underline"
            key = app.key_display(f"view_{view.id}")
            parts.append(f"[{style}][@click=app.show_view('{view.id}')] {view.title} [/][/] [dim]{key}[/]")
        self.update(Text.from_markup("   ".join(parts)))


class KeyBar(Static):
    """The footer: the table's footer commands with the user's keymap applied. A plain line, drawn once per view:
    Textual's Footer recomposes itself on every focus change, the costliest thing this console did."""

    DEFAULT_CSS = "KeyBar { dock: bottom; height: 1; padding: 0 1; background: $footer-background; color: $footer-foreground; }"

    def on_mount(self) -> None:
        from tui.keys import COMMANDS

        app: MailscopeApp = self.app  # type: ignore[assignment]
        key = "[b $footer-key-foreground][@click=app.{action}]{key}[/][/] {label}"
        parts = [key.format(action=c.action, key=app.key_display(c.id).split(" / ")[0], label=c.label) for c in COMMANDS if c.footer]
        parts.append(key.format(action="command_palette", key=app.key_display("command_palette", "ctrl+p"), label="palette"))
        self.update(Content.from_markup("  ".join(parts)))


class ViewScreen(Screen):
    """A view: status bar, the views bar, the view's own body, the footer."""

    VIEW = ""
    FOCUS = ""  # what gets focus the first time the view opens (later: whatever had it when the user left)
    ready = False  # set once the body is mounted: before that the app neither pushes state nor sends keys to it

    def compose(self) -> ComposeResult:
        # The breakpoint class set before the first layout: a resize restyling every widget costs start-up time.
        wide = self.app.size.width >= 120
        self.set_class(not wide, "-narrow").set_class(wide, "-wide")
        yield StatusBar(id="status-bar")
        yield NavBar(self.VIEW)
        yield from self.body()
        yield KeyBar()

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.ready = True
        self.sync()
        if self.FOCUS:
            self.query_one(self.FOCUS).focus()

    def sync(self) -> None:
        """Hands the body what the app learnt while the view was being built (it read the app's state at compose)."""

    @property
    def console(self) -> MailscopeApp:
        return self.app  # type: ignore[return-value]


class SessionScreen(ViewScreen):
    VIEW = "session"

    def body(self) -> ComposeResult:
        app = self.console
        with Horizontal(id="session"):
            with Vertical(id="transcript-column") as column:
                column.border_title = "Transcript"
                transcript = Transcript(id="transcript", mask=app.mask, flush_hz=app.flush_hz)
                transcript.placeholder = (f"Nothing yet. r runs {app.target.describe()}; l picks another lab scenario; "
                                          "s opens the settings for a live server; ? lists every key.")
                yield transcript
                yield Input(placeholder="filter: show lines containing…  (Enter keeps it, Esc clears)", id="filter")
                yield Static("", id="line-detail")
            pane = DiagnosisPane(id="diagnosis", mask=app.mask)
            pane.border_title = "Diagnosis"
            yield pane

    def on_mount(self) -> None:
        self.query_one(Transcript).focus()


class TokenScreen(ViewScreen):
    VIEW, FOCUS = "token", "#claims"

    def body(self) -> ComposeResult:
        from widgets.token import TokenInspector

        app = self.console
        yield TokenInspector(id="token", clock=app.evidence_clock, token=app.token, highlighted=app.claim_highlight,
                             presenter=app.presenter, mask=app.mask)

    def sync(self) -> None:
        from widgets.token import TokenInspector

        inspector = self.query_one(TokenInspector)
        inspector.presenter = self.console.presenter
        inspector.show(self.console.token, highlighted=self.console.claim_highlight)


class SettingsScreen(ViewScreen):
    VIEW, FOCUS = "settings", "#preset"

    def body(self) -> ComposeResult:
        from widgets.settings import SettingsPane

        app = self.console
        yield SettingsPane(id="settings", initial=app.initial_settings, presenter=app.presenter)

    def sync(self) -> None:
        from widgets.settings import SettingsPane

        self.query_one(SettingsPane).set_presenter(self.console.presenter)


class LabScreen(ViewScreen):
    VIEW, FOCUS = "lab", "#scenarios"

    def body(self) -> ComposeResult:
        from widgets.lab_picker import LabPicker

        app = self.console
        yield LabPicker(app.scenarios, current=app.target.scenario, id="lab")


class PasteScreen(ViewScreen):
    VIEW, FOCUS = "paste", "#paste-input"

    def body(self) -> ComposeResult:
        from tui.textual_fixes import apply_text_area
        from widgets.paste import PasteView

        apply_text_area()
        app = self.console
        yield PasteView(id="paste", mask=app.mask, presenter=app.presenter)

    def sync(self) -> None:
        from widgets.paste import PasteView

        self.query_one(PasteView).set_presenter(self.console.presenter)


class ExerciseScreen(ViewScreen):
    """Its own status row: the console's names the session view's finding, which an exercise must not show."""

    VIEW, FOCUS = "exercise", "#exercise-source"
    DEFAULT_CSS = "ExerciseScreen > #status-bar { display: none; }"

    def body(self) -> ComposeResult:
        from tui.exercise_view import ExerciseView

        yield ExerciseView(id="exercise", mask=self.console.mask)

    @property
    def conceals(self) -> bool:
        """An exercise waits for its answer: nothing on this screen (the palette included) may name a cause."""
        return any(view.conceals for view in self.query("#exercise").results())


class AuditScreen(ViewScreen):
    VIEW, FOCUS = "audit", "#audit-source"

    def body(self) -> ComposeResult:
        from tui.audit_view import AuditView

        yield AuditView(id="audit", reports_dir=self.console.export_dir, mask=self.console.mask, presenter=self.console.presenter)

    def sync(self) -> None:
        from tui.audit_view import AuditView

        self.query_one(AuditView).set_presenter(self.console.presenter)


@dataclass(frozen=True, slots=True)
class View:
    id: str
    title: str
    screen: type[ViewScreen]


VIEWS: tuple[View, ...] = (
    View("session", "Session", SessionScreen),
    View("token", "Token", TokenScreen),
    View("settings", "Settings", SettingsScreen),
    View("lab", "Lab", LabScreen),
    View("paste", "Paste", PasteScreen),
    View("exercise", "Exercise", ExerciseScreen),
    View("audit", "Audit", AuditScreen),
)
