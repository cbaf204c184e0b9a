"""Every subscription's sync in one cycle: a few at once, each mailbox's trouble its own.

Nothing happens while the special parameter SYNC_EXCH is not 1. A mailbox that is throttled is
left alone until the time the server asked for has passed; the others go on.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping

import trio
from loguru import logger

from ..admin.parameters import module_enabled
from ..store.models import SyncReportLine
from . import calendar_state as state
from .calendar_sync import CalendarSync, EngineSettings, SubscriptionOutcome
from .database import DbRunner
from .exchange_client import ExchangeClient


@dataclass
class CycleSummary:
    enabled: bool = True
    subscriptions: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    not_syncing: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.enabled:
            return "Synchronisation is off (special parameter SYNC_EXCH is not 1): nothing synchronised"
        c = self.counts

        def side(direction: str) -> str:
            return (f"{c[f'created-{direction}']} new, {c[f'updated-{direction}']} changed, "
                    f"{c[f'deleted-{direction}']} deleted")  # fmt: skip

        skipped = c["skipped-to-exchange"] + c["skipped-to-pccaddie"]
        conflicts = c["conflicts-to-exchange"] + c["conflicts-to-pccaddie"]
        failed = c["failed-to-exchange"] + c["failed-to-pccaddie"]
        return (
            f"Synchronised {self.subscriptions} calendars: Exchange {side('to-exchange')}; "
            f"PC CADDIE {side('to-pccaddie')}; {skipped} skipped, {conflicts} conflicts, {failed} failed"
            + (f"; {len(self.errors)} with errors" if self.errors else "")
            + (f"; {len(self.not_syncing)} not syncing" if self.not_syncing else "")
        )


class CycleEngine:
    def __init__(self, db: DbRunner, settings: EngineSettings, parallel: int = 4, report_days: int = 30,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.db = db
        self.settings = settings
        self.parallel = parallel
        self.report_days = report_days
        self.clock = clock
        self._throttled_until: dict[str, float] = {}
        self._mailbox_of: dict[int, str] = {}

    async def run(self, client_for: Callable[[Mapping[str, str]], ExchangeClient]) -> CycleSummary:
        summary = CycleSummary()
        if not await self.db.run(module_enabled):
            summary.enabled = False
            return summary
        subscriptions = await self.db.run(state.active_subscriptions)
        summary.subscriptions = len(subscriptions)
        engine = CalendarSync(self.db, self.settings, client_for)
        limiter = trio.CapacityLimiter(self.parallel)

        async def one(subscription_id: int) -> None:
            mailbox = self._mailbox_of.get(subscription_id)
            if mailbox and self._throttled_until.get(mailbox, 0) > self.clock():
                summary.not_syncing.append(f"{mailbox}: throttled")
                return
            async with limiter:
                outcome = await engine.run(subscription_id)
            self._note(outcome, summary)

        async with trio.open_nursery() as nursery:
            for subscription_id in subscriptions:
                nursery.start_soon(one, subscription_id)
        await self.db.run(_prune_reports, self.report_days)
        return summary

    def _note(self, outcome: SubscriptionOutcome, summary: CycleSummary) -> None:
        summary.counts.update(outcome.counts)
        if outcome.mailbox:
            self._mailbox_of[outcome.subscription_id] = outcome.mailbox
        if outcome.error:
            summary.errors.append(f"{outcome.label}: {outcome.error}")
            logger.warning(f"{outcome.label} ({outcome.mailbox}): {outcome.error}")
            if outcome.retry_after and outcome.mailbox:
                self._throttled_until[outcome.mailbox] = self.clock() + outcome.retry_after
        elif outcome.not_syncing:
            summary.not_syncing.append(f"{outcome.label}: {outcome.not_syncing}")
            logger.info(f"{outcome.label}: not synchronised: {outcome.not_syncing}")
        elif outcome.counts:
            logger.info(f"{outcome.label}: {', '.join(f'{k} {v}' for k, v in sorted(outcome.counts.items()))}")


def _prune_reports(days: int) -> int:
    cutoff = state.now() - dt.timedelta(days=days)
    return SyncReportLine.delete().where(SyncReportLine.cycle_started < cutoff).execute()
