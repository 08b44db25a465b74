"""What a finished session shows for one named fact (a claim, a setting, the server's answer ...), in one line of
plain words. The reveal sets these against each wrong choice's tell: "it would have shown X; here: Y".
Everything read here is already redacted by the SessionRecord."""

from __future__ import annotations

from mailscope.diagnosis import timing
from mailscope.record import SessionRecord

FACT_KINDS = ("claim:", "setting:", "granted_scope", "refresh_token", "expires", "account", "token_error", "auth", "mechanism",
              "sasl_payload", "capabilities", "challenge", "after_auth", "frontend", "outcome")
TIME_CLAIMS = ("exp", "iat", "nbf")
AFTER_AUTH_COMMANDS = ("NAMESPACE", "LIST", "EXAMINE", "SELECT", "STAT", "MAIL FROM", "RCPT TO")


def fact(record: SessionRecord, name: str) -> str:
    """`name` as the session shows it, e.g. "claim aud: https://graph.microsoft.com"."""
    kind, _, detail = name.partition(":")
    if kind == "claim":
        return _claim(record, detail)
    if kind == "setting":
        value = getattr(record.settings, detail, None) if record.settings is not None else None
        shown = " ".join(map(str, value)) if isinstance(value, tuple) else str(value) if value not in (None, "") else "(not set)"
        return f"setting {detail}: {shown}"
    return _SESSION_FACTS[kind](record)


def _claim(record: SessionRecord, name: str) -> str:
    token = record.token
    if token is None or token.kind == "none":
        return f"claim {name}: no token was issued"
    if token.kind != "jwt":
        return f"claim {name}: the token is {token.shape or token.kind}, it has no readable claims"
    value = token.claims.get(name)
    if value is None:
        return f"claim {name}: absent"
    if name in TIME_CLAIMS and isinstance(value, int | float):
        return f"claim {name}: {timing.stamp(value)} ({_relative(record, float(value))})"
    return f"claim {name}: {' '.join(map(str, value)) if isinstance(value, list) else value}"


def _relative(record: SessionRecord, moment: float) -> str:
    when = record.judged_at()
    left = when.seconds_until(moment)
    if left is None:
        return "the session's time cannot tell"
    minutes = round(abs(left) / 60)
    return f"{minutes} min {'after' if left >= 0 else 'before'} the session"


def _granted(record: SessionRecord) -> str:
    token = record.token
    if token is None or token.granted_scopes is None:
        return "granted scope: not known (no token response)"
    return f"granted scope: {' '.join(token.granted_scopes) or '(empty)'}"


def _refresh(record: SessionRecord) -> str:
    has = record.token.has_refresh_token if record.token is not None else None
    return {True: "refresh token: the token response carried one", False: "refresh token: the token response carried none"}.get(
        has, "refresh token: not known")


def _expires(record: SessionRecord) -> str:
    token = record.token
    if token is None or token.expires_at is None:
        return "expiry: not known"
    return f"expiry: {timing.stamp(token.expires_at)} ({_relative(record, token.expires_at)})"


def _account(record: SessionRecord) -> str:
    token = record.token
    return f"token account: {token.account}" if token is not None and token.account else "token account: not known"


def _token_error(record: SessionRecord) -> str:
    error = record.token.error if record.token is not None else None
    if not error:
        return "token endpoint: no error, a token was issued" if record.token is not None and record.token.kind != "none" \
            else "token endpoint: not asked"
    description = str(error.get("error_description", "")).split("\n")[0]
    return f"token endpoint: {error.get('error', 'error')}" + (f": {description[:200]}" if description else "")


def _auth(record: SessionRecord) -> str:
    evidence = record.evidence
    if evidence.auth_result is None:
        return "the server's answer to the credential: none (no credential reached the server)"
    return f"the server's answer to the credential: {evidence.auth_text or evidence.auth_result}"


def _mechanism(record: SessionRecord) -> str:
    evidence = record.evidence
    if evidence.login_used:
        return "mechanism: LOGIN command with a password"
    return f"mechanism: {evidence.mechanism}" if evidence.mechanism else "mechanism: none was used"


def _payload(record: SessionRecord) -> str:
    sasl = record.evidence.sasl
    if not sasl:
        return "SASL: nothing was sent"
    first = sasl[0]
    form = "on the command line" if first.sasl_ir else "after the server's go-ahead"
    defects = f"; defects: {', '.join(first.defects)}" if first.defects else ""
    return f"SASL {first.mechanism} sent {form}: {first.client_payload or '(not recorded)'}{defects}"


def _capabilities(record: SessionRecord) -> str:
    evidence = record.evidence
    shown = []
    if evidence.capabilities_pre_tls is not None:
        shown.append(f"before TLS: {' '.join(evidence.capabilities_pre_tls) or '(none)'}")
    if evidence.capabilities_post_tls is not None:
        shown.append(f"after TLS: {' '.join(evidence.capabilities_post_tls) or '(none)'}")
    return "capabilities " + ("; ".join(shown) if shown else "were not read")


def _challenge(record: SessionRecord) -> str:
    challenges = [c for exchange in record.evidence.sasl for c in exchange.challenges]
    return f"error challenge: {' / '.join(challenges)}" if challenges else "error challenge: none was sent"


def _after_auth(record: SessionRecord) -> str:
    evidence = record.evidence
    if evidence.auth_result != "OK":
        return "after sign-in: nothing (the sign-in did not succeed)"
    answered = [f"{c.command} → {c.text or c.result}" for c in evidence.commands if c.command in AFTER_AUTH_COMMANDS]
    if evidence.untagged_bye:
        answered.append(evidence.untagged_bye)
    return "after sign-in: " + ("; ".join(answered) if answered else "no mailbox command was answered")


def _frontend(record: SessionRecord) -> str:
    evidence = record.evidence
    return f"server: {evidence.server_family}" + (f", front end {evidence.frontend_name}" if evidence.frontend_name else "")


def _outcome(record: SessionRecord) -> str:
    return f"outcome: {record.outcome.kind}" if record.outcome is not None else "outcome: the session did not finish"


_SESSION_FACTS = {
    "granted_scope": _granted, "refresh_token": _refresh, "expires": _expires, "account": _account, "token_error": _token_error,
    "auth": _auth, "mechanism": _mechanism, "sasl_payload": _payload, "capabilities": _capabilities, "challenge": _challenge,
    "after_auth": _after_auth, "frontend": _frontend, "outcome": _outcome,
}
