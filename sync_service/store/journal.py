"""Reading the change journal that the database's triggers write.

Every insert, real update and delete of an appointment, a person or a booking appends one entry,
whichever program or connection wrote it. Readers keep a position (the last sequence number they
handled); reading the changes after a position walks the journal's primary key from there, so it
costs what the changes cost, whatever the size of the tables.

The readers, and where their positions are kept:
- any program, by a named cursor in `journal_cursor`;
- the sync engine, per calendar subscription (`subscription_state.journal_seq`) and per user's
  contacts (`contact_sync_state.journal_seq`). Until its first sync is done (`initial_done`) such
  a position means nothing: a first sync reads the tables themselves, not the journal, and then
  records the journal's newest entry as its position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, cast

import peewee as pw

from .models import ContactSyncState, JournalCursor, JournalEntry, SubscriptionState

PRUNE_BATCH = 2000  # entries deleted per call of prune(): one short transaction


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
    return [Change(*row) for row in cast(Iterable[tuple[Any, ...]], query)]  # .tuples(): the stubs say models


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


def prunable_through() -> int:
    """The newest sequence number that every reader has handled: the lowest position of all the
    cursors and of the engine's subscriptions and contact lists whose first sync is done. With no
    reader at all nobody needs any entry: the newest one ever written."""
    positions = [JournalCursor.select(pw.fn.MIN(JournalCursor.seq)).scalar()]
    for state in (SubscriptionState, ContactSyncState):
        positions.append(state.select(pw.fn.MIN(state.journal_seq)).where(state.initial_done).scalar())
    return min([latest_seq(), *(int(seq) for seq in positions if seq is not None)])


def prune(limit: int = PRUNE_BATCH) -> int:
    """Delete the oldest entries that every reader has handled (see prunable_through), at most
    `limit` of them; returns how many were deleted. Each call is meant as a transaction of its
    own, so that PC CADDIE's writers wait for no more than one batch: call it again until it
    deletes fewer than `limit`. The sequence numbers are never given again (`latest_seq()` stays)."""
    through = prunable_through()
    oldest = (
        JournalEntry.select(JournalEntry.seq).where(JournalEntry.seq <= through).order_by(JournalEntry.seq).limit(limit)
    )
    return JournalEntry.delete().where(JournalEntry.seq.in_(oldest)).execute()
