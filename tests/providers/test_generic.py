"""Generic sources: a static token (file, env, stdin), a password, and any OAuth token endpoint with a refresh token."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from mailscope.credential import TokenAcquisitionError
from mailscope.settings import CheckSettings, Mechanism, SecretSource
from providers.explain import explain_token_error
from providers.generic import OAuthRefreshSource, StaticSource
from providers.registry import token_source_for

from .conftest import GOOGLE_CLIENT_ID, GOOGLE_MAIL, GOOGLE_REFRESH_TOKEN, GOOGLE_REVOKED_REFRESH_TOKEN, Lab, Recorder

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ya29.a0" + "t" * 90


def settings(**changes: object) -> CheckSettings:
    return CheckSettings(host="imap.example.com", port=993, **changes)


async def test_static_token_from_env_file_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", TOKEN)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    for source in (SecretSource("env", "MY_TOKEN"), SecretSource("file", str(token_file)), SecretSource("stdin")):
        recorder = Recorder()
        credential = await token_source_for(settings(token=source)).acquire(recorder.record)
        assert credential.secret.reveal() == TOKEN and not credential.is_password
        assert credential.token.shape == "google-ya29" and credential.token.source == source.describe()
        assert TOKEN not in recorder.record.redactor.redact(f"AUTH {TOKEN}")


async def test_password_for_plain_and_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_PW", "correct horse battery")
    source = token_source_for(settings(password=SecretSource("env", "MAIL_PW"), mechanism=Mechanism.PLAIN))
    assert isinstance(source, StaticSource) and source.is_password
    credential = await source.acquire(Recorder().record)
    assert credential.is_password and credential.token.kind == "password"


async def test_unreadable_sources_are_clear_failures(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for source, words in ((SecretSource("env", "NOT_SET_ANYWHERE"), "NOT_SET_ANYWHERE is not set"),
                          (SecretSource("file", str(tmp_path / "missing")), "cannot read"),
                          (SecretSource("file", str(empty)), "is empty")):
        with pytest.raises(TokenAcquisitionError, match=words):
            await token_source_for(settings(token=source)).acquire(Recorder().record)


async def test_generic_token_endpoint_with_refresh_token(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(flow="refresh_token", token_endpoint=lab.idp.google_token_uri, client_id=GOOGLE_CLIENT_ID,
                 client_secret=SecretSource("env", "LAB_GOOGLE_SECRET"), refresh_token=SecretSource("env", "LAB_GOOGLE_RT"),
                 scopes=(GOOGLE_MAIL,), ca_file=lab.idp.ca_file)
    source = token_source_for(s)
    assert isinstance(source, OAuthRefreshSource)
    recorder = Recorder(s)
    credential = await asyncio.wait_for(source.acquire(recorder.record), 10)
    assert credential.token.granted_scopes == (GOOGLE_MAIL,) and credential.token.expires_at
    assert credential.token.http[-1]["status"] == 200
    assert GOOGLE_REFRESH_TOKEN not in recorder.text()

    monkeypatch.setenv("LAB_GOOGLE_RT", GOOGLE_REVOKED_REFRESH_TOKEN)
    with pytest.raises(TokenAcquisitionError) as info:
        await asyncio.wait_for(token_source_for(s).acquire(Recorder(s).record), 10)
    assert info.value.token.error["error"] == "invalid_grant"
    assert explain_token_error(info.value.token, s)[0].id == "token_endpoint_error"


def test_static_check_imports_neither_msal_nor_google_auth(tmp_path: Path) -> None:
    script = (
        "import asyncio, os, sys\n"
        "from mailscope.record import SessionRecord\n"
        "from mailscope.settings import CheckSettings, SecretSource\n"
        "from providers.registry import token_source_for, provider_rules\n"
        "os.environ['T'] = 'ya29.' + 'x' * 40\n"
        "s = CheckSettings(host='h', port=993, token=SecretSource('env', 'T'))\n"
        "asyncio.run(token_source_for(s).acquire(SessionRecord(s)))\n"
        "provider_rules()\n"
        "heavy = ('msal', 'google', 'google_auth_oauthlib', 'oauthlib')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
