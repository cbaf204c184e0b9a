"""The sync engine's view of one Exchange mailbox, through the gateway.

`MailboxTrouble` is a failure of the mailbox as a whole (wrong password, server unreachable or
throttling, gateway away): the subscription's cycle ends there, no item is blamed for it.
Per-item failures come back in the batch results.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

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
    async def ensure_folder(self, name: str) -> bool: ...  # True: it was made now

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> Mapping[str, Any]: ...

    async def create(self, folder: str, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]: ...

    async def update(self, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]: ...

    async def delete(self, refs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]: ...

    async def find_external(
        self, folder: str, external_ids: Sequence[str], all_matches: bool = False
    ) -> Mapping[str, Any]: ...  # external id → its item (with all_matches: every item carrying it, a list)

    async def get(self, ids: Sequence[str]) -> list[Mapping[str, Any]]: ...

    async def search_contacts(self, text: str) -> list[Mapping[str, Any]]: ...  # by e-mail address or name


class GatewayExchangeClient:
    """An ExchangeClient that asks the gateway (one mailbox, one kind of folder). `account` is the
    account's wire form (`protocol.accounts`, made by `store/accounts.account_for_gateway`)."""

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

    async def ensure_folder(self, name: str) -> bool:
        """Make the sub-folder if it is not there; True when it was made now."""
        answer = await self._ask("exchange.ensure_folder", name=name)
        return bool(answer.get("created")) if isinstance(answer, Mapping) else False

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> Mapping[str, Any]:
        """Ids and change keys only: the engine fetches what it does not hold yet (remote_feed)."""
        return await self._ask(
            "exchange.changes", folder=folder, sync_state=sync_state, max_changes=max_changes, with_items=False
        )

    async def create(self, folder: str, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return await self._ask("exchange.create", folder=folder, items=list(entries))

    async def update(self, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return await self._ask("exchange.update", items=list(items))

    async def delete(self, refs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return await self._ask("exchange.delete", items=list(refs))

    async def find_external(
        self, folder: str, external_ids: Sequence[str], all_matches: bool = False
    ) -> Mapping[str, Any]:
        return await self._ask(
            "exchange.find_external", folder=folder, external_ids=list(external_ids), all_matches=all_matches
        )

    async def get(self, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        return await self._ask("exchange.get", ids=list(ids))

    async def search_contacts(self, text: str) -> list[Mapping[str, Any]]:
        """The mailbox's contacts with that e-mail address, or whose names contain the text."""
        return list(await self._ask("exchange.search_contacts", text=text))
