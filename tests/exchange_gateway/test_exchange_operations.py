"""The backend-neutral operations over a natively async backend (no worker threads), an
in-memory one written here: the account's `backend` tag picks it, and the limits, the deadline,
the server's back-off and the creates in flight hold for it as they do for EWS (whose own tests
are in ews/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import pytest
import trio

from exchange_gateway.backend import ItemResult, ItemUpdate
from exchange_gateway.errors import INVALID, SERVER_ERROR, THROTTLED, UNSUPPORTED, GatewayError
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.threads import Threads
from protocol.entries import Entry, ItemRef

ACCOUNT = {"backend": "memory", "mailbox": "Anna@Club.example"}
ENTRY = {"subject": "Round", "start": "2027-06-01T07:30:00Z", "end": "2027-06-01T11:30:00Z", "external_id": "p:1"}


@dataclass(frozen=True)
class MemoryAccount:
    mailbox: str

    @property
    def label(self) -> str:
        return f"{self.mailbox} in memory"


@dataclass
class MemoryBackend:
    """Every call is recorded; `hold` makes calls wait until it is set; `fail` is raised by each."""

    calls: list[str] = field(default_factory=list)
    hold: trio.Event | None = None
    fail: Exception | None = None
    seen: list[bool] = field(default_factory=list)  # in flight, while a create ran
    operations: Any = None

    def account(self, wire: Any) -> MemoryAccount:
        if not isinstance(wire, dict) or not isinstance(wire.get("mailbox"), str):
            raise GatewayError(INVALID, "account.mailbox is missing")
        return MemoryAccount(wire["mailbox"])

    def mailbox(self, account: MemoryAccount, threads: Threads) -> MemoryMailbox:
        return MemoryMailbox(self)

    def failure(self, account: MemoryAccount, exc: Exception) -> GatewayError:
        return exc if isinstance(exc, GatewayError) else GatewayError(SERVER_ERROR, f"memory: {exc}")


class MemoryMailbox:
    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    async def _call(self, name: str) -> None:
        self.backend.calls.append(name)
        if self.backend.hold is not None:
            await self.backend.hold.wait()
        if self.backend.fail is not None:
            raise self.backend.fail

    async def check(self) -> dict[str, object]:
        await self._call("check")
        return {"mailbox": "anna@club.example"}

    async def list_folders(self, kind: str) -> list[dict[str, object]]:
        raise NotImplementedError

    async def ensure_folder(self, kind: str, name: str) -> dict[str, object]:
        raise NotImplementedError

    async def changes(
        self, kind: str, folder: str, sync_state: str | None, max_changes: int, with_items: bool
    ) -> dict[str, object]:
        raise NotImplementedError

    async def fetch(self, ids: Sequence[str]) -> list[Entry | GatewayError]:
        raise NotImplementedError

    async def create(self, kind: str, folder: str, entries: Sequence[Entry]) -> list[ItemResult]:
        ops = self.backend.operations
        self.backend.seen.append(ops._in_flight.has("anna@club.example", "p:1"))
        await self._call("create")
        return [ItemResult(True, f"id-{n}", "ck") for n, _ in enumerate(entries)]

    async def update(self, kind: str, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        raise NotImplementedError

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        raise NotImplementedError

    async def find_by_external_id(
        self, kind: str, folder: str, external_ids: Sequence[str]
    ) -> dict[str, list[dict[str, object]]]:
        await self._call("find")
        return {}

    async def search_contacts(self, text: str) -> list[dict[str, object]]:
        raise NotImplementedError


def gateway(backend: MemoryBackend, **limits: Any) -> ExchangeOperations:
    operations = ExchangeOperations({"memory": backend}, ExchangeLimits(**limits))
    backend.operations = operations
    return operations


async def test_the_accounts_backend_tag_picks_the_backend():
    backend = MemoryBackend()
    ops = gateway(backend)
    assert (await ops.check({"account": ACCOUNT}))["mailbox"] == "anna@club.example"
    with pytest.raises(GatewayError, match="the backend 'graph' is not supported here \\(known: memory\\)") as refused:
        await ops.check({"account": {**ACCOUNT, "backend": "graph"}})
    assert refused.value.code == UNSUPPORTED
    for tag in (5, ["memory"], None):
        with pytest.raises(GatewayError, match="account.backend must be text") as malformed:
            await ops.check({"account": {**ACCOUNT, "backend": tag}})
        assert malformed.value.code == INVALID
    with pytest.raises(GatewayError, match="'ews' is not supported"):  # no tag: EWS, which this gateway lacks
        await ops.check({"account": {"mailbox": "anna@club.example"}})
    assert backend.calls == ["check"]


async def test_an_async_backends_failure_is_mapped_by_it_and_a_pause_it_asks_for_is_kept(autojump_clock):
    backend = MemoryBackend(fail=ValueError("odd"))
    ops = gateway(backend)
    with pytest.raises(GatewayError, match="memory: odd"):
        await ops.check({"account": ACCOUNT})
    backend.fail = GatewayError(THROTTLED, "slow down", 30.0)
    with pytest.raises(GatewayError, match="slow down"):
        await ops.check({"account": ACCOUNT})
    backend.fail = None
    with pytest.raises(GatewayError, match="asked to wait") as waiting:
        await ops.check({"account": {**ACCOUNT, "mailbox": "ANNA@club.example"}})  # the same mailbox
    assert waiting.value.code == THROTTLED and 0 < waiting.value.retry_after <= 30
    assert backend.calls == ["check", "check"]  # the pause asked no request of the backend
    await trio.sleep(31)
    assert await ops.check({"account": ACCOUNT})


async def test_an_async_create_is_in_flight_while_it_runs_and_not_after_its_deadline(autojump_clock):
    backend = MemoryBackend(hold=trio.Event())
    ops = gateway(backend, deadline=5)
    with pytest.raises(GatewayError) as late:
        await ops.create({"account": ACCOUNT, "items": [ENTRY]})
    assert late.value.code == "timeout" and backend.seen == [True]
    backend.hold = None
    # an async backend's work is cancelled at the deadline: nothing of it runs on, nothing is in flight
    assert await ops.find_external({"account": ACCOUNT, "external_ids": ["p:1"]}) == {}
    (made,) = await ops.create({"account": ACCOUNT, "items": [ENTRY]})
    assert made == {"ok": True, "id": "id-0", "change_key": "ck"}
