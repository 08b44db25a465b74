"""The IMAP framing of the lab's emulated IMAP servers: tags, literals ({n} / {n+}), command dispatch,
STARTTLS and AUTHENTICATE's continuation. The transport (accept, TLS, limits, robustness) is `line_server`'s.

What a server *says* lives in the family modules (`exchange_imap`, `gmail_imap`): they subclass
`ImapServer` and answer commands with the strings real Exchange Online and Gmail send. Nothing here
reads the diagnosis: the lab models the outside world.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from mailscope.lab.line_server import IDLE_TIMEOUT, MAX_LINE, CloseConnection, Connection, LineServer, LineTooLong, State

_LITERAL_RE = re.compile(rb"\{(\d{1,9})(\+?)\}\r?\n?$")
_TAG_RE = re.compile(rb"^([!#-'*-\[\]-z|~]+)$")  # IMAP tag: ASTRING chars without '+', '{', '%', '"', '\\'


async def read_command(conn: Connection) -> bytes:
    """A command line with its literals ({n} / {n+}) inlined, as one bytes value."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = await conn.read_line()
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
            conn.write_line("+ Ready for additional command text.")
            await conn.flush()
        try:
            data = await asyncio.wait_for(conn.reader.readexactly(size), IDLE_TIMEOUT)
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


class ImapServer(LineServer):
    """IMAP base: subclasses implement greeting(), capabilities(), and the command handlers they need."""

    family = "imap"
    protocol = "imap"

    async def serve_one(self, conn: Connection) -> None:
        line = await read_command(conn)
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
        await self.upgrade_tls(conn)

    async def initial_response(self, conn: Connection, cmd: Command) -> str:
        """AUTHENTICATE's first client response: inline (SASL-IR) or after an empty `+` challenge."""
        return cmd.args[1] if len(cmd.args) > 1 else await self.read_sasl_response(conn)

    async def cmd_select(self, conn: Connection, cmd: Command) -> None:
        await self.open_mailbox(conn, cmd, read_only=False)

    async def cmd_examine(self, conn: Connection, cmd: Command) -> None:
        await self.open_mailbox(conn, cmd, read_only=True)

    # -- texts and hooks each family defines --------------------------------------------------------
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
