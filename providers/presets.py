"""Provider presets: hosts, ports, clouds, authorities and the right scopes per protocol and flow.

Data from the catalogue §1.1/§1.2. Diagnosis fix steps, the settings pane and token acquisition
all read these, so a correction here reaches all three.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from mailscope.protocols import default_port
from mailscope.settings import Protocol, Security


@dataclass(frozen=True, slots=True)
class Cloud:
    """One Microsoft cloud (worldwide, US Government, 21Vianet): its sign-in host, token resources and mail hosts."""
    id: str
    title: str
    login_host: str  # msal authority host
    resource: str  # delegated scope prefix (Exchange Online resource)
    app_resource: str  # client-credentials resource
    imap_host: str
    pop_host: str
    smtp_host: str
    frontend_suffixes: tuple[str, ...]  # how the Exchange greeting's decoded front-end name ends


CLOUDS: dict[str, Cloud] = {
    "global": Cloud(
        "global", "Microsoft 365 worldwide (and GCC)", "login.microsoftonline.com",
        "https://outlook.office.com", "https://outlook.office365.com",
        "outlook.office365.com", "outlook.office365.com", "smtp.office365.com",
        (".prod.outlook.com", ".outlook.com"),
    ),
    "usgov": Cloud(
        "usgov", "Microsoft 365 GCC High", "login.microsoftonline.us",
        "https://outlook.office365.us", "https://outlook.office365.us",
        "outlook.office365.us", "outlook.office365.us", "smtp.office365.us",
        (".office365.us",),
    ),
    "dod": Cloud(
        "dod", "Microsoft 365 DoD", "login.microsoftonline.us",
        "https://outlook.office365.us", "https://outlook.office365.us",
        "outlook.office365.us", "outlook.office365.us", "smtp.office365.us",
        (".office365.us",),
    ),
    "china": Cloud(
        "china", "Microsoft 365 operated by 21Vianet", "login.partner.microsoftonline.cn",
        "https://partner.outlook.cn", "https://partner.outlook.cn",
        "partner.outlook.cn", "partner.outlook.cn", "smtp.partner.outlook.cn",
        (".partner.outlook.cn",),
    ),
}

CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
GRAPH_AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000", "https://graph.microsoft.us",
                   "https://microsoftgraph.chinacloudapi.cn")
EXCHANGE_AUDIENCES = {
    "global": ("https://outlook.office.com", "https://outlook.office365.com", "https://ps.outlook.com",
               "00000002-0000-0ff1-ce00-000000000000"),
    "usgov": ("https://outlook.office365.us", "00000002-0000-0ff1-ce00-000000000000"),
    "dod": ("https://outlook.office365.us", "00000002-0000-0ff1-ce00-000000000000"),
    "china": ("https://partner.outlook.cn", "00000002-0000-0ff1-ce00-000000000000"),
}

DELEGATED_SCOPE = {Protocol.IMAP: "IMAP.AccessAsUser.All", Protocol.POP3: "POP.AccessAsUser.All", Protocol.SMTP: "SMTP.Send"}
APP_ROLE = {Protocol.IMAP: "IMAP.AccessAsApp", Protocol.POP3: "POP.AccessAsApp", Protocol.SMTP: "SMTP.SendAsApp"}
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"
APP_ONLY_FLOWS = ("client_credentials", "client_certificate")


def microsoft_scopes(protocol: Protocol, cloud: str = "global", flow: str = "device_code") -> tuple[str, ...]:
    """The scopes to request. msal adds offline_access itself for user flows (passing it raises)."""
    c = CLOUDS.get(cloud, CLOUDS["global"])
    if flow in APP_ONLY_FLOWS:
        return (f"{c.app_resource}/.default",)
    return (f"{c.resource}/{DELEGATED_SCOPE[protocol]}",)


def microsoft_scopes_for_raw_clients(protocol: Protocol, cloud: str = "global") -> tuple[str, ...]:
    """What a non-msal client (Jira, JavaMail, scripts) must request: the protocol scope plus offline_access."""
    return (*microsoft_scopes(protocol, cloud), "offline_access")


def authority_url(cloud: str, tenant: str) -> str:
    return f"https://{CLOUDS.get(cloud, CLOUDS['global']).login_host}/{tenant or 'organizations'}"


@dataclass(frozen=True, slots=True)
class HostPreset:
    """A known server endpoint (`--preset`): provider, protocol, host, port and security in one name."""
    id: str
    title: str
    provider: str
    protocol: Protocol
    host: str
    port: int
    security: Security
    cloud: str = ""


def _preset(id: str, title: str, provider: str, protocol: Protocol, host: str, security: Security, cloud: str = "") -> HostPreset:
    """Ports come from the one table (mailscope.protocols.DEFAULT_PORTS): 993/995/465 TLS, 143/110/587 STARTTLS."""
    return HostPreset(id, title, provider, protocol, host, default_port(protocol, security), security, cloud)


def _microsoft(cloud: str, name: str, label: str) -> tuple[HostPreset, ...]:
    """IMAP 993, POP3 995 and SMTP submission 587 STARTTLS of one Microsoft cloud (catalogue §1.2)."""
    c = CLOUDS[cloud]
    return (
        _preset(f"{name}-imap", f"{label} IMAP", "microsoft", Protocol.IMAP, c.imap_host, Security.TLS, cloud),
        _preset(f"{name}-pop", f"{label} POP3", "microsoft", Protocol.POP3, c.pop_host, Security.TLS, cloud),
        _preset(f"{name}-smtp", f"{label} SMTP", "microsoft", Protocol.SMTP, c.smtp_host, Security.STARTTLS, cloud),
    )


HOST_PRESETS: tuple[HostPreset, ...] = (
    *_microsoft("global", "m365", "Microsoft 365"),
    _preset("m365-imap-starttls", "Microsoft 365 IMAP (STARTTLS)", "microsoft", Protocol.IMAP, "outlook.office365.com",
            Security.STARTTLS, "global"),
    *_microsoft("usgov", "gcchigh", "GCC High / DoD"),
    *_microsoft("china", "china", "21Vianet"),
    _preset("outlookcom-imap", "Outlook.com IMAP", "microsoft", Protocol.IMAP, "outlook.office365.com", Security.TLS, "global"),
    _preset("outlookcom-smtp", "Outlook.com SMTP", "microsoft", Protocol.SMTP, "smtp-mail.outlook.com", Security.STARTTLS, "global"),
    _preset("gmail-imap", "Gmail IMAP", "google", Protocol.IMAP, "imap.gmail.com", Security.TLS),
    _preset("gmail-pop", "Gmail POP3", "google", Protocol.POP3, "pop.gmail.com", Security.TLS),
    _preset("gmail-smtp", "Gmail SMTP (465, TLS)", "google", Protocol.SMTP, "smtp.gmail.com", Security.TLS),
    _preset("gmail-smtp-starttls", "Gmail SMTP (587, STARTTLS)", "google", Protocol.SMTP, "smtp.gmail.com", Security.STARTTLS),
    _preset("custom", "Custom server", "generic", Protocol.IMAP, "", Security.TLS),
)  # fmt: skip


def host_preset(preset_id: str) -> HostPreset:
    """LookupError names the known ids."""
    for preset in HOST_PRESETS:
        if preset.id == preset_id:
            return preset
    raise LookupError(f"no preset {preset_id!r} (known: {', '.join(p.id for p in HOST_PRESETS)})")


_MICROSOFT_HOST_SUFFIXES = {
    "global": ("office365.com", "outlook.com", "hotmail.com", "live.com"),
    "usgov": ("office365.us",),
    "china": ("outlook.cn",),
}
_GOOGLE_HOST_SUFFIXES = ("gmail.com", "googlemail.com", "google.com")


@functools.lru_cache(maxsize=256)
def provider_for_host(host: str) -> tuple[str, str]:
    """(provider, cloud) the way Thunderbird maps hosts to issuers; ("generic", "") when unknown. Remembered per host: an
    audit's diagnosis asks it a few times per mailbox about the same few hosts (a log's sessions too)."""
    host = host.lower().rstrip(".")
    for cloud, suffixes in _MICROSOFT_HOST_SUFFIXES.items():
        if host.endswith(suffixes):
            return "microsoft", cloud
    if host.endswith(_GOOGLE_HOST_SUFFIXES):
        return "google", ""
    return "generic", ""


# The greeting is the strongest evidence of who answers; host and settings stand in only when it named no known server.
_GREETING_PROVIDER = {"exchange": "microsoft", "gmail": "google", "dovecot": "generic", "postfix": "generic"}


def session_is(provider: str, *, server_family: str, host: str, chosen_provider: str | None) -> bool:
    """Does the session talk to `provider`? The greeting's server family decides when known; otherwise
    the host preset or the provider the user chose (either suffices)."""
    if server_family in _GREETING_PROVIDER:
        return _GREETING_PROVIDER[server_family] == provider
    return provider_for_host(host)[0] == provider or chosen_provider == provider
