"""Requests and replies over a handshaken `FramedStream`, with trio.

One `RpcPeer` per connection. It runs three kinds of task in its own nursery: one reader, one
writer (the only task that ever writes to the socket; everyone else queues whole frames), and a
heartbeat. Requests from the other side are served concurrently, up to a bound, by `handler`;
our own requests are correlated with their replies by id, many in flight at once, each with a
timeout. `ping` is answered by the peer itself, on both sides.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import trio
from loguru import logger

from .errors import ProtocolError
from .framed_stream import ConnectionClosed, FramedStream
from .messages import Confirm, Connect, ErrorDetail, Failure, Message, Refuse, Request, Success

Handler = Callable[[str, Mapping[str, Any]], Awaitable[Any]]
PING_RESULT = "pong"


class OperationError(Exception):
    """Raised by a handler to answer a request with an error reply of this code; `details` go
    into the error map beside code and message."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = dict(details or {})


class RemoteError(Exception):
    """The other side answered our request with an error reply."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = dict(details or {})


class RequestTimeout(Exception):
    """No reply came within the request's timeout."""


class ConnectionLost(Exception):
    """The connection ended before the reply came, or was already closed."""


@dataclass(frozen=True)
class Heartbeat:
    interval: float = 15.0
    max_missed: int = 3


@dataclass(frozen=True)
class PeerSettings:
    request_timeout: float = 30.0
    heartbeat: Heartbeat | None = field(default_factory=Heartbeat)
    max_concurrent_requests: int = 64
    send_queue_frames: int = 256


@dataclass
class _Pending:
    event: trio.Event = field(default_factory=trio.Event)
    outcome: Success | Failure | str | None = None  # str: why the connection was lost

    def settle(self, outcome: Success | Failure | str) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.event.set()


class RpcPeer:
    def __init__(
        self,
        framed: FramedStream,
        *,
        handler: Handler | None = None,
        settings: PeerSettings = PeerSettings(),
    ) -> None:
        self.framed = framed
        self.handler = handler
        self.settings = settings
        self._send_frames, self._frames_to_write = trio.open_memory_channel[bytes](settings.send_queue_frames)
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._close_reason: str | None = None
        self._cancel_scope: trio.CancelScope | None = None
        self._request_slots = trio.CapacityLimiter(settings.max_concurrent_requests)
        self._in_flight = 0
        self._idle = trio.Event()
        self._idle.set()
        self._draining = False
        self._drain_reason: str | None = None
        self._unanswered_pings = 0

    # -- state ---------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._close_reason is not None

    @property
    def close_reason(self) -> str | None:
        return self._close_reason

    @property
    def requests_in_flight(self) -> int:
        """Requests from the other side that we are serving right now."""
        return self._in_flight

    def close(self, reason: str = "closed by this side") -> None:
        """End the connection now; `run` returns `reason`."""
        if self._close_reason is None:
            self._close_reason = reason
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()

    async def drain(self, reason: str = "shutting down") -> None:
        """Stop taking requests, let those in flight finish and their replies go out, then close."""
        self._draining = True
        await self._idle.wait()
        self._drain_reason = reason
        self._send_frames.close()  # the writer sends what is queued, then ends the connection

    # -- running -------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> str:
        """Serve the connection until it ends and return why it ended.

        Whatever the peer does (close, break, send garbage, stop answering) ends up as a reason,
        never as an exception. Cancelling the caller ends the connection too.
        """
        try:
            async with trio.open_nursery() as nursery:
                self._cancel_scope = nursery.cancel_scope
                if self._close_reason is not None:
                    nursery.cancel_scope.cancel()
                nursery.start_soon(self._write_loop)
                nursery.start_soon(self._read_loop, nursery)
                if self.settings.heartbeat is not None:
                    nursery.start_soon(self._heartbeat_loop, nursery, self.settings.heartbeat)
                task_status.started()
        finally:
            if self._close_reason is None:
                self._close_reason = "closed by this side"
            self._send_frames.close()
            for pending in self._pending.values():
                pending.settle(self._close_reason)
            await trio.aclose_forcefully(self.framed.stream)
        return self._close_reason

    async def _read_loop(self, nursery: trio.Nursery) -> None:
        try:
            while True:
                message = await self.framed.receive()
                await self._dispatch(message, nursery)
        except ConnectionClosed:
            self.close("peer closed the connection")
        except ProtocolError as exc:
            self.close(f"protocol error: {exc.reason}")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.close(f"connection broken: {exc or type(exc).__name__}")

    async def _dispatch(self, message: Message, nursery: trio.Nursery) -> None:
        if isinstance(message, (Success, Failure)):
            pending = self._pending.get(message.id)
            if pending is not None:
                pending.settle(message)
            return  # a late reply to a request that timed out: nobody waits for it any more
        if isinstance(message, (Connect, Confirm, Refuse)):
            raise ProtocolError(f"unexpected {type(message).__name__.lower()} after the handshake")
        if self._draining:
            await self._queue(Failure(message.id, ErrorDetail("shutting-down", "the peer is shutting down")))
            return
        borrower = object()  # not the id: a careless client may reuse one
        await self._request_slots.acquire_on_behalf_of(borrower)
        if self._in_flight == 0:
            self._idle = trio.Event()
        self._in_flight += 1
        nursery.start_soon(self._serve, message, borrower)

    async def _serve(self, request: Request, borrower: object) -> None:
        try:
            reply = await self._answer(request)
            await self._queue(reply)
        finally:
            self._request_slots.release_on_behalf_of(borrower)
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _answer(self, request: Request) -> Success | Failure:
        try:
            if request.op == "ping":
                return Success(request.id, PING_RESULT)
            if self.handler is None:
                raise OperationError("unknown-op", f"unknown operation {request.op!r}")
            return Success(request.id, await self.handler(request.op, request.args))
        except OperationError as exc:
            return Failure(request.id, ErrorDetail(exc.code, exc.message, exc.details))
        except Exception as exc:  # a bug in one operation must not end the connection
            logger.opt(exception=exc).error(f"Operation {request.op!r} failed unexpectedly")
            return Failure(request.id, ErrorDetail("internal-error", f"{type(exc).__name__}: {exc}"))

    async def _queue(self, message: Message) -> None:
        try:
            frame = self.framed.encode(message)
        except ProtocolError as exc:
            assert isinstance(message, (Success, Failure))
            frame = self.framed.encode(Failure(message.id, ErrorDetail("reply-not-encodable", exc.reason)))
        try:
            await self._send_frames.send(frame)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass  # the connection is closing; the reply has nobody to go to

    async def _write_loop(self) -> None:
        try:
            async for frame in self._frames_to_write:
                await self.framed.send_bytes(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.close(f"connection broken: {exc or type(exc).__name__}")
        else:
            self.close(self._drain_reason or "closed by this side")

    async def _heartbeat_loop(self, nursery: trio.Nursery, heartbeat: Heartbeat) -> None:
        while True:
            await trio.sleep(heartbeat.interval)
            if self._unanswered_pings >= heartbeat.max_missed:
                self.close(f"peer not responding: {heartbeat.max_missed} heartbeats unanswered")
                return
            self._unanswered_pings += 1
            nursery.start_soon(self._ping_once, heartbeat.interval * heartbeat.max_missed)

    async def _ping_once(self, timeout: float) -> None:
        try:
            await self.request("ping", timeout=timeout)
        except (RequestTimeout, ConnectionLost):
            return
        except RemoteError:
            pass  # an error reply still proves the peer is alive
        self._unanswered_pings = 0

    # -- our requests --------------------------------------------------------------------------

    async def request(self, op: str, args: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """Send a request and wait for its reply's result.

        Raises RemoteError (an error reply), RequestTimeout, ConnectionLost; ProtocolError if the
        arguments cannot be encoded.
        """
        if self._close_reason is not None:
            raise ConnectionLost(self._close_reason)
        limit = self.settings.request_timeout if timeout is None else timeout
        request_id = next(self._ids)
        frame = self.framed.encode(Request(op, request_id, dict(args or {})))
        pending = _Pending()
        self._pending[request_id] = pending
        try:
            with trio.move_on_after(limit if math.isfinite(limit) else math.inf) as scope:
                try:
                    await self._send_frames.send(frame)
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    raise ConnectionLost(self._close_reason or "connection closing") from None
                await pending.event.wait()
        finally:
            del self._pending[request_id]
        if scope.cancelled_caught:
            raise RequestTimeout(f"no answer to {op!r} within {limit:g} s")
        outcome = pending.outcome
        if isinstance(outcome, Success):
            return outcome.result
        if isinstance(outcome, Failure):
            raise RemoteError(outcome.error.code, outcome.error.message, outcome.error.details)
        raise ConnectionLost(outcome)
