"""Thunderbird MOZ_LOG (`MOZ_LOG=IMAP:5,SMTP:5,POP3:5,timestamp`).

IMAP: `<ts> UTC - [Parent 4742: IMAP]: I/IMAP 7f9fdc166b00:imap.example.org:NA:SendData: 3 authenticate XOAUTH2`
and `...:CreateNewLineFromSocket: * OK ...`; the hex pointer names the connection. Secrets are replaced by
`Logging suppressed for this command (it probably contained authentication information)`.
SMTP/POP3 (JavaScript implementations): `D/SMTP Connecting to smtp://host:587`, `D/SMTP S: 220 ...`, `D/SMTP C: EHLO`.
"""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import channel_for
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy

_ENTRY = lazy(r"^(?:\[[^\]]*\]:\s*)?[DIWEV]/(?P<module>IMAP|SMTP|POP3) (?P<msg>.*)$")
_IMAP_LINE = lazy(
    r"^(?P<conn>[0-9a-fA-Fx]+):(?P<host>[^:]*):(?P<state>[^:]*):(?P<what>SendData|CreateNewLineFromSocket): ?(?P<text>.*)$"
)
_CONNECTING = lazy(r"^Connecting to (?P<scheme>smtps?|pop3s?)://(?P<host>[^:/\s]+)(?::(?P<port>\d+))?")
_SIDE = lazy(r"^(?:(?P<side>[CS]): |SMTP (?P<old>Response|Send): )(?P<text>.*)$")


class Parser(_Base):
    name = "thunderbird"
    client_software = "Thunderbird"
    markers = (b"/IMAP ", b"/SMTP ", b"/POP3 ", b"AADSTS")
    signature = re.compile(r"\[[^\]]*\]: [DIWEV]/(?:IMAP|SMTP|POP3) ")

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        entry = _ENTRY().match(rest)
        if not entry:
            return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)
        module, msg = entry.group("module"), entry.group("msg")
        if module == "IMAP":
            line = _IMAP_LINE().match(msg)
            if not line:
                return []
            stream = line.group("conn")
            if stream not in self.channels:
                facts = {"host": line.group("host"), "protocol": "imap"}
                start = [
                    self.connect(stream, wall_time=wall_time, lineno=lineno, text=f"connection {stream} to {line.group('host')}", **facts)
                ]
            else:
                start = []
            text = line.group("text")
            if line.group("what") == "SendData":
                suppressed = text.startswith("Logging suppressed")
                item = self.wire(
                    "<authentication data (Thunderbird suppressed it)>" if suppressed else text, stream=stream, wall_time=wall_time,
                    lineno=lineno, direction=Direction.CLIENT, annotations=("Thunderbird: " + text,) if suppressed else (),
                )  # fmt: skip
            else:
                item = self.wire(text, stream=stream, wall_time=wall_time, lineno=lineno, direction=Direction.SERVER)
            return start + ([item] if item else [])
        stream = module
        if connecting := _CONNECTING().match(msg):
            protocol, security = channel_for(connecting.group("scheme"))
            port = connecting.group("port") or ""
            if port:
                security = channel_for(port)[1] or security
            facts = {"host": connecting.group("host"), "port": port, "protocol": protocol, "security": security}
            return [self.connect(stream, wall_time=wall_time, lineno=lineno, text=msg, **facts)]
        side = _SIDE().match(msg)
        if side:
            client = side.group("side") == "C" or side.group("old") == "Send"
            item = self.wire(side.group("text"), stream=stream, wall_time=wall_time, lineno=lineno,
                             direction=Direction.CLIENT if client else Direction.SERVER)  # fmt: skip
            return [item] if item else []
        if "closed" in msg.lower() or msg.startswith("Done"):
            return [LogItem(ItemKind.CLOSE, msg, stream=stream, wall_time=wall_time, lineno=lineno)]
        return common.evidence_items(msg, stream=stream, wall_time=wall_time, lineno=lineno)
