"""HTTP transports for msal and google-auth that trust the lab CA on every request.

`$REQUESTS_CA_BUNDLE` / `$CURL_CA_BUNDLE` override `Session.verify` (libraries.md, cross-cutting pitfall 1),
so `verify=` must be passed per request. These are the minimal versions the lab and its tests use; the
providers package has its own tapped transports for production.
"""

from __future__ import annotations

from typing import Any

import google.auth.transport.requests
import requests


class CaTrustingHttpClient:
    """msal's `http_client` duck type: get/post/close, with `verify` and a timeout on every call."""

    def __init__(self, ca_file: str, timeout: float = 10.0) -> None:
        self.session = requests.Session()
        self.ca_file = ca_file
        self.timeout = timeout

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs["verify"] = self.ca_file
        return self.session.get(url, params=params, headers=headers, **kwargs)

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs["verify"] = self.ca_file
        return self.session.post(url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        self.session.close()


class CaTrustingGoogleRequest(google.auth.transport.requests.Request):
    """google-auth's transport, passing `verify` per request (google-auth's refresh passes no kwargs itself)."""

    def __init__(self, ca_file: str, timeout: float = 10.0) -> None:
        super().__init__(session=requests.Session())
        self.ca_file = ca_file
        self.timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: Any = None,
                 **kwargs: Any) -> Any:
        kwargs["verify"] = self.ca_file
        return super().__call__(url, method=method, body=body, headers=headers, timeout=timeout or self.timeout, **kwargs)
