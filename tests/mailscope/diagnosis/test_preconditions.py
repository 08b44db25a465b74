"""Rules that declare the facts they need (`applies_if`): `diagnose` enters them only where all hold and asks each fact once
per run. Skipping must never change a diagnosis: the same input diagnosed with every declared fact asked afresh inside each
rule, as the rules' bodies used to, gives the same findings, checks and summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.diagnosis import ENGINE_RULES, diagnose, make_diagnoser
from mailscope.diagnosis.context import Context, not_accepted
from mailscope.diagnosis.rule import Rule, applies_if, finding, preconditions
from mailscope.evidence import SaslExchange, SessionEvidence, TokenEvidence
from mailscope.findings import Check, DiagnosisInput, Finding
from providers.registry import provider_rules
from providers.rules_google import is_google
from providers.rules_microsoft import is_microsoft
from tests.mailscope.diagnosis.test_robustness import evidence, tokens

RULES = provider_rules()
NOW = 1_800_000_000.0


def asking_each_time(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """The plain path: each rule asks its own facts first, every time, and none is skipped by `diagnose`."""

    def plain(rule: Rule) -> Rule:
        facts = preconditions(rule)

        def run(ctx: Context) -> Iterable[Finding | Check]:
            return rule(ctx) if all(fact(ctx) for fact in facts) else ()

        run.__name__ = getattr(rule, "__name__", "rule")
        return run

    return tuple(map(plain, rules))


@settings(max_examples=300, deadline=None)
@given(evidence, tokens, st.floats(0, 2e9))
def test_skipping_by_declared_facts_changes_no_diagnosis(ev: SessionEvidence, token: TokenEvidence | None, now: float) -> None:
    inp = DiagnosisInput(None, ev, token, (), now)
    plain = diagnose(inp, asking_each_time(RULES))
    assert diagnose(inp, RULES) == make_diagnoser(RULES)(inp) == plain


def test_the_provider_and_refusal_rules_declare_their_facts() -> None:
    """What makes an audit's diagnosis cheaper: at Exchange the Google rules are not entered, after an accepted credential
    none of the refusal rules."""
    declared = {rule.__module__.rsplit(".", 1)[-1] + "." + rule.__name__: preconditions(rule) for rule in (*ENGINE_RULES, *RULES)}
    assert declared["rules_google.token_rule"] == (is_google, not_accepted)
    assert declared["rules_microsoft.wire_signature_rule"] == (is_microsoft,)
    assert declared["generic.sasl_ir_rule"] == (not_accepted,)
    assert declared["generic.fault_rule"] == ()


def _counting(calls: list[str], name: str, answer: bool) -> Callable[[Context], bool]:
    def fact(ctx: Context) -> bool:
        calls.append(name)
        return answer

    return fact


def test_a_rule_is_entered_only_where_its_facts_hold_and_each_fact_is_asked_once() -> None:
    calls: list[str] = []
    yes, no = _counting(calls, "yes", True), _counting(calls, "no", False)
    entered: list[str] = []

    def rule(name: str, *facts: Callable[[Context], bool]) -> Rule:
        @applies_if(*facts)
        def run(ctx: Context) -> Iterator[Finding]:
            entered.append(name)
            yield finding("ms_imap_pop_disabled", name, score=1, confirmed=False)

        return run

    rules = (rule("a", yes), rule("b", no), rule("c", yes, no), rule("d", no, yes), rule("e"), rule("f", yes))
    inp = DiagnosisInput(None, SessionEvidence(), None, (), NOW)
    d = diagnose(inp, rules)
    assert entered == ["a", "e", "f"]
    assert calls == ["yes", "no"]  # once each in the run, in the order first asked; "d" stops at "no"
    assert [f.explanation for f in d.findings] == ["a"]  # one finding per id: the first of equal scores
    calls.clear()
    diagnose(inp, rules)
    assert calls == ["yes", "no"]  # a new run asks again: nothing is kept from one diagnosis to the next


def test_a_fact_that_fails_fails_each_rule_that_declares_it() -> None:
    """As when each rule's body asked it: the rule is listed as failed on this evidence, and the next rule asks again."""
    calls: list[str] = []

    def broken(ctx: Context) -> bool:
        calls.append("broken")
        raise ValueError("odd evidence")

    @applies_if(broken)
    def first(ctx: Context) -> Iterator[Finding]:
        yield from ()

    @applies_if(broken)
    def second(ctx: Context) -> Iterator[Finding]:
        yield from ()

    d = diagnose(DiagnosisInput(None, SessionEvidence(), None, (), NOW), (first, second))
    failed = {c.name: c.detail for c in d.checks if c.name.startswith("rule ")}
    assert failed == {"rule first": "rule failed on this evidence: ValueError", "rule second": "rule failed on this evidence: ValueError"}
    assert calls == ["broken", "broken"]


@pytest.mark.parametrize(("result", "entered"), [("OK", False), ("NO", True), (None, True)])
def test_refusal_rules_are_entered_unless_the_credential_was_accepted(result: str | None, entered: bool) -> None:
    seen: list[bool] = []

    @applies_if(not_accepted)
    def refusal(ctx: Context) -> Iterator[Finding]:
        seen.append(True)
        yield from ()

    ev = SessionEvidence(host="mail.example.net", sasl=[SaslExchange("XOAUTH2", True, result=result, result_text=f"A1 {result}")])
    diagnose(DiagnosisInput(None, ev, None, (), NOW), (refusal,))
    assert bool(seen) is entered
