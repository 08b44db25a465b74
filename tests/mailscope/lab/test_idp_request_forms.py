"""Every request form the real endpoints accept gets the real answer from the lab IdP, and every other request gets the
real service's error shape (Entra's AADSTS JSON or error page, Google's error JSON or front-end page), never a bare 404.

One table per service: request form -> response, over real HTTPS. The forms are the ones msal, google-auth,
google-auth-oauthlib, email-oauth2-proxy and the curl examples of Microsoft's and Google's documentation send.
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import (
    AppRegistration,
    Directory,
    GoogleOAuthClient,
    GoogleRefreshToken,
    GoogleUser,
    MsRefreshToken,
    MsUser,
    SimulatedSignIn,
    Tenant,
)
from mailscope.lab.idp import LabIdentityProvider
from mailscope.lab.idp_keys import b64url_decode

CONTOSO = Tenant("contoso.onmicrosoft.com")
ALICE = "alice@contoso.onmicrosoft.com"
PUBLIC = "9e5f94bc-0000-4000-8000-0000000f0001"
UNCONSENTED = "9e5f94bc-0000-4000-8000-0000000f0002"
DAEMON = "9e5f94bc-0000-4000-8000-0000000f0003"
SECRET = "Lab~Secret.Value-0123456789abcdefghij"
MS_RT = "0.AAAA-lab-refresh-token-for-alice-000000000000"
IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
G_CLIENT = "123456789012-forms.apps.googleusercontent.com"
G_SECRET = "GOCSPX-forms-client-secret"
G_USER = "carol@example.org"
G_RT = "1//0forms-refresh-token-for-carol"
MAIL = "https://mail.google.com/"
REDIRECT = "http://localhost:8400"
CLAIMS = json.dumps({"access_token": {"xms_cc": {"values": ["CP1"]}}})
MSAL_HEADERS = {"x-client-sku": "MSAL.Python", "x-client-ver": "1.39.0", "x-client-os": "linux", "x-ms-lib-capability": "retry-after, h429",
                "client-request-id": "0b8e5f2a-0000-4000-8000-000000000001"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabIdentityProvider]:
    directory = Directory(
        tenants=[CONTOSO],
        users=[MsUser(ALICE, CONTOSO.id)],
        apps=[AppRegistration(PUBLIC, CONTOSO.id, consented_scopes=frozenset({"IMAP.AccessAsUser.All", "SMTP.Send"})),
              AppRegistration(UNCONSENTED, CONTOSO.id),
              AppRegistration(DAEMON, CONTOSO.id, public_client=False, secrets=(SECRET,), app_roles={"exchange": ("IMAP.AccessAsApp",)})],
        ms_refresh_tokens=[MsRefreshToken(MS_RT, PUBLIC, ALICE, (IMAP, "offline_access"))],
        sign_in=SimulatedSignIn(ALICE),
        google_clients=[GoogleOAuthClient(G_CLIENT, G_SECRET)],
        google_users=[GoogleUser(G_USER)],
        google_refresh_tokens=[GoogleRefreshToken(G_RT, G_CLIENT, G_USER, (MAIL,))],
        google_sign_in_email=G_USER,
    )
    with LabIdentityProvider(directory, LabCA.create(tmp_path_factory.mktemp("tls"))) as idp:
        yield idp


@dataclass(frozen=True)
class Form:
    """One request: method, path ({t} = the tenant), query, body (form dict, or raw bytes with a content type), headers."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    raw: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None
    chunked: bool = False


def send(lab: LabIdentityProvider, form: Form) -> requests.Response:
    url = lab.base_url + form.path.format(t=CONTOSO.domain)
    headers = dict(form.headers)
    data: Any = None
    if form.form is not None:
        data = urllib.parse.urlencode(form.form)
        headers.setdefault("Content-Type", FORM)
    elif form.raw is not None:
        data = form.raw
    if form.content_type is not None:
        headers["Content-Type"] = form.content_type
    if form.chunked:
        body = data.encode() if isinstance(data, str) else data
        data = iter([body[:10], body[10:]])
    return requests.request(form.method, url, params=form.query, data=data, headers=headers, auth=form.basic,
                            allow_redirects=False, verify=lab.ca_file, timeout=10)


def answer_of(response: requests.Response) -> dict[str, str]:
    """The parameters a redirect carries back (query or fragment)."""
    location = urllib.parse.urlsplit(response.headers["Location"])
    return dict(urllib.parse.parse_qsl(location.fragment or location.query))


def check(response: requests.Response, expected: tuple[Any, ...]) -> None:
    """expected: ("token",) | ("aadsts", code) | ("oauth", error, description) | ("page", status, text) |
    ("code",) | ("redirect-error", error, text) | ("json", key) | ("empty", status)."""
    kind = expected[0]
    if kind == "token":
        assert response.status_code == 200, response.text
        assert response.json()["access_token"] and response.json()["token_type"] == "Bearer"
    elif kind == "aadsts":
        assert response.status_code == 400 and response.headers["Content-Type"].startswith("application/json"), response.text
        body = response.json()
        assert body["error_codes"] == [expected[1]] and body["error_description"].startswith(f"AADSTS{expected[1]}: ")
        assert {"trace_id", "correlation_id", "timestamp", "error_uri"} <= body.keys()
    elif kind == "oauth":
        assert response.status_code in (400, 401) and response.headers["Content-Type"].startswith("application/json"), response.text
        assert response.json() == {"error": expected[1], "error_description": expected[2]}
    elif kind == "page":
        assert response.status_code == expected[1] and response.headers["Content-Type"].startswith("text/html"), response.text
        assert expected[2] in response.text and "Location" not in response.headers
    elif kind == "code":
        assert response.status_code == 302, response.text
        assert answer_of(response)["code"]
    elif kind == "redirect-error":
        assert response.status_code == 302, response.text
        answer = answer_of(response)
        assert answer["error"] == expected[1] and expected[2] in answer.get("error_description", "") and "code" not in answer
    elif kind == "json":
        assert response.status_code == 200 and expected[1] in response.json(), response.text
    else:
        assert response.status_code == expected[1] and not response.content


# ----------------------------------------------------------------------------------------------- Entra ID

TOKEN = "/{t}/oauth2/v2.0/token"
DEVICECODE = "/{t}/oauth2/v2.0/devicecode"
AUTHORIZE = "/{t}/oauth2/v2.0/authorize"
REFRESH = {"client_id": PUBLIC, "grant_type": "refresh_token", "refresh_token": MS_RT, "scope": f"{IMAP} offline_access"}
DAEMON_GRANT = {"grant_type": "client_credentials", "scope": "https://outlook.office365.com/.default"}
SIGN_IN = {"client_id": PUBLIC, "response_type": "code", "redirect_uri": REDIRECT, "scope": f"{IMAP} offline_access", "state": "s1"}

ENTRA_FORMS: list[tuple[str, Form, tuple[Any, ...]]] = [
    # token endpoint: what msal, email-oauth2-proxy and curl send
    ("token: form body (msal, curl -d)", Form("POST", TOKEN, form=REFRESH), ("token",)),
    ("token: form body with charset", Form("POST", TOKEN, form=REFRESH, content_type=f"{FORM}; charset=UTF-8"), ("token",)),
    ("token: body without a Content-Type", Form("POST", TOKEN, raw=urllib.parse.urlencode(REFRESH).encode()), ("token",)),
    ("token: parameters in another order", Form("POST", TOKEN, form=dict(reversed(list(REFRESH.items())))), ("token",)),
    ("token: msal's client_info=1, claims and x-client-* headers",
     Form("POST", TOKEN, form={**REFRESH, "client_info": "1", "claims": CLAIMS}, headers=MSAL_HEADERS), ("token",)),
    ("token: x-client-* as query parameters (MSAL.NET, MSAL.js)",
     Form("POST", TOKEN, query={"x-client-SKU": "MSAL.NetCore", "x-client-Ver": "4.61.0"}, form=REFRESH), ("token",)),
    ("token: chunked body", Form("POST", TOKEN, form=REFRESH, chunked=True), ("token",)),
    ("token: scope in other case and the office365 host (email-oauth2-proxy's default)",
     Form("POST", TOKEN, form={**REFRESH, "scope": "https://OUTLOOK.OFFICE365.COM/imap.accessasuser.all OFFLINE_ACCESS"}), ("token",)),
    ("token: scope by resource app id", Form("POST", TOKEN, form={**REFRESH,
                                                                 "scope": "00000002-0000-0ff1-ce00-000000000000/IMAP.AccessAsUser.All"}),
     ("token",)),
    ("token: client secret in the body", Form("POST", TOKEN, form={**DAEMON_GRANT, "client_id": DAEMON, "client_secret": SECRET}),
     ("token",)),
    ("token: client secret by HTTP Basic", Form("POST", TOKEN, form=DAEMON_GRANT, basic=(DAEMON, SECRET)), ("token",)),
    ("token: JSON body is not read", Form("POST", TOKEN, raw=json.dumps(REFRESH).encode(), content_type="application/json"),
     ("aadsts", 900144)),
    ("token: multipart body is not read", Form("POST", TOKEN, raw=b"--x\r\n\r\n--x--", content_type="multipart/form-data; boundary=x"),
     ("aadsts", 900144)),
    ("token: GET", Form("GET", TOKEN, query=REFRESH), ("aadsts", 900561)),
    ("token: PUT", Form("PUT", TOKEN, form=REFRESH), ("aadsts", 900561)),
    ("token: no grant_type", Form("POST", TOKEN, form={"client_id": PUBLIC}), ("aadsts", 900144)),
    ("token: no client_id", Form("POST", TOKEN, form={"grant_type": "refresh_token", "refresh_token": MS_RT}), ("aadsts", 900144)),
    ("token: unknown grant type", Form("POST", TOKEN, form={"client_id": PUBLIC, "grant_type": "magic"}), ("aadsts", 70003)),
    ("token: unknown tenant", Form("POST", "/nowhere.example/oauth2/v2.0/token", form=REFRESH), ("aadsts", 90002)),
    # device-code endpoint: POST (msal, curl) and GET with a query (email-oauth2-proxy)
    ("devicecode: form body", Form("POST", DEVICECODE, form={"client_id": PUBLIC, "scope": f"{IMAP} offline_access"}),
     ("json", "user_code")),
    ("devicecode: GET with the query email-oauth2-proxy builds",
     Form("GET", DEVICECODE, query={"client_id": PUBLIC, "redirect_uri": "", "scope": f"{IMAP} offline_access", "response_type": "code",
                                    "access_type": "offline", "login_hint": ALICE, "state": "x"}), ("json", "user_code")),
    ("devicecode: DELETE", Form("DELETE", DEVICECODE), ("aadsts", 900561)),
    ("devicecode: no client_id", Form("POST", DEVICECODE, form={"scope": IMAP}), ("aadsts", 900144)),
    # authorize endpoint (the browser leg)
    ("authorize: GET (msal, google-style extras ignored)", Form("GET", AUTHORIZE, query={**SIGN_IN, "access_type": "offline",
                                                                                        "login_hint": ALICE}), ("code",)),
    ("authorize: POST form", Form("POST", AUTHORIZE, form=SIGN_IN), ("code",)),
    ("authorize: msal's extras (nonce, client_info, claims, prompt, x-client-*)",
     Form("GET", AUTHORIZE, query={**SIGN_IN, "nonce": "n", "client_info": "1", "claims": CLAIMS, "prompt": "select_account",
                                   "x-client-SKU": "MSAL.Python", "x-client-Ver": "1.39.0", "domain_hint": "organizations"}), ("code",)),
    ("authorize: PKCE S256", Form("GET", AUTHORIZE, query={**SIGN_IN, "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                                            "code_challenge_method": "S256"}), ("code",)),
    ("authorize: PKCE plain", Form("GET", AUTHORIZE, query={**SIGN_IN, "code_challenge": "x" * 43}), ("code",)),
    ("authorize: response_mode=fragment", Form("GET", AUTHORIZE, query={**SIGN_IN, "response_mode": "fragment"}), ("code",)),
    ("authorize: scope joined by + (form encoding)", Form("GET", AUTHORIZE, query={**SIGN_IN, "scope": f"{IMAP} openid profile"}),
     ("code",)),
    ("authorize: no redirect_uri: the registered one is used", Form("GET", AUTHORIZE, query={k: v for k, v in SIGN_IN.items()
                                                                                           if k != "redirect_uri"}), ("code",)),
    ("authorize: prompt=none without consent", Form("GET", AUTHORIZE, query={**SIGN_IN, "client_id": UNCONSENTED, "prompt": "none"}),
     ("redirect-error", "consent_required", "AADSTS65001: ")),
    ("authorize: no response_type", Form("GET", AUTHORIZE, query={k: v for k, v in SIGN_IN.items() if k != "response_type"}),
     ("redirect-error", "invalid_request", "AADSTS900144: ")),
    ("authorize: response_type=token", Form("GET", AUTHORIZE, query={**SIGN_IN, "response_type": "token"}),
     ("redirect-error", "unsupported_response_type", "AADSTS700054: ")),
    ("authorize: no scope", Form("GET", AUTHORIZE, query={**SIGN_IN, "scope": ""}), ("redirect-error", "invalid_request", "'scope'")),
    ("authorize: two resources", Form("GET", AUTHORIZE, query={**SIGN_IN, "scope": f"{IMAP} https://graph.microsoft.com/User.Read"}),
     ("redirect-error", "invalid_scope", "AADSTS28000: ")),
    ("authorize: no client_id", Form("GET", AUTHORIZE, query={"response_type": "code"}), ("page", 400, "AADSTS900144: ")),
    ("authorize: unknown client_id", Form("GET", AUTHORIZE, query={**SIGN_IN, "client_id": "00000000-0000-4000-8000-000000000000"}),
     ("page", 400, "AADSTS700016: ")),
    ("authorize: unregistered redirect URI", Form("GET", AUTHORIZE, query={**SIGN_IN, "redirect_uri": "https://evil.example/cb"}),
     ("page", 400, "AADSTS50011: The redirect URI &#x27;https://evil.example/cb&#x27; specified in the request does not match")),
    ("authorize: unknown tenant", Form("GET", "/nowhere.example/oauth2/v2.0/authorize", query=SIGN_IN), ("page", 400, "AADSTS90002: ")),
    ("authorize: PUT", Form("PUT", AUTHORIZE, form=SIGN_IN), ("page", 400, "AADSTS900561: ")),
    # discovery and anything else
    ("openid-configuration: GET", Form("GET", "/{t}/v2.0/.well-known/openid-configuration"), ("json", "token_endpoint")),
    ("openid-configuration: HEAD", Form("HEAD", "/{t}/v2.0/.well-known/openid-configuration"), ("empty", 200)),
    ("keys: GET", Form("GET", "/{t}/discovery/v2.0/keys"), ("json", "keys")),
    ("token: OPTIONS (CORS preflight)", Form("OPTIONS", TOKEN), ("empty", 200)),
    ("unknown endpoint under a tenant", Form("GET", "/{t}/oauth2/v2.0/userinfo"), ("page", 404, "/google/token")),
    ("unknown path", Form("POST", "/nothing/here", form={"a": "b"}), ("page", 404, "oauth2/v2.0/authorize")),
    ("root", Form("GET", "/"), ("page", 404, "openid-configuration")),
]


@pytest.mark.parametrize(("name", "form", "expected"), ENTRA_FORMS, ids=[row[0] for row in ENTRA_FORMS])
def test_entra_request_forms(lab: LabIdentityProvider, name: str, form: Form, expected: tuple[Any, ...]) -> None:
    check(send(lab, form), expected)


def test_entra_response_modes_and_client_info_come_back_as_the_real_service_sends_them(lab: LabIdentityProvider) -> None:
    fragment = send(lab, Form("GET", AUTHORIZE, query={**SIGN_IN, "response_mode": "fragment"}))
    assert fragment.headers["Location"].startswith(f"{REDIRECT}#code=")
    form_post = send(lab, Form("GET", AUTHORIZE, query={**SIGN_IN, "response_mode": "form_post", "client_info": "1"}))
    assert form_post.status_code == 200 and f'action="{REDIRECT}"' in form_post.text and 'name="client_info"' in form_post.text
    token = send(lab, Form("POST", TOKEN, form={**REFRESH, "client_info": "1"})).json()
    assert json.loads(b64url_decode(token["client_info"]))["utid"] == CONTOSO.id
    assert "client_info" not in send(lab, Form("POST", TOKEN, form=REFRESH)).json()


def test_user_cancelling_consent_goes_back_as_access_denied(lab: LabIdentityProvider) -> None:
    lab.directory.sign_in.consents = False
    try:
        response = send(lab, Form("GET", AUTHORIZE, query={**SIGN_IN, "client_id": UNCONSENTED}))
    finally:
        lab.directory.sign_in.consents = True
    answer = answer_of(response)
    assert answer["error"] == "access_denied" and answer["error_subcode"] == "cancel" and answer["state"] == "s1"
    assert answer["error_description"].startswith("AADSTS65004: User declined to consent to access the app.")


# ----------------------------------------------------------------------------------------------- Google

G_TOKEN = "/google/token"
G_AUTH = "/google/o/oauth2/v2/auth"
G_REFRESH = {"client_id": G_CLIENT, "client_secret": G_SECRET, "refresh_token": G_RT, "grant_type": "refresh_token"}
G_SIGN_IN = {"client_id": G_CLIENT, "response_type": "code", "redirect_uri": "http://localhost:8401/", "scope": MAIL, "state": "g1"}

GOOGLE_FORMS: list[tuple[str, Form, tuple[Any, ...]]] = [
    ("token: form body (google-auth, curl -d)", Form("POST", G_TOKEN, form=G_REFRESH), ("token",)),
    ("token: form body with charset", Form("POST", G_TOKEN, form=G_REFRESH, content_type=f"{FORM};charset=utf-8"), ("token",)),
    ("token: JSON body", Form("POST", G_TOKEN, raw=json.dumps(G_REFRESH).encode(), content_type="application/json"), ("token",)),
    ("token: client by HTTP Basic (requests-oauthlib)",
     Form("POST", G_TOKEN, form={"grant_type": "refresh_token", "refresh_token": G_RT}, basic=(G_CLIENT, G_SECRET)), ("token",)),
    ("token: scope given (google-auth with scopes=)", Form("POST", G_TOKEN, form={**G_REFRESH, "scope": MAIL}), ("token",)),
    ("token: older URL accounts.google.com/o/oauth2/token", Form("POST", "/google/o/oauth2/token", form=G_REFRESH), ("token",)),
    ("token: older URL www.googleapis.com/oauth2/v4/token", Form("POST", "/google/oauth2/v4/token", form=G_REFRESH), ("token",)),
    ("token: chunked body", Form("POST", G_TOKEN, form=G_REFRESH, chunked=True), ("token",)),
    ("token: no grant_type", Form("POST", G_TOKEN, form={k: v for k, v in G_REFRESH.items() if k != "grant_type"}),
     ("oauth", "unsupported_grant_type", "Invalid grant_type: ")),
    ("token: no client_id", Form("POST", G_TOKEN, form={k: v for k, v in G_REFRESH.items() if k != "client_id"}),
     ("oauth", "invalid_request", "Could not determine client ID from request.")),
    ("token: no client_secret", Form("POST", G_TOKEN, form={k: v for k, v in G_REFRESH.items() if k != "client_secret"}),
     ("oauth", "invalid_request", "client_secret is missing.")),
    ("token: authorization_code without code", Form("POST", G_TOKEN, form={**G_REFRESH, "grant_type": "authorization_code"}),
     ("oauth", "invalid_request", "Missing required parameter: code")),
    ("token: revoked refresh token is invalid_grant", Form("POST", G_TOKEN, form={**G_REFRESH, "refresh_token": "1//0unknown"}),
     ("oauth", "invalid_grant", "Token has been expired or revoked.")),
    ("token: GET", Form("GET", G_TOKEN, query=G_REFRESH), ("page", 405, "The request method <code>GET</code> is inappropriate")),
    ("authorize: GET v2 (google-auth-oauthlib)", Form("GET", G_AUTH, query={**G_SIGN_IN, "access_type": "offline", "prompt": "consent",
                                                                           "login_hint": G_USER, "include_granted_scopes": "true"}),
     ("code",)),
    ("authorize: older URL /o/oauth2/auth", Form("GET", "/google/o/oauth2/auth", query=G_SIGN_IN), ("code",)),
    ("authorize: POST form", Form("POST", G_AUTH, form=G_SIGN_IN), ("code",)),
    ("authorize: PKCE S256", Form("GET", G_AUTH, query={**G_SIGN_IN, "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                                         "code_challenge_method": "S256"}), ("code",)),
    ("authorize: PKCE plain", Form("GET", G_AUTH, query={**G_SIGN_IN, "code_challenge": "y" * 43, "code_challenge_method": "plain"}),
     ("code",)),
    ("authorize: openid email with the mail scope", Form("GET", G_AUTH, query={**G_SIGN_IN, "scope": f"openid email {MAIL}"}), ("code",)),
    ("authorize: no client_id", Form("GET", G_AUTH, query={"response_type": "code"}),
     ("page", 400, "Missing required parameter: client_id")),
    ("authorize: unknown client", Form("GET", G_AUTH, query={**G_SIGN_IN, "client_id": "1-x.apps.googleusercontent.com"}),
     ("page", 401, "Error 401: invalid_client")),
    ("authorize: no response_type", Form("GET", G_AUTH, query={k: v for k, v in G_SIGN_IN.items() if k != "response_type"}),
     ("page", 400, "Missing required parameter: response_type")),
    ("authorize: no scope", Form("GET", G_AUTH, query={k: v for k, v in G_SIGN_IN.items() if k != "scope"}),
     ("page", 400, "Missing required parameter: scope")),
    ("authorize: unknown scope", Form("GET", G_AUTH, query={**G_SIGN_IN, "scope": "mail"}),
     ("page", 400, "Some requested scopes were invalid. {invalid=[mail]}")),
    ("authorize: unregistered redirect URI", Form("GET", G_AUTH, query={**G_SIGN_IN, "redirect_uri": "https://evil.example/cb"}),
     ("page", 400, "Error 400: redirect_uri_mismatch")),
    ("authorize: bad code_challenge_method", Form("GET", G_AUTH, query={**G_SIGN_IN, "code_challenge": "z" * 43,
                                                                         "code_challenge_method": "S512"}),
     ("page", 400, "Invalid code_challenge_method value.")),
    ("tokeninfo: unknown token", Form("GET", "/google/tokeninfo", query={"access_token": "ya29.nothing"}),
     ("oauth", "invalid_token", "Invalid Value")),
    ("revoke: unknown token", Form("POST", "/google/revoke", query={"token": "1//0unknown"}, content_type=FORM),
     ("oauth", "invalid_token", "Token expired or revoked")),
    ("revoke: GET", Form("GET", "/google/revoke", query={"token": "x"}), ("page", 405, "inappropriate for the URL")),
    ("unknown Google path", Form("GET", "/google/userinfo"), ("page", 404, "<ins>That's an error.</ins>")),
]


@pytest.mark.parametrize(("name", "form", "expected"), GOOGLE_FORMS, ids=[row[0] for row in GOOGLE_FORMS])
def test_google_request_forms(lab: LabIdentityProvider, name: str, form: Form, expected: tuple[Any, ...]) -> None:
    check(send(lab, form), expected)


def test_google_cancel_and_prompt_none_go_back_to_the_app(lab: LabIdentityProvider) -> None:
    lab.directory.sign_in.consents = False
    try:
        cancelled = answer_of(send(lab, Form("GET", G_AUTH, query=G_SIGN_IN)))
    finally:
        lab.directory.sign_in.consents = True
    assert cancelled == {"error": "access_denied", "state": "g1"}  # Google's redirect after Cancel: no description
    lab.directory.google_users.append(GoogleUser("new@example.org"))
    lab.directory.google_sign_in_email = "new@example.org"
    try:
        silent = answer_of(send(lab, Form("GET", G_AUTH, query={**G_SIGN_IN, "prompt": "none"})))
    finally:
        lab.directory.google_sign_in_email = G_USER
    assert silent == {"error": "consent_required", "state": "g1"}


def test_google_revoke_ends_the_refresh_token(lab: LabIdentityProvider) -> None:
    lab.google._refresh["1//0to-revoke"] = GoogleRefreshToken("1//0to-revoke", G_CLIENT, G_USER, (MAIL,))
    assert send(lab, Form("POST", "/google/revoke", form={"token": "1//0to-revoke"})).status_code == 200
    check(send(lab, Form("POST", G_TOKEN, form={**G_REFRESH, "refresh_token": "1//0to-revoke"})),
          ("oauth", "invalid_grant", "Token has been expired or revoked."))


# ----------------------------------------------------------------------------------------------- the wire itself


def raw_exchange(lab: LabIdentityProvider, request: bytes) -> bytes:
    import ssl

    context = ssl.create_default_context(cafile=lab.ca_file)
    with socket.create_connection(("127.0.0.1", lab.port), timeout=5) as sock, \
            context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.sendall(request)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_broken_content_length_is_a_json_error_not_a_hang(lab: LabIdentityProvider) -> None:
    path = f"/{CONTOSO.domain}/oauth2/v2.0/token"
    for length in (b"abc", b"-5"):
        reply = raw_exchange(lab, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
                             + b"\r\nConnection: close\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["error"] == "invalid_request"


# ----------------------------------------------------------------------------------------------- curl, as the docs show it


def curl(lab: LabIdentityProvider, *args: str) -> dict[str, Any]:
    result = subprocess.run(["curl", "-sS", "--cacert", lab.ca_file, *args], capture_output=True, text=True, timeout=20, check=True)
    return json.loads(result.stdout)


def test_curl_requests_from_microsofts_documentation(lab: LabIdentityProvider) -> None:
    base = lab.authority(CONTOSO.domain)
    # "Get a token" for client credentials (shared secret), as printed in the Microsoft identity platform docs
    token = curl(lab, "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded",
                 "-d", f"client_id={DAEMON}&scope=https%3A%2F%2Foutlook.office365.com%2F.default&client_secret={SECRET}"
                       "&grant_type=client_credentials", f"{base}/oauth2/v2.0/token")
    assert token["token_type"] == "Bearer" and token["access_token"]
    # device authorization request, then a token request that is still pending
    device = curl(lab, "-d", f"client_id={PUBLIC}", "--data-urlencode", f"scope={IMAP} offline_access", f"{base}/oauth2/v2.0/devicecode")
    assert device["user_code"] and device["verification_uri"].endswith("/devicelogin")
    lab.directory.sign_in.approve_after_polls = 5
    try:
        pending = curl(lab, "-d", "grant_type=urn:ietf:params:oauth:grant-type:device_code", "-d", f"client_id={PUBLIC}",
                       "-d", f"device_code={device['device_code']}", f"{base}/oauth2/v2.0/token")
    finally:
        lab.directory.sign_in.approve_after_polls = 1
    assert pending["error"] == "authorization_pending" and pending["error_codes"] == [70016]
    # refresh token grant with -F would be multipart: Entra does not read it
    multipart = curl(lab, "-F", "grant_type=refresh_token", "-F", f"client_id={PUBLIC}", f"{base}/oauth2/v2.0/token")
    assert multipart["error_codes"] == [900144]


def test_curl_requests_from_googles_documentation(lab: LabIdentityProvider) -> None:
    base = lab.base_url
    refreshed = curl(lab, "-d", f"client_id={G_CLIENT}", "-d", f"client_secret={G_SECRET}", "-d", f"refresh_token={G_RT}",
                     "-d", "grant_type=refresh_token", f"{base}/google/token")
    assert refreshed["scope"] == MAIL and refreshed["expires_in"] > 3000
    info = curl(lab, f"{base}/google/tokeninfo?access_token={refreshed['access_token']}")
    assert info["email"] == G_USER and info["scope"] == MAIL
    # the revoke example of Google's OAuth guide, verbatim apart from the host
    revoked = subprocess.run(["curl", "-sS", "--cacert", lab.ca_file, "-o", "/dev/null", "-w", "%{http_code}", "-d", "-X", "-POST",
                              "--header", "Content-type:application/x-www-form-urlencoded",
                              f"{base}/google/revoke?token={refreshed['access_token']}"], capture_output=True, text=True, timeout=20)
    assert revoked.stdout == "200"
    assert curl(lab, f"{base}/google/tokeninfo?access_token={refreshed['access_token']}")["error"] == "invalid_token"
