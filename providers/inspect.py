"""Token inspection, all local: decode a JWT's header and claims without verifying the signature;
fall back to what the token response said for opaque tokens (Google `ya29.`, MSA `EwA…`)."""

from __future__ import annotations

import base64
import json
from typing import Any

from mailscope.evidence import TokenEvidence
from mailscope.redact import token_shape
from mailscope.secret import Secret


def _b64url_json(part: str) -> dict[str, Any] | None:
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(data)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def decode_jwt(value: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    parts = value.split(".")
    if len(parts) != 3:
        return None
    header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    if header is None or claims is None:
        return None
    return header, claims


def inspect_token(
    secret: Secret,
    *,
    flow: str = "",
    source: str = "",
    provider: str = "",
    granted_scopes: tuple[str, ...] | None = None,
    expires_at: float | None = None,
) -> TokenEvidence:
    value = secret.reveal()
    shape = token_shape(value)
    evidence = TokenEvidence(
        length=len(value), fingerprint=secret.fingerprint, flow=flow, source=source,
        granted_scopes=granted_scopes, expires_at=expires_at,
    )
    decoded = decode_jwt(value) if shape == "jwt" else None
    if decoded is not None:
        evidence.kind, evidence.shape = "jwt", "jwt"
        evidence.header, evidence.claims = decoded
        exp, iat = evidence.claims.get("exp"), evidence.claims.get("iat")
        evidence.expires_at = float(exp) if isinstance(exp, int | float) else expires_at
        evidence.issued_at = float(iat) if isinstance(iat, int | float) else None
        issuer = str(evidence.claims.get("iss", ""))
        evidence.provider = provider or ("microsoft" if "sts.windows.net" in issuer or "microsoftonline" in issuer
                                         else "google" if "google" in issuer else "generic")
        return evidence
    evidence.kind = "opaque"
    evidence.shape = {"google access token": "google-ya29", "msa token": "msa-compact"}.get(shape, "opaque")
    evidence.provider = provider or {"google-ya29": "google", "msa-compact": "microsoft"}.get(evidence.shape, "generic")
    evidence.notes.append(
        "opaque token: its claims cannot be decoded here; "
        + ("using the token response's granted scope and expiry" if granted_scopes is not None
           else "no token response is available, so scope and expiry are unknown")
    )
    return evidence
