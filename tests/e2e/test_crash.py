"""`kill -9` in the middle of a first sync of 1,000 appointments, of either service: after a
restart both sides agree, nothing lost, nothing duplicated."""

from __future__ import annotations

import sqlite3
import time

import pytest
from exchangelib.protocol import close_connections

from tests.e2e.world import World, external_id_visible, local_day

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    with external_id_visible():
        started = World.start(tmp_path / "home")
        yield started
        started.stop()
        close_connections()


def pccaddie_writes(world: World, first: int, count: int) -> None:
    """Appointments written straight into the database, as PC CADDIE itself does."""
    connection = sqlite3.connect(world.home / "pccaddie.sqlite3", isolation_level=None)
    connection.execute("BEGIN")
    area = connection.execute("SELECT id FROM timetable_area WHERE name = 'Tee times'").fetchone()[0]
    stamp = "2026-01-01 00:00:00"
    rows = []
    for n in range(first, first + count):
        start = local_day(1 + n % 60, 7 + n % 12, (n * 7) % 60)
        rows.append(
            (area, f"Tee time {n}", start.isoformat(" "), start.replace(minute=59).isoformat(" "), stamp, stamp)
        )
    connection.executemany(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)', rows
    )
    connection.execute("COMMIT")
    connection.close()


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_kill_either_service_in_the_middle_of_a_first_sync(world):
    world.set_up()
    pccaddie_writes(world, 0, 1000)
    sync = world.start_sync(interval="1")
    wait_until(lambda: world.exchange_item_count() >= 100, 120, "the first batches in Exchange")
    sync.kill()
    partial = world.exchange_item_count()
    assert partial < 1000, "the kill came too late to prove anything"

    sync = world.start_sync(interval="1")
    pccaddie_writes(world, 1000, 500)
    wait_until(lambda: world.exchange_item_count() >= 1100, 120, "more batches after the restart")
    gateway = next(s for s in world.services if s.name == "exchange-gateway")
    gateway.kill()
    world.start_gateway()
    wait_until(lambda: world.exchange_item_count() >= 1500, 180, "all 1,500 in Exchange")
    sync.wait_for("Sync ended", count=sync.count("Sync ended") + 2, timeout=60)
    assert sync.stop() == 0

    items = world.outlook_items()
    subjects = [item.subject for item in items]
    external = [item.pccaddie_sync_id for item in items]
    assert len(items) == 1500, "nothing lost, nothing duplicated"
    assert sorted(subjects) == sorted(f"Tee time {n}" for n in range(1500))
    assert len(set(external)) == 1500 and all(e.startswith("pccaddie:") for e in external)
    assert world.json("items") == []
    assert len(world.json("appointment", "list")) == 1500  # and nothing came back into PC CADDIE twice
