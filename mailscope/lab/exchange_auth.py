"""How the lab's Exchange Online decides on a bearer token (sans-IO), for its IMAP, POP and SMTP front ends
alike: the checks the real service makes, in its order, over the lab directory. The verdict carries the reason
for the lab's own log; the wire never shows it (Exchange answers `NO AUTHENTICATE failed.`, `-ERR Authentication
failure: ...` or `535 5.7.3 Authentication unsuccessful` for all of them).

Modelled on the catalogue (§0.1, §0.5, §1.1, §2.2): signature, audience of the server's cloud, tenant of that
cloud, (SMTP) SMTP AUTH enabled for the tenant and the mailbox whatever the token says, expiry, the protocol's
delegated scope (`IMAP.AccessAsUser.All`, `POP.AccessAsUser.All`, `SMTP.Send`) or app role (`IMAP.AccessAsApp`,
`POP.AccessAsApp`, `SMTP.SendAsApp`), the app's service principal registered in Exchange, then the mailbox:
owner, FullAccess delegate or service principal with FullAccess; mailbox present, licensed and the protocol
enabled for it. After an SMTP AUTH, `may_send_as` decides MAIL FROM (SendAs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from mailscope.lab.directory import Directory, MsCloud, MsUser, Tenant
from mailscope.lab.line_server import b64encode

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

CLOCK_SKEW = 300  # seconds of tolerance on exp/nbf, as Entra-protected services allow
_XOAUTH2_RE = re.compile(r"^user=(?P<user>[^\x01]*)\x01auth=(?P<scheme>\S+) (?P<token>[^\x01]+)\x01\x01$", re.DOTALL)


def encoded_frontend(frontend: str) -> str:
    """The bracketed part of Exchange's IMAP and POP greetings: the front end's name, UTF-16LE, base64 (catalogue §0.6)."""
    return f"[{b64encode(frontend.encode('utf-16-le'))}]"


@dataclass(frozen=True, slots=True)
class MailService:
    """What one protocol front end demands of a token and of the mailbox (catalogue §1.1)."""

    name: str  # "IMAP" | "POP" | "SMTP"
    delegated_scope: str
    app_role: str

    def enabled_for(self, mailbox: MsUser) -> bool:
        """The per-mailbox protocol switch (Set-CASMailbox -ImapEnabled / -PopEnabled); SMTP AUTH has its own answer."""
        return {"IMAP": mailbox.imap_enabled, "POP": mailbox.pop_enabled}.get(self.name, True)


IMAP = MailService("IMAP", "IMAP.AccessAsUser.All", "IMAP.AccessAsApp")
POP = MailService("POP", "POP.AccessAsUser.All", "POP.AccessAsApp")
SMTP = MailService("SMTP", "SMTP.Send", "SMTP.SendAsApp")


class Grant(StrEnum):
    REFUSED = "refused"  # NO AUTHENTICATE failed. / -ERR Authentication failure / 535 5.7.3
    MAILBOX_REFUSED = "mailbox_refused"  # authenticated, then the mailbox cannot be opened (IMAP BAD, POP -ERR; SMTP 535 5.7.3)
    SMTP_AUTH_DISABLED = "smtp_auth_disabled"  # 535 5.7.139 ... SmtpClientAuthentication is disabled for the Tenant/Mailbox
    GRANTED = "granted"


@dataclass(frozen=True, slots=True)
class Verdict:
    grant: Grant
    reason: str
    mailbox: str = ""  # the mailbox the session opens (the SASL user)
    expires_at: float | None = None
    principal: str = ""  # who authenticated: the token's user, or the service principal's object id (app-only)
    disabled_for: str = ""  # SMTP_AUTH_DISABLED: "Tenant" or "Mailbox", as the wire names it


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
    claims: dict[str, Any] | None, sasl_user: str, directory: Directory, cloud: MsCloud, *, now: float | None = None,
    service: MailService = IMAP,
) -> Verdict:
    """The verdict for an XOAUTH2 response with these (signature-verified) claims and SASL user at `service`."""
    now = time.time() if now is None else now
    if claims is None:
        return _refused("token is not a JWT signed by this cloud's identity platform")
    audience = str(claims.get("aud", "")).rstrip("/")
    if audience not in EXCHANGE_AUDIENCES[cloud]:
        return _refused(f"audience {audience or '(none)'} is not Exchange Online in the {cloud} cloud")
    tenant = directory.tenant(str(claims.get("tid", "")))
    if tenant is None or tenant.cloud != cloud:
        return _refused(f"tenant {claims.get('tid', '(none)')} does not exist in the {cloud} cloud")
    target = directory.user(sasl_user)
    if service is SMTP:
        disabled_for = smtp_auth_disabled_for(tenant, target)
        if disabled_for:
            return Verdict(Grant.SMTP_AUTH_DISABLED, f"SMTP AUTH is disabled for the {disabled_for.lower()}", sasl_user,
                           disabled_for=disabled_for)
    expires_at = float(claims.get("exp", 0) or 0)
    if expires_at + CLOCK_SKEW < now:
        return _refused(f"token expired {int(now - expires_at)} s ago")
    if float(claims.get("nbf", 0) or 0) - CLOCK_SKEW > now:
        return _refused("token not yet valid")
    scopes = {s.lower() for s in _listed(claims.get("scp"))}
    roles = {r.lower() for r in _listed(claims.get("roles"))}
    if claims.get("scp") is not None:
        if service.delegated_scope.lower() not in scopes:
            return _refused(f"delegated token without {service.delegated_scope} (scp: {claims.get('scp')})")
        return _delegated(claims, sasl_user, target, tenant.id, expires_at, service)
    if service.app_role.lower() not in roles:
        return _refused(f"app-only token without the {service.app_role} role (roles: {sorted(roles) or 'none'})")
    return _app_only(claims, sasl_user, target, directory, tenant.id, expires_at, service)


def smtp_auth_disabled_for(tenant: Tenant, mailbox: MsUser | None) -> str:
    """"Mailbox" or "Tenant" when SMTP AUTH is off for this mailbox ("" when on): the mailbox's
    SmtpClientAuthenticationDisabled overrides the tenant's (Get-TransportConfig) unless it is $null."""
    own = mailbox.smtp_client_authentication_disabled if mailbox is not None else None
    if own is not None:
        return "Mailbox" if own else ""
    return "Tenant" if tenant.smtp_client_authentication_disabled else ""


def may_send_as(directory: Directory, principal: str, address: str) -> bool:
    """MAIL FROM after a successful SMTP AUTH: the owner, a trustee with SendAs (Add-RecipientPermission), or a service
    principal with FullAccess (the app acts as that mailbox) may use the address; a FullAccess delegate may not."""
    target = directory.user(address)
    if target is None or not principal:
        return False
    who = principal.lower()
    if who == target.upn.lower() or who in {p.lower() for p in target.send_as}:
        return True
    return directory.user(principal) is None and who in {p.lower() for p in target.full_access}


def _delegated(claims: dict[str, Any], sasl_user: str, target: MsUser | None, tenant_id: str, expires_at: float,
               service: MailService) -> Verdict:
    signed_in = str(claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username") or "")
    if target is None or target.tenant_id != tenant_id:
        return _refused(f"no mailbox {sasl_user or '(empty user)'} in tenant {tenant_id}")
    if signed_in.lower() != sasl_user.lower() and signed_in.lower() not in {p.lower() for p in target.full_access}:
        return Verdict(Grant.MAILBOX_REFUSED, f"{signed_in} has no FullAccess on {target.upn}", target.upn, expires_at, signed_in)
    return _mailbox(target, expires_at, f"delegated token of {signed_in}", signed_in, service)


def _app_only(
    claims: dict[str, Any], sasl_user: str, target: MsUser | None, directory: Directory, tenant_id: str, expires_at: float,
    service: MailService,
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
        return Verdict(Grant.MAILBOX_REFUSED, f"service principal {oid} has no FullAccess on {target.upn}", target.upn, expires_at,
                       oid)
    return _mailbox(target, expires_at, f"app-only token of {app.client_id}", oid, service)


def _mailbox(target: MsUser, expires_at: float, who: str, principal: str, service: MailService) -> Verdict:
    if not target.has_mailbox:
        return Verdict(Grant.MAILBOX_REFUSED, f"{target.upn} has no Exchange Online mailbox/licence", target.upn, expires_at,
                       principal)
    if not service.enabled_for(target):
        return Verdict(Grant.MAILBOX_REFUSED, f"{service.name} is disabled for {target.upn}", target.upn, expires_at, principal)
    return Verdict(Grant.GRANTED, who, target.upn, expires_at, principal)


TokenVerifier = Callable[[str], "dict[str, Any] | None"]


class ExchangeGate:
    """The token gate the three Exchange Online front ends share: the IdP's key (or a verifier), the directory, the cloud,
    the clock and the front-end name their greetings carry."""

    def __init__(self, directory: Directory, verify_token: TokenVerifier | str | bytes, *, cloud: MsCloud = MsCloud.GLOBAL,
                 clock: Callable[[], float] = time.time, frontend: str = "") -> None:
        """`verify_token`: the IdP's RS256 public key (PEM) or a callable returning verified claims or None."""
        self.directory = directory
        self.cloud = MsCloud(cloud)
        self.clock = clock
        self.frontend = frontend or FRONTEND_NAMES[self.cloud]
        if callable(verify_token):
            self._verify = verify_token
        else:
            key = verify_token
            self._verify = lambda token: verify_signature(token, key)

    def xoauth2(self, payload: bytes | None, service: MailService) -> tuple[str, Verdict]:
        """(SASL user, verdict) for a decoded XOAUTH2 response; a malformed string is refused like any token fault."""
        match = _XOAUTH2_RE.match(payload.decode("utf-8", "replace")) if payload else None
        if match is None or match.group("scheme").lower() != "bearer":  # Exchange takes `bearer` in any case (MS doc)
            return "", _refused("malformed XOAUTH2 initial response")
        user = match.group("user")
        return user, decide(self._verify(match.group("token")), user, self.directory, self.cloud, now=self.clock(), service=service)

    def may_send_as(self, principal: str, address: str) -> bool:
        return may_send_as(self.directory, principal, address)
