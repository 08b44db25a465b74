"""The Exercise view: `mailscope train` in the console. A lab scenario (named, a scenario file, drawn at random, or
each of a course's in turn) runs with its diagnosis hidden; the trainee reads the transcript, the token and the
settings, may take hints (each costs points), answers the cause, who must fix it and the fix from the engine's answer
form, then gets the reveal and the score, appended to the same results file `mailscope train` writes.

All of it is the training engine (mailscope/training): the draw, the concealment, the answer form, the scoring, the
reveal and the results line; this module only shows them. Before the answer nothing on this view names the cause:
its transcript and facts are the engine's concealed `presented`, its status row replaces the console's (which names
the session view's finding), and `conceals` tells the palette to leave the lab scenarios out.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.commands.common import guarded_diagnoser
from widgets.transcript import Transcript

if TYPE_CHECKING:
    from mailscope.lab.scenarios import Scenario
    from mailscope.record import Diagnoser
    from mailscope.training.choices import Option as Choice
    from mailscope.training.course import Course
    from mailscope.training.exercise import Exercise, Result

ExerciseRunner = Callable[["Exercise", "Diagnoser | None"], Awaitable[None]]
QUESTIONS = ("What is the cause?", "Who must fix it?", "Which fix?")
SOURCE_HELP = "Enter draws a scenario at random; or type a scenario id, a scenario file or a course file (*.toml), then Enter"


async def run_in_lab(exercise: Exercise, diagnoser: Diagnoser | None) -> None:
    """The exercise as `mailscope train` runs it: the scenario's lab, a token from the real provider code."""
    from providers.registry import token_source_for

    await exercise.run(token_source_for, diagnoser)


class ExerciseView(Widget):
    DEFAULT_CSS = """
    ExerciseView { layout: vertical; height: 1fr; }
    ExerciseView > #exercise-status { height: auto; padding: 0 1; background: $panel; }
    ExerciseView > #exercise-source { margin: 0 1; }
    ExerciseView > #exercise-source.-hidden { display: none; }
    ExerciseView > #exercise-body { height: 1fr; }
    ExerciseView #exercise-evidence { width: 3fr; }
    ExerciseView #exercise-transcript { height: 2fr; border: round $primary; }
    ExerciseView #exercise-facts-box { height: 1fr; border: round $primary; padding: 0 1; }
    ExerciseView #exercise-side { width: 2fr; border: round $secondary; padding: 0 1; }
    ExerciseView #exercise-side > Static { height: auto; }
    ExerciseView #exercise-choices { width: 1fr; height: auto; max-height: 16; margin: 1 0; }
    ExerciseView .-hidden { display: none; }
    """

    BINDINGS = [
        Binding("h", "hint", "Take the next hint (it costs its share of the point)", id="exercise_hint"),
        Binding("n", "next", "The course's next exercise, or a new one", id="exercise_next"),
    ]

    def __init__(
        self,
        *,
        diagnoser_factory: Callable[[], Diagnoser | None] = guarded_diagnoser,
        run: ExerciseRunner = run_in_lab,
        results_file: Path | None = None,
        mask: Callable[[str], str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        from mailscope.training.results import default_results_file

        self._diagnoser_factory = diagnoser_factory
        self._run_exercise = run
        self.results_file = results_file or default_results_file()
        self._mask = mask
        self.exercise: Exercise | None = None
        self.result: Result | None = None
        self.course: Course | None = None
        self._queue: list[Scenario] = []  # the course's scenarios still to come
        self._done: list[Result] = []  # the course's answered exercises
        self._given: list[str] = []  # the answers so far: cause, owner, fix
        self._hints: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Exercise: find the cause; the diagnosis stays hidden until you answer. {SOURCE_HELP}."), id="exercise-status")
        yield Input(placeholder=SOURCE_HELP, id="exercise-source")
        with Horizontal(id="exercise-body"):
            with Vertical(id="exercise-evidence"):
                transcript = Transcript(id="exercise-transcript", mask=self._mask)
                transcript.border_title = "Transcript"
                yield transcript
                with VerticalScroll(id="exercise-facts-box") as facts:
                    facts.border_title = "Token, settings, outcome"
                    yield Static("", id="exercise-facts")
            with VerticalScroll(id="exercise-side") as side:
                side.border_title = "Exercise"
                yield Static("", id="exercise-reveal")
                yield Static("", id="exercise-question")
                yield OptionList(id="exercise-choices", classes="-hidden")
                yield Static("", id="exercise-hints")

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#exercise-transcript", Transcript)

    @property
    def choices(self) -> OptionList:
        return self.query_one("#exercise-choices", OptionList)

    @property
    def conceals(self) -> bool:
        """An exercise is drawn and not answered yet: nothing may name its cause."""
        return self.exercise is not None and self.result is None

    # -- choosing what to practise ------------------------------------------------------------------------------
    @on(Input.Submitted, "#exercise-source")
    def _source_given(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.course, scenarios = _draw(event.value.strip())
        except (LookupError, ValueError, OSError) as error:  # DataFileError is a ValueError: every problem, located
            problems = getattr(error, "problems", None) or [error]
            self._status("\n".join(str(problem) for problem in problems), style="red")
            return
        event.input.value = ""  # a scenario's id typed here must not stay on screen
        self._done = []
        self._queue = list(scenarios)
        self._begin(self._queue.pop(0))

    def _begin(self, scenario: Scenario) -> None:
        from mailscope.training.exercise import Exercise

        self.exercise, self.result, self._given, self._hints = Exercise(scenario), None, [], []
        self.query_one("#exercise-source").add_class("-hidden")
        self.transcript.clear()
        self.transcript.explain = False
        for part in ("#exercise-facts", "#exercise-question", "#exercise-hints", "#exercise-reveal"):
            self.query_one(part, Static).update("")
        self.choices.add_class("-hidden")
        self._status("Preparing the exercise in the lab …")
        self._run(self.exercise)

    @work(exclusive=True, group="exercise", exit_on_error=False)
    async def _run(self, exercise: Exercise) -> None:
        try:
            await self._run_exercise(exercise, self._diagnoser_factory())
        except Exception as error:  # noqa: BLE001 - the lab could not run it: say so, offer a new draw
            from mailscope.redact import Redactor

            if exercise is self.exercise:
                self.exercise = None
                self._reset(f"The exercise could not run: {Redactor().redact(f'{type(error).__name__}: {error}')}")
            return
        if exercise is self.exercise:
            self._present(exercise)

    # -- before the answer: only what the engine presents --------------------------------------------------------
    def _present(self, exercise: Exercise) -> None:
        from tui.commands.train import render_presented

        presented = exercise.presented
        self.transcript.add_many(presented.lines)
        self.transcript.flush()
        facts = render_presented(dataclasses.replace(presented, lines=())).strip().splitlines()[2:]  # heading: the status row
        self.query_one("#exercise-facts", Static).update(Text("\n".join(facts).strip()))
        self._ask()

    def _ask(self) -> None:
        exercise = self.exercise
        assert exercise is not None
        step = len(self._given)
        options = self._options(step)
        self.query_one("#exercise-question", Static).update(
            Text.assemble((QUESTIONS[step], "bold"), (f"  1-{len(options)}, or ↑/↓ and Enter", "dim"))
        )
        choices = self.choices
        choices.clear_options()
        choices.add_options([Option(Text(f"{number}. {option.text}"), id=option.id) for number, option in enumerate(options, 1)])
        choices.remove_class("-hidden")
        choices.highlighted = 0
        choices.focus()
        self._show_progress()

    def _options(self, step: int) -> tuple[Choice, ...]:
        assert self.exercise is not None
        form = self.exercise.form
        return (form.causes, form.owners, form.fixes)[step]

    @property
    def _question_count(self) -> int:
        """Cause, owner and fix; only the cause for a healthy reference (nothing to fix, nobody to name)."""
        assert self.exercise is not None
        return len(QUESTIONS) if self.exercise.form.asks_owner_and_fix else 1

    def _show_progress(self) -> None:
        exercise = self.exercise
        assert exercise is not None
        hints = f"hints: {exercise.hints_taken} taken (cost {exercise.hint_cost:g}), {exercise.hints_left} left"
        more = f"; h for the next (costs {exercise.scenario.hints[exercise.hints_taken].cost:g})" if exercise.hints_left else ""
        self._status(f"{self._where()}{exercise.heading} · question {len(self._given) + 1} of {self._question_count} · {hints}{more}")

    def _where(self) -> str:
        if self.course is None:
            return "Exercise · "
        return f"{self.course.title}: exercise {len(self._done) + 1} of {len(self.course.entries)} · "

    def action_hint(self) -> None:
        if not self.conceals or self.choices.has_class("-hidden"):
            return
        assert self.exercise is not None
        hint = self.exercise.take_hint()
        if hint is None:
            self.notify("No more hints for this exercise")
            return
        self._hints.append(f"Hint {len(self._hints) + 1} (costs {hint.cost:g}): {hint.text}")
        self.query_one("#exercise-hints", Static).update(Text("\n".join(self._hints), style="italic"))
        self._show_progress()

    def on_key(self, event: events.Key) -> None:
        """A choice's number picks it, as in `mailscope train`."""
        choices = self.choices
        if self.conceals and not choices.has_class("-hidden") and event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < choices.option_count:
                event.stop()
                choices.highlighted = index
                choices.action_select()

    @on(OptionList.OptionSelected, "#exercise-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if not self.conceals or event.option.id is None:
            return
        assert self.exercise is not None
        self._given.append(event.option.id)
        if len(self._given) < self._question_count:
            self._ask()
        else:
            self._answer()

    # -- the answer and the reveal -----------------------------------------------------------------------------
    def _answer(self) -> None:
        from mailscope.training.results import append, result_line
        from mailscope.training.scoring import Answer
        from tui.commands.train import render_result

        exercise = self.exercise
        assert exercise is not None and exercise.record is not None
        self.result = result = exercise.answer(Answer(*self._given))
        course = self.course.title if self.course else None
        try:
            append(self.results_file, result_line(result, course=course))
            written = f"result appended to {self.results_file}"
        except OSError as error:  # a FIFO (NotRegularFile), a read-only directory: the reveal still shows
            written = f"cannot append to {self.results_file}: {error.strerror or error}"
        self._done.append(result)
        self.choices.add_class("-hidden")
        self.query_one("#exercise-question", Static).update("")
        transcript = self.transcript  # the real transcript now, with explain mode on and the decisive lines lit
        transcript.clear()
        transcript.add_many(exercise.record.lines)
        transcript.flush()
        decisive = [line.seq for line in result.reveal.decisive_lines]
        transcript.set_cited(decisive)
        transcript.set_highlighted(decisive)
        transcript.explain = True
        reveal = render_result(result).strip()
        if self.course is not None and not self._queue:
            from mailscope.training.course import CourseSummary
            from tui.commands.train import render_summary

            reveal += "\n" + render_summary(CourseSummary(self.course, tuple((r.scenario, r.score.value) for r in self._done)))
        self.query_one("#exercise-reveal", Static).update(Text(reveal))
        side = self.query_one("#exercise-side", VerticalScroll)
        side.scroll_home(animate=False)
        side.focus()  # the reveal scrolls with the arrow keys; h and n stay this view's
        verdict = "right" if result.score.cause_right else "wrong"
        then = f"n: exercise {len(self._done) + 1} of {len(self.course.entries)}" if self._queue and self.course else "n: a new exercise"
        self._status(
            f"{self._where()}{verdict}: score {result.score.value:g} · {written} · {then}",
            style="green" if result.score.cause_right else "yellow",
        )

    def action_next(self) -> None:
        if self.conceals:
            self.notify("Answer this exercise first (h gives a hint)")
            return
        if self._queue:
            self._begin(self._queue.pop(0))
        else:
            self._reset(f"{SOURCE_HELP}.")

    def _reset(self, message: str) -> None:
        self.course, self._queue = None, []
        self.choices.add_class("-hidden")
        source = self.query_one("#exercise-source", Input)
        source.remove_class("-hidden")
        source.focus()
        self._status(message)

    def _status(self, text: str, *, style: str = "") -> None:
        self.query_one("#exercise-status", Static).update(Text(text, style=style))


def _draw(source: str) -> tuple[Course | None, tuple[Scenario, ...]]:
    """What the trainee typed: nothing (a scenario at random), a scenario id or file, or a course file."""
    from mailscope.datafile import read
    from mailscope.lab.scenarios import available, scenario
    from mailscope.training.course import COURSE_SCHEMA, load_course

    if not source:
        return None, (random.SystemRandom().choice(available()),)
    if source.endswith(".toml") and Path(source).is_file() and read(source).data.get("schema") == COURSE_SCHEMA:
        course = load_course(source)
        return course, course.scenarios()
    return None, (scenario(source),)
