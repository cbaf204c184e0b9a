"""Crash campaign: both services and the stand-in Exchange as real processes, two-way traffic
(creates, edits of every field, deletes, conflicts) in rounds, `kill -9` of the sync service or the
gateway at random moments while it syncs, restart, converge. After the last round come two quiet
cycles, then every surviving item is edited once more on each side, and every one of those edits
must arrive. Throughout, both sides are compared item by item, in full, with an oracle built from
every change made: zero lost, duplicated, resurrected, stuck or unexpected.

    python3 run.py -- python campaigns/crash.py --items 2000 --kills 200 [--seed N] [--backend graph]

The backend (`--backend`, default ews) is how the sync service's user reaches the mailbox: "ews",
the mailbox's EWS address with its password (basic auth against the stand-in); "graph", Microsoft
Graph with the club's app registration, set up through the command line as a technician does
(`sync-service app set`, then `account set anna --graph --mailbox …`), the stand-in being Exchange
Online too (`--app`, HTTPS with a CA of its own from `--tls`) and the gateway trusting its CA
(`--ca-bundle`). Either way the campaign's own "Outlook" is plain exchangelib on the stand-in's EWS:
with "graph" the same mailbox through the other API (one store, two APIs, as in Exchange Online),
over the stand-in's HTTPS verified against its CA; so what the sync writes through Graph is read,
edited and deleted through EWS, and our external id is the one MAPI named property of both.

The oracle. Every item has a key, and on each side an identity: its row id in PC CADDIE; in
Exchange its item id, or for a copy the sync made there the external id it carries (visible to any
client). A copy first found on the other side is known by the title the item was made with (unique
per key, kept until it has arrived there). Each round changes each item at most once per side and
only while the cycle lock is held (as PC CADDIE and a user editing at the same moment), so the
expected content of every item is exact: a one-sided change wins, an item changed on both sides ends
as PC CADDIE's version (the default policy), a deleted item stays deleted. Content is compared in
full: title, start, end, all-day, location, text and private, in the product's terms (PC CADDIE
keeps wall times in Europe/Berlin, an all-day entry is its first and last day, trailing whitespace
of texts is trimmed, an empty title is "(no title)"). The changes vary all of them: times moved,
all-day switched on and off, private toggled, locations and texts changed or emptied, empty titles;
never within a day of the two clock changes of the year. A round's changes are made as soon as the
sides agree, under the same hold of the cycle lock (so before the sync's next cycle reads anything,
unless that one was due at once), and the items the last round made are dealt out first: changed
right after the sync made their copies.

The verdict counts:
- lost: items gone from a side they were on;
- duplicated: extra copies of a living item on a side;
- resurrected: deleted items still (or again) on a side;
- stuck: items whose last change (or whose create) has not reached the other side, which still
  shows an earlier version (or nothing), and items the sync stopped trying (`items --stopped`);
- unexpected: items whose content is no version of theirs (or is the losing version where the
  winning one was written), and items that belong to none.
Any of them non-zero, or a wait for agreement that ends without it, and the campaign exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import filelock  # noqa: E402
from exchangelib import CalendarItem, EWSDate, EWSDateTime  # noqa: E402
from exchangelib.properties import Body  # noqa: E402
from exchangelib.protocol import close_connections  # noqa: E402

from sandbox.outlook import BERLIN, external_id_visible  # noqa: E402
from sandbox.processes import cycle_lock  # noqa: E402
from sandbox.world import BACKENDS, World, exchangelib_trusting  # noqa: E402

UTC = dt.timezone.utc
CLUB_ZONE = ZoneInfo("Europe/Berlin")  # PC CADDIE's wall times are the club's (the product's default zone)
DAY = dt.timedelta(days=1)
NO_TITLE = "(no title)"
PCCADDIE, EXCHANGE = "PC CADDIE", "Exchange"
PRIVATE_SENSITIVITIES = ("Private", "Confidential")
FIELD_GROUPS = ("title", "when", "location", "text", "private")
OUTLOOK_FIELDS = {
    "title": ["subject"],
    "when": ["start", "end", "is_all_day"],
    "location": ["location"],
    "text": ["body"],
    "private": ["sensitivity"],
}
READ_FIELDS = (
    "subject",
    "start",
    "end",
    "is_all_day",
    "location",
    "body",
    "sensitivity",
    "pccaddie_sync_id",
    "changekey",
)
PROBLEM_LINES = 30  # detail lines kept in a report
LOCK_WAIT_SECONDS = 10.0  # how long one look at the sides waits for the cycle lock
LOCK_GAP_SECONDS = 0.15  # the lock left free between looks: a cycle that is due takes it (it tries every 0.1 s)
POLL_SECONDS = 0.2  # how often the sync's log is looked at

# -- content: what both sides are compared by ------------------------------------------------------


def clean(text: str | None) -> str:
    """A text as the sync compares it: Windows line ends as "\\n", trailing whitespace trimmed."""
    return (text or "").replace("\r\n", "\n").rstrip()


def instant(moment: dt.datetime) -> str:
    """An aware moment as a UTC instant, or a naive one read as the club's wall time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CLUB_ZONE)
    return dt.datetime.fromtimestamp(moment.timestamp(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # (EWSDateTime too)


def wall_time(utc: str) -> dt.datetime:
    return dt.datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(CLUB_ZONE).replace(tzinfo=None)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


@dataclass(frozen=True)
class Content:
    """An item as both sides must agree on it: timed, `start` and `end` are UTC instants; all-day,
    they are its first and last day."""

    title: str
    start: str
    end: str
    all_day: bool
    location: str
    text: str
    private: bool

    def differences(self, other: Content) -> str:
        return ", ".join(
            f"{f.name} {getattr(self, f.name)!r} (expected {getattr(other, f.name)!r})"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        )


@dataclass(frozen=True)
class Draft:
    """An appointment as PC CADDIE stores it: wall times in the club's zone; all-day from the first
    day's midnight to the midnight after the last day."""

    title: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool = False
    location: str = ""
    text: str = ""
    private: bool = False

    @property
    def content(self) -> Content:
        if self.all_day:
            first = self.start.date()
            start, end = first.isoformat(), max((self.end - DAY).date(), first).isoformat()
        else:
            start, end = instant(self.start), instant(max(self.end, self.start))
        return Content(
            clean(self.title) or NO_TITLE,
            start,
            end,
            self.all_day,
            clean(self.location),
            clean(self.text),
            self.private,
        )

    @classmethod
    def of(cls, content: Content) -> Draft:
        """What PC CADDIE holds of `content`."""
        if content.all_day:
            first, last = dt.date.fromisoformat(content.start), dt.date.fromisoformat(content.end)
            start, end = midnight(first), midnight(last + DAY)
        else:
            start, end = wall_time(content.start), wall_time(content.end)
        return cls(content.title, start, end, content.all_day, content.location, content.text, content.private)

    def row(self) -> tuple[Any, ...]:
        """title, start, end, all_day, location, text, private: PC CADDIE's columns."""
        return (
            self.title,
            self.start.isoformat(" "),
            self.end.isoformat(" "),
            int(self.all_day),
            self.location,
            self.text,
            int(self.private),
        )

    def outlook_values(self) -> dict[str, Any]:
        """exchangelib's fields, as Outlook writes them (all-day: exchangelib's last day is inclusive)."""
        if self.all_day:
            start: Any = EWSDate.from_date(self.start.date())
            end: Any = EWSDate.from_date(max((self.end - DAY).date(), self.start.date()))
        else:
            start = EWSDateTime.from_datetime(self.start).replace(tzinfo=BERLIN)
            end = EWSDateTime.from_datetime(self.end).replace(tzinfo=BERLIN)
        return {
            "subject": self.title,
            "start": start,
            "end": end,
            "is_all_day": self.all_day,
            "location": self.location or None,
            "body": Body(self.text) if self.text else None,
            "sensitivity": "Private" if self.private else "Normal",
        }


def content_of_row(row: dict[str, Any]) -> Content:
    """A PC CADDIE appointment row's content."""
    start, end = dt.datetime.fromisoformat(str(row["start"])), dt.datetime.fromisoformat(str(row["end"]))
    draft = Draft(
        row["title"], start, end, bool(row["all_day"]), row["location"] or "", row["text"] or "", bool(row["private"])
    )
    return draft.content


def content_of_item(item: CalendarItem) -> Content:
    """An Exchange calendar item's content, as any client reads it."""
    all_day = bool(item.is_all_day)
    if all_day:
        first = as_date(item.start)
        start, end = first.isoformat(), max(as_date(item.end), first).isoformat()
    else:
        start, end = instant(item.start), instant(item.end)
    return Content(
        clean(item.subject) or NO_TITLE,
        start,
        end,
        all_day,
        clean(item.location),
        clean(str(item.body) if item.body else ""),
        item.sensitivity in PRIVATE_SENSITIVITIES,
    )


def clock_changes(years: Iterable[int]) -> set[dt.date]:
    """The last Sundays of March and October: Europe's clock changes."""
    days = set()
    for year in years:
        for month in (3, 10):
            last = dt.date(year, month + 1, 1) - DAY
            days.add(last - dt.timedelta(days=(last.weekday() + 1) % 7))
    return days


WORDS = (
    "Vierer",
    "Übungsrunde Damen",
    "Platzreife-Kurs",
    "Clubmeisterschaft",
    "Greenkeeping – Loch 7",
    "Pro-Am & Sponsoren",
    "Jugendtraining <U18>",
    "Senioren-Cup",
)
LOCATIONS = ("", "Loch 1", "Clubhaus – Terrasse", "Driving Range", "Putting Green  ", "Tee 10 & Halfway-Haus")
TEXTS = (
    "",
    "Startzeit bestätigt",
    "Zwei Zeilen\nzweite Zeile",
    "Leerzeichen am Ende   \n\n",
    "Windows-Zeilen\r\nzweite Zeile",
    "Gebühr 30 € & Cart <2 Spieler>",
    "  eingerückt\n\tTab",
)


class Drafts:
    """Random appointment content, from tomorrow on for `days` days, never within a day of a clock
    change (those edges are covered elsewhere)."""

    def __init__(self, rng: random.Random, days: int = 120) -> None:
        self.random = rng
        first = dt.date.today() + DAY
        edges = {edge + k * DAY for edge in clock_changes(range(first.year, first.year + 2)) for k in (-1, 0, 1)}
        self.days = [first + n * DAY for n in range(days) if first + n * DAY not in edges]
        self.safe = set(self.days)

    def timing(self) -> tuple[dt.datetime, dt.datetime, bool]:
        """start, end, all-day: mostly a timed entry within a day, sometimes one to three whole days."""
        if self.random.random() < 0.2:
            while True:
                first, span = self.random.choice(self.days), self.random.randint(1, 3)
                if all(first + k * DAY in self.safe for k in range(span + 1)):
                    return midnight(first), midnight(first + span * DAY), True
        start_of_day = dt.time(self.random.randint(6, 19), 5 * self.random.randint(0, 11))
        start = dt.datetime.combine(self.random.choice(self.days), start_of_day)
        return start, start + dt.timedelta(minutes=5 * self.random.randint(2, 36)), False

    def title(self, key: str, label: str) -> str:
        """Mostly the key and a word; sometimes empty or blank ("(no title)"), or with trailing blanks."""
        roll = self.random.random()
        if roll < 0.08:
            return ""
        if roll < 0.12:
            return "   "
        word = self.random.choice(WORDS)
        return f"{key} {label} {word}" + ("  " if roll < 0.25 else "")

    def new(self, title: str) -> Draft:
        start, end, all_day = self.timing()
        return Draft(
            title,
            start,
            end,
            all_day,
            self.random.choice(LOCATIONS),
            self.random.choice(TEXTS),
            self.random.random() < 0.25,
        )

    def edit(self, draft: Draft, key: str, label: str, groups: Sequence[str] = FIELD_GROUPS) -> tuple[Draft, list[str]]:
        """`draft` with some of `groups` changed (at least one, and its content with it); the groups changed."""
        while True:
            chosen = self.random.sample(list(groups), k=self.random.randint(1, len(groups)))
            changes: dict[str, Any] = {}
            if "title" in chosen:
                changes["title"] = self.title(key, label)
            if "when" in chosen:
                changes["start"], changes["end"], changes["all_day"] = self.timing()
            if "location" in chosen:
                changes["location"] = self.random.choice(LOCATIONS)
            if "text" in chosen:
                changes["text"] = self.random.choice(TEXTS)
            if "private" in chosen:
                changes["private"] = not draft.private
            edited = replace(draft, **changes)
            if edited.content != draft.content:
                return edited, [group for group in FIELD_GROUPS if group in chosen]


# -- the ledger: what each side must hold -------------------------------------------------------------


@dataclass
class Tracked:
    """One item of the campaign: what it must be, and who it is on each side."""

    key: str
    origin: str  # the side it was made on
    birth_title: str  # unique; the copy on the other side is first known by it
    expected: Content | None  # None: deleted
    written_on: str  # the side where the expected content was written
    versions: list[Content] = field(default_factory=list)  # every content it was given, the losing ones too
    row_id: int | None = None  # PC CADDIE's
    item_id: str | None = None  # Exchange's
    external_id: str | None = None  # the sync's, on the Exchange copy
    deleted_on: str | None = None

    @property
    def story(self) -> str:
        """Where the item was made (and deleted), for the report."""
        return f"{self.key} (made in {self.origin}" + (f", deleted in {self.deleted_on})" if self.deleted_on else ")")

    @property
    def alive(self) -> bool:
        return self.expected is not None

    def found_on(self, side: str) -> bool:
        """Whether the item was ever found on `side` (made there, or arrived)."""
        return (self.row_id if side == PCCADDIE else self.item_id) is not None


class Ledger:
    def __init__(self) -> None:
        self.items: dict[str, Tracked] = {}
        self.serial = 0

    def new_key(self) -> str:
        self.serial += 1
        return f"k{self.serial:05d}"

    def made(
        self, key: str, side: str, content: Content, row_id: int | None = None, item_id: str | None = None
    ) -> None:
        self.items[key] = Tracked(key, side, content.title, content, side, [content], row_id, item_id)

    def changed(self, key: str, side: str, content: Content) -> None:
        """A change that must win."""
        tracked = self.items[key]
        tracked.expected, tracked.written_on = content, side
        tracked.versions.append(content)

    def lost_conflict(self, key: str, content: Content) -> None:
        """A change made on the side that loses the conflict: a version of the item, never its outcome."""
        self.items[key].versions.append(content)

    def deleted(self, key: str, side: str) -> None:
        self.items[key].expected, self.items[key].deleted_on = None, side

    def alive(self) -> list[Tracked]:
        return [t for t in self.items.values() if t.alive]


# -- the referee: finding each item on both sides, judging them ---------------------------------------


@dataclass(frozen=True)
class Copy:
    """An item as found on one side."""

    side: str
    id: str  # PC CADDIE's row id, or Exchange's item id
    content: Content
    external_id: str | None = None
    change_key: str | None = None
    item: CalendarItem | None = None  # Exchange's, to edit or delete it


@dataclass(frozen=True)
class Claim:
    """A tracked item's copies on one side: the one that is it (None: it has none there), and others."""

    copy: Copy | None
    others: list[Copy]

    @property
    def copies(self) -> list[Copy]:
        return ([self.copy] if self.copy is not None else []) + self.others


@dataclass
class Findings:
    lost: set[str] = field(default_factory=set)
    duplicated: set[str] = field(default_factory=set)  # one entry per extra copy
    resurrected: set[str] = field(default_factory=set)
    stuck: set[str] = field(default_factory=set)
    unexpected: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    COUNTS = ("lost", "duplicated", "resurrected", "stuck", "unexpected")

    def add(self, count: str, what: str, note: str) -> None:
        getattr(self, count).add(what)
        self.notes.append(f"{count}: {note}")

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.COUNTS}

    @property
    def clean(self) -> bool:
        return not any(self.counts().values())


class Referee:
    def __init__(self, world: World, ledger: Ledger) -> None:
        self.world, self.ledger = world, ledger
        self.cache: dict[str, Copy] = {}  # Exchange's items as last read, by item id

    def pccaddie(self) -> list[Copy]:
        return [Copy(PCCADDIE, str(row["id"]), content_of_row(row)) for row in self.world.pccaddie_rows()]

    def exchange(self, listing: bool = False) -> list[Copy]:
        """Exchange's calendar through exchangelib, as any client reads it. `listing`: every item
        listed and read; else only those whose change key is new since the last read (the
        emulator's index of ids and change keys tells which), the others as read then."""
        account = self.world.outlook()
        if listing:
            self.cache = {item.id: self._copy(item) for item in account.calendar.all().only(*READ_FIELDS)}
            return list(self.cache.values())
        index = self.world.exchange_calendar_index()
        changed = [
            item_id
            for item_id, key in index.items()
            if item_id not in self.cache or self.cache[item_id].change_key != key
        ]
        for start in range(0, len(changed), 100):
            ids = [(item_id, None) for item_id in changed[start : start + 100]]
            for item in account.fetch(ids=ids, only_fields=READ_FIELDS):
                if not isinstance(item, Exception):  # (deleted meanwhile: gone from the next index too)
                    self.cache[item.id] = self._copy(item)
        self.cache = {item_id: copy for item_id, copy in self.cache.items() if item_id in index}
        return list(self.cache.values())

    @staticmethod
    def _copy(item: CalendarItem) -> Copy:
        return Copy(EXCHANGE, item.id, content_of_item(item), item.pccaddie_sync_id, item.changekey, item)

    def judge(self, quick: bool = False, stopped: Sequence[dict[str, Any]] = ()) -> Findings:
        """Both sides against the ledger. `quick`: Exchange is read only for what changed, and not at
        all while PC CADDIE disagrees; else it is listed in full. `stopped`: the items the sync says
        it stopped trying (`items --stopped`)."""
        findings = Findings()
        self._judge_side(PCCADDIE, self.pccaddie(), findings)
        if not (quick and not findings.clean):
            self._judge_side(EXCHANGE, self.exchange(listing=not quick), findings)
        by_row = {t.row_id: t.key for t in self.ledger.items.values() if t.row_id is not None}
        for item in stopped:
            key = by_row.get(item["appointment"], f"link {item['id']}")
            findings.add("stuck", key, f"{key} is no longer tried by the sync: {item['error']}")
        return findings

    def copies_by_key(self, side: str) -> dict[str, Copy]:
        """Each tracked item's copy on `side`, where it has one."""
        copies = self.pccaddie() if side == PCCADDIE else self.exchange()  # (under the cycle lock: current)
        claims, _ = self._claim(side, copies)
        return {key: claim.copy for key, claim in claims.items() if claim.copy is not None}

    def _claim(self, side: str, copies: list[Copy]) -> tuple[dict[str, Claim], list[Copy]]:
        """Each tracked item's copies on `side`, and the copies that belong to none. An item is found
        by its identity: its row id; its Exchange item id, and other Exchange items carrying its
        external id (the sync's own copy of a PC CADDIE item may be any one of those). An item not
        found on `side` yet is found by the title it was made with."""
        by_id = {copy.id: copy for copy in copies}
        by_external: dict[str, list[Copy]] = {}
        for copy in copies:
            if copy.external_id:
                by_external.setdefault(copy.external_id, []).append(copy)
        claims: dict[str, Claim] = {}
        for tracked in self.ledger.items.values():
            own_id = tracked.row_id if side == PCCADDIE else tracked.item_id
            own = by_id.get(str(own_id)) if own_id is not None else None
            labelled = by_external.get(tracked.external_id or "", []) if side == EXCHANGE else []
            others = [c for c in labelled if c is not own]
            if own is None and others and tracked.origin == PCCADDIE:
                own = others.pop(0)
                tracked.item_id = own.id
            claims[tracked.key] = Claim(own, others)
        taken = {c.id for claim in claims.values() for c in claim.copies}
        by_title: dict[str, list[Copy]] = {}
        for copy in copies:
            if copy.id not in taken:
                by_title.setdefault(copy.content.title, []).append(copy)
        for tracked in self.ledger.items.values():
            if not tracked.found_on(side) and by_title.get(tracked.birth_title):
                copy = by_title[tracked.birth_title].pop(0)
                claims[tracked.key] = Claim(copy, [])
                taken.add(copy.id)
                if side == PCCADDIE:
                    tracked.row_id = int(copy.id)
                else:
                    tracked.item_id = copy.id
        for tracked in self.ledger.items.values():
            own = claims[tracked.key].copy
            if side == EXCHANGE and own is not None and own.external_id:
                tracked.external_id = own.external_id  # (the sync labels an item it updates with its own id)
        return claims, [copy for copy in copies if copy.id not in taken]

    def _judge_side(self, side: str, copies: list[Copy], findings: Findings) -> None:
        claims, strays = self._claim(side, copies)
        for key, claim in claims.items():
            tracked = self.ledger.items[key]
            copy, expected = claim.copy, tracked.expected
            for extra in claim.others:
                kind = "duplicated" if tracked.alive else "resurrected"
                findings.add(kind, f"{side}:{extra.id}", f"{tracked.story} has another copy in {side}: {extra.id}")
            if copy is None:
                if tracked.alive and tracked.found_on(side):
                    findings.add("lost", key, f"{tracked.story} is gone from {side}")
                elif tracked.alive:
                    findings.add("stuck", key, f"{tracked.story} has not reached {side}")
            elif expected is None:
                findings.add("resurrected", key, f"{tracked.story} is in {side}: {copy.id}")
            elif copy.content == expected:
                continue
            elif side != tracked.written_on and copy.content in tracked.versions:
                earlier = copy.content.differences(expected)
                findings.add("stuck", key, f"{tracked.story} in {side} is an earlier version: {earlier}")
            else:
                findings.add("unexpected", key, f"{tracked.story} in {side}: {copy.content.differences(expected)}")
        owners = {version: t for t in self.ledger.items.values() for version in t.versions}
        by_birth = {t.birth_title: t for t in self.ledger.items.values()}
        for copy in strays:
            owner = by_birth.get(copy.content.title) or owners.get(copy.content)
            if owner is None:
                findings.add("unexpected", f"{side}:{copy.id}", f"an item of no key in {side}: {copy.content}")
            elif owner.alive:
                findings.add("duplicated", f"{side}:{copy.id}", f"{owner.story} has another copy in {side}: {copy.id}")
            else:
                findings.add("resurrected", f"{side}:{copy.id}", f"{owner.story} is in {side}: {copy.id}")


# -- the oracle: the campaign's changes on both sides, and the judging of them ------------------------


class Oracle:
    """Every change the campaign makes goes through here: PC CADDIE's straight into its database, as
    PC CADDIE writes; Exchange's through exchangelib, as Outlook does. Each is recorded in the
    ledger as it is made, so the referee knows what each side must hold."""

    def __init__(self, world: World, rng: random.Random, say: Callable[[str], None] = print) -> None:
        self.world, self.random, self.say = world, rng, say
        self.ledger = Ledger()
        self.referee = Referee(world, self.ledger)
        self.drafts = Drafts(rng)
        self.lock = cycle_lock(world.home)
        self.made_last_round: list[str] = []
        self.changed_last_round: set[str] = set()  # changed (or made) by the last round, on either side

    # -- creates ------------------------------------------------------------------------------------

    def create_in_pccaddie(self, count: int) -> None:
        area = self.world.pccaddie_area_id()
        stamp = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")
        insert = (
            'INSERT INTO appointment (area_id, title, start, "end", all_day, location, text, private, created, '
            "modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        made = [(self.ledger.new_key(), self.drafts.new("")) for _ in range(count)]
        made = [(key, replace(draft, title=f"{key} created-in-pccaddie")) for key, draft in made]
        row_ids = self.world.pccaddie_write([(insert, (area, *draft.row(), stamp, stamp)) for _, draft in made])
        for (key, draft), row_id in zip(made, row_ids):
            self.ledger.made(key, PCCADDIE, draft.content, row_id=row_id)

    def create_in_exchange(self, count: int) -> None:
        account = self.world.outlook()
        made = [(self.ledger.new_key(), self.drafts.new("")) for _ in range(count)]
        made = [(key, replace(draft, title=f"{key} created-in-exchange")) for key, draft in made]
        for start in range(0, len(made), 100):
            chunk = made[start : start + 100]
            items = [CalendarItem(folder=account.calendar, **draft.outlook_values()) for _, draft in chunk]
            results = account.bulk_create(folder=account.calendar, items=items)
            for (key, draft), result in zip(chunk, results):
                if isinstance(result, Exception):
                    raise result
                self.ledger.made(key, EXCHANGE, draft.content, item_id=result.id)

    # -- edits and deletes --------------------------------------------------------------------------

    def edit_in_pccaddie(self, edits: dict[str, Draft], conflicting: bool = False) -> None:
        """Each key's appointment rewritten (as PC CADDIE writes a whole row)."""
        stamp = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")
        update = (
            'UPDATE appointment SET title = ?, start = ?, "end" = ?, all_day = ?, location = ?, text = ?, '
            "private = ?, modified = ? WHERE id = ?"
        )
        rows = [(update, (*draft.row(), stamp, self.ledger.items[key].row_id)) for key, draft in edits.items()]
        self.world.pccaddie_write(rows)
        for key, draft in edits.items():
            self.ledger.changed(key, PCCADDIE, draft.content)

    def edit_in_exchange(
        self, edits: dict[str, tuple[Draft, list[str]]], items: dict[str, Copy], losing: Iterable[str] = ()
    ) -> None:
        """Each key's Exchange item with the fields of its groups changed (as Outlook saves an edit);
        the `losing` keys are changed in PC CADDIE too, so their edit here must lose."""
        losing = set(losing)
        changed = []
        for key, (draft, groups) in edits.items():
            item = items[key].item
            values = draft.outlook_values()
            names = [name for group in groups for name in OUTLOOK_FIELDS[group]]
            for name in names:
                setattr(item, name, values[name])
            changed.append((item, names))
        for start in range(0, len(changed), 100):
            for result in self.world.outlook().bulk_update(changed[start : start + 100]):
                if isinstance(result, Exception):
                    raise result
        for key, (draft, _) in edits.items():
            if key in losing:
                self.ledger.lost_conflict(key, draft.content)
            else:
                self.ledger.changed(key, EXCHANGE, draft.content)

    def delete_in_pccaddie(self, keys: Sequence[str]) -> None:
        rows = [("DELETE FROM appointment WHERE id = ?", (self.ledger.items[key].row_id,)) for key in keys]
        self.world.pccaddie_write(rows)
        for key in keys:
            self.ledger.deleted(key, PCCADDIE)

    def delete_in_exchange(self, keys: Sequence[str], items: dict[str, Copy]) -> None:
        for start in range(0, len(keys), 100):
            results = self.world.outlook().bulk_delete([items[key].item for key in keys[start : start + 100]])
            for result in results:
                if isinstance(result, Exception):
                    raise result
        for key in keys:
            self.ledger.deleted(key, EXCHANGE)

    def edited(self, key: str, label: str, groups: Sequence[str] = FIELD_GROUPS) -> tuple[Draft, list[str]]:
        expected = self.ledger.items[key].expected
        assert expected is not None
        return self.drafts.edit(Draft.of(expected), key, label, groups)

    def round_of_changes(self, label: str) -> int:
        """Under the cycle lock: edits (of any field), deletes and conflicts on both sides; then as many
        new items as were deleted, half on each side. The items made by the previous round are dealt
        out first, one to each kind of change in turn: changed right after the sync made their copy.
        Returns how many changes were made."""
        alive = {t.key for t in self.ledger.alive()}
        recent = [key for key in self.made_last_round if key in alive]
        others = sorted(alive - set(recent))
        self.random.shuffle(recent)
        self.random.shuffle(others)
        share = max(1, len(alive) // 12)
        sizes = {
            "local edit": share,
            "remote edit": share,
            "conflict": max(1, share // 3),
            "local delete": max(1, share // 3),
            "remote delete": max(1, share // 3),
        }
        picked: dict[str, list[str]] = {kind: [] for kind in sizes}
        while recent and any(len(picked[kind]) < size for kind, size in sizes.items()):
            for kind, size in sizes.items():
                if recent and len(picked[kind]) < size:
                    picked[kind].append(recent.pop())
        for kind, size in sizes.items():
            picked[kind] += [others.pop() for _ in range(min(size - len(picked[kind]), len(others)))]
        conflicts = picked["conflict"]
        local = {key: self.edited(key, label)[0] for key in picked["local edit"] + conflicts}
        remote = {key: self.edited(key, label) for key in picked["remote edit"] + conflicts}  # both from the agreed
        with self.lock.acquire(timeout=120):
            items = self.referee.copies_by_key(EXCHANGE)
            self.edit_in_pccaddie(local)
            self.edit_in_exchange(remote, items, losing=conflicts)
            self.delete_in_pccaddie(picked["local delete"])
            self.delete_in_exchange(picked["remote delete"], items)
        new = len(picked["local delete"]) + len(picked["remote delete"])  # as many new as deleted: the same size
        known = len(self.ledger.items)
        self.create_in_pccaddie(new // 2)
        self.create_in_exchange(new - new // 2)
        self.made_last_round = list(self.ledger.items)[known:]
        self.changed_last_round = set(local) | set(remote) | set(self.made_last_round)
        return len(local) + len(remote) + 2 * new

    def move_everything(self, timeout: float) -> int | None:
        """Every surviving item edited once more in PC CADDIE (title, text, private), and right after
        that has arrived, in Exchange (times, all-day, location): each edit must reach the other side
        in full. Returns how many edits were made, None if the sides did not agree in time."""
        moves = self._move_all(PCCADDIE, ("title", "text", "private"))
        with self.agreement(f"every item edited in {PCCADDIE}", timeout) as agreed:
            if not agreed:
                return None
            moves += self._move_all(EXCHANGE, ("when", "location"))
        return moves if self.await_agreement(f"every item edited in {EXCHANGE}", timeout) else None

    def _move_all(self, side: str, groups: Sequence[str]) -> int:
        keys = [t.key for t in self.ledger.alive()]
        with self.lock.acquire(timeout=120):
            if side == PCCADDIE:
                self.edit_in_pccaddie({key: self.edited(key, "moved", groups)[0] for key in keys})
            else:
                items = self.referee.copies_by_key(EXCHANGE)
                self.edit_in_exchange({key: self.edited(key, "moved", groups) for key in keys}, items)
        return len(keys)

    # -- judging ------------------------------------------------------------------------------------

    @contextmanager
    def agreement(self, what: str, timeout: float) -> Iterator[bool]:
        """Wait until both sides hold exactly what the ledger says; seen so under the cycle lock,
        which is held on for the body: its changes then come right after the sync's last cycle,
        before its next one reads anything (unless that one was due at once, e.g. to read back what
        the last one wrote into PC CADDIE). False (and said) if not within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            self.referee.judge(quick=True)  # what changed is read here, without holding up the sync
            if self._lock_within(LOCK_WAIT_SECONDS):  # (a look comes as soon as a running cycle ends)
                try:
                    if self.referee.judge(quick=True).clean:
                        yield True
                        return
                finally:
                    self.lock.release()
            if time.monotonic() > deadline:
                self.say(f"{what}: no agreement within {timeout:g} s: {self.referee.judge().counts()}")
                yield False
                return
            time.sleep(LOCK_GAP_SECONDS)

    def _lock_within(self, seconds: float) -> bool:
        try:
            self.lock.acquire(timeout=seconds)
            return True
        except filelock.Timeout:
            return False

    def await_agreement(self, what: str, timeout: float) -> bool:
        with self.agreement(what, timeout) as agreed:
            return agreed

    def verdict(self) -> Findings:
        """Both sides in full, and the items the sync stopped trying."""
        return self.referee.judge(stopped=self.world.stopped_items())


@dataclass
class Report:
    backend: str = "ews"
    graph_requests: int = 0  # the Graph requests the stand-in answered (the sync's, through the gateway)
    items: int = 0
    rounds: int = 0
    kills: int = 0
    kills_by_service: dict[str, int] = field(default_factory=dict)
    changes: int = 0
    moves: int = 0
    lost: int = 0
    duplicated: int = 0
    resurrected: int = 0
    stuck: int = 0
    unexpected: int = 0
    seconds: float = 0.0
    converged: bool = False
    problems: list[str] = field(default_factory=list)

    def judged(self, findings: Findings) -> None:
        for name, count in findings.counts().items():
            setattr(self, name, count)
        self.problems = findings.notes[:PROBLEM_LINES]

    def lines(self) -> list[str]:
        more = len(self.problems) - PROBLEM_LINES
        return [
            f"backend {self.backend} ({self.graph_requests} Graph requests answered)",
            f"items {self.items}, rounds {self.rounds}, changes {self.changes}, kills {self.kills} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.kills_by_service.items()))}), moves {self.moves}",
            f"converged {self.converged}: lost {self.lost}, duplicated {self.duplicated}, "
            f"resurrected {self.resurrected}, stuck {self.stuck}, unexpected {self.unexpected}; {self.seconds:.0f} s",
            *self.problems,
            *([f"... and {more} more"] if more > 0 else []),
        ]

    @property
    def ok(self) -> bool:
        counts = (self.lost, self.duplicated, self.resurrected, self.stuck, self.unexpected)
        return self.converged and self.moves > 0 and not any(counts)


class Campaign:
    def __init__(
        self,
        home: Path,
        items: int,
        rounds: int,
        kills: int,
        seed: int,
        say: Callable[[str], None],
        backend: str = "ews",
    ) -> None:
        self.backend = backend
        self.world = World.for_backend(home, backend)
        self.closing = ExitStack()
        if self.world.tls:
            self.closing.enter_context(exchangelib_trusting(self.world.standin.ca_file))
        self.world.set_up(backend=backend)
        self.random = random.Random(seed)
        self.items, self.rounds, self.kills = items, rounds, kills
        self.say = say
        self.oracle = Oracle(self.world, self.random, say)
        self.report = Report(backend=backend, items=items, rounds=rounds)

    def run(self, timeout_per_round: float = 300.0, quiet_cycles: int = 2) -> Report:
        """Rounds, each disturbed (`disturb`) and then waited on until both sides agree with the
        ledger, the next round's changes made as soon as they do; then `quiet_cycles` cycles with no
        change, after which they must still agree; then every item moved once more from each side.
        Judged at the end, or at the first wait that ends without agreement."""
        started = time.monotonic()
        self.oracle.create_in_pccaddie(self.items // 2)
        self.oracle.create_in_exchange(self.items - self.items // 2)
        self.sync = self.world.start_sync(interval="0.5")
        for round_number in range(1, self.rounds + 1):
            what = self.disturb(round_number)
            with self.oracle.agreement(f"round {round_number}", timeout_per_round) as agreed:
                if not agreed:
                    return self._finish(started, converged=False)
                alive = len(self.oracle.ledger.alive())
                self.say(f"round {round_number}/{self.rounds}: converged after {what}, {alive} items")
                if round_number < self.rounds:  # the next round's changes, right after this agreement
                    self.report.changes += self.oracle.round_of_changes(f"r{round_number + 1}")
        if not self.quiet(quiet_cycles, timeout_per_round):
            return self._finish(started, converged=False)
        moves = self.oracle.move_everything(timeout_per_round)
        if moves is None:
            return self._finish(started, converged=False)
        self.report.moves = moves
        self.say(f"every item moved: {moves} edits arrived")
        return self._finish(started, converged=True)

    def quiet(self, cycles: int, timeout: float) -> bool:
        """`cycles` more sync cycles without a change: both sides must still agree with the ledger."""
        ended, before = 0, self.sync.count("Sync ended")
        deadline = time.monotonic() + timeout
        while ended < cycles:
            if time.monotonic() > deadline:
                self.say(f"no {cycles} quiet sync cycles within {timeout:g} s")
                return False
            time.sleep(POLL_SECONDS)
            now = self.sync.count("Sync ended")
            ended += now - before if now >= before else now  # (a rotated log begins anew)
            before = now
        findings = self.oracle.referee.judge()
        if not findings.clean:
            self.say(f"after {cycles} quiet cycles the sides no longer agree: {findings.counts()}")
        return findings.clean

    def _finish(self, started: float, converged: bool) -> Report:
        self.report.converged = converged
        self.report.judged(self.oracle.verdict())
        self.report.graph_requests = self.world.standin.state()["requests"]["counts"].get("Graph", 0)
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
        self.closing.close()


def run_campaign(
    home: Path,
    items: int,
    rounds: int,
    kills: int,
    seed: int = 1,
    say: Callable[[str], None] = print,
    timeout_per_round: float = 300.0,
    backend: str = "ews",
) -> Report:
    with external_id_visible():
        campaign = Campaign(home, items, rounds, kills, seed, say, backend)
        try:
            return campaign.run(timeout_per_round)
        finally:
            campaign.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=BACKENDS, default="ews", help="how the sync reaches the mailbox")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crash-campaign-") as folder:
        report = run_campaign(
            Path(folder) / "home",
            options.items,
            options.rounds,
            options.kills,
            options.seed,
            backend=options.backend,
        )
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
