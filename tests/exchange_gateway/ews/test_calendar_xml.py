"""calendar_xml writes a new calendar item as exchangelib's own CalendarItem.to_xml does: the
same elements, in the same order, with the same texts and attributes, for every server version it
serves, and it refuses what exchangelib refuses, with exchangelib's errors."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from exchangelib import CalendarItem, EWSTimeZone
from exchangelib.util import xml_to_str
from exchangelib.version import (
    EXCHANGE_2007_SP1,
    EXCHANGE_2010,
    EXCHANGE_2010_SP2,
    EXCHANGE_2013,
    EXCHANGE_2013_SP1,
    EXCHANGE_2016,
    EXCHANGE_2019,
    EXCHANGE_O365,
    Version,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_gateway.ews import calendar_xml, convert
from protocol.entries import CalendarEntry

convert.register_external_id()

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
SERVED = (
    EXCHANGE_2010,
    EXCHANGE_2010_SP2,
    EXCHANGE_2013,
    EXCHANGE_2013_SP1,
    EXCHANGE_2016,
    EXCHANGE_2019,
    EXCHANGE_O365,
)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")


def exchangelibs_xml(values: dict[str, object], version: Version) -> str:
    """What exchangelib writes for the values (an item of an account of that version)."""
    item = CalendarItem(**values)
    account = types.SimpleNamespace(version=version, default_timezone=EWSTimeZone("UTC"))
    object.__setattr__(item, "account", account)  # the only part of an Account that to_xml reads
    return xml_to_str(item.to_xml(version=version))


def ours(values: dict[str, object], version: Version) -> str:
    writer = calendar_xml.writer_for(version, frozenset(values))
    assert writer is not None
    return xml_to_str(writer.element(values))


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
day = st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31))
instant = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2060, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0)
)


@st.composite
def entries(draw: st.DrawFn) -> CalendarEntry:
    all_day = draw(st.booleans())
    if all_day:
        first = draw(day)
        start, end = first.isoformat(), (first + dt.timedelta(days=draw(st.integers(0, 9)))).isoformat()
    else:
        begin = draw(instant)
        finish = begin + dt.timedelta(minutes=draw(st.integers(0, 3000)))
        start, end = begin.strftime("%Y-%m-%dT%H:%M:%SZ"), finish.strftime("%Y-%m-%dT%H:%M:%SZ")
    return CalendarEntry(
        subject=draw(text),
        start=start,
        end=end,
        all_day=all_day,
        body=draw(text),
        location=draw(text),
        timezone=draw(st.sampled_from(ZONES)),
        private=draw(st.booleans()),
        reminder_minutes=draw(st.none() | st.integers(0, 10_000)),
        categories=tuple(draw(st.lists(text.filter(bool), max_size=3))),
        external_id=draw(st.none() | text),
        written=draw(st.none() | text),
    )


@settings(max_examples=300, deadline=None)
@given(entry=entries(), build=st.sampled_from(SERVED))
def test_an_item_is_written_as_exchangelib_writes_it(entry: CalendarEntry, build: object) -> None:
    values = convert.calendar_values(entry, NOW)
    version = Version(build=build)
    assert ours(values, version) == exchangelibs_xml(values, version)


def test_an_example_item_holds_every_field_in_exchanges_order() -> None:
    entry = CalendarEntry(
        subject="Tee <time> & more\x01",
        start="2027-03-27T17:00:00Z",
        end="2027-03-27T18:30:00Z",
        body="line 1\nline 2",
        location="Course 1",
        timezone="Europe/Berlin",
        private=True,
        reminder_minutes=15,
        categories=("Tee times", "Juniors"),
        external_id="pccaddie:1:2",
        written="digest",
    )
    written = ours(convert.calendar_values(entry, NOW), Version(build=EXCHANGE_2016))
    tags = [part.split(">")[0].split(" ")[0] for part in written.split("<t:")[1:]]
    assert tags == [
        "CalendarItem",
        "Subject",
        "Sensitivity",
        "Body",
        "Categories",
        "String",
        "String",
        "Importance",
        "ReminderIsSet",
        "ReminderMinutesBeforeStart",
        "ExtendedProperty",
        "ExtendedFieldURI",
        "Value",
        "ExtendedProperty",
        "ExtendedFieldURI",
        "Value",
        "Start",
        "End",
        "IsAllDayEvent",
        "LegacyFreeBusyStatus",
        "Location",
        "StartTimeZone",
        "EndTimeZone",
    ]
    assert "<t:Subject>Tee &lt;time&gt; &amp; more?</t:Subject>" in written  # the control character as exchangelib: ?
    assert "<t:Start>2027-03-27T18:00:00+01:00</t:Start>" in written
    assert '<t:StartTimeZone Id="W. Europe Standard Time"/>' in written


def test_an_all_day_item_runs_from_midnight_to_the_midnight_after_its_last_day() -> None:
    entry = CalendarEntry(
        subject="Club trip", start="2027-03-27", end="2027-03-28", all_day=True, timezone="Europe/Berlin"
    )
    written = ours(convert.calendar_values(entry, NOW), Version(build=EXCHANGE_2016))
    assert "<t:Start>2027-03-27T00:00:00+01:00</t:Start>" in written
    assert "<t:End>2027-03-29T00:00:00+02:00</t:End>" in written  # the clocks went forward on the 28th
    assert "<t:IsAllDayEvent>1</t:IsAllDayEvent>" in written


def test_an_old_server_keeps_exchangelibs_own_writing() -> None:
    values = convert.calendar_values(
        CalendarEntry(subject="x", start="2027-01-01T10:00:00Z", end="2027-01-01T11:00:00Z")
    )
    assert calendar_xml.writer_for(Version(build=EXCHANGE_2007_SP1), frozenset(values)) is None
    assert calendar_xml.writer_for(None, frozenset(values)) is None


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"end": "start"}, ValueError),  # an end before the start
        ({"sensitivity": "Secret"}, ValueError),  # not one of Exchange's choices
        ({"reminder_minutes_before_start": "15"}, TypeError),
        ({"subject": "x" * 256}, ValueError),  # longer than Exchange takes
    ],
)
def test_what_exchangelib_refuses_is_refused_with_its_error(changes: dict[str, object], error: type) -> None:
    values = convert.calendar_values(
        CalendarEntry(subject="x", start="2027-01-01T10:00:00Z", end="2027-01-01T11:00:00Z", timezone="Europe/Berlin"),
        NOW,
    )
    if changes.get("end") == "start":
        changes = {"start": values["end"], "end": values["start"]}
    values.update(changes)
    version = Version(build=EXCHANGE_2016)
    writer = calendar_xml.writer_for(version, frozenset(values))
    assert writer is not None
    with pytest.raises(error) as ours_refused:
        writer.element(values)
    with pytest.raises(error) as theirs_refused:
        exchangelibs_xml(values, version)
    assert str(ours_refused.value) == str(theirs_refused.value)
