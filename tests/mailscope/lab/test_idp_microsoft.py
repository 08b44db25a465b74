"""Real msal against the lab's Entra: every flow mailscope uses, and the token-stage failures it must explain."""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
import requests

from mailscope.lab.ca import LabCA
from mailscope.lab.directory import (
    CONSUMER_TENANT_ID,
    EXCHANGE,
    AppRegistration,
    DeviceCodeDecision,
    Directory,
    MsCloud,
    MsRefreshToken,
    MsUser,
    RefreshTokenState,
    SimulatedSignIn,
    Tenant,
)
from mailscope.lab.idp import REDACTED, LabIdentityProvider
from mailscope.lab.idp_clients import CaTrustingHttpClient
from mailscope.lab.idp_keys import GeneratedAppCertificate, generate_app_certificate

IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
APP_ONLY = "https://outlook.office365.com/.default"
PUBLIC_ID = "9e5f94bc-0000-4000-8000-00000000a001"
CONFIDENTIAL_ID = "9e5f94bc-0000-4000-8000-00000000a002"
WEB_ONLY_ID = "9e5f94bc-0000-4000-8000-00000000a003"
SECRET = "Lab~Secret.Value-0123456789abcdefghij"
CONTOSO = Tenant("contoso.onmicrosoft.com")
FABRIKAM = Tenant("fabrikam.onmicrosoft.com", users_can_consent=False)
GCCHIGH = Tenant("agency.onmicrosoft.us", cloud=MsCloud.USGOV)
ALICE = "alice@contoso.onmicrosoft.com"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LabCA:
    return LabCA.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def certificate() -> GeneratedAppCertificate:
    return generate_app_certificate()


def world(certificate: GeneratedAppCertificate | None = None, **knobs: Any) -> Directory:
    return Directory(
        tenants=[CONTOSO, FABRIKAM, GCCHIGH],
        users=[MsUser(ALICE, CONTOSO.id), MsUser("mfa.user@contoso.onmicrosoft.com", CONTOSO.id, password="Pa55w0rd!", mfa_required=True),
               MsUser("bob@fabrikam.onmicrosoft.com", FABRIKAM.id), MsUser("gov@agency.onmicrosoft.us", GCCHIGH.id)],
        apps=[
            AppRegistration(PUBLIC_ID, CONTOSO.id, display_name="Mail client", consented_scopes=frozenset({"IMAP.AccessAsUser.All"}),
                            provisioned_in=(GCCHIGH.id,), redirect_uris=("http://localhost",)),
            AppRegistration(CONFIDENTIAL_ID, CONTOSO.id, display_name="Mail daemon", public_client=False, secrets=(SECRET,),
                            expired_secrets=("Old~Secret",), certificates=(certificate.credential,) if certificate else (),
                            app_roles={EXCHANGE: ("IMAP.AccessAsApp", "SMTP.SendAsApp")}),
            AppRegistration(WEB_ONLY_ID, CONTOSO.id, display_name="Web app", public_client=False, secrets=(SECRET,)),
        ],
        device_code_interval=1,
        **knobs,
    )


@pytest.fixture
def lab(ca: LabCA, certificate: GeneratedAppCertificate) -> Iterator[LabIdentityProvider]:
    with LabIdentityProvider(world(certificate), ca) as idp:
        yield idp


def public_app(idp: LabIdentityProvider, tenant: str = CONTOSO.domain, client_id: str = PUBLIC_ID) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(client_id, authority=idp.authority(tenant), instance_discovery=False,
                                        http_client=CaTrustingHttpClient(idp.ca_file))


def confidential_app(idp: LabIdentityProvider, credential: Any, tenant: str = CONTOSO.id,
                     client_id: str = CONFIDENTIAL_ID) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=idp.authority(tenant),
                                              instance_discovery=False, http_client=CaTrustingHttpClient(idp.ca_file))


def poll(app: msal.PublicClientApplication, flow: dict[str, Any], max_polls: int = 10) -> tuple[dict[str, Any], int]:
    """One non-blocking poll per call, as the console does it (libraries.md §2). Returns the result and the poll count."""
    for count in range(1, max_polls + 1):
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
        if result.get("error") not in ("authorization_pending", "slow_down"):
            return result, count
    raise AssertionError("device flow never finished")


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def assert_no_secret_logged(idp: LabIdentityProvider, *secrets: str) -> None:
    logged = repr(idp.requests)
    for secret in secrets:
        assert secret and secret not in logged


# ----------------------------------------------------------------------------------------------- discovery


def test_openid_configuration_has_what_msal_needs(lab: LabIdentityProvider) -> None:
    config = requests.get(f"{lab.authority(CONTOSO.domain)}/v2.0/.well-known/openid-configuration", verify=lab.ca_file, timeout=5).json()
    base = f"{lab.base_url}/{CONTOSO.id}"
    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["device_authorization_endpoint"] == f"{base}/oauth2/v2.0/devicecode"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert config["issuer"] == f"{base}/v2.0"
    keys = requests.get(config["jwks_uri"], verify=lab.ca_file, timeout=5).json()["keys"]
    assert keys == lab.jwks()["keys"] and keys[0]["kty"] == "RSA"


def test_instance_discovery_can_be_pointed_at_the_lab(lab: LabIdentityProvider) -> None:
    app = msal.ConfidentialClientApplication(CONFIDENTIAL_ID, client_credential=SECRET, authority=lab.authority(CONTOSO.domain),
                                             instance_discovery=f"{lab.base_url}/common/discovery/instance",
                                             http_client=CaTrustingHttpClient(lab.ca_file))
    assert "access_token" in app.acquire_token_for_client([APP_ONLY])
    assert [r.path for r in lab.requests][:2] == ["/common/discovery/instance", f"/{CONTOSO.domain}/v2.0/.well-known/openid-configuration"]


def test_unknown_tenant_is_aadsts90002_and_msal_refuses_the_authority(lab: LabIdentityProvider) -> None:
    response = requests.get(f"{lab.authority('nosuch.onmicrosoft.com')}/v2.0/.well-known/openid-configuration", verify=lab.ca_file,
                            timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant 'nosuch.onmicrosoft.com' not found.")
    assert "\r\nTrace ID: " in body["error_description"] and "\r\nCorrelation ID: " in body["error_description"]
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        public_app(lab, "nosuch.onmicrosoft.com")


# ----------------------------------------------------------------------------------------------- device code


def test_device_code_approved_after_n_polls_gives_an_exchange_v1_token(ca: LabCA) -> None:
    directory = world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=2))
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp)
        flow = app.initiate_device_flow(scopes=[IMAP])
        assert flow["user_code"] in flow["message"] and flow["interval"] == 1
        result, polls = poll(app, flow)
        assert polls == 3
        pending = [r for r in idp.requests if r.error == "authorization_pending"]
        assert [r.error_codes for r in pending] == [(70016,), (70016,)]
        assert result["scope"] == IMAP and result["token_type"] == "Bearer"
        at = claims(result["access_token"])
        assert at["aud"] == "https://outlook.office.com" and at["scp"] == "IMAP.AccessAsUser.All"
        assert at["iss"] == f"https://sts.windows.net/{CONTOSO.id}/" and at["ver"] == "1.0" and at["tid"] == CONTOSO.id
        assert at["upn"] == at["unique_name"] == ALICE and at["appid"] == PUBLIC_ID and at["appidacr"] == "0"
        assert at["exp"] - at["iat"] == 3900 and "idtyp" not in at and "roles" not in at
        assert idp.verify_access_token(result["access_token"]) == at
        assert result["id_token_claims"]["preferred_username"] == ALICE
        account = app.get_accounts(username=ALICE)[0]
        assert account["home_account_id"] == f"{at['oid']}.{CONTOSO.id}"
        assert app.acquire_token_silent([IMAP], account=account)["token_source"] == "cache"
        refreshed = app.acquire_token_silent([IMAP], account=account, force_refresh=True)
        assert refreshed["token_source"] == "identity_provider" and claims(refreshed["access_token"])["upn"] == ALICE
        assert_no_secret_logged(idp, flow["device_code"], result["access_token"], result["refresh_token"], refreshed["refresh_token"])
        assert any(r.params.get("device_code") == REDACTED for r in idp.requests)


def test_device_code_declined_by_the_user(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=0, decision=DeviceCodeDecision.DECLINE)), ca) as idp:
        app = public_app(idp)
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        assert result["error"] == "authorization_declined" and result["error_codes"] == [70000]


def test_device_code_that_nobody_enters_expires(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=1, decision=DeviceCodeDecision.EXPIRE)), ca) as idp:
        app = public_app(idp)
        result, polls = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        assert (result["error"], result["error_codes"], polls) == ("expired_token", [70020], 2)


def test_manual_sign_in_on_the_device_login_page(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(decision=DeviceCodeDecision.MANUAL)), ca) as idp:
        app = public_app(idp)
        flow = app.initiate_device_flow(scopes=[IMAP])
        assert app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)["error"] == "authorization_pending"
        page = requests.post(flow["verification_uri"], data={"otc": flow["user_code"]}, verify=idp.ca_file, timeout=5)
        assert page.status_code == 200 and "signed in" in page.text
        result, _ = poll(app, flow)
        assert claims(result["access_token"])["upn"] == ALICE
        unknown = requests.post(flow["verification_uri"], data={"otc": "NOPE"}, verify=idp.ca_file, timeout=5)
        assert unknown.status_code == 400 and "recognize" in unknown.text


def test_consent_missing_is_aadsts65001(ca: LabCA) -> None:
    directory = world(sign_in=SimulatedSignIn("bob@fabrikam.onmicrosoft.com", approve_after_polls=0))
    directory.apps[0].multi_tenant = True
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp, FABRIKAM.domain)
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        assert result["error"] == "invalid_grant" and result["error_codes"] == [65001]
        assert result["error_description"].startswith(
            f"AADSTS65001: The user or administrator has not consented to use the application with ID '{PUBLIC_ID}' named 'Mail client'.")
        assert result["suberror"] == "consent_required"


def test_user_consents_on_the_spot_when_the_tenant_allows_it(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=0)), ca) as idp:
        app = public_app(idp)
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP, "https://outlook.office.com/SMTP.Send"]))
        assert claims(result["access_token"])["scp"] == "IMAP.AccessAsUser.All SMTP.Send"
        assert result["scope"] == f"{IMAP} https://outlook.office.com/SMTP.Send"


def test_web_app_used_as_public_client_is_aadsts7000218(lab: LabIdentityProvider) -> None:
    flow = public_app(lab, client_id=WEB_ONLY_ID).initiate_device_flow(scopes=[IMAP])
    assert "user_code" not in flow
    assert flow["error"] == "invalid_client" and flow["error_codes"] == [7000218]
    assert flow["error_description"].startswith(
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")


def test_app_from_another_tenant_is_aadsts700016(lab: LabIdentityProvider) -> None:
    flow = public_app(lab, FABRIKAM.domain).initiate_device_flow(scopes=[IMAP])
    assert flow["error"] == "unauthorized_client" and flow["error_codes"] == [700016]
    assert f"Application with identifier '{PUBLIC_ID}' was not found in the directory 'fabrikam.onmicrosoft.com'" in (
        flow["error_description"])


def test_single_tenant_app_on_common_is_aadsts50194(lab: LabIdentityProvider) -> None:
    flow = public_app(lab, "organizations").initiate_device_flow(scopes=[IMAP])
    result, _ = poll(public_app(lab, "organizations"), flow) if "device_code" in flow else (flow, 0)
    assert result["error_codes"] == [50194]


# ----------------------------------------------------------------------------------------------- scopes


def test_bare_scope_resolves_to_graph(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=0)), ca) as idp:
        app = public_app(idp)
        result, _ = poll(app, app.initiate_device_flow(scopes=["IMAP.AccessAsUser.All"]))
        at = claims(result["access_token"])
        assert at["aud"] == "https://graph.microsoft.com" and "IMAP.AccessAsUser.All" in at["scp"].split()
        assert "IMAP.AccessAsUser.All" in result["scope"].split()


def test_graph_and_outlook_scopes_together_are_aadsts28000(lab: LabIdentityProvider) -> None:
    flow = public_app(lab).initiate_device_flow(scopes=[IMAP, "https://graph.microsoft.com/User.Read"])
    assert flow["error"] == "invalid_scope" and flow["error_codes"] == [28000]
    assert "contains more than one resource" in flow["error_description"]


def test_unknown_permission_and_unknown_resource(lab: LabIdentityProvider) -> None:
    app = public_app(lab)
    assert app.initiate_device_flow(scopes=["https://outlook.office.com/IMAP.AccessAsUser"])["error_codes"] == [650053]
    assert app.initiate_device_flow(scopes=["https://mail.example.com/IMAP.AccessAsUser.All"])["error_codes"] == [500011]


def test_national_cloud_resources(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn("gov@agency.onmicrosoft.us", approve_after_polls=0)), ca) as idp:
        app = public_app(idp, GCCHIGH.domain)
        assert app.initiate_device_flow(scopes=[IMAP])["error_codes"] == [500011]  # a worldwide resource in GCC High
        result, _ = poll(app, app.initiate_device_flow(scopes=["https://outlook.office365.us/IMAP.AccessAsUser.All"]))
        at = claims(result["access_token"])
        assert at["aud"] == "https://outlook.office365.us" and at["tid"] == GCCHIGH.id


def test_an_authority_playing_one_cloud_does_not_know_tenants_of_another(ca: LabCA) -> None:
    with LabIdentityProvider(world(), ca, cloud=MsCloud.GLOBAL) as idp:
        response = requests.get(f"{idp.authority(GCCHIGH.domain)}/v2.0/.well-known/openid-configuration", verify=idp.ca_file, timeout=5)
        assert response.status_code == 400 and response.json()["error_codes"] == [90002]
        assert "signing into the correct cloud" in response.json()["error_description"]
        assert requests.get(f"{idp.authority(CONTOSO.domain)}/v2.0/.well-known/openid-configuration", verify=idp.ca_file,
                            timeout=5).json()["cloud_instance_name"] == "microsoftonline.com"
    with LabIdentityProvider(world(), ca, cloud=MsCloud.USGOV) as idp:
        config = requests.get(f"{idp.authority(GCCHIGH.domain)}/v2.0/.well-known/openid-configuration", verify=idp.ca_file,
                              timeout=5).json()
        assert (config["cloud_instance_name"], config["msgraph_host"]) == ("microsoftonline.us", "graph.microsoft.us")


def test_expired_token_knob_mints_tokens_already_past_exp(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=0), ms_token_age_seconds=4000), ca) as idp:
        app = public_app(idp)
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        at = claims(result["access_token"])
        assert at["exp"] < time.time() and at["exp"] - at["iat"] == 3900 and result["expires_in"] == 0


# ----------------------------------------------------------------------------------------------- refresh and password


def test_refresh_token_revoked_and_inactive(ca: LabCA) -> None:
    directory = world(ms_refresh_tokens=[
        MsRefreshToken("0.A.revoked-rt", PUBLIC_ID, ALICE, (IMAP, "offline_access"), RefreshTokenState.REVOKED),
        MsRefreshToken("0.A.inactive-rt", PUBLIC_ID, ALICE, (IMAP, "offline_access"), RefreshTokenState.INACTIVE),
        MsRefreshToken("0.A.good-rt", PUBLIC_ID, ALICE, (IMAP, "offline_access")),
        MsRefreshToken("0.A.old-rt", PUBLIC_ID, ALICE, (IMAP,), RefreshTokenState.LIFETIME_EXPIRED),
        MsRefreshToken("0.A.sif-rt", PUBLIC_ID, ALICE, (IMAP,), RefreshTokenState.SIGN_IN_FREQUENCY),
    ])
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp)
        revoked = app.acquire_token_by_refresh_token("0.A.revoked-rt", [IMAP])
        assert revoked["error"] == "invalid_grant" and revoked["error_codes"] == [50173]
        assert app.acquire_token_by_refresh_token("0.A.inactive-rt", [IMAP])["error_codes"] == [70008]
        assert app.acquire_token_by_refresh_token("0.A.old-rt", [IMAP])["error_codes"] == [700082]
        assert app.acquire_token_by_refresh_token("0.A.sif-rt", [IMAP])["error_codes"] == [70043]
        good = app.acquire_token_by_refresh_token("0.A.good-rt", [IMAP])
        assert claims(good["access_token"])["upn"] == ALICE
        assert idp.revoke_refresh_tokens(ALICE) >= 2
        assert public_app(idp).acquire_token_by_refresh_token(good["refresh_token"], [IMAP])["error_codes"] == [50173]
        assert_no_secret_logged(idp, "0.A.revoked-rt", "0.A.good-rt", good["refresh_token"], good["access_token"])


def test_mfa_required_blocks_password_and_non_mfa_refresh_with_aadsts50076(ca: LabCA) -> None:
    directory = world(ms_refresh_tokens=[MsRefreshToken("0.A.no-mfa", PUBLIC_ID, "mfa.user@contoso.onmicrosoft.com", (IMAP,))])
    with LabIdentityProvider(directory, ca) as idp:
        # ROPC as raw clients (Jira, scripts) send it: msal's own ROPC asks user-realm discovery on port 443 of the authority host.
        token_url = f"{idp.authority(CONTOSO.id)}/oauth2/v2.0/token"

        def ropc(username: str, password: str) -> dict[str, Any]:
            form = {"grant_type": "password", "client_id": PUBLIC_ID, "username": username, "password": password,
                    "scope": f"{IMAP} offline_access"}
            return requests.post(token_url, data=form, verify=idp.ca_file, timeout=5).json()

        mfa = ropc("mfa.user@contoso.onmicrosoft.com", "Pa55w0rd!")
        assert mfa["error"] == "invalid_grant" and mfa["error_codes"] == [50076]
        assert mfa["error_description"].startswith(
            "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must "
            "use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.")
        assert ropc(ALICE, "wrong")["error_codes"] == [50126]
        assert public_app(idp).acquire_token_by_refresh_token("0.A.no-mfa", [IMAP])["error_codes"] == [50076]
        assert_no_secret_logged(idp, "Pa55w0rd!", "0.A.no-mfa")


# ----------------------------------------------------------------------------------------------- client credentials


def test_client_credentials_with_secret(lab: LabIdentityProvider) -> None:
    result = confidential_app(lab, SECRET).acquire_token_for_client([APP_ONLY])
    at = claims(result["access_token"])
    assert at["aud"] == "https://outlook.office365.com" and at["idtyp"] == "app" and at["appidacr"] == "1"
    assert at["roles"] == ["IMAP.AccessAsApp", "SMTP.SendAsApp"] and "scp" not in at and "upn" not in at
    assert at["oid"] == at["sub"] == lab.directory.app(CONFIDENTIAL_ID).service_principal_oid
    assert_no_secret_logged(lab, SECRET, result["access_token"])


@pytest.mark.parametrize("sha256", [True, False], ids=["PS256-x5t#S256", "RS256-x5t"])
def test_client_credentials_with_certificate(lab: LabIdentityProvider, certificate: GeneratedAppCertificate, sha256: bool) -> None:
    result = confidential_app(lab, certificate.msal_client_credential(sha256)).acquire_token_for_client([APP_ONLY])
    assert claims(result["access_token"])["appidacr"] == "2"
    token_requests = [r for r in lab.requests if r.path.endswith("/token")]
    assert token_requests[-1].params["client_assertion"] == REDACTED


def test_certificate_not_uploaded_is_aadsts700027(lab: LabIdentityProvider) -> None:
    stranger = generate_app_certificate("not uploaded")
    result = confidential_app(lab, stranger.msal_client_credential()).acquire_token_for_client([APP_ONLY])
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]
    assert "The key was not found." in result["error_description"]


def test_client_credential_errors(lab: LabIdentityProvider) -> None:
    assert confidential_app(lab, "wrong").acquire_token_for_client([APP_ONLY])["error_codes"] == [7000215]
    assert confidential_app(lab, "Old~Secret").acquire_token_for_client([APP_ONLY])["error_codes"] == [7000222]
    wrong_scope = confidential_app(lab, SECRET).acquire_token_for_client(["https://outlook.office.com/IMAP.AccessAsUser.All"])
    assert wrong_scope["error"] == "invalid_scope" and wrong_scope["error_codes"] == [1002012]
    assert confidential_app(lab, SECRET, tenant=FABRIKAM.id).acquire_token_for_client([APP_ONLY])["error_codes"] == [700016]
    with pytest.warns(DeprecationWarning, match="/common or /organizations"):
        no_tenant = confidential_app(lab, SECRET, tenant="organizations").acquire_token_for_client([APP_ONLY])
    assert no_tenant["error_codes"] == [50059]
    graph = confidential_app(lab, SECRET).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert claims(graph["access_token"])["aud"] == "https://graph.microsoft.com" and "roles" not in claims(graph["access_token"])


# ----------------------------------------------------------------------------------------------- authorization code


def test_authorization_code_with_pkce_by_paste_back(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn(ALICE)), ca) as idp:
        app = public_app(idp)
        flow = app.initiate_auth_code_flow([IMAP], redirect_uri="http://localhost:8400")
        browser = requests.get(flow["auth_uri"], allow_redirects=False, verify=idp.ca_file, timeout=5)
        assert browser.status_code == 302
        pasted = browser.headers["Location"]
        assert pasted.startswith("http://localhost:8400?")
        response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(pasted).query))
        result = app.acquire_token_by_auth_code_flow(flow, response)
        assert claims(result["access_token"])["upn"] == ALICE
        assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()  # msal sends the nonce hashed
        replay = public_app(idp).acquire_token_by_auth_code_flow(flow, response)
        assert replay["error_codes"] == [54005]
        assert_no_secret_logged(idp, response["code"], flow["code_verifier"], result["access_token"])


def test_authorize_with_unregistered_redirect_is_an_error_page(lab: LabIdentityProvider) -> None:
    flow = public_app(lab).initiate_auth_code_flow([IMAP], redirect_uri="https://evil.example/cb")
    page = requests.get(flow["auth_uri"], allow_redirects=False, verify=lab.ca_file, timeout=5)
    assert page.status_code == 400 and "AADSTS50011" in page.text and "Location" not in page.headers


def test_authorize_when_only_an_admin_may_consent_redirects_back_with_aadsts65001(ca: LabCA) -> None:
    """Issue 17: the app must learn the consent error from the redirect (a page would leave a redirect-based client waiting)."""
    directory = world(sign_in=SimulatedSignIn("bob@fabrikam.onmicrosoft.com"))
    directory.apps[0].multi_tenant = True
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp, FABRIKAM.domain)
        flow = app.initiate_auth_code_flow([IMAP], redirect_uri="http://localhost:8400")
        page = requests.get(flow["auth_uri"], allow_redirects=False, verify=idp.ca_file, timeout=5)
        assert page.status_code == 302 and page.headers["Location"].startswith("http://localhost:8400?")
        answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.headers["Location"]).query))
        assert answer["error"] == "consent_required" and answer["state"] == flow["state"]
        assert answer["error_description"].startswith(f"AADSTS65001: The user or administrator has not consented to use the "
                                                      f"application with ID '{PUBLIC_ID}'")
        result = app.acquire_token_by_auth_code_flow(flow, answer)
        assert result["error"] == "consent_required" and "AADSTS65001" in result["error_description"]


def test_user_declining_consent_is_redirected_back_with_access_denied(ca: LabCA) -> None:
    directory = world(sign_in=SimulatedSignIn(ALICE, consents=False))
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp)
        flow = app.initiate_auth_code_flow(["https://outlook.office.com/SMTP.Send"], redirect_uri="http://localhost:8400")
        page = requests.get(flow["auth_uri"], allow_redirects=False, verify=idp.ca_file, timeout=5)
        answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.headers["Location"]).query))
        assert answer["error"] == "access_denied" and answer["error_description"].startswith("AADSTS65004: User declined to consent")
        assert answer["error_subcode"] == "cancel"
        assert answer["state"] == flow["state"]
        result = app.acquire_token_by_auth_code_flow(flow, answer)
        assert result["error"] == "access_denied"


def test_form_post_response_mode_answers_with_a_self_submitting_form(lab: LabIdentityProvider) -> None:
    flow = public_app(lab).initiate_auth_code_flow([IMAP], redirect_uri="http://localhost:8400", response_mode="form_post")
    page = requests.get(flow["auth_uri"], allow_redirects=False, verify=lab.ca_file, timeout=5)
    assert page.status_code == 200 and 'action="http://localhost:8400"' in page.text and 'name="code"' in page.text


def test_pkce_verifier_mismatch_is_aadsts501481(lab: LabIdentityProvider) -> None:
    app = public_app(lab)
    flow = app.initiate_auth_code_flow([IMAP], redirect_uri="http://localhost:8400")
    location = requests.get(flow["auth_uri"], allow_redirects=False, verify=lab.ca_file, timeout=5).headers["Location"]
    flow["code_verifier"] = "x" * 43
    result = app.acquire_token_by_auth_code_flow(flow, dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)))
    assert result["error"] == "invalid_grant" and result["error_codes"] == [501481]


def test_user_of_another_tenant_is_aadsts50020(ca: LabCA) -> None:
    with LabIdentityProvider(world(sign_in=SimulatedSignIn("bob@fabrikam.onmicrosoft.com", approve_after_polls=0)), ca) as idp:
        app = public_app(idp)
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        assert result["error_codes"] == [50020]
        assert result["error_description"].startswith(
            "AADSTS50020: User account 'bob@fabrikam.onmicrosoft.com' from identity provider "
            f"'https://sts.windows.net/{FABRIKAM.id}/' does not exist in tenant 'contoso.onmicrosoft.com'")


def test_conditional_access_block_is_aadsts53003(ca: LabCA) -> None:
    directory = world(sign_in=SimulatedSignIn(ALICE, approve_after_polls=0))
    directory.users[0].blocked_by_conditional_access = True
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp)
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        assert result["error"] == "invalid_grant" and result["error_codes"] == [53003]


def test_secret_sent_by_a_public_only_app_is_aadsts700025(lab: LabIdentityProvider) -> None:
    result = confidential_app(lab, "some-secret", client_id=PUBLIC_ID).acquire_token_for_client([APP_ONLY])
    assert result["error"] == "invalid_client" and result["error_codes"] == [700025]
    assert_no_secret_logged(lab, "some-secret")


# ----------------------------------------------------------------------------------------------- robustness


def test_garbage_requests_get_entra_errors_not_crashes(lab: LabIdentityProvider) -> None:
    token_url = f"{lab.authority(CONTOSO.id)}/oauth2/v2.0/token"
    missing = requests.post(token_url, data={"client_id": PUBLIC_ID}, verify=lab.ca_file, timeout=5)
    assert missing.status_code == 400 and missing.json()["error_codes"] == [900144]
    unsupported = requests.post(token_url, data={"client_id": PUBLIC_ID, "grant_type": "magic"}, verify=lab.ca_file, timeout=5)
    assert unsupported.json()["error"] == "unsupported_grant_type"
    bogus_code = requests.post(token_url, data={"client_id": PUBLIC_ID, "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                                "device_code": "\x1b[2Jnot-a-code"}, verify=lab.ca_file, timeout=5)
    assert bogus_code.json()["error_codes"] == [9002313]
    assert requests.get(f"{lab.base_url}/nothing/here", verify=lab.ca_file, timeout=5).status_code == 404
    assert_no_secret_logged(lab, "not-a-code")


def test_a_plaintext_client_does_not_stall_the_server(lab: LabIdentityProvider) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", lab.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS: the handshake fails in its own thread
        config = requests.get(f"{lab.authority(CONTOSO.id)}/v2.0/.well-known/openid-configuration", verify=lab.ca_file, timeout=5)
        assert config.status_code == 200


def test_stop_releases_the_port(ca: LabCA) -> None:
    idp = LabIdentityProvider(world(), ca).start()
    port = idp.port
    idp.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"https://127.0.0.1:{port}/", verify=str(Path(idp.ca_file)), timeout=2)


# ----------------------------------------------------------------------------------------------- personal accounts


def test_personal_account_gets_an_opaque_token_on_consumers(ca: LabCA) -> None:
    directory = world(sign_in=SimulatedSignIn("someone@outlook.com", approve_after_polls=0))
    directory.users.append(MsUser("someone@outlook.com", CONSUMER_TENANT_ID))
    directory.apps[0].personal_accounts = True
    with LabIdentityProvider(directory, ca) as idp:
        app = public_app(idp, "consumers")
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        token = result["access_token"]
        assert token.startswith("EwA") and token.count(".") == 0  # not a JWT: nothing to decode
        assert result["scope"] == IMAP and result["id_token_claims"]["tid"] == CONSUMER_TENANT_ID
        known = idp.ms_opaque_token_claims(token)
        assert known is not None and known["upn"] == "someone@outlook.com" and known["aud"] == "https://outlook.office.com"
        assert idp.verify_access_token(token) is None and idp.ms_opaque_token_claims("EwAnever") is None
        assert_no_secret_logged(idp, token, result["refresh_token"])


def test_account_type_and_authority_mismatches(ca: LabCA) -> None:
    directory = world(sign_in=SimulatedSignIn("someone@outlook.com", approve_after_polls=0))
    directory.users.append(MsUser("someone@outlook.com", CONSUMER_TENANT_ID))
    directory.apps[0].multi_tenant = True  # work and school accounts only
    with LabIdentityProvider(directory, ca) as idp:
        on_consumers = public_app(idp, "consumers").initiate_device_flow(scopes=[IMAP])
        assert on_consumers["error_codes"] == [9002332]
        assert "is configured for use by Azure Active Directory users only" in on_consumers["error_description"]
        app = public_app(idp, "common")
        result, _ = poll(app, app.initiate_device_flow(scopes=[IMAP]))
        assert result["error_codes"] == [50020] and "from identity provider 'live.com'" in result["error_description"]


def test_parallel_clients_each_get_their_own_token(lab: LabIdentityProvider) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def acquire(_: int) -> str:
        return confidential_app(lab, SECRET).acquire_token_for_client([APP_ONLY])["access_token"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(acquire, range(16)))
    assert len(set(tokens)) == 16 and all(lab.verify_access_token(t) for t in tokens)
