"""Regenerate the screenshots: drive the real console headlessly against the real lab (emulated servers,
lab identity provider, real msal / google-auth, real probe and diagnosis) and write SVG + PNG (cairosvg).

Usage: python screenshots/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from textual.pilot import Pilot  # noqa: E402

from tui.app import LIGHT_THEME, MailscopeApp  # noqa: E402
from tui.prompts import DeviceCodeScreen  # noqa: E402
from tui.session import Target  # noqa: E402

Steps = Callable[[MailscopeApp, Pilot], Awaitable[None]]


async def run_to_end(app: MailscopeApp, pilot: Pilot, timeout: float = 60) -> None:
    await pilot.press("r")
    for _ in range(int(timeout * 20)):
        await pilot.pause(0.05)
        if not app.running and app.outcome is not None:
            await pilot.pause(0.2)
            return
    raise RuntimeError(f"{app.target.describe()}: the session did not finish within {timeout}s")


def then(*keys: str) -> Steps:
    async def steps(app: MailscopeApp, pilot: Pilot) -> None:
        await run_to_end(app, pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.3)

    return steps


async def device_code_dialog(app: MailscopeApp, pilot: Pilot) -> None:
    await pilot.press("r")
    for _ in range(600):
        await pilot.pause(0.01)
        if isinstance(app.screen, DeviceCodeScreen):
            await pilot.pause(0.1)
            return
    raise RuntimeError("the device-code dialog never appeared")


async def light_theme(app: MailscopeApp, pilot: Pilot) -> None:
    app.theme = LIGHT_THEME
    await then("p")(app, pilot)


async def challenge_detail(app: MailscopeApp, pilot: Pilot) -> None:
    """The Gmail challenge line selected: the detail under the transcript shows it whole, decoded."""
    await run_to_end(app, pilot)
    challenge = next(line.seq for line in app.transcript.lines if line.text.startswith("+ eyJ"))
    app.transcript.focus()
    app.transcript.select_seq(challenge)
    await pilot.pause(0.3)


async def settings_for_a_private_ca(app: MailscopeApp, pilot: Pilot) -> None:
    """Settings as for the project's own Dovecot (a private CA), with the choices POP3 adds."""
    await pilot.press("s")
    await pilot.pause(0.3)
    values = {"host": "127.0.0.1", "protocol": "pop3", "security": "tls", "ca_file": "/tmp/dovecot-lab/ssl/server.crt",
              "user": "alice@example.test", "mechanism": "xoauth2", "sasl_ir": "no", "flow": "static", "src_token": "file:/tmp/token"}
    for name, value in values.items():
        app.screen.query_one(f"#{name}").value = value
        await pilot.pause(0.05)
    app.screen.query_one("#insecure").value = True
    app.screen.query_one("#sasl_ir").focus()  # POP3's initial-response choice in view
    await pilot.pause(0.3)


async def log_switcher(app: MailscopeApp, pilot: Pilot) -> None:
    await run_to_end(app, pilot)
    await pilot.press("n")
    for _ in range(100):
        await pilot.pause(0.05)
        if app.screen.query("#log-sessions"):
            break
    await pilot.pause(0.2)


async def until(pilot: Pilot, ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    for _ in range(int(timeout * 20)):
        await pilot.pause(0.05)
        if ready():
            await pilot.pause(0.3)
            return
    raise RuntimeError(f"{what} did not happen within {timeout}s")


def exercise(*, answered: bool) -> Steps:
    """The Exercise view on ms-graph-scope with a hint taken: the cause hidden; answered, the reveal."""

    async def steps(app: MailscopeApp, pilot: Pilot) -> None:
        from tui.exercise_view import ExerciseView

        await pilot.press("g")
        await pilot.pause(0.3)
        view = app.screen.query_one(ExerciseView)
        view.results_file = Path(tempfile.mkdtemp()) / "results.jsonl"  # a screenshot's answer is no trainee's result
        await pilot.press(*"ms-graph-scope", "enter")
        await until(pilot, lambda: view.exercise is not None and not view.choices.has_class("-hidden"), "the exercise")
        await pilot.press("h")
        if answered:
            form, right = view.exercise.form, view.exercise.right
            for options, wanted in ((form.causes, right.cause), (form.owners, right.owner), (form.fixes, right.fix)):
                await pilot.press(str([option.id for option in options].index(wanted) + 1))
                await pilot.pause(0.2)
        await pilot.pause(0.3)

    return steps


async def audit_fleet(app: MailscopeApp, pilot: Pilot) -> None:
    """A lab fleet of 40 audited from the Audit view, the first group's first mailbox drilled into."""
    from tui.audit_view import AuditView

    app.export_dir = Path(tempfile.mkdtemp())  # the fleet's records are no user's reports
    await pilot.press("a")
    await pilot.pause(0.3)
    view = app.screen.query_one(AuditView)
    await pilot.press(*"--lab-fleet 40", "enter")
    await until(pilot, lambda: view.loaded is not None, "the fleet audit", timeout=120)
    await pilot.press("enter")
    await until(pilot, lambda: bool(view.transcript.lines), "a mailbox's transcript")


async def pasted_line(app: MailscopeApp, pilot: Pilot) -> None:
    """The Paste view: one SMTP reply a user pasted from a ticket, diagnosed in memory."""
    await pilot.press("v")
    await pilot.pause(0.3)
    assert app.paste_view is not None
    app.paste_view.text_area.load_text("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
                                       "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.")
    await pilot.press("ctrl+r")
    await app.workers.wait_for_complete()
    await pilot.pause(0.3)


SEED_LOG = str(HERE.parent / "tests" / "mailscope" / "logs" / "samples" / "jira_seed.log")
THREADS_LOG = str(HERE.parent / "tests" / "mailscope" / "logs" / "samples" / "jira_threads_debug.log")

SHOTS: list[tuple[str, str, tuple[int, int], Steps]] = [
    ("01-seed-diagnosed", "ms-seed-plain", (120, 36), then()),
    ("02-seed-diagnosed-80x24", "ms-seed-plain", (80, 24), then()),
    ("03-healthy-session", "ms-healthy", (120, 36), then()),
    ("04-token-inspector", "ms-graph-scope", (120, 36), then("f", "t")),
    ("05-explain-mode", "ms-seed-plain", (120, 36), then("e")),
    ("06-device-code-dialog", "ms-healthy", (120, 36), device_code_dialog),
    ("07-gmail-challenge-detail", "google-narrow-scope", (120, 36), challenge_detail),
    ("08-presenter-mode-light", "ms-wrong-user", (120, 36), light_theme),
    ("09-lab-picker", "ms-seed-plain", (120, 36), lambda app, pilot: pilot.press("l")),
    ("10-jira-seed-log-replayed", f"log:{SEED_LOG}", (120, 36), then()),
    ("11-settings-private-ca", "ms-seed-plain", (120, 36), settings_for_a_private_ca),
    ("12-help", "ms-seed-plain", (120, 36), lambda app, pilot: pilot.press("question_mark")),
    ("13-log-session-switcher", f"log:{THREADS_LOG}", (120, 36), log_switcher),
    ("14-wrapped-80x24", "google-narrow-scope", (80, 24), then("w")),
    ("15-paste-view", "ms-seed-plain", (120, 36), pasted_line),
    ("16-exercise-cause-hidden", "ms-seed-plain", (120, 36), exercise(answered=False)),
    ("17-exercise-reveal", "ms-seed-plain", (120, 36), exercise(answered=True)),
    ("18-audit-lab-fleet", "ms-seed-plain", (120, 36), audit_fleet),
    ("19-smtp-auth-disabled", "ms-smtp-auth-disabled-tenant", (120, 36), then()),
    ("20-pop3-one-line-rejected", "ms-pop-one-line", (120, 36), then()),
]


async def shoot(name: str, scenario: str, size: tuple[int, int], steps: Steps) -> Path:
    target = Target(log=scenario.removeprefix("log:")) if scenario.startswith("log:") else Target(scenario=scenario)
    app = MailscopeApp(target)
    async with app.run_test(size=size) as pilot:
        await steps(app, pilot)
        await pilot.pause(0.2)
        svg = Path(app.save_screenshot(f"{name}.svg", str(HERE)))
        app.exit()
    return svg


def main() -> None:
    import cairosvg

    for name, scenario, size, steps in SHOTS:
        svg = asyncio.run(shoot(name, scenario, size, steps))
        png = svg.with_suffix(".png")
        cairosvg.svg2png(url=str(svg), write_to=str(png), background_color="black")
        print(f"{svg.name} + {png.name}")


if __name__ == "__main__":
    main()
