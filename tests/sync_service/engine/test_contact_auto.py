"""Auto sync contacts (issue 14): a person on the list because of a booking leaves it, and the
contact the sync made goes, once no booking in the sync window keeps them there; persons staff
added stay, a contact the user had (adopted) stays theirs, and the mass-unlisting guard holds."""

from __future__ import annotations

import datetime as dt

import pytest

from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import add_contact
from sync_service.store.models import (
    Appointment,
    Booking,
    CalendarSubscription,
    ContactSyncState,
    Person,
    TimetableArea,
)
from tests.sync_service.engine.test_contact_sync import Contactsclub


class Autoclub(Contactsclub):
    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        self.now = now

        def set_up():
            area = TimetableArea.create(name="Lessons")
            CalendarSubscription.create(
                user=self.user_id, area=area, folder_name="", auto_sync_contacts=True, created=now
            )
            return area.id

        self.area_id = self.write(set_up)

    def pupil(self, last: str, days: int = 3) -> tuple[int, int]:
        """A person booked into a lesson `days` from now, on the list by auto sync."""

        def book():
            person = add_person(PersonInput(first_name="Lena", last_name=last))
            start = self.now + dt.timedelta(days=days)
            lesson = Appointment.create(
                area=self.area_id,
                title=f"Lesson {last}",
                start=start,
                end=start + dt.timedelta(hours=1),
                created=self.now,
                modified=self.now,
            )
            Booking.create(appointment=lesson, person=person)
            add_contact("anna", person.id, source="auto")
            return person.id, lesson.id

        return self.write(book)

    def cancel(self, lesson_id: int) -> None:
        self.write(lambda: Booking.delete().where(Booking.appointment == lesson_id).execute())

    def move(self, lesson_id: int, days: int) -> None:
        start = self.now + dt.timedelta(days=days)
        self.write(
            lambda: (
                Appointment.update(start=start, end=start + dt.timedelta(hours=1))
                .where(Appointment.id == lesson_id)
                .execute()
            )
        )


@pytest.fixture
def club(tmp_path):
    return Autoclub(tmp_path)


async def test_a_pupil_whose_booking_is_gone_leaves_the_list_and_their_contact_goes(club):
    person_id, lesson = club.pupil("Birdie")
    await club.sync()
    assert club.listed() == [person_id] and len(club.exchange.items) == 1
    club.cancel(lesson)
    outcome = await club.sync()
    assert club.listed() == [] and club.exchange.items == {} and club.links() == []
    assert outcome.counts["deleted-to-exchange"] == 1
    assert club.person(person_id).last_name == "Birdie"  # the person is never deleted


async def test_a_booking_beyond_the_window_does_not_keep_them_one_within_does(club):
    person_id, lesson = club.pupil("Birdie")
    await club.sync()
    club.move(lesson, -20)  # past, within the 30 days back
    await club.sync()
    assert club.listed() == [person_id]
    club.move(lesson, -40)  # out of the window
    await club.sync()
    assert club.listed() == [] and club.exchange.items == {}


async def test_staff_added_persons_stay_without_a_booking(club):
    by_hand = club.write(lambda: add_person(PersonInput(first_name="Tom", last_name="Tee")).id)
    club.write(add_contact, "anna", by_hand)
    await club.sync()
    assert club.listed() == [by_hand] and len(club.exchange.items) == 1


async def test_a_contact_the_user_had_stays_theirs_when_the_pupil_leaves(club):
    mine = club.exchange.user_create(given_name="Lena", surname="Birdie", phone_home="+49 1")
    person_id, lesson = club.pupil("Birdie")
    club.write(lambda: Person.update(email1="lena@example.com").where(Person.id == person_id).execute())
    club.exchange.user_update(mine, emails=["lena@example.com"])
    await club.sync()
    assert club.links()[0].exchange_id == mine  # adopted, not made again
    club.cancel(lesson)
    await club.sync()
    assert club.listed() == [] and club.links() == [] and list(club.exchange.items) == [mine]


async def test_the_mass_unlisting_guard_holds_for_auto_sync(club):
    lessons = [club.pupil(f"Birdie{n}")[1] for n in range(12)]
    await club.sync()
    assert len(club.exchange.items) == 12
    for lesson in lessons:
        club.cancel(lesson)
    outcome = await club.sync()
    assert outcome.not_syncing and "off the list" in outcome.not_syncing
    assert len(club.listed()) == 12 and len(club.exchange.items) == 12  # nothing changed
    with club.db.connection_context():
        assert ContactSyncState.get_by_id(club.user_id).paused_reason


async def test_the_cycle_engine_gives_auto_sync_the_configured_window(club):
    """`[sync] window_days_back` reaches the contact lists through the cycle engine: a lesson 10 days
    ago keeps its pupil under the default window (30 days back), not under a window of 5."""
    from sync_service.admin.parameters import set_parameter
    from sync_service.engine.calendar_sync import EngineSettings
    from sync_service.engine.database import DbRunner
    from sync_service.engine.runner import CycleEngine
    from tests.sync_service.engine.conftest import BERLIN

    club.write(lambda: set_parameter("SYNC_EXCH", "1"))
    person_id, lesson = club.pupil("Birdie", days=-10)

    async def cycle(window: tuple[int, int]) -> None:
        engine = CycleEngine(DbRunner(club.db), EngineSettings(BERLIN, club.vault, window))
        summary = await engine.run(lambda account, kind: club.exchange)
        assert summary.errors == []

    await cycle((30, 400))
    assert club.listed() == [person_id] and len(club.exchange.items) == 1
    await cycle((5, 400))
    assert club.listed() == [] and club.exchange.items == {}
