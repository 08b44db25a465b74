"""A token's validity at the time of the evidence, not at today's clock: a log read a day later is judged as of when
its client used the token, and when that time is unknown or too loose, the verdict says so instead of guessing.

Pure functions over `TokenEvidence` and `EvidenceTime`; the rules (generic.py, providers' rules) phrase findings with
them, `Context.seconds_left` is `validity(...).seconds_left`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from mailscope.evidence import TokenEvidence
from mailscope.findings import EvidenceTime, TimeSource

TOLERANCE = 300.0  # validators allow 5 minutes of clock skew; Entra back-dates iat/nbf by as much


class State(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"  # used before it was issued, by the evidence's clock: that clock is wrong
    UNDETERMINED = "undetermined"  # the time of the evidence does not decide it
    NO_EXPIRY = "no_expiry"  # no token, or no exp known


@dataclass(frozen=True, slots=True)
class Validity:
    """Whether the token was valid when the evidence was made, and by how much: what the expiry rules judge."""

    state: State
    seconds_left: float | None = None  # exp minus the time of use: exact, or the least the evidence allows; None: cannot tell
    start: float | None = None  # nbf, else iat


def validity(token: TokenEvidence | None, when: EvidenceTime) -> Validity:
    exp = _plausible(token.expires_at) if token is not None else None
    if token is None or exp is None:
        return Validity(State.NO_EXPIRY)
    start = _plausible(token.claims.get("nbf")) or _plausible(token.issued_at)
    if start is not None and when.latest is not None and when.latest < start - TOLERANCE:
        return Validity(State.NOT_YET_VALID, None, start)
    left = when.seconds_until(exp)
    if left is None:
        return Validity(State.UNDETERMINED, None, start)
    return Validity(State.VALID if left > 0 else State.EXPIRED, left, start)


def span(seconds: float, when: EvidenceTime) -> str:
    """A duration in seconds, "at least" when the time of the evidence is a window that only bounds it."""
    return f"{'' if when.exact else 'at least '}{int(abs(seconds))} s"


def used_at(when: EvidenceTime) -> str:
    """The moment a verdict refers to, for a finding's sentence: "at this check" or "when it was used (...)"."""
    if when.source is TimeSource.CLOCK:
        return "at this check (this machine's clock)"
    return f"when it was used ({when.stated}, {when.detail})"


def lifetime(token: TokenEvidence) -> str:
    """How long the token was issued for ("exp is 65 minutes after iat: ..."), or what is known of it."""
    if _plausible(token.expires_at) is None:
        return "the token names no expiry"
    if _plausible(token.issued_at) is None:
        return f"the token expires at {stamp(token.expires_at)} and does not say when it was issued"
    minutes = round((token.expires_at - token.issued_at) / 60)
    return f"exp is {minutes} minutes after iat: the token was issued for {minutes} minutes"


def undetermined(token: TokenEvidence, when: EvidenceTime) -> str:
    """What can be said of the expiry when the time of the evidence cannot decide it."""
    why = f"its time, {when.stated}, is too loose: {when.detail}" if when.known else when.detail
    return f"{lifetime(token)}; whether it had expired when used cannot be told from this log ({why})"


def stamp(epoch: float) -> str:
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(epoch)


def _plausible(value: object) -> float | None:
    """A claim's epoch seconds when they can be one (a token in a log may say anything: Infinity, 1e300, "soon")."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < _YEAR_9000:
        return None
    return float(value)


_YEAR_9000 = 221_845_392_000
