"""The sync engine's view of one Exchange mailbox, through the gateway.

`MailboxTrouble` is a failure of the mailbox as a whole (wrong password, server unreachable or
throttling, gateway away): the subscription's cycle ends there, no item is blamed for it.
Per-item failures come back in the batch results.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence, TypeVar

from protocol.entries import (
    ChangePage,
    ContactEntry,
    EntryError,
    Fetched,
    Found,
    ItemRef,
    ItemResult,
    NewItem,
    Occurrences,
    UpdateRequest,
    contacts_from_wire,
    request_wire,
)
from protocol.rpc import ConnectionLost, RemoteError, RequestTimeout, RpcPeer

# Request-level codes that concern the mailbox, not an item: the cycle of that mailbox ends, no
# attempt is counted. mailbox_full: over its quota (reads work, writes wait); sync_state_invalid:
# Exchange no longer knows the sync state (the folder is read afresh from no state).
MAILBOX_CODES = {
    "auth_failed",
    "unreachable",
    "throttled",
    "timeout",
    "server_error",
    "busy",
    "mailbox_full",
    "sync_state_invalid",
}


class MailboxTrouble(Exception):
    """`reason`: the gateway's machine reason of an `auth_failed` (exchange_gateway/errors.REASONS;
    None from a gateway older than it)."""

    def __init__(self, code: str, message: str, retry_after: float | None = None, reason: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.reason = reason


class ExchangeClient(Protocol):
    """One mailbox's folders of one kind (calendar or contacts), in the wire's entries
    (protocol/entries.py): what is sent is built as them, what comes back is read into them."""

    async def ensure_folder(self, name: str) -> bool: ...  # True: it was made now

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> ChangePage: ...

    async def create(self, folder: str, entries: Sequence[NewItem]) -> list[ItemResult]: ...

    async def update(self, items: Sequence[UpdateRequest]) -> list[ItemResult]: ...

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]: ...

    async def find_external(
        self, folder: str, external_ids: Sequence[str], all_matches: bool = False
    ) -> Found: ...  # external id → the items carrying it (without all_matches: the first only)

    async def get(self, ids: Sequence[str]) -> list[Fetched]: ...

    async def search_contacts(self, text: str) -> list[ContactEntry]: ...  # by e-mail address or name

    async def occurrences(
        self, folder: str, series_ids: Sequence[str], start: str, end: str
    ) -> Occurrences: ...  # per master (at most MAX_SERIES): its occurrences overlapping [start, end]


T = TypeVar("T")


class GatewayExchangeClient:
    """An ExchangeClient that asks the gateway (one mailbox, one kind of folder). `account` is the
    account's wire form (`protocol.accounts`, made by `store/accounts.account_for_gateway`). The
    entries are turned into their wire form before each request, and each reply is read back with
    `from_wire`: a reply it refuses is the mailbox's `MailboxTrouble("invalid")`."""

    def __init__(
        self, peer: RpcPeer, account: Mapping[str, Any], kind: str = "calendar", timeout: float = 180.0
    ) -> None:
        self.peer = peer
        self.account = dict(account)
        self.kind = kind
        self.timeout = timeout

    async def _ask(self, op: str, **args: Any) -> Any:
        try:
            return await self.peer.request(
                op, {"account": self.account, "kind": self.kind, **args}, timeout=self.timeout
            )
        except RemoteError as exc:
            if exc.code in MAILBOX_CODES or exc.code == "not_found":
                reason = exc.details.get("reason")
                raise MailboxTrouble(
                    exc.code, exc.message, exc.details.get("retry_after"), reason if isinstance(reason, str) else None
                ) from None
            raise MailboxTrouble("invalid", exc.message) from None
        except (ConnectionLost, RequestTimeout) as exc:
            raise MailboxTrouble("gateway", f"the Exchange gateway did not answer: {exc}") from None

    @staticmethod
    def _read(op: str, reply: Any, read: Callable[[Any], T]) -> T:
        try:
            return read(reply)
        except EntryError as refused:
            raise MailboxTrouble("invalid", f"the gateway's answer to {op} is malformed: {refused.message}") from None

    def _results(self, op: str, reply: Any) -> list[ItemResult]:
        return self._read(op, reply, lambda wire: [ItemResult.from_wire(r) for r in _listed(wire)])

    async def ensure_folder(self, name: str) -> bool:
        """Make the sub-folder if it is not there; True when it was made now."""
        answer = await self._ask("exchange.ensure_folder", name=name)
        return bool(answer.get("created")) if isinstance(answer, Mapping) else False

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> ChangePage:
        """Ids and change keys only: the engine fetches what it does not hold yet (remote_feed)."""
        reply = await self._ask(
            "exchange.changes", folder=folder, sync_state=sync_state, max_changes=max_changes, with_items=False
        )
        return self._read("exchange.changes", reply, lambda wire: ChangePage.from_wire(self.kind, wire))

    async def create(self, folder: str, entries: Sequence[NewItem]) -> list[ItemResult]:
        reply = await self._ask("exchange.create", folder=folder, items=[request_wire(e) for e in entries])
        return self._results("exchange.create", reply)

    async def update(self, items: Sequence[UpdateRequest]) -> list[ItemResult]:
        reply = await self._ask("exchange.update", items=[item.to_wire() for item in items])
        return self._results("exchange.update", reply)

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        reply = await self._ask("exchange.delete", items=[ref.to_wire() for ref in refs])
        return self._results("exchange.delete", reply)

    async def find_external(self, folder: str, external_ids: Sequence[str], all_matches: bool = False) -> Found:
        reply = await self._ask(
            "exchange.find_external", folder=folder, external_ids=list(external_ids), all_matches=all_matches
        )
        return self._read("exchange.find_external", reply, lambda wire: Found.from_wire(self.kind, wire, all_matches))

    async def get(self, ids: Sequence[str]) -> list[Fetched]:
        reply = await self._ask("exchange.get", ids=list(ids))
        return self._read("exchange.get", reply, lambda wire: [Fetched.from_wire(self.kind, a) for a in _listed(wire)])

    async def search_contacts(self, text: str) -> list[ContactEntry]:
        """The mailbox's contacts with that e-mail address, or whose names contain the text."""
        reply = await self._ask("exchange.search_contacts", text=text)
        return self._read("exchange.search_contacts", reply, contacts_from_wire)

    async def occurrences(self, folder: str, series_ids: Sequence[str], start: str, end: str) -> Occurrences:
        """Every occurrence and exception of these series (masters' ids, at most MAX_SERIES)
        overlapping the window [start, end] (UTC instants), per master; `not_found` for a gone one."""
        reply = await self._ask("exchange.occurrences", folder=folder, series=list(series_ids), start=start, end=end)
        return self._read("exchange.occurrences", reply, Occurrences.from_wire)


def _listed(wire: Any) -> list[Any]:
    if not isinstance(wire, list):
        raise EntryError("the answer must be a list, one per item")
    return wire
