"""The one HTTP client: per-request trust that $REQUESTS_CA_BUNDLE cannot override, and a redacted
transcript recorded on the event loop even when msal calls from a worker thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
import requests

from mailscope.events import Channel, Direction
from providers.http import HttpTap, MsalHttpClient, google_request

from .conftest import GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN, TENANT, Lab, Recorder


@pytest.fixture
def system_bundle_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trap this machine sets: both variables point at the system bundle, which does not hold the lab CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")


def test_session_verify_is_overridden_by_the_environment(lab: Lab, system_bundle_env: None) -> None:
    """Why the tap exists: requests lets $REQUESTS_CA_BUNDLE beat Session.verify."""
    session = requests.Session()
    session.verify = lab.idp.ca_file
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{lab.idp.authority(TENANT)}/v2.0/.well-known/openid-configuration", timeout=5)


async def test_tap_trusts_the_lab_ca_despite_the_environment(lab: Lab, system_bundle_env: None) -> None:
    recorder = Recorder()
    client = MsalHttpClient(HttpTap(recorder.record, ca_file=lab.idp.ca_file))
    url = f"{lab.idp.authority(TENANT)}/v2.0/.well-known/openid-configuration"
    response = await asyncio.to_thread(client.get, url)
    await asyncio.sleep(0)
    assert response.status_code == 200
    lines = recorder.record.lines
    assert [line.direction for line in lines] == [Direction.CLIENT, Direction.SERVER]
    assert all(line.channel is Channel.HTTP for line in lines)
    assert lines[0].text == f"GET {url}"
    assert lines[1].text.startswith("200 issuer=")


async def test_system_trust_ignores_the_environment_too(lab: Lab, system_bundle_env: None) -> None:
    tap = HttpTap(Recorder().record)
    with pytest.raises(requests.exceptions.SSLError):
        await asyncio.to_thread(tap.send, "GET", f"{lab.idp.authority(TENANT)}/v2.0/.well-known/openid-configuration")
    assert tap.exchanges[-1]["status"] is None and tap.exchanges[-1]["error"].startswith("TLS verification failed")


async def test_records_from_a_worker_thread_land_on_the_loop_thread(lab: Lab) -> None:
    recorder = Recorder()
    loop_thread = threading.get_ident()
    seen_threads: list[int] = []
    original = recorder.record.add_line

    def add_line(*args, **kwargs):
        seen_threads.append(threading.get_ident())
        return original(*args, **kwargs)

    recorder.record.add_line = add_line  # type: ignore[method-assign]
    request = google_request(HttpTap(recorder.record, ca_file=lab.idp.ca_file))
    body = (f"grant_type=refresh_token&client_id={GOOGLE_CLIENT_ID}&client_secret={GOOGLE_CLIENT_SECRET}"
            f"&refresh_token={GOOGLE_REFRESH_TOKEN}").encode()
    response = await asyncio.to_thread(request, lab.idp.google_token_uri, method="POST", body=body,
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    await asyncio.sleep(0)
    assert response.status == 200
    assert seen_threads and set(seen_threads) == {loop_thread}
    text = recorder.text()
    assert "grant_type=refresh_token" in text and "access_token=<access_token" in text and "expires_in=" in text
    for secret in (GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN):
        assert secret not in text
    # every secret the tap saw is now known to the redactor, in any later text
    access_token = response.data.decode().split('"access_token": "')[1].split('"')[0]
    assert access_token not in recorder.record.redactor.redact(f"token {access_token} leaked?")


async def test_error_responses_show_error_and_codes(lab: Lab) -> None:
    recorder = Recorder()
    tap = HttpTap(recorder.record, ca_file=lab.idp.ca_file)
    await asyncio.to_thread(tap.send, "POST", f"{lab.idp.authority(TENANT)}/oauth2/v2.0/token",
                            data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "s3cr3t-value-123",
                                  "scope": "https://outlook.office365.com/.default"})
    await asyncio.sleep(0)
    server = recorder.record.lines[-1].text
    assert server.startswith("400 error=") and "error_codes=" in server and 'description="AADSTS' in server
    assert tap.exchanges[-1]["error_codes"]
    assert "s3cr3t-value-123" not in recorder.text()
