"""The cycle engine keys its work by (kind, id): a calendar and a contact list that share a number
are told apart (each one's reason for not syncing is logged once, not every cycle)."""

from __future__ import annotations

import peewee

from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import add_contact
from sync_service.admin.users import PermissionChange, set_user_permissions
from sync_service.core.permissions import Contacts, FieldMode
from sync_service.engine.calendar_sync import EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.engine.runner import CycleEngine
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
