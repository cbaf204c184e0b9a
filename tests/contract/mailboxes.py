"""The implementations of the ExchangeClient interface the contract runs against, each with its
person in Outlook:

- `fake`: the in-memory `FakeExchange` the engine's tests use, and its user methods;
- `gateway-<backend>`, for every backend the gateway speaks (`gateway.STANDINS`; `ews` and `graph`):
  `GatewayExchangeClient` over a real loopback connection to the gateway's server and operation
  table, with an account of that backend, which the gateway reaches on that backend's stand-in
  (EWS's through exchangelib; Graph's over TLS with the club's app, through httpx); the person in
  Outlook writes to the stand-in directly (plain exchangelib on its EWS for both: one store serves
  both APIs). Its `implementation` is "gateway", its `backend` the name.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

from sync_service.engine.exchange_client import ExchangeClient
from tests.contract.gateway import STANDINS, gateway_client, gateway_peer
from tests.contract.outlook import FakeOutlook, Outlook
from tests.sync_service.engine.fake_exchange import FakeExchange

IMPLEMENTATIONS = ("fake", *(f"gateway-{backend}" for backend in STANDINS))


@dataclass
class Mailbox:
    implementation: str  # fake | gateway
    kind: str  # calendar | contacts
    client: ExchangeClient
    outlook: Outlook
    backend: str | None = None  # the gateway's backend (ews, graph)


@asynccontextmanager
async def open_mailbox(implementation: str, kind: str) -> AsyncIterator[Mailbox]:
    """A fresh, empty mailbox, its calendar (or contacts folder) reached through `client`."""
    if implementation == "fake":
        exchange = FakeExchange(kind=kind)
        yield Mailbox(implementation, kind, exchange, FakeOutlook(exchange))
        return
    backend = implementation.removeprefix("gateway-")
    async with STANDINS[backend](kind) as (account, outlook, settings), gateway_peer(settings) as peer:
        yield Mailbox("gateway", kind, gateway_client(peer, account, kind), outlook, backend)
