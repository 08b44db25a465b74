"""getmail6 (`getmail --trace` / `-v -v`): it never logs the protocol lines, so the sign-in is rebuilt from what it does log.

What getmail6 prints, from its own code:

* the retriever's configuration (getmailcore/baseclasses.py `ConfigurableBase`, getmail `read_config`): `type="SimpleIMAPSSLRetriever"`,
  `parameter server="..."`, `parameter port="..."`, `parameter username="..."`, `parameter use_xoauth2="True"`,
  `parameter password=*` (a password, hidden) or `parameter password_command="..."` (the token comes from a command);
* trace lines `func() [file.py:line] message` (getmailcore/logging.py `Logger.trace`): in _retrieverbases.py,
  `_connect` says `establishing IMAP SSL connection to host:port ...` then `IMAP SSL connection <...> established ...`
  (`IMAP connection <...> established` without TLS; POP3 alike), IMAP `initialize` says `logging in` before
  `conn.authenticate('XOAUTH2', ...)` (imaplib: `AUTHENTICATE XOAUTH2`, the token after the `+ `) or `login`, and
  `logged in` after; POP3 `initialize` signs in right after `_connect` (`AUTH XOAUTH2`, then the token, two-step; or
  USER/PASS), then `_getmsglist` logs `UIDL response "b'+OK'"`;
* the failure (the getmail script): `<rcfile>: credential/login error (<imaplib error>)`, `login refused error (...)` or
  `operation error (...)`. imaplib's error for a refused AUTHENTICATE is the server's text (`AUTHENTICATE failed.`),
  for a BAD `AUTHENTICATE command error: BAD [b'...']`, for a BYE `command: CAPABILITY => <text>`; a refused LOGIN is
  retried as AUTHENTICATE PLAIN (`_parse_imapcmdresponse`: `IMAP login failed with: b'...'.` and, on the next line,
  `Tried IMAP authenticate, which also failed with: ...`); POP3's is `POP error (b'-ERR ...')`, with
  `- if your server does not support the UIDL command ...` when it answered the UIDL after the sign-in.

Every rebuilt line says so; the token itself is never in the log.
"""

from __future__ import annotations

import re

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy

_TYPE = lazy(r'^\s+type="(?P<type>\w*(?P<proto>IMAP|POP3)(?P<ssl>SSL)?Retriever)"$')
_PARAM = lazy(r'^\s+parameter (?P<name>\w+)=(?:"(?P<value>.*)"|\*)$')
_TRACE = lazy(r"^\w+\(\) \[[\w.]+:\d+\] (?P<msg>.*)$")
_ESTABLISHING = lazy(r"^establishing (?:IMAP|POP3)(?: SSL)? connection to (?P<host>[^\s:]+):(?P<port>\d+)")
_ESTABLISHED = lazy(r"^(?:IMAP|POP3)(?: SSL)? connection <[^>]*> established")
_FAILURE = lazy(r"^\S.*?: (?P<kind>credential/login error|login refused error|operation error) \((?P<what>.*?)\)?$")
_LOGIN_RETRIED = lazy(r"^IMAP login failed with: (?P<reply>b?'.*'|\".*\")\.?$")
_AUTH_RETRIED = lazy(r"^\s*Tried IMAP authenticate, which also failed with: (?P<text>.*?)\)?$")
_COMMAND_ERROR = lazy(r"^(?:IMAP error \()?(?P<command>\w+) command error: (?P<status>BAD|NO) \[(?P<reply>b?'.*'|\".*\")\]\)?$")
_SELECTING = lazy(r'^selecting mailbox "(?P<mailbox>[^"]*)"$')
_BYE = lazy(r"^IMAP error \(command: (?P<command>\w+) => (?P<text>.*)\)$")
_POP_ERROR = lazy(r"^POP error \((?P<reply>b?'.*'|\".*\")\)(?P<uidl> - if your server does not support the UIDL)?")
_UIDL = lazy(r"^UIDL response \"b?'")
_REBUILT = "rebuilt: getmail6 does not log protocol lines; {why}"


class Parser(_Base):
    name = "getmail"
    client_software = "getmail6"
    markers = (b"type=", b"parameter ", b"establishing", b"established", b"logg", b" error (", b"UIDL", b"Tried IMAP")
    signature = re.compile(r'^\s+type="\w*(?:IMAP|POP3)\w*Retriever"$|^\w+\(\) \[_retrieverbases\.py:\d+\] |^getmail version 6')

    def __init__(self) -> None:
        super().__init__()
        self._conf: dict[str, str] = {}
        self._protocol = ""
        self._security = ""
        self._connected = False
        self._signing_in = False  # the sign-in command was rebuilt and its answer not yet
        self._held: list[tuple[str, Direction]] = []  # the SASL steps after it, shown once the answer says they happened
        self._mailbox = "INBOX"  # the mailbox getmail6 last said it selects
        self._tag = 0

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        where = {"wall_time": wall_time, "lineno": lineno}
        line = rest.rstrip("\r\n")
        if match := _TYPE().match(line):
            self._conf, self._connected, self._signing_in, self._held = {}, False, False, []
            self._protocol = "imap" if match.group("proto") == "IMAP" else "pop3"
            self._security = "tls" if match.group("ssl") else "plain"
            return []
        if match := _PARAM().match(line):
            self._conf[match.group("name")] = match.group("value") if match.group("value") is not None else "*"
            return []
        trace = _TRACE().match(line)
        message = trace.group("msg").strip() if trace else line.strip()
        if match := _ESTABLISHING().match(message):
            return self._connect(match.group("host"), match.group("port"), message, where)
        if _ESTABLISHED().match(message):
            items = [] if self._connected else self._connect(self._conf.get("server", ""), self._conf.get("port", ""), message, where)
            return items + (self._sign_in(where) if self._protocol == "pop3" else [])  # POP3 signs in right after connecting
        if message == "logging in" and self._protocol == "imap":
            return self._sign_in(where)
        if message == "logged in" and self._signing_in:
            return self._answer(f"{self._current_tag} OK", "it says it logged in", where)
        if match := _SELECTING().match(line.strip()):
            self._mailbox = match.group("mailbox")
            return []
        if _UIDL().match(line.strip()):
            return self._pop_after_auth(where)
        if match := _FAILURE().match(line):
            return self._failure(match.group("what"), line, where)
        if match := _AUTH_RETRIED().match(line):
            tag = self._next_tag()
            return [*self._client(f"{tag} AUTHENTICATE PLAIN", "its LOGIN was refused, so it retried as AUTHENTICATE PLAIN", where),
                    *self._answer(f"{tag} NO {match.group('text')}", "quoted in its error", where)]  # fmt: skip
        return common.evidence_items(message, stream="", **where)

    # -- rebuilding ----------------------------------------------------------------------------------------
    @property
    def _current_tag(self) -> str:
        return f"G{self._tag}"

    def _next_tag(self) -> str:
        self._tag += 1
        return self._current_tag

    def _connect(self, host: str, port: str, message: str, where: dict) -> list[LogItem]:
        self._connected = True
        facts = {"host": host, "port": port, "protocol": self._protocol, "security": self._security,
                 "user": self._conf.get("username", "")}  # fmt: skip
        return [self.connect("", text=f"getmail6: {common.cut(message, 200)}", **where, **{k: v for k, v in facts.items() if v})]

    def _sign_in(self, where: dict) -> list[LogItem]:
        """The sign-in command getmail6 sends for this configuration (use_xoauth2: XOAUTH2, else a password)."""
        self._signing_in = True
        user = self._conf.get("username", "")
        xoauth2 = self._conf.get("use_xoauth2", "").lower() == "true"
        why = "its configuration (use_xoauth2) names the mechanism" if xoauth2 else "its configuration has a password and no use_xoauth2"
        if self._protocol == "pop3":
            lines = ["AUTH XOAUTH2", "+ ", "***"] if xoauth2 else [f"USER {user}", "+OK", "PASS ***"]
            sides = (Direction.CLIENT, Direction.SERVER, Direction.CLIENT)
            return [item for text, side in zip(lines, sides, strict=True) for item in self._line(text, side, why, where)]
        tag = self._next_tag()
        if xoauth2:  # imaplib waits for the `+ ` before it sends the token: shown when the answer says it got that far
            self._held = [("+ ", Direction.SERVER), ("***", Direction.CLIENT)]
            return self._client(f"{tag} AUTHENTICATE XOAUTH2", why, where)
        return self._client(f'{tag} LOGIN "{user}" "***"', why, where)

    def _pop_after_auth(self, where: dict) -> list[LogItem]:
        """A logged UIDL answer: the sign-in before it was accepted."""
        items = self._answer("+OK", "it went on to UIDL, so the sign-in was accepted", where) if self._signing_in else []
        self._signing_in = False
        return items

    def _failure(self, what: str, line: str, where: dict) -> list[LogItem]:
        """`<rcfile>: credential/login error (...)`: the server's answer the error quotes, rebuilt, plus the error itself."""
        exception = [LogItem(ItemKind.EXCEPTION, f"getmail6: {common.cut(line.strip(), 300)}", stream="", **where)]
        if match := _LOGIN_RETRIED().match(what):
            reply = common.python_literal(match.group("reply")) or match.group("reply")
            return [*self._answer(f"{self._current_tag} NO {reply}", "quoted in its error", where), *exception]
        if match := _COMMAND_ERROR().match(what):
            reply = common.python_literal(match.group("reply")) or match.group("reply")
            command, status, items = match.group("command").upper(), match.group("status"), []
            if command not in ("AUTHENTICATE", "LOGIN"):  # a command after the sign-in
                mailbox = f" {self._mailbox}" if command in ("SELECT", "EXAMINE") else ""
                items = self._client(f"{self._next_tag()} {command}{mailbox}", "its error names the command", where)
            elif status == "BAD":
                self._held = []  # a BAD answers the command itself: no continuation, no token sent
            return [*items, *self._answer(f"{self._current_tag} {status} {reply}", "quoted in its error", where), *exception]
        if match := _BYE().match(what):
            tag = self._next_tag()
            return [*self._client(f"{tag} {match.group('command')}", "its error names the command", where),
                    *self._answer(f"* BYE {match.group('text')}", "quoted in its error", where), *exception]  # fmt: skip
        if match := _POP_ERROR().match(what):
            reply = common.python_literal(match.group("reply")) or match.group("reply")
            items: list[LogItem] = []
            if match.group("uidl"):  # the sign-in was accepted; the UIDL after it was refused
                items += self._pop_after_auth(where) + self._client("UIDL", "its error names the UIDL command", where)
            self._signing_in = False
            return [*items, *self._answer(reply, "quoted in its error", where), *exception]
        if self._signing_in and what and not what.startswith(("IMAP error", "POP error", "socket error")):
            return [*self._answer(f"{self._current_tag} NO {what}", "imaplib's error is the server's refusal text", where), *exception]
        return exception

    def _client(self, text: str, why: str, where: dict) -> list[LogItem]:
        return self._line(text, Direction.CLIENT, why, where)

    def _answer(self, text: str, why: str, where: dict) -> list[LogItem]:
        items: list[LogItem] = []
        if self._protocol == "imap" and text.startswith(f"{self._current_tag} "):
            held, self._held, self._signing_in = self._held, [], False
            for step, direction in held:
                items += self._line(step, direction, "the answer shows the client got that far", where)
        return items + self._line(text, Direction.SERVER, why, where)

    def _line(self, text: str, direction: Direction, why: str, where: dict) -> list[LogItem]:
        item = self.wire(text, stream="", direction=direction, annotations=(_REBUILT.format(why=why),), **where)
        return [item] if item else []
