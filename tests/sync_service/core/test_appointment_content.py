"""The canonical appointment content: its digest (stored in every link, so it must never move),
the gateway's entry to and from it, the fields an update writes, the agreed content as stored."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from protocol.entries import CalendarEntry
from sync_service.core.appointment_content import (
    ALL_UPDATE_FIELDS,
    NO_TITLE,
    AppointmentContent,
    agreed_json,
    fields_to_write,
    from_entry,
    parse_agreed,
    remote_version,
    to_entry,
)

ZONE = ZoneInfo("Europe/Berlin")
ROUND = AppointmentContent("Round", "2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z", False, "Tee 1", "a\nb", True)
ALL_DAY = AppointmentContent(NO_TITLE, "2026-06-01", "2026-06-02", True, "", "", False)


def test_digests_are_the_ones_links_already_hold():
    assert ROUND.digest == "0572ac9e140238a9fe4d3f42d5fdba7d"
    assert ALL_DAY.digest == "fc143a82e2c783f191793fe5616ae70f"
    long = AppointmentContent("Ä" * 300, "2026-06-01T07:00:00Z", "2026-06-01T07:00:00Z", False, "x" * 260, "", False)
    assert long.digest == "2ffba4c96f23638ed1dc2c156e3d90cd"


def test_the_digest_is_of_the_text_as_exchange_holds_it():
    long = AppointmentContent("T" * 300, ROUND.start, ROUND.end, False, "L" * 300, "", False)
    held = AppointmentContent("T" * 255, ROUND.start, ROUND.end, False, "L" * 255, "", False)
    assert long.digest == held.digest and long != held


def test_start_instant():
    assert ROUND.start_instant == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.timezone.utc)
    assert ALL_DAY.start_instant == dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


def test_entry_round_trip():
    entry = to_entry(ROUND, ZONE, "ext-1", 15, "Lessons")
    assert entry.timezone == "Europe/Berlin" and entry.categories == ("Lessons",)
    assert entry.written == ROUND.digest and entry.external_id == "ext-1"
    assert from_entry(entry) == ROUND
    assert to_entry(ROUND, ZONE, "ext-1", None).categories == ()


def test_from_entry_cleans_text_and_names_the_untitled():
    entry = CalendarEntry(subject="  ", start="2026-06-01", end="2026-06-01", all_day=True, body="x\r\ny \n")
    content = from_entry(entry)
    assert content.title == NO_TITLE and content.text == "x\ny" and content.location == "" and not content.private


def test_remote_version():
    entry = dataclasses.replace(
        to_entry(ROUND, ZONE, "ext-1", 15),
        id="AAMk1",
        change_key="ck1",
        last_modified="2026-06-01T10:00:00Z",
        recurring=True,
    )
    version = remote_version(entry)
    assert (version.key, version.change_key, version.digest) == ("AAMk1", "ck1", ROUND.digest)
    assert version.recurring and version.private and version.title == "Round"
    assert version.modified == dt.datetime(2026, 6, 1, 10, tzinfo=dt.timezone.utc)
    assert version.start == ROUND.start_instant
    assert remote_version(dataclasses.replace(entry, last_modified=None)).modified is None


def test_fields_to_write():
    assert fields_to_write(None, ROUND) == list(ALL_UPDATE_FIELDS)
    moved = AppointmentContent("Round", "2026-10-25T02:30:00Z", ROUND.end, False, "Tee 1", "a\nb", True)
    assert fields_to_write(ROUND, moved) == ["start", "end", "all_day", "timezone", "written"]
    renamed = AppointmentContent("Lesson", ROUND.start, ROUND.end, False, "Tee 2", "a\nb", True)
    assert fields_to_write(ROUND, renamed) == ["subject", "location", "written"]
    assert fields_to_write(ROUND, ROUND) == ["subject", "written"]


def test_agreed_json_round_trip_and_bad_input():
    assert parse_agreed(agreed_json(ROUND)) == ROUND
    assert agreed_json(ALL_DAY) == (
        '{"all_day": true, "end": "2026-06-02", "location": "", "private": false, '
        '"start": "2026-06-01", "text": "", "title": "(no title)"}'
    )
    for bad in (None, "", "not json", '{"title": "x"}', "[1, 2]"):
        assert parse_agreed(bad) is None


def test_the_digest_is_stable_and_covers_every_field():
    """Digests are stored with the links: one worked out differently would make every item look
    changed. These are the values the first digest (of `asdict`) gave; and no field is left out."""
    import dataclasses

    from sync_service.core.appointment_content import AppointmentContent

    timed = AppointmentContent(
        "Tee – Loch 7", "2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z", False, "Platz", "Text\nmehr", True
    )
    long_all_day = AppointmentContent("x" * 300, "2026-06-01", "2026-06-02", True, "", "", False)
    assert (timed.digest, long_all_day.digest) == (
        "9d0813f534d41eee397369a5a1d5c4d5",
        "01de3ab245364e766ee6ee517122448b",
    )
    for field in dataclasses.fields(AppointmentContent):
        other = getattr(timed, field.name)
        changed = dataclasses.replace(timed, **{field.name: (not other) if isinstance(other, bool) else other + "1"})
        assert changed.digest != timed.digest, field.name
