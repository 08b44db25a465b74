"""The lab's Gmail SMTP submission (smtp.gmail.com:465 implicit TLS, :587 STARTTLS): the strings real Gmail sends
(catalogue §0.2, §0.4, §0.7, §1.3, §2.3; Google's XOAUTH2 doc transcript).

* greeting `220 smtp.gmail.com ESMTP <id> - gsmtp`; EHLO `smtp.gmail.com at your service, [<ip>]` and, after TLS,
  `AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH` (on 587 before STARTTLS: `STARTTLS`, no AUTH);
* XOAUTH2 / OAUTHBEARER with the initial response or after `334 `; a refused token gets `334 <base64 JSON>`, the
  server WAITS for the client's empty line, then `535-5.7.8 Username and Password not accepted. ...` (Gmail wants
  https://mail.google.com/ on SMTP too: Google's doc names no other scope, though one report says gmail.modify sent
  mail; the lab follows the doc); success `235 2.7.0 Accepted`;
* LOGIN/PLAIN with the account password and 2-Step Verification:
  `534-5.7.9 Application-specific password required. ... InvalidSecondFactor`; an app password signs in;
* MAIL FROM before AUTH: `530-5.7.0 Authentication Required.`; after AUTH every sender is accepted (Gmail rewrites
  a From it does not own instead of refusing it).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from mailscope.lab.directory import Directory
from mailscope.lab.gmail_auth import Bearer, GmailGate, PasswordVerdict, TokenInfo
from mailscope.lab.line_server import Connection, State, b64decode, plain_password, plain_user, sasl_payload
from mailscope.lab.smtp_server import SmtpServer

USERNAME_CHALLENGE = "VXNlcm5hbWU6"  # base64 "Username:"
PASSWORD_CHALLENGE = "UGFzc3dvcmQ6"  # base64 "Password:"
_KEYWORDS = ["SIZE 35882577", "8BITMIME", "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH", "ENHANCEDSTATUSCODES",
             "PIPELINING", "CHUNKING", "SMTPUTF8"]
_KEYWORDS_BEFORE_STARTTLS = ["SIZE 35882577", "8BITMIME", "STARTTLS", "ENHANCEDSTATUSCODES", "PIPELINING", "CHUNKING", "SMTPUTF8"]


class GmailSmtpServer(SmtpServer):
    family = "gmail"

    def __init__(self, ssl_context: ssl.SSLContext, directory: Directory, tokeninfo: TokenInfo, *, implicit_tls: bool = True,
                 clock: Callable[[], float] = time.time, seed: int | None = None, name: str = "") -> None:
        """implicit_tls True: port 465; False: port 587 with STARTTLS."""
        super().__init__(ssl_context, implicit_tls=implicit_tls, name=name or ("gmail-smtp" if implicit_tls else "gmail-smtp-starttls"))
        self.offers_starttls = not implicit_tls
        self.gate = GmailGate(directory, tokeninfo, clock=clock, seed=seed)

    def gsmtp(self, text: str) -> str:
        """Gmail's reply tail: the request id and `- gsmtp`."""
        return f"{text} {self.gate.rid()} - gsmtp"

    def refuse(self, conn: Connection, code: int, enhanced: str, first: str, link: str) -> None:
        """Gmail's two-line refusals: `535-5.7.8 <text>. For more information, go to` / `535 5.7.8  <link> <id> - gsmtp`."""
        self.reply(conn, code, f"{enhanced} {first} For more information, go to", self.gsmtp(f"{enhanced}  {link}"))

    # -- texts ------------------------------------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        return self.gsmtp("220 smtp.gmail.com ESMTP")

    def ehlo_lines(self, conn: Connection) -> list[str]:
        return [f"smtp.gmail.com at your service, [{conn.ip}]", *(_KEYWORDS if conn.tls else _KEYWORDS_BEFORE_STARTTLS)]

    def auth_before_tls_text(self) -> str:
        return self.gsmtp("530 5.7.0 Must issue a STARTTLS command first.")

    def refuse_unauthenticated(self, conn: Connection) -> None:
        self.refuse(conn, 530, "5.7.0", "Authentication Required.", "https://support.google.com/mail/?p=WantAuthError")

    def send_hello_first_text(self) -> str:
        return self.gsmtp("503 5.5.1 EHLO/HELO first.")

    def bad_sequence_text(self) -> str:
        return self.gsmtp("503 5.5.1 Bad sequence of commands.")

    def syntax_error_text(self) -> str:
        return self.gsmtp("555 5.5.2 Syntax error.")

    def unknown_command_text(self) -> str:
        return self.gsmtp("502 5.5.1 Unrecognized command.")

    def recipient_ok_text(self) -> str:
        return self.gsmtp("250 2.1.5 OK")

    def start_data_text(self) -> str:
        return self.gsmtp("354 Go ahead")

    def message_accepted_text(self) -> str:
        return self.gsmtp(f"250 2.0.0 OK  {int(self.gate.clock())}")

    def reset_text(self) -> str:
        return self.gsmtp("250 2.1.5 Flushed")

    def ok_text(self) -> str:
        return self.gsmtp("250 2.0.0 OK")

    def closing_text(self) -> str:
        return self.gsmtp("221 2.0.0 closing connection")

    def line_too_long_text(self) -> str:
        return self.gsmtp("500 5.5.2 Line too long.")

    # -- authentication and sending ------------------------------------------------------------------
    async def authenticate(self, conn: Connection, mechanism: str, initial: str | None) -> None:
        command = f"AUTH {mechanism}"
        if mechanism == "LOGIN":
            user = (b64decode(await self.initial_response(conn, initial, USERNAME_CHALLENGE)) or b"").decode("utf-8", "replace")
            password = (b64decode(await self.read_sasl_response(conn, PASSWORD_CHALLENGE)) or b"").decode("utf-8", "replace")
            self._password(conn, command, user, password)
            return
        if mechanism not in ("PLAIN", "XOAUTH2", "OAUTHBEARER"):
            self.record(conn, command, "", "NO", "mechanism not supported")
            conn.write_line(self.gsmtp("504 5.7.4 Unrecognized authentication type."))
            return
        answer = await self.initial_response(conn, initial)
        if answer == "*":
            self.record(conn, command, "", "NO", "client cancelled")
            conn.write_line(self.gsmtp("501 5.7.0 Client initiated Authentication Exchange cancelled."))
            return
        payload = sasl_payload(answer)
        if mechanism == "PLAIN":
            self._password(conn, command, plain_user(payload), plain_password(payload))
            return
        result = await self.gate.bearer(mechanism, payload, lambda challenge: self.read_sasl_response(conn, challenge))
        self.record(conn, command, result.user, "OK" if result.outcome is Bearer.GRANTED else "NO", result.reason)
        if result.outcome is Bearer.GRANTED:
            self._signed_in(conn, result.user)
        elif result.outcome in (Bearer.MALFORMED, Bearer.NOT_GS2):
            self.refuse(conn, 555, "5.5.2", "Syntax error, cannot decode response.", "https://support.google.com/a/answer/3221692")
        elif result.outcome is Bearer.ABORTED:
            conn.write_line(self.gsmtp("501 5.7.0 Client initiated Authentication Exchange cancelled."))
        else:
            self.refuse(conn, 535, "5.7.8", "Username and Password not accepted.", "https://support.google.com/mail/?p=BadCredentials")

    def _password(self, conn: Connection, command: str, user: str, password: str) -> None:
        verdict = self.gate.password(user, password)
        self.record(conn, command, user, "OK" if verdict is PasswordVerdict.ACCEPTED else "NO", f"password sign-in: {verdict}")
        if verdict is PasswordVerdict.ACCEPTED:
            self._signed_in(conn, user)
        elif verdict is PasswordVerdict.APP_PASSWORD_REQUIRED:
            self.refuse(conn, 534, "5.7.9", "Application-specific password required.",
                        "https://support.google.com/mail/?p=InvalidSecondFactor")
        else:
            self.refuse(conn, 535, "5.7.8", "Username and Password not accepted.", "https://support.google.com/mail/?p=BadCredentials")

    def _signed_in(self, conn: Connection, user: str) -> None:
        conn.state, conn.user, conn.principal = State.AUTHENTICATED, user, user
        conn.write_line("235 2.7.0 Accepted")

    def mail_from(self, conn: Connection, address: str) -> str:
        return self.gsmtp("250 2.1.0 OK")
