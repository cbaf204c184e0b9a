"""`sync-service demo`: the whole story so far, on embedded defaults, with real processes.

Both services start in a fresh home on a free loopback port, connect, and run cycles; the gateway
is killed (`kill -9`) and started again and the sync service reconnects by itself; one cycle is
run on demand with `sync-now`; both stop gracefully. Each step is checked in the services' own
logs and narrated; the demo exits 0 only if every step was seen.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

import click

from protocol.home import Home

STEP_TIMEOUT = 30.0


class DemoFailed(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(name: str) -> list[str]:
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name.replace("-", "_")]


class _Process:
    def __init__(self, name: str, home: Home, args: list[str], say: Callable[[str], None]) -> None:
        self.name = name
        self.home = home
        self.args = args
        self.say = say
        self.process: subprocess.Popen[bytes] | None = None
        self._shown = 0
        self.others: list[_Process] = []  # whose new log lines to show alongside ours

    @property
    def log(self) -> Path:
        return self.home.log_file(self.name)

    def start(self) -> None:
        self.process = subprocess.Popen(
            _command(self.name) + ["--home", str(self.home.root), *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.say(f"   started {self.name} (PID {self.process.pid})")

    def lines(self) -> list[str]:
        try:
            return self.log.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def take_new_lines(self) -> list[tuple[str, str]]:
        lines = self.lines()
        new = [(line, self.name) for line in lines[self._shown :]]
        self._shown = len(lines)
        return new

    def show_new_lines(self) -> None:
        """Our new log lines and those of the others, in time order (the lines start with it)."""
        new = self.take_new_lines()
        for other in self.others:
            new += other.take_new_lines()
        for line, name in sorted(new, key=lambda entry: entry[0][:22]):  # stable: by time only
            self.say(f"   {name:>16} | {line}")

    def wait_for(self, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            self.show_new_lines()
            if sum(line.endswith(": " + text) for line in self.lines()) >= count:
                return
            if self.process is not None and self.process.poll() is not None:
                raise DemoFailed(f"{self.name} exited unexpectedly with status {self.process.returncode}")
            time.sleep(0.05)
        raise DemoFailed(f"{self.name} did not log {text!r} within {STEP_TIMEOUT:g} s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        self.show_new_lines()
        return status

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def run_demo(home_root: Path | None, keep_running: bool, say: Callable[[str], None] = click.echo) -> None:
    with ExitStack() as stack:
        if home_root is None:
            home_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="caddie-sync-demo-")))
        home = Home(home_root).prepare()
        port = _free_port()
        address = f"127.0.0.1:{port}"
        say(f"PC CADDIE Exchange synchronisation: demo in {home.root}, gateway on {address}\n")
        gateway = _Process("exchange-gateway", home, ["run", "--listen", address], say)
        sync = _Process("sync-service", home, ["run", "--gateway", address, "--interval", "2"], say)
        gateway.others, sync.others = [sync], [gateway]
        for process in (gateway, sync):
            stack.callback(process.ensure_stopped)

        say("1. The Exchange gateway starts and listens on loopback.")
        gateway.start()
        gateway.wait_for("Listener started")

        say(
            "\n2. The synchronisation service starts, connects with the token from the home,"
            " and runs a cycle every 2 s."
        )
        sync.start()
        sync.wait_for(f"{address}: Connect confirmed")
        gateway.wait_for("Client connected: Client IP: 127.0.0.1 - Total clients: 1")
        sync.wait_for("Sync ended", count=2)

        say("\n3. The gateway is killed (kill -9). The sync service notices and retries with back-off.")
        gateway.kill()
        sync.wait_for(f"{address}: Disconnected")
        sync.wait_for(f"{address}: Instate connection", count=3)

        say("\n4. The gateway starts again; the sync service reconnects by itself.")
        gateway.start()
        gateway.wait_for("Listener started", count=2)
        sync.wait_for(f"{address}: Connect confirmed", count=2)
        sync.wait_for("Sync ended", count=sum(line.endswith(": Sync ended") for line in sync.lines()) + 1)

        say(
            "\n5. `sync-service sync-now` runs one cycle on demand (it waits for the running cycle, never overlaps it)."
        )
        result = subprocess.run(
            _command("sync-service") + ["--home", str(home.root), "sync-now", "--gateway", address],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise DemoFailed(f"sync-now failed: {result.stderr.strip()}")
        say(f"   sync-now: {result.stdout.strip()}")
        sync.show_new_lines()

        if keep_running:
            say(f"\nBoth services are running (home {home.root}, gateway {address}). Press Ctrl+C to stop both.")
            try:
                while gateway.process.poll() is None and sync.process.poll() is None:  # type: ignore[union-attr]
                    sync.show_new_lines()
                    time.sleep(0.5)
            except KeyboardInterrupt:
                say("")

        say("\n6. Both services stop gracefully on SIGTERM: the running cycle ends, the socket is closed and logged.")
        sync_status = sync.stop()
        gateway_status = gateway.stop()
        if (sync_status, gateway_status) != (0, 0):
            raise DemoFailed(f"exit statuses: sync-service {sync_status}, exchange-gateway {gateway_status}")
        say(
            "\nDone. To run the services for real (home: --home DIR or $CADDIE_SYNC_HOME):\n"
            "   exchange-gateway run        # listens on 127.0.0.1:3000\n"
            "   sync-service run            # a cycle every 60 s\n"
            "Stop either with Ctrl+C or SIGTERM; each logs to HOME/logs/."
        )
