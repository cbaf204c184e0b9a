"""`sync-service manager` end to end in a real terminal: tmux runs the window, the keys go in with
`tmux send-keys`, and the screen is read with `tmux capture-pane`, as a technician would see it."""

from __future__ import annotations

import os
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
        # without COLUMNS and LINES (a test runner's), which the window would take over tmux's size
        env = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30, check=True, env=env
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
    deadline = time.monotonic() + 30  # the status says Stopped just before the process ends
    while process_alive(sync.pid) or process_alive(gateway.pid):
        assert time.monotonic() < deadline, "a service still runs after F3"
        time.sleep(0.05)

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


@pytest.fixture
def world(tmp_path):
    """The stand-in Exchange and a gateway; anna syncs Tee times with her mailbox there, which
    holds one contact."""
    from exchangelib import Contact
    from exchangelib.indexed_properties import EmailAddress
    from exchangelib.protocol import close_connections

    from sandbox.world import World

    tmux = have_tmux()
    if tmux is None:
        pytest.skip("tmux is not installed and apt-get could not install it")
    started = World.start(tmp_path / "home")
    try:
        started.set_up("anna")
        config = started.home / "config.toml"
        config.write_text(f'[sync]\ngateway = "{started.gateway}"\n', encoding="utf-8")
        account = started.outlook()
        Contact(
            account=account,
            folder=account.contacts,
            given_name="Berta",
            surname="Blum",
            display_name="Berta Blum",
            email_addresses=[EmailAddress(label="EmailAddress1", email="berta@blum.example")],
        ).save()
        yield tmux, started
    finally:
        started.stop()
        close_connections()


def test_a_users_check_and_plus_add_go_through_the_real_gateway(world):
    tmux, started = world
    argv = command("sync-service") + ["--home", str(started.home), "manager", "--control", "process"]
    term = Terminal(tmux, argv)
    try:
        term.wait_for(lambda s: "Service manager overview" in s, "the window")
        term.keys("F7")
        term.wait_for(lambda s: "anna" in s and "LOGIN" in s, "the users")
        term.keys("Enter")
        term.wait_for(lambda s: "Exchange interface of anna" in s, "anna's screen")
        term.keys("1", "c")  # the account tab, check
        shown = term.wait_for(lambda s: "anna: OK, mailbox" in s, "the check's answer")
        term.keys("4")  # CONTACTS
        term.wait_for(lambda s: "PERSON" in s and "del Remove" in s, "the CONTACTS tab, its list with the keys")
        term.keys("Tab")  # the search field
        term.wait_for(lambda s: "del Remove" not in s, "the search field with the keys")
        term.keys("-l", "Berta")
        term.wait_for(lambda s: "Berta" in s, "the search typed")
        term.keys("Enter")
        term.wait_for(lambda s: "Berta Blum  <berta@blum.example>" in s, "the mailbox's contacts found")
        term.keys("Enter")  # +ADD the one found
        shown = term.wait_for(lambda s: "added to anna's contacts as person" in s, "+ADD done")
        assert "Berta Blum" in shown
        assert [row["name"] for row in started.json("contact", "list", "anna")] == ["Berta Blum"]
        term.keys("C-q")
    finally:
        term.close()
