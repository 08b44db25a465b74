"""mutt and NeoMutt debug files (`mutt -d 5`, `neomutt -d 5 -l FILE`).

Record shapes, from the clients' own logging code:

* mutt (lib.c `mutt_debug`/`mutt_debug_f`, 1.5 to 2.x): `[2026-12-04 01:33:47] text`, newer builds also
  `[2026-12-04 01:33:47 func@file.c:123] text`; ancient builds print the text alone.
* NeoMutt (mutt/logging.c `log_disp_file`): `[2026-12-04 01:44:44]<5> mutt_socket_readln_d() text`, the level one of
  `PEWM12345N`. Each message passes a fixed buffer first (mutt_logging.c `log_disp_curses`: 1,024 bytes up to 2023,
  10,240 since), so a longer one (the AUTHENTICATE line with its token) is cut, loses its newline, and the next record
  carries on in the same physical line.

Protocol lines come from conn/socket.c (mutt: mutt_socket.c): `mutt_socket_write_d` logs `"%d> %s"` with the buffer
as sent (its own CRLF ends the record; a write without one, NeoMutt's raw `\\001` after an error challenge, runs into
the next record; a pipelined write holds several lines), `mutt_socket_readln_d` logs `"%d< %s\\n"`. The number is the
socket's file descriptor: the stream key. Which lines are logged depends on the level: reads at 4/5, commands at 2,
the command carrying a password or token at 5 only (IMAP_LOG_PASS). Below that the log still says
`Authenticating (XOAUTH2)...` and `imap_exec: command failed: a0001 NO ...`, from which the hidden command and the
answer are rebuilt, annotated as such.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from mailscope.events import Direction
from mailscope.logs import common
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.formats.base import StreamState, channel_for
from mailscope.logs.model import ItemKind, LogItem
from mailscope.patterns import lazy
from mailscope.protocols import imap

_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_NEOMUTT = lazy(rf"\[(?P<ts>{_STAMP})\]<(?P<level>[PEWM1-5N])> (?P<func>[A-Za-z_]\w*)\(\) ")
_MUTT = lazy(rf"\[(?P<ts>{_STAMP})(?: (?:[A-Za-z_]\w*@)?[^\s\]]+:\d+)?\] ")
_WIRE = lazy(r"^(?P<fd>-?\d+)(?P<arrow>[<>]) ?(?P<text>.*)$", re.DOTALL)
_CONNECTED = lazy(r"^Connected to (?P<host>.+):(?P<port>\d+) on fd=(?P<fd>\d+)")
_READING = lazy(r"^(?:Reading|Selecting|Opening) (?P<url>(?:imaps?|pops?|smtps?)://\S+?)(?:\.\.\.)?$")
_AUTHENTICATING = lazy(r"^Authenticating \((?P<mech>[A-Z0-9_-]+)\)\.\.\.|^Logging in\.\.\.$")
_COMMAND_FAILED = lazy(r"^(?:imap_exec: command failed|IMAP command failed): (?P<answer>.*)$")
_VERSION = lazy(r"^(?P<software>(?:Neo)?Mutt[-/]\S+)(?: \([^)]*\))? debugging at level (?P<level>\d)")
# mutt_error() texts of the auth and socket code (imap/auth*.c, pop/pop_auth.c, smtp.c, mutt_socket.c, mutt_sasl.c)
_ERROR = lazy(
    r"authentication failed|^Login failed|^No authenticators available|^Could not (?:find the host|connect to)|"
    r"^Connection to \S+ closed|^SASL authentication failed|^OAUTH token is too big|^Unable to (?:open mailbox|connect)|"
    r"^(?:SSL|TLS) .*fail|certificate",
    re.IGNORECASE,
)
_CUT_AT = 1000  # NeoMutt's message buffer: a longer record that ran into the next one was cut by the client
_REBUILT = "rebuilt: the log shows that {what} but not the command (mutt logs it only at debug level 5)"


class Parser(_Base):
    name = "mutt"
    client_software = "mutt"
    markers = (b"> ", b"< ", b"Connected to", b"uthenticat", b"Logging in", b"ailed", b"Reading ", b"debugging at level",
               b"Connection to", b"Could not", b"AADSTS", b"invalid_grant")  # fmt: skip
    signature = re.compile(rf"^\[{_STAMP}(?:\]<[PEWM1-5N]> \w+\(\) |(?: \S+)?\] (?:-?\d+[<>] |Connected to \S+ on fd=))|"
                           r"(?:Neo)?Mutt[-/]\S+ .*debugging at level")  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self._software = "mutt"
        self._next_url: tuple[dict[str, str], str] | None = None  # facts of the mailbox URL the next connect opens
        self._write_open: str | None = None  # stream of a write record whose physical lines continue (a pipelined write)
        self._tags: dict[str, list[str]] = StreamState()  # stream -> tags the client was seen to send (latest few)
        self._pending: dict[str, str] = StreamState()  # stream -> "AUTHENTICATE XOAUTH2" / "LOGIN" announced, not seen sent
        self._last_server: dict[str, str] = StreamState()

    # -- records ---------------------------------------------------------------------------------------------
    def feed(self, lineno: int, text: str) -> list[LogItem]:
        items: list[LogItem] = []
        for wall_time, level, message, cut in _records(text):
            if wall_time is None and level is None:
                items += self._bare(lineno, message)
                continue
            self._write_open = None
            items += self._record(lineno, wall_time, level, message, cut)
        return items

    def _bare(self, lineno: int, text: str) -> list[LogItem]:
        """A physical line without a record header: the next line of a pipelined write, or an old mutt's whole record."""
        if self._write_open is not None and text.strip() and not _WIRE().match(text):
            return self._wire_line(self._write_open, Direction.CLIENT, text, None, lineno)
        return self._record(lineno, None, None, text, False)

    def _record(self, lineno: int, wall_time: str | None, level: str | None, msg: str, cut: bool) -> list[LogItem]:
        where = {"wall_time": wall_time, "lineno": lineno}
        if level:
            self._software = "NeoMutt"
        wire = _WIRE().match(msg)
        if wire is not None:
            return self._wire(wire, cut, wall_time, lineno)
        msg = msg.rstrip("\r\n")
        if match := _VERSION().match(msg):
            self._software = match.group("software").split("/")[0].split("-")[0]
            return [LogItem(ItemKind.FACT, msg, facts={"client_software": match.group("software").replace("/", " ")}, **where)]
        if match := _READING().match(msg):
            self._next_url = _url_facts(match.group("url"))
            return []
        if match := _CONNECTED().match(msg):
            return [self._connect(match, wall_time, lineno)]
        stream = self._last_stream
        if match := _AUTHENTICATING().match(msg):
            return self._announced(stream, match, msg, where)
        if match := _COMMAND_FAILED().match(msg):
            return self._failed(stream, match.group("answer"), wall_time, lineno)
        evidence = common.evidence_items(msg, stream=stream, **where)
        if evidence:
            return evidence
        if level == "E" or _ERROR().search(msg):
            kind = ItemKind.CLOSE if msg.startswith("Connection to ") and msg.endswith(" closed") else ItemKind.EXCEPTION
            return [LogItem(kind, f"{self._software}: {common.cut(msg, 300)}", stream=stream, **where)]
        if msg.startswith(("SSL/TLS connection using", "Communication encrypted", "Looking up ", "Connecting to ")):
            return [LogItem(ItemKind.NOTE, f"{self._software}: {msg}", stream=stream, **where)]
        return []

    # -- connections -----------------------------------------------------------------------------------------
    def _connect(self, match: re.Match[str], wall_time: str | None, lineno: int) -> LogItem:
        stream, port = match.group("fd"), match.group("port")
        facts, scheme = self._next_url or ({}, "")
        self._next_url = None
        if facts.get("host", match.group("host")) != match.group("host"):  # the URL read earlier was for another server
            facts, scheme = {}, ""
        facts = {**facts, "host": match.group("host"), "port": port, "client_software": self._software}
        if not scheme:  # no mailbox URL before it (SMTP): the well-known port says what it is, else the greeting will
            protocol, security = channel_for(port)
            facts |= {"protocol": protocol, "security": security} if protocol else {}
        self._tags.pop(stream, None)
        self._pending.pop(stream, None)
        self._last_stream = stream
        return self.connect(stream, wall_time=wall_time, lineno=lineno, text=f"{self._software}: {match.group(0)}",
                            **{k: v for k, v in facts.items() if v})  # fmt: skip

    # -- protocol lines --------------------------------------------------------------------------------------
    def _wire(self, match: re.Match[str], cut: bool, wall_time: str | None, lineno: int) -> list[LogItem]:
        stream, direction = match.group("fd"), Direction.CLIENT if match.group("arrow") == ">" else Direction.SERVER
        text = match.group("text").rstrip("\r")
        if stream.startswith("-"):  # mutt_socket_write_d on a closed socket: never sent
            return [LogItem(ItemKind.NOTE, f"{self._software}: not sent, the connection was closed: {common.cut(text, 200)}",
                            stream=self._last_stream, wall_time=wall_time, lineno=lineno)]  # fmt: skip
        self._last_stream = stream
        self._write_open = stream if direction is Direction.CLIENT and not cut else None
        note = ("cut by the client's log: NeoMutt logs at most about 1 KB of one message",) if cut and len(text) >= _CUT_AT else ()
        return self._wire_line(stream, direction, text, wall_time, lineno, note)

    def _wire_line(self, stream: str, direction: Direction, text: str, wall_time: str | None, lineno: int,
                   annotations: tuple[str, ...] = ()) -> list[LogItem]:  # fmt: skip
        items: list[LogItem] = []
        if direction is Direction.SERVER:
            items += self._rebuild_command(stream, text, wall_time, lineno)
            self._last_server[stream] = text
        elif (command := imap.parse_command(text)) is not None:
            self._remember_tag(stream, command.tag)
            if command.name in ("AUTHENTICATE", "LOGIN"):
                self._pending.pop(stream, None)
        elif text.upper().startswith("AUTH "):
            self._pending.pop(stream, None)
        item = self.wire(text, stream=stream, wall_time=wall_time, lineno=lineno, direction=direction, annotations=annotations)
        return [*items, item] if item else items

    def _remember_tag(self, stream: str, tag: str) -> None:
        tags = self._tags.get(stream) or []
        self._tags[stream] = [*tags[-7:], tag]

    def _announced(self, stream: str, match: re.Match[str], msg: str, where: dict) -> list[LogItem]:
        """`Authenticating (XOAUTH2)...` / `Logging in...`: what the hidden sign-in command will be."""
        mechanism = (match.group("mech") or "").upper()
        specific = mechanism not in ("", "SASL")  # mutt_sasl/gsasl say "SASL" before choosing
        if stream and (specific or not mechanism):
            self._pending[stream] = f"AUTHENTICATE {mechanism}" if specific else "LOGIN"
        facts = {"mechanism_chosen": mechanism} if specific else {}
        return [LogItem(ItemKind.NOTE, f"{self._software}: {msg}", stream=stream, facts=facts, **where)]

    def _rebuild_command(self, stream: str, answer: str, wall_time: str | None, lineno: int) -> list[LogItem]:
        """The tagged answer to a sign-in command this log level did not show: the command, rebuilt."""
        pending = self._pending.get(stream)
        tagged = imap.parse_tagged(answer)
        if pending is None or tagged is None or tagged.tag in (self._tags.get(stream) or ()):
            return []
        self._pending.pop(stream)
        what = "the client signed in with " + pending.split(" ")[-1]
        item = self.wire(f"{tagged.tag} {pending}", stream=stream, wall_time=wall_time, lineno=lineno, direction=Direction.CLIENT,
                         annotations=(_REBUILT.format(what=what),))  # fmt: skip
        return [item] if item else []

    def _failed(self, stream: str, answer: str, wall_time: str | None, lineno: int) -> list[LogItem]:
        """`imap_exec: command failed: a0001 NO ...` (level 1): the server's answer, unless its read was logged already."""
        answer = answer.rstrip("\r\n")
        if not stream or self._last_server.get(stream) == answer:
            return []
        items = self._wire_line(stream, Direction.SERVER, answer, wall_time, lineno)
        for item in items:
            if item.direction is Direction.SERVER:
                item.annotations += ("rebuilt from the client's 'command failed' line (the read was not logged at this level)",)
        return items


def _records(line: str) -> list[tuple[str | None, str | None, str, bool]]:
    """(time, NeoMutt level, message, cut) for each record in one physical line. A record runs into the next one when its
    message had no newline of its own: a write without CRLF, or a message NeoMutt cut at its buffer size."""
    neomutt = list(_NEOMUTT().finditer(line))
    if neomutt and neomutt[0].start() == 0:
        records = []
        for index, match in enumerate(neomutt):
            end = neomutt[index + 1].start() if index + 1 < len(neomutt) else len(line)
            records.append((match.group("ts"), match.group("level"), line[match.end() : end], end < len(line)))
        return records
    head = _MUTT().match(line)
    if head is None:
        return [(None, None, line, False)]
    message = line[head.end() :]
    if _WIRE().match(message):  # mutt never cuts, but a write without CRLF runs into the next record
        glued = _MUTT().search(message)
        if glued is not None and glued.start() > 0:
            return [(head.group("ts"), "", message[: glued.start()], False), *_records(message[glued.start() :])]
    return [(head.group("ts"), "", message, False)]


def _url_facts(url: str) -> tuple[dict[str, str], str]:
    """What `Reading imaps://alice%40example.com@host:993/INBOX...` says: protocol, security, user, host, port."""
    parts = urlsplit(url)
    protocol, security = channel_for(parts.scheme)
    if security == "starttls" and protocol != "smtp":
        security = ""  # imap:// and pop:// upgrade only when the server offers it: the wire will say
    user = unquote(parts.username or "") if "@" in parts.netloc else ""
    facts = {"protocol": protocol, "security": security, "user": user, "host": parts.hostname or ""}
    return {k: v for k, v in facts.items() if v}, parts.scheme
