"""One subscription's sync cycle, written once for every kind of item (issue 15 item 1).

The steps, in order: the kind's opening step (a sub-calendar made), the creates whose outcome was
unknown looked up by their external ids, Exchange's change pages read (read afresh from no state
when Exchange no longer knows the saved one), an idle cycle ended without a database call, the
feed completed with the items it names, observe, decide (pure), apply locally (one transaction),
the Exchange writes in batches of BATCH, up to PARALLEL_BATCHES at once, each batch's results
recorded as soon as they come, the kind's follow-ups (twins dropped, copies labelled), finish.

Every result is recorded as soon as it is confirmed. The Exchange sync state is saved only when
every change it delivered has been dealt with, and the journal position only when every PC CADDIE
change has reached Exchange (or its item has stopped being tried): whatever fails is read again
next cycle, and what succeeded is then recognised by its digest and left alone. A cycle that
changed nothing writes nothing.

What a kind gives the pipeline is `ItemKind`, bound to one subscription's context. The
appointments' kind is `calendar_sync.AppointmentKind`, the contacts' `contact_sync.ContactKind`.
Both drop their twins (second copies of a create sent again) with `drop_twins`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Generic, Mapping, Protocol, Sequence, TypeVar

import trio
from loguru import logger

from protocol.entries import Change, ChangePage, Found, ItemRef, ItemResult, NewItem, UpdateRequest

from ..core import remote_feed
from ..core.model import Side
from .database import DbRunner
from .exchange_client import ExchangeClient, MailboxTrouble

BATCH = 100
PARALLEL_BATCHES = 4
PAGE = 512
TO_EXCHANGE, TO_PCCADDIE = "to-exchange", "to-pccaddie"

ReportLine = tuple[str, str, str, str, str]  # (action, side, item, title, detail)


@dataclass
class SubscriptionOutcome:
    """What one cycle of one piece of work came to: a calendar (`number` is its subscription id) or
    a contact list (`kind` "contacts", `number` its user's id)."""

    number: int
    label: str
    counts: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    not_syncing: str | None = None
    mailbox: str | None = None
    retry_after: float | None = None
    kind: str = "calendar"
    reason: str | None = None  # the gateway's reason of an auth_failed error (MailboxTrouble.reason)


def direction(side: Side) -> str:
    """Where a write to `side` goes."""
    return TO_EXCHANGE if side is Side.EXCHANGE else TO_PCCADDIE


@dataclass
class Tally:
    """What a cycle did: statistics per direction, the report's lines, the outcome's counts."""

    outcome: SubscriptionOutcome
    statistics: dict[str, Counter[str]] = field(
        default_factory=lambda: {TO_EXCHANGE: Counter(), TO_PCCADDIE: Counter()}
    )
    report: list[ReportLine] = field(default_factory=list)

    def count(self, towards: str, what: str, n: int = 1) -> None:
        self.statistics[towards][what] += n
        self.outcome.counts[f"{what}-{towards}"] += n

    def line(self, action: str, side: Side, item: str, title: str, detail: str = "") -> None:
        self.report.append((action, side.value, item, title, detail))


@dataclass(frozen=True)
class Sending:
    """One kind of Exchange write (`create`, `update` or `delete`) of a plan's actions."""

    op: str
    actions: Sequence[Any]


@dataclass(frozen=True)
class Prepared:
    """One batch, ready to send: per action its link id, its request, and (item, title) for the
    report; `extra` is what the kind's `record` needs besides (e.g. the change keys sent)."""

    link_ids: Sequence[int | None]
    requests: Sequence[NewItem] | Sequence[UpdateRequest] | Sequence[ItemRef]  # create | update | delete
    items: Sequence[tuple[str, str]]
    extra: Any = None


@dataclass(frozen=True)
class Recorded:
    """Per failure (error, stopped now); per index the fields Exchange shortened, if the kind knows
    better than the answer."""

    failures: Sequence[tuple[str, bool]]
    shortened: Mapping[int, Sequence[str]] = field(default_factory=dict)


ObservedT = TypeVar("ObservedT")
PlanT = TypeVar("PlanT")
LocalT = TypeVar("LocalT")


class ItemKind(Protocol[ObservedT, PlanT, LocalT]):
    """A kind of item, bound to one subscription's context: what the pipeline cannot know itself.
    Functions named as database-side run in the database thread (`DbRunner.run`)."""

    noun: str  # in log lines: "calendar", "contact list"

    @property
    def label(self) -> str: ...

    @property
    def folder(self) -> str: ...

    @property
    def sync_state(self) -> str | None: ...

    @property
    def pending(self) -> Sequence[str]:
        """External ids of the creates whose outcome is unknown."""

    @property
    def looked_up(self) -> Sequence[str]:
        """Exchange ids fetched even when the feed does not mention them (links to verify)."""

    async def open(self, db: DbRunner, client: ExchangeClient) -> None:
        """The kind's first step (a sub-calendar made on a first sync)."""

    def verify_also(self, exchange_ids: Sequence[str]) -> None:
        """These links are looked up this cycle as well."""

    def read_afresh(self) -> None:
        """Exchange no longer knows the sync state: the kind reads from no state."""

    def wanted(self, changes: Sequence[Change], known: Mapping[str, remote_feed.Known]) -> list[str]:
        """The ids of the feed to fetch in full."""

    def resolve_pending(self, found: Found) -> Sequence[str]:
        """Database-side: the unknown creates' lookups recorded; returns Exchange ids to verify."""

    def known_items(self, exchange_ids: Sequence[str]) -> Mapping[str, remote_feed.Known]:
        """Database-side: what the links hold of these Exchange ids."""

    def linked_exchange_ids(self) -> Sequence[str]:
        """Database-side: every Exchange id a link holds."""

    def idle(self, changes: Sequence[Change]) -> bool:
        """No change from either side and nothing owed (no database call)."""

    async def read_failed(self, trouble: MailboxTrouble, db: DbRunner, client: ExchangeClient, tally: Tally) -> bool:
        """A read step failed: True if the kind dealt with it (the cycle ends, nothing saved)."""

    async def observe(self, db: DbRunner, feed: remote_feed.Feed, tally: Tally) -> ObservedT:
        """Both sides paired; the local side read."""

    def decide(self, observed: ObservedT, tally: Tally) -> PlanT:
        """The pure decision (skips and conflicts told to the tally)."""

    def paused(self, plan: PlanT) -> str | None:
        """The guard's reason when the plan must not be carried out."""

    def pause(self, reason: str) -> None:
        """Database-side: the subscription is paused."""

    def apply_local(self, plan: PlanT, tally: Tally) -> LocalT:
        """Database-side, one transaction: every PC CADDIE write and the link bookkeeping."""

    def sendings(self, plan: PlanT) -> Sequence[Sending]:
        """The Exchange writes, in the order they go (creates, updates, deletes)."""

    async def prepare(self, db: DbRunner, op: str, chunk: Sequence[Any]) -> Prepared:
        """One batch's requests (creates recorded as pending and updates as sent before they go)."""

    def record(self, op: str, prepared: Prepared, results: Sequence[ItemResult]) -> Recorded:
        """Database-side: a batch's results."""

    async def follow_up(
        self, db: DbRunner, client: ExchangeClient, observed: ObservedT, plan: PlanT, local: LocalT, tally: Tally
    ) -> bool:
        """Remote work after the batches (twins dropped, copies labelled); False if something the
        feed told was not dealt with (the sync state is then not saved)."""

    def journal_seq(self, observed: ObservedT) -> int:
        """The journal position the observation covers."""

    def verified(self, observed: ObservedT, feed: remote_feed.Feed) -> Sequence[str]:
        """The links to verify that this cycle saw (cleared once the state covering them is saved)."""

    def finish(
        self,
        started: Any,
        sync_state: str | None,
        journal_seq: int | None,
        tally: Tally,
        error: str | None,
        verified: Sequence[str],
    ) -> None:
        """Database-side: the positions, statistics and report saved."""


class Pipeline(Generic[ObservedT, PlanT, LocalT]):
    """One subscription's cycle for `kind`."""

    def __init__(
        self,
        db: DbRunner,
        kind: ItemKind[ObservedT, PlanT, LocalT],
        client: ExchangeClient,
        outcome: SubscriptionOutcome,
        first_page: ChangePage | None = None,
    ) -> None:
        self.db, self.kind, self.client = db, kind, client
        self.tally = Tally(outcome)
        self.first_page = first_page  # fetched with the other subscriptions' in one request
        self.unfinished_local = False  # a PC CADDIE change has not reached Exchange yet
        self.unfinished_remote = False  # something the feed told has not been dealt with: read it again
        self.verified: tuple[str, ...] = ()
        self.unsure: set[str] = set()  # Exchange ids whose update met a newer version: verified again

    async def run(self, started: Any) -> SubscriptionOutcome:
        """The cycle, then what it reached saved (nothing at all when it was idle)."""
        kind, outcome = self.kind, self.tally.outcome
        try:
            sync_state, journal_seq = await self.sync()
        except MailboxTrouble as trouble:
            outcome.error, outcome.retry_after = f"{trouble.code}: {trouble.message}", trouble.retry_after
            outcome.reason = trouble.reason
            await self.db.run(kind.finish, started, None, None, self.tally, outcome.error, ())
            return outcome
        verified = self.verified if sync_state is not None else ()  # safe once the state covering them is saved
        if sync_state is not None or journal_seq is not None or self.tally.report or verified:
            await self.db.run(kind.finish, started, sync_state, journal_seq, self.tally, None, verified)
        return outcome

    async def sync(self) -> tuple[str | None, int | None]:
        kind, tally = self.kind, self.tally
        try:
            await kind.open(self.db, self.client)
            if kind.pending:
                found = await self.client.find_external(kind.folder, list(kind.pending), all_matches=True)
                kind.verify_also(await self.db.run(kind.resolve_pending, found))
            changes, sync_state = await self._read_changes()
        except MailboxTrouble as trouble:
            if not await kind.read_failed(trouble, self.db, self.client, tally):
                raise
            return None, None
        if kind.idle(changes) and sync_state == kind.sync_state:
            return None, None  # an idle cycle: not a single database call
        feed = await self._complete(changes)
        for item_id, item_type in feed.unsupported:
            tally.count(TO_PCCADDIE, "skipped")
            tally.line("skip", Side.EXCHANGE, item_id, "", f"unsupported: {item_type}")
        observed = await kind.observe(self.db, feed, tally)
        plan = kind.decide(observed, tally)
        paused = kind.paused(plan)
        if paused:
            await self.db.run(kind.pause, paused)
            logger.warning(f"{kind.label}: paused: {paused}")
            tally.outcome.not_syncing = f"paused: {paused}"
            return None, None
        local = await self.db.run(kind.apply_local, plan, tally)
        for sending in kind.sendings(plan):
            await self._batches(sending)
        if not await kind.follow_up(self.db, self.client, observed, plan, local, tally):
            self.unfinished_remote = True
        self.verified = tuple(i for i in kind.verified(observed, feed) if i not in self.unsure)
        journal_seq = None if self.unfinished_local else kind.journal_seq(observed)
        return (None if self.unfinished_remote else sync_state), journal_seq

    async def _read_changes(self) -> tuple[list[Change], str | None]:
        """The Exchange changes since the saved sync state. When Exchange no longer knows that state
        (expired, or the account now names another mailbox or server), the folder is read afresh
        from no state: every item comes as new and is matched to its link by id (none is fetched
        again at a change key the engine holds, none is made twice), and each link the full read
        did not list is looked up, so that what was deleted meanwhile is found and nothing else."""
        kind = self.kind
        try:
            return await self._remote_changes()
        except MailboxTrouble as trouble:
            if trouble.code != "sync_state_invalid" or kind.sync_state is None:
                raise
            why = trouble.message
        logger.warning(
            f"{kind.label}: Exchange no longer knows this {kind.noun}'s sync state ({why}); it is read afresh"
        )
        self.tally.line("restart", Side.EXCHANGE, kind.folder, "", "read afresh: sync state not known")
        kind.read_afresh()
        self.first_page = None
        changes, sync_state = await self._remote_changes()
        listed = {change.id for change in changes}
        linked = await self.db.run(kind.linked_exchange_ids)
        looked_up = set(kind.looked_up)
        kind.verify_also([i for i in linked if i not in listed and i not in looked_up])
        return changes, sync_state

    async def _remote_changes(self) -> tuple[list[Change], str | None]:
        first_page, self.first_page = self.first_page, None
        return await change_pages(self.client, self.kind.folder, self.kind.sync_state, first_page)

    async def _complete(self, changes: Sequence[Change]) -> remote_feed.Feed:
        """The feed's changes with full items: what the links already hold is not fetched."""
        kind = self.kind
        ids = [c.id for c in changes if c.kind in ("create", "update")]
        known = await self.db.run(kind.known_items, ids) if ids else {}
        wanted = kind.wanted(changes, known)
        fetched = await remote_feed.fetch(self.client, wanted) if wanted else {}
        try:
            return remote_feed.complete(changes, known, kind.looked_up, fetched)
        except remote_feed.FetchError as failure:
            raise MailboxTrouble(failure.code, f"an item could not be read: {failure.message}") from None

    async def _batches(self, sending: Sending) -> None:
        """Batches of BATCH items, up to PARALLEL_BATCHES sent at once (the gateway's limit per
        mailbox is the same); each one's results recorded as soon as they come."""
        limiter = trio.CapacityLimiter(PARALLEL_BATCHES)
        troubles: list[Exception] = []

        async def one(chunk: Sequence[Any]) -> None:
            async with limiter:
                if troubles:
                    return  # the mailbox (or the database) is in trouble: the rest waits for the next cycle
                try:
                    await self._batch(sending.op, chunk)
                except Exception as trouble:  # raised plainly below, as if the batches had run one by one
                    troubles.append(trouble)

        actions = sending.actions
        async with trio.open_nursery() as nursery:
            for start in range(0, len(actions), BATCH):
                nursery.start_soon(one, actions[start : start + BATCH])
        if troubles:
            raise troubles[0]

    async def _batch(self, op: str, chunk: Sequence[Any]) -> None:
        prepared = await self.kind.prepare(self.db, op, chunk)
        requests: list[Any] = list(prepared.requests)
        if op == "create":
            results = await self.client.create(self.kind.folder, requests)
        elif op == "update":
            results = await self.client.update(requests)
        else:
            results = await self.client.delete(requests)
        recorded = await self.db.run(self.kind.record, op, prepared, results)
        self._report(op, prepared, results, recorded)

    def _report(self, op: str, prepared: Prepared, results: Sequence[ItemResult], recorded: Recorded) -> None:
        tally = self.tally
        for index, (result, (item, title)) in enumerate(zip(results, prepared.items)):
            if result.ok or (op == "delete" and result.code == "not_found"):
                tally.count(TO_EXCHANGE, f"{op}d")
                shortened = result.shortened or recorded.shortened.get(index) or ()
                detail = f"shortened to Exchange's limits: {', '.join(map(str, shortened))}" if shortened else ""
                tally.line(op, Side.EXCHANGE, item, title, detail)
            else:
                tally.count(TO_EXCHANGE, "failed")
                if op == "update" and result.code == "conflict" and result.id:
                    self.unsure.add(str(result.id))
                tally.line("fail", Side.EXCHANGE, item, title, _failure(result))
        if any(not stopped for _, stopped in recorded.failures):
            self.unfinished_local = True


def _failure(result: ItemResult) -> str:
    """A failed result as the report tells it: "code: message"."""
    error = result.error
    return f"{error.code}: {error.message}" if error is not None else "None: None"


async def change_pages(
    client: ExchangeClient, folder: str, sync_state: str | None, first_page: ChangePage | None = None
) -> tuple[list[Change], str | None]:
    """Exchange's changes of `folder` since `sync_state` (None: every item, as new), page by page;
    `first_page` if it was fetched already. Returns the changes and the new sync state."""
    changes: list[Change] = []
    page = first_page
    while True:
        if page is None:
            page = await client.changes(folder, sync_state, PAGE)
        changes += page.changes
        done = page.complete or page.sync_state == sync_state
        sync_state = page.sync_state
        if done:
            return changes, sync_state
        page = None


async def drop_twins(client: ExchangeClient, twins: Sequence[tuple[str, str]], tally: Tally, what: str) -> bool:
    """Second copies the sync made of a linked item (a create sent again after its answer was
    lost, the first landing late): deleted in Exchange, BATCH at a time. `twins`: (Exchange id,
    title). False if one could not be deleted: the sync state is then not saved, and the next read
    from the same state tells it again."""
    finished = True
    for start in range(0, len(twins), BATCH):
        chunk = twins[start : start + BATCH]
        results = await client.delete([ItemRef(item_id) for item_id, _ in chunk])
        for (item_id, title), result in zip(chunk, results):
            if result.ok or result.code == "not_found":
                tally.count(TO_EXCHANGE, "deleted")
                tally.line("delete", Side.EXCHANGE, item_id, title, what)
            else:
                finished = False
                tally.count(TO_EXCHANGE, "failed")
                tally.line("fail", Side.EXCHANGE, item_id, title, _failure(result))
    return finished
