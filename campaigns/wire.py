"""Wire abuse campaign against a real gateway process: a thousand idle connections, half frames
then silence, huge length prefixes, garbage, a client that stops answering its heartbeat, and a
flood of pings — while a legitimate client keeps working. The gateway must never die, must close
idle and half-open connections after its timeouts, and its memory must stay bounded (measured).

The attack phase comes first: many connections at once, none with the token, each sending a
first frame of the largest size the gateway accepts, a map holding one array of empty arrays
(the most Python objects per byte msgpack can describe). It reports the gateway's peak resident
memory during the attack (VmHWM, reset before it) and the slowest answer the legitimate client
got meanwhile (how long the gateway's event loop stalled).

    python3 run.py -- python campaigns/wire.py [--attack 16] [--idle 1000] [--pings 20000] [--backend graph]

With `--backend ews|graph` the gateway serves a mailbox too (sandbox.world.World.for_backend: the
stand-in, for "graph" as Exchange Online with the club's app over HTTPS), and the legitimate client
asks it for real all along (`exchange.check` of the mailbox, through that backend, between its pings):
the abuse must not fail one of those calls either. Without it the gateway runs alone, as before.
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trio  # noqa: E402

from protocol.accounts import AppCredentials, EwsAccount, GraphAccount, PasswordCredentials  # noqa: E402
from protocol.framed_stream import FramedStream  # noqa: E402
from protocol.framing import DEFAULT_MAX_FRAME_SIZE  # noqa: E402
from protocol.handshake import ClientHandshake  # noqa: E402
from protocol.handshake_io import client_handshake  # noqa: E402
from protocol.rpc import ConnectionLost, Heartbeat, PeerSettings, RemoteError, RequestTimeout, RpcPeer  # noqa: E402
from sandbox.processes import Service, free_port, gateway, peak_resident_kib, resident_kib  # noqa: E402
from sandbox.world import BACKENDS, MAILBOX, PASSWORD, World  # noqa: E402
from service_runtime.home import Home, ensure_token  # noqa: E402

EXCHANGE_EVERY = 10  # the legitimate client's pings between two Exchange calls (with a backend)


def reset_peak_rss(pid: int) -> bool:
    """Start the peak over at the current resident size (Linux: `5` into /proc/PID/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def empty_arrays_frame(frame_size: int) -> bytes:
    """A frame of exactly `frame_size` body bytes: {"x": [[], [], …]}, one empty array per byte
    left after the map's header (msgpack: fixmap 1, fixstr "x", array 32, then 0x90 each)."""
    head = b"\x81\xa1x\xdd"
    count = frame_size - len(head) - 4
    if count < 0:
        raise ValueError(f"a frame of {frame_size} bytes cannot hold the attack's map")
    return struct.pack(">I", frame_size) + head + struct.pack(">I", count) + b"\x90" * count


@dataclass
class WireReport:
    attack: int = 0
    attack_frame_bytes: int = 0
    attack_closed: int = 0
    attack_rss_before_kib: int = 0
    attack_rss_peak_kib: int = 0
    attack_peak_measured: str = "VmHWM"
    attack_slowest_answer_ms: float = 0.0
    legit_lost: int = 0
    max_clients: int | None = None
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
    backend: str | None = None  # the mailbox's, when the gateway serves one
    exchange_calls: int = 0  # the legitimate client's calls of the mailbox answered
    exchange_failed: list[str] = field(default_factory=list)  # those that failed: code and message
    exchange_slowest_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.gateway_alive
            and self.idle_closed == self.idle
            and self.silent_client_dropped
            and self.legit_requests > 0
            and self.attack_closed == self.attack
            and (self.backend is None or (self.exchange_calls > 0 and not self.exchange_failed))
        )

    def lines(self) -> list[str]:
        return [
            f"attack: {self.attack} connections without the token, each a first frame of {self.attack_frame_bytes} "
            f"bytes of empty arrays; closed by the gateway {self.attack_closed}",
            f"attack: gateway memory {self.attack_rss_before_kib} KiB before, {self.attack_rss_peak_kib} KiB at the "
            f"peak ({self.attack_peak_measured}); slowest answer to the legitimate client meanwhile "
            f"{self.attack_slowest_answer_ms:.0f} ms; legitimate connection lost {self.legit_lost} times",
            f"idle connections {self.idle}, closed by the gateway {self.idle_closed} (connection cap "
            f"{self.max_clients if self.max_clients is not None else 'not set'}); half frames closed "
            f"{self.half_frames_closed}; huge prefixes closed {self.huge_prefix_closed}",
            f"silent client dropped {self.silent_client_dropped}; pings answered {self.pings}; legitimate requests "
            f"{self.legit_requests}; gateway alive {self.gateway_alive}",
            f"gateway memory: {self.rss_start_kib} KiB at start, {self.rss_peak_kib} KiB at the peak, "
            f"{self.rss_end_kib} KiB at the end",
        ] + (
            [
                f"backend {self.backend}: the legitimate client's calls of the mailbox answered {self.exchange_calls}, "
                f"failed {len(self.exchange_failed)}, slowest {self.exchange_slowest_ms:.0f} ms"
                + (f" ({'; '.join(self.exchange_failed[:3])})" if self.exchange_failed else "")
            ]
            if self.backend is not None
            else []
        )


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


class _Legit:
    """The legitimate client: pings all along, notes the slowest answer while `measuring`, and
    connects again if the gateway dropped it (counted)."""

    def __init__(self, port: int, token: str, report: WireReport, account: dict[str, Any] | None = None) -> None:
        """`account`: the mailbox's account map, asked every EXCHANGE_EVERY pings (None: pings only)."""
        self.port, self.token, self.report, self.account = port, token, report, account
        self.measuring = False
        self.slowest = 0.0

    async def _exchange(self, peer: RpcPeer) -> None:
        """One real call of the mailbox, through the gateway's backend for it."""
        sent = trio.current_time()
        try:
            answer = await peer.request("exchange.check", {"account": self.account})
        except RemoteError as exc:
            self.report.exchange_failed.append(f"{exc.code}: {exc.message}")
            return
        if isinstance(answer, dict) and str(answer.get("mailbox", "")).lower() == MAILBOX:
            self.report.exchange_calls += 1
        else:
            self.report.exchange_failed.append(f"an answer that is not the mailbox's: {answer!r}"[:300])
        self.report.exchange_slowest_ms = max(self.report.exchange_slowest_ms, (trio.current_time() - sent) * 1000)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        started = False
        while True:
            try:
                peer = await _authenticated(self.port, self.token, Heartbeat(1, 3))
            except (trio.TooSlowError, trio.BrokenResourceError, OSError):
                if not started:
                    raise
                self.report.legit_lost += 1
                continue
            async with trio.open_nursery() as nursery:
                await nursery.start(peer.run)
                if not started:
                    task_status.started()
                    started = True
                sent = trio.current_time()
                try:
                    while True:
                        sent = trio.current_time()
                        assert await peer.request("ping") == "pong"
                        if self.measuring:
                            self.slowest = max(self.slowest, trio.current_time() - sent)
                        self.report.legit_requests += 1
                        if self.account is not None and self.report.legit_requests % EXCHANGE_EVERY == 1:
                            await self._exchange(peer)
                        await trio.sleep(0.05)
                except (ConnectionLost, RequestTimeout):
                    self.report.legit_lost += 1
                    if self.measuring:
                        self.slowest = max(self.slowest, trio.current_time() - sent)
                nursery.cancel_scope.cancel()


async def _attack(port: int, pid: int, connections: int, frame: bytes, legit: _Legit, report: WireReport) -> None:
    report.attack, report.attack_frame_bytes = connections, len(frame) - 4
    report.attack_rss_before_kib = resident_kib(pid)
    if not reset_peak_rss(pid):
        report.attack_peak_measured = "VmRSS sampled every 10 ms"
    sampled = report.attack_rss_before_kib
    legit.measuring, legit.slowest = True, 0.0

    async def one() -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            await stream.send_all(frame)
        except (trio.BrokenResourceError, OSError):
            pass  # the gateway closed before it took the whole frame: what it should do
        if await _closed_within(stream, 120):
            report.attack_closed += 1
        await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as attackers:
        for _ in range(connections):
            attackers.start_soon(one)
        while len(attackers.child_tasks) > 0:
            sampled = max(sampled, resident_kib(pid))
            await trio.sleep(0.01)
    await trio.sleep(0.5)  # a last answer to the legitimate client, after the attack
    legit.measuring = False
    report.attack_slowest_answer_ms = legit.slowest * 1000
    peak = peak_resident_kib(pid) if report.attack_peak_measured == "VmHWM" else 0
    report.attack_rss_peak_kib = max(peak, sampled)


async def _open_and_watch(port: int, count: int, first_bytes: bytes | None, report: WireReport, counter: str) -> None:
    """`count` connections at once, each sending `first_bytes` (if any); count those the gateway closes."""
    streams = []
    opening = trio.CapacityLimiter(100)
    for _ in range(count):
        async with opening:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        if first_bytes:
            try:
                await stream.send_all(first_bytes)
            except (trio.BrokenResourceError, OSError):
                pass
        streams.append(stream)

    async def watch(stream: trio.SocketStream) -> None:
        if await _closed_within(stream, 30):
            setattr(report, counter, getattr(report, counter) + 1)
        await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as watchers:
        for stream in streams:
            watchers.start_soon(watch, stream)


async def campaign(
    port: int,
    token: str,
    pid: int,
    idle: int,
    pings: int,
    report: WireReport,
    attack: int = 0,
    frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    account: dict[str, Any] | None = None,
) -> None:
    report.rss_start_kib = report.rss_peak_kib = resident_kib(pid)
    legit = _Legit(port, token, report, account)
    async with trio.open_nursery() as nursery:
        await nursery.start(legit.run)
        if attack:
            await _attack(port, pid, attack, empty_arrays_frame(frame_size), legit, report)
            report.rss_peak_kib = max(report.rss_peak_kib, report.attack_rss_peak_kib)

        # idle connections (they never send a thing): beyond the connection cap refused at once,
        # the others closed after the handshake timeout
        report.idle = idle
        async with trio.open_nursery() as idle_phase:
            idle_phase.start_soon(_open_and_watch, port, idle, None, report, "idle_closed")
            await trio.sleep(1)
            report.rss_peak_kib = max(report.rss_peak_kib, resident_kib(pid))

        # half frames and huge prefixes, in waves that stay below the connection cap
        wave = 100 if report.max_clients is None else max(1, min(100, (report.max_clients - 2) // 2))
        done = 0
        while done < 100:
            n = min(wave, 100 - done)
            async with trio.open_nursery() as waves:
                for _ in range(n):
                    first = struct.pack(">I", 1000)[: 1 + done % 3]
                    waves.start_soon(_open_and_watch, port, 1, first, report, "half_frames_closed")
                    done += 1
                waves.start_soon(_open_and_watch, port, n, b"\xff\xff\xff\xf0", report, "huge_prefix_closed")
                await trio.sleep(0.2)
                report.rss_peak_kib = max(report.rss_peak_kib, resident_kib(pid))

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

            async def one() -> None:
                async with sending:
                    await flooder.request("ping")
                    report.pings += 1

            async with trio.open_nursery() as many:
                for _ in range(pings):
                    many.start_soon(one)
            report.rss_peak_kib = max(report.rss_peak_kib, resident_kib(pid))
            flood.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    report.rss_end_kib = resident_kib(pid)


def mailbox_account(world: World, backend: str) -> dict[str, Any]:
    """The account map the sync service would send for the world's mailbox through `backend`."""
    if backend == "graph":
        club = world.apps[0]
        app = AppCredentials(
            club.tenant, club.client_id, club.secret, world.standin.authority(club.tenant), world.standin.graph_url
        )
        return GraphAccount(MAILBOX, app).to_wire()
    return EwsAccount(world.url, MAILBOX, PasswordCredentials(MAILBOX, PASSWORD)).to_wire()


def run_wire_campaign(
    home: Path,
    idle: int = 1000,
    pings: int = 20000,
    attack: int = 16,
    max_clients: int | None = 64,
    backend: str | None = None,
) -> WireReport:
    """`max_clients`: the gateway's connection cap written into its config (None: none written);
    `backend` (BACKENDS): the gateway serves the stand-in's mailbox through it, and the legitimate
    client calls it all along (None: the gateway alone)."""
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    home.mkdir(parents=True, exist_ok=True)
    cap = "" if max_clients is None else f"max_clients = {max_clients}\n"
    (home / "config.toml").write_text(
        "[gateway]\nhandshake_timeout_seconds = 2.0\nheartbeat_interval_seconds = 1.0\nheartbeat_max_missed = 3\n" + cap
    )
    token = ensure_token(Home(home).prepare())
    world: World | None = None
    account: dict[str, Any] | None = None
    if backend is not None:  # the stand-in and the gateway, the gateway trusting its CA for Graph
        world = World.for_backend(home, backend)
        service: Service = world.services[0]
        port = int(world.gateway.rsplit(":", 1)[1])
        account = mailbox_account(world, backend)
    else:
        port = free_port()
        service = gateway(home, f"127.0.0.1:{port}").start()
    try:
        service.wait_for("Listener started")
        report = WireReport(max_clients=max_clients, backend=backend)
        process = service.process
        assert process is not None  # started above
        trio.run(campaign, port, token, process.pid, idle, pings, report, attack, DEFAULT_MAX_FRAME_SIZE, account)
        time.sleep(0.5)
        report.gateway_alive = process.poll() is None
        return report
    finally:
        if world is not None:
            world.stop()
        else:
            service.ensure_stopped()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attack", type=int, default=16, help="connections of the attack phase (0: none)")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--pings", type=int, default=20000)
    parser.add_argument(
        "--max-clients",
        type=int,
        default=64,
        help="the gateway's connection cap for the run; 0 writes none (for gateways without it)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="the gateway serves a mailbox through this backend, called all along by the legitimate client "
        "(default: no mailbox)",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wire-campaign-") as folder:
        report = run_wire_campaign(
            Path(folder) / "home",
            options.idle,
            options.pings,
            options.attack,
            options.max_clients or None,
            options.backend,
        )
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
