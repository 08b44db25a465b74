"""Redactor.fork: many sessions share one registered secret (an audit's app-only token) without registering it again,
each with its own line state; a memo of `redact` serves the family until a member learns a secret of its own."""

from __future__ import annotations

import base64
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailscope.redact import Redactor
from tests.attacks.oracle import spellings

TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSIsIngiOiJ5In0.c2lnbmF0dXJlc2lnbmF0dXJlc2ln"
PASSWORD = "Tr0ub4dor&3-horse-battery"


def test_a_fork_removes_the_secret_its_template_registered_in_every_form() -> None:
    template = Redactor()
    template.register(TOKEN)
    twin = template.fork()
    for text in (f"token {TOKEN}", base64.b64encode(f"user=a@b.c\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode(), TOKEN[5:40]):
        assert TOKEN[5:25] not in twin.redact(text)
        assert TOKEN[5:25] not in twin.redact_line(text)


def test_forks_keep_their_own_line_state() -> None:
    template = Redactor()
    template.register(TOKEN)
    first, second = template.fork(), template.fork()
    first.redact_line("a1 LOGIN alice {25}")  # announces a password literal on the next line
    assert second.redact_line(PASSWORD) == PASSWORD  # another session's next line is not that literal
    assert PASSWORD not in first.redact_line(PASSWORD)


def test_a_secret_registered_later_on_a_fork_is_removed_by_that_fork_and_memo_answers_never_hide_it() -> None:
    template = Redactor()
    template.register(TOKEN)
    first, second = template.fork(), template.fork()
    text = f"the password is {PASSWORD}"
    assert second.redact(text) == text  # nobody knows it yet: the family memo now holds the text as is
    first.register(PASSWORD)
    assert PASSWORD not in first.redact(text)  # the fork that learned it left the memo
    assert PASSWORD not in first.redact(text)


def test_the_memo_gives_the_same_answer_as_redacting_again() -> None:
    template = Redactor()
    template.register(TOKEN)
    plain = Redactor()
    plain.register(TOKEN)
    twin = template.fork()
    for text in (f"Bearer {TOKEN}", "* OK [UIDVALIDITY 14] UIDVALIDITY value", "ctl \x1b[31m", TOKEN):
        assert twin.redact(text) == twin.redact(text) == plain.redact(text)


def test_a_line_that_announces_state_is_never_answered_from_the_line_memo() -> None:
    template = Redactor()
    template.register(TOKEN)
    sessions = [(template.fork(), PASSWORD), (template.fork(), "Zq9!mWx7#pLk2$vBn8@cRt5^yHj3%uGf")]
    for fork, _ in sessions:  # the second fork reads the same announcement: it must arm its own state too
        fork.redact_line("a1 LOGIN alice {32}")
    for fork, password in sessions:
        assert password not in fork.redact_line(password)


def test_the_line_memo_forgets_on_registration_and_answers_as_redacting_again() -> None:
    template = Redactor()
    template.register(TOKEN)
    plain = Redactor()
    plain.register(TOKEN)
    first, second = template.fork(), template.fork()
    line = f"S: * OK hello {PASSWORD}"
    assert second.redact_line(line) == line  # nobody knows it yet: remembered as is
    first.register(PASSWORD)
    assert PASSWORD not in second.redact_line(line)  # the family forgot: never the answer from before the registration
    sasl = base64.b64encode(f"user=a@b.c\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()
    for text in (f"C: a1 AUTHENTICATE XOAUTH2 {sasl}", "S: * CAPABILITY IMAP4rev1 AUTH=XOAUTH2", "S: ctl \x1b[31m", f"S: {TOKEN}"):
        assert first.redact_line(text) == first.redact_line(text) == plain.redact_line(text)


def test_the_final_pass_over_a_stored_line_answers_as_redacting_again_and_still_removes_a_secret_learned_later() -> None:
    from tests.mailscope.test_redact import CATCH_ALL, VISIBLE

    template, plain = Redactor([TOKEN]), Redactor([TOKEN])  # a family, and a lone redactor knowing the same secret
    twin = template.fork()
    sasl = base64.b64encode(f"user=a@b.c\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()
    for line in [f"C: a1 AUTHENTICATE XOAUTH2 {sasl}", "S: ctl \x1b[31m\nnext", *(v[1] for v in VISIBLE), *(c[1] for c in CATCH_ALL)]:
        stored = twin.redact_line(line)  # what the record keeps; its result is remembered as final for `redact`
        assert twin.redact(stored) == plain.redact(plain.redact_line(line)) == stored
    learned = "Zq9!mWx7#pLk2$vBn8@cRt5^yHj3%uGf"  # not in the lines above (their passwords were learned from them)
    line = f"S: * OK hello {learned}"
    stored = twin.redact_line(line)
    assert twin.redact(stored) == stored == line  # nobody knows it yet
    template.fork().register(learned)
    assert learned not in twin.redact(stored)  # the report's pass removes what the family learned after the line was stored


# -- the rest memo: a tagged line's rest redacted alike after any plain tag ------------------------------------------
SHORT_PASSWORD = "Zq9x1"  # shorter than a fragment: its forms are matched whole, anywhere (inside a tag too)
SPACED_SECRET = "my pass phrase 0042"  # a space in the secrets' alphabet: pieces could span a tag and the rest
TAGS = ["A0003", "ABCD0", "a1", "1", "NO", "OK", "334", "C", "S", "PASS", "Bearer", "basic", "XAUTH", "AUTH", "code", "token",
        "LOGIN", "Ew", "eyJ", "Zq9x1", "xZq9x1y", "wd", "WORD", "ABCDEFGH", "A.1", "C:", "+", "*", "x\x1b"]  # fmt: skip
REST_WORDS = [
    "OK", "NO", "BAD", "CAPABILITY completed.", "LOGIN", "login", "alice", "hunter2x-pw", "{5}", "{19+}", "UGFzc3dvcmQ6", "= x",
    "=", ": value", "token: abcdefgh", "password=abcdefgh", "Bearer", "bearer", "AUTHENTICATE XOAUTH2", "PLAIN", "PASS",
    "Zq9x1", "x1 CAP", "eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", "-----BEGIN PRIVATE KEY-----", "*",
    "\n", "\t", " ", "[READ-ONLY]", "code=1234abcd", "://u:p@h", "phrase 0042", "my pass", "QUJDREVGR0hJSktM", "\x1b[2J",
]  # fmt: skip


@st.composite
def rests(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["word", "word", "word", "piece", "sasl", "command"]))
        if kind == "command":  # what reads a tag or a word before it: a LOGIN password, a prompt, a key's value
            parts.append(draw(st.sampled_from(["LOGIN alice hunter2x-pw", "LOGIN failed", "UGFzc3dvcmQ6", "= abcdefgh", ": abcdefgh"])))
        elif kind == "word":
            parts.append(draw(st.sampled_from(REST_WORDS)))
        elif kind == "piece":
            form = draw(st.sampled_from([*spellings(TOKEN), *spellings(PASSWORD), *spellings(SPACED_SECRET), SHORT_PASSWORD]))
            start = draw(st.integers(0, len(form) - 1))
            parts.append(form[start : start + draw(st.integers(1, len(form)))])
        else:
            payload = draw(st.sampled_from([f"user=a@b.c\x01auth=Bearer {TOKEN}\x01\x01", f"\0alice\0{PASSWORD}"]))
            encoded = base64.b64encode(payload.encode()).decode()
            parts.append(encoded[: draw(st.integers(1, len(encoded)))])
    return draw(st.sampled_from([" ", "", "\n"])).join(parts)


def _sessions(secrets: list[str], *, memos: bool, count: int = 2) -> list[Redactor]:
    """Forks of one family; without `memos`, the slow path: every line redacted afresh."""
    family = Redactor(secrets)
    sessions = [family.fork() for _ in range(count)]
    if not memos:
        family._secrets.memo = family._secrets.line_memo = family._secrets.rest_memo = None
    return sessions


@settings(max_examples=400, deadline=None)
@example(first="NO", second="A1", rest="LOGIN alice hunter2x-pw", spaced=False)
@example(first="A1", second="NO", rest="LOGIN alice hunter2x-pw", spaced=False)
@example(first="A1", second="334", rest="UGFzc3dvcmQ6", spaced=False)
@example(first="A1", second="pass", rest="= abcdefgh", spaced=False)
@example(first="A1", second="ABCDEFGHZq9x1", rest="OK", spaced=False)
@example(first="A1", second="Tr0ub4dor", rest="OK", spaced=False)  # a piece of the password
@example(first="A1", second="C:", rest="pass hunter2x-pw", spaced=False)  # a log's `C:` prefix, then POP3's PASS
@example(first="A1", second="x\x1b", rest="OK", spaced=False)
@example(first="A1", second="Bearer", rest="AUTHENTICATE XOAUTH2", spaced=False)
@example(first="A1", second="Zq9x1", rest="OK", spaced=False)
@example(first="A1", second="x1", rest="pass phrase 0042", spaced=True)
@given(
    first=st.sampled_from(TAGS) | st.from_regex(r"[A-Za-z0-9]{1,9}", fullmatch=True),
    second=st.sampled_from(TAGS) | st.from_regex(r"[A-Za-z0-9]{1,9}", fullmatch=True),
    rest=rests(),
    spaced=st.booleans(),
)
def test_a_rest_remembered_after_one_tag_answers_after_another_as_redacting_again(first: str, second: str, rest: str, spaced: bool) -> None:
    """Another session's line with the same rest and another tag, and the line after it (line state), come out as a
    redactor with no memo gives them; whatever the tag, the rest, and secrets with a space or shorter than a fragment."""
    secrets = [TOKEN, PASSWORD, SHORT_PASSWORD, *([SPACED_SECRET] if spaced else [])]
    outputs = []
    for memos in (True, False):
        one, later = _sessions(secrets, memos=memos)
        one.redact_line(f"{first} {rest}")  # one session's line: its rest is remembered
        outputs.append([later.redact_line(f"{second} {rest}"), later.redact_line("hunter2x-pw")])
    assert outputs[0] == outputs[1]


def test_the_rest_memo_answers_a_new_tag_without_redacting_again() -> None:
    one, later = _sessions([TOKEN], memos=True)
    first = one.redact_line("ABCD0 OK [READ-ONLY] EXAMINE completed.")
    with mock.patch.object(Redactor, "_redact_text", side_effect=AssertionError("redacted again")):
        assert later.redact_line("EFGH0 OK [READ-ONLY] EXAMINE completed.") == "EFGH0" + first.removeprefix("ABCD0")


def test_the_rest_memo_forgets_on_registration() -> None:
    one, learner, later = _sessions([TOKEN], memos=True, count=3)
    line = f"ABCD0 OK hello {PASSWORD}"
    assert one.redact_line(line) == line  # nobody knows it yet: the rest is remembered as is
    learner.register(PASSWORD)
    assert PASSWORD not in later.redact_line(f"EFGH0 OK hello {PASSWORD}")


def test_no_rest_is_remembered_where_a_tag_could_matter() -> None:
    """A secret with a space could span tag and rest; a LOGIN line's password depends on its tag (`NO LOGIN …`)."""
    (spaced,) = _sessions([TOKEN, SPACED_SECRET], memos=True, count=1)
    spaced.redact_line("A1 OK fine")
    (plain,) = _sessions([TOKEN], memos=True, count=1)
    plain.redact_line("NO LOGIN alice hunter2x-pw")  # no command: nothing learned, nothing announced
    assert spaced._secrets.rest_memo == {} and plain._secrets.rest_memo == {}


def test_an_answer_made_while_learning_a_secret_is_not_remembered() -> None:
    """A text that teaches the family a password (`password=…`) where the pattern did not reach an earlier spelling: the
    first answer cuts that one out too (the learnt secret is applied to the whole text), and the next session's same text
    comes out redacted with the password known."""
    text = "S: ok = Kx9-long-enough-value, password=Kx9-long-enough-value"
    for redact in (Redactor.redact_line, Redactor.redact):
        first, second = _sessions([TOKEN], memos=True)
        assert "Kx9-long-enough-value" not in redact(first, text)
        assert "Kx9-long-enough-value" not in redact(second, text)
