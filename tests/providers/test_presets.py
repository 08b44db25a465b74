"""providers.presets.provider_for_host: the host-to-provider table, and its memory per host (an audit's diagnosis asks it
about the same few hosts for every mailbox) answering exactly as the table does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.presets import provider_for_host

HOSTS = [
    "outlook.office365.com",
    "OUTLOOK.OFFICE365.COM.",
    "smtp.office365.us",
    "partner.outlook.cn",
    "imap.gmail.com",
    "smtp.googlemail.com",
    "127.0.0.1",
    "",
    "mail.example.net",
    "notgmail.com.evil",
    "xoutlook.com",
]


@pytest.mark.parametrize(
    ("host", "answer"),
    [
        ("outlook.office365.com", ("microsoft", "global")),
        ("OUTLOOK.OFFICE365.COM.", ("microsoft", "global")),
        ("outlook.office365.us", ("microsoft", "usgov")),
        ("partner.outlook.cn", ("microsoft", "china")),
        ("imap.gmail.com", ("google", "")),
        ("127.0.0.1", ("generic", "")),
        ("", ("generic", "")),
    ],
)
def test_hosts_map_to_their_provider_and_cloud(host: str, answer: tuple[str, str]) -> None:
    assert provider_for_host(host) == answer


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(HOSTS), st.text(max_size=30)), max_size=20))
def test_the_remembered_answer_is_the_tables(hosts: list[str]) -> None:
    for host in hosts * 2:  # each host asked twice: the second answer comes from memory
        assert provider_for_host(host) == provider_for_host.__wrapped__(host)
