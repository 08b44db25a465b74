"""The reveal after an answer: the real diagnosis, the decisive transcript lines in plain words (explain mode), the
evidence the finding rests on, and for each wrong choice on the form what would have pointed to it and what this
session shows instead."""

from __future__ import annotations

from dataclasses import dataclass

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.explain import explain_line
from mailscope.findings import EvidenceKind, Finding
from mailscope.lab.scenarios import Scenario
from mailscope.record import SessionRecord
from mailscope.training.causes import CAUSES, CauseTable
from mailscope.training.choices import AnswerForm
from mailscope.training.facts import fact


@dataclass(frozen=True, slots=True)
class DecisiveLine:
    seq: int
    direction: str
    text: str
    explanation: str  # explain mode's sentence for it ("" when it has none)


@dataclass(frozen=True, slots=True)
class WrongChoice:
    id: str
    title: str
    choice: str  # how the form worded it
    chosen: bool  # the trainee picked it
    tell: str  # what would have pointed to it
    here: tuple[str, ...]  # what this session shows for that evidence
    note: str = ""  # e.g. true of the session as well, but a consequence


@dataclass(frozen=True, slots=True)
class Reveal:
    finding_id: str
    title: str
    owner: str
    explanation: str
    fix: tuple[str, ...]
    teaching: str
    ranked_first: str | None  # what mailscope's diagnosis ranked first (a trainer's scenario may disagree with it)
    decisive_lines: tuple[DecisiveLine, ...]
    evidence: tuple[str, ...]  # claims, settings, token-endpoint answers the finding cites
    wrong_choices: tuple[WrongChoice, ...]


def build_reveal(scenario: Scenario, record: SessionRecord, form: AnswerForm, right: str, chosen: str,
                 table: CauseTable = CAUSES) -> Reveal:
    findings = record.diagnosis.findings
    top = findings[0].id if findings else None
    finding = next((f for f in findings if f.id == right), None)
    entry = CATALOGUE[right]
    lines = {line.seq: line for line in record.lines}
    decisive = tuple(DecisiveLine(seq, str(lines[seq].direction), lines[seq].text, explain_line(lines[seq]))
                     for seq in dict.fromkeys(finding.cited_lines if finding else ()) if seq in lines)
    offered = [option.id for option in form.causes]
    wrong = [i for i in offered if i != right]
    if chosen not in offered and chosen != right and chosen in CATALOGUE:
        wrong.insert(0, chosen)  # a headless answer outside the form is explained too
    return Reveal(
        finding_id=right, title=entry.title, owner=str(finding.owner if finding else entry.owner),
        explanation=finding.explanation if finding else "", fix=finding.fix if finding else entry.fix, teaching=scenario.teaching,
        ranked_first=top, decisive_lines=decisive, evidence=_evidence(finding),
        wrong_choices=tuple(_wrong_choice(record, scenario, i, chosen, table) for i in wrong),
    )


def _evidence(finding: Finding | None) -> tuple[str, ...]:
    if finding is None:
        return ()
    return tuple(f"{ref.kind} {ref.name}: {ref.value}" if ref.value else f"{ref.kind} {ref.name}"
                 for ref in finding.evidence if ref.kind is not EvidenceKind.LINE)


def _wrong_choice(record: SessionRecord, scenario: Scenario, finding_id: str, chosen: str, table: CauseTable) -> WrongChoice:
    cause = table.causes.get(finding_id)
    entry = CATALOGUE[finding_id]
    ranked = [f.id for f in record.diagnosis.findings]
    note = ""
    if finding_id in scenario.failure_ids:
        note = "True of this session as well, but a consequence of the cause, not the cause to fix."
    elif finding_id in ranked:
        note = f"mailscope listed it as candidate {ranked.index(finding_id) + 1}, below the cause the evidence proves."
    return WrongChoice(
        id=finding_id, title=entry.title, choice=cause.choice if cause else entry.title, chosen=finding_id == chosen,
        tell=cause.tell if cause else "", here=tuple(fact(record, name) for name in (cause.look if cause else ())), note=note,
    )
