"""`curl -v` against imap(s)://, pop3(s)://, smtp(s)://. `* ` lines are curl's own (`*   Trying 1.2.3.4:993...`,
`* Connected to outlook.office365.com (1.2.3.4) port 993`, `* SSL connection using TLSv1.3 / ...`), `< ` is the server,
`> ` the client. curl prints the AUTHENTICATE initial response (the token) verbatim: redaction removes it.
With `--trace-time` every line starts with the local time of day (`10:00:01.123456 `)."""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import channel_for
from mailscope.logs.model import ItemKind, LogItem

_CONNECTED = re.compile(r"^\* Connected to (?P<host>\S+) \([^)]*\) port (?P<port>\d+)")
_WIRE = re.compile(r"^(?P<arrow>[<>]) (?P<text>.*)$")


class Parser(_Base):
    name = "curl"
    client_software = "curl"
    markers = (b"* ", b"< ", b"> ", b"AADSTS")
    signature = re.compile(r"^(?:\d\d:\d\d:\d\d\.\d{6} )?\*(?:\s+Trying \S+| Connected to \S+ \(| (?:SSL|TLS) connection using)")

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        if match := _CONNECTED.match(rest):
            protocol, security = channel_for(match.group("port"))
            facts = {
                "host": match.group("host"),
                "port": match.group("port"),
                "protocol": protocol or "imap",
                "security": security or "tls",
            }
            if security == "starttls" and protocol != "smtp":
                facts["security"] = "plain"
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest[2:], **facts)]
        if match := _WIRE.match(rest):
            direction = Direction.SERVER if match.group("arrow") == "<" else Direction.CLIENT
            item = self.wire(match.group("text"), stream="", wall_time=wall_time, lineno=lineno, direction=direction)
            return [item] if item else []
        if rest.startswith("* "):
            message = rest[2:].strip()
            if message.startswith(("Closing connection", "Connection #")) and ("left intact" in message or "Closing" in message):
                return [LogItem(ItemKind.CLOSE, message, wall_time=wall_time, lineno=lineno)]
            if message.startswith(("SSL connection using", "TLS connection using", "Server certificate", "STARTTLS")):
                return [LogItem(ItemKind.NOTE, f"curl: {message}", wall_time=wall_time, lineno=lineno)]
            # "No known authentication mechanisms supported!": curl gives up before signing in
            return common.evidence_items(message, stream="", wall_time=wall_time, lineno=lineno)
        return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)
