"""Bad input never crashes: huge lines, binary garbage, truncated logs, empty input; large inputs are read
anchored with bounded memory and still find every session."""

from __future__ import annotations

import argparse
import importlib
import io
import json
import random
from pathlib import Path

import pytest

from mailscope.logs import LogScan, reader, replay
from mailscope.record import SessionRecord
from tui.commands import logs as logs_command

SAMPLES = Path(__file__).parent / "samples"
SEED = (SAMPLES / "jira_seed.log").read_bytes()


def run_cli(path: Path, *, full_scan: bool = False) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(path=str(path), format="auto", json=True, full_scan=full_scan, session=None)
    code = logs_command.run(args, stdout=out, stderr=err)
    return code, json.loads(out.getvalue()), err.getvalue()


def test_huge_line_is_cut_with_a_note(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    log.write_bytes(b"x" * (5 * 1024 * 1024) + b"\n" + SEED + b"* OK " + b"A" * (300 * 1024) + b"\n")
    code, report, _ = run_cli(log)
    assert code == 1
    assert report["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled"
    assert any("over-long line" in note and "line 1 (5,242,880 bytes)" in note for note in report["notes"])


def test_binary_garbage_is_reported_not_fatal(tmp_path: Path) -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(200_000))
    log = tmp_path / "core.bin"
    log.write_bytes(garbage + b"\n" + SEED + garbage)
    code, report, _ = run_cli(log)
    assert code == 1
    assert report["summary"]["sessions"] >= 2
    assert report["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled"
    assert any("binary data" in note for note in report["notes"])


def test_pure_binary_input_says_so(tmp_path: Path) -> None:
    log = tmp_path / "image.png"
    log.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400)
    code, report, _ = run_cli(log)
    assert code == 4  # no mail session found
    assert report["summary"]["sessions"] == 0
    assert any("no mail session found" in note for note in report["notes"])
    assert any("binary" in note for note in report["notes"])


def test_empty_input(tmp_path: Path) -> None:
    log = tmp_path / "empty.log"
    log.write_bytes(b"")
    code, report, _ = run_cli(log)
    assert code == 4 and report["summary"]["sessions"] == 0
    assert "the input is empty" in report["notes"]


def test_truncated_log_gives_an_incomplete_session() -> None:
    lines = SEED.decode().splitlines()[:4]  # greeting and capabilities, then the log stops
    [session] = list(LogScan(lines).sessions())
    assert session.truncated
    record = SessionRecord()
    outcome = replay(session, record)
    assert str(outcome.kind) == "incomplete"
    assert "before any authentication result" in outcome.summary


def test_healthy_log_exits_zero() -> None:
    code, report, _ = run_cli(SAMPLES / "curl_imap_xoauth2.log")
    assert code == 0 and report["summary"] == {
        "sessions": 1, "healthy": 1, "outcomes": {"authenticated_mailbox_reachable": 1}, "top": "session_healthy",
        "top_confirmed": True, "exit_code": 0,
    }  # fmt: skip


def test_control_sequences_in_a_log_never_reach_the_terminal() -> None:
    lines = ["* OK \x1b]0;pwned\x07 ready", "a1 CAPABILITY", "a1 NO \x1b[2J bad"]
    [session] = list(LogScan(lines).sessions())
    record = SessionRecord()
    replay(session, record)
    assert all("\x1b" not in line.text and "\x07" not in line.text for line in record.lines)


def test_anchored_read_of_a_large_log_finds_every_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.import_module("mailscope.logs.scanner"), "FULL_SCAN_LIMIT", 1024)  # anchored reading, small file
    filler = b"".join(b"2026-11-28 10:00:00,000 http-nio-8080-exec-1 INFO admin [c.a.jira] unrelated line %d\n" % i for i in range(3000))
    log = tmp_path / "big.log"
    with log.open("wb") as out:
        for _ in range(6):
            out.write(filler + SEED)
    code, report, _ = run_cli(log)
    assert report["read"]["anchored"] and report["read"]["positions"] == "byte"
    assert report["summary"]["sessions"] == 12
    assert report["findings"][0]["count"] == 12
    code_full, full, _ = run_cli(log, full_scan=True)
    assert not full["read"]["anchored"] and full["summary"]["sessions"] == 12
    assert full["read"]["lines"] == 6 * (3000 + len(SEED.splitlines()))


def test_reader_positions_are_exact_at_any_chunk_size(tmp_path: Path) -> None:
    rng = random.Random(3)
    lines = [f"unrelated {i} " + "x" * rng.randrange(60) for i in range(3000)]
    anchors = (0, 700, 701, 1500, 2999)
    for k in anchors:
        lines[k] = f"AUTH marker {k}"
    lines[2000] = "y" * (reader.MAX_LINE + 10)
    data = "\n".join(lines).encode()
    (tmp_path / "log").write_bytes(data)
    starts, offset = {}, 0
    for i, line in enumerate(lines):
        starts[offset] = i
        offset += len(line) + 1
    for anchored in (False, True):
        for chunk in (41, 997, 70_000):
            for mapped in (False, True):  # a BytesIO is read in chunks; a real file is mapped when read anchored
                stream = (tmp_path / "log").open("rb") if mapped else io.BytesIO(data)
                with stream:
                    line_reader = reader.LineReader(stream, anchored=anchored, chunk_size=chunk)
                    seen = []
                    for position, raw in line_reader:
                        index = starts[position] if anchored else position - 1
                        expected = lines[index].encode()[: reader.MAX_LINE] + (reader.TRUNCATION_MARK if index == 2000 else b"")
                        assert raw == expected, (anchored, chunk, mapped, index)
                        seen.append(index)
                assert seen == sorted(set(seen))
                if anchored:
                    for k in anchors:
                        assert {k - 1, k, k + 1} & set(range(3000)) <= set(seen), (chunk, mapped, k)
                else:
                    assert len(seen) == 3000 and line_reader.stats.truncated_count == 1


def test_gzip_utf16_and_cut_short_gzip_logs(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "rotated.log.gz").write_bytes(gzip.compress(SEED))
    (tmp_path / "windows.log").write_bytes(SEED.decode().encode("utf-16"))
    cut = gzip.compress(SEED * 50)
    (tmp_path / "cut.log.gz").write_bytes(cut[: len(cut) * 2 // 3])
    for name, note in (("rotated.log.gz", "gzip-compressed"), ("windows.log", "UTF-16")):
        code, report, _ = run_cli(tmp_path / name)
        assert code == 1 and report["findings"][0]["id"] == "basic_auth_mechanism_used_when_disabled", name
        assert report["findings"][0]["count"] == 2 and any(note in n for n in report["notes"]), name
    code, report, _ = run_cli(tmp_path / "cut.log.gz")
    assert code == 1 and 0 < report["summary"]["sessions"] < 100
    assert any("cut short" in n for n in report["notes"])


def test_stdin(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "logs", "-", "--json"], input=SEED, capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["source"] == "-" and report["findings"][0]["count"] == 2


def test_ordinary_log_text_does_not_make_sessions() -> None:
    noise = [
        "2026-11-28 10:00:00,000 INFO Health check 1 OK all good",
        "2026-11-28 10:00:01,000 INFO took 250 ms",
        "user admin login succeeded",
        "the list of ids",
        "a + b = c",
        "Job2 NO entries",
        "GET /status HTTP/1.1 200 OK",
    ]
    scan = LogScan(noise * 100)
    assert list(scan.sessions()) == []


def test_cli_report_holds_no_secret_from_the_log() -> None:
    for name, secrets in (
        ("curl_imap_xoauth2.log", ("eyJhbGciOi", "c2lnbmF0dXJl", "dXNlcj1hbmFAY29udG9zby5jb20B")),
        ("jira_interleaved.log", ("S3cret-Pass", "dXNlcj1zdXBwb3J0QGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIHRva2VuLWhpZGRlbgEB")),
        (
            "thunderbird_smtp_gmail.log",
            ("ya29.a0AfB_SampleNotARealToken", "dXNlcj1tZUBnbWFpbC5jb20BYXV0aD1CZWFyZXIgeWEyOS5hMEFmQl9TYW1wbGVOb3RBUmVhbFRva2VuAQE"),
        ),
    ):
        _, report, _ = run_cli(SAMPLES / name)
        dump = json.dumps(report)
        for secret in secrets:
            assert secret not in dump, (name, secret)


def test_many_connections_keep_parser_state_bounded() -> None:
    from mailscope.logs.formats.base import StreamState
    from mailscope.logs.formats.imapflow import Parser

    parser = Parser()
    for i in range(StreamState.LIMIT * 3):
        parser.feed(i + 1, json.dumps({"cid": f"c{i}", "src": "s", "msg": "* OK Gimap ready"}))
    assert len(parser.channels) == StreamState.LIMIT
    exchange = (("s", "* OK ready"), ("c", "1 CAPABILITY"))
    lines = [json.dumps({"cid": f"c{i}", "src": side, "msg": msg}) for i in range(3000) for side, msg in exchange]
    assert sum(1 for _ in LogScan(lines).sessions()) == 3000


def test_a_parser_failure_skips_the_line_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailscope.logs.formats import javamail

    original = javamail.Parser.parse

    def fragile(self, lineno, wall_time, rest):  # type: ignore[no-untyped-def]
        if "CAPABILITY completed" in rest:
            raise ValueError("unexpected shape")
        return original(self, lineno, wall_time, rest)

    monkeypatch.setattr(javamail.Parser, "parse", fragile)
    scan = LogScan(SEED.decode().splitlines())
    assert len(list(scan.sessions())) == 2
    assert "2 line(s) could not be parsed and were skipped (first at line 4: ValueError)" in scan.notes


def test_summary_headline_is_the_failure_most_sessions_share() -> None:
    healthy_dns = (SAMPLES / "jira_threads_debug.log").read_text().splitlines()
    lines = healthy_dns + SEED.decode().splitlines() * 3
    from mailscope.diagnosis import make_diagnoser
    from mailscope.logs import LogSummary
    from providers.registry import provider_rules

    summary = LogSummary()
    diagnoser = make_diagnoser(provider_rules())
    for session in LogScan(lines).sessions():
        record = SessionRecord(diagnoser=diagnoser)
        replay(session, record)
        summary.add(session, record, record.diagnosis.findings)
    findings = summary.findings()
    assert findings[0].id == "basic_auth_mechanism_used_when_disabled" and findings[0].count == 7
    assert "dns_failure" in [f.id for f in findings]
