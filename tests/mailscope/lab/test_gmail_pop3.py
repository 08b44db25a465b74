"""The emulated Gmail POP3 server (Gpop): greeting, CAPA, the error challenge that waits for the client, app-password
and POP-disabled answers (catalogue §0.2, §1.3, §2.3); raw socket lines, then Python's poplib."""

from __future__ import annotations

import asyncio
import base64
import json
import poplib

import pytest

from mailscope.lab.directory import Directory, GoogleUser
from mailscope.lab.gmail_pop3 import GmailPop3Server

from .conftest import Lab, Wire, b64, fake_tokeninfo, xoauth2

USER = "alice@example-workspace.com"
GOOD, NARROW = "ya29.a0-good-token", "ya29.a0-readonly-token"
APP_PASSWORD = "abcdefghijklmnop"
CHALLENGE = "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
NOT_ACCEPTED = "-ERR [AUTH] Username and password not accepted."


tokeninfo = fake_tokeninfo(USER, {GOOD: "https://mail.google.com/", NARROW: "https://www.googleapis.com/auth/gmail.readonly"})


@pytest.fixture
async def gpop(server_context):
    directory = Directory(google_users=[GoogleUser(USER, app_passwords=(APP_PASSWORD,))])
    async with GmailPop3Server(server_context, directory, tokeninfo, seed=3) as server:
        yield server


async def open_session(lab: Lab, port: int, wires: list[Wire]) -> Wire:
    wire = await lab.connect(port)
    wires.append(wire)
    greeting = await wire.line()
    assert greeting.startswith("+OK Gpop ready for requests from 127.0.0.1 ") and len(greeting.split()[-1]) > 8
    return wire


async def test_capa_and_xoauth2_in_both_forms(lab: Lab, gpop, wires) -> None:
    wire = await open_session(lab, gpop.port, wires)
    await wire.send("CAPA")
    assert [await wire.line() for _ in range(10)] == ["+OK Capability list follows", "USER", "RESP-CODES", "EXPIRE 0", "LOGIN-DELAY 300",
                                                       "TOP", "UIDL", "X-GOOGLE-RICO", "SASL PLAIN XOAUTH2 OAUTHBEARER", "."]
    assert await wire.ask(f"AUTH XOAUTH2 {xoauth2(USER, GOOD)}") == "+OK Welcome."
    assert await wire.ask("STAT") == "+OK 0 0"
    assert await wire.ask("QUIT") == "+OK Farewell."
    two_step = await open_session(lab, gpop.port, wires)
    assert await two_step.ask("AUTH XOAUTH2") == "+ "
    assert await two_step.ask(xoauth2(USER, GOOD)) == "+OK Welcome."


async def test_refused_token_gets_the_challenge_and_a_wait(lab: Lab, gpop, wires) -> None:
    wire = await open_session(lab, gpop.port, wires)
    challenge = await wire.ask(f"AUTH XOAUTH2 {xoauth2(USER, NARROW)}")
    assert challenge == CHALLENGE
    assert json.loads(base64.b64decode(challenge[2:]))["scope"] == "https://mail.google.com/"
    assert await wire.silent(0.3)  # nothing until the client answers
    assert await wire.ask("") == NOT_ACCEPTED
    for user, token in ((USER, "ya29.unknown"), ("bob@example-workspace.com", GOOD)):
        assert await wire.ask(f"AUTH XOAUTH2 {xoauth2(user, token)}") == CHALLENGE
        assert await wire.ask("") == NOT_ACCEPTED
    assert await wire.ask(f"AUTH XOAUTH2 {b64(GOOD)}") == CHALLENGE  # a bare token is no XOAUTH2 string
    assert await wire.ask("") == "-ERR [AUTH] Invalid SASL argument."


async def test_passwords_app_passwords_and_pop_disabled(lab: Lab, gpop, wires, server_context) -> None:
    wire = await open_session(lab, gpop.port, wires)
    assert await wire.ask(f"USER {USER}") == "+OK send PASS"
    assert await wire.ask("PASS Winter2026!") == (
        "-ERR [AUTH] Application-specific password required: https://support.google.com/accounts/answer/185833")
    assert await wire.ask(f"AUTH PLAIN {b64(chr(0) + USER + chr(0) + APP_PASSWORD)}") == "+OK Welcome."
    directory = Directory(google_users=[GoogleUser(USER, pop_enabled=False, two_step_verification=False)])
    async with GmailPop3Server(server_context, directory, tokeninfo) as off:
        other = await open_session(lab, off.port, wires)
        assert await other.ask(f"AUTH XOAUTH2 {xoauth2(USER, GOOD)}") == (
            "-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your "
            "account for POP access.")
        assert await other.ask(f"USER {USER}") == "+OK send PASS"
        assert await other.ask("PASS wrong") == NOT_ACCEPTED  # no 2-Step Verification: a plain wrong password


async def test_poplib_with_the_error_challenge(lab: Lab, gpop) -> None:
    """poplib has no AUTH helper: the documented recipe (libraries.md §5) answers the challenge with an empty line."""

    def session(token: str) -> bytes:
        client = poplib.POP3_SSL("127.0.0.1", gpop.port, context=lab.ca.client_context(), timeout=5)
        try:
            client._putcmd(f"AUTH XOAUTH2 {xoauth2(USER, token)}")
            answer = client._getresp()
            while answer.startswith(b"+ "):
                client._putcmd("")
                answer = client._getresp()
            assert client.stat() == (0, 0)
            return answer
        finally:
            client.close()

    assert await asyncio.to_thread(session, GOOD) == b"+OK Welcome."
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Username and password not accepted"):
        await asyncio.to_thread(session, NARROW)
