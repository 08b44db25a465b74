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
