"""The emulated Exchange Online POP3 server answers with the catalogue's real strings (§0.1, §0.4, §0.6, §0.7, §1.3):
a raw socket table for the exact lines, then Python's own poplib (a client we did not write) over real TLS."""

from __future__ import annotations

import asyncio
import base64
import poplib

import pytest

from mailscope.lab.exchange_pop3 import ExchangePop3Server

from .conftest import Lab, Wire, b64, xoauth2

ALICE, BOB = "alice@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com"
GREETING = "+OK The Microsoft Exchange POP3 service is ready. ["
REJECT = "-ERR Authentication failure: unknown user name or bad password."
OK = "+OK User successfully authenticated."
PROTOCOL_ERROR = "-ERR Protocol error. Connection is closed. 10"
POP = {"scp": "POP.AccessAsUser.All"}


@pytest.fixture
async def pop3(lab: Lab, server_context):
    async with ExchangePop3Server(server_context, lab.directory, lab.key.public_key_pem) as server:
        yield server


async def open_session(lab: Lab, port: int, wires: list[Wire]) -> Wire:
    wire = await lab.connect(port)
    wires.append(wire)
    assert (await wire.line()).startswith(GREETING)
    return wire


async def two_step(wire: Wire, payload: str) -> str:
    assert await wire.ask("AUTH XOAUTH2") == "+ "
    return await wire.ask(payload)


async def test_greeting_carries_the_front_end_and_capa_lists_xoauth2(lab: Lab, pop3, wires) -> None:
    wire = await lab.connect(pop3.port)
    wires.append(wire)
    greeting = await wire.line()
    encoded = greeting.removeprefix(GREETING).rstrip("]")
    assert base64.b64decode(encoded).decode("utf-16-le") == "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"
    await wire.send("CAPA")
    assert [await wire.line() for _ in range(6)] == ["+OK", "TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER", "."]


async def test_two_step_xoauth2_then_stat_and_quit(lab: Lab, pop3, wires) -> None:
    wire = await open_session(lab, pop3.port, wires)
    assert await wire.ask("STAT") == "-ERR Command is not valid in this state."
    assert await two_step(wire, xoauth2(ALICE, lab.token(**POP))) == OK
    assert await wire.ask("STAT") == "+OK 0 0"
    assert await wire.ask("QUIT") == "+OK Microsoft Exchange Server POP3 server signing off."
    assert await wire.closed()
    assert pop3.decisions[-1].result == "OK"


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "PLAIN"])
async def test_initial_response_on_the_auth_line_is_a_protocol_error(lab: Lab, pop3, wires, mechanism) -> None:
    wire = await open_session(lab, pop3.port, wires)
    assert await wire.ask(f"AUTH {mechanism} {xoauth2(ALICE, lab.token(**POP))}") == PROTOCOL_ERROR
    assert await wire.closed()  # "Connection is closed": and it is


@pytest.mark.parametrize(
    ("claims", "user", "why"),
    [
        ({"scp": "IMAP.AccessAsUser.All"}, ALICE, "IMAP scope used for POP"),
        ({"scp": "SMTP.Send"}, ALICE, "SMTP scope used for POP"),
        ({**POP, "aud": "https://graph.microsoft.com"}, ALICE, "Graph audience"),
        ({**POP, "exp": 1_000_000_000}, ALICE, "expired"),
        ({"scp": None, "idtyp": "app", "roles": ["IMAP.AccessAsApp"], "aud": "https://ps.outlook.com"}, ALICE, "app role for IMAP only"),
    ],
)
async def test_every_token_fault_is_the_same_generic_err(lab: Lab, pop3, wires, claims, user, why) -> None:
    wire = await open_session(lab, pop3.port, wires)
    assert await two_step(wire, xoauth2(user, lab.token(**claims))) == REJECT, why
    assert await wire.ask("NOOP") == "+OK"  # the connection stays usable


async def test_basic_auth_is_off_for_plain_and_user_pass(lab: Lab, pop3, wires) -> None:
    wire = await open_session(lab, pop3.port, wires)
    assert await wire.ask("AUTH PLAIN") == "+ "
    assert await wire.ask(b64(f"\0{ALICE}\0Winter2026!")) == REJECT
    assert await wire.ask(f"USER {ALICE}") == "+OK"
    assert await wire.ask("PASS Winter2026!") == REJECT
    assert await wire.ask("AUTH XOAUTH2") == "+ "
    assert await wire.ask("!!!not base64") == REJECT


async def test_valid_token_for_a_mailbox_it_cannot_open(lab: Lab, pop3, wires) -> None:
    """Another user's mailbox without FullAccess, or POP disabled: accepted, then STAT is refused."""
    lab.directory.user(ALICE).pop_enabled = False  # type: ignore[union-attr]
    for user in (BOB, ALICE):
        wire = await open_session(lab, pop3.port, wires)
        assert await two_step(wire, xoauth2(user, lab.token(**POP))) == OK
        assert await wire.ask("STAT") == "-ERR User is authenticated but not connected."
        assert await wire.ask("QUIT") == "+OK Microsoft Exchange Server POP3 server signing off."
    assert [d.result for d in pop3.decisions] == ["REFUSED_MAILBOX", "REFUSED_MAILBOX"]
    assert "POP is disabled" in pop3.decisions[-1].reason


async def test_app_only_token_with_pop_role_and_full_access(lab: Lab, pop3, wires) -> None:
    claims = {"scp": None, "upn": None, "unique_name": None, "idtyp": "app", "roles": ["POP.AccessAsApp"],
              "appid": lab.daemon.client_id, "oid": lab.daemon.service_principal_oid, "aud": "https://ps.outlook.com"}
    wire = await open_session(lab, pop3.port, wires)
    assert await two_step(wire, xoauth2(ALICE, lab.token(**claims))) == OK
    assert await wire.ask("UIDL") == "+OK" and await wire.line() == "."


async def test_unknown_commands_and_a_cancelled_auth(lab: Lab, pop3, wires) -> None:
    wire = await open_session(lab, pop3.port, wires)
    assert await wire.ask("XYZZY") == "-ERR Command is not valid."
    assert await wire.ask("AUTH XOAUTH2") == "+ "
    assert await wire.ask("*") == REJECT
    assert await wire.ask("AUTH CRAM-MD5") == REJECT


async def test_poplib_two_step_and_one_line(lab: Lab, pop3) -> None:
    """Python's poplib over TLS: the two-step form signs in, the one-line form gets the protocol error (poplib raises it)."""
    token = lab.token(**POP)

    def session(one_line: bool) -> bytes:
        client = poplib.POP3_SSL("127.0.0.1", pop3.port, context=lab.ca.client_context(), timeout=5)
        try:
            assert client.capa()["SASL"] == ["PLAIN", "XOAUTH2"]
            if one_line:
                return client._shortcmd(f"AUTH XOAUTH2 {xoauth2(ALICE, token)}")
            assert client._shortcmd("AUTH XOAUTH2").startswith(b"+")
            answer = client._shortcmd(xoauth2(ALICE, token))
            assert client.stat() == (0, 0)
            client.quit()
            return answer
        finally:
            client.close()

    assert await asyncio.to_thread(session, False) == OK.encode()
    with pytest.raises(poplib.error_proto, match="Protocol error. Connection is closed. 10"):
        await asyncio.to_thread(session, True)
