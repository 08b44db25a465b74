"""SASL builders and the defect parser: every variant of the catalogue's `xoauth2_string_malformed`
and `oauthbearer_payload_wrong_format`, checked by machine code and message."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailscope import sasl
from mailscope.sasl import DEFECTS, decode_challenge, oauthbearer_payload, parse_payload, parse_response, plain_payload, xoauth2_payload

TOKEN = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"  # the MS Learn example token
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJl"
MS_DOC = f"user=test@contoso.onmicrosoft.com\x01auth=Bearer {TOKEN}\x01\x01"


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def test_builders_match_the_documented_formats() -> None:
    assert xoauth2_payload("test@contoso.onmicrosoft.com", TOKEN).decode() == MS_DOC
    assert oauthbearer_payload("a,b=c@x.com", TOKEN, "imap.example.com", 993).decode() == (
        f"n,a=a=2Cb=3Dc@x.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer {TOKEN}\x01\x01"
    )
    assert plain_payload("alice", "pw", "admin") == b"admin\0alice\0pw"
    assert sasl.b64(b"user=") == "dXNlcj0="


def test_well_formed_payloads_have_no_defects() -> None:
    xo = parse_response(b64(MS_DOC), "XOAUTH2")
    assert (xo.kind, xo.user, xo.token, xo.scheme, xo.codes, xo.defects) == (
        "xoauth2",
        "test@contoso.onmicrosoft.com",
        TOKEN,
        "Bearer",
        [],
        [],
    )
    ob = parse_response(b64(oauthbearer_payload("a,b=c@x.com", JWT, "imap.gmail.com", 993)), "OAUTHBEARER")
    assert (ob.kind, ob.user, ob.token, ob.fields, ob.codes) == (
        "oauthbearer",
        "a,b=c@x.com",
        JWT,
        {"host": "imap.gmail.com", "port": "993"},
        [],
    )
    plain = parse_response(b64(plain_payload("alice@x.com", "pw")), "PLAIN")
    assert (plain.kind, plain.user, plain.password, plain.codes) == ("plain", "alice@x.com", "pw", [])


# (id, what the client sent on the wire, mechanism, expected codes in order)
MALFORMED = [
    ("missing separators", b64(f"user=test@contoso.com auth=Bearer {TOKEN}"), "XOAUTH2", ["missing_separators", "missing_terminator"]),
    (
        "separators invisible (imapsync #250)",
        b64(f"user=test@contoso.comauth=Bearer {TOKEN}"),
        "XOAUTH2",
        ["missing_separators", "missing_terminator"],
    ),
    ("stray A (node-imap #865)", b64(f"user=test@contoso.com\x01Aauth=Bearer {TOKEN}\x01\x01"), "XOAUTH2", ["stray_a_after_separator"]),
    ("literal ^A", b64(f"user=test@contoso.com^Aauth=Bearer {TOKEN}^A^A"), "XOAUTH2", ["literal_caret_a"]),
    ("written \\x01", b64(f"user=test@contoso.com\\x01auth=Bearer {TOKEN}\\x01\\x01"), "XOAUTH2", ["escaped_separator"]),
    ("missing terminator", b64(f"user=test@contoso.com\x01auth=Bearer {TOKEN}"), "XOAUTH2", ["missing_terminator"]),
    ("single terminator", b64(f"user=test@contoso.com\x01auth=Bearer {TOKEN}\x01"), "XOAUTH2", ["missing_terminator"]),
    ("missing Bearer", b64(f"user=test@contoso.com\x01auth={TOKEN}\x01\x01"), "XOAUTH2", ["missing_bearer"]),
    (
        "lower-case bearer (works on Exchange)",
        b64(f"user=jonjon@bellred.org\x01auth=bearer {JWT}\x01\x01"),
        "XOAUTH2",
        ["lowercase_bearer"],
    ),
    ("other scheme", b64(f"user=a@b.com\x01auth=MAC {TOKEN}\x01\x01"), "XOAUTH2", ["wrong_scheme"]),
    ("Bearer twice", b64(f"user=a@b.com\x01auth=Bearer Bearer {TOKEN}\x01\x01"), "XOAUTH2", ["bearer_twice"]),
    ("empty token", b64("user=a@b.com\x01auth=Bearer \x01\x01"), "XOAUTH2", ["empty_token"]),
    ("quoted token", b64(f'user=a@b.com\x01auth=Bearer "{TOKEN}"\x01\x01'), "XOAUTH2", ["token_quoted"]),
    ("token with newline", b64(f"user=a@b.com\x01auth=Bearer {TOKEN[:20]}\n{TOKEN[20:]}\x01\x01"), "XOAUTH2", ["token_whitespace"]),
    ("raw token, not wrapped", b64(TOKEN), "XOAUTH2", ["raw_token"]),
    ("raw jwt without base64", JWT, "XOAUTH2", ["raw_token"]),
    ("raw opaque token", "ya29.a0AfB_byC1x2Y3z4W5v6U7t8S9r0Q", "XOAUTH2", ["raw_token"]),
    ("auth string not base64", MS_DOC, "XOAUTH2", ["not_base64"]),
    ("double base64", b64(b64(MS_DOC)), "XOAUTH2", ["double_base64"]),
    ("base64 split across lines", b64(MS_DOC)[:40] + "\r\n" + b64(MS_DOC)[40:], "XOAUTH2", ["base64_whitespace"]),
    ("base64 with spaces", " ".join(b64(MS_DOC)[i : i + 16] for i in range(0, len(b64(MS_DOC)), 16)), "XOAUTH2", ["base64_whitespace"]),
    ("base64 padding stripped", b64(MS_DOC + "x").rstrip("="), "XOAUTH2", ["base64_padding", "missing_terminator"]),
    ("urlsafe base64", base64.urlsafe_b64encode(f"user=a@b.com\x01auth=Bearer {JWT}?>\x01\x01".encode()).decode(), "XOAUTH2", []),
    ("empty user", b64(f"user=\x01auth=Bearer {TOKEN}\x01\x01"), "XOAUTH2", ["empty_user"]),
    ("user not an address", b64(f"user=alice\x01auth=Bearer {TOKEN}\x01\x01"), "XOAUTH2", ["user_not_address"]),
    ("no user field", b64(f"auth=Bearer {TOKEN}\x01\x01"), "XOAUTH2", ["missing_user"]),
    ("no auth field", b64("user=a@b.com\x01\x01"), "XOAUTH2", ["missing_auth"]),
    (
        "XOAUTH2 payload sent as OAUTHBEARER (curl #2487)",
        b64(f"user=a@b.com\x01host=imap.gmail.com\x01port=993\x01auth=Bearer {TOKEN}\x01\x01"),
        "OAUTHBEARER",
        ["xoauth2_sent_as_oauthbearer"],
    ),
    ("OAUTHBEARER payload sent as XOAUTH2", b64(oauthbearer_payload("a@b.com", TOKEN, "h", 1)), "XOAUTH2", ["oauthbearer_sent_as_xoauth2"]),
    ("GS2 header malformed", b64(f"n,user=a@b.com\x01auth=Bearer {TOKEN}\x01\x01"), "OAUTHBEARER", ["gs2_header_malformed"]),
    ("GS2 header without user", b64(f"n,,\x01auth=Bearer {TOKEN}\x01\x01"), "OAUTHBEARER", ["gs2_user_missing"]),
    ("token as PLAIN password", b64(plain_payload("a@b.com", JWT)), "PLAIN", ["plain_password_is_token"]),
    ("PLAIN with one NUL", b64("alice\0pw"), "PLAIN", ["plain_malformed"]),
    ("PLAIN payload sent as XOAUTH2", b64(plain_payload("a@b.com", "pw")), "XOAUTH2", ["plain_payload_for_oauth_mechanism"]),
    ("XOAUTH2 payload sent as PLAIN", b64(MS_DOC), "PLAIN", ["oauth_payload_for_password_mechanism"]),
    ("garbage", "hello world, not sasl", "XOAUTH2", ["unknown_payload"]),
    ("binary", b64(b"\x89PNG\r\n\x1a\n..."), "PLAIN", ["unknown_payload"]),
]


@pytest.mark.parametrize(("sent", "mechanism", "codes"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_defects(sent: str, mechanism: str, codes: list[str]) -> None:
    payload = parse_response(sent, mechanism)
    if codes == []:
        assert "base64_urlsafe" in payload.codes  # urlsafe: one defect, then a readable payload
        assert payload.user == "a@b.com" and payload.token == JWT + "?>"
        return
    assert payload.codes == codes
    assert payload.defects == [DEFECTS[code] for code in codes]


@pytest.mark.parametrize(("sent", "mechanism"), [m[1:3] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_defect_messages_and_repr_never_hold_the_secret(sent: str, mechanism: str) -> None:
    payload = parse_response(sent, mechanism)
    for secret in (TOKEN, JWT, "ya29.a0AfB_byC1x2Y3z4W5v6U7t8S9r0Q"):
        assert all(secret not in message for message in payload.defects)
        assert secret not in repr(payload)


def test_malformed_payloads_still_expose_their_fields() -> None:
    stray = parse_response(b64(f"user=test@contoso.com\x01Aauth=Bearer {TOKEN}\x01\x01"), "XOAUTH2")
    assert (stray.user, stray.token, stray.scheme) == ("test@contoso.com", TOKEN, "Bearer")
    caret = parse_response(b64(f"user=test@contoso.com^Aauth=Bearer {TOKEN}^A^A"), "XOAUTH2")
    assert (caret.user, caret.token) == ("test@contoso.com", TOKEN)
    double = parse_response(b64(b64(MS_DOC)), "XOAUTH2")
    assert (double.kind, double.user, double.token) == ("xoauth2", "test@contoso.onmicrosoft.com", TOKEN)
    lower = parse_response(b64(f"user=jonjon@bellred.org\x01auth=bearer {JWT}\x01\x01"), "XOAUTH2")
    assert (lower.scheme, lower.token) == ("bearer", JWT)
    split = parse_response(b64(MS_DOC)[:40] + "\r\n" + b64(MS_DOC)[40:], "XOAUTH2")
    assert (split.user, split.token) == ("test@contoso.onmicrosoft.com", TOKEN)


def test_every_defect_code_has_a_message_and_codes_parallel_messages() -> None:
    assert all(code.isidentifier() and message for code, message in DEFECTS.items())
    payload = parse_payload(f"user=\x01auth={TOKEN}".encode(), "OAUTHBEARER")
    assert payload.codes == ["xoauth2_sent_as_oauthbearer", "missing_terminator", "empty_user", "missing_bearer"]
    assert payload.defects == [DEFECTS[c] for c in payload.codes]


def test_describe_payload_keeps_structure_and_hides_the_secret() -> None:
    def hide(value: str, kind: str | None = None) -> str:
        return f"<{kind or 'token'} {len(value)}>"

    assert sasl.describe_payload(parse_response(b64(MS_DOC)), hide) == "user=test@contoso.onmicrosoft.com ^A auth=Bearer <token 40> ^A^A"
    ob = parse_response(b64(oauthbearer_payload("a@b.com", TOKEN, "h", 1)))
    assert sasl.describe_payload(ob, hide) == "n,a=a@b.com, ^A host=h ^A port=1 ^A auth=Bearer <token 40> ^A^A"
    assert sasl.describe_payload(parse_response(b64(plain_payload("u", "pw"))), hide) == "authzid= user=u password=<password 2>"
    assert sasl.describe_payload(parse_response(TOKEN, "XOAUTH2"), hide) == "raw token <token 40>"


@pytest.mark.parametrize(
    ("challenge", "decoded_json"),
    [
        (
            "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
            {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"},
        ),
        (
            "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1w"
            "bGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWcifQ==",
            {"status": "invalid_token", "scope": "example_scope", "openid-configuration": "https://example.com/.well-known/openid-config"},
        ),
    ],
    ids=["gmail", "rfc7628"],
)
def test_decode_challenge(challenge: str, decoded_json: dict[str, str]) -> None:
    assert decode_challenge(challenge)[1] == decoded_json


def test_decode_challenge_tolerates_non_json_and_non_base64() -> None:
    assert decode_challenge("VXNlcm5hbWU6") == ("Username:", None)
    assert decode_challenge("not base64!") == ("not base64!", None)
    assert decode_challenge(b64("[1, 2]")) == ("[1, 2]", None)


def test_b64decode_strict_rejects_whitespace_and_bad_length() -> None:
    assert sasl.b64decode_strict("dXNl cj0=") is None
    assert sasl.b64decode_strict("dXNlcj0") is None
    assert sasl.b64decode_strict(b" dXNlcj0= ") == b"user="


def test_token_put_in_the_user_field_is_not_shown() -> None:
    def hide(value: str, kind: str | None = None) -> str:
        return f"<{kind or 'token'} {len(value)}>"

    opaque = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVk"
    payload = parse_response(b64(f"user={opaque}\x01\x01"), "XOAUTH2")
    assert opaque not in sasl.describe_payload(payload, hide)
    assert "user=<token-like user 56>" in sasl.describe_payload(payload, hide)


_OLD_B64_RE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


def _b64decode_with_regex(text: str) -> bytes | None:
    """b64decode_strict as it was: our own alphabet regex before the strict decoder (the shortcut must agree with it)."""
    raw = text.encode("ascii", "replace").strip()
    if not raw or len(raw) % 4 or not _OLD_B64_RE.match(raw):
        return None
    return base64.b64decode(raw, validate=True)


@given(st.text(alphabet="AZaz09+/=-_ \t\n\r\0é", max_size=14))
def test_strict_base64_needs_no_regex_before_the_strict_decoder(text: str) -> None:
    assert sasl.b64decode_strict(text) == _b64decode_with_regex(text)


@given(st.text(alphabet=st.sampled_from("aZ9.-_ \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000é\0"), max_size=12))
def test_whitespace_test_is_what_regex_backslash_s_finds(text: str) -> None:
    assert sasl._has_whitespace(text) is (re.search(r"\s", text) is not None)


def test_a_shared_token_is_described_once_and_exactly_as_described_alone() -> None:
    from mailscope.redact import describe_secret

    calls: list[str] = []

    def counting(value: str, kind: str | None = None) -> str:
        calls.append(value)
        return describe_secret(value, kind)

    other = JWT.replace("c2lnbmF0dXJl", "b3RoZXJzaWc")
    first, second = (parse_response(b64(xoauth2_payload(user, JWT)), "XOAUTH2") for user in ("a@contoso.com", "b@contoso.com"))
    assert sasl.describe_payload(first, counting) == f"user=a@contoso.com ^A auth=Bearer {describe_secret(JWT)} ^A^A"
    assert sasl.describe_payload(second, counting) == f"user=b@contoso.com ^A auth=Bearer {describe_secret(JWT)} ^A^A"
    assert calls == [JWT]  # the second session's copy of the token: remembered
    changed = parse_response(b64(xoauth2_payload("a@contoso.com", other)), "XOAUTH2")
    assert sasl.describe_payload(changed, counting) == f"user=a@contoso.com ^A auth=Bearer {describe_secret(other)} ^A^A"
    assert sasl.describe_payload(first, lambda value, kind=None: "<hidden>") == "user=a@contoso.com ^A auth=Bearer <hidden> ^A^A"
    assert calls == [JWT, other]  # another token, another describer: described anew


@settings(max_examples=500, deadline=None)
@example(data=b"user=a@b.c\x01auth=Bearer x\x01\x01")
@example(data=b"\x00alice\x00pw\x7f")
@example(data=b"caf\xc3\xa9\x01\x1b")
@example(data=b"\xff\xfe")
@given(data=st.binary(max_size=40) | st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_a_payload_is_text_as_the_text_pattern_says(data: bytes) -> None:
    """ASCII payloads are looked at as bytes; the answer is the pattern's over the decoded text."""
    text = data.decode("utf-8", "surrogateescape")
    assert sasl._is_text(data, text) == (sasl._TEXT_RE().fullmatch(text) is not None)
