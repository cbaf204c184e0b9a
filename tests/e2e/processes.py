"""Real processes of the two services, on a free loopback port, each with its log, for e2e tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LOG_LINE = re.compile(r"^(\d\d\.\d\d\.\d\d - \d\d:\d\d:\d\d\.\d\d): (.*)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(name: str) -> list[str]:
    """The installed console script next to this Python, else `python -m` its package."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", name.replace("-", "_")]


def run_command(name: str, *args: str, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command(name) + list(args), capture_output=True, text=True, timeout=timeout, input=input)


class Service:
    def __init__(self, name: str, home: Path, *args: str) -> None:
        self.name = name
        self.home = home
        self.args = args
        self.process: subprocess.Popen | None = None
        self.output = home / f"{name}.console"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / f"{self.name}.log"

    def start(self) -> "Service":
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(
                command(self.name) + ["--home", str(self.home), *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def kill(self) -> None:
        """kill -9"""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and wait for the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def messages(self) -> list[tuple[str, str]]:
        """(timestamp, message) of every line in the service's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [(m.group(1), m.group(2)) for line in text.splitlines() if (m := LOG_LINE.match(line))]

    def lines(self) -> list[str]:
        return [message for _, message in self.messages()]

    def count(self, message: str) -> int:
        return self.lines().count(message)

    def wait_for(self, message: str, count: int = 1, timeout: float = 20) -> float:
        """Wait until `message` is in the log `count` times; return the monotonic time it was seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(message) >= count:
                return time.monotonic()
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.console()}")
            time.sleep(0.02)
        raise AssertionError(
            f"{message!r} x{count} not in {self.name}'s log within {timeout} s:\n" + "\n".join(self.lines())
        )

    def console(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def gateway(home: Path, port: int, *extra: str) -> Service:
    return Service("exchange-gateway", home, "run", "--listen", f"127.0.0.1:{port}", *extra)


def sync_service(home: Path, port: int, *extra: str) -> Service:
    return Service("sync-service", home, "run", "--gateway", f"127.0.0.1:{port}", *extra)


def environment_without_home() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CADDIE_SYNC_HOME", None)
    return env
