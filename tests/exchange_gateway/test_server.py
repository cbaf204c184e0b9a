"""The gateway in this process, on real loopback sockets (so on the real clock, with bounded waits)."""

import struct
from contextlib import asynccontextmanager

import pytest
import trio

from exchange_gateway.operations import OperationTable
from exchange_gateway.server import Gateway, GatewaySettings
from protocol.addresses import Address
from protocol.framed_stream import FramedStream
from protocol.framing import HANDSHAKE_MAX_FRAME_SIZE, FrameDecoder, encode_frame
from protocol.handshake import ClientHandshake, HandshakeRefused
from protocol.handshake_io import client_handshake
from protocol.messages import Refuse, message_from_wire
from protocol.rpc import ConnectionLost, OperationError, PeerSettings, RemoteError, RpcPeer
from tests.logcapture import captured_log

TOKEN = "the-right-token"


async def slow(args):
    await trio.sleep(args.get("seconds", 0.5))
    return "slept"


async def boom(args):
    raise OperationError("exchange-down", "the server said no")


@asynccontextmanager
async def running_gateway(**overrides):
    settings = GatewaySettings(
        listen=Address("127.0.0.1", 0), token=TOKEN, version="test", peer=PeerSettings(heartbeat=None), **overrides
    )
    gateway = Gateway(settings, OperationTable({"slow": slow, "boom": boom}))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(gateway.serve)
        yield gateway, address
        gateway.request_stop()


@asynccontextmanager
async def client(address, token=TOKEN):
    stream = await trio.open_tcp_stream(address.host, address.port)
    framed = FramedStream(stream)
    await client_handshake(framed, ClientHandshake("test-client", token), timeout=5)
    peer = RpcPeer(framed, settings=PeerSettings(heartbeat=None, request_timeout=5))
    async with trio.open_nursery() as nursery:
        await nursery.start(peer.run)
        yield peer
        peer.close()


async def read_until_closed(stream, timeout=5):
    """Everything the gateway sends until it closes the connection."""
    data = b""
    with trio.fail_after(timeout):
        while chunk := await stream.receive_some():
            data += chunk
    return data


def frames_in(data):
    decoder = FrameDecoder()
    decoder.feed(data)
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(message_from_wire(frame))
    return frames


async def test_serves_ping_operations_and_errors():
    with captured_log() as log:
        async with running_gateway() as (gateway, address):
            async with client(address) as peer:
                assert await peer.request("ping") == "pong"
                assert await peer.request("slow", {"seconds": 0}) == "slept"
                with pytest.raises(RemoteError) as failure:
                    await peer.request("boom")
                assert failure.value.code == "exchange-down"
                with pytest.raises(RemoteError) as unknown:
                    await peer.request("no-such-op")
                assert unknown.value.code == "unknown-op"
                assert await peer.request("ping") == "pong"  # the unknown op did not close it
    assert "Listener started" in log
    assert "Client connected: Client IP: 127.0.0.1 - Total clients: 1" in log
    assert any(line.startswith("Client disconnected: Client IP: 127.0.0.1 - Total clients: 0") for line in log)


async def test_many_clients_at_once_counted():
    with captured_log() as log:
        async with running_gateway() as (gateway, address):
            async with client(address) as a, client(address) as b, client(address) as c:
                async with trio.open_nursery() as nursery:
                    for peer in (a, b, c):
                        nursery.start_soon(peer.request, "slow", {"seconds": 0.1})
                assert gateway.total_clients == 3
    assert [line for line in log if line.startswith("Client connected")] == [
        f"Client connected: Client IP: 127.0.0.1 - Total clients: {n}" for n in (1, 2, 3)
    ]


async def test_wrong_token_is_refused_and_closed():
    with captured_log() as log:
        async with running_gateway() as (gateway, address):
            with pytest.raises(HandshakeRefused, match="wrong token"):
                async with client(address, token="wrong-token"):
                    pass
            async with client(address) as peer:  # the gateway is fine
                assert await peer.request("ping") == "pong"
    assert "Client refused: Client IP: 127.0.0.1 - wrong token" in log
    assert not any("wrong-token" in line or TOKEN in line for line in log)


@pytest.mark.parametrize(
    "first, reason",
    [
        ({"op": "ping", "id": 1}, "the first message must be a connect"),
        (
            {"op": "connect", "protocol": 2, "client": "x", "token": TOKEN},
            "unsupported protocol version 2 (this gateway speaks 1)",
        ),
    ],
)
async def test_bad_first_frame_gets_refuse_then_close(first, reason):
    async with running_gateway() as (gateway, address):
        stream = await trio.open_tcp_stream(address.host, address.port)
        await stream.send_all(encode_frame(first))
        assert frames_in(await read_until_closed(stream)) == [Refuse(reason)]


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\n\r\n",
        struct.pack(">I", 0),
        struct.pack(">I", 2**32 - 1),
        struct.pack(">I", 3) + b"\x93\x01\x02",  # a msgpack array, not a map
        struct.pack(">I", 2) + b"\x80\xc1",  # a map then trailing garbage
    ],
)
async def test_garbage_closes_only_that_connection(garbage):
    async with running_gateway() as (gateway, address):
        async with client(address) as good:
            bad = await trio.open_tcp_stream(address.host, address.port)
            await bad.send_all(garbage)
            assert await read_until_closed(bad) == b""
            assert await good.request("ping") == "pong"


async def test_garbage_after_the_handshake_closes_only_that_connection():
    async with running_gateway() as (gateway, address):
        async with client(address) as good, client(address) as bad:
            await bad.framed.stream.send_all(struct.pack(">I", 1) + b"\x01")
            with trio.fail_after(5):
                while not bad.closed:
                    await trio.sleep(0.01)
            assert await good.request("ping") == "pong"


async def test_oversized_frame_is_refused_before_its_body():
    async with running_gateway(max_frame_size=1024) as (gateway, address):
        stream = await trio.open_tcp_stream(address.host, address.port)
        await stream.send_all(struct.pack(">I", 1025))  # no body follows: the gateway must not wait for it
        assert await read_until_closed(stream) == b""


async def test_silent_client_is_dropped_after_the_handshake_timeout():
    with captured_log() as log:
        async with running_gateway(handshake_timeout=0.3) as (gateway, address):
            stream = await trio.open_tcp_stream(address.host, address.port)
            assert await read_until_closed(stream) == b""
    assert any("no connect within 0.3 s" in line for line in log)


async def test_graceful_stop_lets_requests_in_flight_finish():
    with captured_log() as log:
        async with running_gateway(shutdown_grace=5) as (gateway, address):
            async with client(address) as peer:
                result = {}

                async def ask():
                    result["slow"] = await peer.request("slow", {"seconds": 0.5})

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(ask)
                    await trio.testing.wait_all_tasks_blocked()
                    while gateway.total_clients == 0 or not any(s.requests_in_flight for s in gateway._sessions):
                        await trio.sleep(0.01)
                    gateway.request_stop()
                assert result == {"slow": "slept"}
            with pytest.raises(OSError):
                await trio.open_tcp_stream(address.host, address.port)
    assert any(line.startswith("Stopped accepting clients") for line in log)
    assert "Listener stopped" in log


async def test_graceful_stop_is_bounded():
    async with trio.open_nursery() as outer:
        settings = GatewaySettings(
            listen=Address("127.0.0.1", 0),
            token=TOKEN,
            version="test",
            shutdown_grace=0.2,
            peer=PeerSettings(heartbeat=None),
        )
        gateway = Gateway(settings, OperationTable({"slow": slow}))
        address = await outer.start(gateway.serve)
        async with client(address) as peer:
            outcome = {}

            async def ask():
                try:
                    await peer.request("slow", {"seconds": 60})
                except ConnectionLost as exc:
                    outcome["lost"] = str(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask)
                while not any(s.requests_in_flight for s in gateway._sessions):
                    await trio.sleep(0.01)
                started = trio.current_time()
                gateway.request_stop()
            assert trio.current_time() - started < 5
            assert "lost" in outcome


# -- before the token is checked (issue 13, defect 9) --------------------------------------------


async def test_a_first_frame_over_a_few_kib_is_refused_before_its_body():
    with captured_log() as log:
        async with running_gateway(handshake_timeout=30) as (gateway, address):
            stream = await trio.open_tcp_stream(address.host, address.port)
            await stream.send_all(struct.pack(">I", HANDSHAKE_MAX_FRAME_SIZE + 1))  # the body never comes
            assert await read_until_closed(stream) == b""
    assert any(f"first frame length {HANDSHAKE_MAX_FRAME_SIZE + 1} exceeds" in line for line in log)


async def test_a_connect_padded_to_the_first_frame_limit_is_still_confirmed():
    async with running_gateway() as (gateway, address):
        stream = await trio.open_tcp_stream(address.host, address.port)
        connect = {"op": "connect", "protocol": 1, "client": "", "token": TOKEN}
        connect["client"] = "c" * 1000  # a str16 header: the length below is then exact
        connect["client"] = "c" * (1000 + HANDSHAKE_MAX_FRAME_SIZE - len(encode_frame(connect)) + 4)
        frame = encode_frame(connect)
        assert len(frame) == HANDSHAKE_MAX_FRAME_SIZE + 4
        await stream.send_all(frame)
        decoder = FrameDecoder()
        with trio.fail_after(5):
            while (answer := decoder.next_frame()) is None:
                decoder.feed(await stream.receive_some())
        assert answer["op"] == "confirm"
        await stream.aclose()


async def test_connections_over_the_cap_are_refused_with_a_log_line():
    with captured_log() as log:
        async with running_gateway(max_clients=2) as (gateway, address):
            async with client(address) as first:
                waiting = await trio.open_tcp_stream(address.host, address.port)  # no handshake yet: counts
                with trio.fail_after(5):
                    while gateway.total_clients < 2:
                        await trio.sleep(0.01)
                extra = await trio.open_tcp_stream(address.host, address.port)
                assert frames_in(await read_until_closed(extra)) == [Refuse("too many clients")]
                assert gateway.total_clients == 2
                assert await first.request("ping") == "pong"  # those within the cap are served
                await waiting.aclose()
                with trio.fail_after(5):
                    while gateway.total_clients > 1:
                        await trio.sleep(0.01)
                async with client(address) as again:  # a place came free
                    assert await again.request("ping") == "pong"
    assert "Client refused: Client IP: 127.0.0.1 - too many clients (2 connected; [gateway] max_clients = 2)" in log
    assert [line for line in log if line.startswith("Client connected")] == [
        f"Client connected: Client IP: 127.0.0.1 - Total clients: {n}" for n in (1, 2, 2)
    ]


async def test_a_large_request_is_decoded_off_the_event_loop_while_others_are_served():
    async def echo(args):
        return len(args["blob"])

    settings = GatewaySettings(
        listen=Address("127.0.0.1", 0), token=TOKEN, version="test", peer=PeerSettings(heartbeat=None), decode_threads=1
    )
    gateway = Gateway(settings, OperationTable({"echo": echo}))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(gateway.serve)
        holder = object()
        await gateway.decode_limiter.acquire_on_behalf_of(holder)  # every worker thread busy
        async with client(address) as sender, client(address) as other:
            answer = {}

            async def send_big():
                answer["big"] = await sender.request("echo", {"blob": b"x" * 1_000_000})

            nursery.start_soon(send_big)
            with trio.fail_after(5):
                while gateway.decode_limiter.statistics().tasks_waiting == 0:
                    await trio.sleep(0.01)
            assert await other.request("ping") == "pong"  # the loop is free while the big one waits
            assert "big" not in answer
            gateway.decode_limiter.release_on_behalf_of(holder)
            with trio.fail_after(5):
                while "big" not in answer:
                    await trio.sleep(0.01)
            assert answer["big"] == 1_000_000
        gateway.request_stop()
