"""The product's programs as real processes on loopback: the console scripts next to this Python, a
free port, a service started in a home and watched through its log (`DD.MM.YY - HH:MM:SS.cc:
message` lines), waited on, stopped with SIGTERM or killed with SIGKILL; the sync cycle's lock, held
as `sync-now` holds it; what a running process costs (memory, CPU) as Linux reports it."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import filelock

from service_runtime.home import Home

LOG_LINE = re.compile(r"^(\d\d\.\d\d\.\d\d - \d\d:\d\d:\d\d\.\d\d): (.*)$")
LOG_TIME_FORMAT = "%d.%m.%y - %H:%M:%S.%f"
POLL_SECONDS = 0.02  # how often a log is looked at while waiting


class ServiceFailure(AssertionError):
    """A process of the product did not do what was waited for (an AssertionError, so that a test
    reports it as a failed expectation)."""


class ServiceExited(ServiceFailure):
    def __init__(self, name: str, status: int, console: str) -> None:
        super().__init__(f"{name} exited with {status}:\n{console}")
        self.name, self.status = name, status


class NotLogged(ServiceFailure):
    def __init__(self, name: str, message: str, count: int, timeout: float, lines: list[str]) -> None:
        super().__init__(f"{message!r} x{count} not in {name}'s log within {timeout} s:\n" + "\n".join(lines))
        self.name, self.message, self.timeout = name, message, timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(name: str) -> list[str]:
    """The installed console script next to this Python, else `python -m` its package."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", name.replace("-", "_")]


def run_command(
    name: str, *args: str, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(name) + list(args), capture_output=True, text=True, timeout=timeout, input=input)


def log_messages(path: Path) -> list[tuple[str, str]]:
    """(timestamp, message) of every line of a service's log (none while it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [(m.group(1), m.group(2)) for line in text.splitlines() if (m := LOG_LINE.match(line))]


def log_time(stamp: str) -> dt.datetime:
    """A log line's timestamp as a (naive, local) moment."""
    return dt.datetime.strptime(stamp, LOG_TIME_FORMAT)


def cycle_lock(home: Path) -> filelock.FileLock:
    """The sync cycle's lock in `home`: while it is held no cycle runs (as `sync-now` holds it)."""
    return filelock.FileLock(str(Home(home).cycle_lock_file))


class Service:
    """One of the two services (`exchange-gateway`, `sync-service`) with its arguments, in `home`.
    Its output goes to HOME/NAME.console (`console=False`: nowhere); its log is HOME/logs/NAME.log."""

    def __init__(self, name: str, home: Path, *args: str, console: bool = True) -> None:
        self.name = name
        self.home = home
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.output: Path | None = home / f"{name}.console" if console else None

    @property
    def log_path(self) -> Path:
        return Home(self.home).log_file(self.name)

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Service:
        self.home.mkdir(parents=True, exist_ok=True)
        argv = command(self.name) + ["--home", str(self.home), *self.args]
        if self.output is None:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            with open(self.output, "ab") as out:
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
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

    def log_lines(self) -> list[str]:
        """The service's log as written, every line."""
        try:
            return self.log_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def messages(self) -> list[tuple[str, str]]:
        """(timestamp, message) of every line in the service's log."""
        return log_messages(self.log_path)

    def lines(self) -> list[str]:
        return [message for _, message in self.messages()]

    def count(self, message: str) -> int:
        return self.lines().count(message)

    def wait_for(
        self, message: str, count: int = 1, timeout: float = 20, while_waiting: Callable[[], None] | None = None
    ) -> float:
        """Wait until `message` is in the log `count` times; return the monotonic time it was seen.
        The log is looked at least once; `while_waiting` is called before each look. Raises
        `ServiceExited` if the process ends first, `NotLogged` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if while_waiting is not None:
                while_waiting()
            if self.count(message) >= count:
                return time.monotonic()
            if self.process is not None and self.process.poll() is not None:
                raise ServiceExited(self.name, self.process.returncode, self.console())
            if time.monotonic() >= deadline:
                raise NotLogged(self.name, message, count, timeout, self.lines())
            time.sleep(POLL_SECONDS)

    def console(self) -> str:
        if self.output is None or not self.output.exists():
            return ""
        return self.output.read_text(errors="replace")


def gateway(home: Path, address: str, *extra: str) -> Service:
    """`exchange-gateway run` listening on `address` (HOST:PORT)."""
    return Service("exchange-gateway", home, "run", "--listen", address, *extra)


def sync_service(home: Path, address: str, *extra: str) -> Service:
    """`sync-service run` with the gateway at `address` (HOST:PORT)."""
    return Service("sync-service", home, "run", "--gateway", address, *extra)


def _proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def resident_kib(pid: int) -> int:
    """A running process's resident memory now (Linux /proc)."""
    return _proc_status_kib(pid, "VmRSS")


def peak_resident_kib(pid: int) -> int:
    """A running process's peak resident memory since it started, or since `5` was written into
    its /proc/PID/clear_refs (Linux /proc)."""
    return _proc_status_kib(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
