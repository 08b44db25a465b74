"""email-oauth2-proxy (`emailproxy.py --debug`). Each line names the connection:
`IMAP (localhost:1993; 127.0.0.1:38520->outlook.office365.com:993)`. Lines between proxy and server are indented
by four extra spaces (`    <--` from the server, `    -->` to it); unindented ones are between client and proxy.
The server side is what decides authentication, so only it becomes the transcript; `[ ... ]` events are notes.
Payloads are Python bytes reprs."""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import ItemKind, LogItem

_LINE = re.compile(r"^(?:.*?: )?(?P<proto>IMAP|POP|SMTP) \((?P<conn>[^)]*)\)(?P<indent> +)(?P<arrow><--|-->|<->) (?P<body>.*)$")
_SERVER = re.compile(r"(?:->|-)(?P<host>[^:;{}\s]+):(?P<port>\d+)\s*$")


class Parser(_Base):
    name = "emailproxy"
    client_software = "email-oauth2-proxy"
    markers = (b"<--", b"-->", b"<->", b"AADSTS", b"invalid_grant", b"rror", b"xception")
    signature = re.compile(r"(?:IMAP|POP|SMTP) \([^)]*\) +(?:<--|-->|<->) ")

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        match = _LINE.match(rest)
        if not match:
            return common.evidence_items(rest, stream=self._last_stream, wall_time=wall_time, lineno=lineno)
        stream = match.group("conn")
        self._last_stream = stream
        body, arrow = match.group("body"), match.group("arrow")
        server_side = len(match.group("indent")) > 1
        if body.startswith("["):
            return self._event(stream, match.group("proto"), body.strip("[] "), wall_time, lineno)
        if not server_side:
            return []
        payload = common.python_literal(body)
        if payload is None:
            return []
        direction = Direction.SERVER if arrow == "<--" else Direction.CLIENT
        return self.payload_lines(payload, direction, stream=stream, wall_time=wall_time, lineno=lineno)

    def _event(self, stream: str, proto: str, event: str, wall_time: str | None, lineno: int) -> list[LogItem]:
        lowered = event.lower()
        if lowered.startswith("client connected"):
            facts = {"protocol": {"POP": "pop3"}.get(proto, proto.lower())}
            server = _SERVER.search(stream)
            if server:
                facts |= {"host": server.group("host"), "port": server.group("port")}
            return [self.connect(stream, wall_time=wall_time, lineno=lineno, text=event, **facts)]
        items = common.evidence_items(event, stream=stream, wall_time=wall_time, lineno=lineno)
        if items:
            return items
        if "disconnected" in lowered or "connection closed" in lowered:
            return [LogItem(ItemKind.CLOSE, event, stream=stream, wall_time=wall_time, lineno=lineno)]
        facts = {"security": "tls"} if "handshake complete" in lowered else {}
        return [LogItem(ItemKind.NOTE, f"email-oauth2-proxy: {event}", stream=stream, wall_time=wall_time, lineno=lineno, facts=facts)]
