"""IMAP grammar helpers skip patterns whose required character is absent; the answers are the patterns' own."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailscope.protocols import imap

PIECES = ["*", "* ", "[", "]", "CAPABILITY", "capability", "CAPABILITY ", " ", "IMAP4rev1", "AUTH=XOAUTH2", "OK", "A1", "+", "\t"]


@settings(max_examples=500, deadline=None)
@example(text="* CAPABILITY IMAP4rev1")
@example(text="A1 OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] done")
@example(text="* capability")
@given(text=st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=8).map("".join))
def test_capabilities_in_answers_as_its_patterns_do(text: str) -> None:
    untagged = imap._UNTAGGED_CAPS_RE().match(text)
    code = imap._CAPS_CODE_RE().search(text)
    expected = tuple(untagged.group("caps").split()) if untagged else tuple(code.group("caps").split()) if code else None
    assert imap.capabilities_in(text) == expected
