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
from typing import Any

from lxml import etree

from . import ids
from .errors import EwsError
from .extended import ExtendedValue
from .itemxml import TimeZoneValue, zone_of
from .namespaces import local, t
from .store import Item, Mailbox, ModifiedOccurrence
from .timezones import UTC, parse_date

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEK_INDEXES = ("First", "Second", "Third", "Fourth", "Last")
MONTHS = tuple(calendar.month_name)[1:]
INDEX_BITS = 20  # an occurrence id packs the master's serial and the occurrence's index


@dataclass
class Occurrence:
    """One entry of a calendar view: a single item (index None) or an occurrence of a series, with
    `own` the occurrence as an item of its own (an exception's properties, its id and change key)."""

    item: Item  # the item, or the series' master
    start: dt.datetime
    end: dt.datetime
    index: int | None = None  # 1-based; None for an item that does not recur
    id: str | None = None
    own: Item | None = None

    @property
    def entry(self) -> Item:
        """What the view shows: the item itself, or the occurrence."""
        return self.own if self.own is not None else self.item


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


def _original(master: Item, index: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The start and end the series gives occurrence `index` (deleted or not), None past its end."""
    if master.props.get("calendar:Recurrence") is None or index < 1:
        return None
    for number, start, end in _all_occurrences(master):
        if number == index:
            return start, end
        if number > index:
            break
    return None


def series_props(master: Item, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """The properties an occurrence that starts at `start` has from its series."""
    props = dict(master.props)
    props.pop("calendar:Recurrence", None)
    props["calendar:Start"], props["calendar:End"] = start, end
    props["calendar:OriginalStart"] = start
    props["calendar:RecurrenceId"] = start
    if props.get("item:ReminderIsSet"):
        props["item:ReminderDueBy"] = start
    return props


def _occurrence(mailbox: Mailbox, master: Item, index: int, start: dt.datetime, end: dt.datetime) -> Item:
    props = series_props(master, start, end)
    change = master.exceptions.get(index)
    occurrence = copy.copy(master)
    occurrence.exceptions, occurrence.deleted_occurrences = {}, set()
    if change is not None:
        for uri, value in change.props.items():
            if value is None:
                props.pop(uri, None)
            else:
                props[uri] = value
        if change.extended is not None:
            occurrence.extended = dict(change.extended)
        occurrence.change_number, occurrence.changekey = change.change_number, change.changekey
    elif master.series_change is not None:
        occurrence.change_number = master.series_change
    occurrence.series_change = None
    occurrence.props = props
    occurrence.id = occurrence_id(mailbox, master, index)
    occurrence.occurrence_of = master.serial
    occurrence.occurrence_index = index
    occurrence.is_exception = change is not None
    return occurrence


def occurrences(item: Item, start: dt.datetime, end: dt.datetime, mailbox: Mailbox) -> list[Occurrence]:
    """The occurrences of a calendar item in the view [start, end]: as Exchange's CalendarView, an
    item that starts before the view's end and ends at its start or later (so one that ends
    exactly where the view begins is in it). Deleted occurrences are left out; an exception is
    where it was moved to."""
    item_start, item_end = item.props["calendar:Start"], item.props["calendar:End"]
    if item.props.get("calendar:Recurrence") is None:
        return [Occurrence(item, item_start, item_end)] if _in_view(item_start, item_end, start, end) else []
    found = []
    latest_exception = max(
        (
            change.props.get("calendar:Start") or dt.datetime.min.replace(tzinfo=UTC)
            for change in item.exceptions.values()
        ),
        default=None,
    )
    for index, occ_start, occ_end in _all_occurrences(item):
        if occ_start >= end and (latest_exception is None or occ_start > latest_exception):
            break
        if index in item.deleted_occurrences:
            continue
        own = _occurrence(mailbox, item, index, occ_start, occ_end)
        own_start, own_end = own.props["calendar:Start"], own.props["calendar:End"]
        if _in_view(own_start, own_end, start, end):
            found.append(Occurrence(item, own_start, own_end, index, own.id, own))
    return found


def _in_view(item_start: dt.datetime, item_end: dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
    return item_start < end and item_end >= start or item_start == item_end == start


def occurrence_item(mailbox: Mailbox, master: Item, index: int) -> Item:
    """An occurrence as an item of its own (GetItem, UpdateItem, DeleteItem of one occurrence)."""
    original = _original(master, index)
    if original is None:
        raise EwsError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of range.")
    if index in master.deleted_occurrences:
        raise EwsError(
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence", "The occurrence was deleted from the recurrence."
        )
    return _occurrence(mailbox, master, index, *original)


def change_occurrence(
    mailbox: Mailbox, master: Item, occurrence: Item, props: dict[str, Any], extended: dict[tuple, ExtendedValue]
) -> Item:
    """Occurrence `occurrence` of `master` now has `props` and `extended`: it becomes (or stays) an
    exception, kept in the master as what differs from the series. The master changes too (a new
    change key, reported by SyncFolderItems), as in Exchange. Returns the occurrence as it is now."""
    index = occurrence.occurrence_index
    assert index is not None
    original = _original(master, index)
    assert original is not None
    base = series_props(master, *original)
    differs: dict[str, Any] = {
        uri: value for uri, value in props.items() if uri not in base or not _same(base[uri], value)
    }
    differs.update({uri: None for uri in base if uri not in props})
    for uri in ("calendar:OriginalStart", "calendar:RecurrenceId"):
        differs.pop(uri, None)
    _check_not_crossing(mailbox, master, index, props["calendar:Start"])
    _touch_for_occurrence(mailbox, master)
    master.exceptions[index] = ModifiedOccurrence(
        differs,
        None if extended == master.extended else dict(extended),
        master.change_number,
        master.changekey,
    )
    return occurrence_item(mailbox, master, index)


def _check_not_crossing(mailbox: Mailbox, master: Item, index: int, start: dt.datetime) -> None:
    """Exchange refuses to move an occurrence onto or past the start of its neighbours (the
    nearest occurrences before and after it that are not deleted, where they are now)."""
    before = after = None
    for number, original_start, original_end in _all_occurrences(master):
        if number == index or number in master.deleted_occurrences:
            continue
        current = _occurrence(mailbox, master, number, original_start, original_end).props["calendar:Start"]
        if number < index:
            before = current
        else:
            after = current
            break
    if (before is not None and start <= before) or (after is not None and start >= after):
        raise EwsError(
            "ErrorOccurrenceCrossingBoundary",
            "The modified occurrence is crossing or overlapping an adjacent occurrence.",
        )


def delete_occurrence(mailbox: Mailbox, master: Item, occurrence: Item) -> None:
    """Occurrence `occurrence` of `master` is deleted: the master keeps it as a deleted occurrence."""
    index = occurrence.occurrence_index
    assert index is not None
    master.exceptions.pop(index, None)
    master.deleted_occurrences.add(index)
    _touch_for_occurrence(mailbox, master)


def _touch_for_occurrence(mailbox: Mailbox, master: Item) -> None:
    """A change of one occurrence is a change of the master (SyncFolderItems reports it, as
    Exchange does) but not of the series' other occurrences."""
    series = master.series_change if master.series_change is not None else master.change_number
    mailbox.touch_item(master)
    master.series_change = series


# what a change of the master's pattern or time does to its exceptions and deleted occurrences
SERIES_SHAPE = (
    "calendar:Recurrence",
    "calendar:Start",
    "calendar:End",
    "calendar:StartTimeZone",
    "calendar:EndTimeZone",
    "calendar:MeetingTimeZone",
    "calendar:IsAllDayEvent",
)


def master_changed(master: Item, before: dict[str, Any]) -> None:
    """After an update of a master: a new pattern or time of the series removes its exceptions and
    deleted occurrences, as Exchange does (Outlook warns that they are lost); any other change
    (subject, location, body, ...) reaches every occurrence that does not change it itself."""
    if any(_same(before.get(uri), master.props.get(uri)) is False for uri in SERIES_SHAPE):
        master.exceptions.clear()
        master.deleted_occurrences.clear()
    if master.props.get("calendar:Recurrence") is None:
        master.exceptions.clear()
        master.deleted_occurrences.clear()


def _same(a: Any, b: Any) -> bool:
    return bool(_comparable(a) == _comparable(b))


def _comparable(value: Any) -> Any:
    if isinstance(value, etree._Element):
        return _tree(value)
    if isinstance(value, TimeZoneValue):  # the zone the client named, however it wrote it
        return value.zone if value.zone is not None else (value.id, value.name)
    return value


def _tree(elem: etree._Element) -> tuple:
    """An element's names and texts, whatever prefixes and white space the client wrote it with."""
    children = tuple(_tree(child) for child in elem if isinstance(child.tag, str))
    return local(elem.tag), (elem.text or "").strip(), children


# the master's own view of its series --------------------------------------------------------------


def first_and_last(mailbox: Mailbox, master: Item) -> tuple[Item | None, Item | None]:
    """The series' first and last occurrence that are not deleted (the last: None for a series
    without end)."""
    _pattern, range_elem = _pattern_and_range(master.props["calendar:Recurrence"])
    endless = local(range_elem.tag) == "NoEndRecurrence"
    first = last = None
    for index, start, end in _all_occurrences(master):
        if index in master.deleted_occurrences:
            continue
        if first is None:
            first = _occurrence(mailbox, master, index, start, end)
            if endless:
                break
        last = (index, start, end)
    last_item = None if endless or last is None else _occurrence(mailbox, master, *last)
    return first, last_item


def modified_occurrences(mailbox: Mailbox, master: Item) -> list[Item]:
    found = []
    for index in sorted(master.exceptions):
        original = _original(master, index)
        if original is not None:
            found.append(_occurrence(mailbox, master, index, *original))
    return found


def deleted_starts(master: Item) -> list[dt.datetime]:
    starts = []
    for index in sorted(master.deleted_occurrences):
        original = _original(master, index)
        if original is not None:
            starts.append(original[0])
    return starts


def recurrence_element(item: Item) -> etree._Element:
    """The item's recurrence as Exchange writes it: StartDate and EndDate with the offset of the
    series' time zone (2026-01-05+01:00), whatever form the client sent them in."""
    elem = copy.deepcopy(item.props["calendar:Recurrence"])
    zone = zone_of(item)
    for child in elem.iter(t("StartDate"), t("EndDate")):
        day = parse_date(child.text, what=local(child.tag))
        child.text = day.isoformat() + _offset(zone, day)
    return elem


def _offset(zone: dt.tzinfo, day: dt.date) -> str:
    offset = dt.datetime.combine(day, dt.time(12)).replace(tzinfo=zone).utcoffset() or dt.timedelta(0)
    if not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
