"""Hand-over as a user does it, through the real console script: `check --lab ... --save`, `logs CASEFILE` (text and
--json, exit codes as `check` gave), `logs LOG --save`, and `mailscope diff` of a failing and a fixed run of one
mailbox; a file that is no case is a usage error in one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "mailscope" / "logs" / "samples"


def mailscope(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mailscope", *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The failing run (a token for Microsoft Graph) and the fixed one (the Outlook scope) of alice's mailbox."""
    tmp = tmp_path_factory.mktemp("cases")
    failing, fixed = tmp / "failing.json", tmp / "fixed.json"
    run = mailscope("check", "--lab", "ms-graph-scope", "--save", str(failing))
    assert run.returncode == 1 and "outcome: authentication_failed" in run.stdout, run.stderr
    run = mailscope("check", "--lab", "ms-healthy", "--json", "--save", str(fixed))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(fixed.read_text())  # --save writes what --json prints
    yield {"failing": failing, "fixed": fixed, "tmp": tmp}


def test_the_case_file_is_the_report_and_private(cases: dict[str, Path]) -> None:
    report = json.loads(cases["failing"].read_text())
    assert report["schema"] == "mailscope.report/1" and report["findings"][0]["id"] == "ms_graph_scope_or_audience"
    assert stat.S_IMODE(cases["failing"].stat().st_mode) == 0o600


def test_logs_reopens_a_case_as_it_was(cases: dict[str, Path]) -> None:
    run = mailscope("logs", str(cases["failing"]))
    assert run.returncode == 1, run.stderr
    out = run.stdout
    assert out.startswith(f"{cases['failing']}: mailscope case file, saved ")
    assert "mailbox: alice@contoso.onmicrosoft.com imap 127.0.0.1:" in out
    assert "(clock: this machine's clock while the check ran); as saved, never re-judged at today's clock" in out
    assert "AUTHENTICATE XOAUTH2 <SASL XOAUTH2 user=alice@contoso.onmicrosoft.com ^A auth=Bearer <jwt " in out
    assert "ERROR: Token was issued for Microsoft Graph (or another resource), not Exchange Online [ms_graph_scope_or_audience]" in out
    assert out.rstrip().endswith("outcome: authentication_failed: AUTHENTICATE XOAUTH2 refused: NO AUTHENTICATE failed.")
    again = mailscope("logs", str(cases["fixed"]), "--json")
    assert again.returncode == 0 and json.loads(again.stdout) == json.loads(cases["fixed"].read_text())


def test_diff_of_the_failing_and_the_fixed_run_shows_scope_audience_outcome_and_findings(cases: dict[str, Path]) -> None:
    run = mailscope("diff", str(cases["failing"]), str(cases["fixed"]))
    assert run.returncode == 1, run.stderr  # the diagnosis changed
    out = run.stdout
    assert "outcome: authentication_failed (exit 1) -> authenticated_mailbox_reachable (exit 0)" in out
    assert "  scopes: https://graph.microsoft.com/IMAP.AccessAsUser.All -> https://outlook.office.com/IMAP.AccessAsUser.All" in out
    assert "  aud: https://graph.microsoft.com -> https://outlook.office.com" in out
    assert "  auth_result: NO -> OK" in out
    assert "  resolved  ERROR    ms_graph_scope_or_audience: Token was issued for Microsoft Graph" in out
    assert "  appeared  INFO     session_healthy: Authenticated and mailbox reachable" in out
    assert "not the same mailbox" not in out
    as_json = json.loads(mailscope("diff", str(cases["failing"]), str(cases["fixed"]), "--json").stdout)
    assert as_json["schema"] == "mailscope.diff/1" and as_json["same_mailbox"] and as_json["outcome_changed"]
    aud = next(change for change in as_json["token"] if change["name"] == "aud")
    assert (aud["before"], aud["after"]) == ("https://graph.microsoft.com", "https://outlook.office.com")
    assert [(f["status"], f["id"]) for f in as_json["findings"]] == [("resolved", "ms_graph_scope_or_audience"),
                                                                      ("appeared", "session_healthy")]  # fmt: skip
    same = mailscope("diff", str(cases["failing"]), str(cases["failing"]))
    assert same.returncode == 0 and "outcome: authentication_failed (exit 1), unchanged" in same.stdout


def test_a_log_session_is_saved_and_reopened_judged_at_the_logs_time(cases: dict[str, Path]) -> None:
    saved = cases["tmp"] / "jira.json"
    run = mailscope("logs", str(SAMPLES / "javamail_smtp_basic_disabled.log"), "--save", str(saved))
    assert run.returncode == 1 and "basic_auth_mechanism_used_when_disabled" in run.stdout, run.stderr
    reopened = mailscope("logs", str(saved))
    assert reopened.returncode == 1
    assert "mailbox: jira@contoso.com smtp smtp.office365.com:587 (starttls)" in reopened.stdout
    assert "judged at 2026-11-28T11:00:01+00:00 (server_reply: " in reopened.stdout
    assert "[basic_auth_mechanism_used_when_disabled]" in reopened.stdout
    several = mailscope("logs", str(SAMPLES / "jira_interleaved.log"), "--save", str(cases["tmp"] / "x.json"))
    assert several.returncode == 2 and "--save writes one session: this log has" in several.stderr


def test_save_that_cannot_be_written_keeps_the_result_and_exits_2(tmp_path: Path) -> None:
    run = mailscope("check", "--lab", "ms-graph-scope", "--save", str(tmp_path))
    assert run.returncode == 2 and "outcome: authentication_failed" in run.stdout
    assert run.stderr.strip().endswith("cannot write the case file: Is a directory") and "Traceback" not in run.stderr
    os.mkfifo(tmp_path / "fifo.json")
    run = mailscope("check", "--lab", "ms-healthy", "--save", str(tmp_path / "fifo.json"))
    assert run.returncode == 2 and "FIFO" in run.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema": "mailscope.report/1", "transcript": [{"seq": 1, "t": "x"}]}', "transcript[0].t: must be a number, not a string"),
        (b'{"schema": "mailscope.logs/1", "sessions": []}', "a mailscope.logs/1 document, not a case"),
        (b'{"schema": "mailscope.report/1", "settings": {"host": "h", "port": 1, "token": "hunter2hunter2"}}', "settings.token: must name"),
    ],
)
def test_a_broken_case_is_a_usage_error_in_one_line(content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    for args in (("logs", str(path)), ("logs", str(path), "--json"), ("diff", str(path), str(path))):
        run = mailscope(*args)
        assert run.returncode == 2 and run.stdout == "", (args, run.stdout)
        assert run.stderr.count("\n") == 1 + (args[0] == "diff") and message in run.stderr and "hunter2" not in run.stderr


def test_diff_of_files_that_are_no_case(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("S: * OK ready\n")
    run = mailscope("diff", str(tmp_path / "log.txt"), str(tmp_path / "missing.json"))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        f"mailscope diff: {tmp_path}/log.txt: not a case file: invalid JSON at line 1, column 1: Expecting value",
        f"mailscope diff: no such file: {tmp_path}/missing.json",
    ]
