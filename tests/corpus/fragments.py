"""The fragment table: what people paste when they have no whole log.

1. Every server string of the catalogue (`/work/shared/docs/failure-modes.md` §1.3 and the entries' Wire lines) that names
   a failure, alone and in three common wrappers (a timestamp prefix, a `DEBUG: ` prefix, quoted in the exception a
   client library raises), with the finding ids it supports.
2. Snippets from public issue threads, written the way users post them (PHPMailer `SMTPDebug`, Postfix's smtp client,
   Redmine's rake output, php-imap/c-client, imaplib, ...), each with the cause the thread itself states.

`decisive`: the text alone proves its cause, so `first` must be ranked first and confirmed. Otherwise the text fits
several causes: the expected result is unconfirmed candidates that include the true cause (`first` for a catalogue
string is the catalogue's first candidate; for a thread, the cause the thread states) and no confirmed finding outside
`candidates`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Candidate sets the catalogue gives for Exchange's and Gmail's generic refusals (§0.1, §1.3, §2.3 GMAIL_TOKEN_REJECT).
EXO_TOKEN_CAUSES = (
    "ms_graph_scope_or_audience", "ms_bare_scope_defaults_to_graph", "ms_protocol_scope_mismatch", "ms_token_expired",
    "ms_user_mismatch_token_vs_login", "ms_app_only_missing_role", "ms_app_only_service_principal_missing_or_wrong_id",
    "ms_app_only_mailbox_permission_missing", "ms_national_cloud_mismatch", "xoauth2_string_malformed",
    "ms_wrong_token_type_or_audience", "basic_auth_mechanism_used_when_disabled", "token_sent_as_password_via_plain",
    "ms_smtp_auth_disabled", "auth_refused_cause_unknown",
)  # fmt: skip
EXO_NOT_CONNECTED = (
    "ms_authenticated_but_not_connected", "ms_user_mismatch_token_vs_login", "ms_shared_mailbox_no_fullaccess",
    "ms_app_only_mailbox_permission_missing", "ms_imap_pop_disabled", "ms_mailbox_license_or_type",
)  # fmt: skip
GMAIL_TOKEN_CAUSES = (
    "google_scope_not_full_mail", "google_token_expired_or_revoked", "google_user_mismatch",
    "google_service_account_token_not_impersonating", "google_password_auth_rejected", "token_sent_as_password_via_plain",
    "auth_refused_cause_unknown",
)  # fmt: skip
GMAIL_CHALLENGE = "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="


@dataclass(frozen=True, slots=True)
class ServerString:
    key: str
    protocol: str  # imap | pop3 | smtp
    provider: str  # exchange | gmail
    text: str  # as the server sends it (IMAP with a tag)
    first: str
    candidates: tuple[str, ...]
    decisive: bool


@dataclass(frozen=True, slots=True)
class Case:
    """One text to paste into `mailscope logs -`, with what it must give."""

    key: str
    text: str
    first: str
    candidates: tuple[str, ...]
    decisive: bool
    source: str  # "catalogue" (and the wrapper) or the thread it comes from


def _s(key: str, protocol: str, provider: str, text: str, first: str, candidates: tuple[str, ...] = (), decisive: bool = True):
    return ServerString(key, protocol, provider, text, first, tuple(dict.fromkeys((first, *candidates))), decisive)


SERVER_STRINGS: tuple[ServerString, ...] = (
    # -- Exchange Online IMAP
    _s("exo-imap-authenticate-failed", "imap", "exchange", "A0001 NO AUTHENTICATE failed.", "ms_graph_scope_or_audience",
       EXO_TOKEN_CAUSES, decisive=False),
    _s("exo-imap-login-failed", "imap", "exchange", "A0002 NO LOGIN failed.", "basic_auth_mechanism_used_when_disabled",
       ("token_sent_as_password_via_plain",)),
    _s("exo-imap-not-connected", "imap", "exchange", "A0003 BAD User is authenticated but not connected.",
       "ms_authenticated_but_not_connected", EXO_NOT_CONNECTED, decisive=False),
    _s("exo-imap-bye-14", "imap", "exchange", "* BYE Connection closed. 14", "ms_authenticated_but_not_connected", EXO_NOT_CONNECTED,
       decisive=False),
    _s("exo-imap-token-expired-bye", "imap", "exchange", "* BYE Session invalidated - AccessTokenExpired", "token_expired_mid_session"),
    _s("exo-imap-caps-before-starttls", "imap", "exchange",
       "* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+",
       "no_oauth_mechanism_before_starttls", ("server_lacks_oauth_mechanism", "wrong_port_or_tls_mode"), decisive=False),
    _s("imap-unsupported-mechanism", "imap", "exchange",
       "A0001 NO AUTHENTICATE failed. Unsupported authentication mechanism 'XOAUTH2'", "server_lacks_oauth_mechanism"),
    # -- Exchange Online POP3
    _s("exo-pop-auth-failure", "pop3", "exchange", "-ERR Authentication failure: unknown user name or bad password.",
       "ms_graph_scope_or_audience", EXO_TOKEN_CAUSES, decisive=False),
    _s("exo-pop-protocol-error", "pop3", "exchange", "-ERR Protocol error. Connection is closed. 10",
       "pop3_xoauth2_one_line_rejected_exchange"),
    _s("exo-pop-logon-failure", "pop3", "exchange", "-ERR Logon failure: unknown user name or bad password.",
       "basic_auth_mechanism_used_when_disabled", EXO_TOKEN_CAUSES, decisive=False),
    # -- Exchange Online SMTP
    _s("exo-smtp-535-573", "smtp", "exchange", "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]",
       "ms_user_mismatch_token_vs_login", EXO_TOKEN_CAUSES, decisive=False),
    _s("exo-smtp-auth-disabled-tenant", "smtp", "exchange",
       "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
       "https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com "
       "2023-09-12T20:59:57.214Z 08DBB276B7E699C4]", "ms_smtp_auth_disabled"),
    _s("exo-smtp-auth-disabled-mailbox", "smtp", "exchange",
       "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit "
       "https://aka.ms/smtp_auth_disabled for more information.", "ms_smtp_auth_disabled"),
    _s("exo-smtp-basic-auth-disabled", "smtp", "exchange", "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
       "basic_auth_mechanism_used_when_disabled"),
    _s("exo-smtp-criteria", "smtp", "exchange",
       "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact "
       "your administrator.", "ms_conditional_access_or_mfa", ("basic_auth_mechanism_used_when_disabled",), decisive=False),
    _s("exo-smtp-security-defaults", "smtp", "exchange",
       "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your "
       "administrator.", "ms_conditional_access_or_mfa", ("basic_auth_mechanism_used_when_disabled",)),
    _s("exo-smtp-550-5730", "smtp", "exchange", "550 5.7.30 Basic authentication is not supported for Client Submission.",
       "basic_auth_mechanism_used_when_disabled"),
    _s("exo-smtp-530-5757", "smtp", "exchange",
       "530 5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z "
       "08DBE7319275F6BA]", "smtp_auth_never_attempted"),
    _s("exo-smtp-501-55124", "smtp", "exchange",
       "501 5.5.124 Invalid XOAUTH2 auth data - User address provided is not valid.", "xoauth2_string_malformed"),
    _s("exo-smtp-430-storedrv", "smtp", "exchange",
       "430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission.Exception:ConnectionFailedTransientException."
       "MapiExceptionLogonFailed; Failed to process message due to a transient exception with message "
       "[BeginDiagnosticData]Cannot open mailbox.", "ms_app_only_mailbox_permission_missing"),
    _s("exo-smtp-554-sendas", "smtp", "exchange",
       "554 5.2.252 SendAsDenied; info@contoso.com not allowed to send as noreply@contoso.com; STOREDRV.Submission.Exception:"
       "SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message "
       "[BeginDiagnosticData]Cannot submit message.", "ms_sendas_denied"),
    _s("exo-smtp-554-520-sendas", "smtp", "exchange",
       "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due "
       "to a permanent exception with message Cannot submit message.", "ms_sendas_denied"),
    # -- Gmail IMAP
    _s("gmail-imap-challenge", "imap", "gmail", f"+ {GMAIL_CHALLENGE}", "google_scope_not_full_mail", GMAIL_TOKEN_CAUSES,
       decisive=False),
    _s("gmail-imap-authenticationfailed", "imap", "gmail", "A0001 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
       "google_scope_not_full_mail", GMAIL_TOKEN_CAUSES, decisive=False),
    _s("gmail-imap-invalid-sasl-no", "imap", "gmail", "A0001 NO Invalid SASL argument. q15mb12345678abc", "xoauth2_string_malformed"),
    _s("gmail-imap-invalid-sasl-bad", "imap", "gmail", "A002 BAD Invalid SASL argument. i29mb53490361edj",
       "oauthbearer_payload_wrong_format", ("xoauth2_string_malformed",), decisive=False),
    _s("gmail-imap-client-aborted", "imap", "gmail", "A0001 BAD Client aborted AUTHENTICATE command. h10mb2245678lfi",
       "error_challenge_not_acknowledged"),
    _s("gmail-imap-app-password", "imap", "gmail",
       "A0001 NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",
       "google_password_auth_rejected"),
    _s("gmail-imap-web-login", "imap", "gmail",
       "A0001 NO [ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)",
       "google_password_auth_rejected"),
    _s("gmail-imap-webalert", "imap", "gmail",
       "* NO [WEBALERT https://accounts.google.com/ContinueSignIn?sarp=1&scc=1&plt=AKgnsbt] Web login required.",
       "google_password_auth_rejected"),
    _s("gmail-imap-disabled-account", "imap", "gmail",
       "A0001 NO [ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your "
       "account for IMAP access. (Failure)", "google_imap_pop_disabled"),
    _s("gmail-imap-disabled-domain", "imap", "gmail",
       "A0001 NO [ALERT] IMAP access is disabled for your domain. Please contact your domain administrator. (Failure)",
       "google_imap_pop_disabled"),
    _s("gmail-imap-session-expired-bye", "imap", "gmail", "* BYE Session expired, please login again.", "token_expired_mid_session"),
    # -- a local OAuth proxy (email-oauth2-proxy) refusing the client: its own replies, not the server's. Its words name
    #    the cause: the local password the client gave the proxy is not the one the proxy stored for the account
    _s("emailproxy-imap-login-failed", "imap", "exchange",
       "A1 NO LOGIN Email OAuth 2.0 Proxy: Login failed - the password for account alice@contoso.com is incorrect",
       "oauth_proxy_password_mismatch", ("local_proxy_capability_rewrite",)),
    _s("emailproxy-pop-auth-failed", "pop3", "exchange",
       "-ERR Authentication failed. Email OAuth 2.0 Proxy: Login failed - the password for account alice@contoso.com is incorrect",
       "oauth_proxy_password_mismatch", ("local_proxy_capability_rewrite",)),
    _s("emailproxy-smtp-credentials-invalid", "smtp", "exchange",
       "535 5.7.8  Authentication credentials invalid. Email OAuth 2.0 Proxy: Login failed - the password for account "
       "alice@contoso.com is incorrect", "oauth_proxy_password_mismatch", ("local_proxy_capability_rewrite",)),
    # -- Gmail POP3
    _s("gmail-pop-app-password", "pop3", "gmail", "-ERR [AUTH] Application-specific password required",
       "google_password_auth_rejected"),
    _s("gmail-pop-disabled-account", "pop3", "gmail", "-ERR [SYS/PERM] Your account is not enabled for POP access.",
       "google_imap_pop_disabled"),
    _s("gmail-pop-disabled-domain", "pop3", "gmail", "-ERR [SYS/PERM] POP access is disabled for your domain.",
       "google_imap_pop_disabled"),
    # -- Gmail SMTP
    _s("gmail-smtp-challenge", "smtp", "gmail", f"334 {GMAIL_CHALLENGE}", "google_scope_not_full_mail", GMAIL_TOKEN_CAUSES,
       decisive=False),
    _s("gmail-smtp-5.7.8", "smtp", "gmail",
       "535-5.7.8 Username and Password not accepted. For more information, go to\n"
       "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d2e1a72fcca58-7d1a2b3c4d5sm1234567b3a.12 - gsmtp",
       "google_scope_not_full_mail", GMAIL_TOKEN_CAUSES, decisive=False),
    _s("gmail-smtp-5.7.1", "smtp", "gmail",
       "535-5.7.1 Username and Password not accepted. Learn more at\n"
       "535 5.7.1 https://support.google.com/mail/?p=BadCredentials z1sm2345678wrt.12 - gsmtp",
       "google_scope_not_full_mail", GMAIL_TOKEN_CAUSES, decisive=False),
    _s("gmail-smtp-app-password", "smtp", "gmail",
       "534-5.7.9 Application-specific password required. For more information, go to\n"
       "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a640c23a62f3a-ab7c1234567sm123456866b.54 - gsmtp",
       "google_password_auth_rejected"),
    _s("gmail-smtp-web-login", "smtp", "gmail",
       "534-5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbu> Please log in via your web browser and\n"
       "534-5.7.14 then try again.\n534 5.7.14  Learn more at https://support.google.com/mail/answer/78754 f3sm123456qkb.7 - gsmtp",
       "google_password_auth_rejected"),
)  # fmt: skip


# -- wrappers ---------------------------------------------------------------------------------------------


def _untagged(text: str) -> str:
    """The reply as a library's exception quotes it: IMAP without tag and status, SMTP without its code."""
    words = text.split(" ", 2)
    if words[0] not in ("*", "+") and len(words) == 3 and words[1] in ("OK", "NO", "BAD"):
        return words[2]
    return text


def exception_wrapped(s: ServerString) -> str:
    """Quoted in the exception the usual client library raises for it (the form pasted from a stack trace)."""
    first_line = s.text.split("\n")[0]
    if s.protocol == "smtp":  # smtplib: the code, then the reply lines without their codes
        code = int(first_line[:3])
        text = repr("\n".join(line[4:] for line in s.text.split("\n")).encode())  # b'...' as Python prints it
        if code == 530:  # refused at MAIL FROM
            return f"smtplib.SMTPSenderRefused: ({code}, {text}, 'alice@contoso.com')"
        if code in (430, 554):  # refused at DATA
            return f"smtplib.SMTPDataError: ({code}, {text})"
        return f"smtplib.SMTPAuthenticationError: ({code}, {text})"
    if s.protocol == "pop3":
        return f"poplib.error_proto: {first_line.encode()!r}"
    if s.provider == "exchange":  # Jira's mail handler: JavaMail
        return f"javax.mail.AuthenticationFailedException: {_untagged(first_line)}"
    return f"imaplib.IMAP4.error: {_untagged(first_line).encode()!r}"


WRAPPERS = {
    "alone": lambda s: s.text,
    "timestamp": lambda s: "\n".join(f"2024-05-14 09:12:33,412 {line}" for line in s.text.split("\n")),
    "debug": lambda s: "\n".join(f"DEBUG: {line}" for line in s.text.split("\n")),
    "exception": exception_wrapped,
}


# -- snippets from public issue threads -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadSnippet:
    key: str
    thread: str  # where it was posted
    cause: str  # the cause the thread states, in its words
    text: str
    first: str
    candidates: tuple[str, ...]
    decisive: bool


THREAD_SNIPPETS: tuple[ThreadSnippet, ...] = (
    ThreadSnippet(
        "postfix-office365-5.7.3-wrong-account", "tarickb/sasl-xoauth2#43",
        "the first token was obtained by signing in with the global admin account, not the sending mailbox",
        "Sep 28 13:03:50 relay postfix/smtp[17059]: 9BDCBA19EA: SASL authentication failed; server smtp.office365.com"
        "[40.99.150.50] said: 535 5.7.3 Authentication unsuccessful [FR3P281CA0094.DEUP281.PROD.OUTLOOK.COM]",
        "ms_user_mismatch_token_vs_login", EXO_TOKEN_CAUSES, False),
    ThreadSnippet(
        "postfix-office365-530-no-auth-info", "tarickb/sasl-xoauth2#96",
        "Postfix found no SASL credentials for the relay (smtp_sasl_password_maps lookup failed), so it never sent AUTH",
        "Oct 24 09:08:11 relay01 postfix/smtp[69929]: smtp_sasl_passwd_lookup: no auth info found (sender=`', "
        "host=`smtp.office365.com')\n"
        "Oct 24 09:08:11 relay01 postfix/smtp[69929]: > smtp.office365.com[52.96.40.242]:587: MAIL FROM:<> SIZE=2850 BODY=8BITMIME\n"
        "Oct 24 09:08:11 relay01 postfix/smtp[69929]: > smtp.office365.com[52.96.40.242]:587: RCPT TO:<dan@example.com> "
        "ORCPT=rfc822;dan@example.com\n"
        "Oct 24 09:08:15 relay01 postfix/smtp[69929]: < smtp.office365.com[52.96.40.242]:587: 530 5.7.57 Client not "
        "authenticated to send mail. [US22278CA0034.US7P278.PROD.OUTLOOK.COM 2024-10-24T07:08:15.123Z 08DCF3C1A2B4D5E6]",
        "smtp_auth_never_attempted", (), True),
    ThreadSnippet(
        "phpmailer-office365-smtp-auth-disabled", "email-oauth2-proxy#193 / nodemailer#1484 (the reply); PHPMailer SMTPDebug=2 shape",
        "SMTP AUTH is disabled for the tenant (Set-TransportConfig -SmtpClientAuthenticationDisabled), which blocks OAuth too",
        "2023-09-12 20:59:56 SERVER -> CLIENT: 220 MN2PR05CA0004.outlook.office365.com Microsoft ESMTP MAIL Service ready at "
        "Tue, 12 Sep 2023 20:59:56 +0000\n"
        "2023-09-12 20:59:56 CLIENT -> SERVER: EHLO app.example.com\n"
        "2023-09-12 20:59:56 SERVER -> CLIENT: 250-MN2PR05CA0004.outlook.office365.com Hello [203.0.113.10]250-SIZE "
        "157286400250-PIPELINING250-DSN250-ENHANCEDSTATUSCODES250-STARTTLS250-8BITMIME250-BINARYMIME250-CHUNKING250 SMTPUTF8\n"
        "2023-09-12 20:59:56 CLIENT -> SERVER: STARTTLS\n"
        "2023-09-12 20:59:56 SERVER -> CLIENT: 220 2.0.0 SMTP server ready\n"
        "2023-09-12 20:59:56 CLIENT -> SERVER: EHLO app.example.com\n"
        "2023-09-12 20:59:57 SERVER -> CLIENT: 250-MN2PR05CA0004.outlook.office365.com Hello [203.0.113.10]250-SIZE "
        "157286400250-PIPELINING250-DSN250-ENHANCEDSTATUSCODES250-AUTH LOGIN XOAUTH2250-8BITMIME250-BINARYMIME250-CHUNKING250 "
        "SMTPUTF8\n"
        "2023-09-12 20:59:57 CLIENT -> SERVER: AUTH XOAUTH2 dXNlcj1pbmZvQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIDxyZWRhY3RlZD4BAQ==\n"
        "2023-09-12 20:59:57 SERVER -> CLIENT: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
        "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com "
        "2023-09-12T20:59:57.214Z 08DBB276B7E699C4]\n"
        "2023-09-12 20:59:57 SMTP ERROR: AUTH command failed: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
        "is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.\n"
        "SMTP Error: Could not authenticate.",
        "ms_smtp_auth_disabled", (), True),
    ThreadSnippet(
        "redmine-rake-authenticate-failed", "kontron/redmine_oauth#3",
        "the app registration's API permissions were wrong (recreating it with the Exchange application permission fixed it)",
        "$ rake -f /opt/bitnami/redmine/Rakefile redmine_oauth:email:receive_imap RAILS_ENV=\"production\" host=outlook.office365.com "
        "port=993 ssl=1 scope=https://outlook.office365.com/.default username=helpdesk@example.com --trace\n"
        "** Invoke redmine_oauth:email:receive_imap (first_time)\n"
        "** Invoke environment (first_time)\n"
        "** Execute environment\n"
        "** Execute redmine_oauth:email:receive_imap\n"
        "AUTHENTICATE failed.",
        "ms_app_only_missing_role",
        ("ms_app_only_service_principal_missing_or_wrong_id", "ms_app_only_mailbox_permission_missing", *EXO_TOKEN_CAUSES), False),
    ThreadSnippet(
        "php-imap2-wrong-object-id", "javanile/php-imap2#42",
        "New-ServicePrincipal was run with the wrong Object-ID (the app registration's, not the enterprise application's)",
        "PHP Warning:  imap2_open(): Can not authenticate to IMAP server: A0001 NO AUTHENTICATE failed. in "
        "/var/www/html/mail/fetch.php on line 31",
        "ms_app_only_service_principal_missing_or_wrong_id", EXO_TOKEN_CAUSES, False),
    ThreadSnippet(
        "php-imap-c-client-retrying-plain", "barbushin/php-imap#726 / Webklex/php-imap#302",
        "a password (app password) over IMAP: Outlook.com/Office 365 no longer take basic authentication",
        "imap_open(): Couldn't open stream {outlook.office365.com:993/imap/novalidate-cert/ssl}. Retrying PLAIN authentication "
        "after AUTHENTICATE failed.; Retrying PLAIN authentication after AUTHENTICATE failed.; Can not authenticate to IMAP "
        "server: AUTHENTICATE failed.",
        "basic_auth_mechanism_used_when_disabled", ("token_sent_as_password_via_plain",), True),
    ThreadSnippet(
        "imaplib-gmail-modify-scope", "google/gmail-oauth2-tools#78",
        "the token had https://www.googleapis.com/auth/gmail.modify instead of https://mail.google.com/",
        "  57:11.12 > b'ILPK1 AUTHENTICATE XOAUTH2'\n"
        "  57:11.16 < b'+ '\n"
        "  57:11.16 write literal size 364\n"
        f"  57:11.40 < b'+ {GMAIL_CHALLENGE}'\n"
        "  57:11.40 write literal size 364\n"
        "  57:11.61 < b'ILPK1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)'\n"
        "  57:11.61 NO response: b'[AUTHENTICATIONFAILED] Invalid credentials (Failure)'",
        "google_scope_not_full_mail", GMAIL_TOKEN_CAUSES, False),
    ThreadSnippet(
        "getmail6-exchange-pop-one-line", "getmail6#256",
        "the POP3 AUTH XOAUTH2 was sent with the initial response on the AUTH line; Exchange wants the two-step form",
        "getmail version 6.18.9\n"
        "Copyright (C) 1998-2023 Charles Cazabon and others. Licensed under GNU GPL version 2.\n"
        "SimplePOP3SSLRetriever:user@contoso.com@outlook.office365.com:995:\n"
        "  getmailOperationError error (POP error (-ERR Protocol error. Connection is closed. 10))",
        "pop3_xoauth2_one_line_rejected_exchange", (), True),
    ThreadSnippet(
        "node-imap-invalid-sasl", "mscdex/node-imap#233",
        "the XOAUTH2 string was generated with the wrong user name format",
        "<= '* OK Gimap ready for requests from 198.51.100.7 q2mb85482632wib'\n"
        "=> 'A0 CAPABILITY'\n"
        "<= '* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 "
        "AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH'\n"
        "<= 'A0 OK Thats all she wrote! q2mb85482632wib'\n"
        "=> 'A1 AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciA8cmVkYWN0ZWQ+AQE='\n"
        f"<= '+ {GMAIL_CHALLENGE}'\n"
        "=> ''\n"
        "<= 'A1 NO Invalid SASL argument. q2mb85482632wib'",
        "xoauth2_string_malformed", (), True),
    ThreadSnippet(
        "curl-gmail-oauthbearer-invalid-sasl", "curl/curl#2487",
        "curl 7.59 sent an XOAUTH2-style payload under OAUTHBEARER (no GS2 header)",
        "> A002 AUTHENTICATE OAUTHBEARER dXNlcj1hbGljZUBnbWFpbC5jb20BaG9zdD1pbWFwLmdtYWlsLmNvbQFwb3J0PTk5MwFhdXRoPUJlYXJlciA8cmVkYW"
        "N0ZWQ+AQE=\n"
        "< A002 BAD Invalid SASL argument. i29mb53490361edj\n"
        "* Authentication failed: 67\n"
        "curl: (67) Login denied",
        "oauthbearer_payload_wrong_format", ("xoauth2_string_malformed",), True),
    ThreadSnippet(
        "offlineimap-client-aborted", "OfflineIMAP#374",
        "the client answered Gmail's error challenge with '*' (abort) instead of an empty line",
        "  imap:   41:07.25 > b'NHJE2 AUTHENTICATE XOAUTH2'\n"
        "  imap:   41:07.30 < b'+ '\n"
        f"  imap:   41:07.55 < b'+ {GMAIL_CHALLENGE}'\n"
        "  imap:   41:07.55 > b'*'\n"
        "  imap:   41:07.60 < b'NHJE2 BAD Client aborted AUTHENTICATE command. h10mb2245678lfi'",
        "error_challenge_not_acknowledged", ("google_scope_not_full_mail", "google_token_expired_or_revoked"), True),
    ThreadSnippet(
        "aioimaplib-access-token-expired", "iroco-co/aioimaplib#83",
        "the IMAP session outlived its access token; Exchange ends it on the next command",
        "DEBUG:aioimaplib.aioimaplib:Sending : b'myprefix LIST \"\" \"*\"\\r\\n'\n"
        "DEBUG:aioimaplib.aioimaplib:Received : b'* BYE Session invalidated - AccessTokenExpired\\r\\n'\n"
        "aioimaplib.aioimaplib.Abort: command LIST illegal in state LOGOUT",
        "token_expired_mid_session", (), True),
    ThreadSnippet(
        "emailproxy-authenticated-not-connected", "simonrob/email-oauth2-proxy#275",
        "the account signed in for the token does not match (or has no permission on) the IMAP mailbox",
        "2022-06-08 10:15:02,114: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993)     <-- b'A1 OK AUTHENTICATE "
        "completed.\\r\\n'\n"
        "2022-06-08 10:15:02,120: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993) --> b'A2 SELECT INBOX\\r\\n'\n"
        "2022-06-08 10:15:02,131: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993) <-- b'A2 BAD User is "
        "authenticated but not connected.\\r\\n'\n"
        "2022-06-08 10:15:02,132: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993) <-- b'* BYE Connection "
        "closed. 14\\r\\n'",
        "ms_user_mismatch_token_vs_login", EXO_NOT_CONNECTED, False),
)  # fmt: skip


def cases() -> Iterator[Case]:
    """Every text of the table: each server string alone and in each wrapper, then the thread snippets."""
    for s in SERVER_STRINGS:
        for wrapper, wrap in WRAPPERS.items():
            yield Case(f"{s.key}/{wrapper}", wrap(s), s.first, s.candidates, s.decisive, f"catalogue ({wrapper})")
    for t in THREAD_SNIPPETS:
        yield Case(f"thread/{t.key}", t.text, t.first, tuple(dict.fromkeys((t.first, *t.candidates))), t.decisive, t.thread)
