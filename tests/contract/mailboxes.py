"""The implementations of the ExchangeClient interface the contract runs against, each with its
person in Outlook:

- `fake`: the in-memory `FakeExchange` the engine's tests use, and its user methods;
- `gateway`: `GatewayExchangeClient` over a real loopback connection to the gateway's server and
  operation table (exchangelib inside), which talks to the stand-in EWS server; the person in
  Outlook writes to the stand-in with plain exchangelib.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

from exchangelib import BASIC, DELEGATE, Account, Configuration, Credentials, EWSTimeZone, FailFast

from sync_service.engine.exchange_client import ExchangeClient
from tests.contract.gateway import MAILBOX, emulator, gateway_client, gateway_peer
from tests.contract.outlook import ExchangelibOutlook, FakeOutlook, Outlook
from tests.sync_service.engine.fake_exchange import FakeExchange

IMPLEMENTATIONS = ("fake", "gateway")


@dataclass
class Mailbox:
    implementation: str  # fake | gateway
    kind: str  # calendar | contacts
    client: ExchangeClient
    outlook: Outlook


@asynccontextmanager
async def open_mailbox(implementation: str, kind: str) -> AsyncIterator[Mailbox]:
    """A fresh, empty mailbox, its calendar (or contacts folder) reached through `client`."""
    if implementation == "fake":
        exchange = FakeExchange(kind=kind)
        yield Mailbox(implementation, kind, exchange, FakeOutlook(exchange))
        return
    async with emulator() as server, gateway_peer() as peer:
        config = Configuration(
            service_endpoint=server.url, credentials=Credentials(*MAILBOX), auth_type=BASIC, retry_policy=FailFast()
        )
        account = Account(
            MAILBOX[0],
            config=config,
            autodiscover=False,
            access_type=DELEGATE,
            default_timezone=EWSTimeZone("Europe/Berlin"),
        )
        yield Mailbox(implementation, kind, gateway_client(peer, server, kind), ExchangelibOutlook(account, kind))
