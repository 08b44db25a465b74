"""The audit's JSON Lines output: one whole record per line, so an interrupted audit leaves a valid file.

Each record is written with one `write` of one complete line straight to the file (no buffer a signal could leave
half-flushed), so Ctrl-C, SIGTERM, even SIGKILL between two records leave only whole records; `--resume` reads them
back and continues. A line cut by a crash in the middle of a write (power loss, a full disk) is the one thing a
resume repairs: the incomplete last line is removed before anything is appended. The file is created 0600: it names
mailboxes and holds their (redacted) transcripts.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

from mailscope.audit.plan import AuditInputError
from mailscope.localfile import NotRegularFile, open_output

# One encoder for every line (json.dumps with options builds a new one per call): ASCII, compact, no cycle check (a tree).
_encode_line = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False).encode


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
        self.written = 0

    def append(self, record: dict[str, Any]) -> None:
        data = (_encode_line(record) + "\n").encode("ascii")
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:  # a full disk: what was written before is whole; this line is cut off on resume
            raise AuditOutputError(
                f"cannot write {self.path}: {exc.strerror or exc} (the records before are whole; --resume continues)"
            ) from None
        self.written += 1

    def close(self) -> None:
        if self._fd >= 0:
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
