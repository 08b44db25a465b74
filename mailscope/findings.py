"""Findings: a named cause (catalogue id), who must act, how to fix it, and the evidence it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailscope.events import TranscriptLine
    from mailscope.evidence import SessionEvidence, TokenEvidence
    from mailscope.settings import CheckSettings


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Owner(StrEnum):
    USER = "user"
    TENANT_ADMIN = "tenant admin"
    APP_REGISTRATION = "app registration"
    CLIENT_CONFIGURATION = "client configuration"
    SERVER = "server"
    NETWORK = "network"
    MAILSCOPE = "mailscope (client library)"  # the probe's own client library could not read the server


class EvidenceKind(StrEnum):
    LINE = "line"  # a transcript line (seq)
    CLAIM = "claim"  # a token claim (name, value)
    SETTING = "setting"  # a setting the user typed (name, value)
    CAPABILITY = "capability"
    TOKEN_RESPONSE = "token_response"  # scope/expiry/error from the token endpoint
    LOG = "log"  # a fact an imported log carried


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """One fact a finding rests on (a transcript line, a claim, a setting...), so a reader can check it."""

    kind: EvidenceKind
    name: str  # claim/setting name, or a short label for a line
    value: str = ""  # redacted where secret
    seq: int | None = None  # transcript line number for LINE


@dataclass(frozen=True, slots=True)
class Finding:
    """A named cause: who must act, how to fix it, and the evidence it rests on (confirmed, or a ranked candidate)."""

    id: str  # stable id from docs/failure-modes catalogue (or docs/findings.md for our additions)
    severity: Severity
    title: str
    explanation: str
    owner: Owner
    fix: tuple[str, ...] = ()  # steps with exact values
    links: tuple[str, ...] = ()
    evidence: tuple[EvidenceRef, ...] = ()
    score: float = 0.0  # ranking weight: higher first; ties keep rule order
    confirmed: bool = False  # True when the wire/token proves it; False for a ranked candidate
    decide: tuple[str, ...] = ()  # a candidate's next step: what to run or paste so the evidence decides
    count: int = 1  # log import: how many sessions showed it
    first_seen: str | None = None
    last_seen: str | None = None

    @property
    def cited_lines(self) -> tuple[int, ...]:
        return tuple(e.seq for e in self.evidence if e.kind is EvidenceKind.LINE and e.seq is not None)


@dataclass(frozen=True, slots=True)
class Check:
    """One check the diagnosis made or could not make (shown so nobody over-trusts a ranking)."""

    name: str
    done: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What the rules made of a session: the findings, best first, and the checks behind them."""

    findings: tuple[Finding, ...] = ()  # ranked, best first
    checks: tuple[Check, ...] = ()
    summary: str = ""  # one line: "authenticated and mailbox reachable" or the top cause

    @property
    def top(self) -> Finding | None:
        return self.findings[0] if self.findings else None


class TimeSource(StrEnum):
    """Where the time of the evidence came from (the report's `evidence_time_source`)."""

    CLOCK = "clock"  # a live check: this machine's clock while it ran
    LOG = "log"  # the log's own timestamps, with their zone
    LOG_LOCAL_TIME = "log_local_time"  # the log's own timestamps, local time without a zone
    LOG_YEAR_INFERRED = "log_year_inferred"  # syslog timestamps: no year (inferred) and no zone
    SERVER_REPLY = "server_reply"  # a time the server wrote into its greeting or reply
    DATE_HEADER = "date_header"  # a Date: header the client sent: not before it
    TOKEN_IAT = "token_iat"  # the token's own iat/nbf: not before it
    UNKNOWN = "unknown"


EXACT_WITHIN = 300.0  # a time known to within this many seconds counts as exact (a server's reply stamp: ±60 s)


@dataclass(frozen=True, slots=True)
class EvidenceTime:
    """When the evidence was produced: the moment time-dependent rules (expiry, not yet valid, expiring soon) judge at,
    so a log read a day later is judged as it was then. Known to within [earliest, latest]: a live check or a zoned
    log timestamp exactly, a local time without a zone within a day, the token's own iat only from below."""

    source: TimeSource = TimeSource.UNKNOWN
    at: float | None = None  # epoch seconds: the time as stated (a zone-less local time read as UTC)
    earliest: float | None = None
    latest: float | None = None  # None: no upper bound (the token's iat, a Date: header)
    stated: str = ""  # ISO 8601 as known: with its offset when the zone is known, without when not
    detail: str = ""  # where it came from and how sure it is, one sentence

    @classmethod
    def from_clock(cls, now: float) -> EvidenceTime:
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        return cls(TimeSource.CLOCK, now, now, now, stamp, "this machine's clock while the check ran")

    @property
    def known(self) -> bool:
        return self.earliest is not None

    @property
    def exact(self) -> bool:
        """Known to within a few minutes: precise enough to say how long before or after an expiry it was."""
        return self.earliest is not None and self.latest is not None and self.latest - self.earliest <= EXACT_WITHIN

    def seconds_until(self, moment: float) -> float | None:
        """`moment` minus the time of the evidence: exact when the time is; else the least distance the window allows when
        it lies wholly on one side of `moment`; None when it straddles it (cannot tell)."""
        if self.earliest is None:
            return None
        if self.exact and self.at is not None:
            return moment - self.at
        if self.earliest > moment:
            return moment - self.earliest
        if self.latest is not None and self.latest <= moment:
            return moment - self.latest
        return None


@dataclass(frozen=True, slots=True)
class DiagnosisInput:
    """Everything a rule may look at. Rules are pure functions of this."""

    settings: CheckSettings | None  # imported logs may have none
    evidence: SessionEvidence
    token: TokenEvidence | None
    lines: tuple[TranscriptLine, ...] = ()
    now: float = 0.0  # epoch seconds, injected for determinism
    extra: dict[str, Any] = field(default_factory=dict)
    evidence_time: EvidenceTime | None = None  # what time-dependent rules judge at; None: `now` (this machine's clock)

    @property
    def judged_at(self) -> EvidenceTime:
        return self.evidence_time or EvidenceTime.from_clock(self.now)
