"""Profiles: named settings under $XDG_CONFIG_HOME, secret sources only, never a secret."""

from __future__ import annotations

import stat
from dataclasses import replace

import pytest

from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security
from providers.profiles import (
    ProfileError,
    delete_profile,
    list_profiles,
    load_profile,
    load_profile_fields,
    profiles_path,
    save_profile,
)

SETTINGS = CheckSettings(
    host="outlook.office365.com", port=993, security=Security.TLS, user="alice@contoso.com", mechanism=Mechanism.XOAUTH2,
    protocol=Protocol.IMAP, provider="microsoft", flow="client_credentials", client_id="33333333-3333-3333-3333-333333333333",
    tenant="contoso.onmicrosoft.com", cloud="global", scopes=("https://outlook.office365.com/.default",),
    client_secret=SecretSource("env", "MS_CLIENT_SECRET"), extra={"token_cache": "none"},
)


def test_round_trip_under_xdg_config(private_dirs) -> None:
    path = save_profile("contoso-app", SETTINGS)
    assert path == profiles_path() and str(path).endswith("config/mailscope/profiles.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_profile("contoso-app") == SETTINGS
    assert list_profiles() == ["contoso-app"]
    assert 'client_secret = "env:MS_CLIENT_SECRET"' in path.read_text()


def test_profile_without_host_is_completed_by_the_command_line(private_dirs) -> None:
    save_profile("app-only", {"provider": "microsoft", "flow": "client_credentials", "security": "starttls"})
    assert load_profile_fields("app-only") == {"provider": "microsoft", "flow": "client_credentials", "security": Security.STARTTLS}
    settings = load_profile("app-only")
    assert settings.host == "" and settings.port == 143
    assert replace(settings, host="outlook.office365.com").host == "outlook.office365.com"


def test_several_profiles_and_delete(private_dirs) -> None:
    save_profile("a", SETTINGS)
    save_profile("b", replace(SETTINGS, client_secret=SecretSource("file", "~/.secrets/app"), token=SecretSource("prompt")))
    assert list_profiles() == ["a", "b"]
    loaded = load_profile("b")
    assert loaded.client_secret == SecretSource("file", "~/.secrets/app") and loaded.token == SecretSource("prompt")
    assert delete_profile("a") and list_profiles() == ["b"]


@pytest.mark.parametrize("bad", [
    {"client_secret": "lab~Secret.Value_0123456789"},  # a literal secret where a source belongs
    {"refresh_token": "0.AAAAverylongrefreshtokenvalue"},
    {"extra": {"client_secret": "hunter2-is-my-secret"}},
    {"extra": {"note": "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"}},
    {"user": "ya29.a0AfH6SMBxxxxxxxxxxxxxxxx"},
])
def test_secret_looking_values_are_refused_with_a_clear_message(private_dirs, bad: dict) -> None:
    data = {"host": "imap.example.com", "port": 993, **bad}
    with pytest.raises(ProfileError) as info:
        save_profile("leaky", data)
    message = str(info.value)
    assert "secret" in message or "token" in message
    for value in bad.values():
        for text in (value.values() if isinstance(value, dict) else [value]):
            assert text not in message
    assert not profiles_path().exists()


def test_hand_edited_secret_is_refused_on_load(private_dirs) -> None:
    path = profiles_path()
    path.parent.mkdir(parents=True)
    path.write_text('[profiles.x]\nhost = "h"\nport = 993\nclient_secret = "plain-text-secret-value"\n')
    with pytest.raises(ProfileError, match="never the secret itself"):
        load_profile("x")


def test_unknown_profile_and_bad_names(private_dirs) -> None:
    save_profile("known", SETTINGS)
    with pytest.raises(ProfileError, match="known: known"):
        load_profile("missing")
    with pytest.raises(ProfileError):
        save_profile("../etc/passwd", SETTINGS)


def test_broken_file_is_a_clear_error(private_dirs) -> None:
    path = profiles_path()
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.x\n")
    with pytest.raises(ProfileError, match="cannot read"):
        list_profiles()
