"""Case files: a saved session reopens as it was (transcript, evidence, token facts, findings, outcome, evidence time),
is never re-judged at a later clock, and a file that is not a case, or a forged one, is a clear CaseFileError."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from mailscope.casefile import MAX_CASE_BYTES, CaseFileError, looks_like_case, parse_case, read_case, save_case
from mailscope.diagnosis import make_diagnoser
from mailscope.lab.session import run_lab_check
from mailscope.record import SessionRecord
from mailscope.report import build_report, exit_code
from providers.registry import provider_rules, token_source_for

DIAGNOSER = make_diagnoser(provider_rules())
DAY = 86_400.0
# Each protocol, a token failure, a password login (AUTH LOGIN's prompts and PASS), a fault-free healthy session.
SCENARIOS = ("ms-graph-scope", "ms-healthy", "ms-smtp-basic-auth", "ms-seed-plain", "ms-pop-one-line", "ms-client-secret-id",
             "google-smtp-app-password", "ms-expired")  # fmt: skip


def lab_record(scenario: str) -> SessionRecord:
    """A finished, diagnosed lab session, as `mailscope check --lab` makes it."""

    def factory(settings: Any) -> SessionRecord:
        return SessionRecord(settings)

    record = asyncio.run(run_lab_check(scenario, factory, token_source_for))
    record.diagnoser = DIAGNOSER
    record.rediagnose()
    return record


@pytest.fixture(scope="module")
def records() -> dict[str, SessionRecord]:
    return {scenario: lab_record(scenario) for scenario in SCENARIOS}


def saved(record: SessionRecord, tmp_path: Path, name: str = "case.json") -> Path:
    path = tmp_path / name
    save_case(record, str(path))
    return path


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_saved_case_reopens_as_the_same_report(scenario: str, records: dict[str, SessionRecord], tmp_path: Path) -> None:
    record = records[scenario]
    path = saved(record, tmp_path)
    original = json.loads(path.read_text())
    case = read_case(str(path))
    assert case.report() == original  # transcript, settings, evidence, token, findings, checks, outcome, evidence time
    reopened = case.record
    assert [line.text for line in reopened.lines] == [line.text for line in record.lines]
    shape = [(f.id, f.severity, f.owner, f.confirmed, f.score, f.cited_lines) for f in record.diagnosis.findings]
    assert [(f.id, f.severity, f.owner, f.confirmed, f.score, f.cited_lines) for f in reopened.diagnosis.findings] == shape
    assert exit_code(reopened) == exit_code(record)
    assert reopened.settings == record.settings and reopened.outcome == record.outcome
    assert case.generated_at == original["generated_at"] and case.tool_version == original["tool"]["version"]
    assert reopened.diagnoser is None  # shown as saved: nothing re-judges it unless the console asks


def test_the_case_file_is_private_and_never_follows_a_symlink(records: dict[str, SessionRecord], tmp_path: Path) -> None:
    path = saved(records["ms-healthy"], tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "link.json").symlink_to(target)
    with pytest.raises(OSError):
        save_case(records["ms-healthy"], str(tmp_path / "link.json"))
    assert target.read_text() == "keep"


def test_a_reopened_case_is_judged_at_its_saved_time_not_today(records: dict[str, SessionRecord], tmp_path: Path) -> None:
    """The refused token was valid for an hour when it was used: re-diagnosed a day later, the cause is still the
    audience, not an expiry."""
    record = read_case(str(saved(records["ms-graph-scope"], tmp_path))).record
    assert record.judged_at().source == "clock" and record.judged_at().at == pytest.approx(time.time(), abs=600)
    for pinned in (True, False):
        later = SessionRecord(record.settings, wall_clock=lambda: time.time() + DAY, diagnoser=DIAGNOSER)
        later.lines, later.evidence, later.token = record.lines, record.evidence, record.token
        if pinned:
            later.set_evidence_time(record.judged_at())
        later.rediagnose()
        ids = [f.id for f in later.diagnosis.findings]
        assert ids == ["ms_graph_scope_or_audience"] if pinned else "ms_token_expired" in ids  # unpinned: what today's clock says


def test_an_audit_record_is_a_case(records: dict[str, SessionRecord]) -> None:
    report = build_report(records["ms-graph-scope"]) | {"audit": {"row": 2, "status": "failed"}, "later_field": [1, 2]}
    case = parse_case(json.dumps(report).encode(), "audit.jsonl")
    assert case.record.diagnosis.top is not None and case.record.diagnosis.top.id == "ms_graph_scope_or_audience"


def test_looks_like_case_reads_only_the_head(records: dict[str, SessionRecord], tmp_path: Path) -> None:
    assert looks_like_case(str(saved(records["ms-healthy"], tmp_path)))
    (tmp_path / "imapflow.jsonl").write_text('{"level":30,"msg":"S: * OK ready","schema":"x"}\n')
    (tmp_path / "summary.json").write_text('{\n  "schema": "mailscope.logs/1"\n}')
    assert not looks_like_case(str(tmp_path / "imapflow.jsonl")) and looks_like_case(str(tmp_path / "summary.json"))
    os.mkfifo(tmp_path / "fifo")
    assert not looks_like_case(str(tmp_path / "fifo")) and not looks_like_case(str(tmp_path / "missing"))


# -- forged and broken files ---------------------------------------------------------------------------------------
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSIsInNjcCI6Ik1haWwifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2ln"
CONTROLS = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x1b[2J\x9b2J\u202e\x00"


def edited(record: SessionRecord, edit: Any) -> bytes:
    report = build_report(record)
    edit(report)
    return json.dumps(report).encode()


def test_control_sequences_and_a_pasted_token_anywhere_are_escaped_and_redacted(records: dict[str, SessionRecord]) -> None:
    def hostile(report: dict[str, Any]) -> None:
        report["transcript"][3]["text"] += CONTROLS + TOKEN
        report["transcript"][3]["annotations"] = [CONTROLS, TOKEN]
        report["transcript"][4]["text"] = "A1 OK\nA2 OK forged second line"
        report["findings"][0]["title"] += CONTROLS
        report["findings"][0]["fix"] = [TOKEN]
        report["token"]["claims"][CONTROLS] = {"nested" + CONTROLS: [TOKEN]}
        report["token"]["claims"]["upn"] += CONTROLS
        report["settings"]["user"] += CONTROLS
        report["settings"]["extra"] = {"note": TOKEN}
        report["evidence"]["auth_text"] = CONTROLS + TOKEN
        report["outcome"]["summary"] += CONTROLS
        report["summary"] = TOKEN

    case = parse_case(edited(records["ms-graph-scope"], hostile), "hostile.json")
    text = json.dumps(case.report(), ensure_ascii=False)
    assert TOKEN[:40] not in text and TOKEN[-20:] not in text
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\x00")
    assert "\\n" in case.record.lines[4].text or "\\x0a" in case.record.lines[4].text.lower()  # one line stays one line


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json at all", "not a case file: invalid JSON"),
        (b"\x00\x01\x02" * 100, "binary data"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "a JSON list, not an object"),
        (b'{"schema": "mailscope.report/2"}', "mailscope.report/2 is not supported"),
        (b'{"schema": "mailscope.logs/1"}', "a mailscope.logs/1 document, not a case"),
        (b'{"schema": "something"}', 'no "schema": "mailscope.report/1"'),
        (b'{"schema": "mailscope.report/1"}\n{"schema": "mailscope.report/1"}', "several JSON documents"),
        (b'{"schema": "mailscope.report/1", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"schema": "mailscope.report/1", "x": NaN}', "NaN is not a number"),
        (b'{"schema": "mailscope.report/1", "x": 1' + b"0" * 5000 + b"}", "not a case file"),
        (b'{"schema": "mailscope.report/1", "transcript": [{"seq": 1}]}', "transcript[0].t: missing"),
        (b'{"schema": "mailscope.report/1", "transcript": "x"}', "transcript: must be a list, not a string"),
        (b'{"schema": "mailscope.report/1", "outcome": {"kind": "pwned"}}', "outcome.kind: 'pwned' is not one of"),
        (b'{"schema": "mailscope.report/1", "findings": [{"id": "x"}]}', "findings[0].severity: missing"),
        (b'{"schema": "mailscope.report/1", "evidence": {"port": 1e400}}', "1e400 is beyond any number a case file holds"),
        (b'{"schema": "mailscope.report/1", "evidence": {"port": 99999999999999999999999}}', "not a whole number beyond 64 bits"),
        (b'{"schema": "mailscope.report/1", "evidence": {"tls": {"verified": "yes"}}}', "evidence.tls.verified: must be true/false"),
    ],
)
def test_a_file_that_is_no_case_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(CaseFileError, match=None) as caught:
        parse_case(data, "x.json")
    assert str(caught.value).startswith("x.json") and message in str(caught.value)


def test_transcript_numbers_must_run_1_2_3(records: dict[str, SessionRecord]) -> None:
    def gap(report: dict[str, Any]) -> None:
        report["transcript"][2]["seq"] = 7

    with pytest.raises(CaseFileError, match=r"transcript\[2\]\.seq: 7 where 3 was expected"):
        parse_case(edited(records["ms-healthy"], gap), "gap.json")


def test_a_secret_setting_holding_a_value_is_refused_without_quoting_it(records: dict[str, SessionRecord]) -> None:
    def pasted(report: dict[str, Any]) -> None:
        report["settings"]["password"] = "hunter2-is-my-password"
        report["findings"][0]["severity"] = TOKEN

    with pytest.raises(CaseFileError) as caught:
        parse_case(edited(records["ms-healthy"], pasted), "pasted.json")
    assert "hunter2" not in str(caught.value) and TOKEN[:30] not in str(caught.value)


def test_files_that_are_no_regular_file_or_too_large_are_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.json")
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(MAX_CASE_BYTES + 10)
    started = time.monotonic()
    for path, message in ((tmp_path / "fifo.json", "FIFO"), (big, "larger than"), (tmp_path, "directory"),
                          (tmp_path / "none.json", "no such file"), (Path("/dev/zero"), "device")):  # fmt: skip
        with pytest.raises(CaseFileError, match=message):
            read_case(str(path))
    assert time.monotonic() - started < 5
