"""The console's Audit view on a large audit output: a real lab fleet audit (`mailscope audit --lab-fleet N`) whose
records are repeated, each with its own row, up to RECORDS lines; then the time to read and summarize it and how long
the console's event loop was held while the view read it on its thread (the longest gap between two ticks of a 10 ms
timer). Prints figures; targets: the console never held more than 100 ms, 10,000 records read in under 10 s.

    python benchmarks/audit_view.py [--records 10000] [--fleet 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.app import App, ComposeResult  # noqa: E402

from tui.audit_view import AuditView  # noqa: E402


def big_output(directory: Path, fleet: int, records: int) -> Path:
    """A real fleet audit's records, repeated with rows numbered on, until `records` lines."""
    real = directory / "fleet.audit.jsonl"
    subprocess.run([sys.executable, "-m", "tui.cli", "audit", "--lab-fleet", str(fleet), "-o", str(real)], cwd=ROOT,
                   capture_output=True, check=False, timeout=300)  # fmt: skip
    lines = [json.loads(line) for line in real.read_text().splitlines()]
    big = directory / "big.audit.jsonl"
    with big.open("w") as out:
        for row in range(records):
            record = lines[row % len(lines)]
            record["audit"] = {**record["audit"], "row": row + 2}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return big


class Bench(App[None]):
    def __init__(self, reports: Path) -> None:
        super().__init__()
        self.reports = reports
        self.longest = 0.0
        self._last = time.perf_counter()

    def compose(self) -> ComposeResult:
        yield AuditView(id="audit", reports_dir=self.reports)

    def on_mount(self) -> None:
        self.set_interval(0.01, self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now


async def measure(path: Path, reports: Path) -> tuple[float, float, int]:
    app = Bench(reports)
    async with app.run_test(size=(140, 45)) as pilot:
        view = app.query_one(AuditView)
        await pilot.pause(0.2)
        app.longest, app._last = 0.0, time.perf_counter()
        started = time.perf_counter()
        view.query_one("#audit-source").focus()
        view._load(str(path))
        while view.loaded is None:
            await pilot.pause(0.01)
        return time.perf_counter() - started, app.longest, view.loaded.summary.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--fleet", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = big_output(Path(tmp), args.fleet, args.records)
        size = path.stat().st_size
        seconds, longest, total = asyncio.run(measure(path, Path(tmp)))
    print(f"audit output: {total:,} records, {size / 1e6:.1f} MB")
    print(f"read and summarized by the Audit view in {seconds:.2f} s ({total / seconds:,.0f} records/s)")
    print(f"longest the console's event loop was held meanwhile: {longest * 1000:.0f} ms (a 10 ms timer's widest gap)")


if __name__ == "__main__":
    main()
