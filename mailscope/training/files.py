"""Checking mailscope's training files without running them (`mailscope lab validate`): scenarios, courses and answer
files, told apart by their `schema` line; a directory stands for its `*.toml` files. Scenario ids must be unique
across the files checked and the built-ins; a course's entries must resolve."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mailscope.datafile import DataFileError, Problem, by_line, read
from mailscope.lab.scenarios import SCENARIOS, Scenario
from mailscope.lab.scenarios import schema as scenario_schema
from mailscope.lab.scenarios.registry import duplicate_ids
from mailscope.training.course import ANSWERS_SCHEMA, COURSE_SCHEMA, parse_answers, parse_course

KINDS = {scenario_schema.SCHEMA: "scenario", COURSE_SCHEMA: "course", ANSWERS_SCHEMA: "answers"}


@dataclass(frozen=True, slots=True)
class Checked:
    path: str
    kind: str  # "scenario" | "course" | "answers" | "" (not recognised)
    name: str  # the scenario's id, the course's title, the trainee
    problems: tuple[Problem, ...]


def check_paths(paths: Iterable[str | Path]) -> list[Checked]:
    files = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.toml")) if path.is_dir() else [path]
    checked, scenarios = [], []
    for path in files:
        result, scenario = _check(path)
        checked.append(result)
        if scenario is not None:
            scenarios.append(scenario)
    return _with_duplicates(checked, scenarios)


def _check(path: Path) -> tuple[Checked, Scenario | None]:
    try:
        source = read(path)
    except DataFileError as exc:
        return Checked(str(path), "", "", exc.problems), None
    schema = source.data.get("schema")
    kind = KINDS.get(schema, "") if isinstance(schema, str) else ""
    if kind == "course":
        course, problems = parse_course(source)
        if course is not None:
            try:
                course.scenarios()
            except DataFileError as exc:
                problems += exc.problems
        return Checked(str(path), kind, course.title if course else "", tuple(by_line(problems))), None
    if kind == "answers":
        answers, problems = parse_answers(source)
        return Checked(str(path), kind, answers.trainee if answers else "", tuple(by_line(problems))), None
    scenario, problems = scenario_schema.parse(source)  # also explains a missing or unknown schema line
    return Checked(str(path), "scenario", scenario.id if scenario else "", tuple(problems)), scenario


def _with_duplicates(checked: list[Checked], scenarios: list[Scenario]) -> list[Checked]:
    """An id may be used once among the built-ins and the files checked (a built-in's own file is itself)."""
    extra: dict[str, list[Problem]] = {}
    for problem in duplicate_ids([*SCENARIOS, *scenarios]):
        extra.setdefault(problem.file, []).append(problem)
    return [Checked(c.path, c.kind, c.name, c.problems + tuple(extra.get(c.path, ()))) for c in checked]
