"""The SMTP framing of the lab's emulated submission servers (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954): one
command per line, `NNN` replies (multi-line as `NNN-` ... `NNN `), EHLO again after STARTTLS, AUTH with the initial
response on the command line or after a `334 ` challenge, and a mail transaction (MAIL FROM, RCPT TO, DATA, RSET)
whose message is accepted and discarded. The transport is `line_server`'s.

A family (`exchange_smtp`, `gmail_smtp`) adds the greeting, the EHLO keywords, the credential and send-as decisions
and its texts.
"""

from __future__ import annotations

import re

from mailscope.lab.line_server import Connection, LineServer, State

_PATH_RE = re.compile(r"^(?P<kind>FROM|TO):\s*<(?P<address>[^<>]*)>", re.I)
MAX_MESSAGE = 1024 * 1024  # bytes of DATA the lab reads (and discards) before it refuses the message


class SmtpServer(LineServer):
    protocol = "smtp"
    sasl_continuation = "334 "

    async def serve_one(self, conn: Connection) -> None:
        text = (await conn.read_line()).decode("utf-8", "replace").strip()
        verb, _, argument = text.partition(" ")
        handler = getattr(self, f"cmd_{verb.lower()}", None) if verb.isascii() and verb.isalpha() else None
        if handler is None:
            conn.write_line(self.unknown_command_text())
        else:
            await handler(conn, argument.strip())
        await conn.flush()

    @staticmethod
    def reply(conn: Connection, code: int, *lines: str) -> None:
        """A reply of one or more lines: `250-first`, ..., `250 last`."""
        for index, line in enumerate(lines):
            conn.write_line(f"{code}{' ' if index == len(lines) - 1 else '-'}{line}")

    @staticmethod
    def reset_transaction(conn: Connection) -> None:
        for key in ("mail_from", "rcpt"):
            conn.notes.pop(key, None)

    # -- session ------------------------------------------------------------------------------------------
    async def cmd_ehlo(self, conn: Connection, argument: str) -> None:
        self._hello(conn, argument, extended=True)

    async def cmd_helo(self, conn: Connection, argument: str) -> None:
        self._hello(conn, argument, extended=False)

    def _hello(self, conn: Connection, argument: str, *, extended: bool) -> None:
        if not argument:
            conn.write_line(self.syntax_error_text())
            return
        conn.notes["helo"] = argument
        self.reset_transaction(conn)
        lines = self.ehlo_lines(conn)
        self.reply(conn, 250, *(lines if extended else lines[:1]))

    async def cmd_starttls(self, conn: Connection, argument: str) -> None:
        if conn.tls or not self.offers_starttls:
            conn.write_line(self.unknown_command_text())
            return
        conn.write_line(self.starttls_ready_text())
        await self.upgrade_tls(conn)
        conn.notes.clear()  # RFC 3207: the client starts over with EHLO

    async def cmd_auth(self, conn: Connection, argument: str) -> None:
        if "helo" not in conn.notes:
            conn.write_line(self.send_hello_first_text())
            return
        if self.offers_starttls and not conn.tls:
            conn.write_line(self.auth_before_tls_text())
            return
        if conn.state is State.AUTHENTICATED:
            conn.write_line(self.bad_sequence_text())
            return
        mechanism, _, initial = argument.partition(" ")
        await self.authenticate(conn, mechanism.upper(), initial.strip() or None)

    async def initial_response(self, conn: Connection, initial: str | None, challenge: str = "") -> str:
        """AUTH's first client response: on the command line, or after a `334` challenge (empty unless given)."""
        return initial if initial is not None else await self.read_sasl_response(conn, challenge)

    # -- the mail transaction -----------------------------------------------------------------------------
    async def cmd_mail(self, conn: Connection, argument: str) -> None:
        path = _PATH_RE.match(argument)
        if "helo" not in conn.notes:
            conn.write_line(self.send_hello_first_text())
        elif path is None or path["kind"].upper() != "FROM":
            conn.write_line(self.syntax_error_text())
        elif conn.state is not State.AUTHENTICATED:
            self.record(conn, "MAIL FROM", path["address"], "NO", "not authenticated")
            self.refuse_unauthenticated(conn)
        elif "mail_from" in conn.notes:
            conn.write_line(self.bad_sequence_text())
        else:
            answer = self.mail_from(conn, path["address"])
            if answer.startswith("2"):
                conn.notes["mail_from"] = path["address"]
            conn.write_line(answer)

    async def cmd_rcpt(self, conn: Connection, argument: str) -> None:
        path = _PATH_RE.match(argument)
        if "mail_from" not in conn.notes:
            conn.write_line(self.need_mail_text())
        elif path is None or path["kind"].upper() != "TO":
            conn.write_line(self.syntax_error_text())
        else:
            conn.notes["rcpt"] = path["address"]
            conn.write_line(self.recipient_ok_text())

    async def cmd_data(self, conn: Connection, argument: str) -> None:
        if "rcpt" not in conn.notes:
            conn.write_line(self.need_rcpt_text())
            return
        conn.write_line(self.start_data_text())
        await conn.flush()
        size = 0
        while (line := await conn.read_line()) != b".":
            size += len(line) + 2
        self.reset_transaction(conn)
        self.record(conn, "DATA", conn.user, "OK" if size <= MAX_MESSAGE else "NO", f"{size} bytes discarded")
        conn.write_line(self.message_accepted_text() if size <= MAX_MESSAGE else self.message_too_big_text())

    async def cmd_rset(self, conn: Connection, argument: str) -> None:
        self.reset_transaction(conn)
        conn.write_line(self.reset_text())

    async def cmd_noop(self, conn: Connection, argument: str) -> None:
        conn.write_line(self.ok_text())

    async def cmd_quit(self, conn: Connection, argument: str) -> None:
        conn.write_line(self.closing_text())
        conn.state = State.LOGOUT

    # -- what each family decides and says ------------------------------------------------------------------
    def ehlo_lines(self, conn: Connection) -> list[str]:
        """The EHLO reply's lines without their code: the greeting line, then one keyword per line."""
        raise NotImplementedError

    async def authenticate(self, conn: Connection, mechanism: str, initial: str | None) -> None:
        raise NotImplementedError

    def mail_from(self, conn: Connection, address: str) -> str:
        """The answer to MAIL FROM:<address> in an authenticated session (send-as decided by the family)."""
        raise NotImplementedError

    def starttls_ready_text(self) -> str:
        return "220 2.0.0 Ready to start TLS"

    def refuse_unauthenticated(self, conn: Connection) -> None:
        """MAIL FROM before a successful AUTH."""
        conn.write_line("530 5.7.0 Authentication required")

    def auth_before_tls_text(self) -> str:
        return "530 5.7.0 Must issue a STARTTLS command first"

    def send_hello_first_text(self) -> str:
        return "503 5.5.1 EHLO/HELO first"

    def bad_sequence_text(self) -> str:
        return "503 5.5.1 Bad sequence of commands"

    def need_mail_text(self) -> str:
        return self.bad_sequence_text()

    def need_rcpt_text(self) -> str:
        return self.bad_sequence_text()

    def syntax_error_text(self) -> str:
        return "501 5.5.4 Syntax error in parameters or arguments"

    def unknown_command_text(self) -> str:
        return "500 5.5.2 Command unrecognized"

    def recipient_ok_text(self) -> str:
        return "250 2.1.5 OK"

    def start_data_text(self) -> str:
        return "354 Start mail input; end with <CRLF>.<CRLF>"

    def message_accepted_text(self) -> str:
        return "250 2.0.0 OK"

    def message_too_big_text(self) -> str:
        return "552 5.3.4 Message size exceeds fixed maximum message size"

    def reset_text(self) -> str:
        return "250 2.0.0 OK"

    def ok_text(self) -> str:
        return "250 2.0.0 OK"

    def closing_text(self) -> str:
        return "221 2.0.0 Bye"

    def line_too_long_text(self) -> str:
        return "500 5.5.2 Line too long"
