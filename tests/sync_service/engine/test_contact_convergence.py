"""The state machine for contacts: members are edited in PC CADDIE and in Outlook at will, syncs
fail before or after they take effect, and after every clean sync: each listed person has exactly
one contact, names and addresses (sync) agree, phones (export) only ever flow to Exchange, e-mail
(no) is never written by us, and no person is ever deleted by the sync."""

import itertools
import os
import tempfile
from pathlib import Path

import trio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from sync_service.admin.persons import PersonInput, add_person, update_person
from sync_service.admin.subscriptions import add_contact
from sync_service.store.models import ContactLink, ContactSubscription, Person
from tests.sync_service.engine.test_contact_sync import Contactsclub

OPS = ["changes", "create", "update", "delete", "find_external", "get"]


class ContactMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.club = Contactsclub(Path(self.folder.name))
        self.numbers = itertools.count(1)
        self.persons: set[int] = set()  # alive, as PC CADDIE knows them
        self.local_phones: dict[int, str] = {}  # the phone each person was last given in PC CADDIE

    def teardown(self):
        self.club.db.close()
        self.folder.cleanup()

    def _people(self):
        with self.club.db.connection_context():
            return {p.id: p for p in Person.select()}

    @rule()
    def add_member(self):
        n = next(self.numbers)
        phone = f"+49 {n}"
        person_id = self.club.write(lambda: add_person(PersonInput(first_name=f"M{n}", last_name="Member",
                                                                   city="Köln", phone_mobile=phone)).id)  # fmt: skip
        self.club.write(add_contact, "anna", person_id)
        self.persons.add(person_id)
        self.local_phones[person_id] = phone

    @precondition(lambda self: self.persons)
    @rule(data=st.data(), what=st.sampled_from(["name", "city", "phone"]))
    def edit_member(self, data, what):
        person_id = data.draw(st.sampled_from(sorted(self.persons)))
        n = next(self.numbers)
        change = {"name": PersonInput(first_name=f"E{n}"), "city": PersonInput(city=f"City {n}"),
                  "phone": PersonInput(phone_mobile=f"+49 {n}")}[what]  # fmt: skip
        self.club.write(update_person, person_id, change)
        if what == "phone":
            self.local_phones[person_id] = f"+49 {n}"

    @precondition(lambda self: self.persons)
    @rule(data=st.data())
    def delete_member(self, data):
        person_id = data.draw(st.sampled_from(sorted(self.persons)))
        with self.club.db.connection_context(), self.club.db.atomic():
            Person.delete().where(Person.id == person_id).execute()
        self.persons.discard(person_id)

    @precondition(lambda self: self.club.exchange.items)
    @rule(data=st.data(), what=st.sampled_from(["name", "city", "phone", "email"]))
    def edit_in_outlook(self, data, what):
        item_id = data.draw(st.sampled_from(sorted(self.club.exchange.items)))
        n = next(self.numbers)
        change = {"name": {"given_name": f"O{n}"}, "city": {"city": f"Outlook {n}"},
                  "phone": {"phone_mobile": f"+1 {n}"}, "email": {"emails": [f"o{n}@example.com"]}}[what]  # fmt: skip
        self.club.exchange.user_update(item_id, **change)

    @precondition(lambda self: self.club.exchange.items)
    @rule(data=st.data())
    def delete_in_outlook(self, data):
        item_id = data.draw(st.sampled_from(sorted(self.club.exchange.items)))
        self.club.exchange.user_delete(item_id)

    @rule(op=st.sampled_from(OPS), when=st.sampled_from(["before", "after", "item"]))
    def sync_that_fails(self, op, when):
        self.club.exchange.failures.clear()
        self.club.exchange.fail(op, when=when)
        trio.run(self.club.sync)
        self.club.exchange.failures.clear()

    @rule()
    def sync_clean(self):
        self.club.exchange.failures.clear()
        outcome = trio.run(self.club.sync)
        assert outcome.error is None and outcome.not_syncing is None, outcome
        people = self._people()
        assert set(people) == self.persons, "the sync never deletes a person"
        with self.club.db.connection_context():
            listed = {c.person_id for c in ContactSubscription.select()}
            links = {link.person_id: link for link in ContactLink.select()}
        assert set(links) == listed, "one link per listed person"
        exchange_ids = [link.exchange_id for link in links.values()]
        assert len(set(exchange_ids)) == len(exchange_ids) and all(i in self.club.exchange.items for i in exchange_ids)
        for person_id, link in links.items():
            contact, person = self.club.exchange.items[link.exchange_id], people[person_id]
            assert (contact["given_name"], contact["surname"]) == (person.first_name, person.last_name)
            assert contact.get("city", "") == person.city
            assert person.phone_mobile == self.local_phones[person_id], "phones only flow to Exchange"
            assert person.email1 == "", "e-mail is never taken over"
        again = trio.run(self.club.sync)
        assert again.counts == {}, again.counts


ContactMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SYNC_MACHINE_EXAMPLES", "30")),
    stateful_step_count=20,
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "deterministic") == "deterministic",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_contact_sync_converges = ContactMachine.TestCase
