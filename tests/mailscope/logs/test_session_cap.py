"""A session keeps at most MAX_ITEMS items: what goes is the middle, so a sign-in after a flood (5,000 capability
lines, then AUTH) is still replayed and diagnosed, and the note of what was left out stands where it was."""

from __future__ import annotations

from mailscope.events import Channel, Direction
from mailscope.logs import replay
from mailscope.logs.model import ImportedSession, ItemKind, LogItem
from mailscope.record import SessionRecord

C, S = Direction.CLIENT, Direction.SERVER


def _session(lines: list[tuple[Direction, str]], cap: int) -> ImportedSession:
    session = ImportedSession(1, "generic")
    for number, (direction, text) in enumerate(lines, start=1):
        session.add(LogItem(ItemKind.WIRE, text, direction=direction, channel=Channel.POP3, lineno=number), cap)
    return session


def test_the_head_and_the_latest_items_are_kept_the_middle_is_dropped() -> None:
    lines = [(S, "+OK ready"), (C, "CAPA"), (S, "+OK"), *((S, f"X-CAP-{i}") for i in range(500)), (S, "SASL XOAUTH2"), (S, "."),
             (C, "USER alice@contoso.com"), (S, "+OK"), (C, "PASS hunter2-hunter2"), (S, "+OK logged in"),
             (C, "STAT"), (S, "+OK 1 2")]  # fmt: skip
    session = _session(lines, cap=100)
    texts = [item.text for item in session.items]
    assert len(texts) <= 100 and session.dropped_items == len(lines) - len(texts)
    assert texts[:3] == ["+OK ready", "CAPA", "+OK"] and texts[-8:] == [text for _, text in lines[-8:]]
    record = SessionRecord()
    replay(session, record)
    shown = [line.text for line in record.lines]
    note = next(i for i, text in enumerate(shown) if "were not kept here" in text)
    assert shown[note - 1].startswith("X-CAP-") and shown[note + 1].startswith("X-CAP-")
    assert record.evidence.auth_result == "OK" and "AUTH=XOAUTH2" in (record.evidence.capabilities or ())
