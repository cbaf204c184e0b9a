"""A Graph user end to end (issue 16): the stand-in as Exchange Online (`--app`, `--tls`), the
gateway trusting its CA (`--ca-bundle`), and the sync service, as real processes; the club's app
and the user's account set through the command line only; the mailbox seen with plain Graph calls
(httpx, an app token from the stand-in's token endpoint, TLS verified against its CA)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandbox.graph import ClubApp
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
