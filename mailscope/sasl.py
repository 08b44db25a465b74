"""SASL builders and parsers (sans-IO): XOAUTH2, OAUTHBEARER (RFC 7628), PLAIN, LOGIN.

The parser is used three ways: to describe a client payload with its secret redacted, to find
defects in a malformed XOAUTH2/OAUTHBEARER string (diagnosis), and to decode server challenges.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

_B64_RE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


def xoauth2_payload(user: str, token: str, *, scheme: str = "Bearer") -> bytes:
    return f"user={user}\x01auth={scheme} {token}\x01\x01".encode()


def _gs2_escape(user: str) -> str:
    return user.replace("=", "=3D").replace(",", "=2C")


def oauthbearer_payload(user: str, token: str, host: str, port: int) -> bytes:
    """RFC 7628 §3.1: GS2 header `n,a=<user>,` then key/value pairs separated by %x01."""
    return f"n,a={_gs2_escape(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def plain_payload(user: str, password: str, authzid: str = "") -> bytes:
    return f"{authzid}\0{user}\0{password}".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str | bytes) -> bytes | None:
    """Decode standard base64 or return None (whitespace inside counts as invalid: a real defect)."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    raw = raw.strip()
    if not raw or len(raw) % 4 or not _B64_RE.match(raw):
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_challenge(text: str) -> tuple[str, dict[str, Any] | None]:
    """A server `+ <base64>` continuation: the decoded text and its JSON (Gmail/RFC 7628 errors)."""
    decoded = b64decode_strict(text.strip())
    if decoded is None:
        return text.strip(), None
    as_text = decoded.decode("utf-8", "backslashreplace")
    try:
        parsed = json.loads(as_text)
    except ValueError:
        return as_text, None
    return as_text, parsed if isinstance(parsed, dict) else None


@dataclass(slots=True)
class SaslPayload:
    """A decoded client payload. `token`/`password` hold secrets: never print this object's fields."""

    kind: str  # "xoauth2" | "oauthbearer" | "plain" | "raw_token" | "unknown"
    user: str | None = None
    token: str | None = None
    password: str | None = None
    scheme: str | None = None  # "Bearer" as written (case kept)
    fields: dict[str, str] = field(default_factory=dict)  # host/port/authzid...
    defects: list[str] = field(default_factory=list)  # human-readable, no secrets

    def __repr__(self) -> str:  # never leak the token through a repr
        return f"SaslPayload(kind={self.kind!r}, user={self.user!r}, defects={self.defects!r})"


_RAW_TOKEN_RE = re.compile(r"^(eyJ[\w-]+\.[\w-]+\.[\w-]*|ya29\.[\w.-]+|Ew[AB][\w+/=.!*-]{16,})$")
_AUTH_RE = re.compile(r"auth=(?P<scheme>\S+?)(?: (?P<token>[^\x01]*))?(?=\x01|$)", re.IGNORECASE)


def parse_payload(data: bytes, mechanism: str | None = None) -> SaslPayload:
    """Parse what a client sent after AUTHENTICATE (already base64-decoded)."""
    text = data.decode("utf-8", "surrogateescape")
    mech = (mechanism or "").upper()
    if text.count("\0") == 2 and "auth=" not in text:
        authzid, user, password = text.split("\0")
        return SaslPayload("plain", user=user, password=password, fields={"authzid": authzid})
    if _RAW_TOKEN_RE.match(text.strip()):
        return SaslPayload(
            "raw_token",
            token=text.strip(),
            defects=["the raw access token was sent as the SASL argument, not wrapped in user=…^Aauth=Bearer …^A^A"],
        )
    nested = b64decode_strict(text)
    if nested is not None and b"auth=" in nested:
        inner = parse_payload(nested, mechanism)
        inner.defects.insert(0, "double base64: the SASL string was base64-encoded twice")
        return inner
    if text.startswith(("n,", "y,", "p=")) or mech == "OAUTHBEARER":
        return _parse_oauthbearer(text, mech)
    if "auth=" in text.lower() or text.startswith("user="):
        return _parse_xoauth2(text, mech)
    return SaslPayload("unknown", defects=["not a recognisable SASL payload"])


def _auth_field(text: str, payload: SaslPayload) -> None:
    m = _AUTH_RE.search(text)
    if not m:
        payload.defects.append("no auth= field")
        return
    payload.scheme = m.group("scheme")
    payload.token = m.group("token")
    if payload.token is None:
        # "auth=<token>" with no scheme word: the scheme group swallowed the token.
        payload.token, payload.scheme = payload.scheme, None
        payload.defects.append("'Bearer ' missing before the token (auth=<token>)")
    elif payload.scheme.lower() != "bearer":
        payload.defects.append(f"auth scheme is {payload.scheme!r}, not 'Bearer'")
    elif payload.scheme != "Bearer":
        payload.defects.append("'bearer' in lower case (Exchange accepts it; Gmail documents 'Bearer')")


def _parse_xoauth2(text: str, mech: str) -> SaslPayload:
    payload = SaslPayload("xoauth2")
    if mech == "OAUTHBEARER":
        payload.defects.append("XOAUTH2-style payload sent with OAUTHBEARER (no GS2 header 'n,a=…,')")
    if "\x01" not in text:
        payload.defects.append("no ^A (\\x01) separators between user= and auth=")
    if "\x01Aauth=" in text or "^A" in text:
        payload.defects.append("literal '^A' or a stray 'A' after \\x01 (copied from documentation)")
    if not text.endswith("\x01\x01"):
        payload.defects.append("does not end with ^A^A (\\x01\\x01)")
    m = re.match(r"user=([^\x01]*?)(?=\x01|auth=|$)", text)
    if m:
        payload.user = m.group(1)
        if not payload.user:
            payload.defects.append("user= is empty")
        elif "@" not in payload.user:
            payload.defects.append("user= is not an e-mail address")
    else:
        payload.defects.append("no user= field")
    _auth_field(text, payload)
    return payload


def _parse_oauthbearer(text: str, mech: str) -> SaslPayload:
    payload = SaslPayload("oauthbearer")
    if mech == "XOAUTH2":
        payload.defects.append("OAUTHBEARER-style payload (GS2 header) sent with XOAUTH2")
    header, _, rest = text.partition("\x01")
    m = re.match(r"^[nyp][^,]*,(?:a=([^,]*))?,$", header)
    if not m:
        payload.defects.append("GS2 header malformed (expected 'n,a=<user>,')")
    else:
        payload.user = (m.group(1) or "").replace("=2C", ",").replace("=3D", "=") or None
    for part in rest.split("\x01"):
        key, sep, value = part.partition("=")
        if sep and key in ("host", "port"):
            payload.fields[key] = value
    if not text.endswith("\x01\x01"):
        payload.defects.append("does not end with ^A^A (\\x01\\x01)")
    _auth_field(text, payload)
    return payload


def describe_payload(payload: SaslPayload, describe_secret: Any) -> str:
    """Readable structure with the secret replaced by `describe_secret(value)`."""
    if payload.kind == "plain":
        secret = describe_secret(payload.password or "", "password")
        return f"authzid={payload.fields.get('authzid', '')} user={payload.user} password={secret}"
    if payload.kind == "raw_token":
        return f"raw token {describe_secret(payload.token or '')}"
    if payload.kind == "unknown":
        return "unrecognised payload"
    parts = []
    if payload.kind == "oauthbearer":
        parts.append(f"n,a={payload.user or ''},")
        parts += [f"{k}={v}" for k, v in payload.fields.items()]
    else:
        parts.append(f"user={payload.user if payload.user is not None else ''}")
    token = describe_secret(payload.token or "") if payload.token else "<missing>"
    parts.append(f"auth={payload.scheme} {token}" if payload.scheme else f"auth={token}")
    return " ^A ".join(parts) + " ^A^A"
