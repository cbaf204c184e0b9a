"""The sync pipeline on its own, given a small kind of item: which steps run, which positions are
saved, how batches go out (several at once, the rest left when the mailbox is in trouble)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import trio

from protocol.entries import CalendarEntry, Change, ChangePage, Fetched, Found, ItemError, ItemResult
from sync_service.core import remote_feed
from sync_service.engine.exchange_client import MailboxTrouble
from sync_service.engine.pipeline import (
    BATCH,
    PARALLEL_BATCHES,
    Pipeline,
    Prepared,
    Recorded,
    Sending,
    SubscriptionOutcome,
    Tally,
)


class Db:
    """The database runner's interface: each call recorded by its function's name."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(self, function: Any, *args: Any) -> Any:
        self.calls.append(function.__name__)
        await trio.lowlevel.checkpoint()
        return function(*args)


@dataclass
class Notes:
    """A kind of item that is plain text: the plan is the list of texts to create in Exchange."""

    to_create: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    stopped_after_failure: bool = False
    twins_dealt_with: bool = True
    guard: int = 10_000  # a plan of more items is paused
    noun: str = "note list"
    label: str = "anna/notes"
    folder: str = ""
    sync_state: str | None = "s0"
    pending: Sequence[str] = ()
    verify: list[str] = field(default_factory=list)
    finished: list[tuple[Any, ...]] = field(default_factory=list)
    afresh: bool = False

    @property
    def looked_up(self) -> Sequence[str]:
        return tuple(self.verify)

    async def open(self, db: Any, client: Any) -> None:
        pass

    def verify_also(self, exchange_ids: Sequence[str]) -> None:
        self.verify += exchange_ids

    def read_afresh(self) -> None:
        self.afresh, self.sync_state = True, None

    def wanted(self, changes: Sequence[Change], known: Mapping[str, remote_feed.Known]) -> list[str]:
        return remote_feed.to_fetch(changes, known, self.looked_up)

    def resolve_pending(self, found: Found) -> Sequence[str]:
        return []

    def known_items(self, exchange_ids: Sequence[str]) -> Mapping[str, remote_feed.Known]:
        return {}

    def linked_exchange_ids(self) -> Sequence[str]:
        return self.linked

    def idle(self, changes: Sequence[Change]) -> bool:
        return not changes and not self.to_create

    async def read_failed(self, trouble: MailboxTrouble, db: Any, client: Any, tally: Tally) -> bool:
        return False

    async def observe(self, db: Any, feed: remote_feed.Feed, tally: Tally) -> list[str]:
        return await db.run(self.observe_notes)

    def observe_notes(self) -> list[str]:
        return list(self.to_create)

    def decide(self, observed: list[str], tally: Tally) -> list[str]:
        return observed

    def paused(self, plan: list[str]) -> str | None:
        return "too many" if len(plan) > self.guard else None

    def pause(self, reason: str) -> None:
        pass

    def apply_local(self, plan: list[str], tally: Tally) -> None:
        pass

    def sendings(self, plan: list[str]) -> Sequence[Sending]:
        return [Sending("create", plan)]

    async def prepare(self, db: Any, op: str, chunk: Sequence[Any]) -> Prepared:
        notes = [CalendarEntry(subject=t, start="", end="") for t in chunk]
        return Prepared(list(range(len(chunk))), notes, [(t, t) for t in chunk])

    def record(self, op: str, prepared: Prepared, results: Sequence[ItemResult]) -> Recorded:
        failed = [r for r in results if not r.ok]
        return Recorded([("create in Exchange: failed", self.stopped_after_failure) for _ in failed])

    async def follow_up(self, db: Any, client: Any, observed: Any, plan: Any, local: Any, tally: Tally) -> bool:
        return self.twins_dealt_with

    def journal_seq(self, observed: list[str]) -> int:
        return 7

    def verified(self, observed: list[str], feed: remote_feed.Feed) -> Sequence[str]:
        return [i for i in self.verify if i in feed.seen]

    def finish(self, started: Any, sync_state: Any, journal_seq: Any, tally: Tally, error: Any, verified: Any) -> None:
        self.finished.append((sync_state, journal_seq, error, tuple(verified), list(tally.report)))


class Exchange:
    """Pages of changes, and creates that answer ok (or fail) while counting how many run at once."""

    def __init__(self, pages: list[Any] | None = None) -> None:
        self.pages = pages or [{"changes": [], "sync_state": "s1", "complete": True}]
        self.running = self.most = 0
        self.batches: list[int] = []
        self.fail_items: set[str] = set()
        self.trouble_at: int | None = None  # the batch that meets mailbox trouble
        self.together = 1  # a create waits (a while) until this many run at once
        self.all_in = trio.Event()

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> ChangePage:
        page = self.pages.pop(0)
        if isinstance(page, Exception):
            raise page
        return ChangePage.from_wire("calendar", page)

    async def find_external(self, *args: Any, **kw: Any) -> Found:
        return Found({})

    async def get(self, ids: Sequence[str]) -> list[Fetched]:
        return [Fetched(i, CalendarEntry(subject="", start="", end="", id=i, change_key="k")) for i in ids]

    async def create(self, folder: str, entries: Sequence[CalendarEntry]) -> list[ItemResult]:
        self.batches.append(len(entries))
        if self.trouble_at == len(self.batches):
            raise MailboxTrouble("throttled", "slow down", 5.0)
        self.running += 1
        self.most = max(self.most, self.running)
        if self.running >= self.together:
            self.all_in.set()
        with trio.move_on_after(10):  # on the virtual clock: no batch waits for the others in earnest
            await self.all_in.wait()
        self.running -= 1
        return [
            ItemResult(False, error=ItemError("invalid", "no"))
            if e.subject in self.fail_items
            else ItemResult(True, e.subject)
            for e in entries
        ]


async def sync(kind: Notes, exchange: Exchange, db: Db | None = None) -> SubscriptionOutcome:
    outcome = SubscriptionOutcome(1, kind.label, mailbox="anna@club.example")
    return await Pipeline(db or Db(), kind, exchange, outcome).run("now")  # type: ignore[arg-type]


async def test_an_idle_cycle_makes_no_database_call_at_all():
    db, kind = Db(), Notes(sync_state="s1")
    outcome = await sync(kind, Exchange(), db)
    assert db.calls == [] and kind.finished == [] and outcome.counts == {}


async def test_the_creates_go_in_batches_several_at_once_and_both_positions_are_saved(autojump_clock):
    kind, exchange = Notes(to_create=[f"n{i}" for i in range(2 * BATCH + 50)]), Exchange()
    exchange.together = 3
    outcome = await sync(kind, exchange)
    assert sorted(exchange.batches) == [50, BATCH, BATCH] and exchange.most == 3
    assert outcome.counts == {"created-to-exchange": 2 * BATCH + 50}
    ((sync_state, journal_seq, error, _, report),) = kind.finished
    assert (sync_state, journal_seq, error) == ("s1", 7, None) and len(report) == 2 * BATCH + 50


async def test_a_failure_not_stopped_withholds_the_journal_position_only():
    kind, exchange = Notes(to_create=["a", "b"]), Exchange()
    exchange.fail_items = {"b"}
    outcome = await sync(kind, exchange)
    assert outcome.counts == {"created-to-exchange": 1, "failed-to-exchange": 1}
    assert [f[:3] for f in kind.finished] == [("s1", None, None)]


async def test_a_failure_that_stopped_its_item_keeps_nothing_back():
    kind, exchange = Notes(to_create=["a", "b"], stopped_after_failure=True), Exchange()
    exchange.fail_items = {"b"}
    await sync(kind, exchange)
    assert [f[:3] for f in kind.finished] == [("s1", 7, None)]


async def test_a_follow_up_left_undone_withholds_the_sync_state():
    kind = Notes(to_create=["a"], twins_dealt_with=False)
    await sync(kind, Exchange())
    assert [f[:3] for f in kind.finished] == [(None, 7, None)]


async def test_no_more_than_parallel_batches_go_at_once(autojump_clock):
    kind, exchange = Notes(to_create=[f"n{i}" for i in range(3 * PARALLEL_BATCHES * BATCH)]), Exchange()
    exchange.together = PARALLEL_BATCHES + 1  # never reached: each waits its while, then ends
    outcome = await sync(kind, exchange)
    assert exchange.most == PARALLEL_BATCHES and outcome.counts == {"created-to-exchange": 3 * PARALLEL_BATCHES * BATCH}


async def test_mailbox_trouble_in_a_batch_leaves_the_batches_not_started_and_saves_no_position():
    kind, exchange = Notes(to_create=[f"n{i}" for i in range(PARALLEL_BATCHES * BATCH * 2)]), Exchange()
    exchange.trouble_at = 1
    outcome = await sync(kind, exchange)
    assert outcome.error == "throttled: slow down" and outcome.retry_after == 5.0
    assert len(exchange.batches) <= PARALLEL_BATCHES  # those already under way; none after the trouble
    assert [f[:3] for f in kind.finished] == [(None, None, "throttled: slow down")]


async def test_a_sync_state_exchange_no_longer_knows_is_read_afresh_and_unlisted_links_verified():
    pages = [
        MailboxTrouble("sync_state_invalid", "expired"),
        {"changes": [{"type": "create", "id": "x1", "item": {"id": "x1"}}], "sync_state": "s9", "complete": True},
    ]
    kind = Notes(linked=["x1", "x2"])
    await sync(kind, Exchange(pages))
    assert kind.afresh and kind.verify == ["x2"]  # x1 was listed; x2 is looked up
    ((sync_state, journal_seq, error, verified, report),) = kind.finished
    assert (sync_state, journal_seq, error, verified) == ("s9", 7, None, ("x2",))
    assert report[0] == ("restart", "exchange", "", "", "read afresh: sync state not known")


async def test_other_read_failures_end_the_cycle_as_mailbox_trouble():
    kind = Notes()
    outcome = await sync(kind, Exchange([MailboxTrouble("unreachable", "no route")]))
    assert outcome.error == "unreachable: no route" and [f[:3] for f in kind.finished] == [(None, None, outcome.error)]


async def test_a_paused_plan_is_not_carried_out():
    kind, exchange = Notes(to_create=["a", "b", "c"], guard=2), Exchange()
    outcome = await sync(kind, exchange)
    assert outcome.not_syncing == "paused: too many" and exchange.batches == [] and kind.finished == []
