"""Start, Stop and Restart of the two services, the way they are installed here:

- `process`: the manager starts each service itself, as a detached process with this home (so with
  its config), that outlives the window; it stops one by the PID its status file names;
- `systemd`: `systemctl start|stop|restart` of the units deploy/systemd installs;
- `windows`: the Windows service manager (`sc.exe`) with the services deploy/windows installs;
- `auto`: systemd or Windows where both services are installed as such, else `process`.

Every action answers one `Outcome`: a line for the window, never an exception.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from service_runtime.home import Home
from service_runtime.overview import SERVICES
from service_runtime.status import process_alive, read_status

MODES = ("auto", "systemd", "windows", "process")
NAMES = {service: name for service, name, _ in SERVICES}
UNITS = {"exchange-gateway": "caddie-exchange-gateway.service", "sync-service": "caddie-sync-service.service"}
WINDOWS_SERVICES = {"exchange-gateway": "caddie-exchange-gateway", "sync-service": "caddie-sync-service"}
PACKAGES = {"exchange-gateway": "exchange_gateway", "sync-service": "sync_service"}
START_SECONDS = 20.0
STOP_SECONDS = {"exchange-gateway": 30.0, "sync-service": 45.0}  # the units' TimeoutStopSec
POLL_SECONDS = 0.05

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


class Control(Protocol):
    @property
    def description(self) -> str: ...

    def start(self, service: str) -> Outcome: ...

    def stop(self, service: str) -> Outcome: ...

    def restart(self, service: str) -> Outcome: ...

    def poll(self) -> None:
        """Called at each refresh (reaps the processes this window started)."""


def run_quietly(argv: list[str], timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return subprocess.CompletedProcess(argv, 127, "", f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"{' '.join(argv)} did not answer within {timeout:.0f} s")


def first_line(result: subprocess.CompletedProcess[str]) -> str:
    for text in (result.stderr, result.stdout):
        for line in (text or "").splitlines():
            if line.strip():
                return line.strip()
    return f"exit status {result.returncode}"


@dataclass(frozen=True)
class Refused:
    """A control mode that cannot work here: every action says why, in one line."""

    reason: str
    description: str = "none"

    def start(self, service: str) -> Outcome:
        return Outcome(False, self.reason)

    def stop(self, service: str) -> Outcome:
        return Outcome(False, self.reason)

    def restart(self, service: str) -> Outcome:
        return Outcome(False, self.reason)

    def poll(self) -> None:
        pass


class ProcessControl:
    """The services as processes this manager starts: `python -m PACKAGE --home HOME run`, in a
    session of their own (closing the window or its terminal does not end them), output to
    HOME/SERVICE.console. Their state is what their status files say, as `overview` shows it."""

    description = "process"

    def __init__(self, home: Home, python: str = sys.executable) -> None:
        self.home = home
        self.python = python
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    def argv(self, service: str) -> list[str]:
        return [self.python, "-m", PACKAGES[service], "--home", str(self.home.root), "run"]

    def console_file(self, service: str) -> Path:
        return self.home.root / f"{service}.console"

    def running_pid(self, service: str) -> int | None:
        """The PID of the service's running process, per its status file, if it is alive."""
        self.poll()
        status = read_status(self.home, service)
        if status is None or status.state != "running" or _gone(status.pid):
            return None
        if not _is_service_process(status.pid, service):
            return None  # the PID was reused by another program
        return status.pid

    def start(self, service: str, done: str = "started") -> Outcome:
        name = NAMES[service]
        pid = self.running_pid(service)
        if pid is not None:
            return Outcome(False, f"{name} is already running (PID {pid})")
        before = read_status(self.home, service)
        with open(self.console_file(service), "ab") as console:
            try:
                child = subprocess.Popen(
                    self.argv(service),
                    stdin=subprocess.DEVNULL,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    cwd=self.home.root,
                    start_new_session=sys.platform != "win32",
                    creationflags=_DETACHED_FLAGS,
                )
            except OSError as exc:
                return Outcome(False, f"{name} could not be started: {exc.strerror or exc}")
        self.children[child.pid] = child
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            status = read_status(self.home, service)
            if status is not None and status.pid == child.pid and status.state == "running" and status != before:
                return Outcome(True, f"{name} {done} (PID {child.pid})")
            code = child.poll()
            if code is not None:
                self.children.pop(child.pid, None)
                return Outcome(False, f"{name} ended at start (exit status {code}): {self._last_console_line(service)}")
            time.sleep(POLL_SECONDS)
        return Outcome(False, f"{name} (PID {child.pid}) did not report running within {START_SECONDS:.0f} s")

    def stop(self, service: str) -> Outcome:
        name = NAMES[service]
        pid = self.running_pid(service)
        if pid is None:
            return Outcome(False, f"{name} is not running")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return Outcome(True, f"{name} stopped (PID {pid})")
        except PermissionError:
            return Outcome(False, f"{name} (PID {pid}) belongs to another user: stop it as that user")
        deadline = time.monotonic() + STOP_SECONDS[service]
        while time.monotonic() < deadline:
            if _gone(pid):
                self._reap(pid)
                return Outcome(True, f"{name} stopped (PID {pid})")
            time.sleep(POLL_SECONDS)
        return Outcome(False, f"{name} (PID {pid}) did not stop within {STOP_SECONDS[service]:.0f} s")

    def restart(self, service: str) -> Outcome:
        if self.running_pid(service) is not None:
            stopped = self.stop(service)
            if not stopped.ok:
                return stopped
        return self.start(service, "restarted")

    def _reap(self, pid: int) -> None:
        """A child of this window's that has ended is waited for (its last threads may still be
        ending after its main thread shows as a zombie), so that it leaves no zombie behind."""
        child = self.children.pop(pid, None)
        if child is not None:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.children[pid] = child

    def poll(self) -> None:
        for pid, child in list(self.children.items()):
            if child.poll() is not None:  # reaped: no zombie that looks alive
                del self.children[pid]

    def _last_console_line(self, service: str) -> str:
        try:
            lines = self.console_file(service).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no output"
        meaningful = [line.strip() for line in lines if line.strip()]
        return meaningful[-1] if meaningful else "no output"


# on Windows: no console of the window's, and Ctrl+C in the window does not reach the service
_DETACHED_FLAGS = (
    getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "DETACHED_PROCESS", 0)
    if sys.platform == "win32"
    else 0
)


def _gone(pid: int) -> bool:
    """The process has ended: it is not there, or (Linux) only its exit status is left, for a
    parent that has not read it yet (another window of this manager that started it)."""
    if not process_alive(pid):
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists() and not process_alive(pid)
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _is_service_process(pid: int, service: str) -> bool:
    """On Linux, whether the process's command line is the service's (a PID can be reused)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc here: trust the status file
    except PermissionError:
        return True
    words = {os.path.basename(part.decode(errors="replace")) for part in argv}
    return service in words or PACKAGES[service] in words


class SystemdControl:
    """`systemctl` on the units of deploy/systemd."""

    description = "systemd"

    def __init__(self, run: Runner = run_quietly) -> None:
        self.run = run

    def _act(self, verb: str, service: str, done: str) -> Outcome:
        result = self.run(["systemctl", verb, UNITS[service]])
        if result.returncode == 0:
            return Outcome(True, f"{NAMES[service]} {done} ({UNITS[service]})")
        return Outcome(False, f"systemctl {verb} {UNITS[service]} failed: {first_line(result)}")

    def start(self, service: str) -> Outcome:
        return self._act("start", service, "started")

    def stop(self, service: str) -> Outcome:
        return self._act("stop", service, "stopped")

    def restart(self, service: str) -> Outcome:
        return self._act("restart", service, "restarted")

    def poll(self) -> None:
        pass

    notice = ""

    def home_notice(self, home: Home) -> str:
        """A line to show if the units run with another home than this window reads ("" if not)."""
        for unit in UNITS.values():
            result = self.run(["systemctl", "show", "--property=Environment", "--value", unit])
            for word in result.stdout.split():
                name, _, value = word.partition("=")
                if name == "CADDIE_SYNC_HOME" and Path(value) != home.root:
                    return f"{unit} runs with home {value}, this window reads {home.root}: start it with --home {value}"
        return ""

    def installed(self) -> str | None:
        """None if both units are installed, else the reason why this mode cannot be used."""
        for unit in UNITS.values():
            result = self.run(["systemctl", "show", "--property=LoadState", "--value", unit])
            if result.returncode != 0:
                return f"systemd is not usable here: {first_line(result)}"
            if result.stdout.strip() != "loaded":
                return f"the systemd unit {unit} is not installed (see docs/install.md)"
        return None


class WindowsControl:
    """The Windows service manager (`sc.exe`) on the services of deploy/windows (WinSW)."""

    description = "windows"

    def __init__(self, run: Runner = run_quietly) -> None:
        self.run = run

    def _state(self, service: str) -> str:
        result = self.run(["sc.exe", "query", WINDOWS_SERVICES[service]])
        for line in result.stdout.splitlines():
            if "STATE" in line:
                return line.split()[-1]
        return ""

    def _act(self, verb: str, service: str, done: str) -> Outcome:
        result = self.run(["sc.exe", verb, WINDOWS_SERVICES[service]])
        if result.returncode == 0:
            return Outcome(True, f"{NAMES[service]} {done} ({WINDOWS_SERVICES[service]})")
        return Outcome(False, f"sc.exe {verb} {WINDOWS_SERVICES[service]} failed: {first_line(result)}")

    def start(self, service: str) -> Outcome:
        return self._act("start", service, "started")

    def stop(self, service: str) -> Outcome:
        return self._act("stop", service, "stopped")

    def restart(self, service: str) -> Outcome:
        self.stop(service)  # a service that is not running answers an error here: it is started all the same
        deadline = time.monotonic() + STOP_SECONDS[service]
        while self._state(service) not in ("", "STOPPED") and time.monotonic() < deadline:
            time.sleep(0.5)
        return self._act("start", service, "restarted")

    def poll(self) -> None:
        pass

    def installed(self) -> str | None:
        for name in WINDOWS_SERVICES.values():
            result = self.run(["sc.exe", "query", name])
            if result.returncode != 0:
                return f"the Windows service {name} is not installed (see deploy/windows/README.md)"
        return None


def choose_control(
    mode: str, home: Home, *, platform: str = sys.platform, which: Callable[[str], str | None] = shutil.which
) -> Control:
    """The control for `--control MODE`; a mode that cannot work here is `Refused` with the reason."""
    if mode == "process":
        return ProcessControl(home)
    if mode == "windows":
        if platform != "win32" or which("sc.exe") is None:
            return Refused("--control windows: the Windows service manager exists only on Windows (sc.exe)")
        windows = WindowsControl()
        reason = windows.installed()
        return Refused(f"--control windows: {reason}") if reason else windows
    if mode == "systemd":
        if which("systemctl") is None:
            return Refused("--control systemd: there is no systemctl on this machine")
        systemd = SystemdControl()
        reason = systemd.installed()
        if reason:
            return Refused(f"--control systemd: {reason}")
        systemd.notice = systemd.home_notice(home)
        return systemd
    if mode == "auto":
        if platform == "win32" and which("sc.exe") is not None:
            windows = WindowsControl()
            if windows.installed() is None:
                return windows
        elif which("systemctl") is not None:
            systemd = SystemdControl()
            if systemd.installed() is None:
                systemd.notice = systemd.home_notice(home)
                return systemd
        return ProcessControl(home)
    raise ValueError(f"unknown control mode {mode!r}; one of {', '.join(MODES)}")
