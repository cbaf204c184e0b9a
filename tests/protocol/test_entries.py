import subprocess
import sys

import pytest

from protocol.entries import CalendarEntry, Change, ContactEntry, EntryError, ItemRef

TIMED = {
    "subject": "Round",
    "start": "2026-06-01T07:30:00Z",
    "end": "2026-06-01T11:30:00Z",
    "timezone": "Europe/Berlin",
    "reminder_minutes": 15,
    "categories": ["Golf"],
    "external_id": "pcc-1",
}


def test_calendar_round_trip():
    entry = CalendarEntry.from_wire(TIMED)
    assert entry.to_wire() | {} == {**CalendarEntry(**{**TIMED, "categories": ("Golf",)}).to_wire()}
    assert CalendarEntry.from_wire(entry.to_wire()) == entry


def test_all_day_uses_dates_with_an_inclusive_last_day():
    entry = CalendarEntry.from_wire({"subject": "Xmas", "start": "2026-12-24", "end": "2026-12-26", "all_day": True})
    assert (entry.start, entry.end, entry.all_day) == ("2026-12-24", "2026-12-26", True)


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"start": "2026-06-01T07:30:00"}, "has no offset"),
        ({"start": "yesterday"}, "not an ISO 8601 instant"),
        ({"end": "2026-06-01T06:00:00Z"}, "before the start"),
        ({"all_day": True, "start": "2026-12-24", "end": "2026-12-23"}, "before the first day"),
        ({"all_day": True, "start": "2026-12-24T00:00:00Z", "end": "2026-12-24"}, "not a date"),
        ({"reminder_minutes": -5}, "out of range"),
        ({"reminder_minutes": True}, "wrong type"),
        ({"categories": [1]}, "categories must be strings"),
        ({"subject": 5}, "wrong type"),
        ({"private": "yes"}, "wrong type"),
    ],
)
def test_calendar_refusals(change, complaint):
    with pytest.raises(EntryError, match=complaint) as refused:
        CalendarEntry.from_wire({**TIMED, **change})
    assert refused.value.code == "invalid"


def test_contact_round_trip_and_limits():
    wire = {"given_name": "Max", "surname": "Muster", "city": "Köln", "emails": ["a@b.de", "", "c@d.de"]}
    entry = ContactEntry.from_wire(wire)
    assert entry.emails == ("a@b.de", "c@d.de")
    assert ContactEntry.from_wire(entry.to_wire()) == entry
    with pytest.raises(EntryError, match="at most 3"):
        ContactEntry.from_wire({"emails": ["a@b.c"] * 4})
    with pytest.raises(EntryError, match="must be a map"):
        ContactEntry.from_wire(["x"])


def test_refs_and_changes():
    assert ItemRef.from_wire({"id": "AAA", "change_key": "CK"}) == ItemRef("AAA", "CK")
    with pytest.raises(EntryError):
        ItemRef.from_wire({"id": ""})
    assert Change("delete", "AAA", change_key="CK").to_wire() == {
        "type": "delete",
        "id": "AAA",
        "change_key": "CK",
        "item": None,
    }
    assert Change("unsupported", "B", item_type="DistributionList").to_wire()["item_type"] == "DistributionList"


def test_the_entries_import_nothing_that_does_io():
    code = "import sys, protocol.entries; print(sorted({'trio', 'peewee', 'loguru', 'exchangelib'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
