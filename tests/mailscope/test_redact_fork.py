"""Redactor.fork: many sessions share one registered secret (an audit's app-only token) without registering it again,
each with its own line state; a memo of `redact` serves the family until a member learns a secret of its own."""

from __future__ import annotations

import base64

from mailscope.redact import Redactor

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
