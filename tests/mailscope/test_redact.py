"""Redaction: registered secrets in every form, the catch-all, what must stay visible, control escaping."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse

import pytest

from mailscope import redact
from mailscope.redact import FRAGMENT, SHORT_FRAGMENT, Redactor, describe_secret, escape_controls, fragment_length, token_shape
from mailscope.sasl import oauthbearer_payload, plain_payload, xoauth2_payload
from mailscope.secret import Secret, SecretKind, fingerprint


def _b64url(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def ms_jwt(pad: int = 0) -> str:
    """A realistic Exchange Online v1 access token (claims from the catalogue), fake signature."""
    claims = {
        "x": "a" * pad,
        "aud": "https://outlook.office365.com",
        "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
        "ver": "1.0",
        "scp": "IMAP.AccessAsUser.All SMTP.Send",
        "upn": "alice@contoso.com",
    }
    return _b64url({"typ": "JWT", "alg": "RS256"}) + "." + _b64url(claims) + "." + "Qx7-Kp_9" * 43


JWT = ms_jwt()
MS_DOC_TOKEN = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"  # MS Learn example (catalogue §0.8)
GOOGLE_TOKEN = "ya29.a0AfB_byC1x2Y3z4W5v6U7t8S9r0Q-abcdefghijklmnopqrstuvwxyz0123456789"
PASSWORD = "correct horse 9 battery"
GMAIL_CHALLENGE = "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
EXCHANGE_GREETING = "* OK The Microsoft Exchange IMAP4 service is ready. [QWxhZGRpbjpvcGVuIHNlc2FtZQ==]"
EXCHANGE_GREETING_REAL = (
    "* OK The Microsoft Exchange IMAP4 service is ready. "
    "[TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]"
)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def assert_gone(text: str, secret: str, *, fragment: int | None = None) -> None:
    """Neither the secret nor any run of `fragment` of its characters is in `text`."""
    assert secret not in text
    length = fragment or fragment_length(secret)
    for i in range(len(secret) - length + 1):
        assert secret[i : i + length] not in text, f"fragment {i} of the secret survived"


# -- registered secrets -------------------------------------------------------------------------------


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor([Secret(SecretKind.ACCESS_TOKEN, JWT), Secret(SecretKind.ACCESS_TOKEN, MS_DOC_TOKEN)])
    r.register(Secret(SecretKind.PASSWORD, PASSWORD))
    return r


def _encodings(value: str) -> dict[str, str]:
    """The forms a secret takes when a server or log echoes it, embedded at every base64 alignment."""
    forms = {
        "raw": value,
        "url": urllib.parse.quote(value, safe=""),
        "url plus": urllib.parse.quote_plus(value),
        "url lower hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(value, safe="")),
        "json": json.dumps(value)[1:-1],
        "imap quoted": value.replace("\\", "\\\\").replace('"', '\\"'),
    }
    for prefix in ("", "x", "xy", "user=alice@contoso.com\x01auth=Bearer "):
        forms[f"base64 after {len(prefix)} bytes"] = b64(prefix + value + "\x01\x01")
        forms[f"urlsafe base64 after {len(prefix)} bytes"] = base64.urlsafe_b64encode((prefix + value).encode()).decode()
    return forms


@pytest.mark.parametrize("secret", [JWT, MS_DOC_TOKEN, PASSWORD], ids=["jwt", "msa", "password"])
def test_registered_secret_removed_in_every_form(redactor: Redactor, secret: str) -> None:
    for name, form in _encodings(secret).items():
        out = redactor.redact(f"* 1 FETCH (BODY[] {{10}} {form} tail)")
        assert_gone(out, secret)
        assert form not in out, name
        assert "tail" in out


@pytest.mark.parametrize("secret", [JWT, MS_DOC_TOKEN, PASSWORD], ids=["jwt", "msa", "password"])
def test_secret_split_across_two_lines_leaves_no_fragment(redactor: Redactor, secret: str) -> None:
    length = fragment_length(secret)
    for cut in range(1, len(secret), 7):
        first, second = redactor.redact_line("* OK " + secret[:cut]), redactor.redact_line(secret[cut:] + " done")
        for text in (first, second):
            for i in range(len(secret) - length + 1):
                assert secret[i : i + length] not in text


def test_mime_wrapped_base64_of_a_token_leaves_no_fragment(redactor: Redactor) -> None:
    encoded = b64(f"user=alice@contoso.com\x01auth=Bearer {JWT}\x01\x01")
    lines = [redactor.redact_line(encoded[i : i + 76]) for i in range(0, len(encoded), 76)]
    stable = redact._stable_base64(base64.b64encode, JWT.encode(), (len("user=alice@contoso.com\x01auth=Bearer ")) % 3)
    for line in lines:
        for i in range(len(stable) - FRAGMENT + 1):
            assert stable[i : i + FRAGMENT] not in line


def test_fragment_lengths_are_documented_minimums() -> None:
    assert fragment_length("x" * 40) == FRAGMENT == 16
    assert fragment_length("hunter2!") == SHORT_FRAGMENT == 8


def test_short_password_is_matched_exactly_in_all_forms() -> None:
    r = Redactor()
    r.register(Secret(SecretKind.PASSWORD, "pw5!x"))
    for form in ("pw5!x", urllib.parse.quote("pw5!x"), b64("\0alice\0pw5!x"), b64("xpw5!x")):
        out = r.redact(f"A1 something {form} end")
        assert "pw5!x" not in out and form not in out


def test_redaction_shows_kind_length_and_fingerprint(redactor: Redactor) -> None:
    out = redactor.redact(f"token {JWT} here")
    assert out == f"token <jwt {len(JWT)} chars {fingerprint(JWT)}> here"
    assert fingerprint(JWT).startswith("sha256:") and len(fingerprint(JWT)) == len("sha256:") + 8
    assert redactor.redact(f"pw {PASSWORD}") == f"pw <password {len(PASSWORD)} chars {fingerprint(PASSWORD)}>"


def test_registering_a_plain_string_and_empty_value() -> None:
    r = Redactor()
    r.register("")
    assert not r.has_secrets
    r.register("opaque-token-0123456789abcdef")
    assert r.has_secrets and "opaque-token" not in r.redact("x opaque-token-0123456789abcdef y")


@pytest.mark.parametrize("pad", range(12))
def test_registered_jwt_never_eats_the_gmail_challenge(pad: int) -> None:
    """Why FRAGMENT is 16: base64 JSON shares ~14-character runs (`":"https://`) between every
    Microsoft JWT and Gmail's error challenge; shorter fragments corrupted 8 of these 12 tokens."""
    r = Redactor([Secret(SecretKind.ACCESS_TOKEN, ms_jwt(pad))])
    assert r.redact_line(GMAIL_CHALLENGE) == GMAIL_CHALLENGE


# -- the catch-all (nothing registered) --------------------------------------------------------------

XOAUTH2_B64 = b64(xoauth2_payload("alice@contoso.com", JWT))
MS_DOC_XOAUTH2 = "user=test@contoso.onmicrosoft.com\x01auth=Bearer EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\x01\x01"

CATCH_ALL = [
    # (id, line, secret that must go, text that must stay)
    ("sasl-ir xoauth2", f"A2 AUTHENTICATE XOAUTH2 {XOAUTH2_B64}", JWT, "user=alice@contoso.com ^A auth=Bearer <jwt "),
    ("ms doc example", f"A2 AUTHENTICATE XOAUTH2 {b64(MS_DOC_XOAUTH2)}", MS_DOC_TOKEN, "user=test@contoso.onmicrosoft.com"),
    ("continuation", XOAUTH2_B64, JWT, "<SASL XOAUTH2 user=alice@contoso.com"),
    ("oauthbearer", b64(oauthbearer_payload("alice@contoso.com", JWT, "imap.example.com", 993)), JWT, "n,a=alice@contoso.com,"),
    ("double base64", f"A2 AUTHENTICATE XOAUTH2 {b64(XOAUTH2_B64)}", JWT, "user=alice@contoso.com"),
    (
        "smtp auth plain",
        f"AUTH PLAIN {b64(plain_payload('alice@contoso.com', 'S3cretPassw0rd'))}",
        "S3cretPassw0rd",
        "user=alice@contoso.com",
    ),
    ("imap authenticate plain", f"A1 AUTHENTICATE PLAIN {b64(plain_payload('bob', 'hunter2hunter2'))}", "hunter2hunter2", "user=bob"),
    ("base64 of a jwt", f"* OK {b64(JWT)}", JWT, "<base64 of <jwt"),
    ("bare jwt", f"token is {JWT}.", JWT, "<jwt "),
    ("google access token", f"C: {GOOGLE_TOKEN}", GOOGLE_TOKEN, "C: <google access token"),
    ("google refresh token", "refresh 1//0gabcdefghijklmnopqrstuvwxyzABCDEF", "1//0gabcdefghijklmnopqrstuvwxyzABCDEF", "refresh <"),
    ("msa token", f"auth {MS_DOC_TOKEN}", MS_DOC_TOKEN, "<msa token 40 chars"),
    ("msa refresh token", "rt M.C5_BAY.0.U.-CgAbCdEfGhIjKlMnOpQrStUv", "M.C5_BAY.0.U.-CgAbCdEfGhIjKlMnOpQrStUv", "rt <msa refresh token"),
    ("ms client secret", "secret is abc8Q~defghijklmnopqrstuvwxyz0123456789A ok", "abc8Q~defghijklmnopqrstuvwxyz0123456789A", "ok"),
    ("curl bearer", f"> Authorization: Bearer {GOOGLE_TOKEN}", GOOGLE_TOKEN, "> Authorization: Bearer <google access token"),
    ("bearer lower case", "authorization: bearer opaque0123456789opaque", "opaque0123456789opaque", "bearer <"),
    ("basic header", f"> Authorization: Basic {b64('alice:Tr0ub4dor&3')}", "Tr0ub4dor&3", "<basic user=alice password=<password 11 chars"),
    ("other scheme", "Authorization: NTLM TlRMTVNTUAADAAAAGAAYAEgAAAA", "TlRMTVNTUAADAAAAGAAYAEgAAAA", "Authorization: NTLM <credential"),
    ("cookie", "< Set-Cookie: ESTSAUTH=0.AXcookievalue; path=/", "0.AXcookievalue", "Set-Cookie: <cookie"),
    (
        "json access token",
        f'{{"token_type": "Bearer", "access_token": "{MS_DOC_TOKEN}", "expires_in": 3599}}',
        MS_DOC_TOKEN,
        '"expires_in": 3599',
    ),
    ("json password with spaces", '{"password": "correct horse battery staple"}', "horse battery", '{"password": "<secret 28 chars'),
    ("json refresh token opaque", '{"refresh_token":"rt-opaque-value"}', "rt-opaque-value", '"refresh_token":"<secret'),
    (
        "url-encoded body",
        "grant_type=refresh_token&client_id=abc&refresh_token=rtvalue42&client_secret=s3c",
        "rtvalue42",
        "grant_type=refresh_token&client_id=abc",
    ),
    ("url-encoded short client secret", "client_id=abc&client_secret=s3c&scope=x", "s3c", "&scope=x"),
    ("authorization code", "GET /cb?code=0AXauthcodevalue&state=xyz", "0AXauthcodevalue", "&state=xyz"),
    ("device code", "device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", "device_code=<"),
    ("yaml password", "  password: hunter22", "hunter22", "password: <secret 8 chars"),
    ("header api key", "> X-Api-Key: k3y-v4lue-123", "k3y-v4lue-123", "X-Api-Key: <secret"),
    ("single-quoted key", "{'client_secret': 'abc~def'}", "abc~def", "'client_secret': '<secret"),
    ("url user info", "imaps://alice:s3cr3tpw@outlook.office365.com:993/INBOX", "s3cr3tpw", "@outlook.office365.com:993/INBOX"),
    ("imap login atom", "A1 LOGIN alice hunter22", "hunter22", "A1 LOGIN alice <password 8 chars"),
    ("imap login quoted", 'A1 LOGIN "alice@x.com" "pa ss\\"word"', 'pa ss"word', 'A1 LOGIN "alice@x.com" <password 10 chars'),
    ("imap login lower case", "a1 login alice hunter22", "hunter22", "a1 login alice <password"),
    ("imap login with log prefix", "[Alerts Incident] ITSM A1 LOGIN alice hunter22", "hunter22", "A1 LOGIN alice <password"),
    ("imap login client prefix", "C: A1 LOGIN alice hunter22", "hunter22", "C: A1 LOGIN alice <password"),
    ("pop3 pass", "PASS hunter22", "hunter22", "PASS <password 8 chars"),
    ("pop3 pass prefixed", "C: PASS my secret pw", "my secret pw", "C: PASS <password 12 chars"),
    (
        "pem inline",
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"',
        "MIIEvQIBADANBg",
        '"private_key": "',
    ),
]


@pytest.mark.parametrize(("line", "secret", "kept"), [c[1:] for c in CATCH_ALL], ids=[c[0] for c in CATCH_ALL])
def test_catch_all_without_registration(line: str, secret: str, kept: str) -> None:
    out = Redactor().redact_line(line)
    assert secret not in out
    assert kept in out


VISIBLE = [
    ("exchange greeting (kb)", EXCHANGE_GREETING),
    ("exchange greeting", EXCHANGE_GREETING_REAL),
    ("gmail challenge", GMAIL_CHALLENGE),
    (
        "rfc 7628 challenge",
        "+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1w"
        "bGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWcifQ==",
    ),
    ("username prompt", "334 VXNlcm5hbWU6"),
    (
        "gmail capability",
        "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN"
        " AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH",
    ),
    (
        "exchange capability",
        "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
    ),
    ("smtp capability", "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH"),
    (
        "javamail password",
        "IMAPS: protocolConnect login, host=outlook.office365.com, user=user_name@atl.onmicrosoft.com, password=<non-null>",
    ),
    ("javamail null password", "DEBUG: protocolConnect returning false, host=imap.gmail.com, user=alice, password=<null>"),
    ("javamail trace", "IMAPS: AUTHENTICATE PLAIN command trace suppressed"),
    ("exchange failure", "IUR1 NO AUTHENTICATE failed."),
    ("exchange not connected", "A5 BAD User is authenticated but not connected."),
    ("gmail failure", "A4 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"),
    ("gmail format", "A4 NO Invalid SASL argument. i29mb53490361edj"),
    ("aadsts", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value."),
    ("error code", "error code: AADSTS50126 Error validating credentials due to invalid username or password."),
    ("graph error json", '{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}'),
    ("google error json", '{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}'),
    ("token response facts", '{"token_type": "Bearer", "scope": "https://outlook.office.com/IMAP.AccessAsUser.All", "expires_in": 3599}'),
    (
        "www-authenticate",
        'WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"',
    ),
    ("basic prose", "Basic authentication is disabled for this tenant"),
    ("null password json", '{"password": null}'),
    ("prose with password colon", "cannot read the password: environment variable MAIL_PW is not set"),
    ("prose with token colon", "token acquisition failed for the refresh token: invalid_grant"),
    ("fetch", '* 12 FETCH (UID 53400 FLAGS (\\Seen) INTERNALDATE "28-Nov-2026 10:11:12 +0000" RFC822.SIZE 48213)'),
    ("list", '* LIST (\\HasNoChildren) "/" INBOX'),
    ("examine", "A0006 OK [READ-ONLY] EXAMINE completed."),
    ("bye", "* BYE Connection closed. 14"),
    (
        "stack trace",
        "\tat com.atlassian.jira.service.services.mail.MailServicesHelper.handleAuthAwareMailServer(MailServicesHelper.java:52)",
    ),
    ("already redacted", f"A2 AUTHENTICATE XOAUTH2 <SASL XOAUTH2 user=a@b.c ^A auth=Bearer {describe_secret(JWT)} ^A^A>"),
    ("redacted login", f"A1 LOGIN alice {describe_secret('hunter22', 'password')}"),
    ("client cancels", "*"),
]


@pytest.mark.parametrize("line", [v[1] for v in VISIBLE], ids=[v[0] for v in VISIBLE])
def test_ordinary_traffic_and_evidence_stay_visible(line: str) -> None:
    assert Redactor().redact_line(line) == line


@pytest.mark.parametrize("line", [v[1] for v in VISIBLE] + [c[1] for c in CATCH_ALL])
def test_redaction_is_idempotent(line: str) -> None:
    """The probe redacts structurally and the record redacts again: a second pass changes nothing."""
    once = Redactor().redact(line)
    assert Redactor().redact(once) == once


def test_exchange_greeting_front_end_name_stays_decodable() -> None:
    from mailscope.protocols.servers import frontend_name

    assert frontend_name(Redactor().redact_line(EXCHANGE_GREETING_REAL)) == "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"


# -- line state: what an earlier line says about the next ----------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        ["A1 LOGIN alice {14}", "+ Ready for literal data", "correct horse!"],
        ["A1 LOGIN alice {14+}", "correct horse!"],
        ["A1 LOGIN {5}", "+ go ahead", "alice {14}", "+ go ahead", "correct horse!"],
        ["A1 LOGIN {5+}", 'alice "correct horse!"'],
        ["AUTH LOGIN", "334 VXNlcm5hbWU6", b64("alice"), "334 UGFzc3dvcmQ6", b64("correct horse!")],
        ["A1 AUTHENTICATE LOGIN", "+ VXNlcm5hbWU6", b64("alice"), "+ UGFzc3dvcmQ6", b64("correct horse!")],
        ["DEBUG SMTP: AUTH LOGIN", "334 UGFzc3dvcmQ6", "DEBUG SMTP: " + b64("correct horse!")],
    ],
    ids=[
        "sync literal",
        "literal+",
        "user and password literals",
        "user literal then quoted",
        "smtp auth login",
        "imap login sasl",
        "javamail",
    ],
)
def test_password_announced_by_an_earlier_line(lines: list[str]) -> None:
    r = Redactor()
    out = [r.redact_line(line) for line in lines]
    joined = "\n".join(out)
    assert "correct horse!" not in joined and b64("correct horse!") not in joined
    assert "<password" in out[-1]
    assert out[:-1] == [Redactor().redact_line(line) for line in lines[:-1]]  # earlier lines unchanged


def test_pem_block_lines_are_removed() -> None:
    r = Redactor()
    lines = [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        "-----END PRIVATE KEY-----",
        "* OK next",
    ]
    out = [r.redact_line(line) for line in lines]
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" not in out[1]
    assert out[2] == lines[2] and out[3] == "* OK next"


def test_cancel_after_password_prompt_stays_visible() -> None:
    r = Redactor()
    r.redact_line("334 UGFzc3dvcmQ6")
    assert r.redact_line("*") == "*"


def test_line_state_expires() -> None:
    r = Redactor()
    r.redact_line("A1 LOGIN alice {8}")
    for _ in range(redact._STATE_LIFETIME):
        r.redact_line("+ waiting")
    assert r.redact_line("* OK unrelated") == "* OK unrelated"


# -- control characters and bytes ------------------------------------------------------------------------

CONTROLS = [
    ("esc sequence", "* OK \x1b[2J\x1b]0;pwned\x07", "* OK \\e[2J\\e]0;pwned\\x07"),
    ("c1 csi", "* OK \x9b31m red", "* OK \\x9b31m red"),
    ("nul", "* OK a\x00b", "* OK a\\0b"),
    ("del", "* OK a\x7fb", "* OK a\\x7fb"),
    ("carriage return", "* OK fake\rA1 OK", "* OK fake\\rA1 OK"),
    ("bare lf", "* OK one\nA1 OK LOGIN done", "* OK one\\nA1 OK LOGIN done"),
    ("bidi override", "* OK \u202eevil", "* OK \\u202eevil"),
    ("line separator", "* OK a\u2028b", "* OK a\\u2028b"),
    ("tab kept", "* OK a\tb", "* OK a\tb"),
    ("unicode kept", "* OK Grüße 日本", "* OK Grüße 日本"),
    ("lone surrogate", "* OK \udcff", "* OK \\xff"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CONTROLS], ids=[c[0] for c in CONTROLS])
def test_controls_escaped_in_lines(raw: str, expected: str) -> None:
    assert Redactor().redact_line(raw) == expected


def test_redact_keeps_newlines_for_multi_line_text() -> None:
    assert Redactor().redact("line one\nline \x1b two") == "line one\nline \\e two"
    assert escape_controls("a\nb", keep_newlines=False) == "a\\nb"


def test_non_utf8_bytes_never_become_controls() -> None:
    out = Redactor().redact_bytes(b"* OK \xff\xfe \x9b2J \xc2\x9b done \x1b[0m")
    assert out == "* OK \\xff\\xfe \\x9b2J \\x9b done \\e[0m"
    assert all(ch.isprintable() for ch in out)


def test_every_c0_and_c1_character_is_escaped() -> None:
    for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)]:
        if chr(code) == "\t":
            continue
        out = Redactor().redact_line(f"x{chr(code)}y")
        assert chr(code) not in out and out.startswith("x\\") and out.endswith("y"), hex(code)


# -- describing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (JWT, "jwt"),
        (GOOGLE_TOKEN, "google access token"),
        ("1//0gabcdefghijklmnopqrstuvwxyz", "google refresh token"),
        (MS_DOC_TOKEN, "msa token"),
        ("0.AXEA" + "x" * 60, "ms refresh token"),
        ("GOCSPX-abcdefghijklmnopqrstuvwx", "google client secret"),
        ("some-opaque-value", "token"),
    ],
)
def test_token_shape(value: str, shape: str) -> None:
    assert token_shape(value) == shape


def test_describe_sasl_ms_doc_example() -> None:
    out = Redactor().describe_sasl(b64(MS_DOC_XOAUTH2), "XOAUTH2")
    assert out == (f"<SASL XOAUTH2 user=test@contoso.onmicrosoft.com ^A auth=Bearer <msa token 40 chars {fingerprint(MS_DOC_TOKEN)}> ^A^A>")


def test_describe_sasl_of_malformed_or_raw_responses_never_leaks() -> None:
    r = Redactor()
    for response in (JWT, f"user=a@b.c\x01auth={JWT}", "not base64 at all", b64(f"Bearer {JWT}"), b64(JWT), ""):
        out = r.describe_sasl(response, "XOAUTH2")
        assert JWT not in out and (not response or response not in out or response == "not base64 at all")


def test_password_containing_a_protocol_word_keeps_that_word_readable() -> None:
    r = Redactor()
    r.register(Secret(SecretKind.PASSWORD, "alice-password"))
    assert r.redact("IMAPS: login, user=alice, password=<non-null>") == "IMAPS: login, user=alice, password=<non-null>"
    out = r.redact_line("* OK first alice-pa")
    assert "alice-pa" not in out
    assert "e-passwo" not in r.redact_line("* OK e-password here")


@pytest.mark.parametrize(
    "line",
    ["334 UGFzc3dvcmQ6", "334 VXNlcm5hbWU6", "+ UGFzc3dvcmQ6", "334 cGFzc3dvcmQ6", "S: 535 5.7.8 authentication failed: UGFzc3dvcmQ6",
     "250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER", "SASL PLAIN LOGIN XOAUTH2", "* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN SASL-IR"],
)  # fmt: skip
def test_protocol_words_in_any_spelling_are_not_fragments_of_a_short_password(line: str) -> None:
    """Postfix's and Exchange's AUTH LOGIN prompt `334 UGFzc3dvcmQ6` is base64 of "Password:": base64 pieces of a password
    such as alice-password overlap it, and must not eat it (it was shown as `U<fragment of password ...>Q6`)."""
    r = Redactor([Secret(SecretKind.PASSWORD, "alice-password")])
    assert r.redact_line(line) == line


def test_a_short_password_next_to_protocol_words_is_still_redacted_in_every_spelling() -> None:
    password = "alice-password"
    r = Redactor([Secret(SecretKind.PASSWORD, password)])
    raw = password.encode()
    wide = base64.b64encode(password.encode("utf-16-le")).decode()
    for form in (password, b64(password), base64.b64encode(b"x" + raw).decode(), raw.hex(), wide):
        out = r.redact_line(f"535 5.7.8 {form} UGFzc3dvcmQ6")
        assert form not in out and out.endswith(" UGFzc3dvcmQ6"), out
    for piece in ("alice-pa", "e-passwo", b64("e-password")[:10], raw.hex()[6:]):
        assert piece not in r.redact_line(f"334 UGFzc3dvcmQ6 {piece}"), piece


def test_a_reply_after_the_password_prompt_is_not_taken_for_the_answer() -> None:
    """JavaMail's debug output drops the client's base64 answers: the line after `334 UGFzc3dvcmQ6` is then the server's
    reply, whose last word (here the prompt again) was described, and registered, as the password."""
    r = Redactor()
    r.redact_line("334 UGFzc3dvcmQ6")
    reply = "535 5.7.139 Authentication unsuccessful: UGFzc3dvcmQ6"
    assert r.redact_line(reply) == reply and not r.has_secrets
    r.redact_line("334 UGFzc3dvcmQ6")
    assert r.redact_line(f"C: {b64('Winter2026!Pass')}") == "C: <password 15 chars " + fingerprint("Winter2026!Pass") + ">"


@pytest.mark.parametrize("cut", [12, 40, 90, 200])
def test_unregistered_jwt_cut_at_a_line_end(cut: int) -> None:
    """Log import: a JWT wrapped onto the next line. The cut head has no signature yet; its rest
    (the signature) starts the next line and is redacted too."""
    r = Redactor()
    head, rest = r.redact_line(f"DEBUG token={JWT[:cut]}"), r.redact_line(JWT[cut:])
    assert JWT[:cut] not in head and JWT[cut:] not in rest
    assert "Qx7-Kp_9" not in head + rest


def test_unregistered_sasl_base64_wrapped_at_76_columns() -> None:
    """The catalogue's `base64 split across lines`: both halves redacted, the structure of the first shown."""
    r = Redactor()
    encoded = b64(xoauth2_payload("alice@contoso.com", JWT))
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    out = [r.redact_line(f"C: A1 AUTHENTICATE XOAUTH2 {lines[0]}")] + [r.redact_line(f"C: {line}") for line in lines[1:]]
    assert "user=alice@contoso.com" in out[0]
    for original, redacted in zip(lines, out, strict=True):
        assert original not in redacted


def test_unpadded_gmail_challenge_is_not_a_cut_jwt() -> None:
    r = Redactor()
    challenge = GMAIL_CHALLENGE.rstrip("=")
    assert r.redact_line(challenge) == challenge
    assert r.redact_line("A4 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)").endswith("(Failure)")


def test_login_user_literal_with_spaces_then_password_literal() -> None:
    r = Redactor()
    out = [r.redact_line(line) for line in ("A1 LOGIN {11}", "+ go", "alice smith {9}", "+ go", "s3cret pw")]
    assert out[2] == "alice smith {9}" and "s3cret pw" not in out[4] and out[4].startswith("<password 9 chars")


def test_url_encoded_tokens_are_removed_whole() -> None:
    encoded = urllib.parse.quote(MS_DOC_TOKEN + "+/x*!", safe="")
    for line in (f"Authorization: Bearer {encoded}", f"GET /x?a=1 {encoded} end", f"token={encoded}&x=1"):
        out = Redactor().redact_line(line)
        assert "%2B" not in out and encoded[10:] not in out, out


def test_sasl_structure_stays_readable_when_the_secret_inside_is_registered() -> None:
    """A registered password or token must not cut the base64 before it is decoded: the readable
    structure (user, mechanism, the secret's description) is what the transcript shows."""
    password, token = "S3cretPassw0rd!", "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2lnbmF0dXJl"
    redactor = Redactor()
    redactor.register(password, "password")
    redactor.register(token)
    plain = redactor.redact_line("A1 AUTHENTICATE PLAIN " + base64.b64encode(plain_payload("alice@x.com", password)).decode())
    bearer = redactor.redact_line("A2 AUTHENTICATE XOAUTH2 " + base64.b64encode(xoauth2_payload("alice@x.com", token)).decode())
    assert plain == f"A1 AUTHENTICATE PLAIN <SASL PLAIN authzid= user=alice@x.com password={describe_secret(password, 'password')}>"
    assert bearer == f"A2 AUTHENTICATE XOAUTH2 <SASL XOAUTH2 user=alice@x.com ^A auth=Bearer {describe_secret(token)} ^A^A>"
    # An identifier that happens to be valid base64 (and decodes to binary with NULs) is not a PLAIN payload.
    assert redactor.redact_line('description="AADSTS700016: Application not found"') == 'description="AADSTS700016: Application not found"'


def test_prose_and_exception_labels_that_name_login_are_not_commands() -> None:
    """A finding's explanation and a client's exception name the LOGIN command; neither holds a password (a report's final
    pass used to replace the rest of the sentence), while a LOGIN command inside a log line still loses its password."""
    r = Redactor()
    for text in (
        "the client authenticated with LOGIN (a password) at Exchange Online, where basic authentication is off",
        "javax.mail.AuthenticationFailedException: LOGIN Email OAuth 2.0 Proxy: Login failed - the password is wrong",
    ):
        assert r.redact(text) == text
    for line in ("DEBUG IMAP: A1 LOGIN alice s3cretpass", 'DEBUG IMAP: A1 LOGIN alice "s3cret pass"', "A1 LOGIN alice s3cret pass"):
        assert "s3cret" not in r.redact(line), line


@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize(
    "line",
    [
        "C: {b64}",  # a base64 run that is no SASL payload: the catch-all decodes it
        "* OK greeting {b64} and more words",
        "A1 NO [ALERT] nothing encoded here at all",  # no base64 run: the catch-all's own scan is skipped, nothing to find
    ],
)
def test_base64_of_a_secret_pair_is_decoded_whether_or_not_a_secret_is_registered(line: str, registered: bool) -> None:
    """With a secret registered, a line is scanned for SASL base64 first and, when it holds no base64 run and the rest of
    the redaction left it unchanged, not scanned again: the same result as without the first scan."""
    secret = "p4ss-" + "horse-battery-staple"
    text = line.format(b64=base64.b64encode(f"password={secret}".encode()).decode())
    known = Redactor(["an-unrelated-registered-token-0123456789abcdef"] if registered else [])
    redacted = known.redact_line(text)
    assert redacted == Redactor().redact_line(text)
    if "{b64}" in line:
        assert redacted.count("<base64 of password=<secret 25 chars") == 1 and "cDRz" not in redacted
    else:
        assert redacted == text
