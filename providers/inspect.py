"""Token inspection, all local: decode a JWT's header and claims without verifying the signature;
fall back to what the token response said for opaque tokens (Google `ya29.`, MSA `EwA…`).

Claims are whatever the issuer, or the author of a log, wrote: every string in them (keys included, at any depth)
is control-escaped as it is decoded, so no consumer (diagnosis, token pane, report, copied fix) meets a raw one."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

from mailscope.evidence import TokenEvidence
from mailscope.record import clean_deep
from mailscope.redact import escape_controls, token_shape
from mailscope.secret import Secret


def _b64url_json(part: str) -> dict[str, Any] | None:
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(data)
    except (ValueError, TypeError, RecursionError):
        return None
    return clean_deep(value, lambda key, text: escape_controls(text), escape_controls) if isinstance(value, dict) else None


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
        evidence.account = token_user(evidence.claims)
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


# Display order and labels for the UI and reports: what matters for mail first.
CLAIM_LABELS: tuple[tuple[str, str], ...] = (
    ("aud", "audience (resource)"),
    ("scp", "delegated scopes"),
    ("roles", "application roles"),
    ("upn", "user principal name"),
    ("unique_name", "unique name"),
    ("preferred_username", "preferred username"),
    ("email", "email"),
    ("idtyp", "identity type"),
    ("appid", "client (app) id"),
    ("azp", "authorized party (client id)"),
    ("tid", "tenant id"),
    ("oid", "object id"),
    ("iss", "issuer"),
    ("ver", "token version"),
    ("iat", "issued at"),
    ("nbf", "not before"),
    ("exp", "expires"),
)
_TIME_CLAIMS = ("iat", "nbf", "exp")
_USER_CLAIMS = ("upn", "unique_name", "preferred_username", "email")


def token_user(claims: dict[str, Any]) -> str | None:
    """The user a delegated token was issued to (first of upn, unique_name, preferred_username, email)."""
    for name in _USER_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def token_version(claims: dict[str, Any]) -> str:
    """"1.0" / "2.0" from `ver`, else from the issuer shape (v1: sts.windows.net, v2: .../v2.0)."""
    ver = claims.get("ver")
    if ver:
        return str(ver)
    issuer = str(claims.get("iss", ""))
    if issuer.rstrip("/").endswith("/v2.0"):
        return "2.0"
    return "1.0" if "sts.windows.net" in issuer else ""


def is_app_only(claims: dict[str, Any]) -> bool:
    """Client-credentials token: idtyp=app, or roles without scp and without a user."""
    if claims.get("idtyp") == "app":
        return True
    return bool(claims.get("roles")) and not claims.get("scp") and token_user(claims) is None


def format_time(epoch: float, now: float | None = None) -> str:
    """`2026-11-29 07:00:00Z (in 54 min)` / `(3 h ago)`."""
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    delta = epoch - now
    span = abs(delta)
    amount = f"{int(span)} s" if span < 120 else f"{int(span // 60)} min" if span < 7200 else f"{span / 3600:.1f} h"
    return f"{stamp} ({'in ' + amount if delta >= 0 else amount + ' ago'})"


def _claim_text(name: str, value: Any, now: float | None) -> str:
    if name in _TIME_CLAIMS and isinstance(value, int | float):
        return format_time(float(value), now)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def display_claims(token: TokenEvidence, now: float | None = None) -> list[tuple[str, str, str]]:
    """(claim, label, value) rows in a stable order for the token pane.

    JWT: the known claims in CLAIM_LABELS order, then any other claim alphabetically. Opaque tokens:
    what the token response said (granted scope, expiry), each labelled as coming from the response.
    """
    rows: list[tuple[str, str, str]] = []
    if token.kind == "jwt":
        for name, label in CLAIM_LABELS:
            if name in token.claims:
                rows.append((name, label, _claim_text(name, token.claims[name], now)))
        known = {name for name, _ in CLAIM_LABELS}
        for name in sorted(set(token.claims) - known):
            rows.append((name, name, _claim_text(name, token.claims[name], now)))
        return rows
    if token.granted_scopes is not None:
        rows.append(("scope", "granted scopes (token response)", " ".join(token.granted_scopes) or "(none)"))
    if token.expires_at is not None:
        rows.append(("expires_at", "expires (token response)", format_time(token.expires_at, now)))
    if token.account:
        rows.append(("account", "account", token.account))
    return rows
