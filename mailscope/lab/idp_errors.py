"""Token-endpoint error responses in the shapes Entra ID and Google really send.

The texts are Entra's AADSTS messages and Google's OAuth error descriptions as they appear in public
logs (see the lab section of failure-modes.md §1.4, §2.2, §2.3). The lab models the outside world: nothing
here knows about mailscope's diagnosis, it only says what the service would say.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field


class OAuthError(Exception):
    """An error the token service answers with: HTTP status plus a JSON body."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(status, body.get("error"))
        self.status = status
        self.body = body

    @property
    def error(self) -> str:
        return str(self.body.get("error", ""))


# (error, HTTP status, message template) per AADSTS code. Templates use str.format fields.
_ENTRA: dict[int, tuple[str, int, str]] = {
    28000: ("invalid_scope", 400, "Provided value for the input parameter scope is not valid because it contains more than one resource. "
                                  "Scope {scope} is not valid."),
    50011: ("invalid_request", 400, "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                                    "configured for the application '{client_id}'. Make sure the redirect URI sent in the request "
                                    "matches one added to your application in the Azure portal. Navigate to "
                                    "https://aka.ms/redirectUriMismatchError to learn more about how to fix this."),
    50020: ("invalid_request", 400, "User account '{upn}' from identity provider '{idp}' does not exist in tenant '{tenant_name}' and "
                                    "cannot access the application '{client_id}'({app_name}) in that tenant. The account needs to be "
                                    "added as an external user in the tenant first. Sign out and sign in again with a different Azure "
                                    "Active Directory user account."),
    50059: ("invalid_request", 400, "No tenant-identifying information found in either the request or implied by any provided "
                                    "credentials."),
    50076: ("invalid_grant", 400, "Due to a configuration change made by your administrator, or because you moved to a new location, "
                                  "you must use multi-factor authentication to access '{resource_app_id}'."),
    50126: ("invalid_grant", 400, "Error validating credentials due to invalid username or password."),
    50173: ("invalid_grant", 400, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might "
                                  "have changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom "
                                  "date (before which tokens are not valid) for this user is '{valid_from}'."),
    50194: ("invalid_request", 400, "Application '{client_id}'({app_name}) is not configured as a multi-tenant application. Usage of the "
                                    "/common endpoint is not supported for such applications created after '10/15/2018'. Use a "
                                    "tenant-specific endpoint or configure the application to be multi-tenant."),
    53003: ("invalid_grant", 400, "Access has been blocked by Conditional Access policies. The access policy does not allow token "
                                  "issuance."),
    54005: ("invalid_grant", 400, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing "
                                  "refresh token."),
    65001: ("invalid_grant", 400, "The user or administrator has not consented to use the application with ID '{client_id}' named "
                                  "'{app_name}'. Send an interactive authorization request for this user and resource."),
    65004: ("access_denied", 400, "User declined to consent to access the app."),
    70000: ("invalid_grant", 400, "The request was denied because one or more scopes requested are unauthorized or expired. The user must "
                                  "first sign in and grant the client application access to the requested scope."),
    70003: ("unsupported_grant_type", 400, "The app requested an unsupported grant type '{grant_type}'."),
    70008: ("invalid_grant", 400, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive "
                                  "authorization request for this user and resource."),
    70043: ("invalid_grant", 400, "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. "
                                  "The token was issued on {issued} and the maximum allowed lifetime for this request is {max_age}."),
    70011: ("invalid_scope", 400, "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
    70016: ("authorization_pending", 400, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."),
    70020: ("expired_token", 400, "The provided value for the input parameter 'device_code' is not valid. This device code has expired."),
    9002332: ("invalid_request", 400, "Application '{client_id}'({app_name}) is configured for use by Azure Active Directory users only. "
                                      "Please do not use the /consumers endpoint to serve this request."),
    9002313: ("invalid_grant", 400, "Invalid request. Request is malformed or invalid."),
    90002: ("invalid_tenant", 400, "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
                                   "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
                                   "subscriptions for the tenant."),
    90009: ("invalid_request", 400, "Application is requesting a token for itself. This scenario is supported only if resource is "
                                    "specified using the GUID based App Identifier."),
    500011: ("invalid_resource", 400, "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can "
                                      "happen if the application has not been installed by the administrator of the tenant or consented "
                                      "to by any user in the tenant. You might have sent your authentication request to the wrong tenant."),
    501481: ("invalid_grant", 400, "The Code_Verifier does not match the code_challenge supplied in the authorization request."),
    650053: ("invalid_client", 400, "The application '{app_name}' asked for scope '{scope}' that doesn't exist on the resource "
                                    "'{resource_app_id}'. Contact the app vendor."),
    700082: ("invalid_grant", 400, "The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive "
                                   "for 90.00:00:00."),
    700016: ("unauthorized_client", 400, "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This "
                                         "can happen if the application has not been installed by the administrator of the tenant or "
                                         "consented to by any user in the tenant. You may have sent your authentication request to the "
                                         "wrong tenant."),
    700025: ("invalid_client", 400, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."),
    700027: ("invalid_client", 401, "Client assertion failed signature validation. [Reason - {reason}, Thumbprint of key used by client: "
                                    "'{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see "
                                    "configured keys for app Id '{client_id}'.]"),
    500113: ("invalid_request", 400, "No reply address is registered for the application."),
    700054: ("unsupported_response_type", 400, "response_type '{response_type}' is not enabled for the application."),
    900144: ("invalid_request", 400, "The request body must contain the following parameter: '{parameter}'."),
    900561: ("invalid_request", 400, "The endpoint only accepts {allowed} requests. Received a {method} request."),
    1002012: ("invalid_scope", 400, "The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
                                    "with /.default suffixed to the resource identifier (application ID URI)."),
    7000215: ("invalid_client", 401, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                                     "value, not the client secret ID, for a secret added to app '{client_id}'."),
    7000218: ("invalid_client", 401, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    7000222: ("invalid_client", 401, "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create "
                                     "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                                     "added security: https://aka.ms/certCreds."),
}

# Entra names some device-flow and consent outcomes with their own `error` value on the wire.
_DEVICE_FLOW_ERROR = {70000: "authorization_declined"}
_SUBERROR = {65001: "consent_required", 50076: "basic_action", 53003: "message_only", 70008: "bad_token", 50173: "bad_token",
             700082: "bad_token", 70043: "bad_token"}


def entra_error(code: int, login_host: str = "login.microsoftonline.com", correlation_id: str = "", device_flow: bool = False,
                **fields: object) -> OAuthError:
    """Entra's error body: `AADSTSnnnn: text` + trace/correlation/timestamp lines, error_codes, ids and error_uri."""
    error, status, template = _ENTRA[code]
    if device_flow:
        error = _DEVICE_FLOW_ERROR.get(code, error)
    now = dt.datetime.now(dt.UTC)
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    description = (f"AADSTS{code}: {template.format(**fields)}\r\nTrace ID: {trace_id}\r\n"
                   f"Correlation ID: {correlation_id}\r\nTimestamp: {now.strftime('%Y-%m-%d %H:%M:%S')}Z")
    body: dict[str, object] = {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://{login_host}/error?code={code}",
    }
    if code in _SUBERROR:
        body["suberror"] = _SUBERROR[code]
    return OAuthError(status, body)


# Google's token endpoint: (HTTP status, error, error_description).
GOOGLE_ERRORS: dict[str, tuple[int, str, str]] = {
    "revoked": (400, "invalid_grant", "Token has been expired or revoked."),
    "bad_signature": (400, "invalid_grant", "Invalid JWT Signature."),
    "bad_jwt_time": (400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                                           "Check your iat and exp values in the JWT claim."),
    "bad_audience": (400, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token"),
    "account_not_found": (400, "invalid_grant", "Invalid grant: account not found"),
    "bad_subject": (400, "invalid_grant", "Invalid email or User ID"),
    "bad_code": (400, "invalid_grant", "Malformed auth code."),
    "code_redeemed": (400, "invalid_grant", "Bad Request"),
    "redirect_mismatch": (400, "redirect_uri_mismatch", "Bad Request"),
    "no_dwd": (401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized "
                                           "for any of the scopes requested."),
    "no_client_id": (400, "invalid_request", "Could not determine client ID from request."),
    "no_client_secret": (400, "invalid_request", "client_secret is missing."),
    "client_not_found": (401, "invalid_client", "The OAuth client was not found."),
    "bad_secret": (401, "invalid_client", "Unauthorized"),
    "no_scope": (400, "invalid_scope", "Empty or missing scope not allowed."),
    "unsupported_grant_type": (400, "unsupported_grant_type", "Invalid grant_type: {grant_type}"),
    "missing": (400, "invalid_request", "Missing required parameter: {parameter}"),
}


def google_error(kind: str, **fields: object) -> OAuthError:
    status, error, description = GOOGLE_ERRORS[kind]
    return OAuthError(status, {"error": error, "error_description": description.format(**fields)})


@dataclass(slots=True)
class Reply:
    """What an endpoint answers: JSON (dict), HTML (str) or a redirect (status 302 + Location header)."""

    status: int = 200
    body: dict[str, object] | str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""  # the OAuth `error` value, kept for the request log
    error_codes: tuple[int, ...] = ()

    @classmethod
    def from_error(cls, exc: OAuthError) -> Reply:
        codes = exc.body.get("error_codes") or ()
        return cls(exc.status, exc.body, error=exc.error, error_codes=tuple(int(c) for c in codes))  # type: ignore[union-attr]

    @classmethod
    def redirect(cls, location: str, error: str = "") -> Reply:
        return cls(302, "", {"Location": location}, error=error)
