"""The console's one table of commands: every key binding has an id, and the footer, the help screen (`?`),
the command palette and the user's keymap all derive from this table (posting's model: `Binding(id=...)` plus
`App.set_keymap`). A keymap file remaps ids to keys:

    # $XDG_CONFIG_HOME/mailscope/keymap.toml
    run = "ctrl+r"
    view_lab = "L,f7"

Widgets keep their own bindings (they must not import the app); those carry ids too, so the same keymap remaps
them and the help screen lists them from the widgets' BINDINGS (`widget_bindings`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Command:
    id: str  # the binding id: what a keymap file names
    keys: str  # default key(s), comma-separated, Textual key names
    action: str
    label: str  # short: the footer
    title: str  # the command palette's title
    help: str  # one line: the help screen and the palette
    group: str  # the help screen's section
    footer: bool = False
    priority: bool = False  # works while an input has focus
    palette: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("run", "r", "run", "Run", "Run session",
            "Run what the view shows: the session's target, the highlighted lab scenario, the settings, or the pasted text", "Session",
            footer=True),
    Command("stop", "x", "stop", "Stop", "Stop session", "Cancel the running session (the transcript says so)", "Session", footer=True),
    Command("log_sessions", "n", "log_sessions", "Sessions", "Log: pick a session",
            "Switch between the sessions of the replayed log", "Session"),
    Command("view_session", "escape", "back", "Back", "Transcript and diagnosis",
            "Back to the session view; on it, clear the transcript filter", "Views"),
    Command("view_token", "t", "show_view('token')", "Token", "Token inspector",
            "Token facts and decoded claims, the ones behind the selected finding highlighted", "Views"),
    Command("view_settings", "s", "show_view('settings')", "Settings", "Settings",
            "Protocol, server, security, CA file, sign-in, token source, profiles", "Views"),
    Command("view_lab", "l", "show_view('lab')", "Lab", "Lab: pick a scenario",
            "Reproducible failure scenarios; r or Enter runs the highlighted one", "Views"),
    Command("view_paste", "v", "show_view('paste')", "Paste", "Paste: diagnose pasted text",
            "A log excerpt, a lone server line or an exception: transcript and diagnosis, nothing written to disk", "Views"),
    Command("view_exercise", "g", "show_view('exercise')", "Exercise", "Exercise: find the cause",
            "A lab scenario or a course, diagnosis hidden: answer cause, owner and fix, then the reveal", "Views"),
    Command("view_audit", "a", "show_view('audit')", "Audit", "Audit: findings across mailboxes",
            "An audit's output or a lab fleet: mailboxes grouped by finding, each one's transcript and diagnosis", "Views"),
    Command("filter", "slash", "filter", "Filter", "Filter transcript",
            "Show only transcript lines containing a text (Esc clears)", "Transcript", footer=True),
    Command("wrap", "w", "toggle_wrap", "Wrap", "Toggle line wrap", "Wrap long transcript lines under the gutter", "Transcript"),
    Command("explain", "e", "toggle_explain", "Explain", "Toggle explain mode", "Annotate each protocol line in plain words",
            "Modes", footer=True),
    Command("presenter", "p", "toggle_presenter", "Presenter", "Toggle presenter mode",
            "A badge on every view; user names, tenant domains (in URLs too), ids masked on screen and in exports",
            "Modes", footer=True),
    Command("theme", "d", "toggle_theme", "Theme", "Toggle light / dark theme", "Switch between the light and the dark theme", "Modes"),
    Command("findings", "f", "focus_findings", "Findings", "Focus findings",
            "Move to the findings list; up/down select a finding and light up its lines and claims", "Diagnosis"),
    Command("copy_fix", "y", "copy_fix", "Copy fix", "Copy fix steps and links",
            "Copy the selected finding's fix steps and links to the clipboard (OSC 52)", "Diagnosis"),
    Command("report", "ctrl+s", "export_report", "Report", "Export report",
            "Write the redacted report (Markdown + JSON) to $XDG_DATA_HOME/mailscope/reports or --export-dir", "Export", priority=True),
    Command("screenshot", "ctrl+o", "export_screenshot", "Screenshot", "Export screenshot",
            "Write an SVG of the current screen to the same directory", "Export", priority=True),
    Command("help", "question_mark,f1", "help", "Help", "Help: keys", "Every key, grouped, with what it does", "Console",
            footer=True),
    Command("quit", "q", "quit", "Quit", "Quit", "Leave the console", "Console", footer=True, palette=False),
)

BY_ID = {command.id: command for command in COMMANDS}


def bindings() -> list[Binding]:
    return [Binding(c.keys, c.action, c.label, show=c.footer, priority=c.priority, tooltip=c.help, id=c.id) for c in COMMANDS]


def keymap_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "mailscope" / "keymap.toml"


class KeymapError(ValueError):
    """The keymap file is unusable; the message says where and why."""


def widget_bindings() -> dict[str, list[Binding]]:
    """The keys widgets bind themselves (with ids), by the help screen's section: a keymap may remap them too."""
    from tui.exercise_view import ExerciseView
    from widgets.paste import PasteView
    from widgets.transcript import Transcript

    sections = {"In the transcript": Transcript.BINDINGS, "In the Paste view": PasteView.BINDINGS,
                "In the Exercise view": ExerciseView.BINDINGS}
    return {section: [b for b in found if isinstance(b, Binding) and b.id] for section, found in sections.items()}


def binding_ids() -> frozenset[str]:
    """Every id a keymap may name: the commands and the widgets' own keys."""
    return frozenset(BY_ID) | {b.id for found in widget_bindings().values() for b in found if b.id}


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """binding id -> keys from the user's keymap file ({} when there is none). Unknown ids are an error, so a
    typo does not silently leave a key unbound."""
    path = path or keymap_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KeymapError(f"cannot read {path}: {exc}") from None
    known = binding_ids()
    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        if binding_id not in known:
            raise KeymapError(f"{path}: unknown binding id {binding_id!r} (known: {', '.join(sorted(known))})")
        if not isinstance(keys, str) or not keys.strip():
            raise KeymapError(f"{path}: {binding_id} must be a key string such as \"ctrl+r\" or \"r,f5\"")
        keymap[binding_id] = ",".join(k.strip() for k in keys.split(","))
    return keymap
