"""The shortcut for the common XOAUTH2 payload (`sasl._plain_xoauth2`) gives what the full parser gives."""

from __future__ import annotations

from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailscope import sasl
from mailscope.sasl import parse_payload, xoauth2_payload

JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJl"
# Pieces that each touch a rule of the full parser: separators and their mistyped forms, field names in any case, schemes,
# quotes, whitespace, NUL, non-ASCII.
PIECES = [
    "a", "A", "u", "@", ".", "x", "1", "0", "=", " ", "\t", '"', "'", "^", "^A", "\\", "\\x01", "\\1", "\x01", "\x01A",
    "\0", "é", "auth=", "AUTH=", "Auth=", "user=", "host=", "Bearer ", "bearer ", "Bearer", "Basic ", JWT, "alice@contoso.com",
]  # fmt: skip
FIELD = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
MECHANISMS = st.sampled_from([None, "XOAUTH2", "xoauth2", "OAUTHBEARER", "PLAIN", "LOGIN"])


def _full(data: bytes, mechanism: str | None) -> sasl.SaslPayload:
    """`parse_payload` without the shortcut."""
    with mock.patch.object(sasl, "_plain_xoauth2", lambda text, mech: None):
        return parse_payload(data, mechanism)


@settings(max_examples=1500, deadline=None)
@example(head="user=", user="alice@contoso.com", middle="\x01auth=", value=f"Bearer {JWT}", tail="\x01\x01", mechanism="XOAUTH2")
@example(head="user=", user="a\x01", middle="Aauth=", value="Bearer x", tail="\x01\x01", mechanism=None)
@example(head="user=", user="xauth=", middle="\x01auth=", value="Bearer bearer x", tail="\x01\x01", mechanism="OAUTHBEARER")
@example(head="user=", user="", middle="\x01auth=", value="", tail="\x01\x01", mechanism="PLAIN")
@given(
    head=st.sampled_from(["user=", "USER=", "user", " user=", ""]),
    user=FIELD,
    middle=st.sampled_from(["\x01auth=", "\x01AUTH=", "\x01Aauth=", "^Aauth=", "auth=", "\x01auth", "\x01"]),
    value=FIELD,
    tail=st.sampled_from(["\x01\x01", "\x01", "", "^A^A", "\x01\x01 ", "\x01\x01\x01"]),
    mechanism=MECHANISMS,
)
def test_the_shortcut_gives_what_the_full_parser_gives(
    head: str, user: str, middle: str, value: str, tail: str, mechanism: str | None
) -> None:
    data = f"{head}{user}{middle}{value}{tail}".encode("utf-8", "surrogatepass")
    assert parse_payload(data, mechanism) == _full(data, mechanism)


ADDRESSES = st.from_regex(r"[a-z0-9._-]{1,20}@[a-z0-9-]{1,12}\.[a-z]{2,6}", fullmatch=True)
TOKENS = st.sampled_from([JWT, "ya29.a0AfH6SMB" + "x" * 150, "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA", "pw"])


@given(user=ADDRESSES, token=TOKENS)
def test_a_payload_as_clients_build_it_takes_the_shortcut(user: str, token: str) -> None:
    data = xoauth2_payload(user, token)
    shortcut = sasl._plain_xoauth2(data.decode(), "XOAUTH2")
    assert shortcut is not None
    assert shortcut == _full(data, "XOAUTH2") == parse_payload(data, "XOAUTH2")
    assert (shortcut.user, shortcut.token, shortcut.scheme) == (user, token, "Bearer")
