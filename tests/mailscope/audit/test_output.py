"""The audit output's shortcuts change no byte of what is written: a shared section's JSON encoded once and spliced into
every line that holds it (never an earlier section's text, so never a secret a later record must not show), and lines
written in batches (whole lines only, all of them once closed)."""

from __future__ import annotations

import json
import resource
import signal
from pathlib import Path
from typing import Any

import pytest

from mailscope.audit import output
from mailscope.audit.output import AuditOutput, AuditOutputError, encode_line, read_records
from mailscope.evidence import Outcome, OutcomeKind, TokenEvidence
from mailscope.findings import Severity
from mailscope.record import SessionRecord
from mailscope.redact import Redactor
from mailscope.report import SharedExports, SharedSection, build_report
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings

APP_ID = "0814f972-5ef9-5a0e-ab5f-aa66be721979"


class _Odd(str):
    """A str subclass: written as its text."""


def encoded_slowly(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


@pytest.mark.parametrize(
    "value", [[None, True, 0.1 + 0.2, 1e300, -0.0], "k\u00e9y\n\x1b", 3, [], {}, {1: 2, None: 3, 2.5: "z", False: (1,)}, float("nan")]
)
def test_the_encoder_made_once_writes_what_json_dumps_writes(value: Any) -> None:
    assert encode_line({"v": value, "w": {"x": value}}, {}) == encoded_slowly({"v": value, "w": {"x": value}})


TEXTS = [
    "seq", "", "k\u00e9y\n\x1b", 'say "hi" \\ /', "\u2028\ud83d\ude00", "x" * 300, "\x00\x7f",
    Severity.ERROR, OutcomeKind.AUTH_FAILED, _Odd("odd"), _Odd("seq"),
]  # fmt: skip


def test_a_text_is_written_as_json_dumps_writes_it_before_and_after_the_memo_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text, key or value, first met, met again, met once the memo is full (then only the texts learned are looked
    up), gives json.dumps' JSON; a str subclass (an enum member) is written as its text, never learned."""
    monkeypatch.setattr(output, "_ESCAPES", 4)
    monkeypatch.setattr(output, "_c_encoder", output._make_encoder(output._Escapes().__getitem__))
    learning = output._c_encoder
    for _ in range(3):
        for text in [*TEXTS, *map(str, range(5))]:
            record = {"v": text, text: [text, {text: text}]}
            assert encode_line(record, {}) == encoded_slowly(record)
    assert output._c_encoder is not learning  # the memo was full: its texts were handed on


def test_a_value_json_cannot_write_is_the_error_json_dumps_gives() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_line({"v": object()}, {})


def test_a_shared_section_is_spliced_in_as_the_encoder_writes_it_wherever_it_stands() -> None:
    section = SharedSection({"kind": "jwt", "claims": {"name": 'Zoë \u2028 \x1b[2J "quoted"', "exp": 1796400452}, "http": [{"ms": 11.9}]})
    records = [
        {"schema": "mailscope.report/1", "token": section, "findings": [], "audit": {"row": 2}},
        {"token": section},
        {"token": section, "audit": {"row": 3}},
        {"schema": "mailscope.report/1", "findings": [{"id": "x"}], "token": section},
        {"schema": "mailscope.report/1", "token": None},
        {"schema": "mailscope.report/1", "token": dict(section)},  # an equal plain dict: encoded as it is
    ]
    known: dict[int, tuple[SharedSection, str]] = {}
    for record in records * 2:  # the second time the section's text comes from `known`
        line = encode_line(record, known)
        assert line == encoded_slowly(record) and line.isascii() and "\n" not in line
        assert json.loads(line) == record
    assert list(known) == [id(section)]


def test_a_new_section_is_encoded_anew_never_taken_for_an_earlier_one() -> None:
    known: dict[int, tuple[SharedSection, str]] = {}
    first = SharedSection({"claims": {"appid": APP_ID}})
    assert APP_ID in encode_line({"schema": "s", "token": first}, known)
    later = SharedSection({"claims": {"appid": "<client secret 36 chars sha256:0badcafe>"}})
    assert encode_line({"schema": "s", "token": later}, known) == encoded_slowly({"schema": "s", "token": later})


def test_records_of_a_shared_token_are_written_as_exported_and_a_secret_registered_midway_leaves_the_later_ones(tmp_path: Path) -> None:
    """Reports of one redactor family share the token's section (one object per generation): each written line equals the
    slow encoding of its record, and once the app id is registered as a secret the next line no longer holds it."""
    root = Redactor()
    token = TokenEvidence(kind="jwt", flow="client_credentials", claims={"appid": APP_ID, "roles": ["IMAP.AccessAsApp"]})
    shared = SharedExports()
    written: list[dict[str, Any]] = []

    def mailbox(number: int) -> SessionRecord:
        record = SessionRecord(CheckSettings(host="imap.example.test", port=993, user=f"mbx{number}@example.test"), redactor=root.fork())
        record.set_token(token)
        record.finish(Outcome(OutcomeKind.MAILBOX_REACHABLE, "ok"))
        return record

    path = tmp_path / "out.jsonl"
    output = AuditOutput(str(path))
    for number in range(3):
        report = build_report(mailbox(number), shared=shared)
        written.append(report | {"audit": {"row": number}})
        output.append(written[-1])
    assert written[0]["token"] is written[2]["token"] and type(written[0]["token"]) is SharedSection
    later = mailbox(3)
    later.redactor.register(Secret(SecretKind.CLIENT_SECRET, APP_ID))
    written.append(build_report(later, shared=shared) | {"audit": {"row": 3}})
    output.append(written[-1])
    output.close()
    lines = path.read_text(encoding="ascii").splitlines()
    assert lines == [encoded_slowly(record) for record in written]
    assert all(APP_ID in line for line in lines[:3]) and APP_ID not in lines[3] and "client secret" in lines[3]


def test_lines_are_written_in_batches_while_the_audit_runs_and_close_writes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    output = AuditOutput(str(path))
    records = [
        {"audit": {"row": row}, "transcript": [{"text": f"line {n} of mailbox {row} " * 30} for n in range(40)]} for row in range(12)
    ]
    records.append({"audit": {"row": 12}, "transcript": []})  # a small one last: still pending when the audit ends
    for count, record in enumerate(records, start=1):
        output.append(record)
        on_disk = path.read_bytes()
        assert on_disk == b"" or on_disk.endswith(b"\n")  # whole lines only, at any time
        assert [json.loads(line) for line in on_disk.splitlines()] == records[: output.written] and output.written <= count
    assert 0 < output.written < len(records)  # written while appending, not only at the end
    output.close()
    assert output.written == len(records) and list(read_records(str(path))) == records
    output.close()  # closing twice is harmless


def test_a_batch_that_cannot_be_written_is_one_clear_error_and_the_file_is_closed() -> None:
    output = AuditOutput("/dev/full", overwrite=True)
    output.append({"audit": {"row": 1}})
    with pytest.raises(AuditOutputError, match=r"cannot write /dev/full: No space left on device \(the records before are whole"):
        output.close()
    assert output.written == 0
    output.close()  # already closed: nothing more to write or to fail


def test_after_a_write_cut_short_nothing_more_is_written_and_resume_keeps_the_whole_records(tmp_path: Path) -> None:
    """A disk that fills in the middle of a batch leaves a line cut off; a record written after it (the batch the audit
    concludes while it stops) would leave that line mid-file, where --resume refuses the file. The file-size limit makes
    the kernel cut the write as a full disk would."""
    path = tmp_path / "out.jsonl"
    output = AuditOutput(str(path))
    records = [{"audit": {"row": row}, "transcript": [{"text": f"mailbox {row} " * 40}] * 20} for row in range(40)]
    limit, previous_limits = 150_000, resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, previous_limits[1]))
    try:
        with pytest.raises(AuditOutputError, match="File too large") as first:
            for record in records:
                output.append(record)
        with pytest.raises(AuditOutputError) as again:
            output.append(records[-1])
        output.close()  # the failure was raised already: closing neither writes nor raises
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limits)
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert again.value is first.value
    on_disk = path.read_bytes()
    assert len(on_disk) == limit and not on_disk.endswith(b"\n")  # the last line cut off, and nothing after it
    kept = list(read_records(str(path)))
    assert kept == records[: len(kept)] and len(kept) >= output.written > 0  # whole lines of the cut batch stay too
    assert path.read_bytes().endswith(b"\n")  # the cut line removed: --resume appends after whole records
