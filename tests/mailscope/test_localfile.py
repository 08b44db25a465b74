"""mailscope.localfile: a file the user named is read only when regular, never blocks, and is read no further than
asked; an output opened without blocking refuses a FIFO nobody reads (it would hang the command) but takes a device."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mailscope.localfile import NotRegularFile, open_output, read_regular_file


def test_a_regular_file_is_read_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(str(path), 10) == b"x" * 10 and read_regular_file(str(path), 1000) == b"x" * 100


def test_fifos_devices_and_directories_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    for path, what in ((fifo, "FIFO"), ("/dev/zero", "device"), (tmp_path, "directory")):
        with pytest.raises(NotRegularFile, match=what):
            read_regular_file(str(path), 1 << 20)
    with pytest.raises(FileNotFoundError):
        read_regular_file(str(tmp_path / "missing"), 10)
    assert time.monotonic() - start < 1


def test_an_output_refuses_a_fifo_and_a_directory_without_waiting_but_takes_a_file_or_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    for path in (fifo, tmp_path):
        with pytest.raises((NotRegularFile, IsADirectoryError)):
            open_output(str(path), os.O_WRONLY | os.O_APPEND)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # someone reads it: still not a file to append records to
    try:
        with pytest.raises(NotRegularFile, match="FIFO"):
            open_output(str(fifo), os.O_WRONLY | os.O_APPEND)
    finally:
        os.close(reader)
    assert time.monotonic() - start < 1
    for path in (str(tmp_path / "out.jsonl"), "/dev/null"):
        fd = open_output(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        assert os.get_blocking(fd)
        os.close(fd)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o600
