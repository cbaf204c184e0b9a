"""A club with one user syncing one area with an in-memory Exchange mailbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from sync_service.admin.accounts import set_account
from sync_service.admin.areas import add_area
from sync_service.admin.parameters import set_parameter
from sync_service.admin.subscriptions import CalendarOptions, add_calendar
from sync_service.admin.timetable import AppointmentInput, add_appointment, delete_appointment, update_appointment
from sync_service.admin.users import PermissionChange, add_user, set_user_permissions
from sync_service.core.permissions import Appointments
from sync_service.engine.calendar_sync import CalendarSync, EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.store.database import open_database
from sync_service.store.models import Appointment, AppointmentLink, CalendarSubscription
from sync_service.vault import PasswordVault
from tests.sync_service.engine.fake_exchange import FakeExchange

BERLIN = ZoneInfo("Europe/Berlin")


def day(offset: int, hour: int = 9, minute: int = 0) -> str:
    """A local time `offset` days from today, as the CLI takes it."""
    moment = dt.datetime.combine(dt.date.today() + dt.timedelta(days=offset), dt.time(hour, minute))
    return moment.isoformat(timespec="minutes")


def utc(offset: int, hour: int = 9, minute: int = 0) -> str:
    local = dt.datetime.combine(dt.date.today() + dt.timedelta(days=offset), dt.time(hour, minute))
    return local.replace(tzinfo=BERLIN).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Club:
    db: object
    vault: PasswordVault
    exchange: FakeExchange
    subscription_id: int

    def write(self, function, *args, **kwargs):
        with self.db.connection_context(), self.db.atomic():
            return function(*args, **kwargs)

    def add(self, title: str, offset: int = 3, **kw) -> int:
        given = AppointmentInput(
            title=title, start=kw.pop("start", day(offset)), end=kw.pop("end", day(offset, 10)), **kw
        )
        return self.write(lambda: add_appointment("Tee times", given, BERLIN).id)

    def update(self, appointment_id: int, **kw) -> None:
        self.write(update_appointment, appointment_id, AppointmentInput(**kw), BERLIN)

    def delete(self, appointment_id: int) -> None:
        self.write(delete_appointment, appointment_id)

    def local(self) -> dict[int, Appointment]:
        with self.db.connection_context():
            return {a.id: a for a in Appointment.select()}

    def titles(self) -> set[str]:
        return {a.title for a in self.local().values()}

    def remote_titles(self) -> set[str]:
        return {item["subject"] for item in self.exchange.items.values()}

    def links(self) -> list[AppointmentLink]:
        with self.db.connection_context():
            return list(AppointmentLink.select())

    def subscription(self) -> CalendarSubscription:
        with self.db.connection_context():
            return CalendarSubscription.get_by_id(self.subscription_id)

    async def sync(self):
        engine = CalendarSync(DbRunner(self.db), EngineSettings(BERLIN, self.vault), lambda account: self.exchange)
        return await engine.run(self.subscription_id)


@pytest.fixture
def club(tmp_path):
    return make_club(tmp_path)


def make_club(tmp_path, **options) -> Club:
    db = open_database(tmp_path / "club.sqlite3", synchronous="off")
    vault = PasswordVault.from_key_file(tmp_path / "secret.key")
    with db.atomic():
        set_parameter("SYNC_EXCH", "1")
        add_user("anna")
        set_user_permissions("anna", PermissionChange(appointments=Appointments.ALL))
        add_area("Tee times")
        set_account("anna", "https://mail.example.com/EWS/Exchange.asmx", "anna@club.example", None, "pw", vault)
        subscription = add_calendar("anna", "Tee times", CalendarOptions(**options))
    db.close()
    return Club(db, vault, FakeExchange(), subscription.id)
