"""The lab's Exchange Online POP3 front end (outlook.office365.com:995): the strings real Exchange sends
(catalogue §0.1, §0.4, §0.6, §0.7, §1.3, `pop3_xoauth2_one_line_rejected_exchange`).

* greeting `+OK The Microsoft Exchange POP3 service is ready. [<base64 UTF-16LE front-end name>]`;
* CAPA `TOP` / `UIDL` / `SASL PLAIN XOAUTH2` / `USER` (vmime #267);
* AUTH only in the two-step form (`AUTH XOAUTH2`, `+ `, base64 line), as the MS doc shows it; an initial response on
  the AUTH line gets `-ERR Protocol error. Connection is closed. 10` and the connection ends (getmail6 #256);
* the token is checked as for IMAP (`exchange_auth`, POP.AccessAsUser.All / POP.AccessAsApp, PopEnabled); every
  token fault, PLAIN and USER/PASS (basic auth is off) get `-ERR Authentication failure: unknown user name or bad
  password.`; success is `+OK User successfully authenticated.`;
* a valid token whose mailbox cannot be opened (no FullAccess, POP disabled, no licence) is accepted, then STAT gets
  `-ERR User is authenticated but not connected.` (the IMAP signature in POP's words; CONTRACTS §1).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from mailscope.lab.directory import Directory, MsCloud
from mailscope.lab.exchange_auth import POP, ExchangeGate, Grant, TokenVerifier, encoded_frontend
from mailscope.lab.line_server import CloseConnection, Connection, State, plain_user, sasl_payload
from mailscope.lab.pop3_server import Pop3Server

AUTH_FAILED = "-ERR Authentication failure: unknown user name or bad password."
PROTOCOL_ERROR = "-ERR Protocol error. Connection is closed. 10"
AUTHENTICATED = "+OK User successfully authenticated."
NOT_CONNECTED = "-ERR User is authenticated but not connected."


class ExchangePop3Server(Pop3Server):
    family = "exchange"

    def __init__(self, ssl_context: ssl.SSLContext, directory: Directory, verify_token: TokenVerifier | str | bytes, *,
                 cloud: MsCloud = MsCloud.GLOBAL, frontend: str = "", clock: Callable[[], float] = time.time,
                 name: str = "") -> None:
        """`verify_token`: the IdP's RS256 public key (PEM) or a callable returning verified claims or None."""
        super().__init__(ssl_context, implicit_tls=True, name=name or f"exchange-pop3-{cloud}")
        self.gate = ExchangeGate(directory, verify_token, cloud=cloud, clock=clock, frontend=frontend)

    def greeting(self, conn: Connection) -> str:
        return f"+OK The Microsoft Exchange POP3 service is ready. {encoded_frontend(self.gate.frontend)}"

    def capabilities(self, conn: Connection) -> list[str]:
        return ["TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER"]

    async def authenticate(self, conn: Connection, mechanism: str, initial: str | None) -> None:
        command = f"AUTH {mechanism}"
        if initial is not None:
            self.record(conn, command, "", "NO", "initial response on the AUTH line (Exchange POP3 takes the two-step form only)")
            conn.write_line(PROTOCOL_ERROR)
            await conn.flush()
            raise CloseConnection
        if mechanism not in ("XOAUTH2", "PLAIN"):
            self.record(conn, command, "", "NO", "mechanism not offered")
            conn.write_line(AUTH_FAILED)
            return
        answer = await self.initial_response(conn, None)
        payload = sasl_payload(answer) if answer != "*" else None
        if mechanism == "PLAIN":
            self.record(conn, command, plain_user(payload), "NO", "basic authentication is disabled")
            conn.write_line(AUTH_FAILED)
            return
        user, verdict = self.gate.xoauth2(payload, POP)
        if verdict.grant is not Grant.GRANTED and verdict.grant is not Grant.MAILBOX_REFUSED:
            self.record(conn, command, user, "NO", verdict.reason)
            conn.write_line(AUTH_FAILED)
            return
        conn.state, conn.user, conn.principal = State.AUTHENTICATED, verdict.mailbox, verdict.principal
        conn.mailbox_refused = verdict.grant is Grant.MAILBOX_REFUSED
        self.record(conn, command, user, "REFUSED_MAILBOX" if conn.mailbox_refused else "OK", verdict.reason)
        conn.write_line(AUTHENTICATED)

    def password(self, conn: Connection, user: str, password: str) -> None:
        self.record(conn, "USER/PASS", user, "NO", "basic authentication is disabled")
        conn.write_line(AUTH_FAILED)

    def mailbox_refused_text(self) -> str:
        return NOT_CONNECTED

    def wrong_state_text(self) -> str:
        return "-ERR Command is not valid in this state."

    def unknown_command_text(self) -> str:
        return "-ERR Command is not valid."

    def signing_off_text(self) -> str:
        return "+OK Microsoft Exchange Server POP3 server signing off."

    def line_too_long_text(self) -> str:
        return PROTOCOL_ERROR
