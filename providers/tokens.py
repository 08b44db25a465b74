"""What every token source does at the end: turn a library's answer into a Credential, or its failure
into TokenAcquisitionError carrying a redacted error dict (never any other exception)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

from mailscope.credential import Credential, TokenAcquisitionError
from mailscope.events import Channel, Direction
from mailscope.evidence import TokenEvidence
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import SecretSource
from providers.generic import read_secret
from providers.http import HttpTap, describe_transport_error
from providers.inspect import inspect_token

T = TypeVar("T")
# These libraries log request bodies, codes and tokens at DEBUG (msal, requests-oauthlib, urllib3, google-auth).
# mailscope records its own redacted transcript instead, so they are capped at INFO whatever the root level is.
CHATTY_LIBRARY_LOGGERS = ("msal", "requests_oauthlib", "oauthlib", "urllib3", "google.auth", "google.oauth2", "google_auth_oauthlib")
ERROR_KEYS = ("error", "error_description", "error_codes", "suberror", "error_uri", "correlation_id", "trace_id", "timestamp",
              "fix", "claims")


def cap_library_debug_logs() -> None:
    """Raise (never lower) the level of loggers known to print secrets at DEBUG."""
    for name in CHATTY_LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


def clean_error(record: SessionRecord, error: dict[str, Any]) -> dict[str, Any]:
    """Keep the error members diagnosis needs, with every string redacted."""
    cleaned: dict[str, Any] = {}
    for key in ERROR_KEYS:
        if key not in error:
            continue
        value = error[key]
        if isinstance(value, str):
            value = record.redactor.redact(value.replace("\r\n", "\n"))  # Entra's CRLF would be escaped to a visible \r
        elif isinstance(value, list | tuple):
            value = [record.redactor.redact(v) if isinstance(v, str) else v for v in value]
        cleaned[key] = value
    return cleaned


class Attempt:
    """One acquisition: collects facts as it goes and ends in `success()` or `fail()`."""

    def __init__(self, record: SessionRecord, tap: HttpTap | None, *, provider: str, flow: str, source: str,
                 requested_scopes: Iterable[str] = (), authority: str | None = None) -> None:
        self.record = record
        self.tap = tap
        self.provider = provider
        self.flow = flow
        self.source = source
        self.requested_scopes = tuple(requested_scopes)
        self.authority = authority
        self.notes: list[str] = []
        cap_library_debug_logs()

    def note(self, text: str) -> None:
        """A fact worth keeping in TokenEvidence.notes, also shown in the transcript."""
        self.notes.append(text)
        self.info(text)

    def info(self, text: str) -> None:
        """An INFO line on the token stage's channel (the HTTP conversation with the identity provider)."""
        self.record.add_line(Direction.INFO, text, channel=Channel.HTTP, nbytes=0)

    def secret(self, value: str, kind: SecretKind) -> Secret:
        """Wrap and register at once: from here on no line can carry it."""
        secret = Secret(kind, value)
        self.record.redactor.register(secret, None if kind is not SecretKind.PASSWORD else "password")
        return secret

    def read_secret(self, source: SecretSource | None, kind: SecretKind, what: str, *, missing: str = "",
                    fix: tuple[str, ...] = ()) -> Secret:
        """Read (see providers.generic.read_secret) and register a secret the flow needs; a missing or
        unreadable one is a configuration failure that names the source, never the value."""
        if source is None:
            description = missing or f"no {what} source given"
            self.fail({"error": "configuration_error", "error_description": description, **({"fix": list(fix)} if fix else {})})
        try:
            return self.secret(read_secret(source), kind)
        except LookupError as exc:
            self.fail({"error": "configuration_error", "error_description": f"the {what} could not be read ({exc})"})

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking library call in a thread; transport/config exceptions become `fail()`."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the library boundary: whatever it raises becomes a clear failure
            self.fail_from_exception(exc)

    async def run_raw(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like run() but lets the library's own exceptions through, for callers that map them."""
        return await asyncio.to_thread(function, *args, **kwargs)

    def fail_from_exception(self, exc: BaseException) -> NoReturn:
        import requests

        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, requests.RequestException):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            reason = describe_transport_error(cause)
            self.fail({"error": "transport_error", "error_description": f"identity provider unreachable: {reason}"})
        if type(exc).__module__.startswith("google.auth") and type(exc).__name__ == "TransportError":
            self.fail({"error": "transport_error", "error_description": f"identity provider unreachable: {exc}"})
        if isinstance(exc, ValueError):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.fail({"error": "configuration_error", "error_description": f"the library refused the settings: {first}"})
        self.fail({"error": "unexpected_response",
                   "error_description": f"unexpected answer from the identity provider ({type(exc).__name__}: {str(exc)[:200]})"})

    def evidence(self, **fields: Any) -> TokenEvidence:
        token = TokenEvidence(provider=self.provider, flow=self.flow, source=self.source, requested_scopes=self.requested_scopes,
                              authority=self.authority)
        for name, value in fields.items():
            setattr(token, name, value)
        token.http = list(self.tap.exchanges) if self.tap else []
        token.notes = [*token.notes, *self.notes]
        return token

    def fail(self, error: dict[str, Any]) -> NoReturn:
        cleaned = clean_error(self.record, error)
        token = self.evidence(error=cleaned)
        self.record.set_token(token)
        description = str(cleaned.get("error_description", "")).split("\r\n")[0].split("\n")[0].strip()
        message = f"{self.provider} token request failed: {cleaned.get('error', 'error')}" + (f": {description}" if description else "")
        raise TokenAcquisitionError(self.record.redactor.redact(message), token)

    def success(self, access_token: str, *, granted_scopes: tuple[str, ...] | None, expires_in: float | None = None,
                expires_at: float | None = None, has_refresh_token: bool | None = None, account: str | None = None) -> Credential:
        secret = self.secret(access_token, SecretKind.ACCESS_TOKEN)
        if expires_at is None and expires_in is not None:
            expires_at = time.time() + float(expires_in)
        token = inspect_token(secret, flow=self.flow, source=self.source, provider=self.provider, granted_scopes=granted_scopes,
                              expires_at=expires_at)
        token.requested_scopes = self.requested_scopes
        token.authority = self.authority
        token.has_refresh_token = has_refresh_token
        token.account = token.account or account
        token.http = list(self.tap.exchanges) if self.tap else []
        token.notes = [*token.notes, *self.notes]
        self.record.set_token(token)
        return Credential(secret=secret, is_password=False, token=token)
