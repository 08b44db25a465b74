"""Replay an imported session into a `SessionRecord`: the same lines, evidence and outcome a live session
produces, so the same diagnosis runs. Wire lines go through the protocol's Conversation (mailscope.protocols, in
its `partial` reading: a log may start mid-session and drop lines), exactly as the live probe's wire tap feeds it;
what stays here are the facts only a log carries (host and user from the client's own words, exceptions,
token-endpoint errors, JavaMail's AUTH verdict, Postfix's delivery status) and the outcome they imply when the wire
shows no answer. Every text passes the record's redactor; what update_evidence cannot see into (log_facts' values,
lists changed in place) is redacted here."""

from __future__ import annotations

import re
from collections.abc import Callable

from mailscope.events import Channel, Direction
from mailscope.evidence import Fault, FaultKind, Outcome, OutcomeKind, TokenEvidence
from mailscope.logs.common import NO_MECHANISM
from mailscope.logs.detect import parser_class
from mailscope.logs.evidence_time import clock_reading, of_session
from mailscope.logs.model import ImportedSession, LogItem
from mailscope.logs.tokens import leaked_tokens
from mailscope.protocols import conversation_for, decide_outcome
from mailscope.record import SessionRecord
from mailscope.secret import Secret
from mailscope.transcript import Transcript

TokenInspector = Callable[[Secret], TokenEvidence]

_FAULTS = (
    (re.compile(r"UnknownHost|Name or service not known|getaddrinfo|nodename nor servname|Could not resolve host", re.I), FaultKind.DNS),
    (re.compile(r"Connection refused|ConnectException", re.I), FaultKind.REFUSED),
    (re.compile(r"timed out|SocketTimeout|Timeout", re.I), FaultKind.CONNECT_TIMEOUT),
    (re.compile(r"PKIX path|certificate verify failed|SSLHandshakeException|unable to find valid cert", re.I), FaultKind.TLS_VERIFY),
    (NO_MECHANISM, FaultKind.NO_USABLE_MECHANISM),  # the client gave up before signing in, as the live probe does
)  # fmt: skip
_WIRE_CHANNELS = (Channel.IMAP, Channel.POP3, Channel.SMTP)


class _Replayer:
    def __init__(self, session: ImportedSession, record: SessionRecord) -> None:
        self.session = session
        self.record = record
        self.redact = record.redactor.redact
        self.ev = record.evidence
        self.transcripts: dict[Channel, Transcript] = {}  # one conversation per protocol the log shows (normally one)
        self.delivery: str | None = None  # Postfix: the message was "sent"/"deferred"/"bounced" through this connection
        self.auth_verdict: str | None = None  # JavaMail SMTP: "succeeded"/"failed" when the reply itself is hidden
        self._raw_facts: dict[str, str] = {}  # log facts as last seen, before redaction (to skip repeats)
        self._t0: float | None = None  # the session's first timestamp, epoch seconds
        self._t = 0.0
        self._server_said: set[str] = set()  # server lines of the wire (a few), so a quoted answer is not shown twice

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> Outcome:
        if self.session.first_time or self.session.first_line is not None:
            where = f"{self.session.position_unit} {self.session.first_line}" if self.session.first_line is not None else ""
            origin = f"imported from a {self.session.format} log {where} {self.session.first_time or ''}"
            self._note(origin.rstrip(), self.session.first_time)
        software = parser_class(self.session.format).client_software
        if software and not self.ev.client_software:
            self.record.update_evidence(client_software=software)
        dropped = self.session.dropped_items
        for index, item in enumerate(self.session.items):
            if dropped and index == self.session.dropped_at:
                self._note(f"{dropped} log lines of this session were not kept here (cap per session: its first and latest are)", None)
            handler = getattr(self, f"_on_{item.kind.value}")
            handler(item)
        for transcript in self.transcripts.values():  # the log ends: a reply cut short still says what it says
            fed = transcript.conversation.close()
            if fed is not None:
                transcript.apply(fed)
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
        if item.facts.get("quoted_reply"):
            self._quoted_reply(item)
        self.ev.exceptions.append(text)
        self._note(text, item.wall_time, ("exception",))
        self.record.evidence_touched("exceptions")

    def _quoted_reply(self, item: LogItem) -> None:
        """The server's answer a client library's exception quotes, rebuilt as the wire line it was (as JavaMail's own
        rebuilt lines are): IMAP's tagless `NO …`, POP3's `-ERR …`, SMTP's reply with its code, a decoded error challenge
        as its continuation. Not when the log already showed that answer on the wire."""
        facts = item.facts
        protocol = facts.get("quoted_protocol") or self.ev.protocol or "imap"
        reply = facts["quoted_reply"]
        if not facts.get("quoted_protocol") and not reply.startswith(("+ ", "* ")):  # JavaMail quotes the answer's text only
            reply = {"imap": f"NO {reply}", "pop3": f"-ERR {reply}"}.get(protocol, reply)
        if protocol == "smtp" and reply.startswith("+ "):
            reply = f"334 {reply[2:]}"
        answered = facts.get("quoted_answers") == "credential" and self.ev.auth_result is not None
        if answered or reply in self._server_said:
            return
        if protocol != self.ev.protocol:
            self.record.update_evidence(protocol=protocol)
        transcript = self._transcript(Channel(protocol))
        rebuilt = ("rebuilt from the exception message",)
        if facts.get("quoted_command"):
            transcript.line(Direction.CLIENT, facts["quoted_command"], annotations=rebuilt, wall_time=item.wall_time,
                            t=self._elapsed(item.wall_time))  # fmt: skip
        transcript.line(Direction.SERVER, reply, annotations=rebuilt, wall_time=item.wall_time, t=self._elapsed(item.wall_time))

    def _on_token_error(self, item: LogItem) -> None:
        text = self.redact(item.text)
        if text in self.ev.token_endpoint_errors:
            return
        self.ev.token_endpoint_errors.append(text)
        self._note(text, item.wall_time, ("token endpoint",))
        self.record.evidence_touched("token_endpoint_errors")

    def _on_wire(self, item: LogItem) -> None:
        if item.direction is None or item.channel not in _WIRE_CHANNELS:
            self.record.add_line(item.direction or Direction.INFO, item.text, channel=item.channel, wall_time=item.wall_time,
                                 annotations=item.annotations, t=self._elapsed(item.wall_time))  # fmt: skip
            return
        if item.channel.value != self.ev.protocol:
            self.record.update_evidence(protocol=item.channel.value)
        if item.direction is Direction.SERVER and len(self._server_said) < 64:
            self._server_said.add(item.text)  # what an exception may quote again
        self._transcript(item.channel).line(item.direction, item.text, annotations=item.annotations, wall_time=item.wall_time,
                                            t=self._elapsed(item.wall_time))  # fmt: skip

    def _transcript(self, channel: Channel) -> Transcript:
        if channel not in self.transcripts:
            self.transcripts[channel] = Transcript(self.record, conversation_for(channel.value, self.record.redactor, partial=True))
        return self.transcripts[channel]

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
        for key in ("user", "password", "log_protocol", "mechanisms_tried", "mechanism_chosen", "mechanism_configured"):
            if facts.get(key) and facts[key] != self._raw_facts.get(key):
                self._raw_facts[key] = facts[key]
                log_facts[key] = self.redact(facts[key])
        if facts.get("delivery"):
            self.delivery = facts["delivery"]
        if facts.get("auth_verdict"):
            self.auth_verdict = facts["auth_verdict"]
            if self.auth_verdict == "succeeded":  # a failure waits: the exception that follows quotes the reply
                self._resolve_by_verdict()
        if facts.get("mailbox_setting"):  # the admin's Get-CASMailbox output pasted with the log: `ImapEnabled=False`
            name = facts["mailbox_setting"].partition("=")[0]
            kept = [s for s in log_facts.get("mailbox_settings", "").split() if not s.startswith(f"{name}=")]
            log_facts["mailbox_settings"] = " ".join([*kept, self.redact(facts["mailbox_setting"])])
        if facts.get("mechanism_advertised"):  # one name, or several separated by spaces
            known = log_facts.get("mechanisms_advertised", "").split()
            new = [self.redact(m) for m in facts["mechanism_advertised"].split() if m not in known]
            if new:
                log_facts["mechanisms_advertised"] = " ".join([*known, *new])
        if log_facts != self.ev.log_facts:
            changes["log_facts"] = log_facts
        if changes:
            self.record.update_evidence(**changes)

    def _resolve_by_verdict(self) -> None:
        """JavaMail hides the server's reply to AUTH but says whether it succeeded."""
        if self.ev.auth_result is not None or not self.auth_verdict:
            return
        status = "OK" if self.auth_verdict == "succeeded" else "NO"
        text = f"{status} (the log says AUTH {self.auth_verdict}; the server's reply was not logged)"
        for transcript in self.transcripts.values():
            fed = transcript.conversation.conclude_auth(status, text)
            if fed is not None:
                transcript.apply(fed)
                return

    # -- outcome ---------------------------------------------------------------------------
    def outcome(self) -> Outcome:
        """The wire's outcome (mailscope.protocols) when the log shows an answer to the credential; otherwise what
        only a log can tell: an exception, a token-endpoint error, a delivery, an end without any answer."""
        ev = self.ev
        self._resolve_by_verdict()
        if ev.auth_result is not None:
            return decide_outcome(ev, partial=True)
        fault = self._fault()
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
