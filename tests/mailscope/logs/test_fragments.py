"""The fragment table: every server string of failure-modes.md §1.3 (and the causes issue 11 adds), pasted alone and in
three wrappers people paste it in (a timestamp prefix, a `DEBUG:` prefix, quoted in a client library's exception
message), gives its finding first and the candidates the evidence cannot rule out. Through the real log import: the
generic/fragment importer, the protocol layer's partial reading, the replayer and the diagnosis with provider rules."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from mailscope.diagnosis import make_diagnoser
from mailscope.logs.diagnose import diagnose_text
from providers.registry import provider_rules

DIAGNOSER = make_diagnoser(provider_rules())
GMAIL_JSON = '{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'
GMAIL_CHALLENGE = base64.b64encode(GMAIL_JSON.encode()).decode()
INVALID_REQUEST = base64.b64encode(b'{"status":"invalid_request"}').decode()
EXO_STAMP = "[SN4PR0601CA0012.namprd06.prod.outlook.com 2026-11-28T10:00:00.000Z 08DC6A8C9F1A2B3C]"
MS_TOKEN_CAUSES = ("ms_graph_scope_or_audience", "ms_protocol_scope_mismatch", "ms_token_expired", "ms_user_mismatch_token_vs_login")
GOOGLE_TOKEN_CAUSES = ("google_scope_not_full_mail", "google_token_expired_or_revoked", "google_user_mismatch")


@dataclass(frozen=True)
class Row:
    lines: tuple[str, ...]  # the server's words (and what a paste carries with them)
    first: str  # the finding that must rank first
    also: tuple[str, ...] = ()  # candidates the evidence cannot rule out: all of them named
    exception: tuple[str, ...] = ()  # the same evidence as a client library's exception quotes it
    confirmed: bool = True  # whether the first finding is proven (False: a ranked, unconfirmed candidate)


def imaplib_no(text: str) -> tuple[str, ...]:
    return (f"imaplib.IMAP4.error: b{text!r}",)


def imaplib_bad(command: str, text: str) -> tuple[str, ...]:
    return (f"imaplib.IMAP4.error: {command} command error: BAD [b{text!r}]",)


def poplib(text: str) -> tuple[str, ...]:
    return (f"poplib.error_proto: b{text!r}",)


def smtplib(code: int, text: str, kind: str = "SMTPAuthenticationError", sender: str = "") -> tuple[str, ...]:
    extra = f", {sender!r}" if sender else ""
    return (f"smtplib.{kind}: ({code}, {text.encode()!r}{extra})",)


ROWS = [
    # -- Exchange Online ------------------------------------------------------------------------------------------------
    Row(("A0001 NO AUTHENTICATE failed.",), MS_TOKEN_CAUSES[0], (*MS_TOKEN_CAUSES, "basic_auth_mechanism_used_when_disabled"),
        imaplib_no("AUTHENTICATE failed."), confirmed=False),
    Row(("A0002 NO LOGIN failed.",), "basic_auth_mechanism_used_when_disabled", (),
        ("javax.mail.AuthenticationFailedException: LOGIN failed.",)),
    Row(("* BYE Session invalidated - AccessTokenExpired",), "token_expired_mid_session", (),
        ("imaplib.IMAP4.abort: Session invalidated - AccessTokenExpired",)),
    Row(("* BYE Connection closed. 14",), "ms_authenticated_but_not_connected", (),
        ("imaplib.IMAP4.abort: Connection closed. 14",), confirmed=False),
    Row(("A3 BAD User is authenticated but not connected.",), "ms_authenticated_but_not_connected",
        ("ms_user_mismatch_token_vs_login", "ms_imap_pop_disabled"), imaplib_bad("SELECT", "User is authenticated but not connected.")),
    Row(("-ERR Authentication failure: unknown user name or bad password.",), MS_TOKEN_CAUSES[0],
        (*MS_TOKEN_CAUSES, "basic_auth_mechanism_used_when_disabled", "ms_imap_pop_disabled"),
        poplib("-ERR Authentication failure: unknown user name or bad password."), confirmed=False),
    Row(("-ERR Protocol error. Connection is closed. 10",), "pop3_xoauth2_one_line_rejected_exchange", ("auth_line_too_long",),
        poplib("-ERR Protocol error. Connection is closed. 10"), confirmed=False),
    Row((f"535 5.7.3 Authentication unsuccessful {EXO_STAMP}",), MS_TOKEN_CAUSES[0], MS_TOKEN_CAUSES,
        smtplib(535, f"5.7.3 Authentication unsuccessful {EXO_STAMP}"), confirmed=False),
    Row(("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
         "https://aka.ms/smtp_auth_disabled for more information.",), "ms_smtp_auth_disabled", (),
        smtplib(535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
                     "https://aka.ms/smtp_auth_disabled for more information.")),
    Row(("535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",), "basic_auth_mechanism_used_when_disabled", (),
        smtplib(535, "5.7.139 Authentication unsuccessful, basic authentication is disabled.")),
    Row(("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact "
         "your administrator.",), "ms_conditional_access_or_mfa", (),
        smtplib(535, "5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. "
                     "Contact your administrator.")),
    Row(("535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your "
         "administrator.",), "ms_conditional_access_or_mfa", (),
        smtplib(535, "5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. "
                     "Contact your administrator.")),
    Row(("550 5.7.30 Basic authentication is not supported for Client Submission.",), "basic_auth_mechanism_used_when_disabled", (),
        smtplib(550, "5.7.30 Basic authentication is not supported for Client Submission.")),
    Row(("530 5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]",), "smtp_auth_never_attempted",
        (), smtplib(530, "5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]",
                    "SMTPSenderRefused", "alice@contoso.com")),
    Row(("501 5.5.124 Invalid XOAUTH2 auth data - User address provided is not valid. Please ensure the auth d",),
        "xoauth2_string_malformed", (),
        smtplib(501, "5.5.124 Invalid XOAUTH2 auth data - User address provided is not valid. Please ensure the auth d")),
    Row(("430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission.Exception:ConnectionFailedTransientException."
         "MapiExceptionLogonFailed; Failed to process message due to a transient exception with message Cannot open mailbox.",),
        "ms_app_only_mailbox_permission_missing", (),
        smtplib(430, "4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission.Exception:ConnectionFailedTransientException."
                     "MapiExceptionLogonFailed; Failed to process message due to a transient exception with message Cannot open "
                     "mailbox.", "SMTPDataError"), confirmed=False),
    Row(("554 5.2.252 SendAsDenied; alice@contoso.com not allowed to send as sales@contoso.com; STOREDRV.Submission.Exception:"
         "SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception",),
        "ms_sendas_denied", (),
        smtplib(554, "5.2.252 SendAsDenied; alice@contoso.com not allowed to send as sales@contoso.com; STOREDRV.Submission."
                     "Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent "
                     "exception", "SMTPDataError")),
    # -- Gmail ------------------------------------------------------------------------------------------------------------
    Row((f"+ {GMAIL_CHALLENGE}",), GOOGLE_TOKEN_CAUSES[0], (*GOOGLE_TOKEN_CAUSES, "google_service_account_token_not_impersonating"),
        (f"{{ [Error: {GMAIL_JSON}] textCode: undefined, source: 'authentication' }}",), confirmed=False),
    Row(("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",), GOOGLE_TOKEN_CAUSES[0],
        (*GOOGLE_TOKEN_CAUSES, "google_password_auth_rejected"), imaplib_no("[AUTHENTICATIONFAILED] Invalid credentials (Failure)"),
        confirmed=False),
    Row(("A1 NO Invalid SASL argument. qk7if1705226pac.117",), "xoauth2_string_malformed", (),
        imaplib_no("Invalid SASL argument. qk7if1705226pac.117")),
    Row(("A002 BAD Invalid SASL argument. i29mb53490361edj",), "xoauth2_string_malformed", ("oauthbearer_payload_wrong_format",),
        imaplib_bad("AUTHENTICATE", "Invalid SASL argument. i29mb53490361edj")),
    Row(("A1 BAD Client aborted AUTHENTICATE command. cn9mb200386477igc",), "error_challenge_not_acknowledged", (),
        imaplib_bad("AUTHENTICATE", "Client aborted AUTHENTICATE command. cn9mb200386477igc")),
    Row(("A1 NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",),
        "google_password_auth_rejected", (),
        imaplib_no("[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)")),
    Row(("A1 NO [ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)",),
        "google_password_auth_rejected", (),
        imaplib_no("[ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)")),
    Row(("* NO [WEBALERT https://accounts.google.com/ContinueSignIn?sarp=1&scc=1] Web login required.",),
        "google_password_auth_rejected", (),
        imaplib_no("[WEBALERT https://accounts.google.com/ContinueSignIn?sarp=1&scc=1] Web login required.")),
    Row(("A1 NO [ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your account "
         "for IMAP access. (Failure)",), "google_imap_pop_disabled", (),
        imaplib_no("[ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your "
                   "account for IMAP access. (Failure)")),
    Row(("A1 NO [ALERT] IMAP access is disabled for your domain. Please contact your domain administrator. (Failure)",),
        "google_imap_pop_disabled", (),
        imaplib_no("[ALERT] IMAP access is disabled for your domain. Please contact your domain administrator. (Failure)")),
    Row(("-ERR [AUTH] Application-specific password required",), "google_password_auth_rejected", (),
        poplib("-ERR [AUTH] Application-specific password required")),
    Row(("-ERR [SYS/PERM] Your account is not enabled for POP access.",), "google_imap_pop_disabled", (),
        poplib("-ERR [SYS/PERM] Your account is not enabled for POP access.")),
    Row(("-ERR [SYS/PERM] POP access is disabled for your domain.",), "google_imap_pop_disabled", (),
        poplib("-ERR [SYS/PERM] POP access is disabled for your domain.")),
    Row((f"334 {GMAIL_CHALLENGE}",), GOOGLE_TOKEN_CAUSES[0], GOOGLE_TOKEN_CAUSES,
        (f"smtplib.SMTPException: Server AUTH mechanism infinite loop. Last response: (334, b'{GMAIL_CHALLENGE}')",),
        confirmed=False),
    Row(("535-5.7.8 Username and Password not accepted. For more information, go to",
         "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d9443c01a7336-21 - gsmtp"), GOOGLE_TOKEN_CAUSES[0],
        (*GOOGLE_TOKEN_CAUSES, "google_password_auth_rejected"),
        smtplib(535, "5.7.8 Username and Password not accepted. For more information, go to\n5.7.8  "
                     "https://support.google.com/mail/?p=BadCredentials d9443c01a7336-21 - gsmtp"), confirmed=False),
    Row(("535-5.7.1 Username and Password not accepted. Learn more at",), GOOGLE_TOKEN_CAUSES[0],
        (*GOOGLE_TOKEN_CAUSES, "google_password_auth_rejected"), smtplib(535, "5.7.1 Username and Password not accepted. Learn more at"),
        confirmed=False),
    Row(("534-5.7.9 Application-specific password required. For more information, go to",
         "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor x11-20020a - gsmtp"), "google_password_auth_rejected", (),
        smtplib(534, "5.7.9 Application-specific password required. For more information, go to\n5.7.9  "
                     "https://support.google.com/mail/?p=InvalidSecondFactor x11-20020a - gsmtp")),
    Row(("534-5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1> Please log in via your web browser and then try "
         "again.",), "google_password_auth_rejected", (),
        smtplib(534, "5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1> Please log in via your web browser and "
                     "then try again.")),
    # -- any IMAP: the capability line and the client's own complaint ----------------------------------------------------
    Row(("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+",
         "No authenticators available"), "no_oauth_mechanism_before_starttls", (),
        ("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+",
         "javax.mail.AuthenticationFailedException: No authentication mechanisms supported by both server and client")),
    # -- causes the catalogue lacked (issue 11) ---------------------------------------------------------------------------
    Row(("A0001 NO AUTHENTICATE failed. Unsupported authentication mechanism 'XOAUTH2'",), "server_lacks_oauth_mechanism", (),
        imaplib_no("AUTHENTICATE failed. Unsupported authentication mechanism 'XOAUTH2'")),
    Row(("A1 NO LOGIN Email OAuth 2.0 Proxy: Login failed - the password for account alice@contoso.com is incorrect",),
        "oauth_proxy_password_mismatch", ("local_proxy_capability_rewrite",),
        imaplib_no("LOGIN Email OAuth 2.0 Proxy: Login failed - the password for account alice@contoso.com is incorrect")),
    Row(("-ERR Authentication failed. Email OAuth 2.0 Proxy: Login failed - the password for account alice@contoso.com is incorrect",),
        "oauth_proxy_password_mismatch", ("local_proxy_capability_rewrite",),
        poplib("-ERR Authentication failed. Email OAuth 2.0 Proxy: Login failed - the password for account alice@contoso.com is "
               "incorrect")),
    Row(("535 5.7.8  Authentication credentials invalid. Email OAuth 2.0 Proxy: Login failed - the password for account "
         "alice@contoso.com is incorrect",), "oauth_proxy_password_mismatch", ("local_proxy_capability_rewrite",),
        smtplib(535, "5.7.8  Authentication credentials invalid. Email OAuth 2.0 Proxy: Login failed - the password for account "
                     "alice@contoso.com is incorrect")),
    Row(("555 5.5.2 Syntax error, goodbye. s1-20020a170902 - gsmtp",), "auth_line_too_long", (),
        smtplib(555, "5.5.2 Syntax error, goodbye. s1-20020a170902 - gsmtp"), confirmed=False),
    Row(("A1 NO Lookup failed cf29mb85450632edb",), "google_account_lookup_failed", (), imaplib_no("Lookup failed cf29mb85450632edb")),
    Row((f"+ {INVALID_REQUEST}",), "oauth_request_invalid", (), ('{ [Error: {"status":"invalid_request"}] source: "authentication" }',)),
    Row(("A1 OK LOGIN completed.", "A2 BAD User is authenticated but not connected.",
         "Retrying login due to exception while decrypting OAuth 2.0 credentials for alice@contoso.com (invalid password): "
         "InvalidToken()"), "oauth_proxy_password_mismatch", ("ms_authenticated_but_not_connected",),
        ("A1 OK LOGIN completed.", *imaplib_bad("SELECT", "User is authenticated but not connected."),
         "Retrying login due to exception while decrypting OAuth 2.0 credentials for alice@contoso.com (invalid password): "
         "InvalidToken()")),
]
WRAPPERS = {
    "alone": lambda row: row.lines,
    "timestamp": lambda row: tuple(f"2026-11-28 10:00:01,234 {line}" for line in row.lines),
    "debug": lambda row: tuple(f"DEBUG: {line}" for line in row.lines),
    "exception": lambda row: row.exception,
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.lines[0][:48])
def test_every_server_string_gives_its_finding(row: Row, wrapper: str) -> None:
    text = "\n".join(WRAPPERS[wrapper](row))
    result = diagnose_text(text, diagnoser=DIAGNOSER)
    assert result.summary.sessions == 1, (text, result.notes)
    findings = result.sessions[0].findings
    ids = [f.id for f in findings]
    assert ids and ids[0] == row.first, (text, ids)
    assert set(row.also) <= set(ids), (text, ids)
    assert findings[0].confirmed is row.confirmed, (text, [(f.id, f.confirmed) for f in findings[:4]])
    if not row.confirmed:  # an undecided lead says what would decide it, and no error stands as proven
        assert findings[0].decide, findings[0]
        assert not any(f.confirmed and f.severity == "error" for f in findings), ids
        assert result.exit_code == 3
    else:
        assert result.exit_code == 1


def test_the_table_covers_every_server_string_of_the_signature_index() -> None:
    """Each distinct server text of failure-modes.md §1.3 (as this file lists them) has a row; the table is not shrinking."""
    assert len(ROWS) >= 36
    assert len({row.lines for row in ROWS}) == len(ROWS)


def test_a_one_character_example_token_is_not_registered_as_a_secret() -> None:
    """`auth=Bearer x` in a pasted example: the payload is still described, but the rest of the paste keeps its x's."""
    payload = base64.b64encode(b"user=alice@example.com\x01auth=Bearer x\x01\x01").decode()
    pasted = f"C: A1 AUTHENTICATE XOAUTH2 {payload}\nS: A1 NO AUTHENTICATE failed.\nS: * OK The Microsoft Exchange IMAP4 service is ready."
    lines = [line.text for item in diagnose_text(pasted, diagnoser=None).sessions for line in item.record.lines]
    assert any("auth=Bearer <token 1 chars" in text for text in lines)
    assert any("The Microsoft Exchange IMAP4 service is ready." in text for text in lines), lines
