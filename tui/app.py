"""The mailscope console: settings, live transcript, diagnosis and token views over one SessionRecord.

Views are Textual modes (tui/views.py): built once, kept for the run, entered and left in any order. Keys come
from one command table (tui/keys.py) that also feeds the footer, the help screen, the palette and the keymap.
The session runs as an async worker on the app's own loop. Engine events arrive through a synchronous
listener that only appends to buffers; timers flush them to the widgets at a fixed rate.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from mailscope.events import (
    DeviceCodePrompt,
    DiagnosisUpdated,
    Event,
    LineAdded,
    PasteBackPrompt,
    PromptRequested,
    SessionFinished,
    TokenKnown,
)
from mailscope.findings import Diagnosis, EvidenceKind, Finding
from tui import keys, textual_fixes
from tui.session import SEED_SCENARIO, Runner, Target, default_diagnoser, lab_scenarios, run_target
from tui.views import VIEWS, ViewScreen
from widgets.diagnosis import DiagnosisPane, fix_steps_text
from widgets.presenter import IdentifierMask
from widgets.transcript import Transcript

if TYPE_CHECKING:
    from mailscope.evidence import Outcome, TokenEvidence
    from mailscope.record import Diagnoser, SessionRecord
    from mailscope.settings import CheckSettings
    from tui.prompts import DeviceCodeScreen
    from widgets.lab_picker import LabPicker, ScenarioInfo
    from widgets.paste import PasteView
    from widgets.settings import SettingsPane
    from widgets.token import TokenInspector

DARK_THEME, LIGHT_THEME = "textual-dark", "textual-light"
WidgetType = TypeVar("WidgetType", bound=Widget)
_JSON_MEMBER = re.compile(r',(?=")')


def default_reports_dir() -> Path:
    """$XDG_DATA_HOME/mailscope/reports: never the current directory (often a repository checkout)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "mailscope" / "reports"


def outcome_text(outcome: Outcome) -> str:
    """`authentication failed: AUTHENTICATE PLAIN refused: NO ...`: the kind in words, then the summary, said once."""
    kind = outcome.kind.replace("_", " ")
    return outcome.summary if outcome.summary.lower().startswith(kind.split()[0]) else f"{kind}: {outcome.summary}"


class MailscopeApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "mailscope"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    ENABLE_COMMAND_PALETTE = True
    MODES = {view.id: view.screen for view in VIEWS}
    DEFAULT_MODE = "session"
    BINDINGS = keys.bindings()

    running: reactive[bool] = reactive(False)
    explain: reactive[bool] = reactive(False, init=False)
    presenter: reactive[bool] = reactive(False, init=False)
    status: reactive[tuple[Text, str]] = reactive((Text("mailscope"), ""), always_update=True, init=False)

    def __init__(
        self,
        target: Target | None = None,
        *,
        runner: Runner = run_target,
        diagnoser_factory: Callable[[], Diagnoser | None] = default_diagnoser,
        scenarios: list[ScenarioInfo] | None = None,
        settings: CheckSettings | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        export_dir: Path | str | None = None,
        flush_hz: float = 25,
        keymap: dict[str, str] | None = None,
        log_sessions: tuple[tuple[int, str], ...] | None = None,
        run_at_start: bool = False,
        presenter_at_start: bool = False,
    ) -> None:
        super().__init__()
        textual_fixes.apply()
        self.target = target or (Target(settings=settings) if settings else Target(scenario=SEED_SCENARIO))
        self.initial_settings = settings
        self.runner = runner
        self.diagnoser_factory = diagnoser_factory
        self._scenarios = scenarios  # loaded on first use (the lab view, the palette)
        self.clock = clock
        self.monotonic = monotonic
        self.export_dir = Path(export_dir) if export_dir else default_reports_dir()
        self.flush_hz = flush_hz
        self.keymap = dict(keymap or {})
        self.log_sessions = log_sessions
        self._start_with = (run_at_start, presenter_at_start)
        self._keys_ready = False  # keys typed before the first frame would reach panes not yet built: they are dropped
        self._exiting = False
        self.mask = IdentifierMask()
        self.record: SessionRecord | None = None
        self.token: TokenEvidence | None = None
        self.claim_highlight: frozenset[str] = frozenset()
        self.outcome: Outcome | None = None
        self._state: tuple[str, str] | None = None  # an explicit status message (error, stop) until the next run
        self._events: list[Event] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._device_screen: DeviceCodeScreen | None = None
        if self.theme != DARK_THEME:  # pinned (snapshots, screenshots); setting it again would restyle at startup
            self.theme = DARK_THEME

    # -- views -----------------------------------------------------------------------------------
    def view_screen(self, view: str) -> Screen | None:
        """The view's screen once it has been shown (None before: views are built on first use)."""
        stack = self._screen_stacks.get(view)
        return stack[0] if stack else None

    def built_view(self, view: str) -> ViewScreen | None:
        """The view's screen once its body is mounted; None before (a key pressed then does nothing there, and
        state changed then reaches it when it is built: `ViewScreen.sync`)."""
        screen = self.view_screen(view)
        return screen if isinstance(screen, ViewScreen) and screen.ready else None

    def _view_widget(self, view: str, kind: type[WidgetType]) -> WidgetType | None:
        """A view's main widget once the view is built."""
        screen = self.built_view(view)
        return screen.query_one(kind) if screen else None

    @property
    def main_screen(self) -> Screen:
        """The session view's screen (queries must not land on another view or a dialog)."""
        return self.view_screen("session") or self.screen

    @property
    def transcript(self) -> Transcript:
        return self.main_screen.query_one(Transcript)

    @property
    def diagnosis_pane(self) -> DiagnosisPane:
        return self.main_screen.query_one(DiagnosisPane)

    @property
    def token_inspector(self) -> TokenInspector | None:
        """None until the Token view is first opened."""
        from widgets.token import TokenInspector

        return self._view_widget("token", TokenInspector)

    @property
    def settings_pane(self) -> SettingsPane | None:
        from widgets.settings import SettingsPane

        return self._view_widget("settings", SettingsPane)

    @property
    def lab_picker(self) -> LabPicker | None:
        from widgets.lab_picker import LabPicker

        return self._view_widget("lab", LabPicker)

    @property
    def paste_view(self) -> PasteView | None:
        from widgets.paste import PasteView

        return self._view_widget("paste", PasteView)

    @property
    def scenarios(self) -> list[ScenarioInfo]:
        if self._scenarios is None:
            self._scenarios = lab_scenarios()
        return self._scenarios

    def evidence_clock(self) -> float:
        """The time the session is judged at: a replayed log's own time, else now (the token view reads claims by it)."""
        return (self.record and self.record.judged_at().at) or self.clock()

    @property
    def current_view(self) -> str:
        return self.current_mode

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.set_interval(1 / self.flush_hz, self._flush_events, name="event-flush")
        self._learn_identifiers(self.target.settings)
        self._show_status()

    @property
    def _panes_alive(self) -> bool:
        """False once the app exits: a session still running then must not feed panes being torn down."""
        return not self._exiting and self.built_view("session") is not None

    def exit(self, *args, **kwargs) -> None:
        self._exiting = True
        super().exit(*args, **kwargs)

    def on_ready(self) -> None:
        self._keys_ready = True
        self.refresh_bindings()
        run, presenter = self._start_with
        if presenter:
            self.presenter = True
        if run:
            self.start(self.target)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._keys_ready or action in ("quit", "command_palette")

    # Actions never await a screen change: an App handler awaiting a screen that another key removes before it
    # mounts waits forever, and with it every key after (found by the monkey test).
    def action_show_view(self, view: str) -> None:
        if isinstance(self.screen, ModalScreen):
            return  # a dialog is open: it decides when it closes
        self.switch_mode(view)

    def action_back(self) -> None:
        """Esc: from another view back to the session; on the session view, clear the transcript filter."""
        if isinstance(self.screen, ModalScreen):
            return
        if self.current_mode != "session":
            self.switch_mode("session")
            return
        if self.transcript.filter_text or self.main_screen.query_one("#filter", Input).has_class("-active"):
            self._clear_filter()
        self.transcript.focus()

    def on_key(self, event: events.Key) -> None:
        """Esc then a key within tmux's escape-time (500 ms unless set) or the terminal's escape delay arrive as one
        Alt+key, which nothing here binds: read as the two keys the person pressed (Esc back to the session, then q
        quits) instead of dropping both."""
        if event.key.startswith("alt+") and len(event.key) > len("alt+"):
            event.stop()
            key = event.key.removeprefix("alt+")
            self.simulate_key("escape")
            self.post_message(events.Key(key, key if len(key) == 1 else None))

    def key_display(self, binding_id: str, default: str | None = None) -> str:
        """How a command's key(s) read in the nav bar and help screen, with the user's keymap applied."""
        keys_ = self.keymap.get(binding_id) or (keys.BY_ID[binding_id].keys if binding_id in keys.BY_ID else default) or ""
        return " / ".join(self.get_key_display(Binding(key.strip(), "")) for key in keys_.split(","))

    # -- status ----------------------------------------------------------------------------------
    def _show_status(self) -> None:
        """The status line every view shows: badges, target, state."""
        state, kind = self._state or (None, "")
        if state is None:
            if self.running:
                state, kind = "running…", "running"
            elif self.outcome is not None:
                ok = self.outcome.exit_code == 0
                top = self.diagnosis_pane.diagnosis.top if self.built_view("session") else None
                state = (f"{top.id} ← " if top and not ok else "") + self.outcome.summary
                kind = "ok" if ok else "failed"
            else:
                state = "press r to run, l for other scenarios, ? for every key"
        badges: list[tuple[str, str]] = []
        if self.presenter:
            badges.append((" PRESENTER: identifiers masked ", "bold black on yellow"))
        settings = self.target.settings
        if settings is not None and not settings.verify_tls:
            badges.append((" TLS NOT VERIFIED ", "bold white on red"))
        if self.explain:
            badges.append(("[explain]", "bold"))
        parts: list[str | tuple[str, str]] = []
        for badge in badges:
            parts += [badge, " "]
        parts += [("mailscope", "bold"), f" · {self._shown(self.target.describe())} · ", self._shown(state)]
        self.status = (Text.assemble(*parts, no_wrap=True, overflow="ellipsis"), kind)

    def _shown(self, text: str) -> str:
        """Text as the screen may show it: masked in presenter mode."""
        return self.mask(text) if self.presenter else text

    def notify_shown(self, message: str, **kwargs) -> None:
        self.notify(self._shown(message), markup=False, **kwargs)

    # -- the session -----------------------------------------------------------------------------
    def _new_record(self, settings: CheckSettings | None) -> SessionRecord:
        from mailscope.record import SessionRecord

        record = SessionRecord(settings, diagnoser=self.diagnoser_factory(), clock=self.monotonic, wall_clock=self.clock)
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = record.subscribe(self._on_event)
        self.record = record
        self._learn_identifiers(settings)
        return record

    def _learn_identifiers(self, settings: CheckSettings | None) -> None:
        """Presenter mode masks what the user typed too: a tenant like contoso.com matches no pattern."""
        if settings is not None:
            self.mask.learn(settings.user, settings.tenant, settings.client_id, settings.subject)

    def _on_event(self, event: Event) -> None:
        """Runs synchronously inside the engine: O(1), never touches a widget's layout."""
        if isinstance(event, LineAdded):
            if self._panes_alive:
                self.transcript.add(event.line)
        else:
            self._events.append(event)

    def action_run(self) -> None:
        """r runs what the current view shows: the highlighted lab scenario, the settings, the pasted text, or the
        session's target."""
        if isinstance(self.screen, ModalScreen):
            return
        view = self.current_mode
        if view == "lab":  # a view still being built (None) takes no keys: r there must not run something else
            if self.lab_picker is not None and (scenario := self.lab_picker.highlighted_id):
                self.start(Target(scenario=scenario))
        elif view == "settings":
            self.run_settings()
        elif view == "paste":
            if self.paste_view is not None:
                self.paste_view.action_diagnose()
        else:
            self.start(self.target)

    def start(self, target: Target) -> None:
        if self.running:
            self.workers.cancel_group(self, "session")
        self.target = target
        self.outcome = None
        self._state = None
        self._learn_identifiers(target.settings)
        self.transcript.clear()
        self.diagnosis_pane.set_outcome("", "")
        self.diagnosis_pane.show(Diagnosis(), running=True)
        self._show_token(None)
        self._show_line_detail(None)
        self.running = True
        self._show_status()
        if self.current_mode != "session":
            self.switch_mode("session")
        self.transcript.focus()
        self._run_session(target)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _run_session(self, target: Target) -> None:
        try:
            await self.runner(target, self._new_record)
        except asyncio.CancelledError:
            from mailscope.evidence import Outcome, OutcomeKind

            if self.record is not None and self.record.outcome is None:
                self.record.info("cancelled by the user (x): the session stopped before it finished")
                self.record.finish(Outcome(OutcomeKind.CANCELLED, "stopped by the user"))
            raise
        finally:
            if self._panes_alive:
                self._flush_events()
                self.transcript.flush()

    def action_stop(self) -> None:
        if not self.running:
            self.notify("No session is running")
            return
        self.workers.cancel_group(self, "session")
        self.running = False
        self._state = ("stopped by the user", "failed")
        self.diagnosis_pane.set_outcome("cancelled: stopped by the user", "cancelled")
        self._show_status()

    @on(Worker.StateChanged)
    def _session_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "session" or event.state not in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            return
        if not self._panes_alive:
            return
        if any(w is not event.worker and w.group == "session" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
               for w in self.workers):
            return  # an older session ended because a new one started
        self.running = False
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            message = f"session error: {type(error).__name__}: {error}"
            if self.record is not None:
                self.record.info(message)  # redacted on the way in
                message = self.record.lines[-1].text
                self.transcript.flush()
            else:
                from mailscope.redact import Redactor

                message = Redactor().redact(message)
            self.notify_shown(message, severity="error", timeout=8)
            self._state = (message, "failed")
            self.diagnosis_pane.set_outcome(message, "failed")
            self.diagnosis_pane.show(self.diagnosis_pane.diagnosis, running=False)
            self._show_status()
        elif event.state is WorkerState.SUCCESS and self.outcome is None:
            self._state = ("finished", "ok")
            self.diagnosis_pane.show(self.diagnosis_pane.diagnosis, running=False)
            self._show_status()

    def _flush_events(self) -> None:
        if not self._events or not self._panes_alive:
            return
        self.transcript.flush()  # lines first, so a finding never cites a line not yet on screen
        events, self._events = self._events, []
        diagnosis = next((e.diagnosis for e in reversed(events) if isinstance(e, DiagnosisUpdated)), None)
        token = next((e.token for e in reversed(events) if isinstance(e, TokenKnown)), None)
        if token is not None:
            self._show_token(token)
            self._close_device_prompt()
        for event in events:
            if isinstance(event, PromptRequested):
                self._show_prompt(event)
        finished = next((e for e in events if isinstance(e, SessionFinished)), None)
        if finished is not None:
            self.outcome = finished.outcome
            self.running = False
            self._close_device_prompt()
            ok = finished.outcome.exit_code == 0
            kind = "ok" if ok else "cancelled" if finished.outcome.kind == "cancelled" else "failed"
            self.diagnosis_pane.set_outcome(outcome_text(finished.outcome), kind)
        if diagnosis is not None or finished is not None:
            self.diagnosis_pane.show(self._shown_diagnosis(diagnosis), running=self.running)
            self.transcript.set_cited(line for f in self.diagnosis_pane.diagnosis.findings for line in f.cited_lines)
        if finished is not None:
            self._show_status()

    def _shown_diagnosis(self, diagnosis: Diagnosis | None) -> Diagnosis:
        """The record's diagnosis plus a connection fault as a finding, exactly as the report lists them."""
        from mailscope.report import findings_of

        diagnosis = diagnosis or self.diagnosis_pane.diagnosis
        if self.record is None:
            return diagnosis
        return Diagnosis(findings_of(self.record), diagnosis.checks, diagnosis.summary)

    def _show_token(self, token: TokenEvidence | None) -> None:
        self.token = token
        if token is not None:
            self.mask.learn(*(str(token.claims.get(c, "")) for c in ("upn", "preferred_username", "email", "hd")))
        if self.token_inspector is not None:
            self.token_inspector.show(token)

    # -- prompts ---------------------------------------------------------------------------------
    def _show_prompt(self, event: PromptRequested) -> None:
        from tui.prompts import DeviceCodeScreen, PasteBackScreen

        prompt = event.prompt
        if isinstance(prompt, DeviceCodePrompt):
            self._close_device_prompt()
            self._device_screen = DeviceCodeScreen(prompt)
            self.push_screen(self._device_screen)
        elif isinstance(prompt, PasteBackPrompt):
            future = event.answer

            def resolve(pasted: str | None) -> None:
                if isinstance(future, asyncio.Future) and not future.done():
                    if pasted:
                        future.set_result(pasted)
                    else:
                        future.cancel()

            self.push_screen(PasteBackScreen(prompt), resolve)

    def _close_device_prompt(self) -> None:
        screen, self._device_screen = self._device_screen, None
        if screen is not None and screen.is_active:
            screen.dismiss(None)

    # -- selection links -------------------------------------------------------------------------
    @on(DiagnosisPane.FindingSelected)
    def _finding_selected(self, event: DiagnosisPane.FindingSelected) -> None:
        if not self.screen_stack:
            return  # shutting down
        finding = event.finding
        self.transcript.set_highlighted(finding.cited_lines if finding else ())
        self.claim_highlight = frozenset(e.name for e in finding.evidence if e.kind is EvidenceKind.CLAIM) if finding else frozenset()
        if self.token_inspector is not None:
            self.token_inspector.highlight_claims(self.claim_highlight)

    @on(Transcript.LineSelected)
    def _line_selected(self, event: Transcript.LineSelected) -> None:
        citing = self.findings_citing(event.seq)
        self.diagnosis_pane.mark_citing(frozenset(f.id for f in citing))
        self._show_line_detail(event.seq)

    def _show_line_detail(self, seq: int | None) -> None:
        """Under the transcript: the whole selected line (annotations such as a decoded challenge on their own
        rows), who cites it, and what it means in plain words."""
        detail = self.main_screen.query_one("#line-detail", Static)
        column = self.main_screen.query_one("#transcript-column")
        line = next((li for li in self.transcript.lines if li.seq == seq), None) if seq is not None else None
        if line is None:
            detail.update("")
            detail.remove_class("-shown")
            column.border_subtitle = self._filter_subtitle()
            return
        from mailscope.explain import explain_line

        citing = self.findings_citing(line.seq)
        cited = f"cited by {', '.join(f.id for f in citing)}" if citing else "no finding cites it"
        words = explain_line(line)
        mask = self.mask if self.presenter else None
        rows = [Text.assemble((f"line {line.seq} · {line.direction.value} · {cited}", "bold")),
                Text(mask(line.text) if mask else line.text)]
        # a decoded JSON challenge gets a space after each member, so it wraps between members, not inside a URL
        rows += [Text(f"⟨{_JSON_MEMBER.sub(', ', mask(note) if mask else note)}⟩", style="italic") for note in line.annotations]
        if words:
            rows.append(Text(f"in plain words: {words}", style="dim italic"))
        detail.update(Text("\n").join(rows))
        detail.add_class("-shown")
        column.border_subtitle = f"line {line.seq}: {cited}"

    def findings_citing(self, seq: int) -> list[Finding]:
        return [f for f in self.diagnosis_pane.diagnosis.findings if seq in f.cited_lines]

    # -- modes -----------------------------------------------------------------------------------
    def action_toggle_explain(self) -> None:
        self.explain = not self.explain

    def watch_explain(self, on: bool) -> None:
        self.transcript.explain = on
        self._show_status()

    def action_toggle_wrap(self) -> None:
        self.transcript.wrap = not self.transcript.wrap
        self.notify("Long lines wrap under the gutter" if self.transcript.wrap else "Long lines scroll sideways (left/right)")

    def action_toggle_presenter(self) -> None:
        self.presenter = not self.presenter

    def watch_presenter(self, on: bool) -> None:
        self.transcript.presenter = on
        self.diagnosis_pane.presenter = on
        self.diagnosis_pane.refresh_view()
        self._show_line_detail(self.transcript.selected_seq)
        if self.token_inspector is not None:
            self.token_inspector.presenter = on
            self.token_inspector.show(self.token)
        if self.settings_pane is not None:
            self.settings_pane.set_presenter(on)
        if self.paste_view is not None:
            self.paste_view.set_presenter(on)
        if (audit := self.built_view("audit")) is not None:  # its module loads only once the view was opened
            from tui.audit_view import AuditView

            audit.query_one(AuditView).set_presenter(on)
        self._show_status()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME

    # -- filter ----------------------------------------------------------------------------------
    def action_filter(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        if self.current_mode != "session":
            self.switch_mode("session")
        filter_input = self.main_screen.query_one("#filter", Input)
        filter_input.add_class("-active")
        filter_input.focus()

    def _clear_filter(self) -> None:
        filter_input = self.main_screen.query_one("#filter", Input)
        filter_input.value = ""
        filter_input.remove_class("-active")
        self.transcript.set_filter("")
        self.main_screen.query_one("#transcript-column").border_subtitle = ""

    def _filter_subtitle(self) -> str:
        transcript = self.transcript
        if not transcript.filter_text:
            return ""
        return f"filter “{transcript.filter_text}”: {transcript.match_count} of {len(transcript.lines)} lines · Esc clears"

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.transcript.set_filter(event.value)
        self._show_line_detail(None)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("-active")
        self.transcript.focus()

    # -- diagnosis -------------------------------------------------------------------------------
    def _shown_diagnosis_pane(self) -> DiagnosisPane:
        """The Paste view has its own diagnosis: f and y act on it there, on the session's everywhere else."""
        if self.current_mode == "paste" and self.paste_view is not None:
            return self.paste_view.diagnosis_pane
        return self.diagnosis_pane

    def action_focus_findings(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        if self.current_mode not in ("session", "paste"):
            self.switch_mode("session")
        self._shown_diagnosis_pane().findings_list.focus()

    def action_copy_fix(self) -> None:
        pane = self._shown_diagnosis_pane()
        finding = pane.selected
        if finding is None or not (finding.fix or finding.links):
            self.notify("No fix steps to copy", severity="warning")
            return
        self.copy_to_clipboard(fix_steps_text(finding, pane.mask))
        self.notify(f"Copied {len(finding.fix)} fix step(s) and {len(finding.links)} link(s) for {finding.id}")

    # -- panes' own messages ---------------------------------------------------------------------
    def on_lab_picker_run_scenario(self, event: LabPicker.RunScenario) -> None:
        self.start(Target(scenario=event.scenario_id))

    def on_settings_pane_run_requested(self) -> None:
        self.run_settings()

    def run_settings(self) -> None:
        from widgets.settings import SettingsError

        pane = self.settings_pane
        if pane is None:
            return
        try:
            settings = pane.to_settings()
        except SettingsError as error:
            self.notify_shown(str(error), severity="error", timeout=6)
            return
        self.start(Target(settings=settings))

    def on_settings_pane_profile_action(self, event: SettingsPane.ProfileAction) -> None:
        from providers.profiles import ProfileError
        from tui.profiles import load_profile, save_profile
        from widgets.settings import SettingsError

        pane = self.settings_pane
        if pane is None:
            return
        if not event.name:
            self.notify("Type a profile name first", severity="warning")
            return
        try:
            if event.action == "save":
                where = save_profile(event.name, pane.to_settings())
                self.notify_shown(f"Saved profile {event.name} in {where}")
            else:
                pane.load(load_profile(event.name))
                self.notify_shown(f"Loaded profile {event.name}")
        except (SettingsError, ProfileError, OSError, KeyError, ValueError) as error:
            self.notify_shown(f"Profile {event.name}: {error}", severity="error")

    # -- log sessions ----------------------------------------------------------------------------
    def action_log_sessions(self) -> None:
        if self.target.log is None or isinstance(self.screen, ModalScreen):
            self.notify("n switches between the sessions of a replayed log (mailscope --log FILE)")
            return
        self._open_log_sessions(self.target.log)

    @work(exclusive=True, group="log-sessions", exit_on_error=False)
    async def _open_log_sessions(self, log: str) -> None:
        """The log's sessions (scanned once, off the UI loop), then the switcher; Enter replays one."""
        from tui.log_sessions import LogSessionsScreen
        from tui.session import scan_log

        if self.log_sessions is None:
            try:
                self.log_sessions = (await asyncio.to_thread(scan_log, log)).sessions
            except OSError as error:
                self.notify_shown(f"{Path(log).name}: {error.strerror or error}", severity="error")
                return
        if isinstance(self.screen, ModalScreen) or self.target.log != log:
            return  # something else opened meanwhile

        def replay(index: int | None) -> None:
            if index is not None:
                self.start(Target(log=log, log_session=index))

        sessions = [(index, self._shown(label)) for index, label in self.log_sessions]
        self.push_screen(LogSessionsScreen(Path(log).name, sessions, self.target.log_session), replay)

    # -- help ------------------------------------------------------------------------------------
    def action_help(self) -> None:
        from tui.help import HelpScreen

        if not isinstance(self.screen, ModalScreen):
            self.push_screen(HelpScreen())

    # -- export ----------------------------------------------------------------------------------
    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%SZ")

    def action_export_report(self) -> list[Path]:
        if self.record is None:
            self.notify("Nothing to export yet: run a session first", severity="warning")
            return []
        from tui.export import write_report

        try:
            paths = write_report(self.record, self.export_dir, f"mailscope-report-{self._stamp()}",
                                 datetime.fromtimestamp(self.clock(), UTC), mask=self.mask if self.presenter else None)
        except OSError as error:
            self.notify(f"Export failed: {error.strerror or error}", severity="error", markup=False)
            return []
        self._notify_written("report", paths)
        return paths

    def action_export_screenshot(self) -> Path | None:
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = Path(self.save_screenshot(f"mailscope-{self._stamp()}.svg", str(self.export_dir))).absolute()
        except OSError as error:
            self.notify(f"Export failed: {error.strerror or error}", severity="error", markup=False)
            return None
        self._notify_written("screenshot", [path])
        return path

    def _notify_written(self, what: str, paths: list[Path]) -> None:
        """The directory and the file names on lines of their own, so a long path never wraps mid-name."""
        folder = paths[0].absolute().parent
        names = "\n".join(f"  {p.name}" for p in paths)
        mode = " (presenter mode: identifiers masked)" if self.presenter else ""
        self.notify(f"Wrote {what}{mode} to\n{folder}/\n{names}", timeout=8, markup=False)

    # -- command palette -------------------------------------------------------------------------
    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        from tui.palette import SafeCommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(SafeCommandPalette(id="--command-palette"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in keys.COMMANDS:
            if command.palette:
                yield SystemCommand(command.title, f"{command.help} ({self.key_display(command.id)})",
                                    lambda a=command.action: self.run_action(a))
        if not getattr(screen, "conceals", False):  # an unanswered exercise: no scenario's name or title
            for scenario in self.scenarios:
                yield SystemCommand(f"Run lab scenario {scenario.id}", scenario.title,
                                    lambda s=scenario.id: self.start(Target(scenario=s)))
        yield from super().get_system_commands(screen)
