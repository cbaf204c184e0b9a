"""Each running service's status file, HOME/status/<service>.json, and what the overview reads
from it. A service rewrites its file every few seconds (the heartbeat); the overview trusts a
"running" file only if its process is alive and its heartbeat fresh, so `kill -9` shows as what
it is."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import trio

from .home import Home

HEARTBEAT_SECONDS = 5.0
STALE_AFTER = 3 * HEARTBEAT_SECONDS


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    pid: int
    started: str  # ISO 8601, UTC
    heartbeat: str
    version: str
    state: str = "running"  # running | stopped
    stopped: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def status_file(home: Home, service: str) -> Path:
    return home.root / "status" / f"{service}.json"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def write_status(home: Home, status: ServiceStatus) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    path = status_file(home, status.service)
    path.parent.mkdir(exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(status), handle, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_status(home: Home, service: str) -> ServiceStatus | None:
    try:
        data = json.loads(status_file(home, service).read_text(encoding="utf-8"))
        return ServiceStatus(**data)
    except (FileNotFoundError, ValueError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


@dataclass(frozen=True)
class Judgement:
    state: str  # Running since … | Stopped | Not responding | Never started
    heartbeat: str | None


def judge(
    status: ServiceStatus | None, now: dt.datetime | None = None, alive: Callable[[int], bool] = process_alive
) -> Judgement:
    if status is None:
        return Judgement("Never started", None)
    now = now or dt.datetime.now(dt.timezone.utc)
    heartbeat = dt.datetime.fromisoformat(status.heartbeat)
    if status.state == "stopped":
        return Judgement("Stopped", status.heartbeat)
    if not alive(status.pid):
        return Judgement("Stopped (ended without stopping)", status.heartbeat)
    if (now - heartbeat).total_seconds() > STALE_AFTER:
        return Judgement("Not responding", status.heartbeat)
    started = dt.datetime.fromisoformat(status.started).astimezone()
    since = f"{started:%H:%M:%S}" if started.date() == now.astimezone().date() else f"{started:%d.%m.%Y %H:%M:%S}"
    return Judgement(f"Running since {since}", status.heartbeat)


class StatusReporter:
    """Keeps a running service's status file fresh: `run` in the service's nursery; `stopped`
    writes the final state."""

    def __init__(self, home: Home, service: str, version: str, describe: Callable[[], dict[str, Any]] = dict) -> None:
        """`describe()` gives the details to show (listen address, clients, last cycle …), asked
        at every heartbeat."""
        self.home = home
        self.service = service
        self.version = version
        self.started = utc_now()
        self.describe = describe

    def _status(self, state: str = "running") -> ServiceStatus:
        now = utc_now()
        return ServiceStatus(
            self.service,
            os.getpid(),
            self.started,
            now,
            self.version,
            state,
            now if state == "stopped" else None,
            dict(self.describe()),
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.to_thread.run_sync(write_status, self.home, self._status())
        task_status.started()
        while True:
            await trio.sleep(HEARTBEAT_SECONDS)
            await trio.to_thread.run_sync(write_status, self.home, self._status())

    def stopped(self) -> None:
        write_status(self.home, self._status("stopped"))
