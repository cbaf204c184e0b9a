"""`contact add LOGIN --exchange ID-OR-EMAIL`: an existing Exchange contact joins the user's
contact sync, matched to a PC CADDIE person by e-mail, then by name, or made a new person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import peewee as pw

from ..permissions import may_sync_contacts
from ..store.models import ContactSubscription, Person
from . import AdminError
from .lookups import user_by_login
from .persons import MAX_EMAILS
from .subscriptions import _now
from .timetable import utc_now
from .users import subject_for


@dataclass(frozen=True)
class Matched:
    person: Person
    how: str  # e-mail | name | new


def choose_contact(wanted: str, candidates: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The one Exchange contact meant by `wanted` (an e-mail address or an Exchange id)."""
    if "@" in wanted:
        exact = [c for c in candidates if wanted.casefold() in (e.casefold() for e in c.get("emails", []))]
        candidates = exact
    if not candidates:
        raise AdminError(f"no Exchange contact matches {wanted!r}")
    if len(candidates) > 1:
        listing = "; ".join(
            f"{c.get('display_name') or '?'} <{', '.join(c.get('emails', []))}> id {c.get('id')}"
            for c in candidates[:5]
        )
        raise AdminError(f"{len(candidates)} Exchange contacts match {wanted!r}; give the id of one: {listing}")
    return candidates[0]


def _names(contact: Mapping[str, Any]) -> tuple[str, str]:
    first, last = contact.get("given_name", "").strip(), contact.get("surname", "").strip()
    if not first and not last:
        parts = (contact.get("display_name") or "").strip().rsplit(" ", 1)
        first, last = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    return first, last or "(unknown)"


def match_person(contact: Mapping[str, Any]) -> Matched:
    emails = [e.casefold() for e in contact.get("emails", []) if e]
    if emails:
        same_email = (
            pw.fn.LOWER(Person.email1).in_(emails)
            | pw.fn.LOWER(Person.email2).in_(emails)
            | pw.fn.LOWER(Person.email3).in_(emails)
        )
        person = Person.select().where(same_email).order_by(Person.id).first()
        if person is not None:
            return Matched(person, "e-mail")
    first, last = _names(contact)
    for person in Person.select().where(Person.last_name == last):
        if person.first_name.casefold() == first.casefold():
            return Matched(person, "name")
    now = utc_now()
    mails = list(contact.get("emails", []))[:MAX_EMAILS] + [""] * MAX_EMAILS
    person = Person.create(
        first_name=first or "-", last_name=last,
        street=contact.get("street", ""), postal_code=contact.get("postal_code", ""),
        city=contact.get("city", ""), country=contact.get("country", ""),
        phone_home=contact.get("phone_home", ""), phone_business=contact.get("phone_business", ""),
        phone_mobile=contact.get("phone_mobile", ""),
        email1=mails[0], email2=mails[1], email3=mails[2], created=now, modified=now,
    )  # fmt: skip
    return Matched(person, "new")


def check_may_add(login: str) -> None:
    if not may_sync_contacts(subject_for(user_by_login(login))):
        raise AdminError(f"{login} may not sync contacts (see `sync-service user permissions --contacts`)")


def add_exchange_contact(login: str, contact: Mapping[str, Any]) -> Matched:
    user = user_by_login(login)
    check_may_add(login)
    taken = ContactSubscription.get_or_none(
        ContactSubscription.user == user, ContactSubscription.exchange_id == contact["id"]
    )
    if taken is not None:
        raise AdminError(f"that Exchange contact is on {login}'s contact list already (person {taken.person_id})")
    matched = match_person(contact)
    if ContactSubscription.get_or_none(user=user, person=matched.person) is not None:
        raise AdminError(f"person {matched.person.id} is on {login}'s contact list already")
    ContactSubscription.create(
        user=user, person=matched.person, source="exchange", exchange_id=contact["id"], created=_now()
    )
    return matched
