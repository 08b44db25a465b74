"""Postfix as an SMTP client relaying through Microsoft 365 or Gmail, usually with the sasl-xoauth2 plugin
(syslog / journal lines). Postfix logs no transcript, only milestones of each delivery process
(`postfix/smtp[PID]`, the stream key):

    ... Trusted TLS connection established to smtp.office365.com[52.96.90.34]:587: TLSv1.2 ...
    ... xsasl_cyrus_client_first: uncoded initial reply: user=a@b\\001auth=Bearer eyJ...    (debug_peer_list: the token!)
    ... 9BDCBA19EA: SASL authentication failed; server smtp.office365.com[40.99.150.50] said: 535 5.7.3 ...
    ... SASL authentication failed; cannot authenticate to server smtp.gmail.com[...]: generic failure
    ... 9BDCBA19EA: to=<x@y>, relay=smtp.office365.com[52.96.90.34]:587, ..., status=sent (250 2.0.0 OK ...)
    ... sasl-xoauth2: ... TokenStore::Refresh: http error: ...

Those become a connect, the SASL command (rebuilt, annotated as such), the server's refusal and notes. With `-v` (or
debug_peer_list) Postfix also logs the dialogue itself (src/smtp/smtp_chat.c: `smtp_chat_cmd` `> %s: %s`,
`smtp_chat_resp` `< %s: %.*s`, the first `%s` being `host[addr]:port`): those are the wire, and the refusal line that
follows repeats the reply already seen.
"""

from __future__ import annotations

import base64
import re

from mailscope.events import Channel, Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import StreamState, channel_for
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy

_POSTFIX = lazy(r"^(?:\S+ )?postfix(?:-[\w]+)?(?:/[\w-]+)*/(?P<daemon>smtp|lmtp)\[(?P<pid>\d+)\]: (?P<msg>.*)$")
_PLUGIN = lazy(r"^(?:\S+ )?sasl-xoauth2(?:\[\d+\])?: (?P<msg>.*)$")
_QUEUE_ID = lazy(r"^[0-9A-Za-z]{6,}: ")
_TLS = lazy(r"TLS connection established to (?P<host>[^\[\s]+)\[[^\]]*\]:(?P<port>\d+): (?P<what>.*)$")
_INITIAL = lazy(r"xsasl_cyrus_client_first: uncoded initial reply: (?P<payload>.*)$")
_REFUSED = lazy(r"SASL authentication failed; server (?P<host>[^\[\s]+)\[[^\]]*\] said: (?P<reply>.*)$")
_CANNOT = lazy(r"SASL authentication failed; cannot authenticate to server (?P<host>[^\[\s]+)\[[^\]]*\]: (?P<why>.*)$")
_DELIVERY = lazy(r"relay=(?P<host>[^\[\s,]+)\[[^\]]*\]:(?P<port>\d+),.* status=(?P<status>sent|deferred|bounced) \((?P<detail>.*)\)$")
_CHAT = lazy(r"^(?P<arrow>[<>]) (?P<host>[^\[\s]+)\[[^\]]*\]:(?P<port>\d+): (?P<text>.*)$")
_PLUGIN_TROUBLE = lazy(r"(?:auth failed|http error|failed to|error|invalid|expired)", re.IGNORECASE)


class Parser(_Base):
    name = "postfix"
    client_software = "Postfix"
    markers = (b"postfix/", b"sasl-xoauth2", b"SASL", b"AADSTS", b"invalid_grant", b"xception")
    signature = re.compile(r"postfix(?:/[\w-]+)*/smtp\[\d+\]: |sasl-xoauth2")

    def __init__(self) -> None:
        super().__init__()
        self._xoauth2 = False  # the sasl-xoauth2 plugin shows up in this log: its mechanism is XOAUTH2
        self._auth_sent: dict[str, bool] = StreamState()  # the SASL command of this attempt was logged (debug)
        self._connected: dict[str, bool] = StreamState()  # a TLS line opened this attempt
        self._replied: dict[str, str] = StreamState()  # the last server reply the verbose dialogue showed

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        where = {"wall_time": wall_time, "lineno": lineno}
        plugin = _PLUGIN().match(rest)
        if plugin:
            self._xoauth2 = True
            return self._plugin(plugin.group("msg"), self._last_stream, where)
        line = _POSTFIX().match(rest)
        if not line:
            return common.evidence_items(rest, stream=self._last_stream, **where)
        stream = f"{line.group('daemon')}[{line.group('pid')}]"
        self._last_stream = stream
        msg = _QUEUE_ID().sub("", line.group("msg"), count=1)
        if msg.startswith("[sasl-xoauth2]"):
            self._xoauth2 = True
            return self._plugin(msg.removeprefix("[sasl-xoauth2]").strip(), stream, where)
        if match := _TLS().search(msg):
            self._auth_sent.pop(stream, None)
            self._connected[stream] = True
            port = match.group("port")
            facts = {"host": match.group("host"), "port": port, "protocol": "smtp", "security": channel_for(port)[1] or "starttls"}
            return [self.connect(stream, text=f"Postfix: {msg}", **facts, **where)]  # type: ignore[arg-type]
        if match := _CHAT().match(msg):
            return self._chat(stream, match, where)
        if match := _INITIAL().search(msg):
            self._auth_sent[stream] = True
            payload = match.group("payload").replace("\\001", "\x01").replace("^A", "\x01").encode("utf-8", "surrogateescape")
            return self._wire(stream, f"AUTH XOAUTH2 {base64.b64encode(payload).decode()}", Direction.CLIENT, where,
                              "rebuilt from Postfix's 'uncoded initial reply' debug line")  # fmt: skip
        if match := _REFUSED().search(msg):
            items = self._start(stream, match.group("host"), where)
            if not self._auth_sent.pop(stream, False):
                mechanism = "AUTH XOAUTH2" if self._xoauth2 else "AUTH"
                items += self._wire(stream, mechanism, Direction.CLIENT, where, "rebuilt: Postfix logs the refusal, not the command")
            if self._replied.pop(stream, None) != match.group("reply"):
                items += self._wire(stream, match.group("reply"), Direction.SERVER, where)
            return [*items, LogItem(ItemKind.CLOSE, "Postfix gives up on this connection", stream=stream, **where)]  # type: ignore[arg-type]
        if match := _CANNOT().search(msg):
            items = self._start(stream, match.group("host"), where)
            text = f"Postfix: SASL authentication failed before the server answered: {match.group('why')}"
            return [*items, LogItem(ItemKind.EXCEPTION, text, stream=stream, **where)]  # type: ignore[arg-type]
        if match := _DELIVERY().search(msg):
            facts = {"delivery": match.group("status"), "host": match.group("host"), "port": match.group("port")}
            return [LogItem(ItemKind.NOTE, f"Postfix: status={match.group('status')} ({match.group('detail')})", stream=stream,
                            facts=facts, **where)]  # type: ignore[arg-type]  # fmt: skip
        return common.evidence_items(msg, stream=stream, **where)

    def _chat(self, stream: str, match: re.Match[str], where: dict) -> list[LogItem]:
        """A verbose dialogue line: the wire itself (a connect first when no TLS line opened this attempt)."""
        items: list[LogItem] = []
        if not self._connected.get(stream):
            self._connected[stream] = True
            port = match.group("port")
            facts = {"host": match.group("host"), "port": port, "protocol": "smtp", "security": channel_for(port)[1] or "starttls"}
            items.append(self.connect(stream, text=f"Postfix talks to {match.group('host')}", **facts, **where))
        text = match.group("text")
        if match.group("arrow") == ">":
            self._auth_sent[stream] = self._auth_sent.get(stream, False) or text.upper().startswith("AUTH ")
            return items + self._wire(stream, text, Direction.CLIENT, where)
        self._replied[stream] = text
        return items + self._wire(stream, text, Direction.SERVER, where)

    def _start(self, stream: str, host: str, where: dict) -> list[LogItem]:
        """A connect unless the TLS line of this attempt already opened one (Postfix logs no plain connects)."""
        if self._connected.pop(stream, False):
            return []
        return [self.connect(stream, text=f"Postfix connects to {host}", host=host, protocol="smtp", **where)]

    def _wire(self, stream: str, text: str, direction: Direction, where: dict, note: str | None = None) -> list[LogItem]:
        if stream not in self.channels:
            self.channels[stream] = Channel.SMTP
        item = self.wire(text, stream=stream, direction=direction, annotations=(note,) if note else (), **where)
        return [item] if item else []

    def _plugin(self, msg: str, stream: str, where: dict) -> list[LogItem]:
        items = common.evidence_items(msg, stream=stream, **where)
        if items:
            return items
        if _PLUGIN_TROUBLE().search(msg):
            return [LogItem(ItemKind.EXCEPTION, f"sasl-xoauth2: {common.cut(msg, 300)}", stream=stream, **where)]  # type: ignore[arg-type]
        return [LogItem(ItemKind.NOTE, f"sasl-xoauth2: {common.cut(msg, 300)}", stream=stream, **where)]  # type: ignore[arg-type]
