"""The sync service's own share of the first export, apart from the gateway and the stand-in.

The engine exports N appointments in this process, in one cycle, to the in-memory Exchange of
the engine's tests (tests/sync_service/engine/fake_exchange.py) instead of the gateway: what is
left is the sync service's own work. CPU time is measured per thread (the database thread's per
function it runs), so the figures hold on a busy machine better than wall times do.

    python3 run.py -- python bench/export_engine.py [--items 10000] [--cprofile FILE] [--compare]

--cprofile FILE  cProfile of the database thread's work (pstats file; the top is printed)
--compare        runs the export twice, on fresh databases: as the engine does it, then with the
                 owed-create rows, the results and the report's lines written in bulk (the
                 prototype below, in this file, not in the engine); checks that both leave the
                 same rows, and prints both. bench/sync_now_prototype.py runs `sync-service` with
                 the same prototype, for bench/first_sync.py --prototype.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
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
from service_runtime.home import Home  # noqa: E402
from sync_service.core.model import Side  # noqa: E402
from sync_service.engine import calendar_state as state  # noqa: E402
from sync_service.engine.calendar_sync import EngineSettings  # noqa: E402
from sync_service.engine.database import DbRunner  # noqa: E402
from sync_service.engine.runner import CycleEngine  # noqa: E402
from sync_service.store.database import DATABASE_FILE, open_database  # noqa: E402
from sync_service.store.models import AppointmentLink, SyncReportLine  # noqa: E402
from sync_service.vault import PasswordVault  # noqa: E402
from tests.sync_service.engine.fake_exchange import FakeExchange  # noqa: E402

ORIGINAL = (state.prepare_exchange_creates, state.record_exchange_results, state.finish)


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

        async def timed_create(folder: str, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
            started = time.thread_time()
            try:
                return await create(folder, entries)
            finally:
                measured.fake_cpu += time.thread_time() - started

        fake.create = timed_create  # type: ignore[method-assign]
        return fake


# -- the prototype: the same rows, written in bulk -------------------------------------------------


def prepare_in_bulk(
    context: state.SubscriptionContext, sources: Sequence[tuple[Any, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """What prepare_exchange_creates does for creates never sent before (no link, no row), as
    one SELECT and one INSERT … RETURNING per batch; anything else goes the engine's way."""
    sid = context.subscription_id
    keys = [int(source.key) for source, _ in sources]
    taken = AppointmentLink.select(AppointmentLink.id).where(
        (AppointmentLink.subscription == sid) & AppointmentLink.appointment_id.in_(keys)
    )
    if any(link is not None for _, link in sources) or taken.exists():
        return ORIGINAL[0](context, sources)
    stamp = state.now()
    rows = [
        {
            "subscription": sid,
            "appointment_id": int(source.key),
            "exchange_id": None,
            "change_key": None,
            "digest": source.digest,
            "origin": Side.PCCADDIE.value,
            "external_id": state.new_external_id(sid),
            "pending_create": True,
            "title": source.title,
            "updated": stamp,
            "creates_sent": 1,
            "creates": json.dumps([source.digest]),
        }
        for source, _ in sources
    ]
    inserted = AppointmentLink.insert_many(rows).returning(AppointmentLink.id, AppointmentLink.appointment_id)
    ids = {row.appointment_id: row.id for row in inserted.execute()}
    return [
        (
            ids[row["appointment_id"]],
            state.to_entry(
                source.content, context.zone, row["external_id"], context.reminder_minutes, context.area_name
            ),
        )
        for (source, _), row in zip(sources, rows)
    ]


def record_in_bulk(
    context: state.SubscriptionContext,
    outcomes: Sequence[tuple[int, str, Mapping[str, Any] | None, Any, str | None]],
    held: Sequence[Any] = (),
) -> list[tuple[str, bool]]:
    """What record_exchange_results does for creates Exchange confirmed, as one executemany
    UPDATE per batch; anything else goes the engine's way."""
    if any(
        action != "create" or not (result or {}).get("ok") or content is None
        for _, action, result, content, _ in outcomes
    ):
        return ORIGINAL[1](context, outcomes, held)
    stamp = state.now()
    values = [
        (result["id"], result.get("change_key"), content.digest, state.agreed_json(content), stamp, link_id)
        for link_id, _, result, content, _ in outcomes
    ]
    AppointmentLink._meta.database.connection().executemany(
        "UPDATE appointment_link SET exchange_id = coalesce(?, exchange_id), change_key = coalesce(?, change_key),"
        " pending_create = 0, attempts = 0, last_error = NULL, verify = 1, digest = ?, agreed = ?, sent = NULL,"
        " updated = ? WHERE id = ?",
        values,
    )
    return []


class _ReportLines:
    """Stands for SyncReportLine inside `finish`: collects the rows its create() would insert."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def create(self, **values: Any) -> None:
        self.rows.append(values)

    def __getattr__(self, name: str) -> Any:
        return getattr(SyncReportLine, name)


def finish_in_bulk(*args: Any, **kwargs: Any) -> None:
    """What finish does, with the report's lines inserted 100 to a statement instead of one by one."""
    lines = _ReportLines()
    state.SyncReportLine = lines  # type: ignore[misc, assignment]  (the database thread runs one call at a time)
    try:
        ORIGINAL[2](*args, **kwargs)
    finally:
        state.SyncReportLine = SyncReportLine  # type: ignore[misc]
    for start in range(0, len(lines.rows), 100):
        SyncReportLine.insert_many(lines.rows[start : start + 100]).execute()


def install_prototype(bulk: bool) -> None:
    """The engine's functions, or the prototype's (in this process only)."""
    if bulk:
        state.prepare_exchange_creates, state.record_exchange_results = prepare_in_bulk, record_in_bulk
        state.finish = finish_in_bulk
    else:
        state.prepare_exchange_creates, state.record_exchange_results, state.finish = ORIGINAL


# -- one run ---------------------------------------------------------------------------------------


def export(n: int, bulk: bool, profile: cProfile.Profile | None) -> tuple[dict[str, float], Measured, list[tuple]]:
    install_prototype(bulk)
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
        install_prototype(False)
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
    figures, measured, rows = export(options.items, bulk=False, profile=profile)
    show("as the engine does it", options.items, figures, measured)
    if profile is not None:
        profile.dump_stats(options.cprofile)
        pstats.Stats(str(options.cprofile)).sort_stats("cumulative").print_stats(30)
    if options.compare:
        bulk_figures, bulk_measured, bulk_rows = export(options.items, bulk=True, profile=None)
        show("owed creates, results and report written in bulk (prototype)", options.items, bulk_figures, bulk_measured)
        links = options.items  # the first rows are the links: Exchange's ids and keys differ run to run
        same = [(a[0], *a[3:]) == (b[0], *b[3:]) for a, b in zip(rows[:links], bulk_rows[:links])]
        same.append(rows[links:] == bulk_rows[links:])
        print(f"rows alike: {len(rows) == len(bulk_rows) and all(same)} ({len(rows)} rows)")
        saved = figures["cpu"] - bulk_figures["cpu"]
        share, per_item = 100 * saved / figures["cpu"], 1000 * saved / options.items
        print(f"CPU saved: {saved:.2f} s ({share:.0f}%), {per_item:.3f} ms per item")
    print(f"(measured {dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    main()
