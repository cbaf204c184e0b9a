"""The EWS backend: exchangelib's blocking work (mailbox.py) in worker threads, one per call.

Registered as "ews" (backends.py). It keeps, across calls, one exchangelib account per endpoint,
mailbox, user, auth and password (connection.AccountCache) and each mailbox's list of
sub-folders (folders.FolderDirectory); an auth failure drops the account.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

from protocol.entries import CalendarEntry, Entry, ItemRef

from ..backend import ItemResult, ItemUpdate
from ..errors import AUTH_FAILED, GatewayError
from ..threads import Threads
from ..tokens import TokenProvider
from .connection import AccountCache, AccountSpec, ExchangeSettings
from .convert import register_external_id
from .errors import map_exception
from .folders import DEFAULT_MAX_AGE, FolderDirectory
from .mailbox import Mailbox

T = TypeVar("T")


class EwsBackend:
    def __init__(
        self,
        settings: ExchangeSettings = ExchangeSettings(),
        folder_max_age: float = DEFAULT_MAX_AGE,
        tokens: TokenProvider | None = None,
    ) -> None:
        register_external_id()
        self.accounts = AccountCache(settings, tokens if tokens is not None else TokenProvider(settings))
        self.folders = FolderDirectory(folder_max_age)  # seconds a mailbox's list of sub-folders is trusted

    def account(self, wire: Any) -> AccountSpec:
        return AccountSpec.from_wire(wire)

    def mailbox(self, account: AccountSpec, threads: Threads) -> EwsMailbox:
        return EwsMailbox(self, account, threads)

    def failure(self, account: AccountSpec, exc: Exception) -> GatewayError:
        error = map_exception(exc)
        if error.code == AUTH_FAILED:
            self.accounts.forget(account)
        return error


class EwsMailbox:
    """The MailboxBackend of one EWS mailbox for one call: each method one worker thread."""

    def __init__(self, backend: EwsBackend, account: AccountSpec, threads: Threads) -> None:
        self._backend = backend
        self._account = account
        self._threads = threads

    async def _run(self, work: Callable[[Mailbox], T]) -> T:
        backend, account = self._backend, self._account
        return await self._threads.run(lambda: work(Mailbox(backend.accounts.get(account), backend.folders)))

    async def check(self) -> dict[str, object]:
        return await self._run(lambda mailbox: mailbox.check())

    async def list_folders(self, kind: str) -> list[dict[str, object]]:
        return await self._run(lambda mailbox: mailbox.list_folders(kind))

    async def ensure_folder(self, kind: str, name: str) -> dict[str, object]:
        return await self._run(lambda mailbox: mailbox.ensure_folder(kind, name))

    async def changes(
        self, kind: str, folder: str, sync_state: str | None, max_changes: int, with_items: bool
    ) -> dict[str, object]:
        return await self._run(lambda mailbox: mailbox.changes(kind, folder, sync_state, max_changes, with_items))

    async def fetch(self, ids: Sequence[str]) -> list[Entry | GatewayError]:
        return await self._run(lambda mailbox: mailbox.fetch(ids))

    async def create(self, kind: str, folder: str, entries: Sequence[Entry]) -> list[ItemResult]:
        return await self._run(lambda mailbox: mailbox.create(kind, folder, entries))

    async def update(self, kind: str, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        return await self._run(lambda mailbox: mailbox.update(kind, updates))

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        return await self._run(lambda mailbox: mailbox.delete(refs))

    async def find_by_external_id(
        self, kind: str, folder: str, external_ids: Sequence[str]
    ) -> dict[str, list[dict[str, object]]]:
        return await self._run(lambda mailbox: mailbox.find_by_external_id(kind, folder, external_ids))

    async def occurrences(
        self, folder: str, series_ids: Sequence[str], start: str, end: str
    ) -> dict[str, list[CalendarEntry] | GatewayError]:
        return await self._run(lambda mailbox: mailbox.occurrences(folder, series_ids, start, end))

    async def search_contacts(self, text: str) -> list[dict[str, object]]:
        return await self._run(lambda mailbox: mailbox.search_contacts(text))
