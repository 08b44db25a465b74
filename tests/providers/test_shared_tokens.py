"""Tokens for an audit, against the lab identity provider with real msal: one app-only token per tenant and app for
every mailbox, obtained again near its expiry, a refusal reused, a transient failure retried later, delegated tokens
from the cache (never a prompt), a static token read once; every session's redactor already knows the secret."""

from __future__ import annotations

import time

import pytest

from mailscope.credential import Credential, TokenAcquisitionError
from mailscope.record import SessionRecord
from mailscope.settings import CheckSettings, SecretSource
from providers.shared_tokens import AuditCredentials, audit_settings, shared_key

from .conftest import CLIENT_SECRET, DAEMON_APP, USER, Lab, Recorder

APP_SCOPE = "https://outlook.office365.com/.default"


def daemon(lab: Lab, user: str, **changes: object) -> CheckSettings:
    fields: dict[str, object] = {
        "flow": "client_credentials",
        "client_id": DAEMON_APP,
        "scopes": (APP_SCOPE,),
        "client_secret": SecretSource("env", "LAB_CLIENT_SECRET"),
    }
    return lab.settings(user=user, **{**fields, **changes})


def token_requests(lab: Lab, since: int) -> int:
    return sum(r.path.endswith("/oauth2/v2.0/token") for r in lab.idp.requests[since:])


async def session(credentials: AuditCredentials, settings: CheckSettings) -> tuple[Credential | TokenAcquisitionError, SessionRecord]:
    given = await credentials(settings)
    record = SessionRecord(settings, redactor=given.redactor)
    assert given.source is not None
    try:
        return await given.source.acquire(record), record
    except TokenAcquisitionError as exc:
        return exc, record


async def test_one_app_only_token_serves_every_mailbox_of_the_tenant(lab: Lab) -> None:
    before = len(lab.idp.requests)
    credentials = AuditCredentials()
    results = [await session(credentials, daemon(lab, f"mbx{i}@contoso.onmicrosoft.com")) for i in range(5)]
    assert token_requests(lab, before) == 1 and credentials.acquisitions == 1
    tokens = {credential.secret.reveal() for credential, _ in results if isinstance(credential, Credential)}
    assert len(tokens) == 1
    token = tokens.pop()
    for _, record in results:
        assert record.token is not None and record.token.claims["roles"] == ["IMAP.AccessAsApp", "SMTP.SendAsApp"]
        assert "shared by every mailbox of this audit" in record.lines[0].text
        assert token[20:60] not in record.redactor.redact(f"AUTHENTICATE XOAUTH2 {token}")
        assert CLIENT_SECRET not in record.redactor.redact(f"client_secret={CLIENT_SECRET}")


async def test_the_token_is_obtained_again_when_it_comes_near_its_expiry(lab: Lab) -> None:
    now = [time.time()]
    credentials = AuditCredentials(refresh_margin=300, clock=lambda: now[0])
    first, _ = await session(credentials, daemon(lab, "a@contoso.onmicrosoft.com"))
    assert isinstance(first, Credential) and first.token.expires_at is not None
    now[0] = first.token.expires_at - 301
    again, _ = await session(credentials, daemon(lab, "b@contoso.onmicrosoft.com"))
    assert again is first and credentials.acquisitions == 1
    now[0] = first.token.expires_at - 299
    renewed, _ = await session(credentials, daemon(lab, "c@contoso.onmicrosoft.com"))
    assert isinstance(renewed, Credential) and renewed is not first and credentials.acquisitions == 2


async def test_a_refusal_is_reused_and_a_transient_failure_is_tried_again_later(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRONG_SECRET", "lab~not-the-secret-value-0123456789")
    now = [time.time()]
    credentials = AuditCredentials(retry_failed_after=30, clock=lambda: now[0])
    before = len(lab.idp.requests)
    for user in ("a", "b", "c"):
        error, record = await session(credentials, daemon(lab, f"{user}@x.org", client_secret=SecretSource("env", "WRONG_SECRET")))
        assert isinstance(error, TokenAcquisitionError) and "AADSTS7000215" in str(error)
        assert "not repeated per mailbox" in record.lines[0].text
    now[0] += 3600
    await session(credentials, daemon(lab, "d@x.org", client_secret=SecretSource("env", "WRONG_SECRET")))
    assert token_requests(lab, before) == 1
    down = daemon(lab, "e@x.org", authority="https://127.0.0.1:9/contoso.onmicrosoft.com")  # nothing listens on port 9
    error, _ = await session(credentials, down)
    assert isinstance(error, TokenAcquisitionError) and error.token.error and error.token.error["error"] == "transport_error"
    await session(credentials, down)
    assert credentials.acquisitions == 2
    now[0] += 31
    await session(credentials, down)
    assert credentials.acquisitions == 3


async def test_delegated_rows_take_their_tokens_from_the_cache_without_a_prompt(lab: Lab) -> None:
    signed_in = Recorder(lab.settings())  # the user signed in once (device code), which filled the cache
    from providers.registry import token_source_for

    await token_source_for(lab.settings()).acquire(signed_in.record)
    settings = audit_settings(lab.settings(user=USER))
    assert settings.flow == "silent" and shared_key(settings) is None
    before = len(lab.idp.requests)
    credential, record = await session(AuditCredentials(), settings)
    assert isinstance(credential, Credential) and credential.token.account == USER
    assert token_requests(lab, before) == 0
    never_signed_in = audit_settings(lab.settings(user="nobody@contoso.onmicrosoft.com"))
    error, _ = await session(AuditCredentials(), never_signed_in)
    assert isinstance(error, TokenAcquisitionError) and "device_code" in str(error)


async def test_a_static_token_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_TOKEN", "ya29.a0AfH6SMBx-static-token-value-0123456789abcdefghij")
    credentials = AuditCredentials()
    settings = CheckSettings("imap.example.org", 993, token=SecretSource("env", "MAIL_TOKEN"))
    first, record = await session(credentials, settings)
    monkeypatch.setenv("MAIL_TOKEN", "changed")
    second, _ = await session(credentials, settings)
    assert isinstance(first, Credential) and second is first and credentials.acquisitions == 1
    assert "static-token-value" not in record.redactor.redact("Bearer ya29.a0AfH6SMBx-static-token-value-0123456789abcdefghij")


async def test_the_shared_token_is_cleaned_again_once_the_family_learns_a_secret(lab: Lab) -> None:
    """Sessions skip cleaning the shared token's evidence while the redactor family has learned nothing since a session
    cleaned it; a secret any session registers later is removed from it before the next session shows it."""
    credentials = AuditCredentials()
    _, first = await session(credentials, daemon(lab, "a@contoso.onmicrosoft.com"))
    _, second = await session(credentials, daemon(lab, "b@contoso.onmicrosoft.com"))
    assert first.token is second.token and second.token is not None
    tenant = second.token.claims["tid"]
    assert isinstance(tenant, str) and tenant in second.token.claims.values()
    second.redactor.register(tenant)  # say a session met this value as a password on the wire
    _, third = await session(credentials, daemon(lab, "c@contoso.onmicrosoft.com"))
    assert third.token is not None and tenant not in str(third.token.claims) and "<token 36 chars sha256:" in third.token.claims["tid"]
