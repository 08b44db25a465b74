"""`mailscope cache list|clear` against a cache real msal wrote (issue 13): where it is, what it holds, no secret."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import msal

from providers.token_cache import default_cache_path, save_cache

MAILSCOPE = Path(sys.executable).with_name("mailscope")
ACCESS, REFRESH = "eyJ0eXAiOiJKV1QifQ.eyJzZWNyZXQiOiJhY2Nlc3MtdG9rZW4tdmFsdWUifQ.c2ln", "0.AAAArefresh-token-secret-value-0123456789abcdef"


def _b64(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _fill(path: Path) -> None:
    cache = msal.SerializableTokenCache()
    claims = {"oid": "o1", "tid": "t1", "preferred_username": "alice@contoso.com", "iss": "x", "aud": "c"}
    id_token = f"{_b64({'alg': 'none'})}.{_b64(claims)}."
    cache.add({
        "client_id": "11111111-2222-3333-4444-555555555555", "scope": ["https://outlook.office.com/IMAP.AccessAsUser.All"],
        "token_endpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        "response": {"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 3600, "token_type": "Bearer", "id_token": id_token,
                     "client_info": _b64({"uid": "o1", "utid": "t1"})},
    })  # fmt: skip
    save_cache(cache, path)


def _mailscope(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MAILSCOPE), "cache", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=30)


def test_list_shows_place_accounts_scopes_and_expiry_without_secrets_then_clear_removes_it(tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(tmp_path / "run"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = Path(env["XDG_RUNTIME_DIR"]) / "mailscope" / "msal_token_cache.json"
    _fill(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    listing = _mailscope("list", env=env)
    assert listing.returncode == 0 and str(path) in listing.stdout
    assert "alice@contoso.com" in listing.stdout and "IMAP.AccessAsUser.All" in listing.stdout and "expires_on=" in listing.stdout
    data = json.loads(_mailscope("list", "--json", env=env).stdout)
    assert data["path"] == str(path) and {row["kind"] for row in data["entries"]} >= {"account", "access token", "refresh token"}
    for output in (listing.stdout, json.dumps(data)):
        assert ACCESS[20:40] not in output and REFRESH[10:30] not in output
    cleared = _mailscope("clear", env=env)
    assert cleared.returncode == 0 and "removed" in cleared.stdout and not path.exists()
    assert "none yet" in _mailscope("list", env=env).stdout


def test_without_a_runtime_dir_the_cache_is_in_xdg_cache_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "mailscope" / "msal_token_cache.json"
