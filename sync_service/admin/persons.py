"""Person records: members, guests, staff."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from ..store.models import Person
from . import AdminError
from .lookups import person_by_id
from .timetable import utc_now

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAILS = 3


@dataclass(frozen=True)
class PersonInput:
    """None: not given (unchanged on update); "" clears a field."""

    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    phone_home: str | None = None
    phone_business: str | None = None
    phone_mobile: str | None = None
    emails: tuple[str, ...] | None = None


def _values(given: PersonInput) -> dict[str, str]:
    values = {}
    for f in fields(PersonInput):
        value = getattr(given, f.name)
        if value is None or f.name == "emails":
            continue
        values[f.name] = value.strip()
    for name in ("first_name", "last_name"):
        if name in values and not values[name]:
            raise AdminError(f"the {name.replace('_', ' ')} may not be empty")
    if given.emails is not None:
        emails = [e.strip() for e in given.emails if e.strip()]
        if len(emails) > MAX_EMAILS:
            raise AdminError(f"a person has at most {MAX_EMAILS} e-mail addresses, {len(emails)} were given")
        for email in emails:
            if not EMAIL.match(email):
                raise AdminError(f"{email!r} is not an e-mail address")
        emails += [""] * (MAX_EMAILS - len(emails))
        values.update(email1=emails[0], email2=emails[1], email3=emails[2])
    return values


def add_person(given: PersonInput) -> Person:
    if not (given.first_name or "").strip() or not (given.last_name or "").strip():
        raise AdminError("a person needs --first-name and --last-name")
    now = utc_now()
    return Person.create(created=now, modified=now, **_values(given))


def update_person(person_id: int, given: PersonInput) -> Person:
    person = person_by_id(person_id)
    for name, value in _values(given).items():
        setattr(person, name, value)
    person.modified = utc_now()
    person.save()
    return person


def list_persons() -> list[Person]:
    return list(Person.select().order_by(Person.last_name, Person.first_name, Person.id))
