"""The change journal, written by triggers, seen whoever writes: here mostly a second, raw
sqlite3 connection, as PC CADDIE itself would be."""

import sqlite3
from datetime import datetime

import pytest

from sync_service.store import journal
from sync_service.store.database import open_database
from sync_service.store.models import Appointment, Booking, JournalEntry, Person, TimetableArea

NOW = "2026-06-01 09:30:00"


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3")
    yield database
    database.close()


@pytest.fixture
def other(tmp_path, db):
    """Another program's connection to the same database."""
    connection = sqlite3.connect(tmp_path / "club.sqlite3", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    yield connection
    connection.close()


def add_area(other, name="Tee times"):
    return other.execute("INSERT INTO timetable_area (name) VALUES (?)", (name,)).lastrowid


def add_appointment(other, area, title="Round"):
    return other.execute(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)',
        (area, title, NOW, NOW, NOW, NOW),
    ).lastrowid


def add_person(other, first="Max", last="Muster"):
    return other.execute(
        "INSERT INTO person (first_name, last_name, created, modified) VALUES (?, ?, ?, ?)",
        (first, last, NOW, NOW),
    ).lastrowid


def summary(changes):
    return [(c.table, c.row_id, c.operation) for c in changes]


def test_writes_of_another_connection_are_journaled(db, other):
    area = add_area(other)
    appointment = add_appointment(other, area)
    person = add_person(other)
    booking = other.execute(
        "INSERT INTO booking (appointment_id, person_id) VALUES (?, ?)", (appointment, person)
    ).lastrowid
    other.execute("UPDATE appointment SET title = 'Medal' WHERE id = ?", (appointment,))
    other.execute("UPDATE person SET city = 'Köln' WHERE id = ?", (person,))
    changes = journal.changes_since(0)
    assert summary(changes) == [
        ("appointment", appointment, "insert"),
        ("person", person, "insert"),
        ("booking", booking, "insert"),
        ("appointment", appointment, "update"),
        ("person", person, "update"),
    ]
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert changes[0].area_id == area
    assert changes[2].appointment_id == appointment and changes[2].person_id == person and changes[2].area_id == area
    assert all(c.changed_at.endswith("Z") for c in changes)


def test_updates_that_change_nothing_are_not_journaled(db, other):
    appointment = add_appointment(other, add_area(other))
    other.execute(
        "UPDATE appointment SET title = title, modified = '2027-01-01 00:00:00' WHERE id = ?", (appointment,)
    )  # only the bookkeeping column moved
    assert summary(journal.changes_since(0)) == [("appointment", appointment, "insert")]


def test_a_deleted_row_keeps_what_finds_its_links(db, other):
    area = add_area(other)
    appointment = add_appointment(other, area)
    person = add_person(other)
    other.execute("INSERT INTO booking (appointment_id, person_id) VALUES (?, ?)", (appointment, person))
    seq = journal.latest_seq()
    other.execute("DELETE FROM appointment WHERE id = ?", (appointment,))  # cascades to the booking
    other.execute("DELETE FROM person WHERE id = ?", (person,))
    changes = journal.changes_since(seq)
    assert summary(changes) == [
        ("booking", 1, "delete"),
        ("appointment", appointment, "delete"),
        ("person", person, "delete"),
    ]
    deleted = changes[1]
    assert (deleted.appointment_id, deleted.area_id, deleted.old_area_id) == (appointment, area, area)
    assert changes[2].person_id == person


def test_moving_an_appointment_to_another_area_names_both(db, other):
    tee, lessons = add_area(other), add_area(other, "Lessons")
    appointment = add_appointment(other, tee)
    other.execute("UPDATE appointment SET area_id = ? WHERE id = ?", (lessons, appointment))
    moved = journal.changes_since(0)[-1]
    assert (moved.operation, moved.area_id, moved.old_area_id) == ("update", lessons, tee)


def test_peewee_writes_are_journaled_too(db):
    area = TimetableArea.create(name="Rooms")
    now = datetime(2026, 6, 1, 9, 30)
    appointment = Appointment.create(area=area, title="Meeting", start=now, end=now, created=now, modified=now)
    person = Person.create(first_name="Eva", last_name="Golf", created=now, modified=now)
    Booking.create(appointment=appointment, person=person)
    appointment.save()  # unchanged
    assert [c.table for c in journal.changes_since(0)] == ["appointment", "person", "booking"]


def test_reading_in_pages(db, other):
    area = add_area(other)
    for i in range(25):
        add_appointment(other, area, f"#{i}")
    seen, cursor = [], 0
    while page := journal.changes_since(cursor, limit=10):
        seen += page
        cursor = page[-1].seq
    assert len(seen) == 25 and len({c.row_id for c in seen}) == 25


def test_cursors_and_pruning(db, other):
    area = add_area(other)
    for _ in range(10):
        add_appointment(other, area)
    assert journal.read_cursor("engine") == 0
    journal.save_cursor("engine", 4)
    journal.save_cursor("contacts", 7)
    assert journal.prune() == 4  # below the oldest cursor
    assert [c.seq for c in journal.changes_since(0)] == list(range(5, 11))
    journal.save_cursor("engine", 10)
    assert journal.prune() == 3
    journal.drop_cursor("engine")
    journal.drop_cursor("contacts")
    assert journal.prune() == 3  # nobody needs anything
    assert JournalEntry.select().count() == 0
    add_appointment(other, area)
    assert journal.changes_since(10)[0].seq == 11  # numbers are never reused after pruning
    assert journal.latest_seq() == 11


def test_reading_from_a_big_table_walks_only_the_changes(db, other):
    area = add_area(other)
    other.execute("BEGIN")
    other.executemany(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)',
        [(area, f"#{i}", NOW, NOW, NOW, NOW) for i in range(2000)],
    )
    other.execute("COMMIT")
    seq = journal.latest_seq()
    one = add_appointment(other, area, "the one change")
    plan = db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT * FROM change_journal WHERE seq > ? ORDER BY seq LIMIT 1000", (seq,)
    ).fetchall()
    assert any("USING INTEGER PRIMARY KEY" in row[-1] for row in plan), plan
    assert summary(journal.changes_since(seq)) == [("appointment", one, "insert")]
