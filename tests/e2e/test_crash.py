"""`kill -9` in the middle of a first sync of 1,000 appointments, of either service: after a
restart both sides agree in full with the crash campaign's oracle (nothing lost, duplicated,
resurrected, stuck or changed), and every item still moves both ways."""

from __future__ import annotations

import random
import time

import pytest
from exchangelib.protocol import close_connections

from campaigns.crash import Findings, Oracle
from sandbox.outlook import external_id_visible
from sandbox.world import World

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    with external_id_visible():
        started = World.start(tmp_path / "home")
        yield started
        started.stop()
        close_connections()


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_kill_either_service_in_the_middle_of_a_first_sync(world):
    world.set_up()
    said: list[str] = []
    oracle = Oracle(world, random.Random(11), say=said.append)
    oracle.create_in_pccaddie(1000)  # straight into the database, as PC CADDIE itself writes
    sync = world.start_sync(interval="1")
    wait_until(lambda: world.exchange_item_count() >= 100, 120, "the first batches in Exchange")
    sync.kill()
    partial = world.exchange_item_count()
    assert partial < 1000, "the kill came too late to prove anything"

    sync = world.start_sync(interval="1")
    oracle.create_in_pccaddie(500)
    # (the restart first looks up the creates whose answers the kill lost: slow on a loaded machine)
    wait_until(lambda: world.exchange_item_count() >= 1100, 300, "more batches after the restart")
    gateway = next(s for s in world.services if s.name == "exchange-gateway")
    gateway.kill()
    world.start_gateway()
    agreed = oracle.await_agreement("all 1,500 on both sides", 180)
    moves = oracle.move_everything(120) if agreed else None
    findings = oracle.verdict()
    assert findings.counts() == dict.fromkeys(Findings.COUNTS, 0), "\n".join(said + findings.notes[:30])
    assert agreed and moves == 3000, "\n".join(said)
    assert sync.stop() == 0

    external = [copy.external_id or "" for copy in oracle.referee.exchange()]  # (as the verdict just listed them)
    assert len(set(external)) == 1500 and all(e.startswith("pccaddie:") for e in external)
    assert world.json("items") == []  # no item left failing
