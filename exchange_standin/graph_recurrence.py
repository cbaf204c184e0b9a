"""Graph's patternedRecurrence and EWS's Recurrence element, both ways: patterns daily, weekly,
absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly; ranges endDate, noEnd, numbered."""

from __future__ import annotations

import calendar
from typing import Any

from lxml import etree

from .graph_errors import GraphError
from .namespaces import local, t
from .timezones import parse_date

PATTERNS = {
    "daily": "DailyRecurrence",
    "weekly": "WeeklyRecurrence",
    "absoluteMonthly": "AbsoluteMonthlyRecurrence",
    "relativeMonthly": "RelativeMonthlyRecurrence",
    "absoluteYearly": "AbsoluteYearlyRecurrence",
    "relativeYearly": "RelativeYearlyRecurrence",
}
RANGES = {"endDate": "EndDateRecurrence", "noEnd": "NoEndRecurrence", "numbered": "NumberedRecurrence"}
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
INDEXES = ("first", "second", "third", "fourth", "last")
MONTHS = tuple(calendar.month_name)[1:]


def _fail(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRecurrence", message)


def to_ews(data: object) -> etree._Element:
    """A Graph recurrence object as a t:Recurrence element."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("pattern"), dict)
        or not isinstance(data.get("range"), dict)
    ):
        raise _fail("A recurrence needs a pattern and a range.")
    pattern, range_ = data["pattern"], data["range"]
    kind = pattern.get("type")
    if kind not in PATTERNS:
        raise _fail(f"The recurrence pattern type {kind!r} is not valid.")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise _fail("The recurrence interval must be a positive integer.")
    root = etree.Element(t("Recurrence"))
    elem = etree.SubElement(root, t(PATTERNS[kind]))
    if kind.startswith("relative"):
        _sub(elem, "DaysOfWeek", _days(pattern))
        index = str(pattern.get("index") or "first")
        if index not in INDEXES:
            raise _fail(f"The recurrence index {index!r} is not valid.")
        _sub(elem, "DayOfWeekIndex", index.capitalize())
    if kind.endswith("Yearly"):
        month = pattern.get("month")
        if not isinstance(month, int) or not 1 <= month <= 12:
            raise _fail("A yearly recurrence needs a month from 1 to 12.")
        if kind == "absoluteYearly":
            _sub(elem, "DayOfMonth", str(_day_of_month(pattern)))
        _sub(elem, "Month", MONTHS[month - 1])
    else:
        _sub(elem, "Interval", str(interval))
        if kind == "weekly":
            _sub(elem, "DaysOfWeek", _days(pattern))
            first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
            if first_day not in DAYS:
                raise _fail(f"firstDayOfWeek {first_day!r} is not valid.")
            _sub(elem, "FirstDayOfWeek", first_day.capitalize())
        elif kind == "absoluteMonthly":
            _sub(elem, "DayOfMonth", str(_day_of_month(pattern)))
    range_kind = range_.get("type")
    if range_kind not in RANGES:
        raise _fail(f"The recurrence range type {range_kind!r} is not valid.")
    range_elem = etree.SubElement(root, t(RANGES[range_kind]))
    start = parse_date(str(range_.get("startDate") or ""), what="startDate").isoformat()
    _sub(range_elem, "StartDate", start)
    if range_kind == "endDate":
        end = parse_date(str(range_.get("endDate") or ""), what="endDate").isoformat()
        if end < start:
            raise _fail("The recurrence endDate is before its startDate.")
        _sub(range_elem, "EndDate", end)
    elif range_kind == "numbered":
        number = range_.get("numberOfOccurrences")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise _fail("A numbered recurrence needs numberOfOccurrences of at least 1.")
        _sub(range_elem, "NumberOfOccurrences", str(number))
    return root


def from_ews(recurrence: etree._Element, zone_name: str) -> dict[str, Any]:
    """A t:Recurrence element as Graph's patternedRecurrence."""
    children = [child for child in recurrence if isinstance(child.tag, str)]
    pattern_elem, range_elem = children[0], children[1]
    names = {value: key for key, value in PATTERNS.items()}
    kind = names.get(local(pattern_elem.tag), "daily")
    month_name = _text(pattern_elem, "Month")
    days = (_text(pattern_elem, "DaysOfWeek") or "").split()
    index = (_text(pattern_elem, "DayOfWeekIndex") or "First").lower()
    pattern = {
        "type": kind,
        "interval": int(_text(pattern_elem, "Interval") or "1"),
        "month": MONTHS.index(month_name) + 1 if month_name in MONTHS else 0,
        "dayOfMonth": int(_text(pattern_elem, "DayOfMonth") or "0"),
        "daysOfWeek": [day.lower() for day in days if day.lower() in DAYS],
        "firstDayOfWeek": (_text(pattern_elem, "FirstDayOfWeek") or "Sunday").lower(),
        "index": index if index in INDEXES else "first",
    }
    range_names = {value: key for key, value in RANGES.items()}
    range_kind = range_names.get(local(range_elem.tag), "noEnd")
    return {
        "pattern": pattern,
        "range": {
            "type": range_kind,
            "startDate": _text(range_elem, "StartDate"),
            "endDate": _text(range_elem, "EndDate") or "0001-01-01",
            "recurrenceTimeZone": zone_name,
            "numberOfOccurrences": int(_text(range_elem, "NumberOfOccurrences") or "0"),
        },
    }


def _days(pattern: dict[str, Any]) -> str:
    days = pattern.get("daysOfWeek")
    if not isinstance(days, list) or not days or any(str(day).lower() not in DAYS for day in days):
        raise _fail("The recurrence needs daysOfWeek, each a day of the week.")
    return " ".join(str(day).lower().capitalize() for day in days)


def _day_of_month(pattern: dict[str, Any]) -> int:
    day = pattern.get("dayOfMonth")
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
        raise _fail("The recurrence needs a dayOfMonth from 1 to 31.")
    return day


def _sub(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, t(name)).text = text


def _text(elem: etree._Element, name: str) -> str | None:
    value = elem.findtext(t(name))
    return value.strip() if value else None
