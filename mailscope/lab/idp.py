"""The lab's identity provider: Entra ID (v2 endpoints) and Google's OAuth server on one loopback HTTPS port.

Unmodified msal and google-auth get real tokens here (see docs in libraries.md §2/§3 for what they need).
A threaded `http.server` is enough: both libraries are synchronous (requests). Every request is logged with
its secrets redacted (`.requests`), so tests can prove nothing leaks.
"""

from __future__ import annotations

import base64
import html
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import DeviceCodeDecision, Directory, MsCloud
from mailscope.lab.idp_errors import Reply, entra_error
from mailscope.lab.idp_google import GoogleService
from mailscope.lab.idp_keys import SigningKey
from mailscope.lab.idp_microsoft import EntraService, error_page

SECRET_PARAMETERS = frozenset({
    "client_secret", "refresh_token", "device_code", "code", "assertion", "client_assertion", "password", "code_verifier",
    "access_token", "id_token",
})
REDACTED = "<redacted>"
MAX_BODY = 1 << 20
HTML = {"Content-Type": "text/html; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class IdpRequest:
    """One request as the IdP saw it, secrets replaced by `<redacted>`."""

    t: float
    method: str
    path: str
    params: dict[str, str]
    status: int
    error: str = ""
    error_codes: tuple[int, ...] = ()


def redact_params(params: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in SECRET_PARAMETERS and v else v) for k, v in params.items()}


def _basic_client_credentials(authorization: str, params: dict[str, str]) -> dict[str, str]:
    """client_secret_basic (RFC 6749 §2.3.1), which Entra and Google accept and requests-oauthlib sends by default."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or "client_id" in params:
        return {}
    try:
        client_id, _, client_secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeError):
        return {}
    return {"client_id": urllib.parse.unquote_plus(client_id), "client_secret": urllib.parse.unquote_plus(client_secret)}


def request_body(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, str] | None]:
    """(form parameters, JSON object) of a request body. Both services read form bodies (with or without a charset,
    or with no Content-Type at all); only Google's token endpoint also reads JSON. Anything else is not read, so the
    endpoint answers with its own "missing parameter" error, as the real one does."""
    if not body:
        return {}, None
    media_type = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if media_type in ("", "application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True)), None
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            value = json.loads(text)
        except ValueError:
            return {}, {}
        if isinstance(value, dict):
            return {}, {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items() if v is not None}
        return {}, {}
    return {}, None


# Paths as the lab serves them. Google's hosts (accounts.google.com, oauth2.googleapis.com, www.googleapis.com) share the
# lab's one host under /google/; tokeninfo is also served at the root paths Google uses.
TOKENINFO_PATHS = (["tokeninfo"], ["oauth2", "v3", "tokeninfo"])
GOOGLE_ENDPOINTS: dict[tuple[str, ...], str] = {
    ("google", "token"): "token", ("google", "o", "oauth2", "token"): "token", ("google", "oauth2", "v4", "token"): "token",
    ("google", "auth"): "authorize", ("google", "o", "oauth2", "auth"): "authorize", ("google", "o", "oauth2", "v2", "auth"): "authorize",
    ("google", "tokeninfo"): "tokeninfo", ("google", "oauth2", "v3", "tokeninfo"): "tokeninfo", ("tokeninfo",): "tokeninfo",
    ("oauth2", "v3", "tokeninfo"): "tokeninfo", ("google", "revoke"): "revoke", ("google", "o", "oauth2", "revoke"): "revoke",
}
GOOGLE_METHODS = {"token": ("POST",), "revoke": ("POST",), "tokeninfo": ("GET", "POST"), "authorize": ("GET", "POST")}
# Entra endpoint -> methods it answers (the device-code endpoint takes GET with a query too: email-oauth2-proxy uses it).
ENTRA_METHODS = {
    "token": ("POST",), "devicecode": ("GET", "POST"), "authorize": ("GET", "POST"), "openid-configuration": ("GET",),
    "keys": ("GET",), "instance": ("GET",), "userrealm": ("GET",), "devicelogin": ("GET", "POST"),
}
ENTRA_TENANT_ENDPOINTS = {
    ("oauth2", "v2.0", "token"): "token", ("oauth2", "v2.0", "devicecode"): "devicecode", ("oauth2", "v2.0", "authorize"): "authorize",
    ("v2.0", ".well-known", "openid-configuration"): "openid-configuration", ("discovery", "v2.0", "keys"): "keys",
    ("discovery", "keys"): "keys",
}


def _entra_endpoint(parts: list[str]) -> tuple[str | None, str]:
    """(endpoint name or None, tenant segment) for an Entra path."""
    if parts == ["devicelogin"]:
        return "devicelogin", ""
    if parts[:3] == ["common", "discovery", "instance"]:
        return "instance", "common"
    if len(parts) == 3 and parts[:2] == ["common", "userrealm"]:
        return "userrealm", "common"
    if len(parts) >= 2:
        return ENTRA_TENANT_ENDPOINTS.get(tuple(parts[1:])), parts[0]
    return None, ""


def lab_endpoints(base_url: str) -> tuple[str, ...]:
    """What a client can be pointed at (shown on "not found" pages and by `mailscope lab serve`)."""
    return (f"Entra ID: {base_url}/<tenant>/v2.0/.well-known/openid-configuration, {base_url}/<tenant>/oauth2/v2.0/authorize, "
            f"{base_url}/<tenant>/oauth2/v2.0/token, {base_url}/<tenant>/oauth2/v2.0/devicecode, {base_url}/devicelogin",
            f"Google: {base_url}/google/o/oauth2/v2/auth, {base_url}/google/token, {base_url}/google/tokeninfo, "
            f"{base_url}/google/revoke")


def not_found_page(path: str, base_url: str) -> Reply:
    """login.microsoftonline.com's answer to a path it does not serve: an HTML error page, never JSON."""
    hints = "".join(f"<li>{html.escape(line)}</li>" for line in lab_endpoints(base_url))
    page = (f"<html><body><h1>Sorry, but we're having trouble signing you in.</h1><p>HTTP 404: there is no endpoint "
            f"<code>{html.escape(path)}</code>.</p><p>The lab identity provider serves:</p><ul>{hints}</ul></body></html>")
    return Reply(404, page, dict(HTML), error="not_found")


def google_page(status: int, text: str, base_url: str) -> Reply:
    """Google's front-end error page ("404. That's an error."), with the lab's endpoints below it."""
    reason = {404: "Not Found", 405: "Method Not Allowed"}[status]
    hints = "".join(f"<li>{html.escape(line)}</li>" for line in lab_endpoints(base_url))
    page = (f"<!DOCTYPE html><html lang=en><title>Error {status} ({reason})!!1</title><p><b>{status}.</b> <ins>That's an error.</ins>"
            f"<p>{text}  <ins>That's all we know.</ins><p>The lab identity provider serves:</p><ul>{hints}</ul></html>")
    return Reply(status, page, dict(HTML), error="not_found" if status == 404 else "method_not_allowed")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], idp: LabIdentityProvider) -> None:
        self.idp = idp
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body go out as two writes: no Nagle delay
        # Handshake in the handler thread (first read), so a silent client cannot stall the accept loop.
        return self.idp.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Broken clients (TLS errors, resets) are their problem: nothing is printed."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10
    protocol_version = "HTTP/1.1"
    server_version = "mailscope-lab-idp"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by http.server
        """Silenced: the IdP keeps its own redacted log."""

    # Every method reaches the router, which answers the way the real endpoint does (405 pages, AADSTS900561, ...).
    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            body = self._body()
        except ValueError as exc:
            self._send(Reply(413 if "large" in str(exc) else 400, {"error": "invalid_request", "error_description": str(exc)}))
            return
        form, json_body = request_body(self.headers.get("Content-Type", ""), body)
        params.update(form)
        params.update(_basic_client_credentials(self.headers.get("Authorization", ""), params))
        correlation_id = self.headers.get("client-request-id", "")
        try:
            reply = self.server.idp.route(method, url.path, params, correlation_id, json_body)
        except Exception as exc:  # a bug in the lab must not look like a hang to the client under test
            # Only the exception's type goes to the log: its message could quote a request parameter.
            reply = Reply(500, {"error": "server_error", "error_description": "The lab identity provider failed."},
                          error=f"server_error ({type(exc).__name__})")
        self.server.idp.record(IdpRequest(time.time(), method, url.path, redact_params(params), reply.status, reply.error,
                                          reply.error_codes))
        self._send(reply)

    def _body(self) -> bytes:
        """The request body, by Content-Length or chunked transfer coding (curl -H 'Transfer-Encoding: chunked', Java, Node)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline(64).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailer fields
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    raise ValueError("Request body too large.")
                body += self.rfile.read(size)
                self.rfile.readline(8)
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.strip().isdigit():
            raise ValueError("The Content-Length header is not a number.")
        length = int(length_text)
        if length > MAX_BODY:
            raise ValueError("Request body too large.")
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, dict):
            payload = json.dumps(reply.body).encode()
            content_type = "application/json; charset=utf-8"
        else:
            payload = reply.body.encode()
            content_type = "text/html; charset=utf-8"
        self.send_response(reply.status)
        headers = {"Content-Type": content_type, "Cache-Control": "no-store, no-cache", "Pragma": "no-cache", **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class LabIdentityProvider:
    """Entra + Google token services over HTTPS on loopback, answering from a `Directory`."""

    def __init__(self, directory: Directory, ca: LabCA, host: str = "127.0.0.1", port: int = 0, cloud: MsCloud | None = None) -> None:
        """`cloud`: play one national cloud's authority (tenants of other clouds are "not found", AADSTS90002)."""
        self.directory = directory
        self.ca = ca
        self.host = host
        self._port = port
        self.tls_context = ca.server_context((host,))
        self.signing_key = SigningKey.generate()
        self.entra = EntraService(directory, self.signing_key, lambda: self.base_url, cloud)
        self.google = GoogleService(directory, lambda: self.base_url)
        self._requests: list[IdpRequest] = []
        self._log_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LabIdentityProvider:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="lab-idp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LabIdentityProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self._port}"

    def authority(self, tenant: str) -> str:
        """msal's `authority=`. Pass `instance_discovery=False` (or `f"{base_url}/common/discovery/instance"`): by default
        msal asks login.microsoftonline.com about unknown hosts."""
        return f"{self.base_url}/{tenant}"

    @property
    def google_token_uri(self) -> str:
        return self.google.token_uri

    @property
    def google_auth_uri(self) -> str:
        return f"{self.base_url}/google/auth"

    @property
    def tokeninfo_url(self) -> str:
        return f"{self.base_url}/tokeninfo"

    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file)

    # ------------------------------------------------------------------ what the mail servers ask

    @property
    def signing_public_key_pem(self) -> str:
        return self.signing_key.public_key_pem

    def jwks(self) -> dict[str, object]:
        return self.entra.jwks()

    def verify_access_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT this IdP signed (signature checked; exp, aud and the rest are the caller's business)."""
        import jwt  # PyJWT, lazily (see idp_keys.sign_jwt)

        try:
            return jwt.decode(token, self.signing_key.private_key.public_key(), algorithms=["RS256"],
                              options={"verify_exp": False, "verify_aud": False, "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWTError:
            return None

    def ms_opaque_token_claims(self, access_token: str) -> dict[str, Any] | None:
        """For a personal Microsoft account's opaque `EwA…` token: the claims Exchange resolves it to (None if never issued)."""
        return self.entra.opaque_token_claims(access_token)

    def google_tokeninfo(self, access_token: str) -> dict[str, str] | None:
        info = self.google.tokeninfo(access_token)
        return info.as_json(time.time()) if info else None

    # ------------------------------------------------------------------ the simulated people

    def approve_device_code(self, user_code: str, upn: str = "") -> bool:
        return self.entra.decide_device_code(user_code, DeviceCodeDecision.APPROVE, upn)

    def decline_device_code(self, user_code: str) -> bool:
        return self.entra.decide_device_code(user_code, DeviceCodeDecision.DECLINE)

    def revoke_refresh_tokens(self, upn: str) -> int:
        return self.entra.revoke_refresh_tokens(upn)

    def revoke_google_grant(self, refresh_token_or_email: str) -> int:
        return self.google.revoke(refresh_token_or_email)

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[IdpRequest]:
        with self._log_lock:
            return list(self._requests)

    def record(self, entry: IdpRequest) -> None:
        with self._log_lock:
            self._requests.append(entry)

    # ------------------------------------------------------------------ routing

    def route(self, method: str, path: str, params: dict[str, str], correlation_id: str = "",
              json_body: dict[str, str] | None = None) -> Reply:
        """Every request gets the answer (or the error shape) of the real endpoint; an unknown path gets the service's
        own "not found" page, which also lists the lab's endpoints."""
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        method = "GET" if method == "HEAD" else method  # the handler sends the headers only
        if parts[:1] == ["google"] or parts in TOKENINFO_PATHS:
            return self._route_google(method, parts, {**params, **(json_body or {})}, path)
        return self._route_entra(method, parts, params, correlation_id, path)

    def _route_entra(self, method: str, parts: list[str], params: dict[str, str], correlation_id: str, path: str) -> Reply:
        endpoint, tenant = _entra_endpoint(parts)
        if endpoint is None:
            return not_found_page(path, self.base_url)
        allowed = ENTRA_METHODS[endpoint]
        if method == "OPTIONS":  # CORS preflight (single-page apps): Entra answers it on its token endpoints
            return Reply(200, "", {"Allow": ", ".join((*allowed, "OPTIONS")), "Access-Control-Allow-Methods": ", ".join(allowed)})
        if method not in allowed:
            if endpoint in ("token", "devicecode"):
                return Reply.from_error(entra_error(900561, correlation_id=correlation_id, allowed=", ".join(allowed), method=method))
            return error_page(entra_error(900561, allowed=", ".join(allowed), method=method))
        if endpoint == "devicelogin":
            return self._device_login(method, params)
        if endpoint == "instance":
            return self.entra.instance_discovery(params)
        if endpoint == "userrealm":
            return self.entra.user_realm(parts[2])
        if endpoint == "openid-configuration":
            return self.entra.openid_configuration(tenant)
        if endpoint == "keys":
            return Reply(200, self.jwks())
        if endpoint == "devicecode":
            return self.entra.device_code(tenant, params, correlation_id)
        if endpoint == "token":
            return self.entra.token(tenant, params, correlation_id)
        return self.entra.authorize(tenant, params)

    def _route_google(self, method: str, parts: list[str], params: dict[str, str], path: str) -> Reply:
        endpoint = GOOGLE_ENDPOINTS.get(tuple(parts))
        if endpoint is None:
            return google_page(404, f"The requested URL <code>{html.escape(path)}</code> was not found on this server.", self.base_url)
        allowed = GOOGLE_METHODS[endpoint]
        if method not in allowed:
            return google_page(405, f"The request method <code>{html.escape(method)}</code> is inappropriate for the URL "
                                    f"<code>{html.escape(path)}</code>.", self.base_url)
        if endpoint == "token":
            return self.google.token(params)
        if endpoint == "revoke":
            return self.google.revoke_reply(params)
        if endpoint == "tokeninfo":
            return self.google.tokeninfo_reply(params)
        return self.google.authorize(params)

    def _device_login(self, method: str, params: dict[str, str]) -> Reply:
        """microsoft.com/devicelogin: a person types the code. POST otc=CODE (decision=decline to refuse)."""
        if method == "POST":
            decline = params.get("decision") == "decline"
            found = self.decline_device_code(params.get("otc", "")) if decline else self.approve_device_code(params.get("otc", ""))
            text = ("You have signed in to the application on your device. You may now close this window." if found and not decline
                    else "You declined to sign in." if found else "We don't recognize this code. Please enter the code again.")
            return Reply(200 if found else 400, f"<html><body><p>{text}</p></body></html>", dict(HTML))
        form = ('<html><body><h1>Enter code</h1><form method="POST"><input name="otc"/>'
                '<button type="submit">Next</button></form></body></html>')
        return Reply(200, form, dict(HTML))
