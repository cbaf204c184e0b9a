"""First sync of a big calendar, both ways, against the floor set by exchangelib itself.

1. PC CADDIE → Exchange: N appointments into an empty calendar of the stand-in, by one
   `sync-service sync-now` (a real process, through the gateway).
2. Exchange → PC CADDIE: N items made in the stand-in first, then one `sync-now` imports them.
3. The floor: the same N creates done directly with exchangelib's bulk calls, same stand-in,
   same run; and the naive way (one `save()` per item), timed on a sample and scaled.
Figures: items per second, Exchange requests per 100 items, peak memory of each service, and the
ratios ours/floor (goal ≤ 1.3) and naive/ours (expected ≥ 10).

    python3 run.py -- python bench/first_sync.py [--items 10000] [--naive-sample 500]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchangelib import (  # noqa: E402
    BASIC,
    DELEGATE,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    FailFast,
)
from exchangelib.protocol import close_connections  # noqa: E402
from loguru import logger  # noqa: E402

from bench.harness import Stage, rss_kib  # noqa: E402
from tests.e2e.processes import command  # noqa: E402

ZONE = EWSTimeZone("Europe/Berlin")


def outlook(stage: Stage) -> Account:
    address, password = stage.mailboxes[0]
    config = Configuration(service_endpoint=stage.url, credentials=Credentials(address, password), auth_type=BASIC,
                           retry_policy=FailFast(), max_connections=4)  # fmt: skip
    return Account(address, config=config, autodiscover=False, access_type=DELEGATE)


def items(account: Account, count: int, prefix: str) -> list[CalendarItem]:
    from bench.harness import dt

    today = dt.datetime.combine(dt.date.today(), dt.time())
    made = []
    for n in range(count):
        start = EWSDateTime.from_datetime(today + dt.timedelta(days=1 + n % 300, hours=7 + n % 11)).replace(tzinfo=ZONE)
        made.append(CalendarItem(account=account, folder=account.calendar, subject=f"{prefix} {n}", start=start,
                                 end=start + dt.timedelta(minutes=50)))  # fmt: skip
    return made


def sync_now(stage: Stage) -> tuple[float, int]:
    """One sync-now as a real process: its wall time and its peak memory (KiB)."""
    started = time.perf_counter()
    result = subprocess.run(command("sync-service") + ["--home", str(stage.home), "sync-now", "--gateway",
                                                       str(stage.gateway_address)],
                            capture_output=True, text=True, timeout=3600)  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"sync-now failed: {result.stderr}")
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=500)
    options = parser.parse_args()
    logger.remove()
    n = options.items
    with tempfile.TemporaryDirectory(prefix="bench-first-") as folder:
        stage = Stage(Path(folder) / "home", mailboxes=1)
        try:
            areas = stage.club(users=1, calendars_per_user=1)
            # 1. PC CADDIE → Exchange
            stage.appointments(areas, total=n, in_window=n)
            requests_before = stage.emulator_requests()
            export_s, sync_peak = sync_now(stage)
            export_requests = stage.emulator_requests() - requests_before
            account = outlook(stage)
            assert account.calendar.all().count() == n, "not all items arrived"
            # 2. Exchange → PC CADDIE: make N in Exchange (timed: that is the floor), then import them
            floor_started = time.perf_counter()
            made = items(account, n, "Made in Outlook")
            for start in range(0, n, 100):
                account.bulk_create(folder=account.calendar, items=made[start : start + 100])
            floor_s = time.perf_counter() - floor_started
            requests_before = stage.emulator_requests()
            import_s, sync_peak2 = sync_now(stage)
            import_requests = stage.emulator_requests() - requests_before
            gateway_peak = rss_kib(stage.gateway.process.pid)
            # 3. the naive way: one save() per item, on a sample
            sample = items(account, options.naive_sample, "Naive")
            naive_started = time.perf_counter()
            for item in sample:
                item.save()
            naive_per_item = (time.perf_counter() - naive_started) / options.naive_sample
        finally:
            stage.stop()
            close_connections()
    naive_s = naive_per_item * n
    print(f"first sync of {n:,} appointments              seconds   items/s   Exchange requests per 100 items")
    for label, seconds, requests in (("PC CADDIE -> Exchange (sync-now)", export_s, export_requests),
                                     ("Exchange -> PC CADDIE (sync-now)", import_s, import_requests)):  # fmt: skip
        print(f"  {label:<40}{seconds:8.1f}  {n / seconds:8.0f}   {100 * requests / n:6.2f}")
    print(f"  floor: exchangelib bulk_create directly   {floor_s:8.1f}  {n / floor_s:8.0f}")
    print(f"  naive: one save() per item (scaled)       {naive_s:8.1f}  {n / naive_s:8.0f}")
    print(f"ratio ours/floor (export): {export_s / floor_s:.2f}   (goal <= 1.3)")
    print(f"ratio naive/ours (export): {naive_s / export_s:.1f}   (expected >= 10)")
    print(
        f"peak memory: sync service {max(sync_peak, sync_peak2) / 1024:.0f} MB, gateway {gateway_peak / 1024:.0f} MB"
        "   (goal < 150 MB each)"
    )


if __name__ == "__main__":
    main()
