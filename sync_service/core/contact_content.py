"""A contact as the sync compares it: four field groups, each with its own content and digest, so
that each can follow the user's mode for it (names always travel both ways; address, phone and
e-mail follow `no`, `export` or `sync`). Pure: the gateway entry's fields and the person's columns
as plain values; reading a person row is engine/contacts.py's."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any, Mapping

from protocol.entries import ContactEntry
from protocol.text_limits import shorten

from .permissions import FieldGroup, FieldMode

NAMES = "names"
GROUPS = (NAMES, FieldGroup.ADDRESS.value, FieldGroup.PHONE.value, FieldGroup.EMAIL.value)
ENTRY_FIELDS = {
    NAMES: ("given_name", "surname"),  # the display name and File-as: the gateway's (a user's own are kept)
    "address": ("street", "postal_code", "city", "country"),
    "phone": ("phone_home", "phone_business", "phone_mobile"),
    "email": ("emails",),
}
PERSON_FIELDS = {
    NAMES: ("first_name", "last_name"),
    "address": ("street", "postal_code", "city", "country"),
    "phone": ("phone_home", "phone_business", "phone_mobile"),
}
Groups = dict[str, tuple[str, ...]]


def digest(values: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:32]


def clean(value: Any) -> str:
    return str(value or "").strip()


def held(value: Any) -> str:
    """A person's text as Exchange can hold it (a name, an address part or a number over Exchange's
    limit is shortened there; the whole text stays in PC CADDIE and is compared as Exchange holds it)."""
    return shorten(clean(value))


def entry_groups(entry: ContactEntry) -> Groups:
    return {
        NAMES: (clean(entry.given_name), clean(entry.surname)),
        "address": tuple(clean(getattr(entry, f)) for f in ENTRY_FIELDS["address"]),
        "phone": tuple(clean(getattr(entry, f)) for f in ENTRY_FIELDS["phone"]),
        "email": tuple(e for e in (clean(x) for x in entry.emails) if e),
    }


def normal(group: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """A group's values as compared and stored: e-mail addresses without gaps, others as they are."""
    if group == "email":
        return tuple(v for v in values if v)
    return tuple(values)


def is_empty(values: tuple[str, ...]) -> bool:
    return not any(values)


def entry_values(group: str, values: tuple[str, ...]) -> dict[str, Any]:
    """The gateway entry's fields for one group (ContactEntry's keyword arguments)."""
    if group == NAMES:
        first, last = values
        return {"given_name": first, "surname": last}
    if group == "email":
        return {"emails": tuple(values)[:3]}
    return dict(zip(ENTRY_FIELDS[group], values))


def contact_entry(groups: Mapping[str, tuple[str, ...]], external_id: str | None = None) -> ContactEntry:
    """The gateway's contact entry of these groups' values (the others empty), and the fields they
    are written in, in the groups' order."""
    values: dict[str, Any] = {}
    for group, group_values in groups.items():
        values.update(entry_values(group, group_values))
    return ContactEntry(**values, external_id=external_id)


def entry_fields(groups: Mapping[str, object]) -> tuple[str, ...]:
    """The entry fields these groups are written in, in the groups' order."""
    return tuple(name for group in groups for name in ENTRY_FIELDS[group])


def person_values(group: str, values: tuple[str, ...]) -> dict[str, str]:
    """Person columns for one group."""
    if group == "email":
        padded = list(values)[:3] + [""] * 3
        return {"email1": padded[0], "email2": padded[1], "email3": padded[2]}
    return dict(zip(PERSON_FIELDS[group], values))


def exported_groups(modes: Mapping[str, FieldMode]) -> list[str]:
    """The groups written into Exchange at all: names, and those whose mode is export or sync."""
    return [g for g in GROUPS if g == NAMES or modes.get(g) in (FieldMode.EXPORT, FieldMode.SYNC)]


def name_key(text: str) -> str:
    """A name as the matching compares it: Unicode form, case and spaces do not count, nor umlaut
    spellings (Müller, Mueller and MÜLLER are one name)."""
    folded = " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        folded = folded.replace(umlaut, spelled)
    return folded


def contact_names(contact: ContactEntry) -> tuple[str, str]:
    """First and last name of an Exchange contact: its given name and surname, else its display
    name ("Max Muster", or "Muster, Max" as Outlook files it)."""
    first = " ".join(contact.given_name.split())
    last = " ".join(contact.surname.split())
    if first or last:
        return first, last
    shown = " ".join(contact.display_name.split())
    if "," in shown:
        surname, _, given = shown.partition(",")
        return given.strip(), surname.strip()
    parts = shown.rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])


def same_names(first: str, last: str, other_first: str, other_last: str) -> bool:
    return (name_key(first), name_key(last)) == (name_key(other_first), name_key(other_last))
