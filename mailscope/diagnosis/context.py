"""Derived facts over one DiagnosisInput, computed lazily once per diagnosis and shared by every rule.

Rules ask questions ("was the credential refused?", "which user did the client send?") instead of
re-parsing evidence; all answers come from data already redacted by the SessionRecord.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress, repeat
from operator import attrgetter, eq
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from mailscope import sasl as sasl_format
from mailscope.diagnosis import timing
from mailscope.evidence import CommandResult, FaultKind, SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput, EvidenceKind, EvidenceRef
from mailscope.patterns import Signature
from mailscope.protocols import mailbox_check, pop3, smtp
from mailscope.protocols.mechanism import offered_mechanisms
from mailscope.protocols.mechanism import offered_mechanisms as mechanisms_in  # noqa: F401 - the rules' name for it
from mailscope.protocols.servers import EXCHANGE_NOT_CONNECTED, server_family
from mailscope.settings import CheckSettings

if TYPE_CHECKING:
    from mailscope.events import TranscriptLine

PASSWORD_MECHANISMS = frozenset({"PLAIN", "LOGIN", "USER"})
LOCAL_HOSTS = ("localhost", "127.", "::1")
OAUTH_MECHANISMS = frozenset({"XOAUTH2", "OAUTHBEARER"})
_USER_CLAIMS = ("upn", "unique_name", "preferred_username", "email")  # as providers.inspect.token_user reads them
_LINE_WINDOW = 150  # lines kept from each end of a long transcript for signature matching
_TEXT, _DIRECTION = attrgetter("text"), attrgetter("direction")
_SASL_USER_RE = re.compile(r"(?:\buser=|\bn,a=)([^\s^,<>]+)")


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's answer to the credential: status in IMAP terms (OK/NO/BAD) plus text and line."""

    status: str | None
    text: str
    seq: int | None


def _split_scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def _normalise_status(status: str | None, text: str) -> str | None:
    """A stored result (OK/NO/BAD) as is; a raw POP3 status or SMTP code, or without a result the reply text, read as
    mailscope.protocols reads POP3 and SMTP replies."""
    if status:
        s = status.upper().strip()
        return s if s in ("OK", "NO", "BAD") else _wire_status(s) or s
    return _wire_status(text.strip())


def _wire_status(text: str) -> str | None:
    if smtp.is_reply(text):
        return smtp.status_of(text[:3])
    return pop3.status_of(text)


T = TypeVar("T")


class cached_property(Generic[T]):  # noqa: N801 - a drop-in for functools.cached_property
    """functools.cached_property without its lock: on Python 3.11 every first read takes an RLock (about a microsecond),
    and one diagnosis makes some 25 first reads. A Context lives in one diagnosis run, never shared between threads."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached_property[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)  # the instance's own attribute from now on
        return value


class Context:
    """One diagnosis run's view of the input. Cheap to build; every property is computed on first use.

    It carries the DiagnosisInput's own attributes (settings, evidence, token, lines, now, extra), so a rule
    written against DiagnosisInput (providers/explain.py's token_error_rule) runs unchanged."""

    def __init__(self, inp: DiagnosisInput) -> None:
        self.inp = inp
        self.settings: CheckSettings | None = inp.settings
        self.evidence: SessionEvidence = inp.evidence
        self.token: TokenEvidence | None = inp.token
        self.lines = inp.lines
        self.now = inp.now
        self.extra = inp.extra
        self.judged_at = inp.judged_at  # the time of the evidence: time-dependent rules judge at it, never at `now` for a log

    # -- settings and server ---------------------------------------------------------------------
    @cached_property
    def protocol(self) -> str:
        if self.settings is not None:
            return str(self.settings.protocol)
        return (self.evidence.protocol or "imap").lower()

    @cached_property
    def host(self) -> str:
        return (self.evidence.host or (self.settings.host if self.settings else "")).lower().rstrip(".")

    @cached_property
    def port(self) -> int:
        return self.evidence.port or (self.settings.port if self.settings else 0)

    @cached_property
    def server_family(self) -> str:
        """'exchange' | 'gmail' | 'dovecot' | 'postfix' | 'unknown': the session's verdict, else greeting or front end."""
        family = (self.evidence.server_family or "unknown").lower()
        if family != "unknown":
            return family
        if self.evidence.frontend_name:
            return "exchange"
        return server_family(self.evidence.greeting or "")

    @cached_property
    def capabilities(self) -> frozenset[str] | None:
        caps = self.evidence.capabilities
        return None if caps is None else frozenset(map(str.upper, caps))

    @cached_property
    def advertised_mechanisms(self) -> frozenset[str] | None:
        """SASL mechanisms from IMAP `AUTH=X`, POP3 `SASL X Y` or SMTP `AUTH X Y` capability entries."""
        caps = self.evidence.capabilities
        return None if caps is None else offered_mechanisms(caps)

    # -- the authentication attempt -----------------------------------------------------------------
    @cached_property
    def sasl(self) -> SaslExchange | None:
        return self.evidence.sasl[-1] if self.evidence.sasl else None

    @cached_property
    def mechanism_used(self) -> str | None:
        if self.evidence.mechanism:
            return self.evidence.mechanism.upper()
        if self.sasl is not None:
            return self.sasl.mechanism.upper()
        if self.evidence.login_used:
            return "LOGIN"
        return None

    @cached_property
    def password_mechanism_used(self) -> bool:
        return self.evidence.login_used or (self.mechanism_used or "") in PASSWORD_MECHANISMS

    @cached_property
    def password_mechanism_intended(self) -> bool:
        """Used on the wire, or chosen in the settings before the session got that far (a prediction)."""
        chosen = self.settings is not None and str(self.settings.mechanism) in ("plain", "login")
        return self.password_mechanism_used or (chosen and self.mechanism_used is None)

    @cached_property
    def reply(self) -> Reply:
        """The server's final answer to the credential (not the continuation)."""
        sasl = self.sasl
        if sasl is not None and sasl.result is not None:
            return Reply(_normalise_status(sasl.result, sasl.result_text), sasl.result_text, sasl.result_seq)
        if self.evidence.auth_result is not None:
            seq = sasl.result_seq if sasl else (self.evidence.auth_seq or self._login_seq)
            return Reply(_normalise_status(self.evidence.auth_result, self.evidence.auth_text), self.evidence.auth_text, seq)
        return Reply(None, "", None)

    @cached_property
    def _login_seq(self) -> int | None:
        for command in self.evidence.commands:
            if command.command.upper() in ("LOGIN", "AUTH", "PASS"):
                return command.seq
        return None

    @cached_property
    def answered(self) -> bool:
        return self.reply.status is not None

    @cached_property
    def auth_ok(self) -> bool:
        return self.reply.status == "OK"

    @cached_property
    def auth_refused(self) -> bool:
        return self.reply.status in ("NO", "BAD")

    @cached_property
    def command_seq(self) -> int | None:
        return self.sasl.command_seq if self.sasl else self._login_seq

    @cached_property
    def bearer_is_password(self) -> bool:
        """The client's OAuth payload carried a password where the access token belongs (a sasl defect says so)."""
        return self.sasl is not None and sasl_format.DEFECTS["bearer_is_password"] in self.sasl.defects

    @cached_property
    def local_endpoint(self) -> bool:
        """The client talks to this machine (an OAuth proxy such as email-oauth2-proxy or DavMail listens there)."""
        return self.host.startswith(LOCAL_HOSTS)  # the host itself, or one under its prefix

    @cached_property
    def mailbox_settings(self) -> dict[str, str]:
        """Mailbox settings an admin's `Get-CASMailbox` output pasted with the log states (`{"ImapEnabled": "False"}`)."""
        pairs = (item.partition("=") for item in self.evidence.log_facts.get("mailbox_settings", "").split())
        return {name: value for name, _, value in pairs if name}

    @cached_property
    def sasl_user(self) -> str | None:
        """The user the client put on the wire (SASL user=, GS2 a=), else what the settings/log say."""
        if self.sasl is not None:
            m = _SASL_USER_RE.search(self.sasl.client_payload)
            if m:
                return m.group(1)
        if self.settings is not None and self.settings.user:
            return self.settings.user
        return self.evidence.log_facts.get("user") or None

    @cached_property
    def gmail_challenge(self) -> dict[str, Any] | None:
        """The decoded JSON of an error continuation (Gmail XOAUTH2 / RFC 7628), when one arrived."""
        for exchange in reversed(self.evidence.sasl):
            if exchange.challenge_json:
                return exchange.challenge_json[-1]
        return None

    @cached_property
    def not_connected(self) -> CommandResult | None:
        for command in self.evidence.commands:
            if EXCHANGE_NOT_CONNECTED in command.text.lower():
                return command
        return None

    @cached_property
    def mailbox_reached(self) -> CommandResult | None:
        """The post-auth check that passed (IMAP EXAMINE, POP3 STAT, SMTP MAIL FROM + RCPT TO; an imported log's other
        mailbox commands), as mailscope.protocols defines it; None before it, when refused, or for a refused mailbox."""
        if not self.auth_ok or self.not_connected is not None:
            return None
        check = mailbox_check(self.evidence, partial=self.settings is None)
        return check.command if check.reached else None

    @cached_property
    def server_texts(self) -> list[tuple[str, int | None]]:
        """Every server answer the evidence holds (auth reply, command results, BYE), for signature matching (a dozen
        rules ask, one list per run)."""
        texts: list[tuple[str, int | None]] = []
        if self.reply.text:
            texts.append((self.reply.text, self.reply.seq))
        for exchange in self.evidence.sasl:
            if exchange.result_text and exchange is not self.sasl:
                texts.append((exchange.result_text, exchange.result_seq))
        texts += [(c.text, c.seq) for c in self.evidence.commands]
        if self.evidence.untagged_bye:
            texts.append((self.evidence.untagged_bye, self.evidence.bye_seq))
        if self.evidence.fault is not None:
            texts.append((self.evidence.fault.detail, self.evidence.fault.line_seq))
        return texts

    def find_server_text(self, signature: Signature) -> tuple[str, int | None] | None:
        """The first server text, else server line, the signature matches in."""
        searched = self._searchable_server_text
        wanted = signature.needles
        if searched is not None and wanted is not None:
            for needle in wanted:  # one to a few: a loop is cheaper than any(map(...))
                if needle in searched:
                    break
            else:
                return None  # the usual answer: no signature of this kind anywhere in the session (and nothing compiled)
        pattern = signature.regex
        for text, seq in self.server_texts:
            if pattern.search(text):
                return text, seq
        for text, seq in self.server_lines:
            if pattern.search(text):
                return text, seq
        return None

    @cached_property
    def _searchable_server_text(self) -> str | None:
        """Every server text and line in one lower-case string, for the signatures' needles; None when not all ASCII (there
        a case-insensitive pattern can match letters whose lower case is not ASCII, such as the Kelvin sign)."""
        window = self._signature_window  # its server lines' texts picked in C: a Python step per line cost ~9 bytecodes
        texts = list(compress(map(_TEXT, window), map(eq, map(_DIRECTION, window), repeat("server"))))
        texts += [text for text, _ in self.server_texts]
        joined = "\n".join(texts)
        return joined.lower() if joined.isascii() else None

    @cached_property
    def server_lines(self) -> tuple[tuple[str, int], ...]:
        """Server lines where signatures live: the session's start (greeting, capabilities, authentication) and its end.
        Bounded so a diagnosis stays cheap however long the session (it re-runs on every evidence change)."""
        return tuple((line.text, line.seq) for line in self._signature_window if line.direction == "server")

    @property
    def _signature_window(self) -> tuple[TranscriptLine, ...]:
        lines = self.lines
        return lines if len(lines) <= 2 * _LINE_WINDOW else (*lines[:_LINE_WINDOW], *lines[-_LINE_WINDOW:])

    @cached_property
    def capability_seq(self) -> int | None:
        """The transcript line that listed the capabilities used for the mechanism choice."""
        seq = None
        for text, line_seq in self.server_lines:
            upper = text.upper()
            if "CAPABILITY " in upper or upper.startswith(("250-AUTH", "250 AUTH", "SASL ")):
                seq = line_seq
        return seq

    # -- token ---------------------------------------------------------------------------------------
    @cached_property
    def claims(self) -> dict[str, Any]:
        return self.token.claims if self.token is not None and self.token.kind == "jwt" else {}

    @cached_property
    def has_token(self) -> bool:
        return self.token is not None and self.token.kind in ("jwt", "opaque")

    @cached_property
    def audiences(self) -> tuple[str, ...]:
        aud = self.claims.get("aud")
        return tuple(a.rstrip("/") for a in _split_scopes(aud)) if aud else ()

    @cached_property
    def app_only(self) -> bool:
        if self.claims.get("idtyp") == "app":
            return True
        if self.claims and "scp" not in self.claims and "roles" in self.claims and not self.token_user:
            return True
        flow = (self.token.flow if self.token else "") or (self.settings.flow if self.settings else "")
        return flow in ("client_credentials", "client_certificate")

    @cached_property
    def scp(self) -> tuple[str, ...]:
        return _split_scopes(self.claims.get("scp"))

    @cached_property
    def roles(self) -> tuple[str, ...]:
        return _split_scopes(self.claims.get("roles"))

    @cached_property
    def granted_scopes(self) -> tuple[str, ...] | None:
        """What the token endpoint said it granted (opaque tokens: the only scope evidence)."""
        return self.token.granted_scopes if self.token is not None else None

    @cached_property
    def token_user(self) -> str | None:
        if self.token_user_claim != "account":
            return self.claims[self.token_user_claim]
        return self.token.account if self.token is not None and self.token.account else None

    @cached_property
    def token_user_claim(self) -> str:
        """The claim naming the user (first of upn, unique_name, preferred_username, email), else "account"."""
        return next((name for name in _USER_CLAIMS if isinstance(self.claims.get(name), str) and self.claims[name]), "account")

    @cached_property
    def validity(self) -> timing.Validity:
        return timing.validity(self.token, self.judged_at)

    @property
    def seconds_left(self) -> float | None:
        """exp minus the time the token was used (negative: expired then); None when that time cannot tell."""
        return self.validity.seconds_left

    @cached_property
    def token_failed(self) -> bool:
        return (self.token is not None and bool(self.token.error)) or bool(self.evidence.token_endpoint_errors) or (
            self.evidence.fault is not None and self.evidence.fault.kind is FaultKind.TOKEN_ACQUISITION)

    @cached_property
    def requested_scopes(self) -> tuple[str, ...]:
        if self.token is not None and self.token.requested_scopes:
            return self.token.requested_scopes
        return self.settings.scopes if self.settings is not None else ()

    @cached_property
    def flow(self) -> str:
        return (self.token.flow if self.token and self.token.flow else "") or (self.settings.flow if self.settings else "")

    # -- evidence references ---------------------------------------------------------------------------
    def line_ref(self, label: str, seq: int | None, value: str = "") -> tuple[EvidenceRef, ...]:
        return (EvidenceRef(EvidenceKind.LINE, label, value, seq),) if seq is not None or value else ()

    def reply_ref(self) -> tuple[EvidenceRef, ...]:
        return self.line_ref("server reply", self.reply.seq, self.reply.text)

    def command_ref(self) -> tuple[EvidenceRef, ...]:
        mech = self.mechanism_used or "credential"
        return self.line_ref(f"client {mech}", self.command_seq, self.sasl.client_payload if self.sasl else "")

    def claim_ref(self, name: str, value: Any = None) -> EvidenceRef:
        shown = self.claims.get(name) if value is None else value
        if isinstance(shown, list | tuple):
            shown = " ".join(str(v) for v in shown)
        return EvidenceRef(EvidenceKind.CLAIM, name, "" if shown is None else str(shown))

    def setting_ref(self, name: str, value: Any) -> EvidenceRef:
        if isinstance(value, tuple | list):
            value = " ".join(str(v) for v in value)
        return EvidenceRef(EvidenceKind.SETTING, name, str(value))

    def caps_ref(self) -> EvidenceRef:
        return EvidenceRef(EvidenceKind.CAPABILITY, "capabilities", " ".join(self.evidence.capabilities or ()), self.capability_seq)

    def scope_ref(self) -> EvidenceRef:
        if self.scp:
            return self.claim_ref("scp")
        if self.roles:
            return self.claim_ref("roles")
        if self.granted_scopes is not None:
            return EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "scope", " ".join(self.granted_scopes))
        return EvidenceRef(EvidenceKind.SETTING, "scopes", " ".join(self.requested_scopes))


def not_accepted(ctx: Context) -> bool:
    """The server has not accepted the credential (refused it, or not answered yet): what the refusal rules declare they need
    (`rule.applies_if`), so a healthy session enters none of them."""
    return not ctx.auth_ok


def same_user(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().lower() == b.strip().lower()  # type: ignore[union-attr]
