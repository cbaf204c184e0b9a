"""The cycle engine keys its work by (kind, id): a calendar and a contact list that share a number
are told apart (each one's reason for not syncing is logged once, not every cycle)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import peewee

from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import add_contact
from sync_service.admin.users import PermissionChange, set_user_permissions
from sync_service.core.permissions import Contacts, FieldMode
from sync_service.engine.calendar_sync import EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.engine.exchange_client import MailboxTrouble
from sync_service.engine.runner import CycleEngine, next_try
from sync_service.store.models import CalendarSubscription, User
from tests.logcapture import captured_log
from tests.sync_service.engine.conftest import BERLIN


async def test_a_calendar_and_a_contact_list_of_the_same_number_are_told_apart(club):
    def contacts_then_forbidden() -> None:
        set_user_permissions("anna", PermissionChange(contacts=Contacts.YES, address=FieldMode.SYNC))
        add_contact("anna", add_person(PersonInput(first_name="Bea", last_name="Birdie")).id)
        set_user_permissions("anna", PermissionChange(contacts=Contacts.NO))
        CalendarSubscription.update(paused_reason="by hand").where(
            CalendarSubscription.id == club.subscription_id
        ).execute()
        return User.get(User.login == "anna").id

    user_id = club.write(contacts_then_forbidden)
    assert user_id == club.subscription_id  # calendar 1 and the contact list of user 1
    cycles = CycleEngine(DbRunner(club.db), EngineSettings(BERLIN, club.vault))
    with captured_log() as log:
        for _ in range(3):
            summary = await cycles.run(lambda account, kind: club.exchange)
            assert len(summary.not_syncing) == 2 and summary.errors == []
    quiet = [line for line in log if "not synchronised:" in line]
    assert len(quiet) == 2, quiet  # once each, not each cycle
    assert any("by hand" in line for line in quiet) and any("contacts" in line for line in quiet)


async def test_an_error_names_the_calendar_or_the_contact_list_it_ended(club, monkeypatch):
    """A database error ends one piece of work; the summary says which, by kind and number."""
    from sync_service.engine import contact_sync

    def contacts_listed() -> None:
        set_user_permissions("anna", PermissionChange(contacts=Contacts.YES, address=FieldMode.SYNC))
        add_contact("anna", add_person(PersonInput(first_name="Bea", last_name="Birdie")).id)
        return User.get(User.login == "anna").id

    user_id = club.write(contacts_listed)

    def broken(*args, **kwargs):
        raise peewee.OperationalError("disk I/O error")

    monkeypatch.setattr(contact_sync.state, "load_contact_context", broken)
    cycles = CycleEngine(DbRunner(club.db), EngineSettings(BERLIN, club.vault))
    summary = await cycles.run(lambda account, kind: club.exchange)
    assert summary.errors == [f"contacts of user {user_id}: database: disk I/O error"]


# -- a throttled mailbox: when it is asked again, in the club's time (issue 16) -------------------

NOON_UTC = dt.datetime(2026, 12, 2, 15, 41, 40, tzinfo=dt.UTC)  # 16:41:40 in Berlin (winter time)


def test_the_next_try_is_said_in_the_clubs_time():
    assert next_try(NOON_UTC, 30, BERLIN) == "next try not before 16:42:10 (in 30 s)"
    assert next_try(NOON_UTC, 29.2, BERLIN) == "next try not before 16:42:10 (in 30 s)"  # whole seconds, not sooner
    summer = dt.datetime(2026, 6, 1, 7, 30, tzinfo=dt.UTC)
    assert next_try(summer, 90, BERLIN) == "next try not before 09:31:30 (in 90 s)"
    assert next_try(summer, 90, ZoneInfo("UTC")) == "next try not before 07:31:30 (in 90 s)"
    assert next_try(summer, -3, BERLIN) == "next try not before 09:30:00 (in 0 s)"


class Throttling:
    """The club's mailbox, whose feed asks to wait `seconds` (the gateway's `throttled`)."""

    def __init__(self, exchange: Any, seconds: float) -> None:
        self.exchange, self.seconds, self.asked = exchange, seconds, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def changes(self, *args: Any, **kwargs: Any) -> Any:
        self.asked += 1
        raise MailboxTrouble("throttled", "Microsoft Graph asks to wait 30 s", self.seconds)


async def test_a_throttled_mailbox_says_when_it_is_asked_again(club):
    now = {"mono": 100.0, "wall": NOON_UTC}
    cycles = CycleEngine(
        DbRunner(club.db),
        EngineSettings(BERLIN, club.vault),
        clock=lambda: now["mono"],
        wall_clock=lambda: now["wall"],
    )
    mailbox = Throttling(club.exchange, 30.0)
    with captured_log() as log:
        summary = await cycles.run(lambda account, kind: mailbox)
    told = [line for line in log if "throttled" in line]
    expected = "throttled: Microsoft Graph asks to wait 30 s; next try not before 16:42:10 (in 30 s)"
    assert told == [f"anna/Tee times (anna@club.example): {expected}"]
    assert summary.errors == [f"anna/Tee times: {expected}"]

    now["mono"], now["wall"] = 112.0, NOON_UTC + dt.timedelta(seconds=12)  # the next cycle, 12 s later
    with captured_log() as log:
        summary = await cycles.run(lambda account, kind: mailbox)
    assert mailbox.asked == 1 and summary.errors == []
    assert summary.not_syncing == ["anna@club.example: throttled by Exchange; next try not before 16:42:10 (in 18 s)"]
    assert [line for line in log if "throttled" in line] == []  # counted in the summary's line, not logged each cycle

    now["mono"], now["wall"] = 131.0, NOON_UTC + dt.timedelta(seconds=31)
    summary = await cycles.run(lambda account, kind: mailbox)
    assert mailbox.asked == 2 and summary.not_syncing == []
