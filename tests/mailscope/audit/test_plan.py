"""The mailboxes CSV: rows in, CheckSettings or a clear per-row message out (tables), and the file checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailscope.audit.plan import MAX_CSV_BYTES, AuditInputError, plan_audit, read_csv_file
from mailscope.settings import CheckSettings, Mechanism, Protocol, SecretSource, Security
from providers.profiles import parse_secret_source
from providers.shared_tokens import audit_settings

BASE = CheckSettings(
    "outlook.office365.com",
    993,
    Security.TLS,
    mechanism=Mechanism.XOAUTH2,
    provider="microsoft",
    flow="client_credentials",
    client_id="app",
    tenant="contoso.com",
    client_secret=SecretSource("env", "SECRET"),
)


def plan(text: str, base: CheckSettings = BASE):
    return plan_audit(text, base, secret_source=parse_secret_source, adapt=audit_settings)


def test_each_row_overrides_the_base_settings_for_its_mailbox() -> None:
    result = plan(
        "user,protocol,host,port,security,client_id,client_secret,scopes\n"
        "alice@contoso.com,,,,,,,\n"
        "bob@contoso.com,pop3,outlook.office365.com,995,tls,app2,file:/run/secrets/app2,https://outlook.office365.com/.default\n"
        "carol@contoso.com,smtp,smtp.office365.com,587,starttls,,,\n"
    )
    assert result.rejected == ()
    alice, bob, carol = result.items
    assert (alice.row, alice.settings) == (2, CheckSettings(**{**_fields(BASE), "user": "alice@contoso.com"}))
    assert (bob.row, bob.settings.protocol, bob.settings.port, bob.settings.client_id) == (3, Protocol.POP3, 995, "app2")
    assert bob.settings.client_secret == SecretSource("file", "/run/secrets/app2")
    assert bob.settings.scopes == ("https://outlook.office365.com/.default",)
    carol_target = (carol.settings.protocol, carol.settings.host, carol.settings.security)
    assert carol_target == (Protocol.SMTP, "smtp.office365.com", Security.STARTTLS)
    assert carol.settings.client_secret == BASE.client_secret


def _fields(settings: CheckSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",pop3", "row 2: no user"),
        ("alice @contoso.com", "row 2: user 'alice @contoso.com' has spaces or control characters"),
        ("alice@contoso.com,imap,,99999", "row 2: port '99999' is not a TCP port"),
        ("alice@contoso.com,imap4", "row 2: protocol 'imap4' is not one of imap, pop3, smtp"),
        ("alice@contoso.com,imap,,,x,y", "row 2: 6 cells, but the header names 4 columns (a comma inside an unquoted value?)"),
    ],
)
def test_a_bad_row_gets_its_own_message_and_the_others_still_run(row: str, message: str) -> None:
    result = plan(f"user,protocol,host,port\n{row}\nbob@contoso.com,,,\n")
    assert [str(e) for e in result.rejected] == [message]
    assert [i.user for i in result.items] == ["bob@contoso.com"]


def test_a_row_that_changes_protocol_gets_that_protocol_s_default_port() -> None:
    result = plan("user,protocol,security\nalice@contoso.com,pop3,\nbob@contoso.com,smtp,starttls\ncarol@contoso.com,,\n")
    assert [(i.user, i.settings.protocol, i.settings.port) for i in result.items] == [
        ("alice@contoso.com", Protocol.POP3, 995), ("bob@contoso.com", Protocol.SMTP, 587), ("carol@contoso.com", Protocol.IMAP, 993)]


def test_a_secret_column_names_the_source_and_never_repeats_a_pasted_secret() -> None:
    pasted = "Wq8~abcdefghijklmnopqrstuvwxyz0123456789"
    result = plan(f"user,client_secret\nalice@contoso.com,{pasted}\nbob@contoso.com,prompt\ncarol@contoso.com,env:APP2_SECRET\n")
    assert [e.row for e in result.rejected] == [2, 3]
    assert "never the secret itself" in result.rejected[0].message and pasted not in result.rejected[0].message
    assert "cannot ask for a secret" in result.rejected[1].message
    assert result.items[0].settings.client_secret == SecretSource("env", "APP2_SECRET")


def test_a_token_pasted_into_another_column_is_not_repeated_in_the_message() -> None:
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
    result = plan(f"user,tenant\nalice@contoso.com,Bearer {jwt}\n")
    assert jwt[:20] not in result.rejected[0].message


def test_a_token_as_a_user_a_bidi_override_and_a_huge_cell_leave_their_row_out() -> None:
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
    result = plan(f"user\n{jwt}\nalice\u202egnp.exe@contoso.com\n{'a' * 5000}@contoso.com\nbob@contoso.com\n")
    assert [i.user for i in result.items] == ["bob@contoso.com"]
    looks, bidi, huge = (e.message for e in result.rejected)
    assert "looks like a token" in looks and jwt[:20] not in looks
    assert "control characters" in bidi and "\u202e" not in bidi
    assert "longer than 1024 characters" in huge and len(huge) < 200


def test_duplicates_blank_rows_comments_and_the_header_row_numbers() -> None:
    result = plan("User , Protocol\n\nalice@contoso.com,imap\n# bob@contoso.com,imap\nALICE@contoso.com,imap\ncarol@contoso.com,imap\n")
    assert [(i.row, i.user) for i in result.items] == [(3, "alice@contoso.com"), (6, "carol@contoso.com")]
    assert [str(e) for e in result.rejected] == ["row 5: the same mailbox as row 3 (user, protocol and host): left out"]


def test_a_plain_list_of_addresses_and_a_semicolon_sheet_are_read() -> None:
    assert [i.user for i in plan("alice@contoso.com\nbob@contoso.com\n").items] == ["alice@contoso.com", "bob@contoso.com"]
    sheet = plan("user;host;port\nalice@contoso.com;imap.example.org;143\n")
    assert (sheet.items[0].settings.host, sheet.items[0].settings.port) == ("imap.example.org", 143)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no mailbox"),
        ("mailbox,host\nalice@contoso.com,x\n", "the first row must name the columns, one of them 'user'"),
        ("user,colour\nalice@contoso.com,red\n", "unknown column 'colour'"),
        ("user,host,host\nalice@contoso.com,a,b\n", "column host given twice"),
        ("user\n" + "a" * 200_000 + "\n", "cannot be read as CSV: field larger than field limit"),
    ],
)
def test_a_sheet_that_cannot_be_read_as_a_whole_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(AuditInputError, match=message):
        plan(text)


def test_rows_without_a_host_need_a_host_column() -> None:
    result = plan("user,host\nalice@contoso.com,\nbob@contoso.com,imap.example.org\n", base=CheckSettings("", 993))
    assert [str(e) for e in result.rejected] == ["row 2: no host: give --host, a profile, or a host column"]


def test_delegated_microsoft_rows_read_the_token_cache_and_google_rows_that_need_a_browser_are_refused() -> None:
    delegated = plan("user,flow\nalice@contoso.com,device_code\n").items[0].settings
    assert delegated.flow == "silent"
    google = CheckSettings("imap.gmail.com", 993, provider="google", flow="installed_app")
    refused = plan("user\nalice@example.com\n", base=google)
    assert "an audit cannot prompt" in refused.rejected[0].message
    impersonated = plan("user,flow\nalice@example.com,service_account\n", base=google).items[0].settings
    assert impersonated.subject == "alice@example.com"


def test_the_file_must_be_a_regular_utf8_text_file_under_the_cap(tmp_path: Path) -> None:
    good = tmp_path / "mailboxes.csv"
    good.write_bytes("\ufeffuser\nälice@contoso.com\n".encode())
    assert read_csv_file(str(good)) == "user\nälice@contoso.com\n"  # Excel's byte-order mark is dropped
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path, message in ((tmp_path, "not a regular file"), (fifo, "not a regular file"), (tmp_path / "missing.csv", "cannot open")):
        with pytest.raises(AuditInputError, match=message):
            read_csv_file(str(path))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"user\n\x00\x01")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user\nj\xf6rg@example.org\n".encode("latin-1"))
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(MAX_CSV_BYTES + 1)
    for path, message in ((binary, "NUL bytes"), (latin, "not UTF-8"), (huge, "at most")):
        with pytest.raises(AuditInputError, match=message):
            read_csv_file(str(path))


def test_values_repeated_on_every_row_are_checked_once_with_the_same_result() -> None:
    """A sheet's repeated cells (host, port, protocol, client id, secret source) are checked once and reused: every row
    gets the settings a sheet of that row alone gets, and a bad repeated value rejects every row that holds it."""
    header = "user,protocol,host,port,security,client_id,client_secret,scopes\n"
    rows = [
        "alice@contoso.com,pop3,outlook.office365.com,995,tls,app2,file:/run/secrets/app2,https://outlook.office365.com/.default",
        "bob@contoso.com,pop3,outlook.office365.com,995,tls,app2,file:/run/secrets/app2,https://outlook.office365.com/.default",
        "carol@contoso.com,imap4,outlook.office365.com,995,tls,app2,,",
        "dave@contoso.com,imap4,outlook.office365.com,995,tls,app2,,",
        "erin@contoso.com,smtp,smtp.office365.com,,starttls,app2,hunter2,",
        "frank@contoso.com,smtp,smtp.office365.com,,starttls,app2,hunter2,",
    ]
    together = plan(header + "\n".join(rows) + "\n")
    alone = [plan(header + row + "\n") for row in rows]
    assert [item.settings for item in together.items] == [item.settings for one in alone for item in one.items]
    assert len(together.items) == 2 and together.items[0].settings.scopes is together.items[1].settings.scopes
    assert [str(error).split(": ", 1)[1] for error in together.rejected] == [
        str(error).split(": ", 1)[1] for one in alone for error in one.rejected
    ]
    assert [error.row for error in together.rejected] == [4, 5, 6, 7]
