"""The cause table (causes.toml) and the answer lists drawn from it: the right cause among causes whose sessions look
alike (same provider, a protocol where they can happen, the same wire-signature family), never just the right one
plus fillers of the other provider; worded so that no catalogue id or title shows; the same for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailscope.datafile import DataFileError
from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.findings import Owner
from mailscope.lab.scenarios import SCENARIOS
from mailscope.training.causes import CAUSES, TABLE_FILE, load
from mailscope.training.choices import HEALTHY, answer_form, fix_text, right_answer, scenario_families

SEEDS = range(12)


def test_the_table_covers_every_built_in_answer_and_names_only_catalogue_ids() -> None:
    assert set(CAUSES.causes) <= set(CATALOGUE)
    assert {right_answer(s) for s in SCENARIOS} <= set(CAUSES.causes)
    for cause in CAUSES.causes.values():
        assert cause.choice and cause.tell and cause.look, cause.id
        for entry in CATALOGUE.values():  # no wording contains any title or id of the catalogue
            assert entry.title.lower() not in cause.choice.lower() and entry.id not in cause.choice, (cause.id, entry.id)


def test_a_bad_table_is_refused_with_its_lines(tmp_path: Path) -> None:
    bad = tmp_path / "causes.toml"
    bad.write_text(
        TABLE_FILE.read_text(encoding="utf-8")
        .replace('look = ["claim:aud", "setting:scopes"]', 'look = ["claim:aud", "scopes"]')
        .replace("[cause.ms_token_expired]", "[cause.ms_token_expird]"),
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as caught:
        load(bad)
    messages = [str(p).replace(str(bad), "causes.toml") for p in caught.value.problems]
    assert any(m.startswith("causes.toml:") and "cause.ms_graph_scope_or_audience.look: unknown fact 'scopes'" in m for m in messages)
    assert any("cause.ms_token_expird: unknown finding id 'ms_token_expird'" in m for m in messages)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_answer_lists_are_plausible_for_every_built_in(scenario) -> None:
    right = right_answer(scenario)
    families = set(scenario_families(scenario))
    for seed in SEEDS:
        form = answer_form(scenario, seed)
        ids = [option.id for option in form.causes]
        assert len(ids) == 5 and len(set(ids)) == 5 and ids.count(right) == 1
        distractors = [i for i in ids if i != right]
        for finding_id in distractors:
            assert CATALOGUE[finding_id].providers in (scenario.provider, "both", "any"), (finding_id, scenario.provider)
            assert str(scenario.protocol) in CAUSES.causes[finding_id].protocols
            assert finding_id not in scenario.failure_ids and finding_id != HEALTHY
        alike = [i for i in distractors if families & set(CAUSES.causes[i].families)]
        assert len(alike) >= 3, (seed, ids)  # never the right one plus fillers
        for option in form.causes:
            assert option.text != CATALOGUE[option.id].title and option.id not in option.text
        if right == HEALTHY:
            assert form.fixes == () and not form.asks_owner_and_fix
        else:
            assert [(o.id, o.text) for o in form.owners] == [(str(o), str(o)) for o in Owner]
            assert {f.id for f in form.fixes} <= set(ids) and right in {f.id for f in form.fixes}
            assert all(f.text == fix_text(f.id) for f in form.fixes)


def test_the_same_seed_gives_the_same_form_and_the_right_answer_moves() -> None:
    graph = next(s for s in SCENARIOS if s.id == "ms-graph-scope")
    assert answer_form(graph, 42) == answer_form(graph, 42)
    places = {[o.id for o in answer_form(graph, seed).causes].index("ms_graph_scope_or_audience") for seed in range(40)}
    assert len(places) >= 4
    expired = next(s for s in SCENARIOS if s.id == "ms-expired")
    assert answer_form(graph, 7).causes != answer_form(expired, 7).causes  # one course seed, different lists


def test_families_follow_what_the_trainee_sees() -> None:
    by_id = {s.id: s for s in SCENARIOS}
    assert scenario_families(by_id["ms-graph-scope"]) == ("exchange-sign-in-refused",)
    assert scenario_families(by_id["ms-wrong-user"]) == ("exchange-mailbox-refused",)
    assert scenario_families(by_id["ms-consent-missing"]) == ("entra-token-refused",)
    assert scenario_families(by_id["google-narrow-scope"]) == ("gmail-sign-in-refused",)
    assert scenario_families(by_id["google-refresh-revoked"]) == ("google-token-refused",)
    assert scenario_families(by_id["ms-no-oauth-before-starttls"]) == ("no-oauth-mechanism",)
    assert "gmail-sign-in-refused" not in scenario_families(by_id["ms-healthy"])
