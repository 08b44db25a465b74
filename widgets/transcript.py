"""The live transcript: a Line-API ScrollView fed by a buffer flushed at a fixed rate.

Why custom: `Log`/`RichLog` repaint per write and `Log(max_lines=)` goes stale (textual.md §2.1). Here
`add()` is an O(1) append to a pending list; a timer moves the batch into a bounded deque and repaints
once. Only the visible rows are styled, with an LRU cache of Strips keyed by line number.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from rich.segment import Segment
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
_GUTTER = 9  # "1234 ● C: "


def _wrap(words: str, width: int) -> list[str]:
    """Explanations wrap on word boundaries so they stay readable in an 80-column pane."""
    chunks: list[str] = []
    for word in words.split():
        if chunks and len(chunks[-1]) + 1 + len(word) <= width:
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    return chunks


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
        Binding("up", "cursor(-1)", "Line up", show=False),
        Binding("down", "cursor(1)", "Line down", show=False),
        Binding("k", "cursor(-1)", show=False),
        Binding("j", "cursor(1)", show=False),
        Binding("pageup", "cursor_page(-1)", show=False),
        Binding("pagedown", "cursor_page(1)", show=False),
        Binding("home", "cursor_to(0)", show=False),
        Binding("end", "cursor_to(-1)", show=False),
    ]

    FLUSH_HZ = 25  # default repaint rate; lower it over slow SSH links (each scrolled repaint resends the pane)

    explain: reactive[bool] = reactive(False, init=False)
    presenter: reactive[bool] = reactive(False, init=False)

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
        self._rows: deque[tuple[int, str]] | None = None  # (seq, explanation or "") when filtering/explaining
        self._filter = ""
        self._cited: frozenset[int] = frozenset()
        self._highlighted: frozenset[int] = frozenset()
        self._cursor: int | None = None  # row index
        self._width = 40
        self._mask = mask
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
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
        self._cache.clear()
        self._update_size(follow=True)
        self.refresh()

    def flush(self) -> None:
        """Move pending lines into view; repaint once. Runs from the timer (and from tests)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        following = self._cursor is None and self.scroll_y >= self.max_scroll_y - 1
        evicted = len(self._lines) + len(batch) > self.max_lines
        self._lines.extend(batch)
        self.total_added += len(batch)
        longest = max(len(line.text) + sum(len(a) + 4 for a in line.annotations) for line in batch)
        self._width = max(self._width, min(longest + _GUTTER + 1, 4000))
        if self._rows is not None:
            self._rows.extend(self._rows_for(batch))
            if evicted:  # drop the rows of evicted lines: O(evicted), never a rebuild
                first = self._lines[0].seq
                while self._rows and self._rows[0][0] < first:
                    self._rows.popleft()
        self._update_size(follow=following)
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
        return self._row(self._cursor)[0].seq

    def rendered_texts(self) -> list[str]:
        """Plain text of every row as shown (tests, export)."""
        return [self._row_text(*self._row(i)).plain for i in range(self.row_count)]

    def watch_explain(self) -> None:
        self._reshape()

    def watch_presenter(self) -> None:
        self._cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # -- cursor ----------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if self.row_count == 0:
            return
        start = self._cursor if self._cursor is not None else int(self.scroll_y) + (self.size.height - 1 if delta > 0 else 0)
        self._move_cursor(start + delta if self._cursor is not None else start)

    def action_cursor_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 1))

    def action_cursor_to(self, row: int) -> None:
        if self.row_count:
            self._move_cursor(row if row >= 0 else self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < self.row_count:
            self._move_cursor(row)

    def _move_cursor(self, row: int) -> None:
        row = max(0, min(row, self.row_count - 1))
        old, self._cursor = self._cursor, row
        if old is not None:
            self.refresh_line(old)
        self.refresh_line(row)
        if row < self.scroll_y:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= self.scroll_y + self.size.height:
            self.scroll_to(y=row - self.size.height + 1, animate=False, force=True)
        self.post_message(self.LineSelected(self._row(row)[0].seq))

    def refresh_line(self, row: int) -> None:
        self.refresh_lines(row, 1)

    # -- rows ------------------------------------------------------------------------------------
    def _reshape(self) -> None:
        if self._filter or self.explain:
            self._rebuild_rows()
        else:
            self._rows = None
        self._cursor = None
        self._cache.clear()
        self._update_size(follow=True)
        self.refresh()

    def _rows_for(self, lines: Iterable[TranscriptLine]) -> list[tuple[int, str]]:
        from mailscope.explain import explain_line  # only explain mode needs it

        needle = self._filter.lower()
        explain, width = self.explain, self._explain_width()  # hoisted: reactive and size lookups cost per line
        rows: list[tuple[int, str]] = []
        for line in lines:
            if needle and needle not in line.text.lower() and not any(needle in a.lower() for a in line.annotations):
                continue
            rows.append((line.seq, ""))
            if explain:
                # continuation chunks start with a space: drawn without the arrow
                rows.extend((line.seq, chunk if i == 0 else " " + chunk) for i, chunk in enumerate(_wrap(explain_line(line), width)))
        return rows

    def _explain_width(self) -> int:
        return max(30, self.size.width - _GUTTER - 2) if self.size.width else 70

    def on_resize(self) -> None:
        if self.explain:
            self._reshape()

    def _rebuild_rows(self) -> None:
        self._rows = deque(self._rows_for(self._lines))

    def _line_by_seq(self, seq: int) -> TranscriptLine | None:
        if not self._lines:
            return None
        index = seq - self._lines[0].seq
        if 0 <= index < len(self._lines) and self._lines[index].seq == seq:
            return self._lines[index]
        return next((line for line in self._lines if line.seq == seq), None)

    def _row(self, row: int) -> tuple[TranscriptLine, str]:
        if self._rows is None:
            return self._lines[row], ""
        seq, words = self._rows[row]
        line = self._line_by_seq(seq)
        assert line is not None
        return line, words

    def _row_of(self, seq: int) -> int | None:
        if self._rows is None:
            if not self._lines:
                return None
            index = seq - self._lines[0].seq
            return index if 0 <= index < len(self._lines) else None
        return next((i for i, (s, words) in enumerate(self._rows) if s == seq and not words), None)

    def _update_size(self, *, follow: bool) -> None:
        self.virtual_size = Size(self._width, self.row_count)
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    # -- rendering -------------------------------------------------------------------------------
    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"transcript--{name}")

    def _row_text(self, line: TranscriptLine, words: str) -> Text:
        mask = self._mask if self.presenter else None
        if words:
            arrow = "  " if words.startswith(" ") else "↳ "
            return Text.assemble(" " * (_GUTTER - 2), (arrow, self._style("gutter")), (words.lstrip(), self._style("explain")))
        body = mask(line.text) if mask else line.text
        direction = line.direction
        marker = "●" if line.seq in self._cited else " "
        text = Text.assemble(
            (f"{line.seq:>5} ", self._style("gutter")),
            (marker, self._style("cited")),
            " ",
            (_PREFIX[direction] + " ", self._style(direction.value)),
            (body, self._style(direction.value) if direction is not Direction.CLIENT else Style()),
        )
        for note in line.annotations:
            text.append(f"  ⟨{mask(note) if mask else note}⟩", self._style("annotation"))
        text.highlight_regex(r"<redacted[^>]*>|<[a-z ]*(?:token|secret|password)[^>]*>", self._style("redacted"))
        if self._filter:
            text.highlight_words([self._filter], self._style("match"), case_sensitive=False)
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if row >= self.row_count:
            chunks = _wrap(self.placeholder, max(20, width - 4)) if not self._lines else []
            if y < len(chunks):
                text = Text("  " + chunks[y], style=self._style("info"))
                return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, base).apply_style(base)
            return Strip.blank(width, base)
        line, words = self._row(row)
        selected = row == self._cursor
        highlighted = line.seq in self._highlighted
        key = (line.seq, words, selected, highlighted)
        strip = self._cache.get(key)
        if strip is None:
            text = self._row_text(line, words)
            if highlighted:
                text.stylize(self._style("highlight"))
            if selected:
                text.stylize(self._style("cursor"))
            segments = list(text.render(self.app.console))
            strip = Strip(segments, text.cell_len)
            if selected or highlighted:
                pad = self._style("cursor") if selected else self._style("highlight")
                strip = Strip([*strip, Segment(" " * max(0, self._width - strip.cell_length), pad)])
            self._cache[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
