"""The Audit view: an audit's summary grouped by finding (`mailscope audit`'s JSON Lines output, or a lab fleet audited
from here), each group with its count, owner and the fix once; pick a group, then any of its mailboxes, and its
transcript and diagnosis show in the transcript and diagnosis panes beside it.

A large output must not stall the console: the file is read on a thread, one line at a time, keeping per mailbox only
what the summary needs and where its record starts; a mailbox's record is read back (on a thread) when it is shown.
A lab fleet is audited on a thread with its own event loop, as `mailscope audit --lab-fleet N` runs it, into the
console's reports directory, and then read like any output. Everything read is a file someone may have edited: its
text is control-escaped before it reaches the screen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from mailscope.findings import Diagnosis
from mailscope.redact import escape_controls
from widgets.diagnosis import DiagnosisPane
from widgets.transcript import Transcript

if TYPE_CHECKING:
    from mailscope.audit.runner import Progress
    from mailscope.audit.summary import AuditSummary, FindingGroup, MailboxRef
    from mailscope.events import TranscriptLine

SOURCE_HELP = "an audit output (.jsonl) to open, or --lab-fleet N to audit a lab fleet of N mailboxes; Enter"
FLEET = re.compile(r"^--lab-fleet\s+(\d+)$")
PROGRESS_EVERY = 200  # lines read between two progress updates


@dataclass(frozen=True, slots=True)
class LoadedAudit:
    path: str
    summary: AuditSummary
    offsets: dict[tuple[int, str, str], int]  # (row, user, protocol) -> where its record starts in the file
    skipped: int  # lines that were no audit record (a hand-edited or foreign file)


class AuditView(Widget):
    DEFAULT_CSS = """
    AuditView { layout: vertical; height: 1fr; }
    AuditView > #audit-source { margin: 0 1; }
    AuditView > #audit-status { height: auto; padding: 0 1; background: $panel; }
    AuditView > #audit-body { height: 1fr; }
    AuditView #audit-summary-column { width: 2fr; }
    AuditView #audit-groups { height: 1fr; border: round $primary; }
    AuditView #audit-group { height: auto; max-height: 12; padding: 0 1; }
    AuditView #audit-mailboxes { height: 1fr; border: round $secondary; }
    AuditView #audit-session-column { width: 3fr; }
    AuditView #audit-transcript { height: 1fr; border: round $primary; }
    AuditView #audit-diagnosis { height: 1fr; border: round $secondary; }
    """

    def __init__(self, *, reports_dir: Path, mask: Callable[[str], str] | None = None, presenter: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reports_dir = reports_dir
        self._mask = mask
        self.presenter = presenter  # masks mailbox names, the group's fix text and the drilled-in session (a shared screen)
        self.loaded: LoadedAudit | None = None
        self.group: FindingGroup | None = None
        self.mailbox: MailboxRef | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=SOURCE_HELP, id="audit-source")
        yield Static(Text(f"No audit open: type {SOURCE_HELP}.", style="dim"), id="audit-status")
        with Horizontal(id="audit-body"):
            with Vertical(id="audit-summary-column"):
                groups = OptionList(id="audit-groups")
                groups.border_title = "Findings"
                yield groups
                yield Static("", id="audit-group")
                mailboxes = OptionList(id="audit-mailboxes")
                mailboxes.border_title = "Mailboxes"
                yield mailboxes
            with Vertical(id="audit-session-column"):
                transcript = Transcript(id="audit-transcript", mask=self._mask)
                transcript.presenter = self.presenter
                transcript.border_title = "Transcript"
                transcript.placeholder = "Pick a mailbox: its transcript shows here."
                yield transcript
                pane = DiagnosisPane(id="audit-diagnosis", mask=self._mask)
                pane.presenter = self.presenter
                pane.border_title = "Diagnosis"
                yield pane

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#audit-transcript", Transcript)

    @property
    def diagnosis_pane(self) -> DiagnosisPane:
        return self.query_one("#audit-diagnosis", DiagnosisPane)

    # -- opening an output or auditing a fleet ------------------------------------------------------------------
    @on(Input.Submitted, "#audit-source")
    def _source_given(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        fleet = FLEET.match(text)
        if fleet:
            from mailscope.lab.fleet import MAX_FLEET_SIZE

            size = int(fleet.group(1))
            if not 1 <= size <= MAX_FLEET_SIZE:
                self._status(f"a lab fleet has 1 to {MAX_FLEET_SIZE:,} mailboxes", style="red")
                return
            self._status(f"auditing a lab fleet of {size} mailboxes …")
            self._audit_fleet(size)
        elif text:
            self._status(f"reading {text} …")
            self._load(str(Path(text).expanduser()))
        else:
            self._status(f"Type {SOURCE_HELP}.", style="dim")

    @work(thread=True, exclusive=True, group="audit", exit_on_error=False)
    def _load(self, path: str) -> None:
        self._read_into_view(path)

    def _read_into_view(self, path: str) -> None:
        """On the worker's thread: summarize the file, then show it on the UI's."""
        try:
            loaded = load_audit(path, lambda count: self.app.call_from_thread(self._status, f"reading {path}: {count} records …"))
        except OSError as error:
            self.app.call_from_thread(self._status, f"cannot read {path}: {error.strerror or error}", style="red")
            return
        if loaded is not None:  # None: cancelled (another file, or the console closing)
            self.app.call_from_thread(self.show_audit, loaded)

    @work(thread=True, exclusive=True, group="audit", exit_on_error=False)
    def _audit_fleet(self, size: int) -> None:
        import asyncio

        from mailscope.audit import eventloop

        output = self.reports_dir / f"lab-fleet-{size}-seed-0.audit.jsonl"
        try:
            self.reports_dir.mkdir(parents=True, exist_ok=True)
            eventloop.run(audit_lab_fleet(size, str(output), self._fleet_progress))
        except asyncio.CancelledError:
            return
        except (OSError, ValueError, LookupError) as error:  # AuditInputError is a ValueError
            message = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.app.call_from_thread(self._status, f"the lab fleet audit failed: {message}", style="red")
            return
        self._read_into_view(str(output))

    def _fleet_progress(self, progress: Progress) -> bool:
        """Shown at most every 50 mailboxes; False once the worker is cancelled (the audit stops then)."""
        if progress.done % 50 == 0 or progress.done == progress.total:
            self.app.call_from_thread(
                self._status, f"lab fleet: {progress.done}/{progress.total} mailboxes, {progress.rate:.0f}/s, {progress.failed} failed …"
            )
        return not get_current_worker().is_cancelled

    # -- the summary ------------------------------------------------------------------------------------------
    def show_audit(self, loaded: LoadedAudit) -> None:
        from mailscope.audit.summary import summary_text

        self.loaded, self.group, self.mailbox = loaded, None, None
        summary = loaded.summary
        headline = summary_text(summary).splitlines()[0]
        skipped = f" · {loaded.skipped} line(s) were no audit record" if loaded.skipped else ""
        self._status(f"{escape_controls(loaded.path)}: {headline}{skipped}")
        groups = self.query_one("#audit-groups", OptionList)
        groups.clear_options()
        for group in summary.groups:
            owner = f" · {group.owner}" if group.owner else ""
            groups.add_option(
                Option(Text.assemble((f"{group.count:>5} ", "bold"), _shown(f"{group.id}: {group.title}{owner}")), id=group.id)
            )
        self.query_one("#audit-mailboxes", OptionList).clear_options()
        self.query_one("#audit-group", Static).update("")
        self.transcript.clear()
        self.diagnosis_pane.show(Diagnosis())
        if summary.groups:
            groups.highlighted = 0
            groups.focus()

    @on(OptionList.OptionHighlighted, "#audit-groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.loaded is None:
            return
        group = next((g for g in self.loaded.summary.groups if g.id == event.option.id), None)
        if group is None or group is self.group:
            return
        self.group = group
        self._show_group(group)

    def _show_group(self, group: FindingGroup, *, keep_highlight: bool = False) -> None:
        self.query_one("#audit-group", Static).update(group_text(group, self._shown))
        mailboxes = self.query_one("#audit-mailboxes", OptionList)
        highlighted = mailboxes.highlighted if keep_highlight else None
        mailboxes.clear_options()
        mailboxes.add_options(
            [Option(self._shown(f"row {m.row:>5}  {m.user}  ({m.protocol})"), id=str(index)) for index, m in enumerate(group.mailboxes)]
        )
        mailboxes.highlighted = highlighted

    def set_presenter(self, on: bool) -> None:
        """Presenter mode switched: everything that names a mailbox is drawn again, masked or not."""
        self.presenter = on  # read by compose too: a view still composing gets it there
        for pane in self.query("#audit-transcript, #audit-diagnosis"):
            pane.presenter = on
        for diagnosis in self.query(DiagnosisPane):
            diagnosis.refresh_view()
        if self.group is not None:
            self._show_group(self.group, keep_highlight=True)
        if self.mailbox is not None:
            self.transcript.border_title = self._shown(f"Transcript: row {self.mailbox.row} {self.mailbox.user}")

    def _shown(self, text: str) -> str:
        """`text` as this view may draw it: control characters escaped, identifiers masked in presenter mode."""
        return _shown(self._mask(text) if self.presenter and self._mask is not None else text)

    @on(OptionList.OptionSelected, "#audit-groups")
    def _group_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        mailboxes = self.query_one("#audit-mailboxes", OptionList)
        if mailboxes.option_count:
            mailboxes.highlighted = 0
            mailboxes.focus()

    # -- one mailbox --------------------------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#audit-mailboxes")
    def _mailbox_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.loaded is None or self.group is None or event.option.id is None:
            return
        mailbox = self.group.mailboxes[int(event.option.id)]
        offset = self.loaded.offsets.get((mailbox.row, mailbox.user, mailbox.protocol))
        if offset is not None and mailbox != self.mailbox:
            self.mailbox = mailbox
            self._read_mailbox(self.loaded.path, offset, mailbox)

    @work(thread=True, exclusive=True, group="audit-mailbox", exit_on_error=False)
    def _read_mailbox(self, path: str, offset: int, mailbox: MailboxRef) -> None:
        """One record read back and restored as a case file is (mailscope.casefile: checked, redacted, escaped again)."""
        from mailscope.casefile import CaseFileError, parse_case

        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                case = parse_case(handle.readline(), f"row {mailbox.row} of {path}")
        except (OSError, CaseFileError) as error:
            message = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.app.call_from_thread(self._status, f"cannot show row {mailbox.row}: {message}", style="red")
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_mailbox, mailbox, case.record.lines, case.record.diagnosis)

    def _show_mailbox(self, mailbox: MailboxRef, lines: list[TranscriptLine], diagnosis: Diagnosis) -> None:
        if mailbox != self.mailbox:
            return  # another mailbox was picked meanwhile
        self.transcript.clear()
        self.transcript.add_many(lines)
        self.transcript.flush()
        self.transcript.set_cited(seq for finding in diagnosis.findings for seq in finding.cited_lines)
        self.transcript.border_title = self._shown(f"Transcript: row {mailbox.row} {mailbox.user}")
        self.diagnosis_pane.show(diagnosis, running=False)

    @on(DiagnosisPane.FindingSelected)
    def _finding_selected(self, event: DiagnosisPane.FindingSelected) -> None:
        event.stop()  # the session view's panes are not ours
        self.transcript.set_highlighted(event.finding.cited_lines if event.finding else ())

    def _status(self, text: str, *, style: str = "") -> None:
        self.query_one("#audit-status", Static).update(Text(text, style=style))


def _shown(text: str) -> str:
    return escape_controls(text, keep_newlines=False)


def group_text(group: FindingGroup, shown: Callable[[str], str] = _shown) -> Text:
    """The group as `mailscope audit` prints it: owner, the fix once (or each variant with its share), what is not ruled
    out. `shown` makes each text safe to draw (and masks it in presenter mode)."""
    lines = [Text(shown(f"{group.title} ({group.count} mailbox{'es' if group.count != 1 else ''})"), style="bold")]
    if group.owner:
        lines.append(Text(shown(f"owner: {group.owner}")))
    for variant in group.fixes:
        share = f" [{variant.count} of {group.count}]" if len(group.fixes) > 1 else ""
        lines += [Text(shown(f"fix{share}: {step}")) for step in variant.steps]
    if group.also:
        lines.append(Text(shown("not ruled out: " + ", ".join(f"{fid} ({n})" for fid, n in group.also)), style="dim"))
    return Text("\n").join(lines)


def load_audit(path: str, progress: Callable[[int], None]) -> LoadedAudit | None:
    """Summarize an audit output, one line at a time (any size, little memory); None when the worker is cancelled.
    OSError when it cannot be read (a FIFO or device is refused, never read)."""
    from mailscope.audit.summary import MailboxResult, summarize
    from mailscope.localfile import read_regular_file

    read_regular_file(path, 0)  # a regular file, or NotRegularFile: a FIFO is never opened for reading here
    worker = get_current_worker()
    results, offsets, skipped, offset = [], {}, 0, 0
    with open(path, "rb") as handle:
        for line in handle:
            start, offset = offset, offset + len(line)
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("audit"), dict):
                skipped += bool(line.strip())
                continue
            result = MailboxResult.from_record(record)
            results.append(result)
            offsets[(result.row, result.user, result.protocol)] = start
            if len(results) % PROGRESS_EVERY == 0:
                if worker.is_cancelled:
                    return None
                progress(len(results))
    return LoadedAudit(path, summarize(results), offsets, skipped)


async def audit_lab_fleet(size: int, output_path: str, progress: Callable[[Progress], bool]) -> None:
    """`mailscope audit --lab-fleet N -o OUTPUT --overwrite`, quietly: the fleet's lab, its sheet, every mailbox once.
    `progress` returning False stops the audit (the records written so far stay whole)."""
    import asyncio

    from mailscope.audit.output import AuditOutput
    from mailscope.audit.plan import plan_audit, read_csv_file
    from mailscope.audit.runner import run_audit
    from mailscope.lab.fleet import FleetLab
    from providers.profiles import parse_secret_source
    from providers.shared_tokens import AuditCredentials, audit_settings
    from tui.commands.common import guarded_diagnoser
    from tui.commands.lab_fleet import fleet_from_args

    task = asyncio.current_task()
    assert task is not None

    def on_progress(state: Progress) -> None:
        if not progress(state):
            task.cancel()

    async with FleetLab(fleet_from_args(size, 0, "imap")) as lab:
        plan = plan_audit(read_csv_file(lab.mailboxes_csv), lab.settings, secret_source=parse_secret_source, adapt=audit_settings)
        output = AuditOutput(output_path, overwrite=True)
        try:
            await run_audit(plan.items, AuditCredentials(), guarded_diagnoser(), output.append, on_progress=on_progress)
        finally:
            output.close()


