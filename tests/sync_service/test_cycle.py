import trio

from protocol.addresses import Address
from protocol.rpc import PeerSettings
from sync_service.backoff import ReconnectBackoff
from sync_service.cycle import SyncCycle
from sync_service.gateway_link import GatewayLink, LinkSettings
from tests.logcapture import captured_log
from tests.sync_service.fake_gateway import FakeGateway


def make_cycle(gateway, tmp_path):
    link = GatewayLink(
        LinkSettings(Address("127.0.0.1", 3000), peer=PeerSettings(heartbeat=None)),
        token=lambda: "tok",
        backoff=ReconnectBackoff(),
        open_stream=gateway.open_stream,
    )
    return link, SyncCycle(link, tmp_path / "lock", gateway_wait=10, lock_wait=1)


async def test_cycle_pings_the_gateway(autojump_clock, tmp_path):
    with captured_log() as log:
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery)
            link, cycle = make_cycle(gateway, tmp_path)
            await nursery.start(link.run)
            report = await cycle.run_once()
            nursery.cancel_scope.cancel()
    assert report.ok and report.error is None
    assert log.index("Sync started") < log.index("Sync ended")
    assert cycle.count == 1


async def test_cycle_without_gateway_ends_with_the_reason(autojump_clock, tmp_path):
    with captured_log() as log:
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery)
            gateway.up = False
            link, cycle = make_cycle(gateway, tmp_path)
            await nursery.start(link.run)
            await trio.sleep(100)
            report = await cycle.run_once()
            nursery.cancel_scope.cancel()
    assert not report.ok
    assert "not reachable" in report.error and "Connection refused" in report.error
    assert report.seconds < 1  # an immediate attempt, not the back-off wait
    assert "Sync ended" in log
