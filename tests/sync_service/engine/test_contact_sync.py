"""A user's contact sync against the in-memory Exchange, with a real club database."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_service.admin.accounts import set_account
from sync_service.admin.persons import PersonInput, add_person, update_person
from sync_service.admin.subscriptions import add_contact, remove_contact
from sync_service.admin.users import PermissionChange, add_user, set_user_permissions
from sync_service.engine.contact_sync import ContactSync
from sync_service.engine.database import DbRunner
from sync_service.permissions import Contacts, FieldMode
from sync_service.store.database import open_database
from sync_service.store.models import ContactLink, ContactSubscription, Person
from sync_service.vault import PasswordVault
from tests.sync_service.engine.fake_exchange import FakeExchange

MAX = PersonInput(first_name="Max", last_name="Muster", street="Am Golfplatz 1", postal_code="50667", city="Köln",
                  country="DE", phone_mobile="+49 170 1", emails=("max@example.com",))  # fmt: skip


class Contactsclub:
    def __init__(self, tmp_path: Path, address=FieldMode.SYNC, phone=FieldMode.EXPORT, email=FieldMode.NO):
        self.db = open_database(tmp_path / "club.sqlite3", synchronous="off")
        self.vault = PasswordVault.from_key_file(tmp_path / "secret.key")
        self.exchange = FakeExchange()
        with self.db.atomic():
            user = add_user("anna")
            set_user_permissions("anna", PermissionChange(contacts=Contacts.YES, address=address, phone=phone,
                                                          email=email))  # fmt: skip
            set_account(
                "anna", "https://mail.example.com/EWS/Exchange.asmx", "anna@club.example", None, "pw", self.vault
            )
        self.user_id = user.id
        self.db.close()

    def write(self, function, *args, **kwargs):
        with self.db.connection_context(), self.db.atomic():
            return function(*args, **kwargs)

    def person(self, person_id) -> Person:
        with self.db.connection_context():
            return Person.get_by_id(person_id)

    def listed(self) -> list[int]:
        with self.db.connection_context():
            return sorted(c.person_id for c in ContactSubscription.select())

    def links(self) -> list[ContactLink]:
        with self.db.connection_context():
            return list(ContactLink.select())

    def only_contact(self) -> dict:
        (item,) = self.exchange.items.values()
        return item

    async def sync(self):
        return await ContactSync(DbRunner(self.db), self.vault, lambda account: self.exchange).run(self.user_id)


@pytest.fixture
def club(tmp_path):
    return Contactsclub(tmp_path)


def add_listed(club, given=MAX) -> int:
    person_id = club.write(lambda: add_person(given).id)
    club.write(add_contact, "anna", person_id)
    return person_id


async def test_a_listed_person_is_exported_with_its_allowed_groups_only(club):
    add_listed(club)
    outcome = await club.sync()
    assert outcome.error is None and outcome.counts == {"created-to-exchange": 1}
    contact = club.only_contact()
    assert (contact["given_name"], contact["surname"], contact["city"], contact["phone_mobile"]) == (
        "Max",
        "Muster",
        "Köln",
        "+49 170 1",
    )
    assert "emails" not in contact  # e-mail mode 'no': never touched
    assert contact["external_id"].startswith("pccaddie-contact:")
    assert (await club.sync()).counts == {}


async def test_changes_follow_each_groups_mode(club):
    person_id = add_listed(club)
    await club.sync()
    contact_id = club.only_contact()["id"]
    club.exchange.user_update(contact_id, city="Bonn", phone_mobile="+49 999", emails=["other@example.com"])
    outcome = await club.sync()
    person = club.person(person_id)
    assert person.city == "Bonn"  # address: sync, taken over
    assert person.phone_mobile == "+49 170 1"  # phone: export only, Exchange's edit ignored
    assert person.email1 == "max@example.com"  # e-mail: no, untouched
    assert outcome.counts == {"updated-to-pccaddie": 1}
    club.write(update_person, person_id, PersonInput(phone_mobile="+49 170 2", street="Neuer Weg 5"))
    await club.sync()
    contact = club.only_contact()
    assert (contact["phone_mobile"], contact["street"], contact["emails"]) == (
        "+49 170 2",
        "Neuer Weg 5",
        ["other@example.com"],
    )


async def test_deleting_the_exchange_contact_never_deletes_the_person(club):
    person_id = add_listed(club)
    await club.sync()
    club.exchange.user_delete(club.only_contact()["id"])
    await club.sync()
    assert club.listed() == [] and club.links() == []
    assert club.person(person_id).last_name == "Muster"


async def test_deleting_the_person_deletes_the_contact_the_sync_made(club):
    person_id = add_listed(club)
    await club.sync()
    with club.db.connection_context(), club.db.atomic():
        Person.delete().where(Person.id == person_id).execute()
    outcome = await club.sync()
    assert club.exchange.items == {} and club.links() == [] and outcome.counts == {"deleted-to-exchange": 1}


async def test_plus_add_links_an_existing_exchange_contact_without_duplicating(club):
    contact_id = club.exchange.user_create(given_name="Eva", surname="Golf", city="Aachen", emails=["eva@example.com"])
    person_id = club.write(lambda: add_person(PersonInput(first_name="Eva", last_name="Golf", phone_mobile="0171")).id)
    with club.db.connection_context(), club.db.atomic():
        ContactSubscription.create(user=club.user_id, person=person_id, source="exchange", exchange_id=contact_id,
                                   created="2026-01-01 00:00:00")  # fmt: skip
    await club.sync()
    assert len(club.exchange.items) == 1
    assert club.person(person_id).city == "Aachen"  # filled from Exchange (address: sync)
    assert club.exchange.items[contact_id]["phone_mobile"] == "0171"  # filled from PC CADDIE (phone: export)
    (link,) = club.links()
    assert link.origin == "exchange" and link.exchange_id == contact_id
    with club.db.connection_context(), club.db.atomic():
        Person.delete().where(Person.id == person_id).execute()
    await club.sync()
    assert contact_id in club.exchange.items  # +ADDed contacts belong to the user: never deleted by us


async def test_remove_from_the_list_leaves_the_contact_unless_asked(club):
    keep, drop = add_listed(club), add_listed(club, PersonInput(first_name="Tom", last_name="Tee"))
    await club.sync()
    club.write(remove_contact, "anna", keep)
    with club.db.connection_context(), club.db.atomic():
        ContactLink.update(delete_in_exchange=True).where(ContactLink.person_id == drop).execute()
        ContactSubscription.delete().where(ContactSubscription.person == drop).execute()
    await club.sync()
    assert [c["surname"] for c in club.exchange.items.values()] == ["Muster"]
    assert club.links() == []


async def test_contacts_not_allowed_pauses_and_deletes_nothing(tmp_path):
    club = Contactsclub(tmp_path)
    add_listed(club)
    await club.sync()
    club.write(set_user_permissions, "anna", PermissionChange(contacts=Contacts.NO))
    outcome = await club.sync()
    assert outcome.not_syncing.startswith("paused: the user may not sync contacts")
    assert len(club.exchange.items) == 1 and len(club.links()) == 1
    club.write(set_user_permissions, "anna", PermissionChange(contacts=Contacts.YES))
    assert (await club.sync()).not_syncing is None


async def test_lost_create_answer_is_not_duplicated(club):
    add_listed(club)
    club.exchange.fail("create", when="after")
    assert (await club.sync()).error
    await club.sync()
    assert len(club.exchange.items) == 1 and not club.links()[0].pending_create


@pytest.mark.parametrize(
    ("policy", "city"), [("pccaddie-wins", "Aachen"), ("exchange-wins", "Bonn"), ("newest-wins", "Bonn")]
)
async def test_a_contact_conflict_follows_the_users_contact_policy(club, policy, city):
    from sync_service.admin.subscriptions import set_contact_policy
    from sync_service.store.models import SyncConflict

    person_id = add_listed(club)
    await club.sync()
    await club.sync()
    club.write(set_contact_policy, "anna", policy)
    club.write(update_person, person_id, PersonInput(city="Aachen"))
    club.exchange.user_update(club.only_contact()["id"], city="Bonn", last_modified="2999-01-01T00:00:00Z")
    outcome = await club.sync()
    assert outcome.error is None
    assert club.person(person_id).city == city and club.only_contact()["city"] == city
    with club.db.connection_context():
        (conflict,) = SyncConflict.select()
    assert conflict.winner == ("pccaddie" if city == "Aachen" else "exchange")


async def test_an_update_whose_answer_was_lost_is_no_conflict_with_the_next_edit(club):
    from sync_service.admin.subscriptions import set_contact_policy
    from sync_service.store.models import SyncConflict

    person_id = add_listed(club)
    await club.sync()
    await club.sync()
    club.write(set_contact_policy, "anna", "exchange-wins")  # our own lost write must not win over the next edit
    club.write(update_person, person_id, PersonInput(city="Aachen"))
    club.exchange.fail("update", when="after")
    assert (await club.sync()).error is not None
    assert club.only_contact()["city"] == "Aachen"
    club.write(update_person, person_id, PersonInput(city="Düren"))
    outcome = await club.sync()
    assert outcome.error is None and club.only_contact()["city"] == "Düren" and club.person(person_id).city == "Düren"
    with club.db.connection_context():
        assert SyncConflict.select().count() == 0
