"""The live transcript: a Line-API ScrollView fed by a buffer flushed at a fixed rate.

Why custom: `Log`/`RichLog` repaint per write and `Log(max_lines=)` goes stale (textual.md §2.1). Here
`add()` is an O(1) append to a pending list; a timer moves the batch into a bounded deque and repaints
once. Only the visible rows are styled, with an LRU cache of Strips keyed by line number.

Every row is a fixed gutter (line number, cited marker, `C:`/`S:`) and a body: scrolling sideways moves
only the body, so a long line never loses its number or direction. Wrap mode (`w`) folds long bodies
into continuation rows under the gutter instead; explain mode adds plain-words rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mailscope.events import Direction, TranscriptLine

_PREFIX = {Direction.CLIENT: "C:", Direction.SERVER: "S:", Direction.INFO: "--"}
_MIN_DIGITS = 5
Row = tuple[int, int, str]  # (seq, part of a wrapped line, explanation words or "")


def _wrap(words: str, width: int) -> list[str]:
    """Explanations wrap on word boundaries so they stay readable in an 80-column pane."""
    chunks: list[str] = []
    for word in words.split():
        if chunks and len(chunks[-1]) + 1 + len(word) <= width:
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    return chunks


def body_of(line: TranscriptLine, mask: Callable[[str], str] | None = None) -> str:
    """A line's text as the transcript shows it: the text, then its annotations (decoded SASL, challenges)."""
    text = mask(line.text) if mask else line.text
    return text + "".join(f"  ⟨{mask(note) if mask else note}⟩" for note in line.annotations)


class Transcript(ScrollView, can_focus=True):
    """Redacted protocol lines, coloured by direction; explain mode adds a plain-words row under each."""

    COMPONENT_CLASSES = {
        "transcript--client",
        "transcript--server",
        "transcript--info",
        "transcript--gutter",
        "transcript--cited",
        "transcript--highlight",
        "transcript--cursor",
        "transcript--explain",
        "transcript--annotation",
        "transcript--match",
        "transcript--redacted",
    }

    DEFAULT_CSS = """
    Transcript { background: $surface; }
    Transcript > .transcript--client { color: $accent; text-style: bold; }
    Transcript > .transcript--server { color: $foreground; }
    Transcript > .transcript--info { color: $text-muted; text-style: italic; }
    Transcript > .transcript--gutter { color: $text-muted; }
    Transcript > .transcript--cited { color: $warning; text-style: bold; }
    Transcript > .transcript--highlight { background: $warning 25%; }
    Transcript > .transcript--cursor { background: $primary 40%; }
    Transcript > .transcript--explain { color: $success; text-style: italic; }
    Transcript > .transcript--annotation { color: $secondary; }
    Transcript > .transcript--match { background: $accent 50%; text-style: bold; }
    Transcript > .transcript--redacted { color: $error; }
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Line up", show=False, id="transcript_up"),
        Binding("down,j", "cursor(1)", "Line down", show=False, id="transcript_down"),
        Binding("pageup", "cursor_page(-1)", "Page up", show=False, id="transcript_page_up"),
        Binding("pagedown", "cursor_page(1)", "Page down", show=False, id="transcript_page_down"),
        Binding("home", "cursor_to(0)", "First line", show=False, id="transcript_first"),
        Binding("end", "cursor_to(-1)", "Last line", show=False, id="transcript_last"),
        Binding("left", "scroll_body(-8)", "Scroll left", show=False, id="transcript_left"),
        Binding("right", "scroll_body(8)", "Scroll right", show=False, id="transcript_right"),
    ]

    FLUSH_HZ = 25  # default repaint rate; lower it over slow SSH links (each scrolled repaint resends the pane)

    explain: reactive[bool] = reactive(False, init=False)
    presenter: reactive[bool] = reactive(False, init=False)
    wrap: reactive[bool] = reactive(False, init=False)

    class LineSelected(Message):
        """The cursor moved onto a transcript line."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    def __init__(
        self, *, max_lines: int = 50_000, mask: Callable[[str], str] | None = None, flush_hz: float | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.flush_hz = flush_hz or self.FLUSH_HZ
        self.max_lines = max_lines
        self._lines: deque[TranscriptLine] = deque(maxlen=max_lines)
        self._pending: list[TranscriptLine] = []
        self._rows: deque[Row] | None = None  # explicit rows while filtering, explaining or wrapping
        self._filter = ""
        self._cited: frozenset[int] = frozenset()
        self._highlighted: frozenset[int] = frozenset()
        self._cursor: int | None = None  # row index
        self._longest = 20  # widest body in cells
        self._digits = _MIN_DIGITS
        self._tail = True  # follow new lines (until the user scrolls up or moves the cursor)
        self._mask = mask
        self._cache: LRUCache[tuple, tuple[Strip, Strip]] = LRUCache(1024)
        self.total_added = 0
        self.placeholder = ""  # shown dimmed while there is no line

    def on_mount(self) -> None:
        self.set_interval(1 / self.flush_hz, self.flush, name="transcript-flush")

    # -- feeding ---------------------------------------------------------------------------------
    def add(self, line: TranscriptLine) -> None:
        """O(1): the line reaches the screen at the next flush."""
        self._pending.append(line)

    def add_many(self, lines: Iterable[TranscriptLine]) -> None:
        self._pending.extend(lines)

    def clear(self) -> None:
        self._lines.clear()
        self._pending.clear()
        self._rows = deque() if self._rows is not None else None
        self._cursor = None
        self._cited = self._highlighted = frozenset()
        self.total_added = 0
        self._longest = 20
        self._cache.clear()
        self._tail = True
        self._update_size()
        self.refresh()

    def flush(self) -> None:
        """Move pending lines into view; repaint once. Runs from the timer (and from tests)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        evicted = len(self._lines) + len(batch) > self.max_lines
        self._lines.extend(batch)
        self.total_added += len(batch)
        mask = self._active_mask
        self._longest = max(self._longest, min(max(cell_len(body_of(line, mask)) for line in batch), 4000))
        digits = max(_MIN_DIGITS, len(str(batch[-1].seq)))
        if digits != self._digits:
            self._digits = digits
            self._cache.clear()
        if self._rows is not None:
            self._rows.extend(self._rows_for(batch))
            if evicted:  # drop the rows of evicted lines: O(evicted), never a rebuild
                first = self._lines[0].seq
                while self._rows and self._rows[0][0] < first:
                    self._rows.popleft()
        self._update_size()
        self.refresh()

    # -- view state ------------------------------------------------------------------------------
    @property
    def lines(self) -> tuple[TranscriptLine, ...]:
        return tuple(self._lines)

    @property
    def row_count(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._lines)

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def match_count(self) -> int:
        """Lines the filter lets through (all lines without a filter)."""
        if self._rows is None:
            return len(self._lines)
        return sum(1 for _, part, words in self._rows if not part and not words)

    @property
    def gutter_width(self) -> int:
        return self._digits + 6  # "12345 ● C: "

    def set_filter(self, text: str) -> None:
        self._filter = text.strip()
        self._reshape()

    def set_cited(self, seqs: Iterable[int]) -> None:
        """Lines any finding cites get a marker in the gutter."""
        self._cited = frozenset(seqs)
        self._cache.clear()
        self.refresh()

    def set_highlighted(self, seqs: Iterable[int]) -> None:
        """Evidence lines of the selected finding: background highlight, and scroll the first into view."""
        self._highlighted = frozenset(seqs)
        self._cache.clear()
        if self._highlighted:
            row = self._row_of(min(self._highlighted))
            if row is not None:
                self._tail = False
                self.scroll_to(y=max(0, row - self.size.height // 3), animate=False, force=True)
        self.refresh()

    def set_mask(self, mask: Callable[[str], str] | None) -> None:
        self._mask = mask
        self._cache.clear()
        self.refresh()

    def select_seq(self, seq: int) -> None:
        row = self._row_of(seq)
        if row is not None:
            self._move_cursor(row)

    @property
    def selected_seq(self) -> int | None:
        if self._cursor is None or self._cursor >= self.row_count:
            return None
        return self._row(self._cursor)[0]

    @property
    def selected_line(self) -> TranscriptLine | None:
        seq = self.selected_seq
        return None if seq is None else self._line_by_seq(seq)

    def rendered_texts(self) -> list[str]:
        """Plain text of every row as shown (tests, export)."""
        return [self._row_plain(*self._row(i)) for i in range(self.row_count)]

    def watch_explain(self) -> None:
        self._reshape()

    def watch_wrap(self) -> None:
        self._reshape()

    def watch_presenter(self) -> None:
        self._cache.clear()
        if self.wrap:  # masked text has other lengths
            self._reshape()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    @property
    def _active_mask(self) -> Callable[[str], str] | None:
        return self._mask if self.presenter else None

    # -- cursor ----------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if self.row_count == 0:
            return
        if self._cursor is None:
            start = int(self.scroll_y) + (self.size.height - 1 if delta > 0 else 0)
            self._move_cursor(self._head_of(min(start, self.row_count - 1)))
            return
        row = self._cursor
        for _ in range(abs(delta)):
            row = self._next_head(row, 1 if delta > 0 else -1)
        self._move_cursor(row)

    def action_cursor_page(self, direction: int) -> None:
        if self.row_count == 0:
            return
        if self._cursor is None:
            self.action_cursor(direction)
            return
        target = max(0, min(self.row_count - 1, self._cursor + direction * max(1, self.size.height - 1)))
        self._move_cursor(self._head_of(target))

    def action_cursor_to(self, row: int) -> None:
        if self.row_count:
            self._move_cursor(self._head_of(row if row >= 0 else self.row_count - 1))

    def action_scroll_body(self, cells: int) -> None:
        if not self.wrap:
            self.scroll_to(x=max(0, self.scroll_x + cells), animate=False, force=True)

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < self.row_count:
            self._move_cursor(self._head_of(row))

    def _move_cursor(self, row: int) -> None:
        row = max(0, min(row, self.row_count - 1))
        self._cursor = row
        self._tail = False
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.LineSelected(self._row(row)[0]))

    def _scroll_to_cursor(self) -> None:
        if self._cursor is None:
            return
        row = self._cursor
        last = row
        while last + 1 < self.row_count and self._row(last + 1)[0] == self._row(row)[0]:
            last += 1  # keep every row of the selected line in view
        height = max(1, self.scrollable_content_region.height)
        if row < self.scroll_y:
            self.scroll_to(y=row, animate=False, force=True)
        elif last >= self.scroll_y + height:
            self.scroll_to(y=min(row, last - height + 1), animate=False, force=True)

    def _head_of(self, row: int) -> int:
        """The first row of the line shown at `row` (wrapped parts and explanation rows belong to it)."""
        if self._rows is None:
            return row
        seq = self._rows[row][0]
        while row > 0 and self._rows[row - 1][0] == seq:
            row -= 1
        return row

    def _next_head(self, row: int, step: int) -> int:
        if self._rows is None:
            return max(0, min(self.row_count - 1, row + step))
        seq = self._rows[row][0]
        probe = row
        while 0 <= probe + step < len(self._rows):
            probe += step
            if self._rows[probe][0] != seq:
                return self._head_of(probe)
        return self._head_of(row)

    # -- rows ------------------------------------------------------------------------------------
    def _reshape(self) -> None:
        keep = self.selected_seq
        self._tail = self._tail or keep is None  # no line selected: show the newest lines
        if self._filter or self.explain or self.wrap:
            self._rows = deque(self._rows_for(self._lines))
        else:
            self._rows = None
        self._cursor = None
        self._cache.clear()
        if keep is not None:
            row = self._row_of(keep)
            if row is not None:
                self._cursor = row
        self._update_size()
        if self._cursor is not None:
            self._scroll_to_cursor()
        self.refresh()

    def _rows_for(self, lines: Iterable[TranscriptLine]) -> list[Row]:
        from mailscope.explain import explain_line  # only explain mode needs it

        needle = self._filter.lower()
        explain, wrap = self.explain, self.wrap  # hoisted: reactive and size lookups cost per line
        width = self._explain_width()
        body_width = self._body_width()
        mask = self._active_mask
        rows: list[Row] = []
        for line in lines:
            if needle and needle not in line.text.lower() and not any(needle in a.lower() for a in line.annotations):
                continue
            parts = max(1, -(-cell_len(body_of(line, mask)) // body_width)) if wrap else 1
            rows.extend((line.seq, part, "") for part in range(parts))
            if explain:
                rows.extend((line.seq, 0 if i == 0 else 1, chunk) for i, chunk in enumerate(_wrap(explain_line(line), width)))
        return rows

    def _explain_width(self) -> int:
        return max(30, self.size.width - self.gutter_width - 2) if self.size.width else 70

    def _body_width(self) -> int:
        return max(10, self.scrollable_content_region.width - self.gutter_width) if self.size.width else 70

    def on_resize(self) -> None:
        if self.explain or self.wrap:
            self._reshape()
        if self._tail:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        else:
            self._scroll_to_cursor()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._tail = self._cursor is None and new >= self.max_scroll_y - 0.5

    def _line_by_seq(self, seq: int) -> TranscriptLine | None:
        if not self._lines:
            return None
        index = seq - self._lines[0].seq
        if 0 <= index < len(self._lines) and self._lines[index].seq == seq:
            return self._lines[index]
        return next((line for line in self._lines if line.seq == seq), None)

    def _row(self, row: int) -> Row:
        if self._rows is None:
            return self._lines[row].seq, 0, ""
        return self._rows[row]

    def _row_of(self, seq: int) -> int | None:
        if self._rows is None:
            if not self._lines:
                return None
            index = seq - self._lines[0].seq
            return index if 0 <= index < len(self._lines) else None
        return next((i for i, (s, part, words) in enumerate(self._rows) if s == seq and not part and not words), None)

    def _update_size(self) -> None:
        width = self.size.width if self.wrap else self.gutter_width + self._longest + 1
        self.virtual_size = Size(width, self.row_count)
        if self._tail:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            # A horizontal scrollbar appearing with this batch shrinks the view by a row after layout:
            # follow again then, or the last line hides under it.
            self.call_after_refresh(self._follow_tail)

    def _follow_tail(self) -> None:
        if self._tail:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    # -- rendering -------------------------------------------------------------------------------
    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"transcript--{name}")

    def _gutter(self, line: TranscriptLine, part: int, words: str) -> Text:
        width = self.gutter_width
        if words:
            arrow = "  " if part else "↳ "
            return Text(" " * (width - 2) + arrow, style=self._style("gutter"))
        if part:
            return Text(" " * (width - 2) + "↪ ", style=self._style("gutter"))
        marker = "●" if line.seq in self._cited else " "
        return Text.assemble(
            (f"{line.seq:>{self._digits}} ", self._style("gutter")),
            (marker, self._style("cited")),
            " ",
            (_PREFIX[line.direction] + " ", self._style(line.direction.value)),
        )

    def _body(self, line: TranscriptLine, words: str) -> Text:
        if words:
            return Text(words, style=self._style("explain"))
        mask = self._active_mask
        direction = line.direction
        text = Text(mask(line.text) if mask else line.text, style=self._style(direction.value) if direction is not Direction.CLIENT else "")
        for note in line.annotations:
            text.append(f"  ⟨{mask(note) if mask else note}⟩", self._style("annotation"))
        text.highlight_regex(r"<redacted[^>]*>|<[a-z ]*(?:token|secret|password)[^>]*>", self._style("redacted"))
        if self._filter:
            text.highlight_words([self._filter], self._style("match"), case_sensitive=False)
        return text

    def _row_plain(self, seq: int, part: int, words: str) -> str:
        line = self._line_by_seq(seq)
        assert line is not None
        gutter = self._gutter(line, part, words).plain
        body = words or body_of(line, self._active_mask)
        if self.wrap and not words:
            width = self._body_width()
            body = body[part * width : (part + 1) * width]
        return gutter + body

    def _strips(self, line: TranscriptLine, part: int, words: str, selected: bool, highlighted: bool) -> tuple[Strip, Strip]:
        key = (line.seq, words, selected, highlighted, part)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        gutter, body = self._gutter(line, part, words), self._body(line, words)
        for text in (gutter, body):
            if highlighted:
                text.stylize(self._style("highlight"))
            if selected:
                text.stylize(self._style("cursor"))
        console = self.app.console
        strips = (Strip(list(gutter.render(console)), gutter.cell_len), Strip(list(body.render(console)), body.cell_len))
        self._cache[key] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        if row >= self.row_count:
            chunks = _wrap(self.placeholder, max(20, width - 4)) if not self._lines else []
            if y < len(chunks):
                text = Text("  " + chunks[y], style=self._style("info"))
                return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, base).apply_style(base)
            return Strip.blank(width, base)
        seq, part, words = self._row(row)
        line = self._line_by_seq(seq)
        if line is None:
            return Strip.blank(width, base)
        selected = self._cursor is not None and seq == self._row(self._cursor)[0]
        highlighted = seq in self._highlighted
        gutter, body = self._strips(line, part, words, selected, highlighted)
        body_width = max(0, width - gutter.cell_length)
        pad = self._style("cursor") if selected else self._style("highlight") if highlighted else base
        if words:
            start = 0
        elif self.wrap:
            start = part * body_width
        else:
            start = scroll_x
        body = body.crop_extend(start, start + body_width, pad)
        return Strip.join([gutter, body]).apply_style(base)
