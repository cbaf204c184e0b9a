"""`sync-service manager` end to end in a real terminal: tmux runs the window, the keys go in with
`tmux send-keys`, and the screen is read with `tmux capture-pane`, as a technician would see it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from sandbox.processes import command
from service_runtime.status import process_alive, read_status
from tests.sync_service.commands.support import Cli
from tests.sync_service.manager.support import club_home, end_services

pytestmark = pytest.mark.e2e


def have_tmux() -> str | None:
    """tmux, installed with apt-get when it is missing and that is possible; else None."""
    found = shutil.which("tmux")
    if found is None and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "tmux"], capture_output=True, timeout=300)
        found = shutil.which("tmux")
    return found


class Terminal:
    """One tmux server of its own (-L), one window 140×40 running the command."""

    def __init__(self, tmux: str, argv: list[str]) -> None:
        self.tmux = tmux
        self.socket = f"manager-test-{uuid.uuid4().hex[:8]}"
        self._run("new-session", "-d", "-s", "manager", "-x", "140", "-y", "40", shlex.join(argv))

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "manager", *keys)

    def screen(self) -> str:
        """What the window shows; nothing once it has ended (tmux ends the session with it)."""
        try:
            return self._run("capture-pane", "-p", "-t", "manager")
        except subprocess.CalledProcessError:
            return ""

    def wait_for(self, condition, what: str, timeout: float = 30.0) -> str:
        """The screen once `condition(screen)` holds (polling what tmux shows)."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if condition(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"not on the screen within {timeout} s: {what}\n{shown}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def row(screen: str, name: str) -> str:
    return next((line for line in screen.splitlines() if name in line and "user_" in line), "")


@pytest.fixture
def terminal(tmp_path):
    tmux = have_tmux()
    if tmux is None:
        pytest.skip("tmux is not installed and apt-get could not install it")
    home = club_home(tmp_path / "home")
    Cli(home.root).ok("user", "add", "alice", "--name", "Alice Adler")
    argv = command("sync-service") + ["--home", str(home.root), "manager", "--control", "process"]
    term = Terminal(tmux, argv)
    yield term, home
    term.close()
    end_services(home)


def test_f2_starts_the_services_the_table_shows_them_running_and_f3_stops_them(terminal):
    term, home = terminal
    shown = term.wait_for(lambda s: "Service manager overview" in s and "Never started" in s, "the window")
    assert "Name" in shown and "State" in shown and "PID" in shown and "Version" in shown

    term.keys("F2")  # the first row: the gateway
    shown = term.wait_for(lambda s: "Running since" in row(s, "Exchange gateway"), "the gateway running")
    gateway = read_status(home, "exchange-gateway")
    assert str(gateway.pid) in row(shown, "Exchange gateway") and process_alive(gateway.pid)
    term.keys("Down", "F2")
    shown = term.wait_for(lambda s: "Running since" in row(s, "Synchronisation service"), "the sync service running")
    sync = read_status(home, "sync-service")
    assert str(sync.pid) in row(shown, "Synchronisation service")
    term.wait_for(lambda s: "Log of Synchronisation service" in s, "the sync service's log below the table")

    term.keys("F3")
    term.wait_for(lambda s: "Stopped" in row(s, "Synchronisation service"), "the sync service stopped")
    term.keys("Up", "F3")
    shown = term.wait_for(lambda s: "Stopped" in row(s, "Exchange gateway"), "the gateway stopped")
    assert not process_alive(sync.pid) and not process_alive(gateway.pid)

    term.keys("F7")  # the users, and alice's Exchange interface
    term.wait_for(lambda s: "Alice Adler" in s, "the users")
    term.keys("Enter")
    shown = term.wait_for(lambda s: "Exchange interface of alice" in s, "alice's screen")
    assert "APPOINTMENTS" in shown and "CONTACTS" in shown and "STATISTICS" in shown
    assert "has no Exchange account" in shown
    term.keys("Escape", "Escape")
    term.wait_for(lambda s: "Service manager overview" in s and "Exchange gateway" in s, "back to the overview")
    term.keys("C-q")
    term.wait_for(lambda s: "Service manager overview" not in s, "the window closed")
