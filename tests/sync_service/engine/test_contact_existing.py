"""Before a person is made in Exchange, its existing contact is looked for (issue 14): an earlier
link's contact, or the one contact with the person's e-mail address and name, is adopted by
merging; contacts alike that cannot be told apart are left alone and named in the report."""

from __future__ import annotations

import pytest

from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import add_contact, remove_contact
from sync_service.core.model import Side
from sync_service.core.permissions import FieldMode
from sync_service.store.models import SyncReportLine
from tests.sync_service.engine.test_contact_sync import MAX, Contactsclub, add_listed


@pytest.fixture
def club(tmp_path):
    return Contactsclub(tmp_path, address=FieldMode.SYNC, phone=FieldMode.SYNC, email=FieldMode.SYNC)


def report(club) -> list[tuple[str, str, str]]:
    with club.db.connection_context():
        return [(r.action, r.item, r.detail) for r in SyncReportLine.select().order_by(SyncReportLine.id)]


async def test_removed_then_added_again_adopts_the_contact_it_made(club):
    person_id = add_listed(club)
    await club.sync()
    (made,) = club.exchange.items
    club.write(remove_contact, "anna", person_id)  # the contact stays in Outlook
    await club.sync()
    assert club.links() == [] and list(club.exchange.items) == [made]
    club.exchange.user_update(made, phone_business="+49 221 5")  # typed while it was off the list
    club.write(add_contact, "anna", person_id)
    outcome = await club.sync()
    assert list(club.exchange.items) == [made]  # no second contact
    assert "created-to-exchange" not in outcome.counts
    (link,) = club.links()
    assert (link.exchange_id, link.person_id, Side(link.origin)) == (made, person_id, Side.PCCADDIE)
    assert club.person(person_id).phone_business == "+49 221 5"  # nothing typed in Outlook lost
    assert ("adopt", str(person_id), "existing contact: made by an earlier link") in report(club)
    assert (await club.sync()).counts == {}


async def test_a_pupil_already_in_outlook_is_adopted_and_merged(club):
    mine = club.exchange.user_create(
        given_name="max", surname="MUSTER ", emails=["Max@Example.com"], phone_home="+49 221 1", city=""
    )
    person_id = add_listed(club)
    outcome = await club.sync()
    assert list(club.exchange.items) == [mine] and "created-to-exchange" not in outcome.counts
    item = club.exchange.items[mine]
    assert (item["city"], item["phone_mobile"], item["phone_home"]) == ("Köln", "+49 170 1", "+49 221 1")
    person = club.person(person_id)
    assert (person.phone_home, person.city, person.first_name) == ("+49 221 1", "Köln", "Max")
    (link,) = club.links()
    assert (link.exchange_id, Side(link.origin)) == (mine, Side.EXCHANGE)  # the user's own: theirs on deletion
    assert ("adopt", str(person_id), "existing contact: its e-mail address and name") in report(club)


async def test_two_contacts_alike_are_not_told_apart_a_new_one_is_made(club):
    first = club.exchange.user_create(given_name="Max", surname="Muster", emails=["max@example.com"])
    second = club.exchange.user_create(given_name="Max", surname="Muster", emails=["max@example.com"])
    before = {i: dict(club.exchange.items[i]) for i in (first, second)}
    person_id = add_listed(club)
    outcome = await club.sync()
    assert outcome.counts["created-to-exchange"] == 1 and len(club.exchange.items) == 3
    assert {i: club.exchange.items[i] for i in (first, second)} == before  # neither touched
    assert club.links()[0].exchange_id not in (first, second)
    (line,) = [r for r in report(club) if r[0] == "create" and r[2]]
    assert line == ("create", str(person_id), f"contacts alike, none taken (not told apart): {first}, {second}")


async def test_an_e_mail_address_of_a_person_of_another_name_is_not_taken(club):
    erika = club.exchange.user_create(given_name="Erika", surname="Muster", emails=["max@example.com"])
    add_listed(club)
    await club.sync()
    assert len(club.exchange.items) == 2
    assert club.exchange.items[erika]["given_name"] == "Erika" and club.links()[0].exchange_id != erika


async def test_a_contact_matching_two_persons_of_that_name_is_not_taken(club):
    club.write(lambda: add_person(PersonInput(first_name="Max", last_name="Muster", emails=("other@example.com",))))
    mine = club.exchange.user_create(given_name="Max", surname="Muster", emails=["max@example.com"])
    person_id = add_listed(club)
    await club.sync()
    assert len(club.exchange.items) == 2 and club.links()[0].exchange_id != mine
    assert ("create", str(person_id), f"contacts alike, none taken (not told apart): {mine}") in report(club)


async def test_a_contact_made_for_another_person_or_held_by_a_link_is_not_taken(club):
    other = add_listed(club, PersonInput(first_name="Moritz", last_name="Muster", emails=("max@example.com",)))
    await club.sync()
    (moritz,) = club.exchange.items
    club.exchange.user_update(moritz, given_name="Max")  # now named as Max, but made for Moritz
    add_listed(club)
    await club.sync()
    assert len(club.exchange.items) == 2
    assert {link.person_id: link.exchange_id for link in club.links()}[other] == moritz


async def test_a_person_without_e_mail_finds_its_earlier_contact_by_name(club):
    person_id = add_listed(club, PersonInput(first_name="Jörg", last_name="Müller", city="Bonn"))
    await club.sync()
    (made,) = club.exchange.items
    club.write(remove_contact, "anna", person_id)
    await club.sync()
    club.write(add_contact, "anna", person_id)
    await club.sync()
    assert list(club.exchange.items) == [made] and club.links()[0].exchange_id == made


async def test_a_person_without_e_mail_is_not_matched_to_a_users_contact_by_name_alone(club):
    mine = club.exchange.user_create(given_name="Jörg", surname="Müller")
    add_listed(club, PersonInput(first_name="Jörg", last_name="Müller", city="Bonn"))
    await club.sync()
    assert len(club.exchange.items) == 2 and club.links()[0].exchange_id != mine


async def test_the_search_is_not_asked_for_a_create_owed(club):
    add_listed(club, MAX)
    club.exchange.fail("create", "after")  # the create lands, its answer is lost
    await club.sync()
    calls = len(club.exchange.calls)
    await club.sync()  # found by its external id; nothing searched
    assert "search_contacts" not in club.exchange.calls[calls:] and len(club.exchange.items) == 1
