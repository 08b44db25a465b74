"""The lab Exchange's token decision, sans-IO: each check in the real service's order, with its (log-only) reason."""

from __future__ import annotations

import time

import pytest

from mailscope.lab.directory import AppRegistration, Directory, MsCloud, MsUser, Tenant
from mailscope.lab.exchange_auth import IMAP, POP, SMTP, Grant, decide, may_send_as, smtp_auth_disabled_for, verify_signature
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


@pytest.mark.parametrize(
    ("service", "changes", "user", "grant", "reason_part"),
    [
        (POP, {"scp": "POP.AccessAsUser.All"}, ALICE, Grant.GRANTED, "delegated token"),
        (POP, {"scp": "IMAP.AccessAsUser.All"}, ALICE, Grant.REFUSED, "POP.AccessAsUser.All"),
        (POP, {"scp": "POP.AccessAsUser.All", "upn": CAROL}, CAROL, Grant.GRANTED, ""),  # carol: IMAP off, POP on
        (SMTP, {}, ALICE, Grant.GRANTED, "delegated token"),
        (SMTP, {"scp": "IMAP.AccessAsUser.All POP.AccessAsUser.All"}, ALICE, Grant.REFUSED, "SMTP.Send"),
        (SMTP, {"upn": BOB}, ALICE, Grant.MAILBOX_REFUSED, "no FullAccess"),
        (IMAP, {"scp": "SMTP.Send"}, ALICE, Grant.REFUSED, "IMAP.AccessAsUser.All"),
    ],
)
def test_each_protocol_demands_its_own_scope(world, service, changes, user, grant, reason_part) -> None:
    directory, tenant, _ = world
    verdict = decide(delegated(tenant, **changes), user, directory, MsCloud.GLOBAL, now=NOW, service=service)
    assert verdict.grant is grant, verdict.reason
    assert reason_part in verdict.reason


def test_pop_switch_and_app_roles_per_protocol(world) -> None:
    directory, tenant, app = world
    directory.user(ALICE).pop_enabled = False  # type: ignore[union-attr]
    pop = decide(delegated(tenant, scp="POP.AccessAsUser.All"), ALICE, directory, MsCloud.GLOBAL, now=NOW, service=POP)
    assert pop.grant is Grant.MAILBOX_REFUSED and "POP is disabled" in pop.reason and pop.principal == ALICE
    smtp_app = {k: v for k, v in app_only(tenant, app, roles=["SMTP.SendAsApp"]).items() if v is not None}
    granted = decide(smtp_app, ALICE, directory, MsCloud.GLOBAL, now=NOW, service=SMTP)
    assert granted.grant is Grant.GRANTED and granted.principal == app.service_principal_oid
    assert decide(smtp_app, ALICE, directory, MsCloud.GLOBAL, now=NOW, service=POP).grant is Grant.REFUSED


@pytest.mark.parametrize(
    ("tenant_off", "mailbox_setting", "expected"),
    [(False, None, ""), (True, None, "Tenant"), (True, False, ""), (False, True, "Mailbox"), (True, True, "Mailbox")],
)
def test_smtp_auth_switch_mailbox_overrides_tenant(world, tenant_off, mailbox_setting, expected) -> None:
    directory, tenant, _ = world
    tenant.smtp_client_authentication_disabled = tenant_off
    directory.user(ALICE).smtp_client_authentication_disabled = mailbox_setting  # type: ignore[union-attr]
    assert smtp_auth_disabled_for(tenant, directory.user(ALICE)) == expected
    verdict = decide(delegated(tenant, scp="IMAP.AccessAsUser.All"), ALICE, directory, MsCloud.GLOBAL, now=NOW, service=SMTP)
    # switched off: that answer comes whatever the token says (here: no SMTP.Send); on: the token decides
    assert verdict.grant is (Grant.SMTP_AUTH_DISABLED if expected else Grant.REFUSED)
    assert verdict.disabled_for == expected


def test_send_as(world) -> None:
    directory, _, app = world
    assert may_send_as(directory, ALICE, ALICE)
    assert not may_send_as(directory, ALICE, BOB)  # FullAccess on bob is not SendAs
    directory.user(BOB).send_as = (ALICE,)  # type: ignore[union-attr]
    assert may_send_as(directory, ALICE.upper(), BOB)
    assert may_send_as(directory, app.service_principal_oid, ALICE)  # a service principal with FullAccess acts as the mailbox
    assert not may_send_as(directory, app.service_principal_oid, BOB)
    assert not may_send_as(directory, ALICE, "nobody@contoso.com") and not may_send_as(directory, "", ALICE)
