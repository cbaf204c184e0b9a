"""A calendar subscription's cycles against the in-memory Exchange, with a real club database."""

import json

from sync_service.store.models import AppointmentLink, SyncConflict
from tests.sync_service.engine.conftest import day, make_club, utc


def remote_item(club, title):
    (item,) = [i for i in club.exchange.items.values() if i["subject"] == title]
    return item


async def test_pccaddie_appointment_reaches_exchange_once(club):
    appointment_id = club.add("Monthly medal", location="Tee 1", text="Shotgun start")
    outcome = await club.sync()
    assert outcome.error is None and outcome.counts == {"created-to-exchange": 1}
    item = remote_item(club, "Monthly medal")
    assert (item["start"], item["end"]) == (utc(3, 9), utc(3, 10))
    assert (item["location"], item["body"], item["timezone"], item["reminder_minutes"]) == (
        "Tee 1",
        "Shotgun start",
        "Europe/Berlin",
        15,
    )
    assert item["external_id"].startswith(f"pccaddie:{club.subscription_id}:")
    (link,) = club.links()
    assert (link.appointment_id, link.exchange_id, link.pending_create) == (appointment_id, item["id"], False)
    again = await club.sync()
    assert again.counts == {} and len(club.exchange.items) == 1  # no ping-pong


async def test_exchange_appointment_reaches_pccaddie_once(club):
    club.exchange.user_create(subject="Lesson with Pro", start=utc(2, 14), end=utc(2, 15), location="Range")
    outcome = await club.sync()
    assert outcome.counts == {"created-to-pccaddie": 1}
    (appointment,) = club.local().values()
    assert (appointment.title, appointment.location) == ("Lesson with Pro", "Range")
    assert appointment.start.isoformat(timespec="minutes") == day(2, 14)
    assert (await club.sync()).counts == {}


async def test_changes_and_deletions_travel_both_ways(club):
    local_id = club.add("Club dinner")
    remote_id = club.exchange.user_create(subject="Greenkeeper meeting", start=utc(4, 8), end=utc(4, 9))
    await club.sync()
    club.update(local_id, title="Club dinner (moved)", start=day(5, 19), end=day(5, 22))
    club.exchange.user_update(remote_id, subject="Greenkeeper meeting!", location="Barn")
    outcome = await club.sync()
    assert outcome.counts == {"updated-to-exchange": 1, "updated-to-pccaddie": 1}
    assert remote_item(club, "Club dinner (moved)")["start"] == utc(5, 19)
    assert "Greenkeeper meeting!" in club.titles()
    club.delete(local_id)
    club.exchange.user_delete(remote_id)
    outcome = await club.sync()
    assert outcome.counts == {"deleted-to-exchange": 1, "deleted-to-pccaddie": 1}
    assert club.local() == {} and club.exchange.items == {} and club.links() == []


async def test_conflict_pccaddie_wins_and_the_loser_is_kept(club):
    local_id = club.add("Ladies day")
    await club.sync()
    club.update(local_id, title="Ladies day (PC CADDIE)")
    club.exchange.user_update(remote_item(club, "Ladies day")["id"], subject="Ladies day (Outlook)")
    outcome = await club.sync()
    assert outcome.counts == {"conflicts-to-exchange": 1, "updated-to-exchange": 1}
    assert club.remote_titles() == {"Ladies day (PC CADDIE)"}
    with club.db.connection_context():
        (conflict,) = SyncConflict.select()
    assert conflict.winner == "pccaddie" and json.loads(conflict.loser_content)["title"] == "Ladies day (Outlook)"


async def test_update_with_a_stale_change_key_is_decided_again(club):
    local_id = club.add("Pro-Am")
    await club.sync()
    club.update(local_id, title="Pro-Am (PC CADDIE)")
    remote_id = remote_item(club, "Pro-Am")["id"]

    original_changes = club.exchange.changes

    async def changes_then_outlook_edits(*args):
        page = await original_changes(*args)
        if club.exchange.items[remote_id]["subject"] == "Pro-Am":
            club.exchange.user_update(remote_id, subject="Pro-Am (Outlook)")  # between our read and our write
        return page

    club.exchange.changes = changes_then_outlook_edits
    first = await club.sync()
    assert first.counts == {"failed-to-exchange": 1}  # conflict answer: not blindly overwritten
    club.exchange.changes = original_changes
    second = await club.sync()
    assert second.counts == {"conflicts-to-exchange": 1, "updated-to-exchange": 1}
    assert club.remote_titles() == {"Pro-Am (PC CADDIE)"}


async def test_lost_create_answer_is_found_by_external_id_not_duplicated(club):
    club.add("Seniors cup")
    club.exchange.fail("create", when="after")
    first = await club.sync()
    assert first.error and first.error.startswith("timeout")
    assert len(club.exchange.items) == 1 and club.links()[0].pending_create
    second = await club.sync()
    assert second.error is None
    assert len(club.exchange.items) == 1
    (link,) = club.links()
    assert not link.pending_create and link.exchange_id in club.exchange.items
    assert "find_external" in club.exchange.calls


async def test_failed_create_before_sending_is_sent_again(club):
    club.add("Junior training")
    club.exchange.fail("create", when="before")
    assert (await club.sync()).error
    assert club.exchange.items == {}
    await club.sync()
    assert club.remote_titles() == {"Junior training"}


async def test_item_failures_count_attempts_and_stop_at_the_limit(club):
    club.write(
        lambda: __import__("sync_service.admin.parameters", fromlist=["x"]).set_parameter("SYNC_EXCH_ATTEMPTS", "3")
    )
    club.add("Broken")
    club.exchange.fail("create", when="item", code="invalid", count=10)
    for attempt in range(1, 4):
        outcome = await club.sync()
        assert outcome.counts == {"failed-to-exchange": 1}
        (link,) = club.links()
        assert link.attempts == attempt and link.last_error.startswith("create in Exchange: invalid")
    assert link.stopped
    creates = club.exchange.calls.count("create")
    assert (await club.sync()).counts == {}  # stopped: not tried again
    assert club.exchange.calls.count("create") == creates and club.exchange.items == {}


async def test_read_only_ignores_exchange_and_overwrites_on_the_next_change(tmp_path):
    club = make_club(tmp_path, read_only=True)
    local_id = club.add("Course closed")
    club.exchange.user_create(subject="Private Outlook entry", start=utc(1), end=utc(1, 10))
    await club.sync()
    assert club.titles() == {"Course closed"}  # nothing imported
    remote_id = remote_item(club, "Course closed")["id"]
    club.exchange.user_update(remote_id, subject="Edited in Outlook")
    await club.sync()
    assert club.titles() == {"Course closed"}
    club.update(local_id, text="Frost")
    await club.sync()
    assert remote_item(club, "Course closed")["body"] == "Frost"
    club.exchange.user_delete(remote_id)
    await club.sync()
    assert club.titles() == {"Course closed"} and "Course closed" not in club.remote_titles()
    club.update(local_id, text="Frost, until noon")
    await club.sync()
    assert remote_item(club, "Course closed")["body"] == "Frost, until noon"


async def test_hide_private_and_disable_reminders(tmp_path):
    club = make_club(tmp_path, hide_private=True, disable_reminders=True)
    club.exchange.user_create(subject="Doctor", start=utc(1), end=utc(1, 10), private=True)
    club.add("Board meeting", private=True)
    outcome = await club.sync()
    assert club.titles() == {"Board meeting"}
    item = remote_item(club, "Board meeting")
    assert item["private"] is True and item["reminder_minutes"] is None
    assert outcome.counts["skipped-to-pccaddie"] == 1


async def test_filters_apply_both_ways_and_remove_what_became_excluded(club):
    club.write(lambda: __import__("sync_service.admin.subscriptions", fromlist=["x"]).add_filter("anna", "Test*"))
    club.add("Test round")
    kept = club.add("Medal round")
    club.exchange.user_create(subject="test booking", start=utc(1), end=utc(1, 10))
    await club.sync()
    assert club.remote_titles() == {"Medal round", "test booking"}  # the user's own item stays, not imported
    assert club.titles() == {"Test round", "Medal round"}
    club.update(kept, title="Testing the greens")
    outcome = await club.sync()
    assert club.remote_titles() == {"test booking"} and outcome.counts["deleted-to-exchange"] == 1


async def test_mass_deletion_pauses_the_subscription(club):
    for n in range(12):
        club.add(f"Tee time {n}")
    await club.sync()
    for item_id in list(club.exchange.items):
        club.exchange.user_delete(item_id)
    outcome = await club.sync()
    assert outcome.not_syncing.startswith("paused: this cycle would delete 12 of 12")
    assert len(club.local()) == 12
    assert (await club.sync()).not_syncing.startswith("paused")


async def test_first_sync_pairs_what_both_sides_have(club):
    club.add("Medal")
    club.exchange.user_create(subject="Medal", start=utc(3, 9), end=utc(3, 10), location="", body="")
    outcome = await club.sync()
    assert outcome.counts == {} and len(club.links()) == 1 and len(club.exchange.items) == 1


async def test_moving_an_appointment_out_of_the_area_removes_it_from_exchange(club):
    from sync_service.admin.areas import add_area

    club.write(add_area, "Lessons")
    appointment_id = club.add("Lesson")
    await club.sync()
    club.update(appointment_id, area="Lessons")
    outcome = await club.sync()
    assert outcome.counts == {"deleted-to-exchange": 1} and club.exchange.items == {}


async def test_throttling_ends_the_cycle_without_blaming_items(club):
    club.add("Medal")
    club.exchange.fail("changes", code="throttled")
    outcome = await club.sync()
    assert outcome.error.startswith("throttled") and outcome.retry_after == 1.0
    with club.db.connection_context():
        assert AppointmentLink.select().count() == 0
    assert (await club.sync()).counts == {"created-to-exchange": 1}


def test_cycle_summary_line():
    from sync_service.engine.runner import CycleSummary

    assert CycleSummary(enabled=False).line().startswith("Synchronisation is off")
    assert CycleSummary(subscriptions=1).line() == "Synchronised 1 calendar: no changes"
    summary = CycleSummary(subscriptions=3, errors=["anna/Tee: auth_failed"])
    summary.counts.update({"created-to-exchange": 2, "updated-to-pccaddie": 1, "skipped-to-pccaddie": 1})
    assert summary.line() == (
        "Synchronised 3 calendars: 2 created in Exchange, 1 updated in PC CADDIE, 1 skipped, 1 with errors"
    )


async def test_auto_sync_contacts_adds_booked_persons(tmp_path):
    from sync_service.admin.persons import PersonInput, add_person
    from sync_service.admin.users import PermissionChange, set_user_permissions
    from sync_service.core.permissions import Contacts
    from sync_service.store.models import ContactSubscription

    club = make_club(tmp_path, auto_sync_contacts=True)
    club.write(set_user_permissions, "anna", PermissionChange(contacts=Contacts.YES))
    max_id = club.write(lambda: add_person(PersonInput(first_name="Max", last_name="Muster")).id)
    eva_id = club.write(lambda: add_person(PersonInput(first_name="Eva", last_name="Golf")).id)
    club.add("Lesson", persons=(max_id,))
    await club.sync()

    def listed():
        with club.db.connection_context():
            return sorted((c.person_id, c.source) for c in ContactSubscription.select())

    assert listed() == [(max_id, "auto")]
    club.add("Another lesson", persons=(eva_id, max_id))
    await club.sync()
    assert listed() == sorted([(max_id, "auto"), (eva_id, "auto")])


async def test_auto_sync_contacts_needs_the_contacts_permission(tmp_path):
    from sync_service.admin.persons import PersonInput, add_person
    from sync_service.store.models import ContactSubscription

    club = make_club(tmp_path, auto_sync_contacts=True)  # anna's contacts setting: 'group', no group: no
    person = club.write(lambda: add_person(PersonInput(first_name="Max", last_name="Muster")).id)
    club.add("Lesson", persons=(person,))
    await club.sync()
    with club.db.connection_context():
        assert ContactSubscription.select().count() == 0


async def test_a_database_failure_ends_that_calendar_cleanly_and_the_cycle_goes_on(club):
    import peewee as pw

    from sync_service.engine.calendar_sync import EngineSettings
    from sync_service.engine.database import DbRunner
    from sync_service.engine.runner import CycleEngine
    from tests.sync_service.engine.conftest import BERLIN

    club.add("Medal")

    class FlakyDb(DbRunner):
        fail_next = True

        async def run(self, function, *args):
            if function.__name__ == "prepare_exchange_creates" and FlakyDb.fail_next:
                FlakyDb.fail_next = False
                raise pw.OperationalError("database or disk is full")
            return await super().run(function, *args)

    engine = CycleEngine(FlakyDb(club.db), EngineSettings(BERLIN, club.vault))
    summary = await engine.run(lambda account, kind: club.exchange)
    assert summary.errors and "disk is full" in summary.errors[0]
    assert club.exchange.items == {} and club.links() == []  # nothing half-applied
    summary = await engine.run(lambda account, kind: club.exchange)
    assert summary.errors == [] and club.remote_titles() == {"Medal"}


async def test_a_sub_calendar_deleted_in_outlook_is_made_again_and_filled_anew(tmp_path):
    club = make_club(tmp_path, folder_name="Tee times")
    club.add("Medal")
    club.add("Stableford")
    await club.sync()
    assert club.exchange.folders == {"Tee times"} and len(club.exchange.items) == 2
    club.exchange.folders.clear()  # the user deletes the whole sub-calendar, items and all
    for item_id in list(club.exchange.items):
        del club.exchange.items[item_id]
    outcome = await club.sync()
    assert outcome.error is None and club.exchange.folders == {"Tee times"}
    assert len(club.local()) == 2  # the club's appointments are never touched by it
    await club.sync()
    assert club.remote_titles() == {"Medal", "Stableford"} and len(club.links()) == 2


async def test_a_calendar_removed_while_its_cycle_runs_ends_only_that_calendar(club):
    from sync_service.admin.areas import add_area
    from sync_service.admin.subscriptions import CalendarOptions, add_calendar, remove_calendar
    from sync_service.admin.users import add_user
    from sync_service.engine.calendar_sync import EngineSettings
    from sync_service.engine.database import DbRunner
    from sync_service.engine.runner import CycleEngine
    from tests.sync_service.engine.conftest import BERLIN
    from tests.sync_service.engine.fake_exchange import FakeExchange

    def second_user():
        from sync_service.admin.accounts import set_account
        from sync_service.admin.users import PermissionChange, set_user_permissions
        from sync_service.core.permissions import Appointments

        add_user("bert")
        set_user_permissions("bert", PermissionChange(appointments=Appointments.ALL))
        add_area("Lessons")
        set_account("bert", "https://mail.example.com/EWS/Exchange.asmx", "bert@club.example", None, "pw", club.vault)
        add_calendar("bert", "Lessons", CalendarOptions())

    club.write(second_user)
    club.add("Medal")
    bert = FakeExchange()
    anna_create = club.exchange.create

    async def removed_meanwhile(folder, entries):  # `calendar remove anna "Tee times"` during the cycle
        results = await anna_create(folder, entries)
        club.write(remove_calendar, "anna", "Tee times")
        return results

    club.exchange.create = removed_meanwhile
    with club.db.connection_context(), club.db.atomic():
        from sync_service.admin.timetable import AppointmentInput, add_appointment
        from tests.sync_service.engine.conftest import day

        add_appointment("Lessons", AppointmentInput(title="Lesson", start=day(2), end=day(2, 10)), BERLIN)
    engine = CycleEngine(DbRunner(club.db), EngineSettings(BERLIN, club.vault))
    summary = await engine.run(lambda account, kind: club.exchange if account["mailbox"].startswith("anna") else bert)
    assert {i["subject"] for i in bert.items.values()} == {"Lesson"}  # the other calendar's writes went on
    assert club.links() == [] or all(link.subscription_id != club.subscription_id for link in club.links())
    summary = await engine.run(lambda account, kind: club.exchange if account["mailbox"].startswith("anna") else bert)
    assert summary.errors == []


async def test_items_beyond_the_window_are_picked_up_once_the_window_reaches_them(club):
    from sync_service.engine.calendar_sync import CalendarSync, EngineSettings
    from sync_service.engine.database import DbRunner
    from tests.sync_service.engine.conftest import BERLIN

    def engine(days_ahead: int) -> CalendarSync:  # the window's end moves forward every day
        settings = EngineSettings(BERLIN, club.vault, window_days=(30, days_ahead))
        return CalendarSync(DbRunner(club.db), settings, lambda account: club.exchange)

    club.add("Autumn meeting", offset=20)
    club.exchange.user_create(subject="Winter party", start=utc(25, 19), end=utc(25, 23))
    outcome = await engine(10).run(club.subscription_id)
    assert outcome.counts == {"skipped-to-exchange": 1, "skipped-to-pccaddie": 1}
    assert (await engine(10).run(club.subscription_id)).counts == {}  # nothing new: not looked at again
    outcome = await engine(22).run(club.subscription_id)
    assert outcome.counts == {"created-to-exchange": 1} and club.remote_titles() == {"Autumn meeting", "Winter party"}
    outcome = await engine(30).run(club.subscription_id)
    assert outcome.counts == {"created-to-pccaddie": 1} and club.titles() == {"Autumn meeting", "Winter party"}
    assert (await engine(30).run(club.subscription_id)).counts == {}


async def test_a_batch_sending_a_create_again_beside_new_ones_makes_each_once(club):
    first = club.add("Captains")
    club.exchange.fail("create", when="before")  # not made; the answer is a timeout: the outcome unknown
    assert (await club.sync()).error is not None
    (owed,) = club.links()
    assert owed.pending_create and owed.exchange_id is None
    club.add("Medal")
    club.add("Greenfee guests")
    outcome = await club.sync()  # the lookup finds nothing: sent again, in one batch with the new ones
    assert outcome.error is None and outcome.counts == {"created-to-exchange": 3}
    links = {link.appointment_id: link for link in club.links()}
    assert len(links) == 3 and links[first].external_id == owed.external_id  # the same id, never a second
    by_external = {item["external_id"]: item_id for item_id, item in club.exchange.items.items()}
    assert all(by_external[link.external_id] == link.exchange_id for link in links.values())
    assert not any(link.pending_create or link.attempts for link in links.values())
    assert club.titles() == club.remote_titles() == {"Captains", "Medal", "Greenfee guests"}
    assert (await club.sync()).counts == {}
