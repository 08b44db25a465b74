"""Importers of third-party clients' own log formats, as tables: the client's lines in (shapes from the real-client
corpus, tests/corpus/logs, with short stand-in secrets), the evidence out (format, sessions, protocol, outcome, the
server's answer, the rebuilt lines)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from mailscope.diagnosis import make_diagnoser
from mailscope.logs import LogScan, detect_format, replay
from mailscope.record import SessionRecord
from providers.registry import provider_rules

DIAGNOSER = make_diagnoser(provider_rules())
GREETING = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANAA=]"


def records_of(text: str) -> tuple[str, list[SessionRecord]]:
    scan = LogScan(io.BytesIO(text.encode()), "auto")
    records = []
    for session in scan.sessions():
        record = SessionRecord(diagnoser=DIAGNOSER)
        replay(session, record)
        records.append(record)
    return scan.format, records


@dataclass(frozen=True)
class Case:
    lines: str
    format: str
    protocol: str
    outcome: str
    auth_text: str  # the server's answer to the sign-in, "" when none
    mechanism: str | None = None
    rebuilt: str = ""  # the start of a transcript line the importer rebuilt or restored, when the client's log lacks it


CASES = {
    "emailjs: one session per logger, hidden response": Case(
        "\n".join(
            f"[DEBUG][2026-12-04T01:34:09.8{i:02d}Z][1][alice@contoso.com][outlook.office365.com] {m}"
            for i, m in enumerate([
                "Connecting to outlook.office365.com : 993", f"S: {GREETING}", "C: W1 CAPABILITY",
                "S: * CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR", "S: W1 OK CAPABILITY completed.", "Logging in...",
                'C: W3 AUTHENTICATE XOAUTH2 "(* value hidden *)"', "S: W3 NO AUTHENTICATE failed.", "Closing connection...",
            ])
        ) + "\n[ERROR][2026-12-04T01:34:09.830Z][1][alice@contoso.com][outlook.office365.com] Could not connect to server "
            "Error: AUTHENTICATE failed.\nemailjs-imap-client failed: AUTHENTICATE failed.",
        "emailjs", "imap", "authentication_failed", "W3 NO AUTHENTICATE failed.", "XOAUTH2",
    ),
    "emailjs: LOGIN user the logger shortened comes back from its prefix": Case(
        "[DEBUG][2026-12-04T01:34:09.797Z][1][alice@contoso.com][outlook.office365.com] Connecting to outlook.office365.com : 993\n"
        f"[DEBUG][2026-12-04T01:34:09.798Z][1][alice@contoso.com][outlook.office365.com] S: {GREETING}\n"
        '[DEBUG][2026-12-04T01:34:09.799Z][1][alice@contoso.com][outlook.office365.com] C: W3 login "(* 17B string *)" '
        '"(* value hidden *)"\n'
        "[DEBUG][2026-12-04T01:34:09.800Z][1][alice@contoso.com][outlook.office365.com] S: W3 NO LOGIN failed.",
        "emailjs", "imap", "authentication_failed", "W3 NO LOGIN failed.", "LOGIN", 'W3 LOGIN "alice@contoso.com"',
    ),
    "getmail6 IMAP XOAUTH2: the sign-in rebuilt from its configuration and imaplib's error": Case(
        '    type="SimpleIMAPSSLRetriever"\n    parameter server="outlook.office365.com"\n    parameter port="993"\n'
        '    parameter username="alice@contoso.com"\n    parameter use_xoauth2="True"\n'
        "getmail version 6.20.02\n"
        "_connect() [_retrieverbases.py:701] establishing IMAP SSL connection to outlook.office365.com:993 with ca_certs x\n"
        "_connect() [_retrieverbases.py:767] IMAP SSL connection <getmailcore.X object at 0x7f> established with fingerprint ab\n"
        "initialize() [_retrieverbases.py:1959] logging in\n"
        "getmailrc: credential/login error (AUTHENTICATE failed.)\n",
        "getmail", "imap", "authentication_failed", "G1 NO AUTHENTICATE failed.", "XOAUTH2", "G1 AUTHENTICATE XOAUTH2",
    ),
    "getmail6 IMAP BAD answers the command itself: no token sent": Case(
        '    type="SimpleIMAPRetriever"\n    parameter server="mail.example.com"\n    parameter port="143"\n'
        '    parameter username="alice@example.com"\n    parameter use_xoauth2="True"\n'
        "_connect() [_retrieverbases.py:623] IMAP connection <imaplib.IMAP4 object at 0x7f> established\n"
        "initialize() [_retrieverbases.py:1959] logging in\n"
        "getmailrc: credential/login error (AUTHENTICATE command error: BAD [b'Command received in Invalid state.'])\n",
        "getmail", "imap", "authentication_failed", "G1 BAD Command received in Invalid state.", "XOAUTH2",
    ),
    "getmail6 after sign-in: the refused EXAMINE is rebuilt with its mailbox": Case(
        '    type="SimpleIMAPSSLRetriever"\n    parameter server="outlook.office365.com"\n    parameter port="993"\n'
        '    parameter username="bob@contoso.com"\n    parameter use_xoauth2="True"\n'
        "_connect() [_retrieverbases.py:701] establishing IMAP SSL connection to outlook.office365.com:993\n"
        "initialize() [_retrieverbases.py:1959] logging in\ninitialize() [_retrieverbases.py:1983] logged in\n"
        'selecting mailbox "INBOX"\n'
        "getmailrc: operation error (IMAP error (EXAMINE command error: BAD [b'User is authenticated but not connected.']))\n",
        "getmail", "imap", "authenticated_but_mailbox_refused", "G1 OK", "XOAUTH2", "G2 EXAMINE INBOX",
    ),
    "getmail6 POP3: a refused UIDL means the sign-in was accepted": Case(
        '    type="SimplePOP3SSLRetriever"\n    parameter server="outlook.office365.com"\n    parameter port="995"\n'
        '    parameter username="alice@contoso.com"\n    parameter use_xoauth2="True"\n'
        "_connect() [_retrieverbases.py:555] establishing POP3 SSL connection to outlook.office365.com:995 with ca_certs x\n"
        "_connect() [_retrieverbases.py:602] POP3 SSL connection <getmailcore.X object at 0x7f> established with fingerprint ab\n"
        "getmailrc: operation error (POP error (b'-ERR User is authenticated but not connected.') - if your server does not "
        "support the UIDL command, use BrokenUIDLPOP3Retriever instead)\n",
        "getmail", "pop3", "authenticated_but_mailbox_refused", "+OK", "XOAUTH2", "UIDL",
    ),
    "curl --trace-ascii: rows joined at 64 bytes, split at CRLF": Case(
        "01:43:43.803547 == Info: Connected to 127.0.0.1 (127.0.0.1) port 24993 (#0)\n"
        "01:43:43.804000 <= Recv header, 33 bytes (0x21)\n0000: * OK IMAP4 ready for requests now\n"
        "01:43:43.805000 => Send header, 17 bytes (0x11)\n0000: A001 CAPABILITY\n"
        "01:43:43.806000 <= Recv header, 55 bytes (0x37)\n0000: * CAPABILITY IMAP4rev1 AUTH=PLAIN\n0021: A001 OK done\n"
        "01:43:43.807000 => Send header, 105 bytes (0x69)\n"
        "0000: A002 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldC1wYXNzd29yZC1v\n"
        "0040: bmUtdHdvLXRocmVl\n"
        "01:43:43.808000 <= Recv header, 29 bytes (0x1d)\n0000: A002 NO [AUTHENTICATIONFAILED]\n",
        "curl", "imap", "authentication_failed", "A002 NO [AUTHENTICATIONFAILED]", "PLAIN",
    ),
    "curl -v on an unknown port: the greeting names the protocol": Case(
        "* Connected to 127.0.0.1 (127.0.0.1) port 24995 (#0)\n} [5 bytes data]\n* SSL connection using TLSv1.3 / X\n"
        "< +OK The Microsoft Exchange POP3 service is ready.\n} [5 bytes data]\n> AUTH XOAUTH2\n< + \n> *\n"
        "< -ERR Authentication failure: unknown user name or bad password.\n",
        "curl", "pop3", "authentication_failed", "-ERR Authentication failure: unknown user name or bad password.", "XOAUTH2",
    ),
    "NeoMutt level 5: records keyed by fd, a write without CRLF runs into the next record": Case(
        "[2026-12-04 01:44:53] NeoMutt-20220429 debugging at level 5\n"
        "[2026-12-04 01:44:54]<2> mutt_socket_open() Connected to outlook.office365.com:993 on fd=4\n"
        f"[2026-12-04 01:44:54]<5> mutt_socket_readln_d() 4< {GREETING}\n"
        "[2026-12-04 01:44:54]<2> mutt_socket_write_d() 4> a0000 CAPABILITY\n"
        "[2026-12-04 01:44:54]<5> mutt_socket_readln_d() 4< * CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR\n"
        "[2026-12-04 01:44:54]<5> mutt_socket_readln_d() 4< a0000 OK CAPABILITY completed.\n"
        "[2026-12-04 01:44:54]<M> imap_auth_oauth_xoauth2() Authenticating (XOAUTH2)...\n"
        "[2026-12-04 01:44:54]<5> mutt_socket_write_d() 4> a0001 AUTHENTICATE XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHgBAQ==\n"
        "[2026-12-04 01:44:54]<5> mutt_socket_readln_d() 4< + eyJzdGF0dXMiOiI0MDAifQ==\n"
        "[2026-12-04 01:44:54]<2> mutt_socket_write_d() 4> [2026-12-04 01:44:54]<5> mutt_socket_readln_d() 4< a0001 NO "
        "AUTHENTICATE failed.\n",
        "mutt", "imap", "authentication_failed", "a0001 NO AUTHENTICATE failed.", "XOAUTH2",
    ),
    "mutt below level 5: the hidden AUTHENTICATE is rebuilt from 'Authenticating' and the tagged answer": Case(
        "[2026-12-04 01:33:35] Mutt/2.2.12 (2023-09-09) debugging at level 4\n"
        "[2026-12-04 01:33:35] Connected to outlook.office365.com:993 on fd=4\n"
        f"[2026-12-04 01:33:35] 4< {GREETING}\n"
        "[2026-12-04 01:33:35] 4> a0000 CAPABILITY\n"
        "[2026-12-04 01:33:35] 4< a0000 OK CAPABILITY completed.\n"
        "[2026-12-04 01:33:35] Authenticating (XOAUTH2)...\n"
        "[2026-12-04 01:33:35] 4< a0001 NO AUTHENTICATE failed.\n",
        "mutt", "imap", "authentication_failed", "a0001 NO AUTHENTICATE failed.", "XOAUTH2", "a0001 AUTHENTICATE XOAUTH2",
    ),
    "email-oauth2-proxy: the '; account' label is the same connection; released lines are the server's": Case(
        "\n".join(
            f"2026-12-04 01:33:54,4{i:02d}: IMAP (127.0.0.1:58318-{{127.0.0.1:24143}}-127.0.0.1:24993{label}){line}"
            for i, (label, line) in enumerate([
                ("", " --> [ Client connected ]"), ("", f"     <-- b'{GREETING}\\r\\n'"),
                ("", " --> b'A1 LOGIN [[ Credentials removed from proxy log ]]\\r\\n'"),
                ("", "     --> b'A1 AUTHENTICATE XOAUTH2 '"), ("", "     --> b'[[ Credentials removed from proxy log ]]\\r\\n'"),
                ("; bob@contoso.com", "     <-- b'A1 OK AUTHENTICATE completed.\\r\\n'"),
                ("; bob@contoso.com", " [ Successfully authenticated IMAP connection - releasing session ]"),
                ("; bob@contoso.com", " <-- b'A1 OK AUTHENTICATE completed.\\r\\n'"),
                ("; bob@contoso.com", " --> b'A2 EXAMINE INBOX\\r\\n'"),
                ("; bob@contoso.com", " <-- b'A2 BAD User is authenticated but not connected.\\r\\n'"),
            ])
        ),
        "emailproxy", "imap", "authenticated_but_mailbox_refused", "A1 OK AUTHENTICATE completed.", "XOAUTH2",
    ),
    "email-oauth2-proxy excerpt that starts after the release: the OK to AUTHENTICATE hands the session over": Case(
        "2022-06-08 10:15:02,114: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993)     <-- b'A1 OK AUTHENTICATE "
        "completed.\\r\\n'\n"
        "2022-06-08 10:15:02,120: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993) --> b'A2 SELECT INBOX\\r\\n'\n"
        "2022-06-08 10:15:02,131: IMAP (127.0.0.1:52231-{127.0.0.1:1993}-outlook.office365.com:993) <-- b'A2 BAD User is "
        "authenticated but not connected.\\r\\n'\n",
        "emailproxy", "imap", "authenticated_but_mailbox_refused", "A1 OK AUTHENTICATE completed.", None,
    ),
    "poplib: each line printed twice counts once, and it is POP3": Case(
        "*cmd* 'AUTH XOAUTH2'\n*put* b'AUTH XOAUTH2'\n*get* b'+ \\r\\n'\n*resp* b'+ '\n*cmd* '*'\n*put* b'*'\n"
        "*get* b'-ERR Authentication failure: unknown user name or bad password.\\r\\n'\n"
        "*resp* b'-ERR Authentication failure: unknown user name or bad password.'\n",
        "imaplib", "pop3", "authentication_failed", "-ERR Authentication failure: unknown user name or bad password.", "XOAUTH2",
    ),
    "Postfix -v: the dialogue is the wire and the refusal line does not repeat it": Case(
        "Mar 11 09:14:02 relay postfix/smtp[24811]: > smtp.office365.com[52.96.165.18]:587: AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHgBAQ==\n"
        "Mar 11 09:14:03 relay postfix/smtp[24811]: < smtp.office365.com[52.96.165.18]:587: 535 5.7.3 Authentication unsuccessful\n"
        "Mar 11 09:14:03 relay postfix/smtp[24811]: 2D4F71C3A1: SASL authentication failed; server smtp.office365.com[52.96.165.18] "
        "said: 535 5.7.3 Authentication unsuccessful\n",
        "postfix", "smtp", "authentication_failed", "535 5.7.3 Authentication unsuccessful", "XOAUTH2",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_client_lines_give_the_evidence(name: str) -> None:
    case = CASES[name]
    found_format, records = records_of(case.lines)
    assert found_format == case.format
    assert detect_format(case.lines.splitlines()) == case.format
    [record] = records  # one connection, one session
    ev = record.evidence
    assert (ev.protocol, str(record.outcome.kind), ev.mechanism) == (case.protocol, case.outcome, case.mechanism)
    server_lines = [line.text for line in record.lines if line.direction.value == "server"]
    assert case.auth_text in server_lines if case.auth_text else not ev.auth_text
    assert server_lines.count(case.auth_text) == 1 or not case.auth_text  # a line two prints show is one line
    if case.rebuilt:
        line = next(line for line in record.lines if line.text.startswith(case.rebuilt))
        assert any("rebuilt" in a or "restored" in a for a in line.annotations), line.annotations


def test_getmail6_rebuilt_lines_say_so_and_hold_no_secret() -> None:
    _, [record] = records_of(CASES["getmail6 IMAP XOAUTH2: the sign-in rebuilt from its configuration and imaplib's error"].lines)
    wire = [line for line in record.lines if line.direction.value in ("client", "server")]
    assert [line.text for line in wire] == ["G1 AUTHENTICATE XOAUTH2", "+ ", "***", "G1 NO AUTHENTICATE failed."]
    assert all(any("getmail6 does not log protocol lines" in a for a in line.annotations) for line in wire)


def test_emailproxy_old_label_keeps_its_address_part() -> None:
    """An older release's label `(localhost:1993; 127.0.0.1:50511->host:993)`: the part after `; ` is an address."""
    text = (
        "2026-11-28 08:00:01,102: IMAP (localhost:1993; 127.0.0.1:50511->outlook.office365.com:993) --> [ Client connected ]\n"
        f"2026-11-28 08:00:01,220: IMAP (localhost:1993; 127.0.0.1:50511->outlook.office365.com:993)     <-- b'{GREETING}\\r\\n'\n"
    )
    _, [record] = records_of(text)
    assert record.evidence.host == "outlook.office365.com"


# A client's own error line that says which mechanism it used and how the server answered: (line, mechanism, auth_text:
# the answer without its tag, host).
CLIENT_ERRORS = {
    "c-client fell back to PLAIN": (
        "imap_open(): Couldn't open stream {outlook.office365.com:993/imap/novalidate-cert/ssl}. Retrying PLAIN authentication "
        "after AUTHENTICATE failed.; Can not authenticate to IMAP server: AUTHENTICATE failed.",
        "PLAIN", "NO AUTHENTICATE failed.", "outlook.office365.com",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CLIENT_ERRORS))
def test_client_error_lines_rebuild_the_exchange(name: str) -> None:
    line, mechanism, answer, host = CLIENT_ERRORS[name]
    _, [record] = records_of(line + "\n")
    assert (record.evidence.mechanism, record.evidence.auth_text, record.evidence.host) == (mechanism, answer, host)
    assert all("rebuilt" in " ".join(li.annotations) for li in record.lines if li.direction.value in ("client", "server"))


def test_node_imap_giving_up_on_logindisabled_is_a_missing_mechanism() -> None:
    text = (
        "[connection] Connected to host\n<= '* OK The Microsoft Exchange IMAP4 service is ready.'\n=> 'A0 CAPABILITY'\n"
        "<= '* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS MOVE ID'\n<= 'A0 OK CAPABILITY completed.'\n"
        "[connection] Ended\nnode-imap error: Logging in is disabled on this server authentication\n"
    )
    _, [record] = records_of(text)
    assert record.diagnosis.top is not None and record.diagnosis.top.id == "no_oauth_mechanism_before_starttls"
