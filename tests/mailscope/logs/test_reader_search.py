"""The anchored read finds anchors and markers by hopping between the occurrences of their rarest byte (memchr speed):
it must find exactly what `find` finds, wherever that byte is rare, common, or turns common after the sample."""

from __future__ import annotations

import mmap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailscope.logs.reader import HOP_BUDGET, HOP_SPACING, _Needle, marker_pattern

ALPHABET = b"AUTH\n x"  # few symbols: partial matches and every density of each byte occur


@settings(max_examples=400, deadline=None)
@given(
    text=st.binary(max_size=3000).map(lambda raw: bytes(ALPHABET[b % len(ALPHABET)] for b in raw)),
    needle=st.binary(min_size=1, max_size=6).map(lambda raw: bytes(ALPHABET[b % len(ALPHABET)] for b in raw)),
    sample=st.binary(max_size=200),
    bounds=st.tuples(st.integers(-5, 3100), st.integers(-5, 3100)),
)
def test_the_needle_finds_what_find_finds(text: bytes, needle: bytes, sample: bytes, bounds: tuple[int, int]) -> None:
    start, stop = max(0, bounds[0]), min(len(text), max(0, bounds[1]))
    finder = _Needle(needle, sample)
    for buf in (text, bytearray(text)):
        position, expected = start, []
        while (at := buf.find(needle, position, stop)) >= 0:
            expected.append(at)
            position = at + 1
        position, found = start, []
        while (at := finder.find(buf, position, stop)) >= 0:
            found.append(at)
            position = at + 1
        assert found == expected


def test_a_byte_rare_in_the_sample_but_dense_later_is_still_exact(tmp_path: Path) -> None:
    sample = b"AUT x" * 20_000  # no H at all: hopping to H is chosen
    dense = b"H" * (HOP_BUDGET * HOP_SPACING // 8) + b"AUTH" + b"HxH" * 1000 + b"AUTH"
    text = b"x" * 5000 + b"AUTH" + dense
    finder = _Needle(b"AUTH", sample)
    assert finder.hop and finder.rare == b"H"
    path = tmp_path / "log"
    path.write_bytes(text)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        for buf in (text, mapped):
            hits, position = [], 0
            while (at := finder.find(buf, position, len(text))) >= 0:
                hits.append(at)
                position = at + 1
            assert hits == [5000, 5004 + HOP_BUDGET * HOP_SPACING // 8, len(text) - 4]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda raw: bytes(b"AUTH x*+("[b % 9] for b in raw)), max_size=30),
    markers=st.lists(st.binary(min_size=1, max_size=5).map(lambda raw: bytes(b"AUTH x*+("[b % 9] for b in raw)), min_size=1, max_size=6),
    sample=st.binary(max_size=200),
)
def test_the_marker_pattern_finds_the_lines_holding_a_marker(lines: list[bytes], markers: list[bytes], sample: bytes) -> None:
    """Whichever byte of each marker the sample makes it start at (regex characters included), the lines it finds in
    a buffer searched from line boundaries, as the reader does, are exactly those holding a marker."""
    pattern = marker_pattern(markers, sample.count)
    text = b"\n".join(lines)
    expected = [i for i, line in enumerate(lines) if any(m in line for m in markers)]
    found, position, starts = [], 0, [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    while (hit := pattern.search(text, position)) is not None:
        index = max(i for i, start in enumerate(starts) if start <= hit.start())
        found.append(index)
        position = starts[index + 1] - 1  # the newline ending that line
    assert found == expected
    assert [i for i, line in enumerate(lines) if pattern.search(line)] == expected
