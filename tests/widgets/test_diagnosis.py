"""The diagnosis pane: the outcome in full, each finding's title once, candidates set apart from confirmed causes,
prose wrapped at spaces only (no scope, URL or identifier cut in two at any width), links copyable."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App, ComposeResult

from mailscope.findings import Diagnosis, EvidenceKind, EvidenceRef, Finding, Owner, Severity
from widgets.diagnosis import DiagnosisPane, fix_steps_text

NARROW = "https://www.googleapis.com/auth/gmail.readonly"
EXCHANGE = "https://outlook.office.com/IMAP.AccessAsUser.All"
LINK = "https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth"
CONFIRMED = Finding("google_scope_not_full_mail", Severity.ERROR, "Token lacks https://mail.google.com/ (has a narrower scope)",
                    f"the token's granted scope is {NARROW}: it lacks https://mail.google.com/, the only scope Gmail accepts for IMAP",
                    Owner.CLIENT_CONFIGURATION, fix=(f"Request https://mail.google.com/ instead of {NARROW} (the app must be verified)",),
                    links=(LINK,), evidence=(EvidenceRef(EvidenceKind.LINE, "server reply", "NO [AUTHENTICATIONFAILED]", 14),),
                    confirmed=True)
CANDIDATE = Finding("ms_protocol_scope_mismatch", Severity.WARNING, "Scope for another protocol",
                    f"the scope may be POP.AccessAsUser.All where IMAP needs {EXCHANGE}", Owner.APP_REGISTRATION,
                    fix=(f"Request {EXCHANGE}",))
OUTCOME = "authentication failed: AUTHENTICATE XOAUTH2 refused: NO [AUTHENTICATIONFAILED] Invalid credentials (Failure) " * 2


class Host(App):
    def compose(self) -> ComposeResult:
        yield DiagnosisPane(id="diagnosis")


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_no_scope_or_url_is_ever_cut_and_the_title_shows_once():
    for width in (40, 56, 80, 120):
        app = Host()
        async with app.run_test(size=(width, 60)) as pilot:
            pane = app.query_one(DiagnosisPane)
            pane.set_outcome(OUTCOME.strip(), "failed")
            pane.show(Diagnosis((CONFIRMED, CANDIDATE)))
            await pilot.pause()
            detail = str(pane.query_one("#detail").render())
            lines = detail.splitlines()
            for whole in (NARROW, "https://mail.google.com/", "[AUTHENTICATIONFAILED]"):
                assert any(whole in line for line in lines), (width, whole)  # on one line, never cut in two
            room = pane.content_region.width - 4
            assert all(len(line) <= room or " " not in line.strip() for line in lines), width  # only a lone long word overflows
            assert "has a narrower scope" not in detail  # the title is in the list: once
            assert "has a narrower scope" in " ".join(plain(pane.findings_list.get_option_at_index(0).prompt, width).split())


async def test_the_outcome_is_readable_in_full():
    app = Host()
    async with app.run_test(size=(50, 30)) as pilot:
        pane = app.query_one(DiagnosisPane)
        pane.set_outcome(OUTCOME.strip(), "failed")
        pane.show(Diagnosis((CONFIRMED,)))
        await pilot.pause()
        summary = " ".join(str(pane.query_one("#summary").render()).split())
        assert ("Outcome: " + OUTCOME.strip()) in summary


async def test_candidates_look_different_from_confirmed_causes():
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(DiagnosisPane)
        pane.show(Diagnosis((CONFIRMED, CANDIDATE)))
        await pilot.pause()
        confirmed, candidate = (pane.findings_list.get_option_at_index(i).prompt for i in (0, 1))
        assert plain(confirmed).startswith("  ERROR  google_scope_not_full_mail")  # a solid badge
        assert plain(candidate).startswith(" (warn?) ms_protocol_scope_mismatch candidate")  # an outlined one, and the word
        pane.findings_list.highlighted = 1
        await pilot.pause()
        assert str(pane.query_one("#detail").render()).startswith("Candidate: neither the wire nor the token proves this")


def test_copied_fix_holds_the_full_links():
    copied = fix_steps_text(CONFIRMED)
    assert copied.startswith("1. Request https://mail.google.com/") and LINK in copied
