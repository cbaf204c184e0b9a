"""Entries to Graph's JSON and back (no HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest

from exchange_gateway.errors import GatewayError
from exchange_gateway.graph import convert
from protocol.entries import CalendarEntry, ContactEntry

NOW = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
ENTRY = CalendarEntry(
    subject="Lesson",
    start="2026-06-01T07:30:00Z",
    end="2026-06-01T08:30:00Z",
    body="Bring clubs",
    location="Range",
    timezone="Europe/Berlin",
    reminder_minutes=15,
    categories=("Lessons",),
    external_id="pccaddie:1:1",
    written="digest",
)


def test_the_extended_properties_are_the_ews_backends_named_properties():
    assert convert.EXTERNAL_ID_PROPERTY == "String {6f0c8a52-3d1e-4b7a-9c55-2e8d41f7b3a9} Name PcCaddieSyncId"
    assert convert.WRITTEN_PROPERTY == "String {6f0c8a52-3d1e-4b7a-9c55-2e8d41f7b3a9} Name PcCaddieSyncWritten"


def test_an_event_is_written_in_its_zone_with_our_properties():
    body = convert.event_body(ENTRY, NOW, "tx-1")
    assert body["start"] == {"dateTime": "2026-06-01T09:30:00", "timeZone": "Europe/Berlin"}
    assert body["end"] == {"dateTime": "2026-06-01T10:30:00", "timeZone": "Europe/Berlin"}
    assert body["body"] == {"contentType": "text", "content": "Bring clubs"}
    assert (body["isReminderOn"], body["reminderMinutesBeforeStart"]) == (True, 15)
    assert body["transactionId"] == "tx-1" and body["isAllDay"] is False and body["sensitivity"] == "normal"
    assert body["singleValueExtendedProperties"] == [
        {"id": convert.EXTERNAL_ID_PROPERTY, "value": "pccaddie:1:1"},
        {"id": convert.WRITTEN_PROPERTY, "value": "digest"},
    ]


def test_an_appointment_of_the_past_gets_no_reminder():
    body = convert.event_body(ENTRY, dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc))
    assert (body["isReminderOn"], body["reminderMinutesBeforeStart"]) == (False, 0)


def test_an_all_day_event_ends_at_midnight_after_its_last_day():
    entry = CalendarEntry("Club trip", "2026-06-01", "2026-06-03", all_day=True, timezone="Europe/Berlin")
    times = convert.event_times(entry)
    assert times == {
        "isAllDay": True,
        "start": {"dateTime": "2026-06-01T00:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-06-04T00:00:00", "timeZone": "Europe/Berlin"},
    }


def test_an_unknown_zone_is_invalid():
    with pytest.raises(GatewayError) as refused:
        convert.event_body(CalendarEntry("x", ENTRY.start, ENTRY.end, timezone="Mars/Olympus"))
    assert refused.value.code == "invalid"


def graph_event(**overrides: object) -> dict:
    return {
        "id": "AAMk-1",
        "changeKey": "CK1",
        "subject": "Lesson",
        "body": {"contentType": "text", "content": "Line 1\r\nLine 2"},
        "start": {"dateTime": "2026-06-01T07:30:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-06-01T08:30:00.0000000", "timeZone": "UTC"},
        "isAllDay": False,
        "originalStartTimeZone": "W. Europe Standard Time",
        "location": {"displayName": "Range"},
        "sensitivity": "private",
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 15,
        "categories": ["Lessons"],
        "type": "singleInstance",
        "lastModifiedDateTime": "2026-05-01T10:00:00Z",
        "singleValueExtendedProperties": [
            {"id": convert.EXTERNAL_ID_PROPERTY.lower(), "value": "pccaddie:1:1"},
            {"id": convert.WRITTEN_PROPERTY, "value": "digest"},
        ],
        **overrides,
    }


def test_an_event_reads_as_its_entry():
    entry = convert.calendar_entry(graph_event())
    assert entry == CalendarEntry(
        subject="Lesson",
        start="2026-06-01T07:30:00Z",
        end="2026-06-01T08:30:00Z",
        body="Line 1\nLine 2",
        location="Range",
        timezone="Europe/Berlin",
        private=True,
        reminder_minutes=15,
        categories=("Lessons",),
        external_id="pccaddie:1:1",
        written="digest",
        id="AAMk-1",
        change_key="CK1",
        last_modified="2026-05-01T10:00:00Z",
    )


def with_native_body(property_id: str, value: str) -> dict:
    ours = graph_event()["singleValueExtendedProperties"]
    return graph_event(singleValueExtendedProperties=[*ours, {"id": property_id, "value": value}])


def test_the_native_body_is_read_with_our_properties():
    assert convert.EXPAND_OURS == (
        f"singleValueExtendedProperties($filter=id eq '{convert.EXTERNAL_ID_PROPERTY}'"
        f" or id eq '{convert.WRITTEN_PROPERTY}' or id eq 'Integer 0x1016')"
    )


@pytest.mark.parametrize(("native", "formatted"), [("1", False), ("2", True), ("3", True), ("4", True), ("0", False)])
def test_a_body_read_as_text_is_formatted_when_the_store_keeps_it_so(native: str, formatted: bool):
    entry = convert.calendar_entry(with_native_body(convert.NATIVE_BODY_PROPERTY, native))
    assert (entry.body, entry.body_html) == ("Line 1\nLine 2", formatted)
    assert entry.external_id == "pccaddie:1:1"  # the native body is not taken for one of ours


@pytest.mark.parametrize("property_id", ["Integer 0x1016", "integer 0x01016", "Integer 0x10160003", " INTEGER 0X1016 "])
def test_the_native_bodys_id_is_read_in_any_spelling_graph_gives(property_id: str):
    assert convert.calendar_entry(with_native_body(property_id, "3")).body_html is True


def test_without_the_native_body_the_content_type_tells():
    assert convert.calendar_entry(graph_event()).body_html is False
    html = graph_event(body={"contentType": "html", "content": "<p>x</p>"})
    assert convert.calendar_entry(html).body_html is True
    assert convert.calendar_entry(with_native_body("Integer 0x1017", "3")).body_html is False  # another tag
    assert convert.calendar_entry(with_native_body(convert.NATIVE_BODY_PROPERTY, "")).body_html is False


def test_an_all_day_event_reads_as_its_days_in_its_zone():
    event = graph_event(
        isAllDay=True,
        start={"dateTime": "2026-05-31T22:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-06-03T22:00:00.0000000", "timeZone": "UTC"},
    )
    entry = convert.calendar_entry(event)
    assert (entry.all_day, entry.start, entry.end) == (True, "2026-06-01", "2026-06-03")


def test_a_series_and_an_unknown_zone():
    entry = convert.calendar_entry(graph_event(type="seriesMaster", originalStartTimeZone="tzone://Microsoft/Custom"))
    assert entry.recurring and entry.timezone == "UTC"
    assert not convert.calendar_entry(graph_event(isReminderOn=False)).reminder_minutes


@pytest.mark.parametrize(
    "graph_type, series_type", [("singleInstance", "single"), ("occurrence", "occurrence"), ("exception", "exception")]
)
def test_an_events_place_in_its_series(graph_type: str, series_type: str):
    """An occurrence or exception names its master and its original start (a UTC instant, whatever
    precision or offset Graph gives it); a single event or a master has neither."""
    event = graph_event(type=graph_type, seriesMasterId="MASTER", originalStart="2026-06-01T09:30:00.0000000+02:00")
    entry = convert.calendar_entry(event)
    in_series = series_type != "single"
    assert (entry.series_type, entry.recurring) == (series_type, in_series)
    assert (entry.series_id, entry.original_start) == (
        ("MASTER", "2026-06-01T07:30:00Z") if in_series else (None, None)
    )
    master = convert.calendar_entry(graph_event(type="seriesMaster"))
    assert (master.series_type, master.series_id, master.original_start) == ("master", None, None)


def test_an_event_without_times_cannot_be_read():
    with pytest.raises(ValueError):
        convert.calendar_entry(graph_event(start={"timeZone": "UTC"}))


def test_an_update_writes_the_named_fields_only():
    assert convert.event_patch(ENTRY, {"subject"}, NOW) == {"subject": "Lesson"}
    moved = convert.event_patch(ENTRY, {"start", "end"}, NOW)
    assert set(moved) == {"isAllDay", "start", "end", "isReminderOn", "reminderMinutesBeforeStart"}
    assert convert.event_patch(ENTRY, {"written"}, NOW) == {
        "singleValueExtendedProperties": [{"id": convert.WRITTEN_PROPERTY, "value": "digest"}]
    }


def test_the_external_id_filter():
    assert convert.external_id_filter("o'brien") == (
        f"singleValueExtendedProperties/any(ep: ep/id eq '{convert.EXTERNAL_ID_PROPERTY}' and ep/value eq 'o''brien')"
    )


CONTACT = ContactEntry(
    given_name="Max",
    surname="Muster",
    street="Am Golfplatz 1",
    postal_code="50667",
    city="Köln",
    country="Deutschland",
    phone_home="0221 1",
    phone_mobile="+49 170 1",
    emails=("max@example.com",),
    external_id="pccaddie-person:1",
)


def test_a_new_contact():
    body = convert.contact_patch(
        CONTACT,
        set(convert.ADDRESS_PARTS)
        | {"given_name", "surname", "display_name", "phone_home", "phone_mobile", "emails", "external_id"},
        None,
    )
    assert body["displayName"] == "Max Muster" and body["fileAs"] == "Muster, Max"
    assert body["homeAddress"] == {
        "street": "Am Golfplatz 1",
        "postalCode": "50667",
        "city": "Köln",
        "countryOrRegion": "Deutschland",
    }
    assert body["homePhones"] == ["0221 1"] and body["mobilePhone"] == "+49 170 1"
    assert body["emailAddresses"] == [{"address": "max@example.com", "name": "max@example.com"}]
    assert body["singleValueExtendedProperties"] == [{"id": convert.EXTERNAL_ID_PROPERTY, "value": "pccaddie-person:1"}]


def test_an_update_keeps_what_is_the_users_own():
    current = {
        "givenName": "Max",
        "surname": "Muster",
        "displayName": "Dr. Max Muster",
        "fileAs": "Golf: Muster",
        "homeAddress": {"street": "Alt 2", "state": "NRW"},
        "homePhones": ["0221 old", "0221 second"],
    }
    renamed = ContactEntry(given_name="Moritz", surname="Muster", street="Neu 3", phone_home="0221 new")
    patch = convert.contact_patch(renamed, {"given_name", "street", "city", "phone_home"}, current)
    assert patch["givenName"] == "Moritz" and "displayName" not in patch and "fileAs" not in patch
    assert patch["homeAddress"] == {"street": "Neu 3", "state": "NRW"}
    assert patch["homePhones"] == ["0221 new", "0221 second"]


def test_a_contact_reads_as_its_entry():
    data = {
        "id": "C-1",
        "changeKey": "CK",
        "givenName": "Max",
        "surname": "Muster",
        "displayName": "Max Muster",
        "homeAddress": {"street": "Am Golfplatz 1", "city": "Köln", "state": "NRW"},
        "homePhones": ["0221 1", "0221 2"],
        "businessPhones": [],
        "mobilePhone": None,
        "emailAddresses": [{"address": "a@example.com"}, {"name": "no address"}],
        "singleValueExtendedProperties": [{"id": convert.EXTERNAL_ID_PROPERTY, "value": "pccaddie-person:1"}],
    }
    entry = convert.contact_entry(data)
    assert entry == ContactEntry(
        given_name="Max",
        surname="Muster",
        display_name="Max Muster",
        street="Am Golfplatz 1",
        city="Köln",
        phone_home="0221 1",
        emails=("a@example.com",),
        external_id="pccaddie-person:1",
        id="C-1",
        change_key="CK",
    )
    with pytest.raises(GatewayError) as refused:
        convert.contact_entry({**data, "@odata.type": "#microsoft.graph.contactGroup"})
    assert refused.value.code == "unsupported"
