"""Diagnosis pane: ranked findings (severity colour, owner), the selected finding's explanation, copyable
fix steps and evidence, and the checks done / not done, updating while the session runs."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mailscope.findings import Diagnosis, EvidenceKind, Finding, Severity

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold cyan"}
SEVERITY_BADGE = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "INFO "}


def fix_steps_text(finding: Finding) -> str:
    """The fix steps as plain text, numbered: what `y` copies to the clipboard."""
    return "\n".join(f"{i}. {step}" for i, step in enumerate(finding.fix, 1))


class DiagnosisPane(Widget, can_focus=False):
    """Findings list on top, details of the highlighted one below."""

    DEFAULT_CSS = """
    DiagnosisPane { layout: vertical; }
    DiagnosisPane > #summary { height: auto; padding: 0 1; text-style: bold; }
    DiagnosisPane > OptionList { height: auto; max-height: 45%; border: none; padding: 0; }
    DiagnosisPane > VerticalScroll { height: 1fr; padding: 0 1; }
    DiagnosisPane .cited-note { color: $warning; }
    """

    BINDINGS = [Binding("y", "copy_fix", "Copy fix", show=True)]

    class FindingSelected(Message):
        def __init__(self, finding: Finding | None) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, *, mask: Callable[[str], str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.diagnosis = Diagnosis()
        self.running = False
        self.presenter = False
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
            self.mount(self._list, VerticalScroll(self._detail, id="details"))
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

    def mark_citing(self, finding_ids: frozenset[str]) -> None:
        """Findings that cite the selected transcript line get a pointer."""
        if finding_ids == self._marked:
            return
        self._marked = finding_ids
        for i, finding in enumerate(self.diagnosis.findings):
            self.findings_list.replace_option_prompt_at_index(i, self._finding_prompt(finding))

    def refresh_view(self) -> None:
        self.show(self.diagnosis)

    def _finding_prompt(self, finding: Finding) -> Table:
        """Badge in a column of its own, so a long title wraps under the title, not under the badge."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)
        marker = "▶" if finding.id in self._marked else " "
        badge = Text.assemble((marker, "bold"), (SEVERITY_BADGE[finding.severity], SEVERITY_STYLE[finding.severity]))
        body = Text.assemble(
            (finding.id, "bold"),
            ("" if finding.confirmed else " (candidate)", "dim"),
            "\n",
            self._m(finding.title),
            ("\nowner: ", "dim"),
            (str(finding.owner), "italic"),
        )
        grid.add_row(badge, body)
        return grid

    def _render_summary(self) -> None:
        """One line: the count and the checks; the diagnosis' own summary only when no finding says more."""
        diagnosis = self.diagnosis
        state = "running… " if self.running else ""
        done = sum(1 for c in diagnosis.checks if c.done)
        checks = f" · checks {done}/{len(diagnosis.checks)} done" if diagnosis.checks else ""
        if diagnosis.findings:
            errors = sum(1 for f in diagnosis.findings if f.severity is Severity.ERROR)
            body = f"{len(diagnosis.findings)} finding(s), {errors} error(s)"
        elif diagnosis.summary:
            body = self._m(diagnosis.summary)
        else:
            body = "no findings yet" if self.running else "no findings"
        self.query_one("#summary", Static).update(Text(state + body + checks))

    def _render_detail(self) -> None:
        finding = self.selected
        parts: list[Text] = []
        if finding is not None:
            parts.append(Text(self._m(finding.title), style=SEVERITY_STYLE[finding.severity]))
            parts.append(Text(self._m(finding.explanation)))
            parts.append(Text.assemble(("Owner: ", "bold"), str(finding.owner)))
            if finding.fix:
                parts.append(Text("Fix (y copies):", style="bold"))
                parts.extend(Text(f"  {i}. {self._m(step)}") for i, step in enumerate(finding.fix, 1))
            if finding.decide:  # an unconfirmed candidate: what to run or paste so the evidence decides
                parts.append(Text("To decide:", style="bold"))
                parts.extend(Text(f"  - {self._m(step)}") for step in finding.decide)
            if finding.evidence:
                parts.append(Text("Evidence:", style="bold"))
                for ref in finding.evidence:
                    where = f"line {ref.seq}" if ref.kind is EvidenceKind.LINE and ref.seq is not None else str(ref.kind)
                    value = f" = {self._m(ref.value)}" if ref.value else ""
                    parts.append(Text(f"  [{where}] {self._m(ref.name)}{value}"))
            if finding.links:
                parts.append(Text("Read more: " + "  ".join(finding.links), style="dim"))
        if self.diagnosis.checks:
            parts.append(Text("Checks:", style="bold"))
            for check in self.diagnosis.checks:
                mark, style = ("✓", "green") if check.done else ("·", "dim")
                detail = f" — {self._m(check.detail)}" if check.detail else ""
                parts.append(Text.assemble((f"  {mark} ", style), check.name, (detail, "dim")))
        self._parts()[1].update(Text("\n").join(parts) if parts else "")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._render_detail()
        self.post_message(self.FindingSelected(self.selected))

    def action_copy_fix(self) -> None:
        finding = self.selected
        if finding is None or not finding.fix:
            self.notify("No fix steps to copy", severity="warning")
            return
        self.app.copy_to_clipboard(fix_steps_text(finding))
        self.notify(f"Copied {len(finding.fix)} fix step(s) for {finding.id}")
