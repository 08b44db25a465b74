"""Google diagnosis rules (Gmail / Workspace), plugged into the engine.

Gmail refuses a token with a base64 JSON continuation and, after the client's empty line,
`NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)`. The JSON's `scope` is what Gmail requires, not
what the token has: the token response's granted scope, expiry and account name the actual cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailscope.diagnosis import timing
from mailscope.diagnosis.context import OAUTH_MECHANISMS, Context, not_accepted, same_user
from mailscope.diagnosis.rule import (
    CANDIDATE,
    CROSS_LAYER_PROOF,
    PREDICTION,
    WARNING,
    WEAK_CANDIDATE,
    WIRE_PROOF,
    applies_if,
    finding,
    unconfirmed_note,
)
from mailscope.findings import Check, EvidenceKind, EvidenceRef, Finding, Severity
from mailscope.patterns import Signature, lazy
from providers import presets

IMAP_ADMIN_SCOPE = "https://www.googleapis.com/auth/gmail.imap_admin"
_TOKEN_REJECT_RE = lazy(r"AUTHENTICATIONFAILED|Invalid credentials|535[- ]5\.7\.[18]\b|Username and Password not accepted", re.I)
_PASSWORD_REJECT_RE = Signature(
    r"Application-specific password required|Please log in via your web browser|WEBALERT|Web login required|534[- ]5\.7\.(9|14)",
    re.I)
_DISABLED_RE = Signature(r"not enabled for (IMAP|POP)|(IMAP|POP) access is disabled for your domain", re.I)
_LOOKUP_FAILED_RE = Signature(r"\bLookup failed\b")
_SERVICE_ACCOUNT_FLOWS = ("service_account",)


def is_google(ctx: Context) -> bool:
    chosen = ctx.settings.provider if ctx.settings is not None else None
    return presets.session_is("google", server_family=ctx.server_family, host=ctx.host, chosen_provider=chosen)


def _scopes(ctx: Context) -> tuple[tuple[str, ...] | None, str]:
    """(scopes, source): the granted scope from the token response; the requested ones only as a weaker stand-in."""
    if ctx.granted_scopes is not None:
        return ctx.granted_scopes, "granted"
    if ctx.requested_scopes:
        return ctx.requested_scopes, "requested"
    return None, ""


def _has_mail_scope(scopes: tuple[str, ...], service_account: bool) -> bool:
    allowed = {presets.GOOGLE_MAIL_SCOPE, presets.GOOGLE_MAIL_SCOPE.rstrip("/")}
    if service_account:
        allowed.add(IMAP_ADMIN_SCOPE)
    return any(s in allowed for s in scopes)


def _service_account(ctx: Context) -> bool:
    account = (ctx.token.account if ctx.token else None) or ""
    return ctx.flow in _SERVICE_ACCOUNT_FLOWS or account.endswith(".iam.gserviceaccount.com")


def _token_reject(ctx: Context) -> bool:
    """GMAIL_TOKEN_REJECT: the JSON challenge, or the tagged AUTHENTICATIONFAILED / 535 after an OAuth mechanism (or after a
    command the log does not show: then a password is a candidate too)."""
    if (ctx.mechanism_used or "") not in OAUTH_MECHANISMS and not _mechanism_unknown(ctx):
        return False
    return ctx.gmail_challenge is not None or bool(ctx.reply.text and _TOKEN_REJECT_RE().search(ctx.reply.text))


def _mechanism_unknown(ctx: Context) -> bool:
    """A fragment: the server's refusal without the client's AUTHENTICATE/AUTH/LOGIN line."""
    return ctx.mechanism_used is None and ctx.auth_refused and not ctx.has_token


def _decide_by_token(ctx: Context) -> tuple[str, ...]:
    return ("The token response's scope (or https://oauth2.googleapis.com/tokeninfo?access_token=… : scope, email, "
            "expires_in) decides; paste the token into `mailscope logs -` with this log, or run `mailscope check --provider "
            f"google --host {ctx.host or 'imap.gmail.com'} --user {ctx.sasl_user or '<address>'}` with the client's settings.",)


def _reject_evidence(ctx: Context) -> tuple[EvidenceRef, ...]:
    refs: list[EvidenceRef] = []
    challenge = ctx.gmail_challenge
    if challenge is not None and ctx.sasl is not None:
        seq = next((s for text, s in ctx.server_lines if text.startswith(("+ ", "334 "))), None)
        refs.append(EvidenceRef(EvidenceKind.LINE, "error challenge (decoded)", str(challenge), seq))
    return (*refs, *ctx.reply_ref())


@applies_if(is_google, not_accepted)
def token_rule(ctx: Context) -> Iterator[Finding | Check]:
    """Rank the causes behind GMAIL_TOKEN_REJECT by what the token response shows; predict before the answer."""
    if ctx.token_failed or ctx.password_mechanism_used or ctx.bearer_is_password:
        return  # a password in the bearer's place is its own cause (the engine's password_sent_as_bearer)
    if ctx.find_server_text(_LOOKUP_FAILED_RE) is not None:
        return  # lookup_rule: the account itself was not found
    if ctx.token is not None and ctx.token.provider == "microsoft":
        return  # provider_host_token_mismatch says it
    rejected = _token_reject(ctx)
    if (ctx.reply.text and "Invalid SASL argument" in ctx.reply.text) or (not ctx.has_token and not rejected):
        return  # the format rule owns the first; without a token only a refusal says anything
    service_account = _service_account(ctx)
    scopes, source = _scopes(ctx)
    problems = 0
    required = (ctx.gmail_challenge or {}).get("scope")
    note = f" Gmail's challenge names the scope it requires: {required}." if required else ""

    def stage(proof: float, needs_grant: bool = False) -> tuple[float, bool]:
        if rejected:
            return (proof, True) if not needs_grant else (proof - 10, False)
        return PREDICTION + (proof - CROSS_LAYER_PROOF) / 10, False

    if scopes is not None:
        ok = _has_mail_scope(scopes, service_account)
        yield Check("scope https://mail.google.com/", source == "granted", f"{'present' if ok else 'missing'} in the {source} scope")
        if not ok:
            problems += 1
            score, confirmed = stage(CROSS_LAYER_PROOF, needs_grant=source != "granted")
            yield finding(
                "google_scope_not_full_mail",
                f"the token's {source} scope is {' '.join(scopes) or 'empty'}: it lacks {presets.GOOGLE_MAIL_SCOPE}, the only scope "
                "Gmail accepts for IMAP/POP/SMTP (gmail.readonly/modify/send do not count)." + note
                + ("" if confirmed else unconfirmed_note(ctx, "the granted scope from the token response and Gmail's "
                                                              "AUTHENTICATIONFAILED confirm it")),
                score=score, confirmed=confirmed,
                fix=(f"Request {presets.GOOGLE_MAIL_SCOPE} (restricted scope: public apps need verification; fine for internal "
                     "and testing apps).", "Make sure the user ticks the mail box on the granular consent screen."),
                evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE if source == "granted" else EvidenceKind.SETTING, "scope",
                                      " ".join(scopes)), *_reject_evidence(ctx)),
            )
    else:
        yield Check("scope https://mail.google.com/", False, "opaque token and no token-response scope: scope unknown")

    left = ctx.seconds_left  # at the time of the evidence; None when that time cannot tell (the engine's expiry check says why)
    if left is not None and left < 0:
        problems += 1
        score, confirmed = stage(CROSS_LAYER_PROOF - 2)
        yield finding(
            "google_token_expired_or_revoked",
            f"the access token expired {timing.span(left, ctx.judged_at)} before {timing.used_at(ctx.judged_at)} "
            "(Google tokens last 3600 s)."
            + ("" if confirmed else unconfirmed_note(ctx, "Gmail's AUTHENTICATIONFAILED will confirm it")),
            score=score, confirmed=confirmed, fix=("creds.refresh(Request()) before each connect when creds.expired.",),
            evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "expires_at", str(ctx.token.expires_at)), *_reject_evidence(ctx)))

    sasl_user = ctx.sasl_user
    account = (ctx.token.account if ctx.has_token and ctx.token is not None else None) or ctx.claims.get("email")
    if service_account and not (ctx.settings is not None and ctx.settings.subject):
        problems += 1
        score, confirmed = stage(CROSS_LAYER_PROOF - 3)
        yield finding(
            "google_service_account_token_not_impersonating",
            f"the token belongs to the service account {account or '(service account)'} itself: it was obtained without subject, "
            f"so it cannot open {sasl_user or 'a user'}'s mailbox." + ("" if confirmed else unconfirmed_note(
                ctx, "Gmail's AUTHENTICATIONFAILED will confirm it")),
            score=score, confirmed=confirmed,
            fix=(f"credentials.with_subject('{sasl_user or '<user@domain>'}') and put that same user in user=.",
                 "Domain-wide delegation must list the service account's numeric client ID with scope https://mail.google.com/."),
            evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "account", str(account or "")), ctx.setting_ref("subject", ""),
                      *_reject_evidence(ctx)))
    elif isinstance(account, str) and account and sasl_user:
        match = same_user(account, sasl_user)
        yield Check("user", True, f"token account {account} {'=' if match else '≠'} SASL user {sasl_user}")
        if not match:
            problems += 1
            score, confirmed = stage(CROSS_LAYER_PROOF - 4)
            yield finding(
                "google_user_mismatch",
                f"the token was granted by {account} but the client sends user={sasl_user}. Gmail only accepts the account that "
                "consented (aliases and send-as addresses do not count)." + ("" if confirmed else unconfirmed_note(
                    ctx, "Gmail's AUTHENTICATIONFAILED will confirm it")),
                score=score, confirmed=confirmed, fix=(f"Put {account} in user=, or sign in as {sasl_user} when consenting.",),
                evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "account", account),
                          EvidenceRef(EvidenceKind.LINE, "SASL user", sasl_user, ctx.command_seq), *_reject_evidence(ctx)))

    if rejected and problems == 0:
        readable = scopes is not None and source == "granted"
        base = CANDIDATE if readable else WEAK_CANDIDATE + 5
        expiry = {timing.State.VALID: " and the token had not expired",
                  timing.State.UNDETERMINED: " (whether the token had expired when used cannot be told)"}.get(ctx.validity.state, "")
        lead = (f"the granted scope includes https://mail.google.com/{expiry}, so: " if readable else
                "Gmail refused the token and the token response's scope is not known: " if ctx.has_token else
                "Gmail refused the credential and no token is known here (imported log): ")
        decide = _decide_by_token(ctx)
        if not readable:
            yield finding("google_scope_not_full_mail", lead + "the most common cause is a scope narrower than "
                          f"{presets.GOOGLE_MAIL_SCOPE}." + note + " The token response's scope (or tokeninfo) would decide.",
                          score=base + 1, confirmed=False, evidence=_reject_evidence(ctx), decide=decide)
        yield finding("google_token_expired_or_revoked", lead + "the token may have been revoked (password change, user removed "
                      "access). Refreshing and retrying would decide.", score=base, confirmed=False, evidence=_reject_evidence(ctx),
                      decide=("Refresh the token (creds.refresh) and retry; a refresh that fails with invalid_grant says revoked.",))
        if not (isinstance(account, str) and account):
            yield finding("google_user_mismatch", lead + f"user={sasl_user or '?'} may not be the account that consented; the "
                          "token's account (tokeninfo email) would decide.", score=base - 1, confirmed=False,
                          evidence=_reject_evidence(ctx), decide=decide)
        # a token read from a log (no settings) does not say how it was obtained: a service account's is opaque too
        if (not ctx.has_token or ctx.settings is None) and not (ctx.settings is not None and ctx.settings.subject):
            yield finding("google_service_account_token_not_impersonating", lead + "a service-account token obtained without a "
                          "subject is refused the same way.", score=base - 2, confirmed=False, evidence=_reject_evidence(ctx),
                          decide=("The token's account decides: an …iam.gserviceaccount.com address (tokeninfo email/azp) "
                                  "confirms it.",))
        if _mechanism_unknown(ctx) and ctx.gmail_challenge is None:
            yield finding("google_password_auth_rejected", lead + "the log does not show the mechanism: a password (LOGIN/PLAIN) "
                          "gets the same answer since Gmail stopped taking account passwords.", score=base - 0.5,
                          confirmed=False, evidence=_reject_evidence(ctx),
                          decide=("The client's AUTHENTICATE/AUTH line decides: LOGIN/PLAIN means a password; XOAUTH2 a token "
                                  "cause. An error challenge (+ eyJ… / 334 eyJ…) before the refusal also means a token.",))


@applies_if(is_google, not_accepted)  # an app password that works is not a finding
def password_rule(ctx: Context) -> Iterator[Finding]:
    hit = ctx.find_server_text(_PASSWORD_REJECT_RE)
    if not ctx.password_mechanism_intended and hit is None:
        return
    refused = ctx.auth_refused or hit is not None
    said = f" Gmail says '{hit[0]}'." if hit else (f" Gmail answered '{ctx.reply.text}'." if ctx.reply.text else "")
    yield finding(
        "google_password_auth_rejected",
        f"the client {'used' if ctx.password_mechanism_used else 'is set to use'} {ctx.mechanism_used or 'a password'} at Gmail."
        f"{said} Legacy passwords no longer work for IMAP/POP/SMTP "
        "(consumer accounts since May 2022, Workspace since autumn 2024); only XOAUTH2 or an app password do."
        + ("" if refused else unconfirmed_note(ctx, "Gmail's refusal will confirm it")),
        score=WIRE_PROOF - 3 if refused else PREDICTION + 5, confirmed=refused,
        fix=(f"Use XOAUTH2 with scope {presets.GOOGLE_MAIL_SCOPE} (mailscope: --provider google --mechanism xoauth2).",
             "Or an app password (needs 2-Step Verification; not under Advanced Protection; admins can forbid it)."),
        evidence=(*ctx.command_ref(), *(ctx.line_ref("server reply", hit[1], hit[0]) if hit else ctx.reply_ref())),
    )


@applies_if(is_google)
def disabled_rule(ctx: Context) -> Iterator[Finding]:
    hit = ctx.find_server_text(_DISABLED_RE)
    if hit is None:
        return
    domain = "domain" in hit[0].lower()
    service = "POP" if "pop" in hit[0].lower() else "IMAP"
    yield finding(
        "google_imap_pop_disabled", f"Gmail says '{hit[0]}': the credential was fine, but "
        + (f"the Workspace admin turned {service} off for the domain." if domain else f"{service} is not enabled for this account."),
        score=WIRE_PROOF, confirmed=True, evidence=ctx.line_ref("server reply", hit[1], hit[0]),
        fix=("Admin console → Apps → Google Workspace → Gmail → End User Access → POP and IMAP access." if domain else
             f"Gmail settings → See all settings → Forwarding and POP/IMAP → enable {service} (or ask the Workspace admin to "
             "allow it under End User Access).",),
    )


@applies_if(is_google)
def lookup_rule(ctx: Context) -> Iterator[Finding]:
    """Gmail's `NO Lookup failed <id>`: the account named in user= (or LOGIN's user) was not found."""
    hit = ctx.find_server_text(_LOOKUP_FAILED_RE)
    if hit is None:
        return
    user = ctx.sasl_user or "the user named"
    service = " A service-account token for a subject that is not a user of the domain is refused so too." if (
        _service_account(ctx)) else ""
    yield finding(
        "google_account_lookup_failed", f"Gmail answered '{hit[0]}': it found no Google account for {user}; the token itself was "
        f"not the reason.{service}", score=WIRE_PROOF, confirmed=True, evidence=(*_reject_evidence(ctx), *ctx.line_ref(
            "server reply", hit[1], hit[0])),
        fix=("Put the Google account's primary address in user= (not an alias, a group or a non-Google address)"
             + (f": not {user}." if ctx.sasl_user else "."),
             "Service account: with_subject('<user>') and user= must name the same existing Workspace user."),
    )


def refresh_warning_rule(ctx: Context) -> Iterator[Finding]:
    token = ctx.token
    if token is None or token.provider != "google" or token.has_refresh_token is not False or _service_account(ctx):
        return
    if ctx.flow in ("static", ""):
        return  # a pasted access token never comes with a refresh token
    yield finding(
        "google_no_refresh_token_returned", "the token response carries no refresh token: Google returns one only right after "
        "the consent screen, so this works for an hour and then needs the browser again.", score=WARNING + 1, confirmed=True,
        severity=Severity.WARNING, evidence=(EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "refresh_token", "absent"),),
    )


GOOGLE_RULES = (token_rule, password_rule, disabled_rule, lookup_rule, refresh_warning_rule)
