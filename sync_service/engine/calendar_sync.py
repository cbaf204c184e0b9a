"""The appointments' kind of item for the sync pipeline (`pipeline.py`): one calendar
subscription's content, links, decision and the writes that carry it out.

A create is recorded as pending, with its external id, before it is sent; an update records what
it is about to write (`sent`). A user's copy made in Outlook is adopted as a new appointment and
labelled with its own link's external id once the batches are done; a second copy the sync made
itself (a twin) is deleted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from loguru import logger

from protocol.entries import (
    CALENDAR,
    MASTER,
    MAX_SERIES,
    CalendarEntry,
    Change,
    ChangePage,
    EntryError,
    Found,
    ItemError,
    ItemRef,
    ItemResult,
    UpdateRequest,
)

from ..core import remote_feed
from ..core.appointment_content import AppointmentContent, fields_to_write
from ..core.decide import decide
from ..core.model import Side, Version
from ..core.plan import AdoptCopy, Create, Delete, DropTwin, Pair, Plan, Relink, Unlink, Update
from ..store.models import AppointmentLink
from ..vault import PasswordVault
from . import calendar_state as state
from .database import DbRunner
from .exchange_client import ExchangeClient, MailboxTrouble
from .pipeline import (
    BATCH,
    PAGE,
    PARALLEL_BATCHES,
    TO_EXCHANGE,
    TO_PCCADDIE,
    Pipeline,
    Prepared,
    Recorded,
    Sending,
    SubscriptionOutcome,
    Tally,
    direction,
    drop_twins,
)

__all__ = [
    "BATCH",
    "PAGE",
    "PARALLEL_BATCHES",
    "TO_EXCHANGE",
    "TO_PCCADDIE",
    "AppointmentKind",
    "CalendarSync",
    "EngineSettings",
    "SubscriptionOutcome",
]


@dataclass(frozen=True)
class EngineSettings:
    zone: ZoneInfo
    vault: PasswordVault
    window_days: tuple[int, int] = (30, 400)


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
        first_page: ChangePage | Mapping[str, Any] | None = None,
    ) -> SubscriptionOutcome:
        """One subscription's cycle; `context` if it was loaded already (with the others'), and
        `first_page` if its first page of changes was (in `exchange.changes_many`, as wire)."""
        started = state.now()
        if context is None:
            context = await self.db.run(
                state.load_context, subscription_id, self.settings.zone, self.settings.vault, self.settings.window_days
            )
        if isinstance(context, state.NotSyncing):
            return SubscriptionOutcome(subscription_id, context.label, not_syncing=context.reason)
        outcome = SubscriptionOutcome(subscription_id, context.label, mailbox=context.account["mailbox"])
        client = self.client_for(context.account)
        pipeline: Pipeline[AppointmentsObserved, Plan, list[tuple[int, Version]]] = Pipeline(
            self.db, AppointmentKind(context, client), client, outcome, read_page(first_page)
        )
        return await pipeline.run(started)


def read_page(page: ChangePage | Mapping[str, Any] | None) -> ChangePage | None:
    """A prefetched page read as `exchange.changes` answers are read; one the schema refuses is
    not used (the calendar asks for its page itself)."""
    if page is None or isinstance(page, ChangePage):
        return page
    try:
        return ChangePage.from_wire(CALENDAR, page)
    except EntryError:
        return None


@dataclass(frozen=True)
class AppointmentsObserved:
    observed: state.Observed
    seen: tuple[str, ...]  # the links to verify that the feed told about (users' copies to relabel apart)


class AppointmentKind:
    """A calendar subscription's appointments, for the pipeline (`pipeline.ItemKind`)."""

    noun = "calendar"

    def __init__(self, context: state.SubscriptionContext, client: ExchangeClient) -> None:
        self.context = context  # replaced as the cycle learns (read afresh, more links to verify)
        self.loaded = context  # as the cycle found it: what `finish` compares the positions with
        self.client = client  # for the expansion of series masters
        self.expanded: dict[str, str | None] = {}  # masters expanded this cycle → change key seen
        self.gone: list[str] = []  # masters deleted (or found gone) this cycle

    @property
    def label(self) -> str:
        return self.context.label

    @property
    def folder(self) -> str:
        return self.context.folder

    @property
    def sync_state(self) -> str | None:
        return self.context.sync_state

    @property
    def pending(self) -> Sequence[str]:
        return [external for _, external in self.context.pending]

    @property
    def looked_up(self) -> Sequence[str]:
        return self.context.verify + self.context.due_remote  # unsure of, or come into the window

    # -- reading ----------------------------------------------------------------------------------

    async def open(self, db: DbRunner, client: ExchangeClient) -> None:
        context = self.context
        if context.folder and not context.initial_done and await client.ensure_folder(context.folder):
            if context.sync_state is not None:  # the state read was of a folder gone since: read anew
                await db.run(state.start_afresh, context.subscription_id)
                self.context = dataclasses.replace(context, sync_state=None)

    def verify_also(self, exchange_ids: Sequence[str]) -> None:
        if exchange_ids:
            self.context = dataclasses.replace(self.context, verify=(*self.context.verify, *exchange_ids))

    def read_afresh(self) -> None:
        self.context = dataclasses.replace(self.context, sync_state=None)

    def wanted(self, changes: Sequence[Change], known: Mapping[str, remote_feed.Known]) -> list[str]:
        return remote_feed.to_fetch(changes, known, self.looked_up)

    def resolve_pending(self, found: Found) -> Sequence[str]:
        return state.resolve_pending(self.context, found)

    def known_items(self, exchange_ids: Sequence[str]) -> Mapping[str, remote_feed.Known]:
        return state.known_items(self.context, exchange_ids)

    def linked_exchange_ids(self) -> Sequence[str]:
        return state.linked_exchange_ids(self.context)

    def idle(self, changes: Sequence[Change]) -> bool:
        return state.nothing_happened(self.context, changes)

    async def read_failed(self, trouble: MailboxTrouble, db: DbRunner, client: ExchangeClient, tally: Tally) -> bool:
        context = self.context
        if trouble.code != "not_found" or not context.folder:
            return False
        # the user deleted the sub-calendar in Outlook: make it again and fill it anew (never
        # read as the deletion of the club's appointments)
        logger.warning(
            f"{context.label}: the calendar {context.folder!r} is gone from the mailbox; "
            "it is made again and filled anew"
        )
        await db.run(state.start_afresh, context.subscription_id)
        await client.ensure_folder(context.folder)
        tally.line("restart", Side.EXCHANGE, context.folder, "", "calendar made again")
        return True

    # -- observe and decide -----------------------------------------------------------------------

    async def observe(self, db: DbRunner, feed: remote_feed.Feed, tally: Tally) -> AppointmentsObserved:
        context = self.context
        changes, series = await self._expand(db, feed.changes)
        observed = await db.run(state.observe, context, changes, series)
        relabel = {copy.key for _, copy in observed.unlabelled}
        seen = tuple(i for i in context.verify if i in feed.seen and i not in relabel)
        added = await db.run(state.add_auto_contacts, context, observed.journal_seq)
        if added:
            tally.line("contact", Side.PCCADDIE, "", "", f"{added} booked persons added to the contacts")
        return AppointmentsObserved(observed, seen)

    async def _expand(
        self, db: DbRunner, feed: Sequence[Change]
    ) -> tuple[list[Change], dict[str, Sequence[CalendarEntry] | None]]:
        """A series is observed through its master: a master created or changed in the feed, and
        every known master when the window has moved since it was last expanded, are expanded into
        their occurrences in the window (MAX_SERIES at a time); a master deleted is its series gone.
        Returns the feed's other changes, and per master its occurrences (None: gone)."""
        context = self.context
        known = await db.run(state.known_masters, context) if feed or context.masters_due else set()
        rest: list[Change] = []
        expand: dict[str, str | None] = {}
        series: dict[str, Sequence[CalendarEntry] | None] = {}
        for change in feed:
            entry = state.calendar_entry(change)
            if change.kind == "delete" and change.id in known:
                series[change.id] = None
            elif entry is not None and entry.series_type == MASTER and change.kind != "delete":
                expand[change.id] = entry.change_key
            else:
                rest.append(change)
        for master_id in context.masters_due:
            if master_id not in series:
                expand.setdefault(master_id, None)
        start, end = context.window_instants
        wanted = list(expand)
        for first in range(0, len(wanted), MAX_SERIES):
            chunk = wanted[first : first + MAX_SERIES]
            answer = await self.client.occurrences(context.folder, chunk, start, end)
            for master_id in chunk:
                found = answer.by_series.get(master_id)
                if isinstance(found, ItemError) and found.code == "not_found":
                    series[master_id] = None
                elif isinstance(found, ItemError) or found is None:
                    why = f"{found.code}: {found.message}" if found is not None else "no answer"
                    raise MailboxTrouble(
                        found.code if found is not None else "invalid",
                        f"the occurrences of a series could not be read: {why}",
                    )
                else:
                    series[master_id] = found
        self.gone = [master_id for master_id, found in series.items() if found is None]
        self.expanded = {master_id: key for master_id, key in expand.items() if series.get(master_id) is not None}
        return rest, series

    def decide(self, observed: AppointmentsObserved, tally: Tally) -> Plan:
        plan = decide(observed.observed.observations, self.context.options, observed.observed.linked_items)
        for skip in plan.skipped:
            tally.count(TO_PCCADDIE if skip.side is Side.EXCHANGE else TO_EXCHANGE, "skipped")
            tally.line("skip", skip.side, skip.key, "", skip.reason)
        for conflict in plan.conflicts:
            tally.count(direction(conflict.winner.other), "conflicts")
            tally.line(
                "conflict",
                conflict.winner.other,
                conflict.link.local_key or "",
                conflict.loser.title,
                f"{conflict.winner.value} won",
            )
        return plan

    def paused(self, plan: Plan) -> str | None:
        return plan.paused

    def pause(self, reason: str) -> None:
        state.pause(self.context.subscription_id, reason)

    def apply_local(self, plan: Plan, tally: Tally) -> list[tuple[int, Version]]:
        """Everything the plan writes into PC CADDIE, and link bookkeeping. Returns (new link id,
        Exchange copy) of the users' copies imported, to label them as such."""
        context = self.context
        if context.due:
            state.clear_due(context)
        if self.expanded or self.gone:
            state.record_masters(context, self.expanded, self.gone)
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
                tally.count(TO_PCCADDIE, "created")
                tally.line("create", Side.PCCADDIE, action.remote.key, action.remote.title, "a copy made in Outlook")
            elif isinstance(action, Unlink):
                state.unlink(action.link)
            elif isinstance(action, (Create, Update, Delete)) and action.side is Side.PCCADDIE:
                kind = type(action).__name__.lower()
                source = getattr(action, "source", None)
                state.apply_local(context, kind, action.link, source)
                tally.count(TO_PCCADDIE, f"{kind}d")
                title = source.title if source else ""
                item = source.key if source else (action.link.local_key if action.link else None) or ""
                tally.line(kind, Side.PCCADDIE, item, title)
        return adopted

    # -- the batches to Exchange ------------------------------------------------------------------

    def sendings(self, plan: Plan) -> Sequence[Sending]:
        return [
            Sending(op, [a for a in plan.of(action) if a.side is Side.EXCHANGE])
            for op, action in (("create", Create), ("update", Update), ("delete", Delete))
        ]

    async def prepare(self, db: DbRunner, op: str, chunk: Sequence[Any]) -> Prepared:
        context = self.context
        if op == "create":
            prepared = await db.run(state.prepare_exchange_creates, context, [(c.source, c.link) for c in chunk])
            return Prepared(
                [link_id for link_id, _ in prepared],
                [entry for _, entry in prepared],
                [(c.source.key, c.source.title) for c in chunk],
                [c.source.content for c in chunk],
            )
        if op == "update":
            links = await db.run(_update_inputs, [u.link.id for u in chunk], [u.source.content for u in chunk])
            requests: list[UpdateRequest] = []
            for update in chunk:
                external_id, agreed = links[update.link.id]
                entry = state.to_entry(
                    update.source.content, context.zone, external_id, context.reminder_minutes, context.area_name
                )
                requests.append(
                    UpdateRequest(
                        ItemRef(update.link.remote_key or "", update.link.change_key),
                        tuple(fields_to_write(update.remote_content or agreed, update.source.content)),
                        entry,
                    )
                )
            return Prepared(
                [u.link.id for u in chunk],
                requests,
                [(u.source.key, u.source.title) for u in chunk],
                _Sent(
                    [u.source.content for u in chunk],
                    [u.link.change_key for u in chunk],
                    [u.remote_content for u in chunk],
                ),
            )
        return Prepared(
            [d.link.id for d in chunk],
            [ItemRef(d.link.remote_key or "") for d in chunk],
            [(d.link.local_key or "", "") for d in chunk],
        )

    def record(self, op: str, prepared: Prepared, results: Sequence[ItemResult]) -> Recorded:
        sent = prepared.extra if isinstance(prepared.extra, _Sent) else None
        contents: Sequence[AppointmentContent | None] = (
            sent.contents if sent else prepared.extra or [None] * len(prepared.link_ids)
        )
        keys: Sequence[str | None] = sent.change_keys if sent else [None] * len(prepared.link_ids)
        outcomes = [
            (link_id, op, result, content, key)
            for link_id, result, content, key in zip(prepared.link_ids, results, contents, keys)
            if link_id is not None
        ]
        return Recorded(state.record_exchange_results(self.context, outcomes, sent.held if sent else ()))

    # -- after the batches ------------------------------------------------------------------------

    async def follow_up(
        self,
        db: DbRunner,
        client: ExchangeClient,
        observed: AppointmentsObserved,
        plan: Plan,
        local: list[tuple[int, Version]],
        tally: Tally,
    ) -> bool:
        twins = [(t.remote.key, t.remote.title) for t in plan.of(DropTwin)]
        finished = await drop_twins(client, twins, tally, "a second copy the sync had made")
        # a copy whose link this plan removes (its appointment deleted, say) is not labelled: the
        # link is gone, or its copy is being deleted
        removed = {a.link.id for a in plan.actions if isinstance(a, (Delete, Unlink)) and a.link is not None}
        labels = [
            (link_id, copy) for link_id, copy in [*local, *observed.observed.unlabelled] if link_id not in removed
        ]
        await self._label_copies(db, client, labels)
        return finished

    async def _label_copies(self, db: DbRunner, client: ExchangeClient, adopted: Sequence[tuple[int, Version]]) -> None:
        """A user's copy now has a link of its own: write that link's external id onto it."""
        context = self.context
        for start in range(0, len(adopted), BATCH):
            external = await db.run(_update_inputs, [link_id for link_id, _ in adopted[start : start + BATCH]])
            chunk = [(link_id, copy) for link_id, copy in adopted[start : start + BATCH] if link_id in external]
            if not chunk:
                continue
            items = [
                UpdateRequest(
                    ItemRef(copy.key, copy.change_key),
                    ("external_id",),
                    state.to_entry(copy.content, context.zone, external[link_id][0], None),
                )
                for link_id, copy in chunk
            ]
            results = await client.update(items)
            await db.run(state.record_labels, [(link_id, r) for (link_id, _), r in zip(chunk, results)])

    # -- the end ----------------------------------------------------------------------------------

    def journal_seq(self, observed: AppointmentsObserved) -> int:
        return observed.observed.journal_seq

    def verified(self, observed: AppointmentsObserved, feed: remote_feed.Feed) -> Sequence[str]:
        return observed.seen

    def finish(
        self,
        started: Any,
        sync_state: str | None,
        journal_seq: int | None,
        tally: Tally,
        error: str | None,
        verified: Sequence[str],
    ) -> None:
        state.finish(self.loaded, started, sync_state, journal_seq, tally.statistics, tally.report, error, verified)


@dataclass(frozen=True)
class _Sent:
    """What an update batch writes, the change keys it names, and what the decision saw Exchange hold."""

    contents: Sequence[AppointmentContent]
    change_keys: Sequence[str | None]
    held: Sequence[AppointmentContent | None]


def _update_inputs(
    link_ids: list[int], sending: Sequence[AppointmentContent] = ()
) -> dict[int, tuple[str, AppointmentContent | None]]:
    """Each link's external id and the content last agreed; with `sending`, what each update is
    about to write is recorded first. A link gone meanwhile is left out."""
    if sending:
        state.record_sending(list(zip(link_ids, sending)))
    rows = AppointmentLink.select(AppointmentLink.id, AppointmentLink.external_id, AppointmentLink.agreed).where(
        AppointmentLink.id.in_(link_ids)
    )
    return {row.id: (row.external_id, state.parse_agreed(row.agreed)) for row in rows}
