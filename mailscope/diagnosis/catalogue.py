"""The finding catalogue: every stable id with its title, owner, stage, default fix and provider links.

Ids come from docs/failure-modes.md (the shared catalogue); entries with `addition=True` are causes that
catalogue lacks (connection faults, the healthy result, warnings) and are listed as mailscope additions in
docs/findings.md. Rules fill in exact values (scopes, commands, addresses); the fix here is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailscope.findings import EvidenceKind, Owner, Severity

MS_OAUTH_DOC = ("https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/"
                "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth")
MS_SMTP_AUTH_DOC = ("https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/"
                    "authenticated-client-smtp-submission")
ENTRA_ERRORS_DOC = "https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes"
GOOGLE_XOAUTH2_DOC = "https://developers.google.com/workspace/gmail/imap/xoauth2-protocol"
GOOGLE_LSA_DOC = "https://support.google.com/a/answer/14114704"
GOOGLE_TESTING_DOC = "https://developers.google.com/google-ads/api/docs/get-started/common-errors"
RFC7628 = "https://www.rfc-editor.org/rfc/rfc7628"
RFC4959 = "https://www.rfc-editor.org/rfc/rfc4959"
ATLASSIAN_SEED_KB = ("https://support.atlassian.com/jira/kb/"
                     "imap-setup-fails-with-authenticate-failed-error-in-logs-in-jira-server-when-using-oauth/")
ATLASSIAN_NOT_CONNECTED_KB = ("https://confluence.atlassian.com/jirakb/imap-fails-with-a3-bad-user-is-authenticated-but-not-"
                              "connected-error-in-jira-server-integrated-with-office365-665420269.html")
EXCHANGE_SMTP_BASIC_BLOG = ("https://techcommunity.microsoft.com/blog/exchange/"
                            "exchange-online-to-retire-basic-auth-for-client-submission-smtp-auth/4114750")

L, C, S, CAP, T, LOG = (EvidenceKind.LINE, EvidenceKind.CLAIM, EvidenceKind.SETTING, EvidenceKind.CAPABILITY,
                        EvidenceKind.TOKEN_RESPONSE, EvidenceKind.LOG)
ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class Entry:
    """A failure mode of the catalogue: what every finding of this id says whatever session raised it."""

    id: str
    title: str
    owner: Owner
    stage: str  # "settings" | "token" | "mechanism" | "wire" | "mailbox" | "session" | "connection" | "result"
    evidence_kinds: tuple[EvidenceKind, ...]
    fix: tuple[str, ...]
    links: tuple[str, ...] = ()
    providers: str = "both"  # "microsoft" | "google" | "both" | "any"
    severity: Severity = ERR
    addition: bool = False  # not in docs/failure-modes.md: a mailscope addition


def _e(*args, **kwargs) -> Entry:
    return Entry(*args, **kwargs)


_ENTRIES: tuple[Entry, ...] = (
    # -- 2.1 mechanism and SASL ----------------------------------------------------------------------
    _e("basic_auth_mechanism_used_when_disabled",
       "Client uses a password mechanism (LOGIN / AUTHENTICATE PLAIN / AUTH LOGIN) where basic auth is off",
       Owner.CLIENT_CONFIGURATION, "mechanism", (L, CAP, LOG, S),
       ("Make the client use XOAUTH2 and pass the access token, not a password.",
        "Request the protocol scope for the mail resource (plus offline_access for non-msal clients).",
        "Basic auth cannot be turned back on for Exchange Online IMAP/POP."),
       (ATLASSIAN_SEED_KB, MS_OAUTH_DOC, EXCHANGE_SMTP_BASIC_BLOG), "both"),
    _e("token_sent_as_password_via_plain", "Access token put into a PLAIN/LOGIN password field instead of XOAUTH2",
       Owner.CLIENT_CONFIGURATION, "mechanism", (L, S, C),
       ("Select the XOAUTH2 mechanism; never fall back to PLAIN/LOGIN with a token.",), (MS_OAUTH_DOC, GOOGLE_XOAUTH2_DOC)),
    _e("no_oauth_mechanism_before_starttls",
       "Capabilities read before STARTTLS list no AUTH mechanism, so XOAUTH2 looks unsupported",
       Owner.CLIENT_CONFIGURATION, "mechanism", (CAP, L, S),
       ("Use implicit TLS (IMAP 993, POP 995), or do STARTTLS and read the capabilities again afterwards.",
        "Judge mechanisms only from the post-TLS capability list (SMTP: EHLO again after STARTTLS)."), (MS_OAUTH_DOC,)),
    _e("server_lacks_oauth_mechanism", "The server does not offer XOAUTH2 or OAUTHBEARER", Owner.SERVER, "mechanism", (CAP, S),
       ("Point the client at the provider's cloud endpoint (outlook.office365.com, imap.gmail.com).",
        "Through a local OAuth proxy use PLAIN to the proxy; for servers naming OAUTHBEARER use that mechanism."),
       (MS_OAUTH_DOC, GOOGLE_XOAUTH2_DOC), "any"),
    _e("sasl_ir_not_advertised_or_misused", "SASL initial response used without SASL-IR (or SASL-IR missing)",
       Owner.CLIENT_CONFIGURATION, "mechanism", (CAP, L),
       ("Send the initial response on the AUTHENTICATE line only when the server lists SASL-IR; otherwise send "
        "'AUTHENTICATE XOAUTH2', wait for '+ ', then send the base64 line.",), (RFC4959,), "any"),
    _e("pop3_xoauth2_one_line_rejected_exchange", "Exchange POP3 rejects AUTH XOAUTH2 with the initial response on one line",
       Owner.CLIENT_CONFIGURATION, "wire", (L,),
       ("Send 'AUTH XOAUTH2', wait for '+', then send the base64 string on its own line.",), (MS_OAUTH_DOC,), "microsoft"),
    _e("error_challenge_not_acknowledged", "Client does not answer the server's error challenge, so the session hangs or aborts",
       Owner.CLIENT_CONFIGURATION, "wire", (L,),
       ("On '+ <base64>' during XOAUTH2 send an empty line (OAUTHBEARER: 'AQ=='), then read the tagged answer.",
        "Log the decoded JSON: it is the only reason Gmail gives."), (GOOGLE_XOAUTH2_DOC, RFC7628)),
    _e("xoauth2_string_malformed", "The XOAUTH2 initial response is built wrongly", Owner.CLIENT_CONFIGURATION, "wire", (L,),
       ("Build base64('user=' + user + '\\x01auth=Bearer ' + token + '\\x01\\x01') on one line, no whitespace.",),
       (GOOGLE_XOAUTH2_DOC, MS_OAUTH_DOC)),
    _e("oauthbearer_payload_wrong_format", "OAUTHBEARER sent with an XOAUTH2-style payload (or the reverse)",
       Owner.CLIENT_CONFIGURATION, "wire", (L, CAP),
       ("Use XOAUTH2 with Exchange (it does not offer OAUTHBEARER).",
        "For OAUTHBEARER build the GS2 header: 'n,a=<user>,\\x01host=<host>\\x01port=<port>\\x01auth=Bearer <token>\\x01\\x01'."),
       (RFC7628,)),
    # -- 2.2 Microsoft -------------------------------------------------------------------------------
    _e("ms_graph_scope_or_audience", "Token was issued for Microsoft Graph (or another resource), not Exchange Online",
       Owner.CLIENT_CONFIGURATION, "token", (C, S, T, L),
       ("Request https://outlook.office.com/IMAP.AccessAsUser.All (POP/SMTP equivalents) plus offline_access.",
        "Use a second token for any Graph calls."), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_bare_scope_defaults_to_graph", "Scope given without a resource prefix silently resolves to Microsoft Graph",
       Owner.CLIENT_CONFIGURATION, "settings", (S, C),
       ("Always give the full URI, e.g. https://outlook.office.com/IMAP.AccessAsUser.All.",), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_mixed_resource_scopes", "Graph scopes and Outlook scopes requested together", Owner.CLIENT_CONFIGURATION, "settings",
       (S, T), ("Make one token request per resource; openid/profile/offline_access/email may go with either.",),
       (MS_OAUTH_DOC, ENTRA_ERRORS_DOC), "microsoft"),
    _e("ms_protocol_scope_mismatch", "Token has the scope for another protocol", Owner.CLIENT_CONFIGURATION, "token", (C, T, S, L),
       ("Add the protocol's scope (or app role) and consent again.",), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_offline_access_missing", "No refresh token, so it works for about an hour and then fails",
       Owner.CLIENT_CONFIGURATION, "token", (T, S),
       ("Add offline_access to the requested scopes (not with msal: msal adds it itself and raises if you pass it).",),
       (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_token_expired", "Access token past its expiry at AUTHENTICATE time", Owner.CLIENT_CONFIGURATION, "token", (C, T, L),
       ("Call acquire_token_silent before each connection and refresh about 5 minutes before exp.",), (MS_OAUTH_DOC,), "microsoft"),
    _e("token_expired_mid_session", "Long-lived session cut when the token that opened it expired", Owner.CLIENT_CONFIGURATION,
       "session", (L, C),
       ("Handle the untagged BYE: refresh the token and reconnect; do not treat it as bad credentials.",), (MS_OAUTH_DOC,)),
    _e("ms_user_mismatch_token_vs_login", "The SASL user is not the user the delegated token was issued to",
       Owner.USER, "token", (C, L, S),
       ("Sign in as the mailbox owner, or give the signed-in user FullAccess (IMAP/POP) / SendAs (SMTP) and put the "
        "target mailbox in user=.",), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_shared_mailbox_no_fullaccess", "Shared mailbox opened with a delegated token from a user without FullAccess",
       Owner.TENANT_ADMIN, "mailbox", (C, L),
       ("Add-MailboxPermission -Identity <shared mailbox> -User <delegate> -AccessRights FullAccess; wait for replication.",),
       (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_authenticated_but_not_connected", "Exchange accepted the token but could not open the mailbox", Owner.TENANT_ADMIN,
       "mailbox", (L, C),
       ("The token is valid: look at mailbox access (user, FullAccess, service-principal permission, IMAP/POP enabled, licence).",),
       (ATLASSIAN_NOT_CONNECTED_KB, MS_OAUTH_DOC), "microsoft"),
    _e("ms_app_only_missing_role", "Client-credentials token lacks IMAP.AccessAsApp / POP.AccessAsApp / SMTP.SendAsApp",
       Owner.APP_REGISTRATION, "token", (C, L),
       ("Add the application permission under APIs my organization uses → Office 365 Exchange Online, then grant admin consent.",),
       (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_app_only_service_principal_missing_or_wrong_id",
       "Exchange has no service principal for the app, or it was registered with the wrong Object ID", Owner.TENANT_ADMIN,
       "token", (C, L),
       ("Connect-ExchangeOnline -Organization <tenantId>",
        "New-ServicePrincipal -AppId <APPLICATION_ID> -ObjectId <OBJECT_ID of the Enterprise Application>"),
       (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_app_only_mailbox_permission_missing", "The service principal has no permission on the target mailbox",
       Owner.TENANT_ADMIN, "mailbox", (C, L),
       ("Add-MailboxPermission -Identity <mailbox> -User <SERVICE_PRINCIPAL_ID> -AccessRights FullAccess",),
       (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_client_credentials_scope_format", "Client-credentials request with a non-/.default or mixed scope",
       Owner.CLIENT_CONFIGURATION, "settings", (S, T),
       ("scopes=['https://outlook.office365.com/.default']",), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_sendas_denied", "SMTP From differs from the authenticated mailbox and SendAs is missing", Owner.TENANT_ADMIN,
       "mailbox", (L, C),
       ("Send as the authenticated user, or Add-RecipientPermission <from> -AccessRights SendAs -Trustee <user or SP>.",),
       (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_wrong_token_type_or_audience", "ID token, a token for your own API, or a v2 token sent instead of an Exchange access token",
       Owner.CLIENT_CONFIGURATION, "token", (C,),
       ("Send result['access_token'] (not id_token) and request the outlook resource.",), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_national_cloud_mismatch", "Token authority, scope resource and mail host are not from the same Microsoft cloud",
       Owner.CLIENT_CONFIGURATION, "token", (C, S, L, T),
       ("Use one cloud consistently: authority, scope resource and mail host.",), (MS_OAUTH_DOC, ENTRA_ERRORS_DOC), "microsoft"),
    _e("ms_account_type_or_authority_mismatch", "Personal vs work account used with the wrong authority or app audience",
       Owner.APP_REGISTRATION, "token", (C, S, T),
       ("/consumers (or /common) for Outlook.com, /organizations or /<tenant-id> for Microsoft 365.",),
       (ENTRA_ERRORS_DOC,), "microsoft"),
    _e("ms_wrong_tenant_or_authority", "Token requested from the wrong tenant, or the app/resource is not present there",
       Owner.APP_REGISTRATION, "token", (C, S, T),
       ("Use the mailbox user's home tenant id (or organizations); check the client id.",), (ENTRA_ERRORS_DOC,), "microsoft"),
    _e("ms_consent_or_permission_missing", "Delegated permission not consented (user or admin)", Owner.TENANT_ADMIN, "token", (T,),
       ("Grant admin consent in Entra (Enterprise applications → Permissions) or via the /adminconsent URL.",),
       (ENTRA_ERRORS_DOC,), "microsoft"),
    _e("ms_client_credential_config", "App registration platform / secret misconfiguration", Owner.APP_REGISTRATION, "token", (T,),
       ("Interactive/device code: PublicClientApplication with 'Allow public client flows'; client credentials: "
        "ConfidentialClientApplication with the secret VALUE.",), (ENTRA_ERRORS_DOC,), "microsoft"),
    _e("ms_conditional_access_or_mfa", "MFA / Conditional Access / security defaults block the sign-in", Owner.TENANT_ADMIN,
       "token", (T, L, S),
       ("Use the interactive or device-code flow (MFA satisfied in the browser); never ROPC for MFA users.",
        "Or add a Conditional Access exclusion / named location for the service."), (ENTRA_ERRORS_DOC,), "microsoft"),
    _e("ms_refresh_token_invalid_grant", "Refresh token revoked or expired", Owner.USER, "token", (T,),
       ("Sign in interactively again; persist the msal token cache and keep it fresh.",), (ENTRA_ERRORS_DOC,), "microsoft"),
    _e("ms_smtp_auth_disabled", "SMTP AUTH disabled for the tenant or the mailbox (this applies to OAuth too)",
       Owner.TENANT_ADMIN, "wire", (L,),
       ("Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false",
        "or tenant-wide: Set-TransportConfig -SmtpClientAuthenticationDisabled $false"), (MS_SMTP_AUTH_DOC,), "microsoft"),
    _e("smtp_auth_never_attempted", "Client sends MAIL FROM without a successful AUTH", Owner.CLIENT_CONFIGURATION, "wire", (L,),
       ("Send AUTH XOAUTH2 after STARTTLS and the second EHLO; if AUTH failed, surface that 535, not the 530.",),
       (MS_SMTP_AUTH_DOC,), "microsoft"),
    _e("ms_imap_pop_disabled", "IMAP or POP turned off for the mailbox", Owner.TENANT_ADMIN, "mailbox", (L,),
       ("Set-CASMailbox -Identity <mailbox> -ImapEnabled $true (POP: -PopEnabled $true)",
        "Outlook.com: Settings → Mail → Forwarding and IMAP → Let devices and apps use POP/IMAP."), (MS_OAUTH_DOC,), "microsoft"),
    _e("ms_mailbox_license_or_type", "No Exchange Online mailbox/licence (or a licence without IMAP), or an on-premises mailbox",
       Owner.TENANT_ADMIN, "mailbox", (L,),
       ("Assign an Exchange Online licence, or use the on-premises endpoint for on-premises mailboxes.",), (MS_OAUTH_DOC,),
       "microsoft"),
    # -- 2.3 Google ----------------------------------------------------------------------------------
    _e("google_scope_not_full_mail", "Token lacks https://mail.google.com/ (has a narrower Gmail API scope)",
       Owner.CLIENT_CONFIGURATION, "token", (T, L),
       ("Request https://mail.google.com/ (restricted scope: public apps need verification).",), (GOOGLE_XOAUTH2_DOC,), "google"),
    _e("google_token_expired_or_revoked", "Google access token expired (3600 s) or revoked", Owner.CLIENT_CONFIGURATION, "token",
       (T, L), ("creds.refresh(Request()) before each connect when creds.expired.",), (GOOGLE_XOAUTH2_DOC,), "google"),
    _e("google_refresh_token_invalid_grant", "Google refresh token no longer valid", Owner.USER, "token", (T,),
       ("Run consent again with access_type=offline&prompt=consent.",), (GOOGLE_XOAUTH2_DOC,), "google"),
    _e("google_testing_mode_7day_expiry", "Consent screen External + Testing: refresh tokens die after 7 days",
       Owner.APP_REGISTRATION, "token", (T,),
       ("Set the publishing status to 'In production', or use an Internal app for Workspace.",), (GOOGLE_TESTING_DOC,), "google"),
    _e("google_testing_user_not_allowed", "App in Testing and the signing-in account is not a test user", Owner.APP_REGISTRATION,
       "token", (T,), ("Add the account under OAuth consent screen → Audience → Test users, or publish the app.",), (), "google"),
    _e("google_admin_policy_blocks_app", "Workspace admin API controls (or Advanced Protection) block the OAuth client",
       Owner.TENANT_ADMIN, "token", (T,),
       ("Admin console → Security → Access and data control → API controls → mark the client ID as Trusted.",), (), "google"),
    _e("google_user_mismatch", "user= in XOAUTH2 is not the account that granted the token", Owner.USER, "token", (T, L, S),
       ("Use the primary address of the account that consented.",), (GOOGLE_XOAUTH2_DOC,), "google"),
    _e("google_service_account_without_dwd", "Service account used without domain-wide delegation for the mail scope",
       Owner.TENANT_ADMIN, "token", (T, S),
       ("Admin console → Security → Access and data control → API controls → Domain-wide delegation → Add new: the "
        "service account's numeric client ID and scope https://mail.google.com/.",), (GOOGLE_XOAUTH2_DOC,), "google"),
    _e("google_service_account_token_not_impersonating", "Service-account token obtained without subject, used for a user's mailbox",
       Owner.CLIENT_CONFIGURATION, "token", (T, S),
       ("credentials.with_subject('<user>') and put that same user in user=.",), (GOOGLE_XOAUTH2_DOC,), "google"),
    _e("google_password_auth_rejected", "Password (LOGIN/PLAIN) used on Gmail: app password needed, or legacy passwords are gone",
       Owner.CLIENT_CONFIGURATION, "mechanism", (L,),
       ("Use XOAUTH2 with scope https://mail.google.com/, or an app password (needs 2-Step Verification).",),
       (GOOGLE_LSA_DOC, GOOGLE_XOAUTH2_DOC), "google"),
    _e("google_imap_pop_disabled", "IMAP/POP disabled for the user or by the Workspace admin", Owner.TENANT_ADMIN, "mailbox", (L,),
       ("Admin console → Apps → Google Workspace → Gmail → End User Access → POP and IMAP access.",), (), "google"),
    _e("google_no_refresh_token_returned", "No Google refresh token because consent was not re-prompted",
       Owner.CLIENT_CONFIGURATION, "token", (T,),
       ("Request with access_type=offline and prompt=consent.",), (GOOGLE_XOAUTH2_DOC,), "google"),
    # -- 2.4 settings / topology ---------------------------------------------------------------------
    _e("provider_host_token_mismatch", "Token from one provider used against another provider's host", Owner.CLIENT_CONFIGURATION,
       "settings", (S, C, L),
       ("Map the host to its issuer: office365.com/outlook.com → login.microsoftonline.com; gmail.com → accounts.google.com.",),
       (), "both"),
    _e("wrong_port_or_tls_mode", "Implicit-TLS vs STARTTLS mismatch, or OAuth tried before TLS", Owner.CLIENT_CONFIGURATION,
       "connection", (S, L),
       ("IMAP 993 TLS, POP 995 TLS, SMTP 587 STARTTLS (Exchange) or 465 TLS / 587 STARTTLS (Gmail).",), (), "any"),
    _e("local_proxy_capability_rewrite", "Client talks to a local OAuth proxy that rewrites the capabilities",
       Owner.CLIENT_CONFIGURATION, "settings", (S, CAP),
       ("Use PLAIN to the proxy as it advertises; diagnose the upstream leg from the proxy's own log.",), (), "any"),
    # -- mailscope additions -------------------------------------------------------------------------
    _e("session_healthy", "Authenticated and mailbox reachable", Owner.USER, "result", (L,), (), (), "any", INFO, True),
    _e("auth_refused_cause_unknown", "The server refused the credential and the evidence does not show why",
       Owner.CLIENT_CONFIGURATION, "result", (L,),
       ("Run with a decodable token (JWT) or the token response's scope to let mailscope compare scope, audience and user.",),
       (), "any", ERR, True),
    _e("token_acquisition_failed", "The token endpoint refused to issue a token", Owner.APP_REGISTRATION, "token", (T,),
       ("Read the token endpoint's error and description; fix the app registration, consent or sign-in it names.",),
       (ENTRA_ERRORS_DOC,), "any", ERR, True),
    _e("token_expires_soon", "The access token expires within 5 minutes", Owner.CLIENT_CONFIGURATION, "token", (C, T),
       ("Refresh the token before each connection (msal acquire_token_silent / google-auth creds.refresh).",), (), "any", WARN, True),
    _e("token_not_yet_valid", "The token was not valid yet by the clock that timed the evidence: that clock is behind",
       Owner.CLIENT_CONFIGURATION, "token", (C, T),
       ("Synchronise the clock of the machine that runs the client (and writes the log) with NTP: "
        "timedatectl set-ntp true (Linux), w32tm /resync (Windows).",), (), "any", WARN, True),
    _e("dns_failure", "The mail host name does not resolve", Owner.NETWORK, "connection", (S,),
       ("Check the host name for typos; check DNS from this machine.",), (), "any", ERR, True),
    _e("connection_refused", "Nothing listens on that host and port", Owner.NETWORK, "connection", (S,),
       ("Check the port (IMAP 993, POP 995, SMTP 587/465) and any firewall between here and the server.",), (), "any", ERR, True),
    _e("connect_timeout", "The connection attempt timed out", Owner.NETWORK, "connection", (S,),
       ("Check firewalls/proxies: outbound 993/995/587/465 are often blocked.",), (), "any", ERR, True),
    _e("tls_verification_failed", "The server's TLS certificate could not be verified", Owner.NETWORK, "connection", (S, L),
       ("Check the host name against the certificate; give the right CA file if an inspecting proxy re-signs TLS.",),
       (), "any", ERR, True),
    _e("tls_handshake_failed", "The TLS handshake failed", Owner.NETWORK, "connection", (S, L),
       ("Check the TLS mode for this port and that the server supports TLS 1.2 or newer.",), (), "any", ERR, True),
    _e("server_refused_connection", "The server closed the connection at the greeting or answered unexpectedly", Owner.SERVER,
       "connection", (L,), ("Read the server's greeting; check the host is a mail server for this protocol.",), (), "any", ERR, True),
    _e("connection_closed_by_server", "The server closed the connection in the middle of a command", Owner.SERVER, "connection",
       (L,), ("Retry; if it repeats, read the last server line before the close.",), (), "any", ERR, True),
    _e("server_silent", "The server stopped answering", Owner.SERVER, "connection", (L,),
       ("Check the port/TLS mode; a silent server after a challenge means the client must answer it.",), (), "any", ERR, True),
    _e("protocol_error", "The conversation broke the protocol", Owner.CLIENT_CONFIGURATION, "connection", (L,),
       ("Check that the port speaks the protocol selected (IMAP/POP3/SMTP).",), (), "any", ERR, True),
    _e("client_parser_error", "mailscope's client library could not read the server's answer (not a server close)",
       Owner.MAILSCOPE, "connection", (L,),
       ("The server did not close the connection: the client library gave up on what it sent. The transcript holds every line.",
        "Retry with another client (openssl s_client, curl) to see whether the server's answer is valid, and report the "
        "transcript to mailscope with the fault's detail."), (), "any", ERR, True),
    _e("starttls_refused", "The server refused STARTTLS", Owner.SERVER, "connection", (L, S),
       ("Use the implicit-TLS port (IMAP 993, POP 995, SMTP 465) or a server that offers STARTTLS.",), (), "any", ERR, True),
    _e("settings_invalid", "The settings cannot work as given", Owner.CLIENT_CONFIGURATION, "settings", (S,),
       ("Correct the setting named in the explanation.",), (), "any", ERR, True),
    # -- field evidence: causes seen in real client logs and pasted fragments (issue 11) ------------------------------
    _e("password_sent_as_bearer", "A password was sent where the OAuth access token belongs (XOAUTH2/OAUTHBEARER)",
       Owner.CLIENT_CONFIGURATION, "mechanism", (L, S),
       ("Give the client an OAuth access token (from the provider's token endpoint: msal, google-auth, the client's own "
        "sign-in), not the account or app password: XOAUTH2 carries 'auth=Bearer <access token>'.",
        "A client with a password field and an OAuth switch: switch it to OAuth 2.0 and sign in in the browser; a client "
        "without one needs a helper that prints a fresh token (mutt_oauth2.py, oama, sasl-xoauth2) or a local OAuth proxy."),
       (MS_OAUTH_DOC, GOOGLE_XOAUTH2_DOC), "any", ERR, True),
    _e("token_expired", "The access token had expired when it was used", Owner.CLIENT_CONFIGURATION, "token", (C, T, L),
       ("Refresh the token before each connection (and about 5 minutes before exp); a cached token must be renewed with the "
        "refresh token, not reused.",), (RFC7628,), "any", ERR, True),
    _e("token_user_mismatch", "The user the client signs in as is not the user the token was issued to",
       Owner.USER, "token", (C, L, S),
       ("Sign in (get the token) as the mailbox user, or put the token's user in the SASL user= / a= field.",),
       (RFC7628,), "any", ERR, True),
    _e("token_scope_missing", "The token lacks the scope the server's error challenge names", Owner.CLIENT_CONFIGURATION, "token",
       (C, L), ("Request the scope the challenge names (its 'scope' member) from the identity provider, and consent again.",),
       (RFC7628,), "any", ERR, True),
    _e("oauth_request_invalid", "The server's error challenge says the OAuth request itself is malformed (status invalid_request)",
       Owner.CLIENT_CONFIGURATION, "wire", (L,),
       ("The token was not judged: the SASL message is. Send exactly one token, in 'auth=Bearer <token>', with the fields the "
        "mechanism needs (OAUTHBEARER: the GS2 header 'n,a=<user>,' and host/port; XOAUTH2: 'user=<mailbox>').",
        "Run the client with its SASL response logged (or paste it into mailscope logs): the payload's defects are listed."),
       (RFC7628,), "any", ERR, True),
    _e("auth_line_too_long", "The AUTH line (or the token in it) is longer than the server accepts", Owner.CLIENT_CONFIGURATION,
       "wire", (L,),
       ("Send 'AUTH XOAUTH2' without the initial response and the base64 after the server's 334/+ continuation: RFC 4954 "
        "says a client must do so when the initial response would make the command line too long.",
        "Exchange POP3 refuses tokens over about 4,096 characters even in the two-step form: use IMAP, or a token without large "
        "optional claims (group claims) for this app."),
       ("https://www.rfc-editor.org/rfc/rfc4954#section-4",), "any", ERR, True),
    _e("server_not_the_providers", "Another server answered than the provider's: an ISP, antivirus or proxy intercepts the port",
       Owner.NETWORK, "connection", (L, S),
       ("The greeting names the server that answered: compare it with the provider's (Exchange Online: '… Microsoft ESMTP MAIL "
        "Service ready', Gmail: '… ESMTP … - gsmtp').",
        "Turn off the antivirus' or firewall's mail scanning for this port, or ask the ISP to stop redirecting port 587/25; "
        "port 465 (implicit TLS) is not redirected by most.",
        "Check the certificate the server presents names the provider's host."), (), "any", ERR, True),
    _e("mechanism_setting_ignored", "The client sent another SASL mechanism than the one it was configured with",
       Owner.CLIENT_CONFIGURATION, "mechanism", (L, S, LOG),
       ("Check that the client reads the setting (its version and the exact option name), and that no fallback list puts the "
        "other mechanism first; Exchange Online offers only XOAUTH2.",), (RFC7628,), "any", ERR, True),
    _e("google_account_lookup_failed", "Gmail could not find the account named in user= ('Lookup failed')", Owner.USER, "token",
       (L, S),
       ("Put the Google account's primary address in user= (not an alias, a group or a non-Google address).",
        "Service account: with_subject('<user>') and user= must name the same existing Workspace user."),
       (GOOGLE_XOAUTH2_DOC,), "google", ERR, True),
    _e("oauth_proxy_password_mismatch", "The local password given to the OAuth proxy is not the one it saved the account's token "
       "with", Owner.CLIENT_CONFIGURATION, "settings", (L, S, LOG),
       ("Use one and the same password in every client of the proxy (IMAP, POP3 and SMTP alike): the proxy encrypts its "
        "cached token with it.",
        "Remove the account's cached token from the proxy's configuration and sign in again in the browser with the mailbox's "
        "own account (email-oauth2-proxy: delete the account's access_token/refresh_token entries)."),
       ("https://github.com/simonrob/email-oauth2-proxy#configuration",), "any", ERR, True),
    # -- token-endpoint outcomes the providers' explainer (providers/explain.py) names beyond the catalogue -------
    _e("ms_device_code_declined", "The device-code sign-in was declined", Owner.USER, "token", (T,),
       ("Run the check again and approve the sign-in with the mailbox account.",), (), "microsoft", ERR, True),
    _e("ms_device_code_expired", "The device code expired before it was approved", Owner.USER, "token", (T,),
       ("Run the check again and enter the code within its lifetime.",), (), "microsoft", ERR, True),
    _e("google_oauth_client_mismatch", "OAuth client not allowed to use this grant", Owner.CLIENT_CONFIGURATION, "token", (T,),
       ("Use the client id and secret that obtained the refresh token.",), (), "google", ERR, True),
    _e("google_consent_denied", "Consent was denied", Owner.USER, "token", (T,),
       ("Run the consent again and approve every requested scope.",), (), "google", ERR, True),
    _e("google_device_flow_cannot_grant_mail", "Google's device flow cannot grant Gmail scopes", Owner.CLIENT_CONFIGURATION,
       "token", (T,), ("Use the installed-app (browser) flow or a service account with domain-wide delegation.",), (), "google",
       ERR, True),
    _e("token_endpoint_unreachable", "The token endpoint could not be reached", Owner.NETWORK, "token", (T,),
       ("Check the authority/token URL, DNS, proxy and TLS trust from this machine.",), (), "any", ERR, True),
    _e("token_request_invalid_settings", "The token request could not be built from the settings", Owner.CLIENT_CONFIGURATION,
       "token", (T,), ("Correct the setting named in the explanation.",), (), "any", ERR, True),
    _e("interactive_sign_in_not_completed", "Nobody finished the sign-in in the browser in time", Owner.USER, "token", (T,),
       ("Open the authorization URL and finish the sign-in while mailscope waits (--signin-timeout SECONDS gives more time).",
        "Over SSH, forward the loopback port (ssh -L) or paste the address the browser ended on."), (), "any", ERR, True),
    _e("token_endpoint_error", "The token endpoint refused with an error mailscope has no specific explanation for",
       Owner.CLIENT_CONFIGURATION, "token", (T,),
       ("Look the error up in the identity provider's reference.",), (ENTRA_ERRORS_DOC,), "any", ERR, True),
)

# Which rule set names each id (docs/findings.md prints it; the table-driven tests hold each set to its list).
_ENGINE = "engine (mailscope/diagnosis/generic.py)"
_MICROSOFT = "Microsoft plug-in (providers/rules_microsoft.py)"
_GOOGLE = "Google plug-in (providers/rules_google.py)"
_EXPLAINER = "token-endpoint explainer (providers/explain.py)"
_RANKING = "ranking (mailscope/diagnosis/__init__.py)"
_COMMON = "provider plug-ins (providers/rules_common.py)"
RULE_HOME: dict[str, tuple[str, ...]] = {
    **dict.fromkeys((
        "token_sent_as_password_via_plain", "no_oauth_mechanism_before_starttls", "server_lacks_oauth_mechanism",
        "sasl_ir_not_advertised_or_misused", "error_challenge_not_acknowledged", "xoauth2_string_malformed",
        "oauthbearer_payload_wrong_format", "token_expired_mid_session", "provider_host_token_mismatch", "wrong_port_or_tls_mode",
        "local_proxy_capability_rewrite", "session_healthy", "token_expires_soon", "token_not_yet_valid", "dns_failure",
        "connection_refused",
        "connect_timeout", "tls_verification_failed", "tls_handshake_failed", "server_refused_connection",
        "connection_closed_by_server", "server_silent", "protocol_error", "starttls_refused", "settings_invalid",
        "client_parser_error", "password_sent_as_bearer", "token_expired", "token_user_mismatch", "token_scope_missing",
        "oauth_request_invalid", "mechanism_setting_ignored", "oauth_proxy_password_mismatch",
    ), (_ENGINE,)),
    "auth_line_too_long": (_ENGINE, _MICROSOFT),
    "server_not_the_providers": (_COMMON,),
    "google_account_lookup_failed": (_GOOGLE,),
    **dict.fromkeys(("auth_refused_cause_unknown", "token_acquisition_failed"), (_RANKING,)),
    **dict.fromkeys((
        "basic_auth_mechanism_used_when_disabled", "pop3_xoauth2_one_line_rejected_exchange", "ms_bare_scope_defaults_to_graph",
        "ms_protocol_scope_mismatch", "ms_offline_access_missing", "ms_token_expired", "ms_user_mismatch_token_vs_login",
        "ms_shared_mailbox_no_fullaccess", "ms_authenticated_but_not_connected", "ms_app_only_missing_role",
        "ms_app_only_service_principal_missing_or_wrong_id", "ms_app_only_mailbox_permission_missing", "ms_sendas_denied",
        "ms_wrong_token_type_or_audience", "ms_smtp_auth_disabled", "smtp_auth_never_attempted", "ms_imap_pop_disabled",
        "ms_mailbox_license_or_type",
    ), (_MICROSOFT,)),
    **dict.fromkeys((
        "ms_graph_scope_or_audience", "ms_mixed_resource_scopes", "ms_client_credentials_scope_format",
        "ms_national_cloud_mismatch", "ms_account_type_or_authority_mismatch", "ms_wrong_tenant_or_authority",
        "ms_conditional_access_or_mfa",
    ), (_MICROSOFT, _EXPLAINER)),
    **dict.fromkeys((
        "google_scope_not_full_mail", "google_token_expired_or_revoked", "google_user_mismatch",
        "google_service_account_token_not_impersonating", "google_password_auth_rejected", "google_imap_pop_disabled",
    ), (_GOOGLE,)),
    "google_no_refresh_token_returned": (_GOOGLE, _EXPLAINER),
    **dict.fromkeys((
        "ms_consent_or_permission_missing", "ms_client_credential_config", "ms_refresh_token_invalid_grant",
        "google_refresh_token_invalid_grant", "google_testing_mode_7day_expiry", "google_testing_user_not_allowed",
        "google_admin_policy_blocks_app", "google_service_account_without_dwd", "ms_device_code_declined", "ms_device_code_expired",
        "google_oauth_client_mismatch", "google_consent_denied", "google_device_flow_cannot_grant_mail",
        "token_endpoint_unreachable", "token_request_invalid_settings", "interactive_sign_in_not_completed", "token_endpoint_error",
    ), (_EXPLAINER,)),
}
RULE_SETS = {"engine": _ENGINE, "microsoft": _MICROSOFT, "google": _GOOGLE, "explainer": _EXPLAINER, "ranking": _RANKING,
             "common": _COMMON}  # fmt: skip

CATALOGUE: dict[str, Entry] = {entry.id: entry for entry in _ENTRIES}
CATALOGUE_IDS: tuple[str, ...] = tuple(e.id for e in _ENTRIES if not e.addition)
TOKEN_STAGE_IDS: frozenset[str] = frozenset(
    e.id for e in _ENTRIES if e.stage == "token" and e.id not in ("token_expires_soon", "token_not_yet_valid")
)


def entry(finding_id: str) -> Entry:
    return CATALOGUE[finding_id]
