"""The whole product: the stand-in Exchange server, the gateway and the sync service as real
processes; PC CADDIE's side through the command line, Exchange's side through plain exchangelib."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from exchangelib import Account, CalendarItem, EWSDateTime
from exchangelib.protocol import close_connections

from sandbox.outlook import BERLIN, external_id_visible, outlook
from sandbox.processes import free_port, gateway, run_command
from sandbox.standin import StandIn
from sandbox.world import MAILBOX, PASSWORD, account_set_arguments

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    standin = StandIn.start([(MAILBOX, PASSWORD)])
    assert standin.url.endswith("/EWS/Exchange.asmx"), standin.url
    address = f"127.0.0.1:{free_port()}"
    service = gateway(home, address).start()
    try:
        service.wait_for("Listener started")
        with external_id_visible():
            yield {"home": home, "url": standin.url, "gateway": address}
    finally:
        service.ensure_stopped()
        standin.stop()
        close_connections()


def caddie(world, *args, input=None, ok=True):
    result = run_command("sync-service", "--home", str(world["home"]), *args, input=input)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def sync_now(world):
    result = caddie(world, "sync-now", "--gateway", world["gateway"])
    assert "Sync cycle done" in result.stdout


def exchange(world) -> Account:
    return outlook(world["url"], MAILBOX, PASSWORD)


def local_day(offset: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(dt.date.today() + dt.timedelta(days=offset), dt.time(hour))


def test_the_whole_round_trip(world):
    # a technician sets the club up, through the command line
    caddie(world, "param", "set", "SYNC_EXCH", "1")
    caddie(world, "user", "add", "anna", "--name", "Anna Pro")
    caddie(
        world,
        "user",
        "permissions",
        "anna",
        "--appointments",
        "all",
        "--contacts",
        "yes",
        "--address",
        "sync",
        "--phone",
        "sync",
        "--email",
        "sync",
    )
    caddie(world, "area", "add", "Tee times", "--owner", "anna")
    caddie(world, *account_set_arguments("anna", world["url"], MAILBOX), input=PASSWORD + "\n")
    check = caddie(world, "account", "check", "anna", "--gateway", world["gateway"])
    assert "OK" in check.stdout and "15." in check.stdout
    caddie(world, "calendar", "add", "anna", "Tee times")

    # PC CADDIE → Exchange
    start, end = local_day(3, 9), local_day(3, 13)
    appointment_id = caddie(
        world,
        "appointment",
        "add",
        "Tee times",
        "--title",
        "Monthly medal",
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--location",
        "Tee 1",
    ).stdout.strip()
    sync_now(world)
    account = exchange(world)
    (item,) = list(account.calendar.all())
    assert item.subject == "Monthly medal" and item.location == "Tee 1"
    assert item.start == EWSDateTime.from_datetime(start).replace(tzinfo=BERLIN)
    assert item.pccaddie_sync_id.startswith("pccaddie:")  # our external id, visible to any client
    assert item.reminder_is_set and item.reminder_minutes_before_start == 15

    # Exchange → PC CADDIE
    lesson = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Lesson with Pro",
        start=EWSDateTime.from_datetime(local_day(4, 15)).replace(tzinfo=BERLIN),
        end=EWSDateTime.from_datetime(local_day(4, 16)).replace(tzinfo=BERLIN),
    )
    lesson.save()
    item.subject = "Monthly medal (edited in Outlook)"
    item.save(update_fields=["subject"])
    sync_now(world)
    listed = json.loads(caddie(world, "appointment", "list", "--json").stdout)
    assert sorted(a["title"] for a in listed) == ["Lesson with Pro", "Monthly medal (edited in Outlook)"]
    (pulled,) = [a for a in listed if a["title"] == "Lesson with Pro"]
    assert pulled["start"].startswith(local_day(4, 15).isoformat())  # the same wall time, with its offset

    # change and delete, both ways
    caddie(world, "appointment", "update", appointment_id, "--title", "Monthly medal (final)")
    lesson.refresh()
    lesson.delete()
    sync_now(world)
    assert [i.subject for i in account.calendar.all()] == ["Monthly medal (final)"]
    assert [a["title"] for a in json.loads(caddie(world, "appointment", "list", "--json").stdout)] == [
        "Monthly medal (final)"
    ]
    caddie(world, "appointment", "delete", appointment_id)
    sync_now(world)
    assert list(account.calendar.all()) == []

    # statistics for the period, and the report
    stats = json.loads(caddie(world, "stats", "anna", "--from", dt.date.today().isoformat(), "--json").stdout)
    assert sum(row["synchronised"] for row in stats) >= 6
    report = json.loads(caddie(world, "report", "anna", "--cycles", "10", "--json").stdout)
    assert {line["action"] for line in report} >= {"create", "update", "delete"}


def test_contact_added_from_exchange(world):
    from exchangelib import Contact
    from exchangelib.indexed_properties import EmailAddress

    account = exchange(world)
    Contact(
        account=account,
        folder=account.contacts,
        given_name="Max",
        surname="Muster",
        display_name="Max Muster",
        email_addresses=[EmailAddress(label="EmailAddress1", email="max@example.com")],
    ).save()
    added = caddie(world, "contact", "add", "anna", "--exchange", "max@example.com", "--gateway", world["gateway"])
    assert "as person" in added.stdout and "a new person" in added.stdout
    persons = json.loads(caddie(world, "person", "list", "--json").stdout)
    assert [(p["first_name"], p["last_name"], p["emails"]) for p in persons] == [("Max", "Muster", ["max@example.com"])]
    again = caddie(
        world, "contact", "add", "anna", "--exchange", "max@example.com", "--gateway", world["gateway"], ok=False
    )
    assert again.returncode == 1 and "already" in again.stderr


def test_wrong_password_is_reported_in_one_line(world):
    caddie(world, "user", "add", "bob")
    caddie(
        world,
        "account",
        "set",
        "bob",
        "--ews-url",
        world["url"],
        "--mailbox",
        "bob@club.example",
        "--password-stdin",
        input="nope\n",
    )
    result = caddie(world, "account", "check", "bob", "--gateway", world["gateway"], ok=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("(auth_failed)")
    assert "nope" not in result.stderr and "Traceback" not in result.stderr


def test_no_password_anywhere_the_services_wrote(world):
    """After the whole story above: the password is in no log, status file, config, or database
    in clear, nor in any output of the commands (those were checked as they ran)."""
    found = []
    for path in world["home"].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if PASSWORD.encode() in data or b"nope" in data:
                found.append(path.name)
    assert found == []
    shown = caddie(world, "account", "show", "anna", "--json")
    assert PASSWORD not in shown.stdout and "********" in shown.stdout
