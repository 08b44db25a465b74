"""Redaction before storage. Two layers:

1. Known secrets (registered by whoever obtained them: token, password, client secret, refresh
   token...) are removed in every form: raw, base64 at any alignment, URL-encoded, and as any
   fragment of FRAGMENT or more characters (a secret split across lines or reads).
2. A catch-all for secrets nobody registered (imported logs, server echoes): JWTs, `ya29.`,
   `EwA`/`EwB` tokens, refresh-token shapes, `Bearer x`, `password=`/`client_secret=`-style pairs,
   IMAP LOGIN passwords and base64 that decodes to an XOAUTH2/OAUTHBEARER/PLAIN payload.

Redacted values read `<jwt 1532 chars sha256:1a2b3c4d>`; decoded SASL structure stays visible.
Finally C0/C1 control characters are escaped so server text can never drive the terminal.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable

from mailscope import sasl
from mailscope.secret import Secret, fingerprint

FRAGMENT = 10  # a run this long of any registered secret's form is redacted
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\x00": "\\0", "\x1b": "\\e", "\r": "\\r"}


def escape_controls(text: str) -> str:
    """Make C0/C1 controls visible (`\\x1b` → `\\e`); tab and newline survive for layout."""
    return _CONTROL_RE.sub(lambda m: _CONTROL_NAMES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def token_shape(value: str) -> str:
    if re.fullmatch(r"eyJ[\w-]*\.[\w-]*\.[\w-]*", value):
        return "jwt"
    if value.startswith("ya29."):
        return "google access token"
    if value.startswith("1//"):
        return "google refresh token"
    if value.startswith(("EwA", "EwB")):
        return "msa token"
    if value.startswith("0.A") and len(value) > 40:
        return "ms refresh token"
    return "token"


def describe_secret(value: str, kind: str | None = None) -> str:
    return f"<{kind or token_shape(value)} {len(value)} chars {fingerprint(value)}>"


_PATTERNS = re.compile(
    r"""
    (?P<jwt>eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)
  | (?P<ya29>\bya29\.[A-Za-z0-9_.\-]{8,})
  | (?P<grt>\b1//0[A-Za-z0-9_\-]{16,})
  | (?P<msa>\bEw[AB][A-Za-z0-9+/=_.!*\-]{24,})
  | (?P<msrt>\b0\.A[A-Za-z0-9_.\-]{40,})
  | (?P<bearer>\b[Bb]earer\s+)(?P<bearer_value>(?!<)[A-Za-z0-9._~+/\-=]{8,})
  | (?P<pair>\b(?:client_secret|refresh_token|access_token|id_token|device_code|code|assertion|
                  client_assertion|password|passwd|pwd|secret)(?:["']?\s*[:=]\s*["']?))
      (?P<pair_value>(?![<*])[^\s&"',;}<>]{4,})
  | (?P<login>^(?:[CS]:\s*)?[A-Za-z0-9.]+\s+LOGIN\s+(?:"(?:[^"\\]|\\.)*"|\S+)\s+)(?P<login_pw>(?!<)\S.*?)\s*$
  | (?P<b64>(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=]))
    """,
    re.VERBOSE | re.IGNORECASE | re.MULTILINE,
)
_CASE_SENSITIVE_GROUPS = ("jwt", "msa", "msrt", "b64")


class Redactor:
    def __init__(self, secrets: Iterable[Secret | str] = ()) -> None:
        self._exact: dict[str, str] = {}  # form -> description (longest forms first when applied)
        self._grams: dict[str, str] = {}  # FRAGMENT-long slice of a form -> description
        for secret in secrets:
            self.register(secret)

    @property
    def has_secrets(self) -> bool:
        return bool(self._exact)

    def register(self, secret: Secret | str, kind: str | None = None) -> None:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            return
        if isinstance(secret, Secret) and kind is None:
            kind = "password" if secret.kind == "password" else None
        description = describe_secret(value, kind)
        for form in _forms(value):
            self._exact.setdefault(form, description)
            if len(form) >= FRAGMENT:
                for i in range(len(form) - FRAGMENT + 1):
                    self._grams.setdefault(form[i : i + FRAGMENT], description)
        self._exact_sorted = sorted(self._exact, key=len, reverse=True)

    def redact(self, text: str) -> str:
        if self._exact:
            text = self._redact_known(text)
        text = _PATTERNS.sub(self._replace_pattern, text)
        return escape_controls(text)

    def redact_bytes(self, data: bytes) -> str:
        return self.redact(data.decode("utf-8", "backslashreplace"))

    def describe_sasl(self, b64_text: str, mechanism: str | None = None) -> str:
        """A client SASL response (base64) as readable structure with secrets redacted."""
        decoded = sasl.b64decode_strict(b64_text)
        if decoded is None:
            value = b64_text.strip()
            return describe_secret(value, "sasl response") if value else "<empty response>"
        payload = sasl.parse_payload(decoded, mechanism)
        if payload.kind == "unknown":
            return describe_secret(b64_text.strip(), "sasl response")
        label = payload.kind.upper() if payload.kind != "raw_token" else (mechanism or "SASL")
        return f"<SASL {label} {escape_controls(sasl.describe_payload(payload, describe_secret))}>"

    # -- internals -----------------------------------------------------------------------------
    def _redact_known(self, text: str) -> str:
        for form in self._exact_sorted:
            if form in text:
                text = text.replace(form, self._exact[form])
        if len(text) < FRAGMENT:
            return text
        spans: list[list[int]] = []
        description = ""
        i, end = 0, len(text) - FRAGMENT + 1
        while i < end:
            hit = self._grams.get(text[i : i + FRAGMENT])
            if hit is None:
                i += 1
                continue
            description = hit
            start, stop = i, i + FRAGMENT
            while stop < len(text) and text[stop - FRAGMENT + 1 : stop + 1] in self._grams:
                stop += 1
            if spans and start <= spans[-1][1]:
                spans[-1][1] = stop
            else:
                spans.append([start, stop])
            i = stop
        for start, stop in reversed(spans):
            text = text[:start] + f"<fragment of {description[1:-1]}>" + text[stop:]
        return text

    def _replace_pattern(self, m: re.Match[str]) -> str:
        group = m.lastgroup
        if group in _CASE_SENSITIVE_GROUPS and not _case_ok(group, m.group(group)):
            return m.group()
        if group == "bearer_value":
            return m.group("bearer") + describe_secret(m.group("bearer_value"))
        if group == "pair_value":
            return m.group("pair") + describe_secret(m.group("pair_value"), "secret")
        if group == "login_pw":
            return m.group("login") + describe_secret(m.group("login_pw").strip('"'), "password")
        if group == "b64":
            return self._maybe_sasl(m.group())
        return describe_secret(m.group())

    def _maybe_sasl(self, candidate: str) -> str:
        decoded = sasl.b64decode_strict(candidate)
        if decoded is None:
            return candidate
        lowered = decoded.lower()
        if b"auth=" in lowered and b"bearer" in lowered or decoded.count(b"\0") == 2:
            return self.describe_sasl(candidate)
        if re.fullmatch(rb"eyJ[\w-]+\.[\w-]+\.[\w-]*|ya29\.[\w.-]+", decoded.strip()):
            return f"<base64 of {describe_secret(decoded.strip().decode())[1:-1]}>"
        return candidate


def _case_ok(group: str, value: str) -> bool:
    """The combined regex is case-insensitive for key names; token prefixes are not."""
    if group == "jwt":
        return value.startswith("eyJ")
    if group == "msa":
        return value.startswith(("EwA", "EwB"))
    if group == "msrt":
        return value.startswith("0.A")
    return True


def _forms(value: str) -> set[str]:
    """Every spelling a secret can take on the wire or in a log."""
    raw = value.encode()
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + raw).decode()
            # Drop the characters that mix in unknown neighbours: the prefix and the tail.
            start = (offset * 8 + 5) // 6 if offset else 0
            stable = encoded[start : (len(encoded) - 4) if offset or len(raw) % 3 else len(encoded)]
            stable = stable.rstrip("=")
            if len(stable) >= 4:
                forms.add(stable)
    return {f for f in forms if f}
