"""The console's modal dialogs are dismissed at most once, and only while on top.

Textual's `dismiss()` pops whatever screen is on top: a double Esc, Esc racing the app closing a dialog itself (a
device-code prompt once the token arrives), or the command palette's Esc followed by its pending Enter, popped
the view underneath and ended the app with "Can't pop screen". Found by the monkey test (tests/tui/test_monkey.py)."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class DismissOnce:
    """Mixin for a Screen subclass (listed before it)."""

    _dismissing = False

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self._dismissing or self.app.screen is not self:  # type: ignore[attr-defined]
            return AwaitComplete.nothing()
        self._dismissing = True
        return super().dismiss(result)  # type: ignore[misc]


class Dialog(DismissOnce, ModalScreen[ResultType]):
    """A modal dialog of the console."""
