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


@given(st.lists(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"}", b" "]), max_size=12).map(b"".join), max_size=8))
def test_chunks_of_whole_lines_or_not_give_the_lines_of_the_stream(chunks: list[bytes]) -> None:
    """Whole-line chunks take a shortcut past the buffer; whatever the chunks, the lines are the stream's, and the rest
    after its last CRLF stays pending (a CR at one chunk's end and a LF at the next one's start end a line too)."""
    assembler = LineAssembler()
    *lines, rest = b"".join(chunks).split(b"\r\n")
    assert [line for data in chunks for line in assembler.feed(Direction.CLIENT, data)] == lines
    assert assembler.pending(Direction.CLIENT) == rest


def test_whole_lines_in_one_chunk_come_out_as_bytes_and_leave_nothing_pending() -> None:
    assembler = LineAssembler()
    for data, lines in [(b"\r\n", [b""]), (b"a\r\n\r\nb\r\n", [b"a", b"", b"b"]), (b"a\rb\r\r\n", [b"a\rb\r"]),
                        (b"x" * (MAX_LINE + 5) + b"\r\n", [b"x" * (MAX_LINE + 5)])]:  # fmt: skip
        out = assembler.feed(Direction.SERVER, data)
        assert out == lines and all(type(line) is bytes for line in out)
        assert assembler.pending(Direction.SERVER) == b""
