"""The plumbing every emulated mail server of the lab shares (IMAP, POP3, SMTP): accept, implicit TLS or an
in-session upgrade (STARTTLS/STLS), line reading under a size limit and an idle timeout, per-connection state,
the lab's decision log, and robustness (garbage, huge lines, abrupt closes never take the server down).

What a server *says* lives in the protocol bases (`imap_server`, `pop3_server`, `smtp_server`) and the family
modules (`exchange_*`, `gmail_*`), written from the strings the real services send. Nothing here reads the
diagnosis: the lab models the outside world.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from enum import StrEnum

from mailscope.redact import escape_controls

MAX_LINE = 64 * 1024  # longest command line (IMAP literals included) a lab server accepts
IDLE_TIMEOUT = 120.0  # a silent client is disconnected after this many seconds
logging.getLogger("mailscope.lab").addHandler(logging.NullHandler())  # a library: silent unless the app (lab serve) adds a handler


class State(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"  # POP3 AUTHORIZATION; SMTP before a successful AUTH
    AUTHENTICATED = "authenticated"  # POP3 TRANSACTION
    SELECTED = "selected"  # IMAP only
    LOGOUT = "logout"  # the server ends the connection after this command


class CloseConnection(Exception):
    """Raised by a handler after it wrote its last line (BYE, -ERR ... closed): the connection ends here."""


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
    principal: str = ""  # who authenticated: the token's user, or a service principal's object id (app-only)
    token_expires_at: float | None = None  # exp of the token that opened the session (mid-session expiry)
    mailbox_refused: bool = False  # authenticated, but the mailbox cannot be opened
    selected: str | None = None
    notes: dict[str, str] = field(default_factory=dict)  # protocol state (SMTP: helo, mail_from, rcpt)

    @property
    def ip(self) -> str:
        return self.peer.rsplit(":", 1)[0]

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

    async def read_text(self) -> str:
        """One line as text (undecodable bytes replaced), surrounding spaces removed."""
        return (await self.read_line()).decode("utf-8", "replace").strip()


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


def plain_password(payload: bytes | None) -> str:
    fields = (payload or b"").split(b"\0")
    return fields[2].decode("utf-8", "replace") if len(fields) == 3 else ""


@dataclass(frozen=True, slots=True)
class Decision:
    """Why the server granted or refused, kept for the lab's own log and tests (never secret)."""

    peer: str
    command: str  # "AUTHENTICATE XOAUTH2", "AUTH LOGIN", "MAIL FROM", ...
    user: str
    result: str  # "OK" | "NO" | "BAD" | "REFUSED_MAILBOX"
    reason: str


class LineServer:
    """Base class: a protocol base implements serve_one(); a family adds greeting() and its texts."""

    family = "lab"
    protocol = ""  # "imap" | "pop3" | "smtp"
    offers_starttls = False  # only on a plain listener: advertise STARTTLS/STLS, refuse auth before it
    sasl_continuation = "+ "  # what prefixes a SASL challenge line (SMTP: "334 ")

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
        self.log.info("%s listening on %s:%d (%s %s)", self.name, self.host, self.port, self.protocol,
                      "TLS" if self.implicit_tls else "plain/STARTTLS")
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

    async def __aenter__(self) -> LineServer:
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
        """Graceful close (flushes the last line); abort when the peer is gone or slow."""
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
                await self.serve_one(conn)
            except LineTooLong:  # a command line, literal or SASL response over MAX_LINE: this connection ends
                conn.write_line(self.line_too_long_text())
                await conn.flush()
                raise CloseConnection from None

    async def serve_one(self, conn: Connection) -> None:
        """Read one command and answer it (the protocol base's framing and dispatch)."""
        raise NotImplementedError

    async def upgrade_tls(self, conn: Connection) -> None:
        """STARTTLS/STLS after the go-ahead line: no await may come between writing it and this call, or the client's
        ClientHello reaches the plain reader."""
        await conn.writer.start_tls(self.ssl_context)
        conn.tls = True

    async def read_sasl_response(self, conn: Connection, challenge: str = "") -> str:
        """Send a SASL challenge (`+ ` / `334 `, empty or base64) and read the client's one-line answer."""
        conn.write_line(f"{self.sasl_continuation}{challenge}")
        await conn.flush()
        return await conn.read_text()

    def record(self, conn: Connection, command: str, user: str, result: str, reason: str) -> None:
        decision = Decision(conn.peer, command, user, result, reason)
        self.decisions.append(decision)
        # command and user are the client's words: `lab serve` prints this line on a terminal
        self.log.info("%s %s %s user=%s -> %s (%s)", self.name, conn.peer, escape_controls(command), escape_controls(user) or "-",
                      result, escape_controls(reason))

    # -- texts each family defines ----------------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        raise NotImplementedError

    def line_too_long_text(self) -> str:
        raise NotImplementedError
