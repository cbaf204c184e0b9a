"""A Graph user end to end (issue 16): the stand-in as Exchange Online (`--app`, `--tls`), the
gateway trusting its CA (`--ca-bundle`), and the sync service, as real processes; the club's app
and the user's account set through the command line only; the mailbox seen with plain Graph calls
(httpx, an app token from the stand-in's token endpoint, TLS verified against its CA)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from sandbox.graph import ClubApp, GraphMailbox, app_token
from sandbox.world import MAILBOX, PASSWORD, World

pytestmark = pytest.mark.e2e

APP = ClubApp("club.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", "s3cr3t~app:Secret.value")
WRONG_SECRET = "not-the-club-secret-0815"


@pytest.fixture
def world(tmp_path):
    world = World.start(tmp_path / "home", apps=[APP])
    try:
        assert world.url.startswith("https://"), world.url
        world.caddie("param", "set", "SYNC_EXCH", "1")
        world.caddie("user", "add", "anna")
        world.caddie("user", "permissions", "anna", "--appointments", "all", "--contacts", "yes")
        world.caddie("area", "add", "Tee times")
        yield world
    finally:
        world.stop()


def sync_now(world: World) -> str:
    result = world.sync_now()
    assert "Sync cycle done" in result.stdout, result.stdout
    return result.stdout


def said(result: subprocess.CompletedProcess) -> str:
    """What `sync-service sync-now` printed: its summary and its log lines."""
    return result.stdout + result.stderr


def secrets_in_files(home: Path, *secrets: str) -> list[str]:
    """The files under `home` (logs, status, config, the database) that hold any of `secrets` as text."""
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            found += [f"{path}: {s!r}" for s in secrets if s.encode() in text]
    return found


def test_a_graph_user_syncs_both_ways_and_a_wrong_secret_loses_nothing(world):
    world.set_app(APP)
    world.set_graph_account("anna")
    world.caddie("calendar", "add", "anna", "Tee times")
    check = world.caddie("app", "check", "--gateway", world.gateway).stdout
    assert f"app {APP.client_id}: OK" in check, check

    # PC CADDIE → the mailbox
    lesson = world.add("Lesson: Anna")
    sync_now(world)
    with world.graph() as graph:
        assert graph.subjects() == ["Lesson: Anna"]
        event = graph.event("Lesson: Anna")
        # the mailbox → PC CADDIE: an edit made through Graph
        graph.update(event["id"], {"subject": "Lesson: Anna (bring a putter)"})
    sync_now(world)
    assert world.titles() == ["Lesson: Anna (bring a putter)"]

    # a deletion in PC CADDIE reaches the mailbox
    world.add("Medal")
    sync_now(world)
    world.caddie("appointment", "delete", lesson)
    sync_now(world)
    with world.graph() as graph:
        assert graph.subjects() == ["Medal"]
        # and one made through Graph reaches PC CADDIE
        graph.delete(graph.event("Medal")["id"])
    sync_now(world)
    assert world.titles() == []

    # a wrong secret: one clear line, nothing lost; with the right one it syncs on
    world.set_app(APP, secret=WRONG_SECRET)
    world.add("Made while the secret was wrong")
    wrong = said(world.sync_now(ok=False))
    told = [line for line in wrong.splitlines() if "not synchronised" in line]
    assert len(told) == 1 and "client secret was refused" in told[0], wrong
    with world.graph() as graph:
        assert graph.subjects() == []
    world.set_app(APP)
    sync_now(world)
    with world.graph() as graph:
        assert graph.subjects() == ["Made while the secret was wrong"]
    assert world.titles() == ["Made while the secret was wrong"]

    assert secrets_in_files(world.home, APP.secret, WRONG_SECRET) == []


def test_switching_a_user_from_ews_to_graph_makes_no_duplicate(world):
    """`account set --graph` forgets the EWS ids (store/mailbox_move.py); the items are found again by
    our external id. (Deterministic twin, with ids that always differ: tests/sync_service/engine/
    test_mailbox_move.py.)"""
    world.set_account("anna", PASSWORD)  # EWS with a password, over the stand-in's HTTPS
    world.caddie("calendar", "add", "anna", "Tee times")
    world.add("Lesson: Anna")
    world.add("Medal", offset=5)
    sync_now(world)
    world.set_app(APP)
    with world.graph() as graph:
        assert graph.subjects() == ["Lesson: Anna", "Medal"]

    world.set_graph_account("anna", MAILBOX)
    world.add("Made after the switch", offset=6)
    sync_now(world)
    sync_now(world)
    with world.graph() as graph:
        assert graph.subjects() == ["Lesson: Anna", "Made after the switch", "Medal"]
    assert world.titles() == ["Lesson: Anna", "Made after the switch", "Medal"]
    assert world.exchange_item_count() == 3


BOB, CARL = ("bob@club.example", "bob-secret"), ("carl@club.example", "carl-secret")
LOG_LINE = re.compile(r"^\d\d\.\d\d\.\d\d - \d\d:\d\d:\d\d\.\d\d: ")
# another app of the tenant, unscoped, through which the test looks at the mailboxes
OBSERVER = ClubApp(APP.tenant, "99999999-8888-7777-6666-555555555555", "observer~Secret.value")


@pytest.fixture
def club(tmp_path):
    """anna and bob on Graph (the club's app), carl on EWS with a password; each with a calendar of
    the one area, so that every appointment goes to all three mailboxes."""
    world = World.start(tmp_path / "home", mailboxes=[(MAILBOX, PASSWORD), BOB, CARL], apps=[APP, OBSERVER])
    try:
        world.caddie("param", "set", "SYNC_EXCH", "1")
        world.caddie("area", "add", "Tee times")
        world.set_app(APP)
        for login, mailbox in (("anna", MAILBOX), ("bob", BOB[0]), ("carl", CARL[0])):
            world.caddie("user", "add", login)
            world.caddie("user", "permissions", login, "--appointments", "all", "--contacts", "yes")
            if login == "carl":
                world.set_account(login, CARL[1], CARL[0])
            else:
                world.set_graph_account(login, mailbox)
            world.caddie("calendar", "add", login, "Tee times")
        yield world
    finally:
        world.stop()


def mailboxes(world: World) -> dict[str, list[str]]:
    """The subjects in each mailbox's calendar, seen from outside through the observing app (Graph
    for all three: the stand-in keeps one store for both APIs)."""
    token = app_token(world.standin.authority(OBSERVER.tenant), OBSERVER, world.standin.ca_file)
    seen = {}
    for login, address in (("anna", MAILBOX), ("bob", BOB[0]), ("carl", CARL[0])):
        with GraphMailbox(world.standin.graph_url, address, token, world.standin.ca_file) as graph:
            seen[login] = graph.subjects()
    return seen


def about(text: str, *words: str) -> list[str]:
    """The lines of `text` that mention any of `words`."""
    return [line for line in text.splitlines() if any(word in line for word in words)]


def test_each_cause_is_one_clear_line_loses_nothing_and_leaves_the_others_alone(club):
    """Issue 16, "Done when": a mailbox the app may not reach, an unknown tenant, throttling (a wrong
    secret: the test above) each say one line per mailbox, with the command that mends it; the
    other users (Graph with a reachable mailbox, EWS) sync on, and what waited arrives after."""
    world = club
    world.add("First")
    sync_now(world)
    assert mailboxes(world) == {"anna": ["First"], "bob": ["First"], "carl": ["First"]}

    # a mailbox the app may not reach (RBAC for Applications scopes the app to bob's and carl's)
    world.control("/emulator/apps/scope", {"tenant": APP.tenant, "client_id": APP.client_id, "mailboxes": [BOB[0]]})
    world.add("Second", offset=4)
    out = said(world.sync_now(ok=False))
    told = about(out, "not synchronised")
    assert len(told) == 1 and "Warning: anna: mailbox anna@club.example not synchronised:" in told[0], out
    assert "may not reach" in told[0] and "RBAC for Applications" in told[0] and "account check anna" in told[0]
    assert "app set" not in told[0]
    assert mailboxes(world) == {"anna": ["First"], "bob": ["First", "Second"], "carl": ["First", "Second"]}
    check = world.caddie("account", "check", "anna", "--gateway", world.gateway, ok=False)
    assert check.returncode != 0 and len(check.stderr.strip().splitlines()) == 1, check.stderr
    assert "may not reach the mailbox anna@club.example" in check.stderr
    world.control("/emulator/apps/scope", {"tenant": APP.tenant, "client_id": APP.client_id, "mailboxes": None})
    assert "anna: OK" in world.caddie("account", "check", "anna", "--gateway", world.gateway).stdout
    sync_now(world)
    assert mailboxes(world)["anna"] == ["First", "Second"]

    # an unknown tenant: each Graph mailbox one line that advises `app set`; carl (EWS) syncs on
    stranger = ClubApp("nowhere.onmicrosoft.com", APP.client_id, APP.secret)
    world.set_app(stranger)
    world.add("Third", offset=5)
    out = said(world.sync_now(ok=False))
    told = about(out, "not synchronised")
    assert sorted(line.split("Warning: ")[1].split(":")[0] for line in told) == ["anna", "bob"], out
    for line in told:
        assert "does not know the tenant 'nowhere.onmicrosoft.com'" in line and "sync-service app set" in line
        assert "sync-service app check" in line
    check = world.caddie("app", "check", "--gateway", world.gateway, ok=False)
    assert check.returncode != 0 and len(check.stderr.strip().splitlines()) == 1, check.stderr
    assert "does not know the tenant" in check.stderr
    assert mailboxes(world) == {
        "anna": ["First", "Second"],
        "bob": ["First", "Second"],
        "carl": ["First", "Second", "Third"],
    }
    world.set_app(APP)
    sync_now(world)
    assert mailboxes(world) == {login: ["First", "Second", "Third"] for login in ("anna", "bob", "carl")}

    # throttling of anna's mailbox: one line, the others sync on, nothing asked of anna's mailbox is lost
    rule = world.control(
        "/emulator/faults",
        {"kind": "throttled", "fraction": 1.0, "mailboxes": [MAILBOX], "operations": ["Graph"], "retry_after": 2},
    )
    world.add("Fourth", offset=6)
    result = world.sync_now(ok=False)
    told = about(said(result), "throttled")
    logged = [line for line in told if LOG_LINE.match(line)]  # the log's, as `sync-now` shows it
    reported = [line for line in told if not LOG_LINE.match(line)]  # its summary's
    assert len(logged) == 1 and "anna/Tee times (anna@club.example): throttled:" in logged[0], said(result)
    assert reported == ["Error: anna/Tee times: throttled: " + logged[0].split(": throttled: ")[1]], said(result)
    assert re.search(r"; next try not before \d\d:\d\d:\d\d \(in 2 s\)$", logged[0]), logged[0]  # the club's time
    assert about(said(result), "not synchronised") == [], said(result)  # throttling blocks nothing
    check = world.caddie("account", "check", "anna", "--gateway", world.gateway, ok=False)
    assert check.returncode != 0 and len(check.stderr.strip().splitlines()) == 1, check.stderr
    assert "asked to wait" in check.stderr
    world.control(f"/emulator/faults/{rule['id']}", method="DELETE")
    assert mailboxes(world)["anna"] == ["First", "Second", "Third"]
    assert mailboxes(world)["bob"] == mailboxes(world)["carl"] == ["First", "Fourth", "Second", "Third"]
    deadline = time.monotonic() + 30  # the gateway honours Graph's Retry-After (2 s) for the mailbox, then asks again
    while "Fourth" not in mailboxes(world)["anna"] and time.monotonic() < deadline:
        world.sync_now(ok=False)
    assert mailboxes(world) == {login: ["First", "Fourth", "Second", "Third"] for login in ("anna", "bob", "carl")}
    assert world.titles() == ["First", "Fourth", "Second", "Third"]
    assert secrets_in_files(world.home, APP.secret) == []


def test_a_refusal_met_while_prefetching_is_told_in_one_line(world):
    world.set_app(APP)
    world.set_graph_account("anna")
    world.caddie("calendar", "add", "anna", "Tee times")
    world.add("Lesson: Anna")
    sync_now(world)  # the calendar's first sync: from now on its changes are prefetched
    world.control("/emulator/apps/scope", {"tenant": APP.tenant, "client_id": APP.client_id, "mailboxes": []})
    out = said(world.sync_now(ok=False))
    assert len(about(out, "may not reach")) == 1, out
