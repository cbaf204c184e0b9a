"""A user's contact sync against the in-memory Exchange, with a real club database."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_service.admin.accounts import set_account
from sync_service.admin.persons import PersonInput, add_person, update_person
from sync_service.admin.subscriptions import add_contact, remove_contact
from sync_service.admin.users import PermissionChange, add_user, set_user_permissions
from sync_service.core.permissions import Contacts, FieldMode
from sync_service.engine.contact_sync import ContactSync
from sync_service.engine.database import DbRunner
from sync_service.store.database import open_database
from sync_service.store.models import ContactLink, ContactSubscription, Person
from sync_service.vault import PasswordVault
from tests.sync_service.engine.fake_exchange import FakeExchange

MAX = PersonInput(
    first_name="Max",
    last_name="Muster",
    street="Am Golfplatz 1",
    postal_code="50667",
    city="Köln",
    country="DE",
    phone_mobile="+49 170 1",
    emails=("max@example.com",),
)


class Contactsclub:
    def __init__(self, tmp_path: Path, address=FieldMode.SYNC, phone=FieldMode.EXPORT, email=FieldMode.NO):
        self.db = open_database(tmp_path / "club.sqlite3", synchronous="off")
        self.vault = PasswordVault.from_key_file(tmp_path / "secret.key")
        self.exchange = FakeExchange()
        with self.db.atomic():
            user = add_user("anna")
            set_user_permissions(
                "anna", PermissionChange(contacts=Contacts.YES, address=address, phone=phone, email=email)
            )
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
        ContactSubscription.create(
            user=club.user_id,
            person=person_id,
            source="exchange",
            exchange_id=contact_id,
            created="2026-01-01 00:00:00",
        )
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


# -- what the contact state machine found (each once a KNOWN_BUG_* flag there) --------------------


def _conflicts(club):
    from sync_service.store.models import SyncConflict

    with club.db.connection_context():
        return list(SyncConflict.select())


async def test_an_outlook_edit_before_a_lost_create_is_found_arrives(club):
    person_id = add_listed(club)
    club.exchange.fail("create", when="after")
    assert (await club.sync()).error
    club.exchange.user_update(club.only_contact()["id"], city="Bonn")
    await club.sync()
    await club.sync()
    assert club.person(person_id).city == "Bonn" and club.only_contact()["city"] == "Bonn"
    assert _conflicts(club) == []


async def test_a_create_that_lands_late_leaves_no_twin(club):
    add_listed(club)
    club.exchange.fail("create", when="late")
    assert (await club.sync()).error
    await club.sync()  # sent again; the abandoned one lands after it
    await club.sync()
    assert len(club.exchange.items) == 1
    (link,) = club.links()
    assert link.exchange_id in club.exchange.items


async def test_a_create_that_lands_late_cycles_after_it_was_sent_again_leaves_no_twin(club):
    add_listed(club)
    club.exchange.fail("create", when="late")
    assert (await club.sync()).error
    club.exchange.fail("create", when="after")
    assert (await club.sync()).error  # sent again: made, the answer lost
    await club.sync()  # found by its external id
    await club.sync()
    club.exchange._finish_late_creates()  # the first one lands only now
    await club.sync()
    await club.sync()
    assert len(club.exchange.items) == 1
    (link,) = club.links()
    assert link.exchange_id in club.exchange.items


async def test_a_create_landing_after_its_person_was_deleted_is_deleted_too(club):
    person_id = add_listed(club)
    club.exchange.fail("create", when="late")
    assert (await club.sync()).error
    with club.db.connection_context(), club.db.atomic():
        Person.delete().where(Person.id == person_id).execute()
    await club.sync()  # nothing to make any more: the link stays a tombstone
    club.exchange._finish_late_creates()
    await club.sync()
    assert club.exchange.items == {}


async def test_a_twin_whose_delete_failed_is_deleted_by_the_next_cycle(club):
    add_listed(club)
    club.exchange.fail("create", when="late")
    assert (await club.sync()).error
    await club.sync()  # sent again; the abandoned one lands after it
    club.exchange.fail("delete", when="item")
    await club.sync()
    assert len(club.exchange.items) == 2
    await club.sync()
    assert len(club.exchange.items) == 1


async def test_a_contact_deleted_after_a_read_that_was_not_saved_is_seen(club):
    first = add_listed(club)
    await club.sync()  # made: looked up next cycle
    second = add_listed(club, PersonInput(first_name="Tom", last_name="Tee"))
    club.exchange.fail("create", when="before")
    assert (await club.sync()).error  # read the feed (the first contact in it), saved nothing
    club.exchange.user_delete(next(iter(club.exchange.items)))
    await club.sync()
    await club.sync()
    assert club.listed() == [second] and [link.person_id for link in club.links()] == [second]
    assert club.person(first).last_name == "Muster"


async def test_an_outlook_edit_after_a_lost_create_is_no_conflict(club):
    person_id = add_listed(club)
    club.exchange.fail("create", when="after")
    assert (await club.sync()).error
    club.exchange.fail("changes", when="before")
    assert (await club.sync()).error  # found by its external id, then the cycle failed
    club.exchange.user_update(club.only_contact()["id"], city="Bonn")
    club.write(update_person, person_id, PersonInput(phone_mobile="+49 170 9"))
    await club.sync()
    assert club.person(person_id).city == "Bonn" and club.only_contact()["city"] == "Bonn"
    assert club.only_contact()["phone_mobile"] == "+49 170 9"
    assert _conflicts(club) == []


async def test_a_person_taken_off_the_list_then_deleted_keeps_the_contact(club):
    person_id = add_listed(club)
    await club.sync()
    club.write(remove_contact, "anna", person_id)
    with club.db.connection_context(), club.db.atomic():
        Person.delete().where(Person.id == person_id).execute()
    await club.sync()
    assert club.only_contact()["surname"] == "Muster" and club.links() == []


async def test_an_outlook_edit_after_a_lost_update_is_no_conflict(club):
    person_id = add_listed(club)
    await club.sync()
    await club.sync()
    club.write(update_person, person_id, PersonInput(city="Aachen"))
    club.exchange.fail("update", when="after")
    assert (await club.sync()).error
    club.exchange.user_update(club.only_contact()["id"], street="Outlook Weg 3")
    await club.sync()
    await club.sync()
    person, contact = club.person(person_id), club.only_contact()
    assert (person.street, person.city) == (contact["street"], contact["city"]) == ("Outlook Weg 3", "Aachen")
    assert _conflicts(club) == []


# -- mode changes (issue 14, defects 4 and 8) ------------------------------------------------------


def _set_modes(club, **modes):
    club.write(set_user_permissions, "anna", PermissionChange(**modes))


async def test_a_group_that_becomes_sync_starts_from_both_sides_and_blanks_nothing(tmp_path):
    club = Contactsclub(tmp_path, address=FieldMode.NO)
    person_id = add_listed(club)
    await club.sync()
    assert "street" not in club.only_contact()  # address: no, never exported
    _set_modes(club, address=FieldMode.SYNC)
    club.exchange.user_update(club.only_contact()["id"], given_name="Maximilian")
    await club.sync()
    person, contact = club.person(person_id), club.only_contact()
    assert (person.street, person.postal_code, person.city, person.country) == ("Am Golfplatz 1", "50667", "Köln", "DE")
    assert (contact["street"], contact["city"]) == ("Am Golfplatz 1", "Köln")  # only PC CADDIE had it
    assert person.first_name == "Maximilian"
    assert _conflicts(club) == []
    assert (await club.sync()).counts == {}


async def test_an_outlook_edit_made_while_export_is_reconciled_once_sync_again(club):
    person_id = add_listed(club)
    await club.sync()
    _set_modes(club, address=FieldMode.EXPORT)
    await club.sync()
    club.exchange.user_update(club.only_contact()["id"], city="Bonn")
    await club.sync()
    assert club.person(person_id).city == "Köln"  # export: Outlook's edit not taken in
    _set_modes(club, address=FieldMode.SYNC)
    await club.sync()
    assert club.person(person_id).city == club.only_contact()["city"] == "Bonn"


async def test_changes_made_while_a_group_was_no_meet_the_policy_with_the_loser_kept(club):
    person_id = add_listed(club)
    await club.sync()
    _set_modes(club, address=FieldMode.NO)
    await club.sync()
    club.exchange.user_update(club.only_contact()["id"], city="Bonn", street="Outlook Weg 3")
    club.write(update_person, person_id, PersonInput(city="Aachen", postal_code="52062"))
    await club.sync()
    assert club.person(person_id).city == "Aachen" and club.only_contact()["city"] == "Bonn"  # no: apart
    _set_modes(club, address=FieldMode.SYNC)
    await club.sync()
    person, contact = club.person(person_id), club.only_contact()
    assert (person.street, person.postal_code, person.city) == ("Outlook Weg 3", "52062", "Aachen")
    assert (contact["street"], contact["postal_code"], contact["city"]) == ("Outlook Weg 3", "52062", "Aachen")
    (conflict,) = _conflicts(club)
    assert conflict.winner == "pccaddie" and "Bonn" in conflict.loser_content


# -- two mailboxes at once (issue 14, defect 9) -----------------------------------------------------


def test_a_cycle_writes_into_the_person_as_it_is_now_field_by_field(tmp_path):
    from sync_service.core.contact_decide import ContactDecision, ContactObservation
    from sync_service.engine import contact_state as state
    from sync_service.engine.contacts import person_groups

    club = Contactsclub(tmp_path, phone=FieldMode.SYNC)
    person_id = add_listed(
        club, PersonInput(first_name="Max", last_name="Muster", phone_home="0221 1", phone_mobile="0171 1")
    )
    with club.db.connection_context():
        context = state.load_contact_context(club.user_id, club.vault)
        read = person_groups(Person.get_by_id(person_id))  # this mailbox's cycle reads the person…
    club.write(update_person, person_id, PersonInput(phone_mobile="0171 2"))  # …another's writes the office's edit
    outlook = ("0221 9", "", "0171 1")  # this mailbox's Outlook changed the home phone only
    both = ("0221 9", "", "0171 3")  # and, in a second run, the mobile too (a real conflict)
    for values, expected, conflicts in ((outlook, ("0221 9", "", "0171 2"), 0), (both, ("0221 9", "", "0171 2"), 1)):
        decision = ContactDecision("update", to_pccaddie={"phone": values}, agreed={"phone": values})
        observation = ContactObservation(None, read, person_id=person_id)
        club.write(state.apply_local, context, observation, decision)
        person = club.person(person_id)
        assert (person.phone_home, person.phone_business, person.phone_mobile) == expected
        assert len(_conflicts(club)) == conflicts
        read = {**read, "phone": ("0221 9", "", "0171 1")}
    (conflict,) = _conflicts(club)
    assert conflict.winner == "pccaddie" and "0171 3" in conflict.loser_content


async def test_a_link_from_before_bases_were_recorded_is_merged_from_its_digests(club):
    from sync_service.store.models import ContactSyncState

    person_id = add_listed(club)
    await club.sync()
    await club.sync()
    with club.db.connection_context(), club.db.atomic():  # as schema 5 left it: digests only
        ContactLink.update(agreed=None).execute()
        ContactSyncState.update(modes=None).execute()
    club.exchange.user_update(club.only_contact()["id"], city="Bonn", given_name="Maximilian")
    club.write(update_person, person_id, PersonInput(phone_mobile="+49 170 9", street="Neuer Weg 5"))
    await club.sync()
    person, contact = club.person(person_id), club.only_contact()
    assert (person.first_name, contact["phone_mobile"]) == ("Maximilian", "+49 170 9")  # one side each: merged
    # both changed the address: with a digest alone nothing tells which field each changed, so the
    # group is merged without a base, the policy deciding where both differ and the loser kept
    assert (person.street, person.city) == (contact["street"], contact["city"]) == ("Neuer Weg 5", "Köln")
    (conflict,) = _conflicts(club)
    assert "Bonn" in conflict.loser_content
    assert club.links()[0].agreed is not None and (await club.sync()).counts == {}


async def test_the_field_a_lost_update_changed_changed_again_in_outlook_is_a_conflict_with_the_loser_kept(club):
    """Nothing tells whether the update landed (the one field it changed was changed again), so
    the Outlook value meets PC CADDIE's as a conflict: the policy decides and the loser is kept."""
    person_id = add_listed(club)
    await club.sync()
    await club.sync()
    club.write(update_person, person_id, PersonInput(city="Aachen"))
    club.exchange.fail("update", when="after")
    assert (await club.sync()).error
    club.exchange.user_update(club.only_contact()["id"], city="Bonn")
    await club.sync()
    assert club.person(person_id).city == club.only_contact()["city"] == "Aachen"
    (conflict,) = _conflicts(club)
    assert conflict.winner == "pccaddie" and "Bonn" in conflict.loser_content


async def test_a_street_over_exchanges_limit_is_shortened_there_and_stays_whole_here(club):
    from sync_service.store.models import SyncReportLine

    street = "Am Golfplatz " + "und noch ein Stück weiter " * 12
    person_id = add_listed(club, PersonInput(first_name="Max", last_name="Muster", street=street, city="Köln"))
    assert (await club.sync()).counts == {"created-to-exchange": 1}
    contact = club.only_contact()
    assert len(contact["street"]) <= 255 and street.startswith(contact["street"])
    with club.db.connection_context():
        (line,) = SyncReportLine.select().where(SyncReportLine.action == "create")
    assert line.detail == "shortened to Exchange's limits: street"
    assert (await club.sync()).counts == {}  # the shortened street read back is no change
    club.exchange.user_update(contact["id"], city="Bonn")  # the same field group edited in Outlook
    assert (await club.sync()).counts == {"updated-to-pccaddie": 1}
    person = club.person(person_id)
    assert (person.street, person.city) == (street.strip(), "Bonn")
    assert (await club.sync()).counts == {}
