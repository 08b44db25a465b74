"""What a scenario file says, as plain data: the client settings a user typed and the knobs of the lab's world.
Defaults are the two reference worlds (Contoso on Exchange Online, example-workspace.com on Gmail) as they are
when nothing is wrong; a scenario file names only what differs. `schema.py` fills these from TOML."""

from __future__ import annotations

from dataclasses import dataclass, field

GOOGLE_MAIL = "https://mail.google.com/"
DEFAULT_HINT_COST = 0.2  # share of an exercise's one point a hint costs unless its file says otherwise


@dataclass(frozen=True, slots=True)
class Hint:
    text: str
    cost: float = DEFAULT_HINT_COST


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """The settings a user would have typed (the mistake included). None: the flow's or provider's default."""

    flow: str  # microsoft: device_code | client_credentials | password; google: refresh_token | service_account | password
    scopes: tuple[str, ...] | None = None
    user: str | None = None  # the SASL user: a cast name (alice, bob, sales) or an address; "" sends none
    mechanism: str | None = None  # auto | xoauth2 | oauthbearer | plain | login
    sasl_ir: str = "auto"
    security: str | None = None  # tls | starttls | plain; None: the server's own mode
    client_secret: str = "value"  # client_credentials: "value" (right) or "secret-id" (the portal's Secret ID pasted)
    subject: str | None = None  # service_account: who to impersonate; None: the user; "": nobody
    password: str = "account"  # password flow: "account" (the account password) or, Google only, "app-password"


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    """One Contoso mailbox (Set-CASMailbox, permissions, the user's sign-in policies)."""

    imap_enabled: bool = True
    pop_enabled: bool = True
    smtp_auth_disabled: bool | None = None  # None: follows the tenant
    has_mailbox: bool = True  # an Exchange Online mailbox and licence
    full_access: tuple[str, ...] | None = None  # principals (cast names, "daemon"); None: the cast's default
    send_as: tuple[str, ...] = ()
    mfa_required: bool = False
    blocked_by_conditional_access: bool = False


def _default_daemon_roles() -> dict[str, tuple[str, ...]]:
    return {"exchange": ("IMAP.AccessAsApp",)}


@dataclass(frozen=True, slots=True)
class MicrosoftSpec:
    """Contoso's tenant, its two apps (the public mail client, the confidential daemon) and who signs in."""

    users_can_consent: bool = True
    consented_scopes: tuple[str, ...] = ()  # delegated permissions an admin granted the mail client tenant-wide
    smtp_auth_disabled: bool = False  # tenant-wide SmtpClientAuthenticationDisabled
    daemon_roles: dict[str, tuple[str, ...]] = field(default_factory=_default_daemon_roles)  # resource kind -> app roles
    daemon_service_principal: str = "registered"  # registered | missing | wrong-id (New-ServicePrincipal in Exchange)
    sign_in_as: str = "alice"  # who signs in on the device-code page
    sign_in_decision: str = "approve"  # approve | decline | expire
    sign_in_consents: bool = True  # ticks Accept on the consent prompt
    sign_in_completes_mfa: bool = True
    pending_polls: int = 0  # device-code polls answered authorization_pending first (each costs a second)
    token_age_seconds: int = 0  # tokens issued as if this long ago (3900 s and more: already expired)
    mailboxes: dict[str, MailboxSpec] = field(default_factory=dict)  # cast name -> knobs


@dataclass(frozen=True, slots=True)
class GoogleSpec:
    """example-workspace.com: alice, the installed-app OAuth client with her refresh token, a service account."""

    granted_scopes: tuple[str, ...] = (GOOGLE_MAIL,)  # what alice granted the installed app
    refresh_token_revoked: bool = False
    refresh_token_age_days: float = 0.0
    testing_mode: bool = False  # consent screen External + Testing: refresh tokens die after 7 days
    blocked_by_admin_policy: bool = False  # Workspace API controls block the OAuth client
    dwd_scopes: tuple[str, ...] = (GOOGLE_MAIL,)  # domain-wide delegation of the service account; () = none
    imap_enabled: bool = True
    pop_enabled: bool = True
    two_step_verification: bool = True
    token_age_seconds: int = 0
