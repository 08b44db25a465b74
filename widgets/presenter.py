"""Presenter mode: mask identifiers (user names, tenant/object/client ids) for screen shares and recordings.

Secrets are already redacted by the engine; this hides the *who*. Each identifier becomes a short stable
pseudonym (same input, same mask), so two people on one screen can still say "the same user".
"""

from __future__ import annotations

import hashlib
import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
# Google numeric subjects / client ids ("1234567890-abc.apps.googleusercontent.com", "sub": "1098...")
_GOOGLE_CLIENT = re.compile(r"\b[0-9]{6,}-[a-z0-9]+\.apps\.googleusercontent\.com\b")
_LONG_NUMBER = re.compile(r"\b[0-9]{15,}\b")

# Claims whose whole value identifies a person, tenant or application.
IDENTIFYING_CLAIMS = frozenset({
    "upn", "unique_name", "preferred_username", "email", "name", "given_name", "family_name", "oid", "tid", "sub",
    "appid", "azp", "aud_app", "puid", "altsecid", "sid", "hd", "idtyp_user",
})

# Well-known ids that identify nothing about the user (Microsoft first-party resources): left visible.
_PUBLIC_GUIDS = frozenset({
    "00000002-0000-0ff1-ce00-000000000000",  # Exchange Online
    "00000003-0000-0000-c000-000000000000",  # Microsoft Graph
    "9188040d-6c67-4c5b-b112-36a304b66dad",  # consumer (MSA) tenant
})


def _tag(kind: str, value: str) -> str:
    return f"<{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()[:4]}>"


def mask_identifiers(text: str) -> str:
    """Replace e-mail addresses, GUIDs and long numeric ids with stable pseudonyms."""
    text = _EMAIL.sub(lambda m: _tag("user", m.group()), text)
    text = _GOOGLE_CLIENT.sub(lambda m: _tag("client", m.group()), text)
    text = _GUID.sub(lambda m: m.group() if m.group().lower() in _PUBLIC_GUIDS else _tag("id", m.group()), text)
    return _LONG_NUMBER.sub(lambda m: _tag("id", m.group()), text)


def mask_claim(name: str, value: str) -> str:
    """A claim value as presenter mode shows it."""
    if name in IDENTIFYING_CLAIMS and value:
        return _tag("id" if _GUID.fullmatch(value) or value.isdigit() else "user", value)
    return mask_identifiers(value)
