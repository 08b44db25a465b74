"""Microsoft tokens with msal, exactly as the user's own application would get them.

Flows: device_code (SSH-first), auth_code (loopback redirect or paste-back), client_credentials (secret),
client_certificate, silent (from the token cache), refresh_token (a refresh token the user has).
msal is synchronous: every call runs in a thread, the device-code poll one non-blocking step at a time.
Each acquisition builds a new app instance, which also sidesteps msal's 60 s cache of HTTP 400 answers.
"""

from __future__ import annotations

import asyncio
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailscope.credential import Credential
from mailscope.events import DeviceCodePrompt, PromptRequested
from mailscope.record import SessionRecord
from mailscope.secret import SecretKind
from mailscope.settings import CheckSettings
from providers import presets
from providers.http import HttpTap, MsalHttpClient
from providers.redirect import browser_sign_in
from providers.token_cache import default_cache_path, granted_scope_for, load_cache, save_cache
from providers.tokens import Attempt

RESERVED_SCOPES = ("offline_access", "openid", "profile")
TENANT_ALIASES = ("organizations", "consumers", "common")
USER_FLOWS = ("device_code", "auth_code", "silent", "refresh_token")
FLOWS = (*USER_FLOWS, "client_credentials", "client_certificate")
FLOW_ALIASES = {"authorization_code": "auth_code", "interactive": "auth_code", "cache": "silent",
                "client_secret": "client_credentials", "certificate": "client_certificate"}
_PENDING = ("authorization_pending", "slow_down")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def tenant_form(tenant: str) -> str:
    """How the tenant was given: "id", "domain", or one of organizations/consumers/common."""
    tenant = tenant.strip().lower()
    if tenant in TENANT_ALIASES:
        return tenant
    return "id" if _GUID.match(tenant) else "domain"


def resolve_authority(settings: CheckSettings) -> str:
    """settings.authority wins (labs, ADFS, B2C); else cloud login host + tenant (default `organizations`)."""
    if settings.authority:
        return settings.authority.rstrip("/")
    cloud = settings.cloud or presets.provider_for_host(settings.host)[1] or "global"
    if cloud not in presets.CLOUDS:
        raise ValueError(f"unknown cloud {cloud!r}: use one of {', '.join(presets.CLOUDS)}")
    return presets.authority_url(cloud, settings.tenant.strip())


def split_reserved(scopes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(scopes to pass to msal, reserved scopes the user typed). msal adds the reserved ones itself."""
    kept, reserved = [], []
    for scope in scopes:
        (reserved if scope.strip().lower() in RESERVED_SCOPES else kept).append(scope.strip())
    return [s for s in kept if s], reserved


def default_scopes(settings: CheckSettings, flow: str) -> tuple[str, ...]:
    cloud = settings.cloud or presets.provider_for_host(settings.host)[1] or "global"
    return presets.microsoft_scopes(settings.protocol, cloud, flow)


def normalise_flow(flow: str) -> str:
    """Aliases to the canonical name; no flow (or CheckSettings' default "static") means device code, the SSH-first flow."""
    flow = flow.strip().lower().replace("-", "_")
    if flow in ("", "static"):
        return "device_code"
    return FLOW_ALIASES.get(flow, flow)


def _pem_blocks(text: str, kind: str) -> list[str]:
    return re.findall(rf"-----BEGIN [A-Z ]*{kind}-----.+?-----END [A-Z ]*{kind}-----", text, re.S)


@dataclass
class MicrosoftSource:
    """A TokenSource for Microsoft identity (Entra ID / MSA) through msal."""

    settings: CheckSettings
    ca_file: str | None = None  # trust for the identity provider (lab CA); None: system trust
    cache_path: Path | None = None  # None: default_cache_path(); only user flows use the file
    open_browser: Any = None  # callable(url) for the auth-code flow; None: decide from the environment
    flow: str = field(init=False)

    def __post_init__(self) -> None:
        self.flow = normalise_flow(self.settings.flow)

    async def acquire(self, record: SessionRecord) -> Credential:
        settings = self.settings
        scopes_typed = settings.scopes or default_scopes(settings, self.flow)
        tap = HttpTap(record, ca_file=self.ca_file)
        attempt = Attempt(record, tap, provider="microsoft", flow=self.flow, source="msal", requested_scopes=scopes_typed)
        try:
            if self.flow not in FLOWS:
                attempt.fail({"error": "configuration_error",
                              "error_description": f"unknown Microsoft flow {self.flow!r}; use one of {', '.join(FLOWS)}"})
            if not settings.client_id:
                attempt.fail({"error": "configuration_error", "error_description": "no client id given (--client-id)",
                              "fix": ["Give the application (client) id of the app registration: --client-id <GUID>."]})
            try:
                attempt.authority = resolve_authority(settings)
            except ValueError as exc:
                attempt.fail({"error": "configuration_error", "error_description": str(exc)})
            scopes, reserved = split_reserved(tuple(scopes_typed))
            if reserved:
                attempt.note(f"scopes {' '.join(reserved)} are reserved: msal requests offline_access openid profile by itself "
                             "for user flows, so they were not passed on (they stay listed as requested)")
            attempt.note(f"authority {attempt.authority} (tenant form: {tenant_form(attempt.authority.rsplit('/', 1)[-1])})")
            if self.flow in ("client_credentials", "client_certificate"):
                return await self._client_credentials(attempt, tap, scopes)
            return await self._user_flow(attempt, tap, scopes)
        finally:
            tap.close()

    # -- confidential client ------------------------------------------------------------------
    async def _client_credentials(self, attempt: Attempt, tap: HttpTap, scopes: list[str]) -> Credential:
        import msal

        credential = self._client_credential(attempt)
        app = await attempt.run(msal.ConfidentialClientApplication, self.settings.client_id, client_credential=credential,
                                authority=attempt.authority, http_client=MsalHttpClient(tap), token_cache=msal.TokenCache(),
                                **self._discovery())
        result = await attempt.run(app.acquire_token_for_client, scopes=scopes)
        return self._finish(attempt, result, cache=None)

    def _client_credential(self, attempt: Attempt) -> Any:
        if self.flow == "client_credentials":
            fix = ("Name where the secret's VALUE is: --client-secret-env VAR (or a file/prompt in the profile).",)
            return attempt.read_secret(self.settings.client_secret, SecretKind.CLIENT_SECRET, "client secret",
                                       missing="client credentials need a client secret", fix=fix).reveal()
        path = self.settings.certificate
        if not path:
            attempt.fail({"error": "configuration_error", "error_description": "certificate flow needs --certificate PEM (key and cert)"})
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            attempt.fail({"error": "configuration_error", "error_description": f"cannot read certificate {path}: {exc}"})
        keys, certs = _pem_blocks(text, "PRIVATE KEY"), _pem_blocks(text, "CERTIFICATE")
        if not keys:
            attempt.fail({"error": "configuration_error", "error_description": f"{path} holds no private key (PEM)"})
        attempt.secret(keys[0], SecretKind.PRIVATE_KEY)
        credential: dict[str, str] = {"private_key": keys[0]}
        if certs:
            credential["public_certificate"] = certs[0]
        elif self.settings.extra.get("thumbprint"):
            credential["thumbprint"] = self.settings.extra["thumbprint"]
        else:
            attempt.fail({"error": "configuration_error",
                          "error_description": f"{path} holds no certificate: add it to the PEM or give extra.thumbprint"})
        return credential

    # -- public client ------------------------------------------------------------------------
    async def _user_flow(self, attempt: Attempt, tap: HttpTap, scopes: list[str]) -> Credential:
        import msal

        cache_path = self.cache_path or default_cache_path()
        use_file = self.settings.extra.get("token_cache", "") != "none"
        cache = load_cache(cache_path) if use_file else msal.SerializableTokenCache()
        app = await attempt.run(msal.PublicClientApplication, self.settings.client_id, authority=attempt.authority,
                                http_client=MsalHttpClient(tap), token_cache=cache, **self._discovery())
        if self.flow == "device_code":
            result = await self._device_code(attempt, app, scopes)
        elif self.flow == "auth_code":
            result = await self._auth_code(attempt, app, scopes)
        elif self.flow == "refresh_token":
            result = await self._refresh_token(attempt, app, scopes)
        else:
            result = await self._silent(attempt, app, scopes, cache_path)
        credential = self._finish(attempt, result, cache=cache)
        if use_file:
            try:
                save_cache(cache, cache_path)
            except OSError as exc:
                attempt.note(f"token cache not saved to {cache_path}: {exc.strerror}")
        return credential

    async def _device_code(self, attempt: Attempt, app: Any, scopes: list[str]) -> dict[str, Any]:
        flow = await attempt.run(app.initiate_device_flow, scopes=scopes)
        if "user_code" not in flow:
            attempt.fail(flow)
        attempt.secret(flow["device_code"], SecretKind.DEVICE_CODE)
        attempt.record.prompt(PromptRequested(DeviceCodePrompt(
            verification_uri=flow.get("verification_uri", ""), user_code=flow["user_code"],
            message=flow.get("message", ""), expires_in=int(flow.get("expires_in", 900)))))
        attempt.info(f"device code: open {flow.get('verification_uri', '')} and enter {flow['user_code']}")
        while True:
            # exit_condition=True: exactly one poll per thread hop, so cancelling never waits for msal's loop.
            result = await attempt.run(app.acquire_token_by_device_flow, flow, exit_condition=lambda _flow: True)
            if result.get("error") not in _PENDING:
                return result
            if time.time() >= float(flow.get("expires_at", 0)):
                return {"error": "expired_token", "error_description": "the device code expired before the sign-in was approved"}
            await asyncio.sleep(max(float(flow.get("interval", 5)), 0.05))

    async def _auth_code(self, attempt: Attempt, app: Any, scopes: list[str]) -> dict[str, Any]:
        def authorize(redirect_uri: str) -> tuple[str, dict[str, Any]]:
            # Query mode on purpose: a form_post answer cannot be pasted back over SSH. No network here (the
            # authority was loaded when the app was built), so this runs on the loop with msal's warning silenced.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
                try:
                    flow = app.initiate_auth_code_flow(scopes, redirect_uri=redirect_uri, login_hint=self.settings.user or None)
                except ValueError as exc:
                    attempt.fail_from_exception(exc)
            if "auth_uri" not in flow:
                attempt.fail(flow)
            return flow["auth_uri"], flow

        answer, flow = await browser_sign_in(attempt, authorize, self.settings.extra, self.open_browser)
        if answer.params.get("code"):
            attempt.secret(answer.params["code"], SecretKind.AUTH_CODE)
        attempt.note(f"authorization response received via {answer.via}")
        params = dict(answer.params)
        params.setdefault("state", flow.get("state", ""))  # a bare pasted code carries no state
        return await attempt.run(app.acquire_token_by_auth_code_flow, flow, params)

    async def _refresh_token(self, attempt: Attempt, app: Any, scopes: list[str]) -> dict[str, Any]:
        refresh = attempt.read_secret(self.settings.refresh_token, SecretKind.REFRESH_TOKEN, "refresh token",
                                      missing="refresh_token flow needs --refresh-token-env VAR")
        return await attempt.run(app.acquire_token_by_refresh_token, refresh.reveal(), scopes)

    async def _silent(self, attempt: Attempt, app: Any, scopes: list[str], cache_path: Path) -> dict[str, Any]:
        accounts = await attempt.run(app.get_accounts, username=self.settings.user or None)
        if not accounts:
            who = f" for {self.settings.user}" if self.settings.user else ""
            attempt.fail({"error": "no_cached_account",
                          "error_description": f"no cached sign-in{who} at {attempt.authority} in {cache_path}; "
                                               "sign in once with --flow device_code"})
        force = self.settings.extra.get("force_refresh", "") in ("1", "true", "yes")
        result = await attempt.run(app.acquire_token_silent_with_error, scopes, accounts[0], force_refresh=force)
        if result is None:
            attempt.fail({"error": "no_cached_token",
                          "error_description": f"the cache holds no usable token for {' '.join(scopes)} and no refresh token; "
                                               "sign in again with --flow device_code"})
        return result

    # -- common ---------------------------------------------------------------------------------
    def _discovery(self) -> dict[str, Any]:
        """Custom authorities (labs, ADFS) must not be checked against Microsoft's instance discovery."""
        return {"instance_discovery": False} if self.settings.authority else {}

    def _finish(self, attempt: Attempt, result: dict[str, Any] | None, cache: Any) -> Credential:
        if not result or "access_token" not in result:
            attempt.fail(result or {"error": "no_token", "error_description": "msal returned no token"})
        for name in ("refresh_token", "id_token"):
            if result.get(name):
                attempt.record.redactor.register(result[name], name)
        access_token = result["access_token"]
        granted: tuple[str, ...] | None = tuple(str(result["scope"]).split()) if result.get("scope") else None
        if granted is None and cache is not None:
            granted = granted_scope_for(cache, access_token)
            if granted is not None:
                attempt.note("granted scopes taken from the token cache (a cache hit carries no scope)")
        if result.get("token_source"):
            attempt.note(f"token source: {result['token_source']}")
        claims = result.get("id_token_claims") or {}
        account = claims.get("preferred_username") or claims.get("email")
        has_rt = bool(result.get("refresh_token")) if self.flow in USER_FLOWS else False
        if result.get("token_source") == "cache":
            has_rt = None
        return attempt.success(access_token, granted_scopes=granted, expires_in=result.get("expires_in"),
                               has_refresh_token=has_rt, account=account)

