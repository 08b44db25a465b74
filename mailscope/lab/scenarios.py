"""Named lab scenarios: each reproduces a catalogue failure end to end with a lab world (directory and
mailbox permissions), the servers it needs, and the settings a user would have typed (the mistake included).

A scenario is data plus two builders: `world()` makes the Directory and the secret values that exist
in that world; `settings(ctx, world)` writes the secrets the user holds into 0600 files and returns the
CheckSettings pointing at the running lab (loopback host, lab ports, lab CA, lab IdP authority).
Tokens come from real msal / google-auth talking to the lab IdP (providers/), never minted here.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mailscope.evidence import OutcomeKind
from mailscope.lab.directory import (
    EXCHANGE,
    GRAPH,
    AppRegistration,
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
from mailscope.settings import CheckSettings, Mechanism, SecretSource, Security
from mailscope.settings import Protocol as MailProtocol

if TYPE_CHECKING:
    from mailscope.lab.idp_keys import GeneratedServiceAccount

# Server keys a scenario can ask for (LabSession starts them; CONTRACTS §4).
EXCHANGE_TLS = "exchange"  # Exchange Online worldwide IMAP, implicit TLS (993)
EXCHANGE_STARTTLS = "exchange-starttls"  # Exchange Online worldwide IMAP, plain + STARTTLS (143)
EXCHANGE_CHINA = "exchange-china"  # Exchange Online IMAP operated by 21Vianet (partner.outlook.cn), implicit TLS
EXCHANGE_POP3 = "exchange-pop3"  # Exchange Online POP3, implicit TLS (outlook.office365.com:995)
EXCHANGE_SMTP = "exchange-smtp"  # Exchange Online SMTP submission, plain + STARTTLS (smtp.office365.com:587)
GMAIL = "gmail"  # Gmail IMAP, implicit TLS
GMAIL_POP3 = "gmail-pop3"  # Gmail POP3, implicit TLS (pop.gmail.com:995)
GMAIL_SMTP = "gmail-smtp"  # Gmail SMTP, implicit TLS (smtp.gmail.com:465)
GMAIL_SMTP_STARTTLS = "gmail-smtp-starttls"  # Gmail SMTP, plain + STARTTLS (smtp.gmail.com:587)

# What a client talks to each server with: (protocol, security).
SERVER_MODES: dict[str, tuple[MailProtocol, Security]] = {
    EXCHANGE_TLS: (MailProtocol.IMAP, Security.TLS),
    EXCHANGE_STARTTLS: (MailProtocol.IMAP, Security.STARTTLS),
    EXCHANGE_CHINA: (MailProtocol.IMAP, Security.TLS),
    EXCHANGE_POP3: (MailProtocol.POP3, Security.TLS),
    EXCHANGE_SMTP: (MailProtocol.SMTP, Security.STARTTLS),
    GMAIL: (MailProtocol.IMAP, Security.TLS),
    GMAIL_POP3: (MailProtocol.POP3, Security.TLS),
    GMAIL_SMTP: (MailProtocol.SMTP, Security.TLS),
    GMAIL_SMTP_STARTTLS: (MailProtocol.SMTP, Security.STARTTLS),
}

TENANT_DOMAIN = "contoso.onmicrosoft.com"
ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"
SALES = "sales@contoso.onmicrosoft.com"  # a shared mailbox alice has FullAccess (but not SendAs) on
MAIL_CLIENT_ID = stable_id("app", "contoso-mail-client")
DAEMON_CLIENT_ID = stable_id("app", "contoso-mail-daemon")
GOOGLE_USER = "alice@example-workspace.com"
GOOGLE_CLIENT_ID = "418127063841-mailscopelab.apps.googleusercontent.com"
GOOGLE_SA_EMAIL = "mail-archiver@mailscope-lab.iam.gserviceaccount.com"
OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
OUTLOOK_POP = "https://outlook.office.com/POP.AccessAsUser.All"
OUTLOOK_SMTP = "https://outlook.office.com/SMTP.Send"
GOOGLE_MAIL = "https://mail.google.com/"
GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"


class LabContext(Protocol):
    """What a running lab offers a scenario's settings builder (implemented by LabSession)."""

    ca_file: str

    def endpoint(self, server: str) -> tuple[str, int]: ...

    def write_secret(self, name: str, value: str) -> SecretSource: ...

    def write_file(self, name: str, text: str) -> str: ...

    def authority(self, tenant: str) -> str: ...

    @property
    def google_token_uri(self) -> str: ...


@dataclass(slots=True)
class World:
    directory: Directory
    secrets: dict[str, str] = field(default_factory=dict)  # values the user holds (password, client secret, refresh token...)
    service_account_key: GeneratedServiceAccount | None = None  # when the scenario has a Google service account


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    failure_ids: tuple[str, ...]  # catalogue ids this scenario reproduces
    expected_finding: str | None  # the finding id the diagnosis must rank first (None: healthy, no error finding)
    expected_outcome: OutcomeKind
    teaching: str
    servers: tuple[str, ...]
    server_under_test: str  # the server key the settings point at
    world: Callable[[], World]
    settings: Callable[[LabContext, World], CheckSettings]
    wire: tuple[str, ...] = ()  # exact server texts the session must show (tests assert them)


# ----------------------------------------------------------------------------------------------- worlds


def _lab_secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(24)}"


def microsoft_world(
    *,
    users_can_consent: bool = True,
    consented: tuple[str, ...] = (),
    daemon_roles: dict[str, tuple[str, ...]] | None = None,
    daemon_full_access: bool = True,
    sign_in_as: str = ALICE,
    pending_polls: int = 0,
    exchange_service_principal: bool = True,
    tenant_smtp_auth_disabled: bool = False,
    alice_smtp_auth_disabled: bool | None = None,
    alice_pop_enabled: bool = True,
) -> World:
    """Contoso (worldwide): alice and bob with mailboxes, the shared mailbox sales (alice has FullAccess, no SendAs), a
    public mail client app and a confidential daemon app.

    `pending_polls`: device-code polls answered authorization_pending before the simulated user's sign-in lands
    (each costs msal's 1 s poll interval, so only the reference scenario shows one). `tenant_smtp_auth_disabled` /
    `alice_smtp_auth_disabled`: SmtpClientAuthenticationDisabled of the tenant / of alice's mailbox (None follows the
    tenant)."""
    tenant = Tenant(TENANT_DOMAIN, MsCloud.GLOBAL, users_can_consent=users_can_consent,
                    smtp_client_authentication_disabled=tenant_smtp_auth_disabled)
    daemon_secret = _lab_secret("lab~")
    daemon = AppRegistration(
        DAEMON_CLIENT_ID, tenant.id, "Contoso mail archiver (daemon)", public_client=False, secrets=(daemon_secret,),
        app_roles={EXCHANGE: ("IMAP.AccessAsApp",)} if daemon_roles is None else daemon_roles,
        exchange_service_principal_oid="" if exchange_service_principal else None,
    )
    client = AppRegistration(MAIL_CLIENT_ID, tenant.id, "Contoso mail client", public_client=True, consented_scopes=frozenset(consented))
    alice = MsUser(ALICE, tenant.id, password=_lab_secret("Pw-"), pop_enabled=alice_pop_enabled,
                   smtp_client_authentication_disabled=alice_smtp_auth_disabled,
                   full_access=(daemon.service_principal_oid,) if daemon_full_access else ())
    bob = MsUser(BOB, tenant.id)
    sales = MsUser(SALES, tenant.id, display_name="Sales (shared mailbox)", full_access=(ALICE,))
    directory = Directory(
        tenants=[tenant], users=[alice, bob, sales], apps=[client, daemon],
        sign_in=SimulatedSignIn(upn=sign_in_as, approve_after_polls=pending_polls),
        device_code_interval=1,
    )
    return World(directory, {"daemon_secret": daemon_secret, "alice_password": alice.password})


def google_world(*, granted: tuple[str, ...] = (GOOGLE_MAIL,), dwd_scopes: tuple[str, ...] = (GOOGLE_MAIL,),
                 revoked: bool = False, imap_enabled: bool = True, pop_enabled: bool = True) -> World:
    """example-workspace.com: alice (2-Step Verification on, no app password yet), an installed-app OAuth client with
    alice's refresh token, and a service account."""
    from mailscope.lab.idp_keys import generate_service_account

    client_secret = _lab_secret("GOCSPX-")
    refresh_token = "1//0" + secrets.token_urlsafe(60)
    account = generate_service_account(GOOGLE_SA_EMAIL, dwd_scopes)
    directory = Directory(
        google_clients=[GoogleOAuthClient(GOOGLE_CLIENT_ID, client_secret)],
        google_users=[GoogleUser(GOOGLE_USER, imap_enabled=imap_enabled, pop_enabled=pop_enabled)],
        google_refresh_tokens=[GoogleRefreshToken(refresh_token, GOOGLE_CLIENT_ID, GOOGLE_USER, granted, revoked=revoked)],
        service_accounts=[account.account],
        google_sign_in_email=GOOGLE_USER,
    )
    return World(directory, {"google_client_secret": client_secret, "google_refresh_token": refresh_token,
                             "account_password": _lab_secret("")[:16]}, service_account_key=account)


# ----------------------------------------------------------------------------------------------- settings


def _target(ctx: LabContext, server: str, **changes: object) -> dict[str, object]:
    host, port = ctx.endpoint(server)
    protocol, security = SERVER_MODES[server]
    return {"host": host, "port": port, "protocol": protocol, "security": security, "ca_file": ctx.ca_file, "timeout": 4.0,
            **changes}


def ms_device_code(scopes: tuple[str, ...], *, user: str = ALICE, server: str = EXCHANGE_TLS, **changes: object):
    """A user signing in with msal's device-code flow (the SSH-friendly flow) and the scopes they typed."""

    def build(ctx: LabContext, world: World) -> CheckSettings:
        fields = _target(ctx, server, user=user, mechanism=Mechanism.XOAUTH2, provider="microsoft", flow="device_code",
                         client_id=MAIL_CLIENT_ID, tenant=TENANT_DOMAIN, authority=ctx.authority(TENANT_DOMAIN), scopes=scopes,
                         extra={"token_cache": "none"})
        fields.update(changes)
        return CheckSettings(**fields)  # type: ignore[arg-type]

    return build


def ms_client_credentials(scopes: tuple[str, ...] = ("https://outlook.office365.com/.default",), *, user: str = ALICE,
                          secret_id_pasted: bool = False):
    """A daemon with a client secret (stored in a 0600 file, as a service would keep it). `secret_id_pasted`: the
    portal's secret ID (a GUID) was copied instead of the secret's value."""

    def build(ctx: LabContext, world: World) -> CheckSettings:
        value = stable_id("secret-id", DAEMON_CLIENT_ID) if secret_id_pasted else world.secrets["daemon_secret"]
        secret = ctx.write_secret("client-secret", value)
        return CheckSettings(**_target(ctx, EXCHANGE_TLS, user=user, mechanism=Mechanism.XOAUTH2, provider="microsoft",
                                       flow="client_credentials", client_id=DAEMON_CLIENT_ID, tenant=TENANT_DOMAIN,
                                       authority=ctx.authority(TENANT_DOMAIN), scopes=scopes, client_secret=secret,
                                       extra={"token_cache": "none"}))  # type: ignore[arg-type]

    return build


def ms_password(*, server: str = EXCHANGE_TLS, mechanism: Mechanism = Mechanism.PLAIN):
    """A mail client set to 'password' (the Jira seed: AUTHENTICATE PLAIN; SMTP: AUTH LOGIN)."""

    def build(ctx: LabContext, world: World) -> CheckSettings:
        password = ctx.write_secret("password", world.secrets["alice_password"])
        return CheckSettings(**_target(ctx, server, user=ALICE, mechanism=mechanism, provider="microsoft", flow="password",
                                       password=password))  # type: ignore[arg-type]

    return build


def ms_plain_on_starttls_port(ctx: LabContext, world: World) -> CheckSettings:
    """Port 143 with no TLS at all: the client reads the pre-STARTTLS capabilities and finds no AUTH=XOAUTH2."""
    typed = ms_device_code((OUTLOOK_IMAP,), server=EXCHANGE_STARTTLS)(ctx, world)
    return dataclasses.replace(typed, security=Security.PLAIN, mechanism=Mechanism.AUTO)


def google_refresh(scopes: tuple[str, ...] = (GOOGLE_MAIL,), *, user: str = GOOGLE_USER, server: str = GMAIL, **changes: object):
    """An installed app holding the user's refresh token (google-auth Credentials.refresh)."""

    def build(ctx: LabContext, world: World) -> CheckSettings:
        client_secret = ctx.write_secret("google-client-secret", world.secrets["google_client_secret"])
        refresh = ctx.write_secret("google-refresh-token", world.secrets["google_refresh_token"])
        fields = _target(ctx, server, user=user, mechanism=Mechanism.XOAUTH2, provider="google", flow="refresh_token",
                         client_id=GOOGLE_CLIENT_ID, client_secret=client_secret, refresh_token=refresh, scopes=scopes,
                         token_endpoint=ctx.google_token_uri)
        fields.update(changes)
        return CheckSettings(**fields)  # type: ignore[arg-type]

    return build


def google_service_account(*, subject: str = GOOGLE_USER):
    """A service account impersonating `subject` (domain-wide delegation), key JSON in a 0600 file."""

    def build(ctx: LabContext, world: World) -> CheckSettings:
        key = world.service_account_key
        assert key is not None
        path = ctx.write_file("service-account.json", key.key_json(ctx.google_token_uri))
        return CheckSettings(**_target(ctx, GMAIL, user=GOOGLE_USER, mechanism=Mechanism.XOAUTH2, provider="google",
                                       flow="service_account", service_account_file=path, subject=subject, scopes=(GOOGLE_MAIL,),
                                       token_endpoint=ctx.google_token_uri))  # type: ignore[arg-type]

    return build


def google_account_password(*, server: str = GMAIL):
    """The account password typed where an app password (or OAuth) is needed."""

    def build(ctx: LabContext, world: World) -> CheckSettings:
        password = ctx.write_secret("gmail-password", world.secrets["account_password"])
        return CheckSettings(**_target(ctx, server, user=GOOGLE_USER, mechanism=Mechanism.LOGIN, provider="google", flow="password",
                                       password=password))  # type: ignore[arg-type]

    return build


# ----------------------------------------------------------------------------------------------- the scenarios

EXO_REJECT = "NO AUTHENTICATE failed."
EXO_NOT_CONNECTED = "BAD User is authenticated but not connected."
EXO_BYE_14 = "* BYE Connection closed. 14"
GMAIL_CHALLENGE_JSON = "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
GMAIL_CHALLENGE = f"+ {GMAIL_CHALLENGE_JSON}"
GMAIL_REJECT = "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
EXO_POP_GREETING = "+OK The Microsoft Exchange POP3 service is ready. ["
EXO_POP_OK = "+OK User successfully authenticated."
EXO_POP_REJECT = "-ERR Authentication failure: unknown user name or bad password."
EXO_SMTP_OK = "235 2.7.0 Authentication successful"
EXO_SMTP_REJECT = "535 5.7.3 Authentication unsuccessful ["
SMTP_AUTH_DISABLED = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the {}. Visit https://aka.ms/smtp_auth_disabled"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "ms-healthy", "Exchange Online: device-code sign-in with the right scope", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The reference session: scope https://outlook.office.com/IMAP.AccessAsUser.All, the signed-in user is the mailbox "
        "owner, XOAUTH2 after TLS. Compare every other Microsoft scenario with this transcript.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: microsoft_world(pending_polls=1), ms_device_code((OUTLOOK_IMAP,)),
        ("OK AUTHENTICATE completed.", "OK [READ-ONLY] EXAMINE completed."),
    ),
    Scenario(
        "ms-seed-plain", "Exchange Online: AUTHENTICATE PLAIN with a password (the Jira seed)",
        ("basic_auth_mechanism_used_when_disabled",), "basic_auth_mechanism_used_when_disabled", OutcomeKind.AUTH_FAILED,
        "Exchange still advertises AUTH=PLAIN, but basic authentication is off: PLAIN always gets NO AUTHENTICATE failed. "
        "Advertised does not mean allowed. The client must use XOAUTH2 with an access token.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_password(), (EXO_REJECT,),
    ),
    Scenario(
        "ms-graph-scope", "Exchange Online: token requested for Microsoft Graph",
        ("ms_graph_scope_or_audience",), "ms_graph_scope_or_audience", OutcomeKind.AUTH_FAILED,
        "The portal lists IMAP.AccessAsUser.All under Microsoft Graph, so the scope was typed with the graph.microsoft.com "
        "prefix. The token is valid but its aud is Graph; Exchange says only NO AUTHENTICATE failed. The token's aud claim "
        "tells why: request https://outlook.office.com/IMAP.AccessAsUser.All.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_device_code(("https://graph.microsoft.com/IMAP.AccessAsUser.All",)),
        (EXO_REJECT,),
    ),
    Scenario(
        "ms-wrong-user", "Exchange Online: signed in as alice, opening bob's mailbox",
        ("ms_user_mismatch_token_vs_login", "ms_authenticated_but_not_connected"), "ms_user_mismatch_token_vs_login",
        OutcomeKind.AUTHENTICATED_NOT_CONNECTED,
        "The token is alice's (upn), the SASL user is bob, and alice has no FullAccess on bob's mailbox. Exchange accepts the "
        "token, then refuses every mailbox command: 'User is authenticated but not connected.' Sign in as the mailbox owner, "
        "or grant FullAccess (Add-MailboxPermission).",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_device_code((OUTLOOK_IMAP,), user=BOB),
        ("OK AUTHENTICATE completed.", EXO_NOT_CONNECTED, EXO_BYE_14),
    ),
    Scenario(
        "ms-expired", "Exchange Online: access token already expired",
        ("ms_token_expired",), "ms_token_expired", OutcomeKind.AUTH_FAILED,
        "The token's exp is an hour in the past (a token kept and reused instead of refreshed). Exchange gives the same "
        "NO AUTHENTICATE failed. as for every other token fault; only the exp claim shows it. Acquire silently before "
        "each connection.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: _aged(microsoft_world(), 7200), ms_device_code((OUTLOOK_IMAP,)), (EXO_REJECT,),
    ),
    Scenario(
        "ms-expired-mid-session", "Exchange Online: session invalidated when its token expires",
        ("token_expired_mid_session",), "token_expired_mid_session", OutcomeKind.AUTHENTICATED_NOT_CONNECTED,
        "Exchange ties an IMAP session to the token that opened it. Here the token expired a minute ago: AUTHENTICATE "
        "still passes within Exchange's clock-skew allowance, and the next command gets '* BYE Session invalidated - "
        "AccessTokenExpired' (in real life: an hour into a long IDLE session). Handle the untagged BYE: refresh the "
        "token and reconnect; it is not a credentials problem.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: _aged(microsoft_world(), 3660), ms_device_code((OUTLOOK_IMAP,)),
        ("OK AUTHENTICATE completed.", "* BYE Session invalidated - AccessTokenExpired"),
    ),
    Scenario(
        "ms-pop-scope-for-imap", "Exchange Online: POP scope used for IMAP",
        ("ms_protocol_scope_mismatch",), "ms_protocol_scope_mismatch", OutcomeKind.AUTH_FAILED,
        "The token's scp is POP.AccessAsUser.All: right resource, wrong protocol. IMAP needs IMAP.AccessAsUser.All "
        "(one token may carry both).",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_device_code(("https://outlook.office.com/POP.AccessAsUser.All",)),
        (EXO_REJECT,),
    ),
    Scenario(
        "ms-app-missing-role", "Exchange Online: daemon token without IMAP.AccessAsApp",
        ("ms_app_only_missing_role",), "ms_app_only_missing_role", OutcomeKind.AUTH_FAILED,
        "Client credentials against https://outlook.office365.com/.default, but the app permission was added under "
        "Microsoft Graph (Mail.Read), not 'Office 365 Exchange Online → IMAP.AccessAsApp'. The token has no Exchange roles.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: microsoft_world(daemon_roles={GRAPH: ("Mail.Read",)}), ms_client_credentials(),
        (EXO_REJECT,),
    ),
    Scenario(
        "ms-app-no-mailbox-permission", "Exchange Online: daemon without FullAccess on the mailbox",
        ("ms_app_only_mailbox_permission_missing", "ms_authenticated_but_not_connected"), "ms_app_only_mailbox_permission_missing",
        OutcomeKind.AUTHENTICATED_NOT_CONNECTED,
        "The app-only token is right (IMAP.AccessAsApp, service principal registered), but nobody ran "
        "Add-MailboxPermission for the service principal. Exchange accepts the token and cannot open the mailbox.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: microsoft_world(daemon_full_access=False), ms_client_credentials(),
        ("OK AUTHENTICATE completed.", EXO_NOT_CONNECTED, EXO_BYE_14),
    ),
    Scenario(
        "ms-national-cloud", "21Vianet mail host with a worldwide token",
        ("ms_national_cloud_mismatch",), "ms_national_cloud_mismatch", OutcomeKind.AUTH_FAILED,
        "The mail host is Exchange Online operated by 21Vianet (the greeting's front end ends in .partner.outlook.cn), but the "
        "token came from the worldwide authority for https://outlook.office.com. Authority, scope resource and host must "
        "come from the same cloud.",
        (EXCHANGE_CHINA,), EXCHANGE_CHINA, microsoft_world, ms_device_code((OUTLOOK_IMAP,), server=EXCHANGE_CHINA),
        (EXO_REJECT,),
    ),
    Scenario(
        "ms-consent-missing", "Entra: nobody consented to IMAP.AccessAsUser.All",
        ("ms_consent_or_permission_missing",), "ms_consent_or_permission_missing", OutcomeKind.TOKEN_FAILED,
        "The tenant does not let users consent and no admin granted the app's permissions: the token endpoint answers "
        "AADSTS65001 and no mail connection is made. An admin grants consent in Entra (Enterprise applications → Permissions).",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: microsoft_world(users_can_consent=False), ms_device_code((OUTLOOK_IMAP,)),
    ),
    Scenario(
        "ms-no-oauth-before-starttls", "Exchange Online port 143 without STARTTLS: no AUTH= offered",
        ("no_oauth_mechanism_before_starttls",), "no_oauth_mechanism_before_starttls", OutcomeKind.FAULT,
        "Before STARTTLS Exchange lists LOGINDISABLED STARTTLS and no AUTH= mechanism at all, so a client reading these "
        "capabilities concludes 'XOAUTH2 unsupported'. Use 993 (implicit TLS), or STARTTLS and then read CAPABILITY again.",
        (EXCHANGE_STARTTLS,), EXCHANGE_STARTTLS, microsoft_world, ms_plain_on_starttls_port,
        ("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+",),
    ),
    Scenario(
        "google-healthy", "Gmail: refresh token with https://mail.google.com/", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The reference Gmail session: google-auth refreshes the user's token (scope https://mail.google.com/), XOAUTH2 "
        "is accepted and INBOX opens.",
        (GMAIL,), GMAIL, google_world, google_refresh(),
        ("authenticated (Success)", "OK [READ-ONLY] INBOX selected. (Success)"),
    ),
    Scenario(
        "google-narrow-scope", "Gmail: token with gmail.readonly instead of https://mail.google.com/",
        ("google_scope_not_full_mail",), "google_scope_not_full_mail", OutcomeKind.AUTH_FAILED,
        "The Gmail API quickstart scope (gmail.readonly) was reused for IMAP. Gmail answers with a base64 JSON challenge "
        "whose scope is what Gmail requires, waits for an empty line, then says Invalid credentials. IMAP needs "
        "https://mail.google.com/.",
        (GMAIL,), GMAIL, lambda: google_world(granted=(GMAIL_READONLY,)), google_refresh((GMAIL_READONLY,)),
        (GMAIL_CHALLENGE, GMAIL_REJECT),
    ),
    Scenario(
        "google-malformed-xoauth2", "Gmail: XOAUTH2 string built with an empty user=",
        ("xoauth2_string_malformed",), "xoauth2_string_malformed", OutcomeKind.AUTH_FAILED,
        "The token is fine, but the mailbox address was left empty, so the XOAUTH2 string starts 'user=^Aauth=Bearer'. "
        "Gmail sends its error challenge, then 'Invalid SASL argument' rather than [AUTHENTICATIONFAILED]: the format, "
        "not the token, is wrong.",
        (GMAIL,), GMAIL, google_world, google_refresh(user=""),
        (GMAIL_CHALLENGE, "NO Invalid SASL argument."),
    ),
    Scenario(
        "google-app-password-required", "Gmail: LOGIN with the account password",
        ("google_password_auth_rejected",), "google_password_auth_rejected", OutcomeKind.AUTH_FAILED,
        "Gmail no longer takes account passwords over IMAP: with 2-Step Verification it asks for an app password. Use "
        "XOAUTH2 with https://mail.google.com/ (or an app password where the admin allows it).",
        (GMAIL,), GMAIL, google_world, google_account_password(),
        ("NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",),
    ),
    Scenario(
        "google-sa-without-dwd", "Google: service account impersonating a user without domain-wide delegation",
        ("google_service_account_without_dwd",), "google_service_account_without_dwd", OutcomeKind.TOKEN_FAILED,
        "The service account asks for a token with subject=alice, but no admin authorised its client ID for "
        "https://mail.google.com/ under domain-wide delegation: unauthorized_client at the token endpoint, no mail connection.",
        (GMAIL,), GMAIL, lambda: google_world(dwd_scopes=()), google_service_account(),
    ),
    # ------------------------------------------------------------------ beyond the required set
    Scenario(
        "ms-healthy-starttls", "Exchange Online on port 143 with STARTTLS", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The STARTTLS reference: before TLS the capabilities show LOGINDISABLED STARTTLS and no AUTH=; after STARTTLS "
        "the client reads CAPABILITY again and finds AUTH=XOAUTH2. Compare with ms-no-oauth-before-starttls.",
        (EXCHANGE_STARTTLS,), EXCHANGE_STARTTLS, microsoft_world, ms_device_code((OUTLOOK_IMAP,), server=EXCHANGE_STARTTLS),
        ("OK Begin TLS negotiation now.", "OK AUTHENTICATE completed."),
    ),
    Scenario(
        "google-imap-disabled", "Gmail: IMAP access disabled for the account",
        ("google_imap_pop_disabled",), "google_imap_pop_disabled", OutcomeKind.AUTH_FAILED,
        "The token is valid and Gmail says so by not sending its error challenge; it then refuses with "
        "[ALERT] Your account is not enabled for IMAP use. The Workspace admin enables IMAP (Apps → Gmail → End User Access).",
        (GMAIL,), GMAIL, lambda: google_world(imap_enabled=False), google_refresh(),
        ("NO [ALERT] Your account is not enabled for IMAP use.",),
    ),
    Scenario(
        "ms-bare-scope", "Exchange Online: scope typed without the resource (IMAP.AccessAsUser.All)",
        ("ms_bare_scope_defaults_to_graph",), "ms_bare_scope_defaults_to_graph", OutcomeKind.AUTH_FAILED,
        "A scope without a resource prefix means Microsoft Graph to Entra: the token's scp says IMAP.AccessAsUser.All but "
        "its aud is Graph, so Exchange refuses it. Always give the full https://outlook.office.com/IMAP.AccessAsUser.All.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_device_code(("IMAP.AccessAsUser.All",)), (EXO_REJECT,),
    ),
    Scenario(
        "ms-mixed-resource-scopes", "Entra: Graph and Outlook scopes in one request",
        ("ms_mixed_resource_scopes",), "ms_mixed_resource_scopes", OutcomeKind.TOKEN_FAILED,
        "One token is for one resource: User.Read (Graph) and IMAP.AccessAsUser.All (Exchange) together get AADSTS28000. "
        "Request the Outlook scope alone; get a second token for Graph calls.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world,
        ms_device_code(("https://graph.microsoft.com/User.Read", OUTLOOK_IMAP)),
    ),
    Scenario(
        "ms-app-service-principal-missing", "Exchange Online: daemon app never registered with New-ServicePrincipal",
        ("ms_app_only_service_principal_missing_or_wrong_id",), "ms_app_only_service_principal_missing_or_wrong_id",
        OutcomeKind.AUTH_FAILED,
        "The app-only token is right (aud Exchange, role IMAP.AccessAsApp) but Exchange has no service principal for the "
        "app: run New-ServicePrincipal with the Enterprise Application's ObjectId (not the App Registration's).",
        (EXCHANGE_TLS,), EXCHANGE_TLS, lambda: microsoft_world(exchange_service_principal=False), ms_client_credentials(),
        (EXO_REJECT,),
    ),
    Scenario(
        "ms-client-secret-id", "Entra: the client secret's ID pasted instead of its value",
        ("ms_client_credential_config",), "ms_client_credential_config", OutcomeKind.TOKEN_FAILED,
        "The portal shows a secret's Value once and its Secret ID forever; the ID was copied. Entra answers AADSTS7000215 "
        "(invalid client secret). Create a new secret and copy its Value.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_client_credentials(secret_id_pasted=True),
    ),
    Scenario(
        "ms-client-credentials-delegated-scope", "Entra: client credentials asked for a delegated scope",
        ("ms_client_credentials_scope_format",), "ms_client_credentials_scope_format", OutcomeKind.TOKEN_FAILED,
        "Client credentials take exactly one '<resource>/.default' scope; IMAP.AccessAsUser.All is a delegated permission. "
        "Use https://outlook.office365.com/.default.",
        (EXCHANGE_TLS,), EXCHANGE_TLS, microsoft_world, ms_client_credentials((OUTLOOK_IMAP,)),
    ),
    Scenario(
        "google-sa-not-impersonating", "Gmail: service-account token without a subject",
        ("google_service_account_token_not_impersonating",), "google_service_account_token_not_impersonating",
        OutcomeKind.AUTH_FAILED,
        "Without subject= the token is the service account's own, not alice's: Gmail refuses it for alice's mailbox. "
        "Use with_subject(user) and put the same user in user=.",
        (GMAIL,), GMAIL, google_world, google_service_account(subject=""), (GMAIL_CHALLENGE, GMAIL_REJECT),
    ),
    Scenario(
        "google-refresh-revoked", "Google: refresh token expired or revoked",
        ("google_refresh_token_invalid_grant",), "google_refresh_token_invalid_grant", OutcomeKind.TOKEN_FAILED,
        "The user removed the app's access (or changed the password): the refresh grant answers invalid_grant 'Token has "
        "been expired or revoked.' Run the consent again with access_type=offline and prompt=consent.",
        (GMAIL,), GMAIL, lambda: google_world(revoked=True), google_refresh(),
    ),
    # ------------------------------------------------------------------ POP3 and SMTP
    Scenario(
        "ms-pop-healthy", "Exchange Online POP3: device-code sign-in with POP.AccessAsUser.All", (), None,
        OutcomeKind.MAILBOX_REACHABLE,
        "The POP3 reference: scope https://outlook.office.com/POP.AccessAsUser.All, then AUTH XOAUTH2 in the two-step form "
        "Exchange requires (AUTH XOAUTH2, '+ ', then the base64 line) and STAT.",
        (EXCHANGE_POP3,), EXCHANGE_POP3, microsoft_world, ms_device_code((OUTLOOK_POP,), server=EXCHANGE_POP3),
        (EXO_POP_GREETING, EXO_POP_OK, "+OK 0 0"),
    ),
    Scenario(
        "ms-pop-one-line", "Exchange Online POP3: AUTH XOAUTH2 with the initial response on the same line",
        ("pop3_xoauth2_one_line_rejected_exchange",), "pop3_xoauth2_one_line_rejected_exchange", OutcomeKind.AUTH_FAILED,
        "The token is right, but the client put the base64 XOAUTH2 string on the AUTH line, as IMAP (SASL-IR) and SMTP allow. "
        "Exchange POP3 answers '-ERR Protocol error. Connection is closed. 10' and hangs up. Send 'AUTH XOAUTH2', wait for "
        "'+ ', then the base64 line (mailscope: --sasl-ir no).",
        (EXCHANGE_POP3,), EXCHANGE_POP3, microsoft_world, ms_device_code((OUTLOOK_POP,), server=EXCHANGE_POP3, sasl_ir="yes"),
        ("-ERR Protocol error. Connection is closed. 10",),
    ),
    Scenario(
        "ms-pop-imap-scope", "Exchange Online POP3: token with the IMAP scope only",
        ("ms_protocol_scope_mismatch",), "ms_protocol_scope_mismatch", OutcomeKind.AUTH_FAILED,
        "The token's scp is IMAP.AccessAsUser.All: right resource, wrong protocol. POP3 needs POP.AccessAsUser.All, and "
        "Exchange says only '-ERR Authentication failure: unknown user name or bad password.' (one token may carry both).",
        (EXCHANGE_POP3,), EXCHANGE_POP3, microsoft_world, ms_device_code((OUTLOOK_IMAP,), server=EXCHANGE_POP3),
        (EXO_POP_REJECT,),
    ),
    Scenario(
        "ms-pop-disabled", "Exchange Online POP3: POP disabled for the mailbox",
        ("ms_imap_pop_disabled", "ms_authenticated_but_not_connected"), "ms_imap_pop_disabled",
        OutcomeKind.AUTHENTICATED_NOT_CONNECTED,
        "alice's own token with POP.AccessAsUser.All is accepted, but an admin ran Set-CASMailbox -PopEnabled $false: STAT "
        "gets 'User is authenticated but not connected.' The token is fine; enable POP for the mailbox.",
        (EXCHANGE_POP3,), EXCHANGE_POP3, lambda: microsoft_world(alice_pop_enabled=False),
        ms_device_code((OUTLOOK_POP,), server=EXCHANGE_POP3),
        (EXO_POP_OK, "-ERR User is authenticated but not connected."),
    ),
    Scenario(
        "ms-smtp-healthy", "Exchange Online SMTP: STARTTLS, then XOAUTH2 with SMTP.Send", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The SMTP reference on 587: the first EHLO lists STARTTLS and no AUTH; after STARTTLS the second EHLO lists AUTH LOGIN "
        "XOAUTH2; the token carries SMTP.Send; MAIL FROM and RCPT TO are accepted (no message is sent).",
        (EXCHANGE_SMTP,), EXCHANGE_SMTP, microsoft_world, ms_device_code((OUTLOOK_SMTP,), server=EXCHANGE_SMTP),
        ("Microsoft ESMTP MAIL Service ready", "250-STARTTLS", "250-AUTH LOGIN XOAUTH2", EXO_SMTP_OK, "250 2.1.0 Sender OK",
         "250 2.1.5 Recipient OK"),
    ),
    Scenario(
        "ms-smtp-auth-disabled-tenant", "Exchange Online SMTP: SMTP AUTH disabled for the tenant",
        ("ms_smtp_auth_disabled",), "ms_smtp_auth_disabled", OutcomeKind.AUTH_FAILED,
        "The token is right (SMTP.Send), but the tenant has SmtpClientAuthenticationDisabled: Exchange answers 535 5.7.139 "
        "'SmtpClientAuthentication is disabled for the Tenant'. Turning SMTP AUTH off blocks OAuth too. Enable it for the "
        "mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false) or the tenant.",
        (EXCHANGE_SMTP,), EXCHANGE_SMTP, lambda: microsoft_world(tenant_smtp_auth_disabled=True),
        ms_device_code((OUTLOOK_SMTP,), server=EXCHANGE_SMTP), (SMTP_AUTH_DISABLED.format("Tenant"),),
    ),
    Scenario(
        "ms-smtp-auth-disabled-mailbox", "Exchange Online SMTP: SMTP AUTH disabled for the mailbox",
        ("ms_smtp_auth_disabled",), "ms_smtp_auth_disabled", OutcomeKind.AUTH_FAILED,
        "SMTP AUTH is on for the tenant, but alice's mailbox overrides it (Set-CASMailbox -SmtpClientAuthenticationDisabled "
        "$true): 535 5.7.139 '... disabled for the Mailbox'. The mailbox setting wins whenever it is not $null.",
        (EXCHANGE_SMTP,), EXCHANGE_SMTP, lambda: microsoft_world(alice_smtp_auth_disabled=True),
        ms_device_code((OUTLOOK_SMTP,), server=EXCHANGE_SMTP), (SMTP_AUTH_DISABLED.format("Mailbox"),),
    ),
    Scenario(
        "ms-smtp-scope-missing", "Exchange Online SMTP: token without SMTP.Send (IMAP and POP scopes only)",
        ("ms_protocol_scope_mismatch",), "ms_protocol_scope_mismatch", OutcomeKind.AUTH_FAILED,
        "The mail handler asked for IMAP.AccessAsUser.All and POP.AccessAsUser.All (the Jira default) and reuses that token "
        "to send: Exchange answers only '535 5.7.3 Authentication unsuccessful'. SMTP needs "
        "https://outlook.office.com/SMTP.Send in the token's scp.",
        (EXCHANGE_SMTP,), EXCHANGE_SMTP, microsoft_world, ms_device_code((OUTLOOK_IMAP, OUTLOOK_POP), server=EXCHANGE_SMTP),
        (EXO_SMTP_REJECT,),
    ),
    Scenario(
        "ms-smtp-basic-auth", "Exchange Online SMTP: AUTH LOGIN with the account password",
        ("basic_auth_mechanism_used_when_disabled",), "basic_auth_mechanism_used_when_disabled", OutcomeKind.AUTH_FAILED,
        "The client still sends username and password with AUTH LOGIN. Exchange refuses basic authentication for SMTP "
        "submission ('535 5.7.139 Authentication unsuccessful, basic authentication is disabled.'): use XOAUTH2 with "
        "https://outlook.office.com/SMTP.Send.",
        (EXCHANGE_SMTP,), EXCHANGE_SMTP, microsoft_world, ms_password(server=EXCHANGE_SMTP, mechanism=Mechanism.LOGIN),
        ("334 UGFzc3dvcmQ6", "535 5.7.139 Authentication unsuccessful, basic authentication is disabled."),
    ),
    Scenario(
        "ms-smtp-send-as-denied", "Exchange Online SMTP: sending as a shared mailbox without SendAs",
        ("ms_sendas_denied",), "ms_sendas_denied", OutcomeKind.AUTHENTICATED_NOT_CONNECTED,
        "alice signs in for the shared mailbox sales@: she has FullAccess, so AUTH succeeds, but FullAccess is not SendAs. "
        "MAIL FROM:<sales@...> gets '550 5.7.60 SMTP; Client does not have permissions to send as this sender'. Grant "
        "SendAs (Add-RecipientPermission) or send as alice.",
        (EXCHANGE_SMTP,), EXCHANGE_SMTP, microsoft_world, ms_device_code((OUTLOOK_SMTP,), user=SALES, server=EXCHANGE_SMTP),
        (EXO_SMTP_OK, "550 5.7.60 SMTP; Client does not have permissions to send as this sender"),
    ),
    Scenario(
        "google-smtp-healthy", "Gmail SMTP on 465: XOAUTH2 with https://mail.google.com/", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The Gmail SMTP reference over implicit TLS: AUTH XOAUTH2 with the refreshed token is accepted ('235 2.7.0 Accepted'), "
        "then MAIL FROM and RCPT TO (no message is sent).",
        (GMAIL_SMTP,), GMAIL_SMTP, google_world, google_refresh(server=GMAIL_SMTP),
        ("ESMTP", "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH", "235 2.7.0 Accepted", "250 2.1.0 OK"),
    ),
    Scenario(
        "google-smtp-starttls", "Gmail SMTP on 587: STARTTLS, then XOAUTH2", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The same as google-smtp-healthy on the STARTTLS port: the first EHLO offers STARTTLS and no AUTH, the second one "
        "(after TLS) the OAuth mechanisms.",
        (GMAIL_SMTP_STARTTLS,), GMAIL_SMTP_STARTTLS, google_world, google_refresh(server=GMAIL_SMTP_STARTTLS),
        ("250-STARTTLS", "220 2.0.0 Ready to start TLS", "235 2.7.0 Accepted"),
    ),
    Scenario(
        "google-smtp-app-password", "Gmail SMTP: AUTH LOGIN with the account password",
        ("google_password_auth_rejected",), "google_password_auth_rejected", OutcomeKind.AUTH_FAILED,
        "With 2-Step Verification on, Gmail no longer takes the account password for SMTP: '534-5.7.9 Application-specific "
        "password required'. Use XOAUTH2 with https://mail.google.com/, or an app password where the admin allows it.",
        (GMAIL_SMTP,), GMAIL_SMTP, google_world, google_account_password(server=GMAIL_SMTP),
        ("534-5.7.9 Application-specific password required.", "InvalidSecondFactor"),
    ),
    Scenario(
        "google-smtp-narrow-scope", "Gmail SMTP: token with gmail.send instead of https://mail.google.com/",
        ("google_scope_not_full_mail",), "google_scope_not_full_mail", OutcomeKind.AUTH_FAILED,
        "The Gmail API scope gmail.send was reused for SMTP. Gmail answers with its base64 JSON challenge (334), waits for "
        "the empty line, then '535-5.7.8 Username and Password not accepted'. SMTP, like IMAP and POP, needs "
        "https://mail.google.com/ (the lab follows Google's doc here; see the choices above).",
        (GMAIL_SMTP,), GMAIL_SMTP, lambda: google_world(granted=(GMAIL_SEND,)), google_refresh((GMAIL_SEND,), server=GMAIL_SMTP),
        (f"334 {GMAIL_CHALLENGE_JSON}", "535-5.7.8 Username and Password not accepted."),
    ),
    Scenario(
        "google-pop-healthy", "Gmail POP3: XOAUTH2 with https://mail.google.com/", (), None, OutcomeKind.MAILBOX_REACHABLE,
        "The Gmail POP3 reference: Gpop accepts the token ('+OK Welcome.') and STAT answers.",
        (GMAIL_POP3,), GMAIL_POP3, google_world, google_refresh(server=GMAIL_POP3),
        ("+OK Gpop ready for requests from", "+OK Welcome.", "+OK 0 0"),
    ),
    Scenario(
        "google-pop-disabled", "Gmail POP3: POP access disabled for the account",
        ("google_imap_pop_disabled",), "google_imap_pop_disabled", OutcomeKind.AUTH_FAILED,
        "The token is valid (no error challenge), but POP is off for the account: '-ERR [SYS/PERM] Your account is not "
        "enabled for POP access.' Enable POP in Gmail's settings, or ask the Workspace admin (Apps → Gmail → End User Access).",
        (GMAIL_POP3,), GMAIL_POP3, lambda: google_world(pop_enabled=False), google_refresh(server=GMAIL_POP3),
        ("-ERR [SYS/PERM] Your account is not enabled for POP",),
    ),
)


def _aged(world: World, seconds: int) -> World:
    world.directory.ms_token_age_seconds = seconds
    return world


def scenario(scenario_id: str) -> Scenario:
    """The scenario with this id; LookupError (listing the ids) when there is none."""
    for candidate in SCENARIOS:
        if candidate.id == scenario_id:
            return candidate
    raise LookupError(f"unknown lab scenario {scenario_id!r}; known: {', '.join(s.id for s in SCENARIOS)}")
