"""The contacts' kind of item for the sync pipeline (`pipeline.py`): one user's contact list, its
links, decision (`core/contact_plan.plan_contacts`) and the writes that carry it out.

A create is recorded as pending, with its external id, before it is sent; an update records the
field groups it is about to write (`sent`). Before a person is made in Exchange its existing
contact is looked for (`contact_existing`), and adopted if found. A contact deleted in Exchange
takes the person off the list (the person is kept); a twin of a create sent again is deleted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from protocol.entries import Change, ContactEntry, Found, ItemRef, ItemResult, UpdateRequest

from ..core import remote_feed
from ..core.contact_content import contact_entry, entry_fields
from ..core.contact_plan import (
    AdoptContact,
    ContactAction,
    ContactPlan,
    DeleteInExchange,
    MakeInExchange,
    Unlist,
    plan_contacts,
)
from ..core.model import Side
from ..store.models import ContactLink
from ..vault import PasswordVault
from . import contact_state as state
from .calendar_state import NotSyncing
from .contact_existing import with_existing
from .database import DbRunner
from .exchange_client import ExchangeClient, MailboxTrouble
from .pipeline import (
    TO_EXCHANGE,
    TO_PCCADDIE,
    Pipeline,
    Prepared,
    Recorded,
    Sending,
    SubscriptionOutcome,
    Tally,
    drop_twins,
)


class ContactSync:
    def __init__(
        self,
        db: DbRunner,
        vault: PasswordVault,
        client_for: Callable[[Mapping[str, str]], ExchangeClient],
        window_days: tuple[int, int] = state.WINDOW_DAYS,
    ) -> None:
        self.db, self.vault, self.client_for, self.window_days = db, vault, client_for, window_days

    async def run(self, user_id: int) -> SubscriptionOutcome:
        """One user's contact list's cycle."""
        started = state.now()
        context = await self.db.run(state.load_contact_context, user_id, self.vault, self.window_days)
        if isinstance(context, NotSyncing):
            return SubscriptionOutcome(user_id, context.label, not_syncing=context.reason, kind="contacts")
        outcome = SubscriptionOutcome(user_id, context.label, mailbox=context.account["mailbox"], kind="contacts")
        client = self.client_for(context.account)
        pipeline: Pipeline[state.ContactsObserved, ContactPlan, None] = Pipeline(
            self.db, ContactKind(context, client), client, outcome
        )
        return await pipeline.run(started)


class ContactKind:
    """A user's contact list, for the pipeline (`pipeline.ItemKind`). Its folder is the mailbox's
    contacts (""); of its contacts only those the list links are read, and strangers only while
    a create may have landed twice (to tell its twin)."""

    noun = "contact list"

    def __init__(self, context: state.ContactContext, client: ExchangeClient) -> None:
        self.context = context  # replaced as the cycle learns (read afresh, more links to verify)
        self.loaded = context  # as the cycle found it: what `finish` compares the positions with
        self.client = client  # for the existing contacts looked for before a create
        self.adopted: dict[str, ContactEntry] = {}  # the contacts picked with +ADD, as read

    @property
    def label(self) -> str:
        return self.context.label

    @property
    def folder(self) -> str:
        return ""

    @property
    def sync_state(self) -> str | None:
        return self.context.sync_state

    @property
    def pending(self) -> Sequence[str]:
        return [external for _, external in self.context.pending]

    @property
    def looked_up(self) -> Sequence[str]:
        return self.context.verify

    # -- reading ----------------------------------------------------------------------------------

    async def open(self, db: DbRunner, client: ExchangeClient) -> None:
        """The contacts picked with +ADD and not linked yet are read."""
        if self.context.to_adopt:
            for answer in await client.get(list(self.context.to_adopt)):
                if isinstance(answer.entry, ContactEntry) and answer.entry.id:
                    self.adopted[answer.entry.id] = answer.entry

    def verify_also(self, exchange_ids: Sequence[str]) -> None:
        if exchange_ids:
            self.context = dataclasses.replace(self.context, verify=(*self.context.verify, *exchange_ids))

    def read_afresh(self) -> None:
        self.context = dataclasses.replace(self.context, sync_state=None)

    def wanted(self, changes: Sequence[Change], known: Mapping[str, remote_feed.Known]) -> list[str]:
        # no other contact of the mailbox is read, but while a create may have landed twice (sent
        # again after its answer was lost), new contacts are read to tell its twin
        unknown = bool(self.context.pending or self.context.resent)
        return remote_feed.to_fetch(changes, known, self.looked_up, unknown=unknown)

    def resolve_pending(self, found: Found) -> Sequence[str]:
        state.resolve_pending(self.context, found)
        return ()  # a create found is marked to verify: looked up by the next cycle

    def known_items(self, exchange_ids: Sequence[str]) -> Mapping[str, remote_feed.Known]:
        return state.known_items(self.context, exchange_ids)

    def linked_exchange_ids(self) -> Sequence[str]:
        return state.linked_exchange_ids(self.context)

    def idle(self, changes: Sequence[Change]) -> bool:
        return state.nothing_happened(self.context, changes)

    async def read_failed(self, trouble: MailboxTrouble, db: DbRunner, client: ExchangeClient, tally: Tally) -> bool:
        return False  # the contacts folder is the mailbox's own: never made again

    # -- observe and decide -----------------------------------------------------------------------

    async def observe(self, db: DbRunner, feed: remote_feed.Feed, tally: Tally) -> state.ContactsObserved:
        observed = await db.run(state.observe_contacts, self.context, list(feed.changes), self.adopted)
        observations = await with_existing(db, self.client, self.context, observed.observations, feed, tally)
        return dataclasses.replace(observed, observations=observations)

    def decide(self, observed: state.ContactsObserved, tally: Tally) -> ContactPlan:
        context = self.context
        return plan_contacts(
            observed.observations, context.modes, context.policy, observed.linked, observed.twins, observed.unbooked
        )

    def paused(self, plan: ContactPlan) -> str | None:
        return plan.paused

    def pause(self, reason: str) -> None:
        state.pause(self.context, reason)

    def apply_local(self, plan: ContactPlan, tally: Tally) -> None:
        """Everything the plan writes into PC CADDIE, and the links; conflicts reported."""
        context = self.context
        if plan.unbooked:
            state.unlist_unbooked(context, plan.unbooked)
            for person_id in plan.unbooked:
                tally.line("unlist", Side.PCCADDIE, str(person_id), "", "auto sync: no booking keeps the person listed")
        for action in plan.actions:
            if isinstance(action, (MakeInExchange, DeleteInExchange)):
                continue  # Exchange's: in the batches
            kept = state.apply_local(context, action.observation, action.decision)
            person, decision = str(action.person_id), action.decision
            for group in kept:
                tally.count(TO_PCCADDIE, "conflicts")
                tally.line("conflict", Side.EXCHANGE, person, group, "changed in PC CADDIE meanwhile: pccaddie won")
            if decision.to_pccaddie:
                tally.count(TO_PCCADDIE, "updated")
                tally.line("update", Side.PCCADDIE, person, ", ".join(decision.to_pccaddie))
            if isinstance(action, Unlist):
                tally.line(
                    "unlist", Side.PCCADDIE, person, "", "deleted in Exchange: off the contact list, the person is kept"
                )
            for group, winner, _ in decision.conflicts:
                tally.count(TO_EXCHANGE if winner is Side.PCCADDIE else TO_PCCADDIE, "conflicts")
                tally.line("conflict", winner.other, person, group, f"{winner.value} won")

    # -- the batches to Exchange ------------------------------------------------------------------

    def sendings(self, plan: ContactPlan) -> Sequence[Sending]:
        return [
            Sending("create", plan.of(MakeInExchange)),
            Sending("update", plan.updates_to_exchange),
            Sending("delete", plan.of(DeleteInExchange)),
        ]

    async def prepare(self, db: DbRunner, op: str, chunk: Sequence[Any]) -> Prepared:
        actions: Sequence[ContactAction] = chunk
        persons = [a.person_id for a in actions]
        items = [(str(p), "") for p in persons]
        agreed = [dict(a.decision.agreed) for a in actions]
        if op == "create":
            prepared = await db.run(state.prepare_creates, self.context, actions)
            return Prepared([i for i, _ in prepared], [e for _, e in prepared], items, _Sent(agreed, persons))
        if op == "update":
            return await self._prepare_updates(db, actions, items, _Sent(agreed, persons))
        links = [a.observation.link for a in actions]
        return Prepared(
            [link.id if link else None for link in links],
            [ItemRef(link.exchange_id if link and link.exchange_id else "") for link in links],
            items,
            _Sent([{}] * len(actions), persons),
        )

    async def _prepare_updates(
        self, db: DbRunner, actions: Sequence[ContactAction], items: Sequence[tuple[str, str]], sent: _Sent
    ) -> Prepared:
        """Field groups written into existing contacts; an adoption's link is the one its local
        step just made. What each update writes is recorded before it goes."""
        adopting = [a.observation.exchange_id for a in actions if isinstance(a, AdoptContact)]
        adopted = await db.run(_adopted_links, self.context.user_id, adopting) if adopting else {}
        requests: list[UpdateRequest] = []
        link_ids: list[int | None] = []
        for action in actions:
            observation, decision = action.observation, action.decision
            entry = contact_entry(decision.to_exchange)
            fields = entry_fields(decision.to_exchange)
            link = observation.link
            exchange_id = link.exchange_id if link else observation.exchange_id
            change_key = decision.change_key or (link.change_key if link else None)
            requests.append(UpdateRequest(ItemRef(exchange_id or "", change_key), fields, entry))
            link_ids.append(link.id if link else adopted.get(exchange_id or ""))
        sending = [(i, dict(a.decision.to_exchange)) for i, a in zip(link_ids, actions) if i is not None]
        await db.run(state.record_sending, sending)
        return Prepared(link_ids, requests, items, sent)

    def record(self, op: str, prepared: Prepared, results: Sequence[ItemResult]) -> Recorded:
        sent: _Sent = prepared.extra
        outcomes = [
            (link_id, op, result, agreed)
            for link_id, result, agreed in zip(prepared.link_ids, results, sent.agreed)
            if link_id is not None
        ]
        failures = state.record_results(self.context, outcomes)
        if op == "delete":
            return Recorded(failures)
        written = [p for p, result in zip(sent.persons, results) if p and result.ok]
        overlong = state.overlong_fields(written) if written else {}
        shortened = {i: overlong[p] for i, p in enumerate(sent.persons) if p in overlong}
        return Recorded(failures, shortened)

    # -- after the batches ------------------------------------------------------------------------

    async def follow_up(
        self,
        db: DbRunner,
        client: ExchangeClient,
        observed: state.ContactsObserved,
        plan: ContactPlan,
        local: None,
        tally: Tally,
    ) -> bool:
        return await drop_twins(client, [(t, "") for t in plan.twins], tally, "a create's twin")

    # -- the end ----------------------------------------------------------------------------------

    def journal_seq(self, observed: state.ContactsObserved) -> int:
        return observed.journal_seq

    def verified(self, observed: state.ContactsObserved, feed: remote_feed.Feed) -> Sequence[str]:
        return [item_id for item_id in self.context.verify if item_id in feed.seen]

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
    """Per action of a batch: the groups agreed once Exchange confirms it, and its person."""

    agreed: Sequence[Mapping[str, tuple[str, ...]]]
    persons: Sequence[int | None]


def _adopted_links(user_id: int, exchange_ids: list[str | None]) -> dict[str, int]:
    """The links adoption just made, by their Exchange ids."""
    rows = ContactLink.select().where(
        (ContactLink.user == user_id) & ContactLink.exchange_id.in_([i for i in exchange_ids if i])
    )
    return {str(row.exchange_id): row.id for row in rows}
