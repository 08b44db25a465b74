"""Provider-neutral rules: connection faults, TLS mode, capabilities, mechanism choice, SASL format, error challenges,
mid-session expiry, the healthy result and the token's validity at the time of the evidence. Provider knowledge lives in
providers/rules_*.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailscope import sasl as sasl_format
from mailscope.diagnosis import timing
from mailscope.diagnosis.context import OAUTH_MECHANISMS, PASSWORD_MECHANISMS, Context, mechanisms_in, not_accepted, same_user
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
from mailscope.evidence import FaultKind
from mailscope.findings import Check, EvidenceKind, EvidenceRef, Finding, Severity, TimeSource
from mailscope.patterns import Signature, lazy
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
_WRONG_VERSION_RE = lazy(r"wrong version number|unknown protocol|record layer failure|http request", re.I)
# Which protocol a well-known port belongs to, split by whether it speaks TLS from the first byte (mailscope.protocols' table).
_IMPLICIT_TLS_PORTS = {port: protocol for (protocol, security), port in DEFAULT_PORTS.items() if security is Security.TLS}
_PLAIN_FIRST_PORTS = {port: protocol for (protocol, security), port in DEFAULT_PORTS.items() if security is not Security.TLS}
_INVALID_SASL_RE = lazy(r"Invalid SASL argument|Invalid XOAUTH2 auth data", re.I)
# The server's own words that it has no such mechanism (GreenMail, Dovecot without the oauth2 passdb, SMTP 504 5.7.4).
UNSUPPORTED_MECHANISM_RE = Signature(
    r"Unsupported authentication mechanism|Unrecognized authentication type|Unsupported mechanism|mechanism not supported|"
    r"^504[ -]5\.7\.4\b", re.I)
_CLIENT_ABORTED_RE = lazy(r"Client aborted AUTHENTICATE", re.I)
_EXPIRED_BYE_RE = Signature(r"AccessTokenExpired|Session expired, please login again", re.I)
_FORMAT_ONLY_DEFECTS = ("in lower case", sasl_format.DEFECTS["bearer_is_password"])  # not a format cause on its own
_SMTP_SENDING_COMMANDS = ("MAIL FROM", "RCPT TO", "DATA")  # CONTRACTS §1 command names


def fault_rule(ctx: Context) -> Iterator[Finding]:
    fault = ctx.evidence.fault
    if fault is None or fault.kind in (FaultKind.TOKEN_ACQUISITION, FaultKind.NO_USABLE_MECHANISM):
        return  # token failures: the providers' explainers; no mechanism: the capability rules
    finding_id = FAULT_FINDING_IDS.get(fault.kind, "protocol_error")
    if fault.kind is FaultKind.TLS_HANDSHAKE and _WRONG_VERSION_RE().search(fault.detail):
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
    elif security == "plain" and not ctx.local_endpoint:
        yield finding(
            "wrong_port_or_tls_mode", "security is 'plain': the token would cross the network unencrypted, and cloud servers "
            "offer no OAuth mechanism before TLS.", score=PREDICTION, confirmed=False,
            fix=_tls_mode_fix(s.port, security), evidence=(ctx.setting_ref("security", security),))


def capability_rules(ctx: Context) -> Iterator[Finding | Check]:
    ev = ctx.evidence
    pre = ev.capabilities_pre_tls
    unsupported = ctx.find_server_text(UNSUPPORTED_MECHANISM_RE) if ctx.auth_refused else None
    if unsupported is not None and (ctx.mechanism_used or "OAUTH") in (*OAUTH_MECHANISMS, "OAUTH") and (
            ctx.advertised_mechanisms is None or not ctx.advertised_mechanisms & OAUTH_MECHANISMS):
        yield finding("server_lacks_oauth_mechanism", f"the server answered '{unsupported[0]}': it has no such mechanism, so a "
                      "bearer token cannot be presented here.", score=WIRE_PROOF, confirmed=True,
                      evidence=(*ctx.command_ref(), *ctx.line_ref("server reply", unsupported[1], unsupported[0])))
    if ctx.advertised_mechanisms is None:
        yield Check("capabilities", False, "no capability list seen yet")
        if ev.fault is not None and ev.fault.kind is FaultKind.NO_USABLE_MECHANISM and ctx.settings is None:
            yield from _gave_up_without_capabilities(ctx)
        return
    security = ev.security or (str(ctx.settings.security) if ctx.settings is not None else "")
    implicit_tls = security == "tls" or (not security and ctx.port in _IMPLICIT_TLS_PORTS)
    yield Check("capabilities", True, "after STARTTLS" if ev.capabilities_post_tls is not None else
                "over implicit TLS" if implicit_tls else "as first listed")
    judged_pre = pre is not None and ev.capabilities_post_tls is None and not implicit_tls and _upgradable(pre)
    if judged_pre and not mechanisms_in(pre):
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
        elif _pasted_alone(ctx):
            yield from _capabilities_alone(ctx, pre)
        return
    mechs = ctx.advertised_mechanisms
    if mechs & OAUTH_MECHANISMS:
        return
    if ctx.local_endpoint and mechs <= {"PLAIN", "LOGIN"}:
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


def _upgradable(capabilities: tuple[str, ...]) -> bool:
    """A list read before TLS: the server offers STARTTLS (IMAP, SMTP) or STLS (POP3) in it; without, there is no later list."""
    return bool({c.upper() for c in capabilities} & {"STARTTLS", "STLS", "LOGINDISABLED"})


def _pasted_alone(ctx: Context) -> bool:
    """A fragment: no connection, no greeting, nothing the client did after the list (a capability line pasted alone)."""
    ev = ctx.evidence
    return ctx.settings is None and not ev.host and not ev.greeting and not ev.sasl and not ev.login_used and ev.auth_result is None


def _capabilities_alone(ctx: Context, pre: tuple[str, ...]) -> Iterator[Finding]:
    """A pre-TLS capability list pasted on its own: why it matters is undecided until the client's next lines."""
    evidence = (EvidenceRef(EvidenceKind.CAPABILITY, "capabilities before TLS", " ".join(pre), ctx.capability_seq),)
    decide = ("The client's next lines decide: STARTTLS and a second list with AUTH=XOAUTH2 mean all is well; a client that gives "
              "up here ('No authenticators available', 'No known authentication mechanisms') confirms the first cause.",)
    yield finding("no_oauth_mechanism_before_starttls", "this capability list comes before TLS (it offers STARTTLS) and names no "
                  "mechanism: a client that chooses from it finds no XOAUTH2.", score=CANDIDATE, confirmed=False,
                  evidence=evidence, decide=decide)
    yield finding("server_lacks_oauth_mechanism", "the list names no OAuth mechanism; if the one after STARTTLS does not either, "
                  "the server offers none.", score=CANDIDATE - 2, confirmed=False, evidence=evidence, decide=decide)


def _gave_up_without_capabilities(ctx: Context) -> Iterator[Finding]:
    """The client's own error says it found no mechanism to use; the log does not show the list it read."""
    fault = ctx.evidence.fault
    assert fault is not None
    evidence = ctx.line_ref("client error", fault.line_seq, fault.detail)
    decide = ("Paste the capability list the client read (the CAPABILITY answer, or EHLO's after STARTTLS) with the log: "
              "no AUTH= at all before STARTTLS means the first; a list after TLS without XOAUTH2/OAUTHBEARER the second.",)
    yield finding("no_oauth_mechanism_before_starttls", f"the client gave up before signing in ('{fault.detail}'); the most common "
                  "reason is a capability list read before STARTTLS, which names no mechanism.", score=CANDIDATE, confirmed=False,
                  evidence=evidence, decide=decide)
    yield finding("server_lacks_oauth_mechanism", f"the client gave up before signing in ('{fault.detail}'): the server may "
                  "offer no OAuth mechanism at all.", score=CANDIDATE - 1, confirmed=False, evidence=evidence, decide=decide)


@applies_if(not_accepted)  # a server that took the one-line form anyway: healthy_rule warns
def sasl_ir_rule(ctx: Context) -> Iterator[Finding]:
    if ctx.protocol != "imap" or ctx.capabilities is None or "SASL-IR" in ctx.capabilities or ctx.sasl is None:
        return
    if not ctx.sasl.sasl_ir:
        return  # the two-step form
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
    if sasl is None and ctx.mechanism_used is None and ctx.reply.text and _INVALID_SASL_RE().search(ctx.reply.text):
        yield from _malformed_unknown_mechanism(ctx)  # a fragment: the server's words without the client's command
        return
    if sasl is None or sasl.mechanism.upper() not in OAUTH_MECHANISMS:
        return
    mech = sasl.mechanism.upper()
    defects = [d for d in sasl.defects if not any(m in d for m in _FORMAT_ONLY_DEFECTS)]
    invalid = _INVALID_SASL_RE().search(ctx.reply.text) if ctx.reply.text else None
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


def _malformed_unknown_mechanism(ctx: Context) -> Iterator[Finding]:
    """`Invalid SASL argument` / `Invalid XOAUTH2 auth data` with no AUTHENTICATE line in the evidence: the format is
    wrong, not the token; which mechanism's format, only the client's command says."""
    said = f"the server answered '{ctx.reply.text}': the format of the OAuth string is wrong, not the token."
    decide = ("The client's AUTHENTICATE/AUTH line decides which format: paste the log lines before this answer (the "
              "SASL response's structure is shown with the token redacted).",)
    yield finding("xoauth2_string_malformed", said + " Most clients send XOAUTH2; its string is 'user=<mailbox>^Aauth=Bearer "
                  "<token>^A^A', base64-encoded once, on one line.", score=WIRE_PROOF - 5, confirmed=True,
                  evidence=ctx.reply_ref())
    bad = ctx.reply.status == "BAD"  # Gmail answers an XOAUTH2-shaped OAUTHBEARER payload with BAD at once
    yield finding("oauthbearer_payload_wrong_format", said + (" A BAD (not NO) is what Gmail answers an OAUTHBEARER payload without "
                  "its GS2 header." if bad else " With OAUTHBEARER it is the GS2 header that is missing."),
                  score=CANDIDATE if bad else WEAK_CANDIDATE, confirmed=False, evidence=ctx.reply_ref(), decide=decide)


def error_challenge_rule(ctx: Context) -> Iterator[Finding]:
    challenge = ctx.gmail_challenge
    aborted = _CLIENT_ABORTED_RE().search(ctx.reply.text) if ctx.reply.text else None
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


@applies_if(not_accepted)
def token_as_password_rule(ctx: Context) -> Iterator[Finding]:
    """A bearer token went into a PLAIN/LOGIN password field."""
    if not ctx.password_mechanism_used:
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
        fix=(f"Handle the untagged BYE: refresh the token ({_REFRESH_CALL.get(ctx.server_family, _REFRESH_CALL[''])}) and reconnect.",),
    )


# How a client refreshes, for the server at hand (a fix names only the provider of the session).
_REFRESH_CALL = {"exchange": "msal acquire_token_silent", "gmail": "google-auth creds.refresh",
                 "": "msal acquire_token_silent / google-auth creds.refresh"}


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
    what = f"{reached.command} answered '{reached.text}'" if reached else _smtp_accepted(ctx)
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


def _smtp_accepted(ctx: Context) -> str:
    sending = [c.command for c in ctx.evidence.commands if c.command.upper() in _SMTP_SENDING_COMMANDS]
    return "SMTP accepted the AUTH" + (f" and {' and '.join(dict.fromkeys(sending))}" if sending else "")


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


# -- field evidence (issue 11): causes seen in real client logs and pasted fragments ----------------------------------
_LINE_TOO_LONG_RE = Signature(r"\b5\.5\.2\b.*(?:Syntax error|line too long)|\bline too long\b", re.I)
SMTP_LINE_LIMIT = 512  # RFC 5321 §4.5.3.1.4: a command line, CRLF included
_PROXY_PASSWORD_RE = lazy(r"decrypting OAuth 2\.0 credentials.*invalid password|InvalidToken\(\)", re.I)
_PROXY_NAME_RE = Signature(r"Email OAuth 2\.0 Proxy|DavMail", re.I)
# email-oauth2-proxy's own refusal when the local password does not decrypt the account's cached token.
_PROXY_WRONG_PASSWORD_RE = Signature(r"Email OAuth 2\.0 Proxy: Login failed - the password for account \S+ is incorrect", re.I)
_MECHANISM_SETTING = {"xoauth2": "XOAUTH2", "oauthbearer": "OAUTHBEARER", "plain": "PLAIN"}


@applies_if(not_accepted)
def password_as_bearer_rule(ctx: Context) -> Iterator[Finding]:
    """The XOAUTH2/OAUTHBEARER payload carried a short value no issuer mints: a password, not an access token."""
    if not ctx.bearer_is_password or ctx.sasl is None:
        return
    mech, refused = ctx.sasl.mechanism, ctx.auth_refused
    yield finding(
        "password_sent_as_bearer",
        f"the client sent {mech} with a bearer value of a password's size and shape ({ctx.sasl.client_payload}), not an access "
        "token: the server can only refuse it. The cause is the credential the client was given, not the token's scope or "
        "audience." + ("" if refused else unconfirmed_note(ctx, "the server's refusal would confirm it")),
        score=CROSS_LAYER_PROOF + 5 if refused else PREDICTION + 5, confirmed=refused,
        evidence=(*ctx.command_ref(), EvidenceRef(EvidenceKind.LINE, "payload defect", sasl_format.DEFECTS["bearer_is_password"],
                                                  ctx.command_seq), *ctx.reply_ref()),
    )


@applies_if(not_accepted)
def generic_token_rule(ctx: Context) -> Iterator[Finding | Check]:
    """A decodable JWT from an issuer without its own plug-in (Dovecot, Keycloak, Stalwart...): an expired exp (at the
    time of the evidence), a user claim unlike the login, or a scope the server's challenge names and the token lacks
    are decisive once the server refused; before that they are predictions."""
    token = ctx.token
    if token is None or token.kind != "jwt" or token.provider != "generic" or ctx.server_family in ("exchange", "gmail"):
        return
    if ctx.password_mechanism_used:
        return
    refused = ctx.auth_refused

    def stage(proof: float) -> tuple[float, bool]:
        return (proof, True) if refused else (PREDICTION + (proof - CROSS_LAYER_PROOF) / 10, False)

    left = ctx.seconds_left
    if left is not None and (left < -60 or (left < 0 and refused)):
        score, confirmed = stage(CROSS_LAYER_PROOF - 1)
        yield finding(
            "token_expired", f"the token expired {timing.span(left, ctx.judged_at)} before {timing.used_at(ctx.judged_at)} "
            f"(issuer {ctx.claims.get('iss', 'unknown')})." + ("" if confirmed else unconfirmed_note(ctx, "the server's refusal "
                                                                                                   "will confirm it")),
            score=score, confirmed=confirmed, evidence=(ctx.claim_ref("exp"), *ctx.reply_ref()))
    token_user, sasl_user = ctx.token_user, ctx.sasl_user
    if token_user and sasl_user:
        match = same_user(token_user, sasl_user)
        yield Check("user", True, f"token {ctx.token_user_claim} {token_user} {'=' if match else '≠'} SASL user {sasl_user}")
        if not match:
            score, confirmed = stage(CROSS_LAYER_PROOF - 2)
            yield finding(
                "token_user_mismatch", f"the token was issued to {token_user} ({ctx.token_user_claim}) but the client signs in as "
                f"{sasl_user}." + ("" if confirmed else unconfirmed_note(ctx, "the server's refusal will confirm it")),
                score=score, confirmed=confirmed,
                fix=(f"Get the token as {sasl_user}, or sign in as {token_user}.",),
                evidence=(ctx.claim_ref(ctx.token_user_claim, token_user),
                          EvidenceRef(EvidenceKind.LINE, "SASL user", sasl_user, ctx.command_seq), *ctx.reply_ref()))
    required = (ctx.gmail_challenge or {}).get("scope")
    granted = set(ctx.scp) | set(str(ctx.claims.get("scope") or "").split())
    if isinstance(required, str) and required.strip() and granted and not set(required.split()) <= granted:
        missing = " ".join(sorted(set(required.split()) - granted))
        yield finding(
            "token_scope_missing", f"the server's error challenge names the scope '{required}'; the token's scope is "
            f"'{' '.join(sorted(granted))}', without {missing}.", score=CROSS_LAYER_PROOF - 3, confirmed=refused,
            fix=(f"Request the scope {missing} for this client and consent again.",),
            evidence=(ctx.claim_ref("scope", " ".join(sorted(granted))), *_challenge_ref(ctx), *ctx.reply_ref()))


def _challenge_ref(ctx: Context) -> tuple[EvidenceRef, ...]:
    seq = next((s for text, s in ctx.server_lines if text.startswith(("+ ", "334 "))), None)
    return (EvidenceRef(EvidenceKind.LINE, "error challenge (decoded)", str(ctx.gmail_challenge), seq),) if ctx.gmail_challenge else ()


def invalid_request_rule(ctx: Context) -> Iterator[Finding]:
    """RFC 7628 (RFC 6750's codes): `invalid_request` says the SASL message is malformed; the token was not judged."""
    challenge = ctx.gmail_challenge
    if challenge is None or str(challenge.get("status", "")).lower() != "invalid_request":
        return
    yield finding("oauth_request_invalid", f"the server's error challenge {challenge} says the request is malformed "
                  "(invalid_request): the token was not judged, the SASL message was.", score=WIRE_PROOF, confirmed=True,
                  evidence=(*_challenge_ref(ctx), *ctx.command_ref(), *ctx.reply_ref()))


def mechanism_setting_rule(ctx: Context) -> Iterator[Finding]:
    """The mechanism on the wire is not one the client was configured with (settings, or a configuration line the log
    or paste shows: JavaMail's auth.mechanisms, mutt's imap_authenticators, msmtp's auth...)."""
    used = ctx.mechanism_used if (ctx.sasl is not None or ctx.evidence.login_used) else None
    if used is None:
        return
    configured = ctx.evidence.log_facts.get("mechanism_configured", "").split()
    source = "the client's configuration in the log"
    if not configured and ctx.settings is not None and str(ctx.settings.mechanism) in _MECHANISM_SETTING:
        configured, source = [_MECHANISM_SETTING[str(ctx.settings.mechanism)]], "the settings"
    if not configured or used in configured or (used in PASSWORD_MECHANISMS and set(configured) & PASSWORD_MECHANISMS):
        return
    refused = ctx.auth_refused
    yield finding(
        "mechanism_setting_ignored", f"{source} names {' '.join(configured)}, but the client sent {used}"
        + (f" and the server answered '{ctx.reply.text}'." if ctx.reply.text else "."), score=WIRE_PROOF - 4 if refused else WARNING,
        confirmed=True, severity=None if refused else Severity.WARNING,
        fix=(f"Make the client send {configured[0]}: check its version and the option's exact name; some clients fall back to "
             f"{used} when the server lists it first.",),
        evidence=(EvidenceRef(EvidenceKind.SETTING if source == "the settings" else EvidenceKind.LOG, "mechanism configured",
                              " ".join(configured)), *ctx.command_ref(), *ctx.reply_ref()))


def line_length_rule(ctx: Context) -> Iterator[Finding]:
    """An SMTP server's `555 5.5.2 Syntax error` / `500 5.5.2 Line too long` to an AUTH line with the initial response:
    too long when the line passes RFC 5321's 512 characters; undecided when the log does not show the line."""
    hit = ctx.find_server_text(_LINE_TOO_LONG_RE) if ctx.protocol == "smtp" else None
    if hit is None:
        return
    sasl = ctx.sasl
    if sasl is not None and (not sasl.sasl_ir or not sasl.response_length):
        return  # the two-step form has no line limit to pass
    length = len(f"AUTH {sasl.mechanism} ") + sasl.response_length + 2 if sasl is not None else None
    if length is not None and length <= SMTP_LINE_LIMIT:
        return
    said = f"the server answered '{hit[0]}'"
    if length is None:
        yield finding("auth_line_too_long", said + ": Gmail and Dovecot answer so when an AUTH line with the token in it is "
                      "longer than they accept.", score=CANDIDATE + 5, confirmed=False,
                      evidence=ctx.line_ref("server reply", hit[1], hit[0]),
                      decide=("The client's AUTH line decides: longer than 512 characters with the token on it confirms it "
                              "(paste the log line before this answer; the token in it is redacted).",))
        return
    yield finding("auth_line_too_long", said + f" to an AUTH line of {length} characters with the initial response on it "
                  f"(RFC 5321 allows {SMTP_LINE_LIMIT}).", score=WIRE_PROOF, confirmed=True,
                  evidence=(*ctx.command_ref(), *ctx.line_ref("server reply", hit[1], hit[0])))


def proxy_password_rule(ctx: Context) -> Iterator[Finding]:
    """A local OAuth proxy took the client's password (LOGIN/PLAIN: OK), then the mailbox refused the session: the proxy
    signed in upstream with a token that is not this mailbox's, which a local password unlike the one it saved its token
    with leads to (it throws the cached token away and authorises again)."""
    refused = ctx.find_server_text(_PROXY_WRONG_PASSWORD_RE)
    if refused is not None:
        yield finding("oauth_proxy_password_mismatch", f"the local OAuth proxy answered '{refused[0]}': the password the client "
                      "gave it does not decrypt the token it saved for this account, so it signed nothing in upstream.",
                      score=WIRE_PROOF, confirmed=True, evidence=ctx.line_ref("proxy reply", refused[1], refused[0]))
        yield finding("local_proxy_capability_rewrite", "the client talks to a local OAuth proxy: the server's capabilities and "
                      "answers the client sees are the proxy's.", score=CANDIDATE, confirmed=False,
                      evidence=ctx.line_ref("proxy reply", refused[1], refused[0]),
                      decide=("The proxy's own log shows the upstream leg (email-oauth2-proxy --debug).",))
        return
    if not ctx.password_mechanism_used or not ctx.auth_ok or ctx.not_connected is None:
        return
    proxy_said = next((e for e in ctx.evidence.exceptions if _PROXY_PASSWORD_RE().search(e)), None)
    if not ctx.local_endpoint and ctx.find_server_text(_PROXY_NAME_RE) is None and proxy_said is None:
        return  # not at a proxy
    bad = ctx.not_connected
    evidence = (*ctx.reply_ref(), *ctx.line_ref(bad.command, bad.seq, bad.text),
                *((EvidenceRef(EvidenceKind.LOG, "proxy", proxy_said),) if proxy_said else ()))
    why = (f"the proxy accepted the local sign-in ('{ctx.reply.text or 'OK'}') and the mailbox then answered '{bad.text}': "
           "upstream the proxy presented a token that is not this mailbox's")
    if proxy_said:
        yield finding("oauth_proxy_password_mismatch", why + f". Its log says '{proxy_said}': the local password did not "
                      "decrypt its cached token, so it discarded it and authorised again.", score=CROSS_LAYER_PROOF + 2,
                      confirmed=True, evidence=evidence)
        return
    yield finding("oauth_proxy_password_mismatch", why + ". The usual cause is a local password unlike the one the proxy saved "
                  "its token with (the proxy then authorises again, possibly as another account).", score=CANDIDATE + 5,
                  confirmed=False, evidence=evidence,
                  decide=("The proxy's own log decides: 'invalid password' / InvalidToken() when it decrypted its cached token "
                          "confirms it (email-oauth2-proxy --debug; paste it with the client's log).",))


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
    password_as_bearer_rule,
    generic_token_rule,
    invalid_request_rule,
    mechanism_setting_rule,
    line_length_rule,
    proxy_password_rule,
)
