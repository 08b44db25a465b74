"""Table-driven tests of the diagnosis on POP3 and SMTP sessions, with evidence shaped exactly as CONTRACTS §1 defines
it (protocol, capabilities with `AUTH=<MECH>` entries, auth_result/auth_text with the SMTP code, sasl with sasl_ir,
commands `STAT` / `MAIL FROM` / `RCPT TO`), built here rather than by a probe: a positive case per id (named, first
where the evidence decides) and a near miss (similar evidence, id absent); then the fix texts per protocol."""

from __future__ import annotations

import pytest

from mailscope.evidence import CommandResult, Fault, FaultKind, SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import DiagnosisInput, Severity
from mailscope.settings import CheckSettings, Mechanism, Protocol, Security
from tests.providers.rule_cases import Case, assert_does_not_name, assert_names, named, run

NOW = 1_800_000_000.0
TID = "a2b8c73a-a4e2-5c5b-b4d0-e20bf64d93e1"
ALICE, SALES = "alice@contoso.com", "sales@contoso.com"
OID = "85e155c3-8b2c-56fb-96d6-5cb55572816e"
GUSER = "alice@example-workspace.com"
MAIL = "https://mail.google.com/"
CHALLENGE = {"status": "400", "schemes": "Bearer", "scope": MAIL}

EXO_POP_GREETING = "+OK The Microsoft Exchange POP3 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgA=]"
EXO_POP_CAPS = ("TOP", "UIDL", "SASL", "USER", "AUTH=PLAIN", "AUTH=XOAUTH2")
EXO_POP_REJECT = "-ERR Authentication failure: unknown user name or bad password."
EXO_POP_OK = "+OK User successfully authenticated."
PROTOCOL_ERROR = "-ERR Protocol error. Connection is closed. 10"
EXO_SMTP_GREETING = "220 MR1P264CA0146.outlook.office365.com Microsoft ESMTP MAIL Service ready at Wed, 4 Dec 2026 10:00:00 +0000"
EXO_SMTP_PRE = ("SIZE", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8")
EXO_SMTP_POST = ("SIZE", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "AUTH", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8",
                 "AUTH=LOGIN", "AUTH=XOAUTH2")
TAG = "[MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM 2026-12-04T10:00:00.000Z 08DBB276B7E699C4]"
EXO_SMTP_REJECT = f"535 5.7.3 Authentication unsuccessful {TAG}"
SMTP_DISABLED = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the {}. Visit "
                 f"https://aka.ms/smtp_auth_disabled for more information. {TAG}")
SEND_AS_DENIED = f"550 5.7.60 SMTP; Client does not have permissions to send as this sender {TAG}"
GMAIL_POP_GREETING = "+OK Gpop ready for requests from 192.0.2.7 x12mb1234567abc"
GMAIL_POP_CAPS = ("USER", "RESP-CODES", "EXPIRE", "LOGIN-DELAY", "TOP", "UIDL", "X-GOOGLE-RICO", "SASL", "AUTH=PLAIN", "AUTH=XOAUTH2",
                  "AUTH=OAUTHBEARER")
GMAIL_SMTP_GREETING = "220 smtp.gmail.com ESMTP x12mb1234567abc - gsmtp"
GMAIL_SMTP_CAPS = ("SIZE", "8BITMIME", "AUTH", "ENHANCEDSTATUSCODES", "PIPELINING", "CHUNKING", "SMTPUTF8", "AUTH=LOGIN", "AUTH=PLAIN",
                   "AUTH=XOAUTH2", "AUTH=PLAIN-CLIENTTOKEN", "AUTH=OAUTHBEARER", "AUTH=XOAUTH")
GMAIL_BAD_CREDENTIALS = ("535 5.7.8 Username and Password not accepted. For more information, go to 5.7.8  "
                         "https://support.google.com/mail/?p=BadCredentials x12mb1234567abc - gsmtp")
GMAIL_APP_PASSWORD = ("534 5.7.9 Application-specific password required. For more information, go to 5.7.9  "
                      "https://support.google.com/mail/?p=InvalidSecondFactor x12mb1234567abc - gsmtp")


# -- evidence builders (CONTRACTS §1) ---------------------------------------------------------------------------
def session(protocol: str, host: str, port: int, security: str, greeting: str, family: str, *, settings: CheckSettings | None = None,
            token: TokenEvidence | None = None, **evidence: object) -> DiagnosisInput:
    base: dict[str, object] = {"host": host, "port": port, "security": security, "protocol": protocol, "greeting": greeting,
                               "greeting_seq": 1, "server_family": family}
    base.update(evidence)
    return DiagnosisInput(settings, SessionEvidence(**base), token, (), NOW)  # type: ignore[arg-type]


def exo_pop(**evidence: object) -> DiagnosisInput:
    fields: dict[str, object] = {"capabilities_pre_tls": EXO_POP_CAPS, "frontend_name": "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM",
                                 "token": delegated("POP.AccessAsUser.All"), **evidence}
    return session("pop3", "outlook.office365.com", 995, "tls", EXO_POP_GREETING, "exchange", **fields)  # type: ignore[arg-type]


def exo_smtp(**evidence: object) -> DiagnosisInput:
    fields: dict[str, object] = {"capabilities_pre_tls": EXO_SMTP_PRE, "capabilities_post_tls": EXO_SMTP_POST,
                                 "token": delegated("SMTP.Send"), **evidence}
    return session("smtp", "smtp.office365.com", 587, "starttls", EXO_SMTP_GREETING, "exchange", **fields)  # type: ignore[arg-type]


def gmail_pop(**evidence: object) -> DiagnosisInput:
    fields: dict[str, object] = {"capabilities_pre_tls": GMAIL_POP_CAPS, "token": ya29(), **evidence}
    return session("pop3", "pop.gmail.com", 995, "tls", GMAIL_POP_GREETING, "gmail", **fields)  # type: ignore[arg-type]


def gmail_smtp(**evidence: object) -> DiagnosisInput:
    fields: dict[str, object] = {"capabilities_pre_tls": GMAIL_SMTP_CAPS, "token": ya29(), **evidence}
    return session("smtp", "smtp.gmail.com", 465, "tls", GMAIL_SMTP_GREETING, "gmail", **fields)  # type: ignore[arg-type]


def delegated(scp: str, *, upn: str = ALICE, **claims: object) -> TokenEvidence:
    full: dict[str, object] = {"aud": "https://outlook.office.com", "iss": f"https://sts.windows.net/{TID}/", "ver": "1.0", "scp": scp,
                               "upn": upn, "tid": TID, "exp": NOW + 3000, **claims}
    return TokenEvidence(kind="jwt", shape="jwt", provider="microsoft", flow="device_code", claims=full, expires_at=NOW + 3000,
                         has_refresh_token=True)


def app_only(*roles: str) -> TokenEvidence:
    claims: dict[str, object] = {"aud": "https://outlook.office365.com", "tid": TID, "idtyp": "app", "oid": OID, "roles": list(roles),
                                 "appid": "661584fc-4d04-5991-a840-c35e0016d37d", "exp": NOW + 3000}
    return TokenEvidence(kind="jwt", shape="jwt", provider="microsoft", flow="client_credentials", claims=claims,
                         expires_at=NOW + 3000, has_refresh_token=False)


def ya29(*scopes: str) -> TokenEvidence:
    return TokenEvidence(kind="opaque", shape="google-ya29", provider="google", flow="refresh_token", granted_scopes=scopes or (MAIL,),
                         expires_at=NOW + 3000, account=GUSER, has_refresh_token=True)


def password_token(provider: str) -> TokenEvidence:
    return TokenEvidence(kind="password", shape="password", provider=provider)


def auth(result: str, text: str, *, mech: str = "XOAUTH2", user: str = ALICE, sasl_ir: bool = False, challenge: bool = False,
         command_seq: int = 6) -> dict[str, object]:
    """One AUTH attempt: the SaslExchange plus auth_result/auth_text, as the probe and the replayer record it."""
    if mech in ("XOAUTH2", "OAUTHBEARER"):
        payload = f"user={user} ^A auth=Bearer <token 1500 chars sha256:00> ^A^A"
    else:
        payload = f"{mech} <username {user}> <password 16 chars>"
    exchange = SaslExchange(mech, sasl_ir, payload, challenges=[str(CHALLENGE)] if challenge else [],
                            challenge_json=[dict(CHALLENGE)] if challenge else [], result=result, result_text=text,
                            command_seq=command_seq, result_seq=command_seq + (3 if challenge else 2))
    return {"mechanism": mech, "auth_result": result, "auth_text": text, "sasl": [exchange]}


def commands(*answers: tuple[str, str, str]) -> dict[str, object]:
    return {"commands": [CommandResult(name, result, text, 20 + i) for i, (name, result, text) in enumerate(answers)]}


POP_STAT_OK = commands(("STAT", "OK", "+OK 0 0"), ("QUIT", "OK", "+OK Microsoft Exchange Server POP3 server signing off."))
SMTP_SENT = commands(("MAIL FROM", "OK", "250 2.1.0 Sender OK"), ("RCPT TO", "OK", "250 2.1.5 Recipient OK"),
                     ("RSET", "OK", "250 2.0.0 Resetting"), ("QUIT", "OK", "221 2.0.0 Service closing transmission channel"))
CLOSED = Fault(FaultKind.CLOSED_MID_COMMAND, "the server closed the connection", "QUIT", 12)


def ms_settings(protocol: Protocol, port: int, security: Security, **changes: object) -> CheckSettings:
    host = "smtp.office365.com" if protocol is Protocol.SMTP else "outlook.office365.com"
    fields: dict[str, object] = {"host": host, "port": port, "security": security, "protocol": protocol, "user": ALICE,
                                 "provider": "microsoft", "flow": "device_code", "tenant": TID, **changes}
    return CheckSettings(**fields)  # type: ignore[arg-type]


POSITIVE = [
    Case("session_healthy", lambda: exo_pop(**auth("OK", EXO_POP_OK), **POP_STAT_OK)),
    Case("session_healthy", lambda: exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", sasl_ir=True), **SMTP_SENT)),
    Case("session_healthy", lambda: gmail_pop(**auth("OK", "+OK Welcome.", user=GUSER), **commands(("STAT", "OK", "+OK 0 0")))),
    Case("session_healthy", lambda: gmail_smtp(**auth("OK", "235 2.7.0 Accepted", user=GUSER, sasl_ir=True), **commands(
        ("MAIL FROM", "OK", "250 2.1.0 OK x1 - gsmtp"), ("RCPT TO", "OK", "250 2.1.5 OK x1 - gsmtp")))),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo_pop(**auth("NO", PROTOCOL_ERROR, sasl_ir=True))),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo_pop(**auth("NO", PROTOCOL_ERROR, sasl_ir=True), fault=CLOSED)),
    Case("ms_protocol_scope_mismatch", lambda: exo_pop(token=delegated("IMAP.AccessAsUser.All"), **auth("NO", EXO_POP_REJECT))),
    Case("ms_protocol_scope_mismatch", lambda: exo_smtp(token=delegated("IMAP.AccessAsUser.All POP.AccessAsUser.All"),
                                                        **auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
    Case("ms_protocol_scope_mismatch", lambda: exo_smtp(token=app_only("IMAP.AccessAsApp"), **auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
    Case("ms_smtp_auth_disabled", lambda: exo_smtp(**auth("NO", SMTP_DISABLED.format("Tenant"), sasl_ir=True))),
    Case("ms_smtp_auth_disabled", lambda: exo_smtp(**auth("NO", SMTP_DISABLED.format("Mailbox"), sasl_ir=True))),
    Case("ms_smtp_auth_disabled", lambda: exo_smtp(token=delegated("IMAP.AccessAsUser.All"),  # whatever the token says
                                                   **auth("NO", SMTP_DISABLED.format("Tenant"), sasl_ir=True))),
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo_smtp(
        token=password_token("microsoft"), **auth("NO", f"535 5.7.139 Authentication unsuccessful, basic authentication is disabled. {TAG}",
                                                  mech="LOGIN"))),
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo_pop(
        token=password_token("microsoft"), mechanism="USER/PASS", login_used=True, auth_result="NO", auth_text=EXO_POP_REJECT)),
    Case("ms_sendas_denied", lambda: exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", user=SALES, sasl_ir=True),
                                              **commands(("MAIL FROM", "NO", SEND_AS_DENIED), ("RSET", "OK", "250 2.0.0 Resetting")))),
    Case("ms_imap_pop_disabled", lambda: exo_pop(**auth("OK", EXO_POP_OK), **commands(
        ("STAT", "NO", "-ERR User is authenticated but not connected."), ("QUIT", "OK", "+OK")))),
    Case("ms_authenticated_but_not_connected", lambda: exo_pop(**auth("OK", EXO_POP_OK), **commands(
        ("STAT", "NO", "-ERR User is authenticated but not connected."))), first=False),
    Case("google_password_auth_rejected", lambda: gmail_smtp(token=password_token("google"),
                                                             **auth("NO", GMAIL_APP_PASSWORD, mech="LOGIN", user=GUSER))),
    Case("google_password_auth_rejected", lambda: gmail_pop(
        token=password_token("google"), mechanism="USER/PASS", login_used=True, auth_result="NO",
        auth_text="-ERR [AUTH] Application-specific password required: https://support.google.com/accounts/answer/185833")),
    Case("google_scope_not_full_mail", lambda: gmail_smtp(token=ya29("https://www.googleapis.com/auth/gmail.send"),
                                                          **auth("NO", GMAIL_BAD_CREDENTIALS, user=GUSER, sasl_ir=True, challenge=True))),
    Case("google_scope_not_full_mail", lambda: gmail_pop(token=ya29("https://www.googleapis.com/auth/gmail.readonly"), **auth(
        "NO", "-ERR [AUTH] Username and password not accepted.", user=GUSER, challenge=True))),
    Case("google_imap_pop_disabled", lambda: gmail_pop(**auth(
        "NO", "-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your "
        "account for POP access.", user=GUSER))),
    Case("google_imap_pop_disabled", lambda: gmail_pop(**auth("NO", "-ERR [SYS/PERM] POP access is disabled for your domain.",
                                                              user=GUSER))),
]

NEAR_MISS = [
    Case("session_healthy", lambda: exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", user=SALES, sasl_ir=True),
                                             **commands(("MAIL FROM", "NO", SEND_AS_DENIED)))),
    Case("session_healthy", lambda: exo_pop(**auth("OK", EXO_POP_OK), **commands(
        ("STAT", "NO", "-ERR User is authenticated but not connected.")))),
    Case("session_healthy", lambda: exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", sasl_ir=True), **commands(
        ("MAIL FROM", "OK", "250 2.1.0 Sender OK"), ("RCPT TO", "NO", "550 5.1.10 RESOLVER.ADR.RecipientNotFound")))),
    # the two-step form was sent: a protocol error then has another cause
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo_pop(**auth("NO", PROTOCOL_ERROR, sasl_ir=False))),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: exo_pop(**auth("OK", EXO_POP_OK, sasl_ir=True), **POP_STAT_OK)),
    Case("pop3_xoauth2_one_line_rejected_exchange", lambda: gmail_pop(**auth("OK", "+OK Welcome.", user=GUSER, sasl_ir=True))),
    Case("ms_protocol_scope_mismatch", lambda: exo_pop(token=delegated("IMAP.AccessAsUser.All POP.AccessAsUser.All"),
                                                       **auth("NO", EXO_POP_REJECT))),
    Case("ms_protocol_scope_mismatch", lambda: exo_smtp(token=delegated("SMTP.Send", upn="bob@contoso.com"),
                                                        **auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
    Case("ms_protocol_scope_mismatch", lambda: exo_smtp(token=app_only("SMTP.SendAsApp"), **auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
    Case("ms_smtp_auth_disabled", lambda: exo_smtp(**auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
    Case("ms_smtp_auth_disabled", lambda: exo_smtp(**auth("NO", f"535 5.7.139 Authentication unsuccessful, basic authentication is "
                                                                f"disabled. {TAG}", mech="LOGIN"))),
    Case("basic_auth_mechanism_used_when_disabled", lambda: exo_smtp(**auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
    Case("basic_auth_mechanism_used_when_disabled", lambda: gmail_smtp(token=password_token("google"),
                                                                       **auth("NO", GMAIL_APP_PASSWORD, mech="LOGIN", user=GUSER))),
    Case("ms_sendas_denied", lambda: exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", sasl_ir=True), **SMTP_SENT)),
    Case("ms_sendas_denied", lambda: exo_smtp(commands=[CommandResult(
        "MAIL FROM", "NO", f"530 5.7.57 Client not authenticated to send mail. {TAG}", 9)])),
    Case("ms_imap_pop_disabled", lambda: exo_pop(**auth("OK", EXO_POP_OK), **POP_STAT_OK)),
    Case("google_password_auth_rejected", lambda: gmail_smtp(token=password_token("google"),
                                                             **auth("OK", "235 2.7.0 Accepted", mech="LOGIN", user=GUSER))),
    Case("google_password_auth_rejected", lambda: gmail_smtp(**auth("NO", GMAIL_BAD_CREDENTIALS, user=GUSER, sasl_ir=True,
                                                                    challenge=True))),
    Case("google_scope_not_full_mail", lambda: gmail_smtp(**auth("NO", GMAIL_BAD_CREDENTIALS, user=GUSER, sasl_ir=True, challenge=True))),
    Case("google_imap_pop_disabled", lambda: gmail_pop(**auth("NO", "-ERR [AUTH] Username and password not accepted.", user=GUSER,
                                                              challenge=True))),
]


@pytest.mark.parametrize("case", POSITIVE, ids=lambda c: c.finding_id)
def test_positive_case_names_the_id(case: Case) -> None:
    assert_names(case)


@pytest.mark.parametrize("case", NEAR_MISS, ids=lambda c: c.finding_id)
def test_near_miss_does_not_name_the_id(case: Case) -> None:
    assert_does_not_name(case)


def test_every_id_the_pop_smtp_scenarios_expect_has_both_cases() -> None:
    from mailscope.lab.scenarios import SCENARIOS, SERVER_MODES

    expected = {s.expected_finding or "session_healthy" for s in SCENARIOS if SERVER_MODES[s.server_under_test][0] is not Protocol.IMAP}
    assert len(expected) >= 8
    assert expected <= {c.finding_id for c in POSITIVE}
    assert expected <= {c.finding_id for c in NEAR_MISS}


def test_fix_texts_name_the_protocol_scope() -> None:
    pop = named(run(exo_pop(token=delegated("IMAP.AccessAsUser.All"), **auth("NO", EXO_POP_REJECT))), "ms_protocol_scope_mismatch")
    assert "https://outlook.office.com/POP.AccessAsUser.All" in " ".join(pop.fix) and "POP.AccessAsUser.All" in pop.explanation
    smtp = named(run(exo_smtp(token=delegated("IMAP.AccessAsUser.All"), **auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
                 "ms_protocol_scope_mismatch")
    assert "https://outlook.office.com/SMTP.Send" in " ".join(smtp.fix) and "SMTP.Send" in smtp.explanation
    app = named(run(exo_smtp(token=app_only("IMAP.AccessAsApp"), **auth("NO", EXO_SMTP_REJECT, sasl_ir=True))),
                "ms_protocol_scope_mismatch")
    assert "SMTP.SendAsApp" in " ".join(app.fix)
    one_line = named(run(exo_pop(**auth("NO", PROTOCOL_ERROR, sasl_ir=True))), "pop3_xoauth2_one_line_rejected_exchange")
    assert "https://outlook.office.com/POP.AccessAsUser.All" in " ".join(one_line.fix) and "'+ '" in " ".join(one_line.fix)
    basic = named(run(exo_smtp(token=password_token("microsoft"), **auth(
        "NO", f"535 5.7.139 Authentication unsuccessful, basic authentication is disabled. {TAG}", mech="LOGIN"))),
        "basic_auth_mechanism_used_when_disabled")
    assert "https://outlook.office.com/SMTP.Send" in " ".join(basic.fix) and "IMAP.AccessAsUser.All" not in " ".join(basic.fix)
    narrow = named(run(gmail_smtp(token=ya29("https://www.googleapis.com/auth/gmail.send"), **auth(
        "NO", GMAIL_BAD_CREDENTIALS, user=GUSER, sasl_ir=True, challenge=True))), "google_scope_not_full_mail")
    assert MAIL in " ".join(narrow.fix) and narrow.confirmed


def test_smtp_auth_disabled_fix_follows_the_level_the_server_names() -> None:
    tenant = named(run(exo_smtp(**auth("NO", SMTP_DISABLED.format("Tenant"), sasl_ir=True))), "ms_smtp_auth_disabled")
    assert any("Set-TransportConfig -SmtpClientAuthenticationDisabled $false" in step for step in tenant.fix)
    assert tenant.fix[0].startswith(f"Set-CASMailbox -Identity {ALICE} -SmtpClientAuthenticationDisabled $false")
    mailbox = named(run(exo_smtp(**auth("NO", SMTP_DISABLED.format("Mailbox"), sasl_ir=True))), "ms_smtp_auth_disabled")
    assert mailbox.fix[0] == f"Set-CASMailbox -Identity {ALICE} -SmtpClientAuthenticationDisabled $false"
    assert not any("Set-TransportConfig -SmtpClientAuthenticationDisabled $false" in step for step in mailbox.fix)
    assert "mailbox" in mailbox.explanation and mailbox.confirmed and mailbox.cited_lines


def test_send_as_denied_names_sender_and_trustee() -> None:
    denied = run(exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", user=SALES, sasl_ir=True),
                          **commands(("MAIL FROM", "NO", SEND_AS_DENIED))))
    top = denied.findings[0]
    assert top.id == "ms_sendas_denied" and top.confirmed and top.severity is Severity.ERROR
    assert f"Add-RecipientPermission -Identity {SALES} -Trustee {ALICE} -AccessRights SendAs" in top.fix
    assert "token is valid" in top.explanation and "session_healthy" not in [f.id for f in denied.findings]
    app = named(run(exo_smtp(token=app_only("SMTP.SendAsApp"), **auth("OK", "235 2.7.0 Authentication successful", sasl_ir=True),
                             **commands(("MAIL FROM", "NO", SEND_AS_DENIED)))), "ms_sendas_denied")
    assert f"Add-RecipientPermission -Identity {ALICE} -Trustee {OID} -AccessRights SendAs" in app.fix
    data = named(run(exo_smtp(**auth("OK", "235 2.7.0 Authentication successful", sasl_ir=True), **commands(
        ("DATA", "NO", "554 5.2.252 SendAsDenied; alice@contoso.com not allowed to send as noreply@contoso.com; STOREDRV.Submission")))),
        "ms_sendas_denied")
    assert "Add-RecipientPermission -Identity noreply@contoso.com" in data.fix[0]


def test_a_specific_refusal_leaves_token_faults_as_unconfirmed_predictions() -> None:
    d = run(exo_smtp(token=delegated("IMAP.AccessAsUser.All"), **auth("NO", SMTP_DISABLED.format("Tenant"), sasl_ir=True)))
    scope = named(d, "ms_protocol_scope_mismatch")
    assert d.findings[0].id == "ms_smtp_auth_disabled" and d.findings[0].confirmed
    assert not scope.confirmed and scope.score < d.findings[0].score and "SMTP.Send" in scope.explanation


def test_a_close_after_the_refusal_does_not_outrank_the_refusal() -> None:
    d = run(exo_pop(**auth("NO", PROTOCOL_ERROR, sasl_ir=True), fault=CLOSED))
    closed = named(d, "connection_closed_by_server")
    assert d.findings[0].id == "pop3_xoauth2_one_line_rejected_exchange" and closed.score < d.findings[0].score
    assert PROTOCOL_ERROR in closed.explanation


def test_gmail_pop_disabled_fix_says_pop() -> None:
    top = run(gmail_pop(**auth("NO", "-ERR [SYS/PERM] Your account is not enabled for POP access.", user=GUSER))).findings[0]
    assert top.id == "google_imap_pop_disabled" and "POP is not enabled" in top.explanation and "enable POP" in top.fix[0]


def test_pop_disabled_at_exchange_names_the_pop_switch() -> None:
    top = run(exo_pop(**auth("OK", EXO_POP_OK), **commands(("STAT", "NO", "-ERR User is authenticated but not connected.")))).findings[0]
    assert top.id == "ms_imap_pop_disabled" and f"Set-CASMailbox -Identity {ALICE} -PopEnabled $true" in top.fix


def test_settings_before_any_answer_predict_the_protocol_scope() -> None:
    d = run(exo_smtp(settings=ms_settings(Protocol.SMTP, 587, Security.STARTTLS, mechanism=Mechanism.XOAUTH2),
                     token=delegated("IMAP.AccessAsUser.All"), mechanism="XOAUTH2"))
    top = d.findings[0]
    assert top.id == "ms_protocol_scope_mismatch" and not top.confirmed and "SMTP.Send" in top.explanation
