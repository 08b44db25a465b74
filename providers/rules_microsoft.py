"""Microsoft diagnosis rules (Exchange Online, Outlook.com, GCC High/DoD, 21Vianet), plugged into the engine.

Exchange answers `NO AUTHENTICATE failed.` for nearly every token problem, so these rules read the token
(audience, scp/roles, upn, exp, tid, idtyp) and the settings to name the cause, and fill each fix with the
exact scope, cloud and admin command from `providers.presets`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from mailscope.diagnosis import timing
from mailscope.diagnosis.context import Context, not_accepted, same_user
from mailscope.diagnosis.generic import UNSUPPORTED_MECHANISM_RE
from mailscope.diagnosis.rule import (
    CANDIDATE,
    CROSS_LAYER_PROOF,
    PREDICTION,
    SIGNATURE,
    WARNING,
    WEAK_CANDIDATE,
    WIRE_PROOF,
    applies_if,
    finding,
    unconfirmed_note,
)
from mailscope.evidence import TokenEvidence
from mailscope.findings import Check, EvidenceKind, EvidenceRef, Finding, Severity
from mailscope.patterns import Signature, lazy
from mailscope.protocols import default_port
from mailscope.settings import Protocol, Security
from providers import presets
from providers.explain import explain_token_error

_GUID_RE = lazy(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SMTP_DISABLED_RE = Signature(r"5\.7\.139 .*SmtpClientAuthentication is disabled", re.I)
_BASIC_DISABLED_RE = Signature(r"5\.7\.139 .*basic authentication is disabled|5\.7\.30 Basic authentication is not supported", re.I)
_CA_RE = Signature(r"5\.7\.139 .*(did not meet the criteria|security defaults policy)", re.I)
_NOT_AUTHENTICATED_RE = Signature(r"530 5\.7\.57", re.I)
_SENDAS_RE = Signature(r"SendAsDenied|\b5\.7\.60\b.*permissions to send as", re.I)
_SENT_AS_RE = lazy(r"not allowed to send as (\S+?);", re.I)  # 554 5.2.252 SendAsDenied; a@x not allowed to send as b@x;
_STOREDRV_LOGON_RE = Signature(r"430 4\.2\.0 STOREDRV; mailbox logon failure|MapiExceptionLogonFailed", re.I)
_POP_PROTOCOL_ERROR_RE = Signature(r"-ERR Protocol error\. Connection is closed\. 10", re.I)
_CONNECTION_CLOSED_14_RE = Signature(r"^\* BYE Connection closed\. 14\b")
_SPECIFIC_REPLY_RE = lazy("|".join((*(s.pattern for s in (_SMTP_DISABLED_RE, _BASIC_DISABLED_RE, _CA_RE, _POP_PROTOCOL_ERROR_RE)),
                                     r"Invalid SASL argument|Invalid XOAUTH2 auth data", UNSUPPORTED_MECHANISM_RE.pattern)), re.I)
# Google's token endpoint words (Entra's always carry an AADSTS code): a pasted error body without a host says whose it is.
_GOOGLE_TOKEN_ERROR_RE = lazy(
    r"Token has been expired or revoked|Client is unauthorized to retrieve access tokens|admin_policy_enforced|"
    r"Account has been deleted|^invalid_grant: Bad Request$", re.I)
_GRAPH_ONLY_PERMISSIONS = {"user.read", "mail.read", "mail.readwrite", "mail.send", "mail.readbasic", "mail.read.shared"}
_RESERVED = {"offline_access", "openid", "profile", "email"}
_JAVAMAIL_PROPERTY = {"imap": "mail.imaps.auth.mechanisms=XOAUTH2", "pop3": "mail.pop3s.auth.mechanisms=XOAUTH2",
                      "smtp": "mail.smtp.auth.mechanisms=XOAUTH2"}


# -- shared facts -----------------------------------------------------------------------------------
def _protocol(ctx: Context) -> Protocol:
    try:
        return Protocol(ctx.protocol)
    except ValueError:
        return Protocol.IMAP


def _host_cloud(ctx: Context) -> str:
    """The cloud the mail host belongs to: the host name, else the Exchange greeting's front-end name."""
    provider, cloud = presets.provider_for_host(ctx.host)
    if provider == "microsoft":
        return "usgov" if cloud == "usgov" else cloud
    frontend = (ctx.evidence.frontend_name or "").lower()
    for cloud_id in ("china", "usgov"):
        if frontend.endswith(presets.CLOUDS[cloud_id].frontend_suffixes):
            return cloud_id
    return "global"


def _server_name(ctx: Context) -> str:
    """The host as typed, or (lab, proxy, IP address) the front end the Exchange greeting names."""
    if presets.provider_for_host(ctx.host)[0] == "microsoft" or not ctx.evidence.frontend_name:
        return ctx.host or "(unknown host)"
    return f"{ctx.host} (front end {ctx.evidence.frontend_name})" if ctx.host else ctx.evidence.frontend_name


def _frontend_ref(ctx: Context) -> tuple[EvidenceRef, ...]:
    if not ctx.evidence.frontend_name:
        return ()
    return (EvidenceRef(EvidenceKind.LINE, "greeting front end", ctx.evidence.frontend_name, ctx.evidence.greeting_seq),)


def _cloud(ctx: Context) -> str:
    return (ctx.settings.cloud if ctx.settings is not None and ctx.settings.cloud else "") or _host_cloud(ctx)


def is_microsoft(ctx: Context) -> bool:
    chosen = ctx.settings.provider if ctx.settings is not None else None
    return presets.session_is("microsoft", server_family=ctx.server_family, host=ctx.host, chosen_provider=chosen)


def _right_scopes(ctx: Context, *, app_only: bool | None = None) -> tuple[str, ...]:
    app = ctx.app_only if app_only is None else app_only
    flow = "client_credentials" if app else "device_code"
    return presets.microsoft_scopes(_protocol(ctx), _cloud(ctx), flow)


def _scope_fix(ctx: Context) -> str:
    if ctx.app_only:
        return (f"Request scope {_right_scopes(ctx)[0]} (client credentials) and give the app the "
                f"{presets.APP_ROLE[_protocol(ctx)]} application permission of Office 365 Exchange Online.")
    scopes = presets.microsoft_scopes_for_raw_clients(_protocol(ctx), _cloud(ctx))
    return (f"Request {scopes[0]} plus offline_access (msal adds offline_access itself: pass only {scopes[0]}).")


def _resource_of(scope: str) -> str:
    return scope.rsplit("/", 1)[0].rstrip("/") if "://" in scope else ""


def _permission_of(scope: str) -> str:
    return scope.rsplit("/", 1)[-1] if "://" in scope else scope


# The presets' audience and permission tables as the rules compare with them (read once: every Microsoft session asks).
_EXCHANGE_AUDIENCES = frozenset(a.rstrip("/") for auds in presets.EXCHANGE_AUDIENCES.values() for a in auds)
_GRAPH_AUDIENCES = frozenset(a.rstrip("/") for a in presets.GRAPH_AUDIENCES)
_AUDIENCE_CLOUD = {a.rstrip("/"): cloud for cloud, auds in reversed(presets.EXCHANGE_AUDIENCES.items()) for a in auds}  # first wins
_DELEGATED_SCOPES = frozenset(v.lower() for v in presets.DELEGATED_SCOPE.values())
_APP_ROLES = frozenset(r.lower() for r in presets.APP_ROLE.values())


def _cloud_of_audience(aud: str) -> str | None:
    cloud = _AUDIENCE_CLOUD.get(aud)
    if cloud is None or _GUID_RE().match(aud):
        return None
    return "usgov" if cloud == "dod" else cloud


def _token_permissions(ctx: Context) -> tuple[set[str], str]:
    """(permission names lower-cased, where they came from) from scp/roles or the token response's scope."""
    if ctx.scp or ctx.roles:
        return {p.lower() for p in (*ctx.scp, *ctx.roles)}, "scp" if ctx.scp else "roles"
    if ctx.granted_scopes is not None:
        return {_permission_of(s).lower() for s in ctx.granted_scopes if s not in _RESERVED}, "token response scope"
    return set(), ""


def _graph_token(ctx: Context) -> EvidenceRef | None:
    """Evidence that the token is for Microsoft Graph: its aud, or (opaque) the granted scope."""
    for aud in ctx.audiences:
        if aud in _GRAPH_AUDIENCES:
            return ctx.claim_ref("aud")
    if not ctx.claims and ctx.granted_scopes is not None:
        granted = [s for s in ctx.granted_scopes if s not in _RESERVED]
        graph = [s for s in granted if "graph.microsoft" in s or _permission_of(s).lower() in _GRAPH_ONLY_PERMISSIONS]
        exchange = [s for s in granted if any(r in s for r in ("outlook.office", "ps.outlook", "partner.outlook"))]
        if graph and not exchange:
            return EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "scope", " ".join(granted))
    return None


@dataclass(frozen=True, slots=True)
class _ScopeRequest:
    """What a list of requested scopes asks Entra ID for."""

    requested: tuple[str, ...]  # without the reserved scopes (offline_access, openid, ...)
    bare: tuple[str, ...]  # mail permissions without their resource prefix
    resources: frozenset[str]  # the resources named (a bare scope is Graph's)
    graph: tuple[str, ...]  # Microsoft Graph scopes
    all_default: bool  # every requested scope is a '<resource>/.default' (what client credentials need)


@functools.lru_cache(maxsize=64)
def _scope_request(scopes: tuple[str, ...]) -> _ScopeRequest:
    """Read once per distinct list: an audit's mailboxes all request the same scopes, and every Microsoft session asks."""
    requested = tuple(s for s in scopes if s not in _RESERVED)
    return _ScopeRequest(
        requested=requested,
        bare=tuple(s for s in scopes if "://" not in s and (s.lower() in _DELEGATED_SCOPES or s.lower() in _APP_ROLES)),
        resources=frozenset(_resource_of(s) or "https://graph.microsoft.com" for s in requested),
        graph=tuple(s for s in scopes if "graph.microsoft" in s or (s.lower() in _GRAPH_ONLY_PERMISSIONS)),
        all_default=all(s.endswith("/.default") for s in requested),
    )


def _stage(ctx: Context, proof: float) -> tuple[float, bool]:
    """Score and confirmation for a token-proven cause: confirmed once Exchange refused the token, predicted before and
    when its refusal named another cause (SMTP AUTH disabled, POP3 one-line form: the token was not the reason)."""
    if ctx.auth_refused and not _SPECIFIC_REPLY_RE().search(ctx.reply.text):
        return proof, True
    return PREDICTION + (proof - CROSS_LAYER_PROOF) / 10, False


def _generic_reject(ctx: Context) -> bool:
    """Exchange's catch-all refusal (not one of its specific texts, which name their own cause)."""
    return ctx.auth_refused and not ctx.password_mechanism_used and not _SPECIFIC_REPLY_RE().search(ctx.reply.text)


# -- settings (before any token) ------------------------------------------------------------------------
@applies_if(is_microsoft)
def settings_rule(ctx: Context) -> Iterator[Finding]:
    if ctx.token_failed:
        return
    scopes = _scope_request(tuple(ctx.requested_scopes))
    requested, bare, resources, graph = scopes.requested, scopes.bare, scopes.resources, scopes.graph
    if bare:
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF + 2)
        yield finding(
            "ms_bare_scope_defaults_to_graph",
            f"the requested scope {', '.join(bare)} has no resource prefix, so Entra issues a Microsoft Graph token, which "
            "Exchange refuses." + ("" if confirmed else unconfirmed_note(ctx, "the token's aud (Graph) or the server's NO confirms it")),
            score=score, confirmed=confirmed, fix=(f"Use the full URI: {_right_scopes(ctx)[0]}.", _scope_fix(ctx)),
            evidence=(ctx.setting_ref("scopes", ctx.requested_scopes), *ctx.reply_ref()),
        )
    if len(resources) > 1 and any("graph" in r for r in resources):
        yield finding(
            "ms_mixed_resource_scopes",
            f"the requested scopes name more than one resource ({', '.join(sorted(resources))}); Entra issues one token per "
            "resource (v2: AADSTS28000/AADSTS700022), so the mail token cannot carry Graph scopes too.",
            score=PREDICTION + 1, confirmed=False,
            fix=(f"Request the mail token with {_right_scopes(ctx)[0]} only; get a separate token for Graph.",),
            evidence=(ctx.setting_ref("scopes", ctx.requested_scopes),),
        )
    if graph and not bare and len(resources) == 1:
        score_g, confirmed_g = _stage(ctx, CROSS_LAYER_PROOF - 1)
        yield finding(
            "ms_graph_scope_or_audience",
            f"the requested scope {', '.join(graph)} is a Microsoft Graph scope: the token will be for Graph, not Exchange Online."
            + ("" if confirmed_g else unconfirmed_note(ctx, "the token's aud or the server's NO confirms it")),
            score=score_g, confirmed=confirmed_g, fix=(_scope_fix(ctx), "Use a second token for any Graph calls."),
            evidence=(ctx.setting_ref("scopes", ctx.requested_scopes), *ctx.reply_ref()),
        )
    if ctx.flow in presets.APP_ONLY_FLOWS and requested and not scopes.all_default:
        yield finding(
            "ms_client_credentials_scope_format",
            f"client credentials need exactly one '<resource>/.default' scope, but the request names {', '.join(requested)}.",
            score=PREDICTION + 2, confirmed=False, fix=(f"scopes=['{_right_scopes(ctx, app_only=True)[0]}']",),
            evidence=(ctx.setting_ref("scopes", ctx.requested_scopes), ctx.setting_ref("flow", ctx.flow)),
        )
    if ctx.settings is not None and ctx.settings.cloud:
        host_cloud = _host_cloud(ctx)
        chosen = "usgov" if ctx.settings.cloud == "dod" else ctx.settings.cloud
        if presets.provider_for_host(ctx.host)[0] == "microsoft" and chosen != host_cloud:
            yield _cloud_finding(ctx, f"the settings choose the {ctx.settings.cloud} cloud but {ctx.host} is in the "
                                      f"{host_cloud} cloud.", PREDICTION, False, ctx.setting_ref("cloud", ctx.settings.cloud))
    if ctx.flow == "password" and ctx.has_token and not ctx.password_mechanism_used:
        yield finding(
            "ms_conditional_access_or_mfa",
            "the username+password (ROPC) flow fails for any account with MFA, Conditional Access or security defaults.",
            score=WARNING, confirmed=False, severity=Severity.WARNING, evidence=(ctx.setting_ref("flow", ctx.flow),),
            fix=("Use the device-code or interactive flow so MFA is satisfied in the browser.",),
        )


def _mail_host(cloud: presets.Cloud, protocol: Protocol) -> str:
    return {Protocol.IMAP: cloud.imap_host, Protocol.POP3: cloud.pop_host, Protocol.SMTP: cloud.smtp_host}[protocol]


def _cloud_finding(ctx: Context, why: str, score: float, confirmed: bool, *evidence: EvidenceRef) -> Finding:
    cloud = presets.CLOUDS.get(_host_cloud(ctx), presets.CLOUDS["global"])
    scope = presets.microsoft_scopes(_protocol(ctx), cloud.id, "client_credentials" if ctx.app_only else "device_code")[0]
    tenant = (ctx.settings.tenant if ctx.settings is not None and ctx.settings.tenant else "") or "<tenant id>"
    return finding(
        "ms_national_cloud_mismatch", why + " Authority, scope resource and mail host must come from one cloud.",
        score=score, confirmed=confirmed,
        fix=(f"authority https://{cloud.login_host}/{tenant}", f"scope {scope}",
             f"host {_mail_host(cloud, _protocol(ctx))} ({cloud.title})"),
        evidence=(*evidence, *ctx.reply_ref()),
    )


# -- the token against Exchange --------------------------------------------------------------------------
@applies_if(is_microsoft, not_accepted)
def token_rule(ctx: Context) -> Iterator[Finding | Check]:
    """Names the token fault behind Exchange's generic refusal; before the answer, predicts it."""
    if ctx.password_mechanism_used or ctx.bearer_is_password:
        return  # a password in the bearer's place is its own cause (the engine's password_sent_as_bearer)
    if ctx.token is None or not ctx.has_token:
        if _generic_reject(ctx) and not ctx.token_failed:
            yield from _unexplained_exchange_refusal(ctx)  # imported logs: rank by prior, say what would decide
        return
    if ctx.token.provider == "google":
        return  # provider_host_token_mismatch says it
    protocol = _protocol(ctx)
    problems = 0

    graph = _graph_token(ctx)
    yield Check("audience", bool(ctx.audiences) or graph is not None,
                f"aud {' '.join(ctx.audiences)}" if ctx.audiences else "no aud claim (opaque token)")
    if graph is not None:
        problems += 1
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF)
        extra = ""
        if any(p.lower() == presets.DELEGATED_SCOPE[protocol].lower() for p in ctx.scp):
            extra = (f" Its scp even lists {presets.DELEGATED_SCOPE[protocol]}: the Graph copy of that permission, which "
                     "Exchange does not honour.")
        yield finding(
            "ms_graph_scope_or_audience",
            f"the token is for Microsoft Graph ({graph.name} {graph.value}), not Exchange Online: Exchange refuses it with "
            f"its generic answer.{extra}" + ("" if confirmed else unconfirmed_note(ctx, "the server's NO will confirm it")),
            score=score, confirmed=confirmed, fix=(_scope_fix(ctx), "Use a second token for any Graph calls."),
            evidence=(graph, *( [ctx.claim_ref("scp")] if ctx.scp else []), *ctx.reply_ref()),
        )
        requested_unknown = not ctx.requested_scopes
        if ctx.scp and requested_unknown and any(p.lower() == presets.DELEGATED_SCOPE[protocol].lower() for p in ctx.scp):
            yield finding(
                "ms_bare_scope_defaults_to_graph",
                f"a Graph token carrying {presets.DELEGATED_SCOPE[protocol]} is what a scope without resource prefix produces.",
                score=CANDIDATE, confirmed=False, fix=(f"Use the full URI: {_right_scopes(ctx)[0]}.",),
                evidence=(graph, ctx.claim_ref("scp")))

    wrong_type = _wrong_token_type(ctx)
    if wrong_type is not None and graph is None:
        problems += 1
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 0.5)
        yield finding(
            "ms_wrong_token_type_or_audience",
            wrong_type[0] + ("" if confirmed else unconfirmed_note(ctx, "the server's NO will confirm it")),
            score=score, confirmed=confirmed, evidence=(*wrong_type[1], *ctx.reply_ref()),
            fix=("Send result['access_token'] (not the id_token).", _scope_fix(ctx)),
        )

    aud_cloud = next((c for c in map(_cloud_of_audience, ctx.audiences) if c), None)
    host_cloud = _host_cloud(ctx)
    if aud_cloud is not None and aud_cloud != host_cloud and ctx.audiences and not any(_GUID_RE().match(a) for a in ctx.audiences):
        problems += 1
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 1)
        yield _cloud_finding(ctx, f"the token's audience {' '.join(ctx.audiences)} belongs to the {aud_cloud} cloud but the "
                                  f"mail server {_server_name(ctx)} is in the {host_cloud} cloud.",
                             score, confirmed, ctx.claim_ref("aud"), *_frontend_ref(ctx))

    perms, source = _token_permissions(ctx)
    exchange_aud = not ctx.audiences or any(a in _EXCHANGE_AUDIENCES for a in ctx.audiences)
    app_only_readable = ctx.app_only and bool(ctx.claims)
    if (perms or app_only_readable) and graph is None and exchange_aud:
        if ctx.app_only:
            results = list(_app_role_results(ctx, perms, source))
            problems += sum(1 for r in results if isinstance(r, Finding))
            yield from results
        else:
            needed = presets.DELEGATED_SCOPE[protocol]
            has = needed.lower() in perms
            yield Check(f"scope for {protocol.value}", True, f"{needed} {'present' if has else 'missing'} in {source}")
            if not has:
                problems += 1
                others = sorted(p for p in perms if p in _DELEGATED_SCOPES)
                score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 2)
                yield finding(
                    "ms_protocol_scope_mismatch",
                    f"the token's {source} has {', '.join(sorted(perms))} but not {needed}, which {protocol.value.upper()} needs"
                    + (f" (it was made for {', '.join(others)})" if others else "") + "."
                    + ("" if confirmed else unconfirmed_note(ctx, "the server's NO will confirm it")),
                    score=score, confirmed=confirmed, fix=(_scope_fix(ctx), "Consent again so the new scope is granted."),
                    evidence=(ctx.scope_ref(), *ctx.reply_ref()),
                )
    elif not perms and not graph:
        yield Check(f"scope for {protocol.value}", False, "opaque token and no granted scope recorded: scope unknown")

    left = ctx.seconds_left  # at the time of the evidence; None when that time cannot tell (the engine's expiry check says why)
    if left is not None and (left < -60 or (left < 0 and ctx.auth_refused)):
        problems += 1
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 3)
        yield finding(
            "ms_token_expired", f"the token expired {timing.span(left, ctx.judged_at)} before {timing.used_at(ctx.judged_at)}."
            + ("" if confirmed else unconfirmed_note(ctx, "the server's NO will confirm it")),
            score=score, confirmed=confirmed, fix=("Call acquire_token_silent before each connection (refresh ~5 min before exp).",),
            evidence=(ctx.claim_ref("exp") if "exp" in ctx.claims else EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "expires_at",
                                                                                  str(ctx.token.expires_at)), *ctx.reply_ref()),
        )

    if not ctx.app_only:
        token_user, sasl_user = ctx.token_user, ctx.sasl_user
        if token_user and sasl_user:
            match = same_user(token_user, sasl_user)
            yield Check("user", True, f"token {ctx.token_user_claim} {token_user} {'=' if match else '≠'} SASL user {sasl_user}")
            if not match and ctx.not_connected is None:
                problems += 1
                score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 6)
                yield finding(
                    "ms_user_mismatch_token_vs_login",
                    f"the token was issued to {token_user} ({ctx.token_user_claim}) but the client signs in as {sasl_user}. "
                    "Exchange refuses a delegated token for another mailbox unless that user has FullAccess (IMAP/POP) or "
                    "SendAs (SMTP); the UPN can also differ from the primary SMTP address."
                    + ("" if confirmed else unconfirmed_note(ctx, "the server's NO will confirm it")),
                    score=score, confirmed=confirmed,
                    fix=(f"Sign in as {sasl_user} when getting the token (or put {token_user} in user=).",
                         f"For shared access: Add-MailboxPermission -Identity {sasl_user} -User {token_user} -AccessRights FullAccess",
                         "MailKit/msal: use the signed-in account's username (result account), not the configured address."),
                    evidence=(ctx.claim_ref(ctx.token_user_claim, token_user) if ctx.claims else
                              EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "account", token_user),
                              EvidenceRef(EvidenceKind.LINE, "SASL user", sasl_user, ctx.command_seq), *ctx.reply_ref()),
                )

    tenant = list(_tenant_findings(ctx))
    problems += len(tenant)
    yield from tenant

    if _generic_reject(ctx) and problems == 0:
        yield from _unexplained_exchange_refusal(ctx)


def _wrong_token_type(ctx: Context) -> tuple[str, tuple[EvidenceRef, ...]] | None:
    c = ctx.claims
    if not c:
        return None
    for aud in ctx.audiences:
        if aud in _EXCHANGE_AUDIENCES or aud in _GRAPH_AUDIENCES:
            continue
        if _GUID_RE().match(aud) or aud.startswith("api://"):
            kind = "an ID token" if "nonce" in c or ("scp" not in c and "roles" not in c) else "a token for your own API"
            return (f"the token's aud is {aud} (an app's own id): this is {kind}, not an Exchange Online access token.",
                    (ctx.claim_ref("aud"),))
    if str(c.get("ver")) == "2.0" and ctx.audiences and not any(a in _EXCHANGE_AUDIENCES for a in ctx.audiences):
        return ("the token is a v2.0 token for another resource; Exchange accepts v1.0 tokens for its own resource.",
                (ctx.claim_ref("ver"), ctx.claim_ref("aud")))
    return None


def _app_role_results(ctx: Context, perms: set[str], source: str) -> Iterator[Finding | Check]:
    protocol = _protocol(ctx)
    needed = presets.APP_ROLE[protocol]
    state = "present" if needed.lower() in perms else "missing"
    yield Check(f"app role for {protocol.value}", True, f"{needed} {state} in {source or 'roles'}")
    if needed.lower() in perms:
        return
    others = sorted(p for p in perms if p in _APP_ROLES)
    finding_id = "ms_protocol_scope_mismatch" if others else "ms_app_only_missing_role"
    score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 2 if others else CROSS_LAYER_PROOF)
    tenant = (ctx.settings.tenant if ctx.settings is not None and ctx.settings.tenant else "") or str(ctx.claims.get("tid", "<tenant>"))
    appid = str(ctx.claims.get("appid") or ctx.claims.get("azp") or (ctx.settings.client_id if ctx.settings else "") or "<client id>")
    cloud = presets.CLOUDS.get(_cloud(ctx), presets.CLOUDS["global"])
    yield finding(
        finding_id,
        f"the app-only token's roles are {', '.join(sorted(perms)) or 'empty'}: {needed} is missing"
        + (f" (it has {', '.join(others)} for another protocol)" if others else
           " (Graph application permissions do not count for Exchange protocols)") + "."
        + ("" if confirmed else unconfirmed_note(ctx, "the server's NO will confirm it")),
        score=score, confirmed=confirmed,
        fix=(f"Entra → App registrations → {appid} → API permissions → Add → APIs my organization uses → Office 365 Exchange "
             f"Online → Application permissions → {needed}; then Grant admin consent.",
             f"Multi-tenant apps: https://{cloud.login_host}/{tenant}/v2.0/adminconsent?client_id={appid}"
             f"&scope={cloud.app_resource.replace('outlook.office365.com', 'ps.outlook.com')}/.default"),
        evidence=(ctx.claim_ref("roles", sorted(perms)) if ctx.claims else ctx.scope_ref(),
                  *([ctx.claim_ref("idtyp")] if "idtyp" in ctx.claims else []), *ctx.reply_ref()),
    )


def _tenant_findings(ctx: Context) -> Iterator[Finding]:
    tid = str(ctx.claims.get("tid", ""))
    if not tid or ctx.settings is None:
        return
    tenant = ctx.settings.tenant.lower()
    if tid == presets.CONSUMER_TENANT_ID and tenant not in ("", "consumers", "common"):
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 8)
        yield finding(
            "ms_account_type_or_authority_mismatch",
            f"the token comes from the personal-account (consumer) tenant {tid} but the settings target tenant '{tenant}'.",
            score=score, confirmed=confirmed, evidence=(ctx.claim_ref("tid"), ctx.setting_ref("tenant", tenant)),
            fix=("Outlook.com accounts: authority /consumers (or /common); Microsoft 365 accounts: /organizations or /<tenant id>.",),
        )
    elif _GUID_RE().match(tenant) and tid.lower() != tenant:
        score, confirmed = _stage(ctx, CROSS_LAYER_PROOF - 7)
        yield finding(
            "ms_wrong_tenant_or_authority",
            f"the token's tenant (tid {tid}) is not the configured tenant {tenant}: a token from another tenant (e.g. as a B2B "
            "guest) cannot open this mailbox.", score=score, confirmed=confirmed,
            evidence=(ctx.claim_ref("tid"), ctx.setting_ref("tenant", tenant)),
            fix=(f"Get the token from the mailbox user's home tenant: authority "
                 f"{presets.authority_url(_cloud(ctx), tenant)}",),
        )


def _checked(ctx: Context) -> str:
    return "audience, scope, user" + (", expiry" if ctx.validity.state is timing.State.VALID else "")


def _unless_expired(ctx: Context) -> str:
    """The expiry the time of the evidence could not judge is said, never guessed."""
    if ctx.token is None or ctx.validity.state is not timing.State.UNDETERMINED:
        return ""
    return f", unless the token had expired ({timing.undetermined(ctx.token, ctx.judged_at)})"


def _decide_by_token(ctx: Context) -> tuple[str, ...]:
    """What decides between the token causes when the token is not in the evidence."""
    protocol = _protocol(ctx)
    port = ctx.port or default_port(protocol, Security.STARTTLS if protocol is Protocol.SMTP else Security.TLS)
    host = ctx.host or _mail_host(presets.CLOUDS.get(_cloud(ctx), presets.CLOUDS["global"]), protocol)
    target = f"--host {host} --port {port} --protocol {protocol.value}"
    return (
        "Paste the access token the client sent (or a log that shows its SASL response) into `mailscope logs -` with this "
        "log: its aud, scp, exp and upn decide.",
        f"Or run `mailscope check {target} --user {ctx.sasl_user or '<mailbox>'} --token-env MAIL_TOKEN` with the client's token "
        "and settings: the same diagnosis, with the token read.",
    )


def _decide_by_mailbox(ctx: Context) -> tuple[str, ...]:
    mailbox = ctx.sasl_user or "<mailbox>"
    return (f"The admin runs `Get-CASMailbox {mailbox} | fl ImapEnabled,PopEnabled,SmtpClientAuthenticationDisabled` and pastes "
            "its output with the log into `mailscope logs -`.",)


def _mailbox_setting(ctx: Context, protocol: Protocol) -> tuple[str, str] | None:
    """The admin's pasted `Get-CASMailbox` line for this protocol: (setting, value)."""
    name = {Protocol.IMAP: "ImapEnabled", Protocol.POP3: "PopEnabled", Protocol.SMTP: "SmtpClientAuthenticationDisabled"}[protocol]
    value = ctx.mailbox_settings.get(name)
    return (name, value) if value else None


def _protocol_off(ctx: Context, protocol: Protocol) -> bool | None:
    """True/False when the admin's output says the protocol is off/on for the mailbox; None when not pasted."""
    setting = _mailbox_setting(ctx, protocol)
    if setting is None:
        return None
    name, value = setting
    return (value == "True") if name == "SmtpClientAuthenticationDisabled" else (value == "False")


def _protocol_disabled_finding(ctx: Context, protocol: Protocol, lead: str) -> Finding:
    """The pasted Get-CASMailbox output shows the protocol switched off: the refusal's cause, confirmed."""
    name, value = _mailbox_setting(ctx, protocol) or ("", "")
    mailbox = ctx.sasl_user or "<mailbox>"
    ref = EvidenceRef(EvidenceKind.LOG, f"Get-CASMailbox {name}", value)
    if protocol is Protocol.SMTP:
        return finding("ms_smtp_auth_disabled", lead + f"the admin's Get-CASMailbox output shows {name} : {value}: SMTP AUTH is "
                       f"off for {mailbox}, which blocks XOAUTH2 too.", score=CROSS_LAYER_PROOF + 3, confirmed=True,
                       fix=(f"Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false",),
                       evidence=(ref, *ctx.reply_ref()))
    flag = "-PopEnabled" if protocol is Protocol.POP3 else "-ImapEnabled"
    return finding("ms_imap_pop_disabled", lead + f"the admin's Get-CASMailbox output shows {name} : {value}: "
                   f"{protocol.value.upper()} is off for {mailbox}.", score=CROSS_LAYER_PROOF + 3, confirmed=True,
                   fix=(f"Set-CASMailbox -Identity {mailbox} {flag} $true",), evidence=(ref, *ctx.reply_ref()))


# Exchange's generic refusal without a readable token: the token causes, most common first (all unconfirmed).
_WHY = {
    "ms_graph_scope_or_audience": "a Graph token (the most common cause at IMAP and POP3)",
    "ms_protocol_scope_mismatch": "a token without {scope}",
    "ms_token_expired": "an expired token",
    "ms_user_mismatch_token_vs_login": "a token for another user than the mailbox signed in",
}
# Less common token causes, ranked after the mailbox checks; each keeps its catalogue fix. An unread token may be an
# app-only one, so its causes are candidates too.
_WHY_LESS_COMMON = {
    "ms_bare_scope_defaults_to_graph": "a token requested with a bare scope ({scope} without its resource), which Entra ID "
                                       "issues for Microsoft Graph",
    "ms_national_cloud_mismatch": "a token from another Microsoft cloud (China, US Government) than this endpoint's",
    "ms_app_only_missing_role": "an app-only (client credentials) token without the {role} role",
    "ms_app_only_service_principal_missing_or_wrong_id": "an app-only token for an app Exchange has no service principal for",
}


def _unexplained_exchange_refusal(ctx: Context) -> Iterator[Finding]:
    """Exchange said NO and the token looks right (or cannot be read): rank what is left as unconfirmed candidates, each
    with what would decide it (the token, `mailscope check`, the admin's Get-CASMailbox output); a pasted Get-CASMailbox
    output that shows the protocol off decides it."""
    protocol = _protocol(ctx)
    readable = bool(ctx.claims) or ctx.granted_scopes is not None
    mailbox = ctx.sasl_user or "<mailbox>"
    if _protocol_off(ctx, protocol):
        yield _protocol_disabled_finding(ctx, protocol, "")
        return
    if ctx.app_only and readable:
        appid = str(ctx.claims.get("appid") or ctx.claims.get("azp") or "<APPLICATION_ID>")
        oid = str(ctx.claims.get("oid") or "<OBJECT_ID of the Enterprise Application>")
        tenant = str(ctx.claims.get("tid") or "<tenantId>")
        yield finding(
            "ms_app_only_service_principal_missing_or_wrong_id",
            f"the app-only token is right (aud {' '.join(ctx.audiences) or 'Exchange'}, role {presets.APP_ROLE[protocol]}), yet "
            "Exchange refused it: Exchange has no service principal for this app, or it was registered with the App "
            "Registration's object id instead of the Enterprise Application's. Get-ServicePrincipal in Exchange Online "
            "would confirm it.", score=CROSS_LAYER_PROOF - 5, confirmed=False,
            fix=(f"Connect-ExchangeOnline -Organization {tenant}",
                 f"New-ServicePrincipal -AppId {appid} -ObjectId {oid}",
                 f"Add-MailboxPermission -Identity {mailbox} -User {oid} -AccessRights FullAccess"),
            evidence=(ctx.claim_ref("appid", appid), ctx.claim_ref("oid", oid), ctx.claim_ref("roles"), *ctx.reply_ref()),
            decide=(f"The admin runs `Get-ServicePrincipal | fl AppId,ObjectId` in Exchange Online: no entry for {appid} (or "
                    "another ObjectId than the Enterprise Application's) confirms it.",),
        )
        yield _mailbox_permission(ctx, CANDIDATE, "")
        return
    if readable:
        base = CANDIDATE
        lead = f"the token checks passed ({_checked(ctx)}), so the refusal is about the mailbox or the account{_unless_expired(ctx)}: "
        if _unless_expired(ctx):  # the one token fault the evidence's time could not rule out: the likeliest, logs are read late
            yield finding("ms_token_expired", f"the token checks passed ({_checked(ctx)}) but its expiry could not be judged: "
                          f"{timing.undetermined(ctx.token, ctx.judged_at)}. An expired token gets this same answer.",
                          score=base + 1, confirmed=False,
                          fix=("Call acquire_token_silent before each connection (refresh ~5 min before exp).",),
                          evidence=(*([ctx.claim_ref("exp")] if "exp" in ctx.claims else []), *ctx.reply_ref()),
                          decide=("The time the client used the token decides: a log with dated, zoned timestamps (or the "
                                  "server's own time in its reply) against the token's exp.",))
    else:
        base = WEAK_CANDIDATE + 5
        lead = ("Exchange's answer is the same for every token fault and the token could not be inspected: " if ctx.has_token else
                "Exchange's answer is the same for every token fault and no token is known here (imported log): ")
        decide = _decide_by_token(ctx)
        for offset, (fid, why) in enumerate(_WHY.items()):
            why = why.format(scope=presets.DELEGATED_SCOPE[protocol])
            yield finding(fid, lead + f"candidate: {why}. A decodable token (aud, scp, exp, upn) or the token response's "
                          "scope would decide.", score=base - offset, confirmed=False,
                          fix=(_scope_fix(ctx),), evidence=(*ctx.command_ref(), *ctx.reply_ref()), decide=decide)
        for offset, (fid, why) in enumerate(_WHY_LESS_COMMON.items()):
            why = why.format(scope=presets.DELEGATED_SCOPE[protocol], role=presets.APP_ROLE[protocol])
            yield finding(fid, lead + f"a less common candidate: {why}. The token's aud, iss, roles or scp would decide.",
                          score=base - 8 - offset, confirmed=False, evidence=ctx.reply_ref(), decide=decide)
        yield _mailbox_permission(ctx, base - 8 - len(_WHY_LESS_COMMON), lead + "if the token is an app-only one: ")
        if ctx.mechanism_used is None and not ctx.has_token:
            yield finding(
                "basic_auth_mechanism_used_when_disabled", lead + "the log does not show which mechanism the client used: with "
                "PLAIN or LOGIN (a password) Exchange Online gives the same answer, since basic auth is off.",
                score=base - 0.5, confirmed=False, fix=_basic_auth_fix(ctx), evidence=ctx.reply_ref(),
                decide=("The client's AUTHENTICATE/AUTH line decides: PLAIN or LOGIN means a password (basic auth); XOAUTH2 "
                        "means one of the token causes. Paste the lines before the refusal.",))
        base -= 5
    if _protocol_off(ctx, protocol) is None and protocol is not Protocol.SMTP:
        yield finding(
            "ms_imap_pop_disabled", lead + f"{protocol.value.upper()} may be disabled for {mailbox}. "
            f"Get-CASMailbox {mailbox} | fl ImapEnabled,PopEnabled would confirm it.", score=base, confirmed=False,
            fix=(f"Set-CASMailbox -Identity {mailbox} -{'Pop' if protocol is Protocol.POP3 else 'Imap'}Enabled $true",),
            evidence=ctx.reply_ref(), decide=_decide_by_mailbox(ctx))
    yield finding(
        "ms_mailbox_license_or_type", lead + f"{mailbox} may have no Exchange Online licence/mailbox, or live on-premises.",
        score=base - 2, confirmed=False, evidence=ctx.reply_ref(),
        decide=(f"The admin checks `Get-Mailbox {mailbox} | fl RecipientTypeDetails` (an error: no Exchange Online mailbox) and "
                "the user's licences in the Microsoft 365 admin centre.",))


def _mailbox_permission(ctx: Context, score: float, lead: str) -> Finding:
    mailbox = ctx.sasl_user or "<mailbox>"
    sp = str(ctx.claims.get("oid") or "<SERVICE_PRINCIPAL_ID>")
    return finding(
        "ms_app_only_mailbox_permission_missing",
        lead + f"the service principal {sp} may have no FullAccess on {mailbox}; Get-MailboxPermission {mailbox} would confirm it.",
        score=score, confirmed=False,
        fix=(f"Add-MailboxPermission -Identity {mailbox} -User {sp} -AccessRights FullAccess",
             f"SASL user= must be the mailbox address ({mailbox})."),
        decide=(f"The admin runs `Get-MailboxPermission {mailbox}`: no FullAccess entry for the app's service principal "
                f"({sp}) confirms it.",),
        evidence=(*([ctx.claim_ref("oid")] if "oid" in ctx.claims else []), *ctx.reply_ref()),
    )


# -- mechanism (the seed) -------------------------------------------------------------------------------
@applies_if(is_microsoft, not_accepted)  # a server that took the password has basic auth on (on-premises Exchange)
def basic_auth_rule(ctx: Context) -> Iterator[Finding]:
    """PLAIN/LOGIN at Exchange Online: basic auth is off, whatever the server advertises."""
    wire = ctx.find_server_text(_BASIC_DISABLED_RE)
    if not ctx.password_mechanism_intended and wire is None:
        return
    mech = ctx.mechanism_used or (str(ctx.settings.mechanism).upper() if ctx.settings is not None else "a password mechanism")
    advertised = ctx.advertised_mechanisms or frozenset()
    evidence: list[EvidenceRef] = []
    if ctx.evidence.capabilities:
        evidence.append(ctx.caps_ref())
    evidence += ctx.command_ref()
    if wire is not None:
        evidence += ctx.line_ref("server reply", wire[1], wire[0])
    else:
        evidence += ctx.reply_ref()
    password_fact = ctx.evidence.log_facts.get("password")
    if password_fact:
        evidence.append(EvidenceRef(EvidenceKind.LOG, "password", password_fact))
    if ctx.host:
        evidence.append(EvidenceRef(EvidenceKind.SETTING if ctx.settings else EvidenceKind.LOG, "host", ctx.host))
    if ctx.evidence.client_software:
        evidence.append(EvidenceRef(EvidenceKind.LOG, "client", ctx.evidence.client_software))
    refused = ctx.auth_refused or wire is not None
    explanation = (
        f"the client {'authenticated' if ctx.password_mechanism_used else 'is set to authenticate'} with {mech} (a password) "
        "at Exchange Online"
        + (" although the server advertises XOAUTH2" if "XOAUTH2" in advertised else "")
        + ". Basic auth is off at Exchange Online: PLAIN being advertised does not mean it is allowed."
        + (" The log shows a secret passed as a password (password=<non-null>), so the OAuth token never went out as XOAUTH2."
           if password_fact else "")
        + ("" if refused else unconfirmed_note(ctx, "the server's NO will confirm it"))
    )
    yield finding("basic_auth_mechanism_used_when_disabled", explanation,
                  score=WIRE_PROOF - 3 if refused else PREDICTION + 5, confirmed=refused, fix=_basic_auth_fix(ctx), evidence=evidence)


def _basic_auth_fix(ctx: Context) -> tuple[str, ...]:
    protocol = _protocol(ctx)
    cloud = presets.CLOUDS.get(_cloud(ctx), presets.CLOUDS["global"])
    imap = f"{cloud.resource}/{presets.DELEGATED_SCOPE[Protocol.IMAP]}"
    pop = f"{cloud.resource}/{presets.DELEGATED_SCOPE[Protocol.POP3]}"
    smtp = f"{cloud.resource}/{presets.DELEGATED_SCOPE[Protocol.SMTP]}"
    steps = []
    software = (ctx.evidence.client_software or "").lower()
    javamail = "javamail" in software or "jakarta" in software or "password" in ctx.evidence.log_facts
    if javamail:
        steps.append(f"JavaMail: set {_JAVAMAIL_PROPERTY.get(protocol.value, _JAVAMAIL_PROPERTY['imap'])} and pass the OAuth "
                     "access token as the password (Jira: configure the mail server with OAuth 2.0, not a password).")
    else:
        steps.append("Select the XOAUTH2 mechanism (mailscope: --mechanism xoauth2) and send the access token, not a password.")
    if protocol is Protocol.SMTP:
        steps.append(f"Microsoft 365 scope: {smtp} (plus offline_access for non-msal clients).")
    else:
        steps.append(f"Microsoft 365 scopes: {imap} (IMAP) or {pop} (POP3), and offline_access.")
    steps.append("Exchange Online is retiring basic auth for SMTP AUTH too (550 5.7.30): a password will stop working there."
                 if protocol is Protocol.SMTP else "Basic auth cannot be turned back on for Exchange Online IMAP/POP.")
    return tuple(steps)


# -- after a successful AUTHENTICATE ------------------------------------------------------------------------
def not_connected_rule(ctx: Context) -> Iterator[Finding | Check]:
    bad = ctx.not_connected
    if bad is None:
        return
    protocol = _protocol(ctx)
    mailbox = ctx.sasl_user or "<mailbox>"
    token_user = ctx.token_user
    evidence = (*ctx.reply_ref(), *ctx.line_ref(bad.command, bad.seq, bad.text))
    yield finding(
        "ms_authenticated_but_not_connected",
        f"Exchange accepted the token{f' ({ctx.reply.text!r})' if ctx.reply.text else ''} and then answered "
        f"{'a mailbox command' if bad.command == '?' else bad.command} with '{bad.text}'. The token is valid: "
        "scope and audience are not the problem. The mailbox could not be opened for this identity; the candidates below are "
        "ranked by what the token shows.", score=SIGNATURE, confirmed=True, evidence=evidence,
        fix=("Check the candidates below in order: user, FullAccess, service-principal permission, IMAP/POP enabled, licence, "
             "and (legacy tenants) a Client Access Rule without the IMAP4 protocol.",
             f"Get-CASMailbox {mailbox} | fl ImapEnabled,PopEnabled", f"Get-MailboxPermission {mailbox}"),
    )
    if ctx.app_only:
        # The named cause outranks the signature: an accepted app-only token that cannot open the mailbox is, first of all,
        # a missing mailbox permission for its service principal.
        yield _mailbox_permission(ctx, CROSS_LAYER_PROOF - 2, "the app-only token was accepted but the mailbox refused: ")
        base = SIGNATURE - 10
    elif token_user and not same_user(token_user, mailbox):
        yield finding(
            "ms_user_mismatch_token_vs_login",
            f"the token is for {token_user} but the client opened {mailbox}: Exchange accepted the token and then refused "
            f"the mailbox. Either the wrong account signed in, or {mailbox} is a shared mailbox that {token_user} has no "
            "FullAccess to.", score=CROSS_LAYER_PROOF - 2, confirmed=True,
            fix=(f"Sign in as {mailbox} when getting the token.",), evidence=(ctx.claim_ref(ctx.token_user_claim, token_user)
                                                                             if ctx.claims else EvidenceRef(EvidenceKind.TOKEN_RESPONSE,
                                                                                                            "account", token_user),
                                                                             *evidence))
        yield finding(
            "ms_shared_mailbox_no_fullaccess",
            f"if {mailbox} is a shared mailbox, {token_user} needs FullAccess on it.", score=SIGNATURE - 5, confirmed=False,
            fix=(f"Add-MailboxPermission -Identity {mailbox} -User {token_user} -AccessRights FullAccess",
                 "Wait for replication (up to an hour) and try again."), evidence=evidence)
        base = SIGNATURE - 10
    else:
        if token_user is None:
            for offset, fid in enumerate(("ms_user_mismatch_token_vs_login", "ms_shared_mailbox_no_fullaccess")):
                yield finding(fid, "no token user is known, so this cannot be ruled out: compare the signed-in account with "
                              f"{mailbox}.", score=CANDIDATE - offset, confirmed=False, evidence=evidence)
            yield _mailbox_permission(ctx, CANDIDATE - 2, "no token is known, so it may be an app-only one: ")
        base = CANDIDATE - 3
    ruled_out = ""
    if token_user and same_user(token_user, mailbox) and not ctx.app_only:
        # The token rules out the first three causes (own mailbox, delegated): the next named cause leads.
        base = CROSS_LAYER_PROOF - 4
        ruled_out = (f"the token is {token_user}'s own delegated token for its own mailbox, which rules out a user mismatch, "
                     "a shared mailbox and a service-principal permission; so ")
    flag = "-PopEnabled" if protocol is Protocol.POP3 else "-ImapEnabled"
    off = _protocol_off(ctx, protocol) if protocol is not Protocol.SMTP else None
    if off:
        yield _protocol_disabled_finding(ctx, protocol, "Exchange accepted the token but refused the mailbox, and ")
    elif off is None:
        yield finding(
            "ms_imap_pop_disabled",
            f"{ruled_out}{protocol.value.upper()} may be disabled for {mailbox}; Get-CASMailbox {mailbox} | fl ImapEnabled,PopEnabled "
            "would confirm it.", score=base, confirmed=False, fix=(f"Set-CASMailbox -Identity {mailbox} {flag} $true",),
            evidence=(*((ctx.claim_ref(ctx.token_user_claim, token_user),) if ruled_out and ctx.claims else ()), *evidence),
            decide=_decide_by_mailbox(ctx))
    yield finding(
        "ms_mailbox_license_or_type", f"{mailbox} may have no Exchange Online licence (or one without IMAP), or be on-premises.",
        score=min(base - 8, SIGNATURE - 7), confirmed=False, evidence=evidence)


# -- wire signatures ----------------------------------------------------------------------------------------
@applies_if(is_microsoft)
def wire_signature_rule(ctx: Context) -> Iterator[Finding]:
    hit = ctx.find_server_text(_SMTP_DISABLED_RE)
    if hit:
        yield _smtp_auth_disabled(ctx, hit)
    hit = ctx.find_server_text(_CA_RE)
    if hit:
        yield finding("ms_conditional_access_or_mfa", f"Exchange says '{hit[0]}': a security policy blocked this sign-in.",
                      score=WIRE_PROOF - 4, confirmed=True, evidence=ctx.line_ref("server reply", hit[1], hit[0]))
    hit = ctx.find_server_text(_NOT_AUTHENTICATED_RE)
    if hit:
        yield finding("smtp_auth_never_attempted", f"Exchange says '{hit[0]}': the client sent MAIL FROM without a successful AUTH.",
                      score=WIRE_PROOF - 1 if not ctx.auth_refused else CANDIDATE, confirmed=not ctx.auth_refused,
                      evidence=ctx.line_ref("server reply", hit[1], hit[0]))
    hit = ctx.find_server_text(_SENDAS_RE)
    if hit:
        yield _send_as_denied(ctx, hit)
    hit = ctx.find_server_text(_STOREDRV_LOGON_RE)
    if hit:
        yield _mailbox_permission(ctx, WIRE_PROOF - 2, f"Exchange says '{hit[0][:120]}': ")
    yield from _pop3_protocol_error(ctx)
    hit = ctx.find_server_text(_CONNECTION_CLOSED_14_RE)
    if hit and not ctx.answered and ctx.not_connected is None:
        yield finding("ms_authenticated_but_not_connected", f"Exchange ended the session with '{hit[0]}', the close that follows "
                      "an accepted sign-in whose mailbox could not be opened.", score=CANDIDATE, confirmed=False,
                      evidence=ctx.line_ref("server reply", hit[1], hit[0]),
                      decide=("The lines before it decide: 'BAD User is authenticated but not connected.' after an accepted "
                              "AUTHENTICATE confirms it.",))


EXCHANGE_POP_TOKEN_LIMIT = 4096  # characters: Exchange POP3 refuses longer tokens, two-step form or not (MailKit #1948)


def _pop3_protocol_error(ctx: Context) -> Iterator[Finding]:
    """`-ERR Protocol error. Connection is closed. 10`: the one-line AUTH form, or (two-step) a token too long for POP3."""
    if ctx.protocol != "pop3":
        return
    hit = ctx.find_server_text(_POP_PROTOCOL_ERROR_RE)
    sasl = ctx.sasl
    fix = (f"Send 'AUTH {ctx.mechanism_used or 'XOAUTH2'}', wait for the '+ ' continuation, then send the base64 string on a line of "
           "its own (mailscope: --sasl-ir no).",
           f"Scope for POP3: {_right_scopes(ctx)[0]}.")
    if hit is None:
        if sasl is not None and sasl.sasl_ir and not ctx.answered:
            yield finding("pop3_xoauth2_one_line_rejected_exchange",
                          "the client sent AUTH XOAUTH2 with the initial response on the same line; Exchange POP3 needs the "
                          "two-step form." + unconfirmed_note(ctx, "'-ERR Protocol error. Connection is closed. 10' will confirm it"),
                          score=PREDICTION, confirmed=False, fix=fix, evidence=ctx.command_ref())
        return
    evidence = (*ctx.command_ref(), *ctx.line_ref("server reply", hit[1], hit[0]))
    token_chars = max(0, (sasl.response_length if sasl else 0) * 3 // 4 - 40)  # the base64's payload less user= and framing
    long_token = token_chars > EXCHANGE_POP_TOKEN_LIMIT
    if sasl is None:
        decide = ("The client's AUTH line decides: 'AUTH XOAUTH2 <base64>' on one line confirms the first; the two-step form "
                  f"with a token over {EXCHANGE_POP_TOKEN_LIMIT:,} characters the second. Paste the lines before the answer.",)
        yield finding("pop3_xoauth2_one_line_rejected_exchange", f"Exchange POP3 answered '{hit[0]}': its answer to AUTH XOAUTH2 "
                      "with the initial response on the same line (the log does not show the AUTH line).", score=CANDIDATE + 10,
                      confirmed=False, fix=fix, evidence=evidence, decide=decide)
        yield finding("auth_line_too_long", f"Exchange POP3 also answers '{hit[0]}' to a token longer than "
                      f"{EXCHANGE_POP_TOKEN_LIMIT:,} characters.", score=CANDIDATE, confirmed=False, evidence=evidence, decide=decide)
        return
    if sasl.sasl_ir:
        yield finding("pop3_xoauth2_one_line_rejected_exchange",
                      f"Exchange POP3 answered '{hit[0]}' to AUTH {ctx.mechanism_used or 'XOAUTH2'} with the initial response on the "
                      "same line, and closed the connection. The token was never looked at: Exchange POP3 only takes the two-step "
                      "form.", score=WIRE_PROOF, confirmed=True, fix=fix, evidence=evidence)
    if long_token:
        yield finding("auth_line_too_long", f"the token is about {token_chars:,} characters and Exchange POP3 answered '{hit[0]}': "
                      f"it refuses tokens over {EXCHANGE_POP_TOKEN_LIMIT:,} characters"
                      + (" even in the two-step form." if not sasl.sasl_ir else "; the two-step form alone will not help."),
                      score=WIRE_PROOF - (0 if not sasl.sasl_ir else 2), confirmed=not sasl.sasl_ir, evidence=evidence,
                      decide=() if not sasl.sasl_ir else ("Send the two-step form: if Exchange still answers so, the length is "
                                                          "the cause.",))


def _smtp_auth_disabled(ctx: Context, hit: tuple[str, int | None]) -> Finding:
    """535 5.7.139 ... disabled for the Tenant|Mailbox: the mailbox's own setting overrides the tenant's unless it is $null."""
    mailbox = ctx.sasl_user or "<mailbox>"
    mailbox_level = "for the mailbox" in hit[0].lower()
    enable_mailbox = f"Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false"
    check = (f"Check with: Get-CASMailbox {mailbox} | fl SmtpClientAuthenticationDisabled; "
             "Get-TransportConfig | fl SmtpClientAuthenticationDisabled")
    if mailbox_level:
        why = (f"SMTP AUTH is switched off for the mailbox {mailbox} itself (its SmtpClientAuthenticationDisabled is $true, which "
               "overrides the tenant).")
        fix = (enable_mailbox, "or, to follow the tenant setting again: Set-CASMailbox -Identity "
               f"{mailbox} -SmtpClientAuthenticationDisabled $null", check)
    else:
        why = "SMTP AUTH is switched off for the whole tenant (Get-TransportConfig SmtpClientAuthenticationDisabled is $true)."
        fix = (f"{enable_mailbox} (enables it for this mailbox only; the mailbox setting overrides the tenant's)",
               "or tenant-wide: Set-TransportConfig -SmtpClientAuthenticationDisabled $false", check)
    return finding("ms_smtp_auth_disabled", f"Exchange says '{hit[0]}': {why} That blocks XOAUTH2 too, whatever the token "
                   "says: the scope and the token are not the problem.", score=WIRE_PROOF, confirmed=True, fix=fix,
                   evidence=ctx.line_ref("server reply", hit[1], hit[0]))


def _send_as_denied(ctx: Context, hit: tuple[str, int | None]) -> Finding:
    """550 5.7.60 at MAIL FROM (or 554 5.2.252 SendAsDenied after DATA): authenticated, but not allowed to use that sender."""
    named = _SENT_AS_RE().search(hit[0])
    sender = named.group(1) if named else ctx.sasl_user or "<from address>"
    oid = str(ctx.claims.get("oid") or "<SERVICE_PRINCIPAL_ID>")
    trustee = oid if ctx.app_only else ctx.token_user or "<signed-in user>"
    accepted = f" after accepting the token ('{ctx.reply.text}')" if ctx.auth_ok else ""
    return finding(
        "ms_sendas_denied",
        f"Exchange refused the sender{accepted}: '{hit[0]}'. The token is valid; {trustee} may not send as {sender} "
        "(FullAccess on a mailbox does not include SendAs).",
        score=WIRE_PROOF, confirmed=True, evidence=(*ctx.reply_ref(), *ctx.line_ref("server reply", hit[1], hit[0])),
        fix=(f"Add-RecipientPermission -Identity {sender} -Trustee {trustee} -AccessRights SendAs",
             f"or send as {ctx.token_user} (the signed-in mailbox)" if ctx.token_user and not ctx.app_only
             else f"or Add-MailboxPermission -Identity {sender} -User {trustee} -AccessRights FullAccess (app-only: the app then acts "
                  "as that mailbox)",
             "Wait for replication (up to an hour) and try again."))


def logged_token_error_rule(ctx: Context) -> Iterator[Finding]:
    """Token-endpoint errors an imported log quotes ("AADSTS65001: ...", "invalid_grant ..."), explained by the same
    explainer as a live token failure (providers/explain.py), so the two never disagree."""
    if ctx.token is not None and ctx.token.error:
        return  # a live token failure: token_error_rule explains it
    for text in ctx.evidence.token_endpoint_errors:
        name = text.split(":", 1)[0].split()[0] if text else ""
        error = {"error": name if not name.startswith("AADSTS") else "", "error_description": text}
        google = not name.startswith("AADSTS") and (ctx.server_family == "gmail" or presets.provider_for_host(ctx.host)[0] == "google"
                                                    or (not is_microsoft(ctx) and bool(_GOOGLE_TOKEN_ERROR_RE().search(text))))
        token = TokenEvidence(kind="none", provider="google" if google else "microsoft", error=error)
        for f in explain_token_error(token, ctx.settings):
            evidence = (*f.evidence, EvidenceRef(EvidenceKind.LOG, "token endpoint error", text[:300]))
            yield replace(f, score=f.score * 100, evidence=evidence)


def refresh_warning_rule(ctx: Context) -> Iterator[Finding]:
    token = ctx.token
    if token is None or token.provider != "microsoft" or token.has_refresh_token is not False or ctx.app_only:
        return
    if ctx.flow in ("static", ""):
        return  # a pasted access token never comes with a refresh token
    yield finding(
        "ms_offline_access_missing", "the token response has no refresh token: this works until the access token expires "
        "(about an hour), then every new connection fails.", score=WARNING + 1, confirmed=True, severity=Severity.WARNING,
        fix=("Add offline_access to the requested scopes (msal adds it itself; other clients must ask for it).",),
        evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "refresh_token", "absent"), ctx.setting_ref("scopes", ctx.requested_scopes)),
    )


MICROSOFT_RULES = (settings_rule, token_rule, basic_auth_rule, not_connected_rule, wire_signature_rule, logged_token_error_rule,
                   refresh_warning_rule)
