"""Table-driven tests of the Microsoft rule plug-in through the whole engine (diagnose + provider_rules()):
a positive case per id (named, and first where the evidence decides) and a near-miss case (id absent);
then the cross-layer ranking, the incremental stages and the exact fix values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.diagnosis.catalogue import RULE_HOME, RULE_SETS
from mailscope.evidence import CommandResult, SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput, Severity
from mailscope.settings import CheckSettings, Mechanism, Protocol
from providers.rules_microsoft import _APP_ROLES, _DELEGATED_SCOPES, _GRAPH_ONLY_PERMISSIONS, _RESERVED, _resource_of, _scope_request
from tests.providers.rule_cases import Case, assert_does_not_name, assert_names, named, run

NOW = 1_800_000_000.0
ALICE, BOB, SHARED = "alice@contoso.com", "bob@contoso.com", "shared@contoso.com"
TID = "a2b8c73a-a4e2-5c5b-b4d0-e20bf64d93e1"
APPID, OID = "661584fc-4d04-5991-a840-c35e0016d37d", "85e155c3-8b2c-56fb-96d6-5cb55572816e"
EXO_GREETING = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgA=]"
EXO_CAPS = ("IMAP4", "IMAP4rev1", "AUTH=PLAIN", "AUTH=XOAUTH2", "SASL-IR", "UIDPLUS", "MOVE", "ID", "UNSELECT", "CHILDREN", "IDLE",
            "NAMESPACE", "LITERAL+")
REJECT = "A1 NO AUTHENTICATE failed."
NOT_CONNECTED = [CommandResult("NAMESPACE", "BAD", "User is authenticated but not connected.", 9)]


def exo(*, settings: CheckSettings | None = None, token: TokenEvidence | None = None, **evidence: object) -> DiagnosisInput:
    base: dict[str, object] = {"host": "outlook.office365.com", "port": 993, "protocol": "imap", "greeting": EXO_GREETING,
                               "greeting_seq": 1, "server_family": "exchange", "capabilities_pre_tls": EXO_CAPS}
    base.update(evidence)
    return DiagnosisInput(settings, SessionEvidence(**base), token, (), NOW)  # type: ignore[arg-type]


def xo(result: str | None = "NO", text: str = REJECT, user: str = ALICE, mech: str = "XOAUTH2") -> dict[str, object]:
    payload = f"<SASL {mech} user={user} ^A auth=Bearer <jwt 1500 chars sha256:00>>" if mech == "XOAUTH2" else f"<SASL PLAIN user={user}>"
    return {"mechanism": mech, "auth_result": result, "auth_text": text,
            "sasl": [SaslExchange(mech, True, payload, result=result, result_text=text, command_seq=5, result_seq=6)]}


def accepted(user: str = ALICE) -> dict[str, object]:
    return {**xo("OK", "A1 OK AUTHENTICATE completed.", user), "commands": NOT_CONNECTED}


def delegated(**claims: object) -> TokenEvidence:
    full: dict[str, object] = {"aud": "https://outlook.office.com", "iss": f"https://sts.windows.net/{TID}/", "ver": "1.0",
                               "scp": "IMAP.AccessAsUser.All", "upn": ALICE, "tid": TID, "appid": APPID, "exp": NOW + 3000}
    full.update(claims)
    full = {k: v for k, v in full.items() if v is not None}
    return TokenEvidence(kind="jwt", shape="jwt", provider="microsoft", flow="device_code", claims=full,
                         expires_at=float(full["exp"]), has_refresh_token=True)  # type: ignore[arg-type]


def app_only(**claims: object) -> TokenEvidence:
    token = delegated(aud="https://outlook.office365.com", scp=None, upn=None, idtyp="app", oid=OID, roles=["IMAP.AccessAsApp"])
    token.claims.update({k: v for k, v in claims.items()})
    token.flow, token.has_refresh_token = "client_credentials", False
    return token


def without_refresh_token() -> TokenEvidence:
    """A raw OAuth client (Jira, scripts) that did not ask for offline_access."""
    token = delegated()
    token.flow, token.source, token.has_refresh_token = "authorization_code", "jira", False
    return token


def static_token() -> TokenEvidence:
    token = delegated()
    token.flow, token.has_refresh_token = "static", False
    return token


def ropc_token() -> TokenEvidence:
    token = delegated()
    token.flow = "password"
    return token


def smtp(reply: str, *, mech: str = "XOAUTH2", commands: list[CommandResult] | None = None, token: TokenEvidence | None = None,
         result: str = "NO") -> DiagnosisInput:
    return exo(host="smtp.office365.com", port=587, protocol="smtp", greeting="220 x.outlook.office365.com Microsoft ESMTP MAIL "
               "Service ready", capabilities_pre_tls=("STARTTLS",), capabilities_post_tls=("AUTH LOGIN XOAUTH2",),
               token=token or delegated(scp="SMTP.Send"), commands=commands or [], **xo(result, reply, mech=mech))


def seed() -> DiagnosisInput:
    """The Jira log of the Atlassian KB, as the log importer hands it over (no settings, no token)."""
    return exo(greeting="* OK The Microsoft Exchange IMAP4 service is ready. [QWxhZGRpbjpvcGVuIHNlc2FtZQ==]",
               client_software="JavaMail", log_facts={"password": "<non-null>", "user": "user_name@atl.onmicrosoft.com"},
               **xo("NO", "IUR1 NO AUTHENTICATE failed.", "user_name@atl.onmicrosoft.com", mech="PLAIN"))


def pop3_two_step(response_length: int) -> DiagnosisInput:
    """Exchange POP3 answers the two-step AUTH XOAUTH2 with its protocol error: a token over 4,096 characters (MailKit #1948)."""
    reply = "-ERR Protocol error. Connection is closed. 10"
    sasl = SaslExchange("XOAUTH2", False, f"<SASL XOAUTH2 user={ALICE} ^A auth=Bearer <jwt 4500 chars sha256:00>>", result="NO",
                        result_text=reply, command_seq=5, result_seq=7, response_length=response_length)
    return exo(protocol="pop3", port=995, token=delegated(scp="POP.AccessAsUser.All"), mechanism="XOAUTH2", auth_result="NO",
               auth_text=reply, sasl=[sasl])


def ms_settings(**changes: object) -> CheckSettings:
    fields: dict[str, object] = {"host": "outlook.office365.com", "port": 993, "user": ALICE, "provider": "microsoft",
                                 "flow": "device_code", "tenant": TID}
    fields.update(changes)
    return CheckSettings(**fields)  # type: ignore[arg-type]


POSITIVE = [
    Case("basic_auth_mechanism_used_when_disabled", seed),
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo(settings=ms_settings(mechanism=Mechanism.PLAIN))),
    Case("basic_auth_mechanism_used_when_disabled", lambda: smtp("535 5.7.139 Authentication unsuccessful, basic authentication is "
                                                                 "disabled. [X]", mech="LOGIN", token=None)),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo(protocol="pop3", port=995, token=delegated(scp="POP.AccessAsUser.All"),
                                                                **xo("NO", "-ERR Protocol error. Connection is closed. 10"))),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo(protocol="pop3", port=995, token=delegated(scp="POP.AccessAsUser.All"),
                                                                **xo(None, ""))),
    Case("ms_graph_scope_or_audience", lambda: exo(token=delegated(aud="https://graph.microsoft.com"), **xo())),
    Case("ms_graph_scope_or_audience", lambda: exo(token=TokenEvidence(kind="opaque", shape="msa-compact", provider="microsoft",
                                                                       granted_scopes=("User.Read", "Mail.Read")), **xo())),
    Case("ms_bare_scope_defaults_to_graph", lambda: exo(settings=ms_settings(scopes=("IMAP.AccessAsUser.All",)),
                                                        token=delegated(aud="https://graph.microsoft.com"), **xo())),
    Case("ms_mixed_resource_scopes", lambda: exo(settings=ms_settings(scopes=("https://outlook.office.com/IMAP.AccessAsUser.All",
                                                                              "https://graph.microsoft.com/User.Read")))),
    Case("ms_protocol_scope_mismatch", lambda: exo(token=delegated(scp="POP.AccessAsUser.All"), **xo())),
    Case("ms_protocol_scope_mismatch", lambda: exo(token=app_only(roles=["POP.AccessAsApp"]), **xo())),
    Case("ms_offline_access_missing", lambda: exo(token=without_refresh_token(), **xo("OK", "A1 OK AUTHENTICATE completed."),
                                                  commands=[CommandResult("EXAMINE", "OK", "EXAMINE completed.", 9)]), first=False),
    Case("ms_token_expired", lambda: exo(token=delegated(exp=NOW - 3600), **xo())),
    Case("ms_user_mismatch_token_vs_login", lambda: exo(token=delegated(upn=BOB), **xo())),
    Case("ms_user_mismatch_token_vs_login", lambda: exo(token=delegated(upn=BOB), **accepted(ALICE))),
    Case("ms_shared_mailbox_no_fullaccess", lambda: exo(token=delegated(), **accepted(SHARED)), first=False),
    Case("ms_authenticated_but_not_connected", lambda: exo(token=delegated(), **accepted()), first=False),
    Case("ms_authenticated_but_not_connected", lambda: exo(**accepted())),
    Case("ms_app_only_missing_role", lambda: exo(token=app_only(roles=[]), **xo())),
    Case("ms_app_only_missing_role", lambda: exo(token=app_only(roles=["Mail.Read"]), **xo())),
    Case("ms_app_only_service_principal_missing_or_wrong_id", lambda: exo(token=app_only(), **xo())),
    Case("ms_app_only_mailbox_permission_missing", lambda: exo(token=app_only(), **accepted())),
    Case("ms_app_only_mailbox_permission_missing", lambda: smtp(
        "430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission.Exception:ConnectionFailedTransientException."
        "MapiExceptionLogonFailed; Cannot open mailbox.", result="OK", token=app_only(roles=["SMTP.SendAsApp"]))),
    Case("ms_client_credentials_scope_format", lambda: exo(settings=ms_settings(
        flow="client_credentials", scopes=("https://outlook.office.com/IMAP.AccessAsUser.All",)))),
    Case("ms_sendas_denied", lambda: smtp("235 2.7.0 Authentication successful", result="OK", commands=[CommandResult(
        "DATA", "NO", "554 5.2.252 SendAsDenied; info@x not allowed to send as noreply@x; STOREDRV.Submission.Exception", 20)])),
    Case("ms_wrong_token_type_or_audience", lambda: exo(token=delegated(aud=APPID, scp=None, nonce="n1"), **xo())),
    Case("ms_national_cloud_mismatch", lambda: exo(host="outlook.office365.us", token=delegated(), **xo())),
    Case("ms_national_cloud_mismatch", lambda: exo(host="127.0.0.1", token=delegated(), **xo(),
                                                   frontend_name="ZQ0PR01CA0010.CHNPR01.prod.partner.outlook.cn")),
    Case("ms_account_type_or_authority_mismatch", lambda: exo(settings=ms_settings(tenant="organizations"),
                                                              token=delegated(tid="9188040d-6c67-4c5b-b112-36a304b66dad"), **xo())),
    Case("ms_wrong_tenant_or_authority", lambda: exo(settings=ms_settings(tenant="0f0f0f0f-0000-4000-8000-000000000000"),
                                                     token=delegated(), **xo())),
    Case("ms_conditional_access_or_mfa", lambda: smtp("535 5.7.139 Authentication unsuccessful, the request did not meet the "
                                                      "criteria to be authenticated successfully. Contact your administrator.")),
    Case("ms_conditional_access_or_mfa", lambda: exo(settings=ms_settings(flow="password"), token=ropc_token(), mechanism="XOAUTH2"),
         first=False),
    Case("ms_smtp_auth_disabled", lambda: smtp("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
                                               "the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.")),
    Case("smtp_auth_never_attempted", lambda: exo(host="smtp.office365.com", protocol="smtp", commands=[CommandResult(
        "MAIL", "NO", "530 5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]", 7)])),
    Case("ms_imap_pop_disabled", lambda: exo(token=delegated(), **accepted())),
    Case("ms_imap_pop_disabled", lambda: exo(token=delegated(), **xo()), first=False),
    Case("ms_mailbox_license_or_type", lambda: exo(token=delegated(), **accepted()), first=False),
    Case("auth_line_too_long", lambda: pop3_two_step(6000)),
]

NEAR_MISS = [
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo(token=delegated(), **xo())),
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo(
        host="imap.gmail.com", server_family="gmail", greeting="* OK Gimap ready", **xo(mech="PLAIN"))),
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo(host="mail.contoso.local", **xo("OK", "A1 OK AUTHENTICATE completed.",
                                                                                                 mech="PLAIN"))),
    Case("ms_conditional_access_or_mfa", lambda: exo(settings=ms_settings(flow="password"), **xo(mech="PLAIN"))),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo(
        protocol="pop3", token=delegated(scp="POP.AccessAsUser.All"),
        **xo("NO", "-ERR Authentication failure: unknown user name or bad password."))),
    Case("ms_graph_scope_or_audience", lambda: exo(token=delegated(), **xo())),
    Case("ms_bare_scope_defaults_to_graph", lambda: exo(settings=ms_settings(scopes=("https://outlook.office.com/IMAP.AccessAsUser.All",)),
                                                        token=delegated(), **xo())),
    Case("ms_mixed_resource_scopes", lambda: exo(settings=ms_settings(scopes=("https://outlook.office.com/IMAP.AccessAsUser.All",
                                                                              "offline_access")))),
    Case("ms_protocol_scope_mismatch", lambda: exo(token=delegated(scp="IMAP.AccessAsUser.All POP.AccessAsUser.All"), **xo())),
    Case("ms_offline_access_missing", lambda: exo(token=app_only(), **xo("OK", "A1 OK"))),
    Case("ms_offline_access_missing", lambda: exo(token=delegated(), **xo("OK", "A1 OK"))),
    Case("ms_offline_access_missing", lambda: exo(token=static_token(), **xo("OK", "A1 OK"))),
    Case("ms_token_expired", lambda: exo(token=delegated(exp=NOW + 600), **xo())),
    Case("ms_user_mismatch_token_vs_login", lambda: exo(token=delegated(upn="Alice@Contoso.com"), **xo())),
    Case("ms_shared_mailbox_no_fullaccess", lambda: exo(token=delegated(), **accepted(ALICE))),
    Case("ms_authenticated_but_not_connected", lambda: exo(token=delegated(), **xo("OK", "A1 OK AUTHENTICATE completed."),
                                                           commands=[CommandResult("EXAMINE", "OK", "EXAMINE completed.", 9)])),
    Case("ms_app_only_missing_role", lambda: exo(token=app_only(), **xo())),
    Case("ms_app_only_service_principal_missing_or_wrong_id", lambda: exo(token=app_only(roles=[]), **xo())),
    Case("ms_app_only_mailbox_permission_missing", lambda: exo(token=delegated(), **accepted())),
    Case("ms_client_credentials_scope_format", lambda: exo(settings=ms_settings(
        flow="client_credentials", scopes=("https://outlook.office365.com/.default",)))),
    Case("ms_sendas_denied", lambda: smtp("235 2.7.0 Authentication successful", result="OK",
                                          commands=[CommandResult("DATA", "OK", "250 2.0.0 OK queued", 20)])),
    Case("ms_wrong_token_type_or_audience", lambda: exo(token=delegated(aud="00000002-0000-0ff1-ce00-000000000000"), **xo())),
    Case("ms_national_cloud_mismatch", lambda: exo(token=delegated(), **xo())),
    Case("ms_account_type_or_authority_mismatch", lambda: exo(settings=ms_settings(tenant="consumers"),
                                                              token=delegated(tid="9188040d-6c67-4c5b-b112-36a304b66dad"), **xo())),
    Case("ms_wrong_tenant_or_authority", lambda: exo(settings=ms_settings(), token=delegated(), **xo())),
    Case("ms_conditional_access_or_mfa", lambda: smtp("535 5.7.3 Authentication unsuccessful [SN2PR00CA0018]")),
    Case("ms_smtp_auth_disabled", lambda: smtp("535 5.7.3 Authentication unsuccessful [SN2PR00CA0018]")),
    Case("smtp_auth_never_attempted", lambda: smtp("535 5.7.3 Authentication unsuccessful [SN2PR00CA0018]")),
    Case("ms_imap_pop_disabled", lambda: exo(token=delegated(aud="https://graph.microsoft.com"), **xo())),
    Case("ms_mailbox_license_or_type", lambda: exo(token=delegated(scp="POP.AccessAsUser.All"), **xo())),
    Case("auth_line_too_long", lambda: pop3_two_step(2000)),
]


@pytest.mark.parametrize("case", POSITIVE, ids=lambda c: c.finding_id)
def test_positive_case_names_the_id(case: Case) -> None:
    assert_names(case)


@pytest.mark.parametrize("case", NEAR_MISS, ids=lambda c: c.finding_id)
def test_near_miss_does_not_name_the_id(case: Case) -> None:
    assert_does_not_name(case)


def test_every_microsoft_id_has_a_positive_and_a_near_miss_case() -> None:
    ours = {fid for fid, homes in RULE_HOME.items() if RULE_SETS["microsoft"] in homes}
    assert ours <= {c.finding_id for c in POSITIVE}
    assert ours <= {c.finding_id for c in NEAR_MISS}


def test_seed_fix_names_xoauth2_the_javamail_property_and_the_scopes() -> None:
    top = run(seed()).top
    assert top is not None and top.id == "basic_auth_mechanism_used_when_disabled" and top.confirmed
    fix = "\n".join(top.fix)
    for value in ("mail.imaps.auth.mechanisms=XOAUTH2", "https://outlook.office.com/IMAP.AccessAsUser.All",
                  "https://outlook.office.com/POP.AccessAsUser.All", "offline_access"):
        assert value in fix
    assert "google" not in fix.lower()  # fixes for the provider at hand only (issue 12): this is an Exchange session
    assert "password=<non-null>" in top.explanation and "XOAUTH2" in top.explanation
    assert {e.name for e in top.evidence} >= {"capabilities", "password", "host", "server reply"}
    assert 6 in top.cited_lines


def test_password_mechanism_in_the_settings_is_predicted_once_capabilities_are_known() -> None:
    top = run(exo(settings=ms_settings(mechanism=Mechanism.PLAIN))).top
    assert top is not None and top.id == "basic_auth_mechanism_used_when_disabled" and not top.confirmed
    assert "is set to authenticate with PLAIN" in top.explanation and "has not answered yet" in top.explanation


def test_graph_audience_ranks_first_and_a_user_mismatch_follows() -> None:
    d = run(exo(token=delegated(aud="https://graph.microsoft.com", upn=BOB), **xo()))
    ids = [f.id for f in d.findings]
    assert ids[0] == "ms_graph_scope_or_audience" and "ms_user_mismatch_token_vs_login" in ids
    assert d.top is not None and d.top.confirmed
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in " ".join(d.top.fix)
    assert any(e.name == "aud" and e.value == "https://graph.microsoft.com" for e in d.top.evidence)


def test_exchange_findings_fill_in_as_the_session_progresses() -> None:
    caps_only = run(exo())
    assert not [f for f in caps_only.findings if f.severity is Severity.ERROR]
    token_known = run(exo(token=delegated(aud="https://graph.microsoft.com"), mechanism="XOAUTH2"))
    predicted = token_known.top
    assert predicted is not None and predicted.id == "ms_graph_scope_or_audience" and not predicted.confirmed
    assert "has not answered yet" in predicted.explanation
    answered = run(exo(token=delegated(aud="https://graph.microsoft.com"), **xo())).top
    assert answered is not None and answered.confirmed and answered.score > predicted.score and 6 in answered.cited_lines


def test_opaque_token_without_scope_gives_ranked_unconfirmed_candidates_and_says_why() -> None:
    d = run(exo(token=TokenEvidence(kind="opaque", shape="msa-compact", provider="microsoft"), **xo()))
    assert d.findings and not any(f.confirmed for f in d.findings)
    assert d.findings[0].id == "ms_graph_scope_or_audience"
    assert "could not be inspected" in d.findings[0].explanation
    checks = {c.name: c for c in d.checks}
    assert not checks["token claims"].done and not checks["scope for imap"].done


def test_fix_values_follow_protocol_cloud_and_flow() -> None:
    pop = run(exo(protocol="pop3", token=delegated(aud="https://graph.microsoft.com"), **xo())).top
    assert pop is not None and "https://outlook.office.com/POP.AccessAsUser.All" in " ".join(pop.fix)
    gcc = run(exo(host="outlook.office365.us", token=delegated(aud="https://graph.microsoft.com"), **xo())).top
    assert gcc is not None and "https://outlook.office365.us/IMAP.AccessAsUser.All" in " ".join(gcc.fix)
    cloud = named(run(exo(host="outlook.office365.us", token=delegated(), **xo())), "ms_national_cloud_mismatch")
    assert "https://login.microsoftonline.us/" in " ".join(cloud.fix)
    sp = named(run(exo(token=app_only(), **xo())), "ms_app_only_service_principal_missing_or_wrong_id")
    assert f"New-ServicePrincipal -AppId {APPID} -ObjectId {OID}" in sp.fix
    perm = named(run(exo(token=app_only(), **accepted())), "ms_app_only_mailbox_permission_missing")
    assert f"Add-MailboxPermission -Identity {ALICE} -User {OID} -AccessRights FullAccess" in perm.fix
    shared = named(run(exo(token=delegated(), **accepted(SHARED))), "ms_shared_mailbox_no_fullaccess")
    assert f"Add-MailboxPermission -Identity {SHARED} -User {ALICE} -AccessRights FullAccess" in shared.fix
    disabled = named(run(exo(token=delegated(), **accepted())), "ms_imap_pop_disabled")
    assert f"Set-CASMailbox -Identity {ALICE} -ImapEnabled $true" in disabled.fix
    role = named(run(exo(token=app_only(roles=[]), **xo())), "ms_app_only_missing_role")
    assert "IMAP.AccessAsApp" in " ".join(role.fix) and "Office 365 Exchange Online" in " ".join(role.fix)


def test_not_connected_says_the_token_is_valid_and_stops_blaming_scopes() -> None:
    d = run(exo(token=delegated(), **accepted()))
    assert [f.id for f in d.findings][:2] == ["ms_imap_pop_disabled", "ms_authenticated_but_not_connected"]
    assert not d.findings[0].confirmed and "rules out a user mismatch" in d.findings[0].explanation
    top = d.findings[1]
    assert top.confirmed and "token is valid" in top.explanation
    assert not {"ms_graph_scope_or_audience", "ms_protocol_scope_mismatch", "ms_token_expired"} & {f.id for f in d.findings}
    assert 9 in top.cited_lines


def test_a_failed_token_request_ranks_the_explained_aadsts_error_first() -> None:
    token = TokenEvidence(kind="none", provider="microsoft", flow="device_code", error={
        "error": "invalid_grant", "error_codes": [65001], "error_description": "AADSTS65001: The user or administrator has not consented"})
    d = run(DiagnosisInput(ms_settings(protocol=Protocol.IMAP), SessionEvidence(host="outlook.office365.com"), token, (), NOW))
    assert d.top is not None and d.top.id == "ms_consent_or_permission_missing"


@pytest.mark.parametrize(("logged", "host", "expected"), [
    ("AADSTS65001: The user or administrator has not consented to use the application", "outlook.office365.com",
     "ms_consent_or_permission_missing"),
    ("AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication",
     "outlook.office365.com", "ms_conditional_access_or_mfa"),
    ("invalid_grant: Token has been expired or revoked.", "imap.gmail.com", "google_refresh_token_invalid_grant"),
])
def test_token_errors_quoted_in_an_imported_log_are_explained_first(logged: str, host: str, expected: str) -> None:
    d = run(DiagnosisInput(None, SessionEvidence(host=host, token_endpoint_errors=[logged]), None, (), NOW))
    assert d.top is not None and d.top.id == expected and d.top.confirmed
    assert any(e.name == "token endpoint error" and e.value == logged for e in d.top.evidence)


def test_imported_log_without_a_token_gets_ranked_candidates_that_say_what_would_decide() -> None:
    reply = "535 5.7.3 Authentication unsuccessful [AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM]"
    d = run(exo(host="smtp.office365.com", port=587, protocol="smtp", capabilities_pre_tls=("STARTTLS",),
                capabilities_post_tls=("AUTH=LOGIN", "AUTH=XOAUTH2"), **xo("NO", reply)))
    ids = [f.id for f in d.findings]
    assert ids[:4] == ["ms_graph_scope_or_audience", "ms_protocol_scope_mismatch", "ms_token_expired", "ms_user_mismatch_token_vs_login"]
    assert not any(f.confirmed for f in d.findings)
    assert "no token is known here" in d.findings[0].explanation and "would decide" in d.findings[0].explanation
    assert "https://outlook.office.com/SMTP.Send" in " ".join(d.findings[0].fix)


def test_a_specific_exchange_text_gets_no_generic_token_candidates() -> None:
    reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
    d = run(exo(host="smtp.office365.com", port=587, protocol="smtp", **xo("NO", reply)))
    assert [f.id for f in d.findings] == ["ms_smtp_auth_disabled"]


SCOPE_WORDS = ["IMAP.AccessAsUser.All", "https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office365.com/.default",
               "offline_access", "openid", "Mail.Read", "https://graph.microsoft.com/Mail.Read", "SMTP.SendAsApp", "User.Read",
               "https://graph.microsoft.com/.default", "api://app/.default", "POP.AccessAsUser.All"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SCOPE_WORDS), st.text(max_size=20)), max_size=5))
def test_a_scope_list_read_once_reads_as_each_session_read_it(scopes: list[str]) -> None:
    """The settings rule's reading of the requested scopes is kept per distinct list (an audit's mailboxes share one): it
    must equal the reading each session made for itself."""
    requested = [s for s in scopes if s not in _RESERVED]
    for _ in range(2):  # the second answer comes from memory
        read = _scope_request(tuple(scopes))
        assert list(read.requested) == requested
        assert list(read.bare) == [s for s in scopes if "://" not in s and (s.lower() in _DELEGATED_SCOPES or s.lower() in _APP_ROLES)]
        assert read.resources == {_resource_of(s) or "https://graph.microsoft.com" for s in requested}
        assert list(read.graph) == [s for s in scopes if "graph.microsoft" in s or (s.lower() in _GRAPH_ONLY_PERMISSIONS)]
        assert read.all_default == all(s.endswith("/.default") for s in requested)
