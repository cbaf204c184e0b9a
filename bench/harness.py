"""What the benchmarks share: the stand-in Exchange and the gateway as real processes, a club
database made fast with raw SQL, and the sync engine run in this process so that its own CPU time
can be measured apart from the gateway's. The users reach their mailboxes through EWS (with a
password) or Microsoft Graph (the club's app: the stand-in with `--app` and `--tls`)."""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.addresses import Address, parse_address  # noqa: E402
from sandbox.processes import Service  # noqa: E402
from sandbox.world import BACKENDS, CLUB_APP, World  # noqa: E402
from service_runtime.home import Home  # noqa: E402
from sync_service.admin.accounts import set_account, set_app_account  # noqa: E402
from sync_service.admin.areas import add_area  # noqa: E402
from sync_service.admin.parameters import set_parameter  # noqa: E402
from sync_service.admin.subscriptions import CalendarOptions, add_calendar  # noqa: E402
from sync_service.admin.users import PermissionChange, add_user, set_user_permissions  # noqa: E402
from sync_service.core.permissions import Appointments  # noqa: E402
from sync_service.engine.calendar_sync import EngineSettings  # noqa: E402
from sync_service.engine.database import DbRunner  # noqa: E402
from sync_service.engine.runner import CycleEngine  # noqa: E402
from sync_service.store.database import DATABASE_FILE, open_database  # noqa: E402
from sync_service.vault import PasswordVault  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")


def make_club(
    db,
    vault: PasswordVault,
    url: str,
    mailboxes: list[tuple[str, str]],
    calendars_per_user: int,
    backend: str = "ews",
) -> list[str]:
    """A user with all permissions per mailbox, with its account (EWS at `url` with the mailbox's
    password, or Microsoft Graph with the club's app, which must be set already: what `account set
    --graph --mailbox` does), and `calendars_per_user` areas each; returns the areas' names."""
    areas = []
    with db.atomic():
        set_parameter("SYNC_EXCH", "1")
        for n, (address, password) in enumerate(mailboxes):
            login = f"user{n:02d}"
            add_user(login)
            set_user_permissions(login, PermissionChange(appointments=Appointments.ALL))
            if backend == "graph":
                set_app_account(login, address, vault)
            else:
                set_account(login, url, address, None, password, vault)
            for c in range(calendars_per_user):
                area = f"Area {n:02d}-{c}"
                add_area(area)
                add_calendar(login, area, CalendarOptions(folder_name=f"Calendar {c}" if c else ""))
                areas.append(area)
    return areas


def insert_appointments(database: Path, areas: list[str], total: int, in_window: int, seed: int = 1) -> None:
    """`total` appointments over the areas, by raw SQL; `in_window` of them in the coming weeks,
    the rest in the years before (a club's history: outside the sync window)."""
    rng = random.Random(seed)
    connection = sqlite3.connect(database, isolation_level=None)
    ids = dict(connection.execute("SELECT name, id FROM timetable_area"))
    today = dt.datetime.combine(dt.date.today(), dt.time())
    rows = []
    for n in range(total):
        area = ids[areas[n % len(areas)]]
        if n < in_window:
            start = today + dt.timedelta(days=1 + n % 60, hours=7 + n % 11)
        else:
            start = today - dt.timedelta(days=60 + rng.randrange(3650), hours=-8)
        stamp = "2026-01-01 00:00:00"
        end = start + dt.timedelta(minutes=50)
        rows.append((area, f"Booking {n}", start.isoformat(" "), end.isoformat(" "), stamp, stamp))
    connection.execute("BEGIN")
    connection.executemany(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)', rows
    )
    connection.execute("COMMIT")
    connection.close()


class Stage:
    """The stand-in Exchange with `mailboxes` mailboxes, and a gateway, in a fresh home (a
    `sandbox.world.World`); the club database open in this process. On `backend` "graph" the
    stand-in is Exchange Online too (the club's app, HTTPS with its own CA) and the club's app is
    set through the command line (`sync-service app set`)."""

    def __init__(self, home: Path, mailboxes: int, backend: str = "ews") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
        self.home = home
        self.backend = backend
        home.mkdir(parents=True, exist_ok=True)
        self.mailboxes = [(f"user{n:02d}@club.example", f"secret-{n}") for n in range(mailboxes)]
        self.world = World.start(home, self.mailboxes, apps=[CLUB_APP] if backend == "graph" else ())
        if backend == "graph":
            self.world.set_app(CLUB_APP)
        self.url = self.world.url
        self.emulator = self.world.standin.process
        self.gateway: Service = self.world.services[0]
        self.gateway_address: Address = parse_address(self.world.gateway)
        self.db = open_database(home / DATABASE_FILE, synchronous="full")
        self.vault = PasswordVault.for_home(Home(home).prepare())

    def club(self, users: int, calendars_per_user: int) -> list[str]:
        """Users with all permissions, their accounts, and `calendars_per_user` areas each."""
        return make_club(self.db, self.vault, self.url, self.mailboxes[:users], calendars_per_user, self.backend)

    def appointments(self, areas: list[str], total: int, in_window: int, seed: int = 1) -> None:
        """`total` appointments over the areas; `in_window` of them in the coming weeks, the rest in
        the years before (a club's history: outside the sync window)."""
        insert_appointments(self.home / DATABASE_FILE, areas, total, in_window, seed)

    def engine(self, parallel: int = 4) -> CycleEngine:
        settings = EngineSettings(BERLIN, self.vault)
        return CycleEngine(DbRunner(self.db), settings, parallel=parallel)

    def emulator_requests(self) -> int:
        """The requests the stand-in answered so far on the stage's backend: EWS (every operation
        counted) or Microsoft Graph (a `$batch` is one request; the token endpoint not counted)."""
        if self.backend == "graph":
            return int(self.world.standin.state()["requests"]["counts"].get("Graph", 0))
        return self.world.standin.request_count()

    def stop(self) -> None:
        self.world.stop()
        self.db.close()


def process_cpu() -> float:
    return time.process_time()


__all__ = ["Stage", "process_cpu", "os"]


class Connected:
    """The sync engine in this process, connected to the stage's gateway: `await cycle()` runs
    one cycle the way the service does (all calendars' changes asked in one request)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.engine = stage.engine()

    async def __aenter__(self) -> "Connected":
        import trio

        from protocol.rpc import PeerSettings
        from service_runtime.home import ensure_token
        from sync_service.engine.exchange_client import GatewayExchangeClient
        from sync_service.gateway_link import GatewayLink, LinkSettings

        link = GatewayLink(
            LinkSettings(self.stage.gateway_address, peer=PeerSettings(heartbeat=None, request_timeout=600)),
            token=lambda: ensure_token(Home(self.stage.home)),
        )
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        self._nursery = nursery
        await nursery.start(link.run)
        peer = await link.peer(wait=10)
        self.client = lambda account, kind: GatewayExchangeClient(peer, account, kind, timeout=600)

        async def changes_many(requests):
            return await peer.request("exchange.changes_many", {"requests": requests}, timeout=600)

        self.changes_many = changes_many
        return self

    async def cycle(self):
        return await self.engine.run(self.client, self.changes_many)

    async def settle(self) -> None:
        """Cycles until one has nothing to do (a first sync)."""
        while (await self.cycle()).counts:
            pass

    async def __aexit__(self, *exc_info) -> None:
        self._nursery.cancel_scope.cancel()
        await self._nursery_manager.__aexit__(*exc_info)
