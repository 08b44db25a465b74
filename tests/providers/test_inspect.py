"""Token inspection is local and never verifies: JWT claims for each token shape seen in the field, opaque fallbacks."""

from __future__ import annotations

import base64
import json

from mailscope.redact import Redactor
from mailscope.secret import Secret, SecretKind
from providers.inspect import decode_jwt, display_claims, format_time, inspect_token, is_app_only, token_user, token_version

TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
NOW = 1_800_000_000.0


def jwt(claims: dict, header: dict | None = None) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header or {'typ': 'JWT', 'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.{'s' * 43}"


def inspect(value: str, **kwargs) -> object:
    return inspect_token(Secret(SecretKind.ACCESS_TOKEN, value), **kwargs)


V1_OUTLOOK = {
    "aud": "https://outlook.office.com", "iss": f"https://sts.windows.net/{TID}/", "iat": NOW - 300, "nbf": NOW - 300,
    "exp": NOW + 3600, "appid": "9e5f94bc-e8a4-4e73-b8be-63364c29d753", "scp": "IMAP.AccessAsUser.All SMTP.Send",
    "tid": TID, "upn": "JonJon@bellred.org", "unique_name": "JonJon@bellred.org", "oid": "0f0e", "ver": "1.0",
}


def test_outlook_audience_v1_delegated() -> None:
    token = inspect(jwt(V1_OUTLOOK), flow="static", source="env:TOKEN")
    assert token.kind == "jwt" and token.provider == "microsoft"
    assert token.claims["aud"] == "https://outlook.office.com" and token.claims["scp"] == "IMAP.AccessAsUser.All SMTP.Send"
    assert token.account == "JonJon@bellred.org"
    assert token.expires_at == NOW + 3600 and token.issued_at == NOW - 300
    assert token.header["kid"] == "k1"
    assert token_version(token.claims) == "1.0" and not is_app_only(token.claims)


def test_graph_audience() -> None:
    claims = {**V1_OUTLOOK, "aud": "00000003-0000-0000-c000-000000000000", "scp": "IMAP.AccessAsUser.All User.Read"}
    token = inspect(jwt(claims))
    rows = {name: value for name, _, value in display_claims(token, now=NOW)}
    assert rows["aud"] == "00000003-0000-0000-c000-000000000000"
    assert rows["scp"] == "IMAP.AccessAsUser.All User.Read"


def test_app_only_roles() -> None:
    claims = {"aud": "https://outlook.office365.com", "iss": f"https://sts.windows.net/{TID}/", "idtyp": "app",
              "roles": ["IMAP.AccessAsApp", "SMTP.SendAsApp"], "appid": "33333333", "oid": "sp-object-id", "tid": TID,
              "iat": NOW, "nbf": NOW, "exp": NOW + 3600, "ver": "1.0"}
    token = inspect(jwt(claims))
    assert is_app_only(token.claims) and token.account is None
    rows = display_claims(token, now=NOW)
    assert ("roles", "application roles", "IMAP.AccessAsApp SMTP.SendAsApp") in rows
    assert "scp" not in {name for name, _, _ in rows}


def test_v2_shape() -> None:
    claims = {"aud": "api://my-api", "iss": f"https://login.microsoftonline.com/{TID}/v2.0", "azp": "cid",
              "preferred_username": "alice@contoso.com", "scp": "access_as_user", "tid": TID, "iat": NOW, "exp": NOW + 10}
    token = inspect(jwt(claims))
    assert token_version(token.claims) == "2.0"
    assert token_user(token.claims) == "alice@contoso.com"
    assert token.provider == "microsoft"


def test_display_order_is_stable_and_known_claims_first() -> None:
    claims = {"zzz": 1, "exp": NOW + 60, "aud": "https://outlook.office.com", "upn": "a@b", "aaa": "x", "iss": "https://sts.windows.net/t/"}
    names = [name for name, _, _ in display_claims(inspect(jwt(claims)), now=NOW)]
    assert names == ["aud", "upn", "iss", "exp", "aaa", "zzz"]


def test_expired_token_says_so() -> None:
    token = inspect(jwt({**V1_OUTLOOK, "exp": NOW - 7200}))
    rows = {name: value for name, _, value in display_claims(token, now=NOW)}
    assert rows["exp"].endswith("(2.0 h ago)")
    assert token.expires_at < NOW
    assert format_time(NOW + 30, now=NOW).endswith("(in 30 s)")


def test_google_opaque_token_falls_back_to_the_token_response() -> None:
    token = inspect("ya29.a0" + "x" * 100, provider="google", granted_scopes=("https://mail.google.com/",), expires_at=NOW + 3599)
    assert token.kind == "opaque" and token.shape == "google-ya29" and token.claims == {}
    assert "using the token response's granted scope and expiry" in token.notes[0]
    rows = display_claims(token, now=NOW)
    assert rows[0] == ("scope", "granted scopes (token response)", "https://mail.google.com/")
    assert rows[1][2].endswith("(in 59 min)")


def test_msa_opaque_token_without_a_response() -> None:
    token = inspect("EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA" + "q" * 60)
    assert token.shape == "msa-compact" and token.provider == "microsoft"
    assert "scope and expiry are unknown" in token.notes[0]
    assert display_claims(token) == []


def test_malformed_jwt_is_opaque_not_a_crash() -> None:
    assert decode_jwt("eyJhbGciOi.not-json.sig") is None
    token = inspect("eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24.c2ln")
    assert token.kind == "opaque"


def test_fingerprint_is_the_engines_and_the_token_is_never_in_the_evidence() -> None:
    value = jwt(V1_OUTLOOK)
    secret = Secret(SecretKind.ACCESS_TOKEN, value)
    token = inspect_token(secret)
    assert token.fingerprint == secret.fingerprint
    assert value not in repr(token) and value.split(".")[2] not in repr(token)
    assert Redactor([secret]).redact(f"Bearer {value}").startswith("Bearer <jwt")
