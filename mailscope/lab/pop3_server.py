"""The POP3 framing of the lab's emulated POP3 servers (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034):
one command per line, `+OK`/`-ERR` answers, multi-line lists ending in `.`, and AUTH with the initial response on
the command line or after a `+ ` continuation. The transport is `line_server`'s.

A family (`exchange_pop3`, `gmail_pop3`) adds the greeting, the CAPA list, the credential decisions and its texts.
"""

from __future__ import annotations

from mailscope.lab.line_server import Connection, LineServer, State


class Pop3Server(LineServer):
    protocol = "pop3"

    async def serve_one(self, conn: Connection) -> None:
        text = (await conn.read_line()).decode("utf-8", "replace").strip()
        if not text:
            return
        name, _, argument = text.partition(" ")
        handler = getattr(self, f"cmd_{name.lower()}", None) if name.isascii() and name.isalpha() else None
        if handler is None:
            conn.write_line(self.unknown_command_text())
        elif conn.state is State.NOT_AUTHENTICATED and name.upper() in ("STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "RSET"):
            conn.write_line(self.wrong_state_text())
        else:
            await handler(conn, argument.strip())
        await conn.flush()

    def write_list(self, conn: Connection, first: str, items: list[str]) -> None:
        conn.write_line(first)
        for item in items:
            conn.write_line(f".{item}" if item.startswith(".") else item)  # RFC 1939 byte-stuffing
        conn.write_line(".")

    # -- commands every POP3 server answers alike ---------------------------------------------------------
    async def cmd_capa(self, conn: Connection, argument: str) -> None:
        self.write_list(conn, self.capa_first_line(), self.capabilities(conn))

    async def cmd_noop(self, conn: Connection, argument: str) -> None:
        conn.write_line("+OK")

    async def cmd_stls(self, conn: Connection, argument: str) -> None:
        if conn.tls or not self.offers_starttls or conn.state is not State.NOT_AUTHENTICATED:
            conn.write_line(self.wrong_state_text())
            return
        conn.write_line("+OK Begin TLS negotiation.")
        await self.upgrade_tls(conn)

    async def cmd_auth(self, conn: Connection, argument: str) -> None:
        mechanism, _, initial = argument.partition(" ")
        if conn.state is not State.NOT_AUTHENTICATED:
            conn.write_line(self.wrong_state_text())
            return
        await self.authenticate(conn, mechanism.upper(), initial.strip() or None)

    async def cmd_user(self, conn: Connection, argument: str) -> None:
        if conn.state is not State.NOT_AUTHENTICATED:
            conn.write_line(self.wrong_state_text())
            return
        conn.notes["user"] = argument
        conn.write_line(self.user_accepted_text())

    async def cmd_pass(self, conn: Connection, argument: str) -> None:
        if conn.state is not State.NOT_AUTHENTICATED or "user" not in conn.notes:
            conn.write_line(self.wrong_state_text())
            return
        self.password(conn, conn.notes.pop("user"), argument)

    async def cmd_stat(self, conn: Connection, argument: str) -> None:
        if conn.mailbox_refused:
            conn.write_line(self.mailbox_refused_text())
            return
        conn.write_line("+OK 0 0")  # the lab's mailboxes are empty

    async def cmd_list(self, conn: Connection, argument: str) -> None:
        await self._empty_listing(conn, argument)

    async def cmd_uidl(self, conn: Connection, argument: str) -> None:
        await self._empty_listing(conn, argument)

    async def _empty_listing(self, conn: Connection, argument: str) -> None:
        if conn.mailbox_refused:
            conn.write_line(self.mailbox_refused_text())
        elif argument:
            conn.write_line(self.no_such_message_text())
        else:
            self.write_list(conn, "+OK", [])

    async def cmd_quit(self, conn: Connection, argument: str) -> None:
        conn.write_line(self.signing_off_text())
        conn.state = State.LOGOUT

    async def initial_response(self, conn: Connection, initial: str | None) -> str:
        """AUTH's first client response: on the command line, or after an empty `+ ` continuation."""
        return initial if initial is not None else await self.read_sasl_response(conn)

    # -- what each family decides and says ------------------------------------------------------------------
    def capa_first_line(self) -> str:
        return "+OK"

    def capabilities(self, conn: Connection) -> list[str]:
        raise NotImplementedError

    async def authenticate(self, conn: Connection, mechanism: str, initial: str | None) -> None:
        """AUTH <mechanism> [initial response]: the family's SASL exchange and answer."""
        raise NotImplementedError

    def password(self, conn: Connection, user: str, password: str) -> None:
        """USER/PASS: the family's answer to a password."""
        raise NotImplementedError

    def user_accepted_text(self) -> str:
        return "+OK"

    def mailbox_refused_text(self) -> str:
        """STAT/LIST/UIDL in a session whose mailbox cannot be opened (families that accept such sessions say it)."""
        raise NotImplementedError

    def no_such_message_text(self) -> str:
        return "-ERR No such message"

    def wrong_state_text(self) -> str:
        return "-ERR Command not valid in this state"

    def unknown_command_text(self) -> str:
        return "-ERR Unknown command"

    def signing_off_text(self) -> str:
        return "+OK"

    def line_too_long_text(self) -> str:
        return "-ERR Line too long"
