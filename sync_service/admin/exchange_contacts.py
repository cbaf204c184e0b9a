"""`contact add LOGIN --exchange ID-OR-EMAIL`: an existing Exchange contact joins the user's
contact sync, matched to a PC CADDIE person (the same e-mail address and name, never a guess), or
to the person chosen, or to a new person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from protocol.entries import ContactEntry, EntryError

from ..core.contact_content import contact_names
from ..core.permissions import FieldGroup, FieldMode, field_mode, may_sync_contacts
from ..engine.contacts import candidates_for, only_match, same_name
from ..store.models import ContactSubscription, Person
from ..store.read_model import subject_for
from . import AdminError
from .lookups import person_by_id, user_by_login
from .persons import MAX_EMAILS
from .subscriptions import _now
from .timetable import utc_now


@dataclass(frozen=True)
class Matched:
    person: Person
    how: str  # e-mail | chosen | new


def read_contacts(wire: Sequence[Any]) -> list[ContactEntry]:
    """The gateway's contacts (its answer to a search, or the items `get` read), as entries."""
    try:
        return [ContactEntry.from_wire(c, checked=False) for c in wire]
    except EntryError as refused:
        raise AdminError(f"the gateway's answer is malformed: {refused.message}") from None


def choose_contact(wanted: str, candidates: Sequence[ContactEntry]) -> ContactEntry:
    """The one Exchange contact meant by `wanted` (an e-mail address or an Exchange id)."""
    if "@" in wanted:
        candidates = [c for c in candidates if wanted.casefold() in (e.casefold() for e in c.emails)]
    if not candidates:
        raise AdminError(f"no Exchange contact matches {wanted!r}")
    if len(candidates) > 1:
        listing = "; ".join(f"{c.display_name or '?'} <{', '.join(c.emails)}> id {c.id}" for c in candidates[:5])
        raise AdminError(f"{len(candidates)} Exchange contacts match {wanted!r}; give the id of one: {listing}")
    return candidates[0]


def _describe(person: Person) -> str:
    emails = ", ".join(e for e in (person.email1, person.email2, person.email3) if e)
    return f"person {person.id} {person.first_name} {person.last_name}" + (f" <{emails}>" if emails else "")


def match_person(contact: ContactEntry, modes: Mapping[str, FieldMode] | None = None) -> Matched:
    """The one PC CADDIE person an Exchange contact is: the person with one of its e-mail
    addresses and its name. Never a guess: several candidates, or an e-mail address whose owner's
    name differs, are refused with the candidates listed; with none at all a new person is made
    (its names, and what the modes let come from Exchange)."""
    if (matched := only_match(contact)) is not None:
        return Matched(person_by_id(matched), "e-mail")
    by_email, by_name = candidates_for(contact)
    first, last = contact_names(contact)
    both = [p for p in by_email if same_name(p, first, last)]
    candidates = {p.id: p for p in [*by_email, *by_name]}
    if candidates:
        shown = f"{first} {last}".strip() or (contact.display_name or "?")
        if both:
            why = "several persons have its e-mail address and name"
        elif by_email:
            why = "its e-mail address belongs to a person of another name"
        else:
            why = "several persons of that name" if len(by_name) > 1 else "the same name, no e-mail address to tell"
        listing = "; ".join(_describe(p) for p in list(candidates.values())[:10])
        raise AdminError(
            f"the Exchange contact {shown!r} is not matched to a person ({why}): {listing}. "
            "Choose one with --person ID, or make a new person with --new"
        )
    return Matched(new_person(contact, modes), "new")


def new_person(contact: ContactEntry, modes: Mapping[str, FieldMode] | None = None) -> Person:
    """A person made from an Exchange contact: its names, and the groups whose mode lets Exchange's
    values come in (`sync`; without modes, all)."""
    first, last = contact_names(contact)

    def comes_in(group: FieldGroup) -> bool:
        return modes is None or modes.get(group.value) is FieldMode.SYNC

    values: dict[str, Any] = {"first_name": first, "last_name": last}
    if comes_in(FieldGroup.ADDRESS):
        values.update({f: str(getattr(contact, f) or "") for f in ("street", "postal_code", "city", "country")})
    if comes_in(FieldGroup.PHONE):
        values.update({f: str(getattr(contact, f) or "") for f in ("phone_home", "phone_business", "phone_mobile")})
    if comes_in(FieldGroup.EMAIL):
        mails = [str(e) for e in contact.emails if e][:MAX_EMAILS] + [""] * MAX_EMAILS
        values.update(email1=mails[0], email2=mails[1], email3=mails[2])
    now = utc_now()
    return Person.create(created=now, modified=now, **values)


def check_may_add(login: str) -> None:
    if not may_sync_contacts(subject_for(user_by_login(login))):
        raise AdminError(f"{login} may not sync contacts (see `sync-service user permissions --contacts`)")


def add_exchange_contact(login: str, contact: ContactEntry, person_id: int | None = None, new: bool = False) -> Matched:
    """Put an Exchange contact on LOGIN's list: matched to a person (see match_person), or to the
    person chosen (`person_id`), or to a new person (`new`)."""
    user = user_by_login(login)
    check_may_add(login)
    taken = ContactSubscription.get_or_none(
        ContactSubscription.user == user, ContactSubscription.exchange_id == contact.id
    )
    if taken is not None:
        raise AdminError(f"that Exchange contact is on {login}'s contact list already (person {taken.person_id})")
    modes = {g.value: field_mode(subject_for(user), g) for g in FieldGroup}
    if person_id is not None and new:
        raise AdminError("give --person ID or --new, not both")
    if person_id is not None:
        matched = Matched(person_by_id(person_id), "chosen")
    elif new:
        matched = Matched(new_person(contact, modes), "new")
    else:
        matched = match_person(contact, modes)
    if ContactSubscription.get_or_none(user=user, person=matched.person) is not None:
        raise AdminError(f"person {matched.person.id} is on {login}'s contact list already")
    ContactSubscription.create(
        user=user, person=matched.person, source="exchange", exchange_id=contact.id, created=_now()
    )
    return matched
