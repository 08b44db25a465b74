"""The catalogue matches the shared failure-mode ids, every id is named by some rule set, and docs/findings.md is current."""

from __future__ import annotations

from pathlib import Path

from mailscope.diagnosis import docgen
from mailscope.diagnosis.catalogue import CATALOGUE, CATALOGUE_IDS, RULE_HOME

ROOT = Path(__file__).resolve().parents[3]
# The 51 ids of failure-modes.md (§2), in catalogue order: never renamed, never invented for a listed cause.
SHARED_IDS = (
    "basic_auth_mechanism_used_when_disabled", "token_sent_as_password_via_plain", "no_oauth_mechanism_before_starttls",
    "server_lacks_oauth_mechanism", "sasl_ir_not_advertised_or_misused", "pop3_xoauth2_one_line_rejected_exchange",
    "error_challenge_not_acknowledged", "xoauth2_string_malformed", "oauthbearer_payload_wrong_format",
    "ms_graph_scope_or_audience", "ms_bare_scope_defaults_to_graph", "ms_mixed_resource_scopes", "ms_protocol_scope_mismatch",
    "ms_offline_access_missing", "ms_token_expired", "token_expired_mid_session", "ms_user_mismatch_token_vs_login",
    "ms_shared_mailbox_no_fullaccess", "ms_authenticated_but_not_connected", "ms_app_only_missing_role",
    "ms_app_only_service_principal_missing_or_wrong_id", "ms_app_only_mailbox_permission_missing",
    "ms_client_credentials_scope_format", "ms_sendas_denied", "ms_wrong_token_type_or_audience", "ms_national_cloud_mismatch",
    "ms_account_type_or_authority_mismatch", "ms_wrong_tenant_or_authority", "ms_consent_or_permission_missing",
    "ms_client_credential_config", "ms_conditional_access_or_mfa", "ms_refresh_token_invalid_grant", "ms_smtp_auth_disabled",
    "smtp_auth_never_attempted", "ms_imap_pop_disabled", "ms_mailbox_license_or_type", "google_scope_not_full_mail",
    "google_token_expired_or_revoked", "google_refresh_token_invalid_grant", "google_testing_mode_7day_expiry",
    "google_testing_user_not_allowed", "google_admin_policy_blocks_app", "google_user_mismatch",
    "google_service_account_without_dwd", "google_service_account_token_not_impersonating", "google_password_auth_rejected",
    "google_imap_pop_disabled", "google_no_refresh_token_returned", "provider_host_token_mismatch", "wrong_port_or_tls_mode",
    "local_proxy_capability_rewrite",
)


def test_catalogue_ids_are_exactly_the_shared_ones_and_additions_are_marked() -> None:
    assert len(SHARED_IDS) == 51
    assert tuple(SHARED_IDS) == CATALOGUE_IDS
    assert all(CATALOGUE[fid].addition for fid in set(CATALOGUE) - set(SHARED_IDS))


def test_every_id_says_which_rule_set_names_it() -> None:
    assert set(RULE_HOME) == set(CATALOGUE)
    assert all(CATALOGUE[fid].fix or fid == "session_healthy" for fid in CATALOGUE)


def test_every_id_the_token_explainer_can_name_is_catalogued() -> None:
    from providers.explain import EXPLAINERS

    assert set(EXPLAINERS) <= set(CATALOGUE)


def test_docs_findings_md_is_generated_from_the_catalogue() -> None:
    committed = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert committed == docgen.render(), "run: python -m mailscope.diagnosis.docgen > docs/findings.md"
    for fid in CATALOGUE:
        assert f"`{fid}`" in committed


def test_an_entrys_links_are_distinct() -> None:
    """finding() passes an entry's links on as they are when a rule adds none: no duplicate may reach a report."""
    assert [e.id for e in CATALOGUE.values() if len(set(e.links)) != len(e.links)] == []
