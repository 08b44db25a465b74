"""The lab's Gmail POP3 (pop.gmail.com:995, implicit TLS): the strings real Gmail sends (catalogue §0.2, §1.3,
§2.3 `google_password_auth_rejected`, `google_imap_pop_disabled`).

* greeting `+OK Gpop ready for requests from <ip> <id>`; USER gets `+OK send PASS`, a good password `+OK Welcome.`,
  QUIT `+OK Farewell.` (fetchmail and node-poplib logs);
* CAPA: Gpop's list with `SASL PLAIN XOAUTH2 OAUTHBEARER`;
* AUTH XOAUTH2 / OAUTHBEARER in either form; a refused token gets the same base64 JSON challenge as on IMAP and SMTP,
  the server waits for the client's answer, then `-ERR [AUTH] Username and password not accepted.` (the catalogue
  has the POP final line only as [BELIEVED]; this is Gpop's password refusal);
* the account password with 2-Step Verification: `-ERR [AUTH] Application-specific password required`;
* a valid token or password of an account whose POP is off: `-ERR [SYS/PERM] Your account is not enabled for POP`
  (gaia-email-libs-and-more's prober matches that prefix in real Gmail replies).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from mailscope.lab.directory import Directory
from mailscope.lab.gmail_auth import Bearer, GmailGate, PasswordVerdict, TokenInfo
from mailscope.lab.line_server import Connection, State, plain_password, plain_user, sasl_payload
from mailscope.lab.pop3_server import Pop3Server

NOT_ACCEPTED = "-ERR [AUTH] Username and password not accepted."
APP_PASSWORD_REQUIRED = "-ERR [AUTH] Application-specific password required: https://support.google.com/accounts/answer/185833"
POP_DISABLED = ("-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable "
                "your account for POP access.")
WELCOME = "+OK Welcome."


class GmailPop3Server(Pop3Server):
    family = "gmail"

    def __init__(self, ssl_context: ssl.SSLContext, directory: Directory, tokeninfo: TokenInfo, *,
                 clock: Callable[[], float] = time.time, seed: int | None = None, name: str = "gmail-pop3") -> None:
        super().__init__(ssl_context, implicit_tls=True, name=name)
        self.gate = GmailGate(directory, tokeninfo, clock=clock, seed=seed)

    def greeting(self, conn: Connection) -> str:
        return f"+OK Gpop ready for requests from {conn.ip} {self.gate.rid()}"

    def capa_first_line(self) -> str:
        return "+OK Capability list follows"

    def capabilities(self, conn: Connection) -> list[str]:
        return ["USER", "RESP-CODES", "EXPIRE 0", "LOGIN-DELAY 300", "TOP", "UIDL", "X-GOOGLE-RICO", "SASL PLAIN XOAUTH2 OAUTHBEARER"]

    async def authenticate(self, conn: Connection, mechanism: str, initial: str | None) -> None:
        command = f"AUTH {mechanism}"
        if mechanism not in ("XOAUTH2", "OAUTHBEARER", "PLAIN"):
            self.record(conn, command, "", "NO", "mechanism not supported")
            conn.write_line(f"-ERR [AUTH] Unsupported mechanism {self.gate.rid()}")
            return
        answer = await self.initial_response(conn, initial)
        if answer == "*":
            self.record(conn, command, "", "NO", "client aborted")
            conn.write_line("-ERR [AUTH] Authentication aborted")
            return
        payload = sasl_payload(answer)
        if mechanism == "PLAIN":
            self.password(conn, plain_user(payload), plain_password(payload), command)
            return
        result = await self.gate.bearer(mechanism, payload, lambda challenge: self.read_sasl_response(conn, challenge))
        if result.outcome is Bearer.GRANTED:
            self._signed_in(conn, command, result.user, result.reason)
            return
        self.record(conn, command, result.user, "NO", result.reason)
        conn.write_line("-ERR [AUTH] Invalid SASL argument." if result.outcome in (Bearer.MALFORMED, Bearer.NOT_GS2) else NOT_ACCEPTED)

    def password(self, conn: Connection, user: str, password: str, command: str = "USER/PASS") -> None:
        verdict = self.gate.password(user, password)
        if verdict is PasswordVerdict.ACCEPTED:
            self._signed_in(conn, command, user, "app password")
            return
        self.record(conn, command, user, "NO", f"password sign-in: {verdict}")
        conn.write_line(APP_PASSWORD_REQUIRED if verdict is PasswordVerdict.APP_PASSWORD_REQUIRED else NOT_ACCEPTED)

    def _signed_in(self, conn: Connection, command: str, user: str, reason: str) -> None:
        if not self.gate.pop_enabled(user):
            self.record(conn, command, user, "NO", "POP disabled for the account")
            conn.write_line(POP_DISABLED)
            return
        conn.state, conn.user, conn.principal = State.AUTHENTICATED, user, user
        self.record(conn, command, user, "OK", reason)
        conn.write_line(WELCOME)

    def user_accepted_text(self) -> str:
        return "+OK send PASS"

    def wrong_state_text(self) -> str:
        return f"-ERR bad command {self.gate.rid()}"

    def unknown_command_text(self) -> str:
        return f"-ERR bad command {self.gate.rid()}"

    def signing_off_text(self) -> str:
        return "+OK Farewell."

    def line_too_long_text(self) -> str:
        return f"-ERR line too long {self.gate.rid()}"
