"""Read-only work never waits for PC CADDIE's writers; work that may write takes the write lock.

PC CADDIE is a second, raw sqlite3 connection holding a write transaction. The service's database
is opened with no busy timeout, so whatever needs the write lock fails at once ("database is
locked") instead of waiting: no test here sleeps."""

import sqlite3

import peewee as pw
import pytest
import trio

from sync_service.engine.database import DbRunner
from sync_service.service import watch_journal
from sync_service.store import journal
from sync_service.store.database import open_database
from sync_service.store.models import TimetableArea

NOW = "2026-06-01 09:30:00"


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3", synchronous="off", busy_timeout=0)
    database.close()  # the runner's worker thread opens its own connection
    yield database
    database.close()


@pytest.fixture
def pccaddie(tmp_path, db):
    connection = sqlite3.connect(tmp_path / "club.sqlite3", isolation_level=None)
    yield connection
    connection.close()


def add_appointment(connection) -> None:
    area = connection.execute("INSERT INTO timetable_area (name) VALUES (?)", (f"Area {NOW}",)).lastrowid
    connection.execute(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)',
        (area, "Round", NOW, NOW, NOW, NOW),
    )


def area_names() -> list[str]:
    return [area.name for area in TimetableArea.select()]


async def test_a_read_does_not_wait_for_a_writer_and_sees_the_last_commit(db, pccaddie):
    runner = DbRunner(db)
    pccaddie.execute("BEGIN IMMEDIATE")
    add_appointment(pccaddie)  # not committed yet
    with trio.fail_after(5):
        assert await runner.read(journal.latest_seq) == 0
        assert await runner.read(area_names) == []
    with pytest.raises(pw.OperationalError, match="locked"):
        await runner.run(journal.latest_seq)  # even a read takes the write lock through run()
    pccaddie.execute("COMMIT")
    assert await runner.read(journal.latest_seq) == 1
    assert await runner.run(journal.latest_seq) == 1


async def test_work_that_writes_fails_in_a_read_and_the_connection_writes_again_afterwards(db):
    runner = DbRunner(db)

    def add_area(name: str) -> int:
        return TimetableArea.create(name=name).id

    with pytest.raises(pw.OperationalError, match="readonly"):
        await runner.read(add_area, "Tee times")
    assert await runner.read(area_names) == []  # nothing half-written
    await runner.run(add_area, "Lessons")
    assert await runner.read(area_names) == ["Lessons"]


class Scheduler:
    def __init__(self) -> None:
        self.early = trio.Event()

    def request_early(self) -> None:
        self.early.set()


async def test_the_journal_watcher_keeps_looking_while_pccaddie_writes(db, pccaddie, monkeypatch):
    looks, read_latest = [], journal.latest_seq

    def latest_seq() -> int:
        looks.append(1)
        return read_latest()

    monkeypatch.setattr(journal, "latest_seq", latest_seq)
    scheduler = Scheduler()
    pccaddie.execute("BEGIN IMMEDIATE")
    add_appointment(pccaddie)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_journal, DbRunner(db), scheduler, 0)
            while len(looks) < 5:  # it looks again and again while PC CADDIE holds the write lock
                await trio.sleep(0)
            assert not scheduler.early.is_set()
            pccaddie.execute("COMMIT")
            await scheduler.early.wait()  # and the committed change brings the next cycle forward
            nursery.cancel_scope.cancel()
