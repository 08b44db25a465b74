"""Python's standard library debug output.

imaplib (`imaplib.Debug = 4`): `  30:15.22 > b'JDLM1 CAPABILITY'`, `  30:15.23 < b'* OK ...'` (minutes and seconds
only), and `new IMAP4 connection, tag=b'JDLM'`. smtplib (`set_debuglevel(1)`): `send: b'ehlo ...\\r\\n'`,
`reply: b'250-...\\r\\n'`, `connect: ('smtp.office365.com', 587)`; level 2 starts each line with the local time of
day. poplib (`set_debuglevel(2)`): `*cmd* 'USER a'`, `*resp* b'+OK ...'`. Payloads are Python bytes reprs, decoded
with `ast.literal_eval` (literals only).

poplib.py prints each line twice at level 2: `_putcmd` `*cmd*` then `_putline` `*put*` (the same line as bytes), and
`_getline` `*get*` (every line, with its CRLF; level 2 only) then `_getresp` `*resp*` (the status line again). The
second print of a line is skipped; a multi-line answer's other lines are only in `*get*`. These lines are POP3 whatever
the first command looks like (`AUTH XOAUTH2` is SMTP's too).
"""

from __future__ import annotations

import re

from mailscope.events import Channel, Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import LogItem
from mailscope.patterns import lazy

_IMAPLIB = lazy(r"^\s*(?:\d\d:\d\d\.\d\d )?(?P<arrow>[<>]) (?P<repr>b?(?:'.*'|\".*\"))\s*$")
_SMTPLIB = lazy(r"^(?:(?P<side>send|reply):|\*(?P<pop>cmd|resp|put|get)\*) (?P<repr>b?(?:'.*'|\".*\"))\s*$")
_NEW_IMAP = lazy(r"new IMAP4 connection, tag=")
_SMTP_CONNECT = lazy(r"^connect: \('(?P<host>[^']+)', (?P<port>\d+)\)")


class Parser(_Base):
    name = "imaplib"
    client_software = "Python imaplib"
    markers = (b"> b", b"< b", b"send: ", b"reply: ", b"*cmd*", b"*resp*", b"*put*", b"*get*", b"connection", b"connect: ",
               b"AADSTS", b"xception", b"error")  # fmt: skip
    signature = re.compile(
        r"^\s*\d\d:\d\d\.\d\d [<>] b['\"]|^(?:\d\d:\d\d:\d\d\.\d{6} )?(?:send|reply): b['\"]|^\*(?:cmd|resp)\* |new IMAP4 connection, tag="
    )

    def __init__(self) -> None:
        super().__init__()
        self._poplib_last: dict[str, str] = {}  # poplib print kind -> the line it printed last

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        if _NEW_IMAP().search(rest):
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, protocol="imap")]
        if match := _SMTP_CONNECT().match(rest):
            facts = {"host": match.group("host"), "port": match.group("port"), "protocol": "smtp"}
            return [self.connect("", wall_time=wall_time, lineno=lineno, text=rest, client_software="Python smtplib", **facts)]
        match = _IMAPLIB().match(rest) or _SMTPLIB().match(rest)
        if not match:
            return common.evidence_items(rest, stream="", wall_time=wall_time, lineno=lineno)
        groups = match.groupdict()
        if groups.get("pop"):
            return self._poplib(groups["pop"], match.group("repr"), wall_time, lineno)
        client = groups.get("arrow") == ">" or groups.get("side") == "send" or groups.get("pop") in ("cmd", "put")
        payload = common.python_literal(match.group("repr"))
        if payload is None:
            return []
        direction = Direction.CLIENT if client else Direction.SERVER
        return self.payload_lines(payload, direction, stream="", wall_time=wall_time, lineno=lineno)

    def _poplib(self, kind: str, literal: str, wall_time: str | None, lineno: int) -> list[LogItem]:
        payload = common.python_literal(literal)
        if payload is None:
            return []
        line = payload.rstrip("\r\n")
        repeats = {"put": "cmd", "resp": "get"}.get(kind)
        if repeats is not None and self._poplib_last.get(repeats) == line:
            return []  # the same line, printed a second time
        self._poplib_last[kind] = line
        self.channels[""] = Channel.POP3
        direction = Direction.CLIENT if kind in ("cmd", "put") else Direction.SERVER
        return self.payload_lines(payload, direction, stream="", wall_time=wall_time, lineno=lineno)
