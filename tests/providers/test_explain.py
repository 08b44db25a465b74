"""Token-endpoint errors → findings with catalogue ids, owners and fix steps that quote the user's values."""

from __future__ import annotations

import pytest

from mailscope.evidence import SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput, Owner
from mailscope.settings import CheckSettings
from providers.explain import MS_CODES, explain_token_error
from providers.registry import provider_rules

SETTINGS = CheckSettings(host="outlook.office365.com", port=993, provider="microsoft", flow="device_code",
                         client_id="11111111-2222-3333-4444-555555555555", tenant="contoso.onmicrosoft.com")

# failure-modes.md §1.4: AADSTS code -> catalogue id
CATALOGUE = {
    65001: "ms_consent_or_permission_missing", 90094: "ms_consent_or_permission_missing", 90095: "ms_consent_or_permission_missing",
    650057: "ms_consent_or_permission_missing", 650056: "ms_consent_or_permission_missing",
    700016: "ms_wrong_tenant_or_authority", 90002: "ms_wrong_tenant_or_authority", 90038: "ms_national_cloud_mismatch",
    50049: "ms_national_cloud_mismatch",
    50020: "ms_account_type_or_authority_mismatch", 16000: "ms_account_type_or_authority_mismatch",
    500208: "ms_account_type_or_authority_mismatch", 50194: "ms_account_type_or_authority_mismatch",
    9002332: "ms_account_type_or_authority_mismatch",
    7000218: "ms_client_credential_config", 700025: "ms_client_credential_config", 7000215: "ms_client_credential_config",
    7000222: "ms_client_credential_config", 70002: "ms_client_credential_config", 50011: "ms_client_credential_config",
    50076: "ms_conditional_access_or_mfa", 50079: "ms_conditional_access_or_mfa", 50074: "ms_conditional_access_or_mfa",
    53003: "ms_conditional_access_or_mfa", 530032: "ms_conditional_access_or_mfa", 530035: "ms_conditional_access_or_mfa",
    50158: "ms_conditional_access_or_mfa",
    28000: "ms_mixed_resource_scopes", 700022: "ms_mixed_resource_scopes", 1002012: "ms_client_credentials_scope_format",
    500011: "ms_graph_scope_or_audience",
    70008: "ms_refresh_token_invalid_grant", 700082: "ms_refresh_token_invalid_grant", 50173: "ms_refresh_token_invalid_grant",
    70043: "ms_refresh_token_invalid_grant", 54005: "ms_refresh_token_invalid_grant", 700084: "ms_refresh_token_invalid_grant",
}


def ms_error(code: int, error: str = "invalid_request") -> TokenEvidence:
    description = f"AADSTS{code}: something.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2026-11-29 07:00:00Z"
    return TokenEvidence(provider="microsoft", flow="device_code", error={"error": error, "error_description": description,
                                                                            "error_codes": [code]})


@pytest.mark.parametrize(("code", "finding_id"), sorted(CATALOGUE.items()))
def test_each_aadsts_code_gives_its_catalogue_id(code: int, finding_id: str) -> None:
    findings = explain_token_error(ms_error(code), SETTINGS)
    top = findings[0]
    assert top.id == finding_id and top.confirmed
    assert f"AADSTS{code}" in top.explanation
    assert top.fix and top.owner in (Owner.USER, Owner.TENANT_ADMIN, Owner.APP_REGISTRATION, Owner.CLIENT_CONFIGURATION)
    assert top.evidence[0].value == "invalid_request"


def test_at_least_25_codes_are_explained() -> None:
    assert len(CATALOGUE) >= 25 and set(CATALOGUE) <= set(MS_CODES)


def test_fix_steps_quote_the_users_values() -> None:
    top = explain_token_error(ms_error(65001), SETTINGS)[0]
    joined = " ".join(top.fix)
    assert "https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=11111111-2222-3333-4444-555555555555" in joined
    assert top.owner is Owner.TENANT_ADMIN


def test_code_found_in_the_description_when_error_codes_is_missing() -> None:
    error = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
    token = TokenEvidence(provider="microsoft", error=error)
    assert explain_token_error(token, SETTINGS)[0].id == "ms_client_credential_config"


def test_70011_depends_on_the_flow_and_scopes() -> None:
    app_only = TokenEvidence(provider="microsoft", flow="client_credentials", error={"error": "invalid_scope", "error_codes": [70011]})
    assert explain_token_error(app_only, SETTINGS)[0].id == "ms_client_credentials_scope_format"
    mixed = TokenEvidence(provider="microsoft", flow="device_code", error={"error": "invalid_scope", "error_codes": [70011]},
                          requested_scopes=("https://graph.microsoft.com/User.Read", "https://outlook.office.com/IMAP.AccessAsUser.All"))
    assert explain_token_error(mixed, SETTINGS)[0].id == "ms_mixed_resource_scopes"


def test_90002_also_suggests_a_cloud_mismatch() -> None:
    ids = [f.id for f in explain_token_error(ms_error(90002), SETTINGS)]
    assert ids == ["ms_wrong_tenant_or_authority", "ms_national_cloud_mismatch"]


def test_pending_is_not_a_failure() -> None:
    pending = TokenEvidence(provider="microsoft", error={"error": "authorization_pending", "error_codes": [70016]})
    assert explain_token_error(pending, SETTINGS) == []


@pytest.mark.parametrize(("error", "flow", "finding_id"), [
    ({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, "refresh_token",
     "google_refresh_token_invalid_grant"),
    ({"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens using this method, or "
      "client not authorized for any of the scopes requested."}, "service_account", "google_service_account_without_dwd"),
    ({"error": "admin_policy_enforced"}, "installed_app", "google_admin_policy_blocks_app"),
    ({"error": "access_denied", "error_description": "The app is currently being tested"}, "installed_app",
     "google_testing_user_not_allowed"),
    ({"error": "missing_refresh_fields", "error_description": "The credentials do not contain the necessary fields"}, "refresh_token",
     "google_no_refresh_token_returned"),
])
def test_google_errors(error: dict, flow: str, finding_id: str) -> None:
    token = TokenEvidence(provider="google", flow=flow, error=error)
    assert explain_token_error(token, None)[0].id == finding_id


def test_unknown_error_still_gives_a_finding() -> None:
    token = TokenEvidence(provider="generic", error={"error": "weird_error", "error_description": "odd"})
    top = explain_token_error(token, None)[0]
    assert top.id == "token_endpoint_error" and "odd" in top.explanation


def test_registered_as_a_provider_rule_and_ranked_first_by_the_diagnosis() -> None:
    from mailscope.diagnosis import diagnose

    inp = DiagnosisInput(settings=SETTINGS, evidence=SessionEvidence(), token=ms_error(700016))
    diagnosis = diagnose(inp, provider_rules())
    assert diagnosis.top is not None and diagnosis.top.id == "ms_wrong_tenant_or_authority"


@pytest.mark.parametrize(("code", "words"), [
    (7000218, "Allow public client flows"), (700025, "is a public client: do not send a client secret"),
    (50011, "exact redirect URI"), (7000215, "VALUE (not its Secret ID)"),
])
def test_client_configuration_fix_fits_the_code(code: int, words: str) -> None:
    top = explain_token_error(ms_error(code), SETTINGS)[0]
    assert words in top.fix[0] and "11111111-2222-3333-4444-555555555555" in " ".join(top.fix)
