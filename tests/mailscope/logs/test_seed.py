"""The Atlassian seed end to end: `mailscope logs` on the Jira log names basic auth first, counts the repeated
failure once, and gives the fix with the scopes from the seed article."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from tui.commands import logs as logs_command

SEED = Path("/work/shared/examples/jira-incoming-mail-exchange-plain.log")
if not SEED.exists():  # the repository keeps its own copy next to the other samples
    SEED = Path(__file__).parent / "samples" / "jira_seed.log"


def run(path: Path | str, *extra: str, session: int | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(path=str(path), format="auto", json="--json" in extra, full_scan=False, session=session)
    code = logs_command.run(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_seed_log_names_basic_auth_first_with_count_and_fix() -> None:
    code, out, _ = run(SEED, "--json")
    report = json.loads(out)
    assert code == 1
    assert report["format"] == "javamail"
    assert report["summary"]["sessions"] == 2
    top = report["findings"][0]
    assert top["id"] == "basic_auth_mechanism_used_when_disabled"
    assert top["severity"] == "error"
    assert top["count"] == 2
    assert top["first_seen"] == "line 1" and top["last_seen"] == "line 10"
    fix = " ".join(top["fix"])
    assert "XOAUTH2" in fix
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in fix
    assert "POP.AccessAsUser.All" in fix and "offline_access" in fix
    assert "google" not in fix.lower()  # an Exchange session's fix names no Google scope (issue 12)
    for session in report["sessions"]:
        assert session["host"] == "outlook.office365.com"
        assert session["user"] == "user_name@atl.onmicrosoft.com"
        assert session["mechanism"] == "PLAIN"
        assert session["outcome"] == "authentication_failed"


def test_seed_text_report_shows_the_count_once() -> None:
    code, out, _ = run(SEED)
    assert code == 1
    assert out.count("basic_auth_mechanism_used_when_disabled  x2") == 1
    assert "fix: Microsoft 365 scopes: https://outlook.office.com/IMAP.AccessAsUser.All" in out


def test_missing_file_is_a_usage_error_with_a_clear_message(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "nope.log")
    assert code == 2 and out == ""
    assert "no such file" in err and "nope.log" in err
    code, _, err = run(tmp_path)
    assert code == 2 and "is a directory" in err


def test_one_session_transcript_on_request() -> None:
    code, out, _ = run(SEED, session=2)
    assert code == 1
    detail = out[out.index("Session #2") :]
    assert "C: IUS1 AUTHENTICATE PLAIN   [rebuilt: JavaMail suppressed" in detail
    assert "S: IUS1 NO AUTHENTICATE failed." in detail
    assert "basic_auth_mechanism_used_when_disabled (lines 10, 11)" in detail
    code, out, _ = run(SEED, "--json", session=1)
    detail = json.loads(out)["session_detail"]
    assert detail["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled"
    assert any(line["text"] == "IUR1 AUTHENTICATE PLAIN" for line in detail["transcript"])
    code, _, err = run(SEED, session=7)
    assert code == 2 and "no session #7" in err


def test_a_log_pasted_from_a_web_page_with_its_line_breaks_lost(tmp_path: Path) -> None:
    article = Path("/work/shared/seed/atlassian-kb-imap-authenticate-failed.txt")  # the KB page, as text
    if not article.exists():  # rebuild what the page does to the log: numbered lines run together
        lines = SEED.read_text().splitlines()[:20]
        article = tmp_path / "page.txt"
        article.write_text("Problem\n\n" + " ".join(map(str, range(1, 21))) + " " + " ".join(lines) + "\n")
    code, out, _ = run(article, "--json")
    report = json.loads(out)
    assert code == 1 and report["format"] == "javamail"
    top = report["findings"][0]
    assert top["id"] == "basic_auth_mechanism_used_when_disabled" and top["count"] == 2
    assert [s["mechanism"] for s in report["sessions"]] == ["PLAIN", "PLAIN"]
