"""The lab Exchange's token decision, sans-IO: each check in the real service's order, with its (log-only) reason."""

from __future__ import annotations

import time

import pytest

from mailscope.lab.directory import AppRegistration, Directory, MsCloud, MsUser, Tenant
from mailscope.lab.exchange_auth import Grant, decide, verify_signature
from mailscope.lab.idp_keys import SigningKey, sign_jwt

NOW = 1_800_000_000.0
ALICE, BOB, CAROL = "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"


@pytest.fixture
def world() -> tuple[Directory, Tenant, AppRegistration]:
    tenant = Tenant("contoso.com")
    gov = Tenant("contoso.us", MsCloud.USGOV)
    app = AppRegistration("11111111-2222-4333-8444-555555555555", tenant.id, public_client=False)
    users = [MsUser(ALICE, tenant.id, full_access=(app.service_principal_oid,)), MsUser(BOB, tenant.id, full_access=(ALICE,)),
             MsUser(CAROL, tenant.id, imap_enabled=False), MsUser("dave@contoso.com", tenant.id, has_mailbox=False),
             MsUser("erin@contoso.us", gov.id)]
    return Directory(tenants=[tenant, gov], users=users, apps=[app]), tenant, app


def delegated(tenant: Tenant, **changes: object) -> dict[str, object]:
    claims: dict[str, object] = {"aud": "https://outlook.office.com", "tid": tenant.id, "exp": NOW + 3600, "nbf": NOW - 300,
                                 "scp": "IMAP.AccessAsUser.All SMTP.Send", "upn": ALICE}
    claims.update(changes)
    return claims


def app_only(tenant: Tenant, app: AppRegistration, **changes: object) -> dict[str, object]:
    claims: dict[str, object] = {"aud": "https://ps.outlook.com", "tid": tenant.id, "exp": NOW + 3600, "idtyp": "app",
                                 "roles": ["IMAP.AccessAsApp"], "appid": app.client_id, "oid": app.service_principal_oid}
    claims.update(changes)
    return claims


@pytest.mark.parametrize(
    ("changes", "user", "grant", "reason_part"),
    [
        ({}, ALICE, Grant.GRANTED, "delegated token"),
        ({}, ALICE.upper(), Grant.GRANTED, "delegated token"),
        ({"aud": "https://outlook.office365.com/"}, ALICE, Grant.GRANTED, ""),
        ({"aud": "https://graph.microsoft.com"}, ALICE, Grant.REFUSED, "audience"),
        ({"aud": "https://outlook.office365.us"}, ALICE, Grant.REFUSED, "audience"),
        ({"tid": "00000000-0000-0000-0000-000000000000"}, ALICE, Grant.REFUSED, "tenant"),
        ({"exp": NOW - 400}, ALICE, Grant.REFUSED, "expired"),
        ({"exp": NOW - 60}, ALICE, Grant.GRANTED, ""),  # within the clock skew
        ({"nbf": NOW + 900}, ALICE, Grant.REFUSED, "not yet valid"),
        ({"scp": "POP.AccessAsUser.All"}, ALICE, Grant.REFUSED, "IMAP.AccessAsUser.All"),
        ({}, "nobody@contoso.com", Grant.REFUSED, "no mailbox"),
        ({}, BOB, Grant.GRANTED, ""),  # alice has FullAccess on bob
        ({"upn": BOB}, ALICE, Grant.MAILBOX_REFUSED, "no FullAccess"),
        ({"upn": CAROL}, CAROL, Grant.MAILBOX_REFUSED, "IMAP is disabled"),
        ({"upn": "dave@contoso.com"}, "dave@contoso.com", Grant.MAILBOX_REFUSED, "no Exchange Online mailbox"),
        ({"upn": "erin@contoso.us"}, "erin@contoso.us", Grant.REFUSED, "tenant"),  # GCC High user, worldwide front end
    ],
)
def test_delegated(world, changes, user, grant, reason_part) -> None:
    directory, tenant, _ = world
    verdict = decide(delegated(tenant, **changes), user, directory, MsCloud.GLOBAL, now=NOW)
    assert verdict.grant is grant, verdict.reason
    assert reason_part in verdict.reason


def test_usgov_cloud_accepts_its_own_audience(world) -> None:
    directory, _, _ = world
    gov = directory.tenant("contoso.us")
    assert gov is not None
    claims = {"aud": "https://outlook.office365.us", "tid": gov.id, "exp": NOW + 60, "scp": "IMAP.AccessAsUser.All",
              "upn": "erin@contoso.us"}
    assert decide(claims, "erin@contoso.us", directory, MsCloud.USGOV, now=NOW).grant is Grant.GRANTED
    assert decide(claims, "erin@contoso.us", directory, MsCloud.GLOBAL, now=NOW).grant is Grant.REFUSED


@pytest.mark.parametrize(
    ("changes", "user", "grant", "reason_part"),
    [
        ({}, ALICE, Grant.GRANTED, "app-only"),
        ({"roles": ["Mail.Read"]}, ALICE, Grant.REFUSED, "IMAP.AccessAsApp"),
        ({"roles": None}, ALICE, Grant.REFUSED, "IMAP.AccessAsApp"),
        ({"oid": "99999999-0000-0000-0000-000000000000"}, ALICE, Grant.REFUSED, "another ObjectId"),
        ({"appid": "unknown-app"}, ALICE, Grant.REFUSED, "no Exchange service principal"),
        ({}, BOB, Grant.MAILBOX_REFUSED, "no FullAccess"),
    ],
)
def test_app_only(world, changes, user, grant, reason_part) -> None:
    directory, tenant, app = world
    claims = {k: v for k, v in app_only(tenant, app, **changes).items() if v is not None}
    verdict = decide(claims, user, directory, MsCloud.GLOBAL, now=NOW)
    assert verdict.grant is grant, verdict.reason
    assert reason_part in verdict.reason


def test_unregistered_service_principal(world) -> None:
    directory, tenant, app = world
    app.exchange_service_principal_oid = None
    verdict = decide(app_only(tenant, app), ALICE, directory, MsCloud.GLOBAL, now=NOW)
    assert verdict.grant is Grant.REFUSED and "New-ServicePrincipal" in verdict.reason


def test_signature_is_checked() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    token = sign_jwt(key, {"aud": "https://outlook.office.com", "exp": time.time() + 60})
    assert verify_signature(token, key.public_key_pem) is not None
    assert verify_signature(token, other.public_key_pem) is None
    assert verify_signature("ya29.opaque", key.public_key_pem) is None
    assert decide(None, ALICE, Directory(), MsCloud.GLOBAL).grant is Grant.REFUSED
