"""How the lab's Gmail decides on a credential (sans-IO), for its IMAP, POP and SMTP front ends alike (catalogue
§0.2-0.3, §1.1, §2.3).

* Bearer tokens are opaque `ya29.` strings: Gmail asks its token service (the lab IdP's tokeninfo) for scope,
  email and exp. The scope must contain `https://mail.google.com/` (the only scope Google documents for IMAP,
  POP and SMTP), the email must be the SASL user, the token alive. A refusal is announced by the base64 JSON
  error challenge, whatever the protocol.
* Passwords (LOGIN, PLAIN, USER/PASS): an app password the user created signs in; the account password does not,
  and with 2-Step Verification Gmail asks for an app password instead.
"""

from __future__ import annotations

import json
import random
import re
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mailscope.lab.directory import Directory
from mailscope.lab.line_server import b64encode

MAIL_SCOPE = "https://mail.google.com/"
ERROR_CHALLENGE = {"status": "400", "schemes": "Bearer", "scope": MAIL_SCOPE}
_XOAUTH2_RE = re.compile(r"^user=(?P<user>[^\x01]+)\x01auth=Bearer (?P<token>[^\x01\s]+)\x01\x01$", re.DOTALL)
_OAUTHBEARER_RE = re.compile(r"^n,(?:a=(?P<user>[^,]*))?,\x01(?:[a-z]+=[^\x01]*\x01)*?auth=Bearer (?P<token>[^\x01\s]+)\x01"
                             r"(?:[a-z]+=[^\x01]*\x01)*\x01$", re.DOTALL)

TokenInfo = Callable[[str], "dict[str, Any] | None"]


def error_challenge() -> str:
    """The base64 JSON Gmail sends (IMAP `+ `, POP `+ `, SMTP `334 `) before it refuses a bearer token."""
    return b64encode(json.dumps(ERROR_CHALLENGE, separators=(",", ":")).encode())


def request_id(rng: random.Random) -> str:
    """Gmail's trailing request id, e.g. `i29mb53490361edj`."""
    letters = string.ascii_lowercase
    return f"{rng.choice(letters)}{rng.randint(1, 99)}mb{rng.randint(10**7, 10**9)}{''.join(rng.choices(letters, k=3))}"


@dataclass(frozen=True, slots=True)
class BearerResponse:
    user: str
    token: str


def parse_xoauth2(payload: bytes | None) -> BearerResponse | None:
    match = _XOAUTH2_RE.match(payload.decode("utf-8", "replace")) if payload else None
    return BearerResponse(match.group("user"), match.group("token")) if match else None


def parse_oauthbearer(payload: bytes | None) -> BearerResponse | None:
    match = _OAUTHBEARER_RE.match(payload.decode("utf-8", "replace")) if payload else None
    if match is None:
        return None
    user = (match.group("user") or "").replace("=2C", ",").replace("=3D", "=")
    return BearerResponse(user, match.group("token"))


class Bearer(StrEnum):
    """How a bearer-token exchange ended (the front end turns it into its protocol's words)."""

    GRANTED = "granted"
    REFUSED = "refused"  # after the error challenge: Invalid credentials / Username and Password not accepted
    MALFORMED = "malformed"  # an XOAUTH2 string Gmail cannot parse, after the same challenge: Invalid SASL argument
    NOT_GS2 = "not_gs2"  # OAUTHBEARER without the RFC 7628 GS2 header: refused at once, no challenge
    ABORTED = "aborted"  # the client answered the challenge with `*`


@dataclass(frozen=True, slots=True)
class BearerResult:
    outcome: Bearer
    user: str
    reason: str  # for the lab's log only


class PasswordVerdict(StrEnum):
    ACCEPTED = "accepted"  # an app password of this account
    APP_PASSWORD_REQUIRED = "app_password_required"  # the account password with 2-Step Verification on
    REJECTED = "rejected"  # wrong password (or legacy passwords off): Username and Password not accepted


class GmailGate:
    """The credential checks the three Gmail front ends share, and the request ids their answers end with."""

    def __init__(self, directory: Directory, tokeninfo: TokenInfo, *, clock: Callable[[], float] = time.time,
                 seed: int | None = None) -> None:
        """`tokeninfo(token)` returns Google's tokeninfo dict (scope, email, exp, ...) or None for an unknown token."""
        self.directory = directory
        self.tokeninfo = tokeninfo
        self.clock = clock
        self.rng = random.Random(seed)

    def rid(self) -> str:
        return request_id(self.rng)

    async def bearer(self, mechanism: str, payload: bytes | None, ask: Callable[[str], Awaitable[str]]) -> BearerResult:
        """XOAUTH2 / OAUTHBEARER: accept, or send the error challenge through `ask` and WAIT for the client's answer
        (an empty line; `AQ==` for OAUTHBEARER) before the refusal, as Gmail does on every protocol."""
        if mechanism == "OAUTHBEARER":
            parsed = parse_oauthbearer(payload)
            if parsed is None:
                return BearerResult(Bearer.NOT_GS2, "", "payload is not an RFC 7628 GS2 message")
        else:
            parsed = parse_xoauth2(payload)
        reason = "malformed XOAUTH2 string" if parsed is None else self.bearer_refusal(parsed)
        user = parsed.user if parsed else ""
        if reason is None:
            return BearerResult(Bearer.GRANTED, user, "token accepted")
        if await ask(error_challenge()) == "*":
            return BearerResult(Bearer.ABORTED, user, f"{reason}; client aborted after the challenge")
        return BearerResult(Bearer.MALFORMED if parsed is None else Bearer.REFUSED, user, reason)

    def bearer_refusal(self, response: BearerResponse) -> str | None:
        """None when Gmail accepts the token for this user; otherwise the (log-only) reason."""
        info = self.tokeninfo(response.token)
        if not info or "error" in info:
            return "token unknown, expired or revoked (tokeninfo: invalid_token)"
        if float(info.get("exp", 0) or 0) < self.clock():
            return "token expired"
        scopes = str(info.get("scope", "")).split()
        if MAIL_SCOPE not in scopes:
            return f"token scope lacks {MAIL_SCOPE} (has: {' '.join(scopes) or 'none'})"
        email = str(info.get("email", ""))
        if email.lower() != response.user.lower():
            return f"token belongs to {email or '(no email: not impersonating a user)'}, SASL user is {response.user}"
        return None

    def password(self, user: str, password: str) -> PasswordVerdict:
        account = self.directory.google_user(user)
        if account is not None and password and password in account.app_passwords:
            return PasswordVerdict.ACCEPTED
        if account is None or account.two_step_verification:  # unknown users look like 2SV accounts: Gmail gives nothing away
            return PasswordVerdict.APP_PASSWORD_REQUIRED
        return PasswordVerdict.REJECTED

    def imap_enabled(self, user: str) -> bool:
        account = self.directory.google_user(user)
        return account is None or account.imap_enabled

    def pop_enabled(self, user: str) -> bool:
        account = self.directory.google_user(user)
        return account is None or account.pop_enabled
