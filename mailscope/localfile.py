"""Files the user named: one rule for all of them. A file read (a token, a CA bundle, a profile, an audit sheet, a
scenario or course) must be a regular file, opened without blocking (a FIFO or a device is refused, never read: it could
block or never end), and is never read beyond the caller's limit (`/dev/zero` cannot fill memory). A file written (an
audit's records, training results) is opened without blocking too: a FIFO nobody reads is refused, not waited on.
Each caller words its own errors around the reason given here, for its flag or file kind."""

from __future__ import annotations

import errno
import os
import stat

_NOT_AN_OUTPUT = "is not a regular file but a FIFO (named pipe) or socket; nothing is written to it (it could block forever)"


class NotRegularFile(OSError):
    """The path is a directory, FIFO, device or socket: its message says which, to follow the file's name. An OSError,
    as every other reason a file cannot be used; callers that word it differently catch it first."""


def read_regular_file(path: str, limit: int) -> bytes:
    """At most `limit` bytes of the regular file at `path` (read `cap + 1` to tell a file over `cap`). OSError when it
    cannot be opened or read, NotRegularFile when it is no regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(_what(mode))
        chunks, left = [], limit
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_output(path: str, flags: int, mode: int = 0o600) -> int:
    """A descriptor to write `path` (`flags` as for os.open), never blocking on the open: a FIFO or socket is refused
    (NotRegularFile), a regular file or a device such as /dev/null is not. OSError when it cannot be opened."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO without a reader
            raise NotRegularFile(_NOT_AN_OUTPUT) from None
        raise
    kind = os.fstat(fd).st_mode
    if stat.S_ISFIFO(kind) or stat.S_ISSOCK(kind):
        os.close(fd)
        raise NotRegularFile(_NOT_AN_OUTPUT)
    os.set_blocking(fd, True)
    return fd


def write_private(path: str, text: str) -> None:
    """Replace the file at `path` with `text`, mode 0600 (a report names mailboxes and holds their redacted
    transcripts): never through a symlink left under its name, never blocking on a FIFO."""
    fd = open_output(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is not a regular file but a directory"
    if stat.S_ISFIFO(mode):
        return "is not a regular file but a FIFO (named pipe); it is not read (it could block forever)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file; it is not read"
    return "is not a regular file"
