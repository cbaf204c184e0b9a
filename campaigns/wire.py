"""Wire abuse campaign against a real gateway process: a thousand idle connections, half frames
then silence, huge length prefixes, garbage, a client that stops answering its heartbeat, and a
flood of pings — while a legitimate client keeps working. The gateway must never die, must close
idle and half-open connections after its timeouts, and its memory must stay bounded (measured).

    python3 run.py -- python campaigns/wire.py [--idle 1000] [--pings 20000]
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trio  # noqa: E402

from protocol.framed_stream import FramedStream  # noqa: E402
from protocol.handshake import ClientHandshake  # noqa: E402
from protocol.handshake_io import client_handshake  # noqa: E402
from protocol.home import Home, ensure_token  # noqa: E402
from protocol.rpc import Heartbeat, PeerSettings, RpcPeer  # noqa: E402
from tests.e2e.processes import free_port, gateway  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class WireReport:
    idle: int = 0
    idle_closed: int = 0
    half_frames_closed: int = 0
    huge_prefix_closed: int = 0
    silent_client_dropped: bool = False
    pings: int = 0
    legit_requests: int = 0
    rss_start_kib: int = 0
    rss_peak_kib: int = 0
    rss_end_kib: int = 0
    gateway_alive: bool = False

    @property
    def ok(self) -> bool:
        return (self.gateway_alive and self.idle_closed == self.idle and self.silent_client_dropped
                and self.legit_requests > 0)  # fmt: skip

    def lines(self) -> list[str]:
        return [
            f"idle connections {self.idle}, closed by the gateway {self.idle_closed}; half frames closed "
            f"{self.half_frames_closed}; huge prefixes closed {self.huge_prefix_closed}",
            f"silent client dropped {self.silent_client_dropped}; pings answered {self.pings}; legitimate requests "
            f"{self.legit_requests}; gateway alive {self.gateway_alive}",
            f"gateway memory: {self.rss_start_kib} KiB at start, {self.rss_peak_kib} KiB at the peak, "
            f"{self.rss_end_kib} KiB at the end",
        ]


async def _authenticated(port: int, token: str, heartbeat: Heartbeat | None) -> RpcPeer:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    framed = FramedStream(stream)
    await client_handshake(framed, ClientHandshake("campaign", token), timeout=10)
    return RpcPeer(framed, settings=PeerSettings(heartbeat=heartbeat, request_timeout=30))


async def _closed_within(stream: trio.SocketStream, seconds: float) -> bool:
    with trio.move_on_after(seconds):
        try:
            while await stream.receive_some():
                pass
        except trio.BrokenResourceError:
            pass
        return True
    return False


async def campaign(port: int, token: str, pid: int, idle: int, pings: int, report: WireReport) -> None:
    report.rss_start_kib = report.rss_peak_kib = rss_kib(pid)
    legit = await _authenticated(port, token, Heartbeat(1, 3))
    async with trio.open_nursery() as nursery:
        await nursery.start(legit.run)

        async def keep_working():
            while True:
                assert await legit.request("ping") == "pong"
                report.legit_requests += 1
                await trio.sleep(0.05)

        nursery.start_soon(keep_working)

        # a thousand idle connections (they never send a thing), some half frames, huge prefixes
        streams = []
        limiter = trio.CapacityLimiter(100)
        for _ in range(idle):
            async with limiter:
                streams.append(await trio.open_tcp_stream("127.0.0.1", port))
        report.idle = len(streams)
        halves, huge = [], []
        for n in range(100):
            half = await trio.open_tcp_stream("127.0.0.1", port)
            await half.send_all(struct.pack(">I", 1000)[: 1 + n % 3])
            halves.append(half)
            big = await trio.open_tcp_stream("127.0.0.1", port)
            await big.send_all(b"\xff\xff\xff\xf0")
            huge.append(big)
        report.rss_peak_kib = max(report.rss_peak_kib, rss_kib(pid))

        async def watch(stream, counter):
            if await _closed_within(stream, 30):
                setattr(report, counter, getattr(report, counter) + 1)

        async with trio.open_nursery() as watchers:
            for stream in streams:
                watchers.start_soon(watch, stream, "idle_closed")
            for stream in halves:
                watchers.start_soon(watch, stream, "half_frames_closed")
            for stream in huge:
                watchers.start_soon(watch, stream, "huge_prefix_closed")

        # a client that passed the handshake and then never answers (nor reads): dropped by heartbeat
        silent_stream = await trio.open_tcp_stream("127.0.0.1", port)
        framed = FramedStream(silent_stream)
        await client_handshake(framed, ClientHandshake("silent", token), timeout=10)
        report.silent_client_dropped = await _closed_within(silent_stream, 30)

        # a flood of pings from one client, many in flight
        flooder = await _authenticated(port, token, None)
        async with trio.open_nursery() as flood:
            await flood.start(flooder.run)
            sending = trio.CapacityLimiter(200)

            async def one():
                async with sending:
                    await flooder.request("ping")
                    report.pings += 1

            async with trio.open_nursery() as many:
                for _ in range(pings):
                    many.start_soon(one)
            report.rss_peak_kib = max(report.rss_peak_kib, rss_kib(pid))
            flood.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    report.rss_end_kib = rss_kib(pid)


def run_wire_campaign(home: Path, idle: int = 1000, pings: int = 20000) -> WireReport:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        "[gateway]\nhandshake_timeout_seconds = 2.0\nheartbeat_interval_seconds = 1.0\nheartbeat_max_missed = 3\n"
    )
    token = ensure_token(Home(home).prepare())
    port = free_port()
    service = gateway(home, port).start()
    try:
        service.wait_for("Listener started")
        report = WireReport()
        process = service.process
        assert process is not None  # started above
        trio.run(campaign, port, token, process.pid, idle, pings, report)
        time.sleep(0.5)
        report.gateway_alive = process.poll() is None
        return report
    finally:
        service.ensure_stopped()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--pings", type=int, default=20000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wire-campaign-") as folder:
        report = run_wire_campaign(Path(folder) / "home", options.idle, options.pings)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
