"""Python's standard library debug output.

imaplib (`imaplib.Debug = 4`): `  30:15.22 > b'JDLM1 CAPABILITY'`, `  30:15.23 < b'* OK ...'` (minutes and seconds
only), and `new IMAP4 connection, tag=b'JDLM'`. smtplib (`set_debuglevel(1)`): `send: b'ehlo ...\\r\\n'`,
`reply: b'250-...\\r\\n'`, `connect: ('smtp.office365.com', 587)`; level 2 starts each line with the local time of
day. poplib (`set_debuglevel(2)`): `*cmd* 'USER a'`, `*resp* b'+OK ...'`. Payloads are Python bytes reprs, decoded
with `ast.literal_eval` (literals only).
"""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import LogItem

_IMAPLIB = re.compile(r"^\s*(?:\d\d:\d\d\.\d\d )?(?P<arrow>[<>]) (?P<repr>b?(?:'.*'|\".*\"))\s*$")
_SMTPLIB = re.compile(r"^(?:(?P<side>send|reply):|\*(?P<pop>cmd|resp|put|get)\*) (?P<repr>b?(?:'.*'|\".*\"))\s*$")
_NEW_IMAP = re.compile(r"new IMAP4 connection, tag=")
_SMTP_CONNECT = re.compile(r"^connect: \('(?P<host>[^']+)', (?P<port>\d+)\)")


class Parser(_Base):
    name = "imaplib"
    client_software = "Python imaplib"
    markers = (b"> b", b"< b", b"send: ", b"reply: ", b"*cmd*", b"*resp*", b"*put*", b"*get*", b"connection", b"connect: ",
               b"AADSTS", b"xception", b"error")  # fmt: skip
    signature = re.compile(
        r"^\s*\d\d:\d\d\.\d\d [<>] b['\"]|^(?:\d\d:\d\d:\d\d\.\d{6} )?(?:send|reply): b['\"]|^\*(?:cmd|resp)\* |new IMAP4 connection, tag="
    )

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        if _NEW_IMAP.search(rest):
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, protocol="imap")]
        if match := _SMTP_CONNECT.match(rest):
            facts = {"host": match.group("host"), "port": match.group("port"), "protocol": "smtp"}
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, client_software="Python smtplib", **facts)]
        match = _IMAPLIB.match(rest) or _SMTPLIB.match(rest)
        if not match:
            return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)
        groups = match.groupdict()
        client = groups.get("arrow") == ">" or groups.get("side") == "send" or groups.get("pop") in ("cmd", "put")
        payload = common.python_literal(match.group("repr"))
        if payload is None:
            return []
        direction = Direction.CLIENT if client else Direction.SERVER
        return self.payload_lines(payload, direction, stream="", wall_time=wall_time, lineno=lineno)
