"""google-auth (and google-auth-oauthlib) against the lab identity provider's Google endpoints."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests

from mailscope.credential import TokenAcquisitionError
from mailscope.events import Channel, PasteBackPrompt
from mailscope.settings import SecretSource
from providers.explain import explain_token_error
from providers.google import GoogleSource
from providers.registry import token_source_for

from .conftest import GOOGLE_CLIENT_SECRET, GOOGLE_MAIL, GOOGLE_REFRESH_TOKEN, GOOGLE_REVOKED_REFRESH_TOKEN, GOOGLE_USER, Lab, Recorder

READONLY = "https://www.googleapis.com/auth/gmail.readonly"


async def acquire(lab: Lab, **changes: object):
    settings = lab.google_settings(**changes)
    recorder = Recorder(settings)
    source = token_source_for(settings)
    assert isinstance(source, GoogleSource)
    return await asyncio.wait_for(source.acquire(recorder.record), 20), recorder


async def failure(lab: Lab, **changes: object) -> tuple[TokenAcquisitionError, list[str], Recorder]:
    settings = lab.google_settings(**changes)
    recorder = Recorder(settings)
    with pytest.raises(TokenAcquisitionError) as info:
        await asyncio.wait_for(token_source_for(settings).acquire(recorder.record), 20)
    ids = [f.id for f in explain_token_error(info.value.token, settings)]
    return info.value, ids, recorder


async def test_user_refresh_token(lab: Lab) -> None:
    credential, recorder = await acquire(lab)
    token = credential.token
    assert token.kind == "opaque" and token.shape == "google-ya29" and token.provider == "google"
    assert token.granted_scopes == (GOOGLE_MAIL,)
    assert token.expires_at and token.expires_at > time.time()
    assert "token response" in token.notes[-1] or any("token response" in n for n in token.notes)
    http = [line.text for line in recorder.record.lines if line.channel is Channel.HTTP]
    assert any("grant_type=refresh_token" in t for t in http)
    assert GOOGLE_REFRESH_TOKEN not in recorder.text() and GOOGLE_CLIENT_SECRET not in recorder.text()


async def test_service_account_with_subject(lab: Lab) -> None:
    credential, recorder = await acquire(lab, flow="service_account", service_account_file=lab.key_file(lab.sa_with_dwd),
                                         subject=GOOGLE_USER)
    token = credential.token
    assert token.account == GOOGLE_USER and token.has_refresh_token is False
    http = [line.text for line in recorder.record.lines if line.channel is Channel.HTTP]
    assert any("grant_type=jwt-bearer" in t and "assertion=<assertion" in t for t in http)
    if token.granted_scopes is None:
        assert any("service account" in n and "no scope" in n for n in token.notes)


async def test_service_account_without_dwd_unauthorized_client(lab: Lab) -> None:
    error, ids, _ = await failure(lab, flow="service_account", service_account_file=lab.key_file(lab.sa_without_dwd),
                                  subject=GOOGLE_USER)
    assert error.token.error["error"] == "unauthorized_client"
    assert ids == ["google_service_account_without_dwd"]


async def test_revoked_refresh_token_invalid_grant(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_GOOGLE_RT", GOOGLE_REVOKED_REFRESH_TOKEN)
    error, ids, recorder = await failure(lab)
    assert error.token.error["error"] == "invalid_grant"
    assert ids[0] == "google_refresh_token_invalid_grant" and "google_testing_mode_7day_expiry" in ids
    assert GOOGLE_REVOKED_REFRESH_TOKEN not in str(error) + recorder.text()


async def test_device_flow_is_refused_with_an_explanation(lab: Lab) -> None:
    before = len(lab.idp.requests)
    error, ids, _ = await failure(lab, flow="device_code")
    assert "cannot grant Gmail scopes" in str(error)
    assert ids == ["google_device_flow_cannot_grant_mail"]
    assert len(lab.idp.requests) == before  # nothing was sent


async def consent(lab: Lab, recorder: Recorder) -> str:
    deadline = time.monotonic() + 10
    while not recorder.prompts and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    prompt = recorder.prompts[0]
    assert isinstance(prompt.prompt, PasteBackPrompt)
    url = prompt.prompt.authorization_url.replace("https://accounts.google.com/o/oauth2/auth", lab.idp.google_auth_uri)
    response = await asyncio.to_thread(requests.get, url, allow_redirects=False, verify=lab.idp.ca_file, timeout=10)
    assert response.status_code in (302, 303), response.text
    return response.headers["Location"]


async def test_installed_app_paste_back_with_narrower_grant(lab: Lab) -> None:
    user = lab.directory.google_user(GOOGLE_USER)
    user.grants_only = (READONLY,)  # the user unticks "Read, compose, send and permanently delete all your email"
    try:
        settings = lab.google_settings(flow="installed_app", scopes=(GOOGLE_MAIL, READONLY), refresh_token=None,
                                       extra={"auth_uri": lab.idp.google_auth_uri})
        recorder = Recorder(settings)
        task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
        location = await consent(lab, recorder)
        recorder.prompts[0].answer.set_result(location)
        credential = await asyncio.wait_for(task, 20)
    finally:
        user.grants_only = None
    assert credential.token.granted_scopes == (READONLY,)
    assert credential.token.requested_scopes == (GOOGLE_MAIL, READONLY)
    assert "via paste-back" in " ".join(credential.token.notes)


async def test_installed_app_loopback(lab: Lab) -> None:
    settings = lab.google_settings(flow="installed_app", refresh_token=None, extra={"auth_uri": lab.idp.google_auth_uri})
    recorder = Recorder(settings)
    task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
    location = await consent(lab, recorder)
    assert (await asyncio.to_thread(requests.get, location, timeout=10)).status_code == 200
    credential = await asyncio.wait_for(task, 20)
    assert credential.token.granted_scopes == (GOOGLE_MAIL,) and credential.token.has_refresh_token


async def test_wrong_client_secret(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_GOOGLE_SECRET", "GOCSPX-wrong-secret-value")
    error, ids, _ = await failure(lab)
    assert error.token.error["error"] in ("invalid_client", "unauthorized_client")
    assert ids == ["google_oauth_client_mismatch"]


async def test_missing_secret_source_is_a_clear_failure(lab: Lab) -> None:
    error, ids, _ = await failure(lab, client_secret=SecretSource("env", "LAB_NOT_SET"))
    assert "LAB_NOT_SET is not set" in str(error)
    assert ids == ["token_request_invalid_settings"]


async def test_installed_app_cancel_on_the_consent_screen(lab: Lab) -> None:
    lab.directory.sign_in.consents = False
    try:
        settings = lab.google_settings(flow="installed_app", refresh_token=None, extra={"auth_uri": lab.idp.google_auth_uri})
        recorder = Recorder(settings)
        task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
        location = await consent(lab, recorder)
    finally:
        lab.directory.sign_in.consents = True
    assert "error=access_denied" in location
    assert (await asyncio.to_thread(requests.get, location, timeout=10)).status_code == 200
    with pytest.raises(TokenAcquisitionError) as info:
        await asyncio.wait_for(task, 20)
    assert [f.id for f in explain_token_error(info.value.token, settings)] == ["google_consent_denied"]
