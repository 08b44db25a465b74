"""email-oauth2-proxy (`emailproxy.py --debug`). Each line names the connection:
`IMAP (localhost:1993; 127.0.0.1:38520->outlook.office365.com:993)`. Lines between proxy and server are indented
by four extra spaces (`    <--` from the server, `    -->` to it); unindented ones are between client and proxy.
The server side is what decides authentication, so only it becomes the transcript; `[ ... ]` events are notes.
Payloads are Python bytes reprs.

From the proxy's own code (emailproxy.py): `info_string()` of both connection classes appends `; <account>` to the label
once the proxy has signed in: the same connection, not another one (the older label above has an address after its `; `).
`OAuth2ServerConnection.handle_read` logs the indented `    <--` only until the client is authenticated
(`[ Successfully authenticated ... - releasing session ]`); from then on data passes straight through and only
`OAuth2ClientConnection` logs it, unindented (`-->` in `handle_read`, `<--` in `send`): those lines are then the
conversation with the server."""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import StreamState
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy
from mailscope.protocols import imap

_LINE = lazy(
    r"^(?:.*?: )?(?P<proto>IMAP|POP|SMTP) \((?P<conn>[^)]*?)(?:; (?P<account>(?![^)]*(?:->|:\d+\)))[^)]*))?\)(?P<indent> +)"
    r"(?:(?P<arrow><--|-->|<->) (?P<body>.*)|(?P<event>\[.*\]))$"
)
_SERVER = lazy(r"(?:->|-)(?P<host>[^:;{}\s]+):(?P<port>\d+)\s*$")


class Parser(_Base):
    name = "emailproxy"
    client_software = "email-oauth2-proxy"
    markers = (b"<--", b"-->", b"<->", b"AADSTS", b"invalid_grant", b"rror", b"xception")
    signature = re.compile(r"(?:IMAP|POP|SMTP) \([^)]*\) +(?:<--|-->|<->) ")

    def __init__(self) -> None:
        super().__init__()
        self._released: dict[str, str] = StreamState()  # connections the proxy handed over after signing in -> the
        # server line that ended its part (the proxy then sends it to the client: logged again, unindented, once)
        self._last_server: dict[str, str] = StreamState()  # stream -> the last indented server line

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        match = _LINE().match(rest)
        if not match:
            return common.evidence_items(rest, stream=self._last_stream, wall_time=wall_time, lineno=lineno)
        stream = match.group("conn")
        self._last_stream = stream
        body, arrow = match.group("body") or match.group("event"), match.group("arrow")
        indented = len(match.group("indent")) > 1
        if body.startswith("["):
            return self._event(stream, match.group("proto"), body.strip("[] "), wall_time, lineno)
        if not indented and (stream not in self._released or self._repeats_release(stream, arrow, body)):
            return []
        if indented and arrow == "<--":
            self._last_server[stream] = body
            if stream not in self._released and _signed_in(common.python_literal(body) or ""):
                self._released[stream] = body  # an excerpt may start after the proxy's own 'releasing session' note
        payload = common.python_literal(body)
        if payload is None:
            return []
        direction = Direction.SERVER if arrow == "<--" else Direction.CLIENT
        return self.payload_lines(payload, direction, stream=stream, wall_time=wall_time, lineno=lineno)

    def _repeats_release(self, stream: str, arrow: str, body: str) -> bool:
        """The server line that completed the sign-in, logged a second time as the proxy passes it to the client."""
        if arrow == "<--" and body == self._released[stream]:
            self._released[stream] = ""
            return True
        return False

    def _event(self, stream: str, proto: str, event: str, wall_time: str | None, lineno: int) -> list[LogItem]:
        lowered = event.lower()
        if "releasing session" in lowered:
            self._released[stream] = self._last_server.get(stream, "")
        if lowered.startswith("client connected"):
            self._released.pop(stream, None)
            facts = {"protocol": {"POP": "pop3"}.get(proto, proto.lower())}
            server = _SERVER().search(stream)
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


def _signed_in(payload: str) -> bool:
    """The server's answer on which the proxy releases the session (process_data of its IMAP and SMTP server connections:
    the tagged OK to its AUTHENTICATE, `235`)."""
    tagged = imap.parse_tagged(payload)
    return (tagged is not None and tagged.status == "OK" and tagged.text.upper().startswith("AUTHENTICATE")) or payload.startswith("235")
