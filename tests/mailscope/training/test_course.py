"""Courses and answer files: located errors, entries resolved (ids among built-ins, the course's directory, --lab-dir;
files relative to the course), and the summary's pass/fail against the pass mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailscope.datafile import DataFileError
from mailscope.training.course import Course, CourseSummary, load_answers, load_course
from mailscope.training.files import check_paths

TRAINER = Path(__file__).resolve().parents[1] / "lab" / "trainer_scenarios"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_course_resolves_ids_and_files_in_order(tmp_path: Path) -> None:
    course = load_course(TRAINER / "course.toml")
    assert (course.title, course.pass_mark) == ("Sign-in failures, a short course", 0.6)
    assert [s.id for s in course.scenarios()] == [
        "ms-graph-scope",
        "ms-imap-disabled",
        "google-app-password-works",
        "ms-imap-login-command",
    ]
    elsewhere = write(tmp_path, "c.toml", 'schema = "mailscope.course/1"\ntitle = "t"\npass_mark = 1\nscenarios = ["ms-ca-blocked"]\n')
    with pytest.raises(DataFileError, match=r"c.toml: scenarios\[0\]: no scenario 'ms-ca-blocked'"):
        load_course(elsewhere).scenarios()
    assert [s.id for s in load_course(elsewhere).scenarios([TRAINER])] == ["ms-ca-blocked"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('schema = "mailscope.course/1"\ntitle = "t"\nscenarios = ["ms-healthy"]\n', "c.toml: pass_mark: required: the average score"),
        (
            'schema = "mailscope.course/1"\ntitle = "t"\npass_mark = 70\nscenarios = ["ms-healthy"]\n',
            "c.toml:3: pass_mark: 70 is out of range (0 to 1)",
        ),
        (
            'schema = "mailscope.course/1"\ntitle = "t"\npass_mark = 0.7\nscenarios = []\n',
            "c.toml:4: scenarios: must not be empty",
        ),
        (
            'schema = "mailscope.course/1"\ntitle = "t"\npass_mark = 0.7\nscenario = ["ms-healthy"]\n',
            "c.toml:4: scenario: unknown key 'scenario'; did you mean 'scenarios'?",
        ),
    ],
)
def test_course_problems(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "c.toml", text)
    with pytest.raises(DataFileError) as caught:
        load_course(path)
    assert any(str(p).replace(str(path), "c.toml").startswith(expected) for p in caught.value.problems), caught.value.problems


def test_answers_file(tmp_path: Path) -> None:
    good = write(
        tmp_path,
        "a.toml",
        'schema = "mailscope.answers/1"\ntrainee = "sam"\n\n[[answer]]\nscenario = "ms-graph-scope"\n'
        'cause = "ms_graph_scope_or_audience"\nowner = "Tenant-Admin"\nhints = 1\n',
    )
    answers = load_answers(good)
    answer, hints = answers.by_scenario["ms-graph-scope"]
    assert answers.trainee == "sam" and hints == 1 and answer.cause == "ms_graph_scope_or_audience" and answer.owner == "Tenant-Admin"
    bad = write(
        tmp_path,
        "b.toml",
        'schema = "mailscope.answers/1"\n[[answer]]\nscenario = "x"\ncause = "no_such_id"\nowner = "boss"\n'
        '[[answer]]\nscenario = "x"\ncause = "ms_token_expired"\nhints = -1\n',
    )
    with pytest.raises(DataFileError) as caught:
        load_answers(bad)
    assert [str(p).replace(str(bad), "b.toml") for p in caught.value.problems] == [
        "b.toml:4: answer[0].cause: 'no_such_id' is not a finding id (docs/findings.md lists them)",
        "b.toml:5: answer[0].owner: 'boss' is not one of: user, tenant admin, app registration, client configuration, server, network, "
        "mailscope (client library)",
        "b.toml:7: answer[1].scenario: a second answer for 'x'",
        "b.toml:9: answer[1].hints: -1 is out of range (0 to 20)",
    ]


def test_summary_passes_on_the_average() -> None:
    course = Course("t", "", 0.7, ("a", "b", "c"), "c.toml")
    assert CourseSummary(course, (("a", 1.0), ("b", 0.8), ("c", 0.3))).passed  # average 0.7
    assert not CourseSummary(course, (("a", 1.0), ("b", 0.5), ("c", 0.3))).passed
    assert not CourseSummary(course, (("a", 1.0), ("b", 1.0))).passed  # a course not finished does not pass


def test_validate_tells_the_kinds_apart(tmp_path: Path) -> None:
    write(
        tmp_path,
        "answers.toml",
        'schema = "mailscope.answers/1"\ntrainee = "kim"\n[[answer]]\nscenario = "ms-healthy"\ncause = "session_healthy"\n',
    )
    write(tmp_path, "other.toml", 'schema = "something/1"\n')
    write(tmp_path, "broken.toml", "title = 'unterminated\n")
    checked = {Path(c.path).name: c for c in check_paths([tmp_path, TRAINER / "course.toml"])}
    assert (checked["answers.toml"].kind, checked["answers.toml"].name, checked["answers.toml"].problems) == ("answers", "kim", ())
    assert checked["course.toml"].kind == "course" and not checked["course.toml"].problems
    assert "'something/1' is not a scenario file" in str(checked["other.toml"].problems[0])
    assert "not valid TOML" in str(checked["broken.toml"].problems[0])
