"""`sync-service demo`: the whole story, on embedded defaults, with real processes.

A stand-in Exchange server, the gateway and the synchronisation service start in a fresh home on
free loopback ports; a technician's set-up through the command line; an appointment made in
PC CADDIE appears in "Outlook" (a plain exchangelib client), one made in Outlook appears in
PC CADDIE; the gateway is killed (`kill -9`) and started again and the sync service reconnects
by itself; a change is carried over at once with `sync-now`; the statistics; a graceful stop.
Each step is checked (in the services' logs or on the other side) and narrated; the demo exits 0
only if every step was seen.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click
import filelock

from service_runtime.home import Home

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

    def show_new_lines(self, skip: tuple[str, ...] = ()) -> None:
        """Our new log lines and those of the others, in time order (the lines start with it),
        leaving out those containing any of `skip`."""
        new = self.take_new_lines()
        for other in self.others:
            new += other.take_new_lines()
        for line, name in sorted(new, key=lambda entry: entry[0][:22]):  # stable: by time only
            if not any(text in line for text in skip):
                self.say(f"   {name:>16} | {line}")

    @contextmanager
    def paused_cycles(self) -> Iterator[None]:
        """Hold the cycle lock (as `sync-now` does): no cycle runs in between."""
        lock = filelock.FileLock(str(self.home.cycle_lock_file))
        with lock.acquire(timeout=60):
            yield

    def count(self, text: str) -> int:
        return sum(line.endswith(": " + text) for line in self.lines())

    def wait_for(self, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            self.show_new_lines(skip=BORING)
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


def _cli(home: Home, say: Callable[[str], None], *args: str, input: str | None = None, show: bool = True) -> str:
    """Run a `sync-service` admin command as a technician would, printing it."""
    if show:
        shown = " ".join(a if " " not in a else f'"{a}"' for a in args)
        say(f"   $ sync-service {shown}" + ("   (password on stdin)" if input else ""))
    result = subprocess.run(
        _command("sync-service") + ["--home", str(home.root), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise DemoFailed(f"`sync-service {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _outlook(url: str, mailbox: str, password: str) -> Any:
    """The mailbox as Outlook would see it (a plain exchangelib client, not the product)."""
    from exchangelib import BASIC, DELEGATE, Account, Configuration, Credentials, EWSTimeZone, FailFast

    config = Configuration(
        service_endpoint=url, credentials=Credentials(mailbox, password), auth_type=BASIC, retry_policy=FailFast()
    )
    return Account(
        mailbox, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=EWSTimeZone("Europe/Berlin")
    )


def _outlook_shows(account: Any) -> list[str]:
    items = sorted(account.calendar.all(), key=lambda item: item.start)
    return [f"{item.start.astimezone(account.default_timezone):%a %d.%m. %H:%M} {item.subject}" for item in items]


def _cycles(process: _Process) -> int:
    return sum(line.endswith(": Sync ended") for line in process.lines())


BORING = (": Sync started", ": Sync ended", "calendars: no changes", "calendar: no changes", "Next connection attempt")


def _outlook_calendar(account: Any, folder: str = "") -> list[str]:
    calendar = account.calendar if not folder else next(c for c in account.calendar.children if c.name == folder)
    items = sorted(calendar.all(), key=lambda item: item.start)
    zone = account.default_timezone
    return [
        f"{item.start.astimezone(zone):%a %d.%m. %H:%M} {item.subject}"
        + (" (private)" if item.sensitivity == "Private" else "")
        for item in items
    ]


def _outlook_contacts(account: Any) -> list[str]:
    from exchangelib import Contact

    return sorted(
        f"{c.display_name}" + (f", {c.physical_addresses[0].city}" if c.physical_addresses else "")
        for c in account.contacts.all()
        if isinstance(c, Contact)
    )


def run_demo(home_root: Path | None, keep_running: bool, say: Callable[[str], None] = click.echo) -> None:
    with ExitStack() as stack:
        if home_root is None:
            home_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="caddie-sync-demo-")))
        home = Home(home_root).prepare()
        gateway_address, exchange_address = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
        mailbox, password = "pro@golfclub.example", secrets.token_urlsafe(12)
        say(f"PC CADDIE Exchange synchronisation: the whole story, in {home.root}\n")

        say(f"0. A stand-in Exchange server (EWS) starts on {exchange_address} with the mailbox {mailbox}.")
        arguments = ["emulator", "--listen", exchange_address, "--mailbox", f"{mailbox}:{password}"]
        emulator = subprocess.Popen(
            _command("exchange-gateway") + arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

        def stop_emulator() -> None:
            if emulator.poll() is None:
                emulator.terminate()
            emulator.wait(timeout=10)

        stack.callback(stop_emulator)
        url = emulator.stdout.readline().strip() if emulator.stdout else ""
        if not url.startswith("http"):
            raise DemoFailed("the stand-in Exchange server did not start")
        say(f"   EWS at {url}")

        gateway = _Process("exchange-gateway", home, ["run", "--listen", gateway_address], say)
        sync = _Process("sync-service", home, ["run", "--gateway", gateway_address, "--interval", "2"], say)
        gateway.others, sync.others = [sync], [gateway]
        for process in (gateway, sync):
            stack.callback(process.ensure_stopped)

        say("\n1. The Exchange gateway starts and listens on loopback.")
        gateway.start()
        gateway.wait_for("Listener started")

        say("\n2. A technician sets up the club through the command line: the module on, a pro who may sync his")
        say("   appointments and contacts, two areas, a member, his Exchange account (the password is stored")
        say("   encrypted), his two calendars with different options, a filter, and three appointments.")
        cli = functools.partial(_cli, home, say)
        cli("param", "set", "SYNC_EXCH", "1")
        cli("user", "add", "pro", "--name", "Club pro")
        cli(
            "user",
            "permissions",
            "pro",
            "--appointments",
            "all",
            "--contacts",
            "yes",
            "--address",
            "sync",
            "--phone",
            "export",
            "--email",
            "sync",
        )
        cli("area", "add", "Lessons", "--owner", "pro")
        cli("area", "add", "Tee times")
        anna = cli(
            "person",
            "add",
            "--first-name",
            "Anna",
            "--last-name",
            "Berger",
            "--city",
            "Köln",
            "--email",
            "anna.berger@example.com",
        )
        cli("account", "set", "pro", "--ews-url", url, "--mailbox", mailbox, "--password-stdin", input=password + "\n")
        say("   " + cli("account", "check", "pro", "--gateway", gateway_address))
        cli("calendar", "add", "pro", "Lessons", "--hide-private", "--auto-sync-contacts")
        cli("calendar", "add", "pro", "Tee times", "--folder", "Tee times", "--read-only", "--disable-reminders")
        cli("filter", "add", "pro", "Test*")
        day = dt.date.today() + dt.timedelta(days=2)
        lesson = cli(
            "appointment",
            "add",
            "Lessons",
            "--title",
            "Lesson: Anna Berger",
            "--start",
            f"{day}T09:00",
            "--end",
            f"{day}T10:00",
            "--location",
            "Driving range",
            "--person",
            anna,
        )
        cli(
            "appointment",
            "add",
            "Tee times",
            "--title",
            "Monthly medal",
            "--start",
            f"{day}T08:00",
            "--end",
            f"{day}T14:00",
        )
        cli(
            "appointment",
            "add",
            "Lessons",
            "--title",
            "Test booking, please ignore",
            "--start",
            f"{day}T16:00",
            "--end",
            f"{day}T17:00",
        )

        say("\n3. The synchronisation service starts, connects, and syncs every 2 s.")
        confirmed = f"{gateway_address}: Connect confirmed"
        before = sync.count(confirmed)
        sync.start()
        sync.wait_for(confirmed, count=before + 1)
        sync.wait_for("Sync ended", count=sync.count("Sync ended") + 3)
        sync.show_new_lines(skip=BORING)
        outlook = _outlook(url, mailbox, password)
        say(f"   Outlook, main calendar:       {_outlook_calendar(outlook)}")
        say(f"   Outlook, calendar 'Tee times': {_outlook_calendar(outlook, 'Tee times')}")
        say(f"   Outlook, contacts:            {_outlook_contacts(outlook)}   (booked into a lesson)")
        say("   The test booking was left alone: its title matches the filter 'Test*'.")

        say("\n4. In Outlook, the pro books a lesson himself and notes a private appointment; the next cycle")
        say("   brings the lesson into PC CADDIE and leaves the private one out (hide private).")
        from exchangelib import CalendarItem, EWSDateTime

        zone = outlook.default_timezone

        def at(hour: int) -> EWSDateTime:
            return EWSDateTime(day.year, day.month, day.day, hour, tzinfo=zone)

        ben = CalendarItem(
            account=outlook,
            folder=outlook.calendar,
            subject="Lesson: Ben Carter",
            location="Putting green",
            start=at(11),
            end=at(12),
        )
        ben.save()
        CalendarItem(
            account=outlook, folder=outlook.calendar, subject="Dentist", start=at(13), end=at(14), sensitivity="Private"
        ).save()
        sync.wait_for("Sync ended", count=_cycles(sync) + 2)
        say(_indent(cli("appointment", "list", "--area", "Lessons")))

        say("\n5. A change each way: PC CADDIE moves Anna's lesson an hour later; Outlook renames Ben's.")
        cli("appointment", "update", lesson, "--start", f"{day}T10:00", "--end", f"{day}T11:00")
        ben.refresh()
        ben.subject = "Lesson: Ben Carter (bring a putter)"
        ben.save(update_fields=["subject"])
        sync.wait_for("Sync ended", count=_cycles(sync) + 2)
        say(f"   Outlook, main calendar: {_outlook_calendar(outlook)}")
        say(_indent(cli("appointment", "list", "--area", "Lessons")))

        say("\n6. A conflict: both sides change Ben's lesson before the next cycle. PC CADDIE wins (the default")
        say("   policy); Outlook's version is kept and shown.")
        with sync.paused_cycles():
            ben_id = next(
                a
                for a in json.loads(cli("appointment", "list", "--json", show=False))
                if a["title"].startswith("Lesson: Ben")
            )["id"]
            cli("appointment", "update", str(ben_id), "--title", "Lesson: Ben Carter (moved to the range)")
            ben.refresh()
            ben.subject = "Lesson: Ben Carter (cancelled?)"
            ben.save(update_fields=["subject"])
        say("   " + cli("sync-now", "--gateway", gateway_address))
        say(f"   Outlook, main calendar: {_outlook_calendar(outlook)}")
        say(_indent(cli("conflicts", "pro")))

        say("\n7. The gateway is killed (kill -9); the sync service notices, retries, and reconnects when it is back.")
        disconnected = f"{gateway_address}: Disconnected"
        before, gone = sync.count(confirmed), sync.count(disconnected)
        gateway.kill()
        sync.wait_for(disconnected, count=gone + 1)
        gateway.start()
        gateway.wait_for("Listener started", count=2)
        sync.wait_for(confirmed, count=before + 1)
        sync.show_new_lines(skip=BORING)

        say("\n8. What the pro's sync did today, and the state of both services:")
        say(_indent(cli("stats", "pro")))
        say(_indent(cli("overview")))

        if keep_running:
            say(
                f"\nAll three are running (home {home.root}, gateway {gateway_address}, EWS {url}). "
                "Press Ctrl+C to stop them."
            )
            try:
                while gateway.process.poll() is None and sync.process.poll() is None:  # type: ignore[union-attr]
                    sync.show_new_lines(skip=BORING)
                    time.sleep(0.5)
            except KeyboardInterrupt:
                say("")

        say("\n9. Both services stop gracefully on SIGTERM: the running cycle ends, the socket is closed and logged.")
        sync_status = sync.stop()
        gateway_status = gateway.stop()
        if (sync_status, gateway_status) != (0, 0):
            raise DemoFailed(f"exit statuses: sync-service {sync_status}, exchange-gateway {gateway_status}")
        say(
            "\nDone. To run the services for real (home: --home DIR or $CADDIE_SYNC_HOME; docs/install.md):\n"
            "   exchange-gateway run        # listens on 127.0.0.1:3000\n"
            "   sync-service run            # a cycle every 60 s\n"
            "Stop either with Ctrl+C or SIGTERM; each logs to HOME/logs/ (`sync-service logs --follow`)."
        )


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" for line in text.splitlines())
