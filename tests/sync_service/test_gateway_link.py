"""The link's connect / reconnect behaviour against an in-memory gateway, on virtual time."""

import pytest
import trio

from protocol.addresses import Address
from protocol.rpc import Heartbeat, PeerSettings
from sync_service.backoff import ReconnectBackoff
from sync_service.gateway_link import GatewayLink, GatewayUnavailable, LinkSettings
from tests.logcapture import captured_log
from tests.sync_service.fake_gateway import FakeGateway

ADDRESS = Address("127.0.0.1", 3000)


def make_link(gateway, token="tok", heartbeat=None, random=lambda: 0.0):
    settings = LinkSettings(address=ADDRESS, peer=PeerSettings(heartbeat=heartbeat))
    return GatewayLink(
        settings, token=lambda: token, backoff=ReconnectBackoff(random=random), open_stream=gateway.open_stream
    )


async def wait_until(predicate, timeout=120):
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


async def test_connects_and_logs_like_the_original(autojump_clock):
    with captured_log() as log:
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery)
            link = make_link(gateway)
            await nursery.start(link.run)
            peer = await link.peer(wait=5)
            assert await peer.request("ping") == "pong"
            nursery.cancel_scope.cancel()
    ours = [line for line in log if line.startswith("127.0.0.1:3000: ")]
    assert ours[0] == "127.0.0.1:3000: Instate connection"
    assert ours[1] == "127.0.0.1:3000: Socket -1"  # memory streams have no OS socket
    assert ours[2] == "127.0.0.1:3000: Connect confirmed"
    assert ours[-2:] == ["127.0.0.1:3000: Disconnected", "127.0.0.1:3000: Close Socket:-1"]


async def test_retries_with_exponential_back_off_while_the_gateway_is_down(autojump_clock):
    async with trio.open_nursery() as nursery:
        gateway = FakeGateway(nursery)
        gateway.up = False
        link = make_link(gateway)
        await nursery.start(link.run)
        await trio.sleep(40)
        assert gateway.attempts == pytest.approx([0, 1, 2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 34.171875])
        assert not link.connected
        nursery.cancel_scope.cancel()


async def test_reconnects_within_five_seconds_of_the_gateway_coming_back(autojump_clock):
    async with trio.open_nursery() as nursery:
        gateway = FakeGateway(nursery)
        link = make_link(gateway)
        await nursery.start(link.run)
        await link.peer(wait=5)
        await trio.sleep(120)  # a healthy connection
        await gateway.kill()
        killed = trio.current_time()
        await trio.sleep(9.9)
        gateway.up = True
        back = trio.current_time()
        await wait_until(lambda: link.connected)
        assert trio.current_time() - back <= 5.0
        assert link.connections == 2
        assert trio.current_time() - killed < 15.01
        nursery.cancel_scope.cancel()


async def test_a_cycle_needing_the_gateway_triggers_an_immediate_attempt(autojump_clock):
    async with trio.open_nursery() as nursery:
        gateway = FakeGateway(nursery)
        gateway.up = False
        link = make_link(gateway)
        await nursery.start(link.run)
        await trio.sleep(200)  # back-off has reached 60 s between attempts
        gateway.up = True
        before = len(gateway.attempts)
        asked = trio.current_time()
        peer = await link.peer(wait=5)
        assert trio.current_time() - asked < 0.1
        assert len(gateway.attempts) == before + 1
        assert await peer.request("ping") == "pong"
        nursery.cancel_scope.cancel()


async def test_peer_reports_unavailable_with_the_reason(autojump_clock):
    async with trio.open_nursery() as nursery:
        gateway = FakeGateway(nursery)
        gateway.up = False
        link = make_link(gateway)
        await nursery.start(link.run)
        with pytest.raises(GatewayUnavailable, match="Connection refused"):
            await link.peer(wait=5)
        nursery.cancel_scope.cancel()


async def test_wrong_token_is_logged_as_refused_and_retried(autojump_clock):
    with captured_log() as log:
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, token="right")
            link = make_link(gateway, token="wrong")
            await nursery.start(link.run)
            await trio.sleep(4)
            with pytest.raises(GatewayUnavailable, match="refused: wrong token"):
                await link.peer(wait=5)
            nursery.cancel_scope.cancel()
    assert "127.0.0.1:3000: Connect refused: wrong token" in log
    assert "wrong" not in " ".join(line for line in log if "token" not in line)


async def test_frozen_gateway_during_handshake_times_out(autojump_clock):
    async with trio.open_nursery() as nursery:
        gateway = FakeGateway(nursery, token="tok")
        link = make_link(gateway)

        # a gateway that accepts but never answers the connect
        async def silent_open(host, port):
            gateway.attempts.append(trio.current_time())
            client, server = trio.testing.memory_stream_pair()
            nursery.start_soon(trio.sleep_forever)
            gateway._streams.append(server)
            return client

        link._open_stream = silent_open
        await nursery.start(link.run)
        with pytest.raises(GatewayUnavailable, match="no confirm within 5 s"):
            await link.peer(wait=30)
        nursery.cancel_scope.cancel()


async def test_heartbeat_notices_a_hung_gateway_and_reconnects(autojump_clock):
    with captured_log() as log:
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery)
            gateway.hang_after_confirm = True
            link = make_link(gateway, heartbeat=Heartbeat(15, 3))
            await nursery.start(link.run)
            await link.peer(wait=5)
            hung_at = trio.current_time()
            gateway.hang_after_confirm = False
            await wait_until(lambda: link.connections == 2)
            assert trio.current_time() - hung_at == pytest.approx(60, abs=0.5)
            nursery.cancel_scope.cancel()
    assert "127.0.0.1:3000: Connection ended: peer not responding: 3 heartbeats unanswered" in log
