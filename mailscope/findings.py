"""Findings: a named cause (catalogue id), who must act, how to fix it, and the evidence it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    kind: EvidenceKind
    name: str  # claim/setting name, or a short label for a line
    value: str = ""  # redacted where secret
    seq: int | None = None  # transcript line number for LINE


@dataclass(frozen=True, slots=True)
class Finding:
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
    findings: tuple[Finding, ...] = ()  # ranked, best first
    checks: tuple[Check, ...] = ()
    summary: str = ""  # one line: "authenticated and mailbox reachable" or the top cause

    @property
    def top(self) -> Finding | None:
        return self.findings[0] if self.findings else None


@dataclass(frozen=True, slots=True)
class DiagnosisInput:
    """Everything a rule may look at. Rules are pure functions of this."""

    settings: CheckSettings | None  # imported logs may have none
    evidence: SessionEvidence
    token: TokenEvidence | None
    lines: tuple[TranscriptLine, ...] = ()
    now: float = 0.0  # epoch seconds, injected for determinism
    extra: dict[str, Any] = field(default_factory=dict)
