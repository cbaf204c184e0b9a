"""The seam between the gateway's backend-neutral operations and one kind of Exchange server.

A `Backend` (EWS today; Microsoft Graph next) is registered under the tag an account names in its
`backend` field ("ews" when the account has none: older sync services send a flat map). For each
request the operations ask it to read the account map (`account`), to open that account's
mailbox for this one call (`mailbox`), and to turn whatever the work raised into a stable code
(`failure`: it also drops what it caches for an account Exchange refused).

A `MailboxBackend` is one mailbox for one call. Its methods are coroutines, each answering in the
wire's entries (protocol/entries.py) and per item in `ItemResult`s, in input order, one bad item
never failing the others. A backend whose library blocks (exchangelib) does its work through the
`Threads` it is given (threads.py), so that the neutral limits hold for it; a natively async one
(httpx) simply awaits. Everything else — argument validation, batch sizes, the per-mailbox and
overall limits, the deadline, the server's back-off, the creates still in flight, the reply
budget — is the operations' (exchange_operations.py), the same for every backend.

Before it builds an item, a backend shortens the entry with `fitting.fit` and names the fields it
shortened in the item's result.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from protocol.entries import (
    CalendarEntry,
    Entry,
    ItemRef,
    ItemResult,
)  # ItemResult: the wire's, one copy with the sync service

from .errors import GatewayError
from .threads import Threads

DEFAULT_BACKEND = "ews"  # an account map without a `backend` tag is an EWS account
ItemUpdate = tuple[ItemRef, Entry, set[str]]  # the item, what to write, the entry fields to write


class Account(Protocol):
    """A backend's reading of an account map: whatever it needs, and at least these two."""

    @property
    def mailbox(self) -> str: ...  # the mailbox's address (its limits and back-off are per address)

    @property
    def label(self) -> str: ...  # for messages: the mailbox and where it is, never a credential


class MailboxBackend(Protocol):
    """One mailbox, for one call. `kind` is "calendar" or "contacts"; `folder` "" is the main
    calendar (contacts folder), else a sub-folder's name (compared as Exchange compares them)."""

    async def check(self) -> dict[str, object]:
        """A real round trip: {"mailbox", "server_version", "api_version", "calendar"}."""
        ...

    async def list_folders(self, kind: str) -> list[dict[str, object]]:
        """The main folder and its sub-folders: [{"name", "display_name", "id", "main"}]."""
        ...

    async def ensure_folder(self, kind: str, name: str) -> dict[str, object]:
        """The sub-folder `name`, made if it is not there: {"id", "name", "created"}."""
        ...

    async def changes(
        self, kind: str, folder: str, sync_state: str | None, max_changes: int, with_items: bool
    ) -> dict[str, object]:
        """One page since `sync_state` (None: everything): {"changes": [Change.to_wire()],
        "sync_state", "complete"}; a state the server refuses raises `sync_state_invalid`."""
        ...

    async def fetch(self, ids: Sequence[str]) -> list[Entry | GatewayError]:
        """Items by id, each answer (an entry or its error) in its place."""
        ...

    async def create(self, kind: str, folder: str, entries: Sequence[Entry]) -> list[ItemResult]: ...

    async def update(self, kind: str, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        """Write the named fields; a change key no longer current is that item's `conflict`."""
        ...

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        """Deleting what is already gone is done, not failed."""
        ...

    async def find_by_external_id(
        self, kind: str, folder: str, external_ids: Sequence[str]
    ) -> dict[str, list[dict[str, object]]]:
        """Every item of the folder carrying one of `external_ids`, as wire entries, by external id."""
        ...

    async def occurrences(
        self, folder: str, series_ids: Sequence[str], start: str, end: str
    ) -> dict[str, list[CalendarEntry] | GatewayError]:
        """Per master (calendar `folder`), its occurrences and exceptions overlapping [start, end]
        (one ending at `start` included), sorted by original start, each a full entry with
        series_type, series_id (the master's id) and original_start; a master gone: its
        GatewayError(not_found) in its place."""
        ...

    async def search_contacts(self, text: str) -> list[dict[str, object]]: ...


class Backend(Protocol):
    """One kind of Exchange server, registered under an account's `backend` tag (backends.py)."""

    def account(self, wire: Any) -> Account:
        """The account map read and checked; GatewayError(invalid) with a sentence if it is wrong."""
        ...

    def mailbox(self, account: Any, threads: Threads) -> MailboxBackend:
        """The account's mailbox for one call (no network yet)."""
        ...

    def failure(self, account: Any, exc: Exception) -> GatewayError:
        """The stable code for what the work raised; after `auth_failed`, nothing cached is kept
        for the account. Called in the worker thread for threaded work (it must be thread-safe)."""
        ...
