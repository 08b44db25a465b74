"""Read a log, find its format and its mail sessions (streaming, bounded memory)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from mailscope.logs.assembler import Assembler
from mailscope.logs.detect import FORMATS, detect_format, parser_class
from mailscope.logs.formats.base import MAIL_MARKERS
from mailscope.logs.model import ImportedSession
from mailscope.logs.reader import FULL_SCAN_LIMIT, LineReader, ReadStats, iter_text_lines, marker_pattern, unwrap

DETECT_SAMPLE = 400  # mail-looking lines looked at before deciding the format


class LogScan:
    """One pass over a log. Iterate `sessions()`; afterwards `format`, `notes` and `stats` describe the read."""

    def __init__(
        self,
        source: BinaryIO | Iterable[str | bytes],
        format: str = "auto",
        *,
        full_scan: bool | None = None,
    ) -> None:
        if format != "auto" and format not in FORMATS:
            raise ValueError(f"unknown log format {format!r}; known: auto, {', '.join(FORMATS)}")
        self.format = format
        self._input_note: str | None = None
        self._parse_errors = 0
        self._first_parse_error = ""
        if hasattr(source, "read"):
            anchored = not full_scan and not _small(source)
            source, self._input_note = unwrap(source)  # type: ignore[arg-type]
            self._reader = LineReader(source, anchored=anchored)  # type: ignore[arg-type]
            self.stats = self._reader.stats
            self._lines: Iterable[tuple[int, bytes]] = self._reader
        else:
            self._reader = None
            self.stats = ReadStats()
            self._lines = iter_text_lines(source, self.stats)  # type: ignore[arg-type]

    @property
    def notes(self) -> list[str]:
        notes = self.stats.notes()
        if self._input_note:
            notes.insert(0, self._input_note)
        if self.stats.binary_lines and self.stats.binary_lines * 2 > max(1, self.stats.lines_yielded):
            notes.insert(0, "this input is mostly binary data, not a text log")
        if self.stats.bytes_read == 0:
            notes.insert(0, "the input is empty")
        if self._parse_errors:
            notes.append(f"{self._parse_errors} line(s) could not be parsed and were skipped (first at {self._first_parse_error})")
        return notes

    def sessions(self) -> Iterator[ImportedSession]:
        lines = iter(self._lines)
        sample: list[tuple[int, str]] = []
        if self._reader is not None:
            self._reader.markers = _UNION_MARKERS
        if self.format == "auto":
            mail_looking: re.Pattern[bytes] | None = None  # chosen once the reader has seen the head of the input
            for lineno, raw in lines:
                mail_looking = mail_looking or self._marker_pattern(_UNION_MARKERS)
                if mail_looking.search(raw):
                    sample.append((lineno, _decode(raw)))
                    if len(sample) >= DETECT_SAMPLE:
                        break
            self.format = detect_format(text for _, text in sample)
        parser = parser_class(self.format)()
        wanted = None if parser.markers is None else self._marker_pattern(parser.markers)
        if self._reader is not None:
            self._reader.markers = parser.markers
        assembler = Assembler(self.format)

        def feed(lineno: int, text: str | None) -> Iterator[ImportedSession]:
            try:
                items = parser.feed(lineno, text) if text is not None else parser.flush()
            except Exception as exc:  # noqa: BLE001 - one odd line must not end the import; it is reported instead
                self._parse_errors += 1
                if self._parse_errors == 1:
                    self._first_parse_error = f"{self.stats.position_unit} {lineno}: {type(exc).__name__}"
                return
            for item in items:
                for session in assembler.feed(item):
                    session.position_unit = self.stats.position_unit
                    yield session

        for lineno, text in sample:
            yield from feed(lineno, text)
        lineno = 0
        for lineno, raw in lines:
            if wanted is None or wanted.search(raw):
                yield from feed(lineno, _decode(raw))
        yield from feed(lineno, None)
        for session in assembler.finish():
            session.position_unit = self.stats.position_unit
            yield session

    def _marker_pattern(self, markers: tuple[bytes, ...]) -> re.Pattern[bytes]:
        """A line is looked at only when it holds one of the format's markers: the reader's own search for them."""
        return self._reader.marker_pattern(markers) if self._reader is not None else marker_pattern(markers, b"".count)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _small(stream: object) -> bool:
    if hasattr(stream, "getbuffer"):
        return len(stream.getbuffer()) <= FULL_SCAN_LIMIT
    try:
        info = os.fstat(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return True
    # A pipe (`mailscope logs -`) has no size: read it whole, line by line (exact, bounded memory, slower).
    return not stat.S_ISREG(info.st_mode) or info.st_size <= FULL_SCAN_LIMIT


def _union_markers() -> tuple[bytes, ...]:
    found: dict[bytes, None] = dict.fromkeys(MAIL_MARKERS)
    for name in FORMATS:
        found.update(dict.fromkeys(parser_class(name).markers or ()))
    return tuple(found)


_UNION_MARKERS = _union_markers()
