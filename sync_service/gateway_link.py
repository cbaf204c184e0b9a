"""The sync service's one connection to the gateway, kept up for as long as the service runs.

It connects, proves itself with the token, serves the connection (heartbeat included), and when
the connection ends it reconnects with back-off, logging each step with the lines the original's
technicians know:

    127.0.0.1:3000: Instate connection
    127.0.0.1:3000: Socket 416
    127.0.0.1:3000: Connect confirmed
    127.0.0.1:3000: Disconnected
    127.0.0.1:3000: Close Socket:416
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import trio
from loguru import logger

from protocol.addresses import Address
from protocol.errors import ProtocolError
from protocol.framed_stream import ConnectionClosed, FramedStream
from protocol.framing import DEFAULT_MAX_FRAME_SIZE
from protocol.handshake import ClientHandshake, HandshakeRefused
from protocol.handshake_io import client_handshake
from protocol.rpc import PeerSettings, RpcPeer
from service_runtime.home import HomeError

from .backoff import ReconnectBackoff

OpenStream = Callable[[str, int], Awaitable[trio.abc.Stream]]


class GatewayUnavailable(Exception):
    """No confirmed connection to the gateway could be had; the message says why."""


@dataclass(frozen=True)
class LinkSettings:
    address: Address
    client_name: str = "sync-service"
    connect_timeout: float = 5.0
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    peer: PeerSettings = field(default_factory=PeerSettings)


def socket_number(stream: trio.abc.Stream) -> int:
    """The OS handle of the stream's socket, as the original logs it (-1 if it has none)."""
    sock = getattr(stream, "socket", None)
    try:
        return int(sock.fileno()) if sock is not None else -1
    except (OSError, ValueError):
        return -1


def describe_os_error(exc: OSError) -> str:
    """The root cause of a failed connect, e.g. 'Connection refused' rather than trio's summary."""
    cause = exc.__cause__
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    if isinstance(cause, OSError):
        exc = cause
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


async def _open_tcp(host: str, port: int) -> trio.abc.Stream:
    return await trio.open_tcp_stream(host, port)


class GatewayLink:
    def __init__(
        self,
        settings: LinkSettings,
        token: Callable[[], str],
        *,
        backoff: ReconnectBackoff | None = None,
        open_stream: OpenStream = _open_tcp,
    ) -> None:
        """`token` is called before each attempt, so a token file made anew is picked up."""
        self.settings = settings
        self._token = token
        self._backoff = backoff or ReconnectBackoff()
        self._open_stream = open_stream
        self._peer: RpcPeer | None = None
        self._changed = trio.Event()  # set and replaced whenever an attempt ends or a connection starts
        self._retry_now = trio.Event()
        self.last_error: str | None = None
        self.connections = 0
        self._ended_healthy = False

    @property
    def label(self) -> str:
        return str(self.settings.address)

    @property
    def connected(self) -> bool:
        return self._peer is not None and not self._peer.closed

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def peer(self, wait: float) -> RpcPeer:
        """The connected peer. If there is none, ask for an attempt now and wait for its outcome,
        at most `wait` seconds. Raises GatewayUnavailable."""
        if self.connected:
            assert self._peer is not None
            return self._peer
        changed = self._changed
        self._retry_now.set()
        with trio.move_on_after(wait):
            await changed.wait()
        if self.connected:
            assert self._peer is not None
            return self._peer
        raise GatewayUnavailable(
            f"the Exchange gateway at {self.label} is not reachable: {self.last_error or 'no answer yet'}"
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Stay connected until cancelled."""
        task_status.started()
        while True:
            await self.connect_and_serve()
            self._retry_now = trio.Event()  # a wish made during that attempt was met by its outcome
            if self._ended_healthy:
                self._ended_healthy = False
                continue  # a long-lived connection just ended: perhaps a restart, try again at once
            delay = self._backoff.next_delay(trio.current_time())
            if delay > 0:
                logger.info(f"{self.label}: Next connection attempt in {delay:.1f} s")
            with trio.move_on_after(delay):
                await self._retry_now.wait()

    async def connect_and_serve(self, *, on_ready: Callable[[RpcPeer], Awaitable[None]] | None = None) -> bool:
        """One attempt: connect, and if confirmed serve the connection until it ends (or, with
        `on_ready`, until `on_ready(peer)` returns). Returns whether the connection was confirmed."""
        label = self.label
        address = self.settings.address
        logger.info(f"{label}: Instate connection")
        try:
            with trio.fail_after(self.settings.connect_timeout):
                stream = await self._open_stream(address.host, address.port)
        except trio.TooSlowError:
            return self._failed(f"no connection within {self.settings.connect_timeout:g} s")
        except OSError as exc:
            return self._failed(describe_os_error(exc))
        number = socket_number(stream)
        logger.info(f"{label}: Socket {number}")
        try:
            return await self._handshake_and_serve(stream, number, on_ready)
        finally:
            await trio.aclose_forcefully(stream)

    async def _handshake_and_serve(
        self, stream: trio.abc.Stream, number: int, on_ready: Callable[[RpcPeer], Awaitable[None]] | None
    ) -> bool:
        framed = FramedStream(stream, self.settings.max_frame_size)
        try:
            handshake = ClientHandshake(self.settings.client_name, self._token())
            confirm = await client_handshake(framed, handshake, self.settings.connect_timeout)
        except HomeError as exc:
            return self._closed_unconfirmed(number, str(exc))
        except HandshakeRefused as exc:
            return self._closed_unconfirmed(number, f"refused: {exc.reason}", log_as=f"Connect refused: {exc.reason}")
        except trio.TooSlowError:
            return self._closed_unconfirmed(number, f"no confirm within {self.settings.connect_timeout:g} s")
        except ConnectionClosed:
            return self._closed_unconfirmed(number, "the gateway closed the connection during the handshake")
        except ProtocolError as exc:
            return self._closed_unconfirmed(number, f"protocol error: {exc.reason}")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            return self._closed_unconfirmed(number, f"connection broken: {exc or type(exc).__name__}")
        label = self.label
        logger.info(f"{label}: Connect confirmed")
        logger.debug(f"{label}: gateway {confirm.server} version {confirm.version}")
        peer = RpcPeer(framed, settings=self.settings.peer)
        started = trio.current_time()
        self._peer = peer
        self.last_error = None
        self.connections += 1
        self._notify()
        reason = "closed"
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self._serve_peer, peer)
                if on_ready is not None:
                    await on_ready(peer)
                    peer.close("done")
        finally:
            reason = peer.close_reason or "closed"
            self._peer = None
            self.last_error = reason
            self._ended_healthy = self._backoff.connection_ended(trio.current_time() - started)
            self._notify()
            logger.info(f"{label}: Connection ended: {reason}")
            logger.info(f"{label}: Disconnected")
            logger.info(f"{label}: Close Socket:{number}")
        return True

    async def _serve_peer(self, peer: RpcPeer, *, task_status: trio.TaskStatus[None]) -> None:
        await peer.run(task_status=task_status)

    def _failed(self, reason: str, log_as: str | None = None) -> bool:
        if log_as is None:
            logger.warning(f"{self.label}: Connection failed: {reason}")
        else:
            logger.error(f"{self.label}: {log_as}")
        self.last_error = reason
        self._notify()
        return False

    def _closed_unconfirmed(self, number: int, reason: str, log_as: str | None = None) -> bool:
        self._failed(reason, log_as)
        logger.info(f"{self.label}: Close Socket:{number}")
        return False
