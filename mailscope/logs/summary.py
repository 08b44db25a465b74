"""Per-session rows and the log-wide summary: the same finding in 200 sessions is one finding with a count
and the times (or lines) it was first and last seen."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mailscope.findings import EvidenceTime, Finding, Severity
from mailscope.logs.evidence_time import of_session
from mailscope.logs.model import ImportedSession
from mailscope.record import SessionRecord
from mailscope.redact import escape_controls
from mailscope.report import EXIT_CAUSE_FOUND, EXIT_HEALTHY, EXIT_NO_SESSION, EXIT_UNDECIDED, exit_code_of

MAX_ROWS = 10_000  # per-session rows kept for the report; further sessions are only counted
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class SessionRow:
    index: int
    format: str
    stream: str
    first_line: int | None
    last_line: int | None
    position_unit: str
    first_time: str | None
    last_time: str | None
    host: str
    port: int
    protocol: str
    user: str
    mechanism: str | None
    outcome: str
    outcome_summary: str
    healthy: bool
    findings: tuple[str, ...]  # ids, ranked
    lines: int
    truncated: bool
    evidence_time: str | None = None  # what time-dependent checks judged this session at (logs.evidence_time)
    evidence_time_source: str = "unknown"
    evidence_time_detail: str = ""
    exit_code: int = EXIT_HEALTHY  # this session alone (mailscope.report: 0 healthy, 1 cause found, 3 undecided)

    @property
    def where(self) -> str:
        return self.first_time or (f"{self.position_unit} {self.first_line}" if self.first_line is not None else "?")


@dataclass(slots=True)
class _Aggregate:
    finding: Finding
    count: int
    first_seen: str
    last_seen: str
    best_score: float
    sessions: list[int] = field(default_factory=list)


@dataclass(slots=True)
class LogSummary:
    rows: list[SessionRow] = field(default_factory=list)
    sessions: int = 0
    healthy: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    time_sources: dict[str, int] = field(default_factory=dict)  # where each session's time of evidence came from
    first_judged: EvidenceTime | None = None  # the earliest and the latest known of them
    last_judged: EvidenceTime | None = None
    exit_codes: dict[int, int] = field(default_factory=dict)  # sessions per exit code
    _findings: dict[str, _Aggregate] = field(default_factory=dict)

    def add(self, session: ImportedSession, record: SessionRecord, findings: tuple[Finding, ...]) -> SessionRow:
        ev, outcome = record.evidence, record.outcome
        kind = str(outcome.kind) if outcome else "incomplete"
        healthy = outcome is not None and outcome.exit_code == 0 and not any(f.severity is Severity.ERROR for f in findings)
        when = of_session(session, record.token, today=record.now())  # its own: a shared record may be another's replay
        row = SessionRow(
            index=session.index, format=session.format, stream=record.redactor.redact(session.stream),
            first_line=session.first_line, last_line=session.last_line, position_unit=session.position_unit,
            first_time=_escaped(session.first_time), last_time=_escaped(session.last_time),
            host=ev.host, port=ev.port, protocol=ev.protocol, user=ev.log_facts.get("user", ""), mechanism=ev.mechanism,
            outcome=kind, outcome_summary=outcome.summary if outcome else "", healthy=healthy,
            findings=tuple(f.id for f in findings), lines=len(record.lines), truncated=session.truncated,
            evidence_time=when.stated or None, evidence_time_source=str(when.source), evidence_time_detail=when.detail,
            exit_code=exit_code_of(outcome, findings),
        )  # fmt: skip
        self.exit_codes[row.exit_code] = self.exit_codes.get(row.exit_code, 0) + 1
        self.sessions += 1
        self.healthy += healthy
        self.outcomes[kind] = self.outcomes.get(kind, 0) + 1
        self.time_sources[str(when.source)] = self.time_sources.get(str(when.source), 0) + 1
        if when.at is not None:
            if self.first_judged is None or when.at < (self.first_judged.at or 0.0):
                self.first_judged = when
            if self.last_judged is None or when.at > (self.last_judged.at or 0.0):
                self.last_judged = when
        if len(self.rows) < MAX_ROWS:
            self.rows.append(row)
        for finding in findings:
            aggregate = self._findings.get(finding.id)
            if aggregate is None:
                self._findings[finding.id] = _Aggregate(finding, 1, row.where, row.where, finding.score, [session.index])
                continue
            aggregate.count += 1
            aggregate.last_seen = row.where
            if len(aggregate.sessions) < 1000:
                aggregate.sessions.append(session.index)
            if _rank(finding) < _rank(aggregate.finding):
                aggregate.finding = finding
            aggregate.best_score = max(aggregate.best_score, finding.score)
        return row

    def rows_in_log_order(self) -> list[SessionRow]:
        """Sessions end in any order when connections interleave; listings follow where each began."""
        return sorted(self.rows, key=lambda row: (row.first_line is None, row.first_line or 0, row.index))

    def findings(self) -> tuple[Finding, ...]:
        """One finding per id across the log, with count/first_seen/last_seen: errors first, confirmed before candidates,
        then the failure most sessions share (the headline of a log), then the diagnosis' own ranking."""
        ordered = sorted(
            self._findings.values(),
            key=lambda a: (_SEVERITY_ORDER.get(a.finding.severity, 3), not a.finding.confirmed, -a.count, -a.best_score),
        )
        return tuple(replace(a.finding, count=a.count, first_seen=a.first_seen, last_seen=a.last_seen) for a in ordered)

    def sessions_with(self, finding_id: str) -> list[int]:
        aggregate = self._findings.get(finding_id)
        return list(aggregate.sessions) if aggregate else []

    @property
    def exit_code(self) -> int:
        """The log's: no session found; else a cause found in any session; else some failure left undecided; else healthy."""
        if not self.sessions:
            return EXIT_NO_SESSION
        return next((code for code in (EXIT_CAUSE_FOUND, EXIT_UNDECIDED) if self.exit_codes.get(code)), EXIT_HEALTHY)


def _escaped(wall_time: str | None) -> str | None:
    """A log's own timestamp text (imapflow's `time` is any JSON string) as the table may print it."""
    return escape_controls(wall_time, keep_newlines=False) if wall_time else wall_time


def _rank(finding: Finding) -> tuple[int, float]:
    return (_SEVERITY_ORDER.get(finding.severity, 3), -finding.score)
