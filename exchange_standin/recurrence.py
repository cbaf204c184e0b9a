"""Recurring calendar items: the occurrences a recurrence pattern gives inside a time window.

Patterns: DailyRecurrence, WeeklyRecurrence, AbsoluteMonthlyRecurrence, RelativeMonthlyRecurrence,
AbsoluteYearlyRecurrence, RelativeYearlyRecurrence; ranges: NoEndRecurrence, EndDateRecurrence,
NumberedRecurrence. Occurrences keep the master's wall-clock time in its start time zone."""

from __future__ import annotations

import calendar
import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from . import ids
from .errors import EwsError
from .itemxml import zone_of
from .namespaces import local, t
from .store import Item, Mailbox
from .timezones import UTC, format_datetime, parse_date

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEK_INDEXES = ("First", "Second", "Third", "Fourth", "Last")
MONTHS = tuple(calendar.month_name)[1:]
INDEX_BITS = 20  # an occurrence id packs the master's serial and the occurrence's index


@dataclass
class Occurrence:
    item: Item
    start: dt.datetime
    end: dt.datetime
    index: int | None = None  # 1-based; None for an item that does not recur
    id: str | None = None

    def rewrite(self, elem: etree._Element) -> None:
        """Turn the master's element into the occurrence's (FindItem with a CalendarView)."""
        if self.index is None:
            return
        for child in elem:
            name = local(child.tag)
            if name == "ItemId":
                child.set("Id", self.id)
            elif name == "Start":
                child.text = format_datetime(self.start)
            elif name == "End":
                child.text = format_datetime(self.end)
            elif name == "CalendarItemType":
                child.text = "Occurrence"


def _text(elem: etree._Element, name: str) -> str | None:
    value = elem.findtext(t(name))
    return value.strip() if value else None


def _days(elem: etree._Element) -> list[int]:
    text = _text(elem, "DaysOfWeek") or ""
    days = []
    for word in text.split():
        if word in DAYS:
            days.append(DAYS.index(word))
        elif word in ("Day",):
            days.extend(range(7))
        elif word == "Weekday":
            days.extend(range(5))
        elif word == "WeekendDay":
            days.extend((5, 6))
    return sorted(set(days))


def _nth_weekday(year: int, month: int, weekdays: list[int], index: str) -> dt.date | None:
    last_day = calendar.monthrange(year, month)[1]
    matches = [
        dt.date(year, month, day) for day in range(1, last_day + 1) if dt.date(year, month, day).weekday() in weekdays
    ]
    if not matches:
        return None
    if index == "Last":
        return matches[-1]
    position = WEEK_INDEXES.index(index) if index in WEEK_INDEXES else 0
    return matches[position] if position < len(matches) else None


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


def _dates(pattern: etree._Element, first: dt.date) -> Iterator[dt.date]:
    """Candidate dates of a pattern, ascending, from `first` on (unbounded)."""
    name = local(pattern.tag)
    interval = int(_text(pattern, "Interval") or "1")
    if interval < 1:
        raise EwsError("ErrorInvalidRecurrence", "The recurrence interval must be positive.")
    if name == "DailyRecurrence":
        day = first
        while True:
            yield day
            day += dt.timedelta(days=interval)
    elif name == "WeeklyRecurrence":
        weekdays = _days(pattern) or [first.weekday()]
        first_day = _text(pattern, "FirstDayOfWeek") or "Sunday"
        week_start_index = DAYS.index(first_day) if first_day in DAYS else 6
        week_start = first - dt.timedelta(days=(first.weekday() - week_start_index) % 7)
        while True:
            for offset in range(7):
                day = week_start + dt.timedelta(days=offset)
                if day.weekday() in weekdays and day >= first:
                    yield day
            week_start += dt.timedelta(weeks=interval)
    elif name in ("AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence"):
        candidate: dt.date | None
        year, month = first.year, first.month
        while True:
            if name == "AbsoluteMonthlyRecurrence":
                day_of_month = int(_text(pattern, "DayOfMonth") or first.day)
                last_day = calendar.monthrange(year, month)[1]
                candidate = dt.date(year, month, min(day_of_month, last_day))
            else:
                candidate = _nth_weekday(year, month, _days(pattern), _text(pattern, "DayOfWeekIndex") or "First")
            if candidate is not None and candidate >= first:
                yield candidate
            year, month = _add_months(year, month, interval)
    elif name in ("AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence"):
        month_name = _text(pattern, "Month")
        month = MONTHS.index(month_name) + 1 if month_name in MONTHS else first.month
        year = first.year
        while True:
            if name == "AbsoluteYearlyRecurrence":
                day_of_month = int(_text(pattern, "DayOfMonth") or first.day)
                candidate = dt.date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))
            else:
                candidate = _nth_weekday(year, month, _days(pattern), _text(pattern, "DayOfWeekIndex") or "First")
            if candidate is not None and candidate >= first:
                yield candidate
            year += 1
    else:
        raise EwsError("ErrorInvalidRecurrence", f"The recurrence pattern {name} is not supported.")


def _pattern_and_range(recurrence: etree._Element) -> tuple[etree._Element, etree._Element]:
    children = [child for child in recurrence if isinstance(child.tag, str)]
    if len(children) != 2:
        raise EwsError("ErrorInvalidRecurrence", "A recurrence needs a pattern and a range.")
    return children[0], children[1]


def _all_occurrences(item: Item) -> Iterator[tuple[int, dt.datetime, dt.datetime]]:
    recurrence = item.props["calendar:Recurrence"]
    pattern, range_elem = _pattern_and_range(recurrence)
    zone = zone_of(item)
    master_start = item.props["calendar:Start"]
    duration = item.props["calendar:End"] - master_start
    local_start = master_start.astimezone(zone)
    first = parse_date(_text(range_elem, "StartDate") or local_start.date().isoformat(), what="StartDate")
    range_name = local(range_elem.tag)
    end_date = parse_date(_text(range_elem, "EndDate"), what="EndDate") if range_name == "EndDateRecurrence" else None
    number = int(_text(range_elem, "NumberOfOccurrences") or "0") if range_name == "NumberedRecurrence" else None
    index = 0
    for day in _dates(pattern, first):
        if end_date is not None and day > end_date:
            return
        if number is not None and index >= number:
            return
        index += 1
        start = dt.datetime.combine(day, local_start.time().replace(tzinfo=None)).replace(tzinfo=zone).astimezone(UTC)
        yield index, start, start + duration
        if index > 100000:
            return


def occurrence_id(mailbox: Mailbox, item: Item, index: int) -> str:
    return mailbox.store.codec.make(ids.OCCURRENCE, mailbox.key, (item.serial << INDEX_BITS) | index)


def occurrences(item: Item, start: dt.datetime, end: dt.datetime, mailbox: Mailbox) -> list[Occurrence]:
    """The occurrences of a calendar item that overlap [start, end)."""
    item_start, item_end = item.props["calendar:Start"], item.props["calendar:End"]
    if item.props.get("calendar:Recurrence") is None:
        overlaps = item_start < end and (item_end > start or (item_end == item_start == start))
        return [Occurrence(item, item_start, item_end)] if overlaps else []
    found = []
    for index, occ_start, occ_end in _all_occurrences(item):
        if occ_start >= end:
            break
        if occ_end > start or occ_start == occ_end == start:
            found.append(Occurrence(item, occ_start, occ_end, index, occurrence_id(mailbox, item, index)))
    return found


def occurrence_item(mailbox: Mailbox, master: Item, index: int) -> Item:
    """An occurrence as an item of its own (read-only; for GetItem)."""
    if master.props.get("calendar:Recurrence") is None or index < 1:
        raise EwsError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of range.")
    for number, start, end in _all_occurrences(master):
        if number == index:
            props = dict(master.props)
            props.pop("calendar:Recurrence", None)
            props["calendar:Start"], props["calendar:End"] = start, end
            props["calendar:OriginalStart"] = start
            occurrence = copy.copy(master)
            occurrence.props = props
            occurrence.id = occurrence_id(mailbox, master, index)
            occurrence.occurrence_of = master.serial
            return occurrence
        if number > index:
            break
    raise EwsError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of range.")
