"""Whatever a log holds, every format's parser, the assembler and the replay finish without an exception."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.logs import FORMATS, LogScan, replay
from mailscope.record import SessionRecord

FRAGMENTS = [
    "* OK The Microsoft Exchange IMAP4 service is ready.", "A1 AUTHENTICATE XOAUTH2 dXNlcj1hQGIBYXV0aD1CZWFyZXIgeHl6AQE=",
    "+ eyJzdGF0dXMiOiI0MDAifQ==", "A1 NO AUTHENTICATE failed.", "IMAPS: trying to connect to host \"h\", port 993, isSSL true",
    "IMAPS: AUTHENTICATE PLAIN command result: A1 NO x", "+OK", "-ERR x", "CAPA", "SASL PLAIN", ".", "220 h ESMTP", "250-AUTH LOGIN",
    "334 ", "535 5.7.3 x", "C: A1 LOGIN a b", "S: * BYE", "> b'A1 CAPABILITY'", "< b'* OK'", '{"cid":"1","src":"s","msg":"* OK"}',
    "D/SMTP S: 220 x", "I/IMAP 7f:h:NA:SendData: 1 capability", "IMAP (a; b->c:993)     <-- b'* OK\\r\\n'", "* Connected to h (1) port 993",
    "postfix/smtp[1]: SASL authentication failed; server h[1] said: 535 x", "javax.mail.AuthenticationFailedException: x",
    "AADSTS50076: x", "\x00\x01\x1b[2J", "\udcff", "[A] T-1-2 u * OK", "Connected to imaps://h:993/",
]  # fmt: skip

lines = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=80)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(lines=lines, format=st.sampled_from(("auto", *FORMATS)))
def test_any_lines_any_format(lines: list[str], format: str) -> None:
    scan = LogScan(lines, format)
    for session in scan.sessions():
        record = SessionRecord()
        replay(session, record)
        assert record.outcome is not None
        session.label()
    assert isinstance(scan.notes, list)


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=4000))
def test_any_bytes(data: bytes) -> None:
    for session in LogScan(io.BytesIO(data)).sessions():
        replay(session, SessionRecord())
