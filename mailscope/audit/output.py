"""The audit's JSON Lines output: one whole record per line, so an interrupted audit leaves a valid file.

Records are written in batches of whole lines (one `write` per ~64 KB, a few records: a write per record cost about a
tenth of encoding it) straight to the file, with no buffer a signal could leave half-flushed; `close` writes the
rest. So Ctrl-C and SIGTERM (the audit closes its output) leave every record emitted, and even SIGKILL leaves only whole
records (the last batch lost is audited again); `--resume` reads them back and continues. A line cut by a crash in the
middle of a write (power loss, a full disk) is the one thing a resume repairs: the incomplete last line is removed
before anything is appended. The file is created 0600: it names mailboxes and holds their (redacted) transcripts.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from mailscope.audit.plan import AuditInputError
from mailscope.localfile import NotRegularFile, open_output
from mailscope.report import SHARED_SECTIONS, SharedSection

# One encoder for every line (json.dumps with options builds a new one per call): ASCII, compact, no cycle check (a tree).
_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False)
_ESCAPES, _ESCAPE_TEXT = 2048, 256  # texts whose JSON is remembered (the first met), and their length at most


class _Escapes(dict[str, str]):
    """A text's JSON string (`encode_basestring_ascii`), remembered for the first `_ESCAPES` texts met: a record holds
    about 650 texts (keys, enum values, capabilities, fix texts), all but a dozen or so the same in every record, and a
    look-up costs a third of escaping one anew (valgrind: a line's encoding about 20 % less). Full, it gives way to the
    same texts as `_Escaped`: from then on a text not among them is escaped in C, with no Python step."""

    __slots__ = ()

    def __missing__(self, text: str) -> str:
        escaped: str = encode_basestring_ascii(text)
        if type(text) is str and len(text) <= _ESCAPE_TEXT:  # a subclass may compare equal to other texts
            self[text] = escaped
            if len(self) >= _ESCAPES:
                global _c_encoder
                _c_encoder = _make_encoder(_Escaped(self).__getitem__)
        return escaped


class _Escaped(dict[str, str]):
    """The texts `_Escapes` learned; any other is escaped and not kept (a builtin as `__missing__` is called with the
    text alone: it binds to nothing)."""

    __slots__ = ()
    __missing__ = encode_basestring_ascii


def _make_encoder(escape: Any) -> Any:
    """The encoder's C part, made once (`encode` makes a new one per call, through two Python frames): the arguments
    `iterencode` gives it for this encoder, but for `escape`, which it calls per text (key or value). None on a Python
    without the C part: then lines are encoded as `encode` does."""
    return c_make_encoder and c_make_encoder(None, _encoder.default, escape, None, ":", ",", False, False, True)


_c_encoder = _make_encoder(_Escapes().__getitem__)
_BATCH = 64 * 1024  # characters of whole lines held before one write
_KNOWN_SECTIONS = 64  # shared sections whose JSON is kept (one per shared token and redactor generation; rarely more)


def _encode(value: Any) -> str:
    return "".join(_c_encoder(value, 0)) if _c_encoder is not None else _encoder.encode(value)


def encode_line(record: dict[str, Any], known: dict[int, tuple[SharedSection, str]]) -> str:
    """`record` as one line of compact ASCII JSON. A shared section (the token section many records hold as one object)
    is encoded the first time only and its text spliced in from then on, between the encoded runs of the other keys: the
    same text, since a JSON object's encoding does not depend on where it stands (and nothing is searched for in the
    encoded text, so no text of a record can be taken for a section). `known`: id -> (section, its JSON), the section
    held so that its id names it while it is known."""
    spliced = [key for key in SHARED_SECTIONS if type(record.get(key)) is SharedSection]
    if not spliced:
        return _encode(record)
    keys, items = list(record), list(record.items())
    pieces, start = ["{"], 0
    for at in sorted(map(keys.index, spliced)):
        if at > start:
            pieces += (_encode(dict(items[start:at]))[1:-1], ",")
        key, section = items[at]
        entry = known.get(id(section))
        if entry is None or entry[0] is not section:
            if len(known) >= _KNOWN_SECTIONS:
                known.clear()
            entry = known[id(section)] = (section, _encode(section))
        pieces += (_encode(key), ":", entry[1], ",")
        start = at + 1
    if start < len(items):
        pieces.append(_encode(dict(items[start:]))[1:-1])
    else:
        pieces.pop()  # the comma after the last section
    pieces.append("}")
    return "".join(pieces)


class AuditOutputError(OSError):
    """The output could not be written (a full disk): the message says so and how to go on."""


class AuditOutput:
    """`append(record)` per mailbox; opened fresh (the file must not exist unless `overwrite`) or to continue (`resume`)."""

    def __init__(self, path: str, *, resume: bool = False, overwrite: bool = False) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        if overwrite and not resume:
            flags |= os.O_TRUNC
        elif not resume:
            flags |= os.O_EXCL
        try:
            self._fd = open_output(path, flags)
        except FileExistsError:
            raise AuditInputError(f"{path} exists: --resume continues it, --overwrite replaces it") from None
        except NotRegularFile as exc:
            raise AuditInputError(f"cannot write {path}: it {exc}") from None
        except OSError as exc:
            raise AuditInputError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.written = 0  # records in the file (all those appended, once closed)
        self._known_sections: dict[int, tuple[SharedSection, str]] = {}
        self._pending: list[str] = []  # whole lines not yet written
        self._pending_size = 0
        self._failed: AuditOutputError | None = None  # a write failed: nothing more is written after its cut line

    def append(self, record: dict[str, Any]) -> None:
        if self._failed is not None:  # a line after the cut one would leave it mid-file, where --resume refuses the file
            raise self._failed
        line = encode_line(record, self._known_sections)
        self._pending.append(line)
        self._pending_size += len(line)
        if self._pending_size >= _BATCH:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        lines = self._pending
        self._pending, self._pending_size = [], 0
        view = memoryview("\n".join([*lines, ""]).encode("ascii"))
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:  # a full disk: what was written before is whole; a line cut off here is removed on resume
            self._failed = AuditOutputError(
                f"cannot write {self.path}: {exc.strerror or exc} (the records before are whole; --resume continues)"
            )
            raise self._failed from None
        self.written += len(lines)

    def close(self) -> None:
        """Write what is pending, then close (the file is closed even when that write fails; a failure already raised is
        not raised again)."""
        if self._fd < 0:
            return
        try:
            if self._failed is None:
                self._write_pending()
        finally:
            with contextlib.suppress(OSError):  # durability where the file system offers it (not /dev/full, a pipe)
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """The records of an earlier run, in order, for `--resume`; an incomplete last line is cut off the file first. A
    line that is not an audit record means the file is not ours (or was edited): AuditInputError, nothing appended."""
    try:
        handle = open(path, "rb+")  # noqa: SIM115 - the generator closes it
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AuditInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        end = 0
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                handle.truncate(end)  # a record cut mid-write: the mailbox is audited again
                return
            end += len(line)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("audit"), dict):
                raise AuditInputError(f"line {number} of {path} is not an audit record: refusing to append to this file")
            yield record
