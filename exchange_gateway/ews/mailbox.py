"""The blocking work on one mailbox with exchangelib: run it in a worker thread.

Batch operations answer per item, in input order: one bad item never fails the others. When
exchangelib raises for a whole chunk instead of answering per item (it does so for some errors,
e.g. ErrorIrresolvableConflict), the chunk is retried item by item to tell who failed.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence, TypeVar

from exchangelib import Account, CalendarItem, Contact, ItemId, Q
from exchangelib.errors import ErrorServerBusy, ResponseMessageError
from exchangelib.folders import Calendar, Contacts, Folder
from exchangelib.items import NEVER_OVERWRITE
from exchangelib.services import SyncFolderItems
from exchangelib.services.common import EWSService

from . import convert
from .entries import CalendarEntry, Change, ContactEntry, ItemRef, ItemResult
from .errors import INVALID, NOT_FOUND, UNSUPPORTED, GatewayError, map_exception


class _SyncFolderItems(SyncFolderItems):
    """exchangelib's SyncFolderItems reads the SyncState of a response before looking whether it
    is an error (ErrorServerBusy, say) and then fails on the missing element; look first."""

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        if message.get("ResponseClass") != "Success":
            return EWSService._get_element_container(self, message, name)
        return super()._get_element_container(message, name)


CALENDAR, CONTACTS = "calendar", "contacts"
KINDS = (CALENDAR, CONTACTS)
MAX_CHANGES = 512
FETCH_CHUNK = 250
T = TypeVar("T")


class Mailbox:
    def __init__(self, account: Account) -> None:
        self.account = account

    # -- folders -------------------------------------------------------------------------------

    def _main_folder(self, kind: str) -> Folder:
        if kind == CALENDAR:
            return self.account.calendar
        if kind == CONTACTS:
            return self.account.contacts
        raise GatewayError(INVALID, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")

    def folder(self, kind: str, name: str = "") -> Folder:
        """The main calendar (contacts folder), or its sub-folder `name`."""
        main = self._main_folder(kind)
        if not name:
            return main
        for child in main.children:
            if child.name == name:
                return child
        raise GatewayError(NOT_FOUND, f"there is no {kind} folder {name!r} in {self.account.primary_smtp_address}")

    def ensure_folder(self, kind: str, name: str) -> tuple[Folder, bool]:
        """The sub-folder `name`, made if it is not there. Looked up afresh: exchangelib keeps the
        folder tree it read once, and a user may have deleted the folder since."""
        self.account.root.clear_cache()
        try:
            return self.folder(kind, name), False
        except GatewayError as exc:
            if exc.code != NOT_FOUND:
                raise
        main = self._main_folder(kind)
        folder_class = Calendar if kind == CALENDAR else Contacts
        folder = folder_class(parent=main, name=name)
        folder.save()
        return folder, True

    def list_folders(self, kind: str) -> list[dict[str, object]]:
        self.account.root.clear_cache()
        main = self._main_folder(kind)
        folders = [{"name": "", "display_name": main.name, "id": main.id, "main": True}]
        folders += [{"name": c.name, "display_name": c.name, "id": c.id, "main": False} for c in main.children]
        return folders

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

    def _entry(self, item: object) -> CalendarEntry | ContactEntry:
        if isinstance(item, CalendarItem):
            return convert.calendar_entry(item)
        if isinstance(item, Contact):
            return convert.contact_entry(item)
        raise GatewayError(UNSUPPORTED, f"the sync does not handle items of the kind {type(item).__name__}")

    def fetch(self, ids: Sequence[str]) -> list[CalendarEntry | ContactEntry | GatewayError]:
        """Full items by id, in order; a missing one (or one of a kind the sync does not handle)
        gives its error in its place."""
        results: list[CalendarEntry | ContactEntry | GatewayError] = []
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = [ItemId(id=i) for i in ids[start : start + FETCH_CHUNK]]
            for item in self.account.fetch(ids=chunk, chunk_size=FETCH_CHUNK):
                if isinstance(item, Exception):
                    results.append(map_exception(item))
                else:
                    try:
                        results.append(self._entry(item))
                    except GatewayError as exc:
                        results.append(exc)
        return results

    def changes(
        self, kind: str, folder_name: str, sync_state: str | None, max_changes: int, with_items: bool = True
    ) -> dict[str, object]:
        """One page of changes since `sync_state` (None: everything there is), every write
        reported, the gateway's own included. Each change carries the item's id and change key,
        and with `with_items` the full item (else the caller fetches what it does not know yet).
        An item of a kind the sync does not handle (a contact group, say) comes as `unsupported`."""
        folder = self.folder(kind, folder_name)
        service = _SyncFolderItems(account=self.account)
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
        return {
            "changes": [c.to_wire() for c in changes],
            "sync_state": service.sync_state,
            "complete": bool(service.includes_last_item_in_range),
        }

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
            for item in folder.filter(query):
                try:
                    entry = self._entry(item)
                except GatewayError:
                    continue  # an item of another kind carrying our id: not ours to sync
                if entry.external_id in chunk:
                    found.setdefault(entry.external_id, []).append(entry.to_wire())
        return found

    def search_contacts(self, text: str, limit: int = 50) -> list[dict[str, object]]:
        needle = text.strip().casefold()
        if not needle:
            raise GatewayError(INVALID, "give a name or an e-mail address to search for")
        matches = []
        for item in self.account.contacts.all():
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

    def create(self, kind: str, folder_name: str, entries: Sequence[CalendarEntry | ContactEntry]) -> list[ItemResult]:
        folder = self.folder(kind, folder_name)

        def build(entry: CalendarEntry | ContactEntry) -> CalendarItem | Contact:
            if kind == CALENDAR:
                assert isinstance(entry, CalendarEntry)
                return convert.calendar_item(entry, account=self.account, folder=folder)
            assert isinstance(entry, ContactEntry)
            return convert.new_contact(entry, account=self.account, folder=folder)

        def batch(chunk: Sequence[CalendarEntry | ContactEntry]) -> list[object]:
            return self.account.bulk_create(folder=folder, items=[build(e) for e in chunk])

        return _per_item(entries, batch, lambda result: ItemResult(True, result.id, result.changekey))

    def update(
        self, kind: str, updates: Sequence[tuple[ItemRef, CalendarEntry | ContactEntry, set[str]]]
    ) -> list[ItemResult]:
        """Write the named fields of each entry; a change key that is no longer current is a
        conflict (NeverOverwrite), answered per item."""
        return self._update_calendar(updates) if kind == CALENDAR else self._update_contacts(updates)

    def _update_calendar(
        self, updates: Sequence[tuple[ItemRef, CalendarEntry | ContactEntry, set[str]]]
    ) -> list[ItemResult]:
        def build(update: tuple[ItemRef, CalendarEntry | ContactEntry, set[str]]) -> tuple[CalendarItem, list[str]]:
            ref, entry, fields = update
            assert isinstance(entry, CalendarEntry)
            item = convert.calendar_item(entry, account=self.account, id=ref.id, changekey=ref.change_key)
            names: list[str] = []
            for field in sorted(fields):
                names += convert.CALENDAR_UPDATE_FIELDS[field]
            if "start" in names or "end" in names or "is_all_day" in names:
                names = list(dict.fromkeys(names + ["start", "end", "is_all_day"]))
            return item, names

        def batch(chunk: Sequence[tuple[ItemRef, CalendarEntry | ContactEntry, set[str]]]) -> list[object]:
            return self.account.bulk_update(items=[build(u) for u in chunk], conflict_resolution=NEVER_OVERWRITE)

        return _per_item(updates, batch, lambda result: ItemResult(True, result[0], result[1]))

    def _update_contacts(
        self, updates: Sequence[tuple[ItemRef, CalendarEntry | ContactEntry, set[str]]]
    ) -> list[ItemResult]:
        current = self.account.fetch(ids=[ItemId(id=ref.id) for ref, _, _ in updates])
        results: list[ItemResult | None] = [None] * len(updates)
        pending: list[tuple[int, Contact, list[str]]] = []
        for index, ((ref, entry, fields), contact) in enumerate(zip(updates, current)):
            if isinstance(contact, Exception):
                results[index] = ItemResult(False, ref.id, error=map_exception(contact))
                continue
            assert isinstance(entry, ContactEntry)
            if ref.change_key:
                contact.changekey = ref.change_key  # the conflict check is against what the caller saw
            pending.append((index, contact, convert.apply_contact(contact, entry, fields)))

        def batch(chunk: Sequence[tuple[int, Contact, list[str]]]) -> list[object]:
            return self.account.bulk_update(
                items=[(c, names) for _, c, names in chunk], conflict_resolution=NEVER_OVERWRITE
            )

        for (index, _, _), result in zip(pending, _per_item(pending, batch, lambda r: ItemResult(True, r[0], r[1]))):
            results[index] = result
        return [r for r in results if r is not None]

    def delete(self, refs: Sequence[ItemRef]) -> list[ItemResult]:
        def batch(chunk: Sequence[ItemRef]) -> list[object]:
            return self.account.bulk_delete(ids=[(ref.id, ref.change_key) for ref in chunk])

        results = _per_item(refs, batch, lambda result: ItemResult(True))
        return [
            ItemResult(True, ref.id)
            if (r.ok or (r.error is not None and r.error.code == NOT_FOUND))
            else ItemResult(False, ref.id, error=r.error)
            for ref, r in zip(refs, results)
        ]  # deleting what is already gone is done, not failed


def _per_item(
    items: Sequence[T], batch: Callable[[Sequence[T]], Iterable[Any]], success: Callable[[Any], ItemResult]
) -> list[ItemResult]:
    """Run `batch` over all items; results per item. If the batch raises an item-level error as a
    whole, try each item alone. Transport problems and throttling fail every item alike.

    `batch` answers with what exchangelib gives back per item (an item, an (id, changekey) pair or
    True), or an exception; `success` turns one such answer into an ItemResult."""
    if not items:
        return []
    try:
        outcomes = list(batch(items))
    except ErrorServerBusy:
        raise
    except ResponseMessageError as exc:
        if len(items) == 1:
            return [ItemResult(False, error=map_exception(exc))]
        return [result for item in items for result in _per_item([item], batch, success)]
    results = []
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            results.append(ItemResult(False, error=map_exception(outcome)))
        else:
            results.append(success(outcome))
    return results
