"""Any evidence, however odd (claims of the wrong type, garbage server text, half a session), gives a diagnosis
without a rule failing: hypothesis drives the full engine with the provider plug-ins."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.diagnosis import diagnose
from mailscope.evidence import CommandResult, Fault, FaultKind, SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput
from providers.registry import provider_rules

RULES = provider_rules()
texts = st.one_of(st.sampled_from([
    "A1 NO AUTHENTICATE failed.", "A1 OK AUTHENTICATE completed.", "User is authenticated but not connected.",
    "A1 NO Invalid SASL argument.", "* BYE Session invalidated - AccessTokenExpired", "535 5.7.139 Authentication unsuccessful, "
    "SmtpClientAuthentication is disabled for the Tenant.", "530 5.7.57 Client not authenticated to send mail.",
    "-ERR Protocol error. Connection is closed. 10", "A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", "",
]), st.text(max_size=40))
claim_values = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
                         st.lists(st.text(max_size=20), max_size=3), st.sampled_from([
                             "https://graph.microsoft.com", "https://outlook.office.com", "app", "IMAP.AccessAsUser.All",
                             "9188040d-6c67-4c5b-b112-36a304b66dad", "1.0", "2.0"]))
claims = st.dictionaries(st.sampled_from(["aud", "scp", "roles", "upn", "idtyp", "tid", "ver", "appid", "oid", "nonce", "email",
                                          "preferred_username", "exp"]), claim_values, max_size=8)
tokens = st.one_of(st.none(), st.builds(
    TokenEvidence, kind=st.sampled_from(["jwt", "opaque", "password", "none"]),
    provider=st.sampled_from(["microsoft", "google", "generic"]),
    flow=st.sampled_from(["", "device_code", "client_credentials", "service_account", "refresh_token", "password"]), claims=claims,
    granted_scopes=st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=3).map(tuple)),
    requested_scopes=st.lists(st.sampled_from(["IMAP.AccessAsUser.All", "https://graph.microsoft.com/User.Read", "offline_access",
                                               "https://mail.google.com/"]), max_size=3).map(tuple),
    expires_at=st.one_of(st.none(), st.floats(-1e10, 1e10)), has_refresh_token=st.one_of(st.none(), st.booleans()),
    account=st.one_of(st.none(), st.text(max_size=20)),
    error=st.one_of(st.none(), st.fixed_dictionaries({}, optional={  # the shapes msal / google-auth / oauthlib produce
        "error": st.text(max_size=20), "error_description": st.text(max_size=40),
        "error_codes": st.lists(st.integers(0, 10_000_000), max_size=2)}))))
exchanges = st.lists(st.builds(
    SaslExchange, mechanism=st.sampled_from(["XOAUTH2", "OAUTHBEARER", "PLAIN", "LOGIN", "X"]), sasl_ir=st.booleans(),
    client_payload=st.text(max_size=40), challenge_json=st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5)), max_size=1),
    result=st.sampled_from([None, "OK", "NO", "BAD", "+OK", "-ERR", "535"]), result_text=texts,
    result_seq=st.one_of(st.none(), st.integers(1, 50)), defects=st.lists(st.text(max_size=20), max_size=2)), max_size=2)
evidence = st.builds(
    SessionEvidence, host=st.sampled_from(["", "outlook.office365.com", "imap.gmail.com", "localhost", "outlook.office365.us", "x"]),
    port=st.integers(0, 70000), protocol=st.sampled_from(["imap", "pop3", "smtp", "weird"]),
    greeting=st.one_of(st.none(), texts), server_family=st.sampled_from(["exchange", "gmail", "dovecot", "unknown"]),
    frontend_name=st.one_of(st.none(), st.text(max_size=30)),
    capabilities_pre_tls=st.one_of(st.none(), st.lists(st.text(max_size=12), max_size=5).map(tuple)),
    capabilities_post_tls=st.one_of(st.none(), st.lists(st.sampled_from(["AUTH=XOAUTH2", "AUTH=PLAIN", "SASL-IR", "AUTH LOGIN"]),
                                                        max_size=3).map(tuple)),
    mechanism=st.one_of(st.none(), st.sampled_from(["XOAUTH2", "PLAIN", "LOGIN", "USER"])), sasl=exchanges, login_used=st.booleans(),
    auth_result=st.sampled_from([None, "OK", "NO", "BAD", "235", "-ERR"]), auth_text=texts,
    commands=st.lists(st.builds(CommandResult, command=st.sampled_from(["EXAMINE", "NAMESPACE", "MAIL", "DATA"]),
                                result=st.sampled_from([None, "OK", "NO", "BAD"]), text=texts), max_size=3),
    untagged_bye=st.one_of(st.none(), texts),
    fault=st.one_of(st.none(), st.builds(Fault, kind=st.sampled_from(list(FaultKind)), detail=texts)),
    log_facts=st.dictionaries(st.sampled_from(["password", "user"]), st.text(max_size=10), max_size=2))


@settings(max_examples=300, deadline=None)
@given(evidence, tokens, st.floats(0, 2e9))
def test_no_rule_fails_on_any_evidence(ev: SessionEvidence, token: TokenEvidence | None, now: float) -> None:
    d = diagnose(DiagnosisInput(None, ev, token, (), now), RULES)
    failed = [c for c in d.checks if c.name.startswith("rule ")]
    assert failed == []
    assert list(d.findings) == sorted(d.findings, key=lambda f: -f.score)
