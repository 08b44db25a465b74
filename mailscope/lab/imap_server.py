"""The shared machinery of the lab's emulated IMAP servers: accept, TLS (implicit or STARTTLS), line and
literal framing, per-connection state, and robustness (garbage, huge lines, abrupt closes never take the
server down).

What a server *says* lives in the family modules (`exchange_imap`, `gmail_imap`): they subclass
`ImapServer` and answer commands with the strings real Exchange Online and Gmail send. Nothing here
reads the diagnosis: the lab models the outside world.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
import ssl
from dataclasses import dataclass, field
from enum import StrEnum

from mailscope.redact import escape_controls

MAX_LINE = 64 * 1024  # longest command line (literals included) a lab server accepts
IDLE_TIMEOUT = 120.0  # a silent client is disconnected after this many seconds
_LITERAL_RE = re.compile(rb"\{(\d{1,9})(\+?)\}\r?\n?$")
logging.getLogger("mailscope.lab").addHandler(logging.NullHandler())  # a library: silent unless the app (lab serve) adds a handler
_TAG_RE = re.compile(rb"^([!#-'*-\[\]-z|~]+)$")  # IMAP tag: ASTRING chars without '+', '{', '%', '"', '\\'


class State(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


class CloseConnection(Exception):
    """Raised by a handler after it wrote its last line (BYE): the connection ends here."""


class LineTooLong(Exception):
    pass


@dataclass(slots=True)
class Connection:
    """One client's session as the server sees it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer: str
    tls: bool
    state: State = State.NOT_AUTHENTICATED
    user: str = ""  # the mailbox this session is logged into
    token_expires_at: float | None = None  # exp of the token that opened the session (mid-session expiry)
    mailbox_refused: bool = False  # authenticated, but the mailbox cannot be opened
    selected: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def write_line(self, text: str) -> None:
        self.writer.write(text.encode("utf-8") + b"\r\n")

    async def flush(self) -> None:
        await self.writer.drain()

    async def read_line(self) -> bytes:
        """One line without CRLF; raises LineTooLong, EOFError on close, TimeoutError when idle."""
        try:
            raw = await asyncio.wait_for(self.reader.readuntil(b"\n"), IDLE_TIMEOUT)
        except asyncio.IncompleteReadError as exc:
            raise EOFError from exc
        except asyncio.LimitOverrunError as exc:
            raise LineTooLong from exc
        return raw.rstrip(b"\r\n")

    async def read_command(self) -> bytes:
        """A command line with its literals ({n} / {n+}) inlined, as one bytes value."""
        parts: list[bytes] = []
        total = 0
        while True:
            line = await self.read_line()
            total += len(line)
            if total > MAX_LINE:
                raise LineTooLong
            literal = _LITERAL_RE.search(line)
            if not literal:
                parts.append(line)
                return b"".join(parts)
            size = int(literal.group(1))
            if total + size > MAX_LINE:
                raise LineTooLong
            parts.append(line[: literal.start()])
            if not literal.group(2):
                self.write_line("+ Ready for additional command text.")
                await self.flush()
            try:
                data = await asyncio.wait_for(self.reader.readexactly(size), IDLE_TIMEOUT)
            except asyncio.IncompleteReadError as exc:
                raise EOFError from exc
            parts.append(b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
            total += size


@dataclass(frozen=True, slots=True)
class Command:
    tag: str
    name: str  # upper case
    args: list[str]  # atoms and quoted strings, unquoted
    raw_args: str  # everything after the command name, as sent


def split_args(text: str) -> list[str]:
    """IMAP arguments: atoms, "quoted strings" (with \\ escapes) and (lists kept whole)."""
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == " ":
            i += 1
            continue
        if ch == '"':
            j, out = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            args.append("".join(out))
            i = j + 1
        elif ch == "(":
            depth, j = 0, i
            while j < n:
                depth += text[j] == "("
                depth -= text[j] == ")"
                j += 1
                if depth == 0:
                    break
            args.append(text[i:j])
            i = j
        else:
            j = text.find(" ", i)
            j = n if j < 0 else j
            args.append(text[i:j])
            i = j
    return args


def parse_command(line: bytes) -> Command | None:
    """None when the line has no valid tag and command name (the server answers `* BAD`)."""
    text = line.decode("utf-8", "replace")
    head, _, rest = text.partition(" ")
    if not head or not _TAG_RE.match(head.encode("utf-8", "replace")):
        return None
    name, _, raw_args = rest.partition(" ")
    if not name or not name.isalpha():
        return None
    return Command(head, name.upper(), split_args(raw_args), raw_args)


def b64decode(text: str) -> bytes | None:
    """Strict base64 (what a SASL server accepts); None when it is not base64."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sasl_payload(answer: str) -> bytes | None:
    """A client's SASL response decoded: `=` is the empty response (RFC 4959); None when it is not base64."""
    return b64decode(answer) if answer != "=" else b""


def plain_user(payload: bytes | None) -> str:
    """The authentication identity of a SASL PLAIN message (authzid NUL authcid NUL password); "" when malformed."""
    fields = (payload or b"").split(b"\0")
    return fields[1].decode("utf-8", "replace") if len(fields) == 3 else ""


@dataclass(frozen=True, slots=True)
class Decision:
    """Why the server granted or refused, kept for the lab's own log and tests (never secret)."""

    peer: str
    command: str  # "AUTHENTICATE XOAUTH2", "LOGIN", ...
    user: str
    result: str  # "OK" | "NO" | "BAD" | "REFUSED_MAILBOX"
    reason: str


class ImapServer:
    """Base class: subclasses implement greeting(), capabilities(), and the command handlers they need."""

    family = "imap"
    offers_starttls = False  # only on a plain listener: advertise STARTTLS, refuse auth before it

    def __init__(self, ssl_context: ssl.SSLContext, *, implicit_tls: bool = True, name: str = "") -> None:
        self.ssl_context = ssl_context
        self.implicit_tls = implicit_tls
        self.name = name or self.family
        self.log = logging.getLogger(f"mailscope.lab.{self.family}")
        self.decisions: list[Decision] = []
        self.connections_served = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(
            self._accept, host, port, ssl=self.ssl_context if self.implicit_tls else None, limit=MAX_LINE,
            ssl_handshake_timeout=10.0 if self.implicit_tls else None,
        )
        self.host, self.port = host, self._server.sockets[0].getsockname()[1]
        self.log.info("%s listening on %s:%d (%s)", self.name, self.host, self.port, "TLS" if self.implicit_tls else "plain/STARTTLS")
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=0.5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 0.5)
            self._server = None

    async def __aenter__(self) -> ImapServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- per connection -----------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        peername = writer.get_extra_info("peername") or ("?", 0)
        conn = Connection(reader, writer, f"{peername[0]}:{peername[1]}", tls=self.implicit_tls)
        self.connections_served += 1
        try:
            await self._serve(conn)
        except (EOFError, ConnectionError, TimeoutError, ssl.SSLError, CloseConnection):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # a lab server must never die on one client; the stack says what went wrong
            self.log.exception("%s: internal error serving %s", self.name, conn.peer)
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            await self._close(writer)

    @staticmethod
    async def _close(writer: asyncio.StreamWriter) -> None:
        """Graceful close (flushes the last BYE); abort when the peer is gone or slow."""
        try:
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 0.5)
        except (Exception, asyncio.CancelledError):
            writer.transport.abort()

    async def _serve(self, conn: Connection) -> None:
        conn.write_line(self.greeting(conn))
        await conn.flush()
        while conn.state is not State.LOGOUT:
            try:
                await self._one_command(conn)
            except LineTooLong:  # a command line, literal or SASL response over MAX_LINE: this connection ends
                conn.write_line(self.line_too_long_text())
                await conn.flush()
                raise CloseConnection from None

    async def _one_command(self, conn: Connection) -> None:
        line = await conn.read_command()
        if not line.strip():
            return
        command = parse_command(line)
        if command is None:
            conn.write_line(self.unparsable_text())
        else:
            await self.dispatch(conn, command)
        await conn.flush()

    async def dispatch(self, conn: Connection, cmd: Command) -> None:
        if conn.state in (State.AUTHENTICATED, State.SELECTED) and self.session_expired(conn):
            conn.write_line(self.session_expired_text())
            await conn.flush()
            raise CloseConnection
        handler = getattr(self, f"cmd_{cmd.name.lower()}", None)
        if handler is None:
            conn.write_line(f"{cmd.tag} {self.unknown_command_text()}")
            return
        await handler(conn, cmd)

    async def cmd_starttls(self, conn: Connection, cmd: Command) -> None:
        if conn.tls or not self.offers_starttls:
            conn.write_line(f"{cmd.tag} {self.starttls_refused_text()}")
            return
        conn.write_line(f"{cmd.tag} OK Begin TLS negotiation now.")
        # No await between the OK and start_tls: the client's ClientHello must not reach the plain reader.
        await conn.writer.start_tls(self.ssl_context)
        conn.tls = True

    async def initial_response(self, conn: Connection, cmd: Command) -> str:
        """AUTHENTICATE's first client response: inline (SASL-IR) or after an empty `+` challenge."""
        return cmd.args[1] if len(cmd.args) > 1 else await self.read_sasl_response(conn)

    async def cmd_select(self, conn: Connection, cmd: Command) -> None:
        await self.open_mailbox(conn, cmd, read_only=False)

    async def cmd_examine(self, conn: Connection, cmd: Command) -> None:
        await self.open_mailbox(conn, cmd, read_only=True)

    async def read_sasl_response(self, conn: Connection, challenge: str = "") -> str:
        """Send `+ challenge` and read the client's one-line answer (decoded text, not base64-decoded)."""
        conn.write_line(f"+ {challenge}" if challenge else "+ ")
        await conn.flush()
        return (await conn.read_line()).decode("utf-8", "replace").strip()

    def record(self, conn: Connection, command: str, user: str, result: str, reason: str) -> None:
        decision = Decision(conn.peer, command, user, result, reason)
        self.decisions.append(decision)
        # command and user are the client's words: `lab serve` prints this line on a terminal
        self.log.info("%s %s %s user=%s -> %s (%s)", self.name, conn.peer, escape_controls(command), escape_controls(user) or "-",
                      result, escape_controls(reason))

    # -- texts and hooks each family defines --------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        raise NotImplementedError

    async def open_mailbox(self, conn: Connection, cmd: Command, *, read_only: bool) -> None:
        """SELECT (read_only False) and EXAMINE: the family's untagged data and tagged answer."""
        raise NotImplementedError

    def session_expired(self, conn: Connection) -> bool:
        return False

    def session_expired_text(self) -> str:
        return "* BYE Session expired."

    def unknown_command_text(self) -> str:
        return "BAD Unknown command."

    def unparsable_text(self) -> str:
        return "* BAD Invalid tag or command."

    def line_too_long_text(self) -> str:
        return "* BYE Line too long."

    def starttls_refused_text(self) -> str:
        return "BAD STARTTLS not available."
