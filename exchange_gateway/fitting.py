"""Entries shortened to fit Exchange's limits on the text fields the sync writes (any backend:
EWS and Graph reach the same store, with the same limits).

Exchange stores a subject, a location, a contact's names, address parts and phone numbers in at
most 255 characters (counted as .NET does, in UTF-16 code units), and a category name likewise;
exchangelib refuses a longer subject or name before the request is even sent (ValueError). An
entry is shortened to fit before it is built; the original text stays in PC CADDIE, and the
item's result names the fields that were shortened. Bodies have no such limit (only the item's
size, which Exchange checks itself).
"""

from __future__ import annotations

import dataclasses

from protocol.entries import CalendarEntry, ContactEntry
from protocol.text_limits import MAX_TEXT, shorten, utf16_length

__all__ = ["MAX_TEXT", "fit", "fit_calendar", "fit_contact", "shorten", "utf16_length"]
CALENDAR_LIMITS = {"subject": MAX_TEXT, "location": MAX_TEXT}
CONTACT_TEXTS = (
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
)
CONTACT_LIMITS = dict.fromkeys(CONTACT_TEXTS, MAX_TEXT)
MAX_CATEGORY = MAX_TEXT


def fit_calendar(entry: CalendarEntry) -> tuple[CalendarEntry, tuple[str, ...]]:
    """The entry within Exchange's limits, and the names of the fields shortened."""
    changes: dict[str, object] = {}
    for name, limit in CALENDAR_LIMITS.items():
        value = getattr(entry, name)
        if utf16_length(value) > limit:
            changes[name] = shorten(value, limit)
    categories = tuple(shorten(c, MAX_CATEGORY) for c in entry.categories)
    if categories != entry.categories:
        changes["categories"] = tuple(dict.fromkeys(categories))
    return (dataclasses.replace(entry, **changes) if changes else entry), tuple(changes)  # type: ignore[arg-type]


def fit_contact(entry: ContactEntry) -> tuple[ContactEntry, tuple[str, ...]]:
    changes: dict[str, object] = {}
    for name, limit in CONTACT_LIMITS.items():
        value = getattr(entry, name)
        if utf16_length(value) > limit:
            changes[name] = shorten(value, limit)
    return (dataclasses.replace(entry, **changes) if changes else entry), tuple(changes)  # type: ignore[arg-type]


def fit(entry: CalendarEntry | ContactEntry) -> tuple[CalendarEntry | ContactEntry, tuple[str, ...]]:
    return fit_calendar(entry) if isinstance(entry, CalendarEntry) else fit_contact(entry)
