"""Presenter mode: mask identifiers (user names, tenant domains and ids, object/client ids) for screen shares,
recordings and the exports made while it is on.

Secrets are already redacted by the engine; this hides the *who*. Each identifier becomes a short stable
pseudonym (same input, same mask), so two people on one screen can still say "the same user".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
# Google numeric subjects / client ids ("1234567890-abc.apps.googleusercontent.com", "sub": "1098...")
_GOOGLE_CLIENT = re.compile(r"\b[0-9]{6,}-[a-z0-9]+\.apps\.googleusercontent\.com\b")
_LONG_NUMBER = re.compile(r"\b[0-9]{15,}\b")
# Tenant domains: contoso.onmicrosoft.com (and the national clouds' suffixes), wherever they stand.
_TENANT_DOMAIN = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9-]*\.onmicrosoft\.(?:com|us|cn|de)\b", re.I)
# The tenant segment of an authority or issuer URL: https://login.microsoftonline.com/contoso.com/...
_AUTHORITY_TENANT = re.compile(
    r"(?P<host>(?:login\.microsoftonline\.(?:com|us)|login\.partner\.microsoftonline\.cn|login\.windows\.net|"
    r"login\.microsoft\.com|sts\.windows\.net|sts\.chinacloudapi\.cn)/)(?P<tenant>[^/\s?#\"'<>]+)", re.I)
_PUBLIC_TENANTS = frozenset({"common", "organizations", "consumers"})

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


def _authority_tenant(m: re.Match[str]) -> str:
    tenant = m.group("tenant")
    if tenant.lower() in _PUBLIC_TENANTS or tenant.startswith("<"):
        return m.group()
    return m.group("host") + _tag("tenant", tenant)


def mask_identifiers(text: str, known: Iterable[str] = ()) -> str:
    """Replace e-mail addresses, tenant domains, the tenant of authority URLs, GUIDs, long numeric ids and any
    `known` identifier (the settings' tenant, a user's domain) with stable pseudonyms."""
    text = _EMAIL.sub(lambda m: _tag("user", m.group()), text)
    text = _GOOGLE_CLIENT.sub(lambda m: _tag("client", m.group()), text)
    text = _TENANT_DOMAIN.sub(lambda m: _tag("tenant", m.group()), text)
    text = _AUTHORITY_TENANT.sub(_authority_tenant, text)
    for value in known:
        if len(value) >= 3 and value.lower() in text.lower():
            text = re.sub(re.escape(value), _tag("id", value), text, flags=re.I)
    text = _GUID.sub(lambda m: m.group() if m.group().lower() in _PUBLIC_GUIDS else _tag("id", m.group()), text)
    return _LONG_NUMBER.sub(lambda m: _tag("id", m.group()), text)


class IdentifierMask:
    """`mask_identifiers` plus the identifiers this console has seen in settings and tokens (a tenant typed as
    `contoso.com`, the user's mail domain): those match no pattern but identify the customer all the same."""

    def __init__(self) -> None:
        self.known: list[str] = []

    def learn(self, *values: str) -> None:
        for value in values:
            value = value.strip()
            if not value or value.lower() in _PUBLIC_TENANTS or value in self.known:
                continue
            self.known.append(value)
            if "@" in value:  # the mail domain names the organisation too
                self.learn(value.rpartition("@")[2])
        self.known.sort(key=len, reverse=True)  # longest first: a domain inside a learned address is masked whole

    def __call__(self, text: str) -> str:
        return mask_identifiers(text, self.known)


def mask_claim(name: str, value: str) -> str:
    """A claim value as presenter mode shows it."""
    if name in IDENTIFYING_CLAIMS and value:
        return _tag("id" if _GUID.fullmatch(value) or value.isdigit() else "user", value)
    return mask_identifiers(value)
