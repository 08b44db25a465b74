"""The wire tap's recorder: raw chunks → lines → the IMAP conversation → the record, with structural redaction of
client lines (sans-IO)."""

from __future__ import annotations

import base64

from mailscope import sasl
from mailscope.events import Direction
from mailscope.probe.tap import WireRecorder
from mailscope.protocols.imap import ImapConversation
from mailscope.record import SessionRecord

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZUBleGFtcGxlLnRlc3QifQ.dGhpcy1pcy1hLXNpZ25hdHVyZQ"


def _recorder() -> tuple[SessionRecord, WireRecorder]:
    record = SessionRecord()
    recorder = WireRecorder(record, ImapConversation(record.redactor))
    recorder.feed(Direction.SERVER, b"* OK ready\r\n")
    return record, recorder


def test_authenticate_argument_is_described_structurally_even_when_split() -> None:
    record, recorder = _recorder()
    b64 = sasl.b64(sasl.xoauth2_payload("alice@x.test", TOKEN))
    line = f"A1 AUTHENTICATE XOAUTH2 {b64}\r\n".encode()
    for i in range(0, len(line), 7):
        recorder.feed(Direction.CLIENT, line[i : i + 7])
    stored = record.lines[-1]
    assert stored.text.startswith("A1 AUTHENTICATE XOAUTH2 <SASL XOAUTH2 user=alice@x.test ^A auth=Bearer <jwt 86 chars sha256:")
    assert stored.annotations == ("SASL XOAUTH2 initial response",)
    assert stored.nbytes == len(line) - 2 and TOKEN not in stored.text and b64 not in stored.text


def test_continuation_answers_and_challenge_are_annotated() -> None:
    record, recorder = _recorder()
    challenge = base64.b64encode(b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}').decode()
    recorder.feed(Direction.CLIENT, b"A1 AUTHENTICATE XOAUTH2\r\n")
    recorder.feed(Direction.SERVER, b"+ \r\n")
    recorder.feed(Direction.CLIENT, sasl.b64(sasl.xoauth2_payload("alice@x.test", TOKEN)).encode() + b"\r\n")
    recorder.feed(Direction.SERVER, f"+ {challenge}\r\n".encode())
    recorder.feed(Direction.CLIENT, b"\r\n")
    recorder.feed(Direction.SERVER, b"A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n")
    [exchange] = record.evidence.sasl
    texts = [(line.text, line.annotations) for line in record.lines[1:]]
    assert texts[0] == ("A1 AUTHENTICATE XOAUTH2", ())
    assert texts[2][1] == ("SASL XOAUTH2 response",) and texts[2][0].startswith("<SASL XOAUTH2 user=alice@x.test")
    assert texts[3][1] == ('SASL challenge, decoded: {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}',)
    assert texts[4] == ("", ("empty response: acknowledges the error challenge",))
    assert exchange.challenge_json == [{"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}]
    assert (exchange.result, exchange.command_seq, exchange.result_seq) == ("NO", 2, 7)
    assert exchange.result_text == "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
    recorder.feed(Direction.CLIENT, b"A2 NOOP\r\n")  # after the tagged answer: no longer a SASL response
    assert record.lines[-1].text == "A2 NOOP" and recorder.conversation.pending["A2"] == "NOOP"


def test_login_password_is_redacted_quoted_or_not() -> None:
    record, recorder = _recorder()
    recorder.feed(Direction.CLIENT, b'A1 LOGIN "alice@x.test" "pa\\"ss word"\r\n')
    recorder.feed(Direction.CLIENT, b"A2 LOGIN bob hunter2hunter2\r\n")
    first, second = record.lines[-2:]
    assert first.text.startswith('A1 LOGIN "alice@x.test" <password 10 chars sha256:') and "ss word" not in first.text
    assert second.text.startswith("A2 LOGIN bob <password 14 chars sha256:") and "hunter2" not in second.text


def test_untagged_bye_is_evidence_except_during_logout() -> None:
    record, recorder = _recorder()
    recorder.feed(Direction.SERVER, b"* BYE Session invalidated - AccessTokenExpired\r\n")
    assert record.evidence.untagged_bye == "* BYE Session invalidated - AccessTokenExpired"
    assert record.evidence.bye_seq == 2
    record2, recorder2 = _recorder()
    recorder2.feed(Direction.CLIENT, b"A9 LOGOUT\r\n")
    recorder2.feed(Direction.SERVER, b"* BYE Logging out\r\nA9 OK done\r\n")
    assert record2.evidence.untagged_bye is None


def test_unterminated_rest_is_kept_and_marked() -> None:
    record, recorder = _recorder()
    recorder.feed(Direction.SERVER, b"* OK half a li")
    recorder.close()
    assert record.lines[-1].text == "* OK half a li"
    assert record.lines[-1].annotations == ("incomplete line: the connection ended before CRLF",)


def test_a_secret_hidden_as_base64_inside_the_sasl_user_is_redacted_in_the_evidence_as_in_the_transcript() -> None:
    """The stored SASL description (shown as evidence) is redacted as deeply as the transcript line: a user name that is
    the base64 of `password=...` must not keep that base64 in `client_payload` when the line decodes and redacts it."""
    record, recorder = _recorder()
    hidden = base64.b64encode(b"password=hunter22-secret").decode()
    b64 = sasl.b64(sasl.xoauth2_payload(f"{hidden}@contoso.com", TOKEN))
    recorder.feed(Direction.CLIENT, f"A1 AUTHENTICATE XOAUTH2 {b64}\r\n".encode())
    [exchange] = record.evidence.sasl
    for text in (record.lines[-1].text, exchange.client_payload):
        assert hidden not in text and "hunter22" not in text and TOKEN not in text, text
        assert "<base64 of password=<" in text, text
