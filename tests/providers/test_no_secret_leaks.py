"""No secret (client secret, refresh token, device code, authorization code, access token, assertion, private key)
appears in the HTTP transcript, the token evidence, an error message, the token cache listing, a profile file, a
diagnosis, or anything printed or logged (root logger at DEBUG) while tokens are acquired with real msal and google-auth."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from dataclasses import replace

import msal
import pytest
import requests

from mailscope.credential import TokenAcquisitionError
from mailscope.diagnosis import diagnose
from mailscope.settings import SecretSource
from providers.profiles import profiles_path, save_profile
from providers.registry import provider_rules, token_source_for
from providers.token_cache import cache_listing, default_cache_path

from .conftest import (
    CLIENT_SECRET,
    DAEMON_APP,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_REFRESH_TOKEN,
    GOOGLE_REVOKED_REFRESH_TOKEN,
    WEB_APP,
    Lab,
    Recorder,
)


def fragments(secret: str) -> list[str]:
    """The secret and any 16-character slice of it (a partial leak is a leak)."""
    return [secret] + [secret[i:i + 16] for i in range(0, max(1, len(secret) - 16), 8)]


async def test_nothing_secret_leaks_anywhere(lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [CLIENT_SECRET, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN, GOOGLE_REVOKED_REFRESH_TOKEN,
                          lab.certificate.private_key_pem.splitlines()[3]]
    outputs: list[str] = []
    device_flows: list[dict] = []
    original = msal.PublicClientApplication.initiate_device_flow

    def spy(self, *args, **kwargs):  # the real call; the test only keeps the device code to search for it
        flow = original(self, *args, **kwargs)
        device_flows.append(flow)
        return flow

    monkeypatch.setattr(msal.PublicClientApplication, "initiate_device_flow", spy)

    async def run(settings, fails: bool = False) -> None:
        recorder = Recorder(settings)
        try:
            credential = await asyncio.wait_for(token_source_for(settings).acquire(recorder.record), 20)
            secrets.append(credential.secret.reveal())
            outputs.append(repr(credential) + repr(credential.token))
            assert not fails
        except TokenAcquisitionError as exc:
            assert fails
            outputs.append(str(exc) + repr(exc.token))
        outputs.append(recorder.text())
        outputs.append(repr(diagnose(recorder.record.diagnosis_input(), provider_rules())))

    # Microsoft: device code (+ cache), client credentials (secret, certificate), a refused confidential client
    await run(lab.settings())
    await run(lab.settings(flow="client_credentials", client_id=DAEMON_APP, client_secret=SecretSource("env", "LAB_CLIENT_SECRET"),
                           scopes=()))
    await run(lab.settings(flow="client_certificate", client_id=DAEMON_APP, certificate=lab.certificate_file()))
    await run(lab.settings(client_id=WEB_APP, extra={"token_cache": "none"}), fails=True)
    # Microsoft: authorization code, pasted back
    settings = lab.settings(flow="auth_code", extra={"token_cache": "none"})
    recorder = Recorder(settings)
    task = asyncio.create_task(token_source_for(settings).acquire(recorder.record))
    while not recorder.prompts:
        await asyncio.sleep(0.01)
    location = (await asyncio.to_thread(requests.get, recorder.prompts[0].prompt.authorization_url, allow_redirects=False,
                                        verify=lab.idp.ca_file, timeout=10)).headers["Location"]
    secrets.append(urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0])
    recorder.prompts[0].answer.set_result(location)
    secrets.append((await asyncio.wait_for(task, 20)).secret.reveal())
    outputs.append(recorder.text())
    # Google: refresh token, service account, revoked refresh token
    await run(lab.google_settings())
    await run(lab.google_settings(flow="service_account", service_account_file=lab.key_file(lab.sa_with_dwd), subject="carol@example.org"))
    secrets.append(lab.sa_with_dwd.private_key_pem.splitlines()[3])
    monkeypatch.setenv("LAB_GOOGLE_RT", GOOGLE_REVOKED_REFRESH_TOKEN)
    await run(lab.google_settings(), fails=True)

    # secrets only the libraries saw: the device codes and the refresh/id tokens in the cache blob
    device_codes = [flow["device_code"] for flow in device_flows if "device_code" in flow]
    blob = json.loads(default_cache_path().read_text())
    secrets += [entry["secret"] for section in ("RefreshToken", "AccessToken", "IdToken") for entry in blob[section].values()]
    assert len(device_codes) == 1 and blob["RefreshToken"]
    secrets += device_codes

    outputs.append("\n".join(cache_listing(default_cache_path())))
    save_profile("lab", replace(lab.settings(), client_secret=SecretSource("env", "LAB_CLIENT_SECRET")))
    outputs.append(profiles_path().read_text())
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err, caplog.text]

    everything = "\n".join(outputs)
    assert "grant_type=device_code" in everything and "client_secret=<client_secret" in everything  # the transcript is there
    for secret in secrets:
        for piece in fragments(secret):
            assert piece not in everything, f"secret fragment leaked: {piece[:4]}…"
