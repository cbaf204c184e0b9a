"""The entries: the neutral schema in which items cross the wire between the two processes.

The sync service builds them (`to_wire`) and reads them (`from_wire`); the gateway reads what the
sync service sends and answers in them, whichever backend (EWS, later Graph) holds the mailbox.
`from_wire` refuses anything malformed with `EntryError` (the wire's code `invalid`). This module
imports nothing that does I/O.

Calendar entry:
    id, change_key      Exchange's, None for an entry not yet created
    external_id         the sync service's id for it, stored in our own extended property
    written             the sync service's mark of the content it last wrote onto the item (its
                        digest), in a second property of ours: an edit in Outlook leaves it, so a
                        write whose answer was lost is still told apart from a user's change
    subject, body, location
    body_html           Exchange's body is formatted (HTML; `body` is then its text conversion), so
                        writing `body` back would replace the formatting with plain text. Optional
                        on the wire (False)
    all_day             True: `start` is the first day and `end` the last day, 'YYYY-MM-DD'
                        False: `start` and `end` are UTC instants, 'YYYY-MM-DDTHH:MM:SSZ'
    timezone            IANA zone the item is written in (its StartTimeZone/EndTimeZone)
    private             sensitivity Private
    reminder_minutes    None: no reminder
    categories          list of str
    recurring           read only: part of a recurring series (the sync leaves those alone)
    last_modified       read only, UTC

Contact entry:
    id, change_key, external_id, given_name, surname, display_name,
    street, postal_code, city, country (the home address),
    phone_home, phone_business, phone_mobile, emails (at most 3), last_modified
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

MAX_EMAILS = 3


class EntryError(ValueError):
    """An entry (or item reference) the schema refuses; on the wire it is answered `invalid`."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _invalid(message: str) -> EntryError:
    return EntryError(message)


def parse_utc(text: str, what: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise _invalid(f"{what} {text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise _invalid(f"{what} {text!r} has no offset; instants cross the wire in UTC")
    return value.astimezone(dt.timezone.utc)


def format_utc(value: dt.datetime) -> str:
    """Any aware datetime (exchangelib's EWSDateTime included) as a UTC instant for the wire."""
    return dt.datetime.fromtimestamp(value.timestamp(), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (ValueError, TypeError):
        raise _invalid(f"{what} {text!r} is not a date like 2026-06-01") from None


def _typed(wire: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
    value = wire.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise _invalid(f"{what}: {name} has the wrong type {type(value).__name__}")
    return value


@dataclass(frozen=True)
class CalendarEntry:
    subject: str
    start: str
    end: str
    all_day: bool = False
    body: str = ""
    body_html: bool = False
    location: str = ""
    timezone: str = "UTC"
    private: bool = False
    reminder_minutes: int | None = None
    categories: tuple[str, ...] = ()
    external_id: str | None = None
    written: str | None = None
    id: str | None = None
    change_key: str | None = None
    recurring: bool = False
    last_modified: str | None = None

    @classmethod
    def from_wire(cls, wire: Any) -> "CalendarEntry":
        what = "calendar entry"
        if not isinstance(wire, Mapping):
            raise _invalid(f"a {what} must be a map")
        all_day = _typed(wire, "all_day", bool, False, what)
        start, end = _typed(wire, "start", str, "", what), _typed(wire, "end", str, "", what)
        if all_day:
            first, last = parse_date(start, "start"), parse_date(end, "end")
            if last < first:
                raise _invalid(f"the last day {end} is before the first day {start}")
        else:
            if parse_utc(end, "end") < parse_utc(start, "start"):
                raise _invalid(f"the end {end} is before the start {start}")
        reminder = _typed(wire, "reminder_minutes", int, None, what)
        if reminder is not None and not 0 <= reminder <= 60 * 24 * 14:
            raise _invalid(f"reminder_minutes {reminder} is out of range")
        categories = _typed(wire, "categories", list, [], what)
        if not all(isinstance(c, str) for c in categories):
            raise _invalid("categories must be strings")
        return cls(
            subject=_typed(wire, "subject", str, "", what),
            start=start,
            end=end,
            all_day=all_day,
            body=_typed(wire, "body", str, "", what),
            body_html=_typed(wire, "body_html", bool, False, what),
            location=_typed(wire, "location", str, "", what),
            timezone=_typed(wire, "timezone", str, "UTC", what),
            private=_typed(wire, "private", bool, False, what),
            reminder_minutes=reminder,
            categories=tuple(categories),
            external_id=_typed(wire, "external_id", str, None, what),
            written=_typed(wire, "written", str, None, what),
            id=_typed(wire, "id", str, None, what),
            change_key=_typed(wire, "change_key", str, None, what),
        )

    def to_wire(self) -> dict[str, Any]:
        wire = asdict(self)
        wire["categories"] = list(self.categories)
        return wire


CALENDAR_FIELDS = (
    "subject",
    "body",
    "location",
    "start",
    "end",
    "all_day",
    "timezone",
    "private",
    "reminder_minutes",
    "categories",
    "external_id",
    "written",
)


@dataclass(frozen=True)
class ContactEntry:
    given_name: str = ""
    surname: str = ""
    display_name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    phone_home: str = ""
    phone_business: str = ""
    phone_mobile: str = ""
    emails: tuple[str, ...] = ()
    external_id: str | None = None
    id: str | None = None
    change_key: str | None = None
    last_modified: str | None = None

    @classmethod
    def from_wire(cls, wire: Any) -> "ContactEntry":
        what = "contact entry"
        if not isinstance(wire, Mapping):
            raise _invalid(f"a {what} must be a map")
        emails = _typed(wire, "emails", list, [], what)
        if len(emails) > MAX_EMAILS or not all(isinstance(e, str) for e in emails):
            raise _invalid(f"emails must be at most {MAX_EMAILS} strings")
        text_fields = [f.name for f in fields(cls) if f.type == "str"]
        values = {name: _typed(wire, name, str, "", what) for name in text_fields}
        return cls(
            **values,
            emails=tuple(e for e in emails if e),
            external_id=_typed(wire, "external_id", str, None, what),
            id=_typed(wire, "id", str, None, what),
            change_key=_typed(wire, "change_key", str, None, what),
        )

    def to_wire(self) -> dict[str, Any]:
        wire = asdict(self)
        wire["emails"] = list(self.emails)
        return wire


CONTACT_FIELDS = (
    "given_name",
    "surname",
    "display_name",
    "street",
    "postal_code",
    "city",
    "country",
    "phone_home",
    "phone_business",
    "phone_mobile",
    "emails",
    "external_id",
)


Entry = CalendarEntry | ContactEntry
CALENDAR, CONTACTS = "calendar", "contacts"  # the kinds of entry, as a request names them
KINDS = (CALENDAR, CONTACTS)


@dataclass(frozen=True)
class ItemRef:
    id: str
    change_key: str | None = None

    @classmethod
    def from_wire(cls, wire: Any) -> "ItemRef":
        if not isinstance(wire, Mapping) or not isinstance(wire.get("id"), str) or not wire["id"]:
            raise _invalid("an item reference needs an id")
        change_key = wire.get("change_key")
        if change_key is not None and not isinstance(change_key, str):
            raise _invalid("change_key must be a string")
        return cls(wire["id"], change_key)


@dataclass(frozen=True)
class Change:
    """One change of a folder since a sync state: create/update carry the entry, delete only the id."""

    kind: str  # create | update | delete | unsupported (an item of a kind the sync does not handle)
    id: str
    entry: Entry | None = None
    change_key: str | None = None
    item_type: str | None = None  # for unsupported: the EWS item type, e.g. DistributionList

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": self.kind,
            "id": self.id,
            "change_key": self.change_key,
            "item": self.entry.to_wire() if self.entry else None,
        }
        if self.item_type:
            wire["item_type"] = self.item_type
        return wire
