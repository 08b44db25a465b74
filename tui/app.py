"""The mailscope console: settings, live transcript, diagnosis and token panes over one SessionRecord.

The session runs as an async worker on the app's own loop. Engine events arrive through a synchronous
listener that only appends to buffers; timers flush them to the widgets at a fixed rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static
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
from tui.session import SEED_SCENARIO, Runner, Target, default_diagnoser, lab_scenarios, run_target
from widgets.diagnosis import DiagnosisPane
from widgets.presenter import mask_identifiers
from widgets.transcript import Transcript

if TYPE_CHECKING:
    from mailscope.evidence import Outcome, TokenEvidence
    from mailscope.record import Diagnoser, SessionRecord
    from mailscope.settings import CheckSettings
    from tui.prompts import DeviceCodeScreen
    from widgets.lab_picker import LabPicker, ScenarioInfo
    from widgets.settings import SettingsPane
    from widgets.token import TokenInspector

DARK_THEME, LIGHT_THEME = "textual-dark", "textual-light"

# (action, palette title, help) for every action: the command palette lists them all.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("run", "Run session", "Run the current lab scenario or settings (r)"),
    ("stop", "Stop session", "Cancel the running session (x)"),
    ("show_tab('lab')", "Lab: pick a scenario", "Reproducible failure scenarios, Enter runs one (l)"),
    ("show_tab('settings')", "Settings", "Provider, preset, host, user, flow, secret sources, profiles (s)"),
    ("show_tab('token')", "Token inspector", "Token facts and decoded claims (t)"),
    ("show_tab('paste')", "Paste: diagnose pasted text", "A log excerpt, a lone server line or an exception: transcript and "
     "diagnosis, nothing written to disk (v)"),
    ("show_tab('session')", "Transcript and diagnosis", "Back to the session view (Esc)"),
    ("toggle_explain", "Toggle explain mode", "Annotate each protocol line in plain words (e)"),
    ("toggle_presenter", "Toggle presenter mode", "Mask user names, tenant, object and client ids (p)"),
    ("filter", "Search / filter transcript", "Show only lines containing a text (/)"),
    ("focus_findings", "Focus findings", "Move to the findings list (f)"),
    ("copy_fix", "Copy fix steps", "Copy the selected finding's fix steps to the clipboard (y)"),
    ("export_report", "Export report", "Write the redacted report as Markdown and JSON (ctrl+s)"),
    ("export_screenshot", "Export screenshot", "Write an SVG of the current screen (ctrl+o)"),
    ("toggle_theme", "Toggle light / dark theme", "Switch between the light and the dark theme (d)"),
)


class StatusBar(Static):
    pass


VIEWS = (("session", "Session", "esc"), ("token", "Token", "t"), ("settings", "Settings", "s"), ("lab", "Lab", "l"))


class NavBar(Static):
    """The views, clickable, the current one marked: a one-row stand-in for tabs that costs nothing at startup."""

    DEFAULT_CSS = "NavBar { height: 1; padding: 0 1; background: $panel; color: $text-muted; }"

    def __init__(self, current: str) -> None:
        parts = []
        for view, title, key in VIEWS:
            style = "bold reverse" if view == current else "underline"
            parts.append(f"[{style}][@click=app.show_tab('{view}')] {title} [/][/] [dim]{key}[/]")
        super().__init__("   ".join(parts), markup=True)


class PaneScreen(Screen):
    """One of the secondary views (token inspector, settings, lab picker) with the same bars as the console."""

    BINDINGS = [Binding("escape", "app.show_tab('session')", "Back")]

    def __init__(self, view: str, content: Widget) -> None:
        super().__init__(name=view)
        self.view = view
        self.content = content

    def compose(self) -> ComposeResult:
        yield NavBar(self.view)
        yield self.content
        yield Footer()

    def on_mount(self) -> None:
        focus = {"lab": "#scenarios", "token": "#claims", "settings": "#preset", "paste": "#paste-input"}[self.view]
        self.query_one(focus).focus()

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.content.is_mounted:
            self.on_mount()


class MailscopeApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "mailscope"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("r", "run", "Run"),
        Binding("x", "stop", "Stop"),
        Binding("l", "show_tab('lab')", "Lab"),
        Binding("s", "show_tab('settings')", "Settings"),
        Binding("t", "show_tab('token')", "Token"),
        Binding("v", "show_tab('paste')", "Paste", show=False),
        Binding("e", "toggle_explain", "Explain"),
        Binding("p", "toggle_presenter", "Presenter"),
        Binding("slash", "filter", "Filter"),
        Binding("f", "focus_findings", "Findings", show=False),
        Binding("y", "copy_fix", "Copy fix", show=False),
        Binding("d", "toggle_theme", "Theme", show=False),
        Binding("escape", "back", "Back", show=False),
        Binding("ctrl+s", "export_report", "Report", show=False, priority=True),
        Binding("ctrl+o", "export_screenshot", "Screenshot", show=False, priority=True),
        Binding("q", "quit", "Quit"),
    ]

    running: reactive[bool] = reactive(False, bindings=True)
    explain: reactive[bool] = reactive(False, init=False)
    presenter: reactive[bool] = reactive(False, init=False)

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
        export_dir: Path | str = ".",
        flush_hz: float = 25,
    ) -> None:
        super().__init__()
        self.target = target or (Target(settings=settings) if settings else Target(scenario=SEED_SCENARIO))
        self.initial_settings = settings
        self.runner = runner
        self.diagnoser_factory = diagnoser_factory
        self._scenarios = scenarios  # loaded on first use (the lab tab, the palette)
        self.clock = clock
        self.monotonic = monotonic
        self.export_dir = Path(export_dir)
        self.flush_hz = flush_hz
        self.record: SessionRecord | None = None
        self.token: TokenEvidence | None = None
        self.claim_highlight: frozenset[str] = frozenset()
        self.outcome: Outcome | None = None
        self._events: list[Event] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._device_screen: DeviceCodeScreen | None = None
        self._main_screen: Screen | None = None
        self._pane_screens: dict[str, PaneScreen] = {}
        if self.theme != DARK_THEME:  # pinned (snapshots, screenshots); setting it again would restyle at startup
            self.theme = DARK_THEME

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Pre-set the breakpoint class so the first resize does not restyle every widget (a startup cost).
        self.screen.set_class(self.size.width < 120, "-narrow").set_class(self.size.width >= 120, "-wide")
        yield StatusBar(id="status-bar")
        yield NavBar("session")
        with Horizontal(id="session"):
            with Vertical(id="transcript-column") as column:
                column.border_title = "Transcript"
                transcript = Transcript(id="transcript", mask=mask_identifiers, flush_hz=self.flush_hz)
                transcript.placeholder = (f"Nothing yet. r runs {self.target.describe()}; l picks another lab scenario; "
                                          "s opens the settings for a live server.")
                yield transcript
                yield Input(placeholder="filter: show lines containing…  (Enter keeps it, Esc clears)", id="filter")
                yield Static("", id="line-info")
            pane = DiagnosisPane(id="diagnosis", mask=mask_identifiers)
            pane.border_title = "Diagnosis"
            yield pane
        yield Footer()

    @property
    def main_screen(self) -> Screen:
        """The console's own screen (queries must not land on a modal dialog on top of it)."""
        return self._main_screen or self.screen

    @property
    def transcript(self) -> Transcript:
        return self.main_screen.query_one(Transcript)

    @property
    def diagnosis_pane(self) -> DiagnosisPane:
        return self.main_screen.query_one(DiagnosisPane)

    @property
    def token_inspector(self) -> TokenInspector | None:
        """None until the Token view is first opened."""
        screen = self._pane_screens.get("token")
        return screen.content if screen else None  # type: ignore[return-value]

    @property
    def scenarios(self) -> list[ScenarioInfo]:
        if self._scenarios is None:
            self._scenarios = lab_scenarios()
        return self._scenarios

    def pane_screen(self, tab: str) -> PaneScreen:
        """The Token / Settings / Lab views are screens built the first time they are shown (fast startup)."""
        if tab not in self._pane_screens:
            if tab == "token":
                from widgets.token import TokenInspector

                widget: Widget = TokenInspector(id="token", clock=lambda: (self.record and self.record.judged_at().at) or self.clock(),
                                                token=self.token, highlighted=self.claim_highlight, presenter=self.presenter)
            elif tab == "settings":
                from widgets.settings import SettingsPane

                widget = SettingsPane(id="settings", initial=self.initial_settings, presenter=self.presenter)
            elif tab == "paste":
                from widgets.paste import PasteView

                widget = PasteView(id="paste", mask=mask_identifiers)
            else:
                from widgets.lab_picker import LabPicker

                widget = LabPicker(self.scenarios, current=self.target.scenario, id="lab")
            self._pane_screens[tab] = PaneScreen(tab, widget)
        return self._pane_screens[tab]

    def on_mount(self) -> None:
        self._main_screen = self.screen
        self.set_interval(1 / self.flush_hz, self._flush_events, name="event-flush")
        self._show_status()  # the transcript gets focus from AUTO_FOCUS: it is the first focusable widget

    # -- status ----------------------------------------------------------------------------------
    def _show_status(self, state: str | None = None, kind: str = "") -> None:
        bar = self.main_screen.query_one(StatusBar)
        if state is None:
            state = "running…" if self.running else ("press r to run, l for other scenarios" if self.outcome is None
                                                      else self.outcome.summary)
        modes = "".join(f" [{m}]" for m, on in (("explain", self.explain), ("presenter", self.presenter)) if on)
        target = self.target.describe()
        if self.presenter:
            target = mask_identifiers(target)
            state = mask_identifiers(state)
        bar.update(Text.assemble(("mailscope", "bold"), f" · {target} · ", state, (modes, "bold")))
        bar.set_class(kind == "running", "-running")
        bar.set_class(kind == "failed", "-failed")
        bar.set_class(kind == "ok", "-ok")

    # -- the session -----------------------------------------------------------------------------
    def _new_record(self, settings: CheckSettings | None) -> SessionRecord:
        from mailscope.record import SessionRecord

        record = SessionRecord(settings, diagnoser=self.diagnoser_factory(), clock=self.monotonic, wall_clock=self.clock)
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = record.subscribe(self._on_event)
        self.record = record
        return record

    def _on_event(self, event: Event) -> None:
        """Runs synchronously inside the engine: O(1), never touches a widget's layout."""
        if isinstance(event, LineAdded):
            self.transcript.add(event.line)
        else:
            self._events.append(event)

    def action_run(self) -> None:
        self.start(self.target)

    def start(self, target: Target) -> None:
        self.target = target
        self.outcome = None
        self.transcript.clear()
        self.diagnosis_pane.show(Diagnosis(), running=True)
        self._show_token(None)
        self.main_screen.query_one("#line-info", Static).update("")
        self.main_screen.query_one("#transcript-column").border_subtitle = ""
        self.running = True
        self._show_status(kind="running")
        self._back_to_session()
        self._run_session(target)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _run_session(self, target: Target) -> None:
        try:
            await self.runner(target, self._new_record)
        except asyncio.CancelledError:
            from mailscope.evidence import Outcome, OutcomeKind

            if self.record is not None and self.record.outcome is None:
                self.record.finish(Outcome(OutcomeKind.CANCELLED, "stopped by the user"))
            raise
        finally:
            self._flush_events()
            self.transcript.flush()

    def action_stop(self) -> None:
        if not self.running:
            self.notify("No session is running")
            return
        self.workers.cancel_group(self, "session")
        self.running = False
        self._show_status("stopped by the user", "failed")

    @on(Worker.StateChanged)
    def _session_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "session" or event.state not in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            return
        self.running = False
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            message = f"session error: {type(error).__name__}: {error}"
            if self.record is not None:
                self.record.info(message)  # redacted on the way in
                message = self.record.lines[-1].text
            self.notify(message, severity="error", timeout=8)
            self._show_status(message, "failed")
        elif event.state is WorkerState.SUCCESS and self.outcome is None:
            self._show_status("finished", "ok")

    def _flush_events(self) -> None:
        if not self._events:
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
        if diagnosis is not None or finished is not None:
            self.diagnosis_pane.show(self._shown_diagnosis(diagnosis), running=self.running)
            self.transcript.set_cited(line for f in self.diagnosis_pane.diagnosis.findings for line in f.cited_lines)
        if finished is not None:
            ok = finished.outcome.exit_code == 0
            top = self.diagnosis_pane.diagnosis.top
            summary = (f"{top.id} ← " if top and not ok else "") + finished.outcome.summary
            self._show_status(summary, "ok" if ok else "failed")

    def _shown_diagnosis(self, diagnosis: Diagnosis | None) -> Diagnosis:
        """The record's diagnosis plus a connection fault as a finding, exactly as the report lists them."""
        from mailscope.report import findings_of

        diagnosis = diagnosis or self.diagnosis_pane.diagnosis
        if self.record is None:
            return diagnosis
        return Diagnosis(findings_of(self.record), diagnosis.checks, diagnosis.summary)

    def _show_token(self, token: TokenEvidence | None) -> None:
        self.token = token
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
        line = next((li for li in self.transcript.lines if li.seq == event.seq), None)
        from mailscope.explain import explain_line

        words = explain_line(line) if line else ""
        cited = f"cited by {', '.join(f.id for f in citing)}" if citing else "no finding cites it"
        self.main_screen.query_one("#line-info", Static).update(Text(f"line {event.seq}: {cited}" + (f" · {words}" if words else "")))
        self.main_screen.query_one("#transcript-column").border_subtitle = f"line {event.seq}: {cited}"  # shown at 80x24 too

    def findings_citing(self, seq: int) -> list[Finding]:
        return [f for f in self.diagnosis_pane.diagnosis.findings if seq in f.cited_lines]

    # -- modes and navigation --------------------------------------------------------------------
    def _back_to_session(self) -> None:
        while len(self.screen_stack) > 1 and isinstance(self.screen, PaneScreen):
            self.pop_screen()

    async def action_show_tab(self, tab: str) -> None:
        if tab == "session":
            self._back_to_session()
            self.transcript.focus()
            return
        if isinstance(self.screen, ModalScreen):
            return  # a dialog is open
        screen = self.pane_screen(tab)
        if self.screen is screen:
            return
        if isinstance(self.screen, PaneScreen):
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)

    async def action_back(self) -> None:
        filter_input = self.main_screen.query_one("#filter", Input)
        if filter_input.has_focus:
            filter_input.value = ""
            self.transcript.set_filter("")
            filter_input.remove_class("-active")
        await self.action_show_tab("session")

    def action_toggle_explain(self) -> None:
        self.explain = not self.explain

    def watch_explain(self, on: bool) -> None:
        self.transcript.explain = on
        self._refresh_status_keep()

    def action_toggle_presenter(self) -> None:
        self.presenter = not self.presenter

    def watch_presenter(self, on: bool) -> None:
        self.transcript.presenter = on
        self.diagnosis_pane.presenter = on
        self.diagnosis_pane.refresh_view()
        if self.token_inspector is not None:
            self.token_inspector.presenter = on
            self.token_inspector.show(self.token)
        if "settings" in self._pane_screens:
            self._pane_screens["settings"].content.set_presenter(on)  # type: ignore[attr-defined]
        self._refresh_status_keep()

    def _refresh_status_keep(self) -> None:
        if not self.is_mounted:
            return
        if self.running:
            self._show_status(kind="running")
        elif self.outcome is not None:
            ok = self.outcome.exit_code == 0
            top = self.diagnosis_pane.diagnosis.top
            self._show_status((f"{top.id} ← " if top and not ok else "") + self.outcome.summary, "ok" if ok else "failed")
        else:
            self._show_status()

    def action_filter(self) -> None:
        self._back_to_session()
        filter_input = self.main_screen.query_one("#filter", Input)
        filter_input.add_class("-active")
        filter_input.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.transcript.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("-active")
        self.transcript.focus()

    def action_focus_findings(self) -> None:
        self._back_to_session()
        self.diagnosis_pane.findings_list.focus()

    def action_copy_fix(self) -> None:
        self.diagnosis_pane.action_copy_fix()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME

    # -- panes' own messages ---------------------------------------------------------------------
    def on_lab_picker_run_scenario(self, event: LabPicker.RunScenario) -> None:
        self.start(Target(scenario=event.scenario_id))

    def on_settings_pane_run_requested(self) -> None:
        from widgets.settings import SettingsError

        try:
            settings = self.pane_screen("settings").content.to_settings()  # type: ignore[attr-defined]
        except SettingsError as error:
            self.notify(str(error), severity="error", timeout=6)
            return
        self.start(Target(settings=settings))

    def on_settings_pane_profile_action(self, event: SettingsPane.ProfileAction) -> None:
        from tui.profiles import load_profile, save_profile
        from widgets.settings import SettingsError

        pane: SettingsPane = self.pane_screen("settings").content  # type: ignore[assignment]
        if not event.name:
            self.notify("Type a profile name first", severity="warning")
            return
        try:
            if event.action == "save":
                where = save_profile(event.name, pane.to_settings())
                self.notify(f"Saved profile {event.name} ({where})")
            else:
                pane.load(load_profile(event.name))
                self.notify(f"Loaded profile {event.name}")
        except (SettingsError, OSError, KeyError, ValueError) as error:
            self.notify(f"Profile {event.name}: {error}", severity="error")

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
                                 datetime.fromtimestamp(self.clock(), UTC))
        except OSError as error:
            self.notify(f"Export failed: {error}", severity="error")
            return []
        self.notify("Wrote " + ", ".join(str(p) for p in paths))
        return paths

    def action_export_screenshot(self) -> Path:
        self.export_dir.mkdir(parents=True, exist_ok=True)
        path = Path(self.save_screenshot(f"mailscope-{self._stamp()}.svg", str(self.export_dir)))
        self.notify(f"Wrote {path}")
        return path

    # -- command palette -------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for action, title, help_text in ACTIONS:
            yield SystemCommand(title, help_text, lambda a=action: self.run_action(a))
        for scenario in self.scenarios:
            yield SystemCommand(f"Run lab scenario {scenario.id}", scenario.title,
                                lambda s=scenario.id: self.start(Target(scenario=s)))
        yield from super().get_system_commands(screen)
