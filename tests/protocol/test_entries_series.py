"""The series fields of a calendar entry and the answer of `exchange.occurrences` (issue 17)."""

import msgpack
import pytest

from protocol.entries import (
    EXCEPTION,
    MASTER,
    OCCURRENCE,
    CalendarEntry,
    EntryError,
    ItemError,
    Occurrences,
)

SINGLE_WIRE = CalendarEntry("Tee", "2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z", id="A1").to_wire()


def occurrence(master="M1", start="2026-06-01T16:00:00Z", kind=OCCURRENCE, **more):
    return CalendarEntry(
        "Training",
        start,
        start.replace("16:", "17:"),
        id=f"{master}/{start}",
        series_type=kind,
        series_id=master,
        original_start=start,
        recurring=True,
        **more,
    )


def test_a_single_items_map_is_what_an_older_peer_knows():
    assert not {"series_type", "series_id", "original_start"} & SINGLE_WIRE.keys()
    assert CalendarEntry.from_wire(SINGLE_WIRE, checked=False).series_type == "single"


def test_an_occurrence_round_trips_with_its_key():
    entry = occurrence(kind=EXCEPTION)
    wire = msgpack.unpackb(msgpack.packb(entry.to_wire()))
    back = CalendarEntry.from_wire(wire, checked=False)
    assert back == entry
    assert back.occurrence_key == ("M1", "2026-06-01T16:00:00Z")


def test_only_occurrences_and_exceptions_have_a_key():
    assert CalendarEntry.from_wire(SINGLE_WIRE).occurrence_key is None
    master = CalendarEntry("Training", "2026-06-01T16:00:00Z", "2026-06-01T17:00:00Z", series_type=MASTER)
    assert master.occurrence_key is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"series_type": "weekly"}, "series_type must be one of"),
        ({"series_type": 1}, "wrong type"),
        ({"original_start": "next monday"}, "original_start"),
        ({"series_id": 7}, "wrong type"),
    ],
)
def test_malformed_series_fields_are_refused(change, message):
    with pytest.raises(EntryError, match=message):
        CalendarEntry.from_wire({**occurrence().to_wire(), **change}, checked=False)


def test_occurrences_round_trip_with_a_series_gone():
    answer = Occurrences(
        {"M1": (occurrence(), occurrence(start="2026-06-08T16:00:00Z")), "M2": ItemError("not_found", "gone")}
    )
    assert Occurrences.from_wire(msgpack.unpackb(msgpack.packb(answer.to_wire()))) == answer


@pytest.mark.parametrize(
    "wire",
    [
        {"M1": {"items": [occurrence(master="M9").to_wire()]}},  # another series' occurrence
        {"M1": {"items": [SINGLE_WIRE]}},  # not an occurrence at all
        {"M1": {}},  # neither items nor error
        {"": {"items": []}},
        ["M1"],
    ],
)
def test_malformed_occurrences_are_refused(wire):
    with pytest.raises(EntryError):
        Occurrences.from_wire(wire)
