"""An in-memory Exchange mailbox behind the ExchangeClient interface, for the engine's tests.

It behaves as Exchange (through the gateway) does, and tests/contract holds it to that:
- every write gets a new change key and is reported by the change feed, the sync's own included;
  the feed gives ids and change keys, not items (the engine fetches with `get`);
- the feed works as SyncFolderItems does: a sync state is what the client has been told (each
  item at the version it got), and the next read reports one change per item that differs now,
  oldest first, at most `max_changes` (1 to 512) a page. So an item made and deleted between two
  reads is not reported at all, made and changed is one create with the latest change key, and a
  page tells items as they are now;
- items of kinds the sync does not handle (a contact group, a message in a calendar) are reported
  as `unsupported`, and `get` answers them so;
- entries are checked and answered in the gateway's schema (exchange_gateway/ews/entries): `get`
  gives every field there (`items` holds what each item has set), `last_modified` set on every
  write; `kind` (calendar or contacts) is given or taken from the first entry; a request the gateway refuses (an entry
  it cannot read, an update naming no writable field, a page size out of range) is refused as a
  whole (`MailboxTrouble("invalid")`); the sync writes bodies as text (`body_html` False), a
  formatted body a user writes reads as its text conversion; writing start, end or all_day writes
  all of them and the time zone; a contact's display name is made from its names when empty;
- a conflict (stale change key) or a missing item is answered per item; deleting what is already
  gone is done, as the gateway answers it;
- a folder that is not there (never ensured, or cleared from `folders`) is `not_found` for changes,
  create and find_external. The fake is one folder: every item is in whichever folder is named.

The interface speaks the wire's entries (protocol/entries.py), as GatewayExchangeClient does: what
comes in is turned into its wire form (`to_wire`, as the client sends it) and checked the way the
gateway checks it, and every answer is built on the wire and read back with `from_wire`, so that
an answer the client would refuse fails here too.

Recurring series (issue 17) as Exchange keeps them: a series is its master (an item of the
folder, `series_type` "master", in the feed and in `get` like any other) and a pattern (daily or
weekly, every n, a count or an end date or endless) laid out in the series' own time zone, so that a
weekly 18:00 stays 18:00 on the wall across DST; its occurrences are not items of the folder:
`occurrences` expands them (overlapping the window, an item ending exactly at its start included,
sorted by original start; `not_found` for a master that is gone), and `get` answers an occurrence's
id. An update of an occurrence makes it an exception (the series stays a series), a delete of one
deletes that occurrence only; either is a change of the master in the feed (its change key
changes), as is any user's change of an occurrence. Editing the series' time or pattern drops
its exceptions and deleted occurrences, as Outlook does; editing its other fields leaves the
exceptions as they are.

Any operation can fail before or after it takes effect: `before` leaves nothing done; `after`
does the work and loses the answer (as a timeout does); `late` loses the answer and does the work
only at the end of the next create, after the lookup by external id found nothing (a create still
running in a thread the gateway abandoned, as can happen when the gateway is restarted);
`item` answers each item with the error.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from exchange_gateway.ews.convert import display_name
from exchange_gateway.fitting import fit
from exchange_standin.bodies import html_to_text
from protocol.entries import (
    CALENDAR_FIELDS,
    CONTACT_FIELDS,
    MAX_SERIES,
    CalendarEntry,
    ChangePage,
    ContactEntry,
    EntryError,
    Fetched,
    Found,
    ItemRef,
    ItemResult,
    NewItem,
    Occurrences,
    UpdateRequest,
    contacts_from_wire,
    request_wire,
)
from sync_service.engine.exchange_client import MailboxTrouble

MAX_CHANGES = 512
SEARCH_LIMIT = 50  # the gateway's search_contacts answers at most this many
STATE_PREFIX = "fake-state:"
WHEN_FIELDS = {"start", "end", "all_day"}  # written together, with the time zone, as the gateway does
NAME_FIELDS = {"given_name", "surname", "display_name"}
CALENDAR_ONLY = set(CALENDAR_FIELDS) - set(CONTACT_FIELDS)  # how an entry tells its kind
CONTACT_ONLY = set(CONTACT_FIELDS) - set(CALENDAR_FIELDS)
CALENDAR_DEFAULTS = CalendarEntry(subject="", start="", end="").to_wire()  # what the gateway answers for unset
CONTACT_DEFAULTS = ContactEntry().to_wire()
READ_ONLY = {
    "id",
    "change_key",
    "last_modified",
    "recurring",
    "body_html",
    "series_type",
    "series_id",
    "original_start",
}
PATTERN_FIELDS = {"start", "end", "all_day", "timezone", "every", "interval", "count", "until"}


def _instant(text: str) -> dt.datetime:
    """A UTC instant; an all-day entry's day as its midnight, UTC."""
    if len(text) == 10:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _wire_instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Series:
    """A series' pattern and what became of single occurrences: `exceptions` by original start (each
    its own id, change key and the fields it changed), `deleted` original starts."""

    every: str  # daily | weekly
    interval: int = 1
    count: int | None = None  # occurrences in all
    until: str | None = None  # the last day an occurrence may start on ('YYYY-MM-DD', series' time zone)
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Failure:
    op: str
    when: str  # before | after | late | item (a per-item error answer)
    code: str = "timeout"
    count: int = 1


@dataclass
class FakeExchange:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[int, str, str]] = field(default_factory=list)  # (change number, id, kind) of every write
    failures: list[Failure] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    kind: str | None = None  # calendar or contacts; None: as the first entry written looks
    clock: Callable[[], str] = utc_now  # last_modified of a write
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _late: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    _versions: dict[str, int] = field(default_factory=dict)  # item id → change number of its version
    _tombstones: dict[str, int] = field(default_factory=dict)  # deleted item id → change number of that
    series: dict[str, Series] = field(default_factory=dict)  # master id → its pattern and exceptions
    new_exception_ids: bool = False  # an occurrence made an exception gets an id of its own (else it keeps its id)

    # -- the user, in Outlook ---------------------------------------------------------------------

    def _kind_of(self, entry: Any) -> str:
        """The mailbox's kind: as given, else as the first entry written looks."""
        if self.kind is None:
            names = set(entry) if isinstance(entry, Mapping) else set()
            self.kind = "contacts" if names & CONTACT_ONLY and not names & CALENDAR_ONLY else "calendar"
        return self.kind

    def _base(self) -> dict[str, Any]:
        if self.kind == "contacts":
            return {**{name: "" for name in CONTACT_FIELDS}, "emails": [], "external_id": None}
        return {
            "subject": "",
            "body": "",
            "body_html": False,
            "location": "",
            "all_day": False,
            "private": False,
            "timezone": "UTC",
            "reminder_minutes": 15,
            "categories": [],
            "external_id": None,
            "recurring": False,
        }

    @staticmethod
    def _as_typed(changes: Mapping[str, Any]) -> dict[str, Any]:
        """A body the user writes: `body_html=True` with markup reads as its text conversion, a body
        without `body_html` is plain text."""
        changes = dict(changes)
        if "body" in changes:
            if changes.get("body_html"):
                changes["body"] = html_to_text(changes["body"]).replace("\r\n", "\n").rstrip()
            changes.setdefault("body_html", False)
        return changes

    def user_create(self, **entry: Any) -> str:
        self._kind_of(entry)
        item = {**self._base(), **self._as_typed(entry)}
        if self.kind == "contacts" and not item["display_name"]:
            item["display_name"] = display_name(ContactEntry.from_wire(item))
        return self._add(item)

    def user_create_group(self, name: str) -> str:
        """A contact group (or any item of a kind the sync does not handle)."""
        return self._add({"item_type": "DistributionList", "display_name": name})

    def user_create_message(self, subject: str) -> str:
        """A message lying in the calendar (a meeting request, say): not a calendar item."""
        return self._add({"item_type": "Message", "subject": subject})

    def user_copy(self, item_id: str, **changes: Any) -> str:
        """Outlook's copy of an item: every property, our extended property included; a copy of an
        occurrence is a single item."""
        source = self.items[item_id] if item_id in self.items else self._occurrence(item_id)
        assert source is not None, f"no item {item_id}"
        left_out = ("id", "change_key", "last_modified", "series_type", "series_id", "original_start")
        original = {k: v for k, v in source.items() if k not in left_out}
        if item_id not in self.items:
            original["recurring"] = False
        return self._add({**copy.deepcopy(original), **self._as_typed(changes)})

    def user_update(self, item_id: str, **changes: Any) -> str:
        """An item edited in Outlook (an occurrence becomes an exception); returns its id now."""
        if item_id not in self.items:
            found = self._occurrence_of(item_id)
            assert found is not None, f"no item {item_id}"
            self._make_exception(*found, self._as_typed(changes))
            return self.occurrence_id(*found)
        self._write(item_id, self._as_typed(changes))
        return item_id

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """What a user sees in Outlook, by id: the single items (and items of other kinds) and
        every occurrence of every series, from 60 days back to 460 ahead; not the masters."""
        found = {i: item for i, item in self.items.items() if item.get("series_type") != "master"}
        now = dt.datetime.now(dt.timezone.utc)
        start, end = (_wire_instant(now + dt.timedelta(days=days)) for days in (-60, 460))
        for master_id in self.series:
            found.update({str(view["id"]): view for view in self._expand(master_id, start, end)})
        return found

    def user_delete(self, item_id: str) -> None:
        if item_id not in self.items and self._occurrence_of(item_id) is not None:
            master_id, original = self._occurrence_of(item_id) or ("", "")
            self.user_delete_occurrence(master_id, original)
            return
        del self.items[item_id]
        self.series.pop(item_id, None)
        self._versions.pop(item_id, None)
        self._tombstones[item_id] = self._logged(item_id, "delete")

    # -- the user's recurring series --------------------------------------------------------------

    def user_create_series(
        self,
        subject: str,
        start: str,
        end: str,
        every: str = "weekly",
        interval: int = 1,
        count: int | None = None,
        until: str | None = None,
        timezone: str = "Europe/Berlin",
        **entry: Any,
    ) -> str:
        """A series whose first occurrence is [start, end] (UTC instants), repeating every
        `interval` days or weeks at the same wall time in `timezone`; endless without count/until."""
        assert every in ("daily", "weekly") and interval >= 1
        self._kind_of({"subject": subject, "start": start})
        item = {
            **self._base(),
            **self._as_typed(entry),
            "subject": subject,
            "start": start,
            "end": end,
            "timezone": timezone,
            "recurring": True,
            "series_type": "master",
        }
        master_id = self._add(item)
        self.series[master_id] = Series(every, interval, count, until)
        return master_id

    def user_update_series(self, master_id: str, **changes: Any) -> None:
        """The series edited in Outlook: its fields, time or pattern (every, interval, count,
        until); a new time or pattern drops the exceptions and deleted occurrences."""
        series = self.series[master_id]
        repattern = bool(set(changes) & PATTERN_FIELDS)
        for name in ("every", "interval", "count", "until"):
            if name in changes:
                setattr(series, name, changes.pop(name))
        if repattern:
            series.exceptions.clear()
            series.deleted.clear()
        self._write(master_id, self._as_typed(changes))

    def user_end_series(self, master_id: str, until: str) -> None:
        """The series' end moved (Outlook keeps the exceptions before it)."""
        self.series[master_id].until = until
        self._write(master_id, {})

    def user_update_occurrence(self, master_id: str, original_start: str, **changes: Any) -> None:
        """One occurrence moved or edited in Outlook: it becomes an exception."""
        self._make_exception(master_id, original_start, self._as_typed(changes))

    def user_delete_occurrence(self, master_id: str, original_start: str) -> None:
        series = self.series[master_id]
        series.deleted.add(original_start)
        series.exceptions.pop(original_start, None)
        self._write(master_id, {})

    def occurrence_id(self, master_id: str, original_start: str) -> str:
        """An occurrence's id; an exception keeps the one it got when it was made."""
        exception = self.series[master_id].exceptions.get(original_start)
        return str(exception["id"]) if exception else f"{master_id}.{original_start}"

    def originals(self, master_id: str, start: str, end: str) -> list[str]:
        """The original starts of the series' occurrences overlapping [start, end]."""
        return [str(o["original_start"]) for o in self._expand(master_id, start, end)]

    def _make_exception(self, master_id: str, original_start: str, changes: Mapping[str, Any]) -> str:
        series = self.series[master_id]
        if original_start in series.deleted or original_start not in self._pattern_starts(master_id, original_start):
            raise KeyError(original_start)
        if original_start not in series.exceptions:  # an exception holds all of its own, the master's no more
            ends = dict(self._pattern(master_id, _instant(original_start)))[original_start]
            view = self._occurrence_view(master_id, original_start, ends)
            own = {k: v for k, v in view.items() if k not in READ_ONLY}
            own_id = f"AAMkX{next(self._ids):06d}" if self.new_exception_ids else view["id"]
            series.exceptions[original_start] = {**own, "id": own_id}
        exception = series.exceptions[original_start]
        exception.update({"last_modified": self.clock(), **changes, "change_key": self._new_key()})
        self._write(master_id, {})
        return str(exception["change_key"])

    def _pattern_starts(self, master_id: str, until_start: str) -> list[str]:
        """The pattern's original starts, up to and including `until_start`."""
        return [o for o, _ in self._pattern(master_id, _instant(until_start))]

    def _pattern(self, master_id: str, last_start: dt.datetime) -> list[tuple[str, str]]:
        """(original start, original end) of each occurrence the pattern makes starting up to
        `last_start`: the same wall time in the series' time zone every time."""
        master, series = self.items[master_id], self.series[master_id]
        zone = ZoneInfo(master["timezone"])
        first = _instant(master["start"]).astimezone(zone)
        length = _instant(master["end"]) - _instant(master["start"])
        step = dt.timedelta(days=series.interval * (7 if series.every == "weekly" else 1))
        wall = first.replace(tzinfo=None)
        made: list[tuple[str, str]] = []
        while series.count is None or len(made) < series.count:
            if series.until is not None and wall.date().isoformat() > series.until:
                break
            begins = wall.replace(tzinfo=zone)
            if begins > last_start:
                break
            made.append((_wire_instant(begins), _wire_instant(begins + length)))
            wall += step
        return made

    def _occurrence_view(self, master_id: str, original: str, original_end: str) -> dict[str, Any]:
        master = self.items[master_id]
        exception = self.series[master_id].exceptions.get(original)
        fields = {k: v for k, v in master.items() if k not in ("id", "change_key", "last_modified")}
        view = {**fields, "start": original, "end": original_end, "last_modified": master["last_modified"]}
        view.update(
            id=f"{master_id}.{original}",
            change_key=f"{master['change_key']}.o",
            series_type="occurrence",
            series_id=master_id,
            original_start=original,
        )
        if exception is not None:
            view.update(exception)
            view["series_type"] = "exception"
        return self._view(view)

    def _expand(self, master_id: str, start: str, end: str) -> list[dict[str, Any]]:
        window_start, window_end = _instant(start), _instant(end)
        series = self.series[master_id]
        # an exception may have moved: look a little past the window for those moved into it
        reach = window_end + dt.timedelta(days=series.interval * 7 + 1)
        found = []
        for original, original_end in self._pattern(master_id, reach):
            if original in series.deleted:
                continue
            view = self._occurrence_view(master_id, original, original_end)
            if _instant(view["end"]) >= window_start and _instant(view["start"]) < window_end:  # as CalendarView
                found.append(view)
        return sorted(found, key=lambda v: str(v["original_start"]))

    def _occurrence_of(self, item_id: str) -> tuple[str, str] | None:
        """(master id, original start) of an occurrence's id, if it is one of a series here."""
        for master_id, series in self.series.items():
            for original, exception in series.exceptions.items():
                if exception["id"] == item_id:
                    return master_id, original
            if item_id.startswith(f"{master_id}."):
                original = item_id[len(master_id) + 1 :]
                if (original not in series.exceptions or not self.new_exception_ids) and original not in series.deleted:
                    if original in self._pattern_starts(master_id, original):
                        return master_id, original
        return None

    def _occurrence(self, item_id: str) -> dict[str, Any] | None:
        found = self._occurrence_of(item_id)
        if found is None:
            return None
        master_id, original = found
        for begins, ends in self._pattern(master_id, _instant(original)):
            if begins == original:
                return self._occurrence_view(master_id, original, ends)
        return None

    async def occurrences(self, folder: str, series_ids: Sequence[str], start: str, end: str) -> Occurrences:
        return Occurrences.from_wire(self._occurrences(folder, series_ids, start, end))

    def _occurrences(self, folder: str, series_ids: Sequence[str], start: str, end: str) -> dict[str, Any]:
        failure = self._failure("occurrences")
        if failure:
            raise self._trouble(failure)
        self._folder(folder)
        if not series_ids or len(series_ids) > MAX_SERIES:
            raise MailboxTrouble("invalid", f"series must name 1 to {MAX_SERIES} masters")
        try:
            bounds = (_instant(start), _instant(end))
        except ValueError:
            raise MailboxTrouble("invalid", "start and end must be UTC instants") from None
        if bounds[0] > bounds[1]:
            raise MailboxTrouble("invalid", "the window ends before it starts")
        answer: dict[str, Any] = {}
        for master_id in series_ids:
            if master_id not in self.series:
                answer[master_id] = {"error": {"code": "not_found", "message": "there is no such series"}}
            else:
                answer[master_id] = {"items": self._expand(master_id, start, end)}
        return answer

    # -- the mailbox's bookkeeping ----------------------------------------------------------------

    def _add(self, item: dict[str, Any]) -> str:
        item_id = f"AAMk{next(self._ids):06d}"
        self.items[item_id] = {"last_modified": self.clock(), **item, "id": item_id, "change_key": self._new_key()}
        self._versions[item_id] = self._logged(item_id, "create")
        return item_id

    def _write(self, item_id: str, changes: Mapping[str, Any]) -> None:
        self.items[item_id].update({"last_modified": self.clock(), **changes, "change_key": self._new_key()})
        self._versions[item_id] = self._logged(item_id, "update")

    def _new_key(self) -> str:
        return f"ck{next(self._ids)}"

    def _logged(self, item_id: str, kind: str) -> int:
        number = len(self.log) + 1
        self.log.append((number, item_id, kind))
        return number

    # -- failures ---------------------------------------------------------------------------------

    def fail(self, op: str, when: str = "before", code: str = "timeout", count: int = 1) -> None:
        self.failures.append(Failure(op, when, code, count))

    def _failure(self, op: str) -> Failure | None:
        self.calls.append(op)
        for failure in self.failures:
            if failure.op == op and failure.count > 0:
                failure.count -= 1
                return failure
        return None

    def _trouble(self, failure: Failure) -> MailboxTrouble:
        return MailboxTrouble(
            failure.code, f"injected {failure.when} {failure.op}", 1.0 if failure.code == "throttled" else None
        )

    # -- what the gateway checks before it asks Exchange ------------------------------------------

    def _folder(self, folder: str) -> None:
        if folder and folder not in self.folders:
            raise MailboxTrouble("not_found", f"there is no {self.kind or 'calendar'} folder {folder!r}")

    def _entry(self, wire: Any) -> dict[str, Any]:
        """An entry as the gateway reads it (every field, defaults filled in), or the request refused."""
        return self._fitted(wire)[0]

    def _fitted(self, wire: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The entry as the gateway writes it (within Exchange's limits), and the names of the
        fields it shortened to fit them."""
        try:
            if self._kind_of(wire) == "contacts":
                contact, cut = fit(ContactEntry.from_wire(wire))
                assert isinstance(contact, ContactEntry)
                return {**contact.to_wire(), "display_name": display_name(contact)}, tuple(cut)
            fitted, cut = fit(CalendarEntry.from_wire(wire))
            return {**fitted.to_wire(), "body_html": False}, tuple(cut)
        except EntryError as error:
            raise MailboxTrouble("invalid", error.message) from None

    @staticmethod
    def _with_shortened(result: dict[str, Any], shortened: Sequence[str]) -> dict[str, Any]:
        """A result as the gateway answers it: `shortened` names the fields cut to Exchange's
        limits, on the wire only when there are some."""
        return {**result, "shortened": list(shortened)} if shortened else result

    def _written(self, wire: Any) -> dict[str, Any]:
        """What a create stores of an entry: the properties it sets (Exchange does not store the
        others; `_view` gives them their defaults), a contact's display name always."""
        entry = self._entry(wire)
        kept = {name: entry[name] for name in wire if name in entry and name not in READ_ONLY}
        if self.kind == "contacts":
            kept["display_name"] = entry["display_name"]
        return kept

    def _view(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """An item as the gateway answers it: every field of its entry schema."""
        defaults = CONTACT_DEFAULTS if self.kind == "contacts" else CALENDAR_DEFAULTS
        return copy.deepcopy({**defaults, **item})

    def _writable(self, wire: Any) -> set[str]:
        return set(CONTACT_FIELDS if self._kind_of(wire) == "contacts" else CALENDAR_FIELDS)

    # -- the ExchangeClient interface ---------------------------------------------------------------

    async def ensure_folder(self, name: str) -> bool:
        if not name.strip():
            raise MailboxTrouble("invalid", "name must not be empty")
        made = name.strip() not in self.folders
        self.folders.add(name.strip())
        return made

    def _known(self, sync_state: str | None) -> dict[str, int]:
        """What a sync state says the client was told: item id → change number."""
        if not sync_state:
            return {}
        if not sync_state.startswith(STATE_PREFIX):
            raise MailboxTrouble("sync_state_invalid", "ErrorInvalidSyncStateData: not this mailbox's sync state")
        try:
            pairs = [pair.split("=") for pair in sync_state[len(STATE_PREFIX) :].split(";") if pair]
            return {item_id: int(number) for item_id, number in pairs}
        except ValueError:
            raise MailboxTrouble("sync_state_invalid", "ErrorInvalidSyncStateData: the sync state is corrupt") from None

    def _read_kind(self) -> str:
        return self.kind or "calendar"

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> ChangePage:
        return ChangePage.from_wire(self._read_kind(), self._changes(folder, sync_state, max_changes))

    def _changes(self, folder: str, sync_state: str | None, max_changes: int) -> dict[str, Any]:
        failure = self._failure("changes")
        if failure:
            raise self._trouble(failure)
        if isinstance(max_changes, bool) or not isinstance(max_changes, int) or not 1 <= max_changes <= MAX_CHANGES:
            raise MailboxTrouble("invalid", f"max_changes must be 1 to {MAX_CHANGES}")
        self._folder(folder)
        known = self._known(sync_state)
        now = {item_id: self._versions.get(item_id, 0) for item_id in self.items}  # a test may edit `items`
        pending = [
            (number, item_id, "create" if item_id not in known else "update")
            for item_id, number in now.items()
            if known.get(item_id) != number
        ]
        pending += [(self._tombstones.get(item_id, 0), item_id, "delete") for item_id in known if item_id not in now]
        pending.sort()
        page, told = pending[:max_changes], dict(known)
        changes: list[dict[str, Any]] = []
        for number, item_id, kind in page:
            if kind == "delete":
                del told[item_id]
                changes.append({"type": "delete", "id": item_id, "change_key": None, "item": None})
                continue
            told[item_id] = number
            item = self.items[item_id]
            change = {"type": kind, "id": item_id, "change_key": item["change_key"], "item": None}
            if "item_type" in item:
                change.update(type="unsupported", item_type=item["item_type"])
            changes.append(change)
        state = STATE_PREFIX + ";".join(f"{item_id}={number}" for item_id, number in sorted(told.items()))
        return {"changes": changes, "sync_state": state, "complete": len(pending) <= max_changes}

    def _create_one(self, entry: dict[str, Any]) -> str:
        return self._add(copy.deepcopy(entry))

    async def create(self, folder: str, entries: Sequence[NewItem]) -> list[ItemResult]:
        return [ItemResult.from_wire(r) for r in self._create(folder, [request_wire(e) for e in entries])]

    def _create(self, folder: str, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        failure = self._failure("create")
        if failure and failure.when == "before":
            raise self._trouble(failure)
        self._folder(folder)
        written = [self._written(entry) for entry in entries]
        cuts = [self._fitted(entry)[1] for entry in entries]
        if failure and failure.when == "late":
            self._late.append((folder, written))
            raise self._trouble(failure)
        results: list[Mapping[str, Any]] = []
        for entry, cut in zip(written, cuts):
            if failure and failure.when == "item":
                error = {"code": failure.code, "message": "injected"}
                results.append(self._with_shortened({"ok": False, "id": None, "error": error}, cut))
                continue
            item_id = self._create_one(entry)
            made = {"ok": True, "id": item_id, "change_key": self.items[item_id]["change_key"]}
            results.append(self._with_shortened(made, cut))
        if failure and failure.when == "after":
            raise self._trouble(failure)
        self._finish_late_creates()  # an abandoned create ends after the one sent again
        return results

    def _finish_late_creates(self) -> None:
        for _, entries in self._late:
            for entry in entries:
                self._create_one(entry)
        self._late.clear()

    @staticmethod
    def _display_after(item: Mapping[str, Any], changes: Mapping[str, Any]) -> str:
        """As the gateway writes names: a display name made from them follows them, one of the
        user's own ("Dr. Max Muster") is kept."""
        before = display_name(ContactEntry(given_name=item.get("given_name", ""), surname=item.get("surname", "")))
        if item.get("display_name") not in ("", before):
            return str(item["display_name"])
        names = {n: changes.get(n, item.get(n, "")) for n in ("given_name", "surname")}
        return display_name(ContactEntry(**names))

    def _changes_of(self, item_id: str, fields: Sequence[str], entry: Mapping[str, Any]) -> dict[str, Any]:
        """What an update writes into the item: the fields named, as the gateway writes them."""
        names = set(fields)
        if self.kind == "contacts":
            changes = {name: copy.deepcopy(entry[name]) for name in names}
            if names & NAME_FIELDS and not changes.get("display_name"):
                changes["display_name"] = self._display_after(self.items[item_id], changes)
            return changes
        if names & WHEN_FIELDS:
            names |= WHEN_FIELDS | {"timezone"}
        else:
            names.discard("timezone")  # written only with the times
        changes = {name: copy.deepcopy(entry[name]) for name in names}
        if "body" in names:
            changes["body_html"] = False  # the gateway writes a text body
        return changes

    def _changes_of_occurrence(self, fields: Sequence[str], entry: Mapping[str, Any]) -> dict[str, Any]:
        names = set(fields)
        if names & WHEN_FIELDS:
            names |= WHEN_FIELDS | {"timezone"}
        else:
            names.discard("timezone")
        changes = {name: copy.deepcopy(entry[name]) for name in names}
        if "body" in names:
            changes["body_html"] = False
        return changes

    async def update(self, items: Sequence[UpdateRequest]) -> list[ItemResult]:
        return [ItemResult.from_wire(r) for r in self._update([item.to_wire() for item in items])]

    def _update(self, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        failure = self._failure("update")
        if failure and failure.when == "before":
            raise self._trouble(failure)
        checked = []
        for update in items:
            fields = update.get("fields")
            if not isinstance(fields, list) or not fields or not set(fields) <= self._writable(update.get("item")):
                raise MailboxTrouble("invalid", "fields must name the entry's fields to write")
            entry, cut = self._fitted(update.get("item"))
            checked.append((update, entry, tuple(name for name in cut if name in fields)))  # of those written
        results: list[Mapping[str, Any]] = []
        for update, entry, cut in checked:
            current = self.items.get(update["id"])
            occurrence = self._occurrence(update["id"]) if current is None else None
            if occurrence is not None and not (failure and failure.when == "item"):
                if update.get("change_key") and update["change_key"] != occurrence["change_key"]:
                    error = {"code": "conflict", "message": "changed"}
                    results.append(self._with_shortened({"ok": False, "id": update["id"], "error": error}, cut))
                    continue
                master_id, original = str(occurrence["series_id"]), str(occurrence["original_start"])
                changes = self._changes_of_occurrence(update["fields"], entry)
                key = self._make_exception(master_id, original, changes)
                done = {"ok": True, "id": self.occurrence_id(master_id, original), "change_key": key}
                results.append(self._with_shortened(done, cut))
                continue
            if failure and failure.when == "item":
                error = {"code": failure.code, "message": "injected"}
                results.append(self._with_shortened({"ok": False, "id": update["id"], "error": error}, cut))
            elif current is None:
                error = {"code": "not_found", "message": "gone"}
                results.append(self._with_shortened({"ok": False, "id": update["id"], "error": error}, cut))
            elif update.get("change_key") and update["change_key"] != current["change_key"]:
                error = {"code": "conflict", "message": "changed"}
                results.append(self._with_shortened({"ok": False, "id": update["id"], "error": error}, cut))
            else:
                self._write(update["id"], self._changes_of(update["id"], update["fields"], entry))
                done = {"ok": True, "id": update["id"], "change_key": self.items[update["id"]]["change_key"]}
                results.append(self._with_shortened(done, cut))
        if failure and failure.when == "after":
            raise self._trouble(failure)
        return results

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        return [ItemResult.from_wire(r) for r in self._delete([ref.to_wire() for ref in refs])]

    def _delete(self, refs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        failure = self._failure("delete")
        if failure and failure.when == "before":
            raise self._trouble(failure)
        results: list[Mapping[str, Any]] = []
        for ref in refs:
            if failure and failure.when == "item":
                results.append({"ok": False, "id": ref["id"], "error": {"code": failure.code, "message": "injected"}})
                continue
            if ref["id"] in self.items or self._occurrence_of(ref["id"]) is not None:
                self.user_delete(ref["id"])
            results.append({"ok": True, "id": ref["id"], "change_key": None})  # already gone is done
        if failure and failure.when == "after":
            raise self._trouble(failure)
        return results

    async def find_external(self, folder: str, external_ids: Sequence[str], all_matches: bool = False) -> Found:
        found = self._find_external(folder, external_ids, all_matches)
        return Found.from_wire(self._read_kind(), found, all_matches)

    def _find_external(self, folder: str, external_ids: Sequence[str], all_matches: bool) -> Mapping[str, Any]:
        failure = self._failure("find_external")
        if failure:
            raise self._trouble(failure)
        self._folder(folder)
        wanted = set(external_ids)
        found: dict[str, list[dict[str, Any]]] = {}
        for item in self.items.values():  # in the order they were made, as Exchange's FindItem sorts them here
            if item.get("external_id") in wanted and "item_type" not in item:
                found.setdefault(item["external_id"], []).append(self._view(item))
        return found if all_matches else {external_id: entries[0] for external_id, entries in found.items()}

    async def search_contacts(self, text: str) -> list[ContactEntry]:
        return contacts_from_wire(self._search_contacts(text))

    def _search_contacts(self, text: str) -> list[Mapping[str, Any]]:
        """As the gateway searches the contacts folder: a contact with that e-mail address, or
        whose display name or names ("given surname", "surname given") contain the text, case
        not counting; at most SEARCH_LIMIT, in the order they were made."""
        failure = self._failure("search_contacts")
        if failure:
            raise self._trouble(failure)
        needle = text.strip().casefold()
        if not needle:
            raise MailboxTrouble("invalid", "give a name or an e-mail address to search for")
        matches: list[Mapping[str, Any]] = []
        for item in self.items.values():
            if "item_type" in item:
                continue
            view = self._view(item)
            given, surname = view["given_name"], view["surname"]
            names = (view["display_name"], f"{given} {surname}", f"{surname} {given}")
            if any(needle == str(e).casefold() for e in view["emails"]) or any(needle in n.casefold() for n in names):
                matches.append(view)
                if len(matches) >= SEARCH_LIMIT:
                    break
        return matches

    async def get(self, ids: Sequence[str]) -> list[Fetched]:
        return [Fetched.from_wire(self._read_kind(), answer) for answer in self._get(ids)]

    def _get(self, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        failure = self._failure("get")
        if failure and failure.when == "item":  # each item answered with the error
            return [{"ok": False, "id": i, "error": {"code": failure.code, "message": "injected"}} for i in ids]
        if failure:
            raise self._trouble(failure)
        gone = {"code": "not_found", "message": "gone"}
        other = {"code": "unsupported", "message": "the sync does not handle items of this kind"}
        occurrences = {i: self._occurrence(i) for i in ids if i not in self.items}
        return [
            {"ok": True, "item": occurrences[i]}
            if occurrences.get(i) is not None
            else {"ok": False, "id": i, "error": gone}
            if i not in self.items
            else {"ok": False, "id": i, "error": other}
            if "item_type" in self.items[i]
            else {"ok": True, "item": self._view(self.items[i])}
            for i in ids
        ]
