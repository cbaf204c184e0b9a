"""The whole product as processes, for end-to-end tests and campaigns: the stand-in Exchange server,
the gateway, the sync service (when wanted running), a home; PC CADDIE's side through the command
line and straight in its database, Exchange's side through plain exchangelib (over the stand-in's
HTTPS too, within `exchangelib_trusting`) or plain Graph calls."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import requests
from exchangelib import Account, CalendarItem, EWSDateTime
from exchangelib.protocol import BaseProtocol

from .graph import ClubApp, GraphMailbox, app_token
from .outlook import BERLIN, outlook
from .processes import Service, free_port, gateway, run_command, sync_service
from .standin import StandIn

MAILBOX, PASSWORD = "anna@club.example", "anna-secret"
BACKENDS = ("ews", "graph")  # how the sync service's user reaches the mailbox (`account set`)
CLUB_APP = ClubApp("club.onmicrosoft.com", "0c1ab5e7-9f3d-4d2a-8b6e-5a4f3c2d1e0f", "club~app.Secret-4711")


@contextmanager
def exchangelib_trusting(ca_file: Path) -> Iterator[None]:
    """Within it, plain exchangelib verifies HTTPS against `ca_file` (the stand-in's CA) rather than
    the system's, as exchangelib's documentation shows with its HTTP adapter class (set on
    BaseProtocol for the process: restored on leaving)."""

    class TrustingAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs["verify"] = str(ca_file)
            return super().send(request, *args, **kwargs)

    before = BaseProtocol.HTTP_ADAPTER_CLS
    BaseProtocol.HTTP_ADAPTER_CLS = TrustingAdapter
    try:
        yield
    finally:
        BaseProtocol.HTTP_ADAPTER_CLS = before


def account_set_arguments(login: str, url: str, mailbox: str) -> list[str]:
    """`sync-service account set` for `login`'s mailbox at the EWS address `url`, the password
    on standard input."""
    return ["account", "set", login, "--ews-url", url, "--mailbox", mailbox, "--password-stdin"]


def graph_account_arguments(login: str, mailbox: str) -> list[str]:
    """`sync-service account set` for `login`'s mailbox through Microsoft Graph, with the club's app."""
    return ["account", "set", login, "--graph", "--mailbox", mailbox]


def app_set_arguments(app: ClubApp, authority: str, graph_url: str) -> list[str]:
    """`sync-service app set` for `app` with its identity platform at `authority` and Graph at
    `graph_url`, the client secret on standard input."""
    return [
        "app",
        "set",
        "--tenant",
        app.tenant,
        "--client-id",
        app.client_id,
        "--client-secret-stdin",
        "--authority",
        authority,
        "--graph-url",
        graph_url,
    ]


def local_day(offset: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.today() + dt.timedelta(days=offset), dt.time(hour, minute))


@dataclass
class World:
    home: Path
    standin: StandIn
    gateway: str  # the gateway's address, HOST:PORT
    services: list[Service] = field(default_factory=list)
    password: str = PASSWORD  # the mailbox's, as the campaign's own Outlook client knows it
    apps: tuple[ClubApp, ...] = ()  # the stand-in's, when it is Exchange Online too

    @classmethod
    def start(
        cls, home: Path, mailboxes: Sequence[tuple[str, str]] = ((MAILBOX, PASSWORD),), apps: Sequence[ClubApp] = ()
    ) -> World:
        """The stand-in with `mailboxes` (address, password) and a gateway on free loopback ports.
        With `apps` the stand-in is Exchange Online too (HTTPS with its CA in HOME/../standin-tls,
        the identity platform, Graph), and the gateway trusts its CA (`--ca-bundle`)."""
        tls_dir = home.parent / f"{home.name}-standin-tls" if apps else None
        standin = StandIn.start(mailboxes, apps=[app.spec for app in apps], tls_dir=tls_dir)
        world = cls(home, standin, f"127.0.0.1:{free_port()}", apps=tuple(apps))
        try:
            world.start_gateway()
        except BaseException:
            world.stop()
            raise
        return world

    @classmethod
    def for_backend(cls, home: Path, backend: str) -> World:
        """A world whose user will reach the mailbox through `backend` (BACKENDS): for "graph" the
        stand-in is Exchange Online too, with the club's app (CLUB_APP)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
        return cls.start(home, apps=[CLUB_APP] if backend == "graph" else ())

    @property
    def url(self) -> str:
        """The stand-in's EWS address."""
        return self.standin.url

    @property
    def tls(self) -> bool:
        """Whether the stand-in serves HTTPS (with its own CA, `standin.ca_file`)."""
        return self.standin.tls_dir is not None

    def start_gateway(self) -> Service:
        trust = ("--ca-bundle", str(self.standin.ca_file)) if self.standin.tls_dir is not None else ()
        started = gateway(self.home, self.gateway, *trust).start()
        self.services.append(started)
        started.wait_for("Listener started", count=sum(s.name == "exchange-gateway" for s in self.services))
        return started

    def start_sync(self, interval: str = "1") -> Service:
        sync = sync_service(self.home, self.gateway, "--interval", interval).start()
        self.services.append(sync)
        return sync

    def stop(self) -> None:
        for service in self.services:
            service.ensure_stopped()
        self.standin.stop()

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

    def set_up(
        self, login: str = "anna", area: str = "Tee times", *calendar_options: str, backend: str = "ews"
    ) -> None:
        """The club with `login`'s calendar of `area`: on EWS with the mailbox's password, or on
        Microsoft Graph with the world's first app (`app set`, then `account set --graph`)."""
        self.caddie("param", "set", "SYNC_EXCH", "1")
        self.caddie("user", "add", login)
        self.caddie("user", "permissions", login, "--appointments", "all", "--contacts", "yes")
        self.caddie("area", "add", area)
        if backend == "graph":
            self.set_app(self.apps[0])
            self.set_graph_account(login)
        else:
            self.set_account(login, PASSWORD)
        self.caddie("calendar", "add", login, area, *calendar_options)

    def set_account(self, login: str, password: str, mailbox: str = MAILBOX) -> None:
        """`login`'s Exchange account: `mailbox` on the stand-in, with `password`."""
        self.caddie(*account_set_arguments(login, self.url, mailbox), input=password + "\n")

    def set_app(self, app: ClubApp, secret: str | None = None) -> None:
        """The club's app registration through `sync-service app set`, pointed at the stand-in;
        `secret` instead of the app's own (a wrong one, say)."""
        arguments = app_set_arguments(app, self.standin.authority(app.tenant), self.standin.graph_url)
        self.caddie(*arguments, input=(app.secret if secret is None else secret) + "\n")

    def set_graph_account(self, login: str, mailbox: str = MAILBOX) -> None:
        """`login`'s account: `mailbox` through Microsoft Graph, with the club's app."""
        self.caddie(*graph_account_arguments(login, mailbox))

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
        return outlook(self.url, MAILBOX, self.password)

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

    def graph(self, mailbox: str = MAILBOX) -> GraphMailbox:
        """`mailbox` through plain Graph calls, with a token of the world's first app."""
        app = self.apps[0]
        token = app_token(self.standin.authority(app.tenant), app, self.standin.ca_file)
        return GraphMailbox(self.standin.graph_url, mailbox, token, self.standin.ca_file)

    def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        return self.standin.control(path, body, method)

    def exchange_calendar_index(self, folder: str = "Calendar") -> dict[str, str]:
        """Item id → change key of every item in the mailbox's calendar, from the emulator's state
        (cheap: which items changed, without reading them)."""
        mailbox = next(m for m in self.standin.state()["mailboxes"] if m["address"] == MAILBOX)
        return {
            item["id"]: item["changekey"]
            for item in mailbox["items"]
            if item["type"] == "CalendarItem" and item["folder"] == folder
        }

    def exchange_item_count(self) -> int:
        state = self.standin.state()
        return sum(1 for mailbox in state["mailboxes"] for item in mailbox["items"] if item["type"] == "CalendarItem")
