"""Crash campaign: both services and the stand-in Exchange as real processes, two-way traffic
(creates, edits, deletes, conflicts) in rounds, `kill -9` of the sync service or the gateway at
random moments while it syncs, restart, converge; then both sides are compared item by item with
an oracle built from every change made: zero lost, zero duplicated, zero resurrected.

    python3 run.py -- python campaigns/crash.py --items 2000 --kills 200 [--seed N]

The oracle: every item has a key; each round changes each item at most once per side and only
while the cycle lock is held (as PC CADDIE and a user editing at the same moment), so the expected
outcome is exact: a one-sided change wins, an item changed on both sides ends as PC CADDIE's
version (the default policy), a deleted item stays deleted.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import filelock  # noqa: E402
from exchangelib import CalendarItem, EWSDateTime  # noqa: E402
from exchangelib.protocol import close_connections  # noqa: E402

from tests.e2e.world import BERLIN, World, external_id_visible, local_day  # noqa: E402


@dataclass
class Oracle:
    """What each side must hold once everything has converged: key → title (None: deleted)."""

    titles: dict[str, str | None] = field(default_factory=dict)

    def alive(self) -> list[str]:
        return sorted(t for t in self.titles.values() if t is not None)

    def deleted_keys(self) -> set[str]:
        return {k for k, t in self.titles.items() if t is None}


@dataclass
class Report:
    items: int = 0
    rounds: int = 0
    kills: int = 0
    kills_by_service: dict[str, int] = field(default_factory=dict)
    changes: int = 0
    lost: int = 0
    duplicated: int = 0
    resurrected: int = 0
    unexpected: int = 0
    seconds: float = 0.0
    converged: bool = False

    def lines(self) -> list[str]:
        return [
            f"items {self.items}, rounds {self.rounds}, changes {self.changes}, kills {self.kills} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.kills_by_service.items()))})",
            f"converged {self.converged}: lost {self.lost}, duplicated {self.duplicated}, "
            f"resurrected {self.resurrected}, unexpected {self.unexpected}; {self.seconds:.0f} s",
        ]

    @property
    def ok(self) -> bool:
        return self.converged and not (self.lost or self.duplicated or self.resurrected or self.unexpected)


def key_of(title: str) -> str:
    return title.split(" ", 1)[0]


class Campaign:
    def __init__(self, home: Path, items: int, rounds: int, kills: int, seed: int, say: Callable[[str], None]) -> None:
        self.world = World.start(home)
        self.world.set_up()
        self.random = random.Random(seed)
        self.items, self.rounds, self.kills = items, rounds, kills
        self.say = say
        self.oracle = Oracle()
        self.report = Report(items=items, rounds=rounds)
        self.serial = 0
        self.db = home / "pccaddie.sqlite3"
        self.lock = filelock.FileLock(str(home / "sync-cycle.lock"))

    # -- the two sides ------------------------------------------------------------------------

    def _key(self) -> str:
        self.serial += 1
        return f"k{self.serial:05d}"

    def _local(self, sql: str, rows: list[tuple]) -> None:
        connection = sqlite3.connect(self.db, isolation_level=None, timeout=30)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, rows)
        connection.execute("COMMIT")
        connection.close()

    def local_create(self, count: int) -> None:
        area = sqlite3.connect(self.db).execute("SELECT id FROM timetable_area").fetchone()[0]
        rows = []
        for _ in range(count):
            key = self._key()
            title = f"{key} created-in-pccaddie"
            start = local_day(1 + self.serial % 90, 7 + self.serial % 12)
            stamp = "2026-01-01 00:00:00"
            rows.append((area, title, start.isoformat(" "), start.replace(minute=45).isoformat(" "), stamp, stamp))
            self.oracle.titles[key] = title
        insert = 'INSERT INTO appointment (area_id, title, start, "end", created, modified) VALUES (?, ?, ?, ?, ?, ?)'
        self._local(insert, rows)

    def remote_create(self, count: int) -> None:
        account = self.world.outlook()
        items = []
        for _ in range(count):
            key = self._key()
            title = f"{key} created-in-exchange"
            start = EWSDateTime.from_datetime(local_day(1 + self.serial % 90, 8)).replace(tzinfo=BERLIN)
            items.append(CalendarItem(folder=account.calendar, subject=title, start=start,
                                      end=start.replace(minute=30)))  # fmt: skip
            self.oracle.titles[key] = title
        for start in range(0, len(items), 100):
            account.bulk_create(folder=account.calendar, items=items[start : start + 100])

    def round_of_changes(self, round_number: int) -> int:
        """Under the cycle lock: edits, deletes and conflicts on both sides, then new items."""
        alive = [k for k, t in self.oracle.titles.items() if t is not None]
        self.random.shuffle(alive)
        share = max(1, len(alive) // 12)
        local_edit, remote_edit = alive[:share], alive[share : 2 * share]
        conflicts = alive[2 * share : 2 * share + max(1, share // 3)]
        local_delete = alive[3 * share : 3 * share + max(1, share // 3)]
        remote_delete = alive[4 * share : 4 * share + max(1, share // 3)]
        account = self.world.outlook()
        remote = {key_of(item.subject): item for item in account.calendar.all().only("subject", "changekey")}
        with self.lock.acquire(timeout=120):
            local_updates = []
            for key in local_edit + conflicts:
                new = f"{key} round{round_number}-pccaddie"
                local_updates.append((new, self.oracle.titles[key]))
                self.oracle.titles[key] = new
            self._local("UPDATE appointment SET title = ? WHERE title = ?", local_updates)
            changed = []
            for key in remote_edit + conflicts:
                item = remote[key]
                item.subject = f"{key} round{round_number}-exchange"
                changed.append((item, ["subject"]))
                if key in remote_edit:
                    self.oracle.titles[key] = item.subject
            for start in range(0, len(changed), 100):
                account.bulk_update(changed[start : start + 100])
            self._local("DELETE FROM appointment WHERE title = ?", [(self.oracle.titles[k],) for k in local_delete])
            account.bulk_delete([remote[k] for k in remote_delete])
            for key in local_delete + remote_delete:
                self.oracle.titles[key] = None
        new = len(local_delete) + len(remote_delete)  # as many new as deleted: the size stays about the same
        self.local_create(new // 2)
        self.remote_create(new - new // 2)
        return len(local_edit) + len(remote_edit) + 2 * len(conflicts) + 2 * new

    # -- judging -------------------------------------------------------------------------------

    def sides(self) -> tuple[list[str], list[str]]:
        connection = sqlite3.connect(self.db, timeout=30)
        local = sorted(title for (title,) in connection.execute("SELECT title FROM appointment"))
        connection.close()
        remote = sorted(item.subject for item in self.world.outlook().calendar.all().only("subject"))
        return local, remote

    def judge(self) -> None:
        local, remote = self.sides()
        expected = self.oracle.alive()
        report = self.report
        for side in (local, remote):
            keys = [key_of(t) for t in side]
            report.duplicated += len(keys) - len(set(keys))
            report.lost += len(set(expected) - set(side))
            report.resurrected += len({key_of(t) for t in side} & self.oracle.deleted_keys())
            report.unexpected += len(
                set(side) - set(expected) - {t for t in side if key_of(t) in self.oracle.deleted_keys()}
            )

    def converged(self) -> bool:
        local, remote = self.sides()
        return local == remote == self.oracle.alive()

    # -- the run ---------------------------------------------------------------------------------

    def run(self, timeout_per_round: float = 300.0) -> Report:
        """Rounds of changes, each disturbed (`disturb`) and then waited on until both sides agree
        with the oracle; the report is judged at the end (or at the first round that does not
        converge)."""
        started = time.monotonic()
        self.local_create(self.items // 2)
        self.remote_create(self.items - self.items // 2)
        self.sync = self.world.start_sync(interval="0.5")
        for round_number in range(1, self.rounds + 1):
            if round_number > 1:
                self.report.changes += self.round_of_changes(round_number)
            what = self.disturb(round_number)
            deadline = time.monotonic() + timeout_per_round
            while not self.converged():
                if time.monotonic() > deadline:
                    self.say(f"round {round_number}: did not converge within {timeout_per_round:g} s")
                    return self._finish(started, converged=False)
                time.sleep(0.5)
            self.say(f"round {round_number}/{self.rounds}: converged after {what}, {len(self.oracle.alive())} items")
        return self._finish(started, converged=True)

    def _finish(self, started: float, converged: bool) -> Report:
        self.report.converged = converged
        self.judge()
        self.report.seconds = time.monotonic() - started
        return self.report

    def disturb(self, round_number: int) -> str:
        """This round's share of the kills, at random moments, of a random service."""
        kills_now = (self.kills - self.report.kills) // (self.rounds - round_number + 1)
        for _ in range(kills_now):
            time.sleep(self.random.uniform(0.05, 1.0))
            victim = self.random.choice(["sync-service", "exchange-gateway"])
            if victim == "sync-service":
                self.sync.kill()
                self.sync = self.world.start_sync(interval="0.5")
            else:
                gateway = [s for s in self.world.services if s.name == "exchange-gateway"][-1]
                gateway.kill()
                self.world.start_gateway()
            self.report.kills += 1
            self.report.kills_by_service[victim] = self.report.kills_by_service.get(victim, 0) + 1
        return f"{kills_now} kills ({self.report.kills} so far)"

    def stop(self) -> None:
        self.world.stop()
        close_connections()


def run_campaign(home: Path, items: int, rounds: int, kills: int, seed: int = 1,
                 say: Callable[[str], None] = print) -> Report:  # fmt: skip
    campaign = Campaign(home, items, rounds, kills, seed, say)
    try:
        return campaign.run()
    finally:
        campaign.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with external_id_visible(), tempfile.TemporaryDirectory(prefix="crash-campaign-") as folder:
        report = run_campaign(Path(folder) / "home", options.items, options.rounds, options.kills, options.seed)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
