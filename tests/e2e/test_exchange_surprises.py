"""What users do in Outlook that a naive sync gets wrong, end to end: two areas in one calendar, a
deletion right after the sync made an item, a copy carrying our external id, contact groups, notes
written as HTML, the hour repeated in autumn, a sub-calendar deleted while a create is owed, and a
calendar removed while a cycle runs. PC CADDIE through the command line, Exchange through plain
exchangelib, the stand-in Exchange server, the gateway and the sync service as real processes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Callable

import pytest
from exchangelib import (
    BASIC,
    DELEGATE,
    UTC,
    Account,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    EWSDateTime,
    FailFast,
    HTMLBody,
    Mailbox,
)
from exchangelib.items import DistributionList
from exchangelib.properties import Member
from exchangelib.protocol import close_connections

from sandbox.outlook import BERLIN, external_id_visible
from sandbox.world import World, local_day

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    with external_id_visible():
        started = World.start(tmp_path / "home")
        try:
            yield started
        finally:
            started.stop()
            close_connections()


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    """Poll `check` until it returns something true, at most `timeout` seconds; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(every)


def by_title(world: World) -> dict[str, dict[str, Any]]:
    listed = world.json("appointment", "list")
    titles = [a["title"] for a in listed]
    assert len(titles) == len(set(titles)), f"duplicates in PC CADDIE: {titles}"
    return {a["title"]: a for a in listed}


def outlook_by_subject(world: World, folder=None) -> dict[str, CalendarItem]:
    items = list((folder or world.outlook().calendar).all())
    subjects = [i.subject for i in items]
    assert len(subjects) == len(set(subjects)), f"duplicates in Exchange: {subjects}"
    return {i.subject: i for i in items}


def berlin(offset: int, hour: int) -> EWSDateTime:
    return EWSDateTime.from_datetime(local_day(offset, hour)).replace(tzinfo=BERLIN)


# 1 -------------------------------------------------------------------------------------------------


def test_two_areas_share_one_calendar(world):
    world.set_up("anna", "Tee times")  # the first area on the main calendar…
    world.caddie("area", "add", "Lessons")
    world.caddie("calendar", "add", "anna", "Lessons")  # …and a second one, no --folder either
    listed = {row["area"]: row for row in world.json("calendar", "list", "anna")}
    assert (listed["Tee times"]["shares_calendar_with"], listed["Tee times"]["import_area"]) == (["Lessons"], True)
    assert (listed["Lessons"]["shares_calendar_with"], listed["Lessons"]["import_area"]) == (["Tee times"], False)

    world.add("Tee time 9:00", 3, 9, "--location", "Tee 1")
    world.add("Lesson Max", 3, 11, "--location", "Pro shop", area="Lessons")
    world.sync_now()
    world.sync_now()  # a second cycle: neither area takes the other's item
    items = outlook_by_subject(world)
    assert sorted(items) == ["Lesson Max", "Tee time 9:00"]  # once each
    assert items["Tee time 9:00"].categories == ["Tee times"] and items["Lesson Max"].categories == ["Lessons"]
    assert {(a["title"], a["area"]) for a in by_title(world).values()} == {
        ("Tee time 9:00", "Tee times"),
        ("Lesson Max", "Lessons"),
    }

    # edited in Outlook: each change reaches its own area's appointment only
    items["Tee time 9:00"].subject = "Tee time 9:10"
    items["Tee time 9:00"].save(update_fields=["subject"])
    items["Lesson Max"].location = "Range"
    items["Lesson Max"].save(update_fields=["location"])
    world.sync_now()
    appointments = by_title(world)
    assert sorted(appointments) == ["Lesson Max", "Tee time 9:10"]
    assert (appointments["Tee time 9:10"]["area"], appointments["Tee time 9:10"]["location"]) == ("Tee times", "Tee 1")
    assert (appointments["Lesson Max"]["area"], appointments["Lesson Max"]["location"]) == ("Lessons", "Range")

    # made in Outlook: without a category into the import area (one appointment, not one per
    # area); with an area's category into that area
    world.outlook_add("Uncategorised", 2, 8)
    world.outlook_add("Filed", 2, 10, categories=["Lessons"])
    world.sync_now()
    world.sync_now()
    appointments = by_title(world)
    assert {t: a["area"] for t, a in appointments.items()} == {
        "Tee time 9:10": "Tee times",
        "Lesson Max": "Lessons",
        "Uncategorised": "Tee times",
        "Filed": "Lessons",
    }
    assert sorted(outlook_by_subject(world)) == ["Filed", "Lesson Max", "Tee time 9:10", "Uncategorised"]

    # the technician makes Lessons the import area
    world.caddie("calendar", "import-area", "anna", "Lessons")
    listed = {row["area"]: row for row in world.json("calendar", "list", "anna")}
    assert (listed["Tee times"]["import_area"], listed["Lessons"]["import_area"]) == (False, True)
    world.outlook_add("Later", 2, 12)
    world.sync_now()
    appointments = by_title(world)
    assert appointments["Later"]["area"] == "Lessons" and len(appointments) == 5

    # deleted in Outlook: that one appointment goes, nothing else
    outlook_by_subject(world)["Lesson Max"].delete()
    world.sync_now()
    assert {t: a["area"] for t, a in by_title(world).items()} == {
        "Tee time 9:10": "Tee times",
        "Uncategorised": "Tee times",
        "Filed": "Lessons",
        "Later": "Lessons",
    }
    assert sorted(outlook_by_subject(world)) == ["Filed", "Later", "Tee time 9:10", "Uncategorised"]


# 2 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["move_to_trash", "soft_delete"])
def test_an_item_deleted_in_outlook_right_after_the_sync_made_it(world, how):
    world.set_up()
    world.add("Greenfee guests")
    world.add("Stays")
    world.sync_now()
    items = outlook_by_subject(world)
    assert sorted(items) == ["Greenfee guests", "Stays"]
    getattr(items["Greenfee guests"], how)()  # before the sync has read its own create back
    world.sync_now()
    world.sync_now()
    assert world.titles() == ["Stays"]
    assert sorted(outlook_by_subject(world)) == ["Stays"]  # not made again either
    assert world.json("items") == []  # nothing owed, nothing stuck


# 3 -------------------------------------------------------------------------------------------------


def test_a_copy_made_in_outlook_becomes_an_appointment_of_its_own(world):
    world.set_up()
    original_id = world.add("Junior training", 3, 9, "--location", "Range")
    world.sync_now()
    before = by_title(world)["Junior training"]
    account = world.outlook()
    (original,) = account.calendar.all()
    external_id = original.pccaddie_sync_id
    assert external_id and external_id.startswith("pccaddie:")
    copy = CalendarItem(
        account=account,
        folder=account.calendar,
        subject=original.subject,
        start=original.start,
        end=original.end,
        location=original.location,
        categories=original.categories,
        pccaddie_sync_id=external_id,
    )
    copy.save()
    world.sync_now()
    world.sync_now()
    appointments = world.json("appointment", "list")
    assert len(appointments) == 2 and all(a["title"] == "Junior training" for a in appointments)
    (kept,) = [a for a in appointments if a["id"] == int(original_id)]
    assert kept == before  # the original appointment unchanged
    (made,) = [a for a in appointments if a["id"] != int(original_id)]
    assert (made["start"], made["end"], made["location"]) == (before["start"], before["end"], "Range")

    items = {i.id: i for i in world.outlook().calendar.all()}
    assert len(items) == 2 and original.id in items and copy.id in items  # neither deleted as a twin
    assert items[original.id].pccaddie_sync_id == external_id
    assert items[copy.id].pccaddie_sync_id and items[copy.id].pccaddie_sync_id != external_id  # an id of its own

    # and the two go their own ways from now on
    items[copy.id].subject = "Junior training (week 2)"
    items[copy.id].save(update_fields=["subject"])
    world.caddie("appointment", "update", original_id, "--location", "Range 2")
    world.sync_now()
    appointments = by_title(world)
    assert (appointments["Junior training"]["id"], appointments["Junior training"]["location"]) == (
        int(original_id),
        "Range 2",
    )
    assert appointments["Junior training (week 2)"]["location"] == "Range"
    items = outlook_by_subject(world)
    assert items["Junior training"].location == "Range 2" and items["Junior training (week 2)"].location == "Range"


# 4 -------------------------------------------------------------------------------------------------


def test_contact_groups_do_not_stop_the_contact_sync(world):
    world.set_up()
    world.caddie("user", "permissions", "anna", "--contacts", "yes", "--phone", "sync")
    account = world.outlook()
    board = [Member(mailbox=Mailbox(name="Max Muster", email_address="max@example.com"))]
    DistributionList(account=account, folder=account.contacts, display_name="Board members", members=board).save()
    person = world.caddie(
        "person", "add", "--first-name", "Lena", "--last-name", "Birdie", "--email", "lena@example.com"
    ).stdout.strip()
    world.caddie("contact", "add", "anna", "--person", person)
    world.sync_now()  # (exit 0 checked by sync_now)
    contacts = [c for c in world.outlook().contacts.all() if isinstance(c, Contact)]
    assert [(c.given_name, c.surname) for c in contacts] == [("Lena", "Birdie")]

    # a group made later, seen among the changes, and another change of the person
    DistributionList(account=account, folder=account.contacts, display_name="Juniors' parents").save()
    world.caddie("person", "update", person, "--phone-mobile", "+49 170 3")
    world.sync_now()
    world.sync_now()
    everything = list(world.outlook().contacts.all())
    groups = {g.display_name: g for g in everything if isinstance(g, DistributionList)}
    assert sorted(groups) == ["Board members", "Juniors' parents"]  # left alone…
    assert [m.mailbox.email_address for m in groups["Board members"].members] == ["max@example.com"]
    assert not any(c["last_name"] == "Muster" for c in world.json("person", "list"))  # …and not imported
    (lena,) = [c for c in everything if isinstance(c, Contact)]
    assert [p.phone_number for p in lena.phone_numbers or []] == ["+49 170 3"]
    assert [c["person"] for c in world.json("contact", "list", "anna")] == [int(person)]


# 5 -------------------------------------------------------------------------------------------------


NOTE = (
    "<html><head><style>p{color:red} .x{font-weight:bold}</style></head><body>"
    '<p class="x">Bring &amp; share &ndash; caf&eacute;</p><p>Line 2<br>Line 3</p></body></html>'
)


def test_an_html_note_is_read_as_text_and_keeps_its_formatting(world):
    world.set_up()
    world.outlook_add("Pro-Am", 5, 10, body=HTMLBody(NOTE))
    world.sync_now()
    (appointment,) = world.json("appointment", "list")
    assert appointment["text"] == "Bring & share \u2013 café\nLine 2\nLine 3"
    world.caddie("appointment", "update", str(appointment["id"]), "--title", "Pro-Am (sold out)")
    world.sync_now()
    (item,) = world.outlook_items()
    assert item.subject == "Pro-Am (sold out)"
    assert isinstance(item.body, HTMLBody), type(item.body)
    for markup in ("<style>p{color:red} .x{font-weight:bold}</style>", '<p class="x">', "&amp;", "<br>"):
        assert markup in item.body, item.body
    world.sync_now()
    (again,) = world.json("appointment", "list")
    assert (again["title"], again["text"]) == ("Pro-Am (sold out)", appointment["text"])


# 6 -------------------------------------------------------------------------------------------------


def next_autumn_change() -> dt.date:
    """The next last Sunday of October (Berlin's clocks go back at 03:00 CEST to 02:00 CET)."""
    for year in (dt.date.today().year, dt.date.today().year + 1):
        last = dt.date(year, 10, 31)
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        if sunday > dt.date.today():
            return sunday
    raise AssertionError("unreachable")


def test_the_second_of_two_equal_wall_times_stays_the_second(world):
    night = next_autumn_change()
    assert (night - dt.date.today()).days <= 400  # inside the sync window
    world.set_up()
    start = EWSDateTime(night.year, night.month, night.day, 1, 30, tzinfo=UTC)  # 02:30 CET, the second one
    account = world.outlook()
    CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Night round",
        start=start,
        end=start + dt.timedelta(minutes=15),
    ).save()
    world.sync_now()
    (appointment,) = world.json("appointment", "list")
    assert (appointment["start"], appointment["end"]) == (f"{night}T02:30:00+01:00", f"{night}T02:45:00+01:00")
    world.sync_now()
    world.caddie("appointment", "update", str(appointment["id"]), "--title", "Night round (greenkeeper)")
    world.sync_now()
    (item,) = world.outlook_items()
    assert item.subject == "Night round (greenkeeper)"
    assert item.start.astimezone(UTC) == start and item.end.astimezone(UTC) == start + dt.timedelta(minutes=15)
    (appointment,) = world.json("appointment", "list")
    assert appointment["start"] == f"{night}T02:30:00+01:00"


# 7 -------------------------------------------------------------------------------------------------


def sub_calendar(world: World, name: str):
    """The calendar's sub-folder `name` as Outlook sees it now, or None."""
    children = [f for f in world.outlook().calendar.children if f.name == name]
    assert len(children) <= 1, [f.name for f in children]
    return children[0] if children else None


def test_a_sub_calendar_deleted_while_a_create_is_owed_is_made_again(world):
    world.set_up("anna", "Tee times", "--folder", "Pro")
    world.add("Demo day")
    # Exchange refuses the item in its response message (a fault of the whole request would be the
    # mailbox's trouble, no attempt counted)
    refusal = world.control(
        "/emulator/faults",
        {"kind": "error_message", "code": "ErrorCorruptData", "fraction": 1.0, "operations": ["CreateItem"]},
    )
    world.sync_now(ok=False)  # (an item failing is not a cycle failing: exit 0 or 1)
    world.control(f"/emulator/faults/{refusal['id']}", method="DELETE")  # one cycle's creates refused, no more
    (owed,) = world.json("items")
    assert owed["attempts"] == 1 and owed["error"].startswith("create in Exchange"), owed
    folder = sub_calendar(world, "Pro")
    assert folder is not None and list(folder.all()) == []  # the folder made, the create owed
    folder.delete()  # the user deletes the calendar in Outlook
    assert sub_calendar(world, "Pro") is None
    world.sync_now(ok=False)  # finds the folder gone (and may make it again right away)…
    world.sync_now()  # …and this cycle at the latest fills it anew
    folder = sub_calendar(world, "Pro")
    assert folder is not None and [i.subject for i in folder.all()] == ["Demo day"]
    assert world.outlook_items() == []  # not in the main calendar
    assert world.titles() == ["Demo day"] and world.json("items") == []
    world.sync_now()
    assert [i.subject for i in sub_calendar(world, "Pro").all()] == ["Demo day"]


# 8 -------------------------------------------------------------------------------------------------


BOB, BOB_PASSWORD = "bob@club.example", "bob-secret"


def mailbox(world: World, address: str, password: str) -> Account:
    config = Configuration(
        service_endpoint=world.url, credentials=Credentials(address, password), auth_type=BASIC, retry_policy=FailFast()
    )
    return Account(address, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=BERLIN)


def test_removing_a_calendar_while_a_cycle_runs_does_not_stop_the_service(world):
    world.set_up("anna", "Tee times")
    world.control("/emulator/mailboxes", {"address": BOB, "password": BOB_PASSWORD})
    world.caddie("user", "add", "bob")
    world.caddie("user", "permissions", "bob", "--appointments", "all")
    world.caddie("area", "add", "Bob's lessons")
    world.caddie(
        "account", "set", "bob", "--ews-url", world.url, "--mailbox", BOB, "--password-stdin", input=BOB_PASSWORD + "\n"
    )
    world.caddie("calendar", "add", "bob", "Bob's lessons")
    sync = world.start_sync("1")
    sync.wait_for("Sync ended", timeout=30)  # both calendars' first cycle

    # Exchange is slow for Bob's creates: his next cycle hangs in one for a while
    slow = world.control(
        "/emulator/faults",
        {"kind": "delay", "seconds": 8, "fraction": 1.0, "operations": ["CreateItem"], "mailboxes": [BOB]},
    )
    world.add("Lesson Bob", 2, 9, area="Bob's lessons")
    world.add("Anna's first", 2, 10)

    def slow_create_running() -> bool:
        return any(r["id"] == slow["id"] and r["hits"] >= 1 for r in world.control("/emulator/faults", method="GET"))

    wait_until("Bob's create under way", slow_create_running, timeout=30)
    ended_before = sync.count("Sync ended")
    world.caddie("calendar", "remove", "bob", "Bob's lessons")
    assert sync.count("Sync ended") == ended_before, "the cycle ended before the remove: the test proves nothing"
    world.control(f"/emulator/faults/{slow['id']}", method="DELETE")
    assert [row["area"] for row in world.json("calendar", "list", "bob")] == []

    world.add("Anna's second", 2, 11)
    wait_until(
        "Anna's items in Exchange",
        lambda: sorted(i.subject for i in world.outlook_items()) == ["Anna's first", "Anna's second"],
        timeout=40,
    )
    sync.wait_for("Sync ended", count=sync.count("Sync ended") + 2, timeout=40)  # and it goes on
    assert sync.process.poll() is None, sync.console()
    assert "Traceback" not in sync.console(), sync.console()
    assert sorted(world.titles()) == ["Anna's first", "Anna's second", "Lesson Bob"]
    bob_items = [i.subject for i in mailbox(world, BOB, BOB_PASSWORD).calendar.all()]
    assert bob_items in ([], ["Lesson Bob"]), bob_items  # the create in flight landed or not, but once at most


def test_a_sync_state_exchange_no_longer_knows_is_read_afresh(world):
    """ErrorInvalidSyncStateData (an expired state): the calendar is read afresh, nothing made twice,
    and only what was really deleted meanwhile is deleted."""
    world.set_up("anna", "Tee times")
    world.add("Kept", 3, 9)
    world.add("Deleted in Outlook", 3, 11)
    world.outlook_add("Made in Outlook", 2, 8)
    world.sync_now()
    world.sync_now()
    outlook_by_subject(world)["Deleted in Outlook"].delete()
    world.outlook_add("Made since", 2, 10)
    # the cycle's first read (all calendars' first pages at once) and the calendar's own read again
    world.control("/emulator/faults", {"kind": "invalid_sync_state", "count": 2})
    world.sync_now()
    assert sorted(by_title(world)) == ["Kept", "Made in Outlook", "Made since"]
    assert sorted(outlook_by_subject(world)) == ["Kept", "Made in Outlook", "Made since"]
    lines = world.json("report", "anna", "--cycles", "1")
    assert [line["detail"] for line in lines if line["action"] == "restart"] == ["read afresh: sync state not known"]
    world.sync_now()
    assert sorted(by_title(world)) == ["Kept", "Made in Outlook", "Made since"]
