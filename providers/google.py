"""Google tokens with google-auth (and google-auth-oauthlib for the consent flow).

Flows: service_account (key file + `subject` for domain-wide delegation), refresh_token (user
credentials), installed_app (authorization code via loopback redirect or paste-back). Google's device
flow cannot grant Gmail scopes, so `device_code` is refused with that explanation before any request.
The granted scopes come from the token response; a service account's jwt-bearer answer carries none.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailscope.credential import Credential
from mailscope.record import SessionRecord
from mailscope.secret import SecretKind
from mailscope.settings import CheckSettings
from providers import presets
from providers.http import HttpTap, google_request
from providers.redirect import browser_sign_in
from providers.tokens import Attempt

TOKEN_URI = "https://oauth2.googleapis.com/token"
AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
FLOWS = ("service_account", "refresh_token", "installed_app")
FLOW_ALIASES = {"auth_code": "installed_app", "authorization_code": "installed_app", "interactive": "installed_app",
                "user": "refresh_token", "dwd": "service_account"}
DEVICE_FLOW_FIX = (
    "Use --flow installed_app: it prints the consent URL; approve it in any browser and paste the final redirect URL back "
    "(or forward the loopback port with ssh -L).",
    "For unattended Workspace access use --flow service_account with --subject <user@domain> (domain-wide delegation).",
)


def normalise_flow(flow: str) -> str:
    """Aliases to the canonical name; no flow (or CheckSettings' default "static") means the installed-app consent."""
    flow = flow.strip().lower().replace("-", "_")
    if flow in ("", "static"):
        return "installed_app"
    return FLOW_ALIASES.get(flow, flow)


def _epoch(expiry: datetime | None) -> float | None:
    """google-auth's expiry is a naive UTC datetime."""
    return expiry.replace(tzinfo=UTC).timestamp() if expiry is not None else None


def _refresh_error(exc: Exception) -> dict[str, Any]:
    """RefreshError args: (message, response dict | None). Missing fields fail before any request."""
    args = getattr(exc, "args", ())
    if len(args) > 1 and isinstance(args[1], dict):
        return dict(args[1])
    message = str(args[0]) if args else str(exc)
    if "necessary fields" in message:
        return {"error": "missing_refresh_fields", "error_description": message}
    name, _, description = message.partition(": ")
    return {"error": name if description else "refresh_error", "error_description": description or message}


@dataclass
class GoogleSource:
    """A TokenSource for Gmail / Google Workspace through google-auth."""

    settings: CheckSettings
    ca_file: str | None = None  # trust for the token endpoint (lab CA); None: system trust
    open_browser: Any = None  # callable(url) for the installed-app flow; None: decide from the environment

    @property
    def flow(self) -> str:
        return normalise_flow(self.settings.flow)

    @property
    def token_uri(self) -> str:
        return self.settings.token_endpoint or TOKEN_URI

    async def acquire(self, record: SessionRecord) -> Credential:
        scopes = self.settings.scopes or (presets.GOOGLE_MAIL_SCOPE,)
        tap = HttpTap(record, ca_file=self.ca_file)
        attempt = Attempt(record, tap, provider="google", flow=self.flow, source="google-auth", requested_scopes=scopes,
                          authority=self.token_uri)
        try:
            if self.flow == "device_code":
                attempt.fail({"error": "device_flow_unsupported",
                              "error_description": "Google's device flow cannot grant Gmail scopes (https://mail.google.com/ is not "
                                                   "allowed for 'TVs and Limited Input devices' clients)",
                              "fix": list(DEVICE_FLOW_FIX)})
            if self.flow not in FLOWS:
                attempt.fail({"error": "configuration_error",
                              "error_description": f"unknown Google flow {self.flow!r}; use one of {', '.join(FLOWS)}"})
            if presets.GOOGLE_MAIL_SCOPE not in scopes:
                attempt.note(f"requested scopes do not include {presets.GOOGLE_MAIL_SCOPE}: Gmail IMAP/POP accept only that scope")
            if self.flow == "service_account":
                return await self._service_account(attempt, tap, list(scopes))
            if self.flow == "refresh_token":
                return await self._user_refresh(attempt, tap, list(scopes))
            return await self._installed_app(attempt, tap, list(scopes))
        finally:
            tap.close()

    # -- service account ----------------------------------------------------------------------
    async def _service_account(self, attempt: Attempt, tap: HttpTap, scopes: list[str]) -> Credential:
        from google.oauth2 import service_account

        path = self.settings.service_account_file
        if not path:
            attempt.fail({"error": "configuration_error", "error_description": "service_account flow needs --service-account-file"})
        try:
            info = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            attempt.fail({"error": "configuration_error", "error_description": f"cannot read the service account key {path}: {exc}"})
        if not isinstance(info, dict) or not info.get("private_key") or not info.get("client_email"):
            attempt.fail({"error": "configuration_error",
                          "error_description": f"{path} is not a service account key (needs private_key and client_email)"})
        attempt.secret(info["private_key"], SecretKind.PRIVATE_KEY)
        if self.settings.token_endpoint:
            info["token_uri"] = self.settings.token_endpoint
        subject = self.settings.subject or None
        if subject is None:
            attempt.note("no --subject: the token is for the service account itself, not a user; Gmail refuses it for a "
                         "user's mailbox (google_service_account_token_not_impersonating)")
        try:
            credentials = service_account.Credentials.from_service_account_info(info, scopes=scopes, subject=subject)
        except ValueError as exc:
            attempt.fail({"error": "configuration_error", "error_description": f"service account key rejected: {exc}"})
        await self._refresh(attempt, tap, credentials)
        return self._finish(attempt, tap, credentials, granted=None, account=subject or info["client_email"], has_rt=False)

    # -- user credentials ---------------------------------------------------------------------
    def _client(self, attempt: Attempt) -> tuple[str, str]:
        client_id, secret_source = self.settings.client_id, self.settings.client_secret
        secrets_file = self.settings.extra.get("client_secrets_file")
        if secrets_file:
            try:
                config = json.loads(Path(secrets_file).expanduser().read_text(encoding="utf-8"))
                entry = config.get("installed") or config.get("web") or {}
                client_id, client_secret = entry["client_id"], entry["client_secret"]
            except (OSError, ValueError, KeyError, AttributeError) as exc:
                attempt.fail({"error": "configuration_error", "error_description": f"cannot read client secrets {secrets_file}: {exc}"})
            return client_id, attempt.secret(client_secret, SecretKind.CLIENT_SECRET).reveal()
        if not client_id:
            attempt.fail({"error": "configuration_error", "error_description": "no OAuth client id given (--client-id)"})
        secret = attempt.read_secret(secret_source, SecretKind.CLIENT_SECRET, "client secret",
                                     missing="no OAuth client secret source given (--client-secret-env VAR)")
        return client_id, secret.reveal()

    async def _user_refresh(self, attempt: Attempt, tap: HttpTap, scopes: list[str]) -> Credential:
        import google.oauth2.credentials

        client_id, client_secret = self._client(attempt)
        refresh = attempt.read_secret(self.settings.refresh_token, SecretKind.REFRESH_TOKEN, "refresh token",
                                      missing="refresh_token flow needs --refresh-token-env VAR")
        credentials = google.oauth2.credentials.Credentials(
            token=None, refresh_token=refresh.reveal(), token_uri=self.token_uri, client_id=client_id,
            client_secret=client_secret, scopes=scopes)  # scopes= makes google-auth keep granted_scopes
        await self._refresh(attempt, tap, credentials)
        granted = tuple(credentials.granted_scopes) if credentials.granted_scopes is not None else None
        return self._finish(attempt, tap, credentials, granted=granted, account=self.settings.user or None, has_rt=True)

    async def _refresh(self, attempt: Attempt, tap: HttpTap, credentials: Any) -> None:
        from google.auth.exceptions import RefreshError

        try:
            await attempt.run_raw(credentials.refresh, google_request(tap))
        except RefreshError as exc:
            attempt.fail(_refresh_error(exc))
        except Exception as exc:  # TransportError and anything else at the library boundary
            attempt.fail_from_exception(exc)

    # -- installed app (authorization code) ---------------------------------------------------
    async def _installed_app(self, attempt: Attempt, tap: HttpTap, scopes: list[str]) -> Credential:
        from google_auth_oauthlib.flow import Flow
        from oauthlib.oauth2.rfc6749.errors import OAuth2Error

        client_id, client_secret = self._client(attempt)
        def authorize(redirect_uri: str) -> tuple[str, tuple[Any, str]]:
            config = {"installed": {"client_id": client_id, "client_secret": client_secret, "token_uri": self.token_uri,
                                    "auth_uri": self.settings.extra.get("auth_uri") or AUTH_URI, "redirect_uris": [redirect_uri]}}
            flow = Flow.from_client_config(config, scopes=scopes, redirect_uri=redirect_uri)
            url, state = flow.authorization_url(access_type="offline", prompt="consent", login_hint=self.settings.user or None)
            return url, (flow, state)

        answer, (flow, state) = await browser_sign_in(attempt, authorize, self.settings.extra, self.open_browser)
        params = answer.params
        if params.get("error") == "access_denied" and not params.get("error_description"):
            # Google's redirect after "Cancel" on its consent screen carries the bare error (its own error pages, e.g.
            # for an account that is not a test user, never come back to the app).
            attempt.fail({"error": "access_denied", "error_description": "the user cancelled Google's consent screen "
                                                                          "(the redirect carried error=access_denied)"})
        if params.get("error"):
            attempt.fail({"error": params["error"], "error_description": params.get("error_description", "")})
        code = params.get("code", "")
        if not code:
            attempt.fail({"error": "configuration_error", "error_description": f"the {answer.via} answer carries no code"})
        attempt.secret(code, SecretKind.AUTH_CODE)
        if params.get("state") and params["state"] != state:
            attempt.fail({"error": "state_mismatch", "error_description": "the redirect's state does not match this sign-in"})
        attempt.note(f"authorization response received via {answer.via}")
        session = flow.oauth2session

        def tapped(method: str, url: str, data: Any = None, headers: Any = None, withhold_token: bool = False,
                   client_id: Any = None, client_secret: Any = None, files: Any = None, **kwargs: Any) -> Any:
            return tap.send(method, url, data=data, headers=headers, **kwargs)

        session.request = tapped  # the code exchange goes through the tap (per-request trust, transcript)
        # A narrower grant (a scope un-ticked on the consent screen) must come back, not raise "Scope has changed".
        os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
        try:
            await attempt.run_raw(flow.fetch_token, code=code)
        except OAuth2Error as exc:
            attempt.fail({"error": exc.error, "error_description": exc.description or ""})
        except Exception as exc:
            attempt.fail_from_exception(exc)
        token = session.token or {}
        granted_raw = token.get("scope")
        granted = tuple(granted_raw.split() if isinstance(granted_raw, str) else granted_raw) if granted_raw else None
        credentials = flow.credentials
        return self._finish(attempt, tap, credentials, granted=granted, account=self.settings.user or None,
                            has_rt=bool(token.get("refresh_token")))

    # -- common ---------------------------------------------------------------------------------
    def _finish(self, attempt: Attempt, tap: HttpTap, credentials: Any, *, granted: tuple[str, ...] | None, account: str | None,
                has_rt: bool) -> Credential:
        if not credentials.token:
            attempt.fail({"error": "no_token", "error_description": "google-auth returned no access token"})
        if granted is None:
            last = tap.last_json or {}
            if last.get("scope"):
                granted = tuple(str(last["scope"]).split())
                attempt.note("granted scopes taken from the token response")
            elif self.flow == "service_account":
                attempt.note("granted scopes unknown: Google's jwt-bearer response for a service account carries no scope "
                             "(the requested scopes are what domain-wide delegation must allow)")
        if self.flow == "installed_app" and not has_rt:
            attempt.note("no refresh token in the response: Google returns one only right after consent with access_type=offline")
        return attempt.success(credentials.token, granted_scopes=granted, expires_at=_epoch(credentials.expiry),
                               has_refresh_token=has_rt, account=account)
