"""The answer form of an exercise: a short list of plausible causes (the right one among causes whose sessions look
alike: same provider, a protocol where they can happen, the same wire-signature family), who must fix it, and which
fix. Deterministic for a given seed; options are worded so that neither the catalogue id nor its title shows."""

from __future__ import annotations

import random
from dataclasses import dataclass

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.findings import Owner
from mailscope.lab.scenarios import Scenario
from mailscope.training.causes import CAUSES, CauseTable

HEALTHY = "session_healthy"
DEFAULT_SIZE = 5  # causes offered: the right one and four that look alike


@dataclass(frozen=True, slots=True)
class Option:
    id: str  # the finding id it stands for: scored, never shown before the answer
    text: str  # what the trainee reads


@dataclass(frozen=True, slots=True)
class AnswerForm:
    causes: tuple[Option, ...]
    owners: tuple[Option, ...]  # every Owner, in the catalogue's order
    fixes: tuple[Option, ...]  # empty for a healthy reference: nothing to fix, nobody to name
    families: tuple[str, ...]  # the wire signatures the causes were drawn from
    seed: int

    @property
    def asks_owner_and_fix(self) -> bool:
        return bool(self.fixes)


def right_answer(scenario: Scenario) -> str:
    return scenario.expected_finding or HEALTHY


def answer_form(scenario: Scenario, seed: int, *, size: int = DEFAULT_SIZE, table: CauseTable = CAUSES) -> AnswerForm:
    """The form for `scenario`. The distractors come from the right cause's own family first, then from the provider's
    other families; never another provider's causes, never the other ids the scenario reproduces (those are true too)."""
    rng = random.Random(f"{seed}:{scenario.id}")  # the right answer's place differs between the scenarios of one course
    right = right_answer(scenario)
    families = scenario_families(scenario, table)
    excluded = {right, HEALTHY, *scenario.failure_ids}
    same = _applicable(scenario, table, families) - excluded
    distractors = rng.sample(sorted(same), min(size - 1, len(same)))
    if len(distractors) < size - 1:
        related = _applicable(scenario, table, provider_families(scenario, table)) - excluded - set(distractors)
        distractors += rng.sample(sorted(related), min(size - 1 - len(distractors), len(related)))
    ids = [right, *distractors]
    rng.shuffle(ids)
    causes = tuple(Option(i, table.causes[i].choice if i in table.causes else CATALOGUE[i].title) for i in ids)
    fixes: tuple[Option, ...] = ()
    if right != HEALTHY:
        fix_ids = ids[:]
        rng.shuffle(fix_ids)
        seen: set[str] = set()
        fixes = tuple(Option(i, text) for i in fix_ids if (text := fix_text(i)) and not (text in seen or seen.add(text)))
    return AnswerForm(causes, tuple(Option(str(owner), str(owner)) for owner in Owner), fixes, families, seed)


def fix_text(finding_id: str) -> str:
    """The catalogue's fix for a cause, as one option (its steps in order)."""
    return " ".join(CATALOGUE[finding_id].fix)


def scenario_families(scenario: Scenario, table: CauseTable = CAUSES) -> tuple[str, ...]:
    """The wire signatures a trainee sees in this scenario: the right cause's families that fit its provider and outcome,
    else every family of the provider that shows this outcome, else (a healthy reference) all of the provider's."""
    outcome = str(scenario.expected_outcome)
    fitting = [name for name, family in table.families.items() if family.provider in (scenario.provider, "any")]
    cause = table.causes.get(right_answer(scenario))
    own = [name for name in fitting if cause is not None and name in cause.families and outcome in table.families[name].outcomes]
    return tuple(own or [name for name in fitting if outcome in table.families[name].outcomes] or fitting)


def provider_families(scenario: Scenario, table: CauseTable = CAUSES) -> tuple[str, ...]:
    return tuple(name for name, family in table.families.items() if family.provider in (scenario.provider, "any"))


def _applicable(scenario: Scenario, table: CauseTable, families: tuple[str, ...]) -> set[str]:
    """Causes in `families` that can happen for this scenario's provider and protocol."""
    return {cause.id for cause in table.causes.values()
            if set(cause.families) & set(families) and str(scenario.protocol) in cause.protocols
            and CATALOGUE[cause.id].providers in (scenario.provider, "both", "any")}
