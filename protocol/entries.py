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
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping, Protocol, Sequence

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


def _flat(entry: Any) -> dict[str, Any]:
    """An entry's fields by name, in their order: `asdict` without its deep copy (an entry's
    fields are scalars and tuples of strings, which the caller turns into lists)."""
    return {f.name: getattr(entry, f.name) for f in fields(entry)}


def _only(wire: dict[str, Any], only: Iterable[str] | None) -> dict[str, Any]:
    """The wire form with only the fields named, in the order named (None: every field)."""
    return wire if only is None else {name: wire[name] for name in only}


SINGLE, MASTER, OCCURRENCE, EXCEPTION = "single", "master", "occurrence", "exception"
SERIES_TYPES = (SINGLE, MASTER, OCCURRENCE, EXCEPTION)  # EWS's CalendarItemType, Graph's event type
SERIES_FIELDS = ("series_type", "series_id", "original_start")  # read only, never written


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
    series_type: str = SINGLE
    series_id: str | None = None
    original_start: str | None = None

    @classmethod
    def from_wire(cls, wire: Any, checked: bool = True) -> "CalendarEntry":
        """`checked` (what the gateway is asked to write): the values are checked too (the times,
        the reminder's range); unchecked (what the gateway answers): only the types, since the
        values are whatever Exchange holds."""
        what = "calendar entry"
        if not isinstance(wire, Mapping):
            raise _invalid(f"a {what} must be a map")
        all_day = _typed(wire, "all_day", bool, False, what)
        start, end = _typed(wire, "start", str, "", what), _typed(wire, "end", str, "", what)
        reminder = _typed(wire, "reminder_minutes", int, None, what)
        if checked and all_day:
            first, last = parse_date(start, "start"), parse_date(end, "end")
            if last < first:
                raise _invalid(f"the last day {end} is before the first day {start}")
        elif checked:
            if parse_utc(end, "end") < parse_utc(start, "start"):
                raise _invalid(f"the end {end} is before the start {start}")
        if checked and reminder is not None and not 0 <= reminder <= 60 * 24 * 14:
            raise _invalid(f"reminder_minutes {reminder} is out of range")
        categories = _typed(wire, "categories", list, [], what)
        if not all(isinstance(c, str) for c in categories):
            raise _invalid("categories must be strings")
        series_type = _typed(wire, "series_type", str, SINGLE, what)
        if series_type not in SERIES_TYPES:
            raise _invalid(f"series_type must be one of {', '.join(SERIES_TYPES)}, not {series_type!r}")
        original_start = _typed(wire, "original_start", str, None, what)
        if original_start is not None:
            parse_utc(original_start, "original_start")
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
            recurring=_typed(wire, "recurring", bool, False, what),
            last_modified=_typed(wire, "last_modified", str, None, what),
            series_type=series_type,
            series_id=_typed(wire, "series_id", str, None, what),
            original_start=original_start,
        )

    def to_wire(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """Every field (as the gateway answers), or `only` those named, in that order. The series
        fields only when the entry is part of a series, so a single item's map is what an older
        peer knows."""
        wire = _flat(self)  # every field is a scalar but the categories
        wire["categories"] = list(self.categories)
        if self.series_type == SINGLE and only is None:
            for name in SERIES_FIELDS:
                del wire[name]
        return _only(wire, only)

    @property
    def occurrence_key(self) -> tuple[str, str] | None:
        """(series id, original start) of an occurrence or exception: what links it to its
        appointment, since an occurrence's own id may change; None for a single item or a master."""
        if self.series_type in (OCCURRENCE, EXCEPTION) and self.series_id and self.original_start:
            return (self.series_id, self.original_start)
        return None


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
    def from_wire(cls, wire: Any, checked: bool = True) -> "ContactEntry":
        """`checked` (what the gateway is asked to write): at most MAX_EMAILS e-mail addresses;
        unchecked (what the gateway answers): only the types."""
        what = "contact entry"
        if not isinstance(wire, Mapping):
            raise _invalid(f"a {what} must be a map")
        emails = _typed(wire, "emails", list, [], what)
        if (checked and len(emails) > MAX_EMAILS) or not all(isinstance(e, str) for e in emails):
            raise _invalid(f"emails must be at most {MAX_EMAILS} strings")
        text_fields = [f.name for f in fields(cls) if f.type == "str"]
        values = {name: _typed(wire, name, str, "", what) for name in text_fields}
        return cls(
            **values,
            emails=tuple(e for e in emails if e),
            external_id=_typed(wire, "external_id", str, None, what),
            id=_typed(wire, "id", str, None, what),
            change_key=_typed(wire, "change_key", str, None, what),
            last_modified=_typed(wire, "last_modified", str, None, what),
        )

    def to_wire(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """Every field (as the gateway answers), or `only` those named, in that order."""
        wire = _flat(self)  # every field is a scalar but the e-mail addresses
        wire["emails"] = list(self.emails)
        return _only(wire, only)


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


CALENDAR_REQUEST = tuple(f.name for f in fields(CalendarEntry) if f.name in CALENDAR_FIELDS)
CONTACT_REQUEST = tuple(f.name for f in fields(ContactEntry) if f.name in CONTACT_FIELDS and f.name != "display_name")
# what the sync service writes of a new entry (the writable fields, in the entry's order): the
# display name is the gateway's to make from the names


def entry_from_wire(kind: str, wire: Any, checked: bool = True) -> Entry:
    """An entry of `kind` (CALENDAR or CONTACTS) read from the wire."""
    if kind not in KINDS:
        raise _invalid(f"kind must be one of {', '.join(KINDS)}")
    return CalendarEntry.from_wire(wire, checked) if kind == CALENDAR else ContactEntry.from_wire(wire, checked)


@dataclass(frozen=True)
class CreateRequest:
    """One item of `exchange.create` that sets only some fields (a contact's exported groups): on
    the wire the entry with only those fields, in that order. A plain entry sends its writable
    fields (`request_wire`)."""

    entry: Entry
    fields: tuple[str, ...]

    def to_wire(self) -> dict[str, Any]:
        return self.entry.to_wire(self.fields)


def request_wire(item: "Entry | CreateRequest") -> dict[str, Any]:
    """An item of a create as the sync service sends it: a plain entry its writable fields."""
    if isinstance(item, CreateRequest):
        return item.to_wire()
    return item.to_wire(CALENDAR_REQUEST if isinstance(item, CalendarEntry) else CONTACT_REQUEST)


NewItem = Entry | CreateRequest  # what `exchange.create` is given, per item


def _optional_text(wire: Mapping[str, Any], name: str, what: str) -> str | None:
    value = wire.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{what}: {name} must be a string or null")
    return value


def _map(wire: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(wire, Mapping):
        raise _invalid(f"{what} must be a map")
    return wire


def _list(wire: Any, what: str) -> list[Any]:
    if not isinstance(wire, list):
        raise _invalid(f"{what} must be a list")
    return wire


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

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "change_key": self.change_key}


@dataclass(frozen=True)
class UpdateRequest:
    """One item of `exchange.update`: the item as the caller saw it, the entry fields to write
    (the others are left as they are in Exchange), and the entry they are written from."""

    ref: ItemRef
    fields: tuple[str, ...]
    entry: Entry

    def to_wire(self) -> dict[str, Any]:
        """A calendar update carries the whole entry (the gateway checks its times), a contact
        update only the fields it writes."""
        item = request_wire(self.entry) if isinstance(self.entry, CalendarEntry) else self.entry.to_wire(self.fields)
        return {**self.ref.to_wire(), "fields": list(self.fields), "item": item}

    @classmethod
    def from_wire(cls, kind: str, wire: Any) -> "UpdateRequest":
        """As the gateway reads it: `fields` must name writable fields of the kind's entry."""
        if not isinstance(wire, Mapping):
            raise _invalid("each update is a map with id, change_key, fields and item")
        allowed = set(CALENDAR_FIELDS if kind == CALENDAR else CONTACT_FIELDS)
        names = wire.get("fields")
        if not isinstance(names, list) or not names or not set(names) <= allowed:
            raise _invalid(f"fields must name the entry's fields to write: {', '.join(sorted(allowed))}")
        return cls(ItemRef.from_wire(wire), tuple(names), entry_from_wire(kind, wire.get("item")))


class _Failure(Protocol):
    """Anything with a stable code and a sentence (the gateway's GatewayError)."""

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def retry_after(self) -> float | None: ...


@dataclass(frozen=True)
class ItemError:
    """Why one item of a batch failed: a code of the gateway's (exchange_gateway/errors.py)."""

    code: str
    message: str = ""
    retry_after: float | None = None

    @classmethod
    def of(cls, failure: _Failure) -> "ItemError":
        return cls(failure.code, failure.message, failure.retry_after)

    @classmethod
    def from_wire(cls, wire: Any) -> "ItemError":
        wire = _map(wire, "an item's error")
        code, message, retry_after = wire.get("code"), wire.get("message", ""), wire.get("retry_after")
        if not isinstance(code, str) or not isinstance(message, str):
            raise _invalid("an item's error needs a code and a message")
        if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(retry_after, (int, float))):
            raise _invalid("an item's retry_after must be a number of seconds")
        return cls(code, message, retry_after)

    def to_wire(self) -> dict[str, Any]:
        wait = {"retry_after": self.retry_after} if self.retry_after is not None else {}
        return {**wait, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ItemResult:
    """The outcome for one item of a batch (create, update, delete), in the batch's order.
    `shortened` (on the wire only when not empty) names the entry fields written shortened to fit
    Exchange's limits."""

    ok: bool
    id: str | None = None
    change_key: str | None = None
    error: ItemError | None = None
    shortened: tuple[str, ...] = ()

    @classmethod
    def failed(cls, item_id: str | None, failure: _Failure, shortened: Sequence[str] = ()) -> "ItemResult":
        return cls(False, item_id, error=ItemError.of(failure), shortened=tuple(shortened))

    @property
    def code(self) -> str | None:
        """The error's code (None when the item succeeded)."""
        return self.error.code if self.error is not None else None

    def to_wire(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"shortened": list(self.shortened)} if self.shortened else {}
        if self.ok:
            return {"ok": True, "id": self.id, "change_key": self.change_key, **extra}
        assert self.error is not None
        return {"ok": False, "id": self.id, "error": self.error.to_wire(), **extra}

    @classmethod
    def from_wire(cls, wire: Any) -> "ItemResult":
        what = "an item's result"
        wire = _map(wire, what)
        ok = wire.get("ok")
        if not isinstance(ok, bool):
            raise _invalid(f"{what} needs ok, true or false")
        shortened = _list(wire.get("shortened", []), f"{what}'s shortened")
        if not all(isinstance(name, str) for name in shortened):
            raise _invalid(f"{what}'s shortened must name fields")
        return cls(
            ok,
            _optional_text(wire, "id", what),
            _optional_text(wire, "change_key", what),
            None if ok else ItemError.from_wire(wire.get("error")),
            tuple(shortened),
        )


@dataclass(frozen=True)
class Fetched:
    """One answer of `exchange.get`, in the place of its id: the entry, or why there is none."""

    id: str | None
    entry: Entry | None = None
    error: ItemError | None = None

    @property
    def ok(self) -> bool:
        return self.entry is not None

    @property
    def code(self) -> str | None:
        return self.error.code if self.error is not None else None

    def to_wire(self) -> dict[str, Any]:
        if self.entry is not None:
            return {"ok": True, "item": self.entry.to_wire()}
        assert self.error is not None
        return {"ok": False, "id": self.id, "error": self.error.to_wire()}

    @classmethod
    def from_wire(cls, kind: str, wire: Any) -> "Fetched":
        what = "an answer of get"
        wire = _map(wire, what)
        if wire.get("ok") is True:
            entry = entry_from_wire(kind, wire.get("item"), checked=False)
            return cls(entry.id, entry)
        if wire.get("ok") is not False:
            raise _invalid(f"{what} needs ok, true or false")
        return cls(_optional_text(wire, "id", what), error=ItemError.from_wire(wire.get("error")))


CHANGE_KINDS = ("create", "update", "delete", "unsupported")


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

    @classmethod
    def from_wire(cls, kind: str, wire: Any) -> "Change":
        """`kind`: the kind of entry the folder holds (an item comes with the change only from an
        older gateway, or when asked `with_items`)."""
        what = "a change"
        wire = _map(wire, what)
        change, item_id = wire.get("type"), wire.get("id")
        if change not in CHANGE_KINDS or not isinstance(item_id, str) or not item_id:
            raise _invalid(f"{what} needs a type ({', '.join(CHANGE_KINDS)}) and an id")
        item = wire.get("item")
        return cls(
            change,
            item_id,
            entry_from_wire(kind, item, checked=False) if item is not None else None,
            _optional_text(wire, "change_key", what),
            _optional_text(wire, "item_type", what),
        )


@dataclass(frozen=True)
class ChangePage:
    """One page of `exchange.changes`: the changes, the sync state after them, and whether the
    folder has no more changes since that state (`complete`)."""

    changes: tuple[Change, ...]
    sync_state: str | None
    complete: bool

    def to_wire(self) -> dict[str, Any]:
        return {
            "changes": [c.to_wire() for c in self.changes],
            "sync_state": self.sync_state,
            "complete": self.complete,
        }

    @classmethod
    def from_wire(cls, kind: str, wire: Any) -> "ChangePage":
        what = "a page of changes"
        wire = _map(wire, what)
        changes = _list(wire.get("changes"), f"{what}'s changes")
        complete = wire.get("complete")
        if not isinstance(complete, bool):
            raise _invalid(f"{what} needs complete, true or false")
        return cls(
            tuple(Change.from_wire(kind, c) for c in changes), _optional_text(wire, "sync_state", what), complete
        )


@dataclass(frozen=True)
class Found:
    """The answer of `exchange.find_external`: per external id the items carrying it, in the order
    Exchange lists them (asked without `all_matches`, the gateway answers only the first)."""

    items: Mapping[str, tuple[Entry, ...]]

    def first(self, external_id: str) -> Entry | None:
        entries = self.items.get(external_id, ())
        return entries[0] if entries else None

    def to_wire(self, all_matches: bool = True) -> dict[str, Any]:
        if all_matches:
            return {key: [e.to_wire() for e in entries] for key, entries in self.items.items() if entries}
        return {key: entries[0].to_wire() for key, entries in self.items.items() if entries}

    @classmethod
    def from_wire(cls, kind: str, wire: Any, all_matches: bool = True) -> "Found":
        wire = _map(wire, "the items found by external id")
        items: dict[str, tuple[Entry, ...]] = {}
        for key, value in wire.items():
            if not isinstance(key, str):
                raise _invalid("the items found are keyed by external id")
            listed = _list(value, "the items found for an external id") if all_matches else [value]
            items[key] = tuple(entry_from_wire(kind, e, checked=False) for e in listed)
        return cls(items)


def contacts_from_wire(wire: Any) -> list[ContactEntry]:
    """The answer of `exchange.search_contacts`: the contacts found."""
    return [ContactEntry.from_wire(c, checked=False) for c in _list(wire, "the contacts found")]


MAX_SERIES = 100  # masters in one request of `exchange.occurrences`


@dataclass(frozen=True)
class Occurrences:
    """The answer of `exchange.occurrences`: per master asked, every occurrence and exception of
    its series overlapping the window (sorted by original start; a deleted occurrence is absent),
    or why there are none (`not_found`: the series is gone)."""

    by_series: Mapping[str, "tuple[CalendarEntry, ...] | ItemError"]

    def to_wire(self) -> dict[str, Any]:
        return {
            master: {"error": found.to_wire()}
            if isinstance(found, ItemError)
            else {"items": [e.to_wire() for e in found]}
            for master, found in self.by_series.items()
        }

    @classmethod
    def from_wire(cls, wire: Any) -> "Occurrences":
        what = "the occurrences of a series"
        by_series: dict[str, tuple[CalendarEntry, ...] | ItemError] = {}
        for master, answer in _map(wire, "the occurrences by series").items():
            if not isinstance(master, str) or not master:
                raise _invalid("the occurrences are keyed by their master's id")
            answer = _map(answer, what)
            if "error" in answer:
                by_series[master] = ItemError.from_wire(answer["error"])
                continue
            entries = tuple(CalendarEntry.from_wire(e, checked=False) for e in _list(answer.get("items"), what))
            if any(e.series_type not in (OCCURRENCE, EXCEPTION) or e.series_id != master for e in entries):
                raise _invalid(f"{what} {master!r} holds an item that is not one of its occurrences")
            by_series[master] = entries
        return cls(by_series)
