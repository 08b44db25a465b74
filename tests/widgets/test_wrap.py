"""Word-aware wrapping: lines break at spaces only, so scopes, URLs and identifiers stay whole at any width."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from widgets.wrap import wrap_words

SCOPES = ("https://www.googleapis.com/auth/gmail.readonly", "https://outlook.office.com/IMAP.AccessAsUser.All",
          "basic_auth_mechanism_used_when_disabled", "IMAP.AccessAsUser.All")


def test_a_scope_never_splits_even_when_wider_than_the_line():
    text = f"the token's granted scope is {SCOPES[0]}: it lacks https://mail.google.com/, the only scope Gmail accepts"
    for width in range(8, 90):
        lines = [line.plain for line in wrap_words(text, width)]
        assert any(SCOPES[0] in line for line in lines)  # whole, on a line of its own when nothing fits beside it
        assert all(len(line) <= width or " " not in line.strip() for line in lines), (width, lines)
        assert " ".join(lines).split() == text.split()


def test_leading_spaces_stay_and_continuation_lines_hang_under_the_text():
    lines = [line.plain for line in wrap_words("  1. Request https://outlook.office.com/IMAP.AccessAsUser.All plus offline_access", 40,
                                               indent=5)]
    assert lines == ["  1. Request", "     https://outlook.office.com/IMAP.AccessAsUser.All", "     plus offline_access"]


def test_styles_survive_the_wrap():
    text = Text.assemble(("Outcome: ", "bold"), ("authentication failed", "red"))
    first, second, third = wrap_words(text, 14)
    assert first.plain == "Outcome:" and first.spans[0].style == "bold"
    assert second.plain == "authentication" and second.spans[0].style == "red"
    assert third.plain == "failed" and third.spans[0].style == "red"


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(SCOPES + ("a", "the", "token", "is", "(IMAP)", "or")), min_size=1, max_size=30),
       width=st.integers(min_value=1, max_value=120), indent=st.integers(min_value=0, max_value=6))
def test_no_word_is_ever_cut(words, width, indent):
    lines = wrap_words(" ".join(words), width, indent=indent)
    assert [w for line in lines for w in line.plain.split()] == words
