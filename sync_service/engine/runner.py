"""Every subscription's sync in one cycle: a few at once, each mailbox's trouble its own.

Nothing happens while the special parameter SYNC_EXCH is not 1. A mailbox that is throttled is
left alone until the time the server asked for has passed; the others go on. A mailbox whose
password Exchange refused is left alone until its account is set again or checked (issue 13,
defect 7): each cycle a user's subscriptions pass `mailbox_health.MailboxGate`, so that a wrong
password costs one failed login, not one per calendar per cycle.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping
from zoneinfo import ZoneInfo

import peewee as pw
import trio
from loguru import logger

from ..store import journal
from ..store.mailbox_blocks import Block, blocked_mailboxes, record_block
from ..store.models import SyncReportLine
from ..store.read_model import module_enabled
from . import calendar_state as state
from . import contact_state
from .calendar_sync import CalendarSync, EngineSettings, SubscriptionOutcome
from .contact_sync import ContactSync
from .database import DbRunner
from .exchange_client import ExchangeClient
from .mailbox_health import AUTH_FAILED, MailboxGate, Verdict, auth_refusal, verdict

PRUNE_EVERY = 3600.0  # seconds between prunings of old reports and of the change journal
JOURNAL_PRUNE_PAUSE = 0.05  # seconds between two batches of journal pruning: PC CADDIE's writers get their turn

CALENDAR, CONTACTS = "calendar", "contacts"
WorkKey = tuple[str, int]  # (kind, id): a calendar by its subscription id, a contact list by its user id


def next_try(now: dt.datetime, seconds: float, zone: ZoneInfo) -> str:
    """Pure: when a throttled mailbox is asked again at the earliest, `seconds` after `now` (aware),
    in the club's time: "next try not before 16:42:10 (in 30 s)" (the first cycle after it asks)."""
    wait = max(0, math.ceil(seconds))
    at = (now + dt.timedelta(seconds=wait)).astimezone(zone)
    return f"next try not before {at:%H:%M:%S} (in {wait} s)"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(key: WorkKey) -> str:
    """How a piece of work is named in the summary's errors: "calendar 5" (its subscription id),
    "contacts of user 3"."""
    kind, number = key
    return f"contacts of user {number}" if kind == CONTACTS else f"calendar {number}"


@dataclass
class CycleSummary:
    enabled: bool = True
    subscriptions: int = 0
    contact_lists: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    not_syncing: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line of counts for the log, e.g. `Synchronised 3 calendars: 2 created in Exchange,
        1 changed in PC CADDIE, 1 skipped`."""
        if not self.enabled:
            return "Synchronisation is off (special parameter SYNC_EXCH is not 1): nothing synchronised"
        c = self.counts
        parts = [
            f"{c[f'{what}-{direction}']} {what} in {where}"
            for direction, where in (("to-exchange", "Exchange"), ("to-pccaddie", "PC CADDIE"))
            for what in ("created", "updated", "deleted")
            if c[f"{what}-{direction}"]
        ]
        for what in ("skipped", "conflicts", "failed"):
            total = c[f"{what}-to-exchange"] + c[f"{what}-to-pccaddie"]
            if total:
                parts.append(f"{total} {what}")
        if self.errors:
            parts.append(f"{len(self.errors)} with errors")
        if self.not_syncing:
            parts.append(f"{len(self.not_syncing)} not syncing")
        what = f"{self.subscriptions} calendar" + ("" if self.subscriptions == 1 else "s")
        if self.contact_lists:
            what += f" and {self.contact_lists} contact list" + ("" if self.contact_lists == 1 else "s")
        return f"Synchronised {what}: {', '.join(parts) or 'no changes'}"


class CycleEngine:
    def __init__(
        self,
        db: DbRunner,
        settings: EngineSettings,
        parallel: int = 4,
        report_days: int = 30,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        """`clock`: seconds, for the waits; `wall_clock`: now (aware), for the times the log names."""
        self.db = db
        self.settings = settings
        self.parallel = parallel
        self.report_days = report_days
        self.clock = clock
        self.wall_clock = wall_clock
        self._throttled_until: dict[str, float] = {}
        self._mailbox_of: dict[WorkKey, str] = {}
        self._quiet_reasons: dict[WorkKey, str] = {}  # why a calendar or contact list is not syncing, as last logged
        self._blocks_logged: dict[int, Block] = {}  # mailboxes left alone (wrong password), as logged
        self._known_blocks: dict[int, Block] = {}  # as read at the start of this cycle
        self._last_prune = float("-inf")

    async def run(
        self,
        client_for: Callable[[Mapping[str, str], str], ExchangeClient],
        changes_many: Callable[[list[dict[str, Any]]], Awaitable[list[Mapping[str, Any]]]] | None = None,
    ) -> CycleSummary:
        """`client_for(account, kind)` gives the Exchange client of a mailbox for calendar or contacts;
        `changes_many`, if given, asks for many calendars' first page of changes in one request."""
        summary = CycleSummary()
        try:
            enabled = await self.db.run(module_enabled)
        except pw.PeeweeException as exc:
            summary.errors.append(f"database: {exc}")
            logger.error(f"The database cannot be read: {exc}; nothing synchronised this cycle")
            return summary
        if not enabled:
            summary.enabled = False
            return summary
        subscriptions = await self.db.run(state.active_subscriptions)
        contact_users = await self.db.run(contact_state.users_with_contacts)
        contexts = await self.db.run(
            state.load_contexts, subscriptions, self.settings.zone, self.settings.vault, self.settings.window_days
        )
        summary.subscriptions, summary.contact_lists = len(subscriptions), len(contact_users)
        blocks = await self.db.read(blocked_mailboxes)
        self._note_lifted(blocks)
        gate = MailboxGate(blocked=blocks)
        first_pages = await self._prefetch(contexts, changes_many, gate, blocks) if changes_many else {}
        calendars = CalendarSync(self.db, self.settings, lambda account: client_for(account, "calendar"))
        contacts = ContactSync(
            self.db, self.settings.vault, lambda account: client_for(account, "contacts"), self.settings.window_days
        )
        limiter = trio.CapacityLimiter(self.parallel)

        async def one(key: WorkKey, run: Callable[[], Awaitable[SubscriptionOutcome]]) -> None:
            mailbox = self._mailbox_of.get(key)
            waiting = self._throttled_until.get(mailbox, 0) - self.clock() if mailbox else 0
            if mailbox and waiting > 0:
                summary.not_syncing.append(f"{mailbox}: throttled by Exchange; {self._next_try(waiting)}")
                return
            kind, number = key
            what = f"{kind} {number}"
            context = contexts.get(number) if kind == CALENDAR else None
            user_id = number if kind == CONTACTS else None
            if isinstance(context, state.SubscriptionContext):
                user_id = context.user_id
            ticket = await gate.enter(user_id) if user_id is not None else None
            if ticket is not None and not ticket.go:
                self._skip_blocked(ticket.user_id, context.label if context is not None else None, summary)
                return
            reached = Verdict.UNDECIDED
            try:
                async with limiter:
                    try:
                        outcome = await run()
                    except (pw.PeeweeException, pw.DoesNotExist) as exc:  # locked too long, disk full, removed
                        summary.errors.append(f"{_name(key)}: database: {exc}")
                        logger.error(
                            f"Synchronisation of {what} stopped by the database: {exc}; nothing of it was "
                            "half-applied, it is tried again next cycle"
                        )
                        return
                    except Exception as exc:  # one calendar's failure never ends the others' (nor the service)
                        summary.errors.append(f"{_name(key)}: {type(exc).__name__}: {exc}")
                        logger.opt(exception=exc).error(
                            f"Synchronisation of {what} failed: {type(exc).__name__}: {exc}; "
                            "what it had confirmed is recorded, the rest is tried again next cycle"
                        )
                        return
                refusal = auth_refusal(outcome)
                block = None
                if refusal is not None and user_id is not None:  # the block's line is the refusal's one line
                    block = await self._block(user_id, refusal, outcome.label, outcome.reason)
                self._note(key, outcome, summary, logged=refusal is not None and user_id is not None, block=block)
                reached = verdict(outcome)
            finally:
                if ticket is not None:
                    gate.leave(ticket, reached)

        async with trio.open_nursery() as nursery:
            for subscription_id in subscriptions:
                nursery.start_soon(
                    one,
                    (CALENDAR, subscription_id),
                    functools.partial(
                        calendars.run, subscription_id, contexts[subscription_id], first_pages.get(subscription_id)
                    ),
                )
            for user_id in contact_users:
                nursery.start_soon(one, (CONTACTS, user_id), functools.partial(contacts.run, user_id))
        if self.clock() - self._last_prune > PRUNE_EVERY:
            self._last_prune = self.clock()
            await self._prune()
        return summary

    async def _prefetch(
        self,
        contexts: Mapping[int, Any],
        changes_many: Callable[..., Awaitable[Any]],
        gate: MailboxGate,
        blocks: Mapping[int, Block],
    ) -> dict[int, Any]:
        """Every ready calendar's first page of Exchange changes, in two requests: first one
        calendar of each user (one login per mailbox), then the others of the users whose login
        Exchange accepted. A calendar whose page failed simply asks again itself (and meets the
        same error there); a login refused blocks that mailbox."""
        ready = [
            (sid, c)
            for sid, c in contexts.items()
            if isinstance(c, state.SubscriptionContext)
            and c.initial_done
            and c.user_id not in blocks
            and self._throttled_until.get(c.account["mailbox"], 0) <= self.clock()
        ]
        probe_of: dict[int, int] = {}  # user id → the subscription that logs in first
        for sid, c in ready:
            probe_of.setdefault(c.user_id, sid)
        pages: dict[int, Any] = {}
        for probing in (True, False):
            group = [
                (sid, c)
                for sid, c in ready
                if (probe_of[c.user_id] == sid) == probing
                and gate.state(c.user_id) is not Verdict.BLOCKED
                and (probing or gate.state(c.user_id) is Verdict.OPEN)
            ]
            if not group:
                continue
            requests = [
                {
                    "account": dict(c.account),
                    "kind": "calendar",
                    "folder": c.folder,
                    "sync_state": c.sync_state,
                    "max_changes": 512,
                    "with_items": False,
                }
                for _, c in group
            ]
            try:
                answers = await changes_many(requests)
            except Exception as exc:  # the gateway is away or old: each calendar asks for itself
                logger.debug(f"Prefetching the calendars' changes failed: {exc}")
                return pages
            for (sid, c), answer in zip(group, answers):
                if answer.get("ok"):
                    pages[sid] = answer["result"]
                    gate.set(c.user_id, Verdict.OPEN)
                elif (answer.get("error") or {}).get("code") == AUTH_FAILED:
                    message = str(answer["error"].get("message", ""))
                    cause = answer["error"].get("reason")
                    await self._block(c.user_id, message, c.label, cause if isinstance(cause, str) else None)
                    gate.set(c.user_id, Verdict.BLOCKED)
        return pages

    async def _block(self, user_id: int, reason: str, label: str, cause: str | None = None) -> Block | None:
        """Exchange refused the login: record it (a restart does not try again) and say so once.
        `cause`: the gateway's reason code, if it named one. One line, whatever happens: the
        refusal is not logged anywhere else."""
        try:
            block = await self.db.run(record_block, user_id, AUTH_FAILED, reason, cause)
        except pw.PeeweeException as exc:  # left alone for this cycle still; recorded when it meets the refusal again
            logger.error(f"{label}: {AUTH_FAILED}: {reason}; the refused login could not be recorded: {exc}")
            return None
        if block is None:  # the account is gone meanwhile: nothing to leave alone
            logger.warning(f"{label}: {AUTH_FAILED}: {reason}")
            return None
        self._blocks_logged[user_id] = block
        logger.warning(f"{label.split('/')[0]}: mailbox {block.mailbox} not synchronised: {block.describe()}")
        return block

    def _skip_blocked(self, user_id: int, label: str | None, summary: CycleSummary) -> None:
        block = self._blocks_logged.get(user_id) or self._known_blocks.get(user_id)
        what = label or (f"{block.login}/contacts" if block is not None else f"user {user_id}")
        left_alone = block.left_alone() if block is not None else "Exchange refused the login; left alone"
        summary.not_syncing.append(f"{what}: {left_alone}")  # advised by cause, as the block's line
        if block is not None and user_id not in self._blocks_logged:  # blocked before this process started
            self._blocks_logged[user_id] = block
            logger.warning(f"{block.login}: mailbox {block.mailbox} not synchronised: {block.describe()}")

    def _note_lifted(self, blocks: Mapping[int, Block]) -> None:
        """Blocks lifted since the last cycle (`account set` or `account check`): said once."""
        self._known_blocks = dict(blocks)
        for user_id in [u for u in self._blocks_logged if u not in blocks]:
            block = self._blocks_logged.pop(user_id)
            logger.info(f"{block.login}: mailbox {block.mailbox}: the account was set again or checked; synchronising")

    def _note(
        self,
        key: WorkKey,
        outcome: SubscriptionOutcome,
        summary: CycleSummary,
        logged: bool = False,
        block: Block | None = None,
    ) -> None:
        """`logged`: the outcome's error is told by a line of its own (a refused login's block);
        `block`: the one it recorded, whose remedy the summary's error names."""
        summary.counts.update(outcome.counts)
        if outcome.mailbox:
            self._mailbox_of[key] = outcome.mailbox
        if not outcome.not_syncing:
            self._quiet_reasons.pop(key, None)
        if outcome.error:
            error = outcome.error
            if outcome.retry_after and outcome.mailbox:
                self._throttled_until[outcome.mailbox] = self.clock() + outcome.retry_after
                error += f"; {self._next_try(outcome.retry_after)}"
            if block is not None:
                error += f"; {block.mend()}"
            summary.errors.append(f"{outcome.label}: {error}")
            if not logged:
                logger.warning(f"{outcome.label} ({outcome.mailbox}): {error}")
        elif outcome.not_syncing:
            summary.not_syncing.append(f"{outcome.label}: {outcome.not_syncing}")
            if self._quiet_reasons.get(key) != outcome.not_syncing:  # logged once, not each cycle
                self._quiet_reasons[key] = outcome.not_syncing
                logger.info(f"{outcome.label}: not synchronised: {outcome.not_syncing}")
            return
        elif outcome.counts:
            logger.info(f"{outcome.label}: {', '.join(f'{k} {v}' for k, v in sorted(outcome.counts.items()))}")

    def _next_try(self, seconds: float) -> str:
        return next_try(self.wall_clock(), seconds, self.settings.zone)

    async def _prune(self) -> None:
        """Old report lines, and the journal entries every reader has handled (after the cycle's
        syncs, inside the cycle lock: no first sync is between reading the tables and recording
        its journal position). A failure is logged; the next pruning tries again."""
        try:
            await self.db.run(_prune_reports, self.report_days)
            pruned = await prune_journal(self.db)
        except pw.PeeweeException as exc:
            logger.warning(f"Pruning old reports and the change journal failed: {exc}; tried again in an hour")
            return
        if pruned:
            logger.debug(f"Pruned {pruned} change journal entries that every reader has handled")


async def prune_journal(db: DbRunner, batch: int = journal.PRUNE_BATCH, pause: float = JOURNAL_PRUNE_PAUSE) -> int:
    """Delete the change journal's entries that every reader has handled, `batch` at a time, each
    batch a short transaction of its own and `pause` seconds apart, so that PC CADDIE's writers
    never wait for long. Returns how many were deleted."""
    total = 0
    while True:
        deleted = await db.run(journal.prune, batch)
        total += deleted
        if deleted < batch:
            return total
        await trio.sleep(pause)


def _prune_reports(days: int) -> int:
    cutoff = state.now() - dt.timedelta(days=days)
    return SyncReportLine.delete().where(SyncReportLine.cycle_started < cutoff).execute()
