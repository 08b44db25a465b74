"""Is a session's failure the server asking to be left alone for a while? (sans-IO: evidence in, verdict out)

An audit signs in to hundreds of mailboxes at once, and Exchange Online, Gmail and Dovecot answer load with
temporary refusals that say nothing about the mailbox: they must be backed off and retried, never reported as the
mailbox's failure. The answers recognised, as the services send them:

* IMAP: `NO Request is throttled. Suggested Backoff Time: 299609 milliseconds` and `NO Server Unavailable. 15`
  (Exchange), `NO [ALERT] Too many simultaneous connections. (Failure)` and `[THROTTLED]` (Gmail), RFC 5530's
  `[UNAVAILABLE]`, `[LIMIT]`, `[INUSE]` (Dovecot: `NO [UNAVAILABLE] Temporary authentication failure.`,
  `NO [LIMIT] Maximum number of connections from user+IP exceeded`);
* POP3: RFC 3206's `-ERR [SYS/TEMP] ...` and `-ERR [IN-USE] ...`;
* SMTP: any 4xx reply (RFC 5321 transient), e.g. `421 4.7.0 Try again later, closing connection.`,
  `432 4.3.2 Concurrent connections limit exceeded`, `454 4.7.0 Too many login attempts, please try again later.`

A refusal at the greeting, or SMTP's 421 (closing the channel), is about the connection rate to the whole host; the
others are about this sign-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mailscope.evidence import FaultKind, SessionEvidence
from mailscope.patterns import lazy


class ThrottleScope(StrEnum):
    MAILBOX = "mailbox"  # this sign-in or command was throttled: retry this mailbox later
    HOST = "host"  # the server refused the connection (rate or count): slow down everything sent to it


@dataclass(frozen=True, slots=True)
class Throttle:
    answer: str  # the server's words as the evidence holds them (redacted)
    scope: ThrottleScope
    suggested_delay: float | None = None  # seconds, when the server said how long to wait


# Compiled on first use (mailscope.patterns.lazy): an IMAP audit never needs the SMTP ones, a healthy one none of them.
_IMAP_POP_TEMPORARY = lazy(
    r"\[(?:THROTTLED|UNAVAILABLE|LIMIT|INUSE|SYS/TEMP|IN-USE)\]|Request is throttled|Server Unavailable\."
    r"|Too many simultaneous connections|Temporary System Problem",
    re.IGNORECASE,
)
_SMTP_TRANSIENT = lazy(r"^4\d\d(?:[ -]|$)")
_SMTP_CLOSING = lazy(r"^421(?:[ -]|$)")
_SUGGESTED = lazy(r"Suggested Backoff Time: (\d{1,9}) milliseconds", re.IGNORECASE)
_GREETING_FAULTS = (FaultKind.BYE_GREETING, FaultKind.UNEXPECTED_GREETING)


def throttle_of(evidence: SessionEvidence) -> Throttle | None:
    """The throttling answer that ended this session, or None when it ended for any other reason."""
    temporary = _SMTP_TRANSIENT().match if evidence.protocol == "smtp" else _IMAP_POP_TEMPORARY().search
    fault = evidence.fault
    if fault is not None and fault.kind in _GREETING_FAULTS:
        text = evidence.greeting or fault.detail
        if temporary(text.strip()) or temporary(fault.detail):
            return _throttle(text, ThrottleScope.HOST)
    if evidence.auth_result in ("NO", "BAD") and temporary(evidence.auth_text.strip()):
        return _throttle(evidence.auth_text, _scope(evidence, evidence.auth_text))
    for text in (*(c.text for c in evidence.commands if c.result in ("NO", "BAD")), evidence.untagged_bye or ""):
        if text and temporary(text.strip()):
            return _throttle(text, _scope(evidence, text))
    return None


def _scope(evidence: SessionEvidence, text: str) -> ThrottleScope:
    return ThrottleScope.HOST if evidence.protocol == "smtp" and _SMTP_CLOSING().match(text.strip()) else ThrottleScope.MAILBOX


def _throttle(text: str, scope: ThrottleScope) -> Throttle:
    suggested = _SUGGESTED().search(text)
    return Throttle(text.strip(), scope, int(suggested.group(1)) / 1000 if suggested else None)
