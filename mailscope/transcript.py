"""The one way a protocol line becomes a transcript line and evidence: the session's Conversation
(`mailscope.protocols`) reads it, the SessionRecord stores it (redacted) and announces what it proves.
The live probe's wire tap and the log replayer both go through `Transcript.line`."""

from __future__ import annotations

from mailscope.events import Channel, Direction, TranscriptLine
from mailscope.protocols import Conversation, Fed
from mailscope.record import SessionRecord


class Transcript:
    def __init__(self, record: SessionRecord, conversation: Conversation) -> None:
        self.record = record
        self.conversation = conversation
        self.channel = Channel(conversation.protocol.value)

    def line(
        self,
        direction: Direction,
        text: str,
        *,
        nbytes: int | None = None,
        annotations: tuple[str, ...] = (),
        t: float | None = None,
        wall_time: str | None = None,
    ) -> tuple[TranscriptLine, Fed]:
        """Store one wire line (raw text, CRLF removed); `nbytes` defaults to its UTF-8 length."""
        fed = self.conversation.feed(direction, text, len(self.record.lines) + 1)
        line = self.record.add_line(
            direction,
            fed.text,
            nbytes=len(text.encode("utf-8", "surrogateescape")) if nbytes is None else nbytes,
            channel=self.channel,
            annotations=fed.annotations + annotations if annotations else fed.annotations,
            t=t,
            wall_time=wall_time,
        )
        self.apply(fed)
        return line, fed

    def apply(self, fed: Fed) -> None:
        """The evidence part of a Fed: new SASL exchange, command answer, changed fields (only real changes)."""
        if fed.sasl is None and fed.sasl_touched is None and fed.command is None and not fed.changes:
            return  # most lines prove nothing new
        evidence = self.record.evidence
        touched: list[str] = []
        changed: list[object] = []
        if fed.sasl is not None:
            evidence.sasl.append(fed.sasl)
            changed.append(fed.sasl)
        if fed.sasl_touched is not None and fed.sasl_touched is not fed.sasl:
            changed.append(fed.sasl_touched)
        if changed:
            touched.append("sasl")
        if fed.command is not None:
            evidence.commands.append(fed.command)
            changed.append(fed.command)
            touched.append("commands")
        if fed.changes:  # most lines change no field
            changes = {name: value for name, value in fed.changes.items() if getattr(evidence, name) != value}
            if changes:
                self.record.update_evidence(**changes)
        if touched:
            self.record.evidence_touched(*touched, changed=tuple(changed))
