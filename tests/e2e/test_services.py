"""Both services as real processes on a real loopback port, checked through their logs."""

import re
import stat
import struct
import time

import pytest
import trio

from protocol.framed_stream import FramedStream
from protocol.framing import FrameDecoder, encode_frame
from protocol.handshake import ClientHandshake
from protocol.handshake_io import client_handshake
from protocol.messages import Refuse, message_from_wire
from protocol.rpc import PeerSettings, RpcPeer
from sandbox.processes import LOG_LINE
from service_runtime.home import Home, read_token

pytestmark = pytest.mark.e2e


def test_both_services_connect_and_log_like_the_original(services, tmp_path, port):
    start_gateway, start_sync = services
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    sync = start_sync("--interval", "1")
    sync.wait_for(f"127.0.0.1:{port}: Connect confirmed")
    gateway.wait_for("Client connected: Client IP: 127.0.0.1 - Total clients: 1")
    sync.wait_for("Sync ended", count=2)
    lines = sync.lines()
    assert lines.index(f"127.0.0.1:{port}: Instate connection") < lines.index(f"127.0.0.1:{port}: Connect confirmed")
    assert any(re.fullmatch(rf"127\.0\.0\.1:{port}: Socket \d+", line) for line in lines)
    assert lines.index("Sync started") < lines.index("Sync ended")
    for service in (gateway, sync):
        text = service.log_path.read_text()
        assert all(LOG_LINE.match(line) for line in text.splitlines() if line), text
    home = Home(tmp_path / "home")
    assert stat.S_IMODE(home.token_file.stat().st_mode) == 0o600
    token = read_token(home)
    for service in (gateway, sync):
        assert token not in service.log_path.read_text() and token not in service.console()

    assert sync.stop() == 0
    assert f"127.0.0.1:{port}: Disconnected" in sync.lines()
    assert any(re.fullmatch(rf"127\.0\.0\.1:{port}: Close Socket:\d+", line) for line in sync.lines())
    gateway.wait_for("Client connected: Client IP: 127.0.0.1 - Total clients: 1")
    assert gateway.stop() == 0
    assert "Listener stopped" in gateway.lines()


def test_sync_service_reconnects_after_the_gateway_is_killed(services, port):
    start_gateway, start_sync = services
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    sync = start_sync("--interval", "1")
    confirmed = f"127.0.0.1:{port}: Connect confirmed"
    sync.wait_for(confirmed)
    for round_ in range(2, 4):
        gateway.kill()
        sync.wait_for(f"127.0.0.1:{port}: Disconnected", count=round_ - 1)
        time.sleep(round_)  # the gateway stays down a while: the sync service retries meanwhile
        gateway = start_gateway()
        back = gateway.wait_for("Listener started", count=round_)
        reconnected = sync.wait_for(confirmed, count=round_, timeout=15)
        assert reconnected - back < 5.0
    sync.wait_for("Sync ended", count=sync.count("Sync ended") + 1)
    assert sync.process.poll() is None


def test_gateway_started_after_the_sync_service(services, port):
    start_gateway, start_sync = services
    sync = start_sync("--interval", "60")
    sync.wait_for(f"127.0.0.1:{port}: Instate connection", count=2)
    gateway = start_gateway()
    back = gateway.wait_for("Listener started")
    reconnected = sync.wait_for(f"127.0.0.1:{port}: Connect confirmed", timeout=15)
    assert reconnected - back < 5.0


def test_wrong_token_is_refused(services, tmp_path, port):
    start_gateway, start_sync = services
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    other_home = tmp_path / "other-home"  # its own, different token
    sync = start_sync("--interval", "60", home=other_home)
    sync.wait_for(f"Error: 127.0.0.1:{port}: Connect refused: wrong token")
    gateway.wait_for("Warning: Client refused: Client IP: 127.0.0.1 - wrong token")
    assert sync.process.poll() is None  # it keeps trying, with back-off


async def _connect(port, token):
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    framed = FramedStream(stream)
    await client_handshake(framed, ClientHandshake("e2e", token), timeout=5)
    return framed


async def _garbage_campaign(port, token, connections, concurrency):
    """`connections` raw connections sending garbage of many kinds, while a real client pings."""
    payloads = [
        b"\x00\x00\x00\x00",
        b"\xff\xff\xff\xffjunk",
        struct.pack(">I", 5) + b"\x93\x01\x02\x03\x04",
        b"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: x\r\n\r\n",
        struct.pack(">I", 100) + b"half a frame, then the connection closes",
        encode_frame({"op": "connect", "protocol": 1, "client": "x", "token": "wrong"}),
        b"",
    ]
    limiter = trio.CapacityLimiter(concurrency)
    pings = 0

    async def one(i):
        async with limiter:
            with trio.fail_after(20):
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                try:
                    await stream.send_all(payloads[i % len(payloads)])
                    await stream.send_eof()
                    while await stream.receive_some():
                        pass
                except trio.BrokenResourceError:
                    pass
                finally:
                    await stream.aclose()

    framed = await _connect(port, token)
    peer = RpcPeer(framed, settings=PeerSettings(heartbeat=None, request_timeout=10))
    async with trio.open_nursery() as nursery:
        await nursery.start(peer.run)

        async def keep_pinging():
            nonlocal pings
            while True:
                assert await peer.request("ping") == "pong"
                pings += 1
                await trio.sleep(0.01)

        nursery.start_soon(keep_pinging)
        async with trio.open_nursery() as campaign:
            for i in range(connections):
                campaign.start_soon(one, i)
        assert await peer.request("ping") == "pong"
        nursery.cancel_scope.cancel()
    return pings


def test_gateway_survives_a_thousand_garbage_connections(services, tmp_path, port):
    start_gateway, start_sync = services
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    sync = start_sync("--interval", "60")
    sync.wait_for(f"127.0.0.1:{port}: Connect confirmed")
    token = read_token(Home(tmp_path / "home"))
    pings = trio.run(_garbage_campaign, port, token, 1000, 50)
    assert pings > 0
    assert gateway.process.poll() is None
    assert sync.count(f"127.0.0.1:{port}: Disconnected") == 0  # the sync service was never disturbed
    assert gateway.stop() == 0


async def _first_frame_answer(port, frame):
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(frame)
    data = b""
    with trio.fail_after(10):
        while chunk := await stream.receive_some():
            data += chunk
    decoder = FrameDecoder()
    decoder.feed(data)
    answer = decoder.next_frame()
    return None if answer is None else message_from_wire(answer)


def test_wire_handshake_as_the_contract_writes_it(services, tmp_path, port):
    start_gateway, _ = services
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    token = read_token(Home(tmp_path / "home"))

    async def check():
        framed = await _connect(port, token)  # raises unless confirmed
        await framed.send_bytes(encode_frame({"op": "ping", "id": 1, "args": {}}))
        assert (await framed.receive()).result == "pong"
        await framed.send_bytes(encode_frame({"op": "no-such-op", "id": 2, "args": {}}))
        reply = await framed.receive()
        assert reply.id == 2 and reply.error.code == "unknown-op"
        await framed.aclose()
        refused = await _first_frame_answer(
            port, encode_frame({"op": "connect", "protocol": 1, "client": "x", "token": "no"})
        )
        assert refused == Refuse("wrong token")
        refused = await _first_frame_answer(
            port, encode_frame({"op": "connect", "protocol": 9, "client": "x", "token": token})
        )
        assert isinstance(refused, Refuse) and "protocol" in refused.reason
        refused = await _first_frame_answer(port, encode_frame({"op": "ping", "id": 1}))
        assert isinstance(refused, Refuse)

    trio.run(check)
    assert gateway.process.poll() is None
