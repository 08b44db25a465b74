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


def _long(record: SessionRecord, count: int, width: int = 200) -> None:
    for i in range(1, count + 1):
        record.add_line(Direction.SERVER, f"* {i} FETCH " + "x" * width + f" END{i}")


async def test_the_last_line_stays_visible_above_the_horizontal_scrollbar():
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        _long(record, 30)
        await pilot.pause(0.2)
        assert view.show_horizontal_scrollbar  # the lines are wider than the pane
        last_visible_row = view.scrollable_content_region.height - 1  # the row above the scrollbar
        assert view.render_line(last_visible_row).text.startswith("   30   S: * 30 FETCH")  # the newest line, not under it


async def test_scrolling_sideways_keeps_the_gutter():
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        _long(record, 3)
        await pilot.pause(0.1)
        view.focus()
        await pilot.press("right", "right", "right")
        await pilot.pause()
        row = view.render_line(0).text
        assert row.startswith("    1   S: ") and "FETCH" not in row and "xxxx" in row  # body moved, number and S: stayed
        await pilot.press("end")
        view.scroll_to(x=10_000, animate=False, force=True)
        await pilot.pause()
        assert view.render_line(2).text.startswith("    3   S: ") and view.render_line(2).text.rstrip().endswith("END3")


async def test_wrap_mode_folds_long_lines_under_the_gutter():
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        _long(record, 2, width=100)
        await pilot.pause(0.1)
        view.wrap = True
        await pilot.pause()
        rows = view.rendered_texts()
        assert len(rows) > 2 and not view.show_horizontal_scrollbar
        assert rows[0].startswith("    1   S: ") and rows[1].startswith(" " * 9 + "↪ ")
        body = "".join(row[view.gutter_width:] for row in rows if row.startswith(("    1", " " * 9 + "↪")))
        assert body.startswith("* 1 FETCH x") and "END1" in body
        view.select_seq(2)
        assert view.selected_seq == 2
        view.action_cursor(-1)  # one line up, not one row
        assert view.selected_seq == 1


async def test_the_filter_counts_its_matches():
    app = Host()
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(Transcript)
        record = SessionRecord()
        feed(record, view)
        for text in ("A1 CAPABILITY", "A2 LOGIN x y", "A3 LOGOUT"):
            record.add_line(Direction.CLIENT, text)
        await pilot.pause(0.1)
        view.set_filter("log")
        assert view.match_count == 2
        view.explain = True
        assert view.match_count == 2  # explanation rows are not matches
        view.set_filter("")
        assert view.match_count == 3
