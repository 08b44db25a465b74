"""The Paste view: paste text (a client's log excerpt, a lone server line, an exception message, a token endpoint's
error body), press ctrl+r, and read the transcript and the diagnosis of each session it holds. Nothing is written to
disk: the text goes through `mailscope.logs.diagnose.diagnose_text` in memory and stays in this widget only.

Self-contained: the text area, one session's transcript (widgets.transcript) and diagnosis (widgets.diagnosis), and a
status line that says how many sessions the paste holds and whether a cause was found, left undecided, or none seen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static, TextArea

from mailscope.findings import Diagnosis
from mailscope.logs.diagnose import DiagnosedSession, TextDiagnosis, diagnose_text
from mailscope.report import EXIT_CAUSE_FOUND, EXIT_HEALTHY, EXIT_NO_SESSION, EXIT_UNDECIDED
from widgets.diagnosis import DiagnosisPane
from widgets.transcript import Transcript

Diagnose = Callable[[str], TextDiagnosis]
PLACEHOLDER = ("Paste here: a debug log excerpt, a single server line (535 5.7.139 ..., -ERR Protocol error ..., A1 NO "
               "AUTHENTICATE failed.), an exception message or a token error body. ctrl+r diagnoses; nothing is saved.")
_VERDICT = {
    EXIT_HEALTHY: "healthy",
    EXIT_CAUSE_FOUND: "a cause found",
    EXIT_UNDECIDED: "no cause confirmed: the candidates say what would decide",
    EXIT_NO_SESSION: "no mail session found",
}


def provider_diagnose(text: str) -> TextDiagnosis:
    """The engine call with the provider rules and the token inspector, as `mailscope logs` runs it."""
    from mailscope.diagnosis import make_diagnoser
    from providers.inspect import inspect_token
    from providers.registry import provider_rules

    inspect = functools.partial(inspect_token, source="pasted text", flow="unknown (seen in pasted text)")
    return diagnose_text(text, diagnoser=make_diagnoser(provider_rules()), inspect_token=inspect)


class PasteView(Widget):
    """Paste → transcript + diagnosis, one session at a time ([ and ] move between them)."""

    DEFAULT_CSS = """
    PasteView { layout: vertical; }
    PasteView > #paste-input { height: 9; border: round $primary; }
    PasteView > #paste-status { height: auto; padding: 0 1; }
    PasteView > #paste-result { height: 1fr; }
    PasteView #paste-transcript-column { width: 3fr; }
    PasteView #paste-diagnosis { width: 2fr; border-left: solid $panel; }
    """

    BINDINGS = [
        Binding("ctrl+r", "diagnose", "Diagnose the pasted text", priority=True, id="paste_diagnose"),
        Binding("ctrl+l", "clear", "Clear the paste and its results", priority=True, id="paste_clear"),
        Binding("right_square_bracket", "session(1)", "Next session of the paste", show=False, id="paste_next_session"),
        Binding("left_square_bracket", "session(-1)", "Previous session of the paste", show=False, id="paste_previous_session"),
    ]

    class Diagnosed(Message):
        """A paste was diagnosed (the console may show its outcome in its status bar)."""

        def __init__(self, result: TextDiagnosis) -> None:
            super().__init__()
            self.result = result

    def __init__(self, *, diagnose: Diagnose = provider_diagnose, mask: Callable[[str], str] | None = None,
                 presenter: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self._diagnose = diagnose
        self._mask = mask
        self._presenter = presenter
        self.result: TextDiagnosis | None = None
        self.index = 0
        self._status_shown = (PLACEHOLDER, True)

    def compose(self) -> ComposeResult:
        area = TextArea(id="paste-input", soft_wrap=False, show_line_numbers=False)
        area.border_title = "Paste (ctrl+r diagnoses, ctrl+l clears; nothing is written to disk)"
        yield area
        yield Static(Text(PLACEHOLDER, style="dim"), id="paste-status")
        with Horizontal(id="paste-result"):
            with Vertical(id="paste-transcript-column"):
                yield Transcript(id="paste-transcript", mask=self._mask)
            yield DiagnosisPane(id="paste-diagnosis", mask=self._mask)

    def on_mount(self) -> None:
        self.set_presenter(self._presenter)

    def set_presenter(self, on: bool) -> None:
        """Presenter mode masks the results as on the session view (the pasted text itself is the user's own)."""
        self._presenter = on
        self.transcript.presenter = on
        self.diagnosis_pane.presenter = on
        self.diagnosis_pane.refresh_view()
        text, dim = self._status_shown
        self._status(text, dim=dim)

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#paste-input", TextArea)

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#paste-transcript", Transcript)

    @property
    def diagnosis_pane(self) -> DiagnosisPane:
        return self.query_one("#paste-diagnosis", DiagnosisPane)

    @property
    def session(self) -> DiagnosedSession | None:
        if self.result is None or not self.result.sessions:
            return None
        return self.result.sessions[self.index]

    # -- actions -------------------------------------------------------------------------------------------------------
    def action_diagnose(self) -> None:
        text = self.text_area.text
        if not text.strip():
            self._status("Nothing pasted yet.")
            return
        self._status("diagnosing…")
        self._run(text)

    @work(exclusive=True, thread=True, group="paste")
    def _run(self, text: str) -> None:
        """The engine call is pure but may take a moment for a long paste: off the event loop."""
        result = self._diagnose(text)
        self.app.call_from_thread(self.show_result, result)

    def action_clear(self) -> None:
        self.text_area.clear()
        self.result, self.index = None, 0
        self.transcript.clear()
        self.diagnosis_pane.show(Diagnosis())
        self._status(PLACEHOLDER, dim=True)
        self.text_area.focus()

    def action_session(self, step: int) -> None:
        if self.result is not None and self.result.sessions:
            self.show_session((self.index + step) % len(self.result.sessions))

    # -- showing ---------------------------------------------------------------------------------------------------------
    def show_result(self, result: TextDiagnosis) -> None:
        self.result, self.index = result, 0
        if result.sessions:
            self.show_session(0)
        else:
            self.transcript.clear()
            self.diagnosis_pane.show(Diagnosis())
            self._status(self._headline() + "".join(f" · {note}" for note in result.notes))
        self.post_message(self.Diagnosed(result))

    def show_session(self, index: int) -> None:
        assert self.result is not None
        self.index = index
        item = self.result.sessions[index]
        self.transcript.clear()
        self.transcript.add_many(item.record.lines)
        self.transcript.flush()
        self.transcript.set_cited(line for f in item.findings for line in f.cited_lines)
        diagnosis = item.record.diagnosis
        self.diagnosis_pane.show(Diagnosis(item.findings, diagnosis.checks, diagnosis.summary))
        outcome = item.record.outcome
        self._status(f"{self._headline()} · session {index + 1} ({item.session.label()}): "
                     + (f"{outcome.kind}: {outcome.summary}" if outcome else "not finished"))

    def _headline(self) -> str:
        assert self.result is not None
        result = self.result
        count = result.summary.sessions
        more = " ([ and ] switch)" if len(result.sessions) > 1 else ""
        return f"{result.format} text, {count} session(s){more}: {_VERDICT.get(result.exit_code, 'done')}"

    def _status(self, text: str, *, dim: bool = False) -> None:
        self._status_shown = (text, dim)
        shown = self._mask(text) if self._presenter and self._mask and not dim else text
        self.query_one("#paste-status", Static).update(Text(shown, style="dim" if dim else ""))

    @on(DiagnosisPane.FindingSelected)
    def _finding_selected(self, event: DiagnosisPane.FindingSelected) -> None:
        event.stop()
        self.transcript.set_highlighted(event.finding.cited_lines if event.finding else ())
