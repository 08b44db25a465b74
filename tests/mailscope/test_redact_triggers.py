"""The catch-all's substring tests: written out, and with no gate in front of them, they let through what the gate and the
tuples did (the slow path, kept here as the oracle)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailscope import redact

SHAPE_TRIGGERS = ("eyJ", "ya29.", "1//0", "4/0", "GOCSPX-", "AIza", "EwA", "EwB", ".A", "M.", "Q~")
PAIR_KEYWORDS = ("pass", "pwd", "secret", "token", "assertion", "key", "code")
# Every literal the removed gate and the patterns test for, cut pieces of them, and their neighbours in case and kind.
PIECES = [
    *SHAPE_TRIGGERS, *PAIR_KEYWORDS, "Ew", "E", "w", "ey", "J", "ya29", "1//", "4/", "GOCSPX", "AIz", "M", ".", "A", "Q", "~",
    "-----BEGIN", "-----BEGIN RSA PRIVATE KEY-----", "://", "http://u:p@h", "bearer ", "Bearer x123456789", "basic ",
    "Basic dTpw", "authorization: ", "Authorization: Basic x", "cookie: ", "Cookie: a=b", "login ", "A1 LOGIN u pw",
    "PASS ", "pass", "PaSs", "pwd=", "secret=", "TOKEN: x", "code=abc", "key", "KEY=1", " ", "=", ":", "\n", "x", "é", "İ",
]  # fmt: skip
TEXTS = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


def _old_gate(text: str) -> bool:
    """The gate that stood in front of `_catch_all_patterns` (mailscope/redact.py before this change)."""
    lowered = text.lower()
    return (
        "eyJ" in text or "ya29." in text or "1//0" in text or "4/0" in text or "GOCSPX-" in text or "AIza" in text
        or "Ew" in text or ".A" in text or "M." in text or "Q~" in text or "-----BEGIN" in text or "://" in text
        or "pass" in lowered or "pwd" in lowered or "secret" in lowered or "token" in lowered or "assertion" in lowered
        or "key" in lowered or "code" in lowered or "bearer" in lowered or "basic" in lowered or "login" in lowered
        or "authorization:" in lowered or "cookie:" in lowered
    )  # fmt: skip


@settings(max_examples=1000, deadline=None)
@example(text="mbx0001@contoso.onmicrosoft.com")
@example(text="Get-CASMailbox mbx0001@contoso.onmicrosoft.com | fl ImapEnabled,PopEnabled")
@given(text=TEXTS)
def test_a_text_the_gate_turned_away_is_left_as_it_is(text: str) -> None:
    """What the gate turned away, the patterns alone leave as it is and register nothing of: the gate did no work they
    do not do themselves."""
    seen: list[tuple[str, str]] = []
    if not _old_gate(text):
        assert redact._catch_all_patterns(text, seen) == text
        assert seen == []


@settings(max_examples=1000)
@given(text=TEXTS)
def test_the_written_out_tests_are_the_tuples(text: str) -> None:
    assert redact._has_shape_trigger(text) is any(trigger in text for trigger in SHAPE_TRIGGERS)
    lowered = text.lower()
    assert redact._has_pair_keyword(lowered) is any(keyword in lowered for keyword in PAIR_KEYWORDS)
    assert redact._SHAPE_TRIGGERS == SHAPE_TRIGGERS
