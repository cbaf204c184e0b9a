"""+ADD: an Exchange contact matched to a PC CADDIE person (never a guess) and adopted by merging
both sides (issue 14)."""

from __future__ import annotations

import unicodedata

import pytest

from protocol.entries import ContactEntry
from sync_service.admin import AdminError
from sync_service.admin.exchange_contacts import add_exchange_contact, match_person
from sync_service.admin.persons import PersonInput, add_person
from sync_service.core.contact_content import contact_names, name_key
from sync_service.core.permissions import FieldMode
from sync_service.store.models import Person, SyncConflict
from tests.sync_service.engine.test_contact_sync import Contactsclub


@pytest.fixture
def club(tmp_path):
    return Contactsclub(tmp_path)


def person(club, first, last, *emails, **fields) -> int:
    return club.write(lambda: add_person(PersonInput(first_name=first, last_name=last, emails=emails, **fields)).id)


def contact(club, **entry) -> ContactEntry:
    """A contact a user made in Outlook, as the gateway reads it."""
    item_id = club.exchange.user_create(**entry)
    return ContactEntry.from_wire(club.exchange._view(club.exchange.items[item_id]), checked=False)


def test_names_compare_without_case_spaces_unicode_form_or_umlaut_spelling():
    decomposed = unicodedata.normalize("NFD", "Jörg Müller")
    assert name_key(decomposed) == name_key("jörg  müller ") == name_key("JOERG MUELLER")
    assert name_key("Groß") == name_key("gross")
    assert name_key("Max") != name_key("Moritz")
    assert contact_names(ContactEntry(display_name="Muster, Max")) == ("Max", "Muster")
    assert contact_names(ContactEntry(display_name="Max  Muster")) == ("Max", "Muster")
    assert contact_names(ContactEntry(given_name=" max ", surname="muster ")) == ("max", "muster")


def test_a_shared_family_address_is_matched_by_the_name_too(club):
    max_id = person(club, "Max", "Muster", "familie@muster.de")
    erika = person(club, "Erika", "Muster", "familie@muster.de")
    found = club.write(match_person, contact(club, given_name="Erika", surname="Muster", emails=["familie@muster.de"]))
    assert (found.person.id, found.how) == (erika, "e-mail")
    with pytest.raises(AdminError) as refused:
        club.write(match_person, contact(club, display_name="Familie Muster", emails=["familie@muster.de"]))
    assert f"person {max_id} Max Muster" in str(refused.value) and f"person {erika} Erika Muster" in str(refused.value)
    assert "--person ID" in str(refused.value) and "--new" in str(refused.value)


def test_an_address_whose_owner_has_another_name_is_refused(club):
    max_id = person(club, "Max", "Muster", "max@muster.de")
    with pytest.raises(AdminError, match=f"another name.*person {max_id} Max Muster"):
        club.write(match_person, contact(club, given_name="Moritz", surname="Muster", emails=["MAX@muster.de"]))


def test_two_people_of_one_name_are_never_chosen_between(club):
    first = person(club, "Peter", "Schmidt", "peter@schmidt.de")
    second = person(club, "Peter", "Schmidt", "p.schmidt@golf.de")
    outlook = contact(club, given_name="Peter", surname="Schmidt", phone_mobile="0171")
    with pytest.raises(AdminError, match="several persons of that name") as refused:
        club.write(match_person, outlook)
    assert f"person {first}" in str(refused.value) and f"person {second}" in str(refused.value)
    chosen = club.write(add_exchange_contact, "anna", outlook, person_id=second)
    assert (chosen.person.id, chosen.how) == (second, "chosen")
    with club.db.connection_context():
        assert Person.select().count() == 2


def test_a_name_matched_only_by_spelling_is_the_person(club):
    joerg = person(club, "Jörg", "Müller", "joerg@example.com")
    decomposed = contact(
        club, given_name=unicodedata.normalize("NFD", "jörg "), surname="MÜLLER", emails=["joerg@example.com"]
    )
    assert club.write(match_person, decomposed).person.id == joerg
    filed = contact(club, display_name="Mueller, Joerg", emails=["joerg@example.com"])
    assert club.write(match_person, filed).person.id == joerg


def test_a_new_person_takes_only_what_the_modes_let_in(club):
    outlook = contact(
        club, display_name="Muster, Max", street="Weg 1", city="Köln", phone_mobile="0171", emails=["max@example.com"]
    )
    made = club.write(add_exchange_contact, "anna", outlook)
    assert made.how == "new"
    new = club.person(made.person.id)
    assert (new.first_name, new.last_name) == ("Max", "Muster")  # not "Muster," and "Max"
    assert (new.street, new.city) == ("Weg 1", "Köln")  # address: sync
    assert (new.phone_mobile, new.email1) == ("", "")  # phone: export, e-mail: no


def test_new_makes_a_person_whoever_matches(club):
    person(club, "Peter", "Schmidt")
    outlook = contact(club, given_name="Peter", surname="Schmidt")
    made = club.write(add_exchange_contact, "anna", outlook, new=True)
    assert made.how == "new"
    with club.db.connection_context():
        assert Person.select().count() == 2


# -- adoption: a merge, never an overwrite ---------------------------------------------------


async def test_adoption_keeps_what_only_one_side_has_and_the_loser_of_a_difference(tmp_path):
    club = Contactsclub(tmp_path, address=FieldMode.SYNC, phone=FieldMode.SYNC, email=FieldMode.SYNC)
    erika = person(club, "Erika", "Muster", "familie@muster.de", city="Köln", street="Am Golfplatz 1")
    outlook = contact(
        club,
        given_name="Erika",
        surname="Muster",
        display_name="Erika Muster",
        street="Lindenweg 2",
        phone_mobile="0171 1",
        phone_business="0221 2",
        emails=["familie@muster.de", "erika@work.de"],
    )
    club.write(add_exchange_contact, "anna", outlook)
    assert (await club.sync()).error is None
    item, member = club.exchange.items[outlook.id], club.person(erika)
    assert (item["given_name"], item["surname"]) == ("Erika", "Muster")
    assert (item["phone_mobile"], item["phone_business"]) == ("0171 1", "0221 2")  # only Outlook had them: kept
    assert (member.phone_mobile, member.phone_business) == ("0171 1", "0221 2")
    assert item["emails"] == ["familie@muster.de", "erika@work.de"] == [member.email1, member.email2]
    assert item["city"] == member.city == "Köln"  # only PC CADDIE had it
    assert item["street"] == member.street == "Am Golfplatz 1"  # both had one: the policy (pccaddie-wins)
    with club.db.connection_context():
        (conflict,) = SyncConflict.select()
    assert conflict.winner == "pccaddie" and "Lindenweg 2" in conflict.loser_content
    assert (await club.sync()).counts == {}


async def test_adoption_with_an_export_group_never_wipes_outlook(club):
    carla = person(club, "Carla", "Chip")  # no phone in PC CADDIE; phone is export
    outlook = contact(club, given_name="Carla", surname="Chip", phone_mobile="0171 5")
    club.write(add_exchange_contact, "anna", outlook, person_id=carla)
    await club.sync()
    assert club.exchange.items[outlook.id]["phone_mobile"] == "0171 5"
    assert club.person(carla).phone_mobile == ""  # export: nothing comes in
    assert (await club.sync()).counts == {}


# -- what PC CADDIE does not own is never lost (issue 14, defect 10) ---------------------------


async def test_empty_name_parts_stay_empty_and_a_display_name_of_the_users_own_stays(club):
    outlook = contact(club, given_name="", surname="Birdie", display_name="Coach Birdie")
    made = club.write(add_exchange_contact, "anna", outlook)
    await club.sync()
    await club.sync()
    new, item = club.person(made.person.id), club.exchange.items[outlook.id]
    assert (new.first_name, new.last_name) == ("", "Birdie")
    assert (item["given_name"], item["surname"], item["display_name"]) == ("", "Birdie", "Coach Birdie")
    from sync_service.admin.persons import update_person

    club.write(update_person, made.person.id, PersonInput(first_name="Lena"))
    await club.sync()
    item = club.exchange.items[outlook.id]
    assert (item["given_name"], item["display_name"]) == ("Lena", "Coach Birdie")
