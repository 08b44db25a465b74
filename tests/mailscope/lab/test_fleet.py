"""The lab fleet: seeded and reproducible, every state present, a truth that adds up, a CSV an audit can read, a
directory that finds a user among thousands at once, and Exchange's throttling answer on the wire for a throttled
mailbox's first sign-ins."""

from __future__ import annotations

import asyncio
import base64
import csv
from collections import Counter

from mailscope.lab.fleet import ACTIVE_CLIENT_ID, RETIRED_CLIENT_ID, FleetLab, MailboxState, make_fleet
from mailscope.lab.scenarios.world import TENANT_DOMAIN
from mailscope.settings import Protocol


def test_the_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    assert make_fleet(200, seed=4) == make_fleet(200, seed=4)
    assert make_fleet(200, seed=4).mailboxes != make_fleet(200, seed=5).mailboxes


def test_every_state_occurs_and_the_truth_adds_up() -> None:
    fleet = make_fleet(40, seed=1, protocols=(Protocol.IMAP, Protocol.POP3, Protocol.SMTP))
    truth = fleet.truth()
    assert set(truth["states"]) == {str(s) for s in MailboxState}
    assert sum(truth["counts"].values()) == sum(truth["states"].values()) == 40
    assert truth["counts"] == dict(Counter(m["expected_finding"] or "healthy" for m in truth["mailboxes"]))
    assert truth["throttle_retries"] == 2 * truth["states"]["throttled"]
    assert [m["row"] for m in truth["mailboxes"]] == list(range(2, 42))
    assert {m["protocol"] for m in truth["mailboxes"]} == {"imap", "pop3", "smtp"}
    smtp_disabled = [m for m in truth["mailboxes"] if m["protocol"] == "smtp" and m["state"] == "protocol_disabled"]
    assert all(m["expected_finding"] == m["cause_finding"] == "ms_smtp_auth_disabled" for m in smtp_disabled)
    assert make_fleet(3, seed=1).truth()["states"].keys() <= {str(s) for s in MailboxState}


def test_the_world_holds_the_mailboxes_that_exist_and_an_app_whose_secret_expired() -> None:
    fleet = make_fleet(60, seed=2)
    world = fleet.world()
    directory = world.directory
    for mailbox in fleet.mailboxes:
        user = directory.user(mailbox.user.upper())
        if mailbox.state is MailboxState.WRONG_USER:
            assert user is None
            continue
        assert user is not None and user.upn == mailbox.user
        assert user.imap_enabled == (mailbox.state is not MailboxState.PROTOCOL_DISABLED)
        assert user.has_mailbox == (mailbox.state is not MailboxState.NO_LICENCE)
        assert bool(user.full_access) == (mailbox.state is not MailboxState.NO_FULL_ACCESS)
    retired = directory.app(RETIRED_CLIENT_ID)
    assert retired is not None and retired.expired_secrets == (world.secrets["retired_secret"],) and not retired.secrets


async def test_the_mailboxes_csv_names_each_row_its_server_and_app() -> None:
    fleet = make_fleet(25, seed=6)
    async with FleetLab(fleet) as lab:
        with open(lab.mailboxes_csv, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        port = lab.servers["exchange"].port
    assert [r["user"] for r in rows] == [m.user for m in fleet.mailboxes]
    for row, mailbox in zip(rows, fleet.mailboxes, strict=True):
        assert (row["protocol"], row["port"], row["security"]) == ("imap", str(port), "tls")
        assert row["client_id"] == (RETIRED_CLIENT_ID if mailbox.state is MailboxState.EXPIRED_SECRET else ACTIVE_CLIENT_ID)
        assert row["client_secret"].startswith("file:") == (mailbox.state is MailboxState.EXPIRED_SECRET)


async def test_a_throttled_mailbox_gets_exchanges_answer_for_its_first_sign_ins() -> None:
    fleet = make_fleet(12, seed=3)
    user = next(m.user for m in fleet.mailboxes if m.state is MailboxState.THROTTLED)
    async with FleetLab(fleet) as lab:
        assert lab.ca is not None
        context = lab.ca.client_context()
        answers = []
        for tag in ("a1", "a2", "a3"):
            reader, writer = await asyncio.open_connection(lab.host, lab.servers["exchange"].port, ssl=context,
                                                           server_hostname=lab.host)  # fmt: skip
            await reader.readline()  # greeting
            payload = base64.b64encode(f"user={user}\x01auth=Bearer not-a-token\x01\x01".encode()).decode()
            writer.write(f"{tag} AUTHENTICATE XOAUTH2 {payload}\r\n".encode())
            await writer.drain()
            answers.append((await reader.readline()).decode().strip())
            writer.close()
    throttled = "NO Request is throttled. Suggested Backoff Time: 50 milliseconds"
    assert answers == [f"a1 {throttled}", f"a2 {throttled}", "a3 NO AUTHENTICATE failed."]
    assert user.endswith(TENANT_DOMAIN)
