"""A contact as the sync compares it: four field groups, each with its own content and digest, so
that each can follow the user's mode for it (names always travel both ways; address, phone and
e-mail follow `no`, `export` or `sync`)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from protocol.text_limits import shorten, utf16_length

from ..permissions import FieldGroup, FieldMode
from ..store.models import Person

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


def _clean(value: Any) -> str:
    return str(value or "").strip()


def _held(value: Any) -> str:
    """A person's text as Exchange can hold it (a name, an address part or a number over Exchange's
    limit is shortened there; the whole text stays in PC CADDIE and is compared as Exchange holds it)."""
    return shorten(_clean(value))


def person_groups(person: Person) -> Groups:
    return {
        NAMES: (_held(person.first_name), _held(person.last_name)),
        "address": tuple(_held(getattr(person, f)) for f in PERSON_FIELDS["address"]),
        "phone": tuple(_held(getattr(person, f)) for f in PERSON_FIELDS["phone"]),
        "email": tuple(e for e in (_clean(person.email1), _clean(person.email2), _clean(person.email3)) if e),
    }


def entry_groups(entry: Mapping[str, Any]) -> Groups:
    return {
        NAMES: (_clean(entry.get("given_name")), _clean(entry.get("surname"))),
        "address": tuple(_clean(entry.get(f)) for f in ENTRY_FIELDS["address"]),
        "phone": tuple(_clean(entry.get(f)) for f in ENTRY_FIELDS["phone"]),
        "email": tuple(e for e in (_clean(x) for x in entry.get("emails") or ()) if e),
    }


def normal(group: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """A group's values as compared and stored: e-mail addresses without gaps, others as they are."""
    if group == "email":
        return tuple(v for v in values if v)
    return tuple(values)


def is_empty(values: tuple[str, ...]) -> bool:
    return not any(values)


def entry_values(group: str, values: tuple[str, ...]) -> dict[str, Any]:
    """The gateway entry's fields for one group."""
    if group == NAMES:
        first, last = values
        return {"given_name": first, "surname": last}
    if group == "email":
        return {"emails": list(values)[:3]}
    return dict(zip(ENTRY_FIELDS[group], values))


def overlong(person: Person) -> list[str]:
    """The person's columns whose text is over Exchange's limit (shortened there)."""
    columns = [*PERSON_FIELDS[NAMES], *PERSON_FIELDS["address"], *PERSON_FIELDS["phone"]]
    return [c for c in columns if utf16_length(_clean(getattr(person, c))) != utf16_length(_held(getattr(person, c)))]


def person_values(group: str, values: tuple[str, ...]) -> dict[str, str]:
    """Person columns for one group."""
    if group == "email":
        padded = list(values)[:3] + [""] * 3
        return {"email1": padded[0], "email2": padded[1], "email3": padded[2]}
    return dict(zip(PERSON_FIELDS[group], values))


def exported_groups(modes: Mapping[str, FieldMode]) -> list[str]:
    """The groups written into Exchange at all: names, and those whose mode is export or sync."""
    return [g for g in GROUPS if g == NAMES or modes.get(g) in (FieldMode.EXPORT, FieldMode.SYNC)]
