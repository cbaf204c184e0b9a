"""One user's contact sync in a cycle: the same steps as a calendar's, with contacts' decision."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

from loguru import logger

from ..core import contact_candidates as candidates
from ..core import remote_feed
from ..core.contact_content import ENTRY_FIELDS, Groups, entry_groups, entry_values
from ..core.contact_decide import ContactDecision, ContactObservation, decide_contact, mass_unlisting
from ..core.model import Side
from ..store.models import ContactLink
from ..vault import PasswordVault
from . import contact_state as state
from .calendar_state import NotSyncing
from .calendar_sync import PAGE, TO_EXCHANGE, TO_PCCADDIE, SubscriptionOutcome
from .database import DbRunner
from .exchange_client import ExchangeClient, MailboxTrouble

BATCH = 100


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
        started = state.now()
        context = await self.db.run(state.load_contact_context, user_id, self.vault, self.window_days)
        if isinstance(context, NotSyncing):
            return SubscriptionOutcome(-user_id, context.label, not_syncing=context.reason)
        outcome = SubscriptionOutcome(-user_id, context.label, mailbox=context.account["mailbox"])
        run = _ContactRun(self.db, context, self.client_for(context.account), outcome)
        try:
            sync_state, journal_seq, paused = await run.sync()
        except MailboxTrouble as trouble:
            outcome.error, outcome.retry_after = f"{trouble.code}: {trouble.message}", trouble.retry_after
            await self.db.run(state.finish, context, started, None, None, run.statistics, run.report, outcome.error)
            return outcome
        if paused:
            outcome.not_syncing = f"paused: {paused}"
            logger.warning(f"{context.label}: paused: {paused}")
        await self.db.run(
            state.finish,
            context,
            started,
            sync_state,
            journal_seq,
            run.statistics,
            run.report,
            None,
            paused,
            run.verified,
        )
        return outcome


class _ContactRun:
    def __init__(
        self, db: DbRunner, context: state.ContactContext, client: ExchangeClient, outcome: SubscriptionOutcome
    ) -> None:
        self.db, self.context, self.client, self.outcome = db, context, client, outcome
        self.statistics: dict[str, Counter[str]] = {TO_EXCHANGE: Counter(), TO_PCCADDIE: Counter()}
        self.report: list[tuple[str, str, str, str, str]] = []
        self.unfinished = False
        self.twin_left = False
        self.verified: list[str] = []  # links the feed or a lookup told about: sure once the cycle is saved

    def _count(self, direction: str, what: str) -> None:
        self.statistics[direction][what] += 1
        self.outcome.counts[f"{what}-{direction}"] += 1

    async def sync(self) -> tuple[str | None, int | None, str | None]:
        context, client = self.context, self.client
        if context.pending:
            pending = [external for _, external in context.pending]
            found = await client.find_external("", pending, all_matches=True)
            await self.db.run(state.resolve_pending, context, found)
        adopted: dict[str, Mapping[str, Any]] = {}
        if context.to_adopt:
            for answer in await client.get(list(context.to_adopt)):
                if answer.get("ok"):
                    adopted[answer["item"]["id"]] = answer["item"]
        changes, sync_state = await self._read_changes()
        context = self.context  # read afresh, it verifies more
        feed = await self._complete(changes)
        for item_id, item_type in feed.unsupported:
            self._count(TO_PCCADDIE, "skipped")
            self.report.append(("skip", Side.EXCHANGE.value, item_id, "", f"unsupported: {item_type}"))
        self.verified = [item_id for item_id in context.verify if item_id in feed.seen]
        observed = await self.db.run(state.observe_contacts, context, list(feed.changes), adopted)
        decisions = [(o, decide_contact(o, context.modes, context.policy)) for o in observed.observations]
        paused = mass_unlisting([d for _, d in decisions], observed.linked)
        if paused:
            return None, None, paused
        if observed.unbooked:
            await self.db.run(state.unlist_unbooked, context, observed.unbooked)
            for person_id in observed.unbooked:
                self.report.append(
                    ("unlist", Side.PCCADDIE.value, str(person_id), "", "auto sync: no booking keeps the person listed")
                )
        await self.db.run(self._apply_local, decisions)
        adoptions, creates = await self._look_for_existing(
            [(o, d) for o, d in decisions if d.action == "create"], changes, feed
        )
        await self.db.run(self._apply_local, adoptions)
        await self._creates(creates)
        updates = [(o, d) for o, d in [*decisions, *adoptions] if d.action in ("update", "adopt") and d.to_exchange]
        await self._updates(updates)
        await self._deletes([(o, d) for o, d in decisions if d.action == "delete-remote"])
        await self._drop_twins(observed.twins)
        return (None if self.twin_left else sync_state), (None if self.unfinished else observed.journal_seq), None

    async def _read_changes(self) -> tuple[list[Mapping[str, Any]], str | None]:
        """The contact changes since the saved sync state; from no state when Exchange no longer
        knows it (as a calendar's: matched by id, the links the fresh read did not list looked up)."""
        try:
            return await self._remote_changes(self.context.sync_state)
        except MailboxTrouble as trouble:
            if trouble.code != "sync_state_invalid" or self.context.sync_state is None:
                raise
            why = trouble.message
        context = self.context
        logger.warning(
            f"{context.label}: Exchange no longer knows the contacts' sync state ({why}); they are read afresh"
        )
        self.report.append(("restart", Side.EXCHANGE.value, "", "", "read afresh: sync state not known"))
        changes, sync_state = await self._remote_changes(None)
        listed = {change["id"] for change in changes}
        linked = await self.db.run(state.linked_exchange_ids, context)
        unlisted = tuple(i for i in linked if i not in listed and i not in context.verify)
        self.context = dataclasses.replace(context, sync_state=None, verify=(*context.verify, *unlisted))
        return changes, sync_state

    async def _remote_changes(self, sync_state: str | None) -> tuple[list[Mapping[str, Any]], str | None]:
        changes: list[Mapping[str, Any]] = []
        while True:
            page = await self.client.changes("", sync_state, PAGE)
            changes += page["changes"]
            done = page["complete"] or page["sync_state"] == sync_state
            sync_state = page["sync_state"]
            if done:
                return changes, sync_state

    async def _complete(self, changes: Sequence[Mapping[str, Any]]) -> remote_feed.Feed:
        """The feed's changes with full items, for the contacts this user's list links (no other
        contact of the mailbox is ever read)."""
        context = self.context
        ids = [c["id"] for c in changes if c["type"] in ("create", "update")]
        known = await self.db.run(state.known_items, context, ids) if ids else {}
        # no other contact of the mailbox is read, but while a create may have landed twice (sent
        # again after its answer was lost), new contacts are read to tell its twin
        unknown = bool(context.pending or context.resent)
        wanted = remote_feed.to_fetch(changes, known, context.verify, unknown=unknown)
        fetched = await remote_feed.fetch(self.client, wanted) if wanted else {}
        try:
            return remote_feed.complete(changes, known, context.verify, fetched)
        except remote_feed.FetchError as failure:
            raise MailboxTrouble(failure.code, f"a contact could not be read: {failure.message}") from None

    def _apply_local(self, decisions: Sequence[tuple[ContactObservation, ContactDecision]]) -> None:
        for observation, decision in decisions:
            if decision.action in ("skip", "create", "delete-remote") or (
                decision.action == "none" and not decision.change_key
            ):
                continue
            kept = state.apply_local(self.context, observation, decision)
            person = observation.person_id or (observation.link.person_id if observation.link else None)
            for group in kept:
                self._count(TO_PCCADDIE, "conflicts")
                self.report.append(
                    (
                        "conflict",
                        Side.EXCHANGE.value,
                        str(person),
                        group,
                        "changed in PC CADDIE meanwhile: pccaddie won",
                    )
                )
            if decision.to_pccaddie:
                self._count(TO_PCCADDIE, "updated")
                self.report.append(("update", Side.PCCADDIE.value, str(person), ", ".join(decision.to_pccaddie), ""))
            if decision.action == "unlist":
                self.report.append(
                    (
                        "unlist",
                        Side.PCCADDIE.value,
                        str(person),
                        "",
                        "deleted in Exchange: off the contact list, the person is kept",
                    )
                )
            for group, winner, _ in decision.conflicts:
                self._count(TO_EXCHANGE if winner is Side.PCCADDIE else TO_PCCADDIE, "conflicts")
                self.report.append(("conflict", winner.other.value, str(person), group, f"{winner.value} won"))

    async def _look_for_existing(
        self,
        creates: list[tuple[ContactObservation, ContactDecision]],
        changes: Sequence[Mapping[str, Any]],
        feed: remote_feed.Feed,
    ) -> tuple[list[tuple[ContactObservation, ContactDecision]], list[tuple[ContactObservation, ContactDecision]]]:
        """Before a person with no link at all is made in Exchange, its existing contact is looked
        for (by its e-mail addresses, else by its name) and, if one is that person, adopted: merged
        as one picked with +ADD is, not made again. Returns (adoptions, creates still to make).
        A few persons are searched for; more are looked up in the folder read once
        (core/contact_candidates: the same contacts either way). A search or read that fails
        ends the cycle as mailbox trouble: nothing is made, and the creates come again next cycle."""
        fresh = set(await self.db.run(state.without_link, self.context, [o.person_id for o, _ in creates]))
        persons: list[tuple[int, Groups]] = [
            (o.person_id, o.local)
            for o, _ in creates
            if o.person_id is not None and o.person_id in fresh and isinstance(o.local, dict)
        ]
        wanted: list[tuple[int, Groups, list[Mapping[str, Any]]]] = []
        if candidates.searches_at_most(local for _, local in persons) <= candidates.FEW_SEARCHES:
            for person_id, local in persons:
                emails, name = candidates.search_texts(local)
                found: list[Mapping[str, Any]] = []
                for text in emails:
                    found += await self.client.search_contacts(text)
                if not found and name:
                    found += await self.client.search_contacts(name)
                if found:
                    wanted.append((person_id, local, found))
        else:
            index = candidates.index_contacts(self.context.user_id, await self._folder_contacts(changes, feed))
            for person_id, local in persons:
                if found := candidates.found_in(index, person_id, local):
                    wanted.append((person_id, local, found))
        chosen = await self.db.run(state.choose_existing, self.context, wanted) if wanted else {}
        adoptions, rest = [], []
        for observation, decision in creates:
            existing = chosen.get(observation.person_id or 0)
            if existing is None or existing.contact is None:
                if existing is not None and existing.alike:
                    self.report.append(
                        (
                            "create",
                            Side.EXCHANGE.value,
                            str(observation.person_id),
                            "",
                            f"contacts alike, none taken (not told apart): {', '.join(existing.alike)}",
                        )
                    )
                rest.append((observation, decision))
                continue
            item = existing.contact
            adopting = dataclasses.replace(
                observation,
                remote=entry_groups(item),
                source="exchange",
                remote_change_key=item.get("change_key"),
                exchange_id=item["id"],
                remote_modified=state.utc(item.get("last_modified")),
                made_by_sync=existing.made_by_sync,
            )
            how = "made by an earlier link" if existing.made_by_sync else "its e-mail address and name"
            self.report.append(
                ("adopt", Side.EXCHANGE.value, str(observation.person_id), "", f"existing contact: {how}")
            )
            adoptions.append((adopting, decide_contact(adopting, self.context.modes, self.context.policy)))
        return adoptions, rest

    async def _folder_contacts(
        self, changes: Sequence[Mapping[str, Any]], feed: remote_feed.Feed
    ) -> list[Mapping[str, Any]]:
        """Every contact of the folder, read once: listed by this cycle's feed when it was read
        from no state (a first sync, or read afresh), else by a feed from no state read for this
        (its sync state is not kept); those this cycle has not read yet are fetched in chunks."""
        if self.context.sync_state is not None:
            changes, _ = await self._remote_changes(None)
        have = {c["id"]: c["item"] for c in feed.changes if c.get("item") is not None}
        wanted = [c["id"] for c in changes if c["type"] in ("create", "update") and c["id"] not in have]
        fetched = await remote_feed.fetch(self.client, wanted) if wanted else {}
        listed = [{**c, "item": have.get(c["id"])} for c in changes]
        try:
            read = remote_feed.complete(listed, {}, (), fetched)
        except remote_feed.FetchError as failure:
            raise MailboxTrouble(failure.code, f"a contact could not be read: {failure.message}") from None
        return [c["item"] for c in read.changes if c.get("item") is not None]

    async def _creates(self, items: list[tuple[ContactObservation, ContactDecision]]) -> None:
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            prepared = await self.db.run(state.prepare_creates, self.context, chunk)
            results = await self.client.create("", [entry for _, entry in prepared])
            outcomes = [
                (link_id, "create", result, dict(decision.agreed))
                for (link_id, _), result, (_, decision) in zip(prepared, results, chunk)
            ]
            await self._record(outcomes, [o.person_id for o, _ in chunk])

    async def _updates(self, items: list[tuple[ContactObservation, ContactDecision]]) -> None:
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            if any(d.action == "adopt" for _, d in chunk):  # the links adoption just made
                ids = await self.db.run(_adopted_links, self.context.user_id, [o.exchange_id for o, _ in chunk])
            else:
                ids = {}
            requests: list[dict[str, Any]] = []
            link_ids: list[int | None] = []
            for observation, decision in chunk:
                entry: dict[str, Any] = {}
                fields: list[str] = []
                for group, values in decision.to_exchange.items():
                    entry.update(entry_values(group, values))
                    fields += ENTRY_FIELDS[group]
                link = observation.link
                exchange_id = link.exchange_id if link else observation.exchange_id
                change_key = decision.change_key or (link.change_key if link else None)
                requests.append({"id": exchange_id, "change_key": change_key, "fields": fields, "item": entry})
                link_ids.append(link.id if link else ids.get(exchange_id or ""))
            sending = [(link_id, dict(decision.to_exchange)) for link_id, (_, decision) in zip(link_ids, chunk)]
            await self.db.run(state.record_sending, [(link_id, groups) for link_id, groups in sending if link_id])
            results = await self.client.update(requests)
            outcomes = [
                (link_id, "update", result, dict(decision.agreed))
                for link_id, result, (_, decision) in zip(link_ids, results, chunk)
                if link_id is not None
            ]
            await self._record(outcomes, [(o.link.person_id if o.link else o.person_id) for o, _ in chunk])

    async def _deletes(self, items: list[tuple[ContactObservation, ContactDecision]]) -> None:
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            links = [o.link for o, _ in chunk if o.link is not None]
            results = await self.client.delete([{"id": link.exchange_id, "change_key": None} for link in links])
            outcomes: list[tuple[int, str, Mapping[str, Any], Mapping[str, tuple[str, ...]]]] = [
                (link.id, "delete", result, {}) for link, result in zip(links, results)
            ]
            await self._record(outcomes, [link.person_id for link in links])

    async def _drop_twins(self, twins: Sequence[str]) -> None:
        """Second contacts of a create sent again (the first landed late): deleted."""
        for start in range(0, len(twins), BATCH):
            chunk = list(twins[start : start + BATCH])
            for item_id, result in zip(chunk, await self.client.delete([{"id": i, "change_key": None} for i in chunk])):
                done = result.get("ok") or (result.get("error") or {}).get("code") == "not_found"
                self._count(TO_EXCHANGE, "deleted" if done else "failed")
                self.report.append(
                    (
                        "delete",
                        Side.EXCHANGE.value,
                        item_id,
                        "",
                        "a create's twin" if done else f"a create's twin: {(result.get('error') or {}).get('code')}",
                    )
                )
                self.twin_left = self.twin_left or not done  # read again next cycle: the feed tells it again

    async def _record(
        self,
        outcomes: Sequence[tuple[int, str, Mapping[str, Any], Mapping[str, tuple[str, ...]]]],
        persons: Sequence[int | None],
    ) -> None:
        failures = await self.db.run(state.record_results, self.context, outcomes)
        written = [
            p for (_, action, result, _), p in zip(outcomes, persons) if p and action != "delete" and result.get("ok")
        ]
        overlong = await self.db.run(state.overlong_fields, written) if written else {}
        for (_, action, result, _), person in zip(outcomes, persons):
            error = result.get("error") or {}
            if result.get("ok") or (action == "delete" and error.get("code") == "not_found"):
                self._count(TO_EXCHANGE, f"{action}d")
                shortened = result.get("shortened") or (overlong.get(person or 0, ()) if action != "delete" else ())
                detail = f"shortened to Exchange's limits: {', '.join(map(str, shortened))}" if shortened else ""
                self.report.append((action, Side.EXCHANGE.value, str(person), "", detail))
            else:
                self._count(TO_EXCHANGE, "failed")
                self.report.append(
                    ("fail", Side.EXCHANGE.value, str(person), "", f"{error.get('code')}: {error.get('message')}")
                )
        if any(not stopped for _, stopped in failures):
            self.unfinished = True


def _adopted_links(user_id: int, exchange_ids: list[str | None]) -> dict[str, int]:
    rows = ContactLink.select().where(
        (ContactLink.user == user_id) & ContactLink.exchange_id.in_([i for i in exchange_ids if i])
    )
    return {str(row.exchange_id): row.id for row in rows}
