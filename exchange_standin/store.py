"""The in-memory mailboxes: folders, items, change numbers. No XML here and no HTTP.

Every change to a mailbox takes a new change number from the mailbox's counter; an object's
change key is made from the number of its last change. Deleted items leave a tombstone in their
folder so that synchronisation can report them.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from . import ids
from .extended import ExtendedValue
from .schema import folder_element_for_class
from .timezones import utc_now


@dataclass
class Folder:
    serial: int
    id: str
    parent: int | None  # serial of the parent folder
    display_name: str
    folder_class: str | None
    element: str  # Folder, CalendarFolder, ContactsFolder, TasksFolder, SearchFolder
    distinguished: str | None = None
    change_number: int = 0
    changekey: str = ""
    created_change: int = 0
    items: dict[int, None] = field(default_factory=dict)  # serials, in the order they came in
    children: list[int] = field(default_factory=list)
    tombstones: dict[int, int] = field(default_factory=dict)  # item serial -> change number of its removal
    extended: dict[tuple, ExtendedValue] = field(default_factory=dict)
    is_deleted: bool = False

    @property
    def holds_calendar_items(self) -> bool:
        return self.element == "CalendarFolder"

    @property
    def holds_contacts(self) -> bool:
        return self.element == "ContactsFolder"


@dataclass
class Item:
    serial: int
    id: str
    element: str  # CalendarItem, Contact, Message, ...
    folder: int  # serial of its folder
    props: dict[str, Any]  # field URI -> value (see schema.py for the kinds)
    extended: dict[tuple, ExtendedValue] = field(default_factory=dict)
    change_number: int = 0
    changekey: str = ""
    created: dt.datetime = field(default_factory=utc_now)
    modified: dt.datetime = field(default_factory=utc_now)
    occurrence_of: int | None = None  # the master's serial, for an occurrence of a recurring item
    occurrence_index: int | None = None  # an occurrence's 1-based index in its series
    is_exception: bool = False  # an occurrence changed on its own (a modified occurrence)
    # a recurring master's exceptions (occurrence index -> what differs from the series) and
    # deleted occurrences (their indexes), as Exchange keeps them in the master
    exceptions: dict[int, ModifiedOccurrence] = field(default_factory=dict)
    deleted_occurrences: set[int] = field(default_factory=set)
    # the change number of the series' last own change, when only its exceptions or deleted
    # occurrences changed since (None: change_number); what an occurrence that is no exception has
    series_change: int | None = None

    def modified_occurrences_from(self, other: Item) -> None:
        """Take a series' exceptions and deleted occurrences (a move or copy of its master)."""
        self.exceptions = {
            index: ModifiedOccurrence(
                dict(change.props),
                None if change.extended is None else dict(change.extended),
                change.change_number,
                change.changekey,
            )
            for index, change in other.exceptions.items()
        }
        self.deleted_occurrences = set(other.deleted_occurrences)


@dataclass
class ModifiedOccurrence:
    """What an exception changes: the properties that differ from its series (None: removed), its
    own extended properties if they differ, and the change number of its last change."""

    props: dict[str, Any]
    extended: dict[tuple, ExtendedValue] | None
    change_number: int
    changekey: str


# The folders a new mailbox has, as Exchange 2016 makes them for an English mailbox:
# (distinguished id, display name, folder class, element, parent's distinguished id).
DEFAULT_FOLDERS: tuple[tuple[str | None, str, str | None, str | None, str | None], ...] = (
    ("root", "", None, "Folder", None),
    ("msgfolderroot", "Top of Information Store", None, "Folder", "root"),
    ("calendar", "Calendar", "IPF.Appointment", None, "msgfolderroot"),
    ("contacts", "Contacts", "IPF.Contact", None, "msgfolderroot"),
    ("conversationhistory", "Conversation History", "IPF.Note", None, "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", None, "msgfolderroot"),
    ("drafts", "Drafts", "IPF.Note", None, "msgfolderroot"),
    ("inbox", "Inbox", "IPF.Note", None, "msgfolderroot"),
    ("journal", "Journal", "IPF.Journal", None, "msgfolderroot"),
    ("junkemail", "Junk Email", "IPF.Note", None, "msgfolderroot"),
    ("notes", "Notes", "IPF.StickyNote", None, "msgfolderroot"),
    ("outbox", "Outbox", "IPF.Note", None, "msgfolderroot"),
    ("sentitems", "Sent Items", "IPF.Note", None, "msgfolderroot"),
    ("tasks", "Tasks", "IPF.Task", None, "msgfolderroot"),
    ("syncissues", "Sync Issues", "IPF.Note", None, "msgfolderroot"),
    ("conflicts", "Conflicts", "IPF.Note", None, "syncissues"),
    ("localfailures", "Local Failures", "IPF.Note", None, "syncissues"),
    ("serverfailures", "Server Failures", "IPF.Note", None, "syncissues"),
    ("searchfolders", "Finder", None, "Folder", "root"),
    ("recoverableitemsroot", "Recoverable Items", None, "Folder", "root"),
    ("recoverableitemsdeletions", "Deletions", None, "Folder", "recoverableitemsroot"),
    ("recoverableitemspurges", "Purges", None, "Folder", "recoverableitemsroot"),
    ("recoverableitemsversions", "Versions", None, "Folder", "recoverableitemsroot"),
    (None, "Common Views", None, "Folder", "root"),
    (None, "Deferred Action", None, "Folder", "root"),
    (None, "Schedule", None, "Folder", "root"),
)


class Mailbox:
    """One user's mailbox. Callers hold the store's lock."""

    def __init__(self, store: Store, address: str, password: str, display_name: str | None = None) -> None:
        self.store = store
        self.address = address
        self.password = password
        self.display_name = display_name or address.partition("@")[0]
        self.key = ids.mailbox_key(address)
        self._serial = 0
        self._change = 0
        self.folders: dict[int, Folder] = {}
        self.items: dict[int, Item] = {}
        self.distinguished: dict[str, Folder] = {}
        self.folder_tombstones: dict[int, tuple[int, int]] = {}  # folder serial -> (parent serial, change)
        for distinguished, name, folder_class, element, parent in DEFAULT_FOLDERS:
            parent_folder = self.distinguished[parent] if parent else None
            self.new_folder(parent_folder, name, folder_class, element, distinguished)

    # counters -----------------------------------------------------------------------------------

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def next_change(self) -> int:
        self._change += 1
        return self._change

    @property
    def last_change(self) -> int:
        return self._change

    # folders ------------------------------------------------------------------------------------

    def new_folder(
        self,
        parent: Folder | None,
        name: str,
        folder_class: str | None,
        element: str | None = None,
        distinguished: str | None = None,
    ) -> Folder:
        serial = self.next_serial()
        change = self.next_change()
        folder = Folder(
            serial=serial,
            id=self.store.codec.make(ids.FOLDER, self.key, serial),
            parent=parent.serial if parent else None,
            display_name=name,
            folder_class=folder_class,
            element=element or folder_element_for_class(folder_class),
            distinguished=distinguished,
            change_number=change,
            changekey=ids.make_change_key(change),
            created_change=change,
        )
        self.folders[serial] = folder
        if distinguished:
            self.distinguished[distinguished] = folder
        if parent is not None:
            parent.children.append(serial)
            self.touch_folder(parent)
        return folder

    def touch_folder(self, folder: Folder) -> None:
        change = self.next_change()
        folder.change_number = change
        folder.changekey = ids.make_change_key(change)

    def folder_by_serial(self, serial: int) -> Folder | None:
        folder = self.folders.get(serial)
        return None if folder is None or folder.is_deleted else folder

    def children(self, folder: Folder) -> list[Folder]:
        return [self.folders[serial] for serial in folder.children if not self.folders[serial].is_deleted]

    def descendants(self, folder: Folder) -> list[Folder]:
        found = []
        for child in self.children(folder):
            found.append(child)
            found.extend(self.descendants(child))
        return found

    def path_of(self, folder: Folder) -> list[Folder]:
        path = [folder]
        while path[-1].parent is not None:
            path.append(self.folders[path[-1].parent])
        return path[::-1]

    def remove_folder(self, folder: Folder) -> None:
        for child in self.children(folder):
            self.remove_folder(child)
        for serial in list(folder.items):
            self.remove_item(self.items[serial])
        folder.is_deleted = True
        parent = self.folders[folder.parent] if folder.parent is not None else None
        if parent is not None:
            parent.children.remove(folder.serial)
            self.touch_folder(parent)
        self.folder_tombstones[folder.serial] = (folder.parent or 0, self.next_change())

    def move_folder(self, folder: Folder, target: Folder) -> None:
        assert folder.parent is not None  # only the root folder has none, and it is distinguished
        old_parent = self.folders[folder.parent]
        old_parent.children.remove(folder.serial)
        self.touch_folder(old_parent)
        folder.parent = target.serial
        target.children.append(folder.serial)
        self.touch_folder(target)
        self.touch_folder(folder)

    # items --------------------------------------------------------------------------------------

    def add_item(self, folder: Folder, element: str, props: dict[str, Any], extended: dict) -> Item:
        serial = self.next_serial()
        change = self.next_change()
        now = utc_now()
        item = Item(
            serial=serial,
            id=self.store.codec.make(ids.ITEM, self.key, serial),
            element=element,
            folder=folder.serial,
            props=props,
            extended=extended,
            change_number=change,
            changekey=ids.make_change_key(change),
            created=now,
            modified=now,
        )
        self.items[serial] = item
        folder.items[serial] = None
        return item

    def touch_item(self, item: Item) -> None:
        change = self.next_change()
        item.change_number = change
        item.changekey = ids.make_change_key(change)
        item.modified = utc_now()
        item.series_change = None

    def remove_item(self, item: Item) -> None:
        folder = self.folders[item.folder]
        folder.items.pop(item.serial, None)
        folder.tombstones[item.serial] = self.next_change()
        del self.items[item.serial]

    def move_item(self, item: Item, target: Folder) -> Item:
        """Move an item; like Exchange it gets a new id in the target folder."""
        self.remove_item(item)
        moved = self.add_item(target, item.element, item.props, item.extended)
        moved.created = item.created
        moved.modified_occurrences_from(item)
        return moved

    def folder_items(self, folder: Folder) -> list[Item]:
        return [self.items[serial] for serial in folder.items]


class Store:
    """All mailboxes of one emulator; one lock guards them all."""

    def __init__(self, salt: bytes | None = None) -> None:
        self.lock = threading.RLock()
        self.codec = ids.IdCodec(salt or os.urandom(8))
        self.secret = os.urandom(16)  # signs sync states
        self.mailboxes: dict[str, Mailbox] = {}
        self.by_key: dict[bytes, Mailbox] = {}

    def add_mailbox(self, address: str, password: str, display_name: str | None = None) -> Mailbox:
        with self.lock:
            normalized = address.strip().lower()
            if normalized in self.mailboxes:
                raise ValueError(f"mailbox {address} exists already")
            mailbox = Mailbox(self, address.strip(), password, display_name)
            self.mailboxes[normalized] = mailbox
            self.by_key[mailbox.key] = mailbox
            return mailbox

    def mailbox(self, address: str) -> Mailbox | None:
        return self.mailboxes.get(address.strip().lower())
