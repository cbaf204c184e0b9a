"""The database side of a calendar subscription's cycle: what the decision is made from, and
recording each confirmed result. Runs in the database thread (see database.DbRunner)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from protocol.entries import CalendarEntry, Change, Entry, Found, ItemResult
from protocol.text_limits import shorten

from ..core.appointment_content import AppointmentContent, agreed_json, parse_agreed, remote_version, to_entry
from ..core.model import UNCHANGED, Link, Observation, Options, Policy, Side, Version
from ..core.ownership import SharedCalendar, shared_calendar
from ..core.permissions import may_sync_area, may_sync_contacts
from ..core.remote_feed import Known
from ..filters import ExclusionFilter as Filter
from ..filters import is_excluded
from ..store import journal
from ..store.accounts import account_from_row
from ..store.models import (
    Appointment,
    AppointmentLink,
    Booking,
    CalendarSubscription,
    ContactSubscription,
    DeferredItem,
    ExchangeAccount,
    ExclusionFilter,
    Person,
    SeriesMaster,
    SubscriptionState,
    SyncConflict,
    SyncReportLine,
    SyncStatistic,
    TimetableArea,
    User,
)
from ..store.read_model import max_attempts, subject_for
from ..vault import PasswordVault, VaultError
from .appointments import local_version, to_local_values

DEFAULT_REMINDER_MINUTES = 15
UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _wire_instant(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_instant(text: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SubscriptionContext:
    subscription_id: int
    login: str
    user_id: int
    area_id: int
    area_name: str
    folder: str
    options: Options
    zone: ZoneInfo
    reminder_minutes: int | None
    max_attempts: int
    sync_state: str | None
    journal_seq: int
    initial_done: bool
    account: Mapping[str, str] = field(repr=False)
    pending: tuple[tuple[int, str], ...] = ()  # (link id, external id) of creates whose outcome is unknown
    auto_sync_contacts: bool = False  # the option, and the user may sync contacts
    latest_seq: int | None = None  # the journal's newest entry when the cycle began
    shared: SharedCalendar | None = None  # the subscriptions on the same Exchange calendar (None: alone)
    verify: tuple[str, ...] = ()  # Exchange ids of links to look up: unsure what Exchange holds
    due: tuple[tuple[int, str, str], ...] = ()  # (row id, side, key) of items the window now reaches
    masters_due: tuple[str, ...] = ()  # series masters last expanded for another window: expanded again

    @property
    def window_days(self) -> tuple[str, str]:
        """The sync window's first and last day (UTC), as a master's expansion records them."""
        assert self.options.window is not None
        first, last = self.options.window
        return first.date().isoformat(), last.date().isoformat()

    @property
    def window_instants(self) -> tuple[str, str]:
        """The sync window as `exchange.occurrences` takes it."""
        assert self.options.window is not None
        return _wire_instant(self.options.window[0]), _wire_instant(self.options.window[1])

    @property
    def due_local(self) -> tuple[int, ...]:
        return tuple(int(key) for _, side, key in self.due if side == Side.PCCADDIE.value)

    @property
    def due_remote(self) -> tuple[str, ...]:
        return tuple(key for _, side, key in self.due if side == Side.EXCHANGE.value)

    @property
    def label(self) -> str:
        return f"{self.login}/{self.area_name}"


@dataclass(frozen=True)
class NotSyncing:
    """Why a subscription is left alone this cycle."""

    subscription_id: int
    label: str
    reason: str
    paused: bool = False


class CycleCache:
    """What every subscription of a user shares, read once per cycle: permissions, account,
    filters, and the module's attempts limit."""

    def __init__(self, vault: PasswordVault) -> None:
        self.vault = vault
        self._users: dict[int, tuple[Any, ...]] = {}
        self._attempts: int | None = None
        self.latest_seq: int | None = None
        self.subscriptions: dict[int, CalendarSubscription] | None = None  # preloaded, when all are loaded at once
        self.states: dict[int, SubscriptionState] = {}
        self.pending: dict[int, list[tuple[int, str]]] | None = None
        self.verify: dict[int, list[str]] | None = None
        self.now: dt.datetime | None = None  # the cycle's instant, when all are loaded at once
        self.due: dict[int, list[tuple[int, str, str]]] | None = None
        self.masters_due: dict[int, list[str]] | None = None
        self.accounts: dict[int, ExchangeAccount] | None = None  # by user id, when all are loaded at once
        self.filters: dict[int, list[str]] | None = None

    def user(self, user: User) -> tuple[Any, ...]:
        """(subject, account for the gateway or the reason there is none, filters)."""
        if user.id not in self._users:
            subject = subject_for(user)
            account: Mapping[str, str] | str
            if self.accounts is not None:
                row = self.accounts.get(user.id)
            else:
                row = ExchangeAccount.get_or_none(ExchangeAccount.user == user)
            if row is None:
                account = "the user has no Exchange account"
            else:
                row.user = user  # (account_from_row names the user; it is at hand)
                try:
                    account = account_from_row(row, self.vault).to_wire()
                except VaultError as exc:
                    account = str(exc)
            if self.filters is not None:
                patterns = self.filters.get(user.id, [])
            else:
                patterns = [f.pattern for f in ExclusionFilter.select().where(ExclusionFilter.user == user)]
            filters = [Filter.parse(pattern) for pattern in patterns]
            self._users[user.id] = (subject, account, filters)
        return self._users[user.id]

    @property
    def attempts(self) -> int:
        if self._attempts is None:
            self._attempts = max_attempts()
        return self._attempts


def load_contexts(
    subscription_ids: Sequence[int], zone: ZoneInfo, vault: PasswordVault, window_days: tuple[int, int]
) -> dict[int, SubscriptionContext | NotSyncing]:
    """Every subscription's context for this cycle, in one go."""
    cache = CycleCache(vault)
    cache.latest_seq = journal.latest_seq()
    wanted = list(subscription_ids)
    cache.subscriptions = {
        row.id: row
        for row in CalendarSubscription.select(CalendarSubscription, User, TimetableArea)
        .join(User)
        .switch(CalendarSubscription)
        .join(TimetableArea)
        .where(CalendarSubscription.id.in_(wanted))
    }
    cache.states = {
        row.subscription_id: row for row in SubscriptionState.select().where(SubscriptionState.subscription.in_(wanted))
    }
    users = sorted({s.user_id for s in cache.subscriptions.values()})
    cache.accounts = {row.user_id: row for row in ExchangeAccount.select().where(ExchangeAccount.user.in_(users))}
    cache.filters = {}
    for pattern in ExclusionFilter.select().where(ExclusionFilter.user.in_(users)).order_by(ExclusionFilter.id):
        cache.filters.setdefault(pattern.user_id, []).append(pattern.pattern)
    cache.pending = {}
    owed = AppointmentLink.subscription.in_(wanted) & AppointmentLink.pending_create & ~AppointmentLink.stopped
    columns = (AppointmentLink.id, AppointmentLink.subscription, AppointmentLink.external_id)
    for link in AppointmentLink.select(*columns).where(owed):
        cache.pending.setdefault(link.subscription_id, []).append((link.id, link.external_id))
    cache.verify = {}
    unsure = AppointmentLink.subscription.in_(wanted) & AppointmentLink.verify
    unsure &= AppointmentLink.exchange_id.is_null(False)
    for row in AppointmentLink.select(AppointmentLink.subscription, AppointmentLink.exchange_id).where(unsure):
        cache.verify.setdefault(row.subscription_id, []).append(str(row.exchange_id))
    cache.now = dt.datetime.now(UTC)
    first_day, last_day, window_end = _window_days(cache.now, window_days)
    cache.due = {}
    deferred = DeferredItem.subscription.in_(wanted) & (DeferredItem.starts_at <= window_end.replace(tzinfo=None))
    for item in DeferredItem.select().where(deferred).order_by(DeferredItem.id):
        cache.due.setdefault(item.subscription_id, []).append((item.id, item.side, item.item_key))
    cache.masters_due = {}
    moved = (SeriesMaster.window_start != first_day) | (SeriesMaster.window_end != last_day)
    columns_of_masters = (SeriesMaster.subscription, SeriesMaster.master_id)
    for master in SeriesMaster.select(*columns_of_masters).where(SeriesMaster.subscription.in_(wanted) & moved):
        cache.masters_due.setdefault(master.subscription_id, []).append(master.master_id)
    return {sid: load_context(sid, zone, vault, window_days, cache) for sid in wanted}


def _window_days(now: dt.datetime, window_days: tuple[int, int]) -> tuple[str, str, dt.datetime]:
    """The sync window's first and last day at `now`, and its end."""
    start, end = now - dt.timedelta(days=window_days[0]), now + dt.timedelta(days=window_days[1])
    return start.date().isoformat(), end.date().isoformat(), end


def _shared_calendar(subscription: CalendarSubscription, cache: CycleCache) -> SharedCalendar | None:
    """The subscriptions of the same user on the same Exchange calendar; None when it is alone."""
    if cache.subscriptions is not None and subscription.id in cache.subscriptions:
        rows = [
            s
            for s in cache.subscriptions.values()
            if s.user_id == subscription.user_id and s.folder_name == subscription.folder_name
        ]
    else:
        rows = list(
            CalendarSubscription.select(CalendarSubscription, TimetableArea)
            .join(TimetableArea)
            .where(
                (CalendarSubscription.user == subscription.user_id)
                & (CalendarSubscription.folder_name == subscription.folder_name)
            )
        )
    if len(rows) <= 1:
        return None
    return shared_calendar(subscription.id, [(row.id, row.area.name, row.takes_imports) for row in rows])


def load_context(
    subscription_id: int,
    zone: ZoneInfo,
    vault: PasswordVault,
    window_days: tuple[int, int],
    cache: CycleCache | None = None,
) -> SubscriptionContext | NotSyncing:
    cache = cache or CycleCache(vault)
    if cache.subscriptions is not None and subscription_id in cache.subscriptions:
        subscription = cache.subscriptions[subscription_id]
    else:
        subscription = (
            CalendarSubscription.select(CalendarSubscription, User, TimetableArea)
            .join(User)
            .switch(CalendarSubscription)
            .join(TimetableArea)
            .where(CalendarSubscription.id == subscription_id)
            .get()
        )
    user, area = subscription.user, subscription.area
    label = f"{user.login}/{area.name}"
    if subscription.paused_reason:
        return NotSyncing(subscription_id, label, f"paused: {subscription.paused_reason}", paused=True)
    subject, account, filters = cache.user(user)
    if not may_sync_area(subject, area.id):
        reason = "the user's permissions no longer allow this area"
        subscription.paused_reason = reason
        subscription.save()
        return NotSyncing(subscription_id, label, f"paused: {reason}", paused=True)
    if isinstance(account, str):
        return NotSyncing(subscription_id, label, account)
    today = cache.now or dt.datetime.now(UTC)
    window_end = today + dt.timedelta(days=window_days[1])
    if cache.due is not None:
        due = tuple(cache.due.get(subscription_id, ()))
    else:
        due = tuple(
            (row.id, row.side, row.item_key)
            for row in DeferredItem.select().where(
                (DeferredItem.subscription == subscription_id)
                & (DeferredItem.starts_at <= window_end.replace(tzinfo=None))
            )
        )
    state = cache.states.get(subscription_id) or SubscriptionState.get_or_create(subscription=subscription)[0]
    if cache.pending is not None:
        pending = tuple(cache.pending.get(subscription_id, ()))
    else:
        pending = tuple(
            (link.id, link.external_id)
            for link in AppointmentLink.select(AppointmentLink.id, AppointmentLink.external_id).where(
                (AppointmentLink.subscription == subscription)
                & AppointmentLink.pending_create
                & ~AppointmentLink.stopped
            )
        )
    if cache.verify is not None:
        verify = tuple(cache.verify.get(subscription_id, ()))
    else:
        verify = tuple(
            str(link.exchange_id)
            for link in AppointmentLink.select(AppointmentLink.exchange_id).where(
                (AppointmentLink.subscription == subscription)
                & AppointmentLink.verify
                & AppointmentLink.exchange_id.is_null(False)
            )
        )
    window = (today - dt.timedelta(days=window_days[0]), window_end)
    first_day, last_day = window[0].date().isoformat(), window[1].date().isoformat()
    if cache.masters_due is not None:
        masters_due = tuple(cache.masters_due.get(subscription_id, ()))
    else:
        masters_due = tuple(
            row.master_id
            for row in SeriesMaster.select(SeriesMaster.master_id).where(
                (SeriesMaster.subscription == subscription_id)
                & ((SeriesMaster.window_start != first_day) | (SeriesMaster.window_end != last_day))
            )
        )
    return SubscriptionContext(
        subscription_id=subscription_id,
        login=user.login,
        user_id=user.id,
        area_id=area.id,
        area_name=area.name,
        folder=subscription.folder_name,
        options=Options(
            read_only=subscription.read_only,
            hide_private=subscription.hide_private,
            policy=Policy(subscription.policy),
            excluded=lambda title: is_excluded(title, filters),
            window=window,
        ),
        zone=zone,
        reminder_minutes=None if subscription.disable_reminders else DEFAULT_REMINDER_MINUTES,
        max_attempts=cache.attempts,
        sync_state=state.sync_state,
        journal_seq=state.journal_seq,
        initial_done=state.initial_done,
        account=account,
        pending=pending,
        auto_sync_contacts=subscription.auto_sync_contacts and may_sync_contacts(subject),
        latest_seq=cache.latest_seq,
        shared=_shared_calendar(subscription, cache),
        verify=verify,
        due=due,
        masters_due=masters_due,
    )


def resolve_pending(context: SubscriptionContext, found: Found) -> list[str]:
    """Creates whose outcome was unknown: those Exchange has are linked now, to be read in full
    by this cycle (a user may have changed one since it was made: its change key is not taken as
    agreed); the others stay pending and are sent again. `found`: per external id, every item
    carrying it; of several (a user copied ours in Outlook, or a create landed twice), ours is one
    holding what a create of the link sent; the others come as copies or twins. Returns the
    Exchange ids found."""
    resolved = []
    for link_id, external_id in context.pending:
        entry = _ours(_calendar_entries(found.items.get(external_id, ())), link_id)
        if entry is not None:
            AppointmentLink.update(
                exchange_id=entry.id, change_key=None, pending_create=False, verify=True, updated=now()
            ).where(AppointmentLink.id == link_id).execute()
            resolved.append(str(entry.id))
    return resolved


def _calendar_entries(entries: Sequence[Entry]) -> list[CalendarEntry]:
    return [e for e in entries if isinstance(e, CalendarEntry)]


def calendar_entry(change: Change) -> CalendarEntry | None:
    """The calendar entry a change carries (a feed of a calendar carries no other kind)."""
    return change.entry if isinstance(change.entry, CalendarEntry) else None


def _ours(matches: Sequence[CalendarEntry], link_id: int) -> CalendarEntry | None:
    if not matches:
        return None
    row = AppointmentLink.get_or_none(AppointmentLink.id == link_id)
    sent = set(_created_as(row)) if row is not None else set()
    for entry in matches:
        if remote_version(entry).digest in sent:
            return entry
    return matches[0]


def _as_link(row: AppointmentLink) -> Link:
    return Link(
        id=row.id,
        local_key=str(row.appointment_id) if row.appointment_id is not None else None,
        remote_key=row.exchange_id,
        digest=row.digest,
        origin=Side(row.origin),
        change_key=row.change_key,
        stopped=row.stopped,
        resent=row.creates_sent > 1,
        created_as=tuple(_created_as(row)),
        series_id=row.series_id,
    )


def _created_as(row: AppointmentLink) -> list[str]:
    try:
        digests = json.loads(row.creates) if row.creates else []
    except ValueError:
        return []
    return [str(d) for d in digests] if isinstance(digests, list) else []


TOMBSTONE_DAYS = 1  # how long a removed link whose create may still land is kept


def is_tombstone(row: AppointmentLink) -> bool:
    return row.appointment_id is None and row.exchange_id is None and not row.pending_create


def forget(row: AppointmentLink) -> None:
    """Remove a link. One whose create may still land in Exchange (it was sent and not confirmed,
    or sent more than once) stays a day as a tombstone: should that create land, the item it makes
    is known as ours and deleted, not imported as a stranger's."""
    if row.creates_sent > 1 or (row.pending_create and row.creates_sent >= 1 and row.exchange_id is None):
        row.appointment_id, row.exchange_id, row.change_key, row.pending_create = None, None, None, False
        row.attempts, row.stopped, row.last_error, row.verify, row.sent = 0, False, None, False, None
        row.updated = now()
        row.save()
    else:
        row.delete_instance()


def _bury_expired(context: SubscriptionContext) -> None:
    AppointmentLink.delete().where(
        (AppointmentLink.subscription == context.subscription_id)
        & AppointmentLink.appointment_id.is_null()
        & AppointmentLink.exchange_id.is_null()
        & ~AppointmentLink.pending_create
        & (AppointmentLink.updated < now() - dt.timedelta(days=TOMBSTONE_DAYS))
    ).execute()


def known_items(context: SubscriptionContext, exchange_ids: Sequence[str]) -> dict[str, Known]:
    """What this subscription (and the others on its calendar) hold of these Exchange items."""
    subscriptions = [context.subscription_id, *(context.shared.mates if context.shared else ())]
    known: dict[str, Known] = {}
    ids = sorted(set(exchange_ids))
    for start in range(0, len(ids), 500):
        rows: Any = (
            AppointmentLink.select(
                AppointmentLink.subscription, AppointmentLink.exchange_id, AppointmentLink.change_key
            )
            .where(
                AppointmentLink.subscription.in_(subscriptions)
                & AppointmentLink.exchange_id.in_(ids[start : start + 500])
            )
            .tuples()
        )
        for subscription_id, exchange_id, change_key in rows:
            mine = subscription_id == context.subscription_id
            if mine or exchange_id not in known:
                known[exchange_id] = Known(change_key, mine)
    return known


def _landed(row: AppointmentLink, sent: AppointmentContent) -> Link:
    """An update sent whose answer was lost reached Exchange: what it sent is agreed now."""
    row.digest, row.agreed, row.sent, row.updated = sent.digest, agreed_json(sent), None, now()
    row.save()
    return _as_link(row)


def _others_external_ids(context: SubscriptionContext, external_ids: set[str]) -> set[str]:
    """Those of `external_ids` that another subscription on the same calendar has a link for."""
    if not context.shared or not external_ids:
        return set()
    wanted, found = sorted(external_ids), set()
    for start in range(0, len(wanted), 500):
        rows: Any = AppointmentLink.select(AppointmentLink.external_id).where(
            AppointmentLink.subscription.in_(list(context.shared.mates))
            & AppointmentLink.external_id.in_(wanted[start : start + 500])
        )
        found |= {external_id for (external_id,) in rows.tuples()}
    return found


@dataclass
class _Pairing:
    link: Link | None
    local: Any = UNCHANGED
    remote: Any = UNCHANGED
    copy_of: Link | None = None


@dataclass(frozen=True)
class Observed:
    observations: tuple[Observation, ...]
    linked_items: int
    journal_seq: int  # the journal position these observations cover
    unlabelled: tuple[tuple[int, Version], ...] = ()  # (link id, Exchange copy): a user's copy not relabelled yet


def nothing_happened(context: SubscriptionContext, remote_changes: Sequence[Change]) -> bool:
    """No change from Exchange, none in the journal since this subscription's position, nothing owed."""
    return (
        context.initial_done
        and not remote_changes
        and not context.pending
        and not context.verify
        and not context.due
        and not context.masters_due
        and context.latest_seq is not None
        and context.latest_seq <= context.journal_seq
    )


def known_masters(context: SubscriptionContext) -> set[str]:
    """The ids of the series masters this subscription knows (expanded before, or holding links)."""
    rows: Any = SeriesMaster.select(SeriesMaster.master_id).where(SeriesMaster.subscription == context.subscription_id)
    linked: Any = (
        AppointmentLink.select(AppointmentLink.series_id)
        .where((AppointmentLink.subscription == context.subscription_id) & AppointmentLink.series_id.is_null(False))
        .distinct()
    )
    return {master_id for (master_id,) in rows.tuples()} | {series_id for (series_id,) in linked.tuples()}


def record_masters(context: SubscriptionContext, expanded: Mapping[str, str | None], gone: Sequence[str]) -> None:
    """The masters expanded this cycle (with the change key seen, None: as before) for this
    window; those gone are forgotten."""
    first_day, last_day = context.window_days
    for master_id, change_key in expanded.items():
        values: dict[str, Any] = {"window_start": first_day, "window_end": last_day, "updated": now()}
        if change_key is not None:
            values["change_key"] = change_key
        SeriesMaster.insert(subscription=context.subscription_id, master_id=master_id, **values).on_conflict(
            conflict_target=[SeriesMaster.subscription, SeriesMaster.master_id],
            update={getattr(SeriesMaster, name): value for name, value in values.items()},
        ).execute()
    for chunk in _text_chunks(sorted(gone), 500):
        SeriesMaster.delete().where(
            (SeriesMaster.subscription == context.subscription_id) & SeriesMaster.master_id.in_(chunk)
        ).execute()


def _text_chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _within_window(row: AppointmentLink, window: tuple[dt.datetime, dt.datetime] | None) -> bool:
    """An occurrence's link lies in the window: its original start, and its start as agreed (an
    exception may have been moved), are inside it. One outside was not deleted when the
    expansion leaves it out: it left the window, and stays as it is."""
    if window is None:
        return True
    first, last = window
    agreed = parse_agreed(row.agreed)
    starts = [_parse_instant(row.original_start), agreed.start_instant if agreed is not None else None]
    return all(start is not None and first <= start <= last for start in starts)


FOLLOW_WITHIN = dt.timedelta(hours=12)


def _follow_moved_pattern(
    rows: Sequence[AppointmentLink],
    occurrences: Sequence[CalendarEntry],
    by_occurrence: dict[tuple[str, str], Any],
    window: tuple[dt.datetime, dt.datetime] | None,
) -> None:
    """The series' time changed in Outlook (its pattern's starts moved, within the day): each
    link whose original start the expansion no longer lists takes the new occurrence nearest to
    it, within FOLLOW_WITHIN, that no link holds (re-keyed to it), so that its appointment follows
    (an update, the appointment's bookings kept) instead of being deleted and made again. A link
    with no such occurrence is deleted as before; a new occurrence no link takes is new."""
    listed = {entry.occurrence_key for entry in occurrences}
    missing = [row for row in rows if (row.series_id, row.original_start) not in listed and _within_window(row, window)]
    fresh = [e for e in occurrences if e.occurrence_key is not None and e.occurrence_key not in by_occurrence]
    if not missing or not fresh:
        return
    taken: set[int] = set()
    for row in sorted(missing, key=lambda r: str(r.original_start)):
        was = _parse_instant(row.original_start)
        if was is None:
            continue
        nearest: tuple[dt.timedelta, int] | None = None
        for index, entry in enumerate(fresh):
            now_at = _parse_instant(entry.original_start)
            if index in taken or now_at is None or abs(now_at - was) > FOLLOW_WITHIN:
                continue
            if nearest is None or abs(now_at - was) < nearest[0]:
                nearest = (abs(now_at - was), index)
        if nearest is None:
            continue
        taken.add(nearest[1])
        key = fresh[nearest[1]].occurrence_key
        assert key is not None
        by_occurrence.pop((str(row.series_id), str(row.original_start)), None)
        row.original_start, row.updated = key[1], now()
        row.save()
        by_occurrence[key] = row.id


def observe(
    context: SubscriptionContext,
    remote_changes: Sequence[Change],
    series: Mapping[str, Sequence[CalendarEntry] | None] | None = None,
) -> Observed:
    """`series`: per master expanded this cycle, its occurrences in the window (None: the series
    is gone)."""
    series = series or {}
    if not series and nothing_happened(context, remote_changes):
        return Observed((), 0, context.journal_seq)
    _bury_expired(context)
    rows = list(AppointmentLink.select().where(AppointmentLink.subscription == context.subscription_id))
    links = {row.id: _as_link(row) for row in rows}
    rows_by_id = {row.id: row for row in rows}
    pending_rows = [row for row in rows if row.pending_create]
    by_local = {row.appointment_id: row.id for row in rows if row.appointment_id is not None}
    by_remote = {row.exchange_id: row.id for row in rows if row.exchange_id}
    by_external = {row.external_id: row for row in rows}
    pairings: dict[object, _Pairing] = {}
    unlabelled: list[tuple[int, Version]] = []
    strangers = {
        c.entry.external_id
        for c in remote_changes
        if c.entry and c.id not in by_remote and c.entry.external_id not in by_external
    }
    others = _others_external_ids(context, {e for e in strangers if e})

    by_occurrence = {
        (row.series_id, row.original_start): row.id for row in rows if row.series_id and row.original_start
    }

    def occurrence_seen(entry: CalendarEntry, key: tuple[str, str]) -> None:
        """An occurrence's version, to its link by (series, original start), or as a new item."""
        version = remote_version(entry)
        link_id = by_occurrence.get(key)
        if link_id is None:
            if context.shared is None or context.shared.takes(entry.categories):
                pairings[("remote", entry.id)] = _Pairing(None, remote=version)
            return
        row = rows_by_id[link_id]
        if entry.id and row.exchange_id != entry.id:  # an occurrence's id may change (made an exception)
            by_remote.pop(row.exchange_id or "", None)
            row.exchange_id, row.updated = entry.id, now()
            row.save()
            links[link_id], by_remote[entry.id] = _as_link(row), link_id
        sent = parse_agreed(row.sent)
        if sent is not None and sent.digest in (version.digest, entry.written):
            links[link_id] = _landed(row, sent)
        pairings.setdefault(link_id, _Pairing(links[link_id])).remote = version
        pairings[link_id].link = links[link_id]

    for change in remote_changes:
        item = calendar_entry(change)
        occurrence = item.occurrence_key if item is not None and change.kind != "delete" else None
        if item is not None and occurrence is not None:  # an occurrence looked up by its id
            occurrence_seen(item, occurrence)
            continue
        link_id = by_remote.get(change.id)
        version = remote_version(item) if change.kind != "delete" and item else None
        if link_id is None and item:
            holder = by_external.get(item.external_id or "")
            if holder is not None and holder.exchange_id is None:  # the create whose answer was lost: it landed
                tombstone = is_tombstone(holder)
                holder.exchange_id, holder.change_key, holder.pending_create = (
                    change.id,
                    item.change_key,
                    False,
                )
                if tombstone and version is not None and version.digest in _created_as(holder):
                    holder.digest = version.digest  # as sent: no change of a user's
                holder.updated = now()
                holder.save()
                links[holder.id], by_remote[change.id] = _as_link(holder), holder.id
                link_id = holder.id
                if tombstone:  # landed after its appointment (or Exchange copy) was gone: to be deleted
                    pairings.setdefault(holder.id, _Pairing(links[holder.id])).local = None
            elif holder is not None:  # a second item with the id of a linked one: a twin or a user's copy
                pairings[("remote", change.id)] = _Pairing(None, remote=version, copy_of=links[holder.id])
                continue
            elif item.external_id in others or not (context.shared is None or context.shared.takes(item.categories)):
                pairings.pop(("remote", change.id), None)
                continue  # another area's item on the same calendar
        if link_id is not None:
            if version is not None and item and item.external_id not in (None, rows_by_id[link_id].external_id):
                unlabelled.append((link_id, version))  # an adopted copy whose relabelling did not happen
                version = dataclasses.replace(version, change_key=None)  # its key is held once it is labelled
            sent = parse_agreed(rows_by_id[link_id].sent)
            written = item.written if item else None
            if sent is not None and version is not None and sent.digest in (version.digest, written):
                # an update whose answer was lost landed (and a user may have edited the item since)
                links[link_id] = _landed(rows_by_id[link_id], sent)
            pairings.setdefault(link_id, _Pairing(links[link_id])).remote = version
            pairings[link_id].link = links[link_id]
        elif version is not None:
            pairings.setdefault(("remote", change.id), _Pairing(None)).remote = version
        else:
            pairings.pop(("remote", change.id), None)  # made and gone again within this feed

    of_series: dict[str, list[AppointmentLink]] = {}
    for row in rows:
        if row.series_id and not is_tombstone(row):
            of_series.setdefault(row.series_id, []).append(row)
    for master_id, occurrences in series.items():
        rows_of = of_series.get(master_id, [])
        if occurrences is not None:
            _follow_moved_pattern(rows_of, occurrences, by_occurrence, context.options.window)
        listed: set[tuple[str, str]] = set()
        for seen in occurrences or ():
            key = seen.occurrence_key
            if key is not None:
                listed.add(key)
                occurrence_seen(seen, key)
        for row in rows_of:
            # the series gone: every occurrence is; else one the expansion left out within the window
            if occurrences is None or (
                (row.series_id, row.original_start) not in listed and _within_window(row, context.options.window)
            ):
                pairings.setdefault(row.id, _Pairing(links[row.id])).remote = None

    latest = journal.latest_seq()
    if not context.initial_done:
        assert context.options.window is not None
        first, _ = context.options.window
        query = Appointment.select().where(
            (Appointment.area == context.area_id)
            & (Appointment.end >= first.replace(tzinfo=None) - dt.timedelta(days=1))
        )
        candidates = {a.id: a for a in query}
        candidates_ids = set(candidates) | {row.appointment_id for row in rows if row.appointment_id is not None}
    else:
        candidates, candidates_ids = {}, set()
        seq = context.journal_seq
        while page := journal.changes_since(seq, limit=5000):
            for entry in page:
                if entry.table == "appointment" and context.area_id in (entry.area_id, entry.old_area_id):
                    candidates_ids.add(entry.row_id)
            seq = page[-1].seq
        latest = max(latest, seq)
        candidates_ids.update(context.due_local)  # come into the window: looked at as if changed
    missing = candidates_ids - set(candidates)
    for chunk in _chunks(sorted(missing), 500):
        candidates.update({a.id: a for a in Appointment.select().where(Appointment.id.in_(chunk))})
    for appointment_id in candidates_ids:
        appointment = candidates.get(appointment_id)
        local: Version | None = None  # deleted, or moved to another area
        if appointment is not None and appointment.area_id == context.area_id:
            local = local_version(appointment, context.zone)
        link_id = by_local.get(appointment_id)
        if link_id is not None:
            pairings.setdefault(link_id, _Pairing(links[link_id])).local = local
        elif local is not None:
            pairings.setdefault(("local", appointment_id), _Pairing(None)).local = local

    for row in pending_rows:
        # a create whose outcome was unknown and that Exchange turned out not to have: it is new
        # again (sent with the same external id), unless Exchange reported it after all
        if row.exchange_id is not None or row.appointment_id is None or row.stopped:
            continue
        pairing = pairings.pop(row.id, None)
        if pairing is not None and pairing.remote is not UNCHANGED:
            pairings[row.id] = pairing
            continue
        appointment = Appointment.get_or_none(Appointment.id == row.appointment_id)
        if appointment is not None and appointment.area_id == context.area_id:
            pairings[("local", row.appointment_id)] = _Pairing(None, local=local_version(appointment, context.zone))
        else:
            forget(row)
    observations = tuple(Observation(p.link, p.local, p.remote, p.copy_of) for p in pairings.values())
    alive = [row for row in rows if not is_tombstone(row)]
    linked = sum(1 for row in alive if not row.series_id) + len({row.series_id for row in alive if row.series_id})
    return Observed(observations, linked, latest, tuple(unlabelled))


def add_auto_contacts(context: SubscriptionContext, journal_seq: int) -> int:
    """Auto sync contacts: persons booked into the area's appointments join the user's contact
    sync list. The first cycle looks at every booking of the area, later ones at the bookings
    the journal reports. Returns how many persons were added."""
    if not context.auto_sync_contacts:
        return 0
    if not context.initial_done:
        rows: Any = Booking.select(Booking.person).join(Appointment).where(Appointment.area == context.area_id)
        booked = {person_id for (person_id,) in rows.tuples()}
    else:
        booked, seq = set(), context.journal_seq
        while page := journal.changes_since(seq, limit=5000):
            booked |= {
                c.person_id
                for c in page
                if c.table == "booking"
                and c.operation != "delete"
                and c.area_id == context.area_id
                and c.person_id is not None
            }
            seq = page[-1].seq
            if seq >= journal_seq:
                break
    if not booked:
        return 0
    user_id = CalendarSubscription.get_by_id(context.subscription_id).user_id
    listed = (ContactSubscription.user == user_id) & ContactSubscription.person.in_(list(booked))
    existing = {row.person_id for row in ContactSubscription.select(ContactSubscription.person).where(listed)}
    alive = {p.id for p in Person.select(Person.id).where(Person.id.in_(list(booked - existing)))}
    for person_id in sorted(alive):
        ContactSubscription.create(user=user_id, person=person_id, source="auto", created=now())
    return len(alive)


def _chunks(values: list[int], size: int) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# -- recording results ---------------------------------------------------------------------------


def new_external_id(subscription_id: int) -> str:
    return f"pccaddie:{subscription_id}:{uuid.uuid4().hex}"


def prepare_exchange_creates(
    context: SubscriptionContext, sources: Sequence[tuple[Version, Link | None]]
) -> list[tuple[int, CalendarEntry]]:
    """Record each create as pending (with its external id) before it is sent: a crash after
    sending is then found again by that id, never sent twice. Returns (link id, entry).
    The common case, an appointment no link holds yet, is written in bulk (one SELECT and one
    INSERT of the batch); a create sent before goes row by row (`_prepare_again`)."""
    sid = context.subscription_id
    keys = [int(source.key) for source, _ in sources]
    existing = {
        row.appointment_id: row
        for chunk in _chunks(keys, 500)
        for row in AppointmentLink.select().where(
            (AppointmentLink.subscription == sid) & AppointmentLink.appointment_id.in_(chunk)
        )
    }
    stamp = now()
    fresh: list[dict[str, Any]] = [
        {
            "subscription": sid,
            "appointment_id": int(source.key),
            "exchange_id": None,
            "change_key": None,
            "digest": source.digest,
            "origin": Side.PCCADDIE.value,
            "external_id": new_external_id(sid),
            "pending_create": True,
            "title": source.title,
            "updated": stamp,
            "creates_sent": 1,
            "creates": json.dumps([source.digest]),
        }
        for source, link in sources
        if link is None and int(source.key) not in existing
    ]
    made: dict[int, tuple[int, str]] = {}  # appointment id → (link id, external id)
    for start in range(0, len(fresh), 100):
        rows = fresh[start : start + 100]
        ids = _insert_links(rows)
        made.update({row["appointment_id"]: (ids[row["appointment_id"]], row["external_id"]) for row in rows})
    prepared = []
    for source, link in sources:
        key = int(source.key)
        if link is None and key in made:
            link_id, external_id = made[key]
        else:
            row = _prepare_again(context, source, link, existing.get(key))
            link_id, external_id = row.id, row.external_id
        entry = to_entry(source.content, context.zone, external_id, context.reminder_minutes, context.area_name)
        prepared.append((link_id, entry))
    return prepared


def _insert_links(rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """New links in one INSERT … RETURNING; the fields a row leaves out get the model's defaults.
    Returns appointment id → link id. (peewee's insert_many spends most of the time building
    the statement; this is the same statement, built once per batch.)"""
    fields = [field for field in AppointmentLink._meta.sorted_fields if field.name != "id"]
    values: list[Any] = []
    for row in rows:
        for f in fields:
            value = row[f.name] if f.name in row else (f.default() if callable(f.default) else f.default)
            values.append(f.db_value(value))
    one = "(" + ", ".join("?" * len(fields)) + ")"
    columns = ", ".join(f.column_name for f in fields)
    cursor = AppointmentLink._meta.database.execute_sql(
        f"INSERT INTO {AppointmentLink._meta.table_name} ({columns}) VALUES {', '.join([one] * len(rows))}"
        " RETURNING id, appointment_id",
        values,
    )
    return {appointment_id: link_id for link_id, appointment_id in cursor.fetchall()}


def _prepare_again(
    context: SubscriptionContext, source: Version, link: Link | None, existing: AppointmentLink | None
) -> AppointmentLink:
    """A create of an appointment a link holds already: sent before with an unknown outcome, or
    made again (its Exchange item was deleted)."""
    if link is None and existing is not None:  # a create sent before whose outcome was unknown
        link = _as_link(existing)
    if link is None:
        return AppointmentLink.create(
            subscription=context.subscription_id,
            appointment_id=int(source.key),
            exchange_id=None,
            change_key=None,
            digest=source.digest,
            origin=Side.PCCADDIE.value,
            external_id=new_external_id(context.subscription_id),
            pending_create=True,
            title=source.title,
            updated=now(),
            creates_sent=1,
            creates=json.dumps([source.digest]),
        )
    row = AppointmentLink.get_by_id(link.id)
    again = row.pending_create and row.creates_sent >= 1  # sent again: its outcome was unknown
    row.creates_sent = row.creates_sent + 1 if again else 1
    row.creates = json.dumps([*(_created_as(row) if again else []), source.digest][-20:])
    row.exchange_id, row.change_key, row.digest, row.pending_create = None, None, source.digest, True
    row.appointment_id, row.title, row.updated = int(source.key), source.title, now()
    row.series_id, row.original_start = None, None  # made again as a single item: never a series
    row.save()
    return row


def record_exchange_results(
    context: SubscriptionContext,
    outcomes: Sequence[tuple[int, str, ItemResult | None, AppointmentContent | None, str | None]],
    held: Sequence[AppointmentContent | None] = (),
) -> list[tuple[str, bool]]:
    """(link id, action, result or None, content written, change key sent) per item; `held`:
    per item, what the decision saw Exchange hold, if it saw it. Returns (error, stopped now) per
    failure. The change key sent is kept even when the write failed: the Exchange version it names
    was accounted for by this cycle's decision (and a newer one will come with the next changes);
    what that version holds is then what the next write is compared with, so that it writes every
    field in which the winner differs."""
    errors = []
    confirmed = []  # the common case, a create or an update Exchange confirmed: written in bulk below
    for index, (link_id, action, result, content, sent_change_key) in enumerate(outcomes):
        if result is not None and result.ok and action != "delete" and content is not None:
            confirmed.append((link_id, action, result, content))
            continue
        held_content = held[index] if index < len(held) else None
        row = AppointmentLink.get_or_none(AppointmentLink.id == link_id)
        if row is None:
            continue
        if result is not None and result.ok:
            if action == "delete":
                forget(row)
                continue
            row.exchange_id = result.id or row.exchange_id
            row.change_key = result.change_key or row.change_key
            row.pending_create, row.attempts, row.last_error = False, 0, None
            if action == "create":
                row.verify = True  # a user may delete it before the next read, and Exchange then tells nothing
            if content is not None:
                row.digest, row.agreed = content.digest, agreed_json(content)
            row.sent = None
        else:
            if result is not None:
                row.sent = None  # answered: it did not happen
            error = result.error if result is not None else None
            code, message = (error.code, error.message) if error is not None else ("unknown", "no answer")
            if action == "delete" and code == "not_found":
                forget(row)
                continue
            if action == "update" and code == "not_found":  # deleted in Exchange meanwhile: made again next cycle
                row.exchange_id, row.change_key, row.updated = None, None, now()
                row.save()
                errors.append((f"update in Exchange: {code}: {message}", False))
                continue
            if sent_change_key:
                row.change_key = sent_change_key
                if held_content is not None and code != "conflict":
                    row.agreed = agreed_json(held_content)
            if code == "busy":  # an earlier create of it is still running in the gateway: not a failure
                row.updated = now()
                row.save()
                errors.append((f"{action} in Exchange: {code}: {message}", False))
                continue
            if action == "update" and code == "conflict":
                row.verify = True  # Exchange holds a version this cycle did not see: read it next cycle
            row.attempts += 1  # a failed create stays owed (pending_create) until it succeeds or stops
            row.last_error = f"{action} in Exchange: {code}: {message}"
            row.stopped = row.attempts >= context.max_attempts
            errors.append((row.last_error, row.stopped))
        row.updated = now()
        row.save()
    _record_confirmed(confirmed)
    return errors


def _record_confirmed(
    confirmed: Sequence[tuple[int, str, ItemResult, AppointmentContent]],
) -> None:
    """Creates and updates Exchange confirmed, as `record_exchange_results` records one: its id and
    change key, the content agreed, nothing owed; a create is verified by the next read (a user may
    delete it before, and Exchange then tells nothing). One statement for the batch."""
    if not confirmed:
        return
    stamp = str(now())
    values = [
        (
            result.id or None,
            result.change_key or None,
            1 if action == "create" else None,
            content.digest,
            agreed_json(content),
            stamp,
            link_id,
        )
        for link_id, action, result, content in confirmed
    ]
    AppointmentLink._meta.database.connection().executemany(
        "UPDATE appointment_link SET exchange_id = coalesce(?, exchange_id), change_key = coalesce(?, change_key),"
        " pending_create = 0, attempts = 0, last_error = NULL, verify = coalesce(?, verify), digest = ?,"
        " agreed = ?, sent = NULL, updated = ? WHERE id = ?",
        values,
    )


def record_sending(link_contents: Sequence[tuple[int, AppointmentContent]]) -> None:
    """Before updates are sent: what each will write, so that a lost answer is recognised by the
    version it made (the next feed reports it) instead of meeting it as a stranger's change."""
    for link_id, content in link_contents:
        AppointmentLink.update(sent=agreed_json(content)).where(AppointmentLink.id == link_id).execute()


def record_labels(results: Sequence[tuple[int, ItemResult]]) -> None:
    """The change keys of users' copies that now carry their own link's external id. Until then
    the link holds no change key, so that every read fetches the copy: a label that failed or was
    never sent (the service killed before it) is noticed there and written then."""
    for link_id, result in results:
        if result.ok:
            values: dict[str, Any] = {"updated": now()}
            if result.change_key:
                values["change_key"] = result.change_key
            AppointmentLink.update(**values).where(AppointmentLink.id == link_id).execute()


def apply_local(context: SubscriptionContext, action: str, link: Link | None, source: Version | None) -> int | None:
    """Write one decision into PC CADDIE (and the link). A create of a user's copy (`adopt`) makes
    a new link with an external id of its own; its id is returned, to write that id onto the copy."""
    if action in ("create", "adopt"):
        assert source is not None
        appointment = Appointment.create(
            area=context.area_id, created=now(), modified=now(), **to_local_values(source.content, context.zone)
        )
        if link is None:
            # a user's copy is read in full until its label is written (record_labels): no change key held
            series_id, original_start = source.series or (None, None)
            row = AppointmentLink.create(
                subscription=context.subscription_id,
                appointment_id=appointment.id,
                exchange_id=source.key,
                series_id=series_id,
                original_start=original_start,
                change_key=source.change_key if action == "create" else None,
                digest=source.digest,
                origin=Side.EXCHANGE.value,
                external_id=new_external_id(context.subscription_id),
                title=source.title,
                updated=now(),
                agreed=agreed_json(source.content),
                verify=True,  # until a saved sync state covers it
            )
            return row.id if action == "adopt" else None
        AppointmentLink.update(
            appointment_id=appointment.id,
            digest=source.digest,
            change_key=source.change_key,
            exchange_id=source.key,
            title=source.title,
            updated=now(),
            agreed=agreed_json(source.content),
        ).where(AppointmentLink.id == link.id).execute()
    elif action == "update":
        assert source is not None and link is not None
        values = to_local_values(source.content, context.zone)
        current = Appointment.get_or_none(Appointment.id == int(link.local_key or 0))
        for name in ("title", "location"):  # a text Exchange holds shortened stays whole in PC CADDIE
            whole = getattr(current, name) if current is not None else None
            if whole is not None and whole != values[name] and shorten(whole) == values[name]:
                values[name] = whole
        Appointment.update(modified=now(), **values).where(Appointment.id == int(link.local_key or 0)).execute()
        AppointmentLink.update(
            digest=source.digest,
            agreed=agreed_json(source.content),
            change_key=source.change_key or link.change_key,
            title=source.title,
            attempts=0,
            last_error=None,
            updated=now(),
        ).where(AppointmentLink.id == link.id).execute()
    elif action == "delete":
        assert link is not None
        if link.local_key is not None:
            Appointment.delete().where(Appointment.id == int(link.local_key)).execute()
        unlink(link)
    return None


def pair(context: SubscriptionContext, local: Version, remote: Version) -> None:
    series_id, original_start = remote.series or (None, None)
    AppointmentLink.create(
        subscription=context.subscription_id,
        appointment_id=int(local.key),
        exchange_id=remote.key,
        series_id=series_id,
        original_start=original_start,
        change_key=remote.change_key,
        digest=local.digest,
        origin=Side.PCCADDIE.value,
        external_id=new_external_id(context.subscription_id),
        title=local.title,
        updated=now(),
        agreed=agreed_json(local.content),
        verify=True,  # until a saved sync state covers it
    )


def relink(
    link: Link,
    digest: str,
    change_key: str | None,
    forget_remote: bool,
    content: Any = None,
    content_unknown: bool = False,
) -> None:
    values: dict[str, Any] = {"digest": digest, "updated": now()}
    if content is not None:
        values["agreed"] = agreed_json(content)
    elif digest != link.digest or content_unknown:
        values["agreed"] = None  # not known: the next write sends every field
    if change_key:
        values["change_key"] = change_key
    if forget_remote:
        values.update(exchange_id=None, change_key=None)
    AppointmentLink.update(**values).where(AppointmentLink.id == link.id).execute()


def unlink(link: Link) -> None:
    row = AppointmentLink.get_or_none(AppointmentLink.id == link.id)
    if row is not None:
        forget(row)


def record_conflict(context: SubscriptionContext, link: Link, winner: Side, loser: Version) -> None:
    SyncConflict.create(
        user=context.user_id,
        subscription=context.subscription_id,
        appointment_id=int(link.local_key) if link.local_key else None,
        exchange_id=link.remote_key,
        winner=winner.value,
        loser_content=json.dumps({"side": winner.other.value, **asdict(loser.content)}, ensure_ascii=False),
        created=now(),
    )


def finish(
    context: SubscriptionContext,
    cycle_started: dt.datetime,
    sync_state: str | None,
    journal_seq: int | None,
    statistics: Mapping[str, Mapping[str, int]],
    report: Sequence[tuple[str, str, str, str, str]],
    error: str | None,
    verified: Sequence[str] = (),
) -> None:
    """Record the cycle: its positions, statistics and report. `verified`: Exchange ids of links
    to verify that the cycle saw, given only when `sync_state` covers them (until it is saved, a
    user's deletion of one would be told by no later read: they stay verified till then)."""
    same_position = sync_state in (None, context.sync_state) and journal_seq in (None, context.journal_seq)
    unchanged = same_position and context.initial_done and not statistics_any(statistics) and not report
    unchanged = unchanged and error is None and not verified
    if unchanged:
        return  # an idle cycle writes nothing (no commit, no fsync)
    state = SubscriptionState.get_or_none(SubscriptionState.subscription == context.subscription_id)
    if state is None or CalendarSubscription.get_or_none(CalendarSubscription.id == context.subscription_id) is None:
        return  # removed (`calendar remove`, or its user) while the cycle ran: nothing left to record
    if verified:
        clear_verified(link_ids_of(context, verified))
    if sync_state is not None:
        state.sync_state = sync_state
    if journal_seq is not None:
        state.journal_seq = journal_seq
        state.initial_done = True
    state.last_cycle, state.last_error = cycle_started, error
    state.save()
    for direction, counts in statistics.items():
        if any(counts.values()):
            SyncStatistic.create(
                user=context.user_id,
                cycle_started=cycle_started,
                subscription=context.subscription_id,
                direction=direction,
                **counts,
            )
    lines = [
        {
            "user": context.user_id,
            "cycle_started": cycle_started,
            "subscription": context.subscription_id,
            "action": action,
            "side": side,
            "item": item,
            "title": title,
            "detail": detail,
        }
        for action, side, item, title, detail in report
    ]
    for start in range(0, len(lines), 100):
        SyncReportLine.insert_many(lines[start : start + 100]).execute()


def statistics_any(statistics: Mapping[str, Mapping[str, int]]) -> bool:
    return any(any(counts.values()) for counts in statistics.values())


def defer(context: SubscriptionContext, skips: Sequence[Any]) -> None:
    """New items beyond the window's end: remembered, to be looked at when the window reaches them
    (before its start they never come into it)."""
    assert context.options.window is not None
    _, end = context.options.window
    for skip in skips:
        if skip.reason == "outside-window" and skip.start is not None and skip.start > end:
            DeferredItem.insert(
                subscription=context.subscription_id,
                side=skip.side.value,
                item_key=skip.key,
                starts_at=skip.start.astimezone(UTC).replace(tzinfo=None),
            ).on_conflict(
                conflict_target=[DeferredItem.subscription, DeferredItem.side, DeferredItem.item_key],
                update={DeferredItem.starts_at: skip.start.astimezone(UTC).replace(tzinfo=None)},
            ).execute()


def clear_due(context: SubscriptionContext) -> None:
    ids = [row_id for row_id, _, _ in context.due]
    for start in range(0, len(ids), 500):
        DeferredItem.delete().where(DeferredItem.id.in_(ids[start : start + 500])).execute()


def clear_verified(link_ids: Sequence[int]) -> None:
    for start in range(0, len(link_ids), 500):
        chunk = list(link_ids[start : start + 500])
        AppointmentLink.update(verify=False).where(AppointmentLink.id.in_(chunk)).execute()


def linked_exchange_ids(context: SubscriptionContext) -> list[str]:
    """The Exchange ids of this subscription's links."""
    rows: Any = AppointmentLink.select(AppointmentLink.exchange_id).where(
        (AppointmentLink.subscription == context.subscription_id) & AppointmentLink.exchange_id.is_null(False)
    )
    return [str(exchange_id) for (exchange_id,) in rows.tuples()]


def link_ids_of(context: SubscriptionContext, exchange_ids: Sequence[str]) -> list[int]:
    ids = list(exchange_ids)
    found: list[int] = []
    for start in range(0, len(ids), 500):
        found += [
            row.id
            for row in AppointmentLink.select(AppointmentLink.id).where(
                (AppointmentLink.subscription == context.subscription_id)
                & AppointmentLink.exchange_id.in_(ids[start : start + 500])
            )
        ]
    return found


def start_afresh(subscription_id: int) -> None:
    """Forget what was agreed with an Exchange calendar that no longer exists: the next cycle is a
    first sync into the new one (PC CADDIE's appointments untouched)."""
    AppointmentLink.delete().where(AppointmentLink.subscription == subscription_id).execute()
    SeriesMaster.delete().where(SeriesMaster.subscription == subscription_id).execute()
    SubscriptionState.update(sync_state=None, journal_seq=0, initial_done=False).where(
        SubscriptionState.subscription == subscription_id
    ).execute()


def pause(subscription_id: int, reason: str) -> None:
    CalendarSubscription.update(paused_reason=reason).where(CalendarSubscription.id == subscription_id).execute()


def active_subscriptions() -> list[int]:
    return [s.id for s in CalendarSubscription.select(CalendarSubscription.id).order_by(CalendarSubscription.id)]
