"""Diagnose the sessions of a log or a pasted text: replay each into a SessionRecord and diagnose it once at the end.
UI-free: `mailscope logs`, the console's Paste view and the tests call the same two functions.

    for item in diagnosed(LogScan(stream), diagnoser=d, inspect_token=inspect):   # streamed, bounded memory
        item.session, item.record, item.findings
    result = diagnose_text(pasted, diagnoser=d, inspect_token=inspect)            # nothing written anywhere
    result.sessions, result.summary, result.notes, result.exit_code
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mailscope.findings import Diagnosis, DiagnosisInput, Finding
from mailscope.logs.model import ImportedSession
from mailscope.logs.replayer import TokenInspector, replay
from mailscope.logs.scanner import LogScan
from mailscope.logs.summary import LogSummary
from mailscope.record import SessionRecord
from mailscope.report import findings_of

Diagnoser = Callable[[DiagnosisInput], Diagnosis]
MAX_REMEMBERED = 256  # distinct session shapes whose diagnosis is reused (a failure repeated 200 times is diagnosed once)
MAX_PASTE = 2_000_000  # characters of a paste read; the rest is reported, not parsed
MAX_PASTE_SESSIONS = 100  # sessions of a paste kept with their records (each holds its transcript)


@dataclass(slots=True)
class DiagnosedSession:
    session: ImportedSession
    record: SessionRecord  # shared by sessions that replay identically when `remember` > 0
    findings: tuple[Finding, ...]


def diagnosed(
    scan: LogScan, *, diagnoser: Diagnoser | None, inspect_token: TokenInspector | None = None, remember: int = MAX_REMEMBERED
) -> Iterator[DiagnosedSession]:
    """Every session of `scan`, replayed and diagnosed, in the order sessions end. With `remember`, sessions that replay to the
    same lines and evidence share one record (its positions are the first one's)."""
    known: dict[int, tuple[SessionRecord, tuple[Finding, ...]]] = {}
    for session in scan.sessions():
        key = session.fingerprint() if remember else None
        cached = known.get(key) if key is not None else None
        if cached is None:
            record = SessionRecord()
            replay(session, record, inspect_token=inspect_token)
            record.diagnoser = diagnoser  # diagnosed once, at the end, not on every replayed line
            record.rediagnose()
            cached = (record, findings_of(record))
            if key is not None:
                if len(known) >= remember:
                    known.pop(next(iter(known)))
                known[key] = cached
        yield DiagnosedSession(session, *cached)


@dataclass(slots=True)
class TextDiagnosis:
    """What a pasted text holds: its sessions with their records (transcript + diagnosis), the log-wide summary."""

    format: str
    notes: list[str]
    sessions: list[DiagnosedSession] = field(default_factory=list)
    summary: LogSummary = field(default_factory=LogSummary)

    @property
    def exit_code(self) -> int:
        return self.summary.exit_code


def diagnose_text(
    text: str, *, diagnoser: Diagnoser | None, inspect_token: TokenInspector | None = None, format: str = "auto"
) -> TextDiagnosis:
    """A pasted excerpt, a lone line or a whole log, diagnosed in memory: nothing is written anywhere. Bounded: the first
    MAX_PASTE characters are read and the first MAX_PASTE_SESSIONS sessions kept with their records (all are counted)."""
    notes: list[str] = []
    if len(text) > MAX_PASTE:
        notes.append(f"only the first {MAX_PASTE:,} of {len(text):,} characters were read")
        text = text[:MAX_PASTE]
    scan = LogScan(text.splitlines(), format)
    result = TextDiagnosis(scan.format, notes)
    for item in diagnosed(scan, diagnoser=diagnoser, inspect_token=inspect_token, remember=0):
        result.summary.add(item.session, item.record, item.findings)
        if len(result.sessions) < MAX_PASTE_SESSIONS:
            result.sessions.append(item)
    result.format = scan.format
    result.notes = [*scan.notes, *notes]
    if result.summary.sessions > len(result.sessions):
        result.notes.append(f"{result.summary.sessions - len(result.sessions)} further session(s) are counted, not kept")
    if not result.summary.sessions:
        result.notes.append(no_session_note(scan.format))
    return result


def no_session_note(format: str) -> str:
    return "no mail session found in this input" + ("" if format != "generic" else " (no known client format, and no line "
                                                    "a server or client writes: paste the protocol lines or the error)")
