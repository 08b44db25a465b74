"""The emulated Exchange Online IMAP server answers with the catalogue's real strings (§0.5-0.7, §1.3)."""

from __future__ import annotations

import base64
import time

import pytest

from mailscope.lab.directory import MsCloud
from mailscope.lab.exchange_imap import ExchangeImapServer

from .conftest import Lab, Wire, xoauth2

TLS_CAPS = "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
PRE_STARTTLS_CAPS = "* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID CHILDREN IDLE NAMESPACE LITERAL+"
ALICE = "alice@contoso.onmicrosoft.com"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def exchange(lab: Lab, server_context):
    clock = Clock()
    server = ExchangeImapServer(server_context, lab.directory, lab.key.public_key_pem, clock=clock)
    server.clock_control = clock  # type: ignore[attr-defined]
    await server.start()
    yield server
    await server.stop()


async def open_session(lab: Lab, port: int, wires: list[Wire]) -> Wire:
    wire = await lab.connect(port)
    wires.append(wire)
    greeting = await wire.line()
    assert greeting.startswith("* OK The Microsoft Exchange IMAP4 service is ready. [")
    return wire


async def test_greeting_carries_front_end_name_in_utf16le_base64(lab: Lab, exchange, wires) -> None:
    wire = await lab.connect(exchange.port)
    wires.append(wire)
    greeting = await wire.line()
    encoded = greeting.rsplit("[", 1)[1].rstrip("]")
    assert base64.b64decode(encoded).decode("utf-16-le") == "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"


async def test_china_cloud_front_end(lab: Lab, server_context, wires) -> None:
    async with ExchangeImapServer(server_context, lab.directory, lab.key.public_key_pem, cloud=MsCloud.CHINA) as server:
        wire = await lab.connect(server.port)
        wires.append(wire)
        encoded = (await wire.line()).rsplit("[", 1)[1].rstrip("]")
        assert base64.b64decode(encoded).decode("utf-16-le") == "ZQ0PR01CA0010.CHNPR01.prod.partner.outlook.cn"
        # A worldwide token is refused by the 21Vianet front end.
        assert (await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token())}"))[-1] == "a NO AUTHENTICATE failed."


async def test_capabilities_after_tls_and_growth_after_auth(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    assert await wire.command("a CAPABILITY") == [TLS_CAPS, "a OK CAPABILITY completed."]
    assert await wire.command(f"b AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token())}") == ["b OK AUTHENTICATE completed."]
    caps = (await wire.command("c CAPABILITY"))[0]
    assert caps == f"{TLS_CAPS} CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE"
    assert (await wire.command("d NAMESPACE"))[-1] == "d OK NAMESPACE completed."
    assert (await wire.command('e LIST "" "INBOX"'))[-1] == "e OK LIST completed."
    assert (await wire.command("f EXAMINE INBOX"))[-1] == "f OK [READ-ONLY] EXAMINE completed."
    assert await wire.command("g LOGOUT") == ["* BYE Microsoft Exchange Server IMAP4 server signing off.", "g OK LOGOUT completed."]
    assert await wire.closed()


async def test_starttls_listener(lab: Lab, server_context, wires) -> None:
    async with ExchangeImapServer(server_context, lab.directory, lab.key.public_key_pem, implicit_tls=False) as server:
        wire = await lab.connect(server.port, tls=False)
        wires.append(wire)
        await wire.line()
        assert await wire.command("a CAPABILITY") == [PRE_STARTTLS_CAPS, "a OK CAPABILITY completed."]
        assert (await wire.command(f"b AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token())}"))[-1].startswith("b BAD")
        assert await wire.command("c STARTTLS") == ["c OK Begin TLS negotiation now."]
        await wire.writer.start_tls(lab.ca.client_context(), server_hostname="127.0.0.1")
        assert await wire.command("d CAPABILITY") == [TLS_CAPS, "d OK CAPABILITY completed."]
        assert await wire.command(f"e AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token())}") == ["e OK AUTHENTICATE completed."]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "https://graph.microsoft.com"}, "Graph audience"),
        ({"aud": "00000003-0000-0000-c000-000000000000"}, "Graph app id audience"),
        ({"scp": "POP.AccessAsUser.All"}, "POP scope for IMAP"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}, "unknown tenant"),
        ({"scp": None, "idtyp": "app", "roles": ["Mail.Read"]}, "app-only without IMAP.AccessAsApp"),
    ],
)
async def test_every_token_fault_is_the_same_generic_no(lab: Lab, exchange, wires, claims, why) -> None:
    wire = await open_session(lab, exchange.port, wires)
    assert await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token(**claims))}") == ["a NO AUTHENTICATE failed."], why
    assert exchange.decisions[-1].result == "NO"
    assert await wire.command("b NOOP") == ["b OK NOOP completed."]  # the connection stays usable


async def test_forged_signature_and_garbage_payloads(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    head, body, _ = lab.token().split(".")
    forged = f"{head}.{body}.{base64.urlsafe_b64encode(b'x' * 256).decode().rstrip('=')}"
    assert (await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, forged)}"))[-1] == "a NO AUTHENTICATE failed."
    assert (await wire.command("b AUTHENTICATE XOAUTH2 !!!notbase64"))[-1] == "b NO AUTHENTICATE failed."
    assert (await wire.command(f"c AUTHENTICATE XOAUTH2 {base64.b64encode(b'ya29.raw').decode()}"))[-1] == "c NO AUTHENTICATE failed."


async def test_no_error_challenge_and_continuation_form(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    await wire.send("a AUTHENTICATE XOAUTH2")
    assert await wire.line() == "+ "
    await wire.send(xoauth2(ALICE, lab.token(aud="https://graph.microsoft.com")))
    assert await wire.line() == "a NO AUTHENTICATE failed."  # straight to NO: Exchange sends no error challenge


async def test_basic_auth_is_off(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    plain = base64.b64encode(f"\0{ALICE}\0Winter2026!".encode()).decode()
    assert await wire.command(f"a AUTHENTICATE PLAIN {plain}") == ["a NO AUTHENTICATE failed."]
    assert await wire.command(f'b LOGIN {ALICE} "Winter2026!"') == ["b NO LOGIN failed."]


async def test_wrong_user_is_authenticated_but_not_connected(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    assert await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2('bob@contoso.onmicrosoft.com', lab.token())}") == [
        "a OK AUTHENTICATE completed."
    ]
    assert (await wire.command("b CAPABILITY"))[-1] == "b OK CAPABILITY completed."
    assert await wire.command("c NAMESPACE") == ["c BAD User is authenticated but not connected."]
    assert await wire.line() == "* BYE Connection closed. 14"
    assert await wire.closed()


async def test_user_case_insensitive_and_delegate_with_full_access(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    assert (await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE.upper(), lab.token())}"))[-1] == "a OK AUTHENTICATE completed."
    lab.directory.user("bob@contoso.onmicrosoft.com").full_access = (ALICE,)  # type: ignore[union-attr]
    other = await open_session(lab, exchange.port, wires)
    assert await other.command(f"a AUTHENTICATE XOAUTH2 {xoauth2('bob@contoso.onmicrosoft.com', lab.token())}") == [
        "a OK AUTHENTICATE completed."
    ]
    assert (await other.command("b EXAMINE INBOX"))[-1] == "b OK [READ-ONLY] EXAMINE completed."


async def test_app_only_token_needs_service_principal_and_full_access(lab: Lab, exchange, wires) -> None:
    app_claims = {"scp": None, "upn": None, "unique_name": None, "idtyp": "app", "roles": ["IMAP.AccessAsApp"],
                  "appid": lab.daemon.client_id, "oid": lab.daemon.service_principal_oid, "aud": "https://ps.outlook.com"}
    wire = await open_session(lab, exchange.port, wires)
    assert (await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token(**app_claims))}"))[-1] == "a OK AUTHENTICATE completed."
    assert (await wire.command("b EXAMINE INBOX"))[-1] == "b OK [READ-ONLY] EXAMINE completed."
    # bob never granted the service principal FullAccess: authenticated, not connected
    bob = await open_session(lab, exchange.port, wires)
    assert (await bob.command(f"a AUTHENTICATE XOAUTH2 {xoauth2('bob@contoso.onmicrosoft.com', lab.token(**app_claims))}"))[-1] == (
        "a OK AUTHENTICATE completed."
    )
    assert await bob.command("b EXAMINE INBOX") == ["b BAD User is authenticated but not connected."]
    # New-ServicePrincipal run with the wrong ObjectId: plain NO
    lab.daemon.exchange_service_principal_oid = "00000000-0000-0000-0000-000000000001"
    wrong = await open_session(lab, exchange.port, wires)
    assert (await wrong.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, lab.token(**app_claims))}"))[-1] == "a NO AUTHENTICATE failed."


async def test_token_expiring_mid_session_invalidates_it(lab: Lab, exchange, wires) -> None:
    wire = await open_session(lab, exchange.port, wires)
    token = lab.token(exp=int(exchange.clock_control.now) + 60)
    assert (await wire.command(f"a AUTHENTICATE XOAUTH2 {xoauth2(ALICE, token)}"))[-1] == "a OK AUTHENTICATE completed."
    exchange.clock_control.now += 3600
    await wire.send('b LIST "" "*"')
    assert await wire.line() == "* BYE Session invalidated - AccessTokenExpired"
    assert await wire.closed()
