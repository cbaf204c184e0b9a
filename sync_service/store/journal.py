"""Reading the change journal that the database's triggers write.

Every insert, real update and delete of an appointment, a person or a booking appends one entry,
whichever program or connection wrote it. Readers keep a named cursor (the last sequence number
they handled); reading the changes after a cursor walks the journal's primary key from there, so
it costs what the changes cost, whatever the size of the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from .models import JournalCursor, JournalEntry


@dataclass(frozen=True)
class Change:
    seq: int
    table: str  # appointment | person | booking
    row_id: int
    operation: str  # insert | update | delete
    changed_at: str  # UTC, ISO 8601
    area_id: int | None  # the appointment's area (after the change; before it, for a delete)
    old_area_id: int | None  # the area before an update or delete of an appointment or booking
    appointment_id: int | None
    person_id: int | None


def changes_since(seq: int, limit: int = 1000) -> list[Change]:
    """The changes after sequence number `seq`, oldest first, at most `limit` of them."""
    query = JournalEntry.select().where(JournalEntry.seq > seq).order_by(JournalEntry.seq).limit(limit).tuples()
    return [Change(*row) for row in query]


def latest_seq() -> int:
    """The sequence number of the newest entry ever written (0 for none), even if pruned since."""
    row = JournalEntry._meta.database.execute_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'change_journal'"
    ).fetchone()
    return int(row[0]) if row else 0


def read_cursor(name: str) -> int:
    cursor = JournalCursor.get_or_none(JournalCursor.name == name)
    return cursor.seq if cursor is not None else 0


def save_cursor(name: str, seq: int) -> None:
    """Record that `name` has handled everything up to `seq` (call inside the consumer's transaction)."""
    JournalCursor.insert(name=name, seq=seq).on_conflict(
        conflict_target=[JournalCursor.name], update={JournalCursor.seq: seq}
    ).execute()


def drop_cursor(name: str) -> None:
    JournalCursor.delete().where(JournalCursor.name == name).execute()


def prune() -> int:
    """Delete the entries every cursor has read; with no cursor at all nobody needs any. Returns
    how many were deleted."""
    oldest = JournalCursor.select(pw.fn.MIN(JournalCursor.seq)).scalar()
    if oldest is None:
        oldest = latest_seq()
    return JournalEntry.delete().where(JournalEntry.seq <= oldest).execute()
