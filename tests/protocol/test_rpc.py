"""The RPC peer over in-memory streams, on trio's autojump clock (virtual time, no real waiting)."""

from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from protocol.framed_stream import FramedStream
from protocol.framing import encode_frame
from protocol.rpc import (
    ConnectionLost,
    Heartbeat,
    OperationError,
    PeerSettings,
    RemoteError,
    RequestTimeout,
    RpcPeer,
)

QUIET = PeerSettings(heartbeat=None)


@asynccontextmanager
async def peers(handler_a=None, handler_b=None, settings_a=QUIET, settings_b=QUIET):
    left, right = trio.testing.memory_stream_pair()
    a = RpcPeer(FramedStream(left), handler=handler_a, settings=settings_a)
    b = RpcPeer(FramedStream(right), handler=handler_b, settings=settings_b)
    async with trio.open_nursery() as nursery:
        reasons = {}

        async def run(name, peer, *, task_status):
            await peer.run(task_status=task_status)
            reasons[name] = peer.close_reason

        await nursery.start(run, "a", a)
        await nursery.start(run, "b", b)
        yield a, b, reasons
        nursery.cancel_scope.cancel()


async def echo_after(op, args):
    await trio.sleep(args.get("delay", 0))
    if op == "echo":
        return args["value"]
    if op == "fail":
        raise OperationError("bad-thing", "it went wrong")
    if op == "crash":
        raise KeyError("bug")
    if op == "unencodable":
        return object()
    raise OperationError("unknown-op", op)


async def test_ping_is_always_answered(autojump_clock):
    async with peers() as (a, b, _):
        assert await a.request("ping") == "pong"
        assert await b.request("ping") == "pong"


async def test_many_requests_in_flight_answered_out_of_order(autojump_clock):
    async with peers(handler_b=echo_after) as (a, b, _):
        results = {}
        finished = []

        async def ask(value, delay):
            results[value] = await a.request("echo", {"value": value, "delay": delay})
            finished.append(value)

        async with trio.open_nursery() as nursery:
            for value, delay in [(1, 5), (2, 1), (3, 3), (4, 0)]:
                nursery.start_soon(ask, value, delay)
        assert results == {1: 1, 2: 2, 3: 3, 4: 4}
        assert finished == [4, 2, 3, 1]
        assert trio.current_time() < 6  # concurrently, not one after the other


async def test_errors_come_back_as_remote_errors_and_the_connection_stays(autojump_clock):
    async with peers(handler_b=echo_after) as (a, b, _):
        with pytest.raises(RemoteError) as failure:
            await a.request("fail")
        assert (failure.value.code, failure.value.message) == ("bad-thing", "it went wrong")
        with pytest.raises(RemoteError) as crash:
            await a.request("crash")
        assert crash.value.code == "internal-error"
        with pytest.raises(RemoteError) as unencodable:
            await a.request("unencodable")
        assert unencodable.value.code == "reply-not-encodable"
        assert await a.request("echo", {"value": "still here"}) == "still here"


async def test_unknown_op_without_handler(autojump_clock):
    async with peers() as (a, b, _):
        with pytest.raises(RemoteError) as failure:
            await a.request("nope")
        assert failure.value.code == "unknown-op"


async def test_timeout_per_request_and_late_replies_are_ignored(autojump_clock):
    async with peers(handler_b=echo_after) as (a, b, _):
        start = trio.current_time()
        with pytest.raises(RequestTimeout):
            await a.request("echo", {"value": 1, "delay": 100}, timeout=10)
        assert trio.current_time() - start == pytest.approx(10)
        await trio.sleep(100)  # the late reply arrives and is dropped
        assert await a.request("echo", {"value": 2}) == 2


async def test_default_timeout_comes_from_settings(autojump_clock):
    settings = PeerSettings(heartbeat=None, request_timeout=7)
    async with peers(handler_b=echo_after, settings_a=settings) as (a, b, _):
        start = trio.current_time()
        with pytest.raises(RequestTimeout):
            await a.request("echo", {"value": 1, "delay": 100})
        assert trio.current_time() - start == pytest.approx(7)


async def test_peer_closing_fails_pending_requests(autojump_clock):
    async with peers(handler_b=echo_after) as (a, b, reasons):
        async with trio.open_nursery() as nursery:

            async def ask():
                with pytest.raises(ConnectionLost):
                    await a.request("echo", {"value": 1, "delay": 50})

            nursery.start_soon(ask)
            await trio.sleep(1)
            b.close("test closes b")
        await trio.sleep(0)
        assert a.closed and a.close_reason == "peer closed the connection"
        with pytest.raises(ConnectionLost):
            await a.request("ping")


async def test_concurrency_is_bounded(autojump_clock):
    running = 0
    most = 0

    async def handler(op, args):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await trio.sleep(1)
        running -= 1
        return None

    settings = PeerSettings(heartbeat=None, max_concurrent_requests=2)
    async with peers(handler_b=handler, settings_b=settings) as (a, b, _):
        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(a.request, "work")
        assert most == 2
        assert trio.current_time() == pytest.approx(3)


async def test_heartbeat_keeps_a_healthy_connection(autojump_clock):
    settings = PeerSettings(heartbeat=Heartbeat(15, 3))
    async with peers(settings_a=settings, settings_b=settings) as (a, b, _):
        await trio.sleep(3600)
        assert not a.closed and not b.closed


async def test_heartbeat_declares_a_silent_peer_dead_after_three_missed_answers(autojump_clock):
    left, right = trio.testing.memory_stream_pair()
    peer = RpcPeer(FramedStream(left), settings=PeerSettings(heartbeat=Heartbeat(15, 3)))
    # the other end reads everything and answers nothing
    async with trio.open_nursery() as nursery:

        async def black_hole():
            while await right.receive_some():
                pass

        nursery.start_soon(black_hole)
        start = trio.current_time()
        reason = await peer.run()
        nursery.cancel_scope.cancel()
    assert "3 heartbeats unanswered" in reason
    assert trio.current_time() - start == pytest.approx(60)  # pings at 15, 30, 45 unanswered


async def test_garbage_from_peer_ends_the_connection_with_a_reason(autojump_clock):
    left, right = trio.testing.memory_stream_pair()
    peer = RpcPeer(FramedStream(left), settings=QUIET)
    await right.send_all(b"\x00\x00\x00\x03abc")
    reason = await peer.run()
    assert reason.startswith("protocol error:")


async def test_handshake_message_after_handshake_is_a_protocol_error(autojump_clock):
    left, right = trio.testing.memory_stream_pair()
    peer = RpcPeer(FramedStream(left), settings=QUIET)
    await right.send_all(encode_frame({"op": "connect", "protocol": 1, "client": "x", "token": "t"}))
    assert "unexpected connect" in await peer.run()


async def test_drain_finishes_in_flight_requests_and_refuses_new_ones(autojump_clock):
    async with peers(handler_b=echo_after) as (a, b, reasons):
        async with trio.open_nursery() as nursery:
            outcome = {}

            async def slow():
                outcome["slow"] = await a.request("echo", {"value": "done", "delay": 5})

            nursery.start_soon(slow)
            await trio.sleep(1)
            nursery.start_soon(b.drain, "going away")
            await trio.sleep(1)
            with pytest.raises((RemoteError, ConnectionLost)):
                await a.request("echo", {"value": "late"})
        assert outcome["slow"] == "done"
        await trio.sleep(1)
        assert b.close_reason == "going away"
        assert a.close_reason == "peer closed the connection"


async def test_close_before_run_ends_at_once(autojump_clock):
    left, _right = trio.testing.memory_stream_pair()
    peer = RpcPeer(FramedStream(left), settings=QUIET)
    peer.close("never mind")
    assert await peer.run() == "never mind"


async def test_unencodable_request_arguments_raise_at_the_caller(autojump_clock):
    from protocol.errors import ProtocolError

    async with peers() as (a, b, _):
        with pytest.raises(ProtocolError):
            await a.request("echo", {"value": object()})
        assert await a.request("ping") == "pong"


async def test_error_details_travel_with_the_error(autojump_clock):
    async def handler(op, args):
        raise OperationError("throttled", "slow down", {"retry_after": 12.5})

    async with peers(handler_b=handler) as (a, b, _):
        with pytest.raises(RemoteError) as failure:
            await a.request("anything")
        assert failure.value.details == {"retry_after": 12.5}
