"""Pruning the change journal: only what every reader has handled goes, in short transactions.

The readers are the named cursors and the sync engine's positions per calendar subscription and
per user's contacts; a subscription whose first sync is not done reads the tables, not the
journal, and holds nothing back."""

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from sync_service.admin.parameters import set_parameter
from sync_service.admin.users import add_user
from sync_service.engine.calendar_sync import EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.engine.runner import CycleEngine, prune_journal
from sync_service.store import journal
from sync_service.store.database import open_database
from sync_service.store.models import (
    CalendarSubscription,
    ContactSyncState,
    JournalEntry,
    SubscriptionState,
    TimetableArea,
)
from sync_service.vault import PasswordVault

NOW = "2026-06-01 09:30:00"


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3", synchronous="off")
    yield database
    database.close()


@pytest.fixture
def other(tmp_path, db):
    """PC CADDIE's own connection to the same database."""
    connection = sqlite3.connect(tmp_path / "club.sqlite3", isolation_level=None)
    yield connection
    connection.close()


def make_changes(other, count: int) -> None:
    area = other.execute("INSERT INTO timetable_area (name) VALUES (?)", (f"Area {journal.latest_seq()}",)).lastrowid
    for i in range(count):
        other.execute(
            'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)',
            (area, f"#{i}", NOW, NOW, NOW, NOW),
        )


def subscription(login: str, position: int, initial_done: bool = True, paused: bool = False) -> int:
    """A calendar subscription whose engine position is `position`."""
    user = add_user(login)
    area = TimetableArea.create(name=f"Lessons {login}")
    row = CalendarSubscription.create(
        user=user,
        area=area,
        folder_name="",
        created=datetime(2026, 6, 1),
        paused_reason="on holiday" if paused else None,
    )
    SubscriptionState.create(subscription=row, journal_seq=position, initial_done=initial_done)
    return row.id


def contacts(login: str, position: int, initial_done: bool = True) -> None:
    ContactSyncState.create(user=add_user(login), journal_seq=position, initial_done=initial_done)


def remaining() -> list[int]:
    return [row.seq for row in JournalEntry.select(JournalEntry.seq).order_by(JournalEntry.seq)]


def prune_all(batch: int = journal.PRUNE_BATCH) -> int:
    total = 0
    while (deleted := journal.prune(batch)) == batch:
        total += deleted
    return total + deleted


def test_a_subscription_far_behind_holds_pruning_back(db, other):
    make_changes(other, 20)
    journal.save_cursor("another program", 18)
    behind = subscription("pro1", 5)
    subscription("pro2", 17)
    contacts("pro3", 12)
    assert journal.prunable_through() == 5
    assert prune_all() == 5
    assert remaining() == list(range(6, 21))  # pro1 reads on from 5: everything after it is there
    SubscriptionState.update(journal_seq=19).where(SubscriptionState.subscription == behind).execute()
    assert prune_all() == 7  # now the contacts (12) are the oldest reader
    assert remaining() == list(range(13, 21))


def test_a_paused_subscription_and_each_reader_kind_hold_pruning_back(db, other):
    make_changes(other, 10)
    subscription("paused", 3, paused=True)  # it reads the journal from 3 when it is resumed
    assert journal.prunable_through() == 3
    journal.save_cursor("report", 2)
    assert journal.prunable_through() == 2
    contacts("pro", 1)
    assert journal.prunable_through() == 1


def test_a_first_sync_not_done_holds_nothing_back(db, other):
    make_changes(other, 10)
    subscription("new", 0, initial_done=False)  # its first sync reads the tables
    contacts("newcomer", 0, initial_done=False)
    subscription("synced", 7)
    assert journal.prunable_through() == 7
    assert prune_all() == 7


def test_with_no_reader_everything_goes_and_numbers_are_never_given_again(db, other):
    make_changes(other, 10)
    subscription("new", 0, initial_done=False)
    assert prune_all() == 10
    assert remaining() == []
    assert journal.latest_seq() == 10
    make_changes(other, 1)
    assert [c.seq for c in journal.changes_since(10)] == [11]
    assert journal.latest_seq() == 11


def test_each_prune_deletes_at_most_a_batch_oldest_first(db, other):
    make_changes(other, 10)
    journal.save_cursor("engine", 8)
    assert journal.prune(3) == 3
    assert remaining() == list(range(4, 11))
    assert journal.prune(3) == 3
    assert journal.prune(3) == 2  # only up to the cursor
    assert journal.prune(3) == 0
    assert remaining() == [9, 10]


@pytest.mark.parametrize("batch", [1, 4, 1000])
async def test_nothing_a_reader_still_needs_is_deleted(db, other, batch):
    make_changes(other, 30)
    subscription("a", 9)
    subscription("b", 21, paused=True)
    subscription("first", 0, initial_done=False)
    contacts("c", 14)
    journal.save_cursor("x", 27)
    positions = [9, 21, 14, 27]
    before = {seq: journal.changes_since(seq, limit=100) for seq in positions}
    db.close()  # the runner's thread opens its own connection

    assert await prune_journal(DbRunner(db), batch=batch, pause=0) == 9

    with db.connection_context():
        assert {seq: journal.changes_since(seq, limit=100) for seq in positions} == before
        assert remaining() == list(range(10, 31))
        assert journal.latest_seq() == 30


async def test_the_engine_prunes_the_journal_with_its_hourly_pruning(db, other):
    set_parameter("SYNC_EXCH", "1")
    make_changes(other, 12)
    subscription("pro", 6, paused=True)  # not synchronised this cycle, but it will read from 6
    db.close()
    clock = [0.0]
    engine = CycleEngine(
        DbRunner(db),
        EngineSettings(ZoneInfo("Europe/Berlin"), PasswordVault(Fernet.generate_key())),
        clock=lambda: clock[0],
    )

    await engine.run(client_for=lambda account, kind: pytest.fail("no calendar is synchronised"))
    with db.connection_context():
        assert remaining() == list(range(7, 13))
        SubscriptionState.update(journal_seq=12).execute()

    clock[0] += 60  # within the hour: no pruning
    await engine.run(client_for=lambda account, kind: pytest.fail("no calendar is synchronised"))
    with db.connection_context():
        assert remaining() == list(range(7, 13))

    clock[0] += 3600
    await engine.run(client_for=lambda account, kind: pytest.fail("no calendar is synchronised"))
    with db.connection_context():
        assert remaining() == []
