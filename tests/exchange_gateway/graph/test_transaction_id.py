"""A create's transactionId is what it was (the same entry into the same folder: the same id, so a
create sent again after the gateway was upgraded makes no second event), and tells entries apart."""

from __future__ import annotations

import hashlib
import uuid

from hypothesis import given
from hypothesis import strategies as st

from exchange_gateway.graph.mailbox import TRANSACTIONS, transaction_id
from protocol.entries import CalendarEntry

texts = st.text(max_size=20)
entries = st.builds(
    CalendarEntry,
    subject=texts,
    start=st.just("2026-06-01T07:30:00Z"),
    end=st.just("2026-06-01T08:30:00Z"),
    all_day=st.booleans(),
    body=texts,
    location=texts,
    timezone=st.sampled_from(["UTC", "Europe/Berlin"]),
    private=st.booleans(),
    reminder_minutes=st.none() | st.integers(0, 600),
    categories=st.lists(texts, max_size=3).map(tuple),
    external_id=st.none() | texts,
    written=st.none() | texts,
)


def as_it_was(mailbox: str, folder_path: str, entry: CalendarEntry) -> str:
    text = "\n".join((mailbox.lower(), folder_path, repr(sorted(entry.to_wire().items()))))
    return str(uuid.uuid5(TRANSACTIONS, hashlib.sha256(text.encode()).hexdigest()))


@given(entries)
def test_the_transaction_id_is_the_one_made_from_the_entrys_wire_form(entry: CalendarEntry):
    assert transaction_id("Anna@Club.example", "/calendar/events", entry) == as_it_was(
        "Anna@Club.example", "/calendar/events", entry
    )


def test_another_entry_or_folder_is_another_transaction():
    entry = CalendarEntry("Lesson", "2026-06-01T07:30:00Z", "2026-06-01T08:30:00Z", categories=("A",))
    same = transaction_id("anna@club.example", "/calendar/events", entry)
    assert transaction_id("ANNA@club.example", "/calendar/events", entry) == same
    assert transaction_id("anna@club.example", "/calendars/X/events", entry) != same
    assert (
        transaction_id(
            "anna@club.example", "/calendar/events", CalendarEntry(**{**entry.to_wire(), "categories": ("B",)})
        )
        != same
    )
