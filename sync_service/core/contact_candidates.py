"""The contacts a person about to be made in Exchange might already be: what the lookup before a
create hands to `contact_decide.existing_contact`, found either by the gateway's search
(`exchange.search_contacts`, one read of the whole folder per text) or, when a cycle has more
persons to look up than a few searches are worth, in the folder read once and indexed here.

Both ways find the same contacts for a person, so the decision does not depend on the way:
the contacts with one of the person's e-mail addresses, else (none has one) those whose names
contain the person's name. Of the contacts a search finds by a name only (or an e-mail address
found in a name), `existing_contact` can take only one made for the person by an earlier link
(any other shares no e-mail address with the person), so the index keeps those by the person
the external id names, and applies the search's own rule to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from protocol.entries import ContactEntry

from .contact_content import NAMES, Groups
from .contact_decide import made_for

# At most this many searches in a cycle: searched; more: the folder is read once. A search reads
# the whole folder on the gateway's side (FindItem, 100 contacts a request); reading it for the
# index takes a feed from no state (512 ids a request, none on a first sync) and GetItem (250 a
# request), and carries every contact to the sync: a person listed by hand (an e-mail address and
# a name: 1 or 2 searches) is searched for, anything more costs the folder once.
FEW_SEARCHES = 2


def search_texts(local: Groups) -> tuple[tuple[str, ...], str]:
    """What the lookup searches for a person: each of its e-mail addresses, and its name (asked
    only when none of the addresses finds a contact)."""
    return tuple(local["email"]), " ".join(part for part in local[NAMES] if part)


def searches_at_most(persons: Iterable[Groups]) -> int:
    """How many searches looking these persons up may take."""
    total = 0
    for local in persons:
        emails, name = search_texts(local)
        total += len(emails) + (1 if name else 0)
    return total


def _email_key(text: Any) -> str:
    return str(text).strip().casefold()


def _names_contain(contact: ContactEntry, text: str) -> bool:
    """The gateway search's rule for a name: the display name or the names, either way round,
    contain the text, case not counting."""
    needle = text.strip().casefold()
    given, surname = contact.given_name, contact.surname
    names = (contact.display_name, f"{given} {surname}", f"{surname} {given}")
    return bool(needle) and any(needle in name.casefold() for name in names)


@dataclass(frozen=True)
class ContactIndex:
    """The folder's contacts by e-mail address, and those an earlier link of this user made, by
    the person it made them for; each in the order the folder was read."""

    by_email: Mapping[str, tuple[ContactEntry, ...]]
    made_for: Mapping[int, tuple[ContactEntry, ...]]


def index_contacts(user_id: int, contacts: Sequence[ContactEntry]) -> ContactIndex:
    by_email: dict[str, list[ContactEntry]] = {}
    ours: dict[int, list[ContactEntry]] = {}
    for contact in contacts:
        for key in dict.fromkeys(_email_key(e) for e in contact.emails):
            if key:
                by_email.setdefault(key, []).append(contact)
        person_id = made_for(contact.external_id, user_id)
        if person_id is not None:
            ours.setdefault(person_id, []).append(contact)
    return ContactIndex(
        {k: tuple(v) for k, v in by_email.items()},
        {k: tuple(v) for k, v in ours.items()},
    )


def found_in(index: ContactIndex, person_id: int, local: Groups) -> list[ContactEntry]:
    """The contacts of the index the searches for the person would find that can be the person."""
    emails, name = search_texts(local)
    ours = index.made_for.get(person_id, ())
    found: list[ContactEntry] = []
    for text in emails:
        found += index.by_email.get(_email_key(text), ())
        found += [c for c in ours if _names_contain(c, text)]
    if not found and name:
        found += [c for c in ours if _names_contain(c, name)]
    return found
