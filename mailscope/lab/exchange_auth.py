"""How the lab's Exchange Online decides on a bearer token (sans-IO): the checks the real service makes,
in its order, over the lab directory. The verdict carries the reason for the lab's own log; the wire
never shows it (Exchange answers `NO AUTHENTICATE failed.` for all of them).

Modelled on the catalogue (§0.1, §0.5, §2.2): signature, audience of the server's cloud, tenant of that
cloud, expiry, delegated scope `IMAP.AccessAsUser.All` or app role `IMAP.AccessAsApp`, the app's
service principal registered in Exchange, then the mailbox: owner, FullAccess delegate or service
principal with FullAccess; mailbox present, licensed and IMAP-enabled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from mailscope.lab.directory import Directory, MsCloud, MsUser

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"

# The resource URIs Exchange Online accepts as `aud`, per cloud (catalogue §1.1, §2.2 ms_national_cloud_mismatch).
EXCHANGE_AUDIENCES: dict[MsCloud, tuple[str, ...]] = {
    MsCloud.GLOBAL: ("https://outlook.office.com", "https://outlook.office365.com", "https://ps.outlook.com", EXCHANGE_APP_ID),
    MsCloud.USGOV: ("https://outlook.office365.us", EXCHANGE_APP_ID),
    MsCloud.CHINA: ("https://partner.outlook.cn", EXCHANGE_APP_ID),
}

# Front-end names seen in real greetings (catalogue §0.6) and logs; the greeting carries them in UTF-16LE base64.
FRONTEND_NAMES: dict[MsCloud, str] = {
    MsCloud.GLOBAL: "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM",
    MsCloud.USGOV: "BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM",
    MsCloud.CHINA: "ZQ0PR01CA0010.CHNPR01.prod.partner.outlook.cn",
}

DELEGATED_IMAP_SCOPE = "IMAP.AccessAsUser.All"
APP_IMAP_ROLE = "IMAP.AccessAsApp"
CLOCK_SKEW = 300  # seconds of tolerance on exp/nbf, as Entra-protected services allow


class Grant(StrEnum):
    REFUSED = "refused"  # NO AUTHENTICATE failed.
    MAILBOX_REFUSED = "mailbox_refused"  # OK AUTHENTICATE completed. then BAD User is authenticated but not connected.
    GRANTED = "granted"


@dataclass(frozen=True, slots=True)
class Verdict:
    grant: Grant
    reason: str
    mailbox: str = ""  # the mailbox the session opens (the SASL user)
    expires_at: float | None = None


def _refused(reason: str) -> Verdict:
    return Verdict(Grant.REFUSED, reason)


def verify_signature(token: str, public_key_pem: str | bytes) -> dict[str, Any] | None:
    """Claims of a JWT signed by the lab IdP (RS256); None for anything else (opaque, forged, garbage)."""
    try:
        return jwt.decode(
            token, public_key_pem, algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def decide(
    claims: dict[str, Any] | None, sasl_user: str, directory: Directory, cloud: MsCloud, *, now: float | None = None
) -> Verdict:
    """The verdict for `AUTHENTICATE XOAUTH2` with these (signature-verified) claims and SASL user."""
    now = time.time() if now is None else now
    if claims is None:
        return _refused("token is not a JWT signed by this cloud's identity platform")
    audience = str(claims.get("aud", "")).rstrip("/")
    if audience not in EXCHANGE_AUDIENCES[cloud]:
        return _refused(f"audience {audience or '(none)'} is not Exchange Online in the {cloud} cloud")
    tenant = directory.tenant(str(claims.get("tid", "")))
    if tenant is None or tenant.cloud != cloud:
        return _refused(f"tenant {claims.get('tid', '(none)')} does not exist in the {cloud} cloud")
    expires_at = float(claims.get("exp", 0) or 0)
    if expires_at + CLOCK_SKEW < now:
        return _refused(f"token expired {int(now - expires_at)} s ago")
    if float(claims.get("nbf", 0) or 0) - CLOCK_SKEW > now:
        return _refused("token not yet valid")
    target = directory.user(sasl_user)
    scopes = {s.lower() for s in _listed(claims.get("scp"))}
    roles = {r.lower() for r in _listed(claims.get("roles"))}
    if claims.get("scp") is not None:
        if DELEGATED_IMAP_SCOPE.lower() not in scopes:
            return _refused(f"delegated token without {DELEGATED_IMAP_SCOPE} (scp: {claims.get('scp')})")
        return _delegated(claims, sasl_user, target, tenant.id, expires_at)
    if APP_IMAP_ROLE.lower() not in roles:
        return _refused(f"app-only token without the {APP_IMAP_ROLE} role (roles: {sorted(roles) or 'none'})")
    return _app_only(claims, sasl_user, target, directory, tenant.id, expires_at)


def _delegated(claims: dict[str, Any], sasl_user: str, target: MsUser | None, tenant_id: str, expires_at: float) -> Verdict:
    signed_in = str(claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username") or "")
    if target is None or target.tenant_id != tenant_id:
        return _refused(f"no mailbox {sasl_user or '(empty user)'} in tenant {tenant_id}")
    if signed_in.lower() != sasl_user.lower() and signed_in.lower() not in {p.lower() for p in target.full_access}:
        return Verdict(Grant.MAILBOX_REFUSED, f"{signed_in} has no FullAccess on {target.upn}", target.upn, expires_at)
    return _mailbox(target, expires_at, f"delegated token of {signed_in}")


def _app_only(
    claims: dict[str, Any], sasl_user: str, target: MsUser | None, directory: Directory, tenant_id: str, expires_at: float
) -> Verdict:
    app = directory.app(str(claims.get("appid") or claims.get("azp") or ""))
    oid = str(claims.get("oid", ""))
    if app is None or not app.exchange_service_principal_oid:
        return _refused("no Exchange service principal for this app (New-ServicePrincipal never run)")
    if app.exchange_service_principal_oid.lower() != oid.lower():
        return _refused("Exchange service principal registered with another ObjectId than the token's oid")
    if target is None or target.tenant_id != tenant_id:
        return _refused(f"no mailbox {sasl_user or '(empty user)'} in tenant {tenant_id}")
    if oid.lower() not in {p.lower() for p in target.full_access}:
        return Verdict(Grant.MAILBOX_REFUSED, f"service principal {oid} has no FullAccess on {target.upn}", target.upn, expires_at)
    return _mailbox(target, expires_at, f"app-only token of {app.client_id}")


def _mailbox(target: MsUser, expires_at: float, who: str) -> Verdict:
    if not target.has_mailbox:
        return Verdict(Grant.MAILBOX_REFUSED, f"{target.upn} has no Exchange Online mailbox/licence", target.upn, expires_at)
    if not target.imap_enabled:
        return Verdict(Grant.MAILBOX_REFUSED, f"IMAP is disabled for {target.upn}", target.upn, expires_at)
    return Verdict(Grant.GRANTED, who, target.upn, expires_at)
