"""The blocking work on one mailbox with exchangelib: run it in a worker thread.

Batch operations answer per item, in input order, from Exchange's own response messages (one per
item; services.py): one bad item never fails the others, and nothing is ever sent twice. When the
response does not account for every item, or a failure of the request as a whole (a SOAP fault,
the network, a timeout) leaves the outcome unknown, the whole request fails with that code:
whatever Exchange did is found later (a create by its external id, an update by the version it
made), never repeated blindly. The failures of the mailbox or the server (a full mailbox, a
store being moved, a busy server: errors.MAILBOX_WIDE) fail the whole request too, even when
they come in the message of one item, so that no item is blamed for them.

Before an item is built, its text fields are shortened to Exchange's limits (../fitting.py), and
an item exchangelib still refuses to build fails alone (`invalid`). The items of a create are
checked once, by exchangelib as it writes the request; only when it refuses one, before anything
is sent, is each checked alone, and the one refused fails alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Sequence, TypeVar

from exchangelib import Account, CalendarItem, Contact, EWSDateTime, ItemId, Q
from exchangelib.errors import ErrorFolderExists, ErrorFolderNotFound
from exchangelib.folders import Calendar, Contacts, Folder
from exchangelib.items import HARD_DELETE, NEVER_OVERWRITE, SAVE_ONLY, SEND_TO_NONE
from exchangelib.properties import FieldPath, RecurringMasterItemId
from exchangelib.services.common import EWSService
from loguru import logger

from protocol.entries import (
    CALENDAR,
    CONTACTS,
    KINDS,
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
from ..errors import BUSY, INVALID, NOT_FOUND, SERVER_ERROR, UNSUPPORTED, GatewayError
from . import calendar_xml, convert
from .errors import is_mailbox_wide, map_exception
from .folders import FolderDirectory
from .services import CreateItems, DeleteItems, GetItems, SyncItems, UpdateItems

FETCH_CHUNK = 250
WRITE_CHUNK = 100  # items per EWS request
VIEW_PAGE = 1000  # entries of one CalendarView request (Exchange gives at most 1000 by default)
T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _read_fields(item_class: Any, names: Iterable[str], version: Any) -> set[FieldPath]:
    """The fields to ask for, of those the server's version has (TextBody came with Exchange 2013)."""
    fields = [item_class.get_field_by_fieldname(name) for name in names]
    return {FieldPath(field=field) for field in fields if field.supports_version(version)}


class Mailbox:
    def __init__(
        self,
        account: Account,
        folders: FolderDirectory | None = None,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.account = account
        self.folders = folders or FolderDirectory()
        self.now = now

    # -- folders -------------------------------------------------------------------------------

    def _main_folder(self, kind: str) -> Folder:
        if kind == CALENDAR:
            return self.account.calendar
        if kind == CONTACTS:
            return self.account.contacts
        raise GatewayError(INVALID, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")

    def folder(self, kind: str, name: str = "") -> Folder:
        """The main calendar (contacts folder), or its sub-folder `name` (any case)."""
        main = self._main_folder(kind)
        if not name:
            return main
        return self.folders.find(self.account, kind, main, name)

    def ensure_folder(self, kind: str, name: str) -> dict[str, object]:
        """The sub-folder `name`, made if it is not there: {"id", "name", "created"}. The list is
        read afresh first: a user may have made, deleted or moved the folder since."""
        folder, created = self._ensure_folder(kind, name)
        return {"id": folder.id, "name": folder.name, "created": created}

    def _ensure_folder(self, kind: str, name: str) -> tuple[Folder, bool]:
        main = self._main_folder(kind)
        try:
            return self.folders.find(self.account, kind, main, name, fresh=True), False
        except GatewayError as exc:
            if exc.code != NOT_FOUND:
                raise
        folder_class = Calendar if kind == CALENDAR else Contacts
        folder = folder_class(parent=main, name=name)
        try:
            folder.save()
        except ErrorFolderExists:  # made meanwhile (or under another case of the name)
            return self.folders.find(self.account, kind, main, name, fresh=True), False
        self.folders.forget(self.account, kind)
        return folder, True

    def list_folders(self, kind: str) -> list[dict[str, object]]:
        main = self._main_folder(kind)
        folders = [{"name": "", "display_name": main.name, "id": main.id, "main": True}]
        children = self.folders.children(self.account, kind, main)
        folders += [{"name": c.name, "display_name": c.name, "id": c.id, "main": False} for c in children]
        return folders

    def _folder_gone(self, kind: str, exc: BaseException) -> None:
        if isinstance(exc, ErrorFolderNotFound):
            self.folders.forget(self.account, kind)

    def check(self) -> dict[str, object]:
        version = self.account.version
        calendar = self.account.calendar
        calendar.refresh()  # a real round trip every time: the password may have changed since
        return {
            "mailbox": self.account.primary_smtp_address,
            "server_version": str(version.build) if version.build else None,
            "api_version": version.api_version,
            "calendar": calendar.name,
        }

    # -- reading -------------------------------------------------------------------------------

    def _entry(self, item: object, series_id: str | None = None) -> CalendarEntry | ContactEntry:
        if isinstance(item, CalendarItem):
            return convert.calendar_entry(item, series_id)
        if isinstance(item, Contact):
            return convert.contact_entry(item)
        raise GatewayError(UNSUPPORTED, f"the sync does not handle items of the kind {type(item).__name__}")

    def _get_items(self, ids: Sequence[str]) -> list[object]:
        """exchangelib items (or the exception in an item's place) by id, in order, with only the
        fields the sync reads (of both kinds: an id may be of either, and Exchange leaves out
        what an item does not have)."""
        version = self.account.version
        fields = _read_fields(CalendarItem, convert.CALENDAR_READ_FIELDS, version)
        fields |= _read_fields(Contact, convert.CONTACT_READ_FIELDS, version)
        outcomes: list[object] = []
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = [ItemId(id=i) for i in ids[start : start + FETCH_CHUNK]]
            service = GetItems(account=self.account, chunk_size=len(chunk))
            outcomes += _accounted(chunk, service.call(items=chunk, additional_fields=fields, shape="IdOnly"))
        return outcomes

    def _masters_of(self, items: Sequence[object]) -> dict[str, str]:
        """The master's id of each occurrence and exception among `items` (by the item's id), by a
        GetItem of their RecurringMasterItemIds; one whose master cannot be read is left out."""
        wanted = [item.id for item in items if isinstance(item, CalendarItem) and item.type in convert.IN_SERIES_TYPES]
        masters: dict[str, str] = {}
        for start in range(0, len(wanted), FETCH_CHUNK):
            chunk = wanted[start : start + FETCH_CHUNK]
            refs = [RecurringMasterItemId(id=i) for i in chunk]
            service = GetItems(account=self.account, chunk_size=len(refs))
            for occurrence_id, master in zip(
                chunk, _accounted(refs, service.call(items=refs, additional_fields=set(), shape="IdOnly"))
            ):
                if isinstance(master, Exception):
                    if is_mailbox_wide(master):
                        raise map_exception(master)
                    continue
                master_id = getattr(master, "id", None)
                if isinstance(master_id, str) and master_id:
                    masters[occurrence_id] = master_id
        return masters

    def fetch(
        self, ids: Sequence[str], masters: dict[str, str] | None = None
    ) -> list[CalendarEntry | ContactEntry | GatewayError]:
        """Full items by id, in order; a missing one (or one of a kind the sync does not handle,
        or one exchangelib cannot read) gives its error in its place. An occurrence or exception
        names its master (`masters`: already known, by the occurrence's id; else looked up)."""
        results: list[CalendarEntry | ContactEntry | GatewayError] = []
        items = self._get_items(ids)
        if masters is None:
            masters = self._masters_of(items)
        for item_id, item in zip(ids, items):
            if isinstance(item, Exception):
                results.append(_unreadable(item_id, item))
                continue
            try:
                results.append(self._entry(item, masters.get(getattr(item, "id", None) or item_id)))
            except GatewayError as exc:
                results.append(exc)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                results.append(_unreadable(item_id, exc))
        return results

    def changes(
        self, kind: str, folder_name: str, sync_state: str | None, max_changes: int, with_items: bool = True
    ) -> dict[str, object]:
        """One page of changes since `sync_state` (None: everything there is), every write
        reported, the gateway's own included. Each change carries the item's id and change key,
        and with `with_items` the full item (else the caller fetches what it does not know yet).
        An item of a kind the sync does not handle (a contact group, say) comes as `unsupported`;
        a change of an item's read flag only is no change to the sync."""
        folder = self.folder(kind, folder_name)
        service = SyncItems(account=self.account)
        raw = list(
            service.call(
                folder=folder,
                shape="IdOnly",
                additional_fields=set(),
                sync_state=sync_state,
                ignore=None,
                max_changes_returned=max(1, min(MAX_CHANGES, max_changes)),
                sync_scope=None,
            )
        )
        for element in raw:
            if isinstance(element, Exception):
                self._folder_gone(kind, element)
                raise element
        handled = CalendarItem if kind == CALENDAR else Contact
        reported = [(change, item) for change, item in raw if change in ("create", "update", "delete")]
        wanted = [item.id for change, item in reported if change != "delete" and isinstance(item, handled)]
        fetched = dict(zip(wanted, self.fetch(wanted))) if with_items else {}
        changes: list[Change] = []
        for change, item in reported:
            change_key = getattr(item, "changekey", None)
            if change == "delete":
                changes.append(Change("delete", item.id, change_key=change_key))
            elif not isinstance(item, handled):
                changes.append(Change(UNSUPPORTED, item.id, change_key=change_key, item_type=type(item).__name__))
            elif not with_items:
                changes.append(Change(change, item.id, change_key=change_key))
            else:
                entry = fetched[item.id]
                if isinstance(entry, GatewayError):
                    if entry.code == NOT_FOUND:  # gone again since: a delete
                        changes.append(Change("delete", item.id, change_key=change_key))
                    elif entry.code == UNSUPPORTED:
                        changes.append(Change(UNSUPPORTED, item.id, change_key=change_key, item_type="unknown"))
                    else:
                        raise entry
                else:
                    changes.append(Change(change, item.id, entry, change_key=entry.change_key))
        return ChangePage(tuple(changes), service.sync_state, bool(service.includes_last_item_in_range)).to_wire()

    def find_by_external_id(
        self, kind: str, folder_name: str, external_ids: Sequence[str]
    ) -> dict[str, list[dict[str, object]]]:
        """Every item of the folder carrying one of `external_ids` (more than one: a twin or a
        user's copy), by external id."""
        folder = self.folder(kind, folder_name)
        found: dict[str, list[dict[str, object]]] = {}
        for start in range(0, len(external_ids), 50):
            chunk = list(external_ids[start : start + 50])
            query = Q(**{convert.EXTERNAL_ID_FIELD: chunk[0]})
            for value in chunk[1:]:
                query |= Q(**{convert.EXTERNAL_ID_FIELD: value})
            try:
                ids = [item_id for item_id, _ in folder.filter(query).values_list("id", "changekey")]
            except ErrorFolderNotFound as exc:
                self._folder_gone(kind, exc)
                raise
            for entry in self.fetch(ids):
                if isinstance(entry, GatewayError):
                    continue  # gone since, or an item of another kind carrying our id: not ours to sync
                if entry.external_id in chunk:
                    found.setdefault(entry.external_id, []).append(entry.to_wire())
        return found

    def occurrences(
        self, folder_name: str, series_ids: Sequence[str], start: str, end: str
    ) -> dict[str, list[CalendarEntry] | GatewayError]:
        """Each master's occurrences and exceptions overlapping [start, end]: the masters read (a
        GetItem: their UIDs), the folder's CalendarView over the window (ids, UIDs and types only,
        paged: a view of more than VIEW_PAGE entries is asked again from the last start it gave),
        the occurrences matched to their masters by UID, and read in full (GetItem: our extended
        properties on an exception). A master gone: not_found; an item that is no series (any
        more): no occurrences."""
        folder = self.folder(CALENDAR, folder_name)
        answers: dict[str, list[CalendarEntry] | GatewayError] = {}
        by_uid: dict[str, str] = {}
        for master_id, master in zip(series_ids, self._get_items(series_ids)):
            if isinstance(master, Exception):
                error = _unreadable(master_id, master)
                answers[master_id] = error if error.code != UNSUPPORTED else GatewayError(NOT_FOUND, error.message)
            elif not isinstance(master, CalendarItem):
                answers[master_id] = GatewayError(NOT_FOUND, "the item is not a calendar item, so no series")
            else:
                answers[master_id] = []
                if master.type == "RecurringMaster" and master.uid:
                    by_uid[master.uid] = master_id
        if not by_uid:
            return answers
        masters = {item_id: by_uid[uid] for item_id, uid in self._view(folder, start, end) if uid in by_uid}
        ids = list(masters)
        for entry in self.fetch(ids, masters):
            if isinstance(entry, CalendarEntry) and entry.series_id is not None:
                found = answers[entry.series_id]
                assert isinstance(found, list)
                found.append(entry)
        for found in answers.values():
            if isinstance(found, list):
                found.sort(key=lambda e: (e.original_start or "", e.start, e.id or ""))
        return answers

    def _view(self, folder: Folder, start: str, end: str) -> list[tuple[str, str]]:
        """(id, UID) of every occurrence and exception in the folder's CalendarView over [start, end]."""
        zone = convert.UTC_ZONE
        first = EWSDateTime.from_datetime(parse_utc(start, "start").replace(tzinfo=None)).replace(tzinfo=zone)
        last = EWSDateTime.from_datetime(parse_utc(end, "end").replace(tzinfo=None)).replace(tzinfo=zone)
        seen: dict[str, str] = {}
        try:
            while True:
                page = list(folder.view(start=first, end=last, max_items=VIEW_PAGE).only("uid", "type", "start"))
                for item in page:
                    if isinstance(item, Exception):
                        raise item
                fresh = [item for item in page if item.id not in seen]
                for item in fresh:
                    if isinstance(item, CalendarItem) and item.type in convert.IN_SERIES_TYPES and item.uid:
                        seen[item.id] = item.uid
                    else:
                        seen.setdefault(item.id, "")
                if len(page) < VIEW_PAGE:
                    break
                if not fresh:
                    raise GatewayError(
                        SERVER_ERROR, f"more than {VIEW_PAGE} calendar entries begin at {first.isoformat()}"
                    )
                first = max(item.start for item in page if isinstance(item.start, dt.datetime))
        except ErrorFolderNotFound as exc:
            self._folder_gone(CALENDAR, exc)
            raise
        return [(item_id, uid) for item_id, uid in seen.items() if uid]

    def search_contacts(self, text: str, limit: int = 50) -> list[dict[str, object]]:
        needle = text.strip().casefold()
        if not needle:
            raise GatewayError(INVALID, "give a name or an e-mail address to search for")
        matches = []
        for item in self.account.contacts.all().only(*convert.CONTACT_READ_FIELDS):
            if not isinstance(item, Contact):
                continue
            entry = convert.contact_entry(item)
            names = (entry.display_name, f"{entry.given_name} {entry.surname}", f"{entry.surname} {entry.given_name}")
            if any(needle == e.casefold() for e in entry.emails) or any(needle in n.casefold() for n in names):
                matches.append(entry.to_wire())
                if len(matches) >= limit:
                    break
        return matches

    # -- writing -------------------------------------------------------------------------------

    def _write(
        self,
        service_class: type[EWSService],
        prepared: Sequence[tuple[object, tuple[str, ...]] | ItemResult],
        success: Callable[[Any], ItemResult],
        refusal: Callable[[int], ItemResult | None] | None = None,
        **options: Any,
    ) -> list[ItemResult]:
        """Send the prepared items (an ItemResult in the list: that item already failed), a
        request per WRITE_CHUNK; the results in order, each with what was shortened. `refusal`
        (creates): when exchangelib refuses an item while it writes a request (nothing has been
        sent), the items are checked alone with it, those refused fail alone (their index's
        ItemResult) and the others are sent."""
        results: list[ItemResult | None] = [p if isinstance(p, ItemResult) else None for p in prepared]
        pending = [(index, p) for index, p in enumerate(prepared) if not isinstance(p, ItemResult)]
        for start in range(0, len(pending), WRITE_CHUNK):
            chunk = pending[start : start + WRITE_CHUNK]
            while chunk:
                payload = [built for _, (built, _) in chunk]
                service = service_class(account=self.account, chunk_size=len(payload))
                try:
                    outcomes = _accounted(payload, service.call(items=payload, **options))
                except (ValueError, TypeError):
                    if refusal is None or getattr(service, "requested", True):
                        raise  # not a refusal before sending: the outcome is the request's
                    refused = {index: r for index, _ in chunk if (r := refusal(index)) is not None}
                    if not refused:
                        raise
                    for index, result in refused.items():
                        results[index] = result
                    chunk = [(index, p) for index, p in chunk if index not in refused]
                    continue
                self._record(chunk, outcomes, results, success)
                break
        return [r for r in results if r is not None]

    def _record(
        self,
        chunk: Sequence[tuple[int, tuple[object, tuple[str, ...]]]],
        outcomes: Sequence[object],
        results: list[ItemResult | None],
        success: Callable[[Any], ItemResult],
    ) -> None:
        gone = next((o for o in outcomes if isinstance(o, ErrorFolderNotFound)), None)
        if gone is not None:
            raise gone  # the folder is gone (a user deleted it), not these items
        wide = next((o for o in outcomes if isinstance(o, Exception) and is_mailbox_wide(o)), None)
        if wide is not None:
            raise map_exception(wide)  # the mailbox's failure or the server's, not these items'
        for (index, (_, shortened)), outcome in zip(chunk, outcomes):
            if isinstance(outcome, Exception):
                results[index] = ItemResult.failed(None, map_exception(outcome), shortened)
            else:
                results[index] = _with_shortened(success(outcome), shortened)

    def create(self, kind: str, folder_name: str, entries: Sequence[Entry]) -> list[ItemResult]:
        folder = self.folder(kind, folder_name)
        now = self.now()

        def build(entry: Entry) -> CalendarItem | Contact | object:
            if kind == CALENDAR:
                assert isinstance(entry, CalendarEntry)
                values = convert.calendar_values(entry, now)
                writer = calendar_xml.writer_for(self.account.version, frozenset(values))
                if writer is not None:
                    return writer.element(values)  # its XML, as exchangelib would write it
                return convert.calendar_item(entry, now, account=self.account, folder=folder)
            assert isinstance(entry, ContactEntry)
            return convert.new_contact(entry, account=self.account, folder=folder)

        prepared = [_prepare(entry, build) for entry in entries]

        def refusal(index: int) -> ItemResult | None:
            """The item checked alone, as exchangelib checks it while it writes the request."""
            sending = prepared[index]
            assert not isinstance(sending, ItemResult)  # only items still to send are checked
            built, shortened = sending
            if not isinstance(built, (CalendarItem, Contact)):
                return None  # written and checked already (calendar_xml.py)
            try:
                built.clean(version=self.account.version)
            except (ValueError, TypeError) as exc:
                return ItemResult.failed(entries[index].id, map_exception(exc), shortened)
            return None

        try:
            return self._write(
                CreateItems,
                prepared,
                _created,
                refusal,
                folder=folder,
                message_disposition=SAVE_ONLY,
                send_meeting_invitations=SEND_TO_NONE,
            )
        except ErrorFolderNotFound as exc:
            self._folder_gone(kind, exc)
            raise

    def update(self, kind: str, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        """Write the named fields of each entry; a change key that is no longer current is a
        conflict (NeverOverwrite), answered for that item only."""
        return self._update_calendar(updates) if kind == CALENDAR else self._update_contacts(updates)

    def _changes(self, item: CalendarItem | Contact, names: list[str]) -> tuple[CalendarItem | Contact, list[str]]:
        """(item, field names) as UpdateItem takes them, each written value checked first."""
        for name in names:
            field = item.get_field_by_fieldname(name)
            field.clean(getattr(item, name), version=self.account.version)
        return item, names

    def _update_calendar(self, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        now = self.now()

        def prepare(update: tuple[ItemRef, Entry, set[str]]) -> tuple[object, tuple[str, ...]] | ItemResult:
            ref, entry, fields = update

            def build(fitted: Entry) -> tuple[CalendarItem | Contact, list[str]]:
                assert isinstance(fitted, CalendarEntry)
                item = convert.calendar_item(fitted, now, account=self.account, id=ref.id, changekey=ref.change_key)
                return self._changes(item, convert.calendar_update_fields(fields))

            return _prepare(entry, build, fields)

        return self._write(
            UpdateItems,
            [prepare(u) for u in updates],
            lambda result: ItemResult(True, result[0], result[1]),
            conflict_resolution=NEVER_OVERWRITE,
            message_disposition=SAVE_ONLY,
            send_meeting_invitations_or_cancellations=SEND_TO_NONE,
            suppress_read_receipts=True,
        )

    def _update_contacts(self, updates: Sequence[ItemUpdate]) -> list[ItemResult]:
        current = self._get_items([ref.id for ref, _, _ in updates])
        wide = next((c for c in current if isinstance(c, Exception) and is_mailbox_wide(c)), None)
        if wide is not None:
            raise map_exception(wide)
        prepared: list[tuple[object, tuple[str, ...]] | ItemResult] = []
        for (ref, entry, fields), contact in zip(updates, current):
            if isinstance(contact, Exception):
                prepared.append(ItemResult.failed(ref.id, map_exception(contact)))
                continue
            if not isinstance(contact, Contact):
                prepared.append(ItemResult.failed(ref.id, GatewayError(INVALID, "the item is not a contact")))
                continue

            def build(
                fitted: Entry, contact: Contact = contact, ref: ItemRef = ref, fields: set[str] = fields
            ) -> tuple[Contact, list[str]]:
                assert isinstance(fitted, ContactEntry)
                if ref.change_key:
                    contact.changekey = ref.change_key  # the conflict check is against what the caller saw
                names = convert.apply_contact(contact, fitted, fields)
                item, checked = self._changes(contact, names)
                assert isinstance(item, Contact)
                return item, checked

            prepared.append(_prepare(entry, build, fields))
        return self._write(
            UpdateItems,
            prepared,
            lambda result: ItemResult(True, result[0], result[1]),
            conflict_resolution=NEVER_OVERWRITE,
            message_disposition=SAVE_ONLY,
            send_meeting_invitations_or_cancellations=SEND_TO_NONE,
            suppress_read_receipts=True,
        )

    def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        prepared: list[tuple[object, tuple[str, ...]] | ItemResult] = [((ref.id, ref.change_key), ()) for ref in refs]
        results = self._write(
            DeleteItems,
            prepared,
            lambda result: ItemResult(True),
            delete_type=HARD_DELETE,
            send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences="AllOccurrences",
            suppress_read_receipts=True,
        )
        return [
            ItemResult(True, ref.id)
            if (r.ok or (r.error is not None and r.error.code == NOT_FOUND))
            else ItemResult(False, ref.id, error=r.error)
            for ref, r in zip(refs, results)
        ]  # deleting what is already gone is done, not failed


def _prepare(
    entry: Entry, build: Callable[[Entry], object], fields: set[str] | None = None
) -> tuple[object, tuple[str, ...]] | ItemResult:
    """The item built from the entry shortened to Exchange's limits, with the names of the fields
    shortened (of those written); an entry exchangelib refuses fails alone."""
    fitted, shortened = fitting.fit(entry)
    if fields is not None:
        shortened = tuple(name for name in shortened if name in fields)
    try:
        return build(fitted), shortened
    except GatewayError as exc:
        return ItemResult.failed(entry.id, exc, shortened)
    except (ValueError, TypeError) as exc:
        return ItemResult.failed(entry.id, map_exception(exc), shortened)


def _created(result: Any) -> ItemResult:
    if isinstance(result, bool) or not getattr(result, "id", None):  # made, but Exchange did not say as what
        raise GatewayError(SERVER_ERROR, "Exchange answered a create without the new item's id; it is looked up")
    return ItemResult(True, result.id, result.changekey)


def _with_shortened(result: ItemResult, shortened: tuple[str, ...]) -> ItemResult:
    if not shortened:
        return result
    return ItemResult(result.ok, result.id, result.change_key, result.error, shortened)


def _accounted(sent: Sequence[object], answers: Iterable[object]) -> list[object]:
    """Exchange's answers, one per item sent; if their number is not that of the items, which
    answer belongs to which item is not known, nor what became of the others."""
    outcomes = list(answers)
    if len(outcomes) != len(sent):
        raise GatewayError(
            SERVER_ERROR,
            f"Exchange answered {len(outcomes)} of the {len(sent)} items of a request; what became of them is not "
            "known, so nothing is sent again before it has been looked up",
        )
    return outcomes


def _unreadable(item_id: str, exc: BaseException) -> GatewayError:
    """An item that could not be fetched: absent (not_found), or skipped as unsupported when
    exchangelib cannot read it (so that one odd item never stalls its calendar)."""
    if is_mailbox_wide(exc):
        raise map_exception(exc)
    error = map_exception(exc)
    if error.code in (NOT_FOUND, UNSUPPORTED, BUSY):
        return error
    if isinstance(exc, (ValueError, TypeError, AttributeError, KeyError)):
        logger.warning(f"Exchange item {item_id} cannot be read ({type(exc).__name__}: {exc}); it is skipped")
        return GatewayError(UNSUPPORTED, f"the item cannot be read: {type(exc).__name__}: {exc}")
    return error
