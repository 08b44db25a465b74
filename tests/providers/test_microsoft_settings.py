"""Authorities per cloud and tenant form, scope presets, reserved scopes: pure functions, no network."""

from __future__ import annotations

import pytest

from mailscope.settings import CheckSettings, Protocol
from providers.microsoft import default_scopes, normalise_flow, resolve_authority, split_reserved, tenant_form


def settings(**changes: object) -> CheckSettings:
    return CheckSettings(host=str(changes.pop("host", "outlook.office365.com")), port=993, provider="microsoft", **changes)


@pytest.mark.parametrize(("cloud", "tenant", "authority"), [
    ("global", "contoso.onmicrosoft.com", "https://login.microsoftonline.com/contoso.onmicrosoft.com"),
    ("global", "", "https://login.microsoftonline.com/organizations"),
    ("global", "consumers", "https://login.microsoftonline.com/consumers"),
    ("global", "common", "https://login.microsoftonline.com/common"),
    ("usgov", "72f988bf-86f1-41af-91ab-2d7cd011db47", "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47"),
    ("dod", "contoso.onmicrosoft.us", "https://login.microsoftonline.us/contoso.onmicrosoft.us"),
    ("china", "contoso.partner.onmschina.cn", "https://login.partner.microsoftonline.cn/contoso.partner.onmschina.cn"),
])
def test_authority_per_cloud_and_tenant(cloud: str, tenant: str, authority: str) -> None:
    assert resolve_authority(settings(cloud=cloud, tenant=tenant)) == authority


def test_cloud_from_the_mail_host_when_not_given() -> None:
    assert resolve_authority(settings(host="outlook.office365.us", tenant="t")) == "https://login.microsoftonline.us/t"
    assert resolve_authority(settings(host="partner.outlook.cn", tenant="t")) == "https://login.partner.microsoftonline.cn/t"


def test_explicit_authority_wins_and_unknown_cloud_is_refused() -> None:
    assert resolve_authority(settings(authority="https://127.0.0.1:8443/lab/", cloud="china")) == "https://127.0.0.1:8443/lab"
    with pytest.raises(ValueError, match="unknown cloud"):
        resolve_authority(settings(cloud="mars"))


@pytest.mark.parametrize(("tenant", "form"), [("organizations", "organizations"), ("Consumers", "consumers"), ("common", "common"),
                                              ("72f988bf-86f1-41af-91ab-2d7cd011db47", "id"), ("contoso.com", "domain")])
def test_tenant_forms(tenant: str, form: str) -> None:
    assert tenant_form(tenant) == form


def test_scope_presets_per_protocol_flow_and_cloud() -> None:
    assert default_scopes(settings(protocol=Protocol.IMAP), "device_code") == ("https://outlook.office.com/IMAP.AccessAsUser.All",)
    assert default_scopes(settings(protocol=Protocol.POP3), "auth_code") == ("https://outlook.office.com/POP.AccessAsUser.All",)
    assert default_scopes(settings(protocol=Protocol.SMTP), "device_code") == ("https://outlook.office.com/SMTP.Send",)
    assert default_scopes(settings(), "client_credentials") == ("https://outlook.office365.com/.default",)
    assert default_scopes(settings(cloud="usgov"), "device_code") == ("https://outlook.office365.us/IMAP.AccessAsUser.All",)


def test_reserved_scopes_are_split_off_in_any_case() -> None:
    kept, reserved = split_reserved(("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access", "OpenID", "profile", "email"))
    assert kept == ["https://outlook.office.com/IMAP.AccessAsUser.All", "email"]
    assert reserved == ["offline_access", "OpenID", "profile"]


def test_flow_aliases() -> None:
    assert normalise_flow("authorization-code") == "auth_code" and normalise_flow("certificate") == "client_certificate"


def test_registry_picks_the_source_and_default_flow() -> None:
    from providers.generic import StaticSource
    from providers.google import GoogleSource
    from providers.microsoft import MicrosoftSource
    from providers.registry import token_source_for

    ms = token_source_for(settings())  # provider chosen, flow left at CheckSettings' default
    assert isinstance(ms, MicrosoftSource) and ms.flow == "device_code"
    google = token_source_for(CheckSettings(host="imap.gmail.com", port=993, provider="google"))
    assert isinstance(google, GoogleSource) and google.flow == "installed_app"
    from mailscope.settings import SecretSource

    static = token_source_for(settings(token=SecretSource("env", "T")))  # a token the user already has wins
    assert isinstance(static, StaticSource)
    assert token_source_for(CheckSettings(host="h", port=993)) is None
