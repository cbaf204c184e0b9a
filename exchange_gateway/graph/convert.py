"""Between Microsoft Graph's JSON (events, contacts) and the wire's neutral entries. No I/O.

Our external id and the mark of what the sync wrote are single-value extended properties with the
MAPI named property ids the EWS backend writes (ews/convert.py: PROPERTY_SET_ID, PcCaddieSyncId,
PcCaddieSyncWritten), so that an item made through one API is recognised through the other. Times
are read in UTC (the client's Prefer header) and written in the entry's own zone; bodies are read
and written as text. Read as text, a body does not say it is formatted: the MAPI property
PidTagNativeBody (0x1016, the format the store keeps the body in), read in the same expansion as
ours, does (`body_html` for RTF, HTML and clear-signed; plain text or none is not formatted).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any, Mapping

from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

from protocol.entries import (
    EXCEPTION,
    MASTER,
    OCCURRENCE,
    CalendarEntry,
    ContactEntry,
    format_utc,
    parse_date,
    parse_utc,
)
from protocol.entries import SINGLE as SINGLE_ENTRY

from ..errors import INVALID, UNSUPPORTED, GatewayError
from ..ews.convert import PROPERTY_SET_ID, SyncExternalId, SyncWritten, display_name, file_as, wants_reminder

EXTERNAL_ID_PROPERTY = f"String {{{PROPERTY_SET_ID}}} Name {SyncExternalId.property_name}"
WRITTEN_PROPERTY = f"String {{{PROPERTY_SET_ID}}} Name {SyncWritten.property_name}"
NATIVE_BODY_PROPERTY = "Integer 0x1016"  # PidTagNativeBody, PT_LONG ([MS-OXCMSG] 2.2.1.58.2)
NATIVE_BODY_TAGS = (0x1016, 0x10160003)  # the property's id, or its whole tag (id and PT_LONG)
PLAIN_TEXT_BODY, FORMATTED_BODIES = 1, frozenset({2, 3, 4})  # 2 RTF, 3 HTML, 4 clear-signed (0: no body)
EXPAND_OURS = (
    f"singleValueExtendedProperties($filter=id eq '{EXTERNAL_ID_PROPERTY}' or id eq '{WRITTEN_PROPERTY}'"
    f" or id eq '{NATIVE_BODY_PROPERTY}')"
)
_PROPTAG_ID = re.compile(r"^\s*integer\s+0x([0-9a-f]{1,8})\s*$", re.I)
PRIVATE = ("private", "confidential")
SINGLE = "singleInstance"
SERIES_TYPES = {SINGLE: SINGLE_ENTRY, "seriesMaster": MASTER, "occurrence": OCCURRENCE, "exception": EXCEPTION}
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?$")


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise GatewayError(INVALID, f"unknown time zone {name!r}: {exc}") from None


def external_id_filter(external_id: str) -> str:
    """The $filter of the items carrying `external_id` in our property."""
    value = external_id.replace("'", "''")
    return f"singleValueExtendedProperties/any(ep: ep/id eq '{EXTERNAL_ID_PROPERTY}' and ep/value eq '{value}')"


def _ours(data: Mapping[str, Any]) -> dict[str, str]:
    found = {}
    for prop in data.get("singleValueExtendedProperties") or ():
        if isinstance(prop, Mapping) and isinstance(prop.get("id"), str):
            found[prop["id"].casefold()] = str(prop.get("value") or "")
    return found


def _property(ours: Mapping[str, str], property_id: str) -> str | None:
    return ours.get(property_id.casefold()) or None


def native_body(ours: Mapping[str, str]) -> int | None:
    """PidTagNativeBody among the item's properties (None: not answered), its id read as a
    number: Graph spells proptag ids its own way ("Integer 0x1016", "integer 0x01016", the whole
    tag "Integer 0x10160003")."""
    for property_id, value in ours.items():
        match = _PROPTAG_ID.match(property_id)
        if match and int(match.group(1), 16) in NATIVE_BODY_TAGS:
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def body_is_formatted(body: Mapping[str, Any], ours: Mapping[str, str]) -> bool:
    """Whether the stored body is formatted, so that writing text over it would lose its format:
    by PidTagNativeBody, or else by the content type Graph answered in."""
    native = native_body(ours)
    if native in FORMATTED_BODIES:
        return True
    if native == PLAIN_TEXT_BODY:
        return False
    return str(body.get("contentType") or "text").lower() == "html"


def _map(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def _properties(values: Mapping[str, str | None]) -> list[dict[str, str]]:
    return [{"id": property_id, "value": value} for property_id, value in values.items() if value is not None]


# events -----------------------------------------------------------------------------------------------


def _local(instant: dt.datetime, zone_name: str) -> dict[str, str]:
    return {"dateTime": instant.astimezone(zone(zone_name)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone_name}


def _midnight(day: dt.date, zone_name: str) -> dict[str, str]:
    zone(zone_name)
    return {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": zone_name}


def event_times(entry: CalendarEntry) -> dict[str, Any]:
    """start, end and isAllDay of an event (an all-day one ends at midnight after its last day)."""
    if entry.all_day:
        first, last = parse_date(entry.start, "start"), parse_date(entry.end, "end")
        return {
            "isAllDay": True,
            "start": _midnight(first, entry.timezone),
            "end": _midnight(last + dt.timedelta(days=1), entry.timezone),
        }
    return {
        "isAllDay": False,
        "start": _local(parse_utc(entry.start, "start"), entry.timezone),
        "end": _local(parse_utc(entry.end, "end"), entry.timezone),
    }


def _reminder(entry: CalendarEntry, now: dt.datetime | None) -> dict[str, Any]:
    remind = wants_reminder(entry, now)
    return {"isReminderOn": remind, "reminderMinutesBeforeStart": (entry.reminder_minutes or 0) if remind else 0}


EVENT_FIELDS = {
    "subject": lambda e: {"subject": e.subject},
    "body": lambda e: {"body": {"contentType": "text", "content": e.body}},
    "location": lambda e: {"location": {"displayName": e.location}},
    "private": lambda e: {"sensitivity": "private" if e.private else "normal"},
    "categories": lambda e: {"categories": list(e.categories)},
}


def event_body(
    entry: CalendarEntry, now: dt.datetime | None = None, transaction_id: str | None = None
) -> dict[str, Any]:
    """A new event's JSON; `now` decides whether it gets its reminder (one of the past would show overdue)."""
    body: dict[str, Any] = {"showAs": "busy"}
    for write in EVENT_FIELDS.values():
        body.update(write(entry))
    body.update(event_times(entry))
    body.update(_reminder(entry, now))
    properties = _properties({EXTERNAL_ID_PROPERTY: entry.external_id, WRITTEN_PROPERTY: entry.written})
    if properties:
        body["singleValueExtendedProperties"] = properties
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    return body


def event_patch(entry: CalendarEntry, fields: set[str], now: dt.datetime | None = None) -> dict[str, Any]:
    """The PATCH of the entry `fields`. Start, end and all-day go together; the reminder is written
    only when the time changes (a user who dismissed it keeps it dismissed), as the EWS backend does."""
    patch: dict[str, Any] = {}
    for name in sorted(fields & set(EVENT_FIELDS)):
        patch.update(EVENT_FIELDS[name](entry))
    if fields & {"start", "end", "all_day", "timezone"}:
        patch.update(event_times(entry))
        if "reminder_minutes" in fields or fields & {"start", "end", "all_day"}:
            patch.update(_reminder(entry, now))
    properties = {}
    if "external_id" in fields:
        properties[EXTERNAL_ID_PROPERTY] = entry.external_id or ""
    if "written" in fields:
        properties[WRITTEN_PROPERTY] = entry.written or ""
    if properties:
        patch["singleValueExtendedProperties"] = _properties(properties)
    return patch


def _instant(data: Any, what: str) -> dt.datetime:
    """A Graph dateTimeTimeZone read in UTC (the client asks for UTC)."""
    text = data.get("dateTime") if isinstance(data, Mapping) else None
    match = _DATETIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"the event's {what} {data!r} is not a dateTimeTimeZone")
    named = str(data.get("timeZone") or "UTC")
    return dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=zone(iana_zone(named) or "UTC"))


def iana_zone(name: str | None) -> str | None:
    """An IANA zone for Graph's zone name (Windows or IANA); None for one it does not know."""
    if not name:
        return None
    if name in MS_TIMEZONE_TO_IANA_MAP:
        return MS_TIMEZONE_TO_IANA_MAP[name]
    try:
        return zoneinfo.ZoneInfo(name).key
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _original_start(data: Mapping[str, Any]) -> str | None:
    """An occurrence's originalStart (an Edm.DateTimeOffset) as a UTC instant."""
    text = data.get("originalStart")
    if not isinstance(text, str) or not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return format_utc(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc))


def calendar_entry(data: Mapping[str, Any]) -> CalendarEntry:
    """An event's entry (an occurrence's or exception's with its master's id and original start);
    ValueError for an event that cannot be read."""
    series_type = SERIES_TYPES.get(str(data.get("type") or SINGLE), SINGLE_ENTRY)
    in_series = series_type in (OCCURRENCE, EXCEPTION)
    zone_name = iana_zone(data.get("originalStartTimeZone")) or "UTC"
    start, end = _instant(data.get("start"), "start"), _instant(data.get("end"), "end")
    all_day = bool(data.get("isAllDay"))
    if all_day:
        local = zone(zone_name)
        first = start.astimezone(local).date()
        last = max(first, (end.astimezone(local) - dt.timedelta(seconds=1)).date())
        start_text, end_text = first.isoformat(), last.isoformat()
    else:
        start_text, end_text = format_utc(start), format_utc(end)
    body, location = _map(data, "body"), _map(data, "location")
    ours = _ours(data)
    modified = data.get("lastModifiedDateTime")
    return CalendarEntry(
        subject=str(data.get("subject") or ""),
        start=start_text,
        end=end_text,
        all_day=all_day,
        body=str(body.get("content") or "").replace("\r\n", "\n"),
        body_html=body_is_formatted(body, ours),
        location=str(location.get("displayName") or ""),
        timezone=zone_name,
        private=str(data.get("sensitivity") or "normal").lower() in PRIVATE,
        reminder_minutes=int(data.get("reminderMinutesBeforeStart") or 0) if data.get("isReminderOn") else None,
        categories=tuple(str(c) for c in data.get("categories") or ()),
        external_id=_property(ours, EXTERNAL_ID_PROPERTY),
        written=_property(ours, WRITTEN_PROPERTY),
        id=str(data["id"]),
        change_key=data.get("changeKey"),
        recurring=series_type != SINGLE_ENTRY,
        last_modified=format_utc(parse_utc(modified, "lastModifiedDateTime")) if isinstance(modified, str) else None,
        series_type=series_type,
        series_id=str(data["seriesMasterId"]) if in_series and data.get("seriesMasterId") else None,
        original_start=_original_start(data) if in_series else None,
    )


# contacts -----------------------------------------------------------------------------------------------

ADDRESS_PARTS = {"street": "street", "postal_code": "postalCode", "city": "city", "country": "countryOrRegion"}


def contact_patch(entry: ContactEntry, fields: set[str], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON writing `fields` of the entry onto the contact `current` (None: a new one). What is
    not ours is kept: a display name or File-as of the user's own, the home address's state, a
    second home or business number (issue 14, as the EWS backend keeps them)."""
    current = current or {}
    was = ContactEntry(given_name=str(current.get("givenName") or ""), surname=str(current.get("surname") or ""))
    patch: dict[str, Any] = {}
    for name, graph in (("given_name", "givenName"), ("surname", "surname")):
        if name in fields:
            patch[graph] = getattr(entry, name) or None
    if fields & {"given_name", "surname", "display_name"}:
        shown = current.get("displayName") or ""
        if entry.display_name and "display_name" in fields or shown in ("", display_name(was)):
            patch["displayName"] = display_name(entry)
        if (current.get("fileAs") or "") in ("", file_as(was), display_name(was)):
            patch["fileAs"] = file_as(entry) or patch.get("displayName") or shown
    if fields & set(ADDRESS_PARTS):
        home = dict(current.get("homeAddress") or {})
        for name, graph in ADDRESS_PARTS.items():
            home[graph] = getattr(entry, name)
        patch["homeAddress"] = {k: v for k, v in home.items() if v}
    if "phone_home" in fields:
        patch["homePhones"] = [p for p in [entry.phone_home, *list(current.get("homePhones") or [])[1:]] if p]
    if "phone_business" in fields:
        patch["businessPhones"] = [
            p for p in [entry.phone_business, *list(current.get("businessPhones") or [])[1:]] if p
        ]
    if "phone_mobile" in fields:
        patch["mobilePhone"] = entry.phone_mobile or None
    if "emails" in fields:
        patch["emailAddresses"] = [{"address": e, "name": e} for e in entry.emails]
    if "external_id" in fields and entry.external_id is not None:
        patch["singleValueExtendedProperties"] = _properties({EXTERNAL_ID_PROPERTY: entry.external_id})
    return patch


def contact_entry(data: Mapping[str, Any]) -> ContactEntry:
    if data.get("@odata.type") not in (None, "#microsoft.graph.contact"):
        raise GatewayError(UNSUPPORTED, f"the sync does not handle items of the kind {data.get('@odata.type')}")
    home = _map(data, "homeAddress")
    homes, business = list(data.get("homePhones") or []), list(data.get("businessPhones") or [])
    emails = [
        str(e.get("address")) for e in data.get("emailAddresses") or () if isinstance(e, Mapping) and e.get("address")
    ]
    modified = data.get("lastModifiedDateTime")
    return ContactEntry(
        given_name=str(data.get("givenName") or ""),
        surname=str(data.get("surname") or ""),
        display_name=str(data.get("displayName") or ""),
        **{name: str(home.get(graph) or "") for name, graph in ADDRESS_PARTS.items()},
        phone_home=str(homes[0]) if homes else "",
        phone_business=str(business[0]) if business else "",
        phone_mobile=str(data.get("mobilePhone") or ""),
        emails=tuple(emails[:3]),
        external_id=_property(_ours(data), EXTERNAL_ID_PROPERTY),
        id=str(data["id"]),
        change_key=data.get("changeKey"),
        last_modified=format_utc(parse_utc(modified, "lastModifiedDateTime")) if isinstance(modified, str) else None,
    )
