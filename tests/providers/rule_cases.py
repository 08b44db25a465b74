"""The case tables of the provider-rule tests (Microsoft, Google, POP3/SMTP): a finding id, a diagnosis input that
must name it (POSITIVE) or must not (NEAR_MISS), and the two checks each table runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailscope.diagnosis import diagnose
from mailscope.findings import Diagnosis, DiagnosisInput, Finding
from providers.registry import provider_rules

RULES = provider_rules()


@dataclass(frozen=True)
class Case:
    finding_id: str
    build: Callable[[], DiagnosisInput]
    first: bool = True  # the id must rank first, not only be named


def run(inp: DiagnosisInput) -> Diagnosis:
    return diagnose(inp, RULES)


def named(d: Diagnosis, finding_id: str) -> Finding:
    return next(f for f in d.findings if f.id == finding_id)


def assert_names(case: Case) -> None:
    ids = [f.id for f in run(case.build()).findings]
    assert case.finding_id in ids, ids
    if case.first:
        assert ids[0] == case.finding_id, ids


def assert_does_not_name(case: Case) -> None:
    assert case.finding_id not in [f.id for f in run(case.build()).findings]
