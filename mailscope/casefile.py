"""Case files: a diagnosed session saved to hand it over, and reopened without the server.

A case file is the session's report, `mailscope.report/1` (mailscope/report.py, docs/report-schema.md): it already
holds the settings, the redacted transcript, the evidence, the token facts, the findings and the time they were judged
at, so `check --json`, `check --save`, the console's export and every audit record are one format. Reading one back
treats it as untrusted input (anyone may edit or forge it): bounded in size, checked field by field against the
dataclasses it was written from, every string redacted and control-escaped again, and restored into a SessionRecord
whose diagnosis is the saved one, judged at the saved evidence time: reopening never re-judges an expiry at today's
clock, and a record the console diagnoses again (with a diagnoser attached) is judged at that same time.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import types
import typing
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from mailscope.events import TranscriptLine
from mailscope.evidence import Outcome, OutcomeKind, SessionEvidence, TokenEvidence
from mailscope.findings import Check, Diagnosis, Finding
from mailscope.localfile import NotRegularFile, read_regular_file, write_private
from mailscope.record import SessionRecord, clean_deep
from mailscope.redact import Redactor, describe_token_shapes, escape_controls
from mailscope.report import SCHEMA, build_report, evidence_time_of, report_json
from mailscope.settings import CheckSettings, SecretSource

MAX_CASE_BYTES = 32 * 1024 * 1024  # a live session stops at 16 MiB / 20,000 lines; a case is a few kB, a flooded one stays below
MAX_TRANSCRIPT_LINES = 25_000  # the probe's 20,000 plus the lines it writes after stopping
SECRET_SOURCE_KINDS = ("env", "file", "stdin", "prompt", "lab")
_SOURCE = re.compile(f"(?:{'|'.join(SECRET_SOURCE_KINDS)})(?::.*)?", re.DOTALL)
_SCHEMA_HEAD = re.compile(rb'^\s*\{.{0,4096}?"schema"\s*:\s*"mailscope\.', re.DOTALL)
_HEAD_BYTES = 8192


class CaseFileError(ValueError):
    """The file is not a case this mailscope can reopen; the message says why and where (never quoting a secret)."""


@dataclass(frozen=True, slots=True)
class Case:
    """A reopened case: the session as it was saved (`record`, no diagnoser attached) and who saved it when."""

    record: SessionRecord
    name: str  # the file as given, control-escaped
    generated_at: str
    tool_version: str

    def report(self) -> dict[str, Any]:
        """The case as a report again (the shape it was read from, with its own save time)."""
        return build_report(self.record, generated_at=_moment(self.generated_at))


# -- saving ------------------------------------------------------------------------------------------
def save_case(record: SessionRecord, path: str, *, generated_at: datetime | None = None) -> None:
    """Write the case file: the session's report, as `check --json` prints it (one writer for `check --save`, `logs
    --save` and the console's export), 0600 (it names a mailbox and holds its redacted transcript), never through a
    symlink or into a FIFO. OSError when it cannot be written."""
    write_private(path, report_json(record, generated_at=generated_at) + "\n")


# -- reopening ---------------------------------------------------------------------------------------
def looks_like_case(path: str) -> bool:
    """Whether `path` starts as one of mailscope's own JSON documents (a report, or a summary named by its schema), so
    `mailscope logs` hands it to `read_case` rather than to the log importers; False when it cannot be read."""
    try:
        head = read_regular_file(path, _HEAD_BYTES)
    except OSError:
        return False
    return _SCHEMA_HEAD.match(head.removeprefix(b"\xef\xbb\xbf")) is not None


def read_case(path: str) -> Case:
    """The case saved at `path`; CaseFileError (with a message for the user) when it cannot be reopened."""
    name = escape_controls(path, keep_newlines=False)
    try:
        data = read_regular_file(os.path.expanduser(path), MAX_CASE_BYTES + 1)
    except NotRegularFile as exc:
        raise CaseFileError(f"{name} {exc}") from None
    except FileNotFoundError:
        raise CaseFileError(f"no such file: {name}") from None
    except OSError as exc:
        raise CaseFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_CASE_BYTES:
        raise CaseFileError(f"{name} is larger than {MAX_CASE_BYTES // (1024 * 1024)} MiB: not a case file")
    return parse_case(data, name)


def parse_case(data: bytes, name: str = "case file") -> Case:
    """A case from the bytes of its file (pure). `name` is used in messages only."""
    report = _json_object(data, name)
    schema = report.get("schema")
    if schema != SCHEMA:
        raise CaseFileError(_wrong_schema(name, schema))
    lines = report.pop("transcript", [])
    if isinstance(lines, list) and len(lines) > MAX_TRANSCRIPT_LINES:
        raise CaseFileError(f"{name}: transcript: more than {MAX_TRANSCRIPT_LINES:,} lines: no session mailscope saves is that long")
    redactor = Redactor()  # transcript lines are redacted in order, as a live session's are (below)
    clean_deep(report, lambda key, value: _fact(redactor, key, value), redactor.redact)
    try:
        return _restore(report, lines, redactor, name)
    except _Invalid as exc:  # the message may quote the file: a token pasted into it is not repeated
        raise CaseFileError(describe_token_shapes(f"{name}: {exc.where}: {exc.message}")) from None


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    if b"\0" in data[:_HEAD_BYTES]:
        raise CaseFileError(f"{name}: binary data, not a case file (a mailscope.report/1 JSON document)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CaseFileError(f"{name}: not UTF-8 text, not a case file") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        more = " (several JSON documents: an audit's records file holds one case per line)" if exc.msg == "Extra data" else ""
        raise CaseFileError(f"{name}: not a case file: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{more}") from None
    except (RecursionError, ValueError) as exc:  # nested too deeply; a number too long to read; NaN/Infinity
        reason = "nested too deeply" if isinstance(exc, RecursionError) else escape_controls(str(exc))
        raise CaseFileError(f"{name}: not a case file: {reason}") from None
    if not isinstance(value, dict):
        raise CaseFileError(f"{name}: not a case file: a JSON {type(value).__name__}, not an object")
    return value


def _no_constant(word: str) -> Any:
    raise ValueError(f"{word} is not a number a case file holds")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is beyond any number a case file holds")
    return number


def _wrong_schema(name: str, schema: object) -> str:
    if isinstance(schema, str) and schema.startswith("mailscope.report/"):
        return f"{name}: {escape_controls(schema)} is not supported by this mailscope (it reads {SCHEMA})"
    if isinstance(schema, str) and schema.startswith("mailscope."):
        return f"{name}: a {escape_controls(schema)} document, not a case: reopen a session's report ({SCHEMA}, `check --save FILE`)"
    return f'{name}: no "schema": "{SCHEMA}": not a mailscope case file'


def _fact(redactor: Redactor, key: str, value: str) -> str:
    """A settings secret field holds its source (`env:VAR`): described as any text; other secret-named values are
    described whatever they look like, as the record does with a log's facts."""
    return redactor.redact(value) if _SOURCE.fullmatch(value) else redactor.redact_fact(key, value)


def _restore(report: dict[str, Any], lines: object, redactor: Redactor, name: str) -> Case:
    settings = _decode(CheckSettings | None, report.get("settings"), "settings")
    record = SessionRecord(settings, redactor=redactor)
    for line in _decode(list[TranscriptLine], lines, "transcript"):
        _add_line(record, line)
    record.evidence = _decode(SessionEvidence, report.get("evidence", {}), "evidence")
    token = _decode(TokenEvidence | None, report.get("token"), "token")
    if token is not None:
        record.set_token(token)
    record.set_evidence_time(evidence_time_of(report))  # before the outcome: a finished live check is not re-stamped
    record.diagnosis = Diagnosis(
        findings=_decode(tuple[Finding, ...], report.get("findings", []), "findings"),
        checks=_decode(tuple[Check, ...], report.get("checks", []), "checks"),
        summary=_decode(str, report.get("summary", ""), "summary"),
    )
    outcome = report.get("outcome")
    if outcome is not None:
        if not isinstance(outcome, dict):
            raise _Invalid("outcome", "must be an object or null")
        kind = _decode(OutcomeKind, outcome.get("kind"), "outcome.kind")
        record.finish(Outcome(kind, _decode(str, outcome.get("summary", ""), "outcome.summary")))
    tool = report.get("tool") if isinstance(report.get("tool"), dict) else {}
    return Case(record, name, _text(report.get("generated_at")), _text(tool.get("version")))


def _add_line(record: SessionRecord, line: TranscriptLine) -> None:
    """A saved line through the record's own door: redacted in order and control-escaped, its number checked."""
    expected = len(record.lines) + 1
    if line.seq != expected:
        raise _Invalid(f"transcript[{expected - 1}].seq", f"{line.seq} where {expected} was expected (lines are numbered 1, 2, 3...)")
    record.add_line(line.direction, line.text, nbytes=line.nbytes, channel=line.channel, annotations=line.annotations, t=line.t,
                    wall_time=line.wall_time)  # fmt: skip


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _moment(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None


# -- checking the file against the dataclasses it was written from ---------------------------------------
class _Invalid(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a whole number", float: "a number"}


def _decode(hint: Any, value: Any, where: str) -> Any:
    """`value` (plain JSON, already cleaned) as the type `hint` names; _Invalid naming the field when it is not."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        [single] = options  # the dataclasses read here use only `X | None` unions
        return _decode(single, value, where)
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise _Invalid(where, f"must be a list, not {_what(value)}")
        items = [_decode(typing.get_args(hint)[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise _Invalid(where, f"must be an object, not {_what(value)}")
        return {key: _decode(typing.get_args(hint)[1], item, f"{where}.{key}") for key, item in value.items()}
    if hint is SecretSource:
        return _secret_source(value, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in hint)
            raise _Invalid(where, f"{escape_controls(repr(value))[:80]} is not one of: {allowed}") from None
    if is_dataclass(hint):
        return _decode_dataclass(hint, value, where)
    return _scalar(hint, value, where)


def _scalar(hint: type, value: Any, where: str) -> Any:
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) < 1e300:  # the JSON reader gives finite numbers only; an integer may still be beyond any float
            return float(value)
    elif hint is int and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < 2**63:
            return value
    elif hint in (str, bool) and isinstance(value, hint):
        return value
    raise _Invalid(where, f"must be {_JSON_NAMES.get(hint, hint.__name__)}, not {_what(value)}")


def _decode_dataclass(cls: type, value: Any, where: str) -> Any:
    """Fields this version does not know are left out (within `/1` fields are only ever added); a missing field takes
    its default, a missing field without one is an error."""
    if not isinstance(value, dict):
        raise _Invalid(where, f"must be an object, not {_what(value)}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for field in fields(cls):
        if field.name in value:
            kwargs[field.name] = _decode(hints[field.name], value[field.name], f"{where}.{field.name}")
        elif field.default is MISSING and field.default_factory is MISSING:
            raise _Invalid(f"{where}.{field.name}", "missing")
    return cls(**kwargs)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _secret_source(value: Any, where: str) -> SecretSource:
    """Settings name where a secret comes from (`env:VAR`, `file:/path`), never the secret."""
    if not isinstance(value, str) or not _SOURCE.fullmatch(value):
        raise _Invalid(where, f"must name where the secret comes from ({', '.join(SECRET_SOURCE_KINDS)}), not a value")
    kind, _, ref = value.partition(":")
    return SecretSource(kind, ref)


def _what(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return "a whole number" if abs(value) < 2**63 else "a whole number beyond 64 bits"
    return "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)
