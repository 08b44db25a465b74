"""SASL builders and parsers (sans-IO): XOAUTH2, OAUTHBEARER (RFC 7628), PLAIN, LOGIN.

The parser is used three ways: to describe a client payload with its secret redacted, to find
defects in a malformed XOAUTH2/OAUTHBEARER string (diagnosis: `parse_response(...).defects` /
`.codes`), and to decode server challenges.

Every defect has a stable machine code (`DEFECTS` keys) and a stable human-readable message; a
payload's `codes` and `defects` lists run in parallel. Messages never contain the secret.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mailscope.patterns import lazy

MAX_CHALLENGE_DEPTH = 16  # Gmail's and RFC 7628's error objects nest two levels
_B64URL_RE = lazy(r"^[A-Za-z0-9_-]*={0,2}$")

# code -> message. Append only: the diagnosis and reports key on these codes and show these texts.
DEFECTS: dict[str, str] = {
    # encoding of the response on the wire
    "not_base64": "the SASL string was sent without base64 encoding",
    "base64_whitespace": "the base64 contains spaces or line breaks (it must be one unbroken line)",
    "base64_padding": "the base64 padding ('=') is missing or wrong",
    "base64_urlsafe": "urlsafe base64 ('-', '_') was used; SASL needs standard base64 ('+', '/')",
    "double_base64": "double base64: the SASL string was base64-encoded twice",
    # XOAUTH2 structure
    "raw_token": "the raw access token was sent as the SASL argument, not wrapped in user=…^Aauth=Bearer …^A^A",
    "missing_separators": "no ^A (\\x01) separators between user= and auth=",
    "literal_caret_a": "literal '^A' text instead of the \\x01 control character (copied from documentation)",
    "escaped_separator": "a written escape ('\\x01', '\\001', '\\u0001') instead of the \\x01 control character",
    "stray_a_after_separator": "a stray 'A' after \\x01 ('\\x01Aauth='): '^A' was copied as \\x01 plus the letter A",
    "missing_terminator": "does not end with ^A^A (\\x01\\x01)",
    "missing_user": "no user= field",
    "empty_user": "user= is empty",
    "user_not_address": "user= is not an e-mail address (Exchange and Gmail expect the mailbox address)",
    "missing_auth": "no auth= field",
    "missing_bearer": "'Bearer ' missing before the token (auth=<token>)",
    "lowercase_bearer": "'bearer' in lower case (Exchange accepts it; Gmail documents 'Bearer')",
    "wrong_scheme": "the auth= scheme is not 'Bearer'",
    "bearer_twice": "'Bearer' appears twice: the token value already started with 'Bearer '",
    "empty_token": "the token after 'Bearer ' is empty",
    "token_quoted": "the token is wrapped in quotes (copied from JSON)",
    "token_whitespace": "the token contains spaces or line breaks",
    # mechanism / payload mismatch
    "xoauth2_sent_as_oauthbearer": "XOAUTH2-style payload sent with OAUTHBEARER (no GS2 header 'n,a=…,')",
    "oauthbearer_sent_as_xoauth2": "OAUTHBEARER-style payload (GS2 header) sent with XOAUTH2",
    "gs2_header_malformed": "GS2 header malformed (expected 'n,a=<user>,')",
    "gs2_user_missing": "the GS2 header names no user (n,,): Gmail needs a=<mailbox address>",
    # PLAIN
    "plain_malformed": "PLAIN needs exactly authzid NUL user NUL password",
    "plain_password_is_token": "an OAuth access token was sent as the PLAIN password (use XOAUTH2/OAUTHBEARER)",
    "plain_payload_for_oauth_mechanism": "a PLAIN payload (user NUL password) was sent with an OAuth mechanism",
    "oauth_payload_for_password_mechanism": "an XOAUTH2/OAUTHBEARER payload was sent with PLAIN or LOGIN",
    "unknown_payload": "not a recognisable SASL payload",
    # what the bearer value is
    "bearer_is_password": "the bearer value is short and not token-shaped: a password was sent where the access token belongs",
}


def xoauth2_payload(user: str, token: str, *, scheme: str = "Bearer") -> bytes:
    return f"user={user}\x01auth={scheme} {token}\x01\x01".encode()


def _gs2_escape(user: str) -> str:
    return user.replace("=", "=3D").replace(",", "=2C")


def oauthbearer_payload(user: str, token: str, host: str, port: int) -> bytes:
    """RFC 7628 §3.1: GS2 header `n,a=<user>,` then key/value pairs separated by %x01."""
    return f"n,a={_gs2_escape(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def plain_payload(user: str, password: str, authzid: str = "") -> bytes:
    return f"{authzid}\0{user}\0{password}".encode()


def first_message(mechanism: str, user: str, secret: str, *, host: str, port: int) -> bytes:
    """The client's first SASL message for `mechanism` (XOAUTH2 and OAUTHBEARER carry the bearer token, PLAIN the password)."""
    if mechanism == "OAUTHBEARER":
        return oauthbearer_payload(user, secret, host, port)
    if mechanism == "PLAIN":
        return plain_payload(user, secret)
    return xoauth2_payload(user, secret)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str | bytes) -> bytes | None:
    """Decode standard base64 or return None (whitespace inside counts as invalid: a real defect). The strict decoder
    alone checks the alphabet and the padding (a regex before it read every payload twice)."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    raw = raw.strip()
    if not raw or len(raw) % 4:
        return None
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        return None


def decode_challenge(text: str) -> tuple[str, dict[str, Any] | None]:
    """A server `+ <base64>` continuation: the decoded text and its JSON (Gmail/RFC 7628 errors)."""
    decoded = b64decode_strict(text.strip())
    if decoded is None:
        return text.strip(), None
    as_text = decoded.decode("utf-8", "backslashreplace")
    try:
        parsed = json.loads(as_text)
    except (ValueError, RecursionError):  # a hostile server nests arrays past the parser's stack
        return as_text, None
    return as_text, parsed if isinstance(parsed, dict) and _nested_within(parsed, MAX_CHALLENGE_DEPTH) else None


def _nested_within(value: object, depth: int) -> bool:
    """JSON no deeper than `depth`: deeper structure is no error report, and every consumer (redaction, the report's
    JSON) walks it recursively."""
    if isinstance(value, dict | list):
        return depth > 0 and all(_nested_within(item, depth - 1) for item in (value.values() if isinstance(value, dict) else value))
    return True


@dataclass(slots=True)
class SaslPayload:
    """A decoded client payload. `token`/`password` hold secrets: never print this object's fields
    (its repr leaves them out; `describe_payload` shows them redacted)."""

    kind: str  # "xoauth2" | "oauthbearer" | "plain" | "raw_token" | "unknown"
    user: str | None = None
    token: str | None = None
    password: str | None = None
    scheme: str | None = None  # "Bearer" as written (case kept)
    fields: dict[str, str] = field(default_factory=dict)  # host/port/authzid...
    defects: list[str] = field(default_factory=list)  # human-readable, no secrets (DEFECTS values)
    codes: list[str] = field(default_factory=list)  # machine codes, parallel to `defects` (DEFECTS keys)

    def __repr__(self) -> str:  # never leak the token through a repr
        return f"SaslPayload(kind={self.kind!r}, user={self.user!r}, codes={self.codes!r})"

    def add(self, code: str) -> None:
        if code not in self.codes:
            self.codes.append(code)
            self.defects.append(DEFECTS[code])

    def _prepend(self, codes: list[str]) -> None:
        for code in reversed(codes):
            if code not in self.codes:
                self.codes.insert(0, code)
                self.defects.insert(0, DEFECTS[code])


_TOKEN_SHAPE_RE = lazy(r"^(?:eyJ[\w-]+\.[\w-]+\.[\w-]*|ya29\.[\w.-]+|Ew[AB][\w+/=.!*-]{16,})$")
_OPAQUE_TOKEN_RE = lazy(r"^(?:[Bb]earer\s+)?[\w.~+/=!*-]{16,}$")
_AUTH_RE = lazy(r"auth=(?P<value>[^\x01]*)", re.IGNORECASE)
_ADDRESS_RE = lazy(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_ESCAPED_SEPARATOR_RE = lazy(r"\\x01|\\001|\\u0001|\\1(?![0-9])")
_STRAY_A_RE = lazy(r"\x01A(?=auth=|user=|host=|port=)", re.IGNORECASE)
_USER_RE = lazy(r"user=(.*?)(?=\x01|auth=|$)", re.IGNORECASE | re.DOTALL)
_LITERAL_CARET_A = "^A"
_OAUTH_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
_TEXT_RE = lazy(r"[^\x02-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]*")  # may hold SASL's \0 and \x01
# The same controls as bytes: in UTF-8 a byte under 0x80 is always its own character, so bytes hold one exactly when their text does.
CONTROL_BYTES = bytes([*range(0x02, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def parse_response(text: str | bytes, mechanism: str | None = None) -> SaslPayload:
    """Parse a client SASL response as sent on the wire (base64), noting encoding defects too:
    whitespace or line breaks inside (a split response may be joined first), missing padding,
    urlsafe alphabet, or no base64 at all (the auth string sent as is)."""
    raw = text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else text
    stripped = raw.strip()
    decoded = b64decode_strict(stripped)
    if decoded is not None:
        payload = parse_payload(decoded, mechanism)
        if payload.kind == "unknown":  # an opaque token can itself be valid base64
            as_text = parse_payload(stripped.encode("utf-8", "surrogateescape"), mechanism)
            if as_text.kind == "raw_token":
                return as_text
        return payload
    codes: list[str] = []
    compact = re.sub(r"\s+", "", stripped)
    if compact != stripped:
        codes.append("base64_whitespace")
    if _B64URL_RE().match(compact) and ("-" in compact or "_" in compact):
        codes.append("base64_urlsafe")
        compact = compact.replace("-", "+").replace("_", "/")
    if compact and len(compact) % 4 and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        codes.append("base64_padding")
        compact = compact.rstrip("=") + "=" * (-len(compact.rstrip("=")) % 4)
    decoded = b64decode_strict(compact) if codes else None
    payload: SaslPayload | None = None
    if decoded is not None:
        payload = parse_payload(decoded, mechanism)
        if payload.kind == "unknown":
            payload = None
    if payload is None:
        payload = parse_payload(stripped.encode("utf-8", "surrogateescape"), mechanism)
        # A raw token is base64-ish text itself: its own defect says it all.
        codes = ["not_base64"] if payload.kind in ("xoauth2", "oauthbearer", "plain") else []
    payload._prepend(codes)
    return payload


def has_control_bytes(data: bytes) -> bool:
    """Whether `data` holds a control byte other than SASL's \\0 and \\x01 (`CONTROL_BYTES`), in one C pass."""
    return len(data.translate(None, CONTROL_BYTES)) < len(data)


def _is_text(data: bytes, text: str) -> bool:
    """Whether `text` (`data` decoded) holds no control but SASL's \\0 and \\x01 and no undecodable byte. ASCII is looked at
    as bytes (`CONTROL_BYTES`): one C pass, where the pattern cost microseconds over a payload of thousands of characters."""
    if data.isascii():
        return not has_control_bytes(data)
    return _TEXT_RE().fullmatch(text) is not None


def parse_payload(data: bytes, mechanism: str | None = None, *, _depth: int = 0) -> SaslPayload:
    """Parse what a client sent after AUTHENTICATE (already base64-decoded)."""
    text = data.decode("utf-8", "surrogateescape")
    mech = (mechanism or "").upper()
    stripped = text.strip()
    if not _is_text(data, text):  # binary (an opaque token's base64 decodes to this)
        payload = SaslPayload("unknown")
        payload.add("unknown_payload")
        return payload
    payload = _plain_xoauth2(text, mech)  # the payload every client builds, in a few passes
    if payload is None:
        if "\0" in text and "auth=" not in text.lower():
            payload = _parse_plain(text)
            if mech in _OAUTH_MECHANISMS:
                payload.add("plain_payload_for_oauth_mechanism")
            return payload
        nested = b64decode_strict(stripped) if _depth < 2 else None
        if nested is not None and (b"auth=" in nested.lower() or nested.count(b"\0") == 2):
            inner = parse_payload(nested, mechanism, _depth=_depth + 1)
            inner._prepend(["double_base64"])
            return inner
        opaque = mech in _OAUTH_MECHANISMS and _OPAQUE_TOKEN_RE().match(stripped) and "user=" not in stripped.lower()
        if _TOKEN_SHAPE_RE().match(stripped) or opaque:
            payload = SaslPayload("raw_token")
            scheme, _, token = stripped.partition(" ") if " " in stripped else ("", "", stripped)
            payload.token, payload.scheme = token, scheme or None
            payload.add("raw_token")
            return payload
        if stripped.startswith(("n,", "y,", "p=")):
            payload = _parse_oauthbearer(text, mech)
        elif "auth=" in text.lower() or text.lower().startswith("user="):
            payload = _parse_xoauth2(text, mech)
        else:
            payload = SaslPayload("unknown")
            payload.add("unknown_payload")
            return payload
    if mech in ("PLAIN", "LOGIN"):
        payload.add("oauth_payload_for_password_mechanism")
    return payload


def _normalise_separators(text: str, payload: SaslPayload) -> str:
    """Note and undo the copy-paste separator mistakes so the fields can still be read."""
    if _LITERAL_CARET_A in text:
        payload.add("literal_caret_a")
        text = text.replace(_LITERAL_CARET_A, "\x01")
    if _ESCAPED_SEPARATOR_RE().search(text):
        payload.add("escaped_separator")
        text = _ESCAPED_SEPARATOR_RE().sub("\x01", text)
    if _STRAY_A_RE().search(text):
        payload.add("stray_a_after_separator")
        text = _STRAY_A_RE().sub("\x01", text)
    return text


def _auth_field(text: str, payload: SaslPayload) -> None:
    m = _AUTH_RE().search(text)
    if not m:
        payload.add("missing_auth")
        return
    _auth_value(m.group("value"), payload)


def _auth_value(value: str, payload: SaslPayload) -> None:
    """What `auth=` holds: the scheme and the token, and their defects."""
    scheme, space, token = value.partition(" ")
    if not space:
        if scheme.lower() == "bearer":
            payload.scheme, payload.token = scheme, ""
            payload.add("empty_token")
            return
        payload.token = value  # "auth=<token>" with no scheme word
        payload.add("missing_bearer")
        return
    payload.scheme, payload.token = scheme, token
    if scheme.lower() != "bearer":
        payload.add("wrong_scheme")
    elif scheme != "Bearer":
        payload.add("lowercase_bearer")
    if token[:7].lower() == "bearer ":  # not the whole token lowered: it runs to thousands of characters
        payload.add("bearer_twice")
        payload.token = token = token[7:].lstrip()
    if not token.strip():
        payload.add("empty_token")
    elif len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        payload.add("token_quoted")
    elif _has_whitespace(token):
        payload.add("token_whitespace")
    elif looks_like_password(token) and "missing_terminator" not in payload.codes:  # a cut token is short too
        payload.add("bearer_is_password")


def _has_whitespace(value: str) -> bool:
    """Any whitespace (what `\\s` matches) in `value`: `str.split` scans a token of thousands of characters in C several
    times faster than a regex search does."""
    return bool(value) and value.split() != [value]


PASSWORD_MAX = 64  # access tokens run to hundreds of characters (Google's ya29. ~200, Entra's JWTs 1,000-4,000)


def looks_like_password(value: str) -> bool:
    """A bearer value no issuer would mint: short, no token shape (JWT, ya29., EwA…), not even a JWT's dots."""
    return 0 < len(value) <= PASSWORD_MAX and not _TOKEN_SHAPE_RE().match(value) and value.count(".") < 2


def _user_field(user: str, payload: SaslPayload) -> None:
    payload.user = user.strip()
    if not payload.user:
        payload.add("empty_user")
    elif not _ADDRESS_RE().match(payload.user):
        payload.add("user_not_address")


def _parse_xoauth2(text: str, mech: str) -> SaslPayload:
    payload = SaslPayload("xoauth2")
    if mech == "OAUTHBEARER":
        payload.add("xoauth2_sent_as_oauthbearer")
    text = _normalise_separators(text, payload)
    if "\x01" not in text:
        payload.add("missing_separators")
    if not text.endswith("\x01\x01"):
        payload.add("missing_terminator")
    m = _USER_RE().match(text)
    if m:
        _user_field(m.group(1), payload)
    else:
        payload.add("missing_user")
    _auth_field(text, payload)
    return payload


def _plain_xoauth2(text: str, mech: str) -> SaslPayload | None:
    """What `_parse_xoauth2` gives for ASCII `text` of the shape every client builds, `user=U\x01auth=V\x01\x01`, read in a
    few passes over a token of thousands of characters (the pattern searches took a dozen), or None for any other text,
    which the full parser reads. Equal because, for that shape: there are exactly three \x01, so `V` holds none and no
    other parser branch applies (neither base64 nor a token shape holds a \x01, it starts `user=`, and a text holding
    `auth=` is no PLAIN triple); without `^` and `\\` no separator was mistyped, and no \x01 is followed by a stray `A`
    before a field name (the one inside is followed by `auth=`); with no `auth=` in `U` (any case) the user field ends
    at the first \x01, and the first `auth=` is the one after it, whose value runs to the final \x01\x01."""
    if not text.isascii() or not text.startswith("user=") or not text.endswith("\x01\x01"):
        return None
    separator = text.find("\x01")
    if text.find("\x01", separator + 1) != len(text) - 2 or "^" in text or "\\" in text:  # three \x01: one, then the end's two
        return None
    user = text[5:separator]
    if not text.startswith("\x01auth=", separator) or "auth=" in user.lower():
        return None
    payload = SaslPayload("xoauth2")
    if mech == "OAUTHBEARER":
        payload.add("xoauth2_sent_as_oauthbearer")
    _user_field(user, payload)
    _auth_value(text[separator + 6 : -2], payload)
    return payload


def _parse_oauthbearer(text: str, mech: str) -> SaslPayload:
    payload = SaslPayload("oauthbearer")
    if mech == "XOAUTH2":
        payload.add("oauthbearer_sent_as_xoauth2")
    text = _normalise_separators(text, payload)
    header, _, rest = text.partition("\x01")
    m = re.match(r"^[nyp][^,]*,(?:a=([^,]*))?,$", header)
    if not m:
        payload.add("gs2_header_malformed")
    elif m.group(1) is None:
        payload.add("gs2_user_missing")
    else:
        _user_field(m.group(1).replace("=2C", ",").replace("=3D", "="), payload)
    for part in rest.split("\x01"):
        key, sep, value = part.partition("=")
        if sep and key in ("host", "port"):
            payload.fields[key] = value
    if not text.endswith("\x01\x01"):
        payload.add("missing_terminator")
    _auth_field(text, payload)
    return payload


def _parse_plain(text: str) -> SaslPayload:
    parts = text.split("\0")
    if len(parts) != 3:
        payload = SaslPayload("plain", password=text)
        payload.add("plain_malformed")
        return payload
    authzid, user, password = parts
    payload = SaslPayload("plain", user=user, password=password, fields={"authzid": authzid})
    if _TOKEN_SHAPE_RE().match(password.strip()):
        payload.add("plain_password_is_token")
    return payload


def _shown_user(user: str | None, describe_secret: Any) -> str:
    """The user as written, unless a malformed payload put something token-like there (long, no '@')."""
    if user and "@" not in user and len(user) >= 32 and not _has_whitespace(user):
        return describe_secret(user, "token-like user")
    return user or ""


@functools.lru_cache(maxsize=1)
def _described_token(describe_secret: Any, token: str) -> str:
    """`describe_secret(token)`, remembered for the last token: an audit's sessions all send one shared token, and its
    description (shape check and SHA-256 over thousands of characters) depends on nothing but the token. One entry: no
    other secret is kept here."""
    return describe_secret(token)


def describe_payload(payload: SaslPayload, describe_secret: Any) -> str:
    """Readable structure with the secret replaced by `describe_secret(value)`."""
    if payload.kind == "plain":
        secret = describe_secret(payload.password or "", "password")
        if payload.user is None:
            return f"malformed {secret}"
        authzid = _shown_user(payload.fields.get("authzid", ""), describe_secret)
        return f"authzid={authzid} user={_shown_user(payload.user, describe_secret)} password={secret}"
    if payload.kind == "raw_token":
        scheme = f"{payload.scheme} " if payload.scheme else ""
        return f"raw token {scheme}{describe_secret(payload.token or '')}"
    if payload.kind == "unknown":
        return "unrecognised payload"
    parts = []
    if payload.kind == "oauthbearer":
        parts.append(f"n,a={_shown_user(payload.user, describe_secret)},")
        parts += [f"{k}={v}" for k, v in payload.fields.items()]
    else:
        parts.append(f"user={_shown_user(payload.user, describe_secret)}")
    token = _described_token(describe_secret, payload.token) if payload.token else "<missing>"
    parts.append(f"auth={payload.scheme} {token}" if payload.scheme else f"auth={token}")
    return " ^A ".join(parts) + " ^A^A"
