"""Idle cycle: what a cycle costs the sync service when nothing changed, as the club grows.

20 users × 3 calendars (60 subscriptions, 20 mailboxes in the stand-in Exchange) with 1,000 and
then 100,000 appointments (a few hundred in the coming weeks, the rest the club's history). After
the first sync, cycles with no change are timed: the sync service's own CPU time (this process:
the engine and its database thread; the gateway and the stand-in are other processes) and the
wall time per cycle, and the ratio large/small, and the requests the stand-in answered per cycle.
Goal: under 20 ms of CPU per cycle, ratio ≤ 1.5; on Graph at most one request per calendar.

    python3 run.py -- python bench/idle_cycle.py [--small 1000] [--large 100000] [--cycles 10]
        [--backend ews|graph]

--backend graph: the users' accounts are Microsoft Graph with the club's app (`app set`, `account
set --graph`), the stand-in with --app and --tls; requests are its Graph requests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trio  # noqa: E402
from loguru import logger  # noqa: E402

from bench.harness import Connected, Stage, process_cpu  # noqa: E402


async def measure(stage: Stage, cycles: int) -> dict[str, float]:
    async with Connected(stage) as engine:
        first_started = time.perf_counter()
        await engine.settle()  # the first sync
        first = time.perf_counter() - first_started
        cpu, wall = [], []
        requests_before = await trio.to_thread.run_sync(stage.emulator_requests)
        for _ in range(cycles):
            cpu_start, wall_start = process_cpu(), time.perf_counter()
            summary = await engine.cycle()
            cpu.append(process_cpu() - cpu_start)
            wall.append(time.perf_counter() - wall_start)
            assert not summary.counts and not summary.errors, summary.line()
        requests = await trio.to_thread.run_sync(stage.emulator_requests) - requests_before
    return {
        "cpu_ms": statistics.median(cpu) * 1000,
        "wall_ms": statistics.median(wall) * 1000,
        "first_s": first,
        "requests": requests / cycles,
    }


def run(size: int, cycles: int, backend: str = "ews") -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as folder:
        stage = Stage(Path(folder) / "home", mailboxes=20, backend=backend)
        try:
            areas = stage.club(users=20, calendars_per_user=3)
            stage.appointments(areas, total=size, in_window=300)
            return trio.run(measure, stage, cycles)
        finally:
            stage.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--backend", choices=("ews", "graph"), default="ews", help="how the users reach the mailboxes")
    options = parser.parse_args()
    logger.remove()
    small = run(options.small, options.cycles, options.backend)
    large = run(options.large, options.cycles, options.backend)
    print(f"backend {options.backend}")
    print(f"{'idle cycle, 20 users x 3 calendars':<40}{options.small:>12,}{options.large:>12,}   ratio large/small")
    print(
        f"{'sync service CPU per cycle':<40}{small['cpu_ms']:>10.1f}ms{large['cpu_ms']:>10.1f}ms   "
        f"{large['cpu_ms'] / small['cpu_ms']:.2f}"
    )
    print(
        f"{'wall time per cycle':<40}{small['wall_ms']:>10.1f}ms{large['wall_ms']:>10.1f}ms   "
        f"{large['wall_ms'] / small['wall_ms']:.2f}"
    )
    print(f"{'first sync (300 appointments, 60 calendars)':<40}{small['first_s']:>11.1f}s{large['first_s']:>11.1f}s")
    what = "Graph" if options.backend == "graph" else "EWS"
    print(
        f"{what + ' requests per cycle (60 calendars)':<40}{small['requests']:>12.1f}{large['requests']:>12.1f}   "
        f"per calendar {small['requests'] / 60:.2f} / {large['requests'] / 60:.2f}"
    )


if __name__ == "__main__":
    main()
