"""The club's local wall time, in its time zone (default Europe/Berlin).

PC CADDIE stores appointment times as local wall time without an offset. A time typed without an
offset is read in the club's zone:
- a time that does not exist (the hour skipped when clocks go forward, last Sunday of March in
  Europe) is refused, naming the gap;
- a time that exists twice (the hour repeated when clocks go back, last Sunday of October) means
  its first occurrence, still in summer time (+02:00 in Berlin), as Python's `fold=0` does; with an
  offset (02:30+01:00) it is the second one.
A time typed with an offset (or `Z`) is converted to the club's wall time. The wall time keeps
which of two equal ones it is in `fold` (Python's), which PC CADDIE stores beside it
(appointment.start_fold, end_fold), so that the second 02:30 of that night stays the second.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo


class ClubTimeError(ValueError):
    """A time that cannot be read, or that does not exist in the club's zone."""


def exists_locally(naive: datetime, zone: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) == naive


def is_ambiguous(naive: datetime, zone: ZoneInfo) -> bool:
    return naive.replace(fold=0, tzinfo=zone).utcoffset() != naive.replace(fold=1, tzinfo=zone).utcoffset()


def parse_moment(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 date-time ('2026-06-01T09:30', '2026-06-01 09:30:00', '2026-06-01T07:30Z',
    '2026-06-01T09:30+02:00') → naive local wall time in `zone`, to the second."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ClubTimeError(f"{text!r} is not a date and time like 2026-06-01T09:30") from None
    if len(cleaned) <= 10:
        raise ClubTimeError(f"{text!r} has no time of day; give one like {cleaned}T09:30")
    moment = moment.replace(microsecond=0)
    if moment.tzinfo is not None:
        return moment.astimezone(zone).replace(tzinfo=None)
    if not exists_locally(moment, zone):
        raise ClubTimeError(
            f"{moment:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks skip that hour "
            "(daylight saving time starts)"
        )
    return moment


def parse_day(text: str) -> date:
    """'2026-06-01', or a date-time whose date is taken."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return date.fromisoformat(cleaned)
        return datetime.fromisoformat(cleaned).date()
    except ValueError:
        raise ClubTimeError(f"{text!r} is not a date like 2026-06-01") from None


def parse_last_day(text: str, first: date) -> date:
    """The last day of an all-day entry from its `--end`: a date is the last day itself; a
    date-time at midnight is an exclusive end (Exchange's and iCalendar's way: 2026-06-02T00:00
    ends a one-day entry on 1 June); any other date-time is in its last day."""
    day = parse_day(text)
    cleaned = text.strip()
    if len(cleaned) > 10:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.time() == datetime.min.time() and day > first:
            return day - timedelta(days=1)
    return day


def aware(naive: datetime, zone: ZoneInfo, fold: int = 0) -> datetime:
    """Local wall time → an aware datetime; in a repeated hour, `fold` 0 is its first occurrence
    and 1 the second."""
    return naive.replace(tzinfo=zone, fold=1 if fold else 0)


def iso_with_offset(naive: datetime, zone: ZoneInfo, fold: int = 0) -> str:
    return aware(naive, zone, fold).isoformat()


def all_day_span(first: date, last: date) -> tuple[datetime, datetime]:
    """An all-day entry from `first` to `last` (inclusive) as local midnights, end exclusive."""
    midnight = datetime.min.time()
    return datetime.combine(first, midnight), datetime.combine(last + timedelta(days=1), midnight)
