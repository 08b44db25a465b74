"""Bounded, streaming line reading: the file is never loaded whole.

Input arrives in chunks (or, for a large regular file, through a read-only mapping whose pages are released
behind the read); every line is capped at MAX_LINE bytes (longer lines are cut and noted); NUL bytes mark binary
garbage (noted, the line still reaches the parsers, escaped later). Gzip-compressed and UTF-16 logs are
decoded on the fly (`unwrap`).

Large inputs are read *anchored*: only the neighbourhood (RADIUS bytes either side) of a line holding an anchor
(`AUTH`, present in every SASL exchange, capability list and JavaMail auth trace) is looked at, and there only
the lines holding one of the format's markers. Everything else is skipped at C speed, which is what keeps
`mailscope logs` within a small factor of `grep` on a 500 MB log: anchors are found by hopping between the
occurrences of their rarest byte in this input (`find` of one byte is memchr, tens of GB/s; Python's `find` of a
short byte string runs at about 2 GB/s, most of a 200 MB read), and plain `find` where that byte is common; the
markers of a region by one pattern whose alternatives start at their rarest byte (`marker_pattern`).
"""

from __future__ import annotations

import functools
import gzip
import io
import mmap
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_LINE = 64 * 1024
CHUNK = 8 * 1024 * 1024
RADIUS = 8 * 1024  # a session's lines sit within a few KiB of one of its AUTH lines
FULL_SCAN_LIMIT = 16 * 1024 * 1024  # inputs up to this size are read line by line, no anchoring
SWEEP_AFTER = FULL_SCAN_LIMIT  # a full read (a pipe, --full-scan) looks only at marked lines after this many bytes
ANCHORS = (b"AUTH",)
TRUNCATION_MARK = b" [line cut by mailscope: too long]"
SAMPLE = 128 * 1024  # bytes at the head of the input whose byte counts choose each anchor's and marker's rarest byte
HOP_SPACING = 1024  # a needle's rarest byte hopped to only when it occurs less than once per this many bytes
HOP_BUDGET = 64  # hops after which a byte found closer than HOP_SPACING apart on average makes `find` take over


@dataclass(slots=True)
class ReadStats:
    bytes_read: int = 0
    lines_seen: int = 0  # lines in the input (0 when read anchored: not counted)
    truncated_lines: list[tuple[int, int]] = field(default_factory=list)  # (lineno, original length), first 20
    truncated_count: int = 0
    binary_lines: int = 0
    first_binary_line: int | None = None
    anchored: bool = False
    read_error: str | None = None
    lines_yielded: int = 0  # lines handed to the parsers
    swept: bool = False  # a full read passed SWEEP_AFTER: from there only lines with mail markers were examined

    @property
    def position_unit(self) -> str:
        """What line positions mean: "line" numbers, or "byte" offsets (anchored reads)."""
        return "byte" if self.anchored else "line"

    def notes(self) -> list[str]:
        notes = [self.read_error] if self.read_error else []
        if self.truncated_count:
            where = ", ".join(f"{self.position_unit} {n} ({size:,} bytes)" for n, size in self.truncated_lines[:5])
            notes.append(f"{self.truncated_count} over-long line(s) cut to {MAX_LINE // 1024} KiB: {where}")
        if self.binary_lines:
            notes.append(
                f"{self.binary_lines} line(s) hold binary data (NUL bytes), first at {self.position_unit} {self.first_binary_line}: "
                "shown escaped; is this really a text log?"
            )
        if self.swept:
            notes.append(f"large input: past the first {SWEEP_AFTER // 2**20} MiB only lines with mail markers were examined")
        if self.anchored:
            notes.append(f"large input: read only around lines mentioning AUTH (±{RADIUS // 1024} KiB); --full-scan looks at every line")
        return notes


class _Needle:
    """A byte string found by hopping between the occurrences of its rarest byte (memchr speed) and comparing the whole
    string there; by plain `find` when even its rarest byte is common in the sample (text like the text searched), or
    turns out so while hopping."""

    def __init__(self, needle: bytes, sample: bytes) -> None:
        self.needle = needle
        counts = [sample.count(needle[k : k + 1]) for k in range(len(needle))]
        self.offset = counts.index(min(counts))
        self.rare = needle[self.offset : self.offset + 1]
        self.hop = counts[self.offset] * HOP_SPACING < max(len(sample), 1)

    def find(self, buf: bytes | bytearray | mmap.mmap, start: int, stop: int) -> int:
        """The first occurrence within buf[start:stop], as `buf.find(needle, start, stop)` gives it."""
        needle, offset, size = self.needle, self.offset, len(self.needle)
        if not self.hop:
            return buf.find(needle, start, stop)
        limit = stop - size + offset + 1  # where the rare byte of an occurrence that ends by `stop` can be
        if limit <= start + offset:  # (a negative end would count from the end of buf)
            return -1
        i = buf.find(self.rare, start + offset, limit)
        hops, window = 0, start
        while i >= 0:
            at = i - offset
            if buf[at : at + size] == needle:
                return at
            hops += 1
            if hops == HOP_BUDGET:
                if i - window < HOP_BUDGET * HOP_SPACING:  # the byte is common here: `find` is faster
                    return buf.find(needle, at + 1, stop)
                hops, window = 0, i
            i = buf.find(self.rare, i + 1, limit)
        return -1


def marker_pattern(markers: Iterable[bytes], count: Callable[[int], int]) -> re.Pattern[bytes]:
    """Any of `markers`, in one pass of the regular-expression engine. Each marker is matched from one of its bytes, the
    rarest by `count` (occurrences in a sample of the input) unless another marker already starts at one of them, the
    bytes before it checked by looking back; markers starting at the same byte share one branch. The engine then tries a
    match only where one of those few bytes occurs, not at every byte: over the neighbourhood of a Jira log's sessions
    the ~40 mail markers take 24 ms this way, 85 ms as one `find` sweep each and 170 ms as a plain alternation. A match
    starts inside its marker's line."""
    branches: dict[bytes, list[bytes]] = {}  # rarest byte -> what follows it in each marker, and the look back
    # Markers made of common bytes choose first: a rarer one that holds a byte already chosen starts there, adding no place
    # for the engine to stop at (each such place costs more than one more branch to try there).
    for marker in sorted(dict.fromkeys(markers), key=lambda m: -min(map(count, m))):
        k = min(range(len(marker)), key=lambda j: (marker[j : j + 1] not in branches, count(marker[j])))
        behind = b"(?<=" + re.escape(marker) + b")" if k else b""  # checked after the rest: most candidates fail before it
        branches.setdefault(marker[k : k + 1], []).append(re.escape(marker[k + 1 :]) + behind)
    alternatives = [re.escape(byte) + b"(?:" + b"|".join(rests) + b")" for byte, rests in branches.items()]
    return re.compile(b"|".join(alternatives) if alternatives else b"(?!)")


class LineReader:
    """Yields (position, raw line bytes without EOL) from a binary stream, bounded in memory."""

    def __init__(self, stream: BinaryIO, *, anchored: bool = False, chunk_size: int = CHUNK) -> None:
        # Anchored reads yield only region lines holding one of these (None: every region line). May change while
        # reading: the scanner narrows it to the detected format's markers.
        self.markers: tuple[bytes, ...] | None = None
        if not hasattr(stream, "readinto"):
            raise TypeError("LineReader needs a binary stream with readinto()")
        self.stream = stream
        self.chunk_size = chunk_size
        self.stats = ReadStats(anchored=anchored)
        self._sample = b""  # the head of the input, once read
        self._count: Callable[[int], int] | None = None  # occurrences of a byte in the sample, remembered
        self._anchors: list[_Needle] = []
        self._marker_patterns: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}

    def marker_pattern(self, markers: tuple[bytes, ...]) -> re.Pattern[bytes]:
        """The pattern that finds lines holding one of `markers` in this input (the scanner filters lines with it too)."""
        pattern = self._marker_patterns.get(markers)
        if pattern is None:
            self._count = self._count or functools.cache(self._sample.count)
            pattern = self._marker_patterns[markers] = marker_pattern(markers, self._count)
        return pattern

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """(position, line): position is the line number, or in anchored reads the line's byte offset
        (counting every newline of a 500 MB file would cost more than the rest of the read)."""
        mapped = self._map() if self.stats.anchored else None
        if mapped is not None:
            with mapped:
                yield from self._iter_mapped(mapped)
            return
        buf = bytearray(self.chunk_size + MAX_LINE + 1)
        view = memoryview(buf)
        offset = 0  # absolute offset of buf[0]
        lines_before = 0  # full reads: newlines before buf[0]
        kept = 0  # bytes of an incomplete last line moved to the front of buf
        skipping = False  # inside an over-long line whose head was already yielded
        self._tail, self._tail_base = b"", 0  # complete lines just before buf[0] (look-behind)
        self._emitted_until, self._reach = 0, 0
        try:
            while True:
                try:
                    n = self.stream.readinto(view[kept : kept + self.chunk_size]) or 0  # type: ignore[attr-defined]
                except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # a truncated or damaged .gz: keep what was read
                    self.stats.read_error = f"the compressed data is damaged or cut short ({exc}); read stopped there"
                    n = 0
                self.stats.bytes_read += n
                size = kept + n
                self._sample = self._sample or bytes(buf[: min(size, SAMPLE)])
                final = n == 0
                if final:
                    if not kept:
                        self.stats.lines_seen = 0 if self.stats.anchored else lines_before
                        return
                    buf[kept] = 0x0A  # the last line had no newline: give it one
                    size += 1
                if skipping:
                    cut = buf.find(b"\n", 0, size)
                    self._grow_last_truncated(size if cut < 0 else cut)
                    if cut < 0:
                        offset += size
                        kept = 0
                        continue
                    skipping = False
                    buf[: size - cut - 1] = buf[cut + 1 : size]
                    offset += cut + 1
                    size -= cut + 1
                    self._tail, self._tail_base, self._emitted_until = b"", offset, offset
                last_nl = buf.rfind(b"\n", 0, size)
                if last_nl < 0:
                    if size <= MAX_LINE:
                        kept = size
                        continue
                    lines_before += 1  # an enormous line: yield its head, skip to its end
                    yield self._truncated(lines_before if not self.stats.anchored else offset, bytes(buf[:size]))
                    offset += size
                    kept, skipping = 0, True
                    continue
                body_end = last_nl + 1
                if self.stats.anchored:
                    yield from self._anchored(buf, body_end, offset)
                else:
                    if self.markers is not None and offset >= SWEEP_AFTER:  # past the head of a big input: sweep
                        self.stats.swept = True
                        yield from self._marked(buf, 0, body_end, offset, lines_before)
                    else:
                        yield from self._split(buf, 0, body_end, lines_before, offset)
                    lines_before += buf.count(b"\n", 0, body_end)
                offset += body_end
                kept = size - body_end
                if kept > MAX_LINE:
                    lines_before += 1
                    yield self._truncated(lines_before if not self.stats.anchored else offset, bytes(buf[body_end:size]))
                    offset += kept
                    kept, skipping = 0, True
                elif kept:
                    buf[:kept] = buf[body_end:size]
                if final:
                    self.stats.lines_seen = 0 if self.stats.anchored else lines_before
                    return
        finally:
            view.release()

    # -- a regular file, mapped: no copy of the input ---------------------------------------
    def _map(self) -> mmap.mmap | None:
        try:
            fd = self.stream.fileno()  # type: ignore[attr-defined]
            if not stat.S_ISREG(os.fstat(fd).st_mode) or self.stream.tell() != 0:  # type: ignore[attr-defined]
                return None
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return None  # a pipe, an empty file, a wrapped stream: read it in chunks instead

    def _iter_mapped(self, mm: mmap.mmap) -> Iterator[tuple[int, bytes]]:
        """Anchored read of a mapped file: the same regions as the chunked read, addressed in place. Pages behind
        the read are dropped from this process as it goes, so resident memory stays at a window, not the file."""
        size = len(mm)
        self._sample = mm[:SAMPLE]
        self._emitted_until, self._reach = 0, 0
        released = 0
        lo = 0
        while lo < size:
            hi = min(size, lo + self.chunk_size)
            if hi < size:
                nl = mm.rfind(b"\n", lo, hi)
                if nl < 0:  # one line longer than the window
                    end = mm.find(b"\n", hi)
                    end = size if end < 0 else end
                    if end - lo > MAX_LINE:
                        position, head = self._truncated(lo, mm[lo : lo + MAX_LINE])
                        self._grow_last_truncated(end - lo - MAX_LINE)
                        yield position, head
                        lo = self._emitted_until = min(size, end + 1)
                        self.stats.bytes_read = lo
                        continue
                    hi = end + 1
                else:
                    hi = nl + 1
            yield from self._anchored_in_place(mm, lo, hi)
            self.stats.bytes_read = lo = hi
            keep_from = (max(0, min(lo, self._emitted_until) - 2 * RADIUS) // mmap.PAGESIZE) * mmap.PAGESIZE
            if keep_from > released and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
                mm.madvise(mmap.MADV_DONTNEED, released, keep_from - released)
                released = keep_from

    def _anchored_in_place(self, mm: mmap.mmap, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
        for start, stop in self._regions(mm, lo, hi, 0):
            start = max(start, self._emitted_until, 0)
            if start >= stop:
                continue
            nl = mm.find(b"\n", max(stop - 1, start), hi)
            e = hi if nl < 0 else nl + 1
            s = mm.rfind(b"\n", 0, start) + 1 if start > 0 else 0
            if self.markers is None:
                yield from self._split(mm, s, e, None, 0)
            else:
                yield from self._marked(mm, s, e, 0)
            self._emitted_until = e

    # -- internals -------------------------------------------------------------------------
    def _regions(self, buf: bytes | bytearray | mmap.mmap, lo: int, hi: int, base: int) -> list[list[int]]:
        """Merged [start, stop) input offsets within RADIUS of an anchor in buf[lo:hi] (buf[0] is input offset `base`),
        led by the part of this window an anchor in an earlier one still reaches. One pass for all anchors, in order."""
        end = base + hi
        regions: list[list[int]] = []
        if self._reach > base + lo:
            regions.append([base + lo, min(self._reach, end)])
        if not self._anchors:
            self._anchors = [_Needle(anchor, self._sample) for anchor in ANCHORS]
        needles = self._anchors
        upcoming = [needle.find(buf, lo, hi) for needle in needles]  # each anchor's next occurrence
        while (i := min((at for at in upcoming if at >= 0), default=-1)) >= 0:
            at = base + i
            self._reach = max(self._reach, at + RADIUS)
            start, stop = at - RADIUS, min(at + RADIUS, end)
            if regions and start <= regions[-1][1]:
                regions[-1][1] = max(regions[-1][1], stop)
            else:
                regions.append([start, stop])
            resume = stop - base  # anchors inside this region add nothing
            upcoming = [
                needle.find(buf, max(next_at + len(needle.needle), resume), hi) if 0 <= next_at < resume else next_at
                for needle, next_at in zip(needles, upcoming, strict=True)
            ]
        return regions

    def _anchored(self, buf: bytearray, body_end: int, base: int) -> Iterator[tuple[int, bytes]]:
        end = base + body_end
        lower = max(self._emitted_until, self._tail_base)
        for start, stop in self._regions(buf, 0, body_end, base):
            start = max(start, lower)
            if start >= stop:
                continue
            nl = buf.find(b"\n", max(stop - base - 1, 0), body_end)  # every region ends after this chunk's start
            stop_rel = body_end if nl < 0 else nl + 1
            if start < base:  # look-behind: the region begins in the previous chunk's tail
                text: bytes | bytearray = self._tail + bytes(buf[:stop_rel])
                text_base = self._tail_base
                e = len(text)
            else:
                text, text_base, e = buf, base, stop_rel
            s = start - text_base
            s = text.rfind(b"\n", 0, s) + 1 if s > 0 else 0
            if self.markers is None:
                yield from self._split(text, s, e, None, text_base)
            else:
                yield from self._marked(text, s, e, text_base)
            lower = self._emitted_until = text_base + e
        tail_start = max(0, body_end - RADIUS)
        if tail_start:
            tail_start = buf.find(b"\n", tail_start - 1, body_end) + 1
            self._tail = bytes(buf[tail_start:body_end])
        else:  # a chunk shorter than RADIUS: extend the previous tail, cut at a line start
            combined = self._tail + bytes(buf[:body_end])
            if len(combined) > RADIUS:
                combined = combined[combined.find(b"\n", len(combined) - RADIUS - 1) + 1 :]
            self._tail = combined
        self._tail_base = end - len(self._tail)

    def _split(self, buf: bytes | bytearray, start: int, stop: int, lines_before: int | None, base: int) -> Iterator[tuple[int, bytes]]:
        """Lines of buf[start:stop]; positions are line numbers, or byte offsets when lines_before is None."""
        lineno, pos = lines_before or 0, start
        while pos < stop:
            end = buf.find(b"\n", pos, stop)
            if end < 0:
                end = stop
            lineno += 1
            position = lineno if lines_before is not None else base + pos
            line = bytes(buf[pos:end])
            pos = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > MAX_LINE:
                yield self._truncated(position, line)
                continue
            if b"\0" in line:
                self._binary(position)
            self.stats.lines_yielded += 1
            yield position, line

    def _marked(
        self, buf: bytes | bytearray | mmap.mmap, start: int, stop: int, base: int, lines_before: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """Lines of buf[start:stop] (start: a line's start) holding a marker, found in one pass (marker_pattern). Positions
        are byte offsets, or line numbers when `lines_before` (newlines before buf[start]) is given."""
        search = self.marker_pattern(self.markers or ()).search
        counted_to, counted = start, lines_before
        hit = search(buf, start, stop)
        while hit is not None:
            line_start = buf.rfind(b"\n", start, hit.start()) + 1 or start
            line_end = buf.find(b"\n", hit.start(), stop)
            line_end = stop if line_end < 0 else line_end
            if counted is not None:
                counted += buf.count(b"\n", counted_to, line_start)
                counted_to = line_start
            yield from self._split(buf, line_start, line_end, counted, base)
            hit = search(buf, line_end, stop)

    def _grow_last_truncated(self, skipped: int) -> None:
        """An over-long line's reported size includes the part skipped after its head."""
        if self.stats.truncated_lines and len(self.stats.truncated_lines) <= 20:
            position, size = self.stats.truncated_lines[-1]
            self.stats.truncated_lines[-1] = (position, size + skipped)

    def _truncated(self, lineno: int, line: bytes) -> tuple[int, bytes]:
        self.stats.truncated_count += 1
        self.stats.lines_yielded += 1
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


class _Recoded(io.RawIOBase):
    """A UTF-16 log seen as UTF-8 bytes (Windows tools write UTF-16 with a BOM)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="")  # type: ignore[arg-type]
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            text = self._text.read(len(buffer) // 3 or 1)
            if not text:
                return 0
            self._pending = text.encode("utf-8", "surrogateescape")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _Gunzip(io.RawIOBase):
    """Decompress with `read1`, so everything before damage in a cut-short .gz still reaches the parsers."""

    def __init__(self, stream: BinaryIO) -> None:
        self._gz = gzip.GzipFile(fileobj=stream)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._gz.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def unwrap(stream: BinaryIO) -> tuple[BinaryIO, str | None]:
    """Gzip-compressed (rotated) logs and UTF-16 logs are read as plain UTF-8 text; returns (stream, note)."""
    peek = getattr(stream, "peek", None)
    head = peek(4)[:4] if peek else b""
    if head.startswith(b"\x1f\x8b"):
        return _Gunzip(stream), "gzip-compressed log: decompressed while reading"  # type: ignore[return-value]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _Recoded(stream), "UTF-16 log: re-encoded as UTF-8 while reading"  # type: ignore[return-value]
    return stream, None


def iter_text_lines(lines: Iterable[str | bytes], stats: ReadStats) -> Iterator[tuple[int, bytes]]:
    """Lines already split (pasted text, tests): same caps and notes as the stream reader."""
    for lineno, line in enumerate(lines, 1):
        raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        raw = raw.rstrip(b"\r\n")
        stats.bytes_read += len(raw) + 1
        stats.lines_seen = stats.lines_yielded = lineno
        if len(raw) > MAX_LINE:
            stats.truncated_count += 1
            if len(stats.truncated_lines) < 20:
                stats.truncated_lines.append((lineno, len(raw)))
            raw = raw[:MAX_LINE] + TRUNCATION_MARK
        if b"\0" in raw:
            stats.binary_lines += 1
            stats.first_binary_line = stats.first_binary_line or lineno
        yield lineno, raw
