"""Context.find_server_text: its needle filter (one substring test over the session's server text instead of a regex scan
per line) answers exactly what the scan of every server text and line answers, including where the filter must stand
aside (text that is not ASCII)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.diagnosis import Context
from mailscope.events import Direction, TranscriptLine
from mailscope.evidence import CommandResult, SessionEvidence
from mailscope.findings import DiagnosisInput
from mailscope.patterns import Signature
from tests.mailscope.test_patterns import signature_patterns, signatures

# The rules' signatures, and every other pattern of theirs asked as one.
PATTERNS = [*signatures(), *(Signature(p.pattern, p.flags) for p in signature_patterns())]
SIGNATURES = [
    "NO AccessTokenExpired",
    "* BYE Session expired, please login again.",
    "NO [AUTHENTICATIONFAILED] Invalid credentials",
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
    "* BYE Connection closed. 14",
    "-ERR Protocol error. Connection is closed. 10",
    "504 5.7.4 Unrecognized authentication type",
    "430 4.2.0 STOREDRV; mailbox logon failure",
    "Email OAuth 2.0 Proxy: Login failed - the password for account a@b is incorrect",
    "User is authenticated but not connected.",
    "OK AUTHENTICATE completed.",
    "* CAPABILITY IMAP4rev1 AUTH=XOAUTH2",
]


def context(texts: list[str], line_texts: list[str]) -> Context:
    evidence = SessionEvidence(protocol="imap", commands=[CommandResult("EXAMINE", "NO", t, i + 1) for i, t in enumerate(texts)])
    lines = tuple(TranscriptLine(100 + i, 0.0, Direction.SERVER, t, len(t)) for i, t in enumerate(line_texts))
    return Context(DiagnosisInput(None, evidence, None, lines, 0.0))


def scanned(ctx: Context, pattern: Signature) -> tuple[str, int | None] | None:
    """The answer without the filter: the regex over every server text, then every server line."""
    regex = re.compile(pattern.pattern, pattern.flags)
    return next(((t, s) for t, s in (*ctx.server_texts, *ctx.server_lines) if regex.search(t)), None)


def mangled(text: str) -> st.SearchStrategy[str]:
    """A signature as it may arrive: whole, cut, case changed, or with a letter swapped for a look-alike."""
    return st.one_of(
        st.just(text),
        st.just(text.upper()),
        st.just(text.lower()),
        st.just(text[: len(text) // 2]),
        st.just(text.replace("s", "\u017f").replace("k", "\u212a")),
    )


texts = st.lists(st.one_of(st.sampled_from(SIGNATURES).flatmap(mangled), st.text(max_size=30)), max_size=5)


@settings(max_examples=80, deadline=None)
@given(command_texts=texts, line_texts=texts, pattern=st.sampled_from(PATTERNS))
def test_the_filter_answers_as_the_scan_does(command_texts: list[str], line_texts: list[str], pattern: Signature) -> None:
    ctx = context(command_texts, line_texts)
    assert ctx.find_server_text(pattern) == scanned(ctx, pattern)


@pytest.mark.parametrize("text", ["NO Un\u017fupported mechanism", "NO Access\u212aen is fine"])
def test_text_that_is_not_ascii_is_scanned(text: str) -> None:
    """The long s matches 's' and the Kelvin sign 'k' under re.IGNORECASE, though their lower case is neither."""
    pattern = Signature(r"Unsupported mechanism|AccessKen", re.I)
    ctx = context([text], [])
    assert ctx.find_server_text(pattern) == (text, 1)


def test_a_signature_in_a_line_only_is_found() -> None:
    ctx = context(["OK done"], ["* OK ready", "* BYE Session expired, please login again."])
    found = ctx.find_server_text(Signature(r"AccessTokenExpired|Session expired, please login again", re.I))
    assert found == ("* BYE Session expired, please login again.", 101)
    assert ctx.find_server_text(Signature(r"SendAsDenied", re.I)) is None


def test_client_lines_and_the_middle_of_a_long_session_are_not_searched() -> None:
    """The filter reads the same lines as the scan: server lines only, from the start and the end of a long session."""
    expired = Signature(r"AccessTokenExpired|Session expired, please login again", re.I)
    client = Context(
        DiagnosisInput(
            None, SessionEvidence(protocol="imap"), None, (TranscriptLine(1, 0.0, Direction.CLIENT, "A1 NOOP AccessTokenExpired", 26),), 0.0
        )
    )
    assert client.find_server_text(expired) is None
    filler = [f"* {n} EXISTS" for n in range(400)]
    middle, end = filler.copy(), filler.copy()
    middle[200], end[390] = "* BYE AccessTokenExpired", "* BYE AccessTokenExpired"
    assert context([], middle).find_server_text(expired) is None
    assert context([], end).find_server_text(expired) == ("* BYE AccessTokenExpired", 490)
