"""The rule contract shared by engine rules and provider plug-ins, and the Finding builder they use.

A rule is a pure function `rule(ctx: Context) -> Iterable[Finding | Check]`. It reads the derived facts
in `ctx` and yields findings (ranked later by `score`) and checks (what it could or could not verify).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from mailscope.diagnosis.catalogue import entry
from mailscope.diagnosis.context import Context
from mailscope.findings import Check, EvidenceRef, Finding, Severity

Rule = Callable[[Context], Iterable[Finding | Check]]
R = TypeVar("R", bound=Rule)

# Ranking bands. A signature the wire alone proves beats a cause the token proves together with a refusal,
# which beats a prediction from the token before the server answered, which beats a prior-only candidate.
WIRE_PROOF = 100.0
CROSS_LAYER_PROOF = 90.0
SIGNATURE = 85.0
PREDICTION = 60.0
CANDIDATE = 40.0
WEAK_CANDIDATE = 20.0
WARNING = 10.0


def applies_if(*facts: Callable[[Context], bool]) -> Callable[[R], R]:
    """Declares the facts without which a rule has nothing to say. `diagnose` calls the rule only when all of them hold, and
    asks each fact once per run however many rules declare it: a session at Exchange never enters the Google rules, a
    healthy one none of the refusal rules. The rule's body does not ask them again."""

    def declare(rule: R) -> R:
        rule.applies_if = facts  # type: ignore[attr-defined]
        return rule

    return declare


def preconditions(rule: Rule) -> tuple[Callable[[Context], bool], ...]:
    """The facts a rule declared with `applies_if` (none: it always runs)."""
    return getattr(rule, "applies_if", ())


def finding(
    finding_id: str,
    explanation: str,
    *,
    score: float,
    confirmed: bool,
    evidence: Iterable[EvidenceRef] = (),
    fix: Iterable[str] | None = None,
    severity: Severity | None = None,
    links: Iterable[str] = (),
    decide: Iterable[str] = (),
) -> Finding:
    """A Finding whose title, owner, default fix and links come from the catalogue entry of `finding_id`."""
    e = entry(finding_id)
    return Finding(
        id=finding_id,
        severity=severity or e.severity,
        title=e.title,
        explanation=explanation,
        owner=e.owner,
        fix=tuple(fix) if fix is not None else e.fix,
        links=tuple(dict.fromkeys((*e.links, *links))) if links else e.links,  # an entry's own links are distinct
        evidence=tuple(evidence),
        score=score,
        confirmed=confirmed,
        decide=() if confirmed else tuple(decide),
    )


def unconfirmed_note(ctx: Context, what_confirms: str) -> str:
    """The sentence a candidate carries: why it is not certain and what would settle it."""
    if not ctx.answered:
        return f" The server has not answered yet; {what_confirms}."
    return f" Not proven by the evidence here; {what_confirms}."
