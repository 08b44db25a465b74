"""The summary: groups by primary finding, the fix once (the mailbox written <mailbox>), counts, exit codes, and the
three renderings; and the JSON Lines output an interrupted audit leaves behind."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mailscope.audit.output import AuditOutput, read_records
from mailscope.audit.plan import AuditInputError, RowError
from mailscope.audit.summary import MailboxResult, summarize, summary_markdown, summary_text

PERMISSION = "ms_app_only_mailbox_permission_missing"


def record(row: int, user: str, status: str, *findings: tuple[str, str], attempts: int = 1, outcome: str = "") -> dict[str, Any]:
    return {
        "schema": "mailscope.report/1",
        "outcome": {"kind": outcome or ("authenticated_mailbox_reachable" if status == "healthy" else "authentication_failed")},
        "findings": [{"id": fid, "severity": "error", "title": f"title of {fid}", "owner": "tenant admin",
                      "fix": [f"Add-MailboxPermission -Identity {user} -User {sp} -AccessRights FullAccess"]}
                     for fid, sp in findings],
        "audit": {"row": row, "user": user, "protocol": "imap", "host": "outlook.office365.com", "port": 993, "status": status,
                  "attempts": attempts},
    }  # fmt: skip


def fleet() -> list[MailboxResult]:
    return [MailboxResult.from_record(r) for r in (
        record(2, "a@contoso.com", "healthy", attempts=3),
        record(3, "B@contoso.com", "failed", (PERMISSION, "sp-1"), ("ms_imap_pop_disabled", "sp-1")),
        record(4, "c@contoso.com", "failed", (PERMISSION, "sp-1")),
        record(5, "d@contoso.com", "failed", (PERMISSION, "sp-2")),
        record(6, "e@contoso.com", "throttled", attempts=4, outcome="authentication_failed"),
        record(7, "f@contoso.com", "healthy"),
    )]  # fmt: skip


def test_mailboxes_are_grouped_by_primary_finding_with_the_fix_once_per_variant() -> None:
    summary = summarize(fleet(), rejected=[RowError(9, "port 'x' is not a TCP port")])
    assert summary.counts() == {PERMISSION: 3, "throttled": 1, "healthy": 2}
    assert (summary.total, summary.healthy, summary.failed, summary.undetermined, summary.retries) == (6, 2, 3, 1, 5)
    group = summary.groups[0]
    assert [(v.steps, v.count) for v in group.fixes] == [
        (("Add-MailboxPermission -Identity <mailbox> -User sp-1 -AccessRights FullAccess",), 2),
        (("Add-MailboxPermission -Identity <mailbox> -User sp-2 -AccessRights FullAccess",), 1),
    ]
    assert group.also == (("ms_imap_pop_disabled", 1),)
    assert [m.row for m in group.mailboxes] == [3, 4, 5]
    assert summary.exit_code == 1


@pytest.mark.parametrize(
    ("user", "step", "general"),
    [
        ("B@Contoso.com", "Get-MailboxPermission b@contoso.COM, then B@CONTOSO.com", "Get-MailboxPermission <mailbox>, then <mailbox>"),
        ("b@contoso.com", "mailbox b@contoso.com.au is another one", "mailbox <mailbox>.au is another one"),
        ("b@contoso.com", "no address here", "no address here"),
        ("ſb@contoso.com", "Get-MailboxPermission Sb@CONTOSO.com", "Get-MailboxPermission <mailbox>"),  # Unicode case folding
        ("jörg@contoso.com", "Get-MailboxPermission JÖRG@contoso.com", "Get-MailboxPermission <mailbox>"),
    ],
)
def test_the_fix_names_the_mailbox_in_any_letter_case(user: str, step: str, general: str) -> None:
    result = MailboxResult.from_record(record(3, user, "failed", (PERMISSION, "sp-1")) | {"findings": [
        {"id": PERMISSION, "severity": "error", "title": "t", "owner": "tenant admin", "fix": [step]}]})  # fmt: skip
    assert summarize([result]).groups[0].fixes[0].steps == (general,)


@pytest.mark.parametrize(
    ("statuses", "rejected", "code"),
    [(("healthy",), False, 0), (("healthy", "failed"), False, 1), (("healthy", "throttled"), False, 3), (("healthy",), True, 3)],
)
def test_exit_codes(statuses: tuple[str, ...], rejected: bool, code: int) -> None:
    results = [MailboxResult.from_record(record(i + 2, f"u{i}@x.org", s)) for i, s in enumerate(statuses)]
    assert summarize(results, rejected=[RowError(9, "bad")] if rejected else []).exit_code == code


def test_text_markdown_and_json_say_the_same() -> None:
    summary = summarize(fleet(), rejected=[RowError(9, "port 'x' is not a TCP port")], elapsed=2.0, audited_now=6)
    text = summary_text(summary, output="out.jsonl")
    assert text.splitlines()[0] == (
        "mailscope audit: 6 mailboxes: 2 healthy, 3 failed; 1 not judged (still throttled); "
        "5 throttled sign-ins retried; 1 row left out (this run: 6 in 2.0 s, 3/s)"
    )
    assert f"ERROR {PERMISSION}: title of {PERMISSION}: 3 mailboxes (owner: tenant admin)" in text
    assert "    fix [2 of 3]: Add-MailboxPermission -Identity <mailbox> -User sp-1 -AccessRights FullAccess" in text
    assert "row 9: port 'x' is not a TCP port" in text
    markdown = summary_markdown(summary)
    assert f"| `{PERMISSION}`: title of {PERMISSION} | tenant admin | 3 |" in markdown
    assert "- row 3: B@contoso.com (imap)" in markdown
    data = json.loads(json.dumps(summary.to_json()))
    assert data["schema"] == "mailscope.audit-summary/1" and data["counts"] == summary.counts()
    assert data["groups"][0]["mailboxes"][0] == {"row": 3, "user": "B@contoso.com", "protocol": "imap"}
    assert data["rejected_rows"] == [{"row": 9, "error": "port 'x' is not a TCP port"}]


def test_an_interrupted_summary_says_how_to_go_on() -> None:
    summary = summarize(fleet(), interrupted=True)
    assert summary_text(summary).splitlines()[0].endswith("INTERRUPTED: resume with --resume")


def test_output_lines_are_whole_records_and_a_cut_last_line_is_removed_on_resume(tmp_path: Path) -> None:
    path = str(tmp_path / "out.jsonl")
    output = AuditOutput(path)
    output.append(record(2, "a@x.org", "healthy"))
    output.append(record(3, "b@x.org", "failed", (PERMISSION, "sp")))
    output.close()
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path, "ab") as handle:
        handle.write(b'{"schema":"mailscope.report/1","aud')  # a crash in the middle of a write
    assert [r["audit"]["row"] for r in read_records(path)] == [2, 3]
    assert Path(path).read_bytes().endswith(b"}\n")
    again = AuditOutput(path, resume=True)
    again.append(record(4, "c@x.org", "healthy"))
    again.close()
    assert [json.loads(line)["audit"]["row"] for line in Path(path).read_text().splitlines()] == [2, 3, 4]


def test_an_existing_output_is_never_overwritten_unasked_and_a_foreign_file_is_never_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("not an audit\n")
    with pytest.raises(AuditInputError, match="--resume continues it, --overwrite replaces it"):
        AuditOutput(str(path))
    with pytest.raises(AuditInputError, match="line 1 .* is not an audit record"):
        list(read_records(str(path)))
    AuditOutput(str(path), overwrite=True).close()
    assert path.read_text() == ""
    assert list(read_records(str(tmp_path / "missing.jsonl"))) == []
