"""The transcript widget: buffered flushing, bounded memory, colours, filter, escapes."""

from __future__ import annotations

from textual.app import App, ComposeResult

from mailscope.events import Direction, LineAdded
from mailscope.record import SessionRecord
from widgets.transcript import Transcript


class Host(App):
    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.kwargs = kwargs

    def compose(self) -> ComposeResult:
        yield Transcript(**self.kwargs)


def screen_text(app: App) -> str:
    return app.export_screenshot().replace("&#160;", " ")


def feed(record: SessionRecord, transcript: Transcript) -> None:
    record.subscribe(lambda e: transcript.add(e.line) if isinstance(e, LineAdded) else None)


async def test_lines_reach_the_screen_in_batches_not_one_update_per_line():
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(Transcript)
        refreshes = []
        original = view.refresh
        view.refresh = lambda *a, **k: (refreshes.append(1), original(*a, **k))[1]
        record = SessionRecord()
        feed(record, view)
        for i in range(500):
            record.add_line(Direction.SERVER, f"* {i} EXISTS")
        assert view.row_count == 0  # nothing drawn until the flush
        await pilot.pause(0.1)
        assert view.row_count == 500
        assert len(refreshes) < 10
        assert "* 499 EXISTS" in screen_text(app)  # followed the tail


async def test_memory_is_bounded_and_the_tail_stays_visible():
    app = Host(max_lines=100)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        for i in range(1, 1001):
            record.add_line(Direction.CLIENT, f"A{i} NOOP")
            if i % 250 == 0:
                view.flush()
        await pilot.pause()
        assert view.row_count == 100 and view.total_added == 1000
        assert view.lines[0].seq == 901
        assert "A1000 NOOP" in screen_text(app)


async def test_server_control_sequences_never_reach_the_terminal():
    app = Host()
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        record.add_line(Direction.SERVER, "* OK \x1b]0;PWNED\x07 \x1b[2J hello")
        await pilot.pause(0.1)
        [text] = view.rendered_texts()
        assert "\x1b" not in text and "\x07" not in text
        assert "PWNED" in text


async def test_directions_have_distinct_styles():
    app = Host()
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(Transcript)
        styles = {d: view.get_component_rich_style(f"transcript--{d}") for d in ("client", "server", "info")}
        assert len({str(s) for s in styles.values()}) == 3
        record = SessionRecord()
        feed(record, view)
        record.add_line(Direction.CLIENT, "A1 CAPABILITY")
        await pilot.pause(0.1)
        strip = view.render_line(0)
        assert any(seg.text.startswith("C:") and seg.style == styles["client"] for seg in strip)


async def test_filter_and_highlight():
    app = Host()
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        for text in ("A1 CAPABILITY", "A2 LOGIN x y", "A3 LOGOUT"):
            record.add_line(Direction.CLIENT, text)
        await pilot.pause(0.1)
        view.set_filter("log")
        shown = view.rendered_texts()
        assert len(shown) == 2 and shown[0].split()[0] == "2" and shown[1].endswith("A3 LOGOUT")
        view.set_filter("")
        assert view.row_count == 3
        view.set_highlighted([2])
        view.select_seq(3)
        assert view.selected_seq == 3
