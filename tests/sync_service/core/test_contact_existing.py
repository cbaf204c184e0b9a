"""The existing contact a person about to be made in Exchange is (core.contact_decide): never a guess."""

from __future__ import annotations

from protocol.entries import ContactEntry
from sync_service.core.contact_decide import Existing, existing_contact, external_id_for, made_for

MAX = {"names": ("Max", "Muster"), "address": ("", "", "", ""), "phone": ("", "", ""), "email": ("max@example.com",)}


def contact(item_id: str, first="Max", last="Muster", *emails: str, external_id=None) -> ContactEntry:
    return ContactEntry(
        id=item_id,
        given_name=first,
        surname=last,
        emails=tuple(emails or ["max@example.com"]),
        external_id=external_id,
    )


def choose(found, taken=(), only=lambda c: 7, person_id=7):
    return existing_contact(1, person_id, MAX, found, set(taken), only)


def test_external_ids_name_user_and_person():
    assert made_for(external_id_for(1, 7, "abc"), 1) == 7
    assert made_for(external_id_for(1, 7, "abc"), 2) is None  # another user's sync
    assert made_for("pccaddie-contact:1:0a1b", 1) is None  # from before ids named the person
    assert made_for("pccaddie:3:7:x", 1) is None and made_for(None, 1) is None


def test_an_earlier_links_contact_comes_first_even_renamed_and_without_e_mail():
    ours = contact("A", "Maxi", "Other", "x@y.z", external_id=external_id_for(1, 7, "old"))
    alike = contact("B")
    assert choose([alike, ours]) == Existing(ours, made_by_sync=True)


def test_two_earlier_contacts_are_not_told_apart():
    one, two = (contact(i, external_id=external_id_for(1, 7, i)) for i in ("A", "B"))
    assert choose([one, two]) == Existing(alike=("A", "B"))


def test_the_one_contact_with_e_mail_and_name_alike():
    found = contact("A", " max ", "MUSTER", "MAX@example.com")
    assert choose([found, found]) == Existing(found)  # the same contact found twice is one
    assert choose([contact("A", "Max", "Müller")]) == Existing()  # another name
    assert choose([contact("A", "Max", "Muster", "other@example.com")]) == Existing()  # another address


def test_umlaut_spellings_are_one_name():
    person = {**MAX, "names": ("Jörg", "Müller")}
    found = contact("A", "Joerg", "MUELLER")
    assert existing_contact(1, 7, person, [found], set(), lambda c: 7) == Existing(found)


def test_several_alike_or_a_contact_another_person_may_be_are_refused():
    assert choose([contact("A"), contact("B")]) == Existing(alike=("A", "B"))
    assert choose([contact("A")], only=lambda c: None) == Existing(alike=("A",))  # two persons of that name
    assert choose([contact("A")], only=lambda c: 8) == Existing(alike=("A",))


def test_taken_contacts_and_contacts_made_for_another_person_are_never_adopted():
    assert choose([contact("A")], taken={"A"}) == Existing()
    assert (
        choose([contact("A", external_id="pccaddie-contact:1:held")], taken={"pccaddie-contact:1:held"}) == Existing()
    )
    assert choose([contact("A", external_id=external_id_for(1, 8, "x"))]) == Existing()


def test_a_person_without_e_mail_is_matched_by_an_earlier_contact_only():
    person = {**MAX, "email": ()}
    assert existing_contact(1, 7, person, [contact("A")], set(), lambda c: 7) == Existing()
