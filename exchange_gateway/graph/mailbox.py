"""One mailbox through Microsoft Graph for one call: the MailboxBackend (../backend.py).

Writes go in `$batch` (client.MAX_BATCH requests each) and are answered per item from Graph's own
answers, in input order; a failure of the mailbox or the server (throttling, a full mailbox, a
refused token: errors.MAILBOX_WIDE_CODES) in any item's answer fails the whole request, so that no
item is blamed for it, and a batch whose answers cannot be matched to its requests fails whole.
Before an item is written its entry is shortened to Exchange's limits (../fitting.py), and the
item's result names what was shortened. An update sends If-Match with the change key the caller
saw (a stale one is that item's `conflict`); an event's create carries a `transactionId` made from
the entry, so that Graph makes no second event when the same create is sent again.

The calendar's feed is calendarView's delta within DELTA_WINDOW of the first read (Graph's delta
needs a window; EWS reports the whole folder, and the engine keeps to its own window, well inside
this one); an occurrence or exception of a series is reported as its master (once a page), and a
removal, which names an occurrence by its own id only, makes the state's known masters be asked
whether they changed or are gone (delta_state.DeltaState.series). The contacts' feed is the
contact folder's delta. A page's state is a delta_state.DeltaState.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import uuid
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from protocol.entries import (
    CALENDAR,
    CONTACT_FIELDS,
    CONTACTS,
    KINDS,
    SERIES_FIELDS,
    SINGLE,
    CalendarEntry,
    Change,
    ChangePage,
    ContactEntry,
    Entry,
    ItemRef,
    parse_utc,
)

from .. import fitting
from ..arguments import MAX_CHANGES
from ..backend import ItemResult, ItemUpdate
from ..errors import CONFLICT, INVALID, NOT_FOUND, SERVER_ERROR, UNSUPPORTED, GatewayError
from ..ews.folders import folder_key
from . import convert
from .client import GraphAnswer, GraphClient, GraphRequest, prefer
from .delta_state import DELTA, SKIP, DeltaState, Known
from .errors import UNKNOWN_USER_CODES, is_mailbox_wide, map_failure
from .folders import Folder, FolderKey, FolderListings

DELTA_WINDOW = (dt.timedelta(days=3 * 366), dt.timedelta(days=10 * 366))  # before and after the first read
PAGE = "1000"  # items per page of a list (Graph's most)
KEEP_IDLE_TOKEN = 3600  # seconds an idle round answers the state it was given (its token's age, at most)
TRANSACTIONS = uuid.UUID("1b7c3e1a-4f0e-4d8e-9a51-6c2f0d9e7b34")  # the namespace of our transactionIds


def _default_contact_folder(listed: list[dict[str, Any]]) -> dict[str, Any]:
    """The Contacts folder among Graph's top-level contact folders (`/contactFolders` lists those
    only: the Contacts folder and any sibling a user made beside it): the only one, else the one
    called Contacts, else the first; {"id": ""} if there is none."""
    if len(listed) == 1:
        return listed[0]
    named = [f for f in listed if folder_key(str(f.get("displayName") or "")) == "contacts"]
    return (named or listed or [{"id": "", "displayName": ""}])[0]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise GatewayError(INVALID, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


def transaction_id(mailbox: str, folder_path: str, entry: CalendarEntry) -> str:
    """The same create of the same entry into the same folder has the same transactionId (Graph then
    makes no second event). The folder is named by its id: a sub-calendar a user deleted (it lies in
    Deleted Items, events and all) and the sync made again is another folder, filled anew."""
    text = "\n".join((mailbox.lower(), folder_path, repr(_wire_items(entry))))
    return str(uuid.uuid5(TRANSACTIONS, hashlib.sha256(text.encode()).hexdigest()))


_CALENDAR_WIRE_NAMES = tuple(sorted(f.name for f in dataclasses.fields(CalendarEntry)))
_SINGLE_WIRE_NAMES = tuple(name for name in _CALENDAR_WIRE_NAMES if name not in SERIES_FIELDS)


def _wire_items(entry: CalendarEntry) -> list[tuple[str, Any]]:
    """`sorted(entry.to_wire().items())`, without `dataclasses.asdict`'s deep copy of every field
    (a tenth of the gateway's CPU in an export on Graph): the entry's fields are plain values but
    its categories, which go on the wire as a list; a single item's wire has no series fields
    (so its transactionId is what it was before they came)."""
    names = _SINGLE_WIRE_NAMES if entry.series_type == SINGLE else _CALENDAR_WIRE_NAMES
    return [(name, list(entry.categories) if name == "categories" else getattr(entry, name)) for name in names]


class GraphMailbox:
    def __init__(
        self,
        client: GraphClient,
        mailbox: str,
        listings: FolderListings | None = None,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._client = client
        self._mailbox = mailbox
        self._listings = listings if listings is not None else FolderListings()
        self._now = now

    def _failure(self, answer: GraphAnswer) -> GatewayError:
        return map_failure(answer.failure(), self._mailbox)

    # -- folders -------------------------------------------------------------------------------

    def _key(self, kind: str) -> FolderKey:
        return (self._client.url(""), self._mailbox.lower(), kind)

    async def _folders(self, kind: str) -> tuple[Folder, list[Folder]]:
        """The main folder and its sub-folders, read now (and kept in the listings)."""
        _check_kind(kind)
        if kind == CALENDAR:
            listed = await self._all("/calendars")
            main = next((c for c in listed if c.get("isDefaultCalendar")), None)
            if main is None:
                main = await self._client.get("/calendar")
            top = Folder(main["id"], str(main.get("name") or ""))
            children = [Folder(c["id"], str(c.get("name") or "")) for c in listed if c["id"] != top.id]
        else:
            main = _default_contact_folder(await self._all("/contactFolders"))
            top = Folder(main["id"], str(main.get("displayName") or ""))
            below = await self._all(f"/contactFolders/{top.id}/childFolders") if top.id else []
            children = [Folder(f["id"], str(f.get("displayName") or "")) for f in below]
        self._listings.keep(self._key(kind), children)
        return top, children

    async def _all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every value of a list, page by page (nextLinks only within this mailbox)."""
        values: list[dict[str, Any]] = []
        page = await self._client.get(path, {"$top": PAGE, **(params or {})})
        while True:
            values += [v for v in page.get("value") or () if isinstance(v, dict) and v.get("id")]
            link = page.get("@odata.nextLink")
            if not link:
                return values
            relative = self._client.relative(link)
            if relative is None:
                raise GatewayError(SERVER_ERROR, "Microsoft Graph's next page points outside the mailbox")
            path_part, _, query = relative.partition("?")
            page = await self._client.get(path_part, {k: v[-1] for k, v in parse_qs(query).items()})

    async def _sub_folder(self, kind: str, name: str, fresh: bool = False) -> Folder | None:
        found = None if fresh else self._listings.find(self._key(kind), name)
        if found is None:
            _, children = await self._folders(kind)
            found = next((f for f in children if folder_key(f.name) == folder_key(name)), None)
        return found

    async def _folder_path(self, kind: str, name: str) -> str:
        """The path of the main folder ("") or of the sub-folder `name` (any case); not_found if none."""
        _check_kind(kind)
        if not name:
            return "/calendar" if kind == CALENDAR else ""
        found = await self._sub_folder(kind, name)
        if found is None:
            raise GatewayError(NOT_FOUND, f"the mailbox has no {kind} folder {name!r}")
        return f"/calendars/{found.id}" if kind == CALENDAR else f"/contactFolders/{found.id}"

    def _folder_gone(self, kind: str, folder: str) -> GatewayError:
        """Graph said the folder of the request is not there (a user deleted it): listed again next time."""
        self._listings.forget(self._key(kind))
        return GatewayError(NOT_FOUND, f"the {kind} folder {folder!r} is not there (any more)")

    @staticmethod
    def _items_path(kind: str, folder_path: str) -> str:
        return f"{folder_path}/events" if kind == CALENDAR else f"{folder_path}/contacts"

    async def list_folders(self, kind: str) -> list[dict[str, object]]:
        main, children = await self._folders(kind)
        folders: list[dict[str, object]] = [{"name": "", "display_name": main.name, "id": main.id, "main": True}]
        folders += [{"name": f.name, "display_name": f.name, "id": f.id, "main": False} for f in children]
        return folders

    async def ensure_folder(self, kind: str, name: str) -> dict[str, object]:
        """The sub-folder `name`, made if a fresh listing has none; made meanwhile (409): found again.
        A contact folder is made as a child of the Contacts folder (childFolders), as EWS makes it."""
        top, children = await self._folders(kind)
        found = next((f for f in children if folder_key(f.name) == folder_key(name)), None)
        if found is not None:
            return {"id": found.id, "name": found.name, "created": False}
        if kind == CALENDAR:
            path, body = "/calendars", {"name": name}
        elif top.id:
            path, body = f"/contactFolders/{top.id}/childFolders", {"displayName": name}
        else:
            raise GatewayError(SERVER_ERROR, "Microsoft Graph lists no Contacts folder for this mailbox")
        answer = await self._client.send(GraphRequest("POST", path, body=body))
        if answer.status == 409:
            found = await self._sub_folder(kind, name, fresh=True)
            if found is None:
                raise GatewayError(CONFLICT, f"a folder named {name!r} is in the way, but not among the {kind} folders")
            return {"id": found.id, "name": found.name, "created": False}
        made = answer.value()
        self._listings.forget(self._key(kind))
        return {"id": made["id"], "name": str(made.get("name") or made.get("displayName") or name), "created": True}

    async def check(self) -> dict[str, object]:
        calendar = await self._client.get("/calendar")  # a real round trip: the app may have lost the mailbox
        return {
            "mailbox": self._mailbox,
            "server_version": None,
            "api_version": "Microsoft Graph v1.0",
            "calendar": str(calendar.get("name") or ""),
        }

    # -- reading -------------------------------------------------------------------------------

    async def _get(self, paths: Sequence[str]) -> list[GraphAnswer]:
        params = {"$expand": convert.EXPAND_OURS}
        return await self._client.batch([GraphRequest("GET", path, params) for path in paths])

    async def fetch(self, ids: Sequence[str]) -> list[Entry | GatewayError]:
        """Items by id, in order, each an event or a contact (tried as an event first)."""
        answers = await self._get([f"/events/{i}" for i in ids])
        missing = [n for n, a in enumerate(answers) if a.status in (400, 404)]
        if missing:
            for n, answer in zip(missing, await self._get([f"/contacts/{ids[n]}" for n in missing])):
                if answer.ok:
                    answers[n] = answer
        results: list[Entry | GatewayError] = []
        for item_id, answer in zip(ids, answers):
            if not answer.ok:
                error = self._failure(answer)
                if is_mailbox_wide(error):
                    raise error
                results.append(error if error.code != INVALID else GatewayError(NOT_FOUND, error.message))
                continue
            results.append(self._entry(item_id, answer.body))
        return results

    @staticmethod
    def _entry(item_id: str, data: Any) -> Entry | GatewayError:
        try:
            if isinstance(data, dict) and "start" in data:
                return convert.calendar_entry(data)
            return convert.contact_entry(data)
        except GatewayError as exc:
            return exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return GatewayError(UNSUPPORTED, f"the item {item_id} cannot be read: {type(exc).__name__}: {exc}")

    async def changes(
        self, kind: str, folder: str, sync_state: str | None, max_changes: int, with_items: bool
    ) -> dict[str, object]:
        """One page of the folder's delta. A round of several pages is not done at its delta link:
        what changed while it was read is in the next round, whose first page is read at once
        (merged: an item told twice is told once, as it is now). A round of one page (an idle
        cycle's) costs one request. A round that found nothing answers the state it was given, the
        same text, while its token is younger than KEEP_IDLE_TOKEN: the caller then has nothing
        to save (Graph answers every round with a new token, which would be a write per calendar
        and idle cycle), and the token read again tells all that changed since it was made."""
        folder_path = await self._folder_path(kind, folder)
        path = f"{folder_path}/calendarView/delta" if kind == CALENDAR else f"{folder_path}/contacts/delta"
        size = max(1, min(MAX_CHANGES, max_changes))
        state = DeltaState.from_text(sync_state) if sync_state else None
        several = state is not None and state.mode == SKIP  # a later page of a round
        changes, after, done = await self._delta_page(kind, folder, path, state, size, with_items)
        if sync_state and state is not None and state.mode == DELTA and done and not changes:
            if after.round.second - state.round.second < KEEP_IDLE_TOKEN:
                return {"changes": [], "sync_state": sync_state, "complete": True}
        if done and several:
            room = size - len(changes)
            if room > 0:
                more, after, done = await self._delta_page(kind, folder, path, after, room, with_items)
                changes = merged(changes, more)
            else:
                done = False
        return ChangePage(tuple(changes), after.to_text(), done).to_wire()

    async def _delta_page(
        self, kind: str, folder: str, path: str, state: DeltaState | None, size: int, with_items: bool
    ) -> tuple[list[Change], DeltaState, bool]:
        """The changes of the page after `state` (None: the first of a first round), the state after
        it, and whether it ends its round."""
        if state is None:
            params: dict[str, str] = {}
            if kind == CALENDAR:
                now = self._now()
                params = {"startDateTime": _stamp(now - DELTA_WINDOW[0]), "endDateTime": _stamp(now + DELTA_WINDOW[1])}
        else:
            params = {"$skiptoken" if state.mode == SKIP else "$deltatoken": state.token}
        answer = await self._client.send(GraphRequest("GET", path, params, headers={"Prefer": prefer(page_size=size)}))
        if folder and _gone(answer):
            raise self._folder_gone(kind, folder)
        page = answer.value()
        second = _server_second(answer.headers, self._now())
        if state is None:
            state = DeltaState(SKIP, "-", Known(second))
        elif state.mode == DELTA:
            state = state.next_round(second)
        return await self._page(kind, state, page, with_items)

    async def _page(
        self, kind: str, state: DeltaState, page: Mapping[str, Any], with_items: bool
    ) -> tuple[list[Change], DeltaState, bool]:
        """A delta page's changes. An occurrence or exception is folded into its master's change
        (once a page), as EWS's SyncFolderItems reports a series. A removal names an occurrence (or
        a single event) by its own id only: then the masters the state knows are asked whether they
        changed (an update) or are gone (a delete); the removal itself stays a delete of that id."""
        reported: dict[str, dict[str, Any]] = {}
        removed: list[str] = []
        series = dict(state.series)
        for value in page.get("value") or ():
            if not isinstance(value, dict) or not value.get("id"):
                continue
            if "@removed" in value:
                removed.append(str(value["id"]))
            elif kind == CALENDAR and value.get("seriesMasterId") and value.get("type") != "seriesMaster":
                master = str(value["seriesMasterId"])
                reported.setdefault(master, {"id": master, "series": True})
            else:
                reported[str(value["id"])] = value
        if kind == CALENDAR and removed:
            for master in series:
                if master not in reported:
                    reported[master] = {"id": master, "series": True, "asked": True}
        masters = [i for i, v in reported.items() if v.get("series")]
        fetched = dict(zip(masters, await self.fetch(masters))) if masters else {}
        wanted = [i for i in reported if i not in fetched] if with_items else []
        fetched.update(zip(wanted, await self.fetch(wanted)))
        seen: dict[str, int] = {}
        changes: list[Change] = []
        for item_id, value in reported.items():
            entry = fetched.get(item_id)
            if isinstance(entry, GatewayError):
                if entry.code == NOT_FOUND:
                    series.pop(item_id, None)
                    changes.append(Change("delete", item_id))
                elif entry.code == UNSUPPORTED:
                    changes.append(Change(UNSUPPORTED, item_id, item_type="unknown"))
                else:
                    raise entry
                continue
            if value.get("series") and isinstance(entry, CalendarEntry):
                if value.get("asked") and series.get(item_id) == entry.change_key:
                    continue  # not this series' removal
                series.pop(item_id, None)
                series[item_id] = entry.change_key or ""
            created = _second(value.get("createdDateTime"))
            seen[item_id] = created
            base = state.base
            kind_of = "create" if base is None or base.is_new(item_id, created) else "update"
            change_key = entry.change_key if entry is not None else value.get("changeKey")
            changes.append(Change(kind_of, item_id, entry if with_items else None, change_key=change_key))
        changes += [Change("delete", item_id) for item_id in removed if item_id not in reported]
        for item_id in removed:
            series.pop(item_id, None)
        known = state.knowing(seen, set(removed))
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if delta_link:
            after = DeltaState(DELTA, _token(delta_link, "$deltatoken"), known)
        elif next_link:
            after = DeltaState(SKIP, _token(next_link, "$skiptoken"), known, state.base)
        else:
            raise GatewayError(SERVER_ERROR, "Microsoft Graph's delta page has neither a next nor a delta link")
        return changes, after.with_series(series), bool(delta_link)

    async def occurrences(
        self, folder: str, series_ids: Sequence[str], start: str, end: str
    ) -> dict[str, list[CalendarEntry] | GatewayError]:
        """Each master's `instances` over the window, our properties expanded, the masters in one
        `$batch` and each followed by its nextLinks. Asked from a second before `start` and kept
        only when ending at `start` or later, so that one ending exactly at `start` is in, whatever
        Graph's own rule at that edge. A master gone: not_found."""
        first = _stamp(parse_utc(start, "start") - dt.timedelta(seconds=1))
        params = {"startDateTime": first, "endDateTime": end, "$expand": convert.EXPAND_OURS, "$top": PAGE}
        headers = {"Prefer": prefer(page_size=int(PAGE))}
        pending = {m: GraphRequest("GET", f"/events/{m}/instances", params, headers=headers) for m in series_ids}
        found: dict[str, list[CalendarEntry] | GatewayError] = {m: [] for m in series_ids}
        while pending:
            answers = await self._client.batch(list(pending.values()))
            following: dict[str, GraphRequest] = {}
            for master, answer in zip(list(pending), answers):
                if not answer.ok:
                    error = self._failure(answer)
                    if is_mailbox_wide(error):
                        raise error
                    found[master] = GatewayError(NOT_FOUND, error.message) if answer.status in (400, 404) else error
                    continue
                page = answer.value()
                entries = found[master]
                assert isinstance(entries, list)
                for value in page.get("value") or ():
                    entry = self._entry(str(value.get("id")), value) if isinstance(value, dict) else None
                    if isinstance(entry, CalendarEntry) and entry.series_id == master and entry.occurrence_key:
                        entries.append(entry)
                link = page.get("@odata.nextLink")
                if link:
                    relative = self._client.relative(str(link))
                    if relative is None:
                        raise GatewayError(SERVER_ERROR, "Microsoft Graph's next page points outside the mailbox")
                    path, _, query = relative.partition("?")
                    following[master] = GraphRequest(
                        "GET", path, {k: v[-1] for k, v in parse_qs(query).items()}, headers=headers
                    )
            pending = following
        window_start = parse_utc(start, "start")
        for master, entries in found.items():
            if isinstance(entries, list):
                kept = [e for e in entries if e.all_day or parse_utc(e.end, "end") >= window_start]
                kept.sort(key=lambda e: (e.original_start or "", e.id or ""))
                found[master] = kept
        return found

    async def find_by_external_id(
        self, kind: str, folder: str, external_ids: Sequence[str]
    ) -> dict[str, list[dict[str, object]]]:
        items_path = self._items_path(kind, await self._folder_path(kind, folder))
        params = [
            {"$filter": convert.external_id_filter(e), "$expand": convert.EXPAND_OURS, "$top": PAGE}
            for e in external_ids
        ]
        answers = await self._client.batch([GraphRequest("GET", items_path, p) for p in params])
        if folder and any(_gone(a) for a in answers):
            raise self._folder_gone(kind, folder)
        found: dict[str, list[dict[str, object]]] = {}
        for external_id, answer in zip(external_ids, answers):
            for value in answer.value().get("value") or ():
                entry = self._entry(str(value.get("id")), value)
                if isinstance(entry, GatewayError):
                    continue  # an item of another kind carrying our id: not ours to sync
                if entry.external_id == external_id:
                    found.setdefault(external_id, []).append(entry.to_wire())
        return found

    async def search_contacts(self, text: str, limit: int = 50) -> list[dict[str, object]]:
        needle = text.strip().casefold()
        if not needle:
            raise GatewayError(INVALID, "give a name or an e-mail address to search for")
        matches = []
        for value in await self._all("/contacts", {"$expand": convert.EXPAND_OURS}):
            entry = self._entry(str(value["id"]), value)
            if not isinstance(entry, ContactEntry):
                continue
            names = (entry.display_name, f"{entry.given_name} {entry.surname}", f"{entry.surname} {entry.given_name}")
            if any(needle == e.casefold() for e in entry.emails) or any(needle in n.casefold() for n in names):
                matches.append(entry.to_wire())
                if len(matches) >= limit:
                    break
        return matches

    # -- writing -------------------------------------------------------------------------------

    def _results(
        self, answers: Sequence[GraphAnswer], ids: Sequence[str | None], shortened: Sequence[tuple[str, ...]]
    ) -> list[ItemResult]:
        """Each item's result from its answer; a mailbox-wide failure in any fails the request."""
        errors = [self._failure(a) for a in answers if not a.ok]
        wide = next((e for e in errors if is_mailbox_wide(e)), None)
        if wide is not None:
            raise wide
        results = []
        for answer, item_id, cut in zip(answers, ids, shortened):
            if answer.ok:
                body = answer.body if isinstance(answer.body, dict) else {}
                results.append(ItemResult(True, body.get("id") or item_id, body.get("changeKey"), shortened=cut))
            else:
                results.append(ItemResult.failed(item_id, self._failure(answer), cut))
        return results

    async def create(self, kind: str, folder: str, entries: Sequence[Entry]) -> list[ItemResult]:
        items_path = self._items_path(kind, await self._folder_path(kind, folder))
        now = self._now()
        fitted = [fitting.fit(entry) for entry in entries]
        bodies: list[dict[str, Any] | GatewayError] = []
        for entry, _ in fitted:
            try:
                if isinstance(entry, CalendarEntry):
                    bodies.append(convert.event_body(entry, now, transaction_id(self._mailbox, items_path, entry)))
                else:
                    bodies.append(convert.contact_patch(entry, set(CONTACT_FIELDS), None))
            except GatewayError as exc:
                bodies.append(exc)
        sending = [n for n, b in enumerate(bodies) if not isinstance(b, GatewayError)]
        answers = await self._client.batch([GraphRequest("POST", items_path, body=bodies[n]) for n in sending])
        if folder and any(_gone(a) for a in answers):
            raise self._folder_gone(kind, folder)  # the folder is gone (a user deleted it), not these items
        sent = dict(zip(sending, self._results(answers, [None] * len(sending), [fitted[n][1] for n in sending])))
        results = []
        for n, (entry, cut) in enumerate(fitted):
            body = bodies[n]
            results.append(ItemResult.failed(entry.id, body, cut) if isinstance(body, GatewayError) else sent[n])
        return results

    async def update(self, kind: str, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        _check_kind(kind)
        segment = "events" if kind == CALENDAR else "contacts"
        current: list[GraphAnswer | None] = [None] * len(updates)
        if kind == CONTACTS:  # what is the user's own is kept (convert.contact_patch)
            current = list(await self._get([f"/contacts/{ref.id}" for ref, _, _ in updates]))
        now = self._now()
        prepared: list[GraphRequest | ItemResult] = []
        shortened: list[tuple[str, ...]] = []
        for (ref, entry, fields), before in zip(updates, current):
            fitted, cut = fitting.fit(entry)
            cut = tuple(name for name in cut if name in fields)
            shortened.append(cut)
            if before is not None and not before.ok:
                error = self._failure(before)
                if is_mailbox_wide(error):
                    raise error
                prepared.append(ItemResult.failed(ref.id, error, cut))
                continue
            try:
                if isinstance(fitted, CalendarEntry):
                    patch = convert.event_patch(fitted, fields, now)
                else:
                    assert isinstance(fitted, ContactEntry)
                    patch = convert.contact_patch(fitted, fields, before.body if before is not None else None)
            except GatewayError as exc:
                prepared.append(ItemResult.failed(ref.id, exc, cut))
                continue
            headers = {"If-Match": f'W/"{ref.change_key}"'} if ref.change_key else {}
            prepared.append(GraphRequest("PATCH", f"/{segment}/{ref.id}", body=patch, headers=headers))
        return await self._send_prepared(prepared, [ref.id for ref, _, _ in updates], shortened)

    async def _send_prepared(
        self, prepared: Sequence[GraphRequest | ItemResult], ids: Sequence[str], shortened: Sequence[tuple[str, ...]]
    ) -> list[ItemResult]:
        sending = [n for n, p in enumerate(prepared) if isinstance(p, GraphRequest)]
        requests = [p for p in prepared if isinstance(p, GraphRequest)]
        answers = await self._client.batch(requests)
        sent = dict(zip(sending, self._results(answers, [ids[n] for n in sending], [shortened[n] for n in sending])))
        return [p if isinstance(p, ItemResult) else sent[n] for n, p in enumerate(prepared)]

    async def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        """Deleting what is already gone is done; an id that is no event is tried as a contact."""
        answers = await self._client.batch([GraphRequest("DELETE", f"/events/{ref.id}") for ref in refs])
        missing = [n for n, a in enumerate(answers) if a.status == 404]
        if missing:
            again = await self._client.batch([GraphRequest("DELETE", f"/contacts/{refs[n].id}") for n in missing])
            for n, answer in zip(missing, again):
                answers[n] = answer
        results = self._results(answers, [ref.id for ref in refs], [()] * len(refs))
        return [
            ItemResult(True, ref.id)
            if (r.ok or (r.error is not None and r.error.code == NOT_FOUND))
            else ItemResult(False, ref.id, error=r.error)
            for ref, r in zip(refs, results)
        ]


def merged(earlier: Sequence[Change], later: Sequence[Change]) -> list[Change]:
    """Two pages' changes as one: an item told in both is told once, as it is now (made and then
    deleted: not at all; made and then changed: made; changed and then deleted: deleted)."""
    changes = {c.id: c for c in earlier}
    for change in later:
        before = changes.get(change.id)
        if before is None:
            changes[change.id] = change
        elif before.kind == "create" and change.kind == "delete":
            del changes[change.id]
        elif before.kind == "create" and change.kind == "update":
            changes[change.id] = Change("create", change.id, change.entry, change.change_key)
        else:
            changes[change.id] = change
    return list(changes.values())


def _gone(answer: GraphAnswer) -> bool:
    """A 404 of what the request names (not of the mailbox)."""
    return answer.status == 404 and answer.failure().code not in UNKNOWN_USER_CODES


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _server_second(headers: Mapping[str, str], fallback: dt.datetime) -> int:
    """The server's time of an answer (its Date header), in whole seconds; ours without one."""
    date = next((v for k, v in headers.items() if k.lower() == "date"), None)
    try:
        return int(email.utils.parsedate_to_datetime(date).timestamp()) if date else int(fallback.timestamp())
    except (TypeError, ValueError):
        return int(fallback.timestamp())


def _second(created: object) -> int:
    """Graph's createdDateTime in whole seconds (0 when it is not given: an old item)."""
    if isinstance(created, str):
        try:
            return int(dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return 0


def _token(link: str, name: str) -> str:
    values = parse_qs(urlsplit(link).query).get(name)
    if not values or not values[-1]:
        raise GatewayError(SERVER_ERROR, f"Microsoft Graph's delta link has no {name}")
    return values[-1]
