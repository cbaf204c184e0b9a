"""One calendar subscription's cycle: read both sides' changes, decide, carry the plan out.

Every result is recorded as soon as it is confirmed. A create is recorded as pending, with its
external id, before it is sent. The Exchange sync state is saved only when every change it
delivered has been applied, and the journal position only when every PC CADDIE change has reached
Exchange (or its item has stopped being tried): whatever fails is read again next cycle, and what
succeeded is then recognised by its digest and left alone.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

import trio
from loguru import logger

from ..core import remote_feed
from ..core.decide import decide
from ..core.model import Link, Side, Version
from ..core.plan import AdoptCopy, Create, Delete, DropTwin, Pair, Plan, Relink, Unlink, Update
from ..store.models import AppointmentLink
from ..vault import PasswordVault
from . import calendar_state as state
from .appointments import AppointmentContent, fields_to_write
from .database import DbRunner
from .exchange_client import ExchangeClient, MailboxTrouble

BATCH = 100
PARALLEL_BATCHES = 4
PAGE = 512
TO_EXCHANGE, TO_PCCADDIE = "to-exchange", "to-pccaddie"


@dataclass(frozen=True)
class EngineSettings:
    zone: ZoneInfo
    vault: PasswordVault
    window_days: tuple[int, int] = (30, 400)


@dataclass
class SubscriptionOutcome:
    subscription_id: int
    label: str
    counts: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    not_syncing: str | None = None
    mailbox: str | None = None
    retry_after: float | None = None


def _direction(side: Side) -> str:
    """Where a write to `side` goes."""
    return TO_EXCHANGE if side is Side.EXCHANGE else TO_PCCADDIE


class CalendarSync:
    def __init__(
        self, db: DbRunner, settings: EngineSettings, client_for: Callable[[Mapping[str, str]], ExchangeClient]
    ) -> None:
        self.db = db
        self.settings = settings
        self.client_for = client_for

    async def run(
        self,
        subscription_id: int,
        context: state.SubscriptionContext | state.NotSyncing | None = None,
        first_page: Mapping[str, Any] | None = None,
    ) -> SubscriptionOutcome:
        """One subscription's cycle; `context` if it was loaded already (with the others')."""
        started = state.now()
        if context is None:
            context = await self.db.run(
                state.load_context, subscription_id, self.settings.zone, self.settings.vault, self.settings.window_days
            )
        if isinstance(context, state.NotSyncing):
            return SubscriptionOutcome(subscription_id, context.label, not_syncing=context.reason)
        outcome = SubscriptionOutcome(subscription_id, context.label, mailbox=context.account["mailbox"])
        run = _Run(self.db, context, self.client_for(context.account), outcome, first_page)
        try:
            sync_state, journal_seq = await run.sync()
        except MailboxTrouble as trouble:
            outcome.error, outcome.retry_after = f"{trouble.code}: {trouble.message}", trouble.retry_after
            await self.db.run(state.finish, context, started, None, None, run.statistics, run.report, outcome.error)
            return outcome
        verified = run.verified if sync_state is not None else ()  # safe once the state covering them is saved
        if sync_state is not None or journal_seq is not None or run.report or verified:
            await self.db.run(
                state.finish, context, started, sync_state, journal_seq, run.statistics, run.report, None, verified
            )
        return outcome


class _Run:
    def __init__(
        self,
        db: DbRunner,
        context: state.SubscriptionContext,
        client: ExchangeClient,
        outcome: SubscriptionOutcome,
        first_page: Mapping[str, Any] | None = None,
    ) -> None:
        self.db, self.context, self.client, self.outcome = db, context, client, outcome
        self.first_page = first_page  # fetched with the other calendars' in one request
        self.statistics: dict[str, Counter[str]] = {TO_EXCHANGE: Counter(), TO_PCCADDIE: Counter()}
        self.report: list[tuple[str, str, str, str, str]] = []
        self.unfinished_local = False  # a PC CADDIE change has not reached Exchange yet
        self.unfinished_remote = False  # something the feed told has not been dealt with: read it again
        self.verified: tuple[str, ...] = ()  # Exchange ids of links to verify that this cycle saw
        self.unsure: set[str] = set()  # Exchange ids whose update met a newer version: verified again

    def _count(self, direction: str, what: str, n: int = 1) -> None:
        self.statistics[direction][what] += n
        self.outcome.counts[f"{what}-{direction}"] += n

    async def sync(self) -> tuple[str | None, int | None]:
        context, client = self.context, self.client
        try:
            if context.folder and not context.initial_done and await client.ensure_folder(context.folder):
                if context.sync_state is not None:  # the state read was of a folder gone since: read anew
                    await self.db.run(state.start_afresh, context.subscription_id)
                    self.context = context = dataclasses.replace(context, sync_state=None)
            if context.pending:
                pending = [external for _, external in context.pending]
                found = await client.find_external(context.folder, pending, all_matches=True)
                resolved = await self.db.run(state.resolve_pending, context, found)
                self.context = context = dataclasses.replace(context, verify=(*context.verify, *resolved))
            changes, sync_state = await self._read_changes()
            context = self.context  # read afresh, it verifies more
        except MailboxTrouble as trouble:
            if trouble.code != "not_found" or not context.folder:
                raise
            # the user deleted the sub-calendar in Outlook: make it again and fill it anew (never
            # read as the deletion of the club's appointments)
            logger.warning(
                f"{context.label}: the calendar {context.folder!r} is gone from the mailbox; "
                "it is made again and filled anew"
            )
            await self.db.run(state.start_afresh, context.subscription_id)
            await client.ensure_folder(context.folder)
            self.report.append(("restart", Side.EXCHANGE.value, context.folder, "", "calendar made again"))
            return None, None
        if state.nothing_happened(context, changes) and sync_state == context.sync_state:
            return None, None  # an idle cycle: not a single database call
        feed = await self._complete(changes)
        for item_id, item_type in feed.unsupported:
            self._count(TO_PCCADDIE, "skipped")
            self.report.append(("skip", Side.EXCHANGE.value, item_id, "", f"unsupported: {item_type}"))
        observed = await self.db.run(state.observe, context, list(feed.changes))
        relabel = {copy.key for _, copy in observed.unlabelled}
        seen = [i for i in context.verify if i in feed.seen and i not in relabel]
        added = await self.db.run(state.add_auto_contacts, context, observed.journal_seq)
        if added:
            self.report.append(
                ("contact", Side.PCCADDIE.value, "", "", f"{added} booked persons added to the contacts")
            )
        plan = decide(observed.observations, context.options, observed.linked_items)
        self._note_skips(plan)
        if plan.paused:
            await self.db.run(state.pause, context.subscription_id, plan.paused)
            logger.warning(f"{context.label}: paused: {plan.paused}")
            self.outcome.not_syncing = f"paused: {plan.paused}"
            return None, None
        adopted = await self.db.run(self._apply_local_plan, plan)
        await self._exchange_creates([a for a in plan.of(Create) if a.side is Side.EXCHANGE])
        await self._exchange_updates([a for a in plan.of(Update) if a.side is Side.EXCHANGE])
        await self._exchange_deletes([a for a in plan.of(Delete) if a.side is Side.EXCHANGE])
        await self._drop_twins(plan.of(DropTwin))
        await self._label_copies([*adopted, *observed.unlabelled])
        self.verified = tuple(i for i in seen if i not in self.unsure)
        journal_seq = None if self.unfinished_local else observed.journal_seq
        return (None if self.unfinished_remote else sync_state), journal_seq

    async def _complete(self, changes: Sequence[Mapping[str, Any]]) -> remote_feed.Feed:
        """The feed's changes with full items: what this subscription already holds is not fetched."""
        context = self.context
        ids = [c["id"] for c in changes if c["type"] in ("create", "update")]
        known = await self.db.run(state.known_items, context, ids) if ids else {}
        looked_up = context.verify + context.due_remote  # unsure of, or come into the window
        wanted = remote_feed.to_fetch(changes, known, looked_up)
        fetched = await remote_feed.fetch(self.client, wanted) if wanted else {}
        try:
            return remote_feed.complete(changes, known, looked_up, fetched)
        except remote_feed.FetchError as failure:
            raise MailboxTrouble(failure.code, f"an item could not be read: {failure.message}") from None

    async def _read_changes(self) -> tuple[list[Mapping[str, Any]], str | None]:
        """The Exchange changes since the saved sync state. When Exchange no longer knows that state
        (expired, or the account now names another mailbox or server), the calendar is read afresh
        from no state: every item comes as new and is matched to its link by id (none is fetched
        again at a change key the engine holds, none is made twice), and each link the full read
        did not list is looked up, so that what was deleted meanwhile is found and nothing else."""
        try:
            return await self._remote_changes()
        except MailboxTrouble as trouble:
            if trouble.code != "sync_state_invalid" or self.context.sync_state is None:
                raise
            why = trouble.message
        context = self.context
        logger.warning(
            f"{context.label}: Exchange no longer knows this calendar's sync state ({why}); it is read afresh"
        )
        self.report.append(("restart", Side.EXCHANGE.value, context.folder, "", "read afresh: sync state not known"))
        self.context = context = dataclasses.replace(context, sync_state=None)
        self.first_page = None
        changes, sync_state = await self._remote_changes()
        listed = {change["id"] for change in changes}
        linked = await self.db.run(state.linked_exchange_ids, context)
        unlisted = tuple(i for i in linked if i not in listed and i not in context.verify)
        self.context = dataclasses.replace(context, verify=(*context.verify, *unlisted))
        return changes, sync_state

    async def _remote_changes(self) -> tuple[list[Mapping[str, Any]], str | None]:
        changes: list[Mapping[str, Any]] = []
        sync_state = self.context.sync_state
        while True:
            if self.first_page is not None:
                page, self.first_page = self.first_page, None
            else:
                page = await self.client.changes(self.context.folder, sync_state, PAGE)
            changes += page["changes"]
            done = page["complete"] or page["sync_state"] == sync_state
            sync_state = page["sync_state"]
            if done:
                return changes, sync_state

    def _note_skips(self, plan: Plan) -> None:
        for skip in plan.skipped:
            direction = TO_PCCADDIE if skip.side is Side.EXCHANGE else TO_EXCHANGE
            self._count(direction, "skipped")
            self.report.append(("skip", skip.side.value, skip.key, "", skip.reason))
        for conflict in plan.conflicts:
            self._count(_direction(conflict.winner.other), "conflicts")
            self.report.append(
                (
                    "conflict",
                    conflict.winner.other.value,
                    conflict.link.local_key or "",
                    conflict.loser.title,
                    f"{conflict.winner.value} won",
                )
            )

    def _apply_local_plan(self, plan: Plan) -> list[tuple[int, Version]]:
        """In the database thread: everything the plan writes into PC CADDIE, and link bookkeeping.
        Returns (new link id, Exchange copy) of the users' copies imported, to label them as such."""
        context = self.context
        if context.due:
            state.clear_due(context)
        state.defer(context, [s for s in plan.skipped if s.reason == "outside-window"])
        adopted: list[tuple[int, Version]] = []
        for conflict in plan.conflicts:
            state.record_conflict(context, conflict.link, conflict.winner, conflict.loser)
        for action in plan.actions:
            if isinstance(action, Pair):
                state.pair(context, action.local, action.remote)
            elif isinstance(action, Relink):
                state.relink(
                    action.link,
                    action.digest,
                    action.change_key,
                    action.forget_remote,
                    action.content,
                    action.content_unknown,
                )
            elif isinstance(action, AdoptCopy):
                link_id = state.apply_local(context, "adopt", None, action.remote)
                assert link_id is not None
                adopted.append((link_id, action.remote))
                self._count(TO_PCCADDIE, "created")
                self.report.append(
                    ("create", Side.PCCADDIE.value, action.remote.key, action.remote.title, "a copy made in Outlook")
                )
            elif isinstance(action, Unlink):
                state.unlink(action.link)
            elif isinstance(action, (Create, Update, Delete)) and action.side is Side.PCCADDIE:
                kind = type(action).__name__.lower()
                source = getattr(action, "source", None)
                state.apply_local(context, kind, action.link, source)
                self._count(TO_PCCADDIE, f"{kind}d")
                title = source.title if source else ""
                item = source.key if source else (action.link.local_key if action.link else None) or ""
                self.report.append((kind, Side.PCCADDIE.value, item, title, ""))
        return adopted

    async def _batches(self, actions: Sequence[Any], carry_out: Callable[[Sequence[Any]], Awaitable[None]]) -> None:
        """Batches of BATCH items, up to PARALLEL_BATCHES sent at once (the gateway's limit per
        mailbox is the same); each one's results recorded as soon as they come."""
        limiter = trio.CapacityLimiter(PARALLEL_BATCHES)
        troubles: list[Exception] = []

        async def one(chunk: Sequence[Any]) -> None:
            async with limiter:
                if troubles:
                    return  # the mailbox (or the database) is in trouble: the rest waits for the next cycle
                try:
                    await carry_out(chunk)
                except Exception as trouble:  # raised plainly below, as if the batches had run one by one
                    troubles.append(trouble)

        async with trio.open_nursery() as nursery:
            for start in range(0, len(actions), BATCH):
                nursery.start_soon(one, actions[start : start + BATCH])
        if troubles:
            raise troubles[0]

    async def _exchange_creates(self, creates: Sequence[Create]) -> None:
        await self._batches(creates, self._create_batch)

    async def _create_batch(self, chunk: Sequence[Create]) -> None:
        if chunk:
            prepared = await self.db.run(
                state.prepare_exchange_creates, self.context, [(c.source, c.link) for c in chunk]
            )
            results = await self.client.create(self.context.folder, [entry for _, entry in prepared])
            await self._record("create", [link_id for link_id, _ in prepared], results, [c.source for c in chunk])

    async def _exchange_updates(self, updates: Sequence[Update]) -> None:
        await self._batches(updates, self._update_batch)

    async def _update_batch(self, chunk: Sequence[Update]) -> None:
        context = self.context
        if chunk:
            links = await self.db.run(_update_inputs, [u.link.id for u in chunk], [u.source.content for u in chunk])
            items = []
            for update in chunk:
                external_id, agreed = links[update.link.id]
                entry = state.to_entry(
                    update.source.content, context.zone, external_id, context.reminder_minutes, context.area_name
                )
                fields = fields_to_write(update.remote_content or agreed, update.source.content)
                items.append(
                    {
                        "id": update.link.remote_key,
                        "change_key": update.link.change_key,
                        "fields": fields,
                        "item": entry,
                    }
                )
            results = await self.client.update(items)
            sent = [u.link.change_key for u in chunk]
            await self._record(
                "update",
                [u.link.id for u in chunk],
                results,
                [u.source for u in chunk],
                sent_keys=sent,
                held=[u.remote_content for u in chunk],
            )

    async def _drop_twins(self, twins: Sequence[DropTwin]) -> None:
        """Our own second copies of linked items: deleted in Exchange (nothing links them)."""
        for start in range(0, len(twins), BATCH):
            chunk = twins[start : start + BATCH]
            results = await self.client.delete([{"id": t.remote.key, "change_key": None} for t in chunk])
            for twin, result in zip(chunk, results):
                error = result.get("error") or {}
                if result.get("ok") or error.get("code") == "not_found":
                    self._count(TO_EXCHANGE, "deleted")
                    self.report.append(
                        (
                            "delete",
                            Side.EXCHANGE.value,
                            twin.remote.key,
                            twin.remote.title,
                            "a second copy the sync had made",
                        )
                    )
                else:
                    self.unfinished_remote = True  # told again by the next read from the same state
                    self._count(TO_EXCHANGE, "failed")
                    self.report.append(
                        (
                            "fail",
                            Side.EXCHANGE.value,
                            twin.remote.key,
                            twin.remote.title,
                            f"{error.get('code')}: {error.get('message')}",
                        )
                    )

    async def _label_copies(self, adopted: Sequence[tuple[int, Version]]) -> None:
        """A user's copy now has a link of its own: write that link's external id onto it."""
        context = self.context
        for start in range(0, len(adopted), BATCH):
            chunk = adopted[start : start + BATCH]
            external = await self.db.run(_update_inputs, [link_id for link_id, _ in chunk])
            items = [
                {
                    "id": copy.key,
                    "change_key": copy.change_key,
                    "fields": ["external_id"],
                    "item": state.to_entry(copy.content, context.zone, external[link_id][0], None),
                }
                for link_id, copy in chunk
            ]
            results = await self.client.update(items)
            await self.db.run(state.record_labels, [(link_id, r) for (link_id, _), r in zip(chunk, results)])

    async def _exchange_deletes(self, deletes: Sequence[Delete]) -> None:
        await self._batches(deletes, self._delete_batch)

    async def _delete_batch(self, chunk: Sequence[Delete]) -> None:
        results = await self.client.delete([{"id": d.link.remote_key, "change_key": None} for d in chunk])
        await self._record("delete", [d.link.id for d in chunk], results, [None] * len(chunk), [d.link for d in chunk])

    async def _record(
        self,
        action: str,
        link_ids: list[int],
        results: Sequence[Mapping[str, Any]],
        sources: Sequence[Version | None],
        links: Sequence[Link] | None = None,
        sent_keys: Sequence[str | None] | None = None,
        held: Sequence[AppointmentContent | None] = (),
    ) -> None:
        keys = sent_keys or [None] * len(link_ids)
        outcomes = [
            (link_id, action, result, source.content if source else None, key)
            for link_id, result, source, key in zip(link_ids, results, sources, keys)
        ]
        failures = await self.db.run(state.record_exchange_results, self.context, outcomes, held)
        for index, (result, source) in enumerate(zip(results, sources)):
            item = source.key if source else (links[index].local_key if links else "") or ""
            title = source.title if source else ""
            if result.get("ok") or (action == "delete" and result.get("error", {}).get("code") == "not_found"):
                self._count(TO_EXCHANGE, f"{action}d")
                shortened = result.get("shortened") or ()
                detail = f"shortened to Exchange's limits: {', '.join(map(str, shortened))}" if shortened else ""
                self.report.append((action, Side.EXCHANGE.value, item, title, detail))
            else:
                self._count(TO_EXCHANGE, "failed")
                error = result.get("error", {})
                if action == "update" and error.get("code") == "conflict" and result.get("id"):
                    self.unsure.add(str(result["id"]))
                self.report.append(
                    ("fail", Side.EXCHANGE.value, item, title, f"{error.get('code')}: {error.get('message')}")
                )
        if any(not stopped for _, stopped in failures):
            self.unfinished_local = True


def _update_inputs(
    link_ids: list[int], sending: Sequence[AppointmentContent] = ()
) -> dict[int, tuple[str, AppointmentContent | None]]:
    """Each link's external id and the content last agreed; with `sending`, what each update is
    about to write is recorded first."""
    if sending:
        state.record_sending(list(zip(link_ids, sending)))
    rows = AppointmentLink.select(AppointmentLink.id, AppointmentLink.external_id, AppointmentLink.agreed).where(
        AppointmentLink.id.in_(link_ids)
    )
    return {row.id: (row.external_id, state.parse_agreed(row.agreed)) for row in rows}
