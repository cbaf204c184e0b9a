"""The sync service's own share of the first export, apart from the gateway and the stand-in.

The engine exports N appointments in this process, in one cycle, to the in-memory Exchange of
the engine's tests (tests/sync_service/engine/fake_exchange.py) instead of the gateway: what is
left is the sync service's own work. CPU time is measured per thread (the database thread's per
function it runs), so the figures hold on a busy machine better than wall times do.

    python3 run.py -- python bench/export_engine.py [--items 10000] [--cprofile FILE] [--compare]

--cprofile FILE  cProfile of the database thread's work (pstats file; the top is printed)
--compare        runs the export twice, on fresh databases: as the engine does it (the owed-create
                 rows, the results and the report's lines written in bulk, since 2026-12-02),
                 then with those written row by row as the engine did before (the reference
                 below, in this file); checks that both leave the same rows, and prints both.
                 bench/sync_now_prototype.py (bench/first_sync.py --prototype) now runs the
                 engine as it is.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trio  # noqa: E402
from loguru import logger  # noqa: E402

from bench.harness import BERLIN, insert_appointments, make_club  # noqa: E402
from protocol.entries import CalendarEntry, ItemResult, NewItem  # noqa: E402
from service_runtime.home import Home  # noqa: E402
from sync_service.core.appointment_content import agreed_json, to_entry  # noqa: E402
from sync_service.engine import calendar_state as state  # noqa: E402
from sync_service.engine.calendar_sync import EngineSettings  # noqa: E402
from sync_service.engine.database import DbRunner  # noqa: E402
from sync_service.engine.runner import CycleEngine  # noqa: E402
from sync_service.store.database import DATABASE_FILE, open_database  # noqa: E402
from sync_service.store.models import AppointmentLink, SyncReportLine  # noqa: E402
from sync_service.vault import PasswordVault  # noqa: E402
from tests.sync_service.engine.fake_exchange import FakeExchange  # noqa: E402

ENGINE = (state.prepare_exchange_creates, state.record_exchange_results, state.finish)


class Measured:
    """Database thread CPU per function, and the in-memory Exchange's CPU, of one run."""

    def __init__(self, profile: cProfile.Profile | None) -> None:
        self.db_cpu: Counter[str] = Counter()
        self.db_calls: Counter[str] = Counter()
        self.fake_cpu = 0.0
        self.profile = profile

    def runner(self, db) -> DbRunner:
        runner = DbRunner(db)
        plain = runner._call
        measured = self

        def call(function: Callable[..., Any], *args: object) -> Any:
            name = getattr(function, "__qualname__", repr(function))
            started = time.thread_time()
            if measured.profile is not None:
                measured.profile.enable()
            try:
                return plain(function, *args)
            finally:
                if measured.profile is not None:
                    measured.profile.disable()
                measured.db_cpu[name] += time.thread_time() - started
                measured.db_calls[name] += 1

        runner._call = call  # type: ignore[method-assign]
        return runner

    def exchange(self) -> FakeExchange:
        fake = FakeExchange(kind="calendar")
        create = fake.create
        measured = self

        async def timed_create(folder: str, entries: Sequence[NewItem]) -> list[ItemResult]:
            started = time.thread_time()
            try:
                return await create(folder, entries)
            finally:
                measured.fake_cpu += time.thread_time() - started

        fake.create = timed_create  # type: ignore[method-assign]
        return fake


# -- the reference: the same rows, written one by one ----------------------------------------------


def prepare_row_by_row(
    context: state.SubscriptionContext, sources: Sequence[tuple[Any, Any]]
) -> list[tuple[int, CalendarEntry]]:
    """What prepare_exchange_creates did before it wrote in bulk: a lookup and a row per create."""
    prepared = []
    for source, link in sources:
        existing = AppointmentLink.get_or_none(
            (AppointmentLink.subscription == context.subscription_id)
            & (AppointmentLink.appointment_id == int(source.key))
        )
        row = state._prepare_again(context, source, link, existing)
        entry = to_entry(source.content, context.zone, row.external_id, context.reminder_minutes, context.area_name)
        prepared.append((row.id, entry))
    return prepared


def record_row_by_row(
    context: state.SubscriptionContext,
    outcomes: Sequence[tuple[int, str, ItemResult | None, Any, str | None]],
    held: Sequence[Any] = (),
) -> list[tuple[str, bool]]:
    """What record_exchange_results did with the creates and updates Exchange confirmed before it
    wrote them in bulk: a lookup and a save() each; anything else goes the engine's way."""
    rest, rest_held = [], []
    for index, (link_id, action, result, content, key) in enumerate(outcomes):
        if not (result is not None and result.ok and action != "delete" and content is not None):
            rest.append((link_id, action, result, content, key))
            rest_held.append(held[index] if index < len(held) else None)
            continue
        row = AppointmentLink.get_or_none(AppointmentLink.id == link_id)
        if row is None:
            continue
        assert result is not None
        row.exchange_id = result.id or row.exchange_id
        row.change_key = result.change_key or row.change_key
        row.pending_create, row.attempts, row.last_error = False, 0, None
        if action == "create":
            row.verify = True
        row.digest, row.agreed, row.sent, row.updated = content.digest, agreed_json(content), None, state.now()
        row.save()
    return ENGINE[1](context, rest, rest_held)


class _OneByOne:
    """Stands for SyncReportLine inside `finish`: its insert_many() creates the rows one by one."""

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        class Each:
            def execute(self) -> None:
                for row in rows:
                    SyncReportLine.create(**row)

        return Each()

    def __getattr__(self, name: str) -> Any:
        return getattr(SyncReportLine, name)


def finish_row_by_row(*args: Any, **kwargs: Any) -> None:
    """What finish did before it wrote the report in bulk: one INSERT per line."""
    state.SyncReportLine = _OneByOne()  # type: ignore[misc, assignment]  (the database thread runs one call at a time)
    try:
        ENGINE[2](*args, **kwargs)
    finally:
        state.SyncReportLine = SyncReportLine  # type: ignore[misc]


def install_reference(row_by_row: bool) -> None:
    """The engine's functions, or the row-by-row reference's (in this process only)."""
    if row_by_row:
        state.prepare_exchange_creates, state.record_exchange_results = prepare_row_by_row, record_row_by_row
        state.finish = finish_row_by_row
    else:
        state.prepare_exchange_creates, state.record_exchange_results, state.finish = ENGINE


def install_prototype(bulk: bool) -> None:
    """For bench/sync_now_prototype.py: the bulk writes are the engine's own now (2026-12-02), so
    `bulk` is the engine as it is, and not `bulk` the row-by-row reference."""
    install_reference(not bulk)


# -- one run ---------------------------------------------------------------------------------------


def export(
    n: int, row_by_row: bool, profile: cProfile.Profile | None
) -> tuple[dict[str, float], Measured, list[tuple]]:
    install_reference(row_by_row)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
            home = Path(folder) / "home"
            home.mkdir()
            db = open_database(home / DATABASE_FILE, synchronous="full")
            vault = PasswordVault.for_home(Home(home).prepare())
            areas = make_club(db, vault, "http://127.0.0.1:9/EWS/Exchange.asmx", [("user00@club.example", "s")], 1)
            insert_appointments(home / DATABASE_FILE, areas, total=n, in_window=n)
            measured = Measured(profile)
            engine = CycleEngine(measured.runner(db), EngineSettings(BERLIN, vault))
            fake = measured.exchange()
            cpu, wall = time.process_time(), time.perf_counter()
            summary = trio.run(engine.run, lambda account, kind: fake)
            figures = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
            assert len(fake.items) == n, f"{len(fake.items)} of {n} made in Exchange"
            assert not summary.errors, summary.errors
            columns = "appointment_id, exchange_id, change_key, digest, origin, pending_create, attempts, last_error, "
            columns += "stopped, title, verify, creates_sent, agreed, sent, creates"
            rows = db.execute_sql(f"SELECT {columns} FROM appointment_link ORDER BY appointment_id").fetchall()
            report = "SELECT user_id, kind, subscription_id, action, side, item, title, detail FROM sync_report_line"
            rows += sorted(db.execute_sql(report).fetchall())
            db.close()
    finally:
        install_reference(False)
    return figures, measured, rows


def show(label: str, n: int, figures: Mapping[str, float], measured: Measured) -> None:
    db_total = sum(measured.db_cpu.values())
    rest = figures["cpu"] - db_total - measured.fake_cpu
    print(f"{label}: {n:,} appointments, wall {figures['wall']:.2f} s, CPU {figures['cpu']:.2f} s of which")
    print(f"  database thread {db_total:6.2f} s   ({1000 * db_total / n:.3f} ms per item)")
    for name, seconds in measured.db_cpu.most_common(8):
        print(f"    {seconds:6.2f} s  {measured.db_calls[name]:5d} calls  {name}")
    print(f"  in-memory Exchange (not ours) {measured.fake_cpu:6.2f} s")
    print(f"  the rest (trio side: decide, entries, batches, logging) {rest:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--cprofile", type=Path, metavar="FILE")
    parser.add_argument("--compare", action="store_true")
    options = parser.parse_args()
    logger.remove()
    profile = cProfile.Profile() if options.cprofile else None
    figures, measured, rows = export(options.items, row_by_row=False, profile=profile)
    show("as the engine does it", options.items, figures, measured)
    if profile is not None:
        profile.dump_stats(options.cprofile)
        pstats.Stats(str(options.cprofile)).sort_stats("cumulative").print_stats(30)
    if options.compare:
        slow_figures, slow_measured, slow_rows = export(options.items, row_by_row=True, profile=None)
        show("row by row (the engine before 2026-12-02, for reference)", options.items, slow_figures, slow_measured)
        links = options.items  # the first rows are the links: Exchange's ids and keys differ run to run
        same = [(a[0], *a[3:]) == (b[0], *b[3:]) for a, b in zip(rows[:links], slow_rows[:links])]
        same.append(rows[links:] == slow_rows[links:])
        print(f"rows alike: {len(rows) == len(slow_rows) and all(same)} ({len(rows)} rows)")
        saved = slow_figures["cpu"] - figures["cpu"]
        share, per_item = 100 * saved / slow_figures["cpu"], 1000 * saved / options.items
        print(f"CPU saved by the bulk writes: {saved:.2f} s ({share:.0f}%), {per_item:.3f} ms per item")
    print(f"(measured {dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    main()
