"""JavaMail / Jakarta Mail debug output (`mail.debug=true`), bare or inside a product's log (Atlassian Jira and
Confluence prefix every protocol line with the mail handler and thread, e.g.
`[Alerts Incident] Caesium-1-3 anonymous Incident ITSM * OK ...`).

JavaMail does not mark direction; its own lines read `DEBUG IMAPS: ...` (or `IMAPS: ...` once a product's
logger has stripped the level). Authentication commands are never traced: JavaMail prints
`AUTHENTICATE PLAIN command trace suppressed` and then `... command result: IUR1 NO AUTHENTICATE failed.`;
the command line is rebuilt from those two, with the tag the connection's counter would have used.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mailscope.events import Channel, Direction
from mailscope.logs import common
from mailscope.logs.formats.base import MAIL_MARKERS, StreamState
from mailscope.logs.formats.base import Parser as _Base
from mailscope.logs.model import ItemKind, LogItem

_DEBUG = re.compile(r"(?:^|\s)(?:DEBUG:?\s+)?(?P<proto>IMAPS?|POP3S?|SMTPS?)(?: SASL)?:\s+(?P<msg>.*)$")
_VERSION = re.compile(r"DEBUG:?\s+(?:setDebug: )?JavaMail version (?P<version>\S+)")
_CONNECT = re.compile(r'(?:trying to connect|connecting) to host "(?P<host>[^"]*)", port (?P<port>\d+), isSSL (?P<ssl>true|false)')
_LOGIN = re.compile(r"protocolConnect login, host=(?P<host>[^,\s]*), user=(?P<user>[^,]*), password=(?P<password>.*)$")
_SUPPRESSED = re.compile(r"^(?P<command>.+?) command trace suppressed$")
_RESULT = re.compile(r"^(?P<command>.+?) command result: (?P<response>.+)$")
_MECHANISM = re.compile(r"^AUTH: (?P<mech>\S+)$")
_SMTP_MECHS = re.compile(r"^Attempt to authenticate using mechanisms: (?P<mechs>.+)$")
_SMTP_USING = re.compile(r"^(?:Using mechanism|AUTH mechanism) (?P<mech>\S+)")
_SMTP_REPLY = re.compile(r"Exception: (\d{3}[ -]\d\.\d\.\d+ .*)$")
_POP3_REPLY = re.compile(r"Exception: (?:-ERR )?(.+)$")
_SMTP_VERDICT = re.compile(r"^AUTH \S+ (?P<verdict>succeeded|failed)$")
_SMTP_FOUND_AUTH = re.compile(r'^Found extension "AUTH", arg "(?P<mechs>[^"]*)"')
# Where a JavaMail or Atlassian log line begins inside text that lost its line breaks.
_LINE_START = re.compile(r"(?<=\s)(?:\[[^\]\[]{1,60}\] \S+-\d+(?:-\d+)* |(?:DEBUG:? )?(?:IMAPS?|POP3S?|SMTPS?): |(?:WARN|ERROR) \[)")
_TAG = re.compile(r"^(?P<prefix>[A-Za-z]*)(?P<number>\d+) ")


class Parser(_Base):
    name = "javamail"
    client_software = "JavaMail"
    markers = (*MAIL_MARKERS, b"JavaMail")  # its debug lines all carry IMAP/POP3/SMTP
    signature = re.compile(r"(?:^|\s)(?:DEBUG:?\s+)?(?:IMAPS?|POP3S?|SMTPS?): |JavaMail version|(?:javax|jakarta)\.mail\.|com\.sun\.mail\.")

    def __init__(self) -> None:
        super().__init__()
        self._last_tag: dict[str, tuple[str, int]] = StreamState()
        self._last_server: dict[str, str] = StreamState()
        self._held: list[LogItem] = []  # unprefixed JavaMail lines of a new connection, waiting for its thread

    def feed(self, lineno: int, text: str) -> list[LogItem]:
        pieces = _flattened_pieces(text)
        if pieces is None:
            return super().feed(lineno, text)
        items: list[LogItem] = []
        for piece in pieces:
            items.extend(super().feed(lineno, piece))
        return items

    def parse(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        own = _own_line(rest)
        if own is not None and own.kind is _VERSION:
            facts = {"client_software": f"JavaMail {own.match.group('version')}"}  # type: ignore[union-attr]
            return [LogItem(ItemKind.FACT, rest, stream=self._last_stream, wall_time=wall_time, lineno=lineno, facts=facts)]
        if own is not None:
            items = self._debug(own, wall_time, lineno)
            if own.bare and (self._held or (items and items[0].kind is ItemKind.CONNECT)):
                # JavaMail prints its own lines without the product's thread prefix: a new connection belongs to
                # whichever thread speaks next, so hold it until then.
                self._held.extend(items)
                return []
            return items
        if self._held:
            return self._release_held(lineno, wall_time, rest)
        items = super().parse(lineno, wall_time, rest)
        for item in list(items):
            if item.kind is ItemKind.WIRE and item.direction is Direction.CLIENT:
                tag = _TAG.match(item.text)
                if tag:
                    self._last_tag[item.stream] = (tag.group("prefix"), int(tag.group("number")))
            elif item.kind is ItemKind.WIRE:
                self._last_server[item.stream] = item.text
            elif item.kind is ItemKind.EXCEPTION and self.channels.get(item.stream) in (Channel.SMTP, Channel.POP3):
                items[:0] = self._reply_from(item)
        return items

    def _release_held(self, lineno: int, wall_time: str | None, rest: str) -> list[LogItem]:
        stream, wire = self.find_wire(rest)
        if wire is None:
            evidence = super().parse(lineno, wall_time, rest)  # e.g. the connection's exception
            if not evidence:
                return []
            stream = evidence[0].stream
        held, self._held = self._held, []
        protocol = next((item.facts["protocol"] for item in held if "protocol" in item.facts), None)
        if protocol:
            self.channels[stream] = Channel(protocol)
        for item in held:
            item.stream = stream
        return held + (self.parse(lineno, wall_time, rest) if wire is not None else evidence)

    def flush(self) -> list[LogItem]:
        held, self._held = self._held, []
        return held

    def _reply_from(self, exception: LogItem) -> list[LogItem]:
        """JavaMail hides the server's answer to AUTH (SMTP) and USER/PASS (POP3); the exception message quotes it
        (`535 5.7.139 ...`; POP3 without its `-ERR`)."""
        smtp = self.channels.get(exception.stream) is Channel.SMTP
        reply = (_SMTP_REPLY if smtp else _POP3_REPLY).search(exception.text)
        if not reply or "AuthenticationFailed" not in exception.text and not smtp:
            return []
        text = reply.group(1) if smtp else f"-ERR {reply.group(1)}"
        if self._last_server.get(exception.stream) == text:
            return []
        item = self.wire(
            text, stream=exception.stream, wall_time=exception.wall_time, lineno=exception.lineno or 0,
            direction=Direction.SERVER, annotations=("rebuilt from the exception message: JavaMail suppressed the trace",),
        )  # fmt: skip
        return [item] if item else []

    def _debug(self, own: _Own, wall_time: str | None, lineno: int) -> list[LogItem]:
        proto, msg, kind, match = own.proto, own.msg, own.kind, own.match
        stream = self._last_stream
        where = {"stream": stream, "wall_time": wall_time, "lineno": lineno}
        protocol = {"IMAP": "imap", "POP3": "pop3", "SMTP": "smtp"}[proto.rstrip("S") if proto != "POP3S" else "POP3"]
        if kind is _CONNECT:
            security = "tls" if match.group("ssl") == "true" else ("starttls" if protocol == "smtp" else "plain")
            self._last_tag.pop(stream, None)
            return [
                self.connect(
                    stream, text=f"{proto}: {msg}", protocol=protocol, host=match.group("host"), port=match.group("port"),
                    security=security, **{"wall_time": wall_time, "lineno": lineno},
                )
            ]  # fmt: skip
        if kind is _LOGIN:
            facts = {"host": match.group("host"), "user": match.group("user").strip(), "password": match.group("password").strip()}
            facts["protocol"] = protocol
            if proto.endswith("S"):  # IMAPS/POP3S/SMTPS: the store was configured for implicit TLS
                facts["security"] = "tls"
            return [LogItem(ItemKind.FACT, f"{proto}: {msg}", facts=facts, **where)]
        if kind is _MECHANISM:
            return [LogItem(ItemKind.FACT, f"{proto}: {msg}", facts={"mechanism_advertised": match.group("mech")}, **where)]
        if kind is _SMTP_MECHS:
            return [LogItem(ItemKind.FACT, f"{proto}: {msg}", facts={"mechanisms_tried": match.group("mechs")}, **where)]
        if kind is _SMTP_FOUND_AUTH:
            return [LogItem(ItemKind.FACT, f"{proto}: {msg}", facts={"mechanism_advertised": match.group("mechs")}, **where)]
        if kind is _SMTP_USING:
            return [LogItem(ItemKind.FACT, f"{proto}: {msg}", facts={"mechanism_chosen": match.group("mech")}, **where)]
        if kind is _SUPPRESSED:
            command = match.group("command")
            if protocol == "pop3" and command == "authentication":  # POP3 USER/PASS (or APOP), both hidden
                command = "PASS"
            elif protocol == "imap":
                prefix, number = self._last_tag.get(stream, ("A", -1))
                self._last_tag[stream] = (prefix, number + 1)
                command = f"{prefix}{number + 1} {command}"
            item = self.wire(
                command, stream=stream, wall_time=wall_time, lineno=lineno, direction=Direction.CLIENT,
                annotations=("rebuilt: JavaMail suppressed the trace of this command (its arguments hold the secret)",),
            )  # fmt: skip
            return [item] if item else []
        if kind is _RESULT:
            item = self.wire(match.group("response"), stream=stream, wall_time=wall_time, lineno=lineno, direction=Direction.SERVER)
            return [item] if item else []
        if kind is _SMTP_VERDICT:  # "AUTH LOGIN succeeded" / "AUTH LOGIN failed": the reply itself is hidden
            return [LogItem(ItemKind.NOTE, f"{proto}: {msg}", facts={"auth_verdict": match.group("verdict")}, **where)]
        if msg.startswith(("connected to host", "STARTTLS", "closeConnection", "disconnect")):
            return [LogItem(ItemKind.NOTE, f"{proto}: {msg}", **where)]
        return []


class _Own(NamedTuple):
    """One of JavaMail's own lines, read from its text alone (the same text always reads the same)."""

    proto: str  # IMAPS, POP3, SMTP...; "" for the version banner
    msg: str
    bare: bool  # printed without the product's thread prefix
    kind: re.Pattern[str] | None  # the message it is (_CONNECT, _LOGIN, ... or _VERSION); None: another one
    match: re.Match[str] | None


_MESSAGES = (
    (_CONNECT, _CONNECT.search), (_LOGIN, _LOGIN.search), (_MECHANISM, _MECHANISM.match), (_SMTP_MECHS, _SMTP_MECHS.match),
    (_SMTP_FOUND_AUTH, _SMTP_FOUND_AUTH.match), (_SMTP_USING, _SMTP_USING.match), (_SUPPRESSED, _SUPPRESSED.match),
    (_RESULT, _RESULT.match), (_SMTP_VERDICT, _SMTP_VERDICT.match),
)  # fmt: skip


@common.remembered
def _own_line(rest: str) -> _Own | None:
    """The version banner or a `DEBUG IMAPS: ...` line, with the message it is; None for any other line."""
    version = _VERSION.search(rest)
    if version:
        return _Own("", rest, False, _VERSION, version)
    debug = _DEBUG.search(rest)
    if not debug or common.WIRE_LINE.fullmatch(rest.strip()):
        return None
    proto, msg, bare = debug.group("proto").upper(), debug.group("msg").strip(), not rest[: debug.start()].strip()
    for kind, find in _MESSAGES:
        if match := find(msg):
            return _Own(proto, msg, bare, kind, match)
    return _Own(proto, msg, bare, None, None)


def _flattened_pieces(text: str) -> list[str] | None:
    """A log whose line breaks were lost (copied from a web page such as the Atlassian KB) runs many log lines
    into one; split it where JavaMail's own lines and the product's thread prefix begin. None for normal lines."""
    if len(text) < 300:
        return None
    starts = [m.start() for m in _LINE_START.finditer(text)]
    if len(starts) < 3:
        return None
    bounds = [0, *starts, len(text)] if starts[0] else [*starts, len(text)]
    pieces = [text[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]
    return [p for p in pieces if p]
