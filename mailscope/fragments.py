"""Finding any run of `length` or more characters of registered secret forms in a text, at bounded cost.

A materialized set of every fragment costs about 1.5 KB of memory per byte of secret (a 4 MB token took 6 GB).
Here a form costs its own bytes plus 4 bytes per `stride` of its characters: the index holds the 4-byte windows
of each form that start at a multiple of `stride` (as 32-bit integers in one sorted array), and a text is probed
with its 4-byte windows at multiples of 4 from the start of each run. When `stride` is odd, any common run of
`length >= 4 * stride + 3` characters holds a probe that lands on an indexed window (the probe offsets step by 4,
which walks every residue modulo an odd stride), so the search is exact for that length. A probe hit is then
extended both ways against the stored forms, and only a maximal common run of `length` or more counts.

A `dense` index (stride 1, for the hex and UTF-16 spellings, whose 4-byte windows are common in any hex or
UTF-16 text) extends only where two neighbouring probes both hit: every probe inside a common run of 16 or more
lands on an indexed window, so nothing is missed, and chance hits of one window cost nothing.

Secrets under `HUGE` bytes of forms get the documented fragment length (16, or 8 for short secrets); a huge one
gets a wider stride so its index stays under `MAX_WINDOWS` entries: its pieces are then recognised from a few
hundred characters on, and the whole form still always.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from dataclasses import dataclass, field

WINDOW = 4  # bytes per indexed window and per probe (one 32-bit integer)
MAX_WINDOWS = 1 << 18  # per form: 1 MiB of index at most, whatever the secret's size
MAX_OCCURRENCES = 64  # places a probe block is tried in the stored forms (random tokens: about one)
MEMO_RUN = 256  # characters: a longer run (a base64 blob, seldom repeated) is searched each time, never remembered
MEMO_RUNS = 4096  # runs remembered per set of indexes (then it starts again): at most about a megabyte


def stride_for(length: int) -> int:
    """The widest odd stride whose index still finds every common run of `length` characters."""
    stride = max(1, (length - 3) // 4)
    return stride if stride % 2 else stride - 1


@dataclass(frozen=True, slots=True)
class Match:
    """Where a registered secret (or a piece of one) was found in a text."""
    start: int  # character offsets in the searched text
    stop: int
    description: str
    whole: bool  # the match is a whole registered form, not a piece of one


@dataclass(slots=True)
class FragmentIndex:
    """The forms of registered secrets that share one fragment length."""

    length: int
    dense: bool = False
    _haystack: bytearray = field(default_factory=lambda: bytearray(b"\0"))  # forms, each followed by NUL
    _starts: list[int] = field(default_factory=list)  # haystack offset of each form
    _descriptions: list[str] = field(default_factory=list)
    _windows: array = field(default_factory=lambda: array("I"))  # sorted
    _pending: array = field(default_factory=lambda: array("I"))  # windows of forms added since they were last sorted in

    def add(self, form: str, description: str) -> None:
        """Index `form` (its windows at multiples of the stride). They are sorted in at the next search (`windows`): a
        secret is registered in a dozen spellings at once, and one sort for them all costs a fraction of one per spelling."""
        data = form.encode("utf-8", "surrogatepass")
        stride = 1 if self.dense else stride_for(self.length)
        while len(data) // stride > MAX_WINDOWS:
            stride += 2
        self._starts.append(len(self._haystack))
        self._descriptions.append(description)
        self._haystack += data + b"\0"
        # A cast reads windows at offsets base, base+4, ...; with base = stride*r and every stride-th of them, the
        # offsets taken are exactly the multiples of `stride` (4*stride*m + stride*r, r < 4).
        for r in range(4):
            base = stride * r
            usable = (len(data) - base) // WINDOW * WINDOW
            if usable <= 0:
                continue
            self._pending.extend(memoryview(data)[base : base + usable].cast("I")[::stride])

    @property
    def windows(self) -> array:
        """The indexed windows, sorted (for bisect)."""
        if self._pending:
            self._windows = array("I", sorted([*self._windows, *self._pending]))
            self._pending = array("I")
        return self._windows

    def find(self, run: str, data: bytes, probes: memoryview, hits: list[int]) -> list[Match]:
        """Maximal runs of `length`+ characters of `run` (encoded: `data`) that occur in a stored form, looked for
        where `hits` (probe numbers whose window some index holds) say (character offsets)."""
        windows = self.windows
        if len(data) < self.length or not windows:
            return []
        count = len(windows)
        matches: list[Match] = []
        covered = 0  # bytes before this lie inside a match already found
        previous = -2  # the last probe number this index holds
        for k in hits:
            value = probes[k]
            i = bisect.bisect_left(windows, value)
            if i == count or windows[i] != value:
                continue
            pair, previous = previous == k - 1, k
            offset = (k - 1 if self.dense else k) * WINDOW  # dense: the first of two neighbours that both hit
            if offset < covered or self.dense and not pair:
                continue
            found = self._extend(data, offset)
            if found is None:
                continue
            start, stop, form = found
            covered = stop
            whole = stop - start == self._form_size(form)
            matches.append(Match(*_char_span(run, data, start, stop), self._descriptions[form], whole))
        return matches

    def _extend(self, data: bytes, offset: int) -> tuple[int, int, int] | None:
        """The longest common run around `data[offset:offset+4]` over the block's places in the stored forms."""
        hay, length = self._haystack, self.length
        block = data[offset : offset + WINDOW]
        best: tuple[int, int, int] | None = None
        at = hay.find(block)
        for _ in range(MAX_OCCURRENCES):
            if at < 0:
                break
            # Cheap test first: most places of a common block (hex digits, UTF-16 base64) share a few bytes only.
            reach = length - WINDOW
            right = 0
            while right < reach and offset + WINDOW + right < len(data) and data[offset + WINDOW + right] == hay[at + WINDOW + right]:
                right += 1
            left = 0
            while left + right < reach and left < offset and left < at and data[offset - left - 1] == hay[at - left - 1]:
                left += 1
            if left + right >= reach:
                right = WINDOW + _common_prefix(data, offset + WINDOW, hay, at + WINDOW)
                left = _common_suffix(data, offset, hay, at)
                if best is None or left + right > best[1] - best[0]:
                    best = (offset - left, offset + right, bisect.bisect_right(self._starts, at) - 1)
            at = hay.find(block, at + 1)
        return best

    def _form_size(self, form: int) -> int:
        end = self._starts[form + 1] if form + 1 < len(self._starts) else len(self._haystack)
        return end - self._starts[form] - 1


@dataclass(slots=True)
class Fragments:
    """The indexes of one redactor, probed together: one look-up per probe in the union of their windows tells
    where any of them may match, so a text costs the same however many secrets are registered."""

    _indexes: dict[tuple[int, bool], FragmentIndex] = field(default_factory=dict)
    _union: array | None = None  # rebuilt on the first search after a registration
    # What `find` gave for a run: the same host names, GUIDs and command words recur in every session of an audit. A new
    # dict after each registration (not a cleared one), so a search that began before it cannot store a stale answer.
    _found: dict[str, tuple[Match, ...]] = field(default_factory=dict)

    @property
    def min_length(self) -> int:
        return min((length for length, _ in self._indexes), default=0)

    def add(self, form: str, description: str, length: int, *, dense: bool = False) -> None:
        index = self._indexes.get((length, dense)) or self._indexes.setdefault((length, dense), FragmentIndex(length, dense))
        index.add(form, description)
        self._union = None
        self._found = {}  # after the index changed: see `_found`

    def find(self, run: str) -> tuple[Match, ...]:
        """Every maximal piece of `run` that lies in a registered form (remembered for short runs until the next `add`)."""
        found = self._found
        if (matches := found.get(run)) is not None:
            return matches
        matches = self._search(run)
        if len(run) <= MEMO_RUN:
            if len(found) >= MEMO_RUNS:
                found.clear()
            found[run] = matches
        return matches

    def _search(self, run: str) -> tuple[Match, ...]:
        data = run.encode("utf-8", "surrogatepass")
        usable = len(data) // WINDOW * WINDOW
        union = self._union
        if union is None:  # the indexes' sorted windows run after run: the sort merges them (a window in two stays twice)
            union = self._union = array("I", sorted(itertools.chain(*(index.windows for index in tuple(self._indexes.values())))))
        count = len(union)
        if usable < WINDOW or not count:
            return ()
        probes = memoryview(data)[:usable].cast("I")
        hits = [k for k, value in enumerate(probes) if (i := bisect.bisect_left(union, value)) < count and union[i] == value]
        if not hits:
            return ()
        return tuple(match for index in tuple(self._indexes.values()) for match in index.find(run, data, probes, hits))


def _common_prefix(a: bytes, i: int, b: bytearray, j: int) -> int:
    """How many bytes `a[i:]` and `b[j:]` share from their start (compared in chunks, then byte by byte)."""
    n, chunk = 0, 64
    while chunk:
        while a[i + n : i + n + chunk] == b[j + n : j + n + chunk] and i + n + chunk <= len(a) and j + n + chunk <= len(b):
            n += chunk
        chunk //= 4
    while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
        n += 1
    return n


def _common_suffix(a: bytes, i: int, b: bytearray, j: int) -> int:
    """How many bytes end at `a[i]` and `b[j]` (exclusive) alike."""
    n, chunk = 0, 64
    while chunk:
        while i - n - chunk >= 0 and j - n - chunk >= 0 and a[i - n - chunk : i - n] == b[j - n - chunk : j - n]:
            n += chunk
        chunk //= 4
    while i - n > 0 and j - n > 0 and a[i - n - 1] == b[j - n - 1]:
        n += 1
    return n


def _char_span(run: str, data: bytes, start: int, stop: int) -> tuple[int, int]:
    if len(data) == len(run):  # ASCII: bytes are characters
        return start, stop
    return _chars_before(data, start), _chars_before(data, stop)


def _chars_before(data: bytes, offset: int) -> int:
    """How many characters of `data` (UTF-8, surrogates passed) end at or before byte `offset`: one cut inside a
    character does not count it."""
    while 0 < offset < len(data) and 0x80 <= data[offset] < 0xC0:  # a continuation byte: back to its character's start
        offset -= 1
    return len(data[:offset].decode("utf-8", "surrogatepass"))
