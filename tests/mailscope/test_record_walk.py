"""`clean_deep` walks a dataclass with a loop compiled once per class: it gives what the plain loop over the fields gives
(the same values, the same object where nothing changed or the instance is mutable, a rebuilt one where a frozen
instance changed), at any depth of nested evidence."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope import record
from mailscope.evidence import CommandResult, Fault, FaultKind, Outcome, OutcomeKind, SaslExchange, SessionEvidence, TlsFacts
from mailscope.record import SCALARS, SessionRecord, _escape_fact, clean_deep, dataclass_fields, printable_throughout
from mailscope.redact import escape_controls
from mailscope.settings import CheckSettings, Mechanism, SecretSource

TEXT = st.text(st.sampled_from(["a", "B", " ", "\x1b", "\x07", "\u202e", "é", "\n", "\x9b", "\x85", "\t"]), max_size=6)  # C1 and tab too
MAYBE_TEXT = st.none() | TEXT
COMMANDS = st.builds(CommandResult, TEXT, MAYBE_TEXT, TEXT, st.none() | st.integers(0, 9))
EXCHANGES = st.builds(
    SaslExchange, TEXT, st.booleans(), TEXT, st.lists(TEXT, max_size=2), st.lists(st.dictionaries(TEXT, TEXT, max_size=2), max_size=2),
    MAYBE_TEXT, TEXT, defects=st.lists(TEXT, max_size=2),
)  # fmt: skip
TLS = st.builds(TlsFacts, MAYBE_TEXT, MAYBE_TEXT, MAYBE_TEXT, MAYBE_TEXT, MAYBE_TEXT, st.none() | st.booleans(), MAYBE_TEXT, MAYBE_TEXT)
FAULTS = st.builds(Fault, st.sampled_from(FaultKind), TEXT, TEXT, st.none() | st.integers(0, 9))
EVIDENCE = st.builds(
    SessionEvidence, host=TEXT, greeting=MAYBE_TEXT, tls=st.none() | TLS, capabilities_pre_tls=st.none() | st.tuples(TEXT, TEXT),
    sasl=st.lists(EXCHANGES, max_size=2), commands=st.lists(COMMANDS, max_size=2), fault=st.none() | FAULTS,
)  # fmt: skip
SETTINGS = st.builds(CheckSettings, host=TEXT, user=TEXT, client_id=TEXT, scopes=st.lists(TEXT, max_size=2).map(tuple))
PRINTABLE = st.text(st.sampled_from(["a", "B", " ", "~", "@", "."]), max_size=6)
PROFILE_SETTINGS = st.builds(  # an audit row's settings: mostly printable, sometimes a control character, in any field or depth
    CheckSettings, host=PRINTABLE | TEXT, port=st.integers(1, 65535), user=PRINTABLE | TEXT, mechanism=st.sampled_from(Mechanism),
    client_id=PRINTABLE | TEXT, scopes=st.lists(PRINTABLE | TEXT, max_size=2).map(tuple) | st.just((1, "a")),
    client_secret=st.none() | st.builds(SecretSource, PRINTABLE | TEXT, PRINTABLE | TEXT), ca_file=st.none() | PRINTABLE,
    extra=st.dictionaries(PRINTABLE, PRINTABLE | TEXT, max_size=1),
)  # fmt: skip
VALUES = COMMANDS | EXCHANGES | TLS | FAULTS | EVIDENCE | SETTINGS | st.builds(Outcome, st.sampled_from(OutcomeKind), TEXT)


def _loop_walk(value: Any, fact: Any, text: Any, depth: int) -> Any:
    """The plain walk: every field read with getattr, changed ones set or the frozen instance rebuilt."""
    names, frozen = dataclass_fields(type(value))  # type: ignore[misc]
    changed = {}
    for name in names:
        item = getattr(value, name)
        if type(item) in SCALARS:
            continue
        cleaned = text(item) if type(item) is str else clean_deep(item, fact, text, None, depth)
        if cleaned is not item:
            changed[name] = cleaned
    if not changed:
        return value
    if frozen:
        return replace(value, **changed)
    for name, item in changed.items():
        setattr(value, name, item)
    return value


@settings(max_examples=300, deadline=None)
@given(template=VALUES)
def test_the_compiled_walk_gives_what_the_loop_over_the_fields_gives(template: Any) -> None:
    first, second = copy.deepcopy(template), copy.deepcopy(template)  # each walk changes its own in place
    with mock.patch.object(record, "_dataclass_walk", lambda cls: _loop_walk if dataclass_fields(cls) else None):
        expected = clean_deep(first, _escape_fact, escape_controls)
    walked = clean_deep(second, _escape_fact, escape_controls)
    assert walked == expected
    assert (walked is second) == (expected is first)  # kept, changed in place, or rebuilt alike


@settings(max_examples=300, deadline=None)
@given(value=VALUES | PROFILE_SETTINGS)
def test_printable_throughout_only_where_the_walk_would_change_nothing(value: Any) -> None:
    walked_copy = copy.deepcopy(value)
    walked = clean_deep(walked_copy, _escape_fact, escape_controls)
    if printable_throughout(value):
        assert walked is walked_copy and walked == value


@settings(max_examples=200, deadline=None)
@given(settings_=PROFILE_SETTINGS)
def test_a_records_settings_for_findings_are_the_walks_whichever_way_they_are_reached(settings_: CheckSettings) -> None:
    expected = clean_deep(copy.deepcopy(settings_), _escape_fact, escape_controls)
    escaped = SessionRecord(settings_).diagnosis_input().settings
    assert escaped == expected
    assert type(escaped) is CheckSettings


def test_printable_settings_skip_the_walk_and_a_control_character_anywhere_takes_it() -> None:
    clean = CheckSettings("imap.example.org", 993, user="a@example.org", scopes=("x/.default",), client_secret=SecretSource("env", "S"))
    assert printable_throughout(clean)
    assert SessionRecord(clean).diagnosis_input().settings is clean  # as typed: nothing to escape
    for dirty in (replace(clean, user="a\x1b[2J@example.org"), replace(clean, scopes=("x", "\u202e")),
                  replace(clean, client_secret=SecretSource("env", "S\x07")), replace(clean, extra={"k": "v"}),
                  replace(clean, tenant="caf\u00e9")):  # fmt: skip
        assert not printable_throughout(dirty)
    escaped = SessionRecord(replace(clean, user="a\x1b[2J@example.org")).diagnosis_input().settings
    assert escaped is not None and escaped.user == escape_controls("a\x1b[2J@example.org") != "a\x1b[2J@example.org"
