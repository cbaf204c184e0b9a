"""The real thing for the contract: the gateway's server with its real operation table (every
backend) in this trio run, a `GatewayExchangeClient` on an `RpcPeer` connected to it over a
loopback socket (handshake, msgpack frames and all), as the sync service talks to it, and for
each backend a stand-in server with its person in Outlook (`STANDINS`).

A new backend is one more entry in `STANDINS`: a context manager that starts its stand-in and
yields the account map the sync service would send for it and an `Outlook` writing to it."""

from __future__ import annotations

import tempfile
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncContextManager, AsyncIterator, Callable

import trio
from exchangelib import BASIC, DELEGATE, Account, Configuration, Credentials, EWSTimeZone, FailFast
from exchangelib.protocol import close_connections

from exchange_gateway.backends import backends
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.operations import OperationTable
from exchange_gateway.server import Gateway, GatewaySettings
from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec
from protocol.accounts import AppCredentials, EwsAccount, GraphAccount, PasswordCredentials
from protocol.addresses import Address
from protocol.framed_stream import FramedStream
from protocol.handshake import ClientHandshake
from protocol.handshake_io import client_handshake
from protocol.rpc import PeerSettings, RpcPeer
from sync_service.engine.exchange_client import GatewayExchangeClient
from tests.contract.outlook import ExchangelibOutlook, GraphIdsOutlook, Outlook

MAILBOX = ("anna@club.example", "anna-secret")
TOKEN = "contract-token"
SETTINGS = ExchangeSettings(request_timeout=10)
APP = AppSpec("club-tenant", "11111111-2222-3333-4444-555555555555", "app-secret")
Standin = tuple[dict[str, Any], Outlook, ExchangeSettings]  # the account map, the Outlook, the gateway's settings


@asynccontextmanager
async def emulator(**options: Any) -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(mailboxes=[MAILBOX], **options).start()
    try:
        yield server
    finally:
        server.stop()
        close_connections()


@asynccontextmanager
async def gateway_peer(exchange: ExchangeSettings = SETTINGS) -> AsyncIterator[RpcPeer]:
    """A client connection to a gateway serving the real Exchange operations."""
    configure_exchangelib(exchange)
    operations = ExchangeOperations(backends(exchange), ExchangeLimits(overall=16, per_mailbox=4, deadline=20))
    settings = GatewaySettings(
        listen=Address("127.0.0.1", 0),
        token=TOKEN,
        version="contract",
        peer=PeerSettings(heartbeat=None),
        shutdown_grace=2,
    )
    gateway = Gateway(settings, OperationTable(operations.table()))
    async with operations.running(), trio.open_nursery() as nursery:
        address = await nursery.start(gateway.serve)
        framed = FramedStream(await trio.open_tcp_stream(address.host, address.port))
        await client_handshake(framed, ClientHandshake("contract-tests", TOKEN), timeout=5)
        peer = RpcPeer(framed, settings=PeerSettings(heartbeat=None, request_timeout=30))
        await nursery.start(peer.run)
        try:
            yield peer
        finally:
            peer.close("contract test done")
            gateway.request_stop()


def gateway_client(peer: RpcPeer, account: dict[str, Any], kind: str) -> GatewayExchangeClient:
    return GatewayExchangeClient(peer, account, kind=kind, timeout=30)


def users_account(server: EmulatorServer) -> Account:
    """The person's own mailbox on the stand-in's EWS, with plain exchangelib."""
    config = Configuration(
        service_endpoint=server.url, credentials=Credentials(*MAILBOX), auth_type=BASIC, retry_policy=FailFast()
    )
    return Account(
        MAILBOX[0],
        config=config,
        autodiscover=False,
        access_type=DELEGATE,
        default_timezone=EWSTimeZone("Europe/Berlin"),
    )


@asynccontextmanager
async def ews_standin(kind: str) -> AsyncIterator[Standin]:
    """The stand-in EWS server; the account in its tagged form, as the sync service sends it
    (protocol/accounts.py; the flat form of older sync services is tested in
    tests/exchange_gateway/ews/test_connection.py), and the person in Outlook with plain exchangelib."""
    async with emulator() as server:
        tagged = EwsAccount(server.url, MAILBOX[0], PasswordCredentials(MAILBOX[0], MAILBOX[1], "basic"))
        yield tagged.to_wire(), ExchangelibOutlook(users_account(server), kind), SETTINGS


def graph_app(server: EmulatorServer) -> AppCredentials:
    """The club's app as the sync service sends it, its authority and Graph address the stand-in's."""
    return AppCredentials(
        APP.tenant, APP.client_id, APP.secret, f"{server.base_url}/{APP.tenant}", f"{server.base_url}/v1.0"
    )


@asynccontextmanager
async def graph_standin(kind: str) -> AsyncIterator[Standin]:
    """The stand-in with the club's app, over TLS (its CA the gateway's CA bundle): the account of
    the backend `graph`, and the person in Outlook through the same store's EWS (one mailbox, two
    APIs, as in Exchange Online), naming items by their Graph ids."""
    with tempfile.TemporaryDirectory() as certificates:
        async with emulator(apps=[APP], tls_dir=Path(certificates)) as server:
            settings = replace(SETTINGS, ca_bundle=str(server.ca_file))
            configure_exchangelib(settings)  # the person's exchangelib trusts the stand-in's CA too
            tagged = GraphAccount(MAILBOX[0], graph_app(server))
            yield tagged.to_wire(), GraphIdsOutlook(ExchangelibOutlook(users_account(server), kind)), settings


STANDINS: dict[str, Callable[[str], AsyncContextManager[Standin]]] = {"ews": ews_standin, "graph": graph_standin}
