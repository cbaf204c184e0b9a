"""How much does reading one change cost as the timetable grows?

Builds two club databases, one with --small and one with --large appointments (the journal holding
an entry for each, as if nothing had been pruned), then, side by side, makes one change in each
and measures reading "the changes since my cursor" through the project's own journal API, and,
for contrast, the naive way a poller without a journal would find it (scanning the table for rows
modified after a time). Prints the figures and the ratios large/small; the goal is a ratio near 1
for the journal.

    python3 run.py -- python bench/journal_read.py [--small 1000] [--large 100000] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sync_service.store import journal
from sync_service.store.database import open_database

STAMP = "2026-06-01 09:30:00"


def build(path: Path, appointments: int) -> None:
    db = open_database(path)
    db.close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN")
    raw.execute("INSERT INTO timetable_area (name) VALUES ('Tee times')")
    raw.executemany(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (1, ?, ?, ?, ?, ?)',
        ((f"Tee time {i}", STAMP, STAMP, STAMP, STAMP) for i in range(appointments)),
    )
    raw.execute("COMMIT")
    raw.close()


def measure(path: Path, repeat: int) -> dict[str, float]:
    db = open_database(path)
    cursor = journal.latest_seq()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("UPDATE appointment SET title = 'Changed', modified = '2026-06-02 10:00:00' WHERE id = 1")
    raw.close()

    def journal_read() -> None:
        changes = journal.changes_since(cursor)
        assert len(changes) == 1

    def table_scan() -> None:
        rows = db.execute_sql("SELECT id FROM appointment WHERE modified > ?", ("2026-06-01 12:00:00",)).fetchall()
        assert len(rows) == 1

    figures = {}
    for name, action in (("journal", journal_read), ("scan", table_scan)):
        samples = []
        runs = repeat if name == "journal" else max(20, repeat // 50)
        for _ in range(runs):
            start = time.perf_counter_ns()
            action()
            samples.append(time.perf_counter_ns() - start)
        figures[name] = statistics.median(samples) / 1000  # microseconds
    db.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for size in (options.small, options.large):
            path = Path(folder) / f"club-{size}.sqlite3"
            started = time.perf_counter()
            build(path, size)
            print(f"built a club database with {size:,} appointments in {time.perf_counter() - started:.1f} s")
            results[size] = measure(path, options.repeat)
    small, large = results[options.small], results[options.large]
    print()
    print(f"{'read one change':<34}{options.small:>12,}{options.large:>12,}   ratio large/small")
    for name, label in (("journal", "journal: changes since cursor"), ("scan", "naive: scan for modified rows")):
        print(f"{label:<34}{small[name]:>10.1f}µs{large[name]:>10.1f}µs   {large[name] / small[name]:.2f}")
    print()
    print(f"journal vs naive scan at {options.large:,} appointments: {large['scan'] / large['journal']:.0f}x cheaper")


if __name__ == "__main__":
    main()
