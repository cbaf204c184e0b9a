"""PC CADDIE's appointment rows read into the canonical content and written back: wall times
through the club's zone with their folds, all-day entries as their first and last day."""

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sync_service.core.appointment_content import NO_TITLE, AppointmentContent
from sync_service.engine.appointments import from_appointment, local_version, to_local_values

ZONE = ZoneInfo("Europe/Berlin")


def row(**kw):
    values = dict(
        id=7,
        title="Round",
        start=dt.datetime(2026, 6, 1, 9),
        end=dt.datetime(2026, 6, 1, 10),
        start_fold=0,
        end_fold=0,
        all_day=False,
        location="Tee 1",
        text="",
        private=False,
        modified=None,
    )
    return SimpleNamespace(**{**values, **kw})


def test_a_repeated_wall_hour_keeps_its_fold():
    first = from_appointment(row(start=dt.datetime(2026, 10, 25, 2, 30), end=dt.datetime(2026, 10, 25, 2, 45)), ZONE)
    second = from_appointment(
        row(start=dt.datetime(2026, 10, 25, 2, 30), end=dt.datetime(2026, 10, 25, 2, 45), start_fold=1, end_fold=1),
        ZONE,
    )
    assert (first.start, second.start) == ("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z")
    values = to_local_values(second, ZONE)
    assert (values["start"], values["start_fold"]) == (dt.datetime(2026, 10, 25, 2, 30), 1)


def test_the_stored_digest_of_a_row_does_not_move():
    content = from_appointment(
        row(
            title="Round  \r\n",
            start=dt.datetime(2026, 10, 25, 2, 30),
            end=dt.datetime(2026, 10, 25, 2, 45),
            start_fold=1,
            end_fold=1,
            text="a\r\nb  ",
            private=True,
        ),
        ZONE,
    )
    assert content == AppointmentContent(
        "Round", "2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z", False, "Tee 1", "a\nb", True
    )
    assert content.digest == "0572ac9e140238a9fe4d3f42d5fdba7d"


def test_all_day_and_untitled():
    content = from_appointment(
        row(title="", start=dt.datetime(2026, 6, 1), end=dt.datetime(2026, 6, 3), all_day=True, location=None), ZONE
    )
    assert content == AppointmentContent(NO_TITLE, "2026-06-01", "2026-06-02", True, "", "", False)
    values = to_local_values(content, ZONE)
    assert (values["start"], values["end"]) == (dt.datetime(2026, 6, 1), dt.datetime(2026, 6, 3))


def test_an_end_before_its_start_is_the_start():
    content = from_appointment(row(end=dt.datetime(2026, 6, 1, 8)), ZONE)
    assert content.end == content.start == "2026-06-01T07:00:00Z"
    backwards = AppointmentContent("x", "2026-06-01T07:00:00Z", "2026-06-01T06:00:00Z", False, "", "", False)
    values = to_local_values(backwards, ZONE)
    assert values["end"] == values["start"] == dt.datetime(2026, 6, 1, 9)


def test_round_trip_through_the_row():
    content = from_appointment(row(), ZONE)
    assert from_appointment(row(**to_local_values(content, ZONE)), ZONE) == content


def test_local_version():
    version = local_version(row(modified=dt.datetime(2026, 5, 1, 12)), ZONE)
    assert version.key == "7" and version.digest == version.content.digest
    assert version.modified == dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc)
    assert version.start == dt.datetime(2026, 6, 1, 7, tzinfo=dt.timezone.utc)
    assert local_version(row(), ZONE).modified is None
