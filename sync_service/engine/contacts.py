"""A person row as the contact sync compares it: its field groups (see core/contact_content, the
pure part: groups, digests, the gateway entry's fields) read from the row."""

from __future__ import annotations

from typing import Any

import peewee as pw

from protocol.entries import ContactEntry
from protocol.text_limits import utf16_length

from ..core.contact_content import NAMES, PERSON_FIELDS, Groups, clean, contact_names, held, name_key, same_names
from ..store.models import Person


def person_groups(person: Person) -> Groups:
    return {
        NAMES: (held(person.first_name), held(person.last_name)),
        "address": tuple(held(getattr(person, f)) for f in PERSON_FIELDS["address"]),
        "phone": tuple(held(getattr(person, f)) for f in PERSON_FIELDS["phone"]),
        "email": tuple(e for e in (clean(person.email1), clean(person.email2), clean(person.email3)) if e),
    }


def overlong(person: Person) -> list[str]:
    """The person's columns whose text is over Exchange's limit (shortened there)."""
    columns = [*PERSON_FIELDS[NAMES], *PERSON_FIELDS["address"], *PERSON_FIELDS["phone"]]
    return [c for c in columns if utf16_length(clean(getattr(person, c))) != utf16_length(held(getattr(person, c)))]


def same_name(person: Person, first: str, last: str) -> bool:
    return same_names(person.first_name, person.last_name, first, last)


class PersonNames:
    """Every person by its name as the matching compares it (core/contact_content.name_key), the
    persons read once for any number of look-ups."""

    def __init__(self) -> None:
        self._named: dict[tuple[str, str], list[Person]] = {}
        for person in Person.select().order_by(Person.id):
            self._named.setdefault(_key(person.first_name, person.last_name), []).append(person)

    def named(self, first: str, last: str) -> list[Person]:
        return list(self._named.get(_key(first, last), ()))


def _key(first: Any, last: Any) -> tuple[str, str]:
    return name_key(str(first or "")), name_key(str(last or ""))


def candidates_for(contact: ContactEntry, names: PersonNames | None = None) -> tuple[list[Person], list[Person]]:
    """(persons sharing an e-mail address with an Exchange contact, persons of its name). `names`:
    the persons by name, read once for many contacts (else read for this one)."""
    emails = sorted({str(e).strip().casefold() for e in contact.emails if str(e).strip()})
    by_email: list[Person] = []
    if emails:
        same_email = (
            pw.fn.LOWER(pw.fn.TRIM(Person.email1)).in_(emails)
            | pw.fn.LOWER(pw.fn.TRIM(Person.email2)).in_(emails)
            | pw.fn.LOWER(pw.fn.TRIM(Person.email3)).in_(emails)
        )
        by_email = list(Person.select().where(same_email).order_by(Person.id))
    first, last = contact_names(contact)
    by_name = (names or PersonNames()).named(first, last) if last or first else []
    return by_email, by_name


def only_match(contact: ContactEntry, names: PersonNames | None = None) -> int | None:
    """The one person +ADD matches an Exchange contact to (the only person with one of its e-mail
    addresses and its name, and the only one of that name), else None: never a guess."""
    by_email, by_name = candidates_for(contact, names)
    first, last = contact_names(contact)
    both = [p for p in by_email if same_name(p, first, last)]
    return both[0].id if len(both) == 1 and len(by_name) == 1 else None
