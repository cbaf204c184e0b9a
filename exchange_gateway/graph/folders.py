"""The sub-folders of each mailbox's calendar and contacts folder, as the Graph backend last listed
them: kept for `max_age` seconds, so that a sub-calendar's feed costs one request, not two. The
list is read again at once when a name is not in it, before a folder is made, and after Graph said
a listed folder is not there. Names are compared as Exchange compares them (ews/folders.folder_key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..ews.folders import DEFAULT_MAX_AGE, folder_key

FolderKey = tuple[str, str, str]  # (Graph address, mailbox, kind)


@dataclass(frozen=True)
class Folder:
    id: str
    name: str


@dataclass(frozen=True)
class _Listing:
    taken: float
    children: dict[str, Folder]


class FolderListings:
    """One per backend; the gateway's trio run is its only user (no threads)."""

    def __init__(self, max_age: float = DEFAULT_MAX_AGE, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._listings: dict[FolderKey, _Listing] = {}

    def find(self, key: FolderKey, name: str) -> Folder | None:
        """The sub-folder `name` if a listing young enough names it."""
        listing = self._listings.get(key)
        if listing is None or self._clock() - listing.taken > self.max_age:
            return None
        return listing.children.get(folder_key(name))

    def keep(self, key: FolderKey, children: list[Folder]) -> None:
        self._listings[key] = _Listing(self._clock(), {folder_key(f.name): f for f in children})

    def forget(self, key: FolderKey) -> None:
        self._listings.pop(key, None)
