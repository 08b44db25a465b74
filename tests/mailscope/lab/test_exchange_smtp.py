"""The emulated Exchange Online SMTP submission server answers with the catalogue's real strings (§0.4, §0.7, §1.3,
ms_smtp_auth_disabled, smtp_auth_never_attempted) and CONTRACTS §1's send-as refusal: a raw socket table for the
exact lines, then Python's smtplib and aiosmtplib (clients we did not write) through STARTTLS."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest

from mailscope.lab.directory import MsUser
from mailscope.lab.exchange_smtp import ExchangeSmtpServer

from .conftest import Lab, Wire, b64, xoauth2

ALICE, BOB, SALES = "alice@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com", "sales@contoso.onmicrosoft.com"
SMTP = {"scp": "SMTP.Send"}
EHLO_BEFORE_TLS = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING",
                   "SMTPUTF8"]
EHLO_AFTER_TLS = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "AUTH LOGIN XOAUTH2", "8BITMIME", "BINARYMIME",
                  "CHUNKING", "SMTPUTF8"]
TAG_TAIL = " [MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM "


@pytest.fixture
async def smtp(lab: Lab, server_context):
    lab.directory.users.append(MsUser(SALES, lab.tenant.id, full_access=(ALICE,)))
    async with ExchangeSmtpServer(server_context, lab.directory, lab.key.public_key_pem) as server:
        yield server


def keywords(reply: list[str]) -> list[str]:
    return [line[4:] for line in reply[1:]]


async def after_starttls(lab: Lab, port: int, wires: list[Wire]) -> Wire:
    wire = await lab.connect(port, tls=False)
    wires.append(wire)
    assert (await wire.line()).startswith("220 MR1P264CA0146.outlook.office365.com Microsoft ESMTP MAIL Service ready at ")
    await wire.reply("EHLO client.example")
    assert await wire.reply("STARTTLS") == ["220 2.0.0 SMTP server ready"]
    await wire.upgrade(lab)
    assert keywords(await wire.reply("EHLO client.example")) == EHLO_AFTER_TLS
    return wire


def refused(line: str, text: str) -> bool:
    """An Exchange refusal: the text, then `[<front end> <time> <id>]`."""
    return line.startswith(text + TAG_TAIL) and line.endswith("]")


async def test_ehlo_offers_auth_only_after_starttls(lab: Lab, smtp, wires) -> None:
    wire = await lab.connect(smtp.port, tls=False)
    wires.append(wire)
    await wire.line()
    reply = await wire.reply("EHLO client.example")
    assert reply[0] == "250-MR1P264CA0146.outlook.office365.com Hello [127.0.0.1]" and keywords(reply) == EHLO_BEFORE_TLS
    assert reply[-1] == "250 SMTPUTF8"
    answer = await wire.reply(f"AUTH XOAUTH2 {xoauth2(ALICE, lab.token(**SMTP))}")
    assert refused(answer[0], "504 5.7.4 Unrecognized authentication type")
    assert refused((await wire.reply(f"MAIL FROM:<{ALICE}>"))[0], "530 5.7.57 Client not authenticated to send mail.")


@pytest.mark.parametrize("form", ["initial-response", "continuation"])
async def test_xoauth2_then_mail_rcpt_data_rset_quit(lab: Lab, smtp, wires, form) -> None:
    wire = await after_starttls(lab, smtp.port, wires)
    payload = xoauth2(ALICE, lab.token(**SMTP))
    if form == "continuation":
        assert await wire.reply("AUTH XOAUTH2") == ["334 "]
        assert await wire.reply(payload) == ["235 2.7.0 Authentication successful"]
    else:
        assert await wire.reply(f"AUTH XOAUTH2 {payload}") == ["235 2.7.0 Authentication successful"]
    assert await wire.reply(f"MAIL FROM:<{ALICE}>") == ["250 2.1.0 Sender OK"]
    assert await wire.reply(f"RCPT TO:<{BOB}>") == ["250 2.1.5 Recipient OK"]
    assert await wire.reply("DATA") == ["354 Start mail input; end with <CRLF>.<CRLF>"]
    for line in ("Subject: lab", "", "..a line starting with a dot", "body"):
        await wire.send(line)
    accepted = await wire.reply(".")
    assert accepted[0].startswith("250 2.0.0 OK <") and "[Hostname=MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM]" in accepted[0]
    assert await wire.reply("RSET") == ["250 2.0.0 Resetting"]
    assert await wire.reply("QUIT") == ["221 2.0.0 Service closing transmission channel"]
    assert await wire.closed()


@pytest.mark.parametrize(
    ("claims", "user", "why"),
    [
        ({"scp": "IMAP.AccessAsUser.All POP.AccessAsUser.All"}, ALICE, "no SMTP.Send"),
        ({**SMTP, "aud": "https://graph.microsoft.com"}, ALICE, "Graph audience"),
        ({**SMTP, "exp": 1_000_000_000}, ALICE, "expired"),
        (SMTP, BOB, "another user's mailbox without FullAccess (the MS doc's example)"),
        ({"scp": None, "idtyp": "app", "roles": ["IMAP.AccessAsApp"], "aud": "https://outlook.office365.com"}, ALICE, "no SendAsApp"),
    ],
)
async def test_every_token_fault_is_535_5_7_3(lab: Lab, smtp, wires, claims, user, why) -> None:
    wire = await after_starttls(lab, smtp.port, wires)
    answer = await wire.reply(f"AUTH XOAUTH2 {xoauth2(user, lab.token(**claims))}")
    assert len(answer) == 1 and refused(answer[0], "535 5.7.3 Authentication unsuccessful"), why
    assert refused((await wire.reply(f"MAIL FROM:<{user}>"))[0], "530 5.7.57 Client not authenticated to send mail.")


@pytest.mark.parametrize("level", ["Tenant", "Mailbox"])
async def test_smtp_auth_disabled_whatever_the_token_says(lab: Lab, smtp, wires, level) -> None:
    if level == "Tenant":
        lab.tenant.smtp_client_authentication_disabled = True
    else:
        lab.directory.user(ALICE).smtp_client_authentication_disabled = True  # type: ignore[union-attr]
    text = (f"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the {level}. Visit "
            "https://aka.ms/smtp_auth_disabled for more information.")
    for claims in (SMTP, {"scp": "IMAP.AccessAsUser.All"}):
        wire = await after_starttls(lab, smtp.port, wires)
        assert refused((await wire.reply(f"AUTH XOAUTH2 {xoauth2(ALICE, lab.token(**claims))}"))[0], text)


async def test_mailbox_setting_overrides_the_tenant(lab: Lab, smtp, wires) -> None:
    lab.tenant.smtp_client_authentication_disabled = True
    lab.directory.user(ALICE).smtp_client_authentication_disabled = False  # type: ignore[union-attr]
    wire = await after_starttls(lab, smtp.port, wires)
    assert await wire.reply(f"AUTH XOAUTH2 {xoauth2(ALICE, lab.token(**SMTP))}") == ["235 2.7.0 Authentication successful"]


async def test_auth_login_with_a_password_is_basic_auth(lab: Lab, smtp, wires) -> None:
    wire = await after_starttls(lab, smtp.port, wires)
    assert await wire.reply("AUTH LOGIN") == ["334 VXNlcm5hbWU6"]
    assert await wire.reply(b64(ALICE)) == ["334 UGFzc3dvcmQ6"]
    answer = await wire.reply(b64("Winter2026!"))
    assert refused(answer[0], "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.")
    assert refused((await wire.reply(f"AUTH PLAIN {b64(chr(0) + ALICE + chr(0) + 'x')}"))[0], "504 5.7.4 Unrecognized authentication type")


async def test_full_access_is_not_send_as(lab: Lab, smtp, wires) -> None:
    """alice has FullAccess on sales@: AUTH for sales@ succeeds, MAIL FROM:<sales@> does not until SendAs is granted."""
    wire = await after_starttls(lab, smtp.port, wires)
    assert await wire.reply(f"AUTH XOAUTH2 {xoauth2(SALES, lab.token(**SMTP))}") == ["235 2.7.0 Authentication successful"]
    denied = (await wire.reply(f"MAIL FROM:<{SALES}>"))[0]
    assert refused(denied, "550 5.7.60 SMTP; Client does not have permissions to send as this sender")
    assert refused((await wire.reply(f"RCPT TO:<{BOB}>"))[0], "503 5.5.2 Need mail command")
    assert await wire.reply(f"MAIL FROM:<{ALICE}>") == ["250 2.1.0 Sender OK"]  # her own address
    lab.directory.user(SALES).send_as = (ALICE,)  # type: ignore[union-attr]
    assert await wire.reply("RSET") == ["250 2.0.0 Resetting"]
    assert await wire.reply(f"MAIL FROM:<{SALES}>") == ["250 2.1.0 Sender OK"]
    assert [d.result for d in smtp.decisions if d.command == "MAIL FROM"] == ["NO", "OK", "OK"]


async def test_app_only_service_principal_sends_as_its_mailbox(lab: Lab, smtp, wires) -> None:
    claims = {"scp": None, "upn": None, "unique_name": None, "idtyp": "app", "roles": ["SMTP.SendAsApp"],
              "appid": lab.daemon.client_id, "oid": lab.daemon.service_principal_oid, "aud": "https://outlook.office365.com"}
    wire = await after_starttls(lab, smtp.port, wires)
    assert await wire.reply(f"AUTH XOAUTH2 {xoauth2(ALICE, lab.token(**claims))}") == ["235 2.7.0 Authentication successful"]
    assert await wire.reply(f"MAIL FROM:<{ALICE}>") == ["250 2.1.0 Sender OK"]  # FullAccess: the app acts as alice
    assert await wire.reply("RSET") == ["250 2.0.0 Resetting"]
    assert refused((await wire.reply(f"MAIL FROM:<{BOB}>"))[0], "550 5.7.60 SMTP; Client does not have permissions to send as this sender")


async def test_sequence_and_syntax_errors(lab: Lab, smtp, wires) -> None:
    wire = await lab.connect(smtp.port, tls=False)
    wires.append(wire)
    await wire.line()
    assert refused((await wire.reply("AUTH XOAUTH2"))[0], "503 5.5.2 Send hello first")
    assert refused((await wire.reply("EHLO"))[0], "501 5.5.4 Invalid arguments")
    assert refused((await wire.reply("XYZZY"))[0], "500 5.3.3 Unrecognized command")
    assert refused((await wire.reply("DATA"))[0], "503 5.5.2 Need rcpt command")
    assert await wire.reply("NOOP") == ["250 2.0.0 OK"]


async def test_smtplib_and_aiosmtplib_sign_in_and_are_refused_as_exchange_refuses(lab: Lab, smtp) -> None:
    token = lab.token(**SMTP)

    def with_smtplib(user: str) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
            client.starttls(context=lab.ca.client_context())
            client.ehlo()
            assert client.esmtp_features["auth"].split() == ["LOGIN", "XOAUTH2"]
            client.auth("XOAUTH2", lambda challenge=None: f"user={user}\x01auth=Bearer {token}\x01\x01")
            return client.mail(user)

    assert await asyncio.to_thread(with_smtplib, ALICE) == (250, b"2.1.0 Sender OK")
    code, message = await asyncio.to_thread(with_smtplib, SALES)
    assert code == 550 and message.startswith(b"5.7.60 SMTP; Client does not have permissions to send as this sender")

    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=True, tls_context=lab.ca.client_context(), timeout=5)
    async with client:
        await client.ehlo()
        assert client.server_auth_methods == ["login", "xoauth2"]
        answer = await client.auth_xoauth2(ALICE, token)
        assert (answer.code, answer.message) == (235, "2.7.0 Authentication successful")
        assert (await client.sendmail(ALICE, [BOB], b"Subject: lab\r\n\r\nhello\r\n"))[1].startswith("2.0.0 OK <")
    refused_client = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=True, tls_context=lab.ca.client_context(),
                                     timeout=5)
    async with refused_client:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as error:
            await refused_client.auth_xoauth2(ALICE, lab.token(scp="IMAP.AccessAsUser.All"))
    assert error.value.code == 535 and error.value.message.startswith("5.7.3 Authentication unsuccessful [")
