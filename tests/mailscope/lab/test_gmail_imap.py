"""The emulated Gmail IMAP server: greeting, capabilities, the error challenge that waits for the client,
Invalid SASL argument, client abort, app-password alert (catalogue §0.2-0.7, §1.3, §2.3)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from mailscope.lab.directory import Directory, GoogleUser
from mailscope.lab.gmail_imap import GmailImapServer

from .conftest import Lab, Wire, xoauth2

USER = "alice@example-workspace.com"
GOOD = "ya29.a0-good-token"
NARROW = "ya29.a0-readonly-token"
CAPS = ("* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 "
        "AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH")
CHALLENGE = "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
INVALID = "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"


def tokeninfo(token: str) -> dict[str, str] | None:
    infos = {
        GOOD: {"scope": "https://mail.google.com/ openid", "email": USER, "exp": str(int(time.time()) + 3000)},
        NARROW: {"scope": "https://www.googleapis.com/auth/gmail.readonly", "email": USER, "exp": str(int(time.time()) + 3000)},
    }
    return infos.get(token)


@pytest.fixture
async def gmail(server_context):
    server = GmailImapServer(server_context, Directory(google_users=[GoogleUser(USER)]), tokeninfo, seed=7)
    await server.start()
    yield server
    await server.stop()


async def open_session(lab: Lab, port: int, wires: list[Wire]) -> Wire:
    wire = await lab.connect(port)
    wires.append(wire)
    greeting = await wire.line()
    assert greeting.startswith("* OK Gimap ready for requests from 127.0.0.1 ")
    return wire


def oauthbearer(user: str, token: str) -> str:
    return base64.b64encode(f"n,a={user},\x01host=imap.gmail.com\x01port=993\x01auth=Bearer {token}\x01\x01".encode()).decode()


async def test_healthy_session(lab: Lab, gmail, wires) -> None:
    wire = await open_session(lab, gmail.port, wires)
    caps = await wire.command("a CAPABILITY")
    assert caps[0] == CAPS and caps[1].startswith("a OK Thats all she wrote!")
    answer = await wire.command(f"b AUTHENTICATE XOAUTH2 {xoauth2(USER, GOOD)}")
    assert answer[-1] == f"b OK {USER} authenticated (Success)"
    assert (await wire.command("c EXAMINE INBOX"))[-1] == "c OK [READ-ONLY] INBOX selected. (Success)"
    assert await wire.command("d LOGOUT") == ["* BYE LOGOUT Requested", "d OK 73 good day (Success)"]


async def test_refusal_challenge_waits_for_the_empty_line(lab: Lab, gmail, wires) -> None:
    wire = await open_session(lab, gmail.port, wires)
    await wire.send(f"a AUTHENTICATE XOAUTH2 {xoauth2(USER, NARROW)}")
    challenge = await wire.line()
    assert challenge == CHALLENGE
    assert json.loads(base64.b64decode(challenge[2:])) == {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
    assert await wire.silent(0.3)  # nothing until the client answers (aioimaplib's stock xoauth2() hangs here)
    await wire.send("")
    assert await wire.line() == f"a {INVALID}"


@pytest.mark.parametrize(
    ("user", "token"),
    [(USER, "ya29.unknown"), ("bob@example-workspace.com", GOOD)],
    ids=["unknown-or-expired-token", "user-mismatch"],
)
async def test_token_faults_share_the_challenge(lab: Lab, gmail, wires, user, token) -> None:
    wire = await open_session(lab, gmail.port, wires)
    await wire.send(f"a AUTHENTICATE XOAUTH2 {xoauth2(user, token)}")
    assert await wire.line() == CHALLENGE
    await wire.send("")
    assert await wire.line() == f"a {INVALID}"


async def test_malformed_string_is_invalid_sasl_argument(lab: Lab, gmail, wires) -> None:
    wire = await open_session(lab, gmail.port, wires)
    for tag, payload in (("a", base64.b64encode(GOOD.encode()).decode()), ("b", xoauth2("", GOOD)),
                         ("c", base64.b64encode(f"user={USER}auth=Bearer {GOOD}".encode()).decode())):
        await wire.send(f"{tag} AUTHENTICATE XOAUTH2 {payload}")
        assert await wire.line() == CHALLENGE
        await wire.send("")
        answer = await wire.line()
        assert answer.startswith(f"{tag} NO Invalid SASL argument. ") and len(answer.split()[-1]) > 8


async def test_client_abort(lab: Lab, gmail, wires) -> None:
    wire = await open_session(lab, gmail.port, wires)
    await wire.send(f"a AUTHENTICATE XOAUTH2 {xoauth2(USER, NARROW)}")
    assert await wire.line() == CHALLENGE
    await wire.send("*")
    assert (await wire.line()).startswith("a BAD Client aborted AUTHENTICATE command. ")


async def test_oauthbearer(lab: Lab, gmail, wires) -> None:
    wire = await open_session(lab, gmail.port, wires)
    await wire.send(f"a AUTHENTICATE OAUTHBEARER {oauthbearer(USER, NARROW)}")
    assert await wire.line() == CHALLENGE
    await wire.send("AQ==")
    assert await wire.line() == f"a {INVALID}"
    # XOAUTH2 payload under OAUTHBEARER: BAD at once (curl #2487)
    assert (await wire.command(f"b AUTHENTICATE OAUTHBEARER {xoauth2(USER, GOOD)}"))[-1].startswith("b BAD Invalid SASL argument. ")
    answer = await wire.command(f"c AUTHENTICATE OAUTHBEARER {oauthbearer(USER, GOOD)}")
    assert answer[-1] == f"c OK {USER} authenticated (Success)"


async def test_two_step_xoauth2_without_initial_response(lab: Lab, gmail, wires) -> None:
    wire = await open_session(lab, gmail.port, wires)
    await wire.send("a AUTHENTICATE XOAUTH2")
    assert await wire.line() == "+ "
    await wire.send(xoauth2(USER, GOOD))
    assert (await wire.line()).startswith("* CAPABILITY")
    assert await wire.line() == f"a OK {USER} authenticated (Success)"


async def test_passwords_need_an_app_password(lab: Lab, gmail, wires) -> None:
    alert = "NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)"
    wire = await open_session(lab, gmail.port, wires)
    assert await wire.command(f'a LOGIN {USER} "hunter2 hunter2"') == [f"a {alert}"]
    plain = base64.b64encode(f"\0{USER}\0hunter2".encode()).decode()
    assert await wire.command(f"b AUTHENTICATE PLAIN {plain}") == [f"b {alert}"]


async def test_imap_disabled_after_a_valid_token(lab: Lab, server_context, wires) -> None:
    directory = Directory(google_users=[GoogleUser(USER, imap_enabled=False)])
    async with GmailImapServer(server_context, directory, tokeninfo) as server:
        wire = await open_session(lab, server.port, wires)
        answer = await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(USER, GOOD)}")
        assert answer == ["a NO [ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and "
                          "enable your account for IMAP access. (Failure)"]


async def test_an_app_password_signs_in_and_a_wrong_password_without_2sv_is_invalid(lab: Lab, server_context, wires) -> None:
    directory = Directory(google_users=[GoogleUser(USER, app_passwords=("abcdefghijklmnop",)),
                                        GoogleUser("bob@example-workspace.com", two_step_verification=False)])
    async with GmailImapServer(server_context, directory, tokeninfo) as server:
        wire = await open_session(lab, server.port, wires)
        assert await wire.command(f"a LOGIN {USER} abcdefghijklmnop") == [f"a OK {USER} authenticated (Success)"]
        assert (await wire.command("b EXAMINE INBOX"))[-1] == "b OK [READ-ONLY] INBOX selected. (Success)"
        other = await open_session(lab, server.port, wires)
        assert await other.command("a LOGIN bob@example-workspace.com wrong") == [f"a {INVALID}"]
