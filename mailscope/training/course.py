"""Courses (`mailscope.course/1`: an ordered list of scenario ids or files and a pass mark) and answer files
(`mailscope.answers/1`: a trainee's answers to a course, for headless scoring), read with located errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mailscope.datafile import DataFileError, Key, Problem, Source, Table, check_schema, load
from mailscope.lab.scenarios import Scenario, available, load_file
from mailscope.training.scoring import Answer, normalise_owner

COURSE_SCHEMA = "mailscope.course/1"
ANSWERS_SCHEMA = "mailscope.answers/1"

COURSE_KEYS = (
    Key("schema", "str", f'"{COURSE_SCHEMA}"', required=True),
    Key("title", "str", "the course's name", required=True, nonempty=True),
    Key("description", "str", "what it teaches"),
    Key("pass_mark", "number", "the average score (0 to 1) needed to pass", required=True, minimum=0, maximum=1),
    Key("scenarios", "strings", "in order: scenario ids (built-in, or in the course's directory or --lab-dir) or files "
        "relative to the course (*.toml)", required=True, nonempty=True),
)
ANSWERS_KEYS = (
    Key("schema", "str", f'"{ANSWERS_SCHEMA}"', required=True),
    Key("trainee", "str", "who answered"),
    Key("answer", "tables", "one [[answer]] per scenario", required=True),
)
ANSWER_KEYS = (
    Key("scenario", "str", "the scenario id", required=True),
    Key("cause", "str", "the finding id of the cause", required=True),
    Key("owner", "str", "who must fix it: user, tenant admin, app registration, client configuration, server, network"),
    Key("fix", "str", "the finding id whose fix was chosen"),
    Key("hints", "int", "hints taken (default 0)", minimum=0, maximum=20),
)


@dataclass(frozen=True, slots=True)
class Course:
    title: str
    description: str
    pass_mark: float
    entries: tuple[str, ...]
    source: str

    def scenarios(self, dirs: Iterable[str | Path] = ()) -> tuple[Scenario, ...]:
        """The course's scenarios in order: files relative to the course; ids among the built-ins, the course's own
        directory and `dirs`. DataFileError naming the course line for an entry that resolves to nothing."""
        home = Path(self.source).parent
        pool = {s.id: s for s in available((home, *dirs))}
        found, problems = [], []
        for index, entry in enumerate(self.entries):
            if entry.endswith(".toml"):
                found.append(load_file(home / entry))
            elif entry in pool:
                found.append(pool[entry])
            else:
                message = f"no scenario {entry!r} (built-in, in {home} or in a --lab-dir)"
                problems.append(Problem(self.source, None, f"scenarios[{index}]", message))
        if problems:
            raise DataFileError(problems)
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Answers:
    trainee: str
    by_scenario: dict[str, tuple[Answer, int]]  # scenario id -> (answer, hints taken)
    source: str


def parse_course(source: Source) -> tuple[Course | None, list[Problem]]:
    problems: list[Problem] = []
    if not check_schema(source, COURSE_SCHEMA, problems):
        return None, problems
    table = Table(source, (), source.data, COURSE_KEYS, problems)
    course = Course(table.get("title", ""), table.get("description", ""), float(table.get("pass_mark", 0)), table.get("scenarios", ()),
                    source.path)
    return (None if problems else course), problems


def load_course(path: str | Path) -> Course:
    return load(path, parse_course)


def parse_answers(source: Source) -> tuple[Answers | None, list[Problem]]:
    from mailscope.diagnosis.catalogue import CATALOGUE
    from mailscope.findings import Owner

    problems: list[Problem] = []
    if not check_schema(source, ANSWERS_SCHEMA, problems):
        return None, problems
    top = Table(source, (), source.data, ANSWERS_KEYS, problems)
    by_scenario: dict[str, tuple[Answer, int]] = {}
    owners = [str(owner) for owner in Owner]
    for index, data in enumerate(top.get("answer", ())):
        table = Table(source, ("answer", index), data, ANSWER_KEYS, problems)
        for name in ("cause", "fix"):
            if table.get(name) is not None and table.get(name) not in CATALOGUE:
                table.fail(name, f"{table.get(name)!r} is not a finding id (docs/findings.md lists them)")
        owner = table.get("owner")
        if owner is not None and normalise_owner(owner) not in owners:
            table.fail("owner", f"{owner!r} is not one of: {', '.join(owners)}")
        scenario_id = table.get("scenario", "")
        if scenario_id in by_scenario:
            table.fail("scenario", f"a second answer for {scenario_id!r}")
        by_scenario[scenario_id] = (Answer(table.get("cause", ""), owner, table.get("fix")), table.get("hints", 0))
    answers = Answers(top.get("trainee", ""), by_scenario, source.path)
    return (None if problems else answers), problems


def load_answers(path: str | Path) -> Answers:
    return load(path, parse_answers)


@dataclass(frozen=True, slots=True)
class CourseSummary:
    course: Course
    scores: tuple[tuple[str, float], ...]  # (scenario id, score), in course order

    @property
    def average(self) -> float:
        return round(sum(score for _, score in self.scores) / len(self.scores), 2) if self.scores else 0.0

    @property
    def passed(self) -> bool:
        return len(self.scores) == len(self.course.entries) and self.average >= self.course.pass_mark
