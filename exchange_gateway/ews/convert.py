"""Between exchangelib's items and the wire's neutral entries.

Every item the gateway creates carries our external id in an extended property of our own
property set, so that a create whose outcome was unknown can be looked up instead of repeated.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import isodate
import lxml.html
from exchangelib import CalendarItem, Contact, EWSDate, EWSDateTime, EWSTimeZone, ExtendedProperty
from exchangelib.errors import UnknownTimeZone
from exchangelib.fields import InvalidField
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.properties import Body, HTMLBody
from lxml import etree

from protocol.entries import (
    CONTACT_FIELDS,
    EXCEPTION,
    MASTER,
    MAX_EMAILS,
    OCCURRENCE,
    SINGLE,
    CalendarEntry,
    ContactEntry,
    format_utc,
    parse_date,
    parse_utc,
)
from protocol.text_limits import MAX_TEXT, shorten

from ..errors import INVALID, GatewayError

PROPERTY_SET_ID = "6f0c8a52-3d1e-4b7a-9c55-2e8d41f7b3a9"  # ours: the PC CADDIE Exchange sync
EXTERNAL_ID_FIELD = "pccaddie_sync_id"
WRITTEN_FIELD = "pccaddie_sync_written"
PRIVATE_SENSITIVITIES = {"Private", "Confidential"}
SERIES_TYPES = {"Single": SINGLE, "RecurringMaster": MASTER, "Occurrence": OCCURRENCE, "Exception": EXCEPTION}
RECURRING_TYPES = {"RecurringMaster", "Occurrence", "Exception"}
IN_SERIES_TYPES = {"Occurrence", "Exception"}  # one of a series' occurrences (changed: an exception)
PHONE_LABELS = {"phone_home": "HomePhone", "phone_business": "BusinessPhone", "phone_mobile": "MobilePhone"}
EMAIL_LABELS = tuple(f"EmailAddress{n}" for n in range(1, MAX_EMAILS + 1))
ADDRESS_LABEL = "Home"


class SyncExternalId(ExtendedProperty):
    property_set_id = PROPERTY_SET_ID
    property_name = "PcCaddieSyncId"
    property_type = "String"


class SyncWritten(ExtendedProperty):
    """The digest of the content the sync last wrote onto a calendar item."""

    property_set_id = PROPERTY_SET_ID
    property_name = "PcCaddieSyncWritten"
    property_type = "String"


def register_external_id() -> None:
    """Teach exchangelib our extended properties (once per process; it keeps them per item class)."""
    for item_class, name, prop in (
        (CalendarItem, EXTERNAL_ID_FIELD, SyncExternalId),
        (Contact, EXTERNAL_ID_FIELD, SyncExternalId),
        (CalendarItem, WRITTEN_FIELD, SyncWritten),
    ):
        try:
            item_class.get_field_by_fieldname(name)
        except InvalidField:
            item_class.register(name, prop)


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> EWSTimeZone:
    """The zone of a name (kept: exchangelib looks its Windows name up afresh for each new zone
    object, which cost a first sync of 10,000 items 2 CPU seconds); a name it does not know is
    invalid, and is not kept."""
    try:
        return EWSTimeZone(name)
    except (zoneinfo.ZoneInfoNotFoundError, UnknownTimeZone, ValueError, KeyError) as exc:
        raise GatewayError(INVALID, f"unknown time zone {name!r}: {exc}") from None


UTC_ZONE = EWSTimeZone("UTC")


def _instant(moment: dt.datetime, zone: EWSTimeZone) -> EWSDateTime:
    return EWSDateTime.from_datetime(moment.replace(tzinfo=None)).replace(tzinfo=UTC_ZONE).astimezone(zone)


def starts_at(entry: CalendarEntry) -> dt.datetime:
    """The entry's start as a UTC instant (an all-day entry's: midnight of its first day in its zone)."""
    if not entry.all_day:
        return parse_utc(entry.start, "start")
    first = parse_date(entry.start, "start")
    local = dt.datetime.combine(first, dt.time(0, 0), tzinfo=zoneinfo.ZoneInfo(_zone(entry.timezone).key))
    return local.astimezone(dt.timezone.utc)


def wants_reminder(entry: CalendarEntry, now: dt.datetime | None) -> bool:
    """A reminder goes only on an appointment still to come (`now` None: whenever one is asked for):
    one of the past would open in Outlook as overdue."""
    if entry.reminder_minutes is None:
        return False
    return now is None or starts_at(entry) > now


def calendar_values(entry: CalendarEntry, now: dt.datetime | None = None) -> dict[str, object]:
    """exchangelib field values for an entry; `now` decides whether it gets its reminder."""
    zone = _zone(entry.timezone)
    remind = wants_reminder(entry, now)
    if entry.all_day:
        start: object = EWSDate.from_date(parse_date(entry.start, "start"))
        end: object = EWSDate.from_date(parse_date(entry.end, "end"))
    else:
        start = _instant(parse_utc(entry.start, "start"), zone)
        end = _instant(parse_utc(entry.end, "end"), zone)
    return {
        "subject": entry.subject,
        "body": Body(entry.body) if entry.body else None,
        "location": entry.location or None,
        "start": start,
        "end": end,
        "is_all_day": entry.all_day,
        "_start_timezone": zone,
        "_end_timezone": zone,
        "sensitivity": "Private" if entry.private else "Normal",
        "reminder_is_set": remind,
        "reminder_minutes_before_start": (entry.reminder_minutes or 0) if remind else 0,
        "categories": list(entry.categories) or None,
        "legacy_free_busy_status": "Busy",
        EXTERNAL_ID_FIELD: entry.external_id,
        WRITTEN_FIELD: entry.written,
    }


def calendar_item(entry: CalendarEntry, now: dt.datetime | None = None, **kwargs: object) -> CalendarItem:
    return CalendarItem(**kwargs, **calendar_values(entry, now))


def _zone_name(zone: object) -> str:
    return getattr(zone, "key", None) or "UTC"


def _day(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    assert isinstance(value, dt.date)
    return value.isoformat()


def _last_day(item: CalendarItem) -> str:
    """An all-day item's last day. exchangelib finds it by taking 24 hours off the end instant,
    which is a day early when the last day is the 23-hour day clocks go forward; the item's
    duration (whole days of 23, 24 or 25 hours) tells it right."""
    first = dt.date.fromisoformat(_day(item.start))
    if item.duration:
        try:
            days = max(1, round(isodate.parse_duration(item.duration).total_seconds() / 86400))
            return (first + dt.timedelta(days=days - 1)).isoformat()
        except (isodate.ISO8601Error, AttributeError, ValueError):
            pass
    return max(_day(item.end), first.isoformat())


def _html_as_text(markup: str) -> str:
    """A rough text of an HTML body, for a server that gives no TextBody (before Exchange 2013)."""
    try:
        document = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return markup
    for dropped in document.xpath("//head|//style|//script"):
        dropped.drop_tree()
    for br in document.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in document.iter("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"):
        block.tail = "\n" + (block.tail or "")
    lines = [" ".join(line.split()) for line in document.text_content().splitlines()]
    return "\n".join(line for line in lines if line)


def _body_text(item: CalendarItem) -> tuple[str, bool]:
    """The item's body as plain text, and whether Exchange's copy is formatted (HTML): for an
    HTML body Exchange's own text conversion (TextBody), lines ending in \\n."""
    body = item.body
    if not body:
        return "", isinstance(body, HTMLBody)
    if not isinstance(body, HTMLBody):
        return str(body), False
    text = item.text_body if item.text_body is not None else _html_as_text(str(body))
    return text.replace("\r\n", "\n").rstrip(), True


def calendar_entry(item: CalendarItem, series_id: str | None = None) -> CalendarEntry:
    """The item's entry; `series_id`: an occurrence's or exception's master (EWS names it only by
    a RecurringMasterItemId lookup or the series' UID, which the caller has done). A master is told
    by its CalendarItemType alone: Exchange says IsRecurring false on it."""
    body, body_html = _body_text(item)
    series_type = SERIES_TYPES.get(str(item.type or "Single"), SINGLE)
    in_series = series_type in (OCCURRENCE, EXCEPTION)
    all_day = bool(item.is_all_day)
    if all_day:
        start, end = _day(item.start), _last_day(item)
    else:
        start, end = format_utc(item.start), format_utc(item.end)
    return CalendarEntry(
        subject=item.subject or "",
        start=start,
        end=end,
        all_day=all_day,
        body=body,
        body_html=body_html,
        location=item.location or "",
        timezone=_zone_name(item._start_timezone),
        private=item.sensitivity in PRIVATE_SENSITIVITIES,
        reminder_minutes=item.reminder_minutes_before_start if item.reminder_is_set else None,
        categories=tuple(item.categories or ()),
        external_id=getattr(item, EXTERNAL_ID_FIELD, None),
        written=getattr(item, WRITTEN_FIELD, None),
        id=item.id,
        change_key=item.changekey,
        recurring=(item.type in RECURRING_TYPES) or bool(item.is_recurring),
        last_modified=format_utc(item.last_modified_time) if item.last_modified_time else None,
        series_type=series_type,
        series_id=series_id if in_series else None,
        original_start=format_utc(item.original_start) if in_series and item.original_start else None,
    )


CALENDAR_UPDATE_FIELDS = {
    "subject": ["subject"],
    "body": ["body"],
    "location": ["location"],
    "start": ["start"],
    "end": ["end"],
    "all_day": ["is_all_day"],
    "timezone": [],
    "private": ["sensitivity"],
    "reminder_minutes": ["reminder_is_set", "reminder_minutes_before_start"],
    "categories": ["categories"],
    "external_id": [EXTERNAL_ID_FIELD],
    "written": [WRITTEN_FIELD],
}
TIME_FIELDS = ("start", "end", "is_all_day")
REMINDER_FIELDS = tuple(CALENDAR_UPDATE_FIELDS["reminder_minutes"])


def calendar_update_fields(fields: set[str]) -> list[str]:
    """The exchangelib fields an update of the entry `fields` writes. Start, end and all-day go
    together; the reminder is written only when the time changes (a user who dismissed it keeps it
    dismissed), and then as wants_reminder decides."""
    names: list[str] = []
    for field in sorted(fields):
        names += CALENDAR_UPDATE_FIELDS[field]
    timed = any(name in TIME_FIELDS for name in names)
    if timed:
        names += [*TIME_FIELDS, *REMINDER_FIELDS]
    else:
        names = [name for name in names if name not in REMINDER_FIELDS]
    return list(dict.fromkeys(names))


# What the gateway reads of an item: the fields calendar_entry and contact_entry use, no more
# (never MimeContent, whose conversion costs the server dearly).
CALENDAR_READ_FIELDS = (
    "subject",
    "body",
    "text_body",
    "is_all_day",
    "start",
    "end",
    "duration",
    "location",
    "_start_timezone",
    "sensitivity",
    "reminder_is_set",
    "reminder_minutes_before_start",
    "categories",
    "type",
    "is_recurring",
    "original_start",
    "uid",
    "last_modified_time",
    EXTERNAL_ID_FIELD,
    WRITTEN_FIELD,
)
CONTACT_READ_FIELDS = (
    "given_name",
    "surname",
    "display_name",
    "file_as",
    "physical_addresses",
    "phone_numbers",
    "email_addresses",
    "last_modified_time",
    EXTERNAL_ID_FIELD,
)


def file_as(entry: ContactEntry) -> str:
    return ", ".join(p for p in (entry.surname, entry.given_name) if p)


def display_name(entry: ContactEntry) -> str:
    return (
        entry.display_name
        or " ".join(p for p in (entry.given_name, entry.surname) if p)
        or (entry.emails[0] if entry.emails else "(no name)")
    )


def apply_contact(contact: Contact, entry: ContactEntry, fields: set[str]) -> list[str]:
    """Write `fields` of `entry` into `contact`, keeping the labels we do not manage (e.g. a business
    address); returns the exchangelib field names changed."""
    changed: list[str] = []
    was = ContactEntry(given_name=contact.given_name or "", surname=contact.surname or "")
    for name in ("given_name", "surname"):
        if name in fields:
            setattr(contact, name, getattr(entry, name) or None)
            changed.append(name)
    if fields & {"given_name", "surname", "display_name"}:
        # a display name or File-as of the user's own ("Dr. Max Muster") is kept; one made from
        # the names follows them (issue 14)
        if entry.display_name and "display_name" in fields or contact.display_name in (None, "", display_name(was)):
            contact.display_name = shorten(display_name(entry), MAX_TEXT)
            changed.append("display_name")
        if contact.file_as in (None, "", file_as(was), display_name(was)):
            contact.file_as = shorten(file_as(entry), MAX_TEXT) or contact.display_name
            changed.append("file_as")
    if fields & {"street", "postal_code", "city", "country"}:
        others = [a for a in contact.physical_addresses or [] if a.label != ADDRESS_LABEL]
        home = next((a for a in contact.physical_addresses or [] if a.label == ADDRESS_LABEL), None)
        state = home.state if home is not None else None  # not ours: kept (issue 14)
        if any((entry.street, entry.postal_code, entry.city, entry.country)) or state:
            others.append(
                PhysicalAddress(
                    label=ADDRESS_LABEL,
                    street=entry.street or None,
                    city=entry.city or None,
                    state=state,
                    zipcode=entry.postal_code or None,
                    country=entry.country or None,
                )
            )
        contact.physical_addresses = others or None
        changed.append("physical_addresses")
    if fields & set(PHONE_LABELS):
        ours = set(PHONE_LABELS.values())
        numbers = [p for p in contact.phone_numbers or [] if p.label not in ours]
        numbers += [
            PhoneNumber(label=label, phone_number=getattr(entry, name))
            for name, label in PHONE_LABELS.items()
            if getattr(entry, name)
        ]
        contact.phone_numbers = numbers or None
        changed.append("phone_numbers")
    if "emails" in fields:
        contact.email_addresses = [
            EmailAddress(label=label, email=email) for label, email in zip(EMAIL_LABELS, entry.emails)
        ] or None
        changed.append("email_addresses")
    if "external_id" in fields:
        setattr(contact, EXTERNAL_ID_FIELD, entry.external_id)
        changed.append(EXTERNAL_ID_FIELD)
    return changed


CONTACT_FIELD_NAMES = set(CONTACT_FIELDS)


def new_contact(entry: ContactEntry, **kwargs: object) -> Contact:
    contact = Contact(**kwargs)
    apply_contact(contact, entry, CONTACT_FIELD_NAMES)
    return contact


def contact_entry(contact: Contact) -> ContactEntry:
    home = next((a for a in contact.physical_addresses or [] if a.label == ADDRESS_LABEL), None)
    phones = {p.label: p.phone_number for p in contact.phone_numbers or [] if p.phone_number}
    emails = {e.label: e.email for e in contact.email_addresses or [] if e.email}
    return ContactEntry(
        given_name=contact.given_name or "",
        surname=contact.surname or "",
        display_name=contact.display_name or "",
        street=(home.street or "") if home else "",
        postal_code=(home.zipcode or "") if home else "",
        city=(home.city or "") if home else "",
        country=(home.country or "") if home else "",
        phone_home=phones.get("HomePhone", ""),
        phone_business=phones.get("BusinessPhone", ""),
        phone_mobile=phones.get("MobilePhone", ""),
        emails=tuple(emails[label] for label in EMAIL_LABELS if label in emails),
        external_id=getattr(contact, EXTERNAL_ID_FIELD, None),
        id=contact.id,
        change_key=contact.changekey,
        last_modified=format_utc(contact.last_modified_time) if contact.last_modified_time else None,
    )
