"""What Exchange does that a naive sync gets wrong: a create and a delete between two reads told
as nothing, answers lost after the work was done, a create finishing late, copies made in
Outlook, items of other kinds, a folder deleted while a create is owed, notes written as HTML."""

import dataclasses
import datetime as dt

from sync_service.core.appointment_content import ALL_UPDATE_FIELDS
from sync_service.store.models import Appointment
from tests.sync_service.engine.conftest import utc


def remote(club, title):
    (item,) = [i for i in club.exchange.items.values() if i.get("subject") == title]
    return item


async def test_an_item_deleted_in_outlook_right_after_the_sync_made_it_is_deleted(club):
    club.add("Greenfee guests")
    assert (await club.sync()).counts == {"created-to-exchange": 1}
    club.exchange.user_delete(remote(club, "Greenfee guests")["id"])  # before the next read: Exchange tells nothing
    assert (await club.sync()).counts == {"deleted-to-pccaddie": 1}
    assert club.local() == {} and club.links() == []


async def test_an_outlook_deletion_after_a_cycle_that_ended_in_trouble_is_not_lost(club):
    club.add("Greenkeeping")
    made = club.exchange.user_create(subject="Lesson with Pro", start=utc(2, 14), end=utc(2, 15))
    club.exchange.fail("create", when="before")  # imported, then the cycle ends: its read is not saved
    outcome = await club.sync()
    assert outcome.error is not None and outcome.counts == {"created-to-pccaddie": 1}
    club.exchange.user_delete(made)  # made and deleted after the saved read: Exchange will tell nothing
    outcome = await club.sync()
    assert outcome.counts == {"deleted-to-pccaddie": 1, "created-to-exchange": 1}
    assert club.titles() == {"Greenkeeping"} and club.remote_titles() == {"Greenkeeping"}


async def test_a_sync_state_exchange_no_longer_knows_means_a_fresh_read_that_duplicates_nothing(club):
    from sync_service.store.models import SubscriptionState

    kept, gone = club.add("Kept"), club.add("Gone in Outlook")
    club.exchange.user_create(subject="Made in Outlook", start=utc(2, 14), end=utc(2, 15))
    await club.sync()
    await club.sync()
    club.exchange.user_delete(remote(club, "Gone in Outlook")["id"])
    club.exchange.user_create(subject="Made since", start=utc(3, 14), end=utc(3, 15))
    club.update(kept, location="Range")
    with club.db.connection_context():
        SubscriptionState.update(sync_state="expired-by-exchange").execute()
    outcome = await club.sync()
    assert outcome.error is None
    assert outcome.counts == {"deleted-to-pccaddie": 1, "created-to-pccaddie": 1, "updated-to-exchange": 1}
    assert club.titles() == club.remote_titles() == {"Kept", "Made in Outlook", "Made since"}
    assert len(club.exchange.items) == 3 and len(club.links()) == 3
    assert remote(club, "Kept")["location"] == "Range" and gone not in club.local()
    assert (await club.sync()).counts == {}


async def test_an_update_whose_answer_was_lost_does_not_leave_the_item_stuck(club):
    local_id = club.add("Seniors")
    await club.sync()
    club.update(local_id, title="Seniors (1)")
    club.exchange.fail("update", when="after")  # done in Exchange, the answer lost
    assert (await club.sync()).error is not None
    assert remote(club, "Seniors (1)")
    club.update(local_id, title="Seniors (2)")
    outcome = await club.sync()
    assert outcome.counts == {"updated-to-exchange": 1}  # no conflict with our own write
    assert club.remote_titles() == {"Seniors (2)"}
    (link,) = club.links()
    assert link.attempts == 0 and not link.stopped and link.sent is None
    club.exchange.user_update(remote(club, "Seniors (2)")["id"], subject="Seniors (Outlook)")
    assert (await club.sync()).counts == {"updated-to-pccaddie": 1}


async def test_an_outlook_edit_after_an_update_whose_answer_was_lost_is_no_conflict(club):
    local_id = club.add("Seniors")
    await club.sync()
    club.update(local_id, title="Seniors (1)")
    club.exchange.fail("update", when="after")  # done in Exchange, the answer lost
    await club.sync()
    club.exchange.user_update(remote(club, "Seniors (1)")["id"], subject="Seniors (Outlook)", location="Barn")
    outcome = await club.sync()
    assert outcome.counts == {"updated-to-pccaddie": 1}  # the Outlook edit came after ours: it wins, no conflict
    appointment = club.local()[local_id]
    assert (appointment.title, appointment.location) == ("Seniors (Outlook)", "Barn")
    assert (await club.sync()).counts == {}


async def test_a_conflict_answer_makes_the_next_cycle_read_the_item(club):
    local_id = club.add("Ladies")
    await club.sync()
    await club.sync()  # the create verified
    item_id = remote(club, "Ladies")["id"]
    original = club.exchange.changes

    async def blind(folder, sync_state, max_changes):  # a feed that missed the user's edit
        page = await original(folder, sync_state, max_changes)
        return dataclasses.replace(page, changes=tuple(c for c in page.changes if c.id != item_id))

    club.exchange.user_update(item_id, location="Barn")
    club.exchange.changes = blind
    club.update(local_id, title="Ladies (PC CADDIE)")
    assert (await club.sync()).counts == {"failed-to-exchange": 1}  # conflict: Exchange holds a newer version
    club.exchange.changes = original
    outcome = await club.sync()
    assert outcome.counts == {"conflicts-to-exchange": 1, "updated-to-exchange": 1}
    assert remote(club, "Ladies (PC CADDIE)")["location"] == ""


async def test_a_conflict_winner_that_could_not_be_written_is_written_whole_later(club):
    local_id = club.add("Ladies")
    await club.sync()
    await club.sync()  # the create verified
    item_id = remote(club, "Ladies")["id"]
    club.exchange.user_update(item_id, location="Barn")
    club.update(local_id, title="Ladies (PC CADDIE)")
    club.exchange.fail("update", when="item")  # the winner's write refused this once
    outcome = await club.sync()
    assert outcome.counts == {"conflicts-to-exchange": 1, "failed-to-exchange": 1}
    assert (await club.sync()).counts == {"updated-to-exchange": 1}
    item = club.exchange.items[item_id]
    assert (item["subject"], item["location"]) == ("Ladies (PC CADDIE)", "")  # PC CADDIE's version, whole


async def test_an_outlook_edit_of_an_item_whose_create_answer_was_lost_arrives(club):
    club.add("Captains")
    club.exchange.fail("create", when="after")  # made in Exchange, the answer lost
    assert (await club.sync()).error is not None
    club.exchange.user_update(remote(club, "Captains")["id"], location="Terrace")  # seen in Outlook, edited
    outcome = await club.sync()
    assert outcome.counts == {"updated-to-pccaddie": 1}
    (appointment,) = club.local().values()
    assert appointment.location == "Terrace" and len(club.exchange.items) == 1


async def test_a_create_that_finished_late_leaves_no_twin(club):
    club.add("Captain's day")
    club.exchange.fail("create", when="late")  # the gateway gave up; the create still runs
    assert (await club.sync()).error is not None
    await club.sync()  # the lookup finds nothing yet: sent again, and the first one lands too
    assert len(club.exchange.items) == 2
    outcome = await club.sync()
    assert outcome.counts == {"deleted-to-exchange": 1}
    (item,) = club.exchange.items.values()
    (link,) = club.links()
    assert link.exchange_id == item["id"] and len(club.local()) == 1
    assert (await club.sync()).counts == {}


async def test_a_late_create_of_an_older_version_is_our_twin_too(club):
    local_id = club.add("Captain's day")
    club.exchange.fail("create", when="late")  # the gateway gave up; the create still runs
    await club.sync()
    club.update(local_id, location="Terrace")  # changed meanwhile: the create sent again holds more
    await club.sync()  # the lookup finds nothing yet: sent again, and the first one lands too
    assert len(club.exchange.items) == 2
    assert (await club.sync()).counts == {"deleted-to-exchange": 1}  # the older version: ours, not a user's copy
    (item,) = club.exchange.items.values()
    assert item["location"] == "Terrace" and len(club.local()) == 1


async def test_a_late_create_of_an_appointment_deleted_meanwhile_is_deleted_when_it_lands(club):
    local_id = club.add("Captain's day")
    club.exchange.fail("create", when="late")
    await club.sync()
    club.delete(local_id)
    await club.sync()  # not found, and nothing to send again
    club.exchange._finish_late_creates()  # it lands now
    assert len(club.exchange.items) == 1
    assert (await club.sync()).counts == {"deleted-to-exchange": 1}
    assert club.exchange.items == {} and club.local() == {} and club.links() == []


async def test_a_late_twin_of_an_item_deleted_in_outlook_is_not_imported(club):
    club.add("Captain's day")
    club.exchange.fail("create", when="late")
    await club.sync()
    club.exchange._late, late = [], club.exchange._late  # held back longer this time
    await club.sync()  # sent again: made
    club.exchange.user_delete(remote(club, "Captain's day")["id"])
    assert (await club.sync()).counts == {"deleted-to-pccaddie": 1}
    club.exchange._late = late
    club.exchange._finish_late_creates()  # the first create lands after all
    assert (await club.sync()).counts == {"deleted-to-exchange": 1}  # ours: gone again, not imported
    assert club.exchange.items == {} and club.local() == {}


async def test_a_copy_made_before_a_lost_create_is_found_is_the_users(club):
    local_id = club.add("Captains")
    club.exchange.fail("create", when="after")  # made in Exchange, the answer lost
    await club.sync()
    ours = remote(club, "Captains")["id"]
    copy_id = club.exchange.user_copy(ours, subject="Captains (copy)")
    club.exchange.items = dict(reversed(list(club.exchange.items.items())))  # the copy found first
    assert (await club.sync()).counts == {"created-to-pccaddie": 1}
    by_remote = {link.exchange_id: link.appointment_id for link in club.links()}
    assert by_remote[ours] == local_id and by_remote[copy_id] != local_id
    assert club.titles() == club.remote_titles() == {"Captains", "Captains (copy)"}


async def test_a_copy_made_in_outlook_becomes_a_new_appointment(club):
    local_id = club.add("Junior training")
    await club.sync()
    original = remote(club, "Junior training")
    copy_id = club.exchange.user_copy(original["id"], start=utc(10, 9), end=utc(10, 10))
    outcome = await club.sync()
    assert outcome.counts == {"created-to-pccaddie": 1}
    appointments = club.local()
    assert len(appointments) == 2 and appointments[local_id].start.date() == dt.date.today() + dt.timedelta(days=3)
    copy = club.exchange.items[copy_id]
    assert copy["external_id"] != original["external_id"]  # an id of its own
    club.exchange.user_update(copy_id, subject="Junior training (week 2)")
    assert (await club.sync()).counts == {"updated-to-pccaddie": 1}
    assert club.titles() == {"Junior training", "Junior training (week 2)"}
    assert remote(club, "Junior training")["id"] == original["id"]


async def test_a_copy_whose_relabelling_failed_is_relabelled_later(club):
    club.add("Junior training")
    await club.sync()
    original = remote(club, "Junior training")
    copy_id = club.exchange.user_copy(original["id"], subject="Junior training (copy)")
    club.exchange.fail("update", when="item")  # the copy's new external id is refused this time
    assert (await club.sync()).counts["created-to-pccaddie"] == 1
    assert club.exchange.items[copy_id]["external_id"] == original["external_id"]
    await club.sync()  # nothing changed in Exchange: the copy is read again all the same
    copy = club.exchange.items[copy_id]
    (copy_link,) = [link for link in club.links() if link.exchange_id == copy_id]
    assert copy["external_id"] == copy_link.external_id != original["external_id"]
    assert copy_link.change_key == copy["change_key"]
    assert (await club.sync()).counts == {}
    assert not [link for link in club.links() if link.verify]  # labelled and seen so: no more reads of it


async def test_a_copy_adopted_by_a_cycle_that_ended_before_labelling_it_is_labelled_later(club):
    local_id = club.add("Junior training")
    await club.sync()
    original = remote(club, "Junior training")
    copy_id = club.exchange.user_copy(original["id"], subject="Junior training (copy)")
    club.update(local_id, title="Junior training (moved)")
    club.exchange.fail("update", when="before")  # the cycle ends before the copy's label is written
    outcome = await club.sync()
    assert outcome.error is not None and outcome.counts == {"created-to-pccaddie": 1}
    club.exchange.user_delete(original["id"])
    await club.sync()
    await club.sync()
    copy = club.exchange.items[copy_id]
    (copy_link,) = [link for link in club.links() if link.exchange_id == copy_id]
    assert copy["external_id"] == copy_link.external_id != original["external_id"]
    assert club.titles() == club.remote_titles() == {"Junior training (moved)", "Junior training (copy)"}


async def test_items_of_other_kinds_are_skipped_and_counted(club):
    club.exchange.user_create_group("Board members")
    club.exchange.user_create(subject="Meeting", start=utc(2, 8), end=utc(2, 9))
    outcome = await club.sync()
    assert outcome.error is None and outcome.counts == {"created-to-pccaddie": 1, "skipped-to-pccaddie": 1}
    assert (await club.sync()).counts == {}


async def test_a_folder_deleted_while_a_create_is_owed_is_made_again(tmp_path):
    from tests.sync_service.engine.conftest import make_club

    club = make_club(tmp_path, folder_name="Pro shop")
    club.add("Demo day")
    club.exchange.fail("create", when="before")
    assert (await club.sync()).error is not None  # the create is owed
    club.exchange.folders.clear()  # the user deleted the calendar in Outlook
    await club.sync()
    await club.sync()
    assert "Pro shop" in club.exchange.folders and club.remote_titles() == {"Demo day"}


async def test_an_update_writes_only_what_pc_caddie_changed(club):
    local_id = club.add("Pro-Am", text="Bring & share")
    await club.sync()
    sent = []
    original = club.exchange.update

    async def spy(items):
        sent.extend(item.to_wire() for item in items)  # as they go on the wire
        return await original(items)

    club.exchange.update = spy
    club.update(local_id, title="Pro-Am (sold out)")
    await club.sync()
    assert [u["fields"] for u in sent] == [["subject", "written"]]  # the note, its formatting, the reminder: untouched
    club.update(local_id, start=utc(5, 7).replace("Z", "+00:00"), end=utc(5, 8).replace("Z", "+00:00"))
    await club.sync()
    assert set(sent[1]["fields"]) == {"start", "end", "all_day", "timezone", "written"}
    assert set(ALL_UPDATE_FIELDS) >= set(sent[1]["fields"])


def next_autumn_change() -> dt.date:
    """The next last Sunday of October, when Berlin's clocks go back at 03:00 CEST to 02:00 CET."""
    for year in (dt.date.today().year, dt.date.today().year + 1):
        last = dt.date(year, 10, 31)
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        if sunday > dt.date.today():
            return sunday
    raise AssertionError("unreachable")


async def test_the_second_of_two_equal_wall_times_stays_the_second(club):
    night = next_autumn_change().isoformat()  # 02:30 happens twice: 00:30Z (CEST) and 01:30Z (CET)
    club.exchange.user_create(subject="Night round", start=f"{night}T01:30:00Z", end=f"{night}T01:45:00Z")
    await club.sync()
    with club.db.connection_context():
        (appointment,) = Appointment.select()
    assert (appointment.start.isoformat(), appointment.start_fold) == (f"{night}T02:30:00", 1)
    assert (await club.sync()).counts == {}
    club.update(appointment.id, title="Night round (greenkeeper)")
    await club.sync()
    assert remote(club, "Night round (greenkeeper)")["start"] == f"{night}T01:30:00Z"  # not an hour earlier
    club.update(appointment.id, start=f"{night}T02:30+02:00", end=f"{night}T02:45+02:00")  # the first one
    await club.sync()
    assert remote(club, "Night round (greenkeeper)")["start"] == f"{night}T00:30:00Z"


async def test_a_title_over_exchanges_limit_is_shortened_there_and_stays_whole_here(club):
    long_title = "Clubmeisterschaft " + "sehr lang " * 40
    local_id = club.add(long_title)
    outcome = await club.sync()
    assert outcome.counts == {"created-to-exchange": 1}
    (item,) = club.exchange.items.values()
    assert len(item["subject"]) <= 255 and long_title.startswith(item["subject"])
    assert (await club.sync()).counts == {}  # the shortened title read back is no change
    club.exchange.user_update(item["id"], location="Terrace")
    assert (await club.sync()).counts == {"updated-to-pccaddie": 1}
    appointment = club.local()[local_id]
    assert appointment.title == long_title.rstrip() and appointment.location == "Terrace"
    assert (await club.sync()).counts == {}


async def test_a_copy_not_labelled_yet_whose_appointment_is_deleted_is_deleted_not_labelled(club):
    club.add("Junior training")
    await club.sync()
    original = remote(club, "Junior training")
    copy_id = club.exchange.user_copy(original["id"], subject="Junior training (copy)")
    club.exchange.fail("update", when="before")  # the cycle ends before the copy's label is written
    outcome = await club.sync()
    assert outcome.error is not None and outcome.counts == {"created-to-pccaddie": 1}
    (copy_appointment,) = [a for a in club.local().values() if a.title == "Junior training (copy)"]
    club.delete(copy_appointment.id)  # the unlabelled copy's appointment deleted in PC CADDIE
    outcome = await club.sync()
    assert outcome.error is None and outcome.counts == {"deleted-to-exchange": 1}
    assert copy_id not in club.exchange.items
    assert club.titles() == club.remote_titles() == {"Junior training"}
    assert [link.exchange_id for link in club.links()] == [original["id"]]
    assert (await club.sync()).counts == {}
