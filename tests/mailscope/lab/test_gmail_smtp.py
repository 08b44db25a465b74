"""The emulated Gmail SMTP server on 465 (implicit TLS) and 587 (STARTTLS): greeting, EHLO, the 334 error challenge
that waits for the empty line, 535-5.7.8 and 534-5.7.9 (catalogue §0.2, §0.7, §1.3, §2.3); raw socket lines, then
smtplib and aiosmtplib (which answers the challenge itself and raises with the 535)."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest

from mailscope.lab.directory import Directory, GoogleUser
from mailscope.lab.gmail_smtp import GmailSmtpServer

from .conftest import Lab, Wire, b64, fake_tokeninfo, xoauth2

USER = "alice@example-workspace.com"
GOOD, SEND_ONLY = "ya29.a0-good-token", "ya29.a0-send-only-token"
APP_PASSWORD = "abcdefghijklmnop"
CHALLENGE = "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
AUTH_KEYWORD = "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH"


tokeninfo = fake_tokeninfo(USER, {GOOD: "https://mail.google.com/", SEND_ONLY: "https://www.googleapis.com/auth/gmail.send"})


@pytest.fixture(params=[True, False], ids=["465", "587"])
async def gsmtp(request, server_context):
    directory = Directory(google_users=[GoogleUser(USER, app_passwords=(APP_PASSWORD,))])
    async with GmailSmtpServer(server_context, directory, tokeninfo, implicit_tls=request.param, seed=5) as server:
        yield server


def gsmtp_line(line: str, text: str) -> bool:
    """Gmail's reply tail: `<text> <request id> - gsmtp`."""
    return line.startswith(text + " ") and line.endswith(" - gsmtp")


async def ready(lab: Lab, server: GmailSmtpServer, wires: list[Wire]) -> Wire:
    """Connected, greeted, EHLO done (after STARTTLS on 587): the AUTH keyword is offered."""
    wire = await lab.connect(server.port, tls=server.implicit_tls)
    wires.append(wire)
    assert gsmtp_line(await wire.line(), "220 smtp.gmail.com ESMTP")
    ehlo = await wire.reply("EHLO client.example")
    assert ehlo[0] == "250-smtp.gmail.com at your service, [127.0.0.1]"
    if not server.implicit_tls:
        assert "250-STARTTLS" in ehlo and not [line for line in ehlo if "AUTH" in line]
        assert gsmtp_line((await wire.reply(f"AUTH XOAUTH2 {xoauth2(USER, GOOD)}"))[0], "530 5.7.0 Must issue a STARTTLS command first.")
        assert await wire.reply("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
        await wire.upgrade(lab)
        ehlo = await wire.reply("EHLO client.example")
    assert f"250-{AUTH_KEYWORD}" in ehlo and ehlo[-1] == "250 SMTPUTF8"
    return wire


async def test_xoauth2_then_sending(lab: Lab, gsmtp, wires) -> None:
    wire = await ready(lab, gsmtp, wires)
    mail_first = await wire.reply(f"MAIL FROM:<{USER}>")
    assert mail_first[0] == "530-5.7.0 Authentication Required. For more information, go to"
    assert gsmtp_line(mail_first[1], "530 5.7.0  https://support.google.com/mail/?p=WantAuthError")
    assert await wire.reply("AUTH XOAUTH2") == ["334 "]
    assert await wire.reply(xoauth2(USER, GOOD)) == ["235 2.7.0 Accepted"]
    assert gsmtp_line((await wire.reply(f"MAIL FROM:<{USER}>"))[0], "250 2.1.0 OK")
    assert gsmtp_line((await wire.reply("RCPT TO:<bob@example.net>"))[0], "250 2.1.5 OK")
    assert gsmtp_line((await wire.reply("RSET"))[0], "250 2.1.5 Flushed")
    assert gsmtp_line((await wire.reply("QUIT"))[0], "221 2.0.0 closing connection")
    assert await wire.closed()


async def test_refused_token_challenge_waits_for_the_empty_line(lab: Lab, gsmtp, wires) -> None:
    wire = await ready(lab, gsmtp, wires)
    assert await wire.reply(f"AUTH XOAUTH2 {xoauth2(USER, SEND_ONLY)}") == [CHALLENGE]
    assert await wire.silent(0.3)
    refused = await wire.reply("")
    assert refused[0] == "535-5.7.8 Username and Password not accepted. For more information, go to"
    assert gsmtp_line(refused[1], "535 5.7.8  https://support.google.com/mail/?p=BadCredentials")
    assert await wire.reply(f"AUTH XOAUTH2 {b64('not an xoauth2 string')}") == [CHALLENGE]
    assert (await wire.reply(""))[0] == "555-5.5.2 Syntax error, cannot decode response. For more information, go to"
    assert await wire.reply(f"AUTH XOAUTH2 {xoauth2(USER, 'ya29.unknown')}") == [CHALLENGE]
    assert gsmtp_line((await wire.reply("*"))[0], "501 5.7.0 Client initiated Authentication Exchange cancelled.")


async def test_account_password_needs_an_app_password(lab: Lab, gsmtp, wires) -> None:
    wire = await ready(lab, gsmtp, wires)
    assert await wire.reply("AUTH LOGIN") == ["334 VXNlcm5hbWU6"]
    assert await wire.reply(b64(USER)) == ["334 UGFzc3dvcmQ6"]
    refused = await wire.reply(b64("Winter2026!"))
    assert refused[0] == "534-5.7.9 Application-specific password required. For more information, go to"
    assert gsmtp_line(refused[1], "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor")
    assert await wire.reply(f"AUTH PLAIN {b64(chr(0) + USER + chr(0) + APP_PASSWORD)}") == ["235 2.7.0 Accepted"]


async def test_oauthbearer(lab: Lab, gsmtp, wires) -> None:
    wire = await ready(lab, gsmtp, wires)
    bearer = b64(f"n,a={USER},\x01host=smtp.gmail.com\x01port=465\x01auth=Bearer {GOOD}\x01\x01")
    assert await wire.reply(f"AUTH OAUTHBEARER {bearer}") == ["235 2.7.0 Accepted"]


async def test_smtplib_and_aiosmtplib(lab: Lab, gsmtp) -> None:
    context = lab.ca.client_context()

    def with_smtplib(user: str, password: str) -> tuple[int, bytes]:
        client = smtplib.SMTP_SSL("127.0.0.1", gsmtp.port, context=context, timeout=5) if gsmtp.implicit_tls else \
            smtplib.SMTP("127.0.0.1", gsmtp.port, timeout=5)
        with client:
            if not gsmtp.implicit_tls:
                client.starttls(context=context)
            try:
                return client.login(user, password)
            except smtplib.SMTPAuthenticationError as error:
                return error.smtp_code, error.smtp_error

    assert await asyncio.to_thread(with_smtplib, USER, APP_PASSWORD) == (235, b"2.7.0 Accepted")
    code, message = await asyncio.to_thread(with_smtplib, USER, "Winter2026!")
    assert code == 534 and b"5.7.9 Application-specific password required." in message

    def aio() -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(hostname="127.0.0.1", port=gsmtp.port, use_tls=gsmtp.implicit_tls, start_tls=not gsmtp.implicit_tls,
                               tls_context=context, timeout=5)

    async with aio() as client:
        await client.ehlo()
        assert (await client.auth_xoauth2(USER, GOOD)).code == 235
        assert (await client.sendmail(USER, ["bob@example.net"], b"Subject: lab\r\n\r\nhello\r\n"))[1].startswith("2.0.0 OK")
    async with aio() as client:  # aiosmtplib answers the 334 challenge with an empty line, then raises the 535
        await client.ehlo()
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as error:
            await client.auth_xoauth2(USER, SEND_ONLY)
    assert error.value.code == 535 and "5.7.8 Username and Password not accepted." in error.value.message
