"""The whole product as processes for end-to-end tests: the stand-in Exchange server, the gateway,
the sync service (when a test wants it running), a home; helpers for both sides."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
)
from exchangelib.fields import InvalidField

from tests.e2e.processes import Service, command, free_port, run_command

MAILBOX, PASSWORD = "anna@club.example", "anna-secret"
BERLIN = EWSTimeZone("Europe/Berlin")


class PcCaddieSyncId(ExtendedProperty):
    """Our external id as any Exchange client sees it (the set id and name are the product's)."""

    property_set_id = "6f0c8a52-3d1e-4b7a-9c55-2e8d41f7b3a9"
    property_name = "PcCaddieSyncId"
    property_type = "String"


@contextmanager
def external_id_visible() -> Iterator[None]:
    """Let plain exchangelib show our external id as `item.pccaddie_sync_id`, as any client could
    (unless this process registered it already, e.g. the gateway's own code in another test)."""
    try:
        CalendarItem.get_field_by_fieldname("pccaddie_sync_id")
        registered_here = False
    except InvalidField:
        CalendarItem.register("pccaddie_sync_id", PcCaddieSyncId)
        registered_here = True
    try:
        yield
    finally:
        if registered_here:
            CalendarItem.deregister("pccaddie_sync_id")


def local_day(offset: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.today() + dt.timedelta(days=offset), dt.time(hour, minute))


@dataclass
class World:
    home: Path
    url: str
    gateway: str
    emulator: subprocess.Popen
    services: list[Service] = field(default_factory=list)
    password: str = PASSWORD

    @classmethod
    def start(cls, home: Path) -> "World":
        emulator_port, gateway_port = free_port(), free_port()
        emulator = subprocess.Popen(
            command("exchange-gateway")
            + ["emulator", "--listen", f"127.0.0.1:{emulator_port}", "--mailbox", f"{MAILBOX}:{PASSWORD}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        world = cls(home, url, f"127.0.0.1:{gateway_port}", emulator)
        world.start_gateway()
        return world

    def start_gateway(self) -> Service:
        gateway = Service("exchange-gateway", self.home, "run", "--listen", self.gateway).start()
        self.services.append(gateway)
        gateway.wait_for("Listener started", count=sum(s.name == "exchange-gateway" for s in self.services))
        return gateway

    def start_sync(self, interval: str = "1") -> Service:
        sync = Service("sync-service", self.home, "run", "--gateway", self.gateway, "--interval", interval).start()
        self.services.append(sync)
        return sync

    def stop(self) -> None:
        for service in self.services:
            service.ensure_stopped()
        self.emulator.terminate()
        self.emulator.wait(timeout=10)

    # -- PC CADDIE's side, through the command line --------------------------------------------

    def caddie(self, *args: str, input: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        result = run_command("sync-service", "--home", str(self.home), *args, input=input)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.caddie(*args, "--json").stdout)

    def sync_now(self, ok: bool = True) -> subprocess.CompletedProcess:
        return self.caddie("sync-now", "--gateway", self.gateway, ok=ok)

    def set_up(self, login: str = "anna", area: str = "Tee times", *calendar_options: str) -> None:
        self.caddie("param", "set", "SYNC_EXCH", "1")
        self.caddie("user", "add", login)
        self.caddie("user", "permissions", login, "--appointments", "all", "--contacts", "yes")
        self.caddie("area", "add", area)
        self.caddie(
            "account",
            "set",
            login,
            "--ews-url",
            self.url,
            "--mailbox",
            MAILBOX,
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        self.caddie("calendar", "add", login, area, *calendar_options)

    def add(self, title: str, offset: int = 3, hour: int = 9, *extra: str, area: str = "Tee times") -> str:
        start, end = local_day(offset, hour), local_day(offset, hour + 1)
        return self.caddie(
            "appointment", "add", area, "--title", title, "--start", start.isoformat(), "--end", end.isoformat(), *extra
        ).stdout.strip()

    def titles(self) -> list[str]:
        return sorted(a["title"] for a in self.json("appointment", "list"))

    def stopped_items(self) -> list[dict[str, Any]]:
        """The items the sync no longer tries (`sync-service items --stopped`)."""
        return self.json("items", "--stopped")

    # -- PC CADDIE's side, straight in its database (as PC CADDIE itself writes) ---------------

    @property
    def database(self) -> Path:
        return self.home / "pccaddie.sqlite3"

    def pccaddie_write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> list[int]:
        """SQL statements in one transaction, as PC CADDIE writes; each one's last row id."""
        connection = sqlite3.connect(self.database, isolation_level=None, timeout=30)
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("BEGIN IMMEDIATE")
            row_ids = [connection.execute(sql, parameters).lastrowid or 0 for sql, parameters in statements]
            connection.execute("COMMIT")
            return row_ids
        finally:
            connection.close()

    def pccaddie_rows(self, table: str = "appointment") -> list[dict[str, Any]]:
        """Every row of a PC CADDIE table, as stored."""
        connection = sqlite3.connect(self.database, timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]
        finally:
            connection.close()

    def pccaddie_area_id(self, name: str = "Tee times") -> int:
        return next(row["id"] for row in self.pccaddie_rows("timetable_area") if row["name"] == name)

    # -- Exchange's side, with plain exchangelib -----------------------------------------------

    def outlook(self) -> Account:
        config = Configuration(
            service_endpoint=self.url,
            credentials=Credentials(MAILBOX, self.password),
            auth_type=BASIC,
            retry_policy=FailFast(),
        )
        return Account(MAILBOX, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=BERLIN)

    def outlook_items(self) -> list[CalendarItem]:
        return list(self.outlook().calendar.all())

    def outlook_titles(self) -> list[str]:
        return sorted(item.subject for item in self.outlook_items())

    def outlook_add(self, subject: str, offset: int = 4, hour: int = 15, **fields: Any) -> CalendarItem:
        account = self.outlook()
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject=subject,
            start=EWSDateTime.from_datetime(local_day(offset, hour)).replace(tzinfo=BERLIN),
            end=EWSDateTime.from_datetime(local_day(offset, hour + 1)).replace(tzinfo=BERLIN),
            **fields,
        )
        item.save()
        return item

    def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        base = self.url.rsplit("/EWS/", 1)[0]
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def exchange_calendar_index(self, folder: str = "Calendar") -> dict[str, str]:
        """Item id → change key of every item in the mailbox's calendar, from the emulator's state
        (cheap: which items changed, without reading them)."""
        mailbox = next(m for m in self.control("/emulator/state", method="GET")["mailboxes"] if m["address"] == MAILBOX)
        return {
            item["id"]: item["changekey"]
            for item in mailbox["items"]
            if item["type"] == "CalendarItem" and item["folder"] == folder
        }

    def exchange_item_count(self) -> int:
        state = self.control("/emulator/state", method="GET")
        return sum(1 for mailbox in state["mailboxes"] for item in mailbox["items"] if item["type"] == "CalendarItem")
