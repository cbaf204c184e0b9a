"""What the sync did and where it is stuck: statistics, reports, conflicts, items that fail."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from ..store.models import (
    AppointmentLink,
    CalendarSubscription,
    JournalEntry,
    SyncConflict,
    SyncReportLine,
    SyncStatistic,
    TimetableArea,
    User,
)
from . import AdminError
from .lookups import user_by_login
from .timetable import utc_now

PERIODS = ("day", "week", "month")


def _subscriptions(login: str) -> dict[int, str]:
    user = user_by_login(login)
    query = (
        CalendarSubscription.select(CalendarSubscription.id, TimetableArea.name)
        .join(TimetableArea)
        .where(CalendarSubscription.user == user)
    )
    return {row.id: row.area.name for row in query}


def _bucket(moment: dt.datetime, by: str) -> str:
    if by == "day":
        return moment.date().isoformat()
    if by == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m")


def statistics(login: str, since: dt.date | None, until: dt.date | None, by: str) -> list[dict[str, Any]]:
    """Synchronised entries per period (created + changed + deleted), per direction."""
    if by not in PERIODS:
        raise AdminError(f"--by is one of {', '.join(PERIODS)}")
    query = SyncStatistic.select().where(SyncStatistic.user == user_by_login(login))
    if since:
        query = query.where(SyncStatistic.cycle_started >= dt.datetime.combine(since, dt.time()))
    if until:
        query = query.where(SyncStatistic.cycle_started < dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for stat in query:
        bucket = rows[_bucket(stat.cycle_started, by)]
        bucket[f"{stat.direction}"] += stat.created + stat.updated + stat.deleted
        for name in ("created", "updated", "deleted", "skipped", "conflicts", "failed"):
            bucket[name] += getattr(stat, name)
    return [
        {
            "period": period,
            "to_exchange": values["to-exchange"],
            "to_pccaddie": values["to-pccaddie"],
            "synchronised": values["to-exchange"] + values["to-pccaddie"],
            **{name: values[name] for name in ("created", "updated", "deleted", "skipped", "conflicts", "failed")},
        }
        for period, values in sorted(rows.items())
    ]


def _where(subscription_id: int | None, subscriptions: dict[int, str]) -> str:
    """The area an entry is about, or "contacts"."""
    return subscriptions.get(subscription_id or 0, "contacts")


def report(login: str, cycles: int) -> list[dict[str, Any]]:
    user = user_by_login(login)
    subscriptions = _subscriptions(login)
    starts = [
        row.cycle_started
        for row in (
            SyncReportLine.select(SyncReportLine.cycle_started)
            .distinct()
            .where(SyncReportLine.user == user)
            .order_by(SyncReportLine.cycle_started.desc())
            .limit(cycles)
        )
    ]
    if not starts:
        return []
    chosen = (SyncReportLine.user == user) & SyncReportLine.cycle_started.in_(starts)
    lines = SyncReportLine.select().where(chosen).order_by(SyncReportLine.cycle_started, SyncReportLine.id)
    return [
        {
            "cycle": line.cycle_started.replace(tzinfo=dt.timezone.utc).isoformat(),
            "area": _where(line.subscription_id, subscriptions),
            "action": line.action,
            "side": line.side,
            "item": line.item,
            "title": line.title,
            "detail": line.detail,
        }
        for line in lines
    ]


def conflicts(login: str) -> list[dict[str, Any]]:
    subscriptions = _subscriptions(login)
    query = SyncConflict.select().where(SyncConflict.user == user_by_login(login)).order_by(SyncConflict.created.desc())
    return [
        {
            "when": row.created.replace(tzinfo=dt.timezone.utc).isoformat(),
            "kind": row.kind,
            "area": _where(row.subscription_id, subscriptions),
            "appointment": row.appointment_id,
            "exchange_id": row.exchange_id,
            "winner": row.winner,
            "lost": json.loads(row.loser_content),
        }
        for row in query
    ]


def items(stopped_only: bool) -> list[dict[str, Any]]:
    """The "active items": entries that failed to synchronise, with their attempts."""
    query = (
        AppointmentLink.select(AppointmentLink, CalendarSubscription, User, TimetableArea)
        .join(CalendarSubscription)
        .join(User)
        .switch(CalendarSubscription)
        .join(TimetableArea)
    )
    query = query.where(AppointmentLink.stopped) if stopped_only else query.where(AppointmentLink.attempts > 0)
    return [
        {
            "id": link.id,
            "user": link.subscription.user.login,
            "area": link.subscription.area.name,
            "appointment": link.appointment_id,
            "title": link.title,
            "attempts": link.attempts,
            "stopped": link.stopped,
            "error": link.last_error,
        }
        for link in query.order_by(AppointmentLink.id)
    ]


def reset_items(ids: list[int] | None) -> int:
    """Let stopped or failing items be tried again from the next cycle (all of them when `ids` is None)."""
    query = AppointmentLink.select().where((AppointmentLink.attempts > 0) | AppointmentLink.stopped)
    if ids is not None:
        known = {link.id for link in AppointmentLink.select(AppointmentLink.id).where(AppointmentLink.id.in_(ids))}
        unknown = sorted(set(ids) - known)
        if unknown:
            raise AdminError(f"unknown item {', '.join(map(str, unknown))} (see `sync-service items`)")
        query = AppointmentLink.select().where(AppointmentLink.id.in_(ids))
    count = 0
    for link in query:
        link.attempts, link.stopped, link.last_error, link.updated = 0, False, None, utc_now()
        link.verify = link.exchange_id is not None  # the next cycle reads Exchange's copy as it is now
        link.save()
        if link.appointment_id is not None:  # announce it to the next cycle, as a change would
            JournalEntry.create(
                table_name="appointment",
                row_id=link.appointment_id,
                operation="update",
                changed_at=utc_now().isoformat() + "Z",
                area_id=link.subscription.area_id,
                old_area_id=link.subscription.area_id,
                appointment_id=link.appointment_id,
            )
        count += 1
    return count
