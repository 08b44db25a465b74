"""Line reassembly from arbitrary TCP splits (sans-IO): bytes in, complete lines out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailscope.events import Direction
from mailscope.protocols.lines import MAX_LINE, LineAssembler


@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), min_size=1, max_size=12),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=50),
)
def test_lines_survive_any_split(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\r\n" for line in lines)
    assembler, out, position, i = LineAssembler(), [], 0, 0
    while position < len(stream):
        size = cuts[i % len(cuts)]
        out += assembler.feed(Direction.SERVER, stream[position : position + size])
        position, i = position + size, i + 1
    assert out == lines and assembler.flush(Direction.SERVER) is None


def test_a_line_without_crlf_is_still_bounded() -> None:
    assembler = LineAssembler()
    assert assembler.feed(Direction.SERVER, b"x" * (MAX_LINE + 5)) == [b"x" * MAX_LINE]
    assert assembler.flush(Direction.SERVER) == b"xxxxx"


def _buffered(chunks: list[bytes]) -> list[bytes]:
    """The assembler's general path for every chunk (its shortcut for a chunk of whole lines never taken)."""
    buffer, lines = bytearray(), []
    for data in chunks:
        buffer += data
        while (end := buffer.find(b"\r\n")) >= 0:
            lines.append(bytes(buffer[:end]))
            del buffer[: end + 2]
        while len(buffer) > MAX_LINE:
            lines.append(bytes(buffer[:MAX_LINE]))
            del buffer[:MAX_LINE]
    return lines


@given(st.lists(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"}", b" "]), max_size=12).map(b"".join), max_size=8))
def test_a_chunk_of_whole_lines_gives_what_the_buffered_path_gives(chunks: list[bytes]) -> None:
    assembler = LineAssembler()
    assert [line for data in chunks for line in assembler.feed(Direction.CLIENT, data)] == _buffered(chunks)


def test_whole_lines_in_one_chunk_come_out_as_bytes_and_leave_nothing_pending() -> None:
    assembler = LineAssembler()
    for data, lines in [(b"\r\n", [b""]), (b"a\r\n\r\nb\r\n", [b"a", b"", b"b"]), (b"a\rb\r\r\n", [b"a\rb\r"]),
                        (b"x" * (MAX_LINE + 5) + b"\r\n", [b"x" * (MAX_LINE + 5)])]:  # fmt: skip
        out = assembler.feed(Direction.SERVER, data)
        assert out == lines and all(type(line) is bytes for line in out)
        assert assembler.pending(Direction.SERVER) == b""
