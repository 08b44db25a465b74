"""The lab's Exchange Online IMAP4 front end: the strings real Exchange sends (catalogue §0, §1.3).

* greeting `* OK The Microsoft Exchange IMAP4 service is ready. [<base64 UTF-16LE front-end name>]`;
* capabilities after TLS with `AUTH=PLAIN AUTH=XOAUTH2 SASL-IR`; on a STARTTLS listener before TLS
  `LOGINDISABLED STARTTLS` and no `AUTH=`; after authentication the three Exchange-only additions;
* one answer for every token fault, `NO AUTHENTICATE failed.` (no SASL error challenge), the same for
  PLAIN (basic auth is off) and `NO LOGIN failed.` for LOGIN;
* a valid token whose mailbox cannot be opened: `OK AUTHENTICATE completed.`, then each mailbox command
  gets `BAD User is authenticated but not connected.` followed by `* BYE Connection closed. 14`;
* a session whose token expires: `* BYE Session invalidated - AccessTokenExpired` on the next command.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from mailscope.lab.directory import Directory, MsCloud
from mailscope.lab.exchange_auth import IMAP, ExchangeGate, Grant, TokenVerifier, encoded_frontend
from mailscope.lab.imap_server import Command, ImapServer
from mailscope.lab.line_server import Connection, State, plain_user, sasl_payload

_BASE_CAPS = "IMAP4 IMAP4rev1"
_TLS_CAPS = f"{_BASE_CAPS} AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
_PRE_STARTTLS_CAPS = f"{_BASE_CAPS} LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+"
_POST_AUTH_EXTRA = "CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE"
_MAILBOX_COMMANDS = {"NAMESPACE", "LIST", "LSUB", "SELECT", "EXAMINE", "STATUS", "CREATE", "DELETE", "RENAME", "SUBSCRIBE",
                     "UNSUBSCRIBE", "APPEND", "IDLE", "FETCH", "SEARCH", "UID", "STORE", "COPY", "MOVE", "EXPUNGE", "CLOSE",
                     "UNSELECT", "CHECK"}

AUTH_FAILED = "NO AUTHENTICATE failed."
NOT_CONNECTED = "BAD User is authenticated but not connected."
CONNECTION_CLOSED = "* BYE Connection closed. 14"
TOKEN_EXPIRED_BYE = "* BYE Session invalidated - AccessTokenExpired"


class ExchangeImapServer(ImapServer):
    family = "exchange"

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        directory: Directory,
        verify_token: TokenVerifier | str | bytes,
        *,
        cloud: MsCloud = MsCloud.GLOBAL,
        implicit_tls: bool = True,
        frontend: str = "",
        clock: Callable[[], float] = time.time,
        name: str = "",
    ) -> None:
        """`verify_token`: the IdP's RS256 public key (PEM) or a callable returning verified claims or None."""
        super().__init__(ssl_context, implicit_tls=implicit_tls, name=name or f"exchange-{cloud}")
        self.offers_starttls = not implicit_tls
        self.gate = ExchangeGate(directory, verify_token, cloud=cloud, clock=clock, frontend=frontend)

    # -- texts ------------------------------------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        return f"* OK The Microsoft Exchange IMAP4 service is ready. {encoded_frontend(self.gate.frontend)}"

    def capabilities(self, conn: Connection) -> str:
        if not conn.tls:
            return _PRE_STARTTLS_CAPS
        if conn.state in (State.AUTHENTICATED, State.SELECTED):
            return f"{_TLS_CAPS} {_POST_AUTH_EXTRA}"
        return _TLS_CAPS

    def unknown_command_text(self) -> str:
        return "BAD Command Error. 12"

    def unparsable_text(self) -> str:
        return "* BAD Command Error. 10"

    def line_too_long_text(self) -> str:
        return "* BYE Connection closed. 14"

    def starttls_refused_text(self) -> str:
        return "BAD Command received in Invalid state."

    def session_expired(self, conn: Connection) -> bool:
        return conn.token_expires_at is not None and self.gate.clock() > conn.token_expires_at

    def session_expired_text(self) -> str:
        return TOKEN_EXPIRED_BYE

    # -- commands ---------------------------------------------------------------------------------
    async def cmd_capability(self, conn: Connection, cmd: Command) -> None:
        conn.write_line(f"* CAPABILITY {self.capabilities(conn)}")
        conn.write_line(f"{cmd.tag} OK CAPABILITY completed.")

    async def cmd_noop(self, conn: Connection, cmd: Command) -> None:
        conn.write_line(f"{cmd.tag} OK NOOP completed.")

    async def cmd_id(self, conn: Connection, cmd: Command) -> None:
        conn.write_line("* ID NIL")
        conn.write_line(f"{cmd.tag} OK ID completed.")

    async def cmd_logout(self, conn: Connection, cmd: Command) -> None:
        conn.write_line("* BYE Microsoft Exchange Server IMAP4 server signing off.")
        conn.write_line(f"{cmd.tag} OK LOGOUT completed.")
        conn.state = State.LOGOUT

    async def cmd_login(self, conn: Connection, cmd: Command) -> None:
        user = cmd.args[0] if cmd.args else ""
        if not conn.tls:
            self.record(conn, "LOGIN", user, "BAD", "LOGINDISABLED before STARTTLS")
            conn.write_line(f"{cmd.tag} BAD Command received in Invalid state.")
            return
        self.record(conn, "LOGIN", user, "NO", "basic authentication is disabled")
        conn.write_line(f"{cmd.tag} NO LOGIN failed.")

    async def cmd_authenticate(self, conn: Connection, cmd: Command) -> None:
        mechanism = cmd.args[0].upper() if cmd.args else ""
        if conn.state is not State.NOT_AUTHENTICATED or not conn.tls:
            why = "already authenticated" if conn.tls else "AUTHENTICATE before STARTTLS"
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "BAD", why)
            conn.write_line(f"{cmd.tag} BAD Command received in Invalid state.")
            return
        if mechanism not in ("XOAUTH2", "PLAIN"):
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "NO", "mechanism not offered")
            conn.write_line(f"{cmd.tag} {AUTH_FAILED}")
            return
        answer = await self.initial_response(conn, cmd)
        if answer == "*":
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "BAD", "client cancelled")
            conn.write_line(f"{cmd.tag} BAD Command Argument Error. 12")
            return
        payload = sasl_payload(answer)
        if mechanism == "PLAIN":
            self.record(conn, "AUTHENTICATE PLAIN", plain_user(payload), "NO", "basic authentication is disabled")
            conn.write_line(f"{cmd.tag} {AUTH_FAILED}")
            return
        self._xoauth2(conn, cmd, payload)

    def _xoauth2(self, conn: Connection, cmd: Command, payload: bytes | None) -> None:
        user, verdict = self.gate.xoauth2(payload, IMAP)
        if verdict.grant is Grant.REFUSED:
            self.record(conn, "AUTHENTICATE XOAUTH2", user, "NO", verdict.reason)
            conn.write_line(f"{cmd.tag} {AUTH_FAILED}")
            return
        conn.state = State.AUTHENTICATED
        conn.user = verdict.mailbox
        conn.token_expires_at = verdict.expires_at
        conn.mailbox_refused = verdict.grant is Grant.MAILBOX_REFUSED
        self.record(conn, "AUTHENTICATE XOAUTH2", user, "REFUSED_MAILBOX" if conn.mailbox_refused else "OK", verdict.reason)
        conn.write_line(f"{cmd.tag} OK AUTHENTICATE completed.")

    async def dispatch(self, conn: Connection, cmd: Command) -> None:
        if cmd.name in _MAILBOX_COMMANDS:
            if conn.state is State.NOT_AUTHENTICATED:
                conn.write_line(f"{cmd.tag} BAD Command received in Invalid state.")
                return
            if conn.mailbox_refused and not self.session_expired(conn):
                conn.write_line(f"{cmd.tag} {NOT_CONNECTED}")
                conn.write_line(CONNECTION_CLOSED)
                await conn.flush()
                conn.state = State.LOGOUT
                return
        await super().dispatch(conn, cmd)

    async def cmd_namespace(self, conn: Connection, cmd: Command) -> None:
        conn.write_line('* NAMESPACE (("" "/")) NIL NIL')
        conn.write_line(f"{cmd.tag} OK NAMESPACE completed.")

    async def cmd_list(self, conn: Connection, cmd: Command) -> None:
        pattern = cmd.args[1] if len(cmd.args) > 1 else ""
        if pattern.upper() in ("INBOX", "*", "%"):
            conn.write_line('* LIST (\\Marked \\HasNoChildren) "/" INBOX')
        if pattern in ("*", "%"):
            conn.write_line('* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"')
            conn.write_line('* LIST (\\HasNoChildren \\Trash) "/" "Deleted Items"')
        conn.write_line(f"{cmd.tag} OK LIST completed.")

    async def open_mailbox(self, conn: Connection, cmd: Command, *, read_only: bool) -> None:
        mailbox = cmd.args[0] if cmd.args else ""
        if mailbox.upper() != "INBOX":
            conn.write_line(f"{cmd.tag} NO {cmd.name} failed.")
            return
        conn.write_line("* 0 EXISTS")
        conn.write_line("* 0 RECENT")
        conn.write_line("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)")
        conn.write_line("* OK [PERMANENTFLAGS ()] Permanent flags" if read_only
                        else "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)] Permanent flags")
        conn.write_line("* OK [UIDVALIDITY 14] UIDVALIDITY value")
        conn.write_line("* OK [UIDNEXT 1] The next unique identifier value")
        conn.state, conn.selected = State.SELECTED, "INBOX"
        conn.write_line(f"{cmd.tag} OK [{'READ-ONLY' if read_only else 'READ-WRITE'}] {cmd.name} completed.")
