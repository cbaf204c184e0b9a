"""Contacts on the one pipeline (issue 15 item 1): what each copy of the machinery did well, now
done for contacts too: an idle list writes nothing, batches go several at once, an update meeting
a contact gone from Exchange is that contact's deletion (the person off the list, no attempt)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from protocol.entries import ItemResult, UpdateRequest
from sync_service.admin.persons import PersonInput, add_person, update_person
from sync_service.admin.subscriptions import add_contact
from sync_service.engine.contact_sync import ContactSync
from sync_service.engine.database import DbRunner
from sync_service.engine.pipeline import BATCH
from sync_service.store.models import ContactSyncState, SyncReportLine, SyncStatistic
from tests.sync_service.engine.fake_exchange import FakeExchange
from tests.sync_service.engine.test_contact_sync import Contactsclub, add_listed


class CallLog(DbRunner):
    """A database runner that notes the name of each function it runs."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.names: list[str] = []

    async def run(self, function: Callable[..., Any], *args: object) -> Any:
        self.names.append(function.__name__)
        return await super().run(function, *args)


async def sync_logged(club: Contactsclub) -> tuple[Any, list[str]]:
    db = CallLog(club.db)
    outcome = await ContactSync(db, club.vault, lambda account: club.exchange).run(club.user_id)
    return outcome, db.names


def rows_written(club: Contactsclub) -> tuple[Any, int, int]:
    with club.db.connection_context():
        state = ContactSyncState.get_by_id(club.user_id)
        return state.last_cycle, SyncReportLine.select().count(), SyncStatistic.select().count()


async def test_an_idle_contact_list_writes_nothing_and_asks_the_database_once(tmp_path):
    club = Contactsclub(tmp_path)
    add_listed(club)
    await club.sync()  # made in Exchange
    await club.sync()  # the create verified
    before = rows_written(club)
    outcome, names = await sync_logged(club)
    assert outcome.error is None and outcome.counts == {}
    assert names == ["load_contact_context"]  # no observation, no finish
    assert rows_written(club) == before


async def test_a_person_listed_without_a_journal_entry_is_not_taken_for_idle(tmp_path):
    club = Contactsclub(tmp_path)
    add_listed(club)
    await club.sync()
    await club.sync()
    person_id = club.write(lambda: add_person(PersonInput(first_name="Eva", last_name="Neu")).id)
    await club.sync()  # the person's insert is journaled; listing it is not
    club.write(add_contact, "anna", person_id)
    outcome = await club.sync()
    assert outcome.counts == {"created-to-exchange": 1}


async def test_contact_batches_go_several_at_once(tmp_path):
    club = Contactsclub(tmp_path)

    def listing() -> None:
        for n in range(BATCH * 2 + 1):
            add_contact("anna", add_person(PersonInput(first_name=f"P{n}", last_name="Muster")).id)

    club.write(listing)
    outcome, names = await sync_logged(club)
    assert outcome.counts == {"created-to-exchange": BATCH * 2 + 1}
    batches = [n for n in names if n in ("prepare_creates", "record")]
    # one at a time would record each batch before the next is prepared
    assert batches == ["prepare_creates"] * 3 + ["record"] * 3


class DeletedBeforeTheUpdate(FakeExchange):
    """Once `deleting`, the user deletes each contact in Outlook after the cycle read it, before
    its update lands."""

    deleting = False

    async def update(self, items: Sequence[UpdateRequest]) -> list[ItemResult]:
        for item in items if self.deleting else ():
            self.user_delete(item.ref.id)
        return await super().update(items)


async def test_an_update_meeting_a_contact_gone_is_its_deletion_not_an_attempt(tmp_path):
    club = Contactsclub(tmp_path)
    club.exchange = exchange = DeletedBeforeTheUpdate()
    person_id = add_listed(club)
    await club.sync()
    await club.sync()
    exchange.deleting = True
    club.write(update_person, person_id, PersonInput(city="Bonn"))
    outcome = await club.sync()
    assert outcome.counts == {"failed-to-exchange": 1}
    (link,) = club.links()
    assert (link.attempts, link.stopped, link.last_error) == (0, False, None)
    assert club.listed() == [person_id]
    await club.sync()  # the deletion read: off the list, the person kept, nothing made again
    assert club.listed() == [] and club.person(person_id).city == "Bonn"
    assert club.exchange.items == {}
