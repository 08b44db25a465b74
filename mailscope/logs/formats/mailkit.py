"""MailKit's ProtocolLogger: `Connected to imaps://host:993/` then `C: ` / `S: ` lines (each line of a multi-line
reply gets its own prefix). Recent MailKit redacts secrets itself (`********`) and can add timestamps."""

from __future__ import annotations

import re

from mailscope.logs.formats import transcript
from mailscope.logs.formats.base import channel_for
from mailscope.logs.model import LogItem

_CONNECTED = re.compile(r"^Connected to (?P<scheme>[a-z0-9]+)://(?P<host>[^:/\s]+)(?::(?P<port>\d+))?/?(?P<query>\S*)")


class Parser(transcript.Parser):
    name = "mailkit"
    client_software = "MailKit"
    signature = re.compile(r"^(?:\S+\s+)?Connected to (?:imaps?|pop3?s?|smtps?)://")

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        match = _CONNECTED.match(rest)
        if not match:
            return super().parse(lineno, wall_time, rest)
        protocol, security = channel_for(match.group("scheme"))
        if "starttls=always" not in match.group("query") and security == "starttls":
            security = "starttls" if protocol == "smtp" else "plain"
        port = match.group("port") or {"imap": "143", "pop3": "110", "smtp": "25"}.get(protocol, "")
        if match.group("scheme").endswith("s"):
            port = match.group("port") or {"imap": "993", "pop3": "995", "smtp": "465"}.get(protocol, "")
        facts = {"host": match.group("host"), "port": port, "security": security, "protocol": protocol or "imap"}
        return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, **facts)]
