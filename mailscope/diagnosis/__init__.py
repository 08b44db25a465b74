"""Diagnosis: from token, wire and settings to the named cause, its owner and the fix.

`diagnose(inp, extra_rules)` runs the engine's provider-neutral rules plus the plug-ins (providers'
`provider_rules()`), merges findings by id, ranks them and lists which checks could or could not be made.
A rule is `rule(ctx: Context) -> Iterable[Finding | Check]`; `finding(id, explanation, score=, confirmed=)`
fills title, owner, default fix and links from the catalogue. A rule that has nothing to say without some fact (a Microsoft
server, a credential not accepted) declares it with `applies_if`: it is entered only where the fact holds, asked once per run.
Pure and cheap: the SessionRecord re-runs it on every change, so findings appear as evidence arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from mailscope.diagnosis import timing
from mailscope.diagnosis.catalogue import TOKEN_STAGE_IDS
from mailscope.diagnosis.context import Context
from mailscope.diagnosis.generic import ENGINE_RULES
from mailscope.diagnosis.rule import WEAK_CANDIDATE, Rule, finding, preconditions
from mailscope.findings import Check, Diagnosis, DiagnosisInput, EvidenceKind, EvidenceRef, Finding, Severity

__all__ = ["ENGINE_RULES", "Context", "Rule", "diagnose", "finding", "make_diagnoser"]

_TOKEN_ERROR_BOOST = 300.0  # a token-endpoint error explained by a provider rule outranks everything
_TOKEN_STAGE_BOOST = 250.0
_TOKEN_FALLBACK = 200.0


def diagnose(inp: DiagnosisInput, extra_rules: Iterable[Rule] = ()) -> Diagnosis:
    return _diagnose(inp, _with_preconditions(extra_rules))


def make_diagnoser(extra_rules: Iterable[Rule] = ()) -> Callable[[DiagnosisInput], Diagnosis]:
    """A diagnoser for SessionRecord(diagnoser=...); pass `providers.registry.provider_rules()` as extra_rules."""
    rules = _with_preconditions(extra_rules)

    def run(inp: DiagnosisInput) -> Diagnosis:
        return _diagnose(inp, rules)

    return run


_Rules = tuple[tuple[Rule, tuple[Callable[[Context], bool], ...]], ...]


def _with_preconditions(extra_rules: Iterable[Rule]) -> _Rules:
    """Every rule to run, in order, with the facts it declared it needs (read once, not per diagnosis)."""
    return tuple((rule, preconditions(rule)) for rule in (*ENGINE_RULES, *extra_rules))


def _diagnose(inp: DiagnosisInput, rules: _Rules) -> Diagnosis:
    ctx = Context(inp)
    produced: list[Finding] = []
    checks: list[Check] = list(_base_checks(ctx))
    known: dict[Callable[[Context], bool], bool] = {}  # each declared fact asked once per run
    for rule, facts in rules:
        try:
            if facts and not _all_hold(ctx, facts, known):
                continue  # the rule has nothing to say here
            items = list(rule(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not take the live session down
            checks.append(Check(f"rule {getattr(rule, '__name__', rule)!s}", False, f"rule failed on this evidence: {type(exc).__name__}"))
            continue
        for item in items:
            if isinstance(item, Check):
                checks.append(item)
            else:
                produced.append(item)
    findings = _merge(produced)
    findings = _token_stage_first(ctx, findings)
    findings = _fallback_for_unexplained_refusal(ctx, findings)
    ranked = tuple(sorted(findings, key=lambda f: -f.score))
    return Diagnosis(findings=ranked, checks=_dedupe_checks(checks), summary=_summary(ctx, ranked))


def _all_hold(ctx: Context, facts: tuple[Callable[[Context], bool], ...], known: dict[Callable[[Context], bool], bool]) -> bool:
    """Each fact asked once per diagnosis (`known`); one that raises is not remembered: it fails each rule that declares
    it, as it did when each body asked it."""
    for fact in facts:
        holds = known.get(fact)
        if holds is None:
            holds = known[fact] = bool(fact(ctx))
        if not holds:
            return False
    return True


def _merge(produced: list[Finding]) -> list[Finding]:
    """One finding per id: the strongest wins, the evidence of all is kept (first-seen order)."""
    by_id: dict[str, Finding] = {}
    for f in produced:
        old = by_id.get(f.id)
        if old is None:
            by_id[f.id] = f
            continue
        best, other = (f, old) if f.score > old.score else (old, f)
        evidence = tuple(dict.fromkeys((*best.evidence, *other.evidence)))
        confirmed = best.confirmed or other.confirmed
        decide = () if confirmed else tuple(dict.fromkeys((*best.decide, *other.decide)))
        by_id[f.id] = replace(best, evidence=evidence, confirmed=confirmed, decide=decide)
    return list(by_id.values())


def _cites_token_error(f: Finding) -> bool:
    return any(e.kind is EvidenceKind.TOKEN_RESPONSE and e.name.lower() in ("error", "error_codes", "error_description")
               for e in f.evidence)


def _token_stage_first(ctx: Context, findings: list[Finding]) -> list[Finding]:
    """When no token could be obtained, the token endpoint's explained error is the answer."""
    if not ctx.token_failed:
        return findings
    out = []
    for f in findings:
        if _cites_token_error(f):
            out.append(replace(f, score=_TOKEN_ERROR_BOOST + f.score / 1000))  # keeps the explainer's own order
        elif f.id in TOKEN_STAGE_IDS:
            out.append(replace(f, score=max(f.score, _TOKEN_STAGE_BOOST)))
        else:
            out.append(f)
    if not any(f.id in TOKEN_STAGE_IDS or _cites_token_error(f) for f in out):
        out.append(_token_failure_fallback(ctx))
    return out


def _token_failure_fallback(ctx: Context) -> Finding:
    error = (ctx.token.error if ctx.token is not None else None) or {}
    fault = ctx.evidence.fault
    logged = ctx.evidence.token_endpoint_errors
    text = str(error.get("error_description") or error.get("error") or (fault.detail if fault else "") or
               (logged[0] if logged else "") or "no detail")
    evidence = [EvidenceRef(EvidenceKind.TOKEN_RESPONSE, "error", str(error.get("error", "")))] if error else []
    if fault is not None:
        evidence += ctx.line_ref("token stage", fault.line_seq, fault.detail)
    evidence += [EvidenceRef(EvidenceKind.LOG, "token endpoint error", text) for text in logged]
    return finding("token_acquisition_failed", f"no token was issued: {text}", score=_TOKEN_FALLBACK, confirmed=True,
                   evidence=evidence)


def _fallback_for_unexplained_refusal(ctx: Context, findings: list[Finding]) -> list[Finding]:
    if not ctx.auth_refused or any(f.severity is Severity.ERROR for f in findings):
        return findings
    missing = []
    if not ctx.has_token:
        missing.append("no token was available to inspect")
    elif not ctx.claims and ctx.granted_scopes is None:
        missing.append("the token is opaque and no token response (granted scope) was recorded")
    known = []
    if ctx.gmail_challenge is not None:
        known.append(f"the server's error challenge said {ctx.gmail_challenge}")
    if ctx.seconds_left is not None and ctx.seconds_left < 0:
        known.append(f"the token expired {timing.span(ctx.seconds_left, ctx.judged_at)} before {timing.used_at(ctx.judged_at)}")
    elif ctx.token is not None and ctx.validity.state is timing.State.UNDETERMINED:
        known.append(timing.undetermined(ctx.token, ctx.judged_at))
    if ctx.audiences:
        known.append(f"its aud is {' '.join(ctx.audiences)}")
    explanation = f"the server answered '{ctx.reply.text}'." + (
        " Cannot tell why: " + "; ".join(missing) + "." if missing else " No rule matched this combination of evidence.") + (
        " Known: " + "; ".join(known) + "." if known else "")
    return [*findings, finding("auth_refused_cause_unknown", explanation, score=WEAK_CANDIDATE, confirmed=False,
                               evidence=(*ctx.command_ref(), *ctx.reply_ref()))]


def _base_checks(ctx: Context) -> Iterable[Check]:
    yield Check("settings", ctx.settings is not None,
                f"{ctx.host}:{ctx.port} {ctx.protocol}" if ctx.settings is not None else "no settings (imported log): host from the log")
    token = ctx.token
    if token is None or token.kind == "none":
        yield Check("token", False, "no token known: scope, audience, user and expiry cannot be checked")
    elif ctx.token_failed:
        yield Check("token", False, "the token endpoint returned an error: no token to inspect")
    elif token.kind == "jwt":
        present = [c for c in ("aud", "scp", "roles", "upn", "preferred_username", "exp", "tid", "idtyp") if c in token.claims]
        yield Check("token claims", True, "decoded JWT: " + ", ".join(present))
    elif token.kind == "opaque":
        yield Check("token claims", False, f"opaque token ({token.shape}): claims cannot be decoded"
                    + ("; using the token response's granted scope" if token.granted_scopes is not None
                       else "; no token response scope either, so scope cannot be checked"))
    elif token.kind == "password":
        yield Check("token", False, "a password, not a token: nothing to inspect")
    yield Check("mechanism used", ctx.mechanism_used is not None, ctx.mechanism_used or "not yet known")
    if ctx.sasl is not None:
        yield Check("client payload format", bool(ctx.sasl.client_payload or ctx.sasl.defects),
                    "; ".join(ctx.sasl.defects) or ("well-formed" if ctx.sasl.client_payload else "payload not recorded"))
    yield Check("server answer", ctx.answered, ctx.reply.text or "no answer to the credential yet")
    if ctx.auth_ok:
        reached = ctx.mailbox_reached
        yield Check("mailbox access", reached is not None or ctx.not_connected is not None,
                    (reached.text if reached else ctx.not_connected.text if ctx.not_connected else "not tried yet"))


def _dedupe_checks(checks: list[Check]) -> tuple[Check, ...]:
    seen: dict[str, Check] = {}
    for c in checks:
        seen[c.name] = c  # a later (more specific) rule's verdict replaces the base one
    return tuple(seen.values())


def _summary(ctx: Context, ranked: tuple[Finding, ...]) -> str:
    if not ranked:
        return "" if not ctx.answered else ("authenticated" if ctx.auth_ok else "")
    top = ranked[0]
    if top.id == "session_healthy":
        return "authenticated and mailbox reachable"
    if top.confirmed:
        return f"{top.title} [{top.id}]"
    return f"most likely: {top.title} [{top.id}] (not confirmed)"
