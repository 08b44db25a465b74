"""Tokens for a fleet audit (`mailscope audit`): what the token side hands each mailbox's session.

* App-only sign-ins (Microsoft client credentials, with a secret or a certificate) and a static token or password:
  one credential per tenant and app (per source), obtained once through the real flow and reused for every mailbox
  that shares it, obtained again when it comes within `refresh_margin` of its expiry. A refusal is reused as well (a
  wrong or expired secret costs one token request, not one per mailbox); a transient one (identity provider
  unreachable, 5xx) is tried again after `retry_failed_after` seconds.
* Delegated sign-ins: each mailbox's own token. `audit_settings` turns Microsoft's interactive flows into `silent`
  (msal's token cache: sign in once per user with `mailscope check --flow device_code --user ...`), lets a Google
  service account impersonate each row's user, and refuses flows that need a person at a browser: an audit never
  prompts.

Every session gets a redactor that already knows the shared secrets (`Redactor.fork`): registering a token costs
milliseconds, which hundreds of sessions would each pay again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mailscope.audit.runner import MailboxCredential
from mailscope.credential import Credential, TokenAcquisitionError, TokenSource
from mailscope.evidence import TokenEvidence
from mailscope.record import SessionRecord
from mailscope.redact import Redactor
from mailscope.settings import CheckSettings
from providers import google, microsoft
from providers.registry import STATIC_FLOWS, identity_ca_file, token_source_for

APP_ONLY_FLOWS = ("client_credentials", "client_certificate")
TRANSIENT_ERRORS = ("transport_error", "temporarily_unavailable", "server_error", "unexpected_response")

SharedKey = tuple[str, ...]


def audit_settings(settings: CheckSettings) -> CheckSettings:
    """A row's settings as an audit runs them; ValueError (shown as the row's error) for a flow that needs a person."""
    if _static(settings):
        return settings
    if settings.provider == "microsoft" and microsoft.normalise_flow(settings.flow) in ("device_code", "auth_code"):
        return dataclasses.replace(settings, flow="silent")  # the token cache; the cache is never prompted for
    if settings.provider == "google":
        flow = google.normalise_flow(settings.flow)
        if flow == "installed_app":
            raise ValueError(
                f"flow {settings.flow or 'installed_app'} needs a person at a browser and an audit cannot prompt: "
                "use refresh_token or service_account (domain-wide delegation)"
            )
        if flow == "service_account" and not settings.subject:
            return dataclasses.replace(settings, subject=settings.user)  # impersonate the row's mailbox
    return settings


def shared_key(settings: CheckSettings) -> SharedKey | None:
    """What makes two mailboxes' credentials the same one (None: each mailbox gets its own)."""
    if _static(settings):
        source = settings.password if settings.password is not None and settings.token is None else settings.token
        return ("static", source.describe() if source else "", str(settings.mechanism))
    if settings.provider == "microsoft" and microsoft.normalise_flow(settings.flow) in APP_ONLY_FLOWS:
        secret = settings.client_secret.describe() if settings.client_secret else ""
        return (
            "microsoft",
            microsoft.normalise_flow(settings.flow),
            settings.authority or f"{settings.cloud}/{settings.tenant}",
            settings.client_id,
            " ".join(settings.scopes),
            secret,
            settings.certificate or "",
            identity_ca_file(settings) or "",
            settings.extra.get("thumbprint", ""),
        )
    return None


def _static(settings: CheckSettings) -> bool:
    return (settings.token is not None or settings.password is not None) and (
        settings.provider not in ("microsoft", "google") or settings.flow.strip().lower() in STATIC_FLOWS
    )


@dataclass(slots=True)
class _Shared:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    credential: Credential | None = None
    error: TokenAcquisitionError | None = None
    redactor: Redactor = field(default_factory=Redactor)  # knows the flow's secrets (client secret, token)
    obtained: str = ""  # when, for the transcript
    valid_until: float = 0.0  # epoch seconds: obtain again from then on
    redacted_at: int | None = None  # the redactor family's generation when a session last cleaned the shared token


class AuditCredentials:
    """The audit's CredentialProvider (`await credentials(settings)` per session)."""

    def __init__(
        self,
        *,
        refresh_margin: float = 300.0,
        retry_failed_after: float = 30.0,
        clock: Callable[[], float] = time.time,
        source_for: Callable[[CheckSettings], TokenSource | None] = token_source_for,
    ) -> None:
        self.refresh_margin = refresh_margin
        self.retry_failed_after = retry_failed_after
        self._clock = clock
        self._source_for = source_for
        self._shared: dict[SharedKey, _Shared] = {}
        self.acquisitions = 0  # shared credentials obtained (or refused) so far

    async def __call__(self, settings: CheckSettings) -> MailboxCredential:
        key = shared_key(settings)
        if key is None:
            return MailboxCredential(self._source_for(settings), Redactor())
        entry = self._shared.get(key)
        if entry is None:  # not setdefault: that would build a _Shared (lock, redactor) per mailbox to throw away
            entry = self._shared[key] = _Shared()
        if self._clock() >= entry.valid_until:
            async with entry.lock:  # one request for all the mailboxes waiting here
                if self._clock() >= entry.valid_until:
                    await self._obtain(entry, settings)
        return MailboxCredential(_Reused(entry), entry.redactor.fork())

    async def _obtain(self, entry: _Shared, settings: CheckSettings) -> None:
        record = SessionRecord(dataclasses.replace(settings, user=""))  # the token is the tenant's, not a mailbox's
        source = self._source_for(settings)
        self.acquisitions += 1
        entry.credential = entry.error = None
        entry.redacted_at = None
        entry.obtained = datetime.now(UTC).strftime("%H:%M:%S UTC")
        assert source is not None  # a shared key names a static or an app-only source
        try:
            entry.credential = await source.acquire(record)
        except TokenAcquisitionError as exc:
            entry.error = exc
        except Exception as exc:  # noqa: BLE001 - a source that broke its contract: the same evidence run_check would make
            entry.error = TokenAcquisitionError(
                record.redactor.redact(f"the token source failed unexpectedly: {exc.__class__.__name__}: {exc}"), TokenEvidence()
            )
        entry.redactor = record.redactor
        now = self._clock()
        if entry.credential is not None:
            expires = entry.credential.token.expires_at
            refreshable = expires is not None and not _static(settings)  # a static token cannot be obtained again
            entry.valid_until = expires - self.refresh_margin if refreshable else float("inf")
            entry.credential.token.notes.append(
                f"obtained once at {entry.obtained} for this audit and reused for every mailbox that shares it"
            )
        else:
            assert entry.error is not None
            transient = (entry.error.token.error or {}).get("error") in TRANSIENT_ERRORS
            entry.valid_until = now + self.retry_failed_after if transient else float("inf")


class _Reused:
    """The shared outcome as one mailbox's token source: the same credential, or the same refusal."""

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.credential, self.error, self.obtained = shared.credential, shared.error, shared.obtained

    async def acquire(self, record: SessionRecord) -> Credential:
        if self.credential is None:
            assert self.error is not None
            record.info(
                f"the credential was refused at {self.obtained}; every mailbox of this audit that shares it gets that answer "
                "(the request is not repeated per mailbox)"
            )
            raise TokenAcquisitionError(str(self.error), self.error.token)
        token = self.credential.token
        record.info(
            f"{token.flow or 'shared'} credential obtained once at {self.obtained}, shared by every mailbox of this audit "
            "with the same tenant, app and secret"
        )
        shared, generation = self.shared, record.redactor.generation
        record.set_token(token, redacted_at=shared.redacted_at if shared.credential is self.credential else None)
        if shared.credential is self.credential and record.redactor.generation == generation:
            shared.redacted_at = generation  # cleaned whole while the family learned no secret: the next session skips it
        return self.credential
