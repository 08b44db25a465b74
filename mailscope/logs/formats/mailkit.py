"""MailKit's ProtocolLogger: `Connected to imaps://host:993/` then `C: ` / `S: ` lines (each line of a multi-line
reply gets its own prefix). Recent MailKit redacts secrets itself (`********`) and can add timestamps."""

from __future__ import annotations

import re

from mailscope.logs.formats import transcript
from mailscope.logs.formats.base import channel_for
from mailscope.logs.model import LogItem
from mailscope.patterns import lazy
from mailscope.protocols import default_port

_CONNECTED = lazy(r"^Connected to (?P<scheme>[a-z0-9]+)://(?P<host>[^:/\s]+)(?::(?P<port>\d+))?/?(?P<query>\S*)")


class Parser(transcript.Parser):
    name = "mailkit"
    client_software = "MailKit"
    signature = re.compile(r"^(?:\S+\s+)?Connected to (?:imaps?|pop3?s?|smtps?)://")

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        match = _CONNECTED().match(rest)
        if not match:
            return super().parse(lineno, wall_time, rest)
        scheme = match.group("scheme")
        protocol, security = channel_for(scheme)  # imaps:// is TLS from the first byte; imap:// may upgrade
        if security == "starttls" and protocol != "smtp" and "starttls=always" not in match.group("query"):
            security = "plain"
        tls = scheme.endswith("s") and scheme != "pop3"
        port = match.group("port") or (str(default_port(protocol, "tls" if tls else "plain")) if protocol else "")
        facts = {"host": match.group("host"), "port": port, "security": security, "protocol": protocol or "imap"}
        return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, **facts)]
