"""The building blocks that need code: the two reference worlds built from a scenario's knobs, and the secret values
that exist in them (generated per run, never written in a scenario file). A scenario file refers to them by name:
cast members (alice, bob, sales), the apps (the mail client, the daemon), the secrets the user holds."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailscope.lab.directory import (
    AppRegistration,
    DeviceCodeDecision,
    Directory,
    GoogleOAuthClient,
    GoogleRefreshToken,
    GoogleUser,
    MsCloud,
    MsUser,
    SimulatedSignIn,
    Tenant,
    stable_id,
)
from mailscope.lab.scenarios.spec import GoogleSpec, MailboxSpec, MicrosoftSpec

if TYPE_CHECKING:
    from mailscope.lab.idp_keys import GeneratedServiceAccount

TENANT_DOMAIN = "contoso.onmicrosoft.com"
ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"
SALES = "sales@contoso.onmicrosoft.com"  # a shared mailbox alice has FullAccess (but not SendAs) on
MICROSOFT_CAST = {"alice": ALICE, "bob": BOB, "sales": SALES}
DAEMON = "daemon"  # the daemon app's service principal, as a mailbox-permission principal
DEFAULT_FULL_ACCESS = {"alice": (DAEMON,), "bob": (), "sales": ("alice",)}
MAIL_CLIENT_ID = stable_id("app", "contoso-mail-client")
DAEMON_CLIENT_ID = stable_id("app", "contoso-mail-daemon")
GOOGLE_USER = "alice@example-workspace.com"
GOOGLE_CAST = {"alice": GOOGLE_USER}
GOOGLE_CLIENT_ID = "418127063841-mailscopelab.apps.googleusercontent.com"
GOOGLE_SA_EMAIL = "mail-archiver@mailscope-lab.iam.gserviceaccount.com"
SERVICE_PRINCIPAL_STATES = {"registered": "", "missing": None, "wrong-id": stable_id("sp", "wrong-object-id")}


@dataclass(slots=True)
class World:
    directory: Directory
    secrets: dict[str, str] = field(default_factory=dict)  # values the user holds (password, client secret, refresh token...)
    service_account_key: GeneratedServiceAccount | None = None  # when the scenario has a Google service account


def _lab_secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(24)}"


def microsoft_world(spec: MicrosoftSpec) -> World:
    """Contoso (worldwide): alice and bob with mailboxes, the shared mailbox sales (alice has FullAccess, no SendAs), a
    public mail client app and a confidential daemon app, changed by the scenario's knobs."""
    tenant = Tenant(TENANT_DOMAIN, MsCloud.GLOBAL, users_can_consent=spec.users_can_consent,
                    smtp_client_authentication_disabled=spec.smtp_auth_disabled)
    daemon_secret = _lab_secret("lab~")
    daemon = AppRegistration(
        DAEMON_CLIENT_ID, tenant.id, "Contoso mail archiver (daemon)", public_client=False, secrets=(daemon_secret,),
        app_roles=dict(spec.daemon_roles), exchange_service_principal_oid=SERVICE_PRINCIPAL_STATES[spec.daemon_service_principal],
    )
    client = AppRegistration(MAIL_CLIENT_ID, tenant.id, "Contoso mail client", public_client=True,
                             consented_scopes=frozenset(spec.consented_scopes))
    principals = {**MICROSOFT_CAST, DAEMON: daemon.service_principal_oid}
    password = _lab_secret("Pw-")
    users = [_mailbox(name, tenant, spec.mailboxes.get(name, MailboxSpec()), principals, password if name == "alice" else "")
             for name in MICROSOFT_CAST]
    directory = Directory(
        tenants=[tenant], users=users, apps=[client, daemon],
        sign_in=SimulatedSignIn(upn=MICROSOFT_CAST[spec.sign_in_as], approve_after_polls=spec.pending_polls,
                                decision=DeviceCodeDecision(spec.sign_in_decision), consents=spec.sign_in_consents,
                                completes_mfa=spec.sign_in_completes_mfa),
        device_code_interval=1, ms_token_age_seconds=spec.token_age_seconds,
    )
    return World(directory, {"daemon_secret": daemon_secret, "alice_password": password})


def _mailbox(name: str, tenant: Tenant, knobs: MailboxSpec, principals: dict[str, str], password: str) -> MsUser:
    full_access = DEFAULT_FULL_ACCESS[name] if knobs.full_access is None else knobs.full_access
    return MsUser(
        MICROSOFT_CAST[name], tenant.id, display_name="Sales (shared mailbox)" if name == "sales" else "", password=password,
        mfa_required=knobs.mfa_required, blocked_by_conditional_access=knobs.blocked_by_conditional_access,
        has_mailbox=knobs.has_mailbox, imap_enabled=knobs.imap_enabled, pop_enabled=knobs.pop_enabled,
        smtp_client_authentication_disabled=knobs.smtp_auth_disabled,
        full_access=tuple(principals[p] for p in full_access), send_as=tuple(principals[p] for p in knobs.send_as),
    )


def google_world(spec: GoogleSpec, *, app_password: bool = False) -> World:
    """example-workspace.com: alice (2-Step Verification on), an installed-app OAuth client with alice's refresh token,
    and a service account, changed by the scenario's knobs. `app_password`: alice has created an app password."""
    from mailscope.lab.idp_keys import generate_service_account

    client_secret = _lab_secret("GOCSPX-")
    refresh_token = "1//0" + secrets.token_urlsafe(60)
    account = generate_service_account(GOOGLE_SA_EMAIL, spec.dwd_scopes)
    held = {"google_client_secret": client_secret, "google_refresh_token": refresh_token, "account_password": _lab_secret("")[:16]}
    if app_password:
        held["app_password"] = secrets.token_hex(8)  # Google shows 16 lower-case letters; any 16 characters sign in here
    directory = Directory(
        google_clients=[GoogleOAuthClient(GOOGLE_CLIENT_ID, client_secret, testing_mode=spec.testing_mode,
                                          blocked_by_admin_policy=spec.blocked_by_admin_policy)],
        google_users=[GoogleUser(GOOGLE_USER, imap_enabled=spec.imap_enabled, pop_enabled=spec.pop_enabled,
                                 two_step_verification=spec.two_step_verification,
                                 app_passwords=(held["app_password"],) if app_password else ())],
        google_refresh_tokens=[GoogleRefreshToken(refresh_token, GOOGLE_CLIENT_ID, GOOGLE_USER, spec.granted_scopes,
                                                  revoked=spec.refresh_token_revoked, age_days=spec.refresh_token_age_days)],
        service_accounts=[account.account],
        google_sign_in_email=GOOGLE_USER,
        google_token_age_seconds=spec.token_age_seconds,
    )
    return World(directory, held, service_account_key=account)
