"""`sync-service demo`: the whole story, on embedded defaults, with real processes.

Two stand-in Exchange servers (an on-premises one speaking EWS, and Exchange Online: HTTPS, the
identity platform and Microsoft Graph), the gateway (trusting Exchange Online's CA) and the
synchronisation service start in a fresh home on free loopback ports; a technician's set-up through
the command line, with one user on EWS and one on Graph (the club's app registration); an
appointment made in PC CADDIE appears in "Outlook" (a plain exchangelib client) and in the Graph
user's mailbox (plain Graph calls), one made in Outlook appears in PC CADDIE, one changed through
Graph comes back; the gateway is killed (`kill -9`) and started again and the sync service reconnects
by itself; a change is carried over at once with `sync-now`; the statistics; a graceful stop.
Each step is checked (in the services' logs or on the other side) and narrated; the demo exits 0
only if every step was seen.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import click

from service_runtime.home import Home

from .graph import ClubApp, GraphMailbox, app_token
from .outlook import outlook as outlook_client
from .processes import NotLogged, Service, ServiceExited, ServiceFailure, cycle_lock, free_port, run_command
from .standin import StandIn
from .world import account_set_arguments, app_set_arguments, graph_account_arguments

STEP_TIMEOUT = 30.0


class DemoFailed(Exception):
    pass


class _Shown:
    """A service whose log the demo shows as it goes: its new lines and its partners' (`others`),
    in time order."""

    def __init__(self, service: Service, say: Callable[[str], None]) -> None:
        self.service = service
        self.say = say
        self._shown = 0
        self.others: list[_Shown] = []  # whose new log lines to show alongside ours

    @property
    def name(self) -> str:
        return self.service.name

    def start(self) -> None:
        self.service.start()
        self.say(f"   started {self.name} (PID {self.service.pid})")

    def take_new_lines(self) -> list[tuple[str, str]]:
        lines = self.service.log_lines()
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

    def count(self, text: str) -> int:
        return self.service.count(text)

    def wait_for(self, text: str, count: int = 1) -> None:
        try:
            self.service.wait_for(text, count, STEP_TIMEOUT, while_waiting=lambda: self.show_new_lines(skip=BORING))
        except ServiceExited as exc:
            raise DemoFailed(f"{self.name} exited unexpectedly with status {exc.status}") from None
        except NotLogged:
            raise DemoFailed(f"{self.name} did not log {text!r} within {STEP_TIMEOUT:g} s") from None

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> int:
        status = self.service.stop(timeout=60)
        self.show_new_lines()
        return status


def _cli(
    home: Home,
    say: Callable[[str], None],
    *args: str,
    input: str | None = None,
    show: bool = True,
    secret: str = "password",
) -> str:
    """Run a `sync-service` admin command as a technician would, printing it (`input` is the
    `secret` on stdin)."""
    if show:
        shown = " ".join(a if " " not in a else f'"{a}"' for a in args)
        say(f"   $ sync-service {shown}" + (f"   ({secret} on stdin)" if input else ""))
    result = run_command("sync-service", "--home", str(home.root), *args, input=input, timeout=120)
    if result.returncode != 0:
        raise DemoFailed(f"`sync-service {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


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


def _graph_calendar(graph: GraphMailbox) -> list[str]:
    events = sorted(graph.events(), key=lambda event: event["start"]["dateTime"])
    return [f"{event['subject']} ({event['start']['dateTime'][:16]} {event['start']['timeZone']})" for event in events]


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
        gateway_address, exchange_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        mailbox, password = "pro@golfclub.example", secrets.token_urlsafe(12)
        office = "office@golfclub.example"
        club_app = ClubApp(
            "golfclub.onmicrosoft.com", "6f1c2a0e-5d7b-4c3e-9a18-2b4d6e8f0a1c", secrets.token_urlsafe(24)
        )
        say(f"PC CADDIE Exchange synchronisation: the whole story, in {home.root}\n")

        say(f"0. A stand-in Exchange server (EWS) starts on {exchange_address} with the mailbox {mailbox},")
        say(f"   and a stand-in Exchange Online with the mailbox {office} and the club's app registration.")
        try:
            standin = StandIn.start([(mailbox, password)], listen=exchange_address)
            stack.callback(standin.stop)
            online = StandIn.start(
                [(office, secrets.token_urlsafe(12))], apps=[club_app.spec], tls_dir=home.root / "exchange-online"
            )
            stack.callback(online.stop)
        except ServiceFailure as exc:
            raise DemoFailed(str(exc)) from None
        url = standin.url
        say(f"   EWS at {url}")
        authority = online.authority(club_app.tenant)
        say(f"   Exchange Online: Microsoft Graph at {online.graph_url}, tokens from {authority}")
        say(f"   (HTTPS with a certificate it made at start; its CA is in {online.ca_file})")

        gateway = _Shown(
            Service(
                "exchange-gateway",
                home.root,
                "run",
                "--listen",
                gateway_address,
                "--ca-bundle",
                str(online.ca_file),
                console=False,
            ),
            say,
        )
        sync = _Shown(
            Service("sync-service", home.root, "run", "--gateway", gateway_address, "--interval", "2", console=False),
            say,
        )
        gateway.others, sync.others = [sync], [gateway]
        for process in (gateway, sync):
            stack.callback(process.service.ensure_stopped)

        say("\n1. The Exchange gateway starts and listens on loopback; it trusts Exchange Online's CA (--ca-bundle).")
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
        cli(*account_set_arguments("pro", url, mailbox), input=password + "\n")
        say("   " + cli("account", "check", "pro", "--gateway", gateway_address))
        cli("calendar", "add", "pro", "Lessons", "--hide-private", "--auto-sync-contacts")
        cli("calendar", "add", "pro", "Tee times", "--folder", "Tee times", "--read-only", "--disable-reminders")
        cli("filter", "add", "pro", "Test*")
        say("   The club office's mailbox is in Exchange Online: the club's app registration (its secret stored")
        say("   encrypted), a user on Microsoft Graph, and the tee times in the office's calendar.")
        cli("user", "add", "office", "--name", "Club office")
        cli("user", "permissions", "office", "--appointments", "all")
        cli(
            *app_set_arguments(club_app, authority, online.graph_url),
            input=club_app.secret + "\n",
            secret="client secret",
        )
        cli(*graph_account_arguments("office", office))
        say(_indent(cli("app", "check", "--gateway", gateway_address)))
        cli("calendar", "add", "office", "Tee times")
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
        outlook = outlook_client(url, mailbox, password)
        say(f"   Outlook, main calendar:       {_outlook_calendar(outlook)}")
        say(f"   Outlook, calendar 'Tee times': {_outlook_calendar(outlook, 'Tee times')}")
        say(f"   Outlook, contacts:            {_outlook_contacts(outlook)}   (booked into a lesson)")
        say("   The test booking was left alone: its title matches the filter 'Test*'.")
        token = app_token(authority, club_app, online.ca_file)
        graph = stack.enter_context(GraphMailbox(online.graph_url, office, token, online.ca_file))
        say(f"   Exchange Online (Graph), the office's calendar: {_graph_calendar(graph)}")

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
        sync.wait_for("Sync ended", count=sync.count("Sync ended") + 2)
        say(_indent(cli("appointment", "list", "--area", "Lessons")))

        say("\n5. A change each way: PC CADDIE moves Anna's lesson an hour later; Outlook renames Ben's; the office")
        say("   renames the medal through Microsoft Graph.")
        cli("appointment", "update", lesson, "--start", f"{day}T10:00", "--end", f"{day}T11:00")
        ben.refresh()
        ben.subject = "Lesson: Ben Carter (bring a putter)"
        ben.save(update_fields=["subject"])
        graph.update(graph.event("Monthly medal")["id"], {"subject": "Monthly medal (shotgun start)"})
        sync.wait_for("Sync ended", count=sync.count("Sync ended") + 2)
        say(f"   Outlook, main calendar: {_outlook_calendar(outlook)}")
        say(_indent(cli("appointment", "list", "--area", "Lessons")))
        say(_indent(cli("appointment", "list", "--area", "Tee times")))

        say("\n6. A conflict: both sides change Ben's lesson before the next cycle. PC CADDIE wins (the default")
        say("   policy); Outlook's version is kept and shown.")
        with cycle_lock(home.root).acquire(timeout=60):  # as `sync-now` holds it: no cycle in between
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
                while gateway.service.running and sync.service.running:
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
