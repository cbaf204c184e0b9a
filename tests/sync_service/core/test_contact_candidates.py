"""The contacts the lookup before a create finds for a person (core.contact_candidates): in the
folder read once, the same as the gateway's searches would find and `existing_contact` can take."""

from __future__ import annotations

from protocol.entries import ContactEntry
from sync_service.core.contact_candidates import (
    FEW_SEARCHES,
    found_in,
    index_contacts,
    search_texts,
    searches_at_most,
)
from sync_service.core.contact_decide import external_id_for

MAX = {"names": ("Max", "Muster"), "address": ("", "", "", ""), "phone": ("", "", ""), "email": ("max@example.com",)}
NO_EMAIL = {**MAX, "email": ()}


def contact(item_id: str, first="Max", last="Muster", emails=("max@example.com",), external_id=None, shown=None):
    return ContactEntry(
        id=item_id,
        given_name=first,
        surname=last,
        display_name=shown if shown is not None else f"{first} {last}".strip(),
        emails=tuple(emails),
        external_id=external_id,
    )


def test_the_texts_searched_and_how_many_searches_at_most():
    assert search_texts(MAX) == (("max@example.com",), "Max Muster")
    assert search_texts({**NO_EMAIL, "names": ("", "Muster")}) == ((), "Muster")
    assert searches_at_most([MAX, NO_EMAIL]) == 3 and searches_at_most([]) == 0
    assert searches_at_most([MAX, MAX]) > FEW_SEARCHES  # two persons: the folder is read once


def test_contacts_with_one_of_the_e_mail_addresses_case_and_spaces_not_counting():
    mine = contact("A", "Erika", "Other", emails=(" MAX@Example.com ",))
    other = contact("B", emails=("other@example.com",))
    index = index_contacts(1, [mine, other])
    assert found_in(index, 7, MAX) == [mine]
    both = {**MAX, "email": ("max@example.com", "other@example.com")}
    assert found_in(index, 7, both) == [mine, other]


def test_by_name_only_a_contact_an_earlier_link_made_for_the_person():
    ours = contact("A", emails=(), external_id=external_id_for(1, 7, "x"))
    users = contact("B", emails=())  # a name alone never matches a user's contact
    another = contact("C", emails=(), external_id=external_id_for(1, 8, "y"))  # made for person 8
    index = index_contacts(1, [ours, users, another])
    assert found_in(index, 7, NO_EMAIL) == [ours]
    assert found_in(index, 7, MAX) == [ours]  # no contact has the address: its name is searched
    assert found_in(index, 9, NO_EMAIL) == []


def test_the_name_search_is_the_gateways_a_part_of_a_name_either_way_round():
    renamed = contact("A", "Maximilian", "Muster-Schmidt", emails=(), external_id=external_id_for(1, 7, "x"))
    filed = contact("B", "", "", emails=(), external_id=external_id_for(1, 7, "y"), shown="Dr. Max Muster")
    index = index_contacts(1, [renamed, filed])
    assert found_in(index, 7, {**NO_EMAIL, "names": ("", "Muster")}) == [renamed, filed]
    assert found_in(index, 7, {**NO_EMAIL, "names": ("Max", "Muster")}) == [filed]  # its display name
    assert found_in(index, 7, {**NO_EMAIL, "names": ("Schmidt", "Maximilian")}) == [renamed]  # surname first
    assert found_in(index, 7, {**NO_EMAIL, "names": ("Moritz", "Muster")}) == []


def test_a_name_is_not_searched_once_an_address_found_a_contact():
    by_address = contact("A", "Erika", "Other")
    ours = contact("B", emails=(), external_id=external_id_for(1, 7, "x"))
    assert found_in(index_contacts(1, [by_address, ours]), 7, MAX) == [by_address]


def test_an_earlier_contact_of_another_user_is_not_ours():
    theirs = contact("A", emails=(), external_id=external_id_for(2, 7, "x"))
    assert found_in(index_contacts(1, [theirs]), 7, NO_EMAIL) == []
