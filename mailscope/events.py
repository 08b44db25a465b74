"""The event model every producer (live probe, lab, log import, token acquisition) emits and every
consumer (CLI, report, diagnosis, TUI) reads.

Text in these objects is always already redacted and control-escaped: the only way to create a
`TranscriptLine` in production code is `SessionRecord.add_line`, which applies the redactor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailscope.evidence import Outcome, SessionEvidence, TokenEvidence
    from mailscope.findings import Diagnosis


class Direction(StrEnum):
    CLIENT = "client"
    SERVER = "server"
    INFO = "info"


class Channel(StrEnum):
    """Which conversation a line belongs to."""

    IMAP = "imap"
    POP3 = "pop3"
    SMTP = "smtp"
    HTTP = "http"  # token endpoint traffic (redacted summaries, never bodies with secrets)
    LOG = "log"  # a line rebuilt from an imported log


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the transcript as everyone sees it: already redacted and escaped, numbered for findings to cite."""
    seq: int  # 1-based, dense within one session: findings cite these numbers
    t: float  # seconds since the session started (monotonic clock; log import: from timestamps)
    direction: Direction
    text: str  # redacted, control characters escaped
    nbytes: int  # length of the raw line on the wire (before redaction), CRLF excluded
    channel: Channel = Channel.IMAP
    annotations: tuple[str, ...] = ()  # e.g. "SASL XOAUTH2 initial response"
    wall_time: str | None = None  # ISO timestamp when known (imported logs)


@dataclass(frozen=True, slots=True)
class LineAdded:
    """A transcript line was added (live from the wire tap, or replayed from a log)."""
    line: TranscriptLine


@dataclass(frozen=True, slots=True)
class EvidenceChanged:
    """Session evidence changed; `fields` names the attributes of SessionEvidence that moved."""

    evidence: SessionEvidence
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenKnown:
    """The credential's token was inspected: its claims can be shown before the session ends."""
    token: TokenEvidence


@dataclass(frozen=True, slots=True)
class DiagnosisUpdated:
    """A new diagnosis of the session so far (the console redraws its panel)."""
    diagnosis: Diagnosis


@dataclass(frozen=True, slots=True)
class DeviceCodePrompt:
    """The user must open `verification_uri` and type `user_code` (device-code flow)."""

    verification_uri: str
    user_code: str
    message: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class PasteBackPrompt:
    """The user must open `authorization_url`; the browser's redirect to `redirect_uri` (a loopback listener)
    ends the wait by itself, or the user pastes the final redirect URL back."""

    authorization_url: str
    redirect_uri: str
    timeout: float = 0.0  # seconds the flow waits before giving up (0: not known)
    # The asyncio.Future[str] the UI resolves with the pasted URL (the same object as PromptRequested.answer). It is
    # done (cancelled) as soon as the wait ends any other way, so a dialog or progress line knows when to go away.
    answer: object | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class PromptRequested:
    """Token acquisition needs the user (device code to type, or a redirect URL to paste back)."""
    prompt: DeviceCodePrompt | PasteBackPrompt
    # For PasteBackPrompt the UI (or CLI) resolves this future with the pasted URL.
    answer: object | None = field(default=None)  # asyncio.Future[str] | None


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """The session is over with this outcome; no event follows."""
    outcome: Outcome


Event = LineAdded | EvidenceChanged | TokenKnown | DiagnosisUpdated | PromptRequested | SessionFinished
