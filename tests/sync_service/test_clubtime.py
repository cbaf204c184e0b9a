"""Club wall time around the daylight saving changes of 2026 in Berlin (29 March, 25 October)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sync_service.clubtime import (
    ClubTimeError,
    all_day_span,
    exists_locally,
    is_ambiguous,
    iso_with_offset,
    parse_day,
    parse_last_day,
    parse_moment,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("text", ["2026-03-29T02:00", "2026-03-29T02:30", "2026-03-29T02:59:59"])
def test_spring_gap_is_refused(text):
    with pytest.raises(ClubTimeError, match="does not exist in Europe/Berlin"):
        parse_moment(text, BERLIN)


@pytest.mark.parametrize("text, expected", [("2026-03-29T01:59", "+01:00"), ("2026-03-29T03:00", "+02:00")])
def test_around_the_spring_gap(text, expected):
    moment = parse_moment(text, BERLIN)
    assert iso_with_offset(moment, BERLIN).endswith(expected)


def test_autumn_repeated_hour_is_its_first_occurrence():
    moment = parse_moment("2026-10-25T02:30", BERLIN)
    assert is_ambiguous(moment, BERLIN)
    assert iso_with_offset(moment, BERLIN) == "2026-10-25T02:30:00+02:00"
    assert iso_with_offset(parse_moment("2026-10-25T03:00", BERLIN), BERLIN) == "2026-10-25T03:00:00+01:00"
    assert iso_with_offset(parse_moment("2026-10-25T01:59", BERLIN), BERLIN) == "2026-10-25T01:59:00+02:00"


@pytest.mark.parametrize(
    "text, wall",
    [
        ("2026-06-01T07:30Z", datetime(2026, 6, 1, 9, 30)),
        ("2026-06-01T09:30+02:00", datetime(2026, 6, 1, 9, 30)),
        ("2026-01-15T09:30+00:00", datetime(2026, 1, 15, 10, 30)),
        ("2026-03-29T01:30Z", datetime(2026, 3, 29, 3, 30)),  # an instant inside the gap's hour, in UTC
        ("2026-06-01 09:30:45.123", datetime(2026, 6, 1, 9, 30, 45)),
    ],
)
def test_offsets_become_club_wall_time(text, wall):
    assert parse_moment(text, BERLIN) == wall


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T10:00", "2026-06-01", ""])
def test_unreadable(text):
    with pytest.raises(ClubTimeError):
        parse_moment(text, BERLIN)


def test_other_zones():
    assert parse_moment("2026-03-29T02:30", ZoneInfo("UTC")) == datetime(2026, 3, 29, 2, 30)
    assert not exists_locally(datetime(2026, 3, 8, 2, 30), ZoneInfo("America/New_York"))


def test_days_and_all_day_spans():
    assert parse_day("2026-12-24") == date(2026, 12, 24)
    assert parse_day("2026-12-24T10:00") == date(2026, 12, 24)
    with pytest.raises(ClubTimeError):
        parse_day("24.12.2026")
    assert all_day_span(date(2026, 12, 24), date(2026, 12, 26)) == (datetime(2026, 12, 24), datetime(2026, 12, 27))
    # the day clocks change is still one all-day entry, midnight to midnight
    assert all_day_span(date(2026, 3, 29), date(2026, 3, 29)) == (datetime(2026, 3, 29), datetime(2026, 3, 30))


@pytest.mark.parametrize(
    "end, last",
    [
        ("2026-06-01", date(2026, 6, 1)),  # a date is the last day
        ("2026-06-03", date(2026, 6, 3)),
        ("2026-06-02T00:00", date(2026, 6, 1)),  # midnight is an exclusive end
        ("2026-06-02T00:00:00", date(2026, 6, 1)),
        ("2026-06-01T00:00", date(2026, 6, 1)),  # midnight of the first day: still that one day
        ("2026-06-02T12:00", date(2026, 6, 2)),  # in the day
    ],
)
def test_last_day_of_an_all_day_entry(end, last):
    assert parse_last_day(end, date(2026, 6, 1)) == last
