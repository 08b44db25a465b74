"""The Settings pane: every field a live check needs, validated as you type (errors block Run, warnings only
inform), the port following protocol and security until typed, verification off marked, lossless load/save."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security
from widgets.settings import SettingsError, SettingsPane


class Host(App):
    def compose(self) -> ComposeResult:
        yield SettingsPane(id="settings")


def message(pane: SettingsPane, name: str) -> tuple[str, set[str]]:
    widget = pane.query_one(f"#msg_{name}")
    return str(widget.render()), set(widget.classes) & {"-error", "-warning"}


async def test_problems_show_as_you_type_and_errors_block_run(tmp_path):
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(SettingsPane)
        await pilot.pause()
        assert message(pane, "host") == ("", set())  # a fresh form is not a wall of red
        pane.query_one("#host").value = "imap.example.com"
        pane.query_one("#port").value = "0"
        await pilot.pause()
        assert message(pane, "port") == ("port: a number between 1 and 65535", {"-error"})
        pane.query_one("#ca_file").value = str(tmp_path / "missing.pem")
        await pilot.pause()
        assert message(pane, "ca_file") == ("CA file: no such file", {"-error"})
        with pytest.raises(SettingsError, match="port"):
            pane.to_settings()
        ca = tmp_path / "ca.pem"
        ca.write_text("-----BEGIN CERTIFICATE-----\n")
        pane.query_one("#ca_file").value = str(ca)
        pane.query_one("#port").value = "993"
        pane.query_one("#provider").value = "microsoft"
        pane.query_one("#scopes").value = "IMAP.AccessAsUser.All"  # a user's real mistake: reproducible, so only a warning
        pane.query_one("#user").value = "alice@contoso.example"
        await pilot.pause()
        assert message(pane, "scopes")[1] == {"-warning"} and "Microsoft Graph" in message(pane, "scopes")[0]
        settings = pane.to_settings()
        assert settings.ca_file == str(ca) and settings.scopes == ("IMAP.AccessAsUser.All",)
        pane.query_one("#src_token").value = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
        await pilot.pause()
        text, level = message(pane, "src_token")
        assert level == {"-error"} and "never the secret itself" in text and "eyJ" not in text


async def test_the_port_follows_protocol_and_security_until_typed():
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(SettingsPane)
        port = pane.query_one("#port")
        for protocol, security, expected in (("pop3", "tls", "995"), ("pop3", "starttls", "110"), ("smtp", "starttls", "587"),
                                             ("smtp", "tls", "465"), ("smtp", "plain", "25"), ("imap", "starttls", "143")):
            pane.query_one("#protocol").value = protocol
            pane.query_one("#security").value = security
            await pilot.pause()
            assert port.value == expected, (protocol, security)
        port.value = "10143"
        await pilot.pause()
        pane.query_one("#protocol").value = "pop3"
        await pilot.pause()
        assert port.value == "10143"  # typed by the user: kept
        assert "two-step" in str(pane.query_one("#hint_sasl_ir").render())  # POP3's initial-response choice explained


async def test_verification_off_is_marked_red_and_reaches_the_settings():
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(SettingsPane)
        pane.query_one("#host").value = "127.0.0.1"
        pane.query_one("#insecure").value = True
        await pilot.pause()
        assert pane.query_one("#verify-row").has_class("-danger")
        assert "OFF" in message(pane, "verify")[0]
        assert pane.to_settings().verify_tls is False


async def test_the_smtp_test_message_is_offered_for_smtp_only():
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(SettingsPane)
        pane.query_one("#host").value = "127.0.0.1"
        row = pane.query_one("#send_test-row")
        await pilot.pause()
        assert not row.display
        pane.query_one("#protocol").value = "smtp"
        await pilot.pause()
        assert row.display
        pane.query_one("#send_test").value = True
        await pilot.pause()
        assert pane.to_settings().send_test is True
        assert not pane.query_one("#verify-row").has_class("-danger")  # another checkbox: verification stays on
        pane.query_one("#protocol").value = "pop3"
        await pilot.pause()
        assert not row.display and pane.to_settings().send_test is False  # never DATA on a protocol without it


async def test_everything_loads_and_comes_back_unchanged():
    settings = CheckSettings(
        host="outlook.office365.com", port=995, security=Security.TLS, user="alice@contoso.example", mechanism=Mechanism.XOAUTH2,
        sasl_ir="no", protocol=Protocol.POP3, ca_file="/etc/ssl/certs/ca-certificates.crt", verify_tls=False, provider="microsoft",
        flow="client_credentials", client_id="8c1ed397-0dbb-5c19-bae4-3838d2aa7d81", tenant="contoso.onmicrosoft.com", cloud="usgov",
        authority="https://login.microsoftonline.us/contoso.onmicrosoft.com", scopes=("https://outlook.office365.us/.default",),
        client_secret=SecretSource("env", "MS_SECRET"), token_endpoint="https://idp.example/token",
    )
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(SettingsPane)
        pane.load(settings)
        await pilot.pause()
        assert pane.to_settings() == settings
