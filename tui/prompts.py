"""Modal dialogs for sign-in prompts: the device code and URL big enough to read off a shared screen or a
projector, and the paste-back of a redirect URL."""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Input, Static

from mailscope.events import DeviceCodePrompt, PasteBackPrompt
from tui.bigtext import big
from tui.commands.signin import clock
from tui.dialog import Dialog


def spaced(code: str) -> str:
    """'ABCD-EFGH' -> 'A B C D - E F G H': letter-spaced so nobody misreads it across a room."""
    return " ".join(code)


class DeviceCodeScreen(Dialog[None]):
    DEFAULT_CSS = """
    DeviceCodeScreen { align: center middle; }
    DeviceCodeScreen > Vertical { width: 76; max-width: 100%; height: auto; border: double $accent; background: $panel; padding: 1 2; }
    DeviceCodeScreen #code { text-align: center; text-style: bold; color: $text; background: $accent 40%;
                             border: heavy $accent; padding: 0 0; margin: 1 0 0 0; }
    DeviceCodeScreen #code-plain { text-align: center; text-style: bold; margin: 0 0 1 0; }
    DeviceCodeScreen #url { text-align: center; text-style: bold underline; color: $accent; }
    DeviceCodeScreen .dim { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "dismiss_prompt", "Hide"), Binding("c", "copy_code", "Copy code"),
                Binding("x", "app.stop", "Stop session", show=False)]

    def __init__(self, prompt: DeviceCodePrompt) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Sign in on any device: open", classes="dim")
            yield Static(Text(self.prompt.verification_uri), id="url")
            yield Static("and enter the code", classes="dim")
            code = self.prompt.user_code
            large = big(code) if len(code) <= 16 else None
            yield Static(Text(large or spaced(code)), id="code")
            if large:
                yield Static(Text(spaced(code)), id="code-plain")
            minutes = max(1, self.prompt.expires_in // 60)
            yield Static(f"The code expires in about {minutes} min. This dialog closes by itself once you have signed in. "
                         "Esc hides it; c copies the code.", classes="dim")

    def action_dismiss_prompt(self) -> None:
        self.dismiss(None)

    def action_copy_code(self) -> None:
        self.app.copy_to_clipboard(self.prompt.user_code)
        self.notify("Code copied")


class PasteField(Input):
    """The pasted redirect URL. While it is empty, `x` belongs to the dialog (stop the session), not to the text."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if key == "x" and not self.value:
            return False
        return super().check_consume_key(key, character)


class PasteBackScreen(Dialog[str | None]):
    """Shows the authorisation URL and how long the sign-in has been awaited. The browser's redirect to the
    loopback listener closes it by itself (the prompt's future is done); or the user pastes the URL the browser
    ended on. `x` stops the session at once, Esc hides the dialog (the redirect can still finish the sign-in)."""

    DEFAULT_CSS = """
    PasteBackScreen { align: center middle; }
    PasteBackScreen > Vertical { width: 90%; height: auto; border: double $accent; background: $panel; padding: 1 2; }
    PasteBackScreen #url { text-style: bold; color: $accent; margin: 1 0; }
    PasteBackScreen #waiting { text-style: bold; margin: 1 0 0 0; }
    PasteBackScreen .dim { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Hide"), Binding("x", "app.stop", "Stop session", priority=True)]

    def __init__(self, prompt: PasteBackPrompt) -> None:
        super().__init__()
        self.prompt = prompt
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("1. Open this address in a browser and sign in:", classes="dim")
            yield Static(Text(self.prompt.authorization_url), id="url")
            yield Static(f"2. A browser on this machine is sent back to {self.prompt.redirect_uri} and this dialog closes by "
                         "itself. Elsewhere (SSH), the browser then fails to load that address: copy it and paste it here:",
                         classes="dim")
            yield PasteField(placeholder=f"{self.prompt.redirect_uri}?code=…", id="pasted", password=True)
            yield Button("Continue", id="ok", variant="primary")
            yield Static(self.waiting_text(), id="waiting")

    def on_mount(self) -> None:
        self._ticker = self.set_interval(0.25, self._tick)

    def waiting_text(self) -> Text:
        elapsed = time.monotonic() - self.started
        limit = f" · gives up in {clock(self.prompt.timeout - elapsed, round_up=True)}" if self.prompt.timeout else ""
        return Text(f"Waiting for the sign-in: {clock(elapsed)}{limit}   x stops the session · Esc hides this dialog")

    def _tick(self) -> None:
        answer = self.prompt.answer
        if isinstance(answer, asyncio.Future) and answer.done():
            self._ticker.stop()
            self.dismiss(None)  # the redirect arrived, or the wait ended: nothing left to paste
            return
        self.query_one("#waiting", Static).update(self.waiting_text())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one("#pasted", Input).value.strip() or None)

    def on_paste(self, event: events.Paste) -> None:
        """A paste while the field is not focused still lands in it."""
        text = event.text.strip()
        if text:
            field = self.query_one("#pasted", Input)
            field.insert_text_at_cursor(text.splitlines()[0])
            field.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
