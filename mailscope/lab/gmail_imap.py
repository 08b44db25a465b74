"""The lab's Gmail IMAP (Gimap): the strings real Gmail sends (catalogue §0.2-0.7, §1.3, §2.3).

* greeting `* OK Gimap ready for requests from <ip> <id>`; implicit TLS only;
* a refused XOAUTH2/OAUTHBEARER token gets `+ <base64 {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}>`
  and the server then WAITS for the client's answer (empty line; `AQ==` for OAUTHBEARER) before the tagged
  `NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)`; `*` gets `BAD Client aborted AUTHENTICATE command. <id>`;
* a malformed XOAUTH2 string gets the same challenge, then `NO Invalid SASL argument. <id>`; an
  XOAUTH2-shaped payload under OAUTHBEARER gets `BAD Invalid SASL argument. <id>` at once;
* passwords (LOGIN, AUTHENTICATE PLAIN): the account password gets `NO [ALERT] Application-specific password
  required: ...` (2-Step Verification), an app password of the account signs in.

Credential decisions (tokeninfo, scope, user, app passwords) are `gmail_auth`'s, shared with Gmail POP and SMTP.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from mailscope.lab.directory import Directory
from mailscope.lab.gmail_auth import Bearer, GmailGate, PasswordVerdict, TokenInfo
from mailscope.lab.imap_server import Command, ImapServer
from mailscope.lab.line_server import Connection, State, plain_password, plain_user, sasl_payload

CAPABILITIES = ("IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR "
                "AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH")
POST_AUTH_CAPABILITIES = ("IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE "
                          "ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE "
                          "APPENDLIMIT=35651584")
INVALID_CREDENTIALS = "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
APP_PASSWORD_REQUIRED = "NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)"
IMAP_DISABLED = ("NO [ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable "
                 "your account for IMAP access. (Failure)")


class GmailImapServer(ImapServer):
    family = "gmail"

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        directory: Directory,
        tokeninfo: TokenInfo,
        *,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        name: str = "gmail",
    ) -> None:
        """`tokeninfo(token)` returns Google's tokeninfo dict (scope, email, exp, ...) or None for an unknown token."""
        super().__init__(ssl_context, implicit_tls=True, name=name)
        self.gate = GmailGate(directory, tokeninfo, clock=clock, seed=seed)

    # -- texts ------------------------------------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        return f"* OK Gimap ready for requests from {conn.ip} {self.gate.rid()}"

    def unknown_command_text(self) -> str:
        return f"BAD Unknown command {self.gate.rid()}"

    def unparsable_text(self) -> str:
        return f"* BAD Invalid tag {self.gate.rid()}"

    def line_too_long_text(self) -> str:
        return f"* BYE Line too long {self.gate.rid()}"

    def starttls_refused_text(self) -> str:
        return f"BAD Unknown command {self.gate.rid()}"

    # -- commands ---------------------------------------------------------------------------------
    async def cmd_capability(self, conn: Connection, cmd: Command) -> None:
        caps = POST_AUTH_CAPABILITIES if conn.state is not State.NOT_AUTHENTICATED else CAPABILITIES
        conn.write_line(f"* CAPABILITY {caps}")
        conn.write_line(f"{cmd.tag} OK Thats all she wrote! {self.gate.rid()}")

    async def cmd_noop(self, conn: Connection, cmd: Command) -> None:
        conn.write_line(f"{cmd.tag} OK Success {self.gate.rid()}")

    async def cmd_id(self, conn: Connection, cmd: Command) -> None:
        conn.write_line('* ID ("name" "GImap" "vendor" "Google, Inc." "support-url" "https://support.google.com/mail")')
        conn.write_line(f"{cmd.tag} OK Success {self.gate.rid()}")

    async def cmd_logout(self, conn: Connection, cmd: Command) -> None:
        conn.write_line("* BYE LOGOUT Requested")
        conn.write_line(f"{cmd.tag} OK 73 good day (Success)")
        conn.state = State.LOGOUT

    async def cmd_login(self, conn: Connection, cmd: Command) -> None:
        user, password = (cmd.args + ["", ""])[:2]
        self._password(conn, cmd, "LOGIN", user, password)

    async def cmd_authenticate(self, conn: Connection, cmd: Command) -> None:
        mechanism = cmd.args[0].upper() if cmd.args else ""
        if conn.state is not State.NOT_AUTHENTICATED:
            conn.write_line(f"{cmd.tag} BAD Already authenticated {self.gate.rid()}")
            return
        if mechanism not in ("XOAUTH2", "OAUTHBEARER", "PLAIN"):
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "BAD", "mechanism not supported")
            conn.write_line(f"{cmd.tag} BAD Unsupported AUTHENTICATE mechanism. {self.gate.rid()}")
            return
        answer = await self.initial_response(conn, cmd)
        if answer == "*":
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "BAD", "client aborted")
            conn.write_line(f"{cmd.tag} {self.aborted_text()}")
            return
        payload = sasl_payload(answer)
        if mechanism == "PLAIN":
            self._password(conn, cmd, "AUTHENTICATE PLAIN", plain_user(payload), plain_password(payload))
            return
        result = await self.gate.bearer(mechanism, payload, lambda challenge: self.read_sasl_response(conn, challenge))
        command = f"AUTHENTICATE {mechanism}"
        if result.outcome is Bearer.GRANTED and not self.gate.imap_enabled(result.user):
            self.record(conn, command, result.user, "NO", "IMAP disabled for the account")
            conn.write_line(f"{cmd.tag} {IMAP_DISABLED}")
        elif result.outcome is Bearer.GRANTED:
            conn.state, conn.user = State.AUTHENTICATED, result.user
            self.record(conn, command, result.user, "OK", result.reason)
            conn.write_line(f"* CAPABILITY {POST_AUTH_CAPABILITIES}")
            conn.write_line(f"{cmd.tag} OK {result.user} authenticated (Success)")
        else:
            answer = self.refusal_text(result.outcome)
            self.record(conn, command, result.user, answer.split(" ", 1)[0], result.reason)
            conn.write_line(f"{cmd.tag} {answer}")

    def refusal_text(self, outcome: Bearer) -> str:
        if outcome is Bearer.NOT_GS2:
            return f"BAD Invalid SASL argument. {self.gate.rid()}"
        if outcome is Bearer.MALFORMED:
            return f"NO Invalid SASL argument. {self.gate.rid()}"
        return self.aborted_text() if outcome is Bearer.ABORTED else INVALID_CREDENTIALS

    def aborted_text(self) -> str:
        return f"BAD Client aborted AUTHENTICATE command. {self.gate.rid()}"

    def _password(self, conn: Connection, cmd: Command, command: str, user: str, password: str) -> None:
        verdict = self.gate.password(user, password)
        self.record(conn, command, user, "OK" if verdict is PasswordVerdict.ACCEPTED else "NO", f"password sign-in: {verdict}")
        if verdict is PasswordVerdict.ACCEPTED:
            conn.state, conn.user = State.AUTHENTICATED, user
            conn.write_line(f"{cmd.tag} OK {user} authenticated (Success)")
        elif verdict is PasswordVerdict.APP_PASSWORD_REQUIRED:
            conn.write_line(f"{cmd.tag} {APP_PASSWORD_REQUIRED}")
        else:
            conn.write_line(f"{cmd.tag} {INVALID_CREDENTIALS}")

    async def dispatch(self, conn: Connection, cmd: Command) -> None:
        if cmd.name in ("NAMESPACE", "LIST", "SELECT", "EXAMINE") and conn.state is State.NOT_AUTHENTICATED:
            conn.write_line(f"{cmd.tag} BAD Command not allowed now. {self.gate.rid()}")
            return
        await super().dispatch(conn, cmd)

    async def cmd_namespace(self, conn: Connection, cmd: Command) -> None:
        conn.write_line('* NAMESPACE (("" "/")) NIL NIL')
        conn.write_line(f"{cmd.tag} OK Success {self.gate.rid()}")

    async def cmd_list(self, conn: Connection, cmd: Command) -> None:
        pattern = cmd.args[1] if len(cmd.args) > 1 else ""
        if pattern.upper() in ("INBOX", "*", "%"):
            conn.write_line('* LIST (\\HasNoChildren) "/" "INBOX"')
        if pattern in ("*", "%"):
            conn.write_line('* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"')
            conn.write_line('* LIST (\\All \\HasNoChildren) "/" "[Gmail]/All Mail"')
            conn.write_line('* LIST (\\HasNoChildren \\Sent) "/" "[Gmail]/Sent Mail"')
        conn.write_line(f"{cmd.tag} OK Success {self.gate.rid()}")

    async def open_mailbox(self, conn: Connection, cmd: Command, *, read_only: bool) -> None:
        mailbox = cmd.args[0] if cmd.args else ""
        if mailbox.upper() != "INBOX":
            conn.write_line(f"{cmd.tag} NO [NONEXISTENT] Unknown Mailbox: {mailbox} (Failure) {self.gate.rid()}")
            return
        conn.write_line("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing)")
        conn.write_line("* OK [PERMANENTFLAGS ()] Flags permitted." if read_only
                        else "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing \\*)] "
                             "Flags permitted.")
        conn.write_line("* OK [UIDVALIDITY 1] UIDs valid.")
        conn.write_line("* 0 EXISTS")
        conn.write_line("* 0 RECENT")
        conn.write_line("* OK [UIDNEXT 1] Predicted next UID.")
        conn.write_line("* OK [HIGHESTMODSEQ 1000]")
        conn.state, conn.selected = State.SELECTED, "INBOX"
        conn.write_line(f"{cmd.tag} OK [{'READ-ONLY' if read_only else 'READ-WRITE'}] INBOX selected. (Success)")
