"""The synchronisation service assembled from its parts: the gateway link, the cycle, the schedule."""

from __future__ import annotations

import random
import signal
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import peewee as pw
import trio
from loguru import logger

from protocol.addresses import Address
from protocol.rpc import Heartbeat, PeerSettings
from service_runtime.config import Config
from service_runtime.home import Home, ensure_token
from service_runtime.signals import stop_on_signals
from service_runtime.status import StatusReporter
from service_runtime.version import product_version

from .backoff import ReconnectBackoff
from .cycle import CycleReport, SyncCycle
from .engine.calendar_sync import EngineSettings
from .engine.database import DbRunner
from .engine.runner import CycleEngine
from .gateway_link import GatewayLink, LinkSettings
from .scheduler import CycleScheduler
from .store import journal
from .store.database import DATABASE_FILE, open_database
from .vault import PasswordVault

SERVICE_NAME = "sync-service"
SYNC_NOW_LOCK_WAIT = 300.0


@dataclass(frozen=True)
class ServiceSettings:
    gateway: Address
    interval: float
    connect_timeout: float
    request_timeout: float
    heartbeat: Heartbeat
    shutdown_grace: float
    max_frame_size: int
    zone: str = "Europe/Berlin"
    window_days: tuple[int, int] = (30, 400)
    parallel_calendars: int = 4
    report_days: int = 30
    react_seconds: float = 1.0

    @classmethod
    def from_config(
        cls, config: Config, gateway: Address | None = None, interval: float | None = None
    ) -> "ServiceSettings":
        sync = config.sync
        return cls(
            gateway=gateway or sync.gateway,
            interval=interval or sync.interval_seconds,
            connect_timeout=sync.connect_timeout_seconds,
            request_timeout=sync.request_timeout_seconds,
            heartbeat=Heartbeat(sync.heartbeat_interval_seconds, sync.heartbeat_max_missed),
            shutdown_grace=sync.shutdown_grace_seconds,
            max_frame_size=config.gateway.max_frame_bytes,
            zone=config.club.timezone,
            window_days=(sync.window_days_back, sync.window_days_ahead),
            parallel_calendars=sync.parallel_calendars,
            report_days=sync.report_days,
            react_seconds=sync.react_to_changes_seconds,
        )


def build_link(home: Home, settings: ServiceSettings, client_name: str = SERVICE_NAME) -> GatewayLink:
    ensure_token(home)  # whichever service starts first creates it
    link_settings = LinkSettings(
        address=settings.gateway,
        client_name=client_name,
        connect_timeout=settings.connect_timeout,
        max_frame_size=settings.max_frame_size,
        peer=replace(PeerSettings(), request_timeout=settings.request_timeout, heartbeat=settings.heartbeat),
    )
    return GatewayLink(
        link_settings,
        token=lambda: ensure_token(home),
        backoff=ReconnectBackoff(random=random.Random().random),
    )


def build_engine(home: Home, settings: ServiceSettings) -> CycleEngine:
    """The sync engine on the club database (opened, and upgraded if need be, here: a schema
    problem stops the service at its start, not in a cycle)."""
    db = open_database(home.root / DATABASE_FILE)
    db.close()
    engine_settings = EngineSettings(ZoneInfo(settings.zone), PasswordVault.for_home(home), settings.window_days)
    return CycleEngine(DbRunner(db), engine_settings, settings.parallel_calendars, settings.report_days)


async def build_cycle(home: Home, link: GatewayLink, settings: ServiceSettings, lock_wait: float) -> SyncCycle:
    # opening (and perhaps upgrading) the database and reading the key are file work: not in trio's loop
    engine = await trio.to_thread.run_sync(build_engine, home, settings)
    return SyncCycle(
        link, home.cycle_lock_file, gateway_wait=settings.connect_timeout * 2, lock_wait=lock_wait, engine=engine
    )


async def run_service(home: Home, settings: ServiceSettings) -> None:
    """Run until SIGINT/SIGTERM: the running cycle may finish (within the grace period), then the
    connection is closed and logged."""
    link = build_link(home, settings)
    cycle = await build_cycle(home, link, settings, lock_wait=settings.interval)
    scheduler = CycleScheduler(cycle.run_once, settings.interval)
    logger.info(
        f"Synchronisation service started (version {product_version()}, gateway {settings.gateway}, "
        f"a cycle every {settings.interval:g} s)"
    )

    def describe() -> dict[str, object]:
        summary = cycle.last_summary
        return {
            "gateway": str(settings.gateway),
            "connected": link.connected,
            "cycles": cycle.count,
            "last_cycle": summary.line() if summary else None,
            "last_error": cycle.last_error,
        }

    reporter = StatusReporter(home, SERVICE_NAME, product_version(), describe)
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:

                def request_stop() -> None:
                    scheduler.request_stop()
                    nursery.cancel_scope.deadline = trio.current_time() + settings.shutdown_grace

                await nursery.start(reporter.run)
                await nursery.start(link.run)
                if settings.react_seconds > 0 and cycle.engine is not None:
                    nursery.start_soon(watch_journal, cycle.engine.db, scheduler, settings.react_seconds)
                nursery.start_soon(stop_on_signals, signals, request_stop, nursery.cancel_scope)
                await scheduler.run()
                nursery.cancel_scope.cancel()
    finally:
        reporter.stopped()
    logger.info(f"Synchronisation service stopped after {cycle.count} cycles")


async def watch_journal(db: DbRunner, scheduler: CycleScheduler, every: float) -> None:
    """PC CADDIE's changes bring the next cycle forward: one indexed read of the journal's newest
    entry per `every` seconds (a read-only transaction: it never waits for PC CADDIE's writers)."""
    last = await db.read(journal.latest_seq)
    while True:
        await trio.sleep(every)
        try:
            newest = await db.read(journal.latest_seq)
        except pw.PeeweeException:
            continue  # locked for a moment: the next look, or the next cycle, sees it
        if newest != last:
            last = newest
            scheduler.request_early()


async def sync_once(home: Home, settings: ServiceSettings) -> CycleReport:
    """Connect, run one cycle, disconnect."""
    link = build_link(home, settings, client_name="sync-service (sync-now)")
    cycle = await build_cycle(home, link, settings, lock_wait=SYNC_NOW_LOCK_WAIT)
    async with trio.open_nursery() as nursery:
        await nursery.start(link.run)
        report = await cycle.run_once()
        nursery.cancel_scope.cancel()
    return report
