"""Lab scenario picker: every reproducible failure scenario, one key (Enter) to run it."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True, slots=True)
class ScenarioInfo:
    id: str
    title: str
    failure_ids: tuple[str, ...] = ()
    note: str = ""


class LabPicker(Widget):
    DEFAULT_CSS = """
    LabPicker { layout: vertical; }
    LabPicker > #lab-intro { height: auto; padding: 0 1; color: $text-muted; }
    LabPicker > OptionList { height: 1fr; border: none; }
    LabPicker > #lab-note { height: auto; max-height: 8; padding: 0 1; border-top: solid $primary; }
    """

    class RunScenario(Message):
        def __init__(self, scenario_id: str) -> None:
            super().__init__()
            self.scenario_id = scenario_id

    def __init__(self, scenarios: list[ScenarioInfo], *, current: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scenarios = scenarios
        self.current = current

    def compose(self) -> ComposeResult:
        intro = ("Lab: emulated Exchange / Gmail servers and a local identity provider reproduce real failures, "
                 "no account needed. r or Enter runs the highlighted scenario.")
        yield Static(intro if self.scenarios else "The lab is not available in this installation.", id="lab-intro")
        options = OptionList(*[Option(self._prompt(s), id=s.id) for s in self.scenarios], id="scenarios")
        yield options
        yield Static("", id="lab-note")

    def on_mount(self) -> None:
        ids = [s.id for s in self.scenarios]
        if self.current in ids:
            self.query_one(OptionList).highlighted = ids.index(self.current)

    @property
    def highlighted_id(self) -> str | None:
        """The scenario under the cursor: what r and Enter run."""
        index = self.query_one(OptionList).highlighted
        return self.scenarios[index].id if index is not None and index < len(self.scenarios) else None

    @staticmethod
    def _prompt(s: ScenarioInfo) -> Text:
        expect = ", ".join(s.failure_ids) if s.failure_ids else "healthy: no finding expected"
        return Text.assemble((s.id, "bold"), "  ", s.title, "\n    ", (f"expect: {expect}", "dim"))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        scenario = self.scenarios[event.option_index]
        self.query_one("#lab-note", Static).update(Text(scenario.note or scenario.title))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.RunScenario(self.scenarios[event.option_index].id))
