"""The entries both processes share (protocol/entries.py): what the engine builds is what the
gateway reads, field for field, and what the gateway answers is what the engine reads."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from protocol.entries import CALENDAR_FIELDS, CONTACT_FIELDS, CalendarEntry, ContactEntry, CreateRequest, request_wire
from sync_service.core.appointment_content import (
    ALL_UPDATE_FIELDS,
    ENTRY_FIELDS_OF,
    AppointmentContent,
    from_entry,
    remote_version,
    to_entry,
)
from sync_service.core.contact_content import ENTRY_FIELDS, GROUPS, contact_entry, entry_fields, entry_groups

BERLIN = ZoneInfo("Europe/Berlin")
TIMED = AppointmentContent("Medal", "2027-06-01T07:30:00Z", "2027-06-01T12:00:00Z", False, "Tee 1", "Shotgun", False)
ALL_DAY = AppointmentContent("Club day", "2027-06-05", "2027-06-06", True, "", "", True)


@pytest.mark.parametrize(
    "content, reminder, area",
    [(TIMED, 15, "Tee times"), (TIMED, None, None), (ALL_DAY, None, "Events"), (ALL_DAY, 60, None)],
)
def test_the_engines_calendar_entry_is_read_by_the_gateway_as_sent(content, reminder, area):
    sent = request_wire(to_entry(content, BERLIN, "pccaddie:1:abc", reminder, area))
    read = CalendarEntry.from_wire(sent).to_wire()
    assert {name: read[name] for name in sent} == sent
    assert from_entry(CalendarEntry.from_wire(read)) == content


def test_the_engine_writes_only_fields_the_gateway_lets_it_write():
    assert set(ALL_UPDATE_FIELDS) <= set(CALENDAR_FIELDS)
    assert {name for names in ENTRY_FIELDS_OF.values() for name in names} <= set(CALENDAR_FIELDS)


def test_the_gateways_calendar_entry_is_read_by_the_engine():
    answered = CalendarEntry(
        subject="Medal",
        start="2027-06-01T07:30:00Z",
        end="2027-06-01T12:00:00Z",
        location="Tee 1",
        body="Shotgun",
        id="AAA",
        change_key="CK",
        last_modified="2027-05-01T10:00:00Z",
    ).to_wire()
    version = remote_version(CalendarEntry.from_wire(answered, checked=False))
    assert (version.key, version.change_key, version.content) == ("AAA", "CK", TIMED)


def test_the_engines_contact_entry_is_read_by_the_gateway_as_sent():
    groups = {
        "names": ("Max", "Muster"),
        "address": ("Am Golfplatz 1", "50667", "Köln", "Deutschland"),
        "phone": ("", "+49 221 1", "+49 170 2"),
        "email": ("max@example.com", "m@example.com"),
    }
    assert set(groups) == set(GROUPS)
    made = contact_entry(groups, "pccaddie-person:7")
    sent = CreateRequest(made, ("external_id", *entry_fields(groups))).to_wire()
    read = ContactEntry.from_wire(sent).to_wire()
    assert {name: read[name] for name in sent} == sent
    assert entry_groups(ContactEntry.from_wire(read)) == groups
    assert {name for names in ENTRY_FIELDS.values() for name in names} <= set(CONTACT_FIELDS)
