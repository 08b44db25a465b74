"""Garbage in, an OAuth error out: the lab IdP never fails with a server error and never echoes a secret into its log."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import AppRegistration, Directory, GoogleOAuthClient, GoogleRefreshToken, GoogleUser, MsUser, Tenant
from mailscope.lab.idp import REDACTED, SECRET_PARAMETERS, IdpRequest, LabIdentityProvider, redact_params
from mailscope.lab.idp_keys import generate_app_certificate, generate_service_account

TENANT = Tenant("contoso.onmicrosoft.com")
APP = "9e5f94bc-0000-4000-8000-00000000f001"
DAEMON = "9e5f94bc-0000-4000-8000-00000000f002"

PATHS = [
    f"/{TENANT.domain}/oauth2/v2.0/token", f"/{TENANT.id}/oauth2/v2.0/devicecode", "/organizations/oauth2/v2.0/token",
    "/consumers/oauth2/v2.0/token", f"/{TENANT.domain}/oauth2/v2.0/authorize", "/common/v2.0/.well-known/openid-configuration",
    "/google/token", "/google/auth", "/google/o/oauth2/v2/auth", "/google/revoke", "/google/nothing", "/tokeninfo", "/devicelogin",
    "/common/discovery/instance", "/common/userrealm/x@y", f"/{TENANT.domain}/discovery/v2.0/keys",
    "/%ff/oauth2/v2.0/token", "/", "//", "/../../etc/passwd",
]
KEYS = ["grant_type", "client_id", "client_secret", "scope", "device_code", "refresh_token", "code", "redirect_uri", "code_verifier",
        "client_assertion", "client_assertion_type", "assertion", "username", "password", "access_token", "state", "otc", "nonce",
        "code_challenge", "code_challenge_method", "response_mode", "client_info", "login_hint"]
ODD_VALUES = [
    "client_credentials", "refresh_token", "authorization_code", "password", "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", APP, DAEMON,
    "https://outlook.office.com/IMAP.AccessAsUser.All offline_access", "https://outlook.office365.com/.default", "IMAP.AccessAsUser.All",
    "https://graph.microsoft.com/.default https://outlook.office.com/.default", "/", "//.default",
    "eyJhbGciOiJSUzI1NiIsIng1dCI6IiUlJSJ9.e30.AAAA", "eyJ4NXQjUzI1NiI6Ij8_In0.e30.", "eyJhbGciOiJSUzI1NiIsIng1dCI6MTIzfQ.e30.x",
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOm51bGx9.x", "eyJhbGciOiJSUzI1NiJ9.WzEsMl0.x", "a.b.c", "S256", "form_post", "http://localhost:1/cb",
    "1", "consumers", "\x00", "\x1b[31m",
]
VALUES = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(max_size=60),
)


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> LabIdentityProvider:
    certificate = generate_app_certificate()
    account = generate_service_account("sa@lab.iam.gserviceaccount.com", dwd_scopes=("https://mail.google.com/",))
    directory = Directory(
        tenants=[TENANT],
        users=[MsUser("alice@contoso.onmicrosoft.com", TENANT.id, password="pw")],
        apps=[AppRegistration(APP, TENANT.id, consented_scopes=frozenset({"IMAP.AccessAsUser.All"})),
              AppRegistration(DAEMON, TENANT.id, public_client=False, secrets=("s3cret",), certificates=(certificate.credential,))],
        google_clients=[GoogleOAuthClient("gid", "gsecret")], google_users=[GoogleUser("u@example.org")],
        google_refresh_tokens=[GoogleRefreshToken("1//0rt", "gid", "u@example.org", ("https://mail.google.com/",))],
        service_accounts=[account.account],
    )
    return LabIdentityProvider(directory, LabCA.create(Path(tmp_path_factory.mktemp("tls"))))  # routed directly: no socket needed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]), path=st.sampled_from(PATHS),
       params=st.dictionaries(st.sampled_from(KEYS), VALUES))
def test_any_request_gets_a_client_error_or_success_never_a_server_error(idp: LabIdentityProvider, method: str, path: str,
                                                                         params: dict[str, str]) -> None:
    reply = idp.route(method, path, params)
    assert 200 <= reply.status < 500, (reply.status, reply.body)
    if isinstance(reply.body, dict) and "error" in reply.body:
        assert reply.status >= 400 and isinstance(reply.body.get("error_description", ""), str)


@given(params=st.dictionaries(st.sampled_from(KEYS), st.text(min_size=1, max_size=30)))
def test_the_request_log_never_holds_a_secret_parameter(params: dict[str, str]) -> None:
    logged = redact_params(params)
    for key, value in params.items():
        assert logged[key] == (REDACTED if key in SECRET_PARAMETERS else value)
    entry = IdpRequest(0.0, "POST", "/t/oauth2/v2.0/token", logged, 400)
    for key in SECRET_PARAMETERS & params.keys():
        if len(params[key]) > 3:
            assert params[key] not in repr(entry.params[key])
