"""The one HTTP client msal and google-auth use: trust decided per request, and a redacted transcript.

Why per request: msal's `verify=` and google-auth's session are `Session.verify`, which requests lets
`$REQUESTS_CA_BUNDLE` / `$CURL_CA_BUNDLE` override. A `verify=` argument on each request wins over them.

What is recorded (Channel.HTTP, into the SessionRecord): method, endpoint, the grant type and other
harmless form fields, status, error / AADSTS codes, granted scope and expiry. Secret fields appear only
as `<client_secret 40 chars sha256:…>`; their values are registered with the record's redactor as soon
as the tap sees them. msal calls the client from a worker thread and SessionRecord belongs to the event
loop, so every record update is marshalled to the loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mailscope.events import Channel, Direction
from mailscope.patterns import lazy
from mailscope.redact import describe_secret

if TYPE_CHECKING:
    import requests

    from mailscope.record import SessionRecord

# Form fields / response members whose values are secrets (never shown, always registered).
SECRET_FIELDS = frozenset({
    "client_secret", "refresh_token", "device_code", "code", "assertion", "client_assertion", "password",
    "code_verifier", "access_token", "id_token", "private_key",
})
# Form fields / response members shown as they are.
SHOWN_FIELDS = ("grant_type", "client_id", "scope", "response_type", "redirect_uri", "client_assertion_type", "username",
                "token_type", "expires_in", "ext_expires_in", "user_code", "verification_uri", "verification_url", "interval",
                "error", "error_codes", "suberror", "issuer")
_AADSTS_RE = lazy(r"\bAADSTS\d+\b")  # compiled for the first error answer without error_codes
_GRANT_SHORT = {
    "urn:ietf:params:oauth:grant-type:device_code": "device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer": "jwt-bearer",
}


def system_ca_bundle() -> str:
    """The trust store used when no CA file is given: OpenSSL's default file, else requests' bundle."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile and os.path.exists(cafile):
        return cafile
    import requests.certs

    return requests.certs.where()


def _form(data: Any) -> dict[str, str]:
    if isinstance(data, Mapping):
        return {str(k): str(v) for k, v in data.items() if v is not None}
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str) and "=" in data:
        return dict(urllib.parse.parse_qsl(data, keep_blank_values=True))
    return {}


def _json(body: bytes | str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _fields_text(fields: Mapping[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        if name in SECRET_FIELDS:
            if value:
                parts.append(f"{name}={describe_secret(str(value), name)}")
        elif name in SHOWN_FIELDS:
            shown = _GRANT_SHORT.get(str(value), value) if name == "grant_type" else value
            if isinstance(shown, list):
                shown = ",".join(str(v) for v in shown)
            shown = str(shown)
            parts.append(f'{name}="{shown}"' if " " in shown else f"{name}={shown}")
    return " ".join(parts)


def _secrets_in(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, str(value)) for name, value in fields.items() if name in SECRET_FIELDS and isinstance(value, str) and value]


class HttpTap:
    """Shared by the msal client and the google-auth Request: sends, trusts, records.

    Create it on the event loop that owns `record` (it remembers that loop).
    """

    def __init__(self, record: SessionRecord | None = None, *, ca_file: str | None = None, verify: bool = True,
                 timeout: float = 15.0) -> None:
        import requests

        self.record = record
        self.verify: str | bool = ca_file if ca_file else (system_ca_bundle() if verify else False)
        self.timeout = timeout
        self.session = requests.Session()
        self.exchanges: list[dict[str, Any]] = []  # redacted summaries, for TokenEvidence.http
        self.last_json: dict[str, Any] | None = None  # the last JSON body (never shown: may hold tokens)
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._loop_thread = threading.get_ident()

    # -- sending -----------------------------------------------------------------------------
    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None = None, data: Any = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        import requests

        kwargs["verify"] = self.verify  # per request: beats $REQUESTS_CA_BUNDLE
        kwargs.setdefault("timeout", self.timeout)
        form = _form(data)
        query = {k: str(v) for k, v in (params or {}).items()}
        parsed = urllib.parse.urlsplit(url)
        endpoint = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
        query.update(dict(urllib.parse.parse_qsl(parsed.query)))
        request_secrets = _secrets_in(form) + _secrets_in(query)
        summary = _fields_text({**query, **form})
        self._on_loop(lambda: self._record_request(method, endpoint, summary, request_secrets))
        started = time.monotonic()
        try:
            response = self.session.request(method, url, params=params, data=data, headers=headers, **kwargs)
        except requests.RequestException as exc:
            reason = describe_transport_error(exc)
            entry = {"method": method, "endpoint": endpoint, "status": None, "error": reason,
                     "grant_type": _GRANT_SHORT.get(form.get("grant_type", ""), form.get("grant_type", ""))}
            self._on_loop(lambda: self._record_response(entry, f"no response: {reason}", []))
            raise
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        body = _json(response.content)
        self.last_json = body
        entry: dict[str, Any] = {
            "method": method, "endpoint": endpoint, "status": response.status_code, "elapsed_ms": elapsed_ms,
            "grant_type": _GRANT_SHORT.get(form.get("grant_type", ""), form.get("grant_type", "")),
        }
        response_secrets: list[tuple[str, str]] = []
        if body is not None:
            response_secrets = _secrets_in(body)
            if "error" in body:
                entry["error"] = str(body.get("error"))
                codes = body.get("error_codes") or [c[6:] for c in _AADSTS_RE().findall(str(body.get("error_description", "")))]
                entry["error_codes"] = [int(c) for c in codes if str(c).isdigit()]
            if "scope" in body:
                entry["scope"] = str(body["scope"]) if not isinstance(body["scope"], list) else " ".join(body["scope"])
            text = f"{response.status_code} {_fields_text(body)}"
            description = str(body.get("error_description", "")).split("\r\n")[0].split("\n")[0]
            if description:
                text += f' description="{description[:300]}"'
        else:
            text = f"{response.status_code} {response.headers.get('content-type', '')} {len(response.content)} bytes"
        self._on_loop(lambda: self._record_response(entry, text.rstrip(), response_secrets))
        return response

    # -- recording (always on the loop thread) ---------------------------------------------
    def _on_loop(self, action: Callable[[], None]) -> None:
        if self._loop is None or threading.get_ident() == self._loop_thread:
            action()
            return
        with contextlib.suppress(RuntimeError):  # loop closed: the session is gone, nothing left to record into
            self._loop.call_soon_threadsafe(action)

    def _record_request(self, method: str, endpoint: str, summary: str, secrets: list[tuple[str, str]]) -> None:
        self._register(secrets)
        if self.record is not None:
            self.record.add_line(Direction.CLIENT, f"{method} {endpoint} {summary}".rstrip(), channel=Channel.HTTP, nbytes=0)

    def _record_response(self, entry: dict[str, Any], text: str, secrets: list[tuple[str, str]]) -> None:
        self._register(secrets)
        self.exchanges.append(entry)
        if self.record is not None:
            self.record.add_line(Direction.SERVER, text, channel=Channel.HTTP, nbytes=0)

    def _register(self, secrets: list[tuple[str, str]]) -> None:
        if self.record is None:
            return
        for name, value in secrets:
            self.record.redactor.register(value, name)

    def close(self) -> None:
        self.session.close()


def describe_transport_error(exc: BaseException) -> str:
    """A requests/urllib3 exception as one clear sentence (no URL query, no secret)."""
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        detail = re.search(r"certificate verify failed: ([^()'\"]+)", text)
        return "TLS verification failed" + (f": {detail.group(1).strip()}" if detail else "")
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ReadTimeout | requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
            return "host name not found (DNS)"
        if "Connection refused" in text:
            return "connection refused"
        return "connection failed"
    return type(exc).__name__


class MsalHttpClient:
    """msal's duck-typed http_client: get/post/close returning requests.Response."""

    def __init__(self, tap: HttpTap) -> None:
        self.tap = tap

    def get(self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
            **kwargs: Any) -> requests.Response:
        return self.tap.send("GET", url, params=params, headers=headers, **kwargs)

    def post(self, url: str, params: Mapping[str, Any] | None = None, data: Any = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return self.tap.send("POST", url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        self.tap.close()


def google_request(tap: HttpTap) -> Any:
    """A `google.auth.transport.requests.Request` that sends through the tap (imports google-auth here)."""
    import google.auth.transport.requests as transport

    class TapRequest(transport.Request):
        def __init__(self) -> None:
            super().__init__(session=tap.session)

        def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: Any = None,
                     **kwargs: Any) -> Any:
            import google.auth.exceptions
            import requests

            try:
                response = tap.send(method, url, data=body, headers=headers, timeout=timeout or tap.timeout, **kwargs)
            except requests.RequestException as exc:
                raise google.auth.exceptions.TransportError(describe_transport_error(exc)) from exc
            return transport._Response(response)

    return TapRequest()
