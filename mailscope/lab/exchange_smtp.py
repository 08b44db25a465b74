"""The lab's Exchange Online SMTP submission front end (smtp.office365.com:587, STARTTLS): the strings real Exchange
sends (catalogue §0.4, §0.6, §0.7, §1.3, §2.2 `ms_smtp_auth_disabled`, `smtp_auth_never_attempted`).

* greeting `220 <front end>.outlook.office365.com Microsoft ESMTP MAIL Service ready at <date>`;
* EHLO before STARTTLS lists `STARTTLS` and no AUTH; after STARTTLS and a second EHLO `AUTH LOGIN XOAUTH2`
  (email-oauth2-proxy #93, #95, #142 show the whole list);
* AUTH XOAUTH2 with the initial response or after an empty `334 `; the token is checked as for IMAP (`exchange_auth`,
  SMTP.Send / SMTP.SendAsApp) after SMTP AUTH itself: off for the tenant or the mailbox gets
  `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant|Mailbox. Visit
  https://aka.ms/smtp_auth_disabled for more information.` whatever the token says; every token fault gets
  `535 5.7.3 Authentication unsuccessful`; success `235 2.7.0 Authentication successful`;
* AUTH LOGIN with a password: `535 5.7.139 Authentication unsuccessful, basic authentication is disabled.`;
* MAIL FROM before AUTH: `530 5.7.57 Client not authenticated to send mail.`; after AUTH, an address the identity
  may not send as: `550 5.7.60 SMTP; Client does not have permissions to send as this sender` (CONTRACTS §1);
* every refusal ends with the front end's `[<name> <time> <id>]`, as the real ones do.
"""

from __future__ import annotations

import email.utils
import secrets
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime

from mailscope.lab.directory import Directory, MsCloud
from mailscope.lab.exchange_auth import SMTP, ExchangeGate, Grant, TokenVerifier
from mailscope.lab.line_server import Connection, State, b64decode, sasl_payload
from mailscope.lab.smtp_server import SmtpServer

USERNAME_CHALLENGE = "VXNlcm5hbWU6"  # base64 "Username:"
PASSWORD_CHALLENGE = "UGFzc3dvcmQ6"  # base64 "Password:"
_KEYWORDS_BEFORE_TLS = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME", "BINARYMIME",
                        "CHUNKING", "SMTPUTF8"]
_KEYWORDS_AFTER_TLS = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "AUTH LOGIN XOAUTH2", "8BITMIME",
                       "BINARYMIME", "CHUNKING", "SMTPUTF8"]


class ExchangeSmtpServer(SmtpServer):
    family = "exchange"

    def __init__(self, ssl_context: ssl.SSLContext, directory: Directory, verify_token: TokenVerifier | str | bytes, *,
                 cloud: MsCloud = MsCloud.GLOBAL, frontend: str = "", clock: Callable[[], float] = time.time,
                 name: str = "") -> None:
        """A plain listener offering STARTTLS (587). `verify_token`: the IdP's RS256 public key or a verifier."""
        super().__init__(ssl_context, implicit_tls=False, name=name or f"exchange-smtp-{cloud}")
        self.offers_starttls = True
        self.gate = ExchangeGate(directory, verify_token, cloud=cloud, clock=clock, frontend=frontend)
        self.host_name = f"{self.gate.frontend.split('.', 1)[0]}.outlook.office365.com"

    def tag(self) -> str:
        """`[front end, time, id]`, the tail of Exchange's refusals (e.g. `[MN2PR05CA0004.namprd05.prod.outlook.com
        2023-09-12T20:59:57.214Z 08DBB276B7E699C4]`)."""
        now = datetime.fromtimestamp(self.gate.clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return f"[{self.gate.frontend} {now} {secrets.token_hex(8).upper()}]"

    # -- texts ------------------------------------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        date = email.utils.formatdate(self.gate.clock(), usegmt=False)
        return f"220 {self.host_name} Microsoft ESMTP MAIL Service ready at {date}"

    def ehlo_lines(self, conn: Connection) -> list[str]:
        return [f"{self.host_name} Hello [{conn.ip}]", *(_KEYWORDS_AFTER_TLS if conn.tls else _KEYWORDS_BEFORE_TLS)]

    def starttls_ready_text(self) -> str:
        return "220 2.0.0 SMTP server ready"

    def auth_before_tls_text(self) -> str:
        return f"504 5.7.4 Unrecognized authentication type {self.tag()}"

    def refuse_unauthenticated(self, conn: Connection) -> None:
        conn.write_line(f"530 5.7.57 Client not authenticated to send mail. {self.tag()}")

    def send_hello_first_text(self) -> str:
        return f"503 5.5.2 Send hello first {self.tag()}"

    def bad_sequence_text(self) -> str:
        return f"503 5.5.1 Bad sequence of commands {self.tag()}"

    def need_mail_text(self) -> str:
        return f"503 5.5.2 Need mail command {self.tag()}"

    def need_rcpt_text(self) -> str:
        return f"503 5.5.2 Need rcpt command {self.tag()}"

    def syntax_error_text(self) -> str:
        return f"501 5.5.4 Invalid arguments {self.tag()}"

    def unknown_command_text(self) -> str:
        return f"500 5.3.3 Unrecognized command {self.tag()}"

    def recipient_ok_text(self) -> str:
        return "250 2.1.5 Recipient OK"

    def message_accepted_text(self) -> str:
        return f"250 2.0.0 OK <{secrets.token_hex(12)}@{self.host_name}> [Hostname={self.gate.frontend}]"

    def reset_text(self) -> str:
        return "250 2.0.0 Resetting"

    def closing_text(self) -> str:
        return "221 2.0.0 Service closing transmission channel"

    def line_too_long_text(self) -> str:
        return f"500 5.3.3 Unrecognized command {self.tag()}"

    # -- authentication and sending ------------------------------------------------------------------
    async def authenticate(self, conn: Connection, mechanism: str, initial: str | None) -> None:
        command = f"AUTH {mechanism}"
        if mechanism == "LOGIN":
            user = await self.initial_response(conn, initial, USERNAME_CHALLENGE)
            await self.read_sasl_response(conn, PASSWORD_CHALLENGE)
            name = (b64decode(user) or b"").decode("utf-8", "replace")
            self.record(conn, command, name, "NO", "basic authentication is disabled")
            conn.write_line(f"535 5.7.139 Authentication unsuccessful, basic authentication is disabled. {self.tag()}")
            return
        if mechanism != "XOAUTH2":
            self.record(conn, command, "", "NO", "mechanism not offered")
            conn.write_line(f"504 5.7.4 Unrecognized authentication type {self.tag()}")
            return
        answer = await self.initial_response(conn, initial)
        if answer == "*":
            self.record(conn, command, "", "NO", "client cancelled")
            conn.write_line(f"501 5.0.0 Authentication canceled {self.tag()}")
            return
        user, verdict = self.gate.xoauth2(sasl_payload(answer), SMTP)
        self.record(conn, command, user, "OK" if verdict.grant is Grant.GRANTED else "NO", verdict.reason)
        if verdict.grant is Grant.SMTP_AUTH_DISABLED:
            conn.write_line(f"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
                            f"{verdict.disabled_for}. Visit https://aka.ms/smtp_auth_disabled for more information. {self.tag()}")
        elif verdict.grant is Grant.GRANTED:
            conn.state, conn.user, conn.principal = State.AUTHENTICATED, verdict.mailbox, verdict.principal
            conn.write_line("235 2.7.0 Authentication successful")
        else:  # a token fault, or a mailbox this identity may not open (the MS doc's user-mismatch example)
            conn.write_line(f"535 5.7.3 Authentication unsuccessful {self.tag()}")

    def mail_from(self, conn: Connection, address: str) -> str:
        if self.gate.may_send_as(conn.principal, address):
            self.record(conn, "MAIL FROM", address, "OK", f"{conn.principal} may send as {address}")
            return "250 2.1.0 Sender OK"
        self.record(conn, "MAIL FROM", address, "NO", f"{conn.principal} has no SendAs on {address}")
        return f"550 5.7.60 SMTP; Client does not have permissions to send as this sender {self.tag()}"
