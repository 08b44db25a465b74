"""Diagnosis pane: the session's outcome in full, ranked findings (severity colour, owner; candidates set apart
from confirmed causes), the selected finding's explanation, fix steps, evidence and links, and the checks done
/ not done, updating while the session runs. Prose wraps at spaces only (widgets/wrap.py): a scope, a URL or
an identifier is never split."""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mailscope.findings import Diagnosis, EvidenceKind, Finding, Severity
from widgets.wrap import wrap_words

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold cyan"}
SEVERITY_BADGE = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "INFO "}
CONFIRMED_BADGE = {Severity.ERROR: "bold white on red", Severity.WARNING: "bold black on yellow", Severity.INFO: "bold black on cyan"}
OUTCOME_STYLE = {"ok": "bold green", "failed": "bold red", "cancelled": "bold yellow", "running": "bold yellow", "": "bold"}
CANDIDATE_NOTE = "Candidate: neither the wire nor the token proves this; confirm it before acting on it."


def fix_steps_text(finding: Finding, mask: Callable[[str], str] = str) -> str:
    """The fix steps as plain text, numbered, then the links: what `y` copies to the clipboard."""
    steps = [f"{i}. {mask(step)}" for i, step in enumerate(finding.fix, 1)]
    links = ["", "Read more:", *(mask(link) for link in finding.links)] if finding.links else []
    return "\n".join(steps + links).strip()


class DiagnosisPane(Widget, can_focus=False):
    """Outcome and counts on top, the findings list, then details of the highlighted finding."""

    DEFAULT_CSS = """
    DiagnosisPane { layout: vertical; }
    DiagnosisPane > #summary { height: auto; padding: 0 1; }
    DiagnosisPane > OptionList { height: auto; max-height: 45%; border: none; padding: 0; }
    DiagnosisPane > #details { height: 1fr; padding: 0 1; overflow-x: auto; overflow-y: auto; }
    DiagnosisPane #detail { width: auto; }
    """

    class FindingSelected(Message):
        def __init__(self, finding: Finding | None) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, *, mask: Callable[[str], str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.diagnosis = Diagnosis()
        self.running = False
        self.presenter = False
        self.outcome = ""  # the session's outcome in full ("" before the end)
        self.outcome_kind = ""  # "ok" | "failed" | "cancelled" | "running" | ""
        self._mask = mask
        self._marked: frozenset[str] = frozenset()
        self._list: OptionList | None = None
        self._detail: Static | None = None

    def compose(self) -> ComposeResult:
        # The list and the details are mounted with the first diagnosis: less to build before the first frame.
        yield Static("No session yet. Press r to run the selected lab scenario or your settings.", id="summary")

    def _parts(self) -> tuple[OptionList, Static]:
        """The findings list and the detail view, mounted on first use."""
        if self._list is None or self._detail is None:
            self._list, self._detail = OptionList(id="findings"), Static("", id="detail")
            self.mount(self._list, ScrollableContainer(self._detail, id="details", can_focus=False))
        return self._list, self._detail

    @property
    def findings_list(self) -> OptionList:
        return self._parts()[0]

    @property
    def selected(self) -> Finding | None:
        index = self.findings_list.highlighted
        if index is None or index >= len(self.diagnosis.findings):
            return None
        return self.diagnosis.findings[index]

    def _m(self, text: str) -> str:
        return self._mask(text) if self.presenter and self._mask else text

    @property
    def mask(self) -> Callable[[str], str]:
        return self._m

    def show(self, diagnosis: Diagnosis, *, running: bool | None = None) -> None:
        """Replace the content. While the user is browsing the list, the selection stays on the same finding id;
        otherwise the top-ranked finding is selected."""
        if running is not None:
            self.running = running
        previous = self.selected.id if self.selected and self.findings_list.has_focus else None
        self.diagnosis = diagnosis
        options = self.findings_list
        options.clear_options()
        options.add_options([Option(self._finding_prompt(f), id=f"f{i}") for i, f in enumerate(diagnosis.findings)])
        ids = [f.id for f in diagnosis.findings]
        if ids:
            options.highlighted = ids.index(previous) if previous in ids else 0
        self._render_summary()
        self._render_detail()

    def set_outcome(self, text: str, kind: str) -> None:
        """The outcome, in full: the status line may cut it, this never does."""
        self.outcome, self.outcome_kind = text, kind
        self._render_summary()

    def mark_citing(self, finding_ids: frozenset[str]) -> None:
        """Findings that cite the selected transcript line get a pointer."""
        if finding_ids == self._marked:
            return
        self._marked = finding_ids
        for i, finding in enumerate(self.diagnosis.findings):
            self.findings_list.replace_option_prompt_at_index(i, self._finding_prompt(finding))

    def refresh_view(self) -> None:
        self.show(self.diagnosis)

    def on_resize(self) -> None:
        if self._detail is not None:
            self._render_summary()
            self._render_detail()

    def _finding_prompt(self, finding: Finding) -> Table:
        """Badge in a column of its own, so a long title wraps under the title, not under the badge. A confirmed
        cause gets a solid badge; a candidate an outlined one, its title dimmed, and the word candidate."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, overflow="ellipsis")
        marker = "▶" if finding.id in self._marked else " "
        if finding.confirmed:
            badge = Text.assemble((marker, "bold"), (f" {SEVERITY_BADGE[finding.severity].strip():<5} ", CONFIRMED_BADGE[finding.severity]))
            head = Text.assemble((finding.id, "bold"))
            title_style = ""
        else:
            severity = SEVERITY_BADGE[finding.severity].strip().lower()
            badge = Text.assemble((marker, "bold"), (f"({severity}?)", SEVERITY_STYLE[finding.severity]))
            head = Text.assemble((finding.id, "bold dim"), (" candidate", "italic"))
            title_style = "dim italic"
        body = Text.assemble(head, "\n", (self._m(finding.title), title_style), ("\nowner: ", "dim"), (str(finding.owner), "italic"))
        grid.add_row(badge, body)
        return grid

    def _width(self) -> int:
        return max(20, self.content_region.width - 4)

    def _render_summary(self) -> None:
        """The outcome in full (wrapped, never cut), then the counts and checks."""
        diagnosis = self.diagnosis
        done = sum(1 for c in diagnosis.checks if c.done)
        checks = f" · checks {done}/{len(diagnosis.checks)} done" if diagnosis.checks else ""
        if diagnosis.findings:
            confirmed = sum(1 for f in diagnosis.findings if f.confirmed)
            errors = sum(1 for f in diagnosis.findings if f.severity is Severity.ERROR)
            body = f"{len(diagnosis.findings)} finding(s): {errors} error(s), {confirmed} confirmed"
        elif diagnosis.summary:
            body = self._m(diagnosis.summary)
        else:
            body = "no findings yet" if self.running else "no findings"
        lines: list[Text] = []
        if self.running:
            lines.append(Text("running…", style=OUTCOME_STYLE["running"]))
        elif self.outcome:
            outcome = Text.assemble(("Outcome: ", "bold"), (self._m(self.outcome), OUTCOME_STYLE.get(self.outcome_kind, "bold")))
            lines += wrap_words(outcome, self._width(), indent=2)
        lines += wrap_words(Text(body + checks, style="dim" if not diagnosis.findings else ""), self._width(), indent=2)
        self.query_one("#summary", Static).update(Text("\n").join(lines))

    def _render_detail(self) -> None:
        finding = self.selected
        width = self._width()
        lines: list[Text] = []

        def prose(text: Text | str, indent: int = 0, style: str = "") -> None:
            lines.extend(wrap_words(Text(text, style=style) if isinstance(text, str) else text, width, indent=indent))

        if finding is not None:
            if not finding.confirmed:
                prose(CANDIDATE_NOTE, style="italic yellow")
            prose(self._m(finding.explanation))
            prose(Text.assemble(("Owner: ", "bold"), str(finding.owner)))
            if finding.fix:
                lines.append(Text("Fix (y copies the steps):", style="bold"))
                for i, step in enumerate(finding.fix, 1):
                    prose(f"  {i}. {self._m(step)}", indent=5)
            if finding.decide:  # an unconfirmed candidate: what to run or paste so the evidence decides
                lines.append(Text("To decide:", style="bold"))
                for step in finding.decide:
                    prose(f"  - {self._m(step)}", indent=4)
            if finding.evidence:
                lines.append(Text("Evidence:", style="bold"))
                for ref in finding.evidence:
                    where = f"line {ref.seq}" if ref.kind is EvidenceKind.LINE and ref.seq is not None else str(ref.kind)
                    value = f" = {self._m(ref.value)}" if ref.value else ""
                    prose(f"  [{where}] {self._m(ref.name)}{value}", indent=4)
            if finding.links:
                # A link is one line: clickable (OSC 8) with its full target, shortened to the pane when longer;
                # y copies the full addresses.
                lines.append(Text("Read more (y copies the full links):", style="bold"))
                for link in finding.links:
                    target = self._m(link)
                    shown = target if len(target) <= width - 2 else target[: width - 3] + "…"
                    lines.append(Text.assemble("  ", (shown, Style(underline=True, link=target))))
        if self.diagnosis.checks:
            lines.append(Text("Checks:", style="bold"))
            for check in self.diagnosis.checks:
                mark, style = ("✓", "green") if check.done else ("·", "dim")
                detail = f" — {self._m(check.detail)}" if check.detail else ""
                prose(Text.assemble((f"  {mark} ", style), check.name, (detail, "dim")), indent=4)
        content = Text("\n").join(lines) if lines else Text("")
        content.no_wrap = True
        content.overflow = "ignore"
        self._parts()[1].update(content)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._render_detail()
        self.post_message(self.FindingSelected(self.selected))
