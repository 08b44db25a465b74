"""Modal dialogs for sign-in prompts: the device code and URL big enough to read off a shared screen or a
projector, and the paste-back of a redirect URL."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Input, Static

from mailscope.events import DeviceCodePrompt, PasteBackPrompt
from tui.bigtext import big
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
    BINDINGS = [Binding("escape", "dismiss_prompt", "Hide"), Binding("c", "copy_code", "Copy code")]

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


class PasteBackScreen(Dialog[str | None]):
    """Shows the authorisation URL; the user pastes the URL the browser ended on."""

    DEFAULT_CSS = """
    PasteBackScreen { align: center middle; }
    PasteBackScreen > Vertical { width: 90%; height: auto; border: double $accent; background: $panel; padding: 1 2; }
    PasteBackScreen #url { text-style: bold; color: $accent; margin: 1 0; }
    PasteBackScreen .dim { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: PasteBackPrompt) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("1. Open this address in a browser on any machine and sign in:", classes="dim")
            yield Static(Text(self.prompt.authorization_url), id="url")
            yield Static(f"2. The browser then fails to load {self.prompt.redirect_uri}…  Copy that whole address and paste it here:",
                         classes="dim")
            yield Input(placeholder=f"{self.prompt.redirect_uri}?code=…", id="pasted", password=True)
            yield Button("Continue", id="ok", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one("#pasted", Input).value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
