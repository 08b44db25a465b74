"""The lab's Gmail IMAP (Gimap): the strings real Gmail sends (catalogue §0.2-0.7, §1.3, §2.3).

* greeting `* OK Gimap ready for requests from <ip> <id>`; implicit TLS only;
* a refused XOAUTH2/OAUTHBEARER token gets `+ <base64 {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}>`
  and the server then WAITS for the client's answer (empty line; `AQ==` for OAUTHBEARER) before the tagged
  `NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)`; `*` gets `BAD Client aborted AUTHENTICATE command. <id>`;
* a malformed XOAUTH2 string gets the same challenge, then `NO Invalid SASL argument. <id>`; an
  XOAUTH2-shaped payload under OAUTHBEARER gets `BAD Invalid SASL argument. <id>` at once;
* passwords (LOGIN, AUTHENTICATE PLAIN) get `NO [ALERT] Application-specific password required: ...`.

Tokens are opaque `ya29.` strings: the server asks the lab IdP's tokeninfo (scope, email, exp), as Google's
own front end would ask its token service.
"""

from __future__ import annotations

import json
import random
import re
import ssl
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailscope.lab.directory import Directory
from mailscope.lab.imap_server import Command, Connection, ImapServer, State, b64encode, plain_user, sasl_payload

CAPABILITIES = ("IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR "
                "AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH")
POST_AUTH_CAPABILITIES = ("IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE "
                          "ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE "
                          "APPENDLIMIT=35651584")
MAIL_SCOPE = "https://mail.google.com/"
ERROR_CHALLENGE = {"status": "400", "schemes": "Bearer", "scope": MAIL_SCOPE}
INVALID_CREDENTIALS = "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
APP_PASSWORD_REQUIRED = "NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)"
IMAP_DISABLED = ("NO [ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable "
                 "your account for IMAP access. (Failure)")
_XOAUTH2_RE = re.compile(r"^user=(?P<user>[^\x01]+)\x01auth=Bearer (?P<token>[^\x01\s]+)\x01\x01$", re.DOTALL)
_OAUTHBEARER_RE = re.compile(r"^n,(?:a=(?P<user>[^,]*))?,\x01(?:[a-z]+=[^\x01]*\x01)*?auth=Bearer (?P<token>[^\x01\s]+)\x01"
                             r"(?:[a-z]+=[^\x01]*\x01)*\x01$", re.DOTALL)

TokenInfo = Callable[[str], "dict[str, Any] | None"]


def error_challenge() -> str:
    return b64encode(json.dumps(ERROR_CHALLENGE, separators=(",", ":")).encode())


def request_id(rng: random.Random) -> str:
    """Gmail's trailing request id, e.g. `i29mb53490361edj`."""
    letters = string.ascii_lowercase
    return f"{rng.choice(letters)}{rng.randint(1, 99)}mb{rng.randint(10**7, 10**9)}{''.join(rng.choices(letters, k=3))}"


@dataclass(frozen=True, slots=True)
class _Parsed:
    user: str
    token: str


def parse_xoauth2(payload: bytes | None) -> _Parsed | None:
    match = _XOAUTH2_RE.match(payload.decode("utf-8", "replace")) if payload else None
    return _Parsed(match.group("user"), match.group("token")) if match else None


def parse_oauthbearer(payload: bytes | None) -> _Parsed | None:
    match = _OAUTHBEARER_RE.match(payload.decode("utf-8", "replace")) if payload else None
    if match is None:
        return None
    user = (match.group("user") or "").replace("=2C", ",").replace("=3D", "=")
    return _Parsed(user, match.group("token"))


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
        self.directory = directory
        self.tokeninfo = tokeninfo
        self.clock = clock
        self.rng = random.Random(seed)

    def rid(self) -> str:
        return request_id(self.rng)

    # -- texts ------------------------------------------------------------------------------------
    def greeting(self, conn: Connection) -> str:
        return f"* OK Gimap ready for requests from {conn.peer.rsplit(':', 1)[0]} {self.rid()}"

    def unknown_command_text(self) -> str:
        return f"BAD Unknown command {self.rid()}"

    def unparsable_text(self) -> str:
        return f"* BAD Invalid tag {self.rid()}"

    def line_too_long_text(self) -> str:
        return f"* BYE Line too long {self.rid()}"

    def starttls_refused_text(self) -> str:
        return f"BAD Unknown command {self.rid()}"

    # -- commands ---------------------------------------------------------------------------------
    async def cmd_capability(self, conn: Connection, cmd: Command) -> None:
        caps = POST_AUTH_CAPABILITIES if conn.state is not State.NOT_AUTHENTICATED else CAPABILITIES
        conn.write_line(f"* CAPABILITY {caps}")
        conn.write_line(f"{cmd.tag} OK Thats all she wrote! {self.rid()}")

    async def cmd_noop(self, conn: Connection, cmd: Command) -> None:
        conn.write_line(f"{cmd.tag} OK Success {self.rid()}")

    async def cmd_id(self, conn: Connection, cmd: Command) -> None:
        conn.write_line('* ID ("name" "GImap" "vendor" "Google, Inc." "support-url" "https://support.google.com/mail")')
        conn.write_line(f"{cmd.tag} OK Success {self.rid()}")

    async def cmd_logout(self, conn: Connection, cmd: Command) -> None:
        conn.write_line("* BYE LOGOUT Requested")
        conn.write_line(f"{cmd.tag} OK 73 good day (Success)")
        conn.state = State.LOGOUT

    async def cmd_login(self, conn: Connection, cmd: Command) -> None:
        user = cmd.args[0] if cmd.args else ""
        self.record(conn, "LOGIN", user, "NO", "password sign-in: app password required")
        conn.write_line(f"{cmd.tag} {APP_PASSWORD_REQUIRED}")

    async def cmd_authenticate(self, conn: Connection, cmd: Command) -> None:
        mechanism = cmd.args[0].upper() if cmd.args else ""
        if conn.state is not State.NOT_AUTHENTICATED:
            conn.write_line(f"{cmd.tag} BAD Already authenticated {self.rid()}")
            return
        if mechanism not in ("XOAUTH2", "OAUTHBEARER", "PLAIN"):
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "BAD", "mechanism not supported")
            conn.write_line(f"{cmd.tag} BAD Unsupported AUTHENTICATE mechanism. {self.rid()}")
            return
        answer = await self.initial_response(conn, cmd)
        if answer == "*":
            self.record(conn, f"AUTHENTICATE {mechanism}", "", "BAD", "client aborted")
            conn.write_line(f"{cmd.tag} BAD Client aborted AUTHENTICATE command. {self.rid()}")
            return
        payload = sasl_payload(answer)
        if mechanism == "PLAIN":
            self.record(conn, "AUTHENTICATE PLAIN", plain_user(payload), "NO", "password sign-in: app password required")
            conn.write_line(f"{cmd.tag} {APP_PASSWORD_REQUIRED}")
            return
        if mechanism == "OAUTHBEARER":
            parsed = parse_oauthbearer(payload)
            if parsed is None:
                self.record(conn, "AUTHENTICATE OAUTHBEARER", "", "BAD", "payload is not an RFC 7628 GS2 message")
                conn.write_line(f"{cmd.tag} BAD Invalid SASL argument. {self.rid()}")
                return
        else:
            parsed = parse_xoauth2(payload)
        reason = "malformed XOAUTH2 string" if parsed is None else self._refusal(parsed)
        if reason is None:
            assert parsed is not None
            await self._granted(conn, cmd, mechanism, parsed)
            return
        # Refusal: the error challenge, then wait for the client's acknowledgement before the tagged answer.
        acknowledgement = await self.read_sasl_response(conn, error_challenge())
        user = parsed.user if parsed else ""
        if acknowledgement == "*":
            self.record(conn, f"AUTHENTICATE {mechanism}", user, "BAD", f"{reason}; client aborted after the challenge")
            conn.write_line(f"{cmd.tag} BAD Client aborted AUTHENTICATE command. {self.rid()}")
            return
        self.record(conn, f"AUTHENTICATE {mechanism}", user, "NO", reason)
        conn.write_line(f"{cmd.tag} NO Invalid SASL argument. {self.rid()}" if parsed is None else f"{cmd.tag} {INVALID_CREDENTIALS}")

    def _refusal(self, parsed: _Parsed) -> str | None:
        """None when Gmail accepts the token for this user; otherwise the (log-only) reason."""
        info = self.tokeninfo(parsed.token)
        if not info or "error" in info:
            return "token unknown, expired or revoked (tokeninfo: invalid_token)"
        if float(info.get("exp", 0) or 0) < self.clock():
            return "token expired"
        scopes = str(info.get("scope", "")).split()
        if MAIL_SCOPE not in scopes:
            return f"token scope lacks {MAIL_SCOPE} (has: {' '.join(scopes) or 'none'})"
        email = str(info.get("email", ""))
        if email.lower() != parsed.user.lower():
            return f"token belongs to {email or '(no email: not impersonating a user)'}, SASL user is {parsed.user}"
        return None

    async def _granted(self, conn: Connection, cmd: Command, mechanism: str, parsed: _Parsed) -> None:
        user = self.directory.google_user(parsed.user)
        if user is not None and not user.imap_enabled:
            self.record(conn, f"AUTHENTICATE {mechanism}", parsed.user, "NO", "IMAP disabled for the account")
            conn.write_line(f"{cmd.tag} {IMAP_DISABLED}")
            return
        conn.state, conn.user = State.AUTHENTICATED, parsed.user
        self.record(conn, f"AUTHENTICATE {mechanism}", parsed.user, "OK", "token accepted")
        conn.write_line(f"* CAPABILITY {POST_AUTH_CAPABILITIES}")
        conn.write_line(f"{cmd.tag} OK {parsed.user} authenticated (Success)")

    async def dispatch(self, conn: Connection, cmd: Command) -> None:
        if cmd.name in ("NAMESPACE", "LIST", "SELECT", "EXAMINE") and conn.state is State.NOT_AUTHENTICATED:
            conn.write_line(f"{cmd.tag} BAD Command not allowed now. {self.rid()}")
            return
        await super().dispatch(conn, cmd)

    async def cmd_namespace(self, conn: Connection, cmd: Command) -> None:
        conn.write_line('* NAMESPACE (("" "/")) NIL NIL')
        conn.write_line(f"{cmd.tag} OK Success {self.rid()}")

    async def cmd_list(self, conn: Connection, cmd: Command) -> None:
        pattern = cmd.args[1] if len(cmd.args) > 1 else ""
        if pattern.upper() in ("INBOX", "*", "%"):
            conn.write_line('* LIST (\\HasNoChildren) "/" "INBOX"')
        if pattern in ("*", "%"):
            conn.write_line('* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"')
            conn.write_line('* LIST (\\All \\HasNoChildren) "/" "[Gmail]/All Mail"')
            conn.write_line('* LIST (\\HasNoChildren \\Sent) "/" "[Gmail]/Sent Mail"')
        conn.write_line(f"{cmd.tag} OK Success {self.rid()}")

    async def open_mailbox(self, conn: Connection, cmd: Command, *, read_only: bool) -> None:
        mailbox = cmd.args[0] if cmd.args else ""
        if mailbox.upper() != "INBOX":
            conn.write_line(f"{cmd.tag} NO [NONEXISTENT] Unknown Mailbox: {mailbox} (Failure) {self.rid()}")
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
