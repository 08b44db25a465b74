"""`Fragments.find` remembers what it found for a run: the answer is always the one a new search gives, and a
registration (`add`) forgets every answer, even one a search that began before it was about to store."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.fragments import MEMO_RUN, MEMO_RUNS, Fragments, Match
from tests.attacks import payloads
from tests.attacks.oracle import spellings

TOKEN = payloads.jwt({"aud": "https://outlook.office.com", "iss": payloads.ISSUER, "upn": "alice@contoso.com"}, seed=5)
OTHER = payloads.jwt({"aud": "https://outlook.office.com", "iss": payloads.ISSUER, "upn": "bob@contoso.com"}, seed=6)
NOISE = ["contoso.onmicrosoft.com", "3caf69c3-6e9e-5b22-bb42-216386cfdb52", "Get-MailboxPermission", "0123456789abcdef", ""]


def _fragments(*secrets: str, search_after_each: bool = False) -> Fragments:
    """The secrets' spellings indexed as a redactor indexes them: the one-character-per-character ones with a stride,
    hex and UTF-16 base64 dense. With `search_after_each` a search follows every form, sorting its windows in at once."""
    fragments = Fragments()
    for secret in secrets:
        for number, form in enumerate(spellings(secret)):
            fragments.add(form, f"<secret {len(secret)}>", 16, dense=number in (1, 2) or number >= 9)
            if search_after_each:
                fragments.find(f"after {form[:40]}")
    return fragments


@st.composite
def runs(draw: st.DrawFn) -> str:
    """Pieces of the two tokens' spellings (of any length, at any place), between words that hold none."""
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(spellings(draw(st.sampled_from([TOKEN, OTHER])))))
        start = draw(st.integers(0, len(form) - 1))
        pieces += [draw(st.sampled_from(NOISE)), form[start : start + draw(st.integers(1, 120))]]
    return "".join(pieces)


@settings(max_examples=200, deadline=None)
@given(run=runs())
def test_a_remembered_answer_is_what_a_new_search_gives(run: str) -> None:
    fragments = _fragments(TOKEN, OTHER)
    fresh = fragments._search(run)
    assert fragments.find(run) == fresh
    assert fragments.find(run) == fresh  # now from the memo
    assert _fragments(TOKEN, OTHER).find(run) == fresh


@settings(max_examples=100, deadline=None)
@given(run=runs())
def test_forms_sorted_in_at_the_first_search_are_found_as_forms_sorted_in_one_by_one(run: str) -> None:
    """`add` leaves a form's windows for the next search to sort in (a secret comes in a dozen spellings at once): the
    index and its answers are the ones a search after every single form makes."""
    at_once, one_by_one = _fragments(TOKEN, OTHER), _fragments(TOKEN, OTHER, search_after_each=True)
    assert at_once.find(run) == one_by_one._search(run)
    indexes = [[index.windows.tolist() for index in f._indexes.values()] for f in (at_once, one_by_one)]
    assert indexes[0] == indexes[1] == [sorted(windows) for windows in indexes[0]]


@settings(max_examples=100, deadline=None)
@given(run=runs())
def test_a_registration_forgets_what_was_remembered(run: str) -> None:
    fragments = _fragments(TOKEN)
    fragments.find(run)
    for form in spellings(OTHER):
        fragments.add(form, "<other>", 16)
    assert fragments.find(run) == fragments._search(run)


def test_a_piece_of_a_secret_registered_after_its_run_was_searched_is_found() -> None:
    fragments = _fragments(TOKEN)
    run = "noise" + OTHER[-100:-60] + "noise"  # in the signature: the tokens share their header
    assert fragments.find(run) == ()
    fragments.add(OTHER, "<other>", 16)
    assert fragments.find(run) == (Match(5, 45, "<other>", False),)


class _RegisteredDuringSearch(Fragments):
    """The first search is overtaken by a registration (another thread's) before it can store its answer."""

    overtaken = False

    def _search(self, run: str) -> tuple[Match, ...]:
        found = super()._search(run)
        if not self.overtaken:
            self.overtaken = True
            self.add(OTHER, "<other>", 16)
        return found


def test_an_answer_from_before_a_registration_is_not_remembered_after_it() -> None:
    fragments = _RegisteredDuringSearch()
    fragments.add(TOKEN, "<token>", 16)
    run = "noise" + OTHER[-100:-60] + "noise"  # in the signature: the tokens share their header
    assert fragments.find(run) == ()  # searched before OTHER was registered
    assert fragments.find(run) == (Match(5, 45, "<other>", False),)


def test_the_memo_stays_bounded() -> None:
    fragments = _fragments(TOKEN)
    rng = random.Random(1)
    for _ in range(MEMO_RUNS + 10):
        fragments.find("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=20)))
    assert len(fragments._found) <= MEMO_RUNS
    long_run = "x" * (MEMO_RUN + 1)
    fragments.find(long_run)
    assert long_run not in fragments._found
