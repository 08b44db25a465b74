"""Provider-neutral rules: connection faults, TLS mode, capabilities, mechanism choice, SASL format, error challenges,
mid-session expiry, the healthy result and the token's validity at the time of the evidence. Provider knowledge lives in
providers/rules_*.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailscope.diagnosis import timing
from mailscope.diagnosis.context import OAUTH_MECHANISMS, Context, mechanisms_in
from mailscope.diagnosis.rule import (
    CANDIDATE,
    CROSS_LAYER_PROOF,
    PREDICTION,
    WARNING,
    WEAK_CANDIDATE,
    WIRE_PROOF,
    finding,
    unconfirmed_note,
)
from mailscope.evidence import FaultKind
from mailscope.findings import Check, EvidenceKind, EvidenceRef, Finding, Severity, TimeSource
from mailscope.protocols import DEFAULT_PORTS, default_port
from mailscope.settings import Security

# The catalogue entry naming each fault (report.fault_finding uses it too when no rule explained the fault).
FAULT_FINDING_IDS: dict[FaultKind, str] = {
    FaultKind.DNS: "dns_failure",
    FaultKind.REFUSED: "connection_refused",
    FaultKind.CONNECT_TIMEOUT: "connect_timeout",
    FaultKind.TLS_VERIFY: "tls_verification_failed",
    FaultKind.TLS_ON_PLAIN_PORT: "wrong_port_or_tls_mode",
    FaultKind.PLAIN_ON_TLS_PORT: "wrong_port_or_tls_mode",
    FaultKind.TLS_HANDSHAKE: "tls_handshake_failed",
    FaultKind.BYE_GREETING: "server_refused_connection",
    FaultKind.UNEXPECTED_GREETING: "server_refused_connection",
    FaultKind.CLOSED_MID_COMMAND: "connection_closed_by_server",
    FaultKind.SERVER_SILENT: "server_silent",
    FaultKind.PROTOCOL_ERROR: "protocol_error",
    FaultKind.CLIENT_PARSER: "client_parser_error",
    FaultKind.STARTTLS_REFUSED: "starttls_refused",
    FaultKind.SETTINGS: "settings_invalid",
    FaultKind.TOKEN_ACQUISITION: "token_acquisition_failed",
}
_WRONG_VERSION_RE = re.compile(r"wrong version number|unknown protocol|record layer failure|http request", re.I)
# Which protocol a well-known port belongs to, split by whether it speaks TLS from the first byte (mailscope.protocols' table).
_IMPLICIT_TLS_PORTS = {port: protocol for (protocol, security), port in DEFAULT_PORTS.items() if security is Security.TLS}
_PLAIN_FIRST_PORTS = {port: protocol for (protocol, security), port in DEFAULT_PORTS.items() if security is not Security.TLS}
_INVALID_SASL_RE = re.compile(r"Invalid SASL argument|Invalid XOAUTH2 auth data", re.I)
_CLIENT_ABORTED_RE = re.compile(r"Client aborted AUTHENTICATE", re.I)
_EXPIRED_BYE_RE = re.compile(r"AccessTokenExpired|Session expired, please login again", re.I)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_FORMAT_ONLY_DEFECTS = ("in lower case",)  # Exchange accepts 'bearer': not a cause on its own
_SMTP_SENDING_COMMANDS = ("MAIL FROM", "RCPT TO", "DATA")  # CONTRACTS §1 command names


def fault_rule(ctx: Context) -> Iterator[Finding]:
    fault = ctx.evidence.fault
    if fault is None or fault.kind in (FaultKind.TOKEN_ACQUISITION, FaultKind.NO_USABLE_MECHANISM):
        return  # token failures: the providers' explainers; no mechanism: the capability rules
    finding_id = FAULT_FINDING_IDS.get(fault.kind, "protocol_error")
    if fault.kind is FaultKind.TLS_HANDSHAKE and _WRONG_VERSION_RE.search(fault.detail):
        finding_id = "wrong_port_or_tls_mode"
    if fault.kind is FaultKind.SERVER_SILENT and ctx.gmail_challenge is not None:
        return  # error_challenge_not_acknowledged explains this silence
    closing = fault.kind in (FaultKind.CLOSED_MID_COMMAND, FaultKind.SERVER_SILENT)
    if closing and (ctx.not_connected is not None or ctx.find_server_text(_EXPIRED_BYE_RE) is not None):
        return  # the close follows a refusal another rule names (not connected, token expired mid-session)
    evidence = [*ctx.line_ref(f"fault at {fault.step or 'session'}", fault.line_seq, fault.detail)]
    if ctx.settings is not None:
        evidence.append(ctx.setting_ref("host:port", f"{ctx.settings.host}:{ctx.settings.port}"))
        evidence.append(ctx.setting_ref("security", ctx.settings.security))
    explanation = f"{fault.kind.value.replace('_', ' ')} during {fault.step or 'the session'}: {fault.detail}"
    fix = None
    if finding_id == "wrong_port_or_tls_mode" and ctx.settings is not None:
        fix = _tls_mode_fix(ctx.settings.port, str(ctx.settings.security))
    after_bye = closing and ctx.evidence.untagged_bye is not None
    after_refusal = closing and ctx.auth_refused  # e.g. Exchange POP3 hangs up after '-ERR Protocol error. Connection is closed. 10'
    if after_bye:
        explanation += f" (after the server's '{ctx.evidence.untagged_bye}')"
    elif after_refusal:
        explanation += f" (after the server refused the credential: '{ctx.reply.text}')"
    yield finding(finding_id, explanation, score=CANDIDATE if after_bye or after_refusal else WIRE_PROOF, confirmed=True,
                  evidence=evidence, fix=fix)


def _tls_mode_fix(port: int, security: str) -> tuple[str, ...]:
    if port in _IMPLICIT_TLS_PORTS:
        return (f"Port {port} speaks TLS from the first byte: set security to 'tls' (not '{security}').",)
    if port in _PLAIN_FIRST_PORTS:
        return (f"Port {port} starts in plain text: set security to 'starttls', or use the implicit-TLS port "
                f"({default_port(_PLAIN_FIRST_PORTS[port], Security.TLS)}).",)
    return ("IMAP 993 TLS, POP 995 TLS, SMTP 587 STARTTLS (Exchange) or 465 TLS / 587 STARTTLS (Gmail).",)


def tls_mode_settings_rule(ctx: Context) -> Iterator[Finding]:
    """Port and TLS mode that cannot agree, or OAuth over a connection that never gets TLS."""
    s = ctx.settings
    if s is None or (ctx.evidence.fault is not None and ctx.evidence.fault.kind in (FaultKind.TLS_ON_PLAIN_PORT,
                                                                                     FaultKind.PLAIN_ON_TLS_PORT)):
        return
    security = str(s.security)
    mismatch = (s.port in _IMPLICIT_TLS_PORTS and security != "tls") or (s.port in _PLAIN_FIRST_PORTS and security == "tls")
    if mismatch:
        yield finding(
            "wrong_port_or_tls_mode",
            f"port {s.port} and security '{security}' do not match: this port "
            + ("expects TLS at once." if s.port in _IMPLICIT_TLS_PORTS else "starts in plain text (STARTTLS)."),
            score=PREDICTION, confirmed=False, fix=_tls_mode_fix(s.port, security),
            evidence=(ctx.setting_ref("port", s.port), ctx.setting_ref("security", security)),
        )
    elif security == "plain" and not any(h in ctx.host for h in _LOCAL_HOSTS):
        yield finding(
            "wrong_port_or_tls_mode", "security is 'plain': the token would cross the network unencrypted, and cloud servers "
            "offer no OAuth mechanism before TLS.", score=PREDICTION, confirmed=False,
            fix=_tls_mode_fix(s.port, security), evidence=(ctx.setting_ref("security", security),))


def capability_rules(ctx: Context) -> Iterator[Finding | Check]:
    ev = ctx.evidence
    pre = ev.capabilities_pre_tls
    if ctx.advertised_mechanisms is None:
        yield Check("capabilities", False, "no capability list seen yet")
        return
    security = ev.security or (str(ctx.settings.security) if ctx.settings is not None else "")
    implicit_tls = security == "tls" or (not security and ctx.port in _IMPLICIT_TLS_PORTS)
    yield Check("capabilities", True, "after STARTTLS" if ev.capabilities_post_tls is not None else
                "over implicit TLS" if implicit_tls else "as first listed")
    pre_mechs = mechanisms_in(pre) if pre is not None else None
    judged_pre = pre is not None and ev.capabilities_post_tls is None and not implicit_tls
    if judged_pre and not pre_mechs:
        gave_up = (ev.fault is not None and ev.fault.kind is FaultKind.NO_USABLE_MECHANISM) or ctx.answered or ev.login_used
        if gave_up or (ctx.settings is not None and str(ctx.settings.security) == "plain"):
            flags = [c for c in pre if c.upper() in ("STARTTLS", "LOGINDISABLED")]
            yield finding(
                "no_oauth_mechanism_before_starttls",
                "the capability list was read before TLS and has no AUTH= entry"
                + (f" (it shows {' '.join(flags)})" if flags else "")
                + "; cloud servers list XOAUTH2 only after STARTTLS, so the mechanism choice was made on the wrong list.",
                score=WIRE_PROOF, confirmed=True,
                evidence=(EvidenceRef(EvidenceKind.CAPABILITY, "capabilities before TLS", " ".join(pre), ctx.capability_seq),),
            )
        return
    mechs = ctx.advertised_mechanisms
    if mechs & OAUTH_MECHANISMS:
        return
    local = any(ctx.host == h or ctx.host.startswith(h) for h in _LOCAL_HOSTS)
    if local and mechs <= {"PLAIN", "LOGIN"}:
        used = ctx.mechanism_used
        yield finding(
            "local_proxy_capability_rewrite",
            f"{ctx.host}:{ctx.port} is a local endpoint advertising only {', '.join(sorted(mechs)) or 'no mechanism'}: "
            "this looks like an OAuth proxy (email-oauth2-proxy, DavMail) that turns PLAIN into XOAUTH2 upstream."
            + (f" The client sent {used}, which the proxy does not offer." if used in OAUTH_MECHANISMS else ""),
            score=CROSS_LAYER_PROOF if used in OAUTH_MECHANISMS else CANDIDATE, confirmed=used in OAUTH_MECHANISMS,
            evidence=(ctx.caps_ref(), ctx.setting_ref("host:port", f"{ctx.host}:{ctx.port}")),
        )
        return
    no_mech_fault = ev.fault is not None and ev.fault.kind is FaultKind.NO_USABLE_MECHANISM
    if not mechs and not no_mech_fault:
        return  # a list without any AUTH entry is no evidence (logs often show part of it); the probe faults when it matters
    wants_oauth = ctx.has_token or (ctx.settings is not None and (ctx.settings.mechanism.is_oauth or ctx.settings.token is not None))
    yield finding(
        "server_lacks_oauth_mechanism",
        f"the server lists {', '.join(sorted(mechs)) or 'no SASL mechanism'} and neither XOAUTH2 nor OAUTHBEARER"
        + (" after TLS." if ev.capabilities_post_tls is not None else ".")
        + (" A bearer token cannot be presented here." if wants_oauth else ""),
        score=WIRE_PROOF if (wants_oauth or no_mech_fault) else WEAK_CANDIDATE, confirmed=True,
        severity=None if (wants_oauth or no_mech_fault) else Severity.WARNING,
        evidence=(ctx.caps_ref(), *(ctx.line_ref("fault", ev.fault.line_seq, ev.fault.detail) if no_mech_fault and ev.fault else ())),
    )


def sasl_ir_rule(ctx: Context) -> Iterator[Finding]:
    if ctx.protocol != "imap" or ctx.capabilities is None or "SASL-IR" in ctx.capabilities or ctx.sasl is None:
        return
    if not ctx.sasl.sasl_ir or ctx.auth_ok:
        return  # the two-step form, or the server took the one-line form anyway (healthy_rule warns)
    refused = ctx.auth_refused
    yield finding(
        "sasl_ir_not_advertised_or_misused",
        f"the client sent the {ctx.sasl.mechanism} initial response on the AUTHENTICATE line, but the server does not list "
        "SASL-IR (RFC 4959), so it may reject the one-line form." + ("" if refused else unconfirmed_note(
            ctx, "a BAD/NO to the one-line command would confirm it")),
        score=CROSS_LAYER_PROOF if refused else CANDIDATE, confirmed=refused,
        evidence=(ctx.caps_ref(), *ctx.command_ref(), *(ctx.reply_ref() if refused else ())),
    )


def sasl_format_rule(ctx: Context) -> Iterator[Finding]:
    """xoauth2_string_malformed / oauthbearer_payload_wrong_format from the decoded payload and the server's words."""
    sasl = ctx.sasl
    if sasl is None or sasl.mechanism.upper() not in OAUTH_MECHANISMS:
        return
    mech = sasl.mechanism.upper()
    defects = [d for d in sasl.defects if not any(m in d for m in _FORMAT_ONLY_DEFECTS)]
    invalid = _INVALID_SASL_RE.search(ctx.reply.text) if ctx.reply.text else None
    crossed = [d for d in defects if "sent with OAUTHBEARER" in d or "sent with XOAUTH2" in d]
    exchange_oauthbearer = mech == "OAUTHBEARER" and ctx.server_family == "exchange"
    if crossed or exchange_oauthbearer or (invalid and mech == "OAUTHBEARER"):
        reasons = crossed or (["Exchange does not offer OAUTHBEARER"] if exchange_oauthbearer else [])
        yield finding(
            "oauthbearer_payload_wrong_format",
            f"{mech} was sent" + (f" and the server answered '{ctx.reply.text}'" if invalid else "")
            + (": " + "; ".join(reasons) if reasons else ": the payload does not follow RFC 7628 (GS2 header 'n,a=<user>,')."),
            score=WIRE_PROOF if invalid else (CROSS_LAYER_PROOF if ctx.auth_refused else PREDICTION),
            confirmed=bool(invalid) or ctx.auth_refused,
            evidence=(*ctx.command_ref(), *ctx.reply_ref()),
        )
        return
    if not defects and not invalid:
        return
    detail = "; ".join(defects) if defects else "the decoded payload was not available"
    if invalid:
        explanation = (f"the server answered '{ctx.reply.text}': the format of the XOAUTH2 string is wrong, not the token. "
                       f"Defects in what the client sent: {detail}.")
        score, confirmed = WIRE_PROOF, True
    elif ctx.auth_refused:
        explanation = f"the server refused the credential and the XOAUTH2 string the client sent is malformed: {detail}."
        score, confirmed = WIRE_PROOF - 5, True
    else:
        explanation = f"the XOAUTH2 string the client built is malformed: {detail}." + unconfirmed_note(
            ctx, "a refusal (Gmail: 'Invalid SASL argument') would confirm it")
        score, confirmed = PREDICTION, False
    fix = ["Build base64('user=' + user + '\\x01auth=Bearer ' + token + '\\x01\\x01') on one line, no whitespace."]
    if any("double base64" in d for d in defects):
        fix.append("Encode the string once: the library already base64-encodes the SASL response.")
    if any("raw access token" in d for d in defects):
        fix.append("Wrap the token: do not send the bare access token as the SASL argument.")
    if any(d.startswith("user= is") or "no user= field" in d for d in defects):
        configured = f" (settings: user {ctx.settings.user})" if ctx.settings is not None and ctx.settings.user else ""
        fix.append(f"Put the mailbox address in user={configured}.")
    yield finding("xoauth2_string_malformed", explanation, score=score, confirmed=confirmed, fix=fix,
                  evidence=(*ctx.command_ref(), *(EvidenceRef(EvidenceKind.LINE, "payload defect", d, ctx.command_seq)
                                                  for d in defects), *ctx.reply_ref()))


def error_challenge_rule(ctx: Context) -> Iterator[Finding]:
    challenge = ctx.gmail_challenge
    aborted = _CLIENT_ABORTED_RE.search(ctx.reply.text) if ctx.reply.text else None
    fault = ctx.evidence.fault
    silent = fault is not None and fault.kind in (FaultKind.SERVER_SILENT, FaultKind.CLOSED_MID_COMMAND)
    if not aborted and not (challenge is not None and ctx.reply.status is None and silent):
        return
    text = f"the server sent an error challenge {challenge}" if challenge is not None else "the server sent an error challenge"
    yield finding(
        "error_challenge_not_acknowledged",
        text + (" and the client aborted with '*'" if aborted else
                " and then waited: the client never sent the empty line that releases the final answer")
        + ". The challenge itself names the real problem; answer it to see the tagged NO.",
        score=WIRE_PROOF, confirmed=True,
        evidence=(*ctx.command_ref(), *ctx.reply_ref(), *(ctx.line_ref("fault", fault.line_seq, fault.detail) if fault else ())),
    )


def token_as_password_rule(ctx: Context) -> Iterator[Finding]:
    """A bearer token went into a PLAIN/LOGIN password field."""
    if not ctx.password_mechanism_used or ctx.auth_ok:
        return
    token_kind = ctx.token.kind if ctx.token is not None else ""
    static_token = ctx.settings is not None and ctx.settings.token is not None and ctx.settings.password is None
    if token_kind not in ("jwt", "opaque") and not static_token:
        return
    refused = ctx.auth_refused
    yield finding(
        "token_sent_as_password_via_plain",
        f"the client used {ctx.mechanism_used} (a password mechanism) while the credential is an access token "
        f"({ctx.token.shape if ctx.token else 'static token'}): a server reads it as a password and refuses it."
        + ("" if refused else unconfirmed_note(ctx, "the server's refusal would confirm it")),
        score=CROSS_LAYER_PROOF if refused else PREDICTION, confirmed=refused,
        fix=("Select XOAUTH2 (settings: mechanism xoauth2); never fall back to PLAIN/LOGIN with a token.",),
        evidence=(*ctx.command_ref(), *ctx.reply_ref(), EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "credential",
                                                                    ctx.token.shape if ctx.token else "static token")),
    )


def expired_mid_session_rule(ctx: Context) -> Iterator[Finding]:
    hit = ctx.find_server_text(_EXPIRED_BYE_RE)
    if hit is None:
        return
    text, seq = hit
    evidence = [*ctx.line_ref("untagged BYE", seq, text)]
    if "exp" in ctx.claims:
        evidence.append(ctx.claim_ref("exp"))
    yield finding(
        "token_expired_mid_session",
        f"the server ended an authenticated session with '{text}': the token that opened it expired. This is not a bad "
        "credential.", score=WIRE_PROOF, confirmed=True, evidence=evidence,
        fix=("Handle the untagged BYE: refresh the token (msal acquire_token_silent / google-auth creds.refresh) and reconnect.",),
    )


def provider_server_mismatch_rule(ctx: Context) -> Iterator[Finding]:
    """A Microsoft token at Gmail or a Google token at Exchange (the greeting names the server)."""
    if ctx.token is None or ctx.server_family not in ("exchange", "gmail"):
        return
    token_provider = ctx.token.provider
    server_provider = {"exchange": "microsoft", "gmail": "google"}[ctx.server_family]
    if token_provider not in ("microsoft", "google") or token_provider == server_provider:
        return
    refused = ctx.auth_refused
    yield finding(
        "provider_host_token_mismatch",
        f"the token comes from {token_provider} ({ctx.token.shape}) but the server is {ctx.server_family} "
        f"(greeting: {ctx.evidence.greeting or 'n/a'}): it cannot accept it.",
        score=WIRE_PROOF if refused else PREDICTION + 5, confirmed=True,
        fix=(f"Get the token from {server_provider} for this host, or point the client at the {token_provider} mail host.",),
        evidence=(*ctx.line_ref("greeting", ctx.evidence.greeting_seq, ctx.evidence.greeting or ""),
                  EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "provider", token_provider), *ctx.reply_ref()),
    )


def _smtp_sender_refused(ctx: Context) -> bool:
    """A post-auth SMTP check (MAIL FROM, RCPT TO, DATA) was refused: authenticated, but it may not send."""
    return any(c.command.upper() in _SMTP_SENDING_COMMANDS and c.result in ("NO", "BAD") for c in ctx.evidence.commands)


def healthy_rule(ctx: Context) -> Iterator[Finding]:
    """The explicit good result, plus warnings that still matter on a good day."""
    reached = ctx.mailbox_reached
    smtp_ok = ctx.protocol == "smtp" and ctx.auth_ok and not _smtp_sender_refused(ctx)
    if reached is None and not smtp_ok:
        return
    sending = [c.command for c in ctx.evidence.commands if c.command.upper() in _SMTP_SENDING_COMMANDS]
    what = (f"{reached.command} answered '{reached.text}'" if reached else
            "SMTP accepted the AUTH" + (f" and {' and '.join(dict.fromkeys(sending))}" if sending else ""))
    yield finding(
        "session_healthy",
        f"signed in with {ctx.mechanism_used or 'the credential'} and the mailbox is reachable: {what}.",
        score=50.0, confirmed=True,
        evidence=(*ctx.reply_ref(), *(ctx.line_ref(reached.command, reached.seq, reached.text) if reached else ())),
    )
    if ctx.protocol == "imap" and ctx.capabilities is not None and "SASL-IR" not in ctx.capabilities:
        yield finding("sasl_ir_not_advertised_or_misused",
                      "the server does not list SASL-IR: clients must use the two-step AUTHENTICATE form here.",
                      score=WARNING, confirmed=True, severity=Severity.WARNING, evidence=(ctx.caps_ref(),))


def evidence_time_rule(ctx: Context) -> Iterator[Finding | Check]:
    """When the evidence was produced, and the token's validity then: an imported log is judged as of its own time."""
    when = ctx.judged_at
    yield Check("time of the evidence", when.known, f"{when.stated}: {when.detail}" if when.known else when.detail)
    token, validity = ctx.token, ctx.validity
    if token is None or validity.state is timing.State.NO_EXPIRY:
        return
    left = validity.seconds_left
    if validity.state is timing.State.UNDETERMINED:
        yield Check("expiry", False, timing.undetermined(token, when))
    elif validity.state is timing.State.NOT_YET_VALID:
        yield Check("expiry", False, "cannot be judged: by the clock that timed the evidence the token was not valid yet")
        yield _not_yet_valid(ctx, validity)
    elif left is not None:
        verdict = f"{timing.span(left, when)} left" if left > 0 else f"expired {timing.span(left, when)} before"
        yield Check("expiry", True, f"{verdict} {timing.used_at(when)}")
        if 0 < left <= 300 and when.exact:
            yield finding(
                "token_expires_soon", f"the access token expires {int(left)} s after {timing.used_at(when)}: a session opened "
                "then is cut soon, and the next connection needs a refreshed token.", score=WARNING, confirmed=True,
                severity=Severity.WARNING, evidence=(_expiry_ref(ctx),),
            )


def _not_yet_valid(ctx: Context, validity: timing.Validity) -> Finding:
    when = ctx.judged_at
    early = int(((validity.start or 0) - (when.latest or 0)) // 60)
    clock = "this machine's clock" if when.source is TimeSource.CLOCK else "the clock of the machine that wrote the log"
    consequence = ("a client that trusts it refreshes its tokens late, after servers have started refusing them" if
                   when.source is TimeSource.CLOCK else "so the log's times cannot tell whether the token had expired when used")
    return finding(
        "token_not_yet_valid",
        f"the token becomes valid at {timing.stamp(validity.start or 0)} (nbf/iat) but the evidence is timed {when.stated} "
        f"({when.detail}), at least {early} min earlier: {clock} is behind the identity provider's by at least that much, "
        f"{consequence}.", score=WARNING, confirmed=True, severity=Severity.WARNING,
        evidence=(ctx.claim_ref("nbf") if "nbf" in ctx.claims else ctx.claim_ref("iat") if "iat" in ctx.claims else
                  EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "issued_at", str(ctx.token.issued_at if ctx.token else "")),),
    )


def _expiry_ref(ctx: Context) -> EvidenceRef:
    if "exp" in ctx.claims:
        return ctx.claim_ref("exp")
    return EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "expires_at", str(ctx.token.expires_at if ctx.token else ""))


ENGINE_RULES = (
    fault_rule,
    tls_mode_settings_rule,
    capability_rules,
    sasl_ir_rule,
    sasl_format_rule,
    error_challenge_rule,
    token_as_password_rule,
    expired_mid_session_rule,
    provider_server_mismatch_rule,
    healthy_rule,
    evidence_time_rule,
)
