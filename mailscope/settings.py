"""What the user typed: the third kind of evidence (wire, token, settings). Never holds a secret:
secrets are named by their source (env var, file, prompt) and read at run time."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Security(StrEnum):
    TLS = "tls"  # implicit TLS (993)
    STARTTLS = "starttls"  # plain, then STARTTLS (143)
    PLAIN = "plain"  # no TLS at all


class Mechanism(StrEnum):
    AUTO = "auto"
    XOAUTH2 = "xoauth2"
    OAUTHBEARER = "oauthbearer"
    PLAIN = "plain"
    LOGIN = "login"

    @property
    def is_oauth(self) -> bool:
        return self in (Mechanism.XOAUTH2, Mechanism.OAUTHBEARER)


class Protocol(StrEnum):
    IMAP = "imap"
    POP3 = "pop3"
    SMTP = "smtp"


@dataclass(frozen=True, slots=True)
class SecretSource:
    """Where a secret comes from: `env:VAR`, `file:/path`, `stdin`, `prompt`, or `lab` (minted)."""

    kind: str  # "env" | "file" | "stdin" | "prompt" | "lab"
    ref: str = ""

    def describe(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref else self.kind


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """Everything one check needs to know: server, security, user, mechanism and how to get the token."""
    host: str
    port: int
    security: Security = Security.TLS
    user: str = ""
    mechanism: Mechanism = Mechanism.AUTO
    sasl_ir: str = "auto"  # "auto" | "yes" | "no": initial response on the AUTH command line (POP3 one-line form, IMAP SASL-IR, SMTP)
    protocol: Protocol = Protocol.IMAP
    ca_file: str | None = None  # None: the system trust store
    verify_tls: bool = True
    timeout: float = 10.0  # per step
    send_test: bool = False  # SMTP: after the post-auth check, send one real test message to the user (DATA)
    # How the credential is obtained (providers/ interpret these).
    provider: str = "generic"  # "microsoft" | "google" | "generic"
    flow: str = "static"  # e.g. "device_code", "client_credentials", "refresh_token", "password", "static"
    client_id: str = ""
    tenant: str = ""
    cloud: str = ""  # "global" | "usgov" | "dod" | "china" ("" = from the preset/host)
    authority: str = ""  # explicit authority URL (labs and tests); "" = derived from cloud + tenant
    scopes: tuple[str, ...] = ()
    token: SecretSource | None = None  # static bearer token source
    password: SecretSource | None = None
    client_secret: SecretSource | None = None
    refresh_token: SecretSource | None = None
    certificate: str | None = None  # PEM path (client-credentials with certificate)
    service_account_file: str | None = None
    subject: str = ""  # Google domain-wide delegation subject
    token_endpoint: str = ""  # generic OAuth token endpoint
    lab_scenario: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # provider-specific knobs, never secrets
