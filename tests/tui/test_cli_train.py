"""`mailscope train` through the real console script: headless answers (right: score 1; wrong: 0, the right one named,
the reveal), text and JSON, courses with answer files, the line prompt fed through stdin (nothing names the cause
before the answer), results lines, usage errors, and no secret in any output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from mailscope.diagnosis.catalogue import CATALOGUE

MAILSCOPE = str(Path(sys.executable).with_name("mailscope"))
TRAINER = Path(__file__).resolve().parents[1] / "mailscope" / "lab" / "trainer_scenarios"
SECRET_SHAPES = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}|ya29\.[\w-]{8,}|1//0[\w-]{8,}|GOCSPX-[\w-]{8,}|lab~[\w-]{8,}|Pw-[\w-]{8,}")
GRAPH_TITLE = CATALOGUE["ms_graph_scope_or_audience"].title


def train(*argv: str, stdin: str | None = None, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"XDG_DATA_HOME": str(home)} if home else {})}
    result = subprocess.run([MAILSCOPE, "train", *argv], capture_output=True, text=True, timeout=120, input=stdin, env=env)
    assert "Traceback" not in result.stderr and not SECRET_SHAPES.findall(result.stdout + result.stderr)
    return result


def results_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_right_answer_scores_1_and_is_recorded(tmp_path: Path) -> None:
    result = train("--scenario", "ms-graph-scope", "--answer", "ms_graph_scope_or_audience", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["schema"] == "mailscope.training-result/1" and verdict["score"] == 1 and verdict["correct"]["cause"] is True
    assert verdict["reveal"]["finding_id"] == "ms_graph_scope_or_audience" and verdict["reveal"]["title"] == GRAPH_TITLE
    [line] = results_of(tmp_path / "mailscope" / "training" / "results.jsonl")
    assert (line["scenario"], line["score"], line["answer"]["cause"], line["hints"]) == (
        "ms-graph-scope",
        1.0,
        "ms_graph_scope_or_audience",
        0,
    )
    assert "reveal" not in line and "transcript" not in json.dumps(line)


def test_wrong_answer_scores_0_names_the_right_one_and_reveals(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    result = train(
        "--scenario",
        "ms-graph-scope",
        "--answer",
        "ms_token_expired",
        "--owner",
        "tenant-admin",
        "--hints",
        "1",
        "--trainee",
        "sam",
        "--json",
        "--results",
        str(results),
    )
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert verdict["score"] == 0 and verdict["right"]["cause"] == "ms_graph_scope_or_audience" and verdict["trainee"] == "sam"
    assert verdict["answer"]["owner"] == "tenant admin" and verdict["correct"]["owner"] is False and verdict["hint_cost"] == 0.2
    chosen = [c for c in verdict["reveal"]["wrong_choices"] if c["chosen"]]
    assert chosen[0]["id"] == "ms_token_expired" and chosen[0]["here"][0].startswith("claim exp: ")
    assert results_of(results)[0]["trainee"] == "sam"


def test_text_output(tmp_path: Path) -> None:
    result = train(
        "--scenario",
        "ms-wrong-user",
        "--answer",
        "ms_user_mismatch_token_vs_login",
        "--owner",
        "user",
        "--fix",
        "ms_imap_pop_disabled",
        "--results",
        str(tmp_path / "r.jsonl"),
    )
    assert result.returncode == 0
    assert (
        "Your cause: ms_user_mismatch_token_vs_login: right" in result.stdout and "Your fix: ms_imap_pop_disabled: wrong" in result.stdout
    )
    assert "Score: 0.75" in result.stdout and "Decisive lines:" in result.stdout and "Why the other choices were wrong:" in result.stdout


def test_the_line_prompt_hides_the_cause_until_the_answer(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    result = train("--scenario", "ms-graph-scope", "--seed", "4", "--results", str(results), stdin="h\n9\nx\n1\n1\n1\n")
    before, _, after = result.stdout.partition("== Reveal:")
    assert "NO AUTHENTICATE failed." in before and "aud: https://graph.microsoft.com" in before and "Hint: Open the token" in before
    for secret in ("ms_graph_scope_or_audience", GRAPH_TITLE, "ms-graph-scope", "token requested for Microsoft Graph"):
        assert secret not in before
    assert "Type a number from 1 to 5 or h." in before
    assert "ms_graph_scope_or_audience" in after and GRAPH_TITLE in after
    [line] = results_of(results)
    assert line["hints"] == 1 and line["seed"] == 4
    assert result.returncode == (0 if line["correct"]["cause"] else 1)


def test_the_prompt_without_an_answer_records_nothing(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    result = train("--scenario", "google-healthy", "--results", str(results), stdin="")
    assert result.returncode == 2 and "no answer given: nothing recorded" in result.stderr and not results.exists()


def test_a_course_with_an_answers_file(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(
        """schema = "mailscope.answers/1"
trainee = "kim"
[[answer]]
scenario = "ms-graph-scope"
cause = "ms_graph_scope_or_audience"
owner = "client configuration"
[[answer]]
scenario = "ms-imap-disabled"
cause = "ms_imap_pop_disabled"
hints = 1
[[answer]]
scenario = "google-app-password-works"
cause = "session_healthy"
[[answer]]
scenario = "ms-imap-login-command"
cause = "token_sent_as_password_via_plain"
""",
        encoding="utf-8",
    )
    results = tmp_path / "r.jsonl"
    result = train("--course", str(TRAINER / "course.toml"), "--answers", str(answers), "--json", "--results", str(results))
    summary = json.loads(result.stdout)
    assert [r["score"] for r in summary["results"]] == [1.0, 0.8, 1.0, 0.0]
    assert (summary["average"], summary["passed"], result.returncode) == (0.7, True, 0)
    assert {line["course"] for line in results_of(results)} == {"Sign-in failures, a short course"}
    assert {line["trainee"] for line in results_of(results)} == {"kim"}
    text = train("--course", str(TRAINER / "course.toml"), "--answers", str(answers), "--results", str(results))
    assert "Average 0.7 (pass mark 0.6): passed" in text.stdout


def test_usage_errors(tmp_path: Path) -> None:
    results = ["--results", str(tmp_path / "r.jsonl")]
    cases = [
        (["--scenario", "no-such-scenario", "--answer", "ms_token_expired"], "unknown lab scenario 'no-such-scenario'"),
        (["--scenario", "ms-healthy", "--answer", "ms_nonsense"], "--answer 'ms_nonsense' is not a finding id"),
        (["--scenario", "ms-healthy", "--answer", "session_healthy", "--hints", "5"], "--hints 5: scenario ms-healthy has 2 hint(s)"),
        (["--scenario", "ms-healthy", "--answer", "session_healthy", "--owner", "boss"], "owner 'boss' is not one of"),
        (["--scenario", "ms-healthy", "--json"], "--json go with --answer"),
        (["--answers", str(tmp_path / "a.toml")], "--answers goes with --course"),
        (["--course", str(TRAINER / "imap-login.toml")], "is not a course file"),
    ]
    for argv, message in cases:
        result = train(*argv, *results)
        assert result.returncode == 2 and message in result.stderr, (argv, result.stderr)
    assert not (tmp_path / "r.jsonl").exists()
