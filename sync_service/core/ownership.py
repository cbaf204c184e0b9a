"""Which subscription an Exchange item belongs to when several areas sync into one calendar.

Several subscriptions of one user may share an Exchange calendar (the main calendar is the
default). An item the sync made belongs to the subscription whose link knows it (by its Exchange
id or our external id). An item made in Outlook goes into exactly one area: the first of its
Outlook categories that names one of the calendar's areas, else the calendar's import area (the
subscription marked so, else the first one made). Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable


def area_key(name: str) -> str:
    """Area names and categories compare without regard to case, spacing or Unicode form."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


@dataclass(frozen=True)
class SharedCalendar:
    """The subscriptions syncing into one Exchange calendar, seen from one of them (`me`)."""

    me: int
    areas: tuple[tuple[int, str], ...] = ()  # (subscription id, area name) of all of them, `me` included
    import_subscription: int | None = None  # None: `me` (alone on its calendar)

    @property
    def alone(self) -> bool:
        return len(self.areas) <= 1

    @property
    def mates(self) -> tuple[int, ...]:
        """The other subscriptions on the same calendar."""
        return tuple(sid for sid, _ in self.areas if sid != self.me)

    def owner(self, categories: Iterable[str]) -> int:
        """The subscription that imports an item made in Outlook with these categories."""
        by_name = {area_key(name): sid for sid, name in self.areas}
        for category in categories:
            sid = by_name.get(area_key(category))
            if sid is not None:
                return sid
        return self.me if self.import_subscription is None else self.import_subscription

    def takes(self, categories: Iterable[str]) -> bool:
        return self.alone or self.owner(categories) == self.me


def shared_calendar(me: int, subscriptions: Iterable[tuple[int, str, bool]]) -> SharedCalendar:
    """From (subscription id, area name, marked as import area) of every subscription on the calendar."""
    ordered = sorted(subscriptions)
    marked = [sid for sid, _, takes_imports in ordered if takes_imports]
    first = ordered[0][0] if ordered else me
    return SharedCalendar(me, tuple((sid, name) for sid, name, _ in ordered), marked[0] if marked else first)
