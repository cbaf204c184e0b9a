"""The sub-folders of each mailbox's calendar and contacts folder, as the gateway last listed them.

exchangelib keeps the folder tree it read once for the life of an account, so a sub-calendar the
user deleted, renamed or moved to Deleted Items in Outlook would still be "there". Here the list
of a folder's direct children (one shallow FindFolder) is kept for `max_age` seconds at most,
and read again at once when a name is not in it, before a folder is made, and after Exchange
said a listed folder was not found. Names are compared as Exchange compares them: without regard
to case.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from exchangelib import Account
from exchangelib.folders import SHALLOW, Folder, FolderCollection

from ..errors import NOT_FOUND, GatewayError

DEFAULT_MAX_AGE = 60.0


def folder_key(name: str) -> str:
    """A folder name as Exchange compares it."""
    return name.strip().casefold()


@dataclass(frozen=True)
class _Listing:
    taken: float
    children: dict[str, Folder]


class FolderDirectory:
    """Thread-safe: the gateway's worker threads share it."""

    def __init__(self, max_age: float = DEFAULT_MAX_AGE, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._listings: dict[tuple[str, str, str], _Listing] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(account: Account, kind: str) -> tuple[str, str, str]:
        return (str(account.protocol.service_endpoint), account.primary_smtp_address.lower(), kind)

    def _current(self, key: tuple[str, str, str]) -> dict[str, Folder] | None:
        with self._lock:
            listing = self._listings.get(key)
        if listing is None or self._clock() - listing.taken > self.max_age:
            return None
        return listing.children

    def children(self, account: Account, kind: str, parent: Folder) -> list[Folder]:
        """The direct sub-folders of `parent`, read from Exchange now."""
        found = [
            folder
            for folder in FolderCollection(account=account, folders=[parent]).find_folders(depth=SHALLOW)
            if isinstance(folder, Folder)
        ]
        listing = _Listing(self._clock(), {folder_key(f.name or ""): f for f in found})
        with self._lock:
            self._listings[self._key(account, kind)] = listing
        return found

    def find(self, account: Account, kind: str, parent: Folder, name: str, fresh: bool = False) -> Folder:
        """The sub-folder `name` of `parent`; GatewayError(not_found) if Exchange has none."""
        wanted = folder_key(name)
        listed = None if fresh else self._current(self._key(account, kind))
        if listed is None or wanted not in listed:
            listed = {folder_key(f.name or ""): f for f in self.children(account, kind, parent)}
        folder = listed.get(wanted)
        if folder is None:
            raise GatewayError(NOT_FOUND, f"there is no {kind} folder {name!r} in {account.primary_smtp_address}")
        return folder

    def forget(self, account: Account, kind: str) -> None:
        """Exchange said a listed folder is not there: read the list again next time."""
        with self._lock:
            self._listings.pop(self._key(account, kind), None)
