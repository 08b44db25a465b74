"""Session evidence: the facts a session established, as data. Diagnosis rules read these."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(slots=True)
class TlsFacts:
    """What the TLS handshake showed: version, cipher, the server certificate and whether it was verified."""
    version: str | None = None
    cipher: str | None = None
    peer_subject: str | None = None
    peer_issuer: str | None = None
    not_after: str | None = None
    verified: bool | None = None  # None: not attempted (plain)
    verify_error: str | None = None
    server_hostname: str | None = None  # SNI sent


class FaultKind(StrEnum):
    DNS = "dns_failure"
    REFUSED = "connection_refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TLS_VERIFY = "tls_verification_failed"
    TLS_ON_PLAIN_PORT = "tls_spoken_to_plain_port"
    PLAIN_ON_TLS_PORT = "plain_spoken_to_tls_port"
    TLS_HANDSHAKE = "tls_handshake_failed"
    BYE_GREETING = "bye_greeting"
    UNEXPECTED_GREETING = "unexpected_greeting"
    CLOSED_MID_COMMAND = "closed_mid_command"
    SERVER_SILENT = "server_silent"
    PROTOCOL_ERROR = "protocol_error"
    CLIENT_PARSER = "client_parser_error"  # the client library could not read what the server sent (not a server close)
    STARTTLS_REFUSED = "starttls_refused"
    NO_USABLE_MECHANISM = "no_usable_mechanism"
    TOKEN_ACQUISITION = "token_acquisition_failed"
    SETTINGS = "invalid_settings"


@dataclass(frozen=True, slots=True)
class Fault:
    """Why the session stopped early (connect, TLS, timeout, protocol): the step and the line it happened at."""
    kind: FaultKind
    detail: str  # redacted, human readable ("certificate verify failed: self-signed certificate")
    step: str = ""  # which step ("connect", "greeting", "STARTTLS", "AUTHENTICATE", "EXAMINE", ...)
    line_seq: int | None = None


@dataclass(slots=True)
class SaslExchange:
    """One SASL attempt: mechanism, the decoded (redacted) client payload, the server's challenges and answer."""
    mechanism: str  # upper case as sent: "XOAUTH2"
    sasl_ir: bool  # initial response on the command line
    client_payload: str = ""  # decoded structure with secrets redacted: "user=a@b ^A auth=Bearer <jwt ...>"
    challenges: list[str] = field(default_factory=list)  # decoded server challenges (Gmail JSON)
    challenge_json: list[dict[str, Any]] = field(default_factory=list)
    result: str | None = None  # "OK" | "NO" | "BAD" | None (no tagged answer)
    result_text: str = ""  # the tagged response text, e.g. "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
    command_seq: int | None = None  # transcript line of the AUTHENTICATE command
    result_seq: int | None = None
    defects: list[str] = field(default_factory=list)  # sasl.parse_payload(...).defects of the client payload (no secrets)
    response_length: int = 0  # characters of the client's first response as sent (base64): a line's length limit is evidence


@dataclass(slots=True)
class CommandResult:
    """A command after sign-in (CAPABILITY, EXAMINE, ...) and the server's answer to it."""
    command: str  # "CAPABILITY", "NAMESPACE", "LIST", "EXAMINE", "LOGOUT", "LOGIN", "STARTTLS"
    result: str | None  # "OK" | "NO" | "BAD" | None
    text: str
    seq: int | None = None


@dataclass(slots=True)
class SessionEvidence:
    """Everything a session showed about itself, live or from a log: what the diagnosis rules read."""
    host: str = ""
    port: int = 0
    security: str = ""
    protocol: str = "imap"
    greeting: str | None = None
    greeting_seq: int | None = None
    server_family: str = "unknown"  # "exchange" | "gmail" | "dovecot" | "unknown" (from the greeting)
    frontend_name: str | None = None  # Exchange greeting's base64 UTF-16LE front-end FQDN, decoded
    tls: TlsFacts | None = None
    capabilities_pre_tls: tuple[str, ...] | None = None
    capabilities_post_tls: tuple[str, ...] | None = None
    capabilities_post_auth: tuple[str, ...] | None = None
    mechanism: str | None = None  # what was actually used, upper case
    mechanism_reason: str = ""
    sasl: list[SaslExchange] = field(default_factory=list)
    login_used: bool = False  # IMAP LOGIN command (not AUTHENTICATE)
    auth_result: str | None = None  # "OK" | "NO" | "BAD"
    auth_text: str = ""
    auth_seq: int | None = None  # the transcript line that answered the credential (or quoted that answer)
    commands: list[CommandResult] = field(default_factory=list)  # post-auth and others, in order
    untagged_bye: str | None = None
    bye_seq: int | None = None
    fault: Fault | None = None
    # Log import: things a log says that the wire alone would not.
    client_software: str | None = None  # "JavaMail", "MailKit", ...
    log_facts: dict[str, str] = field(default_factory=dict)  # e.g. {"password": "<non-null>"}
    exceptions: list[str] = field(default_factory=list)  # e.g. "javax.mail.AuthenticationFailedException: AUTHENTICATE failed."
    token_endpoint_errors: list[str] = field(default_factory=list)  # "AADSTS65001: ..." found in logs

    @property
    def capabilities(self) -> tuple[str, ...] | None:
        """The capabilities that count for mechanism choice: after TLS when there was TLS."""
        return self.capabilities_post_tls or self.capabilities_pre_tls


@dataclass(slots=True)
class TokenEvidence:
    """What is known about the credential, without the secret itself (see providers' inspection)."""

    kind: str = "none"  # "jwt" | "opaque" | "password" | "none"
    shape: str = ""  # "jwt", "google-ya29", "msa-compact", "opaque", "password"
    length: int = 0
    fingerprint: str = ""
    provider: str = "generic"
    flow: str = ""  # how it was obtained: "device_code", "client_credentials", "static", "lab", ...
    source: str = ""  # "msal", "google-auth", "env:VAR", "file:..." ...
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)  # decoded JWT claims (unverified)
    requested_scopes: tuple[str, ...] = ()
    granted_scopes: tuple[str, ...] | None = None  # from the token response, when known
    expires_at: float | None = None  # epoch seconds
    issued_at: float | None = None
    has_refresh_token: bool | None = None
    authority: str | None = None
    account: str | None = None  # msal account username / google subject
    error: dict[str, Any] | None = None  # token endpoint error (error, error_codes, error_description)
    http: list[dict[str, Any]] = field(default_factory=list)  # redacted token-endpoint exchanges
    notes: list[str] = field(default_factory=list)  # e.g. "opaque token: claims unavailable"


class OutcomeKind(StrEnum):
    MAILBOX_REACHABLE = "authenticated_mailbox_reachable"
    AUTHENTICATED_NOT_CONNECTED = "authenticated_but_mailbox_refused"
    AUTH_FAILED = "authentication_failed"
    TOKEN_FAILED = "token_acquisition_failed"
    FAULT = "connection_fault"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"  # imported logs that end mid-session


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the session ended, in one kind and one sentence; the kind gives the exit code."""
    kind: OutcomeKind
    summary: str

    @property
    def exit_code(self) -> int:
        return 0 if self.kind is OutcomeKind.MAILBOX_REACHABLE else 1
