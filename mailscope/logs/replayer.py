"""Replay an imported session into a `SessionRecord`: the same lines, evidence and outcome a live session
produces, so the same diagnosis runs. Every text passes the record's redactor (add_line, update_evidence);
what update_evidence cannot see into (log_facts' values, lists changed in place) is redacted here."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable

from mailscope.events import Channel, Direction
from mailscope.evidence import CommandResult, Fault, FaultKind, Outcome, OutcomeKind, SaslExchange, TokenEvidence
from mailscope.logs.detect import parser_class
from mailscope.logs.evidence_time import clock_reading, of_session
from mailscope.logs.model import ImportedSession, LogItem
from mailscope.logs.tokens import leaked_tokens
from mailscope.record import SessionRecord
from mailscope.secret import Secret

TokenInspector = Callable[[Secret], TokenEvidence]

_TAGGED = re.compile(r"^(?P<tag>[A-Za-z0-9.]+) (?P<status>OK|NO|BAD)\b ?(?P<text>.*)$", re.IGNORECASE)
_COMMAND = re.compile(r"^(?P<tag>[A-Za-z0-9.]+) (?P<command>[A-Za-z]+)(?: (?P<args>.*))?$")
_CAPS_CODE = re.compile(r"\[CAPABILITY (?P<caps>[^\]]*)\]", re.IGNORECASE)
_BRACKET_B64 = re.compile(r"\[([A-Za-z0-9+/]{8,}={0,2})\]")
_FAULTS = (
    (re.compile(r"UnknownHost|Name or service not known|getaddrinfo|nodename nor servname|Could not resolve host", re.I), FaultKind.DNS),
    (re.compile(r"Connection refused|ConnectException", re.I), FaultKind.REFUSED),
    (re.compile(r"timed out|SocketTimeout|Timeout", re.I), FaultKind.CONNECT_TIMEOUT),
    (re.compile(r"PKIX path|certificate verify failed|SSLHandshakeException|unable to find valid cert", re.I), FaultKind.TLS_VERIFY),
)  # fmt: skip
NOT_CONNECTED = "User is authenticated but not connected"
_GREETING_SHAPE = re.compile(r"^(?:\* (?:OK|PREAUTH|BYE)\b|\+OK\b|220[ -])", re.IGNORECASE)
_AUTH_RESULT = re.compile(r"^(?:OK|NO|BAD) (?:\[AUTHENTICATIONFAILED\]|(?:AUTHENTICATE|LOGIN) (?:completed|failed))", re.IGNORECASE)


def server_family(greeting: str) -> str:
    lowered = greeting.lower()
    for needle, family in (("microsoft exchange", "exchange"), ("outlook.office365.com", "exchange"), ("gimap", "gmail"),
                           ("gsmtp", "gmail"), ("mx.google.com", "gmail"), ("dovecot", "dovecot")):  # fmt: skip
        if needle in lowered:
            return family
    if re.search(r"microsoft esmtp|outlook\.com", lowered):
        return "exchange"
    return "unknown"


def frontend_name(greeting: str) -> str | None:
    """Exchange's greeting carries its front-end FQDN as base64 UTF-16LE in brackets."""
    for candidate in _BRACKET_B64.findall(greeting):
        try:
            name = base64.b64decode(candidate, validate=True).decode("utf-16-le")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if name and all(ch.isalnum() or ch in ".-_" for ch in name):
            return name
    return None


def _caps_with_mechanisms(lines: list[str], keyword: str) -> tuple[str, ...]:
    """Capability names from POP3 CAPA or SMTP EHLO lines; the mechanisms after `keyword` (SASL, AUTH) become
    AUTH=<name>, as IMAP lists them."""
    caps: list[str] = []
    for line in lines:
        words = line.split()
        if not words:
            continue
        caps.append(words[0].upper())
        if words[0].upper() == keyword:
            caps.extend(f"AUTH={m.upper()}" for m in words[1:])
    return tuple(caps)


class _Replayer:
    def __init__(self, session: ImportedSession, record: SessionRecord) -> None:
        self.session = session
        self.record = record
        self.redact = record.redactor.redact
        self.ev = record.evidence
        self.tls_done = False
        self.client_spoke = False  # a server line after this is no greeting (logs that begin mid-session)
        self.delivery: str | None = None  # Postfix: the message was "sent"/"deferred"/"bounced" through this connection
        self.pending_auth: dict[str, SaslExchange] = {}  # tag ("" for POP3/SMTP) -> exchange
        self.pending_login: str | None = None
        self.pending_commands: dict[str, tuple[str, int]] = {}
        self.in_pop_capa = False
        self.pop_caps: list[str] = []
        self.smtp_caps: list[str] = []
        self.smtp_reply: list[str] = []  # continuation lines (`535-...`) of a multi-line answer to AUTH
        self.awaiting_sasl_response: SaslExchange | None = None
        self.auth_verdict: str | None = None  # JavaMail SMTP: "succeeded"/"failed" when the reply itself is hidden
        self._raw_facts: dict[str, str] = {}  # log facts as last seen, before redaction (to skip repeats)
        self._t0: float | None = None  # the session's first timestamp, epoch seconds
        self._t = 0.0

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> Outcome:
        if self.session.first_time or self.session.first_line is not None:
            where = f"{self.session.position_unit} {self.session.first_line}" if self.session.first_line is not None else ""
            origin = f"imported from a {self.session.format} log {where} {self.session.first_time or ''}"
            self._note(origin.rstrip(), self.session.first_time)
        software = parser_class(self.session.format).client_software
        if software and not self.ev.client_software:
            self.record.update_evidence(client_software=software)
        for item in self.session.items:
            handler = getattr(self, f"_on_{item.kind.value}")
            handler(item)
        if self.session.dropped_items:
            self._note(f"{self.session.dropped_items} further log lines of this session were not kept (cap per session)", None)
        return self.outcome()

    # -- lines -----------------------------------------------------------------------------
    def _note(self, text: str, wall_time: str | None, annotations: tuple[str, ...] = ()) -> None:
        """A line the log carried besides the wire (JavaMail debug, an exception, a proxy event)."""
        self.record.add_line(Direction.INFO, text, channel=Channel.LOG, wall_time=wall_time, nbytes=0, annotations=annotations,
                             t=self._elapsed(wall_time))  # fmt: skip

    def _elapsed(self, wall_time: str | None) -> float:
        """Seconds since the session's first timestamp (a transcript's `t`); the last known value when a line has none."""
        moment = clock_reading(wall_time)
        if moment is not None:
            if self._t0 is None:
                self._t0 = moment
            self._t = max(0.0, moment - self._t0)
        return self._t

    # -- item kinds ------------------------------------------------------------------------
    def _on_connect(self, item: LogItem) -> None:
        self._facts(item.facts)
        self._note(item.text or "connect", item.wall_time)

    def _on_fact(self, item: LogItem) -> None:
        self._facts(item.facts)
        self._note(item.text, item.wall_time)

    _on_note = _on_fact

    def _on_close(self, item: LogItem) -> None:
        self._note(item.text or "connection closed", item.wall_time)

    def _on_exception(self, item: LogItem) -> None:
        self._facts(item.facts)
        text = self.redact(item.text)
        if text in self.ev.exceptions:  # "Caused by:" chains and retries repeat the same exception
            return
        self.ev.exceptions.append(text)
        self._note(text, item.wall_time, ("exception",))
        self.record.evidence_touched("exceptions")

    def _on_token_error(self, item: LogItem) -> None:
        text = self.redact(item.text)
        if text in self.ev.token_endpoint_errors:
            return
        self.ev.token_endpoint_errors.append(text)
        self._note(text, item.wall_time, ("token endpoint",))
        self.record.evidence_touched("token_endpoint_errors")

    def _on_wire(self, item: LogItem) -> None:
        if item.channel.value != self.ev.protocol and item.channel in (Channel.IMAP, Channel.POP3, Channel.SMTP):
            self.record.update_evidence(protocol=item.channel.value)
        line = self.record.add_line(item.direction or Direction.INFO, item.text, channel=item.channel, wall_time=item.wall_time,
                                    annotations=item.annotations, t=self._elapsed(item.wall_time))  # fmt: skip
        if item.direction is Direction.SERVER:
            self._server(item.channel, item.text, line.seq)
        elif item.direction is Direction.CLIENT:
            self._client(item.channel, item.text, line.seq)

    # -- facts -----------------------------------------------------------------------------
    def _facts(self, facts: dict[str, str]) -> None:
        """Evidence from what the log says besides the wire; only real changes are announced."""
        if not facts:
            return
        changes: dict[str, object] = {}
        if facts.get("host") and not self.ev.host:
            changes["host"] = facts["host"]
        if facts.get("port", "").isdigit() and not self.ev.port:
            changes["port"] = int(facts["port"])
        if facts.get("security") and facts["security"] != self.ev.security:
            changes["security"] = facts["security"]
        if facts.get("protocol") in ("imap", "pop3", "smtp") and facts["protocol"] != self.ev.protocol:
            changes["protocol"] = facts["protocol"]
        if facts.get("client_software") and facts["client_software"] != self.ev.client_software:
            changes["client_software"] = facts["client_software"]
        log_facts = dict(self.ev.log_facts)
        for key in ("user", "password", "log_protocol", "mechanisms_tried", "mechanism_chosen"):
            if facts.get(key) and facts[key] != self._raw_facts.get(key):
                self._raw_facts[key] = facts[key]
                log_facts[key] = self.redact(facts[key])
        if facts.get("delivery"):
            self.delivery = facts["delivery"]
        if facts.get("auth_verdict"):
            self.auth_verdict = facts["auth_verdict"]
            if self.auth_verdict == "succeeded":  # a failure waits: the exception that follows quotes the reply
                self._resolve_by_verdict()
        if facts.get("mechanism_advertised"):  # one name, or several separated by spaces
            known = log_facts.get("mechanisms_advertised", "").split()
            new = [self.redact(m) for m in facts["mechanism_advertised"].split() if m not in known]
            if new:
                log_facts["mechanisms_advertised"] = " ".join([*known, *new])
        if log_facts != self.ev.log_facts:
            changes["log_facts"] = log_facts
        if changes:
            self.record.update_evidence(**changes)

    # -- server lines ----------------------------------------------------------------------
    def _server(self, channel: Channel, text: str, seq: int) -> None:
        if self.ev.greeting is None and not self.client_spoke and _GREETING_SHAPE.match(text):
            self._greeting(text, seq)
            return
        if channel is Channel.POP3:
            self._pop_server(text, seq)
        elif channel is Channel.SMTP:
            self._smtp_server(text, seq)
        else:
            self._imap_server(text, seq)

    def _greeting(self, text: str, seq: int) -> None:
        family = server_family(text)
        changes: dict[str, object] = {"greeting": text, "greeting_seq": seq, "server_family": family}
        if family == "exchange":
            changes["frontend_name"] = frontend_name(text)
        caps = _CAPS_CODE.search(text)
        if caps:
            changes[self._caps_field()] = tuple(caps.group("caps").split())
        if text.upper().startswith("* BYE"):
            changes |= {"untagged_bye": text, "bye_seq": seq}
        self.record.update_evidence(**changes)

    def _caps_field(self) -> str:
        if self.ev.auth_result == "OK":
            return "capabilities_post_auth"
        if self.tls_done or self.ev.security == "tls":
            return "capabilities_post_tls"
        return "capabilities_pre_tls"

    def _imap_server(self, text: str, seq: int) -> None:
        upper = text.upper()
        if upper.startswith("* CAPABILITY "):
            self.record.update_evidence(**{self._caps_field(): tuple(text.split()[2:])})
            return
        if upper.startswith("* BYE"):
            self.record.update_evidence(untagged_bye=text, bye_seq=seq)
            return
        if text.startswith("+"):
            self._challenge(text[1:].strip(), seq)
            return
        tagged = _TAGGED.match(text)
        if not tagged:
            return
        tag, status, rest = tagged.group("tag"), tagged.group("status").upper(), tagged.group("text")
        caps = _CAPS_CODE.search(rest)
        if tag in self.pending_auth:
            exchange = self.pending_auth.pop(tag)
            self._auth_result(exchange, status, f"{status} {rest}".strip(), seq)
            if caps:
                self.record.update_evidence(capabilities_post_auth=tuple(caps.group("caps").split()))
            return
        if tag == self.pending_login:
            self.pending_login = None
            self.record.update_evidence(auth_result=status, auth_text=f"{status} {rest}".strip())
            return
        if tag not in self.pending_commands and self.ev.auth_result is None and _AUTH_RESULT.match(f"{status} {rest}"):
            # the command itself was not logged (Thunderbird suppresses it): its answer still says what happened
            self.record.update_evidence(auth_result=status, auth_text=f"{status} {rest}".strip())
            return
        command, _ = self.pending_commands.pop(tag, ("", 0))
        if command == "STARTTLS" and status == "OK":
            self.tls_done = True
            self.record.update_evidence(security="starttls")
        if caps:
            self.record.update_evidence(**{self._caps_field(): tuple(caps.group("caps").split())})
        self.ev.commands.append(CommandResult(command or "?", status, self.redact(f"{status} {rest}".strip()), seq))
        self.record.evidence_touched("commands")

    def _challenge(self, payload: str, seq: int) -> None:
        exchange = next(reversed(self.pending_auth.values()), None)
        if exchange is None:
            return
        self.awaiting_sasl_response = exchange
        if not payload:
            return
        try:
            decoded = base64.b64decode(payload, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            decoded = payload
        exchange.challenges.append(self.redact(decoded))
        try:
            parsed = json.loads(decoded)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            exchange.challenge_json.append({k: self.redact(v) if isinstance(v, str) else v for k, v in parsed.items()})
        self.record.evidence_touched("sasl")

    def _resolve_by_verdict(self) -> None:
        if self.ev.auth_result is None and self.auth_verdict and "" in self.pending_auth:
            status = "OK" if self.auth_verdict == "succeeded" else "NO"
            text = f"{status} (the log says AUTH {self.auth_verdict}; the server's reply was not logged)"
            self._auth_result(self.pending_auth.pop(""), status, text, None)

    def _auth_result(self, exchange: SaslExchange, status: str, text: str, seq: int | None) -> None:
        exchange.result, exchange.result_text, exchange.result_seq = status, self.redact(text), seq
        self.awaiting_sasl_response = None
        self.record.update_evidence(auth_result=status, auth_text=text)
        self.record.evidence_touched("sasl")

    def _pop_server(self, text: str, seq: int) -> None:
        if self.in_pop_capa and text.startswith(("+OK", "-ERR")):  # the "." was not logged
            self._end_pop_capa()
        if self.in_pop_capa:
            if text == ".":
                self._end_pop_capa()
            else:
                self.pop_caps.append(text)
            return
        if text.startswith("+ ") or text == "+":
            self._challenge(text[1:].strip(), seq)
            return
        status = "OK" if text.startswith("+OK") else "NO" if text.startswith("-ERR") else None
        if status is None:
            return
        if "" in self.pending_auth:
            self._auth_result(self.pending_auth.pop(""), status, text, seq)
        elif self.pending_login == "PASS":
            self.pending_login = None
            self.record.update_evidence(auth_result=status, auth_text=text)
        elif self.pending_login == "CAPA" and status == "OK":
            self.pending_login = None
            self.in_pop_capa, self.pop_caps = True, []
        elif self.pending_login == "STLS" and status == "OK":
            self.pending_login = None
            self.tls_done = True
            self.record.update_evidence(security="starttls")

    def _end_pop_capa(self) -> None:
        self.in_pop_capa = False
        self.record.update_evidence(**{self._caps_field(): _caps_with_mechanisms(self.pop_caps, "SASL")})

    def _smtp_server(self, text: str, seq: int) -> None:
        code, more, rest = text[:3], text[3:4] == "-", text[4:]
        if code == "250" and (self.smtp_caps or more):
            self.smtp_caps.append(rest)
            if not more:
                caps = _caps_with_mechanisms(self.smtp_caps[1:], "AUTH")  # the first line is the greeting's echo
                self.smtp_caps = []
                self.record.update_evidence(**{self._caps_field(): caps})
            return
        if code == "334":
            self._challenge(rest.strip(), seq)
            return
        if code == "220" and self.pending_login == "STARTTLS":
            self.pending_login = None
            self.tls_done = True
            self.record.update_evidence(security="starttls")
            return
        if "" in self.pending_auth and more:
            self.smtp_reply.append(rest.strip())
        elif "" in self.pending_auth:
            status = "OK" if code.startswith("2") else "NO"
            full = f"{code} " + " ".join([*self.smtp_reply, rest.strip()]) if self.smtp_reply else text
            self.smtp_reply = []
            self._auth_result(self.pending_auth.pop(""), status, full, seq)
        elif code.startswith(("5", "4")) and not more and self.ev.auth_result is None and code in ("530", "550", "554"):
            self.ev.commands.append(CommandResult("SMTP", "NO", self.redact(text), seq))
            self.record.evidence_touched("commands")

    # -- client lines ----------------------------------------------------------------------
    def _client(self, channel: Channel, text: str, seq: int) -> None:
        self.client_spoke = True
        if self.in_pop_capa:  # the client spoke again: the capability list is over even if its "." was not logged
            self._end_pop_capa()
        if self.awaiting_sasl_response is not None:
            exchange = self.awaiting_sasl_response
            self.awaiting_sasl_response = None
            if text.strip() and not _COMMAND.match(text) and " " not in text.strip():
                if not exchange.client_payload:
                    exchange.client_payload = self.record.redactor.describe_sasl(text.strip(), exchange.mechanism)
                self.record.evidence_touched("sasl")
                return
            if not text.strip():
                return
        if channel is Channel.IMAP:
            match = _COMMAND.match(text)
            if not match:
                return
            tag, command, args = match.group("tag"), match.group("command").upper(), (match.group("args") or "").strip()
            if command == "AUTHENTICATE":
                mechanism, _, initial = args.partition(" ")
                self._start_auth(tag, mechanism, initial.strip(), seq)
            elif command == "LOGIN":
                self.pending_login = tag
                self.record.update_evidence(login_used=True, mechanism="LOGIN", mechanism_reason="the log shows the IMAP LOGIN command")
            else:
                self.pending_commands[tag] = (command, seq)
            return
        words = text.split(" ", 2)
        verb = words[0].upper()
        if verb == "AUTH" and len(words) > 1:
            self._start_auth("", words[1], words[2].strip() if len(words) > 2 else "", seq)
        elif channel is Channel.POP3 and verb in ("USER", "PASS"):
            if verb == "PASS":
                self.pending_login = "PASS"
            self.record.update_evidence(login_used=True, mechanism="USER/PASS", mechanism_reason="the log shows POP3 USER/PASS")
        elif verb in ("CAPA", "STLS", "STARTTLS"):
            self.pending_login = verb
        elif verb in ("EHLO", "HELO"):
            self.smtp_caps = []

    def _start_auth(self, tag: str, mechanism: str, initial: str, seq: int) -> None:
        mechanism = mechanism.upper()
        exchange = SaslExchange(mechanism=mechanism, sasl_ir=bool(initial), command_seq=seq)
        if initial and initial != "=":
            exchange.client_payload = self.record.redactor.describe_sasl(initial, mechanism)
        self.pending_auth[tag] = exchange
        self.ev.sasl.append(exchange)
        self.record.update_evidence(mechanism=mechanism, mechanism_reason="the log shows the client's AUTHENTICATE command")

    # -- outcome ---------------------------------------------------------------------------
    def outcome(self) -> Outcome:
        ev = self.ev
        self._resolve_by_verdict()
        fault = self._fault()
        if ev.auth_result == "OK":
            refused = next((c for c in ev.commands if c.result in ("NO", "BAD") and NOT_CONNECTED.lower() in c.text.lower()), None)
            if refused is not None:
                return Outcome(OutcomeKind.AUTHENTICATED_NOT_CONNECTED, f"authenticated, then the mailbox was refused: {refused.text}")
            return Outcome(OutcomeKind.MAILBOX_REACHABLE, "authenticated" + (" and the mailbox answered" if ev.commands else ""))
        if ev.auth_result in ("NO", "BAD"):
            return Outcome(OutcomeKind.AUTH_FAILED, f"authentication refused: {ev.auth_text}")
        if fault is not None:
            self.record.update_evidence(fault=fault)
            return Outcome(OutcomeKind.FAULT, fault.detail)
        auth_exception = next((e for e in ev.exceptions if "Authentication" in e or "AUTHENTICATE" in e), None)
        if auth_exception:
            return Outcome(OutcomeKind.AUTH_FAILED, auth_exception)
        if ev.token_endpoint_errors:
            return Outcome(OutcomeKind.TOKEN_FAILED, ev.token_endpoint_errors[0])
        if self.delivery == "sent":
            return Outcome(OutcomeKind.MAILBOX_REACHABLE, "the message was delivered through this server (status=sent)")
        if ev.untagged_bye:
            return Outcome(OutcomeKind.FAULT, f"the server closed the connection: {ev.untagged_bye}")
        reason = "the log ends" if self.session.truncated else "the session ends"
        return Outcome(OutcomeKind.INCOMPLETE, f"{reason} before any authentication result")

    def _fault(self) -> Fault | None:
        for exception in self.ev.exceptions:
            for pattern, kind in _FAULTS:
                if pattern.search(exception):
                    return Fault(kind, exception, step="connect")
        return None


def replay(session: ImportedSession, record: SessionRecord, *, inspect_token: TokenInspector | None = None) -> Outcome:
    """Feed `session` into `record` as a live session would, then finish it. Returns the outcome.

    Tokens the log leaked are registered with the record's redactor first. With `inspect_token` (the UI layer passes
    `providers.inspect.inspect_token`; the engine does not import providers) the last of them becomes the record's
    token evidence, so its claims take part in the diagnosis. The record is judged at the time of the session's evidence
    (`mailscope.logs.evidence_time`), never at today's clock."""
    tokens = leaked_tokens(session)
    for secret in tokens:
        record.redactor.register(secret)
    token = inspect_token(tokens[-1]) if tokens and inspect_token is not None else None
    record.set_evidence_time(of_session(session, token, today=record.now()))  # judged as of then, from the first line on
    outcome = _Replayer(session, record).run()
    if token is not None:
        record.set_token(token)
    record.finish(outcome)
    return record.outcome or outcome
