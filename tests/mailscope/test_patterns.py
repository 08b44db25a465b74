"""patterns.needles: the literal texts every match of a pattern contains, which lets the diagnosis skip a regex scan of a
session that holds none of them. A needle set that misses a match would hide a signature, so soundness is checked
against the regex engine itself: every ASCII text a pattern matches holds one of its needles."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import providers.rules_google
import providers.rules_microsoft
from mailscope.diagnosis import generic
from mailscope.patterns import Signature, lazy, needles


def signature_patterns() -> list[re.Pattern[str]]:
    """Every lazily compiled pattern of the engine's and the providers' rules (the `*_RE` names)."""
    found = {}
    for module in (generic, providers.rules_microsoft, providers.rules_google):
        for name, value in vars(module).items():
            if name.endswith("_RE") and callable(value):
                found[value().pattern] = value()
    return list(found.values())


def signatures() -> list[Signature]:
    """The rules' server signatures (`Signature`: what Context.find_server_text is asked for)."""
    return [
        value
        for module in (generic, providers.rules_microsoft, providers.rules_google)
        for value in vars(module).values()
        if isinstance(value, Signature)
    ]


# Shapes the reading must handle: anchors, groups, nested and factored alternations, inline flags, repeats.
SHAPES = [
    re.compile(r"^\* BYE Connection closed\. 14\b"),
    re.compile(r"5\.7\.139 .*(did not meet|security defaults)", re.I),
    re.compile(r"abc(?:def|(?i:GHI)jkl)x", re.I),
    re.compile(r"(?:token (?:expired|revoked)|no such user)$", re.M),
    re.compile(r"(?x) invalid \s credentials | bad \s token"),
    re.compile(r"(ab|abc)+ never", re.I),
    re.compile(r"\bLookup failed\b"),
]

PATTERNS = [*signature_patterns(), *SHAPES]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            re.compile(r"AccessTokenExpired|Session expired, please login again", re.I),
            ("accesstokenexpired", "session expired, please login again"),
        ),
        (re.compile(r"^\* BYE Connection closed\. 14\b"), ("* bye connection closed. 14",)),
        (
            re.compile(r"5\.7\.139 .*(did not meet the criteria|security defaults policy)", re.I),
            ("did not meet the criteria", "security defaults policy"),
        ),
        (re.compile(r"(?:token (?:expired|revoked)|no such user)$", re.M), ("expired", "revoked", "no such user")),  # the longer of two
        (re.compile(r"line too long|\bline too long\b", re.I), ("line too long",)),  # the same needle once
    ],
)
def test_needles_read_off_the_parsed_pattern(pattern: re.Pattern[str], expected: tuple[str, ...]) -> None:
    assert needles(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}$", re.I),  # no literal run at all
        re.compile(r"ab\d+cd"),  # runs too short to filter anything
        re.compile(r"long enough|x"),  # one branch without a needle: the others do not bound a match
        re.compile("stra\u00dfe", re.I),  # not ASCII: case folding beyond lower() (ß matches ẞ)
    ],
)
def test_no_needles_when_a_match_need_not_contain_one(pattern: re.Pattern[str]) -> None:
    assert needles(pattern) is None


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_ascii_match_contains_a_needle(data: st.DataObject) -> None:
    pattern = data.draw(st.sampled_from(PATTERNS))
    wanted = needles(pattern)
    match = data.draw(st.from_regex(pattern, alphabet=st.characters(codec="ascii")))
    assert pattern.search(match)
    if wanted is not None:
        assert any(needle in match.lower() for needle in wanted), (pattern.pattern, match)


def test_every_signature_pattern_has_needles() -> None:
    """The filter only pays where patterns have needles: a new signature without any is scanned the slow way (and named
    here), the GUID shape excepted (it is matched against single values, not searched in server text)."""
    assert [p.pattern for p in signature_patterns() if needles(p) is None] == [providers.rules_microsoft._GUID_RE().pattern]


def test_each_pattern_object_keeps_its_own_needles() -> None:
    """The answers are kept per pattern object (by identity): a second pattern, asked after, gets its own."""
    first, second = re.compile(r"first signature"), re.compile(r"second signature", re.I)
    assert needles(first) == ("first signature",)
    assert needles(second) == ("second signature",)
    assert needles(first) == ("first signature",)


def test_a_signature_reads_its_needles_without_compiling_and_compiles_as_lazy_does() -> None:
    signature = Signature(r"AccessTokenExpired|Session expired, please login again", re.I)
    assert signature.needles == needles(signature) == ("accesstokenexpired", "session expired, please login again")
    with pytest.raises(AttributeError):
        object.__getattribute__(signature, "regex")  # needles alone compile nothing
    compiled = lazy(signature.pattern, signature.flags)()
    assert signature() is signature.regex is signature()  # compiled once
    assert (signature().pattern, signature().flags) == (compiled.pattern, compiled.flags)


def test_each_rule_signature_has_the_needles_of_its_compiled_pattern() -> None:
    found = signatures()
    assert len(found) >= 15
    for signature in found:
        assert signature.needles == needles(re.compile(signature.pattern, signature.flags)), signature.pattern
