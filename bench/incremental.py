"""Incremental cycle and propagation latency.

1. One change among N appointments (a club's history plus the coming weeks, first sync done), on
   each side: the time from the change to the end of the cycle that carried it, with the cycle
   started right after the change (so: what the cycle itself costs).
2. Propagation latency with the default settings (a cycle every 60 s; PC CADDIE's journal looked
   at every second, a change bringing the next cycle forward): from a change in PC CADDIE to the
   item visible through exchangelib, measured with a running `sync-service`. A change made in
   Exchange still waits for the next cycle (at most the interval: EWS is polled).

    python3 run.py -- python bench/incremental.py [--appointments 100000] [--samples 20]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trio  # noqa: E402
from exchangelib import Account  # noqa: E402
from exchangelib.protocol import close_connections  # noqa: E402
from loguru import logger  # noqa: E402

from bench.harness import Connected, Stage  # noqa: E402
from sandbox.outlook import outlook as outlook_client  # noqa: E402
from sandbox.processes import sync_service  # noqa: E402


def outlook(stage: Stage) -> Account:
    address, password = stage.mailboxes[0]
    return outlook_client(stage.url, address, password)


def local_edit(stage: Stage, title: str) -> None:
    connection = sqlite3.connect(stage.home / "pccaddie.sqlite3", isolation_level=None)
    connection.execute("UPDATE appointment SET title = ? WHERE id = (SELECT min(id) FROM appointment)", (title,))
    connection.close()


async def incremental(stage: Stage, samples: int) -> dict[str, float]:
    account = outlook(stage)
    times: dict[str, list[float]] = {"pccaddie": [], "exchange": []}
    async with Connected(stage) as engine:
        await engine.settle()
        item = await trio.to_thread.run_sync(lambda: next(iter(account.calendar.all().order_by("start"))))
        for n in range(samples):
            started = time.perf_counter()
            local_edit(stage, f"Changed in PC CADDIE {n}")
            summary = await engine.cycle()
            times["pccaddie"].append(time.perf_counter() - started)
            assert summary.counts.get("updated-to-exchange") == 1, summary.line()

            def outlook_edit(n=n):
                item.refresh()
                item.subject = f"Changed in Outlook {n}"
                item.save(update_fields=["subject"])

            await trio.to_thread.run_sync(outlook_edit)
            started = time.perf_counter()
            summary = await engine.cycle()
            times["exchange"].append(time.perf_counter() - started)
            assert summary.counts.get("updated-to-pccaddie") == 1, summary.line()
    return {side: statistics.median(values) * 1000 for side, values in times.items()}


def latency(stage: Stage, interval: float, samples: int) -> list[float]:
    """A running sync service; each sample: a PC CADDIE change, then poll Exchange until it shows."""
    service = sync_service(stage.home, str(stage.gateway_address), "--interval", str(interval)).start()
    account = outlook(stage)
    measured = []
    try:
        service.wait_for("Sync ended", count=1, timeout=120)
        for n in range(samples):
            time.sleep((n * 0.37) % 2.0)  # changes at varied moments
            title = f"Latency {n}"
            local_edit(stage, title)
            started = time.perf_counter()
            while not account.calendar.filter(subject=title).exists():
                time.sleep(0.05)
            measured.append(time.perf_counter() - started)
    finally:
        service.stop()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--interval", type=float, default=60.0, help="the running service's interval for part 2")
    options = parser.parse_args()
    logger.remove()
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as folder:
        stage = Stage(Path(folder) / "home", mailboxes=1)
        try:
            areas = stage.club(users=1, calendars_per_user=1)
            stage.appointments(areas, total=options.appointments, in_window=300)
            cycle = trio.run(incremental, stage, options.samples)
            measured = sorted(latency(stage, options.interval, options.samples))
        finally:
            stage.stop()
            close_connections()
        subprocess.run(["true"])
    p50, p95 = statistics.median(measured), measured[int(0.95 * (len(measured) - 1))]
    print(f"one change among {options.appointments:,} appointments: the cycle that carries it")
    print(f"  PC CADDIE -> Exchange   {cycle['pccaddie']:7.1f} ms (median of {options.samples})")
    print(f"  Exchange -> PC CADDIE   {cycle['exchange']:7.1f} ms")
    print(f"propagation PC CADDIE -> visible in Exchange, running service, {options.interval:g} s interval:")
    print(f"  p50 {p50:.2f} s, p95 {p95:.2f} s (journal looked at every second, then one cycle)")
    cycle_s = cycle["exchange"] / 1000
    print(
        f"propagation Exchange -> PC CADDIE: the next cycle, p50 ≈ {options.interval / 2 + cycle_s:.1f} s, "
        f"at most {options.interval + cycle_s:.1f} s (EWS is polled)"
    )


if __name__ == "__main__":
    main()
