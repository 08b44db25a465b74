"""msal against the lab identity provider: every Microsoft flow, and the token-stage failures with their finding ids."""

from __future__ import annotations

import asyncio
import stat
import time
import urllib.parse

import pytest
import requests

from mailscope.credential import TokenAcquisitionError
from mailscope.events import Channel, DeviceCodePrompt, PasteBackPrompt
from mailscope.lab.directory import DeviceCodeDecision
from mailscope.settings import SecretSource
from providers.explain import explain_token_error
from providers.microsoft import MicrosoftSource
from providers.registry import token_source_for
from providers.token_cache import cache_listing, default_cache_path

from .conftest import CLIENT_SECRET, DAEMON_APP, MFA_USER, MS_REFRESH_TOKEN, UNCONSENTED_APP, UNKNOWN_APP, USER, WEB_APP, Lab, Recorder

IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"


async def acquire(lab: Lab, **changes: object):
    settings = lab.settings(**changes)
    recorder = Recorder(settings)
    source = token_source_for(settings)
    assert isinstance(source, MicrosoftSource)
    credential = await asyncio.wait_for(source.acquire(recorder.record), 20)
    return credential, recorder


async def failure(lab: Lab, **changes: object) -> tuple[TokenAcquisitionError, Recorder]:
    settings = lab.settings(**changes)
    recorder = Recorder(settings)
    with pytest.raises(TokenAcquisitionError) as info:
        await asyncio.wait_for(token_source_for(settings).acquire(recorder.record), 20)
    return info.value, recorder


def finding_ids(error: TokenAcquisitionError, recorder: Recorder) -> list[str]:
    return [f.id for f in explain_token_error(error.token, recorder.record.settings)]


async def test_device_code_approved_by_simulated_user(lab: Lab, private_dirs) -> None:
    credential, recorder = await acquire(lab)
    prompt = recorder.prompts[0].prompt
    assert isinstance(prompt, DeviceCodePrompt) and prompt.user_code and prompt.verification_uri
    token = credential.token
    assert token.kind == "jwt" and token.flow == "device_code" and token.source == "msal"
    assert token.claims["aud"] == "https://outlook.office.com"
    assert "IMAP.AccessAsUser.All" in token.claims["scp"]
    assert token.account == USER and token.has_refresh_token is True
    assert IMAP in token.granted_scopes
    assert token.requested_scopes == (IMAP,)
    assert recorder.record.token is token
    http = [line.text for line in recorder.record.lines if line.channel is Channel.HTTP]
    assert any("devicecode" in text for text in http) and any("grant_type=device_code" in text for text in http)
    assert any("authorization_pending" in text for text in http)  # the simulated user approved after one pending poll
    # cache file: 0600 in $XDG_RUNTIME_DIR, listing without secrets
    path = default_cache_path()
    assert path.parent.parent == private_dirs
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any(line.startswith("refresh token") and USER in line for line in cache_listing(path))


async def test_device_code_poll_does_not_block_the_loop_and_can_be_cancelled(lab: Lab) -> None:
    lab.directory.sign_in.decision = DeviceCodeDecision.MANUAL
    try:
        settings = lab.settings(extra={"token_cache": "none"})
        recorder = Recorder(settings)
        task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
        ticks = 0
        deadline = time.monotonic() + 10
        while not recorder.prompts and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for _ in range(30):  # the loop keeps running while msal polls
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 30 and not task.done()
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 2
    finally:
        lab.directory.sign_in.decision = DeviceCodeDecision.APPROVE


async def test_device_code_declined(lab: Lab) -> None:
    lab.directory.sign_in.decision = DeviceCodeDecision.DECLINE
    try:
        error, recorder = await failure(lab, extra={"token_cache": "none"})
    finally:
        lab.directory.sign_in.decision = DeviceCodeDecision.APPROVE
    assert error.token.error["error"] == "authorization_declined"
    assert finding_ids(error, recorder)[0] == "ms_device_code_declined"


async def test_device_code_expired(lab: Lab) -> None:
    lab.directory.sign_in.decision = DeviceCodeDecision.EXPIRE
    try:
        error, recorder = await failure(lab, extra={"token_cache": "none"})
    finally:
        lab.directory.sign_in.decision = DeviceCodeDecision.APPROVE
    assert error.token.error["error"] == "expired_token"
    assert finding_ids(error, recorder)[0] == "ms_device_code_expired"


async def test_silent_refresh_from_the_cache(lab: Lab) -> None:
    first, _ = await acquire(lab)
    before = len(lab.idp.requests)
    second, recorder = await acquire(lab, flow="silent")
    assert second.token.flow == "silent"
    assert second.secret.reveal() == first.secret.reveal()  # served from the cache
    assert second.token.granted_scopes and IMAP in second.token.granted_scopes  # from the cache's target
    assert not [r for r in lab.idp.requests[before:] if r.path.endswith("/token")]
    forced, _ = await acquire(lab, flow="silent", extra={"force_refresh": "1"})
    assert forced.secret.reveal() != first.secret.reveal()
    assert any(r.params.get("grant_type") == "refresh_token" for r in lab.idp.requests[before:])


async def test_silent_without_cache_says_what_to_do(lab: Lab) -> None:
    error, recorder = await failure(lab, flow="silent")
    assert "device_code" in str(error)
    assert finding_ids(error, recorder) == ["token_endpoint_error"]


async def test_client_credentials_with_secret(lab: Lab) -> None:
    credential, recorder = await acquire(lab, flow="client_credentials", client_id=DAEMON_APP,
                                         client_secret=SecretSource("env", "LAB_CLIENT_SECRET"), scopes=())
    claims = credential.token.claims
    assert claims["idtyp"] == "app" and "IMAP.AccessAsApp" in claims["roles"] and "scp" not in claims
    assert credential.token.requested_scopes == ("https://outlook.office365.com/.default",)
    assert credential.token.has_refresh_token is False
    assert CLIENT_SECRET not in recorder.text()
    assert "client_secret=<client_secret" in recorder.text()


async def test_client_credentials_with_certificate(lab: Lab) -> None:
    credential, recorder = await acquire(lab, flow="client_certificate", client_id=DAEMON_APP, certificate=lab.certificate_file())
    assert credential.token.claims["idtyp"] == "app"
    assert "client_assertion=<client_assertion" in recorder.text()
    assert lab.certificate.private_key_pem.splitlines()[1] not in recorder.text()


async def test_client_credentials_delegated_scope_is_reproduced(lab: Lab) -> None:
    error, recorder = await failure(lab, flow="client_credentials", client_id=DAEMON_APP,
                                    client_secret=SecretSource("env", "LAB_CLIENT_SECRET"), scopes=(IMAP,))
    assert "ms_client_credentials_scope_format" in finding_ids(error, recorder)


async def drive_browser(lab: Lab, recorder: Recorder) -> str:
    """The person at the browser: open the authorization URL, get the redirect with the code."""
    deadline = time.monotonic() + 10
    while not recorder.prompts and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    prompt = recorder.prompts[0]
    assert isinstance(prompt.prompt, PasteBackPrompt)
    response = await asyncio.to_thread(requests.get, prompt.prompt.authorization_url, allow_redirects=False,
                                       verify=lab.idp.ca_file, timeout=10)
    assert response.status_code in (302, 303), response.text
    return response.headers["Location"]


async def test_auth_code_paste_back(lab: Lab) -> None:
    settings = lab.settings(flow="auth_code", extra={"token_cache": "none"})
    recorder = Recorder(settings)
    task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
    location = await drive_browser(lab, recorder)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    recorder.prompts[0].answer.set_result(location)  # what the UI does with the pasted URL
    credential = await asyncio.wait_for(task, 20)
    assert credential.token.claims["aud"] == "https://outlook.office.com"
    assert "via paste-back" in " ".join(credential.token.notes)
    assert code not in recorder.text()


async def test_auth_code_loopback_redirect(lab: Lab) -> None:
    settings = lab.settings(flow="auth_code", extra={"token_cache": "none"})
    recorder = Recorder(settings)
    task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
    location = await drive_browser(lab, recorder)
    page = await asyncio.to_thread(requests.get, location, timeout=10)  # the browser follows the redirect
    assert page.status_code == 200
    credential = await asyncio.wait_for(task, 20)
    assert "via loopback" in " ".join(credential.token.notes)


async def test_reserved_scopes_typed_by_the_user_do_not_crash(lab: Lab) -> None:
    credential, recorder = await acquire(lab, scopes=(IMAP, "offline_access", "openid"), extra={"token_cache": "none"})
    assert credential.token.requested_scopes == (IMAP, "offline_access", "openid")
    assert any("reserved" in note for note in credential.token.notes)


async def test_wrong_graph_scope_is_reproduced_not_corrected(lab: Lab) -> None:
    credential, _ = await acquire(lab, scopes=("https://graph.microsoft.com/IMAP.AccessAsUser.All",), extra={"token_cache": "none"})
    assert credential.token.claims["aud"] in ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


async def test_aadsts65001_consent_missing(lab: Lab) -> None:
    tenant = lab.directory.tenant("contoso.onmicrosoft.com")
    tenant.users_can_consent = False
    try:
        error, recorder = await failure(lab, client_id=UNCONSENTED_APP, extra={"token_cache": "none"})
    finally:
        tenant.users_can_consent = True
    assert 65001 in error.token.error["error_codes"]
    assert finding_ids(error, recorder)[0] == "ms_consent_or_permission_missing"


async def test_aadsts7000218_confidential_app_used_as_public_client(lab: Lab) -> None:
    error, recorder = await failure(lab, client_id=WEB_APP, extra={"token_cache": "none"})
    assert 7000218 in error.token.error["error_codes"]
    assert finding_ids(error, recorder)[0] == "ms_client_credential_config"


async def test_aadsts700016_unknown_client_id(lab: Lab) -> None:
    error, recorder = await failure(lab, client_id=UNKNOWN_APP, extra={"token_cache": "none"})
    assert 700016 in error.token.error["error_codes"]
    assert finding_ids(error, recorder)[0] == "ms_wrong_tenant_or_authority"
    assert "AADSTS700016" in str(error)


async def test_aadsts50076_mfa_required_on_refresh(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_MS_RT", MS_REFRESH_TOKEN)
    error, recorder = await failure(lab, flow="refresh_token", user=MFA_USER, refresh_token=SecretSource("env", "LAB_MS_RT"),
                                    extra={"token_cache": "none"})
    assert 50076 in error.token.error["error_codes"]
    assert finding_ids(error, recorder)[0] == "ms_conditional_access_or_mfa"
    assert MS_REFRESH_TOKEN not in recorder.text() and MS_REFRESH_TOKEN not in str(error)


async def test_retry_after_a_400_goes_to_the_network_again(lab: Lab) -> None:
    """msal caches a 400 for 60 s per app instance; every acquire builds a new one, so "retry" really retries."""
    before = len(lab.idp.requests)
    for _ in range(2):
        await failure(lab, client_id=WEB_APP, extra={"token_cache": "none"})
    assert len([r for r in lab.idp.requests[before:] if r.path.endswith("/devicecode")]) == 2


async def test_unreachable_authority_is_a_clear_failure(lab: Lab) -> None:
    error, recorder = await failure(lab, authority="https://127.0.0.1:9/contoso", extra={"token_cache": "none"})
    assert error.token.error["error"] == "transport_error"
    assert "connection refused" in str(error)
    assert finding_ids(error, recorder) == ["token_endpoint_unreachable"]


async def test_untrusted_certificate_is_a_clear_failure(lab: Lab) -> None:
    error, _ = await failure(lab, ca_file=None, extra={"token_cache": "none", "idp_ca_file": ""})
    assert "TLS verification failed" in str(error)


async def test_http_authority_is_a_configuration_error(lab: Lab) -> None:
    error, recorder = await failure(lab, authority="http://127.0.0.1:1/contoso", extra={"token_cache": "none"})
    assert error.token.error["error"] == "configuration_error"
    assert finding_ids(error, recorder) == ["token_request_invalid_settings"]


async def auth_code_error(lab: Lab, **changes: object) -> tuple[TokenAcquisitionError, Recorder]:
    """The auth-code flow when Entra sends the browser back with an error: the loopback redirect alone ends it."""
    settings = lab.settings(flow="auth_code", extra={"token_cache": "none"}, **changes)
    recorder = Recorder(settings)
    task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
    location = await drive_browser(lab, recorder)
    answer = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert "error" in answer and "code" not in answer
    assert (await asyncio.to_thread(requests.get, location, timeout=10)).status_code == 200
    with pytest.raises(TokenAcquisitionError) as info:
        await asyncio.wait_for(task, 20)
    assert recorder.prompts[0].answer.done()  # the prompt's future tells every UI the wait is over
    return info.value, recorder


async def test_auth_code_consent_missing_comes_back_in_the_redirect(lab: Lab) -> None:
    tenant = lab.directory.tenant("contoso.onmicrosoft.com")
    tenant.users_can_consent = False
    try:
        error, recorder = await auth_code_error(lab, client_id=UNCONSENTED_APP)
    finally:
        tenant.users_can_consent = True
    assert error.token.error["error"] == "consent_required" and "AADSTS65001" in str(error)
    assert finding_ids(error, recorder)[0] == "ms_consent_or_permission_missing"


async def test_auth_code_user_cancelling_consent_comes_back_in_the_redirect(lab: Lab) -> None:
    lab.directory.sign_in.consents = False
    try:
        error, recorder = await auth_code_error(lab, client_id=UNCONSENTED_APP)
    finally:
        lab.directory.sign_in.consents = True
    assert error.token.error["error"] == "access_denied" and "AADSTS65004" in str(error)
    assert finding_ids(error, recorder)[0] == "ms_consent_or_permission_missing"


async def test_auth_code_timeout_is_its_own_finding(lab: Lab) -> None:
    settings = lab.settings(flow="auth_code", extra={"token_cache": "none", "signin_timeout": "1"})
    recorder = Recorder(settings)
    started = time.monotonic()
    with pytest.raises(TokenAcquisitionError) as info:
        await asyncio.wait_for(token_source_for(settings).acquire(recorder.record), 10)
    assert time.monotonic() - started < 5
    assert "no sign-in answer within 1 s" in str(info.value) and recorder.prompts[0].answer.cancelled()
    findings = explain_token_error(info.value.token, settings)
    assert [f.id for f in findings] == ["interactive_sign_in_not_completed"] and "ssh -L" in " ".join(findings[0].fix)


async def test_a_paste_the_ui_gives_up_on_leaves_the_redirect_listening(lab: Lab) -> None:
    settings = lab.settings(flow="auth_code", extra={"token_cache": "none"})
    recorder = Recorder(settings)
    task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
    location = await drive_browser(lab, recorder)
    recorder.prompts[0].answer.cancel()  # the dialog was closed, stdin hit EOF: no paste will come
    await asyncio.sleep(0.2)
    assert not task.done()
    await asyncio.to_thread(requests.get, location, timeout=10)
    credential = await asyncio.wait_for(task, 20)
    assert "via loopback" in " ".join(credential.token.notes)
