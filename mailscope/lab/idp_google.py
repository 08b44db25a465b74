"""Enough of Google's OAuth 2.0 server for unmodified google-auth: the token endpoint (service-account
jwt-bearer with domain-wide delegation, refresh_token, authorization_code), a consent endpoint and tokeninfo.

Access tokens stay opaque (`ya29.` + random) as in reality; the emulated Gmail asks `tokeninfo` about them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from mailscope.lab.directory import GOOGLE_TOKEN_AUDIENCE, Directory, GoogleOAuthClient, GoogleRefreshToken
from mailscope.lab.idp_errors import OAuthError, Reply, google_error
from mailscope.lab.idp_keys import b64url

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME = 3599
TESTING_REFRESH_DAYS = 7


@dataclass(frozen=True, slots=True)
class GoogleTokenInfo:
    """What Google's tokeninfo endpoint knows about an access token."""

    azp: str
    aud: str
    sub: str
    scope: str
    exp: int
    email: str
    access_type: str  # "offline" when a refresh token stands behind it

    def as_json(self, now: float) -> dict[str, str]:
        return {"azp": self.azp, "aud": self.aud, "sub": self.sub, "scope": self.scope, "exp": str(self.exp),
                "expires_in": str(max(0, self.exp - int(now))), "email": self.email, "email_verified": "true",
                "access_type": self.access_type}


@dataclass(slots=True)
class _Code:
    client_id: str
    email: str
    scopes: tuple[str, ...]
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float
    issue_refresh_token: bool  # Google returns one only for access_type=offline right after the user clicked Allow
    redeemed: bool = False


class GoogleService:
    def __init__(self, directory: Directory, base_url: Callable[[], str]) -> None:
        self.directory = directory
        self._base_url = base_url
        self._lock = threading.RLock()
        self._tokens: dict[str, GoogleTokenInfo] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, GoogleRefreshToken] = {rt.value: dataclasses.replace(rt) for rt in directory.google_refresh_tokens}
        self._consented = {(rt.client_id, rt.email.lower()) for rt in directory.google_refresh_tokens}  # (client, user) who said Allow

    @property
    def token_uri(self) -> str:
        return f"{self._base_url()}/google/token"

    # ------------------------------------------------------------------ token endpoint

    def token(self, params: dict[str, str]) -> Reply:
        try:
            with self._lock:
                grant_type = params.get("grant_type", "")
                if grant_type == JWT_BEARER:
                    return self._jwt_bearer(params.get("assertion", ""))
                if grant_type == "refresh_token":
                    return self._refresh_grant(params)
                if grant_type == "authorization_code":
                    return self._code_grant(params)
                raise google_error("unsupported_grant_type", grant_type=grant_type)
        except OAuthError as exc:
            return Reply.from_error(exc)

    def _mint(self, azp: str, sub: str, scopes: tuple[str, ...], email: str, offline: bool, service_account: bool) -> tuple[str, int]:
        token = ("ya29.c." if service_account else "ya29.a0") + secrets.token_urlsafe(120)
        exp = int(time.time()) - self.directory.google_token_age_seconds + ACCESS_TOKEN_LIFETIME
        self._tokens[token] = GoogleTokenInfo(azp, azp, sub, " ".join(scopes), exp, email, "offline" if offline else "online")
        return token, max(0, exp - int(time.time()))

    def _jwt_bearer(self, assertion: str) -> Reply:
        import jwt  # PyJWT, lazily (see idp_keys.sign_jwt)

        if not assertion:
            raise google_error("missing", parameter="assertion")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise google_error("bad_signature") from exc
        account = self.directory.service_account(str(unverified.get("iss", "")))
        if account is None:
            raise google_error("account_not_found")
        try:
            claims = jwt.decode(assertion, account.public_key_pem, algorithms=["RS256"], audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                                options={"require": ["iat", "exp", "aud", "iss"]}, leeway=60)
        except jwt.InvalidAudienceError as exc:
            raise google_error("bad_audience") from exc
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError, jwt.MissingRequiredClaimError) as exc:
            raise google_error("bad_jwt_time") from exc
        except jwt.PyJWTError as exc:
            raise google_error("bad_signature") from exc
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            raise google_error("bad_jwt_time")
        scopes = tuple(str(claims.get("scope", "")).split())
        if not scopes:
            raise google_error("no_scope")
        subject = str(claims.get("sub", "") or "")
        if subject and subject.lower() != account.client_email.lower():
            if not account.dwd_scopes or not set(scopes) <= set(account.dwd_scopes):
                raise google_error("no_dwd")
            user = self.directory.google_user(subject)
            if user is None or not user.workspace:
                raise google_error("bad_subject")
            token, expires_in = self._mint(account.unique_id, user.sub, scopes, user.email, False, True)
        else:
            token, expires_in = self._mint(account.unique_id, account.unique_id, scopes, account.client_email, False, True)
        return Reply(200, {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})

    def _client(self, params: dict[str, str]) -> GoogleOAuthClient:
        """The OAuth client from the body or HTTP Basic (client_secret_post and client_secret_basic both work)."""
        if not params.get("client_id"):
            raise google_error("no_client_id")
        client = self.directory.google_client(params["client_id"])
        if client is None:
            raise google_error("client_not_found")
        if not params.get("client_secret"):
            raise google_error("no_client_secret")
        if params["client_secret"] != client.client_secret:
            raise google_error("bad_secret")
        return client

    def _refresh_grant(self, params: dict[str, str]) -> Reply:
        client = self._client(params)
        record = self._refresh.get(params.get("refresh_token", ""))
        if record is None:
            raise google_error("revoked")
        if record.client_id != client.client_id:
            raise OAuthError(401, {"error": "unauthorized_client", "error_description": "Unauthorized"})
        expired_testing = client.testing_mode and record.age_days >= TESTING_REFRESH_DAYS
        if record.revoked or expired_testing:
            raise google_error("revoked")
        user = self.directory.google_user(record.email)
        sub = user.sub if user else hashlib.sha256(record.email.encode()).hexdigest()[:21]
        token, expires_in = self._mint(client.client_id, sub, record.scopes, record.email, True, False)
        body: dict[str, object] = {"access_token": token, "expires_in": expires_in, "scope": " ".join(record.scopes),
                                   "token_type": "Bearer"}
        if client.testing_mode:
            body["refresh_token_expires_in"] = int((TESTING_REFRESH_DAYS - record.age_days) * 86400)
        return Reply(200, body)

    def _code_grant(self, params: dict[str, str]) -> Reply:
        client = self._client(params)
        if not params.get("code"):
            raise google_error("missing", parameter="code")
        code = self._codes.get(params["code"])
        if code is None or time.time() > code.expires_at or code.client_id != client.client_id:
            raise google_error("bad_code")
        if code.redeemed:
            raise google_error("code_redeemed")
        code.redeemed = True
        if params.get("redirect_uri", "") != code.redirect_uri:
            raise google_error("redirect_mismatch")
        if code.code_challenge:
            verifier = params.get("code_verifier", "")
            expected = b64url(hashlib.sha256(verifier.encode()).digest()) if code.code_challenge_method == "S256" else verifier
            if expected != code.code_challenge:
                raise OAuthError(400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
        user = self.directory.google_user(code.email)
        sub = user.sub if user else ""
        token, expires_in = self._mint(client.client_id, sub, code.scopes, code.email, code.issue_refresh_token, False)
        body: dict[str, object] = {"access_token": token, "expires_in": expires_in, "scope": " ".join(code.scopes), "token_type": "Bearer"}
        if code.issue_refresh_token:
            refresh = "1//0" + secrets.token_urlsafe(90)
            self._refresh[refresh] = GoogleRefreshToken(refresh, client.client_id, code.email, code.scopes)
            body["refresh_token"] = refresh
        return Reply(200, body)

    # ------------------------------------------------------------------ browser leg

    def authorize(self, params: dict[str, str]) -> Reply:
        """Google's consent screen, answered by the simulated user; granular consent narrows the grant.

        Request errors stay on Google's "Authorization Error" page; only the user's answer goes back to the app: the
        code, or `error=access_denied` after Cancel (and `consent_required` for prompt=none without an earlier consent).
        """
        with self._lock:
            client = self._authorization_client(params)
            if isinstance(client, Reply):
                return client
            redirect_uri = params["redirect_uri"]
            email = self.directory.google_sign_in_email or (self.directory.google_users[0].email if self.directory.google_users else "")
            user = self.directory.google_user(email)
            if client.blocked_by_admin_policy:
                return _error_page(400, "admin_policy_enforced", "Access to your account data is restricted by policies within your "
                                                                 "organization. Please contact the administrator of your organization "
                                                                 "for more information.")
            if client.testing_mode and client.test_users is not None and email.lower() not in {u.lower() for u in client.test_users}:
                return _error_page(403, "access_denied", f"{client.name} has not completed the Google verification process. The app is "
                                                         "currently being tested, and can only be accessed by developer-approved "
                                                         "testers. If you think you should have access, contact the developer.")
            state = {"state": params["state"]} if "state" in params else {}
            first_consent = (client.client_id, email.lower()) not in self._consented
            prompts = params.get("prompt", "").split()
            if "none" in prompts and first_consent:
                return _back(redirect_uri, {"error": "consent_required", **state}, "consent_required")
            if not self.directory.sign_in.consents:  # the person at the browser presses Cancel
                return _back(redirect_uri, {"error": "access_denied", **state}, "access_denied")
            requested = tuple(params["scope"].split())
            granted = requested if user is None or user.grants_only is None else tuple(s for s in requested if s in user.grants_only)
            self._consented.add((client.client_id, email.lower()))
            offline = params.get("access_type", "online") == "offline"
            code = "4/0" + secrets.token_urlsafe(60)
            self._codes[code] = _Code(client.client_id, email, granted, redirect_uri, params.get("code_challenge", ""),
                                      params.get("code_challenge_method", "plain"), time.time() + 600,
                                      issue_refresh_token=offline and (first_consent or "consent" in prompts))
            return _back(redirect_uri, {**state, "code": code, "scope": " ".join(granted)})

    def _authorization_client(self, params: dict[str, str]) -> GoogleOAuthClient | Reply:
        """The client of a well-formed authorization request; else the error page of the first check that fails, in
        Google's order."""
        if not params.get("client_id"):
            return _error_page(400, "invalid_request", "Missing required parameter: client_id")
        client = self.directory.google_client(params["client_id"])
        if client is None:
            return _error_page(401, "invalid_client", "The OAuth client was not found.")
        missing = next((name for name in ("redirect_uri", "response_type", "scope") if not params.get(name, "").strip()), None)
        if missing:
            return _error_page(400, "invalid_request", f"Missing required parameter: {missing}")
        if not any(_loopback_match(params["redirect_uri"], uri) for uri in client.redirect_uris):
            return _error_page(400, "redirect_uri_mismatch", "You can't sign in because this app sent an invalid request. You can "
                                                             "try again later, or contact the developer about this issue.",
                               title="Access blocked: This app's request is invalid")
        if params["response_type"].split() != ["code"]:
            return _error_page(400, "unsupported_response_type", f"Invalid response_type: {params['response_type']}")
        unknown = [s for s in params["scope"].split() if not _known_scope(s)]
        if unknown:
            return _error_page(400, "invalid_scope", f"Some requested scopes were invalid. {{invalid=[{', '.join(unknown)}]}}")
        if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in ("S256", "plain"):
            return _error_page(400, "invalid_request", "Invalid code_challenge_method value.")
        return client

    # ------------------------------------------------------------------ tokeninfo

    def tokeninfo(self, access_token: str) -> GoogleTokenInfo | None:
        """None for a token Google never issued or one that has expired (Google answers 400 invalid_token)."""
        with self._lock:
            info = self._tokens.get(access_token)
        if info is None or info.exp <= time.time():
            return None
        return info

    def tokeninfo_reply(self, params: dict[str, str]) -> Reply:
        info = self.tokeninfo(params.get("access_token", ""))
        if info is None:
            return Reply(400, {"error": "invalid_token", "error_description": "Invalid Value"}, error="invalid_token")
        return Reply(200, info.as_json(time.time()))

    def revoke_reply(self, params: dict[str, str]) -> Reply:
        """oauth2.googleapis.com/revoke: a refresh or access token given as `token`, in the query or the body."""
        token = params.get("token", "")
        with self._lock:
            known_access = self._tokens.pop(token, None) is not None if token else False
        if known_access or (token and token in self._refresh and self.revoke(token)):
            return Reply(200, {})
        return Reply(400, {"error": "invalid_token", "error_description": "Token expired or revoked"}, error="invalid_token")

    def revoke(self, refresh_token_or_email: str) -> int:
        """The user removes the app's access (myaccount.google.com) or changes the password."""
        with self._lock:
            hits = [r for r in self._refresh.values() if refresh_token_or_email in (r.value, r.email)]
            for record in hits:
                record.revoked = True
            return len(hits)


def _loopback_match(asked: str, registered: str) -> bool:
    """Google accepts any port on a loopback redirect for installed apps."""
    a, r = urllib.parse.urlsplit(asked), urllib.parse.urlsplit(registered)
    if asked == registered:
        return True
    return r.hostname in ("localhost", "127.0.0.1") and a.hostname == r.hostname and a.scheme == r.scheme


def _known_scope(scope: str) -> bool:
    """Scopes Google's authorization server knows (the Gmail, userinfo and OpenID ones a mail client asks for)."""
    return scope in ("https://mail.google.com/", "openid", "email", "profile") or scope.startswith("https://www.googleapis.com/auth/")


def _back(redirect_uri: str, answer: dict[str, str], error: str = "") -> Reply:
    separator = "&" if "?" in redirect_uri else "?"
    return Reply.redirect(redirect_uri + separator + urllib.parse.urlencode(answer), error)


def _error_page(status: int, error: str, text: str, title: str = "Access blocked: Authorization Error") -> Reply:
    """Google's "Access blocked" / "Authorization Error" page: the browser stays on it, nothing goes back to the app."""
    page = (f"<html><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p><p>Error {status}: {html.escape(error)}</p>"
            "</body></html>")
    return Reply(status, page, {"Content-Type": "text/html; charset=utf-8"}, error=error)
