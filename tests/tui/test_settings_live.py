"""From the Settings view alone, live checks reach real servers with a private CA: the project's own Dovecot
(XOAUTH2 with a locally minted token, IMAP and POP3) signs in and opens the mailbox; `mailscope lab serve` (emulated
Exchange and identity provider, run as the separate process a trainer starts; IMAP, POP3, SMTP) gives its scenario's
cause. Nothing is stubbed:
the real console, probe, msal and diagnosis."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailscope.evidence import OutcomeKind
from tui.app import MailscopeApp
from tui.session import Target
from widgets.settings import SettingsPane

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dovecot-lab"))

import labfixture  # noqa: E402

SIZE = (120, 36)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[labfixture.LabInstance]:
    started = labfixture.ensure_running(labfixture.MAIN)
    yield labfixture.MAIN
    if started:
        labfixture.stop(labfixture.MAIN)


def minted(dovecot: labfixture.LabInstance, tmp_path: Path) -> tuple[str, Path]:
    """A token the lab's Dovecot accepts, in a file only its owner reads (what Settings' token source names)."""
    token = labfixture.mint(dovecot)
    token_file = tmp_path / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    return token, token_file


async def fill(pilot, values: dict[str, str]) -> SettingsPane:
    """Type into the Settings view as a user does (every field fires its change event and is validated)."""
    app = pilot.app
    await pilot.press("s")
    await pilot.pause()
    pane = app.screen.query_one(SettingsPane)
    for name, value in values.items():
        pane.query_one(f"#{name}").value = value
        await pilot.pause()
    return pane


async def run_from_settings(pilot, pane: SettingsPane, timeout: float = 60) -> None:
    app = pilot.app
    pane.query_one("#run").focus()
    await pilot.press("enter")
    for _ in range(int(timeout * 10)):
        await pilot.pause(0.1)
        if app.outcome is not None and not app.running:
            return
    raise AssertionError(f"no outcome within {timeout}s; status: {app.main_screen.query_one('#status-bar').render()}")


@pytest.mark.dovecot
async def test_settings_alone_sign_in_to_the_projects_dovecot_with_its_private_ca(dovecot, tmp_path):
    token, token_file = minted(dovecot, tmp_path)
    app = MailscopeApp(Target(scenario="ms-seed-plain"))
    async with app.run_test(size=SIZE) as pilot:
        pane = await fill(pilot, {
            "host": "127.0.0.1", "port": str(dovecot.imaps), "security": "tls", "ca_file": dovecot.ca_file,
            "user": "alice@example.test", "mechanism": "xoauth2", "flow": "static", "src_token": f"file:{token_file}",
        })
        assert not [p for p in pane.validate_all().values() if p.level == "error"]
        await run_from_settings(pilot, pane)
        assert app.outcome.kind is OutcomeKind.MAILBOX_REACHABLE, app.outcome
        assert app.target.describe() == f"imap://127.0.0.1:{dovecot.imaps}"
        texts = app.transcript.rendered_texts()
        assert any("verified" in t for t in texts)  # the private CA was used, verification on
        assert not any(token[:40] in t for t in texts)
        assert token[:40] not in app.export_screenshot()


@pytest.mark.dovecot
async def test_settings_alone_pop3_against_the_projects_dovecot(dovecot, tmp_path):
    token, token_file = minted(dovecot, tmp_path)
    app = MailscopeApp(Target(scenario="ms-seed-plain"))
    async with app.run_test(size=SIZE) as pilot:
        pane = await fill(pilot, {
            "protocol": "pop3", "security": "tls", "host": "127.0.0.1", "port": str(dovecot.pop3s), "ca_file": dovecot.ca_file,
            "user": "alice@example.test", "mechanism": "xoauth2", "flow": "static", "src_token": f"file:{token_file}",
        })
        await run_from_settings(pilot, pane)
        assert app.outcome.kind is OutcomeKind.MAILBOX_REACHABLE, app.outcome
        assert app.target.describe() == f"pop3://127.0.0.1:{dovecot.pop3s}"
        assert token[:40] not in app.export_screenshot()


def lab_serve(scenario: str, tmp_path: Path) -> tuple[subprocess.Popen[str], argparse.Namespace]:
    """`mailscope lab serve SCENARIO` as a trainer runs it; its `try:` line parsed with `mailscope check`'s own parser."""
    from tui.parser import build_parser

    process = subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", scenario], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip().startswith("mailscope check"):
            return process, build_parser(only="check").parse_args(shlex.split(line.strip())[1:])
    process.kill()
    raise AssertionError("lab serve printed no `mailscope check` line")


def typed(args: argparse.Namespace) -> dict[str, str]:
    """The fields a user copies from `lab serve`'s `try:` line (protocol and security first: the port follows them)."""
    return {
        "protocol": args.protocol or "imap", "security": args.security, "host": args.host, "port": str(args.port), "ca_file": args.ca_file,
        "user": args.user, "mechanism": args.mechanism, "sasl_ir": args.sasl_ir or "auto", "provider": args.provider, "flow": args.flow,
        "client_id": args.client_id, "tenant": args.tenant, "authority": args.authority, "scopes": " ".join(args.scopes),
    }


@pytest.mark.parametrize(("scenario", "cause"), [
    ("ms-graph-scope", "ms_graph_scope_or_audience"),
    ("ms-smtp-auth-disabled-tenant", "ms_smtp_auth_disabled"),
])
async def test_settings_alone_against_lab_serve_give_the_scenarios_cause(tmp_path, scenario, cause):
    process, args = lab_serve(scenario, tmp_path)
    try:
        app = MailscopeApp(Target(scenario="ms-seed-plain"))
        async with app.run_test(size=SIZE) as pilot:
            fields = typed(args)
            pane = await fill(pilot, fields)
            await run_from_settings(pilot, pane)
            assert app.target.settings is not None and app.target.settings.protocol.value == fields["protocol"]
            assert app.diagnosis_pane.diagnosis.top.id == cause
            assert cause in str(app.main_screen.query_one("#status-bar").render())
    finally:
        process.terminate()
        process.wait(10)


async def test_settings_alone_pop3_one_line_form_refused_then_corrected_to_two_step(tmp_path):
    """Exchange POP3 refuses the initial response on the AUTH line; after the failed run, the user changes only
    that one field (everything else typed is still there) and the second run signs in."""
    process, args = lab_serve("ms-pop-one-line", tmp_path)
    try:
        app = MailscopeApp(Target(scenario="ms-seed-plain"))
        async with app.run_test(size=SIZE) as pilot:
            assert args.protocol == "pop3" and args.sasl_ir == "yes"
            pane = await fill(pilot, typed(args))
            await run_from_settings(pilot, pane)
            assert app.diagnosis_pane.diagnosis.top.id == "pop3_xoauth2_one_line_rejected_exchange"
            assert await fill(pilot, {"sasl_ir": "no"}) is pane and pane.query_one("#host").value == args.host
            await run_from_settings(pilot, pane)
            assert app.outcome.kind is OutcomeKind.MAILBOX_REACHABLE, app.outcome
            assert any("STAT" in t for t in app.transcript.rendered_texts())
    finally:
        process.terminate()
        process.wait(10)
