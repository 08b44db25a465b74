"""Sans-IO properties of the redactor, with many more examples than the socket-level property test:
registered secrets vanish in every form and every split from any surrounding text; the output never
carries a terminal control; redacting twice changes nothing."""

from __future__ import annotations

import base64
import re
import unicodedata
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.redact import _URL_LOWER, _URL_PLUS, Redactor, _is_plain_word, _url_encoded, escape_controls, fragment_length
from mailscope.secret import Secret, SecretKind, secret_bytes

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
secrets = st.one_of(
    st.text(TOKEN_ALPHABET, min_size=20, max_size=300),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40).filter(
        lambda s: any(c.isdigit() for c in s) and not s.isalnum()
    ),
)
# Surrounding text that cannot itself spell a fragment: IMAP-ish words plus spaces and brackets.
noise = st.lists(st.sampled_from(["* OK", "A1", "NO", "[ALERT]", "echo", "(", ")", " ", ":", "\t"]), max_size=6).map(" ".join)


def _stable_base64(data: bytes, offset: int, urlsafe: bool) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(b"\0" * offset + data).decode()
    return encoded[-(-offset * 8 // 6) : (offset + len(data)) * 8 // 6]


def _forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, urllib.parse.quote(secret, safe="")] + [
        _stable_base64(raw, offset, urlsafe) for offset in range(3) for urlsafe in (False, True)
    ]


def _assert_no_fragment(secret: str, text: str) -> None:
    length = fragment_length(secret)
    for form in _forms(secret):
        for i in range(len(form) - length + 1):
            run = form[i : i + length]
            assert _is_plain_word(run) or run not in text, (run, text)  # a protocol word (or its base64) stays readable


@settings(max_examples=300, deadline=None)
@given(secret=secrets, before=noise, after=noise, prefix=st.binary(max_size=4), cut=st.integers(min_value=1))
def test_registered_secret_vanishes_from_any_embedding(secret: str, before: str, after: str, prefix: bytes, cut: int) -> None:
    r = Redactor()
    r.register(Secret(SecretKind.ACCESS_TOKEN, secret))
    raw = secret.encode()
    embedded = [
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(prefix + raw).decode(),
        base64.urlsafe_b64encode(prefix + raw + b"\x01\x01").decode(),
    ]
    for form in embedded:
        point = cut % len(form)
        lines = [f"{before}{form}{after}", f"{before}{form[:point]}", f"{form[point:]}{after}"]
        for line in lines:
            _assert_no_fragment(secret, r.redact_line(line))


printable_or_not = st.text(st.characters(codec="utf-8"), max_size=200)


@settings(max_examples=300, deadline=None)
@given(text=printable_or_not)
def test_output_never_carries_a_terminal_control(text: str) -> None:
    out = Redactor().redact_line(text)
    for char in out:
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs") or char == "\t", repr(char)
        assert char not in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_become_printable_text(data: bytes) -> None:
    out = Redactor().redact_bytes(data)
    assert all(unicodedata.category(c) not in ("Cc", "Cs") or c == "\t" for c in out)


@settings(max_examples=200, deadline=None)
@given(text=printable_or_not, secret=secrets)
def test_redaction_is_idempotent(text: str, secret: str) -> None:
    r = Redactor()
    r.register(secret)
    once = r.redact(text + " " + secret)
    assert r.redact(once) == once


# Passwords as logs and environment variables carry them: any letters, and bytes that are not UTF-8 as lone
# surrogates (surrogateescape). Registration once raised on those, leaving the redactor half-registered.
NOT_UTF8_BYTES = st.sampled_from([chr(code) for code in range(0xDC80, 0xDD00)])
any_passwords = st.text(
    st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E), st.characters(min_codepoint=0xA1, max_codepoint=0x2FF),
              NOT_UTF8_BYTES),
    min_size=8,
    max_size=40,
).filter(lambda s: any(c.isdigit() for c in s))


@settings(max_examples=300, deadline=None)
@given(password=any_passwords, before=noise, after=noise, prefix=st.binary(max_size=4))
def test_a_password_of_any_characters_or_bytes_registers_and_vanishes(password: str, before: str, after: str, prefix: bytes) -> None:
    r = Redactor()
    r.register(Secret(SecretKind.PASSWORD, password))
    raw = secret_bytes(password)
    out = r.redact(f"{before} {password} {after}")
    assert escape_controls(password) not in out and "<password" in out
    encoded = r.redact(f"{before} {base64.b64encode(prefix + raw).decode()} {after}")
    offset = len(prefix) % 3
    middle = _stable_base64(raw, offset, urlsafe=False)
    assert len(middle) < fragment_length(password) or middle not in encoded


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80) | st.text(max_size=40).map(lambda s: s.encode()))
def test_url_spellings_are_urllibs(data: bytes) -> None:
    """The redactor spells a secret URL-encoded with its own tables (urllib.parse costs start-up time): the same text."""
    quoted = urllib.parse.quote(data, safe="")
    assert _url_encoded(data) == quoted
    assert _url_encoded(data, _URL_PLUS) == urllib.parse.quote_plus(data)
    assert _url_encoded(data, _URL_LOWER) == re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quoted)
