"""First sync of a big calendar, both ways, against the floor set by exchangelib itself.

1. PC CADDIE → Exchange: N appointments into an empty calendar of the stand-in, by one
   `sync-service sync-now` (a real process, through the gateway).
2. Exchange → PC CADDIE: N items made in the stand-in first, then one `sync-now` imports them.
3. The floor: the same N creates done directly with exchangelib's bulk calls, same stand-in,
   same run; and the naive way (one `save()` per item), timed on a sample and scaled.
Figures: items per second, Exchange requests per 100 items, peak memory of each service, and the
ratios ours/floor (goal ≤ 1.3) and naive/ours (expected ≥ 10).

    python3 run.py -- python bench/first_sync.py [--items 10000] [--naive-sample 500]
        [--export-only] [--profile DIR [--py-spy PATH]] [--backend ews|graph]

--backend graph: the user's account is Microsoft Graph with the club's app (`app set`, `account set
--graph`; the stand-in with --app and --tls). Its floors (bench/graph_floor.py) are plain Graph
calls over verified TLS with an app token: the same items as ours (every field, our extended
properties, a transactionId; built by the gateway's `convert.event_body`) made by hand in
`$batch` requests of 20, one after the other, into a calendar of their own; subject/start/end
items made the same way into the main calendar, which the import then reads; and the floor of
reading 10,000 events (a calendarView delta round and every event read again in `$batch` GETs of
20 with our extended properties). Requests are the stand-in's Graph requests (a `$batch` is one).

--export-only measures the export and its floor only (no import, no naive sample). It also prints
where the export's time goes: the CPU seconds of each of the three processes (sync-now, gateway,
stand-in) against the wall time and the cores, and the sync-now's own phases from its log.
--profile DIR samples all three processes during the export with py-spy (every thread, idle ones
left out unless --idle) and writes DIR/{sync-now,gateway,emulator}.txt (collapsed stacks) and a summary of the
functions with the most samples, DIR/summary.txt (see bench/profile_summary.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchangelib import Account, CalendarItem, EWSDateTime, EWSTimeZone  # noqa: E402
from exchangelib.protocol import close_connections  # noqa: E402
from loguru import logger  # noqa: E402

from bench.harness import Stage  # noqa: E402
from sandbox.outlook import outlook as outlook_client  # noqa: E402
from sandbox.processes import command, cpu_seconds, log_messages, log_time, peak_resident_kib  # noqa: E402

ZONE = EWSTimeZone("Europe/Berlin")


def outlook(stage: Stage) -> Account:
    address, password = stage.mailboxes[0]
    return outlook_client(stage.url, address, password, max_connections=4)


def items(account: Account, count: int, prefix: str, like_ours: bool = False) -> list[CalendarItem]:
    """`count` new calendar items; `like_ours`: with every field the sync's exports carry (time
    zones, sensitivity, reminder, the area as a category, free/busy, the external id in an
    extended property), built by the gateway's own conversion, so that the floor is the same
    creates; else with subject, start and end only."""
    from bench.harness import dt

    today = dt.datetime.combine(dt.date.today(), dt.time())
    made = []
    if like_ours:
        from exchange_gateway.ews.convert import calendar_item, register_external_id
        from protocol.entries import CalendarEntry

        register_external_id()
        # the mark of what the sync wrote (a digest), where the gateway carries one
        has_mark = "written" in {field.name for field in dataclasses.fields(CalendarEntry)}
        marks: dict[str, Any] = {"written": "0" * 64} if has_mark else {}
    for n in range(count):
        start = EWSDateTime.from_datetime(today + dt.timedelta(days=1 + n % 300, hours=7 + n % 11)).replace(tzinfo=ZONE)
        end = start + dt.timedelta(minutes=50)
        if like_ours:
            entry = CalendarEntry(
                **marks,
                subject=f"{prefix} {n}",
                start=utc(start),
                end=utc(end),
                timezone=ZONE.key,
                reminder_minutes=15,
                categories=("Area 00-0",),
                external_id=f"bench:{prefix}:{n}",
            )
            made.append(calendar_item(entry, account=account, folder=account.calendar))
        else:
            made.append(
                CalendarItem(account=account, folder=account.calendar, subject=f"{prefix} {n}", start=start, end=end)
            )
    return made


def utc(moment: EWSDateTime) -> str:
    return moment.astimezone(EWSTimeZone("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor(stage: Stage, account: Account, n: int, kind: str) -> tuple[float, float, float]:
    """N creates by exchangelib's bulk_create in chunks of 100, as a client would do them: wall
    seconds, this process's CPU and the stand-in's."""
    emulator_cpu, own_cpu = cpu_seconds(stage.emulator.pid), time.process_time()
    started = time.perf_counter()
    made = items(account, n, f"Made in Outlook ({kind})", like_ours=kind == "same")
    for start in range(0, n, 100):
        account.bulk_create(folder=account.calendar, items=made[start : start + 100])
    seconds = time.perf_counter() - started
    return seconds, time.process_time() - own_cpu, cpu_seconds(stage.emulator.pid) - emulator_cpu


def load() -> str:
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Spies:
    """py-spy sampling the given processes until stopped (SIGINT makes it write its file)."""

    def __init__(self, py_spy: str, folder: Path, idle: bool = False) -> None:
        self.py_spy, self.folder, self.idle = py_spy, folder, idle
        self.running: list[subprocess.Popen[bytes]] = []
        folder.mkdir(parents=True, exist_ok=True)

    def attach(self, name: str, pid: int) -> None:
        self.running.append(self._start(name, ["--pid", str(pid)]))

    def wrap(self, name: str, argv: list[str]) -> list[str]:
        return self._record(name) + ["--", *argv]

    def _record(self, name: str) -> list[str]:
        output = str(self.folder / f"{name}.txt")
        idle = ["--idle"] if self.idle else []
        return [self.py_spy, "record", "--format", "raw", "--rate", "250", "--nonblocking", *idle, "--output", output]

    def _start(self, name: str, target: list[str]) -> subprocess.Popen:
        return subprocess.Popen(self._record(name) + target, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        for spy in self.running:
            spy.send_signal(signal.SIGINT)
        for spy in self.running:
            spy.wait(timeout=60)
        self.running = []


def sync_now(stage: Stage, spies: Spies | None = None, prototype: bool = False) -> tuple[float, int, float]:
    """One sync-now as a real process: its wall time, its peak memory (KiB) and its CPU seconds.
    `prototype`: with bench/export_engine.py's bulk writes (bench/sync_now_prototype.py)."""
    program = [sys.executable, str(Path(__file__).with_name("sync_now_prototype.py"))] if prototype else None
    argv = (program or command("sync-service")) + ["--home", str(stage.home), "sync-now", "--gateway"]
    argv.append(str(stage.gateway_address))
    if spies is not None:
        argv = spies.wrap("sync-now", argv)
    cpu_before = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"sync-now failed: {result.stderr}")
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, children_cpu() - cpu_before


def log_phases(stage: Stage, wall_started: float) -> list[tuple[str, float]]:
    """The sync-now's log lines of its last cycle, as seconds after the process was started."""
    phases = []
    for stamp, message in log_messages(stage.home / "logs" / "sync-service.log"):
        at = log_time(stamp).timestamp()
        if at >= wall_started - 0.05:
            phases.append((message[:90], at - wall_started))
    return phases


@dataclasses.dataclass(frozen=True)
class Export:
    """One measured sync-now of the export: its wall time, the peak memory and CPU of each process,
    its log's phases and the Exchange requests it made."""

    seconds: float
    peak_kib: int
    sync_cpu: float
    gateway_cpu: float
    emulator_cpu: float
    phases: list[tuple[str, float]]
    requests: int


def measured_export(stage: Stage, options: argparse.Namespace, prototype: bool) -> Export:
    """The sync-now that exports what PC CADDIE holds, measured (py-spied with --profile)."""
    requests_before = stage.emulator_requests()
    spies = Spies(options.py_spy, options.profile, options.idle) if options.profile is not None else None
    if spies is not None:
        spies.attach("gateway", stage.gateway.pid)
        spies.attach("emulator", stage.emulator.pid)
        time.sleep(1)  # py-spy attaches
    gateway_cpu, emulator_cpu = cpu_seconds(stage.gateway.pid), cpu_seconds(stage.emulator.pid)
    wall_started = time.time()
    seconds, peak, sync_cpu = sync_now(stage, spies, prototype)
    gateway_cpu = cpu_seconds(stage.gateway.pid) - gateway_cpu
    emulator_cpu = cpu_seconds(stage.emulator.pid) - emulator_cpu
    if spies is not None:
        spies.stop()
    phases = log_phases(stage, wall_started)
    return Export(
        seconds, peak, sync_cpu, gateway_cpu, emulator_cpu, phases, stage.emulator_requests() - requests_before
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=500)
    parser.add_argument("--export-only", action="store_true", help="the export and its floor, and where time goes")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy all three processes during the export")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="the py-spy program (default: on PATH)")
    parser.add_argument(
        "--floor",
        choices=("minimal", "same", "both"),
        default="minimal",
        help="the floor's items: subject, start, end (minimal), every field ours carry (same; with --export-only)",
    )
    parser.add_argument("--prototype", action="store_true", help="sync-now with the bulk-write prototype")
    parser.add_argument("--idle", action="store_true", help="--profile: sample waiting threads too (wall time)")
    parser.add_argument("--backend", choices=("ews", "graph"), default="ews", help="how the user reaches the mailbox")
    options = parser.parse_args()
    if options.backend == "graph":
        if options.prototype:
            parser.error("--prototype is for EWS only")
        logger.remove()
        graph_main(options)
        return
    if options.floor != "minimal" and not options.export_only:
        parser.error("--floor same|both needs --export-only (the import would meet the floor's external ids)")
    if options.profile is not None and not options.py_spy:
        parser.error("--profile needs py-spy (pip install py-spy, or --py-spy PATH)")
    logger.remove()
    n = options.items
    print(f"load before: {load()} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-first-") as folder:
        stage = Stage(Path(folder) / "home", mailboxes=1)
        try:
            areas = stage.club(users=1, calendars_per_user=1)
            # 1. PC CADDIE → Exchange
            stage.appointments(areas, total=n, in_window=n)
            export = measured_export(stage, options, options.prototype)
            export_s, sync_peak, export_cpu = export.seconds, export.peak_kib, export.sync_cpu
            gateway_cpu, emulator_cpu, phases = export.gateway_cpu, export.emulator_cpu, export.phases
            export_requests = export.requests
            account = outlook(stage)
            assert account.calendar.all().count() == n, "not all items arrived"
            # 2. Exchange → PC CADDIE: make N in Exchange (timed: that is the floor), then import them
            kinds = ("minimal", "same") if options.floor == "both" else (options.floor,)
            floors = {kind: floor(stage, account, n, kind) for kind in kinds}
            if not options.export_only:
                requests_before = stage.emulator_requests()
                import_s, sync_peak2, _ = sync_now(stage, prototype=options.prototype)
                import_requests = stage.emulator_requests() - requests_before
                gateway_peak = peak_resident_kib(stage.gateway.pid)
                # 3. the naive way: one save() per item, on a sample
                sample = items(account, options.naive_sample, "Naive")
                naive_started = time.perf_counter()
                for item in sample:
                    item.save()
                naive_per_item = (time.perf_counter() - naive_started) / options.naive_sample
        finally:
            stage.stop()
            close_connections()
    print(f"first sync of {n:,} appointments              seconds   items/s   Exchange requests per 100 items")
    rows = [("PC CADDIE -> Exchange (sync-now)", export_s, export_requests)]
    if not options.export_only:
        rows.append(("Exchange -> PC CADDIE (sync-now)", import_s, import_requests))
    for label, seconds, requests in rows:
        print(f"  {label:<40}{seconds:8.1f}  {n / seconds:8.0f}   {100 * requests / n:6.2f}")
    for kind, (floor_s, _, _) in floors.items():
        print(f"  floor: exchangelib bulk_create directly   {floor_s:8.1f}  {n / floor_s:8.0f}   ({kind} items)")
    if not options.export_only:
        naive_s = naive_per_item * n
        print(f"  naive: one save() per item (scaled)       {naive_s:8.1f}  {n / naive_s:8.0f}")
    for kind, (floor_s, _, _) in floors.items():
        print(f"ratio ours/floor (export, {kind} items): {export_s / floor_s:.2f}   (goal <= 1.3)")
    if not options.export_only:
        print(f"ratio naive/ours (export): {naive_s / export_s:.1f}   (expected >= 10)")
        sync_mb, gateway_mb = max(sync_peak, sync_peak2) / 1024, gateway_peak / 1024
        print(f"peak memory: sync service {sync_mb:.0f} MB, gateway {gateway_mb:.0f} MB   (goal < 150 MB each)")
    total = export_cpu + gateway_cpu + emulator_cpu
    cores = os.cpu_count() or 1
    print(f"CPU seconds during the export ({export_s:.1f} s wall x {cores} cores = {export_s * cores:.1f} core-s):")
    print(f"  sync-now {export_cpu:.1f}   gateway {gateway_cpu:.1f}   stand-in {emulator_cpu:.1f}   total {total:.1f}")
    for kind, (floor_s, own_cpu, emulator_cpu) in floors.items():
        print(
            f"CPU seconds during the floor ({kind} items, {floor_s:.1f} s wall): exchangelib client {own_cpu:.1f}",
            end="",
        )
        print(f"   stand-in {emulator_cpu:.1f}   total {own_cpu + emulator_cpu:.1f}")
    print("the sync-now's log (seconds after its start):")
    for message, at in phases:
        print(f"  {at:7.2f}  {message}")
    print(f"load after: {load()}")


def graph_main(options: argparse.Namespace) -> None:
    """The first sync both ways on Microsoft Graph, against the floors of bench/graph_floor.py."""
    from bench.graph_floor import GraphFloor, entries

    n = options.items
    print(f"load before: {load()} on {os.cpu_count()} cores (backend graph)")
    floors: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-first-graph-") as folder:
        stage = Stage(Path(folder) / "home", mailboxes=1, backend="graph")
        by_hand = GraphFloor(stage.world, stage.mailboxes[0][0])
        try:
            areas = stage.club(users=1, calendars_per_user=1)
            # 1. PC CADDIE -> Exchange
            stage.appointments(areas, total=n, in_window=n)
            export = measured_export(stage, options, False)
            export_s, sync_peak, export_cpu = export.seconds, export.peak_kib, export.sync_cpu
            gateway_cpu, emulator_cpu, phases = export.gateway_cpu, export.emulator_cpu, export.phases
            export_requests = export.requests
            assert by_hand.count() == n, "not all items arrived"
            # the floor: the same items by hand, into a calendar of their own
            floor_path = by_hand.calendar("Floor")
            floors["same"] = timed(stage, lambda: by_hand.create_entries(floor_path, list(entries(n, "Floor")), True))
            assert by_hand.count(floor_path) == n, "not all the floor's items arrived"
            if not options.export_only:
                # 2. Exchange -> PC CADDIE: N made by hand in the main calendar, then imported
                made = list(entries(n, "Made in Outlook"))
                floors["minimal"] = timed(stage, lambda: by_hand.create_entries("/calendar", made, False))
                requests_before = stage.emulator_requests()
                import_gateway, import_emulator = cpu_seconds(stage.gateway.pid), cpu_seconds(stage.emulator.pid)
                import_s, sync_peak2, import_cpu = sync_now(stage)
                import_gateway = cpu_seconds(stage.gateway.pid) - import_gateway
                import_emulator = cpu_seconds(stage.emulator.pid) - import_emulator
                import_requests = stage.emulator_requests() - requests_before
                gateway_peak = peak_resident_kib(stage.gateway.pid)
                imported = sum(1 for row in stage.world.pccaddie_rows() if row["title"].startswith("Made in Outlook"))
                assert imported == n, f"{imported} of {n} items imported"
                read_s, read_n = by_hand.read(floor_path)
                assert read_n == n
                # 3. the naive way: one POST per item, on a sample
                naive_per_item = by_hand.naive(list(entries(options.naive_sample, "Naive")))
        finally:
            by_hand.close()
            stage.stop()
    print(f"first sync of {n:,} appointments on Graph    seconds   items/s   Graph requests per 100 items")
    rows = [("PC CADDIE -> Exchange (sync-now)", export_s, export_requests)]
    if not options.export_only:
        rows.append(("Exchange -> PC CADDIE (sync-now)", import_s, import_requests))
    for label, seconds, requests in rows:
        print(f"  {label:<40}{seconds:8.1f}  {n / seconds:8.0f}   {100 * requests / n:6.2f}")
    labels = {"same": "the same items as ours", "minimal": "subject/start/end items"}
    for kind, (floor_s, _, _) in floors.items():
        print(f"  floor: $batch creates by hand          {floor_s:8.1f}  {n / floor_s:8.0f}   ({labels[kind]})")
    if not options.export_only:
        print(f"  floor: delta + $batch GETs by hand     {read_s:8.1f}  {n / read_s:8.0f}   (reading {n:,} events)")
        naive_s = naive_per_item * n
        print(f"  naive: one POST per item (scaled)      {naive_s:8.1f}  {n / naive_s:8.0f}")
    for kind, (floor_s, _, _) in floors.items():
        print(f"ratio ours/floor (export, {labels[kind]}): {export_s / floor_s:.2f}   (goal <= 1.3)")
    if not options.export_only:
        print(f"ratio ours/floor (import, against reading by hand): {import_s / read_s:.2f}   (goal <= 1.3)")
        print(f"ratio naive/ours (export): {naive_s / export_s:.1f}   (expected >= 10)")
        sync_mb, gateway_mb = max(sync_peak, sync_peak2) / 1024, gateway_peak / 1024
        print(f"peak memory: sync service {sync_mb:.0f} MB, gateway {gateway_mb:.0f} MB   (goal < 150 MB each)")
        import_total = import_cpu + import_gateway + import_emulator
        print(
            f"CPU seconds during the import ({import_s:.1f} s wall): sync-now {import_cpu:.1f}   gateway "
            f"{import_gateway:.1f}   stand-in {import_emulator:.1f}   total {import_total:.1f}"
        )
    total = export_cpu + gateway_cpu + emulator_cpu
    cores = os.cpu_count() or 1
    print(f"CPU seconds during the export ({export_s:.1f} s wall x {cores} cores = {export_s * cores:.1f} core-s):")
    print(f"  sync-now {export_cpu:.1f}   gateway {gateway_cpu:.1f}   stand-in {emulator_cpu:.1f}   total {total:.1f}")
    for kind, (floor_s, own_cpu, floor_emulator_cpu) in floors.items():
        print(f"CPU seconds during the floor ({labels[kind]}, {floor_s:.1f} s wall): client {own_cpu:.1f}", end="")
        print(f"   stand-in {floor_emulator_cpu:.1f}   total {own_cpu + floor_emulator_cpu:.1f}")
    print("the sync-now's log (seconds after its start):")
    for message, at in phases:
        print(f"  {at:7.2f}  {message}")
    print(f"load after: {load()}")


def timed(stage: Stage, work) -> tuple[float, float, float]:
    """`work()`'s wall seconds (as it returns them), this process's CPU and the stand-in's."""
    emulator_cpu, own_cpu = cpu_seconds(stage.emulator.pid), time.process_time()
    seconds = work()
    return seconds, time.process_time() - own_cpu, cpu_seconds(stage.emulator.pid) - emulator_cpu


if __name__ == "__main__":
    main()
