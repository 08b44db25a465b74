"""Token-endpoint errors → findings with catalogue ids (failure-modes.md §1.4).

Input is the error dict kept in `TokenEvidence.error`: msal passes Entra's JSON through
(`error`, `error_description`, `error_codes`), the Google source stores RefreshError's dict, the
generic/oauthlib paths store `{"error": ..., "error_description": ...}`. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mailscope.evidence import TokenEvidence
from mailscope.findings import DiagnosisInput, EvidenceKind, EvidenceRef, Finding, Owner, Severity
from mailscope.patterns import lazy
from mailscope.settings import CheckSettings, Protocol
from providers import presets

_AADSTS_RE = lazy(r"\bAADSTS(\d+)\b")
ERROR_REFERENCE = "https://learn.microsoft.com/entra/identity-platform/reference-error-codes"
MAIL_OAUTH_DOC = "https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth"
GOOGLE_XOAUTH2_DOC = "https://developers.google.com/gmail/imap/xoauth2-protocol"


@dataclass(frozen=True, slots=True)
class Context:
    """What the fix steps may quote: the values the user typed, or placeholders when unknown."""

    settings: CheckSettings | None
    token: TokenEvidence

    @property
    def client_id(self) -> str:
        return (self.settings.client_id if self.settings else "") or "<client id>"

    @property
    def tenant(self) -> str:
        return (self.settings.tenant if self.settings else "") or "<tenant id or domain>"

    @property
    def cloud(self) -> str:
        return (self.settings.cloud if self.settings else "") or "global"

    @property
    def protocol(self) -> Protocol:
        return self.settings.protocol if self.settings else Protocol.IMAP

    @property
    def user(self) -> str:
        return (self.settings.user if self.settings else "") or "<mailbox address>"

    @property
    def flow(self) -> str:
        return self.token.flow or (self.settings.flow if self.settings else "")

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.token.requested_scopes or (self.settings.scopes if self.settings else ())

    @property
    def delegated_scope(self) -> str:
        return presets.microsoft_scopes(self.protocol, self.cloud, "device_code")[0]

    @property
    def app_scope(self) -> str:
        return presets.microsoft_scopes(self.protocol, self.cloud, "client_credentials")[0]

    @property
    def login_host(self) -> str:
        return presets.CLOUDS.get(self.cloud, presets.CLOUDS["global"]).login_host


Fix = Callable[[Context, int], tuple[str, ...]]  # (context, AADSTS code or 0)


@dataclass(frozen=True, slots=True)
class Explainer:
    """How one finding of an identity-provider error is told: its title, owner and the fix built from the context."""

    finding_id: str
    title: str
    owner: Owner
    fix: Fix
    links: tuple[str, ...] = (ERROR_REFERENCE,)


def _consent(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        f"Entra admin center → Enterprise applications → the app {c.client_id} → Permissions → "
        f"'Grant admin consent' for Office 365 Exchange Online / {presets.DELEGATED_SCOPE[c.protocol]}.",
        f"Or open https://{c.login_host}/{c.tenant}/adminconsent?client_id={c.client_id} as a Global/Cloud Application Administrator.",
        "In the app registration → API permissions, the permission must be listed (add it if missing) before consent.",
    )


def _wrong_tenant(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        f"Check that application (client) id {c.client_id} is registered in tenant {c.tenant} "
        "(Entra admin center → App registrations → All applications).",
        "Use the mailbox user's home tenant id (or `organizations`) as the authority, not another tenant.",
        "If the app lives in another tenant, make it multi-tenant (Supported account types) and consent to it in this tenant.",
    )


def _national_cloud(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        "Use one Microsoft cloud for authority, scope and mail host: GCC High/DoD → authority https://login.microsoftonline.us/<tenant>, "
        "scope https://outlook.office365.us/IMAP.AccessAsUser.All, host outlook.office365.us; "
        "21Vianet → https://login.partner.microsoftonline.cn/<tenant>, https://partner.outlook.cn/..., partner.outlook.cn.",
        "mailscope: set --cloud usgov|dod|china to match the tenant.",
    )


def _account_type(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        "Outlook.com/Hotmail accounts: authority `consumers` (or `common`). Microsoft 365 work accounts: `organizations` or the tenant id.",
        "If both kinds must sign in: app registration → Authentication → Supported account types → "
        "'Accounts in any organizational directory and personal Microsoft accounts'.",
        "Sign in with the account that owns the mailbox, not a guest/B2B account of another tenant.",
    )


def _client_config(c: Context, code: int = 0) -> tuple[str, ...]:
    public = (f"App registration {c.client_id} → Authentication → 'Allow public client flows' = Yes, with a 'Mobile and desktop "
              "applications' redirect URI http://localhost (Entra treats an app with only a Web redirect URI as confidential).")
    if code == 7000218:
        return (public, "Or, if the app must stay confidential, use client credentials with its secret or certificate.")
    if code == 700025:
        return (f"App {c.client_id} is a public client: do not send a client secret or assertion for device code / interactive "
                "sign-in (msal: PublicClientApplication).",)
    if code == 50011:
        return (f"App registration {c.client_id} → Authentication: add the exact redirect URI the client sends "
                "(for mailscope's loopback: http://localhost under 'Mobile and desktop applications').",)
    return (f"App registration {c.client_id} → Certificates & secrets: use the secret's VALUE (not its Secret ID), or create a new "
            "secret if it expired; for a certificate, upload the public certificate whose thumbprint the client sends.",
            public if c.flow not in presets.APP_ONLY_FLOWS else "Client credentials: ConfidentialClientApplication with that secret.")


def _mfa(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        "Use an interactive or device-code flow so MFA is satisfied in the browser; never username+password (ROPC) for MFA users.",
        "If a service must run unattended: client credentials (IMAP.AccessAsApp / SMTP.SendAsApp) or a Conditional Access exclusion "
        "/ named location agreed with the security admins.",
        "Entra admin center → Sign-in logs → the failed sign-in → Conditional Access tab shows which policy blocked it.",
    )


def _mixed_resources(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        f"Request only Exchange scopes in this token: {c.delegated_scope} (msal adds offline_access itself).",
        "Ask for Microsoft Graph scopes (User.Read, Mail.Read, ...) in a second, separate token request.",
    )


def _cc_scope(c: Context, code: int = 0) -> tuple[str, ...]:
    return (f"Client credentials need exactly one `/.default` scope: {c.app_scope}.",
            "Application permissions come from the app roles granted to the app (IMAP.AccessAsApp etc.), not from the scope list.")


def _graph_resource(c: Context, code: int = 0) -> tuple[str, ...]:
    return (f"Use the Exchange resource, not Microsoft Graph: {c.delegated_scope} (delegated) or {c.app_scope} (client credentials).",
            "A bare scope such as `IMAP.AccessAsUser.All` resolves to Graph: always give the full URI.")


def _refresh(c: Context, code: int = 0) -> tuple[str, ...]:
    return (
        "Sign in again interactively (device code or authorization code) to get a new refresh token.",
        "Keep the msal token cache and call acquire_token_silent before each connection so the refresh token stays in use.",
        "Revoked after a password change or 'Revoke sessions' by an admin: nothing to fix except signing in again.",
    )


def _device_declined(c: Context, code: int = 0) -> tuple[str, ...]:
    return ("Run the check again and approve the sign-in on the device-code page with the mailbox account.",)


def _device_expired(c: Context, code: int = 0) -> tuple[str, ...]:
    return ("Run the check again and enter the code within its lifetime (about 15 minutes).",)


MS_CODES: dict[int, tuple[str, str]] = {
    # code: (Entra error name, what it means for a mail setup)
    65001: ("DelegationDoesNotExist",
            "the user or an admin has not consented to the app for this resource (e.g. IMAP.AccessAsUser.All)"),
    65004: ("UserDeclinedConsent", "the user pressed Cancel on the consent prompt, so nothing was consented"),
    90094: ("AdminConsentRequired", "the tenant requires an administrator to approve this app"),
    90095: ("AdminConsentRequiredRequestAccess", "the tenant requires admin approval; the user can only request access"),
    650057: ("InvalidResourceServicePrincipalNotFound", "the resource is not listed in the app's required permissions"),
    650056: ("MisconfiguredApplication", "the app registration lacks the requested permission or admin consent"),
    700016: ("UnauthorizedClient_DoesNotMatchRequest",
             "the client id was not found in this tenant (wrong tenant, not multi-tenant, or wrong cloud)"),
    90002: ("InvalidTenantName", "the tenant id/domain was not found in this cloud"),
    90038: ("NationalCloudTenantRedirection", "the tenant lives in another Microsoft cloud"),
    50049: ("NoSuchInstanceForDiscovery", "unknown or invalid authority instance (often a cloud mix-up)"),
    50020: ("UserUnauthorized", "the account is from another tenant or identity provider than the app allows"),
    16000: ("InteractionRequired", "the signed-in account does not exist in this tenant (wrong account or tenant)"),
    500208: ("DomainHintMustbePresent", "the account type does not fit the authority (personal vs work account)"),
    50194: ("InvalidMultiTenantAppConfiguration", "a single-tenant app was used with the /common authority"),
    9002332: ("AppNotConfiguredForConsumers", "the app is for Entra (work) users only but was called on /consumers"),
    7000218: ("InvalidClientPublicClientWithCredential", "the app is a confidential client (Web platform, public client flows off) "
              "but no client secret or assertion was sent"),
    700025: ("InvalidClientPublicClientWithCredential", "a public client presented a client secret"),
    7000215: ("InvalidClientSecretProvided", "the client secret is wrong (often the secret ID pasted instead of its value)"),
    7000222: ("InvalidClientSecretExpiredKeysProvided", "the client secret or certificate has expired"),
    70002: ("InvalidClient", "error validating the client credentials"),
    50011: ("InvalidReplyTo", "the redirect URI does not match the ones registered for the app"),
    50076: ("UserStrongAuthRequired", "multi-factor authentication is required (typical with username+password flows)"),
    50079: ("UserStrongAuthEnrollmentRequired", "the user must enrol for multi-factor authentication"),
    50074: ("UserStrongAuthClientAuthNRequiredInterrupt", "strong authentication is required"),
    50158: ("ExternalSecurityChallenge", "an external security challenge was not satisfied"),
    53003: ("BlockedByConditionalAccess", "a Conditional Access policy blocked the token"),
    530032: ("BlockedByConditionalAccessOnSecurityPolicy", "the tenant security policy blocked the token"),
    530035: ("BlockedBySecurityDefaults", "security defaults blocked the sign-in"),
    70011: ("InvalidScope", "the scope string is not valid for this flow or resource"),
    28000: ("InvalidScope (more than one resource)", "the scopes name more than one resource (e.g. Graph and Exchange together)"),
    700022: ("InvalidScope (more than one resource)", "the scopes name more than one resource (e.g. Graph and Exchange together)"),
    1002012: ("InvalidScope", "client credentials were asked for a scope that is not `<resource>/.default`"),
    500011: ("InvalidResourceServicePrincipalNotFound", "the resource principal was not found in the tenant (wrong resource URI, "
             "e.g. https://graph.microsoft.com/SMTP.Send, or Exchange Online not in the tenant)"),
    70008: ("ExpiredOrRevokedGrant", "the refresh token expired through inactivity"),
    700082: ("ExpiredOrRevokedGrantInactiveToken", "the refresh token expired through inactivity"),
    50173: ("FreshTokenNeeded", "the grant was revoked (password change or an admin revoked sessions)"),
    70043: ("BadTokenDueToSignInFrequency", "Conditional Access sign-in frequency expired the refresh token"),
    54005: ("OAuth2AuthorizationCodeAlreadyRedeemed", "the authorization code was already used"),
    700084: ("RefreshTokenExpired (SPA)", "a single-page-app refresh token reached its fixed lifetime"),
    70000: ("InvalidGrant / authorization_declined", "the user declined the sign-in or the grant is invalid"),
    70020: ("expired_token", "the device code expired before the user approved it"),
}

_EXPLAINERS: tuple[Explainer, ...] = (
    Explainer("ms_consent_or_permission_missing", "Delegated permission not consented (user or admin)", Owner.TENANT_ADMIN,
              _consent, (ERROR_REFERENCE, MAIL_OAUTH_DOC)),
    Explainer("ms_wrong_tenant_or_authority", "Token requested from the wrong tenant, or the app is not there",
              Owner.APP_REGISTRATION, _wrong_tenant),
    Explainer("ms_national_cloud_mismatch", "Authority, scope and mail host are not from the same Microsoft cloud",
              Owner.CLIENT_CONFIGURATION, _national_cloud),
    Explainer("ms_account_type_or_authority_mismatch", "Personal vs work account used with the wrong authority or app audience",
              Owner.CLIENT_CONFIGURATION, _account_type),
    Explainer("ms_client_credential_config", "App registration platform / secret misconfiguration", Owner.APP_REGISTRATION,
              _client_config),
    Explainer("ms_conditional_access_or_mfa", "MFA / Conditional Access / security defaults blocked the token", Owner.TENANT_ADMIN,
              _mfa),
    Explainer("ms_mixed_resource_scopes", "Graph scopes and Outlook scopes requested together", Owner.CLIENT_CONFIGURATION,
              _mixed_resources),
    Explainer("ms_client_credentials_scope_format", "Client-credentials request with a non-/.default or mixed scope",
              Owner.CLIENT_CONFIGURATION, _cc_scope),
    Explainer("ms_graph_scope_or_audience", "Scope names Microsoft Graph (or another resource), not Exchange Online",
              Owner.CLIENT_CONFIGURATION, _graph_resource, (ERROR_REFERENCE, MAIL_OAUTH_DOC)),
    Explainer("ms_refresh_token_invalid_grant", "Refresh token revoked or expired", Owner.USER, _refresh),
    Explainer("ms_device_code_declined", "The device-code sign-in was declined", Owner.USER, _device_declined),
    Explainer("ms_device_code_expired", "The device code expired before it was approved", Owner.USER, _device_expired),
)
EXPLAINERS: dict[str, Explainer] = {ex.finding_id: ex for ex in _EXPLAINERS}

_CODE_FINDING: dict[int, str] = {
    **dict.fromkeys((65001, 65004, 90094, 90095, 650057, 650056), "ms_consent_or_permission_missing"),
    **dict.fromkeys((700016, 90002), "ms_wrong_tenant_or_authority"),
    **dict.fromkeys((90038, 50049), "ms_national_cloud_mismatch"),
    **dict.fromkeys((50020, 16000, 500208, 50194, 9002332), "ms_account_type_or_authority_mismatch"),
    **dict.fromkeys((7000218, 700025, 7000215, 7000222, 70002, 50011), "ms_client_credential_config"),
    **dict.fromkeys((50076, 50079, 50074, 50158, 53003, 530032, 530035), "ms_conditional_access_or_mfa"),
    **dict.fromkeys((28000, 700022), "ms_mixed_resource_scopes"),
    1002012: "ms_client_credentials_scope_format",
    **dict.fromkeys((70008, 700082, 50173, 70043, 54005, 700084), "ms_refresh_token_invalid_grant"),
    70000: "ms_device_code_declined",
    70020: "ms_device_code_expired",
}
# Codes that also make a second cause plausible (shown as a lower-ranked candidate).
_SECOND_CAUSE: dict[int, str] = {90002: "ms_national_cloud_mismatch", 500011: "ms_wrong_tenant_or_authority"}
_PENDING = {"authorization_pending", "slow_down"}


def aadsts_codes(error: dict) -> list[int]:
    """Entra error codes from `error_codes`, else from `AADSTS…` in the description."""
    codes = [int(c) for c in error.get("error_codes") or () if str(c).isdigit()]
    if not codes:
        codes = [int(c) for c in _AADSTS_RE().findall(str(error.get("error_description", "")))]
    return codes


def _finding_for_code(code: int, c: Context) -> str | None:
    if code == 70011:
        if c.flow in presets.APP_ONLY_FLOWS:
            return "ms_client_credentials_scope_format"
        return "ms_mixed_resource_scopes" if len(_resources(c.scopes)) > 1 else "ms_graph_scope_or_audience"
    if code == 500011:
        return "ms_graph_scope_or_audience"
    return _CODE_FINDING.get(code)


def _resources(scopes: Iterable[str]) -> set[str]:
    resources = set()
    for scope in scopes:
        if scope in ("offline_access", "openid", "profile", "email"):
            continue
        resources.add(scope.rsplit("/", 1)[0] if "://" in scope else "https://graph.microsoft.com")
    return resources


def _evidence(error: dict) -> tuple[EvidenceRef, ...]:
    refs = [EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "error", str(error.get("error", "")))]
    description = str(error.get("error_description", "")).split("\r\n")[0].split("\n")[0]
    if description:
        refs.append(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "error_description", description[:300]))
    return tuple(refs)


def _description_line(error: dict) -> str:
    return str(error.get("error_description", "")).split("\r\n")[0].split("\n")[0].strip()


_ERROR_NAME_CODE = {"authorization_declined": 70000, "expired_token": 70020}


def explain_microsoft(error: dict, c: Context) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    codes = aadsts_codes(error) or [_ERROR_NAME_CODE[name] for name in (str(error.get("error", "")),) if name in _ERROR_NAME_CODE]
    for code in codes:
        finding_id = _finding_for_code(code, c)
        if finding_id is None or finding_id in seen:
            continue
        seen.add(finding_id)
        name, meaning = MS_CODES.get(code, (f"AADSTS{code}", _description_line(error) or "token endpoint error"))
        ex = EXPLAINERS[finding_id]
        findings.append(Finding(
            id=finding_id, severity=Severity.ERROR, title=ex.title,
            explanation=f"The token endpoint refused with AADSTS{code} ({name}): {meaning}. No token was issued, "
                        "so no mail server was contacted.",
            owner=ex.owner, fix=ex.fix(c, code), links=ex.links, evidence=_evidence(error), score=0.95, confirmed=True,
        ))
        second = _SECOND_CAUSE.get(code)
        if second and second not in seen:
            seen.add(second)
            ex2 = EXPLAINERS[second]
            findings.append(Finding(
                id=second, severity=Severity.WARNING, title=ex2.title,
                explanation=f"AADSTS{code} also happens when {ex2.title[0].lower() + ex2.title[1:]}.",
                owner=ex2.owner, fix=ex2.fix(c, code), links=ex2.links, evidence=_evidence(error), score=0.5,
            ))
    return findings


def explain_google(error: dict, c: Context) -> list[Finding]:
    code = str(error.get("error", ""))
    description = _description_line(error)
    evidence = _evidence(error)
    if code == "invalid_grant":
        return [
            Finding("google_refresh_token_invalid_grant", Severity.ERROR, "Refresh token no longer valid",
                    f"Google answered invalid_grant ({description or 'no description'}): the refresh token was revoked, expired "
                    "(6 months unused, password change with mail scopes, token limit) or belongs to another client.",
                    Owner.USER,
                    ("Run the consent again with access_type=offline and prompt=consent to get a new refresh token "
                     "(mailscope: --provider google --flow installed_app).",
                     "If this recurs every 7 days, see google_testing_mode_7day_expiry."),
                    (GOOGLE_XOAUTH2_DOC,), evidence, score=0.95, confirmed=True),
            Finding("google_testing_mode_7day_expiry", Severity.WARNING, "OAuth consent screen in Testing: refresh tokens die after 7 days",
                    "An External app whose publishing status is Testing gets refresh tokens that expire after 7 days; "
                    "the expiry shows up as this same invalid_grant.",
                    Owner.APP_REGISTRATION,
                    ("Google Cloud console → APIs & Services → OAuth consent screen → Publishing status → 'Publish app' (In production), "
                     "or make the app Internal for a Workspace domain.",),
                    (), evidence, score=0.4),
        ]
    if code == "unauthorized_client" and c.flow == "service_account":
        subject = c.settings.subject if c.settings and c.settings.subject else "<user@domain>"
        return [Finding(
            "google_service_account_without_dwd", Severity.ERROR,
            "Service account used without domain-wide delegation (or the delegation lacks the mail scope)",
            f"Google answered unauthorized_client while impersonating {subject}: the service account's client id is not "
            "authorised for domain-wide delegation with these scopes.",
            Owner.TENANT_ADMIN,
            ("Google Admin console → Security → Access and data control → API controls → Domain-wide delegation → Add new: "
             "the service account's NUMERIC client id (client_id in the key file) and scope https://mail.google.com/.",
             "Delegation needs a Google Workspace domain: it cannot impersonate @gmail.com accounts.",
             "Changes can take up to 24 hours to apply."),
            (GOOGLE_XOAUTH2_DOC,), evidence, score=0.95, confirmed=True)]
    if code in ("unauthorized_client", "invalid_client"):
        return [Finding(
            "google_oauth_client_mismatch", Severity.ERROR, "OAuth client rejected: wrong id or secret, or another client's token",
            f"Google answered {code} ({description or 'no description'}): the client id or secret is wrong (often a rotated or "
            "deleted client secret), the refresh token was issued to a different OAuth client id, or the client type does not "
            "allow this grant.",
            Owner.CLIENT_CONFIGURATION,
            (f"Check client id {c.client_id} and its secret in Google Cloud console → APIs & Services → Credentials.",
             "Use the same client id and secret that obtained the refresh token.",
             "For desktop tools create an OAuth client of type 'Desktop app' and run the installed-app flow again."),
            (GOOGLE_XOAUTH2_DOC,), evidence, score=0.9, confirmed=True)]
    if code == "admin_policy_enforced":
        return [Finding(
            "google_admin_policy_blocks_app", Severity.ERROR, "Workspace admin API controls block the OAuth client",
            "Google refused with admin_policy_enforced: the Workspace admin (or Advanced Protection) does not trust this client.",
            Owner.TENANT_ADMIN,
            (f"Google Admin console → Security → Access and data control → API controls → Manage third-party app access → "
             f"mark client id {c.client_id} as Trusted.",),
            (), evidence, score=0.95, confirmed=True)]
    if code == "access_denied":
        testing = "test" in description.lower()
        return [Finding(
            "google_testing_user_not_allowed" if testing or not description else "google_consent_denied",
            Severity.ERROR,
            "App in Testing and the account is not a test user" if testing or not description else "Consent was denied",
            f"Google refused with access_denied ({description or 'no description'}).",
            Owner.APP_REGISTRATION if testing or not description else Owner.USER,
            ("Google Cloud console → OAuth consent screen → Audience → Test users: add the account, or publish the app.",
             "Then run the consent again and approve every requested scope."),
            (), evidence, score=0.9, confirmed=testing)]
    if code == "missing_refresh_fields":
        return [Finding(
            "google_no_refresh_token_returned", Severity.ERROR, "No refresh token to refresh with",
            "The credentials lack a refresh token (or client id/secret/token URI): Google returns a refresh token only right "
            "after the consent screen.",
            Owner.CLIENT_CONFIGURATION,
            ("Run the consent again with access_type=offline and prompt=consent, and store the refresh token it returns.",),
            (), evidence, score=0.9, confirmed=True)]
    return []


def explain_generic(error: dict, c: Context) -> list[Finding]:
    code = str(error.get("error", ""))
    if code in ("transport_error", "tls_error"):
        return [Finding(
            "token_endpoint_unreachable", Severity.ERROR, "The token endpoint could not be reached",
            f"No answer from the identity provider: {_description_line(error)}.",
            Owner.NETWORK,
            ("Check the authority/token URL, DNS and proxy settings from this machine (curl -v <token endpoint>).",
             "TLS verification failures: pass the CA that signed the identity provider's certificate, or fix the system trust store."),
            (), _evidence(error), score=0.9, confirmed=True)]
    if code == "sign_in_timeout":
        return [Finding(
            "interactive_sign_in_not_completed", Severity.ERROR, "Nobody finished the sign-in in the browser in time",
            f"{_description_line(error)}. No request reached the token endpoint: this is not an identity provider error.",
            Owner.USER,
            tuple(str(step) for step in error.get("fix", ())) or ("Run the check again and finish the sign-in in the browser.",),
            (), _evidence(error), score=0.9, confirmed=True)]
    if code in ("configuration_error", "device_flow_unsupported"):
        return [Finding(
            "token_request_invalid_settings" if code == "configuration_error" else "google_device_flow_cannot_grant_mail",
            Severity.ERROR,
            "The token request could not be built from the settings" if code == "configuration_error"
            else "Google's device flow cannot grant Gmail scopes",
            _description_line(error) + ".",
            Owner.CLIENT_CONFIGURATION,
            tuple(str(step) for step in error.get("fix", ())) or ("Correct the setting named above and run the check again.",),
            (), _evidence(error), score=0.9, confirmed=True)]
    return [Finding(
        "token_endpoint_error", Severity.ERROR, f"The token endpoint refused: {code or 'unknown error'}",
        f"{_description_line(error) or 'No description was given.'} mailscope has no specific explanation for this error.",
        Owner.CLIENT_CONFIGURATION,
        ("Look the error up in the identity provider's reference and compare it with the settings shown.",),
        (ERROR_REFERENCE,) if aadsts_codes(error) else (), _evidence(error), score=0.3, confirmed=True)]


def explain_token_error(token: TokenEvidence, settings: CheckSettings | None = None) -> list[Finding]:
    """All findings for the token stage's error (empty when there is none, or the flow is merely pending)."""
    error = token.error
    if not error or str(error.get("error", "")) in _PENDING:
        return []
    c = Context(settings, token)
    findings: list[Finding] = []
    if aadsts_codes(error) or token.provider == "microsoft":
        findings = explain_microsoft(error, c)
    elif token.provider == "google" or (settings is not None and settings.provider == "google"):
        findings = explain_google(error, c)
    return findings or explain_generic(error, c)


def token_error_rule(inp: DiagnosisInput) -> Iterable[Finding]:
    """Provider diagnosis rule: the token stage's error, explained."""
    if inp.token is None:
        return ()
    return explain_token_error(inp.token, inp.settings)
