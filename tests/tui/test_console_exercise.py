"""The console's Exercise view against the real lab and the real training engine: the scenario's cause is nowhere on
the rendered screen (status row, transcript, annotations, facts, palette, help) until the trainee answers; a right and
a wrong answer both end in the reveal and one line in the results file; hints cost points; a course runs its
scenarios in turn and ends with its summary; the view keeps its state when left and entered again in any order."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.lab.scenarios import scenario
from tui.app import MailscopeApp
from tui.exercise_view import ExerciseView
from tui.session import Target

SIZE = (140, 45)
CAUSE = "ms_graph_scope_or_audience"
HIDDEN = (CAUSE, CATALOGUE[CAUSE].title, "ms-graph-scope", scenario("ms-graph-scope").title)
FIX = CATALOGUE[CAUSE].fix  # offered among other fixes by the last question, never before


def screen_text(app: MailscopeApp) -> str:
    """Everything the terminal shows now, as plain text (the topmost screen: a palette or dialog included)."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        record=True,
        color_system=None,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


def assert_concealed(app: MailscopeApp, view: ExerciseView, *, fix_offered: bool = False) -> None:
    shown = [
        screen_text(app),
        *(f"{line.text} {' '.join(line.annotations)}" for line in view.transcript.lines),
        *(str(view.query_one(part).render()) for part in ("#exercise-status", "#exercise-facts", "#exercise-hints")),
    ]
    for text in shown:
        for hidden in HIDDEN if fix_offered else (*HIDDEN, *FIX):
            assert hidden not in text, f"{hidden!r} is on screen before the answer:\n{text}"


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "mailscope" / "training" / "results.jsonl"


def make_app(tmp_path: Path) -> MailscopeApp:
    return MailscopeApp(Target(scenario="ms-seed-plain"), export_dir=tmp_path / "reports", flush_hz=10)


async def start(app: MailscopeApp, pilot, source: str) -> ExerciseView:
    await pilot.press("g")
    await pilot.pause()
    view = app.screen.query_one(ExerciseView)
    await pilot.press(*source, "enter")
    for _ in range(400):
        await pilot.pause(0.05)
        if view.exercise is not None and not view.choices.has_class("-hidden"):
            return view
    raise AssertionError(f"the exercise did not start:\n{screen_text(app)}")


def option_number(view: ExerciseView, cause: str, *, right: bool) -> str:
    ids = [option.id for option in view.exercise.form.causes]
    return str((ids.index(cause) if right else next(i for i, c in enumerate(ids) if c != cause)) + 1)


@pytest.mark.parametrize("right", [True, False])
async def test_the_cause_stays_hidden_until_answered_then_the_reveal_and_a_results_line(tmp_path, results, right):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await start(app, pilot, "ms-graph-scope")
        screen = screen_text(app)
        assert "NO AUTHENTICATE failed." in screen and "aud: https://graph.microsoft.com" in screen and "What is the cause?" in screen
        assert_concealed(app, view)
        await pilot.press("h")  # a hint costs its share and names no cause either
        await pilot.pause()
        assert "Hint 1" in screen_text(app) and view.exercise.hints_taken == 1
        assert_concealed(app, view)
        for keys in (("ctrl+p",), ("escape", "question_mark")):  # the palette and the help name no scenario or cause
            await pilot.press(*keys)
            await pilot.pause(0.3)
            assert_concealed(app, view)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press(option_number(view, CAUSE, right=right))
        await pilot.pause()
        assert "Who must fix it?" in screen_text(app)
        assert_concealed(app, view)
        await pilot.press("1")
        await pilot.pause()
        assert "Which fix?" in screen_text(app)
        assert_concealed(app, view, fix_offered=True)
        await pilot.press("1")
        await pilot.pause(0.3)
        screen = screen_text(app)
        assert f"The cause: {CATALOGUE[CAUSE].title} [{CAUSE}]" in str(view.query_one("#exercise-reveal").render())
        assert CAUSE in screen and ("right: score" if right else "wrong: score 0") in screen
        assert view.transcript.explain and view.transcript.lines  # explain mode on the real transcript, decisive lines lit
        [line] = [json.loads(row) for row in results.read_text().splitlines()]
        assert (line["scenario"], line["correct"]["cause"], line["hints"]) == ("ms-graph-scope", right, 1)
        assert line["score"] == (
            round(1 - line["hint_cost"] - 0.25 * (line["correct"]["owner"] is False) - 0.25 * (line["correct"]["fix"] is False), 2)
            if right
            else 0.0
        )


async def test_the_view_keeps_its_exercise_when_left_and_entered_in_any_order(tmp_path, results):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await start(app, pilot, "ms-graph-scope")
        await pilot.press("h")
        lines = view.transcript.lines
        for key in ("escape", "a", "escape", "t", "g", "l", "s", "escape", "g", "a", "escape", "g"):  # the Audit view's input has the keys
            await pilot.press(key)
            await pilot.pause()
        assert app.current_mode == "exercise" and app.screen.query_one(ExerciseView) is view
        assert view.transcript.lines == lines and view.exercise.hints_taken == 1 and view.choices.has_focus
        assert_concealed(app, view)


async def test_a_course_runs_its_scenarios_in_turn_and_ends_with_its_summary(tmp_path, results):
    course = tmp_path / "course.toml"
    course.write_text(
        'schema = "mailscope.course/1"\ntitle = "Two causes"\npass_mark = 0.5\nscenarios = ["ms-graph-scope", "ms-healthy"]\n'
    )
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = await start(app, pilot, str(course))
        assert "Two causes: exercise 1 of 2" in screen_text(app)
        for number in range(2):
            exercise = view.exercise
            steps = 3 if exercise.form.asks_owner_and_fix else 1
            await pilot.press(option_number(view, exercise.right.cause, right=True))
            for _ in range(steps - 1):
                await pilot.pause()
                await pilot.press("1")
            await pilot.pause(0.3)
            if number == 0:
                await pilot.press("n")
                for _ in range(400):
                    await pilot.pause(0.05)
                    if view.exercise is not exercise and not view.choices.has_class("-hidden"):
                        break
                assert "Two causes: exercise 2 of 2" in screen_text(app)
        reveal = str(view.query_one("#exercise-reveal").render())
        assert "== Course: Two causes ==" in reveal and "passed" in reveal
        assert [json.loads(row)["course"] for row in results.read_text().splitlines()] == ["Two causes", "Two causes"]


async def test_a_bad_source_is_a_clear_message_and_nothing_runs(tmp_path, results):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*"no-such-scenario", "enter")
        await pilot.pause()
        view = app.screen.query_one(ExerciseView)
        assert view.exercise is None and "unknown lab scenario 'no-such-scenario'" in screen_text(app)
        assert not results.exists()
