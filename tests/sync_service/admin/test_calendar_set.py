"""`calendar set` (admin/subscriptions.set_calendar): a calendar's options changed in place, and
what the engine makes of it on the next cycle, on a real SQLite club and the fake Exchange."""

from __future__ import annotations

import copy

from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import CalendarChange, set_calendar
from sync_service.admin.users import PermissionChange, set_user_permissions
from sync_service.core.permissions import Contacts
from sync_service.store.calendar_options import STALE_DIGEST
from sync_service.store.models import AppointmentLink, ContactSubscription
from tests.sync_service.engine.conftest import make_club, utc
from tests.sync_service.engine.fake_exchange import FakeExchange


def remote(club, title):
    (item,) = [i for i in club.exchange.items.values() if i["subject"] == title]
    return item


def change(club, **options) -> tuple[str, ...]:
    return club.write(set_calendar, "anna", "Tee times", CalendarChange(**options)).consequences


async def test_read_only_off_takes_over_what_outlook_did_meanwhile(tmp_path):
    club = make_club(tmp_path, read_only=True)
    ours = club.add("Course closed")
    gone = club.add("Greenkeeping")
    club.exchange.user_create(subject="Made in Outlook", start=utc(1), end=utc(1, 10))
    await club.sync()
    club.exchange.user_update(remote(club, "Course closed")["id"], subject="Edited in Outlook")
    club.exchange.user_delete(remote(club, "Greenkeeping")["id"])
    await club.sync()
    assert club.titles() == {"Course closed", "Greenkeeping"}  # read only: nothing taken over

    (said,) = change(club, read_only=False)
    assert said.startswith("two-way: the next cycle reads the calendar again in full")
    await club.sync()
    assert club.titles() == {"Edited in Outlook", "Made in Outlook", "Greenkeeping"}
    assert club.local()[ours].title == "Edited in Outlook" and gone in club.local()  # a deletion meanwhile: kept
    assert sorted(club.remote_titles()) == ["Edited in Outlook", "Made in Outlook"]  # nothing made twice
    await club.sync()
    assert len(club.exchange.items) == 2 and len(club.local()) == 3


async def test_read_only_on_leaves_what_came_from_exchange(club):
    club.exchange.user_create(subject="Made in Outlook", start=utc(1), end=utc(1, 10))
    await club.sync()
    change(club, read_only=True)
    club.exchange.user_update(remote(club, "Made in Outlook")["id"], subject="Edited in Outlook")
    await club.sync()
    assert club.titles() == {"Made in Outlook"} and club.remote_titles() == {"Edited in Outlook"}


async def test_hide_private_on_takes_private_imports_out_of_pccaddie_only(club):
    club.exchange.user_create(subject="Doctor", start=utc(1), end=utc(1, 10), private=True)
    club.exchange.user_create(subject="Lunch", start=utc(2), end=utc(2, 10))
    club.add("Board meeting", private=True)
    await club.sync()
    assert club.titles() == {"Doctor", "Lunch", "Board meeting"}

    (said,) = change(club, hide_private=True)
    assert said == (
        "private Exchange appointments are no longer imported; the 1 private one(s) that came from "
        "Exchange leave PC CADDIE at the next cycle (they stay in Exchange)"
    )
    await club.sync()
    assert club.titles() == {"Lunch", "Board meeting"}
    assert club.remote_titles() == {"Doctor", "Lunch", "Board meeting"}
    await club.sync()
    assert club.titles() == {"Lunch", "Board meeting"} and len(club.exchange.items) == 3


async def test_hide_private_off_imports_the_private_items_skipped(tmp_path):
    club = make_club(tmp_path, hide_private=True)
    club.exchange.user_create(subject="Doctor", start=utc(1), end=utc(1, 10), private=True)
    club.add("Board meeting")
    await club.sync()
    assert club.titles() == {"Board meeting"}
    change(club, hide_private=False)
    await club.sync()
    assert club.titles() == {"Doctor", "Board meeting"} and len(club.exchange.items) == 2
    await club.sync()
    assert len(club.local()) == 2 and len(club.exchange.items) == 2


async def test_another_folder_makes_the_items_there_once_and_leaves_the_former_one(tmp_path):
    club = make_club(tmp_path, folder_name="Tee times")
    club.add("Medal")
    club.add("Lesson: Anna", offset=4)
    await club.sync()
    former = club.exchange
    assert len(former.items) == 2
    (said,) = change(club, folder_name="Lessons")
    assert "the next cycle makes its 2 item(s) there" in said

    club.exchange = FakeExchange(kind="calendar")  # the new calendar: the user copied one item there already
    club.exchange.folders.add("Lessons")
    club.exchange._add({k: v for k, v in copy.deepcopy(remote_of(former, "Medal")).items() if k != "id"})
    outcome = await club.sync()
    await club.sync()
    assert sorted(club.remote_titles()) == ["Lesson: Anna", "Medal"]  # one taken over, one made
    assert outcome.counts.get("created-to-pccaddie", 0) == 0
    assert sorted(i["subject"] for i in former.items.values()) == ["Lesson: Anna", "Medal"]  # left as it was
    assert {link.exchange_id for link in club.links()} == set(club.exchange.items)
    assert club.subscription().folder_name == "Lessons"


def remote_of(exchange, title):
    (item,) = [i for i in exchange.items.values() if i["subject"] == title]
    return item


async def test_reminders_apply_to_what_is_written_from_now_on(club):
    club.add("Medal")
    await club.sync()
    change(club, disable_reminders=True)
    club.add("Lesson")
    await club.sync()
    assert remote(club, "Medal")["reminder_minutes"] == 15 and remote(club, "Lesson")["reminder_minutes"] is None


async def test_nothing_changed_touches_nothing(club):
    club.add("Medal")
    await club.sync()
    with club.db.connection_context():
        before = [tuple(row.values()) for row in AppointmentLink.select().dicts()]
    assert club.write(set_calendar, "anna", "Tee times", CalendarChange(read_only=False, folder_name=" ")).changed == ()
    with club.db.connection_context():
        assert [tuple(row.values()) for row in AppointmentLink.select().dicts()] == before


async def test_hide_private_on_then_off_before_a_cycle_keeps_the_item(club):
    club.exchange.user_create(subject="Doctor", start=utc(1), end=utc(1, 10), private=True)
    await club.sync()
    change(club, hide_private=True)
    change(club, hide_private=False)
    await club.sync()
    await club.sync()
    assert club.titles() == {"Doctor"} and len(club.exchange.items) == 1
    assert [link.digest for link in club.links()] != [STALE_DIGEST]  # agreed again on what both sides hold
    assert all(not link.verify for link in club.links())


async def test_a_new_policy_decides_the_next_conflict(club):
    local_id = club.add("Medal")
    await club.sync()
    change(club, policy="exchange-wins")
    club.update(local_id, title="Medal (PC CADDIE)")
    club.exchange.user_update(remote(club, "Medal")["id"], subject="Medal (Outlook)")
    await club.sync()
    assert club.titles() == {"Medal (Outlook)"} and club.remote_titles() == {"Medal (Outlook)"}


async def test_auto_sync_contacts_on_lists_the_booked_now_and_the_booked_later(club):
    def set_up():
        set_user_permissions("anna", PermissionChange(contacts=Contacts.YES))
        return add_person(PersonInput(first_name="Anna", last_name="Ace")).id, add_person(
            PersonInput(first_name="Ben", last_name="Birdie")
        ).id

    first, second = club.write(set_up)
    club.add("Round", persons=(first,))
    await club.sync()
    (said,) = change(club, auto_sync_contacts=True)
    assert said == "1 person(s) booked into Tee times joined anna's contact list (more join as they are booked)"
    club.add("Lesson", offset=4, persons=(second,))
    await club.sync()
    with club.db.connection_context():
        listed = {(row.person_id, row.source) for row in ContactSubscription.select()}
    assert listed == {(first, "auto"), (second, "auto")}
