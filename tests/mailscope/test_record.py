"""SessionRecord stores only redacted, control-escaped text, whatever shape the text arrives in."""

from __future__ import annotations

from mailscope.events import Direction
from mailscope.evidence import Fault, FaultKind, TlsFacts
from mailscope.record import SessionRecord

TOKEN = "ya29.a0AfH6SMBx-secret-token-value-0123456789"


def test_line_annotations_are_redacted_and_escaped() -> None:
    record = SessionRecord()
    line = record.add_line(Direction.SERVER, "+ e30=", annotations=(f"decoded: {TOKEN}", "bell \x07 \x1b[2J"))
    assert TOKEN not in "".join(line.annotations)
    assert "\x07" not in line.annotations[1] and "\x1b" not in line.annotations[1]


def test_evidence_text_inside_tuples_faults_and_tls_facts_is_redacted() -> None:
    record = SessionRecord()
    record.update_evidence(
        capabilities_pre_tls=("IMAP4rev1", "X-\x1b[31mRED"),
        fault=Fault(FaultKind.PROTOCOL_ERROR, f"the library said {TOKEN}", "session", 3),
        tls=TlsFacts(peer_subject="commonName=\x1b]0;owned\x07", verified=True),
    )
    evidence = record.evidence
    assert evidence.capabilities_pre_tls == ("IMAP4rev1", "X-\\e[31mRED")
    assert evidence.fault is not None and TOKEN not in evidence.fault.detail
    assert evidence.fault.kind is FaultKind.PROTOCOL_ERROR and evidence.fault.line_seq == 3
    assert evidence.tls is not None and "\x1b" not in (evidence.tls.peer_subject or "") and evidence.tls.verified is True


def test_clean_deep_keeps_empty_containers_and_enum_members_as_they_are() -> None:
    from dataclasses import dataclass, field
    from enum import StrEnum

    from mailscope.record import MAX_DEPTH, clean_deep

    class Colour(StrEnum):
        RED = "red\x1b"

    @dataclass
    class Holder:
        items: list[str] = field(default_factory=list)
        pairs: dict[str, str] = field(default_factory=dict)
        words: tuple[str, ...] = ()
        colour: Colour = Colour.RED
        note: str = "a\x1bb"

    def shout(text: str) -> str:
        return text.upper()

    holder = Holder()
    items, pairs, words = holder.items, holder.pairs, holder.words
    assert clean_deep(holder, lambda key, value: value, shout) is holder
    assert holder.items is items and holder.pairs is pairs and holder.words is words  # the same objects, still empty
    assert holder.colour is Colour.RED and holder.note == "A\x1bB"
    nested: list = []
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    cleaned = clean_deep(nested, lambda key, value: value, shout)
    for _ in range(MAX_DEPTH):
        cleaned = cleaned[0]
    assert cleaned == ["<nested too deep>"]  # an empty list past the depth limit is cut like any other
