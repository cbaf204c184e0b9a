"""`sync-service calendar set LOGIN AREA`: a calendar's options changed in place; only those given
change, and the output says what the next cycle does about it. (What the engine then does is
tested in tests/sync_service/admin/test_calendar_set.py.)"""

import pytest

from .test_calendars import MAIN


@pytest.fixture
def tee(club):
    club.ok("calendar", "add", "alice", "Tee", "--read-only", "--folder", "Club")
    return club


def test_only_the_options_given_change(tee):
    out = tee.ok("calendar", "set", "alice", "Tee", "--hide-private", "--disable-reminders")
    assert out.splitlines()[0] == "alice's Tee: hide private, disable reminders changed"
    assert "- private Exchange appointments are no longer imported" in out
    assert "carry no reminder; those already in Exchange keep theirs" in out
    assert tee.json("calendar", "list", "alice") == [
        {**MAIN, "area": "Tee", "folder": "Club", "read_only": True, "hide_private": True, "disable_reminders": True}
    ]


def test_each_option_back_off(tee):
    tee.ok("calendar", "set", "alice", "Tee", "--hide-private", "--disable-reminders", "--auto-sync-contacts")
    out = tee.ok(
        "calendar",
        "set",
        "alice",
        "Tee",
        "--no-read-only",
        "--show-private",
        "--enable-reminders",
        "--no-auto-sync-contacts",
        "--policy",
        "exchange-wins",
    )
    assert out.splitlines()[0] == (
        "alice's Tee: read only, hide private, disable reminders, auto sync contacts, policy changed"
    )
    assert "two-way: the next cycle reads the calendar again in full" in out
    assert "conflicts met from now on: exchange-wins" in out
    assert "no longer join alice's contact list" in out and "deleted in Exchange" in out
    assert tee.json("calendar", "list", "alice") == [
        {**MAIN, "area": "Tee", "folder": "Club", "policy": "exchange-wins"}
    ]


def test_the_same_values_change_nothing(tee):
    assert (
        tee.ok("calendar", "set", "alice", "Tee", "--read-only", "--folder", " Club ")
        == "alice's Tee: nothing changed\n"
    )
    assert tee.ok("calendar", "set", "alice", "Tee") == "alice's Tee: nothing changed\n"


def test_another_folder_says_where_the_items_go(tee):
    out = tee.ok("calendar", "set", "alice", "Tee", "--folder", "")
    assert out.splitlines()[0] == "alice's Tee: folder name changed"
    assert "Tee now syncs with the main calendar instead of the calendar 'Club'" in out
    assert "stay in Exchange and are no longer synchronised" in out
    assert tee.json("calendar", "list", "alice")[0]["folder"] is None


def test_auto_sync_contacts_needs_the_contacts_permission(club):
    club.ok("user", "permissions", "bob", "--appointments", "all")
    club.ok("calendar", "add", "bob", "Pro")
    out = club.ok("calendar", "set", "bob", "Pro", "--auto-sync-contacts")
    assert "bob may not sync contacts: no person joins the list until the permissions allow it" in out
    assert club.json("calendar", "list", "bob")[0]["auto_sync_contacts"] is True


def test_auto_sync_contacts_lists_the_persons_booked_now(club):
    club.ok("calendar", "add", "alice", "Tee")
    first = int(club.ok("person", "add", "--first-name", "Anna", "--last-name", "Ace"))
    second = int(club.ok("person", "add", "--first-name", "Ben", "--last-name", "Birdie"))
    club.ok(
        "appointment",
        "add",
        "Tee",
        "--title",
        "Round",
        "--start",
        "2030-05-01T09:00",
        "--end",
        "2030-05-01T10:00",
        "--person",
        first,
        "--person",
        second,
    )
    club.ok("contact", "add", "alice", "--person", first)
    out = club.ok("calendar", "set", "alice", "Tee", "--auto-sync-contacts")
    assert "1 person(s) booked into Tee joined alice's contact list" in out
    assert sorted(club.rows("SELECT person_id, source FROM contact_subscription")) == [
        (first, "person"),
        (second, "auto"),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["alice", "Pro"], "Error: alice does not sync 'Pro'"),
        (["ghost", "Tee"], "Error: unknown user 'ghost'"),
        (["alice", "Nowhere"], "Error: unknown timetable area 'Nowhere'"),
    ],
)
def test_set_what_is_not_synced(tee, args, message):
    assert tee.refused("calendar", "set", *args, "--no-read-only").startswith(message)
    assert tee.json("calendar", "list", "alice")[0]["read_only"] is True


def test_an_unknown_policy_is_a_usage_error(tee):
    tee.usage_error("calendar", "set", "alice", "Tee", "--policy", "loudest-wins")


def test_set_waits_for_a_running_cycle_and_gives_up_with_one_line(tee, monkeypatch):
    import filelock

    from sync_service.admin import between_cycles

    monkeypatch.setattr(between_cycles, "WAIT_SECONDS", 0.0)
    with filelock.FileLock(str(tee.home / "sync-cycle.lock")):  # a cycle holds it (a lock of its own, as a process's)
        line = tee.refused("calendar", "set", "alice", "Tee", "--no-read-only")
    assert line == "Error: a sync cycle has been running for over 0 s; try again when it has ended"
    assert tee.json("calendar", "list", "alice")[0]["read_only"] is True
