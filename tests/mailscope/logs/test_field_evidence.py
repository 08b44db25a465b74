"""What the diagnosis does with field evidence, whatever client wrote it (issue 11): false alarms on healthy sessions,
clients that stop before signing in, a password in the bearer's place, error reprs, honest candidates and what decides
them, generic JWTs judged at the log's own time, the server that answered not being the provider's, a client ignoring
its configured mechanism, a wrong local password to an OAuth proxy. Through the real import (LogScan → replay →
diagnosis with the provider rules and the token inspector, as `mailscope logs` runs it)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailscope import sasl
from mailscope.diagnosis import make_diagnoser
from mailscope.findings import Severity
from mailscope.logs import common
from mailscope.logs.diagnose import diagnose_text
from providers.inspect import inspect_token
from providers.registry import provider_rules

DIAGNOSER = make_diagnoser(provider_rules())
SAMPLES = Path(__file__).parent / "samples"
USER = "alice@example.test"
EXO_GREETING = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgA=]"
LOG_TIME = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def jwt(**claims: object) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    full = {"iss": "https://keycloak.example.test/realms/mail", "aud": "mail", "preferred_username": USER,
            "iat": LOG_TIME.timestamp() - 600, "exp": LOG_TIME.timestamp() + 3000, "scope": "openid email mail", **claims}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(full)}.{'s' * 43}"


def run(*lines: str):  # noqa: ANN201 - a TextDiagnosis
    result = diagnose_text("\n".join(lines), diagnoser=DIAGNOSER, inspect_token=inspect_token)
    assert result.summary.sessions == 1, result.notes
    return result.sessions[0]


def ids(item) -> list[str]:  # noqa: ANN001
    return [f.id for f in item.findings]


def stamped(lines: list[str], when: datetime = LOG_TIME) -> list[str]:
    """The log's own time, with its zone: exact enough to judge an expiry at."""
    return [f"{when:%Y-%m-%dT%H:%M:%S}.000Z {line}" for line in lines]


# -- false alarms on healthy sessions ------------------------------------------------------------------------------------
def test_gmail_capabilities_after_a_hidden_sign_in_are_not_the_mechanism_list() -> None:
    item = run(
        "C: A1 CAPABILITY",
        "S: * CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN",
        "S: A1 OK Thats all she wrote! x1",
        "S: A2 OK [CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE "
        "MOVE] alice@gmail.com authenticated (Success)",
        "C: A3 SELECT INBOX",
        "S: A3 OK [READ-WRITE] INBOX selected. (Success)",
    )
    assert ids(item)[0] == "session_healthy"
    assert not {"no_oauth_mechanism_before_starttls", "local_proxy_capability_rewrite"} & set(ids(item))
    assert not [f for f in item.findings if f.severity is Severity.ERROR]


# -- clients that stop before signing in ------------------------------------------------------------------------------------
def test_curl_that_finds_no_mechanism_before_starttls() -> None:
    item = run(
        "*   Trying 192.0.2.10:143...", "* Connected to outlook.office365.com (192.0.2.10) port 143",
        "< * OK The Microsoft Exchange IMAP4 service is ready.", "> A001 CAPABILITY",
        "< * CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+",
        "< A001 OK CAPABILITY completed.", "* No known authentication mechanisms supported!", "* Closing connection 0",
    )
    assert ids(item)[0] == "no_oauth_mechanism_before_starttls" and item.findings[0].confirmed


def test_smtplib_without_any_auth_offered() -> None:
    item = run(
        "send: 'ehlo client.example\\r\\n'",
        "reply: b'250-mail.example.test\\r\\n'", "reply: b'250-PIPELINING\\r\\n'", "reply: b'250-SIZE 10240000\\r\\n'",
        "reply: b'250 8BITMIME\\r\\n'",
        "smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.",
    )
    assert ids(item)[0] == "server_lacks_oauth_mechanism" and item.findings[0].confirmed


def test_a_pre_tls_capability_line_pasted_alone_is_a_candidate_not_a_verdict() -> None:
    item = run("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+")
    assert ids(item)[:2] == ["no_oauth_mechanism_before_starttls", "server_lacks_oauth_mechanism"]
    assert not any(f.confirmed for f in item.findings) and "STARTTLS" in item.findings[0].decide[0]
    assert item.findings[0].id not in ids(run("* OK IMAP4 ready", "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED", "C: A1 STARTTLS"))


def test_a_client_that_gave_up_without_the_capability_line_gets_both_candidates() -> None:
    item = run("mutt: No authenticators available")
    assert ids(item)[:2] == ["no_oauth_mechanism_before_starttls", "server_lacks_oauth_mechanism"]
    assert not any(f.confirmed for f in item.findings) and all(f.decide for f in item.findings[:2])


# -- a password sent as the bearer -------------------------------------------------------------------------------------------
def test_a_password_as_the_xoauth2_bearer_is_its_own_cause_and_never_shown() -> None:
    password = "Winter2026!pw"
    payload = sasl.b64(sasl.xoauth2_payload(USER, password))
    item = run(f"S: {EXO_GREETING}", f"C: A1 AUTHENTICATE XOAUTH2 {payload}", "S: A1 NO AUTHENTICATE failed.")
    assert ids(item)[0] == "password_sent_as_bearer" and item.findings[0].confirmed
    assert not [f for f in item.findings if f.id.startswith("ms_") and f.id != "ms_offline_access_missing"]  # not "an opaque token"
    dump = json.dumps([line.text for line in item.record.lines]) + repr(item.findings)
    assert password not in dump and payload not in dump


def test_a_real_token_is_not_taken_for_a_password() -> None:
    payload = sasl.b64(sasl.xoauth2_payload(USER, jwt(aud="https://graph.microsoft.com")))
    item = run(f"S: {EXO_GREETING}", f"C: A1 AUTHENTICATE XOAUTH2 {payload}", "S: A1 NO AUTHENTICATE failed.")
    assert "password_sent_as_bearer" not in ids(item)


# -- error reprs ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("line", "error"), [
    ("{'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'}",
     "invalid_grant: Token has been expired or revoked."),
    ('{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: x","error_codes":[7000215]}',
     "AADSTS7000215: Invalid client secret provided. Trace ID: x (invalid_client)"),
    ("msal: {'error': 'invalid_grant', 'error_description': 'The refresh token has expired.', 'error_codes': [700082]}",
     "AADSTS700082: The refresh token has expired. (invalid_grant)"),
    ("RefreshError: ('invalid_grant: Bad Request', {'error': 'invalid_grant', 'error_description': 'Bad Request'})",
     "invalid_grant: Bad Request"),
    ('{"error": {"code": "invalid_request", "message": "Missing parameter"}}', "invalid_request: Missing parameter"),
])  # fmt: skip
def test_error_bodies_are_parsed_not_cut_at_a_quote(line: str, error: str) -> None:
    assert common.token_errors(line) == [error]


@pytest.mark.parametrize(("line", "first"), [
    ("{'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'}", "google_refresh_token_invalid_grant"),
    ("msal: {'error': 'invalid_grant', 'error_description': 'AADSTS70008: The provided authorization code or refresh token has "
     "expired due to inactivity.', 'error_codes': [70008]}", "ms_refresh_token_invalid_grant"),
    ('{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier x was not found."}',
     "ms_wrong_tenant_or_authority"),
])  # fmt: skip
def test_a_pasted_error_body_names_its_cause(line: str, first: str) -> None:
    item = run(line)
    assert ids(item)[0] == first and item.findings[0].confirmed


def test_an_endless_or_deep_repr_is_bounded() -> None:
    assert common.token_errors("{'error': " * 5000) == []
    assert common.token_errors("x" * (common.MAX_LITERAL + 1) + "{'error': 'invalid_grant'}") == ["invalid_grant"]  # not parsed


# -- honesty: what decides between Exchange's candidates -----------------------------------------------------------------
def test_exchange_refusal_without_the_token_ranks_unconfirmed_candidates_with_what_decides() -> None:
    item = run(f"S: {EXO_GREETING}", "C: A1 AUTHENTICATE XOAUTH2 [redacted by the client]", "S: A1 NO AUTHENTICATE failed.")
    assert ids(item)[0] == "ms_graph_scope_or_audience"
    assert not any(f.confirmed for f in item.findings if f.severity is Severity.ERROR)
    decide = " ".join(step for f in item.findings for step in f.decide)
    assert "mailscope logs" in decide and "mailscope check --host outlook.office365.com" in decide and "Get-CASMailbox" in decide


def test_the_admins_get_casmailbox_output_decides() -> None:
    item = run("A1 NO AUTHENTICATE failed.", "PS> Get-CASMailbox alice@contoso.com | fl ImapEnabled,PopEnabled",
               "ImapEnabled : False", "PopEnabled  : True")
    assert ids(item)[0] == "ms_imap_pop_disabled" and item.findings[0].confirmed
    smtp = run("535 5.7.3 Authentication unsuccessful [SN4PR0601CA0012.namprd06.prod.outlook.com 2026-11-28T10:00:00Z 08DC]",
               "SmtpClientAuthenticationDisabled : True")
    assert ids(smtp)[0] == "ms_smtp_auth_disabled" and smtp.findings[0].confirmed
    on = run("A1 NO AUTHENTICATE failed.", "ImapEnabled : True")
    assert "ms_imap_pop_disabled" not in ids(on)  # ruled out


# -- generic JWTs, judged at the time of the evidence -------------------------------------------------------------------
DOVECOT = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER] Dovecot (Debian) ready."
CHALLENGE = base64.b64encode(b'{"status":"401","schemes":"bearer","scope":"mail"}').decode()


def dovecot_refusal(token: str) -> list[str]:
    return [f"S: {DOVECOT}", f"C: A1 AUTHENTICATE XOAUTH2 {sasl.b64(sasl.xoauth2_payload(USER, token))}", f"S: + {CHALLENGE}",
            "C: ", "S: A1 NO [AUTHENTICATIONFAILED] Authentication failed."]


def test_an_expired_keycloak_token_is_decisive_at_the_logs_time() -> None:
    expired = jwt(iat=LOG_TIME.timestamp() - 7200, exp=LOG_TIME.timestamp() - 3600)
    item = run(*stamped(dovecot_refusal(expired)))
    assert ids(item)[0] == "token_expired" and item.findings[0].confirmed
    assert "auth_refused_cause_unknown" not in ids(item)


def test_a_token_valid_when_the_log_was_written_is_not_expired_today() -> None:
    valid_then = jwt(exp=LOG_TIME.timestamp() + 3000)  # long expired by today's clock
    item = run(*stamped(dovecot_refusal(valid_then)))
    assert "token_expired" not in ids(item)


def test_a_user_claim_unlike_the_login_and_a_missing_scope_are_decisive() -> None:
    assert ids(run(*stamped(dovecot_refusal(jwt(preferred_username="bob@example.test")))))[0] == "token_user_mismatch"
    assert ids(run(*stamped(dovecot_refusal(jwt(scope="openid email")))))[0] == "token_scope_missing"


# -- causes the catalogue lacked ------------------------------------------------------------------------------------------
def test_another_server_answering_on_the_providers_port() -> None:
    item = run(
        "* Connected to smtp.office365.com (192.0.2.20) port 587", "< 220 mail.isp-example.net ESMTP Postfix (Debian/GNU)",
        "> EHLO client", "< 250-mail.isp-example.net", "< 250-AUTH PLAIN LOGIN", "< 250 8BITMIME",
        "> AUTH LOGIN", "< 334 VXNlcm5hbWU6", "> YWxpY2VAY29udG9zby5jb20=", "< 334 UGFzc3dvcmQ6", "> UGFzc3dvcmQx",
        "< 535 5.7.8 Error: authentication failed: authentication failure",
    )
    assert ids(item)[0] == "server_not_the_providers" and item.findings[0].confirmed
    assert "UGFzc3dvcmQx" not in json.dumps([line.text for line in item.record.lines])


def test_a_client_that_ignores_its_configured_mechanism() -> None:
    payload = sasl.b64(sasl.oauthbearer_payload(USER, jwt(), "imap.example.test", 993))
    item = run('set imap_authenticators="xoauth2"', f"S: {DOVECOT}", f"C: A1 AUTHENTICATE OAUTHBEARER {payload}",
               "S: A1 NO [AUTHENTICATIONFAILED] Authentication failed.")
    assert "mechanism_setting_ignored" in ids(item)
    assert next(f for f in item.findings if f.id == "mechanism_setting_ignored").confirmed


def test_an_auth_line_too_long_for_gmail_smtp() -> None:
    long_line = sasl.b64(sasl.xoauth2_payload(USER, "ya29." + "a" * 1100))
    item = run("S: 220 smtp.gmail.com ESMTP x1 - gsmtp", f"C: AUTH XOAUTH2 {long_line}", "S: 555 5.5.2 Syntax error, goodbye. x1 - gsmtp")
    assert ids(item)[0] == "auth_line_too_long" and item.findings[0].confirmed


def test_a_wrong_local_password_to_the_oauth_proxy_without_its_log_is_a_candidate() -> None:
    item = run(
        "* Connected to localhost (127.0.0.1) port 1993", "< * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] IMAP4 ready",
        "> A1 LOGIN alice@contoso.com wrong-local-pw", "< A1 OK LOGIN completed.", "> A2 SELECT INBOX",
        "< A2 BAD User is authenticated but not connected.",
    )
    proxy = next(f for f in item.findings if f.id == "oauth_proxy_password_mismatch")
    assert not proxy.confirmed and "invalid password" in " ".join(proxy.decide)
    assert "wrong-local-pw" not in json.dumps([line.text for line in item.record.lines])


# -- shapes of lines the generic importer reads ----------------------------------------------------------------------------
def test_phpmailer_marks_and_its_error_line_are_one_session() -> None:
    """`CLIENT -> SERVER:` / `SERVER -> CLIENT:` marks, continuation lines without them, and PHPMailer's own
    `SMTP ERROR: ... failed: 535-...` (a quote of the reply, not a second connection)."""
    result = diagnose_text((SAMPLES / "fragment_phpmailer_gmail.log").read_text(), diagnoser=DIAGNOSER, inspect_token=inspect_token)
    assert result.summary.sessions == 1
    item = result.sessions[0]
    assert item.record.evidence.mechanism == "XOAUTH2" and item.record.evidence.sasl[0].challenge_json
    assert ids(item)[0] == "google_scope_not_full_mail" and not item.findings[0].confirmed
    assert any("SMTP ERROR" in line.text for line in item.record.lines if "exception" in line.annotations)


def test_node_imap_debug_reprs_behind_a_debug_prefix() -> None:
    item = run(*(SAMPLES / "fragment_node_imap_debug.log").read_text().splitlines())
    assert item.record.evidence.server_family == "gmail" and item.record.evidence.capabilities_pre_tls
    assert ids(item)[0] == "xoauth2_string_malformed" and item.findings[0].confirmed
