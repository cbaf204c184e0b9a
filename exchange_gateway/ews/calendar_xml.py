"""The XML of a new calendar item, written straight from its field values.

exchangelib writes an item through its general model: it builds a CalendarItem, cleans it (once
when asked, and again inside `to_xml`) and then walks every field the server's version supports,
each through a chain of generic calls. For the first sync of a big calendar that machinery was
most of the gateway's time (10 of 11 CPU seconds per 10,000 creates, docs/benchmarks.md). Here the
same element is written directly from `convert.calendar_values`, the one place that maps an entry
to exchangelib's field values:

- the fields, their order, their tags, their defaults and what they take are exchangelib's own,
  read once per server version from `CalendarItem.supported_fields`;
- every value is checked by its exchangelib field's `clean`, and scalars are written by
  exchangelib's `value_to_xml_text`, so what is refused, and why, is unchanged;
- only the walk is ours, and tests/exchange_gateway/ews/test_calendar_xml.py holds it to
  exchangelib's own `CalendarItem.to_xml`, element for element, over generated entries and every
  supported server version.

A server before Exchange 2010 (one MeetingTimeZone instead of a start and an end zone), or a field
of a kind this writer does not know, makes `writer_for` answer None, and the gateway writes its
items through exchangelib as before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

from exchangelib import CalendarItem
from exchangelib.ewsdatetime import EWSDate, EWSDateTime
from exchangelib.fields import (
    BodyField,
    ExtendedPropertyField,
    FieldURIField,
    TextListField,
    TimeZoneField,
)
from exchangelib.properties import Body, HTMLBody
from exchangelib.util import TNS, safe_xml_value, value_to_xml_text
from exchangelib.version import EXCHANGE_2010
from lxml import etree

Element = Any  # an lxml element (lxml ships no type hints of its own here)
Write = Callable[[Element, str, Any], None]

ITEM_TAG = f"{{{TNS}}}CalendarItem"


def _clark(request_tag: str) -> str:
    prefix, _, name = request_tag.partition(":")
    assert prefix == "t", request_tag
    return f"{{{TNS}}}{name}"


def _text(value: Any) -> str:
    """exchangelib's text of a value (`value_to_xml_text`), those of strings, truth values and
    numbers without its lookups."""
    kind = type(value)
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        return str(value)
    if isinstance(value, str):
        return safe_xml_value(value)
    return value_to_xml_text(value)


def _write_scalar(parent: Element, tag: str, value: Any) -> None:
    etree.SubElement(parent, tag).text = _text(value)


def _write_body(parent: Element, tag: str, value: Any) -> None:
    body_type = HTMLBody.body_type if isinstance(value, HTMLBody) else Body.body_type
    etree.SubElement(parent, tag, BodyType=body_type).text = _text(value)


def _write_zone(parent: Element, tag: str, value: Any) -> None:
    element = etree.SubElement(parent, tag, Id=value.ms_id)
    if value.ms_name:
        element.set("Name", value.ms_name)


def _list_writer(list_tag: str) -> Write:
    def write(parent: Element, tag: str, value: Any) -> None:
        element = etree.SubElement(parent, tag)
        for text in value:
            etree.SubElement(element, list_tag).text = _text(text)

    return write


def _extended_writer(field: ExtendedPropertyField) -> Write:
    uri = field.field_uri_xml()  # exchangelib's ExtendedFieldURI element for the property
    uri_tag, uri_attributes = uri.tag, dict(uri.attrib)
    value_tag = f"{{{TNS}}}Value"

    def write(parent: Element, tag: str, value: Any) -> None:
        element = etree.SubElement(parent, tag)
        etree.SubElement(element, uri_tag, uri_attributes)
        etree.SubElement(element, value_tag).text = _text(value)

    return write


Clean = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class _Slot:
    """One element of the item, in the place exchangelib (and Exchange) wants it."""

    name: str
    tag: str
    field: Any
    default: Any
    write: Write
    clean: Clean


def _extended_clean(field: ExtendedPropertyField) -> Clean:
    """exchangelib's check of an extended property's value (`ExtendedPropertyField.clean`) with
    the check of the property's class, which does not change from item to item, done once."""
    field.value_cls.validate_cls()
    simple = field.value_cls.python_type()
    array = field.value_cls.is_array_type()

    def clean(value: Any, version: Any) -> Any:
        if not array and isinstance(value, simple):
            return value
        return field.clean(value, version=version)  # its error, or a value of another form

    return clean


def _slot(field: Any) -> _Slot | None:
    """The slot of an exchangelib field; None if this writer does not know its kind."""
    if isinstance(field, ExtendedPropertyField):
        tag = _clark(field.value_cls.request_tag())
        return _Slot(field.name, tag, field, None, _extended_writer(field), _extended_clean(field))
    if not isinstance(field, FieldURIField):
        return None
    tag = _clark(field.request_tag())
    if isinstance(field, TimeZoneField):
        write: Write = _write_zone
    elif isinstance(field, BodyField):
        write = _write_body
    elif isinstance(field, TextListField):
        write = _list_writer(_clark(field.list_elem_request_tag()))
    elif field.is_list or field.is_attribute:
        return None
    else:
        write = _write_scalar
    return _Slot(field.name, tag, field, field.default, write, field.clean)


class CalendarXml:
    """Writes new calendar items for one server version."""

    def __init__(self, slots: tuple[_Slot, ...], version: Any) -> None:
        self._slots, self._version = slots, version

    def element(self, values: Mapping[str, Any]) -> Element:
        """The <t:CalendarItem> of a create, from `convert.calendar_values`; ValueError or
        TypeError, as exchangelib's, for a value it would refuse."""
        values = _as_datetimes(values)
        start, end = values.get("start"), values.get("end")
        if start is not None and end is not None and end < start:
            raise ValueError(f"'end' must be greater than 'start' ({start} -> {end})")
        item = etree.Element(ITEM_TAG)
        for slot in self._slots:
            value = values.get(slot.name)
            if value is None:
                value = slot.default  # as exchangelib's clean sets an unset field
            if value is None or (slot.field.is_list and not value):
                continue
            value = slot.clean(value, self._version)
            if value is None or (slot.field.is_list and not value):
                continue
            slot.write(item, slot.tag, value)
        return item


def _as_datetimes(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """An all-day item's first and last day as the instants EWS takes: midnight of the first day
    and midnight after the last, in the item's zones (as exchangelib's CalendarItem.to_xml)."""
    start, end = values.get("start"), values.get("end")
    if not values.get("is_all_day") or not (_is_date(start) or _is_date(end)):
        return values
    changed = dict(values)
    if _is_date(start):
        changed["start"] = _midnight(start, values["_start_timezone"])
    if _is_date(end):
        changed["end"] = _midnight(end, values["_end_timezone"]) + dt.timedelta(days=1)
    return changed


def _is_date(value: object) -> bool:
    return type(value) in (EWSDate, dt.date)


def _midnight(day: Any, zone: Any) -> EWSDateTime:
    return EWSDateTime.combine(day, dt.time(0, 0)).replace(tzinfo=zone)


@lru_cache(maxsize=16)
def _writer(build: Any, names: frozenset[str]) -> CalendarXml | None:
    from exchangelib.version import Version

    version = Version(build=build)
    slots: list[_Slot] = []
    for field in CalendarItem.supported_fields(version=version):
        if field.is_read_only or (field.name not in names and field.default is None):
            continue  # not written, or never set by a create of ours and nothing to write by default
        slot = _slot(field)
        if slot is None:
            return None
        slots.append(slot)
    return CalendarXml(tuple(slots), version)


def writer_for(version: Any, names: frozenset[str]) -> CalendarXml | None:
    """The writer of items with the fields `names` (those `convert.calendar_values` gives) for a
    server's version (exchangelib's Version); None where exchangelib's own writing is kept
    (before Exchange 2010, or a field of a kind this writer does not know)."""
    if version is None or version.build < EXCHANGE_2010:
        return None
    return _writer(version.build, names)
