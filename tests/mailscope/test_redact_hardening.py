"""Issue 13's redaction gaps: bounded registration, hex and UTF-16LE spellings, two tokens from one issuer, passwords
seen on the wire registered, values under secret keys, cut tokens and cut SASL responses."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.fragments import MAX_WINDOWS, stride_for
from mailscope.redact import FRAGMENT, Redactor, describe_secret
from mailscope.secret import Secret, SecretKind
from tests.attacks import payloads
from tests.attacks.oracle import secret_pieces, spellings

TOKEN = payloads.jwt({"aud": "https://outlook.office.com", "iss": payloads.ISSUER, "upn": "alice@contoso.com"}, seed=3)
OTHER = payloads.jwt({"aud": "https://outlook.office.com", "iss": payloads.ISSUER, "upn": "bob@contoso.com"}, seed=4)


def _leaks(text: str, *secrets: str) -> list[str]:
    pieces = secret_pieces(secrets)
    return [text[i : i + 17] for i in range(len(text) - 16) if text[i : i + 17] in pieces]


@pytest.mark.parametrize("spelling", range(len(spellings(TOKEN))))
def test_every_spelling_of_a_registered_token_is_removed(spelling: int) -> None:
    redactor = Redactor([Secret(SecretKind.ACCESS_TOKEN, TOKEN)])
    form = spellings(TOKEN)[spelling]
    for text in (f"* OK {form}", f"* OK x{form}y", f"* OK {form[:40]}", f"{form[-40:]} tail"):
        assert _leaks(redactor.redact_line(text), TOKEN) == []


def test_hex_and_utf16_echoes_of_a_password_are_removed() -> None:
    password = "correct horse battery staple"
    redactor = Redactor([Secret(SecretKind.PASSWORD, password)])
    for form in (password.encode().hex(), password.encode().hex().upper(), base64.b64encode(password.encode("utf-16-le")).decode()):
        assert _leaks(redactor.redact_line(f"* OK {form}"), password) == []


def test_a_second_token_from_the_same_issuer_is_redacted_whole() -> None:
    redactor = Redactor([Secret(SecretKind.ACCESS_TOKEN, TOKEN)])
    assert TOKEN[:60] == OTHER[:60]  # shared header and claim prefix
    for text in (f"Authorization: Bearer {OTHER}", f"* OK {OTHER} end", base64.b64encode(f"auth=Bearer {OTHER}".encode()).decode()):
        out = redactor.redact_line(text)
        assert _leaks(out, OTHER) == [] and "fragment of" not in out, out


@given(st.integers(0, 2000), st.integers(16, 120), st.sampled_from(range(14)))
@settings(max_examples=60, deadline=None)
def test_any_piece_of_fragment_length_is_found(start: int, size: int, spelling: int) -> None:
    redactor = Redactor([Secret(SecretKind.ACCESS_TOKEN, TOKEN)])
    form = spellings(TOKEN)[spelling]
    piece = form[start % max(1, len(form) - size) :][:size]
    if len(piece) < FRAGMENT or len(piece) < 17:
        return
    assert _leaks(redactor.redact_line(f"noise {piece} noise"), TOKEN) == []


def test_registration_cost_is_bounded() -> None:
    """A 4 MB token: the index holds at most MAX_WINDOWS windows per spelling, and its stored spellings are only raw
    and base64 (6 + 1 of them): a few bytes per byte, where fragment sets took 1.45 KB per byte."""
    token = base64.urlsafe_b64encode(random.Random(5).randbytes(3 * 1024 * 1024)).decode()
    redactor = Redactor()
    redactor.register(token)
    fragments = redactor._secrets.fragments
    stored = sum(len(index._haystack) + len(index.windows) * index.windows.itemsize for index in fragments._indexes.values())
    assert stored < 12 * len(token)
    assert all(len(index.windows) <= 7 * MAX_WINDOWS for index in fragments._indexes.values())
    piece = token[100_000:101_000]
    out = redactor.redact_line("* OK " + piece)
    assert not any(piece[i : i + 17] in out for i in range(len(piece) - 16)), out[:100]


def test_stride_keeps_every_piece_of_the_fragment_length_findable() -> None:
    for length in (8, 16, 17, 31, 64):
        stride = stride_for(length)
        assert stride % 2 == 1 and 4 * stride + 3 <= length


@pytest.mark.parametrize(
    ("first", "echo"),
    [
        ('a1 LOGIN alice "correct horse battery"', "* OK correct horse battery"),
        ("PASS correct-horse-battery", "-ERR correct-horse-battery is wrong"),
        ("C: a1 AUTHENTICATE PLAIN " + base64.b64encode(b"\0alice\0correct horse battery").decode(), "* BAD correct horse battery"),
        ("password=correct-horse-battery&user=alice", "* OK correct-horse-battery"),
    ],
)
def test_a_password_seen_on_the_wire_is_registered_so_its_echo_is_redacted(first: str, echo: str) -> None:
    redactor = Redactor()
    redactor.redact_line(first)
    out = redactor.redact_line(echo)
    assert "horse" not in out and ("<password" in out or "<secret" in out), out


def test_smtp_auth_login_password_answer_is_registered() -> None:
    redactor = Redactor()
    for line in ("C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: " + base64.b64encode(b"alice").decode(), "S: 334 UGFzc3dvcmQ6",
                 "C: " + base64.b64encode(b"hunter2-battery").decode()):  # fmt: skip
        redactor.redact_line(line)
    assert "hunter2" not in redactor.redact_line("S: 535 hunter2-battery rejected")


def test_a_value_under_a_secret_key_is_described_and_registered_whatever_it_looks_like() -> None:
    redactor = Redactor()
    assert redactor.redact_fact("password", "correct horse battery staple").startswith("<password 28 chars")
    assert "horse" not in redactor.redact("IMAPS: login, password=correct horse battery staple")
    assert redactor.redact_fact("password", "<non-null>") == "<non-null>"
    assert redactor.redact_fact("user", "alice@contoso.com") == "alice@contoso.com"


def test_a_jwt_cut_after_its_payload_or_in_its_header_is_a_token() -> None:
    header, payload, _ = TOKEN.split(".")
    redactor = Redactor()
    assert _leaks(redactor.redact(f"exception: {header}.{payload}"), TOKEN) == []
    assert _leaks(redactor.redact(f"exception: {header}.{payload[:30]}"), TOKEN) == []
    assert _leaks(Redactor().redact_line(f"C: x {header[:40]} [line cut by mailscope: too long]"), TOKEN) == []


def test_a_cut_sasl_response_registers_no_prefix_of_the_token() -> None:
    redactor = Redactor()
    response = base64.b64encode(f"user=alice@contoso.com\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()
    cut = response[: len(response) // 2 // 4 * 4]
    redactor.describe_sasl(cut, "XOAUTH2")
    out = redactor.redact_line(f"* OK {TOKEN}")
    assert "fragment" not in out and out.startswith("* OK <jwt "), out


# A password typed in Latin-1 and read from a log or an environment variable: its bytes that are not UTF-8 arrive as
# lone surrogates (surrogateescape). Registration once failed on them (half-registered: every later redaction raised).
LATIN1_PASSWORD = b"p\xe9ssw\xf6rd-\xff-latin1".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    "spelled",
    [
        pytest.param(lambda p: f"C: a1 LOGIN alice {p}", id="raw"),
        pytest.param(lambda p: f'C: a1 LOGIN alice "{p}" (quoted)', id="quoted"),
        pytest.param(lambda p: "AUTHENTICATE PLAIN " + base64.b64encode(b"\0alice\0" + p.encode("utf-8", "surrogateescape")).decode(),
                     id="base64-of-the-original-bytes"),
        pytest.param(lambda p: "password=p%E9ssw%F6rd-%FF-latin1&user=alice", id="url-encoded-bytes"),
        pytest.param(lambda p: f"é ü {p[2:]} ö", id="piece-among-other-non-ascii"),
    ],
)
def test_a_secret_with_bytes_that_are_not_utf8_is_registered_and_removed(spelled) -> None:  # noqa: ANN001 - a lambda
    redactor = Redactor()
    redactor.register(Secret(SecretKind.PASSWORD, LATIN1_PASSWORD))
    text = spelled(LATIN1_PASSWORD)
    out = redactor.redact(text)
    assert "<password" in out or "<fragment of password" in out, out
    for piece in ("latin1", "rd-", "\\xe9ss", "%F6rd", "AHDp"):  # AHDp: base64 of "\\0p\\xe9"
        assert piece not in out, out
    assert out.isascii() or "é ü" in out  # nothing of the secret's own bytes left, the text around it kept


def test_a_lone_surrogate_that_is_no_byte_is_registered_too() -> None:
    value = "token-\ud800-with-a-json-escape"  # what json.loads makes of a "\\ud800" escape
    redactor = Redactor()
    redactor.register(value)
    assert redactor.redact(f"x {value} y") == f"x {describe_secret(value)} y"


@pytest.mark.parametrize(
    "text",
    [
        "A1 LOGIN alice hunter2x-pw\nA2 LOGIN alice hunter2x-pw",  # a bare LF inside one wire line (a hostile echo)
        "hunter2x-pw was typed before: A7 LOGIN alice hunter2x-pw",
        "S: * BAD echo hunter2x-pw\r\nA3 LOGIN alice hunter2x-pw",
    ],
)
@pytest.mark.parametrize("method", ["redact", "redact_line"])
def test_a_password_learnt_from_a_text_is_cut_out_of_all_of_it(text: str, method: str) -> None:
    """The password is learnt where the LOGIN pattern matches; an earlier spelling in the same text goes too, and a fresh
    redactor that knows the password already gives the same answer."""
    shown = getattr(Redactor(), method)(text)
    assert "hunter2x-pw" not in shown and shown.count("<password 11 chars") == text.count("hunter2x-pw")
    knowing = Redactor([Secret(SecretKind.PASSWORD, "hunter2x-pw")])
    assert getattr(knowing, method)(text) == shown
