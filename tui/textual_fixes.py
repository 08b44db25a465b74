"""Fixes for Textual 8.2.8 bugs the console runs into (textual is pinned in pyproject.toml: re-check these
when the pin moves). Found by the monkey test (tests/tui/test_monkey.py).

Page up/down on any OptionList before it has been laid out (a list squeezed to no rows at 60x20, the command
palette right after ctrl+p, a Select's overlay right after it opens) raises KeyError from its empty line map
and ends the app. Every OptionList is affected, Textual's own included, so the fix is on the class: a page
with nothing laid out moves to the first or last option instead.

Showing a view for the first time (a mode's screen) made Textual re-parse every stylesheet of the app from scratch, with
the same sources and variables each time: a third of the console's time from import to its first frame. The stylesheet
now re-parses only when a source or a variable changed (a theme change still re-parses).

A terminal paste reaches an Input (the filter, a settings field, the palette) or a TextArea (the Paste view) as
it came: a log excerpt's escape sequences (`ESC ]0;…BEL`, `ESC [2J`) were stored and drawn raw, i.e. sent to the
user's terminal. Pasted text is made visible first (`\\e[2J`, as the transcript shows server text); Windows line
ends become plain ones. Typed keys need no fix: both widgets insert printable characters only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.css.stylesheet import Stylesheet
from textual.widgets import Input, OptionList

if TYPE_CHECKING:
    from textual.widgets import TextArea
    from textual.widgets.text_area import EditResult, Location

_move_page = OptionList._move_page
_input_paste = Input._on_paste
_set_variables, _parse, _reparse = Stylesheet.set_variables, Stylesheet.parse, Stylesheet.reparse


def _safe_move_page(self: OptionList, direction: int) -> None:
    try:
        _move_page(self, direction)  # type: ignore[arg-type]
    except KeyError:
        if direction < 0:
            self.action_first()
        else:
            self.action_last()


def visible_paste(text: str) -> str:
    from mailscope.redact import escape_controls  # not at start-up (tests/tui/test_startup.py)

    return escape_controls(text.replace("\r\n", "\n").replace("\r", "\n"))


def _visible_input_paste(self: Input, event: events.Paste) -> None:
    event.text = visible_paste(event.text)
    _input_paste(self, event)


def _set_variables_if_changed(self: Stylesheet, variables: dict[str, str]) -> None:
    if variables != self._variables:  # the same variables: what was parsed with them still holds
        _set_variables(self, variables)


def _parse_recorded(self: Stylesheet) -> None:
    _parse(self)
    self._parsed_from = (dict(self._variables), dict(self.source))  # type: ignore[attr-defined]


def _reparse_if_changed(self: Stylesheet) -> None:
    if getattr(self, "_parsed_from", None) == (self._variables, self.source) and not self._require_parse:
        return  # the same sources with the same variables parse to the rules the stylesheet holds
    _reparse(self)
    self._parsed_from = (dict(self._variables), dict(self.source))  # type: ignore[attr-defined]


def apply() -> None:
    """Idempotent: the console calls it once per app."""
    OptionList._move_page = _safe_move_page  # type: ignore[method-assign]
    Input._on_paste = _visible_input_paste  # type: ignore[method-assign]
    Stylesheet.set_variables = _set_variables_if_changed  # type: ignore[method-assign]
    Stylesheet.parse = _parse_recorded  # type: ignore[method-assign]
    Stylesheet.reparse = _reparse_if_changed  # type: ignore[method-assign]


def apply_text_area() -> None:
    """Idempotent; called by the first view with a TextArea (TextArea costs start-up time the console need not pay)."""
    from textual.widgets import TextArea

    replace = TextArea._replace_via_keyboard
    if getattr(replace, "visible_paste", False):
        return

    def visible_replace(self: TextArea, insert: str, start: Location, end: Location) -> EditResult | None:
        """Every keyboard-side edit of a TextArea, its paste included, goes through here."""
        return replace(self, visible_paste(insert), start, end)

    visible_replace.visible_paste = True  # type: ignore[attr-defined]
    TextArea._replace_via_keyboard = visible_replace  # type: ignore[method-assign]
