"""The real thing for the contract: the stand-in EWS server in a thread, the gateway's server with
its real operation table in this trio run, and a `GatewayExchangeClient` on an `RpcPeer` connected
to it over a loopback socket (handshake, msgpack frames and all), as the sync service talks to it."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import trio
from exchangelib.protocol import close_connections

from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.ews.operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.operations import OperationTable
from exchange_gateway.server import Gateway, GatewaySettings
from exchange_standin import EmulatorServer
from protocol.addresses import Address
from protocol.framed_stream import FramedStream
from protocol.handshake import ClientHandshake
from protocol.handshake_io import client_handshake
from protocol.rpc import PeerSettings, RpcPeer
from sync_service.engine.exchange_client import GatewayExchangeClient

MAILBOX = ("anna@club.example", "anna-secret")
TOKEN = "contract-token"
SETTINGS = ExchangeSettings(request_timeout=10)


@asynccontextmanager
async def emulator() -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(mailboxes=[MAILBOX]).start()
    try:
        yield server
    finally:
        server.stop()
        close_connections()


@asynccontextmanager
async def gateway_peer() -> AsyncIterator[RpcPeer]:
    """A client connection to a gateway serving the real Exchange operations."""
    configure_exchangelib(SETTINGS)
    operations = ExchangeOperations(SETTINGS, ExchangeLimits(overall=16, per_mailbox=4, deadline=20))
    settings = GatewaySettings(
        listen=Address("127.0.0.1", 0),
        token=TOKEN,
        version="contract",
        peer=PeerSettings(heartbeat=None),
        shutdown_grace=2,
    )
    gateway = Gateway(settings, OperationTable(operations.table()))
    async with trio.open_nursery() as nursery:
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


def gateway_client(peer: RpcPeer, server: EmulatorServer, kind: str) -> GatewayExchangeClient:
    account = {"ews_url": server.url, "mailbox": MAILBOX[0], "password": MAILBOX[1]}
    return GatewayExchangeClient(peer, account, kind=kind, timeout=30)
