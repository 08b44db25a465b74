"""Console speed figures.

1. First paint in a real terminal: launch `mailscope` in a tmux pane and poll `capture-pane` until its first
   frame is on screen; the same for a bare Textual app (Header, Static, Footer). Prints medians and the ratio
   (target <= 1.3x).
2. Transcript ingest: 100k protocol lines through a real SessionRecord (redaction included) into the running
   console, headless. Prints lines/s until the last line is on screen, and how responsive the UI stayed
   (event-loop lag while ingesting, and the time a key press took to take effect mid-stream).

Usage: python benchmarks/first_paint.py [--runs 7] [--lines 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE_APP = '''
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static("bare app ready")
        yield Footer()

Bare().run()
'''


def time_to_first_frame(command: str, marker: str, timeout: float = 20) -> float:
    tmux = shutil.which("tmux")
    if tmux is None:
        sys.exit("tmux is needed for the first-paint figure")
    base = [tmux, "-L", f"ms-bench-{uuid.uuid4().hex[:8]}", "-f", "/dev/null"]
    subprocess.run([*base, "new-session", "-d", "-s", "b", "-x", "120", "-y", "36", "sleep 60"], check=True)
    try:
        env = ["-e", "TERM=xterm-256color", "-e", "COLORTERM=truecolor", "-e", "LANG=C.UTF-8"]
        start = time.perf_counter()
        subprocess.run([*base, "respawn-pane", "-k", "-t", "b", *env, command], check=True)
        while time.perf_counter() - start < timeout:
            screen = subprocess.run([*base, "capture-pane", "-t", "b", "-p"], capture_output=True, text=True).stdout
            if marker in screen:
                return time.perf_counter() - start
            time.sleep(0.005)
        raise RuntimeError(f"{marker!r} never appeared for {command}")
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True)


def first_paint(runs: int) -> None:
    mailscope = Path(sys.executable).with_name("mailscope")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        # warm the bytecode caches once each
        time_to_first_frame(f"{sys.executable} {bare}", "bare app ready")
        time_to_first_frame(f"cd {tmp} && {mailscope}", "press r to run")
        bare_times, console_times = [], []
        for _ in range(runs):
            bare_times.append(time_to_first_frame(f"{sys.executable} {bare}", "bare app ready"))
            console_times.append(time_to_first_frame(f"cd {tmp} && {mailscope}", "press r to run"))
    b, c = statistics.median(bare_times), statistics.median(console_times)
    print(f"first paint in tmux (median of {runs}, 120x36):")
    print(f"  bare Textual app : {b * 1000:7.1f} ms   (min {min(bare_times) * 1000:.1f})")
    print(f"  mailscope console: {c * 1000:7.1f} ms   (min {min(console_times) * 1000:.1f})")
    print(f"  ratio            : {c / b:7.2f}x  (target <= 1.30x; ratio of the minimums {min(console_times) / min(bare_times):.2f}x)")
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, tui.app; print(sorted({m.split('.')[0] for m in sys.modules} & "
                               "{'msal', 'google', 'aioimaplib', 'requests', 'jwt', 'cryptography'}))"],
        capture_output=True, text=True, cwd=ROOT,
    ).stdout.strip()
    print(f"  heavy modules imported at startup: {heavy}")


async def ingest(count: int) -> None:
    from mailscope.events import Direction
    from tui.app import MailscopeApp
    from tui.session import Target

    texts = [
        (Direction.CLIENT, "A{n} UID FETCH {n}:{n} (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"),
        (Direction.SERVER, "* {n} FETCH (UID {n} FLAGS (\\Seen) BODY[HEADER.FIELDS (FROM SUBJECT DATE)] {{92}}"),
        (Direction.SERVER, "A{n} OK FETCH completed."),
    ]
    done = asyncio.Event()
    marks: dict[str, float] = {}

    async def firehose(target, make_record) -> None:
        record = make_record(None)
        marks["start"] = time.perf_counter()
        for n in range(count):
            direction, text = texts[n % 3]
            record.add_line(direction, text.format(n=n))
            if n % 100 == 99:
                await asyncio.sleep(0)
        marks["produced"] = time.perf_counter()
        done.set()

    app = MailscopeApp(Target(scenario="bench"), runner=firehose, diagnoser_factory=lambda: None, scenarios=[])
    lags: list[float] = []
    key_latency: list[float] = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with app.run_test(size=(120, 36)) as pilot:

        async def ticker() -> None:
            while not done.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - t - 0.01)

        async def press_mid_stream() -> None:
            while app.transcript.total_added < count // 2:
                await asyncio.sleep(0.005)
            # The `e` binding's action, queued on the busy loop like a key press (pilot.press itself waits for idle).
            t = time.perf_counter()
            app.call_later(app.run_action, "toggle_explain")
            while not app.transcript.explain:
                await asyncio.sleep(0.001)
            key_latency.append(time.perf_counter() - t)
            app.call_later(app.run_action, "toggle_explain")

        tick = asyncio.create_task(ticker())
        key = asyncio.create_task(press_mid_stream())
        await pilot.press("r")
        await done.wait()
        last = texts[(count - 1) % 3][1].format(n=count - 1)[:20]  # the pane may crop the rest
        while not (app.transcript.total_added == count and last in app.export_screenshot().replace("&#160;", " ")):
            await pilot.pause(0.01)
        end = time.perf_counter()
        await tick
        await key
        gc.collect()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        shown = app.transcript.row_count
    elapsed = end - marks["start"]
    print(f"transcript ingest: {count:,} lines through SessionRecord (redaction) into the console, headless 120x36")
    print(f"  lines/s until the last line is on screen: {count / elapsed:,.0f}  ({elapsed:.2f} s)")
    print(f"  producer alone finished after            : {marks['produced'] - marks['start']:.2f} s")
    print(f"  rows kept (bounded deque)                : {shown:,}")
    print(f"  event-loop lag while ingesting           : median {statistics.median(lags) * 1000:.1f} ms, "
          f"p99 {sorted(lags)[int(len(lags) * 0.99)] * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms")
    print(f"  explain toggle (key e) mid-stream, 50k-line transcript, took effect after: {key_latency[0] * 1000:.1f} ms")
    print(f"  peak RSS growth                          : {(rss_after - rss_before) / 1024:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--skip-paint", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if not args.skip_paint:
        first_paint(args.runs)
    if not args.skip_ingest:
        asyncio.run(ingest(args.lines))


if __name__ == "__main__":
    main()
