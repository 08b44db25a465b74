"""Explain mode's plain words, per kind of protocol line."""

from __future__ import annotations

import pytest

from mailscope.events import Channel, Direction, TranscriptLine
from mailscope.explain import explain_line


def line(direction: Direction, text: str, channel: Channel = Channel.IMAP) -> TranscriptLine:
    return TranscriptLine(1, 0.0, direction, text, len(text), channel)


@pytest.mark.parametrize(
    ("direction", "text", "expected"),
    [
        (Direction.SERVER, "* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR", "SASL mechanisms it accepts: PLAIN, XOAUTH2"),
        (Direction.SERVER, "* OK The Microsoft Exchange IMAP4 service is ready. [TQBS]", "Microsoft Exchange"),
        (Direction.SERVER, "* OK Gimap ready for requests from 1.2.3.4", "Gmail"),
        (Direction.CLIENT, "A2 AUTHENTICATE PLAIN <SASL PLAIN user=a password=<redacted>>", "PASSWORD (basic auth)"),
        (Direction.CLIENT, "A2 AUTHENTICATE XOAUTH2 <SASL XOAUTH2 ...>", "OAuth2 bearer token"),
        (Direction.SERVER, "A2 NO AUTHENTICATE failed.", "refuses the sign-in"),
        (Direction.SERVER, "A3 BAD User is authenticated but not connected.", "will not open the mailbox"),
        (Direction.SERVER, "+ eyJzdGF0dXMiOiI0MDAifQ==", "base64 JSON challenge"),
        (Direction.CLIENT, "", "empty line"),
        (Direction.SERVER, "A2 OK AUTHENTICATE completed.", "authentication succeeded"),
        (Direction.CLIENT, "A1 LOGIN alice <redacted>", "basic auth"),
    ],
)
def test_imap_lines(direction, text, expected):
    assert expected in explain_line(line(direction, text))


def test_smtp_and_info():
    assert "accepts the sign-in" in explain_line(line(Direction.SERVER, "235 2.7.0 Authentication successful", Channel.SMTP))
    assert explain_line(line(Direction.INFO, "connecting")) == ""
    assert explain_line(line(Direction.SERVER, "* SOMETHING odd")) == ""
