"""What looking for existing contacts costs (issue 14): a few persons are searched for, more are
looked up in the folder read once per cycle, whatever their number, and both ways decide alike.
A read that fails makes nothing: the creates come again next cycle, none made twice."""

from __future__ import annotations

from collections import Counter

import pytest

from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import add_contact, remove_contact
from sync_service.core import contact_candidates
from sync_service.core.permissions import FieldMode
from sync_service.store.models import ContactLink, SyncReportLine
from tests.sync_service.engine.test_contact_sync import Contactsclub

PERSONS = 200


def _club(path) -> Contactsclub:
    path.mkdir(exist_ok=True)
    return Contactsclub(path, address=FieldMode.SYNC, phone=FieldMode.SYNC, email=FieldMode.SYNC)


@pytest.fixture
def club(tmp_path):
    return _club(tmp_path)


def pupil(n: int) -> PersonInput:
    return PersonInput(first_name=f"Pupil{n}", last_name="Muster", emails=(f"pupil{n}@example.com",))


def list_pupils(club, numbers) -> list[int]:
    def listing() -> list[int]:
        ids = [add_person(pupil(n)).id for n in numbers]
        for person_id in ids:
            add_contact("anna", person_id)
        return ids

    return club.write(listing)


def ops(club, since: int = 0) -> Counter[str]:
    return Counter(club.exchange.calls[since:])


def outlook_contacts(club, numbers) -> list[str]:
    """Contacts the user keeps, as +ADD would match them to pupils `numbers`."""
    return [
        club.exchange.user_create(given_name=f"Pupil{n}", surname="MUSTER", emails=[f"Pupil{n}@Example.com"])
        for n in numbers
    ]


def links(club) -> dict[int, str | None]:
    with club.db.connection_context():
        return {link.person_id: link.exchange_id for link in ContactLink.select()}


def report(club) -> list[tuple[str, str, str]]:
    with club.db.connection_context():
        return sorted((r.action, r.item, r.detail) for r in SyncReportLine.select())


async def test_a_first_sync_of_many_persons_reads_the_folder_once(club):
    mine = outlook_contacts(club, range(0, PERSONS, 2))  # every second pupil is in Outlook already
    club.exchange.user_create(given_name="Else", surname="Other", emails=["else@example.com"])
    ids = list_pupils(club, range(PERSONS))
    outcome = await club.sync()
    calls = ops(club)
    assert calls["search_contacts"] == 0
    assert calls["changes"] == 1 and calls["get"] == 1  # the feed lists the folder; its contacts got once
    assert outcome.counts["created-to-exchange"] == PERSONS // 2
    linked = links(club)
    assert [linked[ids[n]] for n in range(0, PERSONS, 2)] == mine  # adopted, not made again
    assert len(club.exchange.items) == PERSONS + 1


async def test_many_persons_listed_later_cost_one_read_of_the_folder(club):
    list_pupils(club, [0])
    await club.sync()  # the sync state is saved
    mine = outlook_contacts(club, range(1, PERSONS, 2))
    ids = list_pupils(club, range(1, PERSONS))
    before = len(club.exchange.calls)
    await club.sync()
    calls = ops(club, before)
    assert calls["search_contacts"] == 0
    assert calls["changes"] == 2  # the cycle's feed, and the folder listed from no state
    assert calls["get"] <= 2  # the new contacts of the feed, the rest of the folder
    linked = links(club)
    assert [linked[ids[n - 1]] for n in range(1, PERSONS, 2)] == mine
    assert len(club.exchange.items) == PERSONS
    before = len(club.exchange.calls)
    assert (await club.sync()).counts == {}
    assert ops(club, before)["changes"] == 1  # the folder is not read again once all are linked


async def test_a_few_persons_are_searched_for(club):
    list_pupils(club, [0])
    await club.sync()
    before = len(club.exchange.calls)
    (made,) = outlook_contacts(club, [1])
    (person_id,) = list_pupils(club, [1])
    await club.sync()
    calls = ops(club, before)
    assert calls["search_contacts"] == 1 and calls["changes"] == 1  # its e-mail address found it
    assert links(club)[person_id] == made


async def test_a_failed_read_of_the_folder_makes_nothing_and_the_next_cycle_adopts(club):
    mine = outlook_contacts(club, range(10))
    ids = list_pupils(club, range(20))
    club.exchange.fail("get", "before", code="busy")
    outcome = await club.sync()
    assert outcome.error and outcome.error.startswith("busy")
    assert len(club.exchange.items) == 10 and links(club) == {}  # nothing made, no attempt counted
    outcome = await club.sync()
    assert outcome.error is None and outcome.counts["created-to-exchange"] == 10
    assert [links(club)[ids[n]] for n in range(10)] == mine and len(club.exchange.items) == 20


async def test_an_unreadable_contact_makes_nothing(club):
    outlook_contacts(club, range(5))
    list_pupils(club, range(5))
    club.exchange.fail("get", "item", code="unreadable")
    outcome = await club.sync()
    assert outcome.error and "a contact could not be read" in outcome.error
    assert len(club.exchange.items) == 5 and links(club) == {}


def _tangle(club) -> tuple[list[int], int]:
    """Persons and Outlook contacts of every kind the lookup tells apart."""
    earlier = list_pupils(club, range(4))  # their contacts stay in Outlook after `contact remove`
    nameless = club.write(lambda: add_person(PersonInput(first_name="Jörg", last_name="Müller")).id)
    club.write(add_contact, "anna", nameless)
    return earlier, nameless


async def _tangled_cycle(club) -> tuple[dict, list]:
    earlier, nameless = _tangle(club)
    await club.sync()
    kept = dict(links(club))
    club.exchange.user_update(kept[earlier[0]], given_name="Renamed", emails=[])  # its display name still names it
    club.exchange.user_update(kept[earlier[1]], emails=["other@example.com"])
    for person_id in [*earlier, nameless]:
        club.write(remove_contact, "anna", person_id)
    await club.sync()
    outlook_contacts(club, [10, 11, 11, 12])  # 11: two alike, none taken
    club.exchange.user_create(given_name="Erika", surname="Muster", emails=["pupil12@example.com"])
    club.exchange.user_create(given_name="Pupil13", surname="Muster")  # a name alone is no match
    club.write(lambda: add_person(PersonInput(first_name="Pupil14", last_name="Muster", emails=("x@example.com",))))
    outlook_contacts(club, [14])  # two persons of that name: not taken
    for person_id in [*earlier, nameless]:
        club.write(add_contact, "anna", person_id)
    list_pupils(club, range(10, 15))
    await club.sync()
    return links(club), report(club)


async def test_the_folder_read_once_decides_as_the_searches_do(tmp_path, monkeypatch):
    searched = _club(tmp_path / "searched")  # (one club at a time: a club's database binds the models)
    with monkeypatch.context() as patched:
        patched.setattr(contact_candidates, "FEW_SEARCHES", 10_000)
        by_search = await _tangled_cycle(searched)
    assert "search_contacts" in searched.exchange.calls
    monkeypatch.setattr(contact_candidates, "FEW_SEARCHES", 0)
    indexed = _club(tmp_path / "indexed")
    by_index = await _tangled_cycle(indexed)
    assert "search_contacts" not in indexed.exchange.calls
    assert by_index == by_search
    adopted = [line for line in by_index[1] if line[0] == "adopt"]
    assert len(adopted) == 7  # the 5 earlier contacts, pupils 10 and 12
    assert sum(1 for line in by_index[1] if "contacts alike, none taken" in line[2]) == 2  # pupils 11 and 14
