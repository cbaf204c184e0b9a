"""The gateway's listener: accepts clients, checks their token, serves their requests.

Before a client has shown the token it gets little: its first frame may be a few KiB at most
(refused at the length prefix, before any body is waited for), and connections beyond
`max_clients` (counted from accept, handshake or not) are refused at once. Frame bodies over
64 KiB are decoded in `decode_threads` worker threads shared by all connections, never on the
event loop.

Stopping is graceful: stop accepting, let requests in flight finish within a bound, close.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import trio
from loguru import logger

from protocol.addresses import Address
from protocol.errors import ProtocolError
from protocol.framed_stream import ConnectionClosed, FramedStream
from protocol.framing import DEFAULT_MAX_FRAME_SIZE, HANDSHAKE_MAX_FRAME_SIZE, encode_frame
from protocol.handshake import ServerHandshake
from protocol.handshake_io import server_handshake
from protocol.messages import Refuse
from protocol.rpc import PeerSettings, RpcPeer

from .operations import OperationTable


@dataclass(frozen=True)
class GatewaySettings:
    listen: Address
    token: str = field(repr=False)
    version: str
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    handshake_timeout: float = 10.0
    shutdown_grace: float = 10.0
    peer: PeerSettings = field(default_factory=PeerSettings)
    max_clients: int = 64
    decode_threads: int = 2


def _client_ip(stream: trio.abc.Stream) -> str:
    try:
        return str(stream.socket.getpeername()[0])  # type: ignore[attr-defined]
    except (AttributeError, OSError, IndexError):
        return "unknown"


class Gateway:
    def __init__(self, settings: GatewaySettings, operations: OperationTable) -> None:
        self.settings = settings
        self.operations = operations
        self._stop = trio.Event()
        self._sessions: set[RpcPeer] = set()
        self.total_clients = 0
        self.decode_limiter = trio.CapacityLimiter(settings.decode_threads)  # large decodes, all connections

    def request_stop(self) -> None:
        self._stop.set()

    async def open_listeners(self) -> list[trio.SocketListener]:
        """Bind the listening sockets. Raises OSError (e.g. the address is in use)."""
        listen = self.settings.listen
        return await trio.open_tcp_listeners(listen.port, host=listen.host)

    async def serve(
        self,
        listeners: list[trio.SocketListener] | None = None,
        *,
        task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen until `request_stop`; `task_status.started` gets the address really bound."""
        if listeners is None:
            listeners = await self.open_listeners()
        host, port = listeners[0].socket.getsockname()[:2]
        bound = Address(host, port)
        try:
            async with trio.open_nursery() as clients:
                async with trio.open_nursery() as accepting:
                    await accepting.start(
                        functools.partial(trio.serve_listeners, self._handle, listeners, handler_nursery=clients)
                    )
                    logger.info("Listener started")
                    logger.info(f"Listening on {bound} (protocol 1, version {self.settings.version})")
                    task_status.started(bound)
                    await self._stop.wait()
                    accepting.cancel_scope.cancel()
                for listener in listeners:
                    await listener.aclose()
                in_flight = sum(s.requests_in_flight for s in self._sessions)
                logger.info(
                    f"Stopped accepting clients; {self.total_clients} connected, {in_flight} requests in flight, "
                    f"waiting up to {self.settings.shutdown_grace:g} s"
                )
                with trio.move_on_after(self.settings.shutdown_grace) as grace:
                    async with trio.open_nursery() as draining:
                        for session in list(self._sessions):
                            draining.start_soon(session.drain, "gateway shutting down")
                if grace.cancelled_caught:
                    logger.warning("Shutdown grace period over; closing the remaining connections")
                clients.cancel_scope.cancel()
        finally:
            for listener in listeners:
                await trio.aclose_forcefully(listener)
        logger.info("Listener stopped")

    async def _handle(self, stream: trio.SocketStream) -> None:
        ip = _client_ip(stream)
        if self.total_clients >= self.settings.max_clients:
            await self._refuse_over_cap(stream, ip)
            return
        self.total_clients += 1
        logger.info(f"Client connected: Client IP: {ip} - Total clients: {self.total_clients}")
        reason = "closed"
        try:
            reason = await self._session(stream, ip)
        finally:
            self.total_clients -= 1
            await trio.aclose_forcefully(stream)
            logger.info(f"Client disconnected: Client IP: {ip} - Total clients: {self.total_clients} - {reason}")

    async def _refuse_over_cap(self, stream: trio.SocketStream, ip: str) -> None:
        """Too many clients: say so in one frame (not waiting for a slow reader), then close."""
        logger.warning(
            f"Client refused: Client IP: {ip} - too many clients ({self.total_clients} connected; "
            f"[gateway] max_clients = {self.settings.max_clients})"
        )
        with trio.move_on_after(1):
            try:
                await stream.send_all(encode_frame(Refuse("too many clients").to_wire()))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
        await trio.aclose_forcefully(stream)

    async def _session(self, stream: trio.SocketStream, ip: str) -> str:
        framed = FramedStream(
            stream,
            self.settings.max_frame_size,
            first_frame_limit=HANDSHAKE_MAX_FRAME_SIZE,
            decode_limiter=self.decode_limiter,
        )
        handshake = ServerHandshake(self.settings.token, self.settings.version)
        try:
            answer = await server_handshake(framed, handshake, self.settings.handshake_timeout)
        except trio.TooSlowError:
            return f"no connect within {self.settings.handshake_timeout:g} s"
        except ConnectionClosed:
            return "closed before the handshake"
        except ProtocolError as exc:
            return f"protocol error: {exc.reason}"
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            return f"connection broken: {exc or type(exc).__name__}"
        if isinstance(answer, Refuse):
            logger.warning(f"Client refused: Client IP: {ip} - {answer.reason}")
            return f"refused: {answer.reason}"
        logger.info(f"Connect confirmed: Client IP: {ip} - {handshake.client}")
        peer = RpcPeer(framed, handler=self.operations, settings=self.settings.peer)
        self._sessions.add(peer)
        try:
            return await peer.run()
        finally:
            self._sessions.discard(peer)
