"""Enough of the Microsoft identity platform (Entra ID, v2 endpoints) for unmodified msal.

Models what Entra does that matters to mail: how scopes resolve to a resource (a bare
`IMAP.AccessAsUser.All` means Graph), one resource per token, `/.default` for client credentials,
consent, tenants and clouds, MFA, refresh-token revocation, and v1-shaped Exchange access tokens
signed RS256. Errors are Entra's own (idp_errors).
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from mailscope.lab.directory import (
    CONSUMER_TENANT_ID,
    EXCHANGE,
    GRAPH,
    AppRegistration,
    DeviceCodeDecision,
    Directory,
    MsCloud,
    MsUser,
    RefreshTokenState,
    Tenant,
)
from mailscope.lab.idp_errors import OAuthError, Reply, entra_error
from mailscope.lab.idp_keys import SigningKey, b64url, b64url_decode, sign_jwt

OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ACCESS_TOKEN_LIFETIME = 3600
ISSUED_AT_SKEW = 300  # Entra back-dates iat/nbf by 5 minutes: exp - iat = 3900 in real tokens

RESOURCE_URIS: dict[MsCloud, dict[str, str]] = {
    MsCloud.GLOBAL: {"https://outlook.office.com": EXCHANGE, "https://outlook.office365.com": EXCHANGE, "https://ps.outlook.com": EXCHANGE,
                     "https://graph.microsoft.com": GRAPH},
    MsCloud.USGOV: {"https://outlook.office365.us": EXCHANGE, "https://graph.microsoft.us": GRAPH},
    MsCloud.CHINA: {"https://partner.outlook.cn": EXCHANGE, "https://microsoftgraph.chinacloudapi.cn": GRAPH},
}
RESOURCE_APP_IDS = {EXCHANGE_APP_ID: EXCHANGE, GRAPH_APP_ID: GRAPH}
GRAPH_URI = {MsCloud.GLOBAL: "https://graph.microsoft.com", MsCloud.USGOV: "https://graph.microsoft.us",
             MsCloud.CHINA: "https://microsoftgraph.chinacloudapi.cn"}
LOGIN_HOST = {MsCloud.GLOBAL: "login.microsoftonline.com", MsCloud.USGOV: "login.microsoftonline.us",
              MsCloud.CHINA: "login.partner.microsoftonline.cn"}
STS_HOST = {MsCloud.GLOBAL: "sts.windows.net", MsCloud.USGOV: "sts.windows.net", MsCloud.CHINA: "sts.chinacloudapi.cn"}

# Delegated permissions and app roles each resource publishes (what the portal lets you add).
DELEGATED_PERMISSIONS = {
    EXCHANGE: ("IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send", "EWS.AccessAsUser.All", "EAS.AccessAsUser.All",
               "Mail.Read", "Mail.ReadWrite", "Mail.Send", "Calendars.Read", "Calendars.ReadWrite", "Contacts.Read",
               "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "full_access_as_user", "Exchange.Manage"),
    GRAPH: ("User.Read", "User.ReadBasic.All", "Mail.Read", "Mail.ReadBasic", "Mail.ReadWrite", "Mail.Send", "Mail.Send.Shared",
            "IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send", "EWS.AccessAsUser.All", "Calendars.Read",
            "Calendars.ReadWrite", "Contacts.Read", "Files.Read", "Files.ReadWrite", "MailboxSettings.ReadWrite",
            "Directory.Read.All", "openid", "profile", "email", "offline_access"),
}


@dataclass(frozen=True, slots=True)
class ResolvedScopes:
    """A scope request as Entra reads it: one resource, the permission names, and whether it was `/.default`."""

    kind: str  # EXCHANGE or GRAPH
    audience: str  # the resource URI as requested: becomes `aud`
    names: tuple[str, ...]  # canonical permission names ('.default' never among them)
    default: bool
    oidc: tuple[str, ...]  # openid/profile/offline_access/email that came along

    @property
    def resource_app_id(self) -> str:
        return EXCHANGE_APP_ID if self.kind == EXCHANGE else GRAPH_APP_ID


@dataclass(slots=True)
class _DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    tenant_segment: str
    scope: str
    expires_at: float
    polls: int = 0
    decision: DeviceCodeDecision | None = None  # set by approve_device_code()/decline; None: follow the directory
    upn: str = ""
    done: bool = False


@dataclass(slots=True)
class _AuthCode:
    client_id: str
    tenant_id: str
    upn: str
    scope: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    nonce: str
    expires_at: float
    redeemed: bool = False


@dataclass(slots=True)
class _RefreshToken:
    client_id: str
    tenant_id: str
    upn: str
    scope: str
    mfa_done: bool
    issued_at: float
    state: RefreshTokenState = RefreshTokenState.VALID


@dataclass(slots=True)
class EntraState:
    """What the real service remembers between requests."""

    device_codes: dict[str, _DeviceCode] = field(default_factory=dict)
    auth_codes: dict[str, _AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, _RefreshToken] = field(default_factory=dict)
    user_consents: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (client_id, tenant_id) -> names
    provisioned: set[tuple[str, str]] = field(default_factory=set)  # (client_id, tenant_id) via user consent to a multi-tenant app
    opaque_tokens: dict[str, dict[str, object]] = field(default_factory=dict)  # personal-account access token -> what Exchange knows


def _canonical(name: str, kind: str) -> str | None:
    return next((p for p in DELEGATED_PERMISSIONS[kind] if p.lower() == name.lower()), None)


class EntraService:
    """Entra's endpoints for one lab. Thread-safe: the HTTP server calls it from many threads."""

    def __init__(self, directory: Directory, signing_key: SigningKey, base_url: Callable[[], str], cloud: MsCloud | None = None) -> None:
        self.directory = directory
        self.cloud = cloud  # the national cloud this authority plays; None: one lab authority serves tenants of every cloud
        self.signing_key = signing_key
        self._base_url = base_url
        self._lock = threading.RLock()
        self.state = EntraState()
        self._consumers = (directory.tenant(CONSUMER_TENANT_ID)
                           or Tenant("consumers", id=CONSUMER_TENANT_ID, display_name="Microsoft Services"))
        for rt in directory.ms_refresh_tokens:
            user = directory.user(rt.upn)
            self.state.refresh_tokens[rt.value] = _RefreshToken(rt.client_id, user.tenant_id if user else "", rt.upn, " ".join(rt.scopes),
                                                                rt.mfa_done, time.time() - 86400 * 30, rt.state)

    # ------------------------------------------------------------------ tenants and endpoints

    @property
    def base_url(self) -> str:
        return self._base_url()

    def _tenant(self, segment: str, correlation_id: str = "") -> Tenant | None:
        """None for the multi-tenant aliases; Entra's AADSTS90002 for a tenant that does not exist."""
        if segment.lower() in ("common", "organizations"):
            return None
        tenant = self._consumers if segment.lower() in ("consumers", CONSUMER_TENANT_ID) else self.directory.tenant(segment)
        if tenant is None or (self.cloud is not None and tenant.cloud != self.cloud):  # "…signing into the correct cloud"
            raise entra_error(90002, LOGIN_HOST[self.cloud or MsCloud.GLOBAL], correlation_id, tenant=segment)
        return tenant

    def openid_configuration(self, segment: str) -> Reply:
        try:
            tenant = self._tenant(segment)
        except OAuthError as exc:
            return Reply.from_error(exc)
        path = tenant.id if tenant else segment.lower()
        cloud = tenant.cloud if tenant else self.cloud or MsCloud.GLOBAL
        issuer_tenant = tenant.id if tenant else "{tenantid}"
        base = self.base_url
        return Reply(200, {
            "token_endpoint": f"{base}/{path}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{path}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{path}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{path}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{path}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
                                 "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{base}/{path}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": LOGIN_HOST[cloud].removeprefix("login."),
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": GRAPH_URI[cloud].removeprefix("https://"),
            "rbac_url": "https://pas.windows.net",
        })

    def instance_discovery(self, params: dict[str, str]) -> Reply:
        """msal asks the authority host itself when instance discovery is on and the host is not Microsoft's."""
        authorize = urllib.parse.urlparse(params.get("authorization_endpoint", ""))
        segment = authorize.path.strip("/").split("/")[0] if authorize.path else "common"
        host = urllib.parse.urlparse(self.base_url).netloc
        return Reply(200, {
            "tenant_discovery_endpoint": f"{self.base_url}/{segment}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })

    def user_realm(self, username: str) -> Reply:
        """msal's user-realm discovery before ROPC: managed (cloud) accounts, or unknown."""
        user = self.directory.user(username)
        account_type = "Unknown" if user is None else "MSA" if user.personal else "Managed"
        return Reply(200, {"ver": "1.0", "account_type": account_type, "domain_name": username.rsplit("@", 1)[-1],
                           "cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline"})

    def jwks(self) -> dict[str, object]:
        return {"keys": [self.signing_key.jwk()]}

    # ------------------------------------------------------------------ scopes

    def resolve_scopes(self, scope: str, cloud: MsCloud, tenant: Tenant | None, app: AppRegistration | None) -> ResolvedScopes:
        """Entra's reading of a scope string; raises its errors (70011, 28000, 500011, 650053)."""
        items = scope.split()
        oidc = tuple(s for s in items if s.lower() in OIDC_SCOPES)
        per_resource: dict[str, list[str]] = {}
        audience_of: dict[str, str] = {}
        for item in items:
            if item.lower() in OIDC_SCOPES:
                continue
            if "/" in item:
                resource, _, name = item.rpartition("/")
                if not name or not resource:
                    raise entra_error(70011, LOGIN_HOST[cloud], scope=scope)
                kind = self._resource_kind(resource, cloud, tenant)
                audience = resource.rstrip("/").lower() if "://" in resource else resource.lower()
            else:
                kind, name, audience = GRAPH, item, GRAPH_URI[cloud]
            per_resource.setdefault(kind, []).append(name)
            audience_of.setdefault(kind, audience)
        if len(per_resource) > 1:
            raise entra_error(28000, LOGIN_HOST[cloud], scope=scope)
        if not per_resource:  # only openid/profile/offline_access: Entra issues a Graph token
            return ResolvedScopes(GRAPH, GRAPH_URI[cloud], ("User.Read",), False, oidc)
        kind, raw_names = next(iter(per_resource.items()))
        default = any(n == ".default" for n in raw_names)
        names: list[str] = []
        for raw in raw_names:
            if raw == ".default":
                continue
            canonical = _canonical(raw, kind)
            if canonical is None:
                app_name = app.display_name if app else ""
                raise entra_error(650053, LOGIN_HOST[cloud], app_name=app_name, scope=raw,
                                  resource_app_id=EXCHANGE_APP_ID if kind == EXCHANGE else GRAPH_APP_ID)
            names.append(canonical)
        return ResolvedScopes(kind, audience_of[kind], tuple(dict.fromkeys(names)), default, oidc)

    def _resource_kind(self, resource: str, cloud: MsCloud, tenant: Tenant | None) -> str:
        key = resource.rstrip("/").lower()
        if key in RESOURCE_APP_IDS:
            return RESOURCE_APP_IDS[key]
        if key in RESOURCE_URIS[cloud]:
            return RESOURCE_URIS[cloud][key]
        tenant_name = tenant.domain if tenant else "common"
        raise entra_error(500011, LOGIN_HOST[cloud], resource=resource, tenant_name=tenant_name)

    # ------------------------------------------------------------------ clients

    def _app(self, client_id: str, tenant: Tenant | None, cloud: MsCloud, correlation_id: str) -> AppRegistration:
        app = self.directory.app(client_id)
        tenant_name = tenant.domain if tenant else "common"
        if app is None:
            raise entra_error(700016, LOGIN_HOST[cloud], correlation_id, client_id=client_id, tenant_name=tenant_name)
        if tenant is not None and tenant.id == CONSUMER_TENANT_ID:
            if not app.personal_accounts:
                raise entra_error(9002332, LOGIN_HOST[cloud], correlation_id, client_id=client_id, app_name=app.display_name)
            return app
        if tenant is None and not app.any_tenant:
            raise entra_error(50194, LOGIN_HOST[cloud], correlation_id, client_id=client_id, app_name=app.display_name)
        if tenant is not None and not app.exists_in(tenant.id) and not app.any_tenant:
            raise entra_error(700016, LOGIN_HOST[cloud], correlation_id, client_id=client_id, tenant_name=tenant_name)
        return app

    def _authenticate_client(self, app: AppRegistration, params: dict[str, str], token_endpoints: tuple[str, ...], cloud: MsCloud,
                             confidential_only: bool, correlation_id: str) -> str:
        """The `appidacr` Entra records: 0 public, 1 secret, 2 certificate. Raises Entra's client errors."""
        host = LOGIN_HOST[cloud]
        secret = params.get("client_secret", "")
        assertion = params.get("client_assertion", "")
        if (secret or assertion) and app.public_client and not app.secrets and not app.certificates and not app.expired_secrets:
            raise entra_error(700025, host, correlation_id)
        if secret:
            if secret in app.secrets:
                return "1"
            if secret in app.expired_secrets:
                raise entra_error(7000222, host, correlation_id, client_id=app.client_id)
            raise entra_error(7000215, host, correlation_id, client_id=app.client_id)
        if assertion:
            self._verify_assertion(app, assertion, params.get("client_assertion_type", ""), token_endpoints, host, correlation_id)
            return "2"
        if confidential_only or not app.public_client:
            raise entra_error(7000218, host, correlation_id)
        return "0"

    def _verify_assertion(self, app: AppRegistration, assertion: str, assertion_type: str, audiences: tuple[str, ...], host: str,
                          correlation_id: str) -> None:
        import jwt  # PyJWT, lazily: see idp_keys.sign_jwt
        from cryptography import x509

        def fail(reason: str, thumbprint: str = "") -> OAuthError:
            return entra_error(700027, host, correlation_id, reason=reason, thumbprint=thumbprint, client_id=app.client_id)

        if assertion_type != ASSERTION_TYPE:
            raise entra_error(900144, host, correlation_id, parameter="client_assertion_type")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise fail("The client assertion is not a valid JWT.") from exc
        sha256 = _thumbprint_hex(header.get("x5t#S256"))
        sha1 = _thumbprint_hex(header.get("x5t")).upper()
        used = sha256 or sha1
        cert = next((c for c in app.certificates
                     if (sha256 and c.thumbprint_sha256.lower() == sha256) or (sha1 and c.thumbprint_sha1.upper() == sha1)),
                    None)
        if cert is None:
            raise fail("The key was not found.", used.upper())
        public_key = x509.load_pem_x509_certificate(cert.cert_pem.encode()).public_key()
        try:
            claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"], audience=list(audiences),
                                options={"require": ["exp", "aud", "iss"]}, leeway=300)
        except jwt.InvalidAudienceError as exc:
            raise fail("The audience claim does not match the token endpoint.", used.upper()) from exc
        except jwt.ExpiredSignatureError as exc:
            raise fail("The client assertion has expired.", used.upper()) from exc
        except jwt.PyJWTError as exc:
            raise fail("The signature of the client assertion is not valid.", used.upper()) from exc
        if claims.get("iss") != app.client_id or claims.get("sub", app.client_id) != app.client_id:
            raise fail("The issuer and subject of the client assertion must be the client id.", used.upper())

    # ------------------------------------------------------------------ consent

    def _consented(self, app: AppRegistration, tenant_id: str) -> set[str]:
        return set(app.consented_scopes) | self.state.user_consents.get((app.client_id, tenant_id), set())

    def _ensure_consent(self, app: AppRegistration, tenant: Tenant, resolved: ResolvedScopes, interactive: bool,
                        correlation_id: str) -> None:
        """Entra checks that every requested permission was consented; a signed-in user may consent on the spot.

        Non-interactive grants, device-code polls and tenants that forbid user consent get AADSTS65001 (the
        authorize endpoint sends it back in the redirect); a user shown the consent prompt may decline (65004).
        """
        consented = {n.lower() for n in self._consented(app, tenant.id)}
        missing = [n for n in resolved.names if n.lower() not in consented]
        if resolved.default and not any(n.lower() in consented for n in DELEGATED_PERMISSIONS[resolved.kind]):
            missing.append(".default")
        foreign = not app.exists_in(tenant.id) and (app.client_id, tenant.id) not in self.state.provisioned
        if not missing and not foreign:
            return
        host = LOGIN_HOST[tenant.cloud]
        if interactive and tenant.users_can_consent:
            if not self.directory.sign_in.consents:
                raise entra_error(65004, host, correlation_id)
            self.state.user_consents.setdefault((app.client_id, tenant.id), set()).update(n for n in missing if n != ".default")
            self.state.provisioned.add((app.client_id, tenant.id))
            return
        raise entra_error(65001, host, correlation_id, client_id=app.client_id, app_name=app.display_name)

    def _check_policies(self, user: MsUser, tenant: Tenant, mfa_done: bool, scope: str, app: AppRegistration, cid: str) -> None:
        """Conditional Access as Entra applies it at token issuance: a block, or MFA not satisfied for this grant."""
        if user.blocked_by_conditional_access:
            raise entra_error(53003, LOGIN_HOST[tenant.cloud], cid)
        if user.mfa_required and not mfa_done:
            raise entra_error(50076, LOGIN_HOST[tenant.cloud], cid, resource_app_id=self._resource_id_for(scope, tenant, app))

    # ------------------------------------------------------------------ token minting

    def _times(self) -> tuple[int, int, int]:
        now = int(time.time()) - self.directory.ms_token_age_seconds
        return now - ISSUED_AT_SKEW, now + ACCESS_TOKEN_LIFETIME, max(0, now + ACCESS_TOKEN_LIFETIME - int(time.time()))

    def _user_response(self, app: AppRegistration, tenant: Tenant, user: MsUser, resolved: ResolvedScopes, appidacr: str,
                       mfa_done: bool, params: dict[str, str], nonce: str = "") -> Reply:
        iat, exp, expires_in = self._times()
        consented = self._consented(app, tenant.id)
        granted = [p for p in DELEGATED_PERMISSIONS[resolved.kind]
                   if p.lower() in {c.lower() for c in consented} | {n.lower() for n in resolved.names} and p not in OIDC_SCOPES]
        iss = f"https://{STS_HOST[tenant.cloud]}/{tenant.id}/"
        given, _, family = user.display_name.partition(" ")
        claims: dict[str, object] = {
            "aud": resolved.audience, "iss": iss, "iat": iat, "nbf": iat, "exp": exp,
            "acr": "1", "aio": secrets.token_urlsafe(40), "amr": ["pwd", "mfa"] if mfa_done else ["pwd"],
            "app_displayname": app.display_name, "appid": app.client_id, "appidacr": appidacr,
            "family_name": family, "given_name": given, "ipaddr": "127.0.0.1", "name": user.display_name,
            "oid": user.oid, "puid": hashlib.sha256(user.oid.encode()).hexdigest()[:16].upper(), "rh": "0.lab.",
            "scp": " ".join(granted), "sid": hashlib.sha256(user.upn.encode()).hexdigest()[:36],
            "sub": b64url(hashlib.sha256((user.oid + app.client_id).encode()).digest()), "tid": tenant.id,
            "unique_name": user.upn, "upn": user.upn, "uti": secrets.token_urlsafe(16), "ver": "1.0",
        }
        scope_out = (" ".join(granted) if resolved.kind == GRAPH else " ".join(f"{resolved.audience}/{g}" for g in granted))
        if resolved.kind == GRAPH:
            scope_out = " ".join([scope_out, *[s for s in ("openid", "profile", "email") if s in resolved.oidc]]).strip()
        if user.personal:  # personal accounts get an opaque "compact ticket", not a JWT
            access_token = "EwA" + secrets.token_urlsafe(900)
            self.state.opaque_tokens[access_token] = claims
        else:
            access_token = sign_jwt(self.signing_key, claims)
        body: dict[str, object] = {
            "token_type": "Bearer", "scope": scope_out, "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": access_token,
        }
        if "offline_access" in resolved.oidc:
            rt = "0.A" + secrets.token_urlsafe(96)
            self.state.refresh_tokens[rt] = _RefreshToken(app.client_id, tenant.id, user.upn, params.get("scope", ""), mfa_done,
                                                          time.time())
            body["refresh_token"] = rt
        if "openid" in resolved.oidc:
            id_claims: dict[str, object] = {
                "aud": app.client_id, "iss": f"{self.base_url}/{tenant.id}/v2.0", "iat": iat + ISSUED_AT_SKEW,
                "nbf": iat + ISSUED_AT_SKEW, "exp": exp, "name": user.display_name, "oid": user.oid,
                "preferred_username": user.upn, "rh": "0.lab.", "sub": claims["sub"], "tid": tenant.id,
                "uti": secrets.token_urlsafe(16), "ver": "2.0",
            }
            if nonce:
                id_claims["nonce"] = nonce
            body["id_token"] = sign_jwt(self.signing_key, id_claims)
        if params.get("client_info") == "1":
            body["client_info"] = b64url(json.dumps({"uid": user.oid, "utid": tenant.id}).encode())
        return Reply(200, body)

    def _app_response(self, app: AppRegistration, tenant: Tenant, resolved: ResolvedScopes, appidacr: str) -> Reply:
        iat, exp, expires_in = self._times()
        iss = f"https://{STS_HOST[tenant.cloud]}/{tenant.id}/"
        claims: dict[str, object] = {
            "aud": resolved.audience, "iss": iss, "iat": iat, "nbf": iat, "exp": exp,
            "aio": secrets.token_urlsafe(40), "app_displayname": app.display_name, "appid": app.client_id, "appidacr": appidacr,
            "idp": iss, "idtyp": "app", "oid": app.service_principal_oid, "rh": "0.lab.", "sub": app.service_principal_oid,
            "tid": tenant.id, "uti": secrets.token_urlsafe(16), "ver": "1.0",
        }
        roles = app.app_roles.get(resolved.kind, ())
        if roles:
            claims["roles"] = list(roles)
        return Reply(200, {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
                           "access_token": sign_jwt(self.signing_key, claims)})

    # ------------------------------------------------------------------ endpoints

    def device_code(self, segment: str, params: dict[str, str], correlation_id: str) -> Reply:
        try:
            with self._lock:
                tenant = self._tenant(segment, correlation_id)
                cloud = tenant.cloud if tenant else MsCloud.GLOBAL
                client_id = params.get("client_id", "")
                if not client_id:
                    raise entra_error(900144, LOGIN_HOST[cloud], correlation_id, parameter="client_id")
                app = self._app(client_id, tenant, cloud, correlation_id) if tenant else self.directory.app(client_id)
                if app is None:
                    raise entra_error(700016, LOGIN_HOST[cloud], correlation_id, client_id=client_id, tenant_name=segment)
                if not app.public_client:
                    raise entra_error(7000218, LOGIN_HOST[cloud], correlation_id)
                self.resolve_scopes(params.get("scope", ""), cloud, tenant, app)
                user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
                device_code = "DAQABAAEAAAD" + secrets.token_urlsafe(120)
                self.state.device_codes[device_code] = _DeviceCode(
                    device_code, user_code, client_id, segment, params.get("scope", ""),
                    time.time() + self.directory.device_code_expires_in)
        except OAuthError as exc:
            return Reply.from_error(exc)
        verification_uri = f"{self.base_url}/devicelogin"
        return Reply(200, {
            "user_code": user_code, "device_code": device_code, "verification_uri": verification_uri,
            "expires_in": self.directory.device_code_expires_in, "interval": max(1, self.directory.device_code_interval),
            "message": f"To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate.",
        })

    def decide_device_code(self, user_code: str, decision: DeviceCodeDecision, upn: str = "") -> bool:
        """The simulated user at the device-login page, driven explicitly (tests, `lab serve`)."""
        with self._lock:
            pending = next((d for d in self.state.device_codes.values() if d.user_code == user_code.replace("-", "").upper()), None)
            if pending is None:
                return False
            pending.decision, pending.upn = decision, upn
            return True

    def token(self, segment: str, params: dict[str, str], correlation_id: str) -> Reply:
        try:
            with self._lock:
                return self._token(segment, params, correlation_id)
        except OAuthError as exc:
            return Reply.from_error(exc)

    def _token(self, segment: str, params: dict[str, str], correlation_id: str) -> Reply:
        tenant = self._tenant(segment, correlation_id)
        cloud = tenant.cloud if tenant else MsCloud.GLOBAL
        host = LOGIN_HOST[cloud]
        grant_type = params.get("grant_type", "")
        if not grant_type:
            raise entra_error(900144, host, correlation_id, parameter="grant_type")
        client_id = params.get("client_id", "")
        if not client_id:
            raise entra_error(900144, host, correlation_id, parameter="client_id")
        endpoints = tuple(dict.fromkeys(f"{self.base_url}/{s}/oauth2/v2.0/token" for s in (segment, tenant.id if tenant else segment)))
        if grant_type == "client_credentials":
            return self._client_credentials(tenant, params, endpoints, correlation_id)
        if grant_type == DEVICE_CODE_GRANT:
            return self._device_code_grant(tenant, params, endpoints, correlation_id)
        if grant_type == "refresh_token":
            return self._refresh_grant(tenant, params, endpoints, correlation_id, segment)
        if grant_type == "authorization_code":
            return self._auth_code_grant(tenant, params, endpoints, correlation_id, segment)
        if grant_type == "password":
            return self._password_grant(tenant, params, endpoints, correlation_id, segment)
        raise entra_error(70003, host, correlation_id, grant_type=grant_type)

    def _client_credentials(self, tenant: Tenant | None, params: dict[str, str], endpoints: tuple[str, ...], cid: str) -> Reply:
        if tenant is None:
            raise entra_error(50059, correlation_id=cid)
        app = self._app(params["client_id"], tenant, tenant.cloud, cid)
        if not app.exists_in(tenant.id):
            raise entra_error(700016, LOGIN_HOST[tenant.cloud], cid, client_id=app.client_id, tenant_name=tenant.domain)
        appidacr = self._authenticate_client(app, params, endpoints, tenant.cloud, True, cid)
        scope = params.get("scope", "")
        items = scope.split()
        if not items:
            raise entra_error(900144, LOGIN_HOST[tenant.cloud], cid, parameter="scope")
        if any(not item.endswith("/.default") for item in items):
            raise entra_error(1002012, LOGIN_HOST[tenant.cloud], cid, scope=scope)
        if len(items) > 1:
            raise entra_error(70011, LOGIN_HOST[tenant.cloud], cid, scope=scope)
        resolved = self.resolve_scopes(scope, tenant.cloud, tenant, app)
        return self._app_response(app, tenant, resolved, appidacr)

    def _signed_in_user(self, tenant: Tenant | None, upn: str = "") -> MsUser:
        upn = upn or self.directory.sign_in.upn
        user = self.directory.user(upn) if upn else next(
            (u for u in self.directory.users if tenant is None or u.tenant_id == tenant.id), None)
        if user is None:
            raise entra_error(50126)
        return user

    def _user_tenant(self, tenant: Tenant | None, user: MsUser, app: AppRegistration, cid: str, segment: str = "") -> Tenant:
        """The signed-in user's home tenant, if this authority and this app may serve them (else AADSTS50020 / 700016)."""
        home = self._consumers if user.personal else self.directory.tenant(user.tenant_id)
        if home is None:
            raise entra_error(50126, correlation_id=cid)
        wrong_kind = user.personal and (segment.lower() == "organizations" or not app.personal_accounts)
        if (tenant is not None and tenant.id != home.id) or wrong_kind:
            where = tenant or self._consumers
            identity_provider = "live.com" if user.personal else f"https://{STS_HOST[home.cloud]}/{home.id}/"
            raise entra_error(50020, LOGIN_HOST[where.cloud], cid, upn=user.upn, idp=identity_provider,
                              tenant_name=where.domain if tenant else app_home_name(self.directory, app), client_id=app.client_id,
                              app_name=app.display_name)
        if not app.exists_in(home.id) and not app.any_tenant:
            raise entra_error(700016, LOGIN_HOST[home.cloud], cid, client_id=app.client_id, tenant_name=home.domain)
        return home

    def _device_code_grant(self, tenant: Tenant | None, params: dict[str, str], endpoints: tuple[str, ...], cid: str) -> Reply:
        cloud = tenant.cloud if tenant else MsCloud.GLOBAL
        host = LOGIN_HOST[cloud]
        pending = self.state.device_codes.get(params.get("device_code", ""))
        if pending is None or pending.client_id.lower() != params["client_id"].lower():
            raise entra_error(9002313, host, cid)
        if pending.done or time.time() > pending.expires_at:
            raise entra_error(70020, host, cid)
        pending.polls += 1
        sign_in = self.directory.sign_in
        decision = pending.decision
        if decision is None and sign_in.decision != DeviceCodeDecision.MANUAL and pending.polls > sign_in.approve_after_polls:
            decision = sign_in.decision
        if decision is None or decision == DeviceCodeDecision.MANUAL:
            raise entra_error(70016, host, cid)
        pending.done = True
        if decision == DeviceCodeDecision.DECLINE:
            raise entra_error(70000, host, cid, device_flow=True)
        if decision == DeviceCodeDecision.EXPIRE:
            raise entra_error(70020, host, cid)
        app = self._app(pending.client_id, tenant, cloud, cid)
        appidacr = self._authenticate_client(app, params, endpoints, cloud, False, cid)
        user = self._signed_in_user(tenant, pending.upn)
        home = self._user_tenant(tenant, user, app, cid, pending.tenant_segment)
        self._check_policies(user, home, sign_in.completes_mfa, pending.scope, app, cid)
        resolved = self.resolve_scopes(pending.scope, home.cloud, home, app)
        self._ensure_consent(app, home, resolved, interactive=True, correlation_id=cid)
        return self._user_response(app, home, user, resolved, appidacr, user.mfa_required, {**params, "scope": pending.scope})

    def _resource_id_for(self, scope: str, tenant: Tenant, app: AppRegistration) -> str:
        try:
            return self.resolve_scopes(scope, tenant.cloud, tenant, app).resource_app_id
        except OAuthError:
            return GRAPH_APP_ID

    def _refresh_grant(self, tenant: Tenant | None, params: dict[str, str], endpoints: tuple[str, ...], cid: str,
                       segment: str) -> Reply:
        cloud = tenant.cloud if tenant else MsCloud.GLOBAL
        record = self.state.refresh_tokens.get(params.get("refresh_token", ""))
        if record is None or record.client_id.lower() != params["client_id"].lower():
            raise entra_error(9002313, LOGIN_HOST[cloud], cid)
        issued = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(record.issued_at))
        if record.state == RefreshTokenState.INACTIVE:
            raise entra_error(70008, LOGIN_HOST[cloud], cid)
        if record.state == RefreshTokenState.REVOKED:
            valid_from = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
            raise entra_error(50173, LOGIN_HOST[cloud], cid, issued=issued, valid_from=valid_from)
        if record.state == RefreshTokenState.LIFETIME_EXPIRED:
            raise entra_error(700082, LOGIN_HOST[cloud], cid, issued=issued)
        if record.state == RefreshTokenState.SIGN_IN_FREQUENCY:
            raise entra_error(70043, LOGIN_HOST[cloud], cid, issued=issued, max_age="1.00:00:00")
        app = self._app(record.client_id, tenant, cloud, cid)
        appidacr = self._authenticate_client(app, params, endpoints, cloud, False, cid)
        user = self._signed_in_user(tenant, record.upn)
        home = self._user_tenant(tenant, user, app, cid, segment)
        scope = params.get("scope") or record.scope
        self._check_policies(user, home, record.mfa_done, scope, app, cid)
        resolved = self.resolve_scopes(scope, home.cloud, home, app)
        self._ensure_consent(app, home, resolved, interactive=False, correlation_id=cid)
        return self._user_response(app, home, user, resolved, appidacr, record.mfa_done, {**params, "scope": scope})

    def _password_grant(self, tenant: Tenant | None, params: dict[str, str], endpoints: tuple[str, ...], cid: str,
                        segment: str) -> Reply:
        cloud = tenant.cloud if tenant else MsCloud.GLOBAL
        app = self._app(params["client_id"], tenant, cloud, cid)
        appidacr = self._authenticate_client(app, params, endpoints, cloud, False, cid)
        user = self.directory.user(params.get("username", ""))
        if user is None or not user.password or user.password != params.get("password", ""):
            raise entra_error(50126, LOGIN_HOST[cloud], cid)
        home = self._user_tenant(tenant, user, app, cid, segment)
        scope = params.get("scope", "")
        self._check_policies(user, home, False, scope, app, cid)
        resolved = self.resolve_scopes(scope, home.cloud, home, app)
        self._ensure_consent(app, home, resolved, interactive=False, correlation_id=cid)
        return self._user_response(app, home, user, resolved, appidacr, False, params)

    def _auth_code_grant(self, tenant: Tenant | None, params: dict[str, str], endpoints: tuple[str, ...], cid: str,
                         segment: str) -> Reply:
        cloud = tenant.cloud if tenant else MsCloud.GLOBAL
        host = LOGIN_HOST[cloud]
        code = self.state.auth_codes.get(params.get("code", ""))
        if code is None or time.time() > code.expires_at or code.client_id.lower() != params["client_id"].lower():
            raise entra_error(70008, host, cid)
        if code.redeemed:
            raise entra_error(54005, host, cid)
        code.redeemed = True
        if params.get("redirect_uri", "") != code.redirect_uri:
            raise entra_error(50011, host, cid, redirect_uri=params.get("redirect_uri", ""), client_id=code.client_id)
        if code.code_challenge:
            verifier = params.get("code_verifier", "")
            expected = (b64url(hashlib.sha256(verifier.encode()).digest()) if code.code_challenge_method.upper() == "S256" else verifier)
            if not verifier or expected != code.code_challenge:
                raise entra_error(501481, host, cid)
        app = self._app(code.client_id, tenant, cloud, cid)
        appidacr = self._authenticate_client(app, params, endpoints, cloud, False, cid)
        user = self._signed_in_user(None, code.upn)
        home = self._user_tenant(tenant, user, app, cid, segment)
        resolved = self.resolve_scopes(code.scope, home.cloud, home, app)
        return self._user_response(app, home, user, resolved, appidacr, user.mfa_required, {**params, "scope": code.scope}, code.nonce)

    def authorize(self, segment: str, params: dict[str, str]) -> Reply:
        """The browser leg: Entra's sign-in and consent pages, answered by the simulated user.

        Until the redirect URI is trusted (tenant, client id, redirect URI) an error stays on Entra's error page; every
        later error goes back to the app in the redirect (`error`, `error_description` with the AADSTS text, `state`),
        which is how a redirect-based client learns it. Success answers with the code in the chosen response mode.
        """
        with self._lock:
            try:
                tenant = self._tenant(segment)
                cloud = tenant.cloud if tenant else MsCloud.GLOBAL
                if not params.get("client_id"):
                    raise entra_error(900144, LOGIN_HOST[cloud], parameter="client_id")
                app = self._app(params["client_id"], tenant, cloud, "")
                redirect_uri = params.get("redirect_uri") or next(iter(app.redirect_uris), "")
                if not redirect_uri:
                    raise entra_error(500113, LOGIN_HOST[cloud])
                if not _redirect_allowed(redirect_uri, app.redirect_uris):
                    raise entra_error(50011, LOGIN_HOST[cloud], redirect_uri=redirect_uri, client_id=app.client_id)
            except OAuthError as exc:
                return error_page(exc)
            mode = params.get("response_mode", "") if params.get("response_mode", "") in ("form_post", "fragment") else "query"
            state = params.get("state", "")
            scope = params.get("scope", "")
            try:
                response_type = params.get("response_type", "")
                if not response_type:
                    raise entra_error(900144, LOGIN_HOST[cloud], parameter="response_type")
                if response_type.split() != ["code"]:
                    raise entra_error(700054, LOGIN_HOST[cloud], response_type=response_type)
                if not scope.strip():
                    raise entra_error(900144, LOGIN_HOST[cloud], parameter="scope")
                user = self._signed_in_user(tenant, self.directory.sign_in.upn or params.get("login_hint", ""))
                home = self._user_tenant(tenant, user, app, "", segment)
                resolved = self.resolve_scopes(scope, home.cloud, home, app)
                self._check_policies(user, home, self.directory.sign_in.completes_mfa, scope, app, "")
                # prompt=none: no page may be shown, so missing consent cannot be given on the spot.
                self._ensure_consent(app, home, resolved, interactive=params.get("prompt") != "none", correlation_id="")
            except OAuthError as exc:
                return _redirect(redirect_uri, _error_answer(exc, state), mode, exc.error)
            code = "0.A" + secrets.token_urlsafe(160)
            self.state.auth_codes[code] = _AuthCode(app.client_id, home.id, user.upn, scope, redirect_uri,
                                                    params.get("code_challenge", ""), params.get("code_challenge_method", "plain"),
                                                    params.get("nonce", ""), time.time() + 600)
            answer = {"code": code, "state": state, "session_state": secrets.token_hex(16)}
            if params.get("client_info") == "1":
                answer["client_info"] = b64url(json.dumps({"uid": user.oid, "utid": home.id}).encode())
            return _redirect(redirect_uri, answer, mode)

    def opaque_token_claims(self, access_token: str) -> dict[str, object] | None:
        """What Exchange Online learns about a personal account's opaque token (same fields a work JWT carries)."""
        with self._lock:
            claims = self.state.opaque_tokens.get(access_token)
            return dict(claims) if claims is not None else None

    def revoke_refresh_tokens(self, upn: str) -> int:
        """An admin's "Revoke sessions" (or a password change): every refresh token of the user now gets AADSTS50173."""
        with self._lock:
            hits = [r for r in self.state.refresh_tokens.values() if r.upn.lower() == upn.lower()]
            for record in hits:
                record.state = RefreshTokenState.REVOKED
            return len(hits)


def _thumbprint_hex(value: object) -> str:
    """A JWS x5t / x5t#S256 header as hex; empty when absent or not base64url (the key then is "not found")."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return b64url_decode(value).hex()
    except ValueError:
        return ""


def app_home_name(directory: Directory, app: AppRegistration) -> str:
    home = directory.tenant(app.home_tenant_id)
    return home.domain if home else app.home_tenant_id


def _redirect_allowed(redirect_uri: str, registered: tuple[str, ...]) -> bool:
    """Entra's rule for native apps: a loopback redirect matches whatever port the app picked."""
    asked = urllib.parse.urlsplit(redirect_uri)
    for uri in registered:
        reg = urllib.parse.urlsplit(uri)
        if redirect_uri == uri:
            return True
        if (reg.hostname in ("localhost", "127.0.0.1") and asked.hostname == reg.hostname and asked.scheme == reg.scheme
                and asked.path.rstrip("/") == reg.path.rstrip("/")):
            return True
    return False


# The `error` Entra puts in the redirect for codes whose token-endpoint `error` differs.
_REDIRECT_ERROR = {65001: "consent_required", 65004: "access_denied"}


def _error_answer(exc: OAuthError, state: str) -> dict[str, str]:
    """An authorization error as the redirect carries it."""
    codes = exc.body.get("error_codes") or [0]
    code = int(codes[0])  # type: ignore[index]
    answer = {"error": _REDIRECT_ERROR.get(code, exc.error), "error_description": str(exc.body.get("error_description", ""))}
    if code == 65004:
        answer["error_subcode"] = "cancel"  # the user pressed Cancel on the consent prompt
    answer["state"] = state
    return answer


def _redirect(redirect_uri: str, answer: dict[str, str], mode: str, error: str = "") -> Reply:
    """Back to the app: `query` (302 with ?...), `fragment` (302 with #..., which a loopback listener never sees) or
    `form_post` (a page whose form POSTs the answer to the redirect URI)."""
    if mode == "form_post":
        inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}"/>' for k, v in answer.items())
        page = (f'<html><body onload="document.forms[0].submit()"><form method="POST" action="{html.escape(redirect_uri)}">{inputs}'
                "<noscript><input type=\"submit\" value=\"Continue\"/></noscript></form></body></html>")
        return Reply(200, page, {"Content-Type": "text/html; charset=utf-8"}, error=error)
    separator = "#" if mode == "fragment" else "&" if "?" in redirect_uri else "?"
    return Reply.redirect(redirect_uri + separator + urllib.parse.urlencode(answer), error)


def error_page(exc: OAuthError) -> Reply:
    description = str(exc.body.get("error_description", ""))
    page = f"<html><body><h1>Sorry, but we're having trouble signing you in.</h1><p>{html.escape(description)}</p></body></html>"
    codes = exc.body.get("error_codes") or ()
    return Reply(exc.status, page, {"Content-Type": "text/html; charset=utf-8"}, error=exc.error,
                 error_codes=tuple(int(c) for c in codes))  # type: ignore[union-attr]
