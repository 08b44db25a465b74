"""Table-driven tests of the provider-neutral rules: for each finding id a positive case (the id is named, and
first where the evidence leaves no doubt) and a near-miss negative case (similar evidence, id absent).
The engine runs alone here: no provider plug-ins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mailscope.diagnosis import diagnose
from mailscope.diagnosis.catalogue import RULE_HOME, RULE_SETS
from mailscope.evidence import CommandResult, Fault, FaultKind, SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import Diagnosis, DiagnosisInput, Severity
from mailscope.sasl import DEFECTS
from mailscope.settings import CheckSettings, Mechanism, Security

NOW = 1_800_000_000.0
GENERIC_CAPS = ("IMAP4rev1", "AUTH=PLAIN", "AUTH=XOAUTH2", "SASL-IR", "IDLE")
GMAIL_JSON = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
DOVECOT_JSON = {"status": "401", "schemes": "bearer", "scope": "mail"}
PASSWORD_BEARER = DEFECTS["bearer_is_password"]
PROXY_SAID = "Retrying login due to exception while decrypting OAuth 2.0 credentials for alice (invalid password): InvalidToken()"


def make(*, settings: CheckSettings | None = None, token: TokenEvidence | None = None, **evidence: object) -> DiagnosisInput:
    base: dict[str, object] = {"host": "mail.example.net", "port": 993, "protocol": "imap", "capabilities_pre_tls": GENERIC_CAPS}
    base.update(evidence)
    return DiagnosisInput(settings, SessionEvidence(**base), token, (), NOW)  # type: ignore[arg-type]


def jwt(provider: str = "generic", **claims: object) -> TokenEvidence:
    full = {"aud": "mail", "sub": "alice", "exp": NOW + 3000, **claims}
    return TokenEvidence(kind="jwt", shape="jwt", provider=provider, claims=full, expires_at=float(full["exp"]))  # type: ignore[arg-type]


def sasl(mech: str = "XOAUTH2", result: str | None = "NO", text: str = "A1 NO authentication failed", **kw: object) -> list[SaslExchange]:
    return [SaslExchange(mech, kw.pop("sasl_ir", True), client_payload=f"<SASL {mech} user=alice@example.net ^A auth=Bearer "  # type: ignore[arg-type]
                         "<jwt 900 chars sha256:00>>", result=result, result_text=text, command_seq=5, result_seq=6, **kw)]


def healthy(**kw: object) -> DiagnosisInput:
    return make(mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK authenticated"), auth_result="OK",
                commands=[CommandResult("EXAMINE", "OK", "[READ-ONLY] EXAMINE completed.", 8)], **kw)


@dataclass(frozen=True)
class Case:
    finding_id: str
    build: Callable[[], DiagnosisInput]
    first: bool = True  # the id must rank first (positive cases)


POSITIVE = [
    Case("token_sent_as_password_via_plain", lambda: make(mechanism="PLAIN", sasl=sasl("PLAIN"), token=jwt())),
    Case("no_oauth_mechanism_before_starttls", lambda: make(
        port=143, capabilities_pre_tls=("IMAP4", "IMAP4rev1", "LOGINDISABLED", "STARTTLS", "IDLE"),
        fault=Fault(FaultKind.NO_USABLE_MECHANISM, "no AUTH= at all", "AUTHENTICATE", 4))),
    Case("server_lacks_oauth_mechanism", lambda: make(capabilities_pre_tls=("IMAP4rev1", "AUTH=PLAIN", "AUTH=LOGIN"), token=jwt(),
                                                      fault=Fault(FaultKind.NO_USABLE_MECHANISM, "no OAuth mechanism", "AUTHENTICATE"))),
    Case("local_proxy_capability_rewrite", lambda: make(host="localhost", port=1993, capabilities_pre_tls=("IMAP4rev1", "AUTH=PLAIN"),
                                                        mechanism="XOAUTH2", sasl=sasl(result="NO"), token=jwt())),
    Case("sasl_ir_not_advertised_or_misused", lambda: make(capabilities_pre_tls=("IMAP4rev1", "AUTH=XOAUTH2"), mechanism="XOAUTH2",
                                                           sasl=sasl(result="BAD", text="A1 BAD Syntax error"), token=jwt())),
    Case("error_challenge_not_acknowledged", lambda: make(
        server_family="gmail", mechanism="XOAUTH2", sasl=sasl(result=None, text="", challenge_json=[GMAIL_JSON]),
        fault=Fault(FaultKind.SERVER_SILENT, "no answer within 10 s", "AUTHENTICATE", 7))),
    Case("error_challenge_not_acknowledged", lambda: make(
        mechanism="XOAUTH2", sasl=sasl(result="BAD", text="A1 BAD Client aborted AUTHENTICATE command. x1"))),
    Case("xoauth2_string_malformed", lambda: make(
        mechanism="XOAUTH2",
        sasl=sasl(text="A1 NO Invalid SASL argument. q1", defects=["no ^A (\\x01) separators between user= and auth="]))),
    Case("xoauth2_string_malformed", lambda: make(
        mechanism="XOAUTH2", sasl=sasl(text="A1 NO Invalid SASL argument. q1"))),
    Case("oauthbearer_payload_wrong_format", lambda: make(
        mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER", result="BAD", text="A002 BAD Invalid SASL argument. i29mb"))),
    Case("oauthbearer_payload_wrong_format", lambda: make(
        mechanism="OAUTHBEARER",
        sasl=sasl("OAUTHBEARER", defects=["XOAUTH2-style payload sent with OAUTHBEARER (no GS2 header 'n,a=…,')"]))),
    Case("token_expired_mid_session", lambda: make(
        mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK AUTHENTICATE completed."), auth_result="OK",
        untagged_bye="* BYE Session invalidated - AccessTokenExpired", bye_seq=40,
        fault=Fault(FaultKind.CLOSED_MID_COMMAND, "closed during LIST", "LIST", 41))),
    Case("provider_host_token_mismatch", lambda: make(
        server_family="gmail", greeting="* OK Gimap ready for requests from 192.0.2.1 x1", greeting_seq=1, mechanism="XOAUTH2",
        sasl=sasl(text="A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"), token=jwt("microsoft"))),
    Case("wrong_port_or_tls_mode", lambda: make(fault=Fault(FaultKind.TLS_HANDSHAKE, "[SSL: WRONG_VERSION_NUMBER] wrong version number",
                                                            "connect"))),
    Case("wrong_port_or_tls_mode", lambda: make(fault=Fault(FaultKind.TLS_ON_PLAIN_PORT, "TLS spoken to a plain-text port", "connect"))),
    Case("wrong_port_or_tls_mode", lambda: make(settings=CheckSettings("mail.example.net", 993, Security.STARTTLS))),
    Case("session_healthy", healthy),
    Case("session_healthy", lambda: make(protocol="smtp", mechanism="XOAUTH2", auth_result="235",
                                         auth_text="235 2.7.0 Authentication successful")),
    Case("token_expires_soon", lambda: healthy(token=jwt(exp=NOW + 120)), first=False),
    Case("token_not_yet_valid", lambda: healthy(token=jwt(nbf=NOW + 3600, exp=NOW + 7200)), first=False),
    Case("sasl_ir_not_advertised_or_misused", lambda: healthy(capabilities_pre_tls=("IMAP4rev1", "AUTH=XOAUTH2")), first=False),
    Case("auth_refused_cause_unknown", lambda: make(server_family="dovecot", mechanism="XOAUTH2", sasl=sasl())),
    Case("token_acquisition_failed", lambda: make(
        token=TokenEvidence(kind="none", provider="generic", error={"error": "server_error"}),
        fault=Fault(FaultKind.TOKEN_ACQUISITION, "server_error", "token"))),
    Case("password_sent_as_bearer", lambda: make(mechanism="XOAUTH2", sasl=sasl(defects=[PASSWORD_BEARER]))),
    Case("token_expired", lambda: make(mechanism="XOAUTH2", sasl=sasl(challenge_json=[DOVECOT_JSON]), token=jwt(exp=NOW - 600))),
    Case("token_user_mismatch", lambda: make(mechanism="XOAUTH2", sasl=sasl(), token=jwt(preferred_username="bob@example.net"))),
    Case("token_scope_missing", lambda: make(mechanism="XOAUTH2", sasl=sasl(challenge_json=[DOVECOT_JSON]),
                                             token=jwt(scope="openid email"))),
    Case("oauth_request_invalid", lambda: make(mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER", challenge_json=[
        {"status": "invalid_request"}]))),
    Case("mechanism_setting_ignored", lambda: make(mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER"),
                                                   log_facts={"mechanism_configured": "XOAUTH2"})),
    Case("mechanism_setting_ignored", lambda: make(settings=CheckSettings("mail.example.net", 993, mechanism=Mechanism.XOAUTH2),
                                                   mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER"))),
    Case("auth_line_too_long", lambda: make(protocol="smtp", port=465, mechanism="XOAUTH2", sasl=sasl(
        text="555 5.5.2 Syntax error, goodbye. x1 - gsmtp", response_length=1400))),
    Case("auth_line_too_long", lambda: make(protocol="smtp", port=465, commands=[CommandResult(
        "?", "NO", "555 5.5.2 Syntax error, goodbye. x1 - gsmtp", 3)]), first=False),  # a fragment: undecided, still named
    Case("oauth_proxy_password_mismatch", lambda: make(
        host="localhost", port=1993, capabilities_pre_tls=("IMAP4rev1", "AUTH=PLAIN"), mechanism="LOGIN", login_used=True,
        auth_result="OK", auth_text="A2 OK LOGIN completed", exceptions=[PROXY_SAID],
        commands=[CommandResult("SELECT", "BAD", "User is authenticated but not connected.", 9)])),
    *(Case(fid, lambda kind=kind: make(fault=Fault(kind, "detail", "connect", 2))) for kind, fid in (
        (FaultKind.DNS, "dns_failure"), (FaultKind.REFUSED, "connection_refused"), (FaultKind.CONNECT_TIMEOUT, "connect_timeout"),
        (FaultKind.TLS_VERIFY, "tls_verification_failed"), (FaultKind.TLS_HANDSHAKE, "tls_handshake_failed"),
        (FaultKind.BYE_GREETING, "server_refused_connection"), (FaultKind.UNEXPECTED_GREETING, "server_refused_connection"),
        (FaultKind.CLOSED_MID_COMMAND, "connection_closed_by_server"), (FaultKind.SERVER_SILENT, "server_silent"),
        (FaultKind.PROTOCOL_ERROR, "protocol_error"), (FaultKind.STARTTLS_REFUSED, "starttls_refused"),
        (FaultKind.SETTINGS, "settings_invalid"), (FaultKind.CLIENT_PARSER, "client_parser_error"))),
]

NEAR_MISS = [
    Case("client_parser_error", lambda: make(fault=Fault(FaultKind.CLOSED_MID_COMMAND, "the server closed the connection", "LIST", 9))),
    Case("token_sent_as_password_via_plain", lambda: make(mechanism="PLAIN", sasl=sasl("PLAIN"),
                                                          token=TokenEvidence(kind="password", shape="password"))),
    Case("token_sent_as_password_via_plain", lambda: make(mechanism="PLAIN", sasl=sasl("PLAIN", result="OK", text="A1 OK"), token=jwt())),
    Case("no_oauth_mechanism_before_starttls", lambda: make(
        port=143, capabilities_pre_tls=("IMAP4rev1", "LOGINDISABLED", "STARTTLS"), capabilities_post_tls=GENERIC_CAPS,
        mechanism="XOAUTH2", sasl=sasl())),
    Case("no_oauth_mechanism_before_starttls", lambda: make(port=143, capabilities_pre_tls=("IMAP4rev1", "LOGINDISABLED", "STARTTLS"))),
    Case("no_oauth_mechanism_before_starttls", lambda: make(
        security="tls", capabilities_pre_tls=("IMAP4rev1", "IDLE"),
        fault=Fault(FaultKind.NO_USABLE_MECHANISM, "no AUTH=", "AUTHENTICATE"))),
    Case("server_lacks_oauth_mechanism", lambda: make(capabilities_pre_tls=("IMAP4rev1", "AUTH=PLAIN", "AUTH=OAUTHBEARER"), token=jwt())),
    Case("server_lacks_oauth_mechanism", lambda: make(protocol="smtp", capabilities_post_tls=("SMTPUTF8",), mechanism="LOGIN")),
    Case("local_proxy_capability_rewrite", lambda: make(capabilities_pre_tls=("IMAP4rev1", "AUTH=PLAIN"), mechanism="XOAUTH2",
                                                        sasl=sasl(), token=jwt())),
    Case("sasl_ir_not_advertised_or_misused", lambda: make(mechanism="XOAUTH2", sasl=sasl(result="BAD"), token=jwt())),
    Case("sasl_ir_not_advertised_or_misused", lambda: make(capabilities_pre_tls=("IMAP4rev1", "AUTH=XOAUTH2"), mechanism="XOAUTH2",
                                                           sasl=sasl(sasl_ir=False))),
    Case("error_challenge_not_acknowledged", lambda: make(
        server_family="gmail", mechanism="XOAUTH2",
        sasl=sasl(text="A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", challenge_json=[GMAIL_JSON]))),
    Case("xoauth2_string_malformed", lambda: make(
        mechanism="XOAUTH2", sasl=sasl(defects=["'bearer' in lower case (Exchange accepts it; Gmail documents 'Bearer')"]))),
    Case("xoauth2_string_malformed", lambda: make(mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER", text="A1 BAD Invalid SASL argument."))),
    Case("oauthbearer_payload_wrong_format", lambda: make(mechanism="XOAUTH2", sasl=sasl(text="A1 NO Invalid SASL argument."))),
    Case("token_expired_mid_session", lambda: make(mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK"), auth_result="OK",
                                                   untagged_bye="* BYE Connection closed. 14", bye_seq=9)),
    Case("provider_host_token_mismatch", lambda: make(server_family="gmail", mechanism="XOAUTH2", sasl=sasl(),
                                                      token=TokenEvidence(kind="opaque", shape="google-ya29", provider="google"))),
    Case("wrong_port_or_tls_mode", lambda: make(settings=CheckSettings("mail.example.net", 993, Security.TLS))),
    Case("wrong_port_or_tls_mode", lambda: make(fault=Fault(FaultKind.TLS_HANDSHAKE, "handshake failure: no shared cipher", "connect"))),
    Case("session_healthy", lambda: make(mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK"), auth_result="OK",
                                         commands=[CommandResult("NAMESPACE", "BAD", "User is authenticated but not connected.", 8)])),
    Case("session_healthy", lambda: make(mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK"), auth_result="OK")),
    Case("token_expires_soon", lambda: healthy(token=jwt(exp=NOW + 3600))),
    Case("token_not_yet_valid", lambda: healthy(token=jwt(nbf=NOW + 120, exp=NOW + 3720))),  # within the 5 min skew allowed
    Case("auth_refused_cause_unknown", lambda: make(mechanism="XOAUTH2", sasl=sasl(text="A1 NO Invalid SASL argument."))),
    Case("password_sent_as_bearer", lambda: make(mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK", defects=[PASSWORD_BEARER]),
                                                 auth_result="OK")),
    Case("password_sent_as_bearer", lambda: make(mechanism="XOAUTH2", sasl=sasl(defects=["the token contains spaces or line breaks"]))),
    Case("token_expired", lambda: make(mechanism="XOAUTH2", sasl=sasl(), token=jwt(exp=NOW + 600))),
    Case("token_expired", lambda: make(server_family="exchange", mechanism="XOAUTH2", sasl=sasl(), token=jwt(exp=NOW - 600))),
    Case("token_user_mismatch", lambda: make(mechanism="XOAUTH2", sasl=sasl(), token=jwt(preferred_username="Alice@Example.net"))),
    Case("token_scope_missing", lambda: make(mechanism="XOAUTH2", sasl=sasl(challenge_json=[DOVECOT_JSON]),
                                             token=jwt(scope="openid mail"))),
    Case("oauth_request_invalid", lambda: make(mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER", challenge_json=[
        {"status": "invalid_token"}]))),
    Case("mechanism_setting_ignored", lambda: make(mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER"),
                                                   log_facts={"mechanism_configured": "OAUTHBEARER XOAUTH2"})),
    Case("mechanism_setting_ignored", lambda: make(settings=CheckSettings("mail.example.net", 993, mechanism=Mechanism.AUTO),
                                                   mechanism="OAUTHBEARER", sasl=sasl("OAUTHBEARER"))),
    Case("auth_line_too_long", lambda: make(protocol="smtp", port=465, mechanism="XOAUTH2", sasl=sasl(
        text="555 5.5.2 Syntax error, goodbye. x1 - gsmtp", response_length=300))),
    Case("auth_line_too_long", lambda: make(protocol="smtp", port=465, mechanism="XOAUTH2", sasl=sasl(
        text="555 5.5.2 Syntax error, goodbye. x1 - gsmtp", response_length=1400, sasl_ir=False))),
    Case("oauth_proxy_password_mismatch", lambda: make(
        mechanism="LOGIN", login_used=True, auth_result="OK", auth_text="A2 OK LOGIN completed",
        commands=[CommandResult("SELECT", "BAD", "User is authenticated but not connected.", 9)])),
    Case("connection_closed_by_server", lambda: make(
        mechanism="XOAUTH2", sasl=sasl(result="OK", text="A1 OK"), auth_result="OK",
        untagged_bye="* BYE Session invalidated - AccessTokenExpired", fault=Fault(FaultKind.CLOSED_MID_COMMAND, "closed", "LIST"))),
]


def run(case: Case) -> Diagnosis:
    return diagnose(case.build())


@pytest.mark.parametrize("case", POSITIVE, ids=lambda c: c.finding_id)
def test_positive_case_names_the_id(case: Case) -> None:
    diagnosis = run(case)
    ids = [f.id for f in diagnosis.findings]
    assert case.finding_id in ids, ids
    if case.first:
        assert ids[0] == case.finding_id, ids


@pytest.mark.parametrize("case", NEAR_MISS, ids=lambda c: c.finding_id)
def test_near_miss_does_not_name_the_id(case: Case) -> None:
    assert case.finding_id not in [f.id for f in run(case).findings]


def test_every_engine_id_has_a_positive_and_a_near_miss_case() -> None:
    engine_ids = {fid for fid, homes in RULE_HOME.items() if RULE_SETS["engine"] in homes or RULE_SETS["ranking"] in homes}
    assert engine_ids <= {c.finding_id for c in POSITIVE}
    catalogue_engine_ids = {fid for fid in engine_ids if not fid.startswith(("dns", "connect", "tls_", "server_", "protocol",
                                                                              "starttls", "settings", "token_a"))}
    assert catalogue_engine_ids - {"session_healthy"} <= {c.finding_id for c in NEAR_MISS} | {"session_healthy"}


def test_malformed_string_names_the_decoded_defect_and_the_fix() -> None:
    d = diagnose(make(mechanism="XOAUTH2", sasl=sasl(text="A1 NO Invalid SASL argument. q1", defects=[
        "the raw access token was sent as the SASL argument, not wrapped in user=…^Aauth=Bearer …^A^A"])))
    top = d.top
    assert top is not None and top.confirmed
    assert "raw access token" in top.explanation
    assert any("Wrap the token" in step for step in top.fix)
    assert 5 in top.cited_lines and 6 in top.cited_lines


def test_empty_user_defect_gets_a_fix_naming_the_user_setting() -> None:
    settings = CheckSettings("mail.example.net", 993, user="alice@example.net")
    refused = sasl(text="A1 NO Invalid SASL argument.", defects=["user= is empty"])
    top = diagnose(make(settings=settings, mechanism="XOAUTH2", sasl=refused)).top
    assert top is not None and top.id == "xoauth2_string_malformed"
    assert "Put the mailbox address in user= (settings: user alice@example.net)." in top.fix


def test_malformed_string_is_predicted_before_the_server_answers_then_confirmed() -> None:
    defect = ["does not end with ^A^A (\\x01\\x01)"]
    before = diagnose(make(mechanism="XOAUTH2", sasl=sasl(result=None, text="", defects=defect)))
    after = diagnose(make(mechanism="XOAUTH2", sasl=sasl(text="A1 NO Invalid SASL argument.", defects=defect)))
    assert before.top is not None and before.top.id == "xoauth2_string_malformed" and not before.top.confirmed
    assert "has not answered yet" in before.top.explanation
    assert after.top is not None and after.top.confirmed and after.top.score > before.top.score


def test_healthy_session_is_an_explicit_info_result_with_warnings_after_it() -> None:
    d = diagnose(healthy(token=jwt(exp=NOW + 100), capabilities_pre_tls=("IMAP4rev1", "AUTH=XOAUTH2")))
    assert d.summary == "authenticated and mailbox reachable"
    assert d.findings[0].id == "session_healthy" and d.findings[0].severity is Severity.INFO
    assert {f.id for f in d.findings[1:]} == {"token_expires_soon", "sasl_ir_not_advertised_or_misused"}
    assert all(f.severity is Severity.WARNING for f in d.findings[1:])


def test_plain_security_to_a_remote_host_is_flagged_before_connecting() -> None:
    settings = CheckSettings("mail.example.net", 143, Security.PLAIN, mechanism=Mechanism.XOAUTH2)
    d = diagnose(make(settings=settings, capabilities_pre_tls=None))
    assert d.top is not None and d.top.id == "wrong_port_or_tls_mode" and not d.top.confirmed
