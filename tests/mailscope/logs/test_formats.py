"""Every supported format, from samples written after each library's real output: detection, sessions
(including interleaved ones and ones that succeed), evidence, outcome, and redaction of what the log leaked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailscope.diagnosis import make_diagnoser
from mailscope.logs import LogScan, detect_format, replay
from mailscope.record import SessionRecord
from providers.registry import provider_rules

SAMPLES = Path(__file__).parent / "samples"
DIAGNOSER = make_diagnoser(provider_rules())


def sessions_of(name: str, format: str = "auto") -> tuple[LogScan, list[SessionRecord]]:
    with (SAMPLES / name).open("rb") as stream:
        scan = LogScan(stream, format)
        records = []
        for session in scan.sessions():
            record = SessionRecord(diagnoser=DIAGNOSER)
            replay(session, record)
            records.append(record)
    return scan, records


# sample -> (format, [(host, outcome kind, mechanism)] in the order sessions end)
CASES = {
    "jira_seed.log": ("javamail", [("outlook.office365.com", "authentication_failed", "PLAIN")] * 2),
    "curl_imap_xoauth2.log": ("curl", [("outlook.office365.com", "authenticated_mailbox_reachable", "XOAUTH2")]),
    "imaplib_gmail.log": ("imaplib", [("", "authentication_failed", "XOAUTH2")]),
    "mailkit_exchange_not_connected.log": (
        "mailkit",
        [
            ("outlook.office365.com", "authenticated_but_mailbox_refused", "XOAUTH2"),
            ("outlook.office365.com", "authenticated_mailbox_reachable", "XOAUTH2"),
        ],
    ),  # fmt: skip
    "imapflow_interleaved.jsonl": (
        "imapflow",
        [("imap.gmail.com", "authentication_failed", "XOAUTH2"), ("outlook.office365.com", "authenticated_mailbox_reachable", "XOAUTH2")],
    ),
    "thunderbird_imap.log": ("thunderbird", [("outlook.office365.com", "authenticated_mailbox_reachable", None)]),
    "emailproxy_exchange.log": ("emailproxy", [("outlook.office365.com", "authentication_failed", "XOAUTH2")]),
    "transcript_smtp_exchange.txt": ("transcript", [("", "authentication_failed", "XOAUTH2")]),
    "generic_unknown_product.log": ("generic", [("", "authentication_failed", "LOGIN")]),
    "jira_interleaved.log": ("generic", [("", "authentication_failed", "LOGIN"), ("", "authenticated_mailbox_reachable", "XOAUTH2")]),
    "javamail_smtp_basic_disabled.log": ("javamail", [("smtp.office365.com", "authentication_failed", "LOGIN")]),
    "curl_pop3_xoauth2.log": ("curl", [("outlook.office365.com", "authentication_failed", "XOAUTH2")]),
    "thunderbird_smtp_gmail.log": ("thunderbird", [("smtp.gmail.com", "authentication_failed", "XOAUTH2")]),
    "javamail_smtp_success.log": ("javamail", [("smtp.gmail.com", "authenticated_mailbox_reachable", "XOAUTH2")]),
    "javamail_pop3_exchange.log": ("javamail", [("outlook.office365.com", "authentication_failed", "USER/PASS")]),
    "jira_threads_debug.log": (
        "javamail",
        [
            ("outlook.office365.com", "authentication_failed", "LOGIN"),
            ("imap.contoso-typo.com", "connection_fault", None),
            ("outlook.office365.com", "authenticated_mailbox_reachable", "XOAUTH2"),
            ("outlook.office365.com", "incomplete", None),
        ],
    ),  # fmt: skip
    "postfix_sasl_xoauth2.log": (
        "postfix",
        [
            ("smtp.office365.com", "authentication_failed", "XOAUTH2"),
            ("smtp.office365.com", "token_acquisition_failed", None),
            ("smtp.office365.com", "authenticated_mailbox_reachable", None),
        ],
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_sessions(name: str) -> None:
    expected_format, expected = CASES[name]
    scan, records = sessions_of(name)
    assert scan.format == expected_format
    got = [(r.evidence.host, str(r.outcome.kind), r.evidence.mechanism) for r in records]
    assert got == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_detect_format_from_first_lines(name: str) -> None:
    lines = (SAMPLES / name).read_text().splitlines()[:50]
    assert detect_format(lines) == CASES[name][0]


def test_gmail_challenge_json_is_decoded() -> None:
    _, [record] = sessions_of("imaplib_gmail.log")
    [exchange] = record.evidence.sasl
    assert exchange.challenge_json == [{"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}]
    assert exchange.result == "NO" and "AUTHENTICATIONFAILED" in exchange.result_text
    assert record.evidence.server_family == "gmail"


def test_exchange_greeting_front_end_and_capabilities() -> None:
    _, [record] = sessions_of("curl_imap_xoauth2.log")
    ev = record.evidence
    assert ev.server_family == "exchange"
    assert ev.frontend_name == "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"
    assert ev.port == 993 and ev.security == "tls"
    assert "AUTH=XOAUTH2" in ev.capabilities_pre_tls and ev.capabilities_post_tls is None  # implicit TLS: the one list
    assert ev.client_software == "curl"


def test_curl_token_is_redacted_everywhere() -> None:
    _, [record] = sessions_of("curl_imap_xoauth2.log")
    dump = json.dumps([line.text for line in record.lines]) + repr(record.evidence)
    assert "eyJhbGciOi" not in dump and "dXNlcj1hbmFAY29udG9zby5jb20B" not in dump
    auth_line = next(line.text for line in record.lines if "AUTHENTICATE XOAUTH2" in line.text)
    assert "user=ana@contoso.com" in auth_line  # structure stays readable, the bearer token does not
    assert "<jwt" in auth_line
    assert record.evidence.sasl[0].client_payload.startswith("<SASL XOAUTH2")


def test_passwords_in_logs_are_redacted() -> None:
    for name, secret in (("jira_interleaved.log", "S3cret-Pass"), ("generic_unknown_product.log", "Winter2026!")):
        _, records = sessions_of(name)
        for record in records:
            text = json.dumps([line.text for line in record.lines]) + repr(record.evidence)
            assert secret not in text, name


def test_interleaved_jira_threads_are_separate_sessions() -> None:
    _, records = sessions_of("jira_interleaved.log")
    by_outcome = {str(r.outcome.kind): r for r in records}
    failed = by_outcome["authentication_failed"]
    assert [line.text for line in failed.lines if line.direction == "client"][0] == "B0 CAPABILITY"
    assert all(not line.text.startswith("A") for line in failed.lines if line.direction == "client")
    assert failed.diagnosis.top.id == "basic_auth_mechanism_used_when_disabled"


def test_javamail_rebuilds_the_suppressed_authenticate_command() -> None:
    _, records = sessions_of("jira_seed.log")
    line = next(line for line in records[0].lines if line.direction == "client" and "AUTHENTICATE" in line.text)
    assert line.text == "IUR1 AUTHENTICATE PLAIN"
    assert any("suppressed" in a for a in line.annotations)
    assert records[0].evidence.log_facts["password"] == "<non-null>"
    assert records[0].evidence.log_facts["mechanisms_advertised"] == "PLAIN XOAUTH2"
    assert records[1].evidence.exceptions == ["javax.mail.AuthenticationFailedException: AUTHENTICATE failed."]


def test_smtp_capabilities_after_starttls() -> None:
    _, [record] = sessions_of("transcript_smtp_exchange.txt")
    ev = record.evidence
    assert ev.protocol == "smtp" and ev.security == "starttls"
    assert "AUTH=XOAUTH2" in ev.capabilities_post_tls and "STARTTLS" in ev.capabilities_pre_tls
    assert ev.auth_text.startswith("535 5.7.3")


def test_token_endpoint_errors_and_exceptions_in_text_lines() -> None:
    lines = [
        "2026-11-28 10:00:00,000 ERROR OAuth refresh failed: AADSTS700082: The refresh token has expired due to inactivity.",
        "2026-11-28 10:00:01,000 WARN javax.mail.AuthenticationFailedException: AUTHENTICATE failed.",
    ]
    scan = LogScan(lines)
    [session] = list(scan.sessions())
    record = SessionRecord()
    outcome = replay(session, record)
    assert record.evidence.token_endpoint_errors[0].startswith("AADSTS700082")
    assert record.evidence.exceptions == ["javax.mail.AuthenticationFailedException: AUTHENTICATE failed."]
    assert str(outcome.kind) == "authentication_failed"
    assert session.first_time == "2026-11-28 10:00:00.000"


def test_javamail_smtp_reply_is_rebuilt_from_the_exception() -> None:
    _, [record] = sessions_of("javamail_smtp_basic_disabled.log")
    ev = record.evidence
    assert ev.protocol == "smtp" and ev.security == "starttls" and ev.port == 587
    assert ev.auth_text.startswith("535 5.7.139 Authentication unsuccessful, basic authentication is disabled.")
    assert ev.log_facts["mechanisms_advertised"] == "LOGIN XOAUTH2"
    assert ev.log_facts["mechanism_chosen"] == "LOGIN"
    assert ev.client_software == "JavaMail"
    rebuilt = next(line for line in record.lines if line.text.startswith("535 "))
    assert rebuilt.direction == "server" and any("exception message" in a for a in rebuilt.annotations)
    top = record.diagnosis.top
    assert top.id == "basic_auth_mechanism_used_when_disabled"
    assert any("SMTP.Send" in step for step in top.fix)


def test_pop3_capa_challenge_and_response() -> None:
    _, [record] = sessions_of("curl_pop3_xoauth2.log")
    ev = record.evidence
    assert ev.protocol == "pop3" and ev.port == 995 and ev.security == "tls"
    assert {"SASL", "AUTH=PLAIN", "AUTH=XOAUTH2", "USER"} <= set(ev.capabilities_pre_tls) and ev.capabilities_post_tls is None
    [exchange] = ev.sasl
    assert not exchange.sasl_ir and exchange.client_payload.startswith("<SASL XOAUTH2")
    assert "user=pop@contoso.com" in exchange.client_payload and "eyJ0eXAi" not in exchange.client_payload
    assert exchange.result == "NO" and ev.auth_text.startswith("-ERR Authentication failure")


def test_smtp_multiline_refusal_is_kept_whole() -> None:
    _, [record] = sessions_of("thunderbird_smtp_gmail.log")
    ev = record.evidence
    assert ev.server_family == "gmail" and ev.security == "tls"
    assert ev.auth_text.startswith("535 5.7.8 Username and Password not accepted.")
    assert "BadCredentials" in ev.auth_text
    assert ev.sasl[0].challenge_json == [{"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}]


def test_pasted_text_and_session_labels_for_the_console() -> None:
    text = (SAMPLES / "jira_seed.log").read_text()
    scan = LogScan(text.splitlines())
    labels = [session.label() for session in scan.sessions()]
    assert labels == [
        "#1  line 1  imap  outlook.office365.com  user_name@atl.onmicrosoft.com  javamail",
        "#2  line 10  imap  outlook.office365.com  user_name@atl.onmicrosoft.com  javamail",
    ]
    assert scan.format == "javamail" and scan.notes == []


def test_replay_emits_the_same_events_as_a_live_session() -> None:
    from mailscope.events import DiagnosisUpdated, EvidenceChanged, LineAdded, SessionFinished

    [session, _] = list(LogScan((SAMPLES / "jira_seed.log").read_text().splitlines()).sessions())
    record = SessionRecord(diagnoser=DIAGNOSER)
    events = []
    record.subscribe(events.append)
    replay(session, record)
    kinds = {type(e) for e in events}
    assert {LineAdded, EvidenceChanged, DiagnosisUpdated, SessionFinished} <= kinds
    assert isinstance(events[-1], SessionFinished)
    assert record.diagnosis.top.id == "basic_auth_mechanism_used_when_disabled"


def test_client_answer_to_the_error_challenge_is_kept() -> None:
    for name in ("imaplib_gmail.log", "imapflow_interleaved.jsonl", "thunderbird_smtp_gmail.log"):
        _, records = sessions_of(name)
        [record] = [r for r in records if r.evidence.sasl and r.evidence.sasl[0].challenge_json]
        texts = [(line.direction, line.text) for line in record.lines if line.direction != "info"]
        challenge = next(i for i, (d, t) in enumerate(texts) if d == "server" and ("+ eyJ" in t or "334 eyJ" in t))
        assert texts[challenge + 1] == ("client", ""), name


def test_javamail_pop3_password_login_is_seen_through_the_suppressed_trace() -> None:
    _, [record] = sessions_of("javamail_pop3_exchange.log")
    ev = record.evidence
    assert ev.protocol == "pop3" and ev.port == 995 and ev.security == "tls" and ev.login_used
    assert ev.auth_text == "-ERR Authentication failure: unknown user name or bad password."
    assert "AUTH=XOAUTH2" in ev.capabilities_pre_tls and ev.capabilities_post_tls is None
    assert record.diagnosis.top.id == "basic_auth_mechanism_used_when_disabled"


def test_javamail_smtp_success_from_the_verdict_line() -> None:
    _, [record] = sessions_of("javamail_smtp_success.log")
    ev = record.evidence
    assert ev.auth_result == "OK" and "succeeded" in ev.auth_text
    assert ev.sasl[0].mechanism == "XOAUTH2" and ev.sasl[0].result == "OK"


def test_transcript_times_come_from_the_log() -> None:
    _, records = sessions_of("imapflow_interleaved.jsonl")
    exchange = next(r for r in records if r.evidence.host == "outlook.office365.com")
    times = [(line.text[:12], round(line.t, 3)) for line in exchange.lines if line.direction != "info"]
    assert times[0] == ("* OK The Mic", 0.05)  # 50 ms after the connection record
    assert [t for _, t in times] == sorted(t for _, t in times)
    assert all(line.channel == "log" for line in exchange.lines if line.direction == "info")


def test_leaked_tokens_are_found_registered_and_inspected() -> None:
    from mailscope.logs.tokens import leaked_tokens
    from providers.inspect import inspect_token

    with (SAMPLES / "postfix_sasl_xoauth2.log").open("rb") as stream:
        first = next(iter(LogScan(stream).sessions()))
    [token] = leaked_tokens(first)
    assert token.reveal().startswith("eyJ0eXAi") and "Secret" in repr(token) and "eyJ" not in repr(token)
    record = SessionRecord(diagnoser=DIAGNOSER)
    replay(first, record, inspect_token=inspect_token)
    assert record.token.claims["aud"] == "https://graph.microsoft.com"
    top = record.diagnosis.top
    assert top.id == "ms_graph_scope_or_audience" and top.confirmed
    dump = json.dumps([line.text for line in record.lines]) + repr(record.evidence) + repr(record.token)
    assert token.reveal() not in dump and token.reveal()[20:40] not in dump
    with (SAMPLES / "mailkit_exchange_not_connected.log").open("rb") as stream:
        assert all(leaked_tokens(s) == [] for s in LogScan(stream).sessions())  # MailKit prints ******** instead


def test_postfix_attempts_are_sessions() -> None:
    _, records = sessions_of("postfix_sasl_xoauth2.log")
    refused, plugin_failed, delivered = records
    assert refused.evidence.auth_text.startswith("535 5.7.3 Authentication unsuccessful")
    assert refused.evidence.port == 587 and refused.evidence.security == "starttls"
    assert plugin_failed.evidence.token_endpoint_errors[0].startswith("AADSTS700082")
    assert any("generic failure" in e for e in plugin_failed.evidence.exceptions)
    assert plugin_failed.diagnosis.top.id == "ms_refresh_token_invalid_grant"
    assert "status=sent" in delivered.outcome.summary


def test_javamail_connect_lines_join_the_thread_that_speaks_next() -> None:
    """JavaMail prints its own lines without the product's thread prefix; each `trying to connect` belongs to the
    connection whose greeting follows, whatever thread that is."""
    _, records = sessions_of("jira_threads_debug.log")
    by_mechanism = {r.evidence.mechanism: r for r in records}
    for mechanism, first_client in (("XOAUTH2", "A0 CAPABILITY"), ("LOGIN", "B0 CAPABILITY")):
        record = by_mechanism[mechanism]
        assert record.evidence.port == 993 and record.evidence.security == "tls"
        assert [line.text for line in record.lines if line.direction == "client"][0] == first_client
    fault = next(r for r in records if r.evidence.fault is not None)
    assert fault.evidence.fault.kind == "dns_failure" and fault.evidence.host == "imap.contoso-typo.com"
    assert "Spring2026!" not in json.dumps([line.text for r in records for line in r.lines])


def test_a_prefixed_mailbox_check_and_logout_reach_the_parser() -> None:
    """A Jira thread's `IUS2 EXAMINE INBOX` and `IUS3 LOGOUT` hold no other mail marker: without their own, they were
    skipped and the session read as a mailbox the server refused (its `* BYE` taken for the end of the mailbox check)."""
    prefix = "[Alerts Incident] Caesium-1-0 anonymous Incident ITSM"
    lines = [
        'IMAPS: trying to connect to host "outlook.office365.com", port 993, isSSL true',
        f"{prefix} * OK The Microsoft Exchange IMAP4 service is ready.",
        f"{prefix} IUS0 CAPABILITY",
        f"{prefix} * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR",
        f"{prefix} IUS0 OK CAPABILITY completed.",
        "IMAPS: AUTHENTICATE XOAUTH2 command trace suppressed",
        "IMAPS: AUTHENTICATE XOAUTH2 command result: IUS1 OK AUTHENTICATE completed.",
        f"{prefix} IUS2 EXAMINE INBOX",
        f"{prefix} * 12 EXISTS",
        f"{prefix} IUS2 OK [READ-ONLY] EXAMINE completed.",
        f"{prefix} IUS3 LOGOUT",
        f"{prefix} * BYE Microsoft Exchange Server IMAP4 server signing off.",
        f"{prefix} IUS3 OK LOGOUT completed.",
    ]
    scan = LogScan(lines)
    [session] = list(scan.sessions())
    record = SessionRecord(diagnoser=DIAGNOSER)
    replay(session, record)
    assert scan.format == "javamail"
    clients = [line.text for line in record.lines if line.direction == "client"]
    assert clients == ["IUS0 CAPABILITY", "IUS1 AUTHENTICATE XOAUTH2", "IUS2 EXAMINE INBOX", "IUS3 LOGOUT"]
    assert str(record.outcome.kind) == "authenticated_mailbox_reachable"
