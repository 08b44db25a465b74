"""The credential handed to a probe, and the protocol every token source (providers/, lab) follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mailscope.evidence import TokenEvidence
from mailscope.secret import Secret

if TYPE_CHECKING:
    from mailscope.record import SessionRecord


class TokenAcquisitionError(Exception):
    """Token stage failed. `token` carries the error dict (AADSTS..., Google error) for diagnosis.

    The message must already be redacted: it is shown to the user as is.
    """

    def __init__(self, message: str, token: TokenEvidence) -> None:
        super().__init__(message)
        self.token = token


@dataclass(frozen=True, slots=True)
class Credential:
    """The secret a session signs in with, and what is known about its token."""
    secret: Secret  # bearer token (OAuth mechanisms) or password (PLAIN/LOGIN)
    is_password: bool
    token: TokenEvidence


class TokenSource(Protocol):
    async def acquire(self, record: SessionRecord) -> Credential:
        """Obtain the credential. Must register every secret it touches with `record.redactor`,
        call `record.set_token(...)` as soon as the token's facts are known, emit prompts through
        `record.prompt(...)`, never block the event loop (sync libraries run in a thread), and
        raise TokenAcquisitionError (never anything else) on failure."""
        ...
