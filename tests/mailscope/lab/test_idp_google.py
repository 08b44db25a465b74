"""Real google-auth (and google-auth-oauthlib) against the lab's Google token endpoint."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from google_auth_oauthlib.flow import Flow

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import Directory, GoogleOAuthClient, GoogleRefreshToken, GoogleUser
from mailscope.lab.idp import REDACTED, LabIdentityProvider
from mailscope.lab.idp_clients import CaTrustingGoogleRequest
from mailscope.lab.idp_keys import GeneratedServiceAccount, generate_service_account

MAIL = "https://mail.google.com/"
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
CLIENT_ID = "123456789012-lab.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-lab-client-secret-value"
TESTING_ID = "210987654321-testing.apps.googleusercontent.com"
USER = "carol@example.org"
RT = "1//0lab-refresh-token-for-carol"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LabCA:
    return LabCA.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def with_dwd() -> GeneratedServiceAccount:
    return generate_service_account("mailer@lab-project.iam.gserviceaccount.com", dwd_scopes=(MAIL,))


@pytest.fixture(scope="module")
def without_dwd() -> GeneratedServiceAccount:
    return generate_service_account("nodwd@lab-project.iam.gserviceaccount.com")


def world(*accounts: GeneratedServiceAccount, **knobs: Any) -> Directory:
    return Directory(
        google_clients=[GoogleOAuthClient(CLIENT_ID, CLIENT_SECRET), GoogleOAuthClient(TESTING_ID, CLIENT_SECRET, testing_mode=True)],
        service_accounts=[a.account for a in accounts],
        google_users=[GoogleUser(USER), GoogleUser("dave@gmail.com", workspace=False),
                      GoogleUser("erin@example.org", grants_only=(READONLY,))],
        google_refresh_tokens=[
            GoogleRefreshToken(RT, CLIENT_ID, USER, (MAIL,)),
            GoogleRefreshToken("1//0narrow", CLIENT_ID, USER, (READONLY,)),
            GoogleRefreshToken("1//0revoked", CLIENT_ID, USER, (MAIL,), revoked=True),
            GoogleRefreshToken("1//0week-old", TESTING_ID, USER, (MAIL,), age_days=8),
            GoogleRefreshToken("1//0fresh-testing", TESTING_ID, USER, (MAIL,), age_days=1),
        ],
        **knobs,
    )


@pytest.fixture
def lab(ca: LabCA, with_dwd: GeneratedServiceAccount, without_dwd: GeneratedServiceAccount) -> Iterator[LabIdentityProvider]:
    with LabIdentityProvider(world(with_dwd, without_dwd), ca) as idp:
        yield idp


def user_creds(idp: LabIdentityProvider, refresh_token: str, client_id: str = CLIENT_ID,
               scopes: list[str] | None = None) -> user_credentials.Credentials:
    return user_credentials.Credentials(None, refresh_token=refresh_token, token_uri=idp.google_token_uri, client_id=client_id,
                                        client_secret=CLIENT_SECRET, scopes=scopes or [MAIL])


def refresh_error(creds: Any, request: CaTrustingGoogleRequest) -> str:
    """google-auth's RefreshError message (args[0]); args[1] is Google's raw error body."""
    with pytest.raises(RefreshError) as caught:
        creds.refresh(request)
    return str(caught.value.args[0])


def assert_no_secret_logged(idp: LabIdentityProvider, *secrets: str) -> None:
    logged = repr(idp.requests)
    for secret in secrets:
        assert secret and secret not in logged


# ----------------------------------------------------------------------------------------------- service accounts


def test_service_account_with_dwd_impersonates_the_subject(lab: LabIdentityProvider, with_dwd: GeneratedServiceAccount) -> None:
    sa = service_account.Credentials.from_service_account_info(with_dwd.key_info(lab.google_token_uri), scopes=[MAIL], subject=USER)
    sa.refresh(CaTrustingGoogleRequest(lab.ca_file))
    assert sa.valid and sa.token.startswith("ya29.c.")
    info = lab.google_tokeninfo(sa.token)
    assert info is not None
    assert (info["email"], info["scope"], info["azp"]) == (USER, MAIL, with_dwd.account.unique_id)
    assert 3500 < int(info["expires_in"]) <= 3599
    assert lab.requests[-1].params["assertion"] == REDACTED
    assert_no_secret_logged(lab, sa.token, with_dwd.private_key_pem.splitlines()[1])


def test_service_account_without_subject_gets_a_token_for_itself(lab: LabIdentityProvider, without_dwd: GeneratedServiceAccount) -> None:
    sa = service_account.Credentials.from_service_account_info(without_dwd.key_info(lab.google_token_uri), scopes=[MAIL])
    sa.refresh(CaTrustingGoogleRequest(lab.ca_file))
    info = lab.google_tokeninfo(sa.token)
    assert info is not None and info["email"] == without_dwd.account.client_email and info["sub"] == without_dwd.account.unique_id


def test_service_account_without_dwd_is_unauthorized_client(lab: LabIdentityProvider, without_dwd: GeneratedServiceAccount) -> None:
    sa = service_account.Credentials.from_service_account_info(without_dwd.key_info(lab.google_token_uri), scopes=[MAIL], subject=USER)
    with pytest.raises(RefreshError) as caught:
        sa.refresh(CaTrustingGoogleRequest(lab.ca_file))
    assert caught.value.args[0] == ("unauthorized_client: Client is unauthorized to retrieve access tokens using this method, or client "
                                    "not authorized for any of the scopes requested.")
    assert caught.value.retryable is False
    assert lab.requests[-1].status == 401 and lab.requests[-1].error == "unauthorized_client"


def test_dwd_for_another_scope_or_a_consumer_subject(lab: LabIdentityProvider, with_dwd: GeneratedServiceAccount) -> None:
    info = with_dwd.key_info(lab.google_token_uri)
    request = CaTrustingGoogleRequest(lab.ca_file)
    wider = service_account.Credentials.from_service_account_info(info, scopes=[MAIL, READONLY], subject=USER)
    assert refresh_error(wider, request).startswith("unauthorized_client: ")
    consumer = service_account.Credentials.from_service_account_info(info, scopes=[MAIL], subject="dave@gmail.com")
    assert refresh_error(consumer, request) == "invalid_grant: Invalid email or User ID"


def test_assertion_signed_by_another_key_is_invalid_grant(lab: LabIdentityProvider, with_dwd: GeneratedServiceAccount) -> None:
    impostor = generate_service_account(with_dwd.account.client_email)
    sa = service_account.Credentials.from_service_account_info(impostor.key_info(lab.google_token_uri), scopes=[MAIL], subject=USER)
    assert refresh_error(sa, CaTrustingGoogleRequest(lab.ca_file)) == "invalid_grant: Invalid JWT Signature."


# ----------------------------------------------------------------------------------------------- user refresh tokens


def test_user_refresh_token_gives_granted_scopes(lab: LabIdentityProvider) -> None:
    creds = user_creds(lab, RT)
    creds.refresh(CaTrustingGoogleRequest(lab.ca_file))
    assert creds.token.startswith("ya29.a0") and creds.granted_scopes == [MAIL]
    info = lab.google_tokeninfo(creds.token)
    assert info is not None and info["email"] == USER and info["access_type"] == "offline"
    assert_no_secret_logged(lab, RT, CLIENT_SECRET, creds.token)


def test_narrow_grant_is_visible_in_granted_scopes(lab: LabIdentityProvider) -> None:
    creds = user_creds(lab, "1//0narrow")
    creds.refresh(CaTrustingGoogleRequest(lab.ca_file))
    assert creds.granted_scopes == [READONLY]
    assert creds.has_scopes([MAIL])  # google-auth checks what was asked for, not what was granted (libraries.md §3)


@pytest.mark.parametrize("refresh_token,client_id", [("1//0revoked", CLIENT_ID), ("1//0week-old", TESTING_ID),
                                                    ("1//0never-issued", CLIENT_ID)])
def test_dead_refresh_tokens_are_invalid_grant(lab: LabIdentityProvider, refresh_token: str, client_id: str) -> None:
    with pytest.raises(RefreshError) as caught:
        user_creds(lab, refresh_token, client_id).refresh(CaTrustingGoogleRequest(lab.ca_file))
    assert caught.value.args[0] == "invalid_grant: Token has been expired or revoked."
    assert caught.value.args[1] == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_testing_mode_refresh_token_before_seven_days_works_and_says_when_it_dies(lab: LabIdentityProvider) -> None:
    response = requests.post(lab.google_token_uri, data={"grant_type": "refresh_token", "refresh_token": "1//0fresh-testing",
                                                         "client_id": TESTING_ID, "client_secret": CLIENT_SECRET},
                             verify=lab.ca_file, timeout=5).json()
    assert response["refresh_token_expires_in"] == 6 * 86400 and response["expires_in"] == 3599


def test_revoking_the_grant_kills_the_refresh_token(lab: LabIdentityProvider) -> None:
    request = CaTrustingGoogleRequest(lab.ca_file)
    user_creds(lab, RT).refresh(request)
    assert lab.revoke_google_grant(USER) >= 1
    with pytest.raises(RefreshError, match="Token has been expired or revoked"):
        user_creds(lab, RT).refresh(request)


def test_wrong_client_secret_is_invalid_client(lab: LabIdentityProvider) -> None:
    creds = user_credentials.Credentials(None, refresh_token=RT, token_uri=lab.google_token_uri, client_id=CLIENT_ID,
                                         client_secret="not-it", scopes=[MAIL])
    assert refresh_error(creds, CaTrustingGoogleRequest(lab.ca_file)) == "invalid_client: Unauthorized"
    assert_no_secret_logged(lab, "not-it", RT)


# ----------------------------------------------------------------------------------------------- installed-app flow


def _paste_back(lab: LabIdentityProvider, flow: Flow, prompt: str = "consent") -> str:
    auth_url, _ = flow.authorization_url(access_type="offline", prompt=prompt)
    browser = requests.get(auth_url, allow_redirects=False, verify=lab.ca_file, timeout=5)
    assert browser.status_code == 302
    return browser.headers["Location"]


def _flow(lab: LabIdentityProvider, scopes: list[str]) -> Flow:
    config = {"installed": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "auth_uri": lab.google_auth_uri,
                            "token_uri": lab.google_token_uri, "redirect_uris": ["http://localhost"]}}
    return Flow.from_client_config(config, scopes=scopes, redirect_uri="http://localhost:8765/")


def test_installed_app_flow_by_paste_back(lab: LabIdentityProvider) -> None:
    flow = _flow(lab, [MAIL])
    pasted = _paste_back(lab, flow)
    flow.fetch_token(authorization_response=pasted.replace("http://", "https://"), verify=lab.ca_file)
    creds = flow.credentials
    assert creds.refresh_token and creds.granted_scopes == [MAIL]
    info = lab.google_tokeninfo(creds.token)
    assert info is not None and info["email"] == USER
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(pasted).query))["code"]
    assert_no_secret_logged(lab, code, creds.refresh_token, creds.token, CLIENT_SECRET)


def test_no_refresh_token_when_consent_is_not_prompted_again(lab: LabIdentityProvider) -> None:
    flow = _flow(lab, [MAIL])  # carol consented to this client before (she holds a refresh token)
    flow.fetch_token(authorization_response=_paste_back(lab, flow, prompt="").replace("http://", "https://"), verify=lab.ca_file)
    assert flow.credentials.token and flow.credentials.refresh_token is None
    with pytest.raises(RefreshError, match="necessary fields"):
        flow.credentials.refresh(CaTrustingGoogleRequest(lab.ca_file))


def test_granular_consent_narrows_the_grant(ca: LabCA, monkeypatch: pytest.MonkeyPatch) -> None:
    with LabIdentityProvider(world(google_sign_in_email="erin@example.org"), ca) as idp:
        flow = _flow(idp, [MAIL, READONLY])
        pasted = _paste_back(idp, flow)
        with pytest.raises(Warning, match="Scope has changed"):
            flow.fetch_token(authorization_response=pasted.replace("http://", "https://"), verify=idp.ca_file)
        monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
        flow = _flow(idp, [MAIL, READONLY])
        flow.fetch_token(authorization_response=_paste_back(idp, flow).replace("http://", "https://"), verify=idp.ca_file)
        assert flow.credentials.granted_scopes == [READONLY]


def test_testing_app_blocks_users_who_are_not_testers_and_admin_policy_blocks_the_client(ca: LabCA) -> None:
    directory = world()
    directory.google_clients[0].testing_mode = True
    directory.google_clients[0].test_users = ("someone.else@example.org",)
    with LabIdentityProvider(directory, ca) as idp:
        page = requests.get(_flow(idp, [MAIL]).authorization_url()[0], allow_redirects=False, verify=idp.ca_file, timeout=5)
        assert page.status_code == 403 and "Error 403: access_denied" in page.text and "currently being tested" in page.text
        directory.google_clients[0].test_users = None
        directory.google_clients[0].blocked_by_admin_policy = True
        page = requests.get(_flow(idp, [MAIL]).authorization_url()[0], allow_redirects=False, verify=idp.ca_file, timeout=5)
        assert page.status_code == 400 and "Error 400: admin_policy_enforced" in page.text and "Location" not in page.headers


# ----------------------------------------------------------------------------------------------- tokeninfo


def test_tokeninfo_over_https_and_for_dead_tokens(ca: LabCA) -> None:
    with LabIdentityProvider(world(google_token_age_seconds=4000), ca) as idp:
        creds = user_creds(idp, RT)
        creds.refresh(CaTrustingGoogleRequest(idp.ca_file))
        assert idp.google_tokeninfo(creds.token) is None  # minted already expired
        dead = requests.get(idp.tokeninfo_url, params={"access_token": creds.token}, verify=idp.ca_file, timeout=5)
        assert dead.status_code == 400 and dead.json()["error"] == "invalid_token"
        assert_no_secret_logged(idp, creds.token)
    with LabIdentityProvider(world(), ca) as idp:
        creds = user_creds(idp, RT)
        creds.refresh(CaTrustingGoogleRequest(idp.ca_file))
        live = requests.get(idp.tokeninfo_url, params={"access_token": creds.token}, verify=idp.ca_file, timeout=5).json()
        assert live == idp.google_tokeninfo(creds.token) and live["scope"] == MAIL
        assert idp.google_tokeninfo("ya29.never-issued") is None
