"""The state machine for contacts: members are edited in PC CADDIE and in Outlook at will (Outlook
also holds contacts of its own, copies and contact groups), syncs fail before or after their writes
take effect, lose their answers, finish a create late or are killed part-way.

The user's modes: names and address `sync`, phone `export`, e-mail `no`. Each cycle may only leave
a contact's field group as it was or carry out what the group's decision asks for: names and
address both ways, merged field by field (PC CADDIE winning a field changed on both sides), phones
only ever to Exchange, e-mail never. A
contact deleted in Outlook takes the person off the list (the person stays); a person deleted in
PC CADDIE deletes the contact the sync made. Once the machine settles, each listed person has
exactly one contact with those groups, nothing else in Exchange was touched, every link is there
once and unstopped, and an edit made on either side to every contact still arrives."""

from __future__ import annotations

import copy
import itertools
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sync_service.admin.parameters import set_parameter
from sync_service.admin.persons import PersonInput, add_person, update_person
from sync_service.admin.subscriptions import add_contact, remove_contact
from sync_service.engine.contact_state import is_tombstone
from sync_service.engine.contact_sync import ContactSync
from sync_service.engine.database import DbRunner
from sync_service.store.models import ContactLink, ContactSubscription, Person
from tests.sync_service.engine.fake_exchange import FakeExchange
from tests.sync_service.engine.test_contact_sync import Contactsclub
from tests.sync_service.engine.test_convergence import NEW, Mailbox, killed

OPS = ["changes", "get", "find_external", "search_contacts", "create", "update", "delete"]
MODES = {"names": "sync", "address": "sync", "phone": "export", "email": "no"}
EXPORTED = ("names", "address", "phone")  # what a create writes
MAX_LISTED = 9  # fewer than the mass-unlisting guard's 10
QUIET_CYCLES = 8

Groups = dict[str, tuple[str, ...]]


@dataclass
class ContactMailbox(Mailbox):
    """The fake contacts folder as the engine sees it, its search too."""

    async def search_contacts(self, *args: Any) -> Any:
        return await self._call("search_contacts", *args)


LOCAL_EDITS = ["first_name", "last_name", "street", "postal_code", "city", "country", "phone_mobile", "phone_home"]
REMOTE_EDITS = ["given_name", "surname", "city", "street", "phone_mobile", "phone_business", "emails"]
FAILURES = st.one_of(
    st.tuples(st.sampled_from(["create", "update", "delete"]), st.sampled_from(["after", "after", "item", "before"])),
    st.tuples(st.sampled_from(["changes", "get", "find_external"]), st.just("before")),
    st.tuples(st.just("kill"), st.integers(-6, 5)),
)
THEN = ["edit", "edit", "delete", "copy", "nothing"]


def resolve(local: tuple[str, ...], remote: tuple[str, ...], agreed: tuple[Any, Any]) -> tuple[str, ...]:
    """What both sides of a `sync` group end with: field by field, a field changed on one side
    takes that side's value, PC CADDIE winning a field changed on both."""
    agreed_local, agreed_remote = agreed
    if agreed_local == NEW:
        return local
    return tuple(
        mine if mine != al else theirs if theirs != ar else mine
        for mine, theirs, al, ar in zip(local, remote, agreed_local, agreed_remote)
    )


def person_groups(p: Person) -> Groups:
    return {
        "names": (p.first_name, p.last_name),
        "address": (p.street, p.postal_code, p.city, p.country),
        "phone": (p.phone_home, p.phone_business, p.phone_mobile),
        "email": tuple(e for e in (p.email1, p.email2, p.email3) if e),
    }


def contact_groups(c: dict[str, Any]) -> Groups:
    return {
        "names": (c.get("given_name", ""), c.get("surname", "")),
        "address": tuple(c.get(f, "") for f in ("street", "postal_code", "city", "country")),
        "phone": tuple(c.get(f, "") for f in ("phone_home", "phone_business", "phone_mobile")),
        "email": tuple(e for e in c.get("emails") or () if e),
    }


@dataclass
class Member:
    """A person of the model and, once made, its Exchange contact."""

    name: int
    person_id: int
    alive: bool = True
    listed: bool = True
    remote_id: str | None = None
    agreed: dict[str, set[tuple[Any, Any]]] = field(default_factory=dict)  # per group; empty: not made yet
    fresh: bool = False  # its contact was made by the last cycle
    unconfirmed: bool = False  # its contact was made, the answer lost: the engine has not seen it yet
    removed: bool = False  # taken off the list: its contact is the user's now
    made_in: int | None = None  # the cycle that made its contact

    def __repr__(self) -> str:
        return f"Member(name={self.name}, person={self.person_id}, contact={self.remote_id}, listed={self.listed})"


class ContactMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.club = Contactsclub(Path(self.folder.name))
        self.connection = self.club.db.connection_context()  # one connection for the test's own reads and writes
        self.connection.__enter__()
        self.cached_links: list[ContactLink] | None = None  # only cycles change links
        self.club.write(set_parameter, "SYNC_EXCH_ATTEMPTS", "1000")  # no contact stops: each failure is once
        self.fake = self.club.exchange
        self.fake.kind = "contacts"
        self.mailbox = ContactMailbox(self.fake)
        self.numbers = itertools.count(1)
        self.members: list[Member] = []
        self.others: dict[str, dict[str, Any]] = {}  # Exchange items the sync must leave alone, as they are
        self.history: list[bool] = []  # per cycle so far: whether it failed
        self.late: set[int] = set()  # persons whose create the gateway gave up on, still to land

    def teardown(self):
        try:
            if sys.exc_info()[1] is None:  # a run that did not fail ends settled, everything still moving
                self._settle(moves=True)
        finally:
            self.connection.__exit__(None, None, None)
            self.club.db.close()
            self.folder.cleanup()

    # -- reading both sides ---------------------------------------------------------------------

    def _people(self) -> dict[int, Person]:
        with self.club.db.connection_context():
            return {p.id: p for p in Person.select()}

    def _listed(self) -> set[int]:
        with self.club.db.connection_context():
            return {c.person_id for c in ContactSubscription.select()}

    def _links(self) -> list[ContactLink]:
        if self.cached_links is None:  # a tombstone (a link gone while a create of it may still land) links nobody
            self.cached_links = [link for link in ContactLink.select() if not is_tombstone(link)]
        return self.cached_links

    def _snapshot(self) -> dict[int, tuple[Groups | None, Groups | None, bool]]:
        people, listed = self._people(), self._listed()
        snapshot = {}
        for m in self.members:
            person = people.get(m.person_id)
            contact = self.fake.items.get(m.remote_id) if m.remote_id else None
            snapshot[m.name] = (
                person_groups(person) if person else None,
                contact_groups(contact) if contact else None,
                m.person_id in listed,
            )
        return snapshot

    def _follow_links(self) -> None:
        """Each member's contact as its link says, or, for a create whose answer was lost, the
        one contact carrying the link's external id."""
        by_person = {link.person_id: link for link in self._links()}
        claimed = {m.remote_id for m in self.members} | set(self.others)
        for m in self.members:
            link = by_person.get(m.person_id)
            if link is None or m.removed:
                continue
            if link.exchange_id and link.exchange_id in self.fake.items and link.exchange_id != m.remote_id:
                assert link.exchange_id not in claimed, f"{m} linked to a contact that is not its own"
                m.remote_id, m.fresh = link.exchange_id, True
            elif not link.exchange_id and (m.remote_id is None or m.remote_id not in self.fake.items):
                carrying = [
                    i
                    for i, entry in self.fake.items.items()
                    if entry.get("external_id") == link.external_id and i not in claimed
                ]
                if len(carrying) == 1:
                    m.remote_id, m.fresh, m.unconfirmed = carrying[0], True, True
            if link.exchange_id and link.exchange_id == m.remote_id:
                m.unconfirmed = False

    # -- cycles ---------------------------------------------------------------------------------

    def _cycle(self, failing: bool):
        before = self._snapshot()
        for m in self.members:
            m.fresh = False
        self.mailbox.calls = 0

        async def run():
            return await ContactSync(DbRunner(self.club.db), self.club.vault, lambda account: self.mailbox).run(
                self.club.user_id
            )

        self.cached_links = None
        try:
            outcome = trio.run(run)
        except BaseException as error:  # noqa: BLE001 - only a kill may end a cycle so
            if not killed(error):
                raise
            outcome = None
        finally:
            self.fake.failures.clear()
            self.mailbox.kill_at = None
            self.cached_links = None
        self._follow_links()
        after = self._snapshot()
        for m in self.members:
            self._step(m, before[m.name], after[m.name], failing)
            if m.fresh:
                m.made_in = len(self.history)
        self.history.append(failing)
        return outcome

    def _step(self, m: Member, before, after, failing: bool) -> None:
        """What one cycle may have done to a member, and what is agreed from then on."""
        (local, remote, listed), (local2, remote2, listed2) = before, after
        assert local is None or local2 is not None, f"the sync deleted person {m}"
        assert listed or not listed2, f"the sync put {m} on the list"
        if listed and not listed2:
            assert remote is None and m.agreed, f"{m} taken off the list, yet its contact is there: {remote}"
            m.listed = False
        if local2 is None:
            m.alive = False
        if remote is None and remote2 is not None:  # made by the sync
            late = m.person_id in self.late  # (a create the gateway gave up on, landing for someone gone since)
            assert (listed or late) and not m.agreed and remote2["email"] == (), f"a contact made for {m}: {remote2}"
            if not failing:  # (one whose answer was lost may be found later, made from an older version)
                made = {g: local[g] for g in EXPORTED} if local else None
                assert {g: remote2[g] for g in EXPORTED} == made, f"{m}'s contact made as {remote2}, not {made}"
            m.agreed = {
                g: {(remote2[g], remote2[g])} if local2 and local2[g] == remote2[g] else {(NEW, NEW)} for g in EXPORTED
            }
            return
        if remote is not None and remote2 is None:
            assert local is None, f"the sync deleted the contact of {m}, who is still there"
            return
        if local is None or local2 is None or remote is None or remote2 is None:
            assert local2 == local, f"{m} changed while not synced: {local} → {local2}"
            return
        for group, mode in MODES.items():
            was, now = (local[group], remote[group]), (local2[group], remote2[group])
            if mode == "no":
                assert now == was, f"{m}: {group} is never synced, yet went from {was} to {now}"
                continue
            if mode == "export":
                pushed = {(local[group], local[group]) for al, _ in m.agreed[group] if local[group] != al}
                assert now in {was} | pushed, f"{m}: {group} (export) went from {was} to {now}"
                if now[0] == now[1]:
                    m.agreed[group] = {(now[0], now[0])}
                continue
            ends = {(end, end) for end in (resolve(*was, agreed) for agreed in m.agreed[group])}
            assert now in {was} | ends, f"{m}: {group} went from {was} to {now}, allowed: {ends}"
            if now[0] == now[1] and failing and now != was and self._sent_unanswered(m):
                # an update whose answer was lost: until a read tells it landed (a field it changed
                # holds what it sent), the engine may still go by what was agreed before (the
                # user then changing just that field meets it as a conflict, the loser kept)
                m.agreed[group] = {(now[0], now[0])} | m.agreed[group]
            elif now[0] == now[1]:
                m.agreed[group] = {(now[0], now[0])}
            elif failing:  # a conflict decided whose winner could not be written: the loser was accounted for
                m.agreed[group] |= {
                    (al, now[1]) for al, ar in m.agreed[group] if al != NEW and now[0] != al and now[1] != ar
                }

    def _sent_unanswered(self, m: Member) -> bool:
        return any(link.person_id == m.person_id and link.sent for link in self._links())

    def _quiet_cycle(self) -> bool:
        outcome = self._cycle(failing=False)
        assert outcome is not None and outcome.error is None and outcome.not_syncing is None, outcome
        return not outcome.counts

    def _settled(self) -> None:
        for _ in range(QUIET_CYCLES):
            if self._quiet_cycle():
                break
        else:
            raise AssertionError(f"still writing after {QUIET_CYCLES} cycles without failures")
        self._check()

    def _check(self) -> None:
        people, listed, links = self._people(), self._listed(), self._links()
        synced = [m for m in self.members if m.alive and m.listed]
        assert {p for p in people} == {m.person_id for m in self.members if m.alive}, "the sync never deletes a person"
        assert listed == {m.person_id for m in synced}, "the list is the model's"
        by_person = {link.person_id: link for link in links}
        assert len(by_person) == len(links) == len(synced), f"one link per listed person: {len(links)}"
        externals = set()
        for m in synced:
            link = by_person[m.person_id]
            assert link.exchange_id == m.remote_id and m.remote_id in self.fake.items, f"{m}: linked to {link}"
            assert not link.stopped and not link.pending_create, f"{m}: stopped or owed: {link.last_error}"
            contact = self.fake.items[m.remote_id]
            assert contact.get("external_id") == link.external_id and link.external_id not in externals
            externals.add(link.external_id)
            local, remote = person_groups(people[m.person_id]), contact_groups(contact)
            for group in ("names", "address"):
                assert local[group] == remote[group], f"{m}: {group} {local[group]} in PC CADDIE, {remote[group]}"
            assert local["phone"] == remote["phone"] or all(al == local["phone"] for al, _ in m.agreed["phone"]), (
                f"{m}: the phone {local['phone']} did not reach Exchange ({remote['phone']})"
            )
            assert local["email"] == (), "e-mail is never taken over"
        expected = {m.remote_id for m in synced} | set(self.others)
        assert set(self.fake.items) == expected, f"Exchange holds more: {set(self.fake.items) - expected}"
        for item_id, entry in self.others.items():
            assert self.fake.items[item_id] == entry, f"the sync touched {item_id}, which is not its own"

    def _settle(self, moves: bool = False) -> None:
        if getattr(self.fake, "_late", None):  # a quiet while: the creates the gateway gave up on have landed
            self._land_late()
        self._settled()
        if moves:
            self._still_moves()

    def _still_moves(self) -> None:
        """An edit in PC CADDIE and one in Outlook to every listed person's contact arrive."""
        synced = [m for m in self.members if m.alive and m.listed]
        for m in synced:
            n = next(self.numbers)
            self.club.write(update_person, m.person_id, PersonInput(city=f"Moved {n}", phone_mobile=f"+49 9{n}"))
        self._settled()
        people = self._people()
        for m in synced:
            remote = contact_groups(self.fake.items[m.remote_id])
            local = person_groups(people[m.person_id])
            assert (remote["address"], remote["phone"]) == (local["address"], local["phone"]), "PC CADDIE's edit moves"
        for m in synced:
            n = next(self.numbers)
            self.fake.user_update(m.remote_id, given_name=f"Back {n}", street=f"Way {n}")
        self._settled()
        people = self._people()
        for m in synced:
            remote = contact_groups(self.fake.items[m.remote_id])
            local = person_groups(people[m.person_id])
            assert (local["names"], local["address"]) == (remote["names"], remote["address"]), "Outlook's edit moves"

    # -- PC CADDIE's side -----------------------------------------------------------------------

    def _alive(self) -> list[Member]:
        return [m for m in self.members if m.alive]

    @precondition(lambda self: sum(m.listed for m in self._alive()) < MAX_LISTED)
    @rule()
    def add_member(self):
        n = next(self.numbers)
        given = PersonInput(first_name=f"M{n}", last_name="Member", city="Köln", phone_mobile=f"+49 {n}")
        person_id = self.club.write(lambda: add_person(given).id)
        self.club.write(add_contact, "anna", person_id)
        self.members.append(Member(n, person_id))

    @precondition(lambda self: self._alive())
    @rule(data=st.data(), what=st.sampled_from(LOCAL_EDITS))
    def edit_member(self, data, what):
        self._edit_member(data.draw(st.sampled_from(self._alive())), what)

    def _edit_member(self, m: Member, what: str) -> None:
        self.club.write(update_person, m.person_id, PersonInput(**{what: f"{what} {next(self.numbers)}"}))

    def _deletable_people(self) -> list[Member]:
        return self._alive()

    @precondition(lambda self: self._deletable_people())
    @rule(data=st.data())
    def delete_member(self, data):
        self._delete_member(data.draw(st.sampled_from(self._deletable_people())))

    def _delete_member(self, m: Member) -> None:
        with self.club.db.connection_context(), self.club.db.atomic():
            Person.delete().where(Person.id == m.person_id).execute()
        m.alive = m.listed = False  # (off the list with it)

    def _removable(self) -> list[Member]:
        links = {link.person_id: link for link in self._links()}
        return [
            m
            for m in self._alive()
            if m.listed
            and (
                m.person_id not in links
                or (links[m.person_id].exchange_id == m.remote_id and m.remote_id in self.fake.items)
            )
        ]

    @precondition(lambda self: self._removable())
    @rule(data=st.data())
    def remove_from_list(self, data):
        """Off the list: its contact stays in Exchange, the sync's no more."""
        m = data.draw(st.sampled_from(self._removable()))
        self.club.write(remove_contact, "anna", m.person_id)
        m.listed, m.removed = False, True
        if m.remote_id in self.fake.items:
            self.others[m.remote_id] = dict(self.fake.items[m.remote_id])
        m.remote_id = None

    # -- Outlook --------------------------------------------------------------------------------

    def _contacts(self) -> list[Member]:
        return [m for m in self.members if m.remote_id in self.fake.items]

    def _editable(self) -> list[Member]:
        return self._contacts()

    def _copyable(self) -> list[Member]:
        return self._contacts()

    @precondition(lambda self: self._editable())
    @rule(data=st.data(), what=st.sampled_from(REMOTE_EDITS))
    def edit_in_outlook(self, data, what):
        self._edit_in_outlook(data.draw(st.sampled_from(self._editable())), what)

    def _edit_in_outlook(self, m: Member, what: str) -> None:
        n = next(self.numbers)
        value: Any = [f"o{n}@example.com"] if what == "emails" else f"Outlook {what} {n}"
        self.fake.user_update(m.remote_id, **{what: value})

    def _deleted_in_outlook(self, m: Member) -> None:
        self.fake.user_delete(m.remote_id)
        if m.unconfirmed:  # the engine never saw it (and Exchange tells nothing): it is made again
            m.remote_id, m.agreed, m.unconfirmed = None, {}, False

    def _deletable(self) -> list[Member]:
        return self._contacts()

    @precondition(lambda self: self._deletable())
    @rule(data=st.data())
    def delete_in_outlook(self, data):
        self._deleted_in_outlook(data.draw(st.sampled_from(self._deletable())))

    def _fresh(self) -> list[Member]:
        return [m for m in self._deletable() if m.fresh]

    @precondition(lambda self: self._fresh())
    @rule(data=st.data())
    def delete_in_outlook_just_made(self, data):
        """Deleted right after the sync made it: Exchange's next feed tells nothing."""
        self._deleted_in_outlook(data.draw(st.sampled_from(self._fresh())))

    @rule()
    def outlook_contact(self):
        """A contact of the user's own, not on the list: never touched."""
        n = next(self.numbers)
        item_id = self.fake.user_create(given_name=f"Own {n}", surname="Contact", city="Bonn")
        self.others[item_id] = dict(self.fake.items[item_id])

    @precondition(lambda self: self._copyable())
    @rule(data=st.data())
    def outlook_copy(self, data):
        """A copy made in Outlook (with our external id): not on the list, never touched."""
        self._copy(data.draw(st.sampled_from(self._copyable())))

    def _copy(self, m: Member) -> None:
        copy_id = self.fake.user_copy(m.remote_id, given_name=f"Copy {next(self.numbers)}")
        self.others[copy_id] = dict(self.fake.items[copy_id])

    @rule()
    def outlook_group(self):
        """A contact group: the sync does not handle it, never fails for it, never touches it."""
        item_id = self.fake.user_create_group(f"Group {next(self.numbers)}")
        self.others[item_id] = dict(self.fake.items[item_id])

    @precondition(lambda self: self.others)
    @rule(data=st.data())
    def outlook_other_deleted(self, data):
        item_id = data.draw(st.sampled_from(sorted(self.others)))
        self.fake.user_delete(item_id)
        del self.others[item_id]

    # -- syncing --------------------------------------------------------------------------------

    @rule(op=st.sampled_from(OPS), when=st.sampled_from(["before", "after", "item"]))
    def sync_that_fails(self, op, when):
        self._failing_cycle(op, when)

    def _note_late(self) -> None:
        externals = {entry.get("external_id") for _, entries in getattr(self.fake, "_late", []) for entry in entries}
        self.late |= {link.person_id for link in self._links() if link.external_id in externals}

    def _failing_cycle(self, op: str, when: str | int) -> None:
        """`op` failing `when`; or, with op "kill" and `when` the n-th call, the service killed then
        (n >= 0: after that call's work, n < 0: before call -n-1)."""
        if op == "kill":
            assert isinstance(when, int)
            self.mailbox.kill_at = (when, "after") if when >= 0 else (-when - 1, "before")
        else:
            self.fake.fail(op, when=str(when))
        self._cycle(failing=True)
        self._note_late()

    def _both(self) -> list[Member]:
        return [m for m in self._contacts() if m.alive and m.listed]

    @precondition(lambda self: self._both())
    @rule(
        data=st.data(),
        first=st.sampled_from(["local", "remote"]),
        failure=FAILURES,
        then=st.sampled_from(THEN),
        what=st.sampled_from(LOCAL_EDITS),
        what2=st.sampled_from(REMOTE_EDITS),
    )
    def race(self, data, first, failure, then, what, what2):
        """A contact changed on one side, a cycle that fails part-way, and the contact changed on
        the other side (or deleted, or copied) before the next cycle."""
        m = data.draw(st.sampled_from(self._both()))
        if first == "local":
            self._edit_member(m, what)
        elif m in self._editable():
            self._edit_in_outlook(m, what2)
        self._failing_cycle(*failure)
        if first == "remote" and m.alive:
            if then == "delete" and m in self._deletable_people():
                self._delete_member(m)
            elif then == "edit":
                self._edit_member(m, what)
        elif then == "delete" and m in self._deletable():
            self._deleted_in_outlook(m)
        elif then == "edit" and m in self._editable():
            self._edit_in_outlook(m, what2)
        elif then == "copy" and m in self._copyable():
            self._copy(m)

    @rule(op=st.sampled_from(["create", "update", "delete"]))
    def sync_answer_lost(self, op):
        """The work done in Exchange, the answer lost (a timeout)."""
        self.fake.fail(op, when="after")
        self._cycle(failing=True)

    @rule()
    def sync_create_late(self):
        """The gateway gave up on a create that still runs: it lands after the next create."""
        self._failing_cycle("create", "late")

    @precondition(lambda self: getattr(self.fake, "_late", None))
    @rule()
    def late_create_lands(self):
        """The create the gateway gave up on reaches Exchange now, before anything else is sent."""
        self._land_late()

    def _land_late(self) -> None:
        """The late creates land: each is its member's contact (agreed on as made), or a twin the
        sync deletes (its link, or the link's tombstone, tells it by what a create sent)."""
        self.fake._finish_late_creates()
        self.cached_links = None
        self._follow_links()
        for m in self.members:
            if m.remote_id in self.fake.items and not m.agreed:  # made, not agreed on yet
                made = contact_groups(self.fake.items[m.remote_id])
                m.agreed = {g: {(made[g], made[g])} for g in EXPORTED}

    @rule(call=st.integers(0, 5), when=st.sampled_from(["before", "after"]))
    def sync_killed(self, call, when):
        """The service dies at a call to Exchange (before it, or after its work was done)."""
        self._failing_cycle("kill", call if when == "after" else -call - 1)

    @rule()
    def sync_clean(self):
        outcome = self._cycle(failing=False)
        assert outcome.error is None and outcome.not_syncing is None, outcome

    @rule(moves=st.booleans())
    def settle(self, moves):
        self._settle(moves)

    @invariant()
    def one_link_per_person(self):
        links = self._links()
        assert len({link.person_id for link in links}) == len(links)
        exchange_ids = [link.exchange_id for link in links if link.exchange_id]
        assert len(set(exchange_ids)) == len(exchange_ids), "one contact per link"


# deeper: SYNC_MACHINE_EXAMPLES=1000 HYPOTHESIS_PROFILE=explore \
#   pytest tests/sync_service/engine/test_contact_convergence.py
ContactMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SYNC_MACHINE_EXAMPLES", "40")),
    stateful_step_count=int(os.environ.get("SYNC_MACHINE_STEPS", "25")),
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "deterministic") == "deterministic",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=tuple(Phase) if os.environ.get("SYNC_MACHINE_SHRINK", "1") == "1" else (Phase.generate,),
)
test_contact_sync_converges = ContactMachine.TestCase


# -- two mailboxes, changing modes, +ADD ------------------------------------------------------------

USERS = ("anna", "bert")
CHANGEABLE = ("address", "phone", "email")
PERSON_COLUMNS = {
    "names": ("first_name", "last_name"),
    "address": ("street", "postal_code", "city", "country"),
    "phone": ("phone_home", "phone_business", "phone_mobile"),
}
ENTRY_COLUMNS = {
    "names": ("given_name", "surname"),
    "address": ("street", "postal_code", "city", "country"),
    "phone": ("phone_home", "phone_business", "phone_mobile"),
}
ADD_KINDS = ["match", "shared_name_and_email", "email_of_another_name", "name_without_email"]


def clean_groups(c: dict[str, Any]) -> Groups:
    """A contact's groups as the sync compares them (spaces around a value do not count)."""
    return {group: tuple(str(v).strip() for v in values) for group, values in contact_groups(c).items()}


def folded(text: str) -> str:
    return " ".join(text.casefold().split())


class SharedContactsMachine(RuleBasedStateMachine):
    """Two users list persons of the same club, each with a mailbox of their own, and change their
    field groups' modes between cycles; members are edited in PC CADDIE and in both Outlooks;
    Outlook contacts are picked with +ADD (refused unless exactly one person is that contact) or
    are already there when a person is listed (adopted, not made again). Cycles of both users
    run at once. At every cycle: no person is deleted, no non-empty PC CADDIE field is blanked, no
    contact is made twice, contacts not on a list are not touched. Settled, every listed person's
    contact holds, per group, what the user's mode says: names and `sync` groups equal to the
    person, and an edit in PC CADDIE and then in an Outlook reaches every side the modes allow."""

    def __init__(self):
        super().__init__()
        from sync_service.admin.accounts import set_account
        from sync_service.admin.users import PermissionChange, add_user, set_user_permissions
        from sync_service.core.permissions import Contacts, FieldMode

        self.FieldMode, self.PermissionChange, self.set_user_permissions = (
            FieldMode,
            PermissionChange,
            set_user_permissions,
        )
        self.folder = tempfile.TemporaryDirectory()
        self.club = Contactsclub(Path(self.folder.name))
        self.club.write(add_user, "bert")
        for login in USERS:
            self.club.write(
                set_account,
                login,
                "https://mail.example.com/EWS/Exchange.asmx",
                f"{login}@club.example",
                None,
                "pw",
                self.club.vault,
            )
        self.user_ids = {login: self._user_id(login) for login in USERS}
        self.modes = {login: {g: "sync" for g in CHANGEABLE} for login in USERS}
        for login in USERS:
            self.club.write(
                set_user_permissions,
                login,
                PermissionChange(contacts=Contacts.YES, **{g: FieldMode(m) for g, m in self.modes[login].items()}),
            )
        self.fakes = {login: FakeExchange(kind="contacts") for login in USERS}
        self.numbers = itertools.count(1)
        self.persons: list[int] = []
        self.listed: dict[str, set[int]] = {login: set() for login in USERS}
        self.others: dict[str, dict[str, dict[str, Any]]] = {login: {} for login in USERS}
        self.picked: dict[str, set[str]] = {login: set() for login in USERS}  # +ADDed, linked by the next cycle

    def _user_id(self, login: str) -> int:
        from sync_service.store.models import User

        with self.club.db.connection_context():
            return User.get(User.login == login).id

    def teardown(self):
        try:
            if sys.exc_info()[1] is None:
                self._moves()
        finally:
            self.club.db.close()
            self.folder.cleanup()

    # -- reading ----------------------------------------------------------------------------------

    def _people(self) -> dict[int, Person]:
        with self.club.db.connection_context():
            return {p.id: p for p in Person.select()}

    def _links(self, login: str) -> dict[int, ContactLink]:
        with self.club.db.connection_context():
            rows = ContactLink.select().where(ContactLink.user == self.user_ids[login])
            return {link.person_id: link for link in rows if not is_tombstone(link)}

    def _db_listed(self, login: str) -> set[int]:
        with self.club.db.connection_context():
            return {
                c.person_id
                for c in ContactSubscription.select().where(ContactSubscription.user == self.user_ids[login])
            }

    def _contact(self, login: str, person_id: int) -> dict[str, Any] | None:
        link = self._links(login).get(person_id)
        return self.fakes[login].items.get(link.exchange_id) if link and link.exchange_id else None

    # -- cycles -----------------------------------------------------------------------------------

    def _cycle(self, who: tuple[str, ...]) -> dict[str, Any]:
        people_before = {i: person_groups(p) for i, p in self._people().items()}
        contacts_before = {login: copy.deepcopy(self.fakes[login].items) for login in USERS}
        outcomes: dict[str, Any] = {}

        async def one(login: str, db: DbRunner) -> None:
            sync = ContactSync(db, self.club.vault, lambda account: self.fakes[account["mailbox"].split("@")[0]])
            outcomes[login] = await sync.run(self.user_ids[login])

        async def run():
            db = DbRunner(self.club.db)
            async with trio.open_nursery() as nursery:
                for login in who:
                    nursery.start_soon(one, login, db)

        trio.run(run)
        for login in who:
            assert outcomes[login].error is None and outcomes[login].not_syncing is None, outcomes[login]
        self._every_cycle(people_before, contacts_before)
        return outcomes

    def _every_cycle(self, people_before, contacts_before) -> None:
        people = {i: person_groups(p) for i, p in self._people().items()}
        assert set(people) == set(self.persons), "the sync never deletes (nor makes) a person"
        for person_id, groups in people_before.items():
            for group, values in groups.items():
                if group == "email":
                    assert len(people[person_id][group]) >= min(len(values), 1), f"{person_id}: e-mail blanked"
                    continue
                for before, after in zip(values, people[person_id][group]):
                    assert after or not before, (
                        f"person {person_id}: {group} {values} blanked to {people[person_id][group]}"
                    )
        for login in USERS:
            assert self._db_listed(login) == self.listed[login], f"{login}'s list is the model's"
            links = self._links(login)
            ids = [link.exchange_id for link in links.values() if link.exchange_id]
            assert len(ids) == len(set(ids)), "one contact per link"
            held = set(ids) | set(self.others[login]) | self.picked[login]
            assert set(self.fakes[login].items) <= held, (
                f"{login}: contacts made twice or not linked: {set(self.fakes[login].items) - held}"
            )
            for item_id, entry in self.others[login].items():
                assert self.fakes[login].items.get(item_id) == entry, f"{login}: the sync touched {item_id}"
            for item_id, entry in contacts_before[login].items():
                now = self.fakes[login].items.get(item_id)
                if now is None:
                    continue
                for group, columns in ENTRY_COLUMNS.items():
                    if self.modes[login].get(group) == "export":
                        continue  # PC CADDIE's group written whole: an Outlook value overwritten is a conflict's loser
                    for column in columns:
                        assert now.get(column) or not entry.get(column), f"{login}: {item_id}'s {column} blanked"

    def _settle(self) -> None:
        for _ in range(QUIET_CYCLES):
            outcomes = self._cycle(USERS)
            if not any(o.counts for o in outcomes.values()):
                break
        else:
            raise AssertionError(f"still writing after {QUIET_CYCLES} cycles")
        self._check_settled()

    def _check_settled(self) -> None:
        people = self._people()
        for login in USERS:
            links = self._links(login)
            assert set(links) == self.listed[login], f"{login}: one link per listed person"
            for person_id in self.listed[login]:
                contact = self._contact(login, person_id)
                assert contact is not None, f"{login}: person {person_id} has no contact"
                local, remote = person_groups(people[person_id]), clean_groups(contact)
                assert local["names"] == remote["names"], f"{login}: names {local['names']} / {remote['names']}"
                for group in CHANGEABLE:
                    if self.modes[login][group] == "sync":
                        assert local[group] == remote[group], (
                            f"{login} {person_id}: {group} {local[group]} / {remote[group]}"
                        )

    def _moves(self) -> None:
        """Settled, an edit of every group in PC CADDIE reaches every contact whose mode allows it
        (the others' groups untouched), then an edit of every group in anna's Outlook reaches PC
        CADDIE where her mode is sync, and from there bert's contacts where his allows."""
        self._settle()
        before = {login: copy.deepcopy(self.fakes[login].items) for login in USERS}
        for person_id in self.persons:
            n = next(self.numbers)
            self.club.write(
                update_person,
                person_id,
                PersonInput(
                    first_name=f"F{n}",
                    street=f"S{n}",
                    city=f"C{n}",
                    phone_home=f"+49 {n}",
                    emails=(f"m{n}@example.com",),
                ),
            )
        self._settle()
        people = self._people()
        for login in USERS:
            for person_id in self.listed[login]:
                local, contact = person_groups(people[person_id]), self._contact(login, person_id)
                assert contact is not None
                remote = clean_groups(contact)
                link = self._links(login)[person_id]
                was = clean_groups(before[login].get(link.exchange_id) or {})
                for group in ("names", *CHANGEABLE):
                    mode = "sync" if group == "names" else self.modes[login][group]
                    if mode == "no":
                        assert remote[group] == was[group], (
                            f"{login}: {group} (no) was written: {was[group]} → {remote[group]}"
                        )
                    else:
                        assert remote[group] == local[group], (
                            f"{login}: {group} ({mode}) did not arrive: {remote[group]}"
                        )
        typed: dict[int, dict[str, tuple[str, ...]]] = {}
        for person_id in self.listed["anna"]:
            contact = self._contact("anna", person_id)
            assert contact is not None
            n = next(self.numbers)
            changes = {
                "given_name": f"G{n}",
                "city": f"T{n}",
                "phone_mobile": f"+43 {n}",
                "emails": [f"o{n}@example.com"],
            }
            self.fakes["anna"].user_update(contact["id"], **changes)
            typed[person_id] = clean_groups(self.fakes["anna"].items[contact["id"]])
        before_people = {i: person_groups(p) for i, p in self._people().items()}
        self._settle()
        people = self._people()
        for person_id, outlook in typed.items():
            local = person_groups(people[person_id])
            for group in ("names", *CHANGEABLE):
                mode = "sync" if group == "names" else self.modes["anna"][group]
                expected = outlook[group] if mode == "sync" else before_people[person_id][group]
                assert local[group] == expected, f"anna's {group} ({mode}) edit: {local[group]}, expected {expected}"
            if person_id in self.listed["bert"]:
                remote = clean_groups(self._contact("bert", person_id) or {})
                for group in ("names", *CHANGEABLE):
                    if group == "names" or self.modes["bert"][group] != "no":
                        assert remote[group] == local[group], f"bert's {group} did not follow: {remote[group]}"

    # -- rules ------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.persons) < 8)
    @rule()
    def new_person(self):
        n = next(self.numbers)
        given = PersonInput(
            first_name=f"P{n}",
            last_name=f"Family{n}",
            city=f"City{n}",
            phone_mobile=f"+49 {n}",
            emails=(f"p{n}@example.com",),
        )
        self.persons.append(self.club.write(lambda: add_person(given).id))

    def _unlisted(self, login: str) -> list[int]:
        return [p for p in self.persons if p not in self.listed[login]]

    @rule(data=st.data(), login=st.sampled_from(USERS))
    def list_person(self, data, login):
        if not self._unlisted(login):
            return
        person_id = data.draw(st.sampled_from(self._unlisted(login)))
        self.club.write(add_contact, login, person_id)
        self.listed[login].add(person_id)

    @precondition(lambda self: self.persons)
    @rule(data=st.data(), what=st.sampled_from(LOCAL_EDITS + ["phone_business", "emails"]))
    def edit_person(self, data, what):
        person_id = data.draw(st.sampled_from(self.persons))
        n = next(self.numbers)
        value: Any = (f"e{n}@example.com",) if what == "emails" else f"{what} {n}"
        self.club.write(update_person, person_id, PersonInput(**{what: value}))

    @rule(data=st.data(), login=st.sampled_from(USERS), what=st.sampled_from(REMOTE_EDITS + ["country", "phone_home"]))
    def edit_in_outlook(self, data, login, what):
        linked = sorted(self._contact(login, p)["id"] for p in self.listed[login] if self._contact(login, p))
        if not linked:
            return
        item_id = data.draw(st.sampled_from(linked))
        n = next(self.numbers)
        value: Any = [f"o{n}@example.com"] if what == "emails" else f"Outlook {what} {n}"
        self.fakes[login].user_update(item_id, **{what: value})

    @rule(
        login=st.sampled_from(USERS), group=st.sampled_from(CHANGEABLE), mode=st.sampled_from(["no", "export", "sync"])
    )
    def change_mode(self, login, group, mode):
        self.modes[login][group] = mode
        self.club.write(self.set_user_permissions, login, self.PermissionChange(**{group: self.FieldMode(mode)}))

    @rule(login=st.sampled_from(USERS))
    def own_contact(self, login):
        n = next(self.numbers)
        item_id = self.fakes[login].user_create(given_name=f"Own{n}", surname="Contact", emails=[f"own{n}@example.com"])
        self.others[login][item_id] = dict(self.fakes[login].items[item_id])

    def _oracle(self, contact: dict[str, Any]) -> tuple[str, int | None]:
        """What +ADD must answer, from the persons as they are: (match, person) for the one person
        with one of its e-mail addresses and its name when no other has the name; (refused, None)
        with any other candidate; (new, None) with none."""
        people = self._people()
        emails = {folded(e) for e in contact.get("emails") or []}
        name = (folded(contact.get("given_name", "")), folded(contact.get("surname", "")))
        by_email = [i for i, p in people.items() if emails & {folded(e) for e in person_groups(p)["email"]}]
        by_name = [i for i, p in people.items() if (folded(p.first_name), folded(p.last_name)) == name]
        both = [i for i in by_email if i in by_name]
        if len(both) == 1 and len(by_name) == 1:
            return "match", both[0]
        return ("refused", None) if by_email or by_name else ("new", None)

    @precondition(lambda self: self.persons)
    @rule(data=st.data(), login=st.sampled_from(USERS), kind=st.sampled_from(ADD_KINDS))
    def plus_add(self, data, login, kind):
        """An Outlook contact picked with +ADD: taken only when exactly one person is it."""
        from protocol.entries import ContactEntry
        from sync_service.admin import AdminError
        from sync_service.admin.exchange_contacts import add_exchange_contact

        person_id = data.draw(st.sampled_from(self.persons))
        p = person_groups(self._people()[person_id])
        first, last = p["names"]
        email = p["email"][0] if p["email"] else f"nobody{next(self.numbers)}@example.com"
        if kind == "shared_name_and_email":  # a second person of that name and e-mail address
            given = PersonInput(first_name=first, last_name=last, emails=(email,))
            self.persons.append(self.club.write(lambda: add_person(given).id))
        n = next(self.numbers)
        entry = {
            "match": {"given_name": f" {first.upper()} ", "surname": last, "emails": [email.upper()]},
            "shared_name_and_email": {"given_name": first, "surname": last, "emails": [email]},
            "email_of_another_name": {"given_name": f"Other{n}", "surname": last, "emails": [email]},
            "name_without_email": {"given_name": first, "surname": last},
        }[kind]
        fake = self.fakes[login]
        item_id = fake.user_create(**entry, phone_business=f"+41 {n}")
        view = fake._view(fake.items[item_id])
        expected, who = self._oracle(view)
        persons_before = list(self.persons)
        try:
            matched = self.club.write(add_exchange_contact, login, ContactEntry.from_wire(view, checked=False))
        except AdminError as refusal:
            assert expected == "refused" or (who in self.listed[login]), f"+ADD refused {view}: {refusal}"
            assert self._people().keys() == set(persons_before), "a refused +ADD makes no person"
            fake.user_delete(item_id)  # the user gives up on it
            return
        assert expected != "refused", f"+ADD guessed: {view} matched to {matched.person.id}"
        if expected == "match":
            assert (matched.how, matched.person.id) == ("e-mail", who), f"+ADD matched {matched}"
        else:
            assert matched.how == "new"
            self.persons.append(matched.person.id)
        self.listed[login].add(matched.person.id)
        self.picked[login].add(item_id)

    @precondition(lambda self: self.persons)
    @rule(data=st.data(), login=st.sampled_from(USERS))
    def already_in_outlook(self, data, login):
        """A person listed whose contact the user already has: adopted (merged), not made again,
        when it is that person alone; otherwise a contact of its own is made and the user's stays."""
        if not self._unlisted(login):
            return
        person_id = data.draw(st.sampled_from(self._unlisted(login)))
        p = person_groups(self._people()[person_id])
        if not p["email"]:
            return
        n = next(self.numbers)
        fake = self.fakes[login]
        item_id = fake.user_create(
            given_name=p["names"][0], surname=p["names"][1], emails=[p["email"][0]], phone_business=f"+41 {n}"
        )
        expected, who = self._oracle(fake._view(fake.items[item_id]))
        self.club.write(add_contact, login, person_id)
        self.listed[login].add(person_id)
        if expected != "match" or who != person_id:
            self.others[login][item_id] = dict(fake.items[item_id])
        self._cycle((login,))
        link = self._links(login)[person_id]
        if expected == "match" and who == person_id:
            assert link.exchange_id == item_id, f"{login}: person {person_id}'s contact made again"
        else:
            assert link.exchange_id != item_id, f"{login}: a contact another person may be was adopted"

    @rule(who=st.sampled_from([USERS, ("anna",), ("bert",)]))
    def sync(self, who):
        self._cycle(who)

    @rule()
    def settle(self):
        self._settle()


SharedContactsMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SYNC_MACHINE_EXAMPLES", "40")),
    stateful_step_count=int(os.environ.get("SYNC_MACHINE_STEPS", "25")),
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "deterministic") == "deterministic",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=tuple(Phase) if os.environ.get("SYNC_MACHINE_SHRINK", "1") == "1" else (Phase.generate,),
)
test_shared_contacts_converge = SharedContactsMachine.TestCase
