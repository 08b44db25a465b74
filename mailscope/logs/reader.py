"""Bounded, streaming line reading: the file is never loaded whole.

Input arrives in chunks; every line is capped at MAX_LINE bytes (longer lines are cut and noted);
NUL bytes mark binary garbage (noted, the line still reaches the parsers, escaped later).

Large inputs are read *anchored*: only the neighbourhood (RADIUS bytes either side) of a line holding
an anchor (`AUTH`, present in every SASL exchange, capability list and JavaMail auth trace) is split into
lines. Everything else is skipped at C speed with `bytes.find`, which is what keeps `mailscope logs`
within a small factor of `grep` on a 500 MB log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_LINE = 64 * 1024
CHUNK = 8 * 1024 * 1024
RADIUS = 96 * 1024
FULL_SCAN_LIMIT = 16 * 1024 * 1024  # inputs up to this size are read line by line, no anchoring
ANCHORS = (b"AUTH",)
TRUNCATION_MARK = b" [line cut by mailscope: too long]"


@dataclass(slots=True)
class ReadStats:
    bytes_read: int = 0
    lines_seen: int = 0  # lines counted (all of them, anchored or not)
    truncated_lines: list[tuple[int, int]] = field(default_factory=list)  # (lineno, original length), first 20
    truncated_count: int = 0
    binary_lines: int = 0
    first_binary_line: int | None = None
    anchored: bool = False

    def notes(self) -> list[str]:
        notes = []
        if self.truncated_count:
            where = ", ".join(f"line {n} ({size:,} bytes)" for n, size in self.truncated_lines[:5])
            notes.append(f"{self.truncated_count} over-long line(s) cut to {MAX_LINE // 1024} KiB: {where}")
        if self.binary_lines:
            notes.append(
                f"{self.binary_lines} line(s) hold binary data (NUL bytes), first at line {self.first_binary_line}: "
                "shown escaped; is this really a text log?"
            )
        if self.anchored:
            notes.append(
                f"large input: read only around lines mentioning AUTH (±{RADIUS // 1024} KiB); use --full-scan to read every line"
            )
        return notes


class LineReader:
    """Yields (lineno, raw line bytes without EOL) from a binary stream, bounded in memory."""

    def __init__(self, stream: BinaryIO, *, anchored: bool = False, chunk_size: int = CHUNK) -> None:
        self.stream = stream
        self.chunk_size = chunk_size
        self.stats = ReadStats(anchored=anchored)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        offset = 0  # absolute offset of the first byte of `carry`
        lines_before = 0  # newlines before `offset`
        carry = b""
        skipping = False  # inside an over-long line whose head was already yielded
        self._tail, self._tail_base = b"", 0  # complete lines just before `offset` (look-behind)
        self._emitted_until, self._reach = 0, 0
        while True:
            data = self.stream.read(self.chunk_size)
            self.stats.bytes_read += len(data)
            if not data:
                if carry:
                    lines_before += 1
                    yield from self._split(carry, 0, len(carry), lines_before - 1)
                self.stats.lines_seen = lines_before
                return
            if skipping:
                cut = data.find(b"\n")
                offset += len(data) if cut < 0 else cut + 1
                if cut < 0:
                    continue
                skipping, data = False, data[cut + 1 :]
                self._tail, self._tail_base, self._emitted_until = b"", offset, offset
            chunk = carry + data if carry else data
            last_nl = chunk.rfind(b"\n")
            if last_nl < 0 and len(chunk) <= MAX_LINE:
                carry = chunk
                continue
            if last_nl < 0:  # an enormous line: yield its head, skip to its end
                lines_before += 1
                yield self._truncated(lines_before, chunk)
                offset += len(chunk)
                carry, skipping = b"", True
                continue
            body, carry = chunk[: last_nl + 1], chunk[last_nl + 1 :]
            if self.stats.anchored:
                yield from self._anchored(body, offset, lines_before)
            else:
                yield from self._split(body, 0, len(body), lines_before)
            lines_before += body.count(b"\n")
            offset += len(body)
            if len(carry) > MAX_LINE:
                lines_before += 1
                yield self._truncated(lines_before, carry)
                offset += len(carry)
                carry, skipping = b"", True

    # -- internals -------------------------------------------------------------------------
    def _anchored(self, body: bytes, base: int, lines_before: int) -> Iterator[tuple[int, bytes]]:
        end = base + len(body)
        regions: list[list[int]] = []
        if self._reach > base:  # an anchor in an earlier chunk reaches into this one
            regions.append([base, min(self._reach, end)])
        for anchor in ANCHORS:
            i = body.find(anchor)
            while i >= 0:
                at = base + i
                self._reach = max(self._reach, at + RADIUS)
                start, stop = at - RADIUS, min(at + RADIUS, end)
                if regions and start <= regions[-1][1]:
                    regions[-1][1] = max(regions[-1][1], stop)
                else:
                    regions.append([start, stop])
                i = body.find(anchor, max(i + len(anchor), stop - base))
        if regions:
            lower = max(self._emitted_until, self._tail_base)
            if regions[0][0] < base and lower < base:
                buf, buf_base = self._tail + body, self._tail_base
                lines_before_buf = lines_before - self._tail.count(b"\n")
            else:
                buf, buf_base, lines_before_buf = body, base, lines_before
            for start, stop in regions:
                s = max(start, lower, buf_base) - buf_base
                e = stop - buf_base
                if s >= e:
                    continue
                s = buf.rfind(b"\n", 0, s) + 1 if s > 0 else 0
                nl = buf.find(b"\n", max(e - 1, s))
                e = len(buf) if nl < 0 else nl + 1
                yield from self._split(buf, s, e, lines_before_buf + buf.count(b"\n", 0, s))
                lower = self._emitted_until = buf_base + e
        tail = (self._tail + body)[-RADIUS:] if len(body) < RADIUS else body[-RADIUS:]
        cut = tail.find(b"\n") + 1 if len(tail) == RADIUS else 0
        self._tail, self._tail_base = tail[cut:], end - len(tail) + cut

    def _split(self, buf: bytes, start: int, stop: int, lines_before: int) -> Iterator[tuple[int, bytes]]:
        lineno, pos = lines_before, start
        while pos < stop:
            end = buf.find(b"\n", pos, stop)
            if end < 0:
                end = stop
            lineno += 1
            line = buf[pos:end]
            pos = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > MAX_LINE:
                yield self._truncated(lineno, line)
                continue
            if b"\0" in line:
                self._binary(lineno)
            yield lineno, line

    def _truncated(self, lineno: int, line: bytes) -> tuple[int, bytes]:
        self.stats.truncated_count += 1
        if len(self.stats.truncated_lines) < 20:
            self.stats.truncated_lines.append((lineno, len(line)))
        head = line[:MAX_LINE]
        if b"\0" in head:
            self._binary(lineno)
        return lineno, head + TRUNCATION_MARK

    def _binary(self, lineno: int) -> None:
        self.stats.binary_lines += 1
        if self.stats.first_binary_line is None:
            self.stats.first_binary_line = lineno


def iter_text_lines(lines: Iterable[str | bytes], stats: ReadStats) -> Iterator[tuple[int, bytes]]:
    """Lines already split (pasted text, tests): same caps and notes as the stream reader."""
    for lineno, line in enumerate(lines, 1):
        raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        raw = raw.rstrip(b"\r\n")
        stats.bytes_read += len(raw) + 1
        stats.lines_seen = lineno
        if len(raw) > MAX_LINE:
            stats.truncated_count += 1
            if len(stats.truncated_lines) < 20:
                stats.truncated_lines.append((lineno, len(raw)))
            raw = raw[:MAX_LINE] + TRUNCATION_MARK
        if b"\0" in raw:
            stats.binary_lines += 1
            stats.first_binary_line = stats.first_binary_line or lineno
        yield lineno, raw
