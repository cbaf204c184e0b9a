"""Several areas syncing into one Exchange calendar (the main calendar is the default): each item
belongs to exactly one area."""

from sync_service.admin.areas import add_area
from sync_service.admin.subscriptions import CalendarOptions, add_calendar, set_import_area
from sync_service.admin.timetable import AppointmentInput, add_appointment
from sync_service.engine.calendar_sync import CalendarSync, EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.store.models import Appointment, TimetableArea
from tests.sync_service.engine.conftest import BERLIN, day, utc


def with_lessons(club, **options):
    def setup():
        add_area("Lessons")
        return add_calendar("anna", "Lessons", CalendarOptions(**options)).id

    club.lessons_id = club.write(setup)
    return club


def areas(club) -> dict[str, str]:
    with club.db.connection_context():
        return {a.title: a.area.name for a in Appointment.select(Appointment, TimetableArea).join(TimetableArea)}


async def sync_both(club):
    engine = CalendarSync(DbRunner(club.db), EngineSettings(BERLIN, club.vault), lambda account: club.exchange)
    return [await engine.run(club.subscription_id), await engine.run(club.lessons_id)]


async def test_each_area_takes_only_its_own_items(club):
    with_lessons(club)
    club.add("Tee time 9:00")
    club.write(
        add_appointment, "Lessons", AppointmentInput(title="Lesson Max", start=day(3, 11), end=day(3, 12)), BERLIN
    )
    await sync_both(club)
    items = {i["subject"]: i for i in club.exchange.items.values()}
    assert items["Tee time 9:00"]["categories"] == ["Tee times"] and items["Lesson Max"]["categories"] == ["Lessons"]
    assert [o.counts for o in await sync_both(club)] == [{}, {}]
    club.exchange.user_update(items["Tee time 9:00"]["id"], subject="Tee time 9:10")
    club.exchange.user_update(items["Lesson Max"]["id"], location="Range")
    tee, lessons = await sync_both(club)
    assert tee.counts == {"updated-to-pccaddie": 1} and lessons.counts == {"updated-to-pccaddie": 1}
    assert areas(club) == {"Tee time 9:10": "Tee times", "Lesson Max": "Lessons"}
    club.exchange.user_delete(items["Lesson Max"]["id"])
    tee, lessons = await sync_both(club)
    assert tee.counts == {} and lessons.counts == {"deleted-to-pccaddie": 1}
    assert areas(club) == {"Tee time 9:10": "Tee times"}


async def test_an_outlook_item_goes_into_exactly_one_area(club):
    with_lessons(club)
    club.exchange.user_create(subject="Uncategorised", start=utc(2, 8), end=utc(2, 9))
    club.exchange.user_create(subject="Filed", start=utc(2, 10), end=utc(2, 11), categories=["Red", " lessons "])
    await sync_both(club)
    assert areas(club) == {"Uncategorised": "Tee times", "Filed": "Lessons"}  # the first area takes the rest
    assert [o.counts for o in await sync_both(club)] == [{}, {}]
    club.write(set_import_area, "anna", "Lessons")
    club.exchange.user_create(subject="Later", start=utc(2, 12), end=utc(2, 13))
    await sync_both(club)
    assert areas(club)["Later"] == "Lessons"
    assert len(club.exchange.items) == 3 and len(club.local()) == 3


async def test_a_category_changed_later_does_not_move_or_duplicate_an_item(club):
    with_lessons(club)
    item_id = club.exchange.user_create(subject="Lesson Erika", start=utc(4, 8), end=utc(4, 9))
    await sync_both(club)
    club.exchange.user_update(item_id, categories=["Lessons"], subject="Lesson Erika (moved)")
    await sync_both(club)
    assert areas(club) == {"Lesson Erika (moved)": "Tee times"}  # it stays where it was imported
