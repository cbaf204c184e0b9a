"""The values of an item's or a folder's properties as restrictions and sort orders see them."""

from __future__ import annotations

from typing import Any

from .bodies import body_text
from .errors import EwsError
from .extended import comparable
from .itemxml import EmailEntry, item_size
from .restrictions import Getter
from .schema import ITEM_TYPES, ITEM_URIS
from .shapes import Path
from .store import Folder, Item, Mailbox

_UNSEARCHABLE = ("xml", "timezone")


def item_getter(item: Item, mailbox: Mailbox) -> Getter:
    def get(path: Path) -> tuple[str, list[Any]]:
        if path.kind == "extended":
            value = item.extended.get(path.extended_path.key)
            kind = "ext:" + path.extended_path.base_type
            if value is None:
                return kind, []
            return kind, [comparable(value.path.base_type, text) for text in value.values]
        if path.kind == "indexed":
            entries = item.props.get(f"contacts:{path.indexed_name}") or {}
            entry = entries.get(path.index)
            if entry is None:
                return "text", []
            if isinstance(entry, dict):
                part = entry.get(path.address_part)
                return "text", [] if part is None else [part]
            if isinstance(entry, EmailEntry):
                return "text", [entry.address]
            return "text", [entry]
        return _field(item, mailbox, path)

    return get


def _field(item: Item, mailbox: Mailbox, path: Path) -> tuple[str, list[Any]]:
    uri = path.uri
    props = item.props
    prop = ITEM_URIS[uri]
    item_type = ITEM_TYPES[item.element]
    if uri == "item:ItemId":
        return "text", [item.id]
    if uri == "item:DateTimeCreated":
        return "datetime", [item.created]
    if uri == "item:LastModifiedTime":
        return "datetime", [item.modified]
    if uri in ("item:DateTimeReceived", "item:DateTimeSent"):
        return "datetime", [props.get(uri, item.created)]
    if uri == "item:Size":
        return "int", [item_size(item)]
    if uri == "item:Body":
        return "body", [body_text(item)] if "item:Body" in props else []
    if uri in ("item:HasAttachments", "item:IsAssociated", "item:IsDraft", "item:IsSubmitted"):
        return "bool", [False]
    if uri == "calendar:IsRecurring":
        if item.element != "CalendarItem":
            return "bool", []
        return "bool", [item.occurrence_of is not None]  # false on a master, as in Exchange
    if uri == "calendar:CalendarItemType":
        if item.element != "CalendarItem":
            return "text", []
        return "text", ["RecurringMaster" if props.get("calendar:Recurrence") is not None else "Single"]
    if uri == "calendar:IsMeeting":
        if item.element != "CalendarItem":
            return "bool", []
        return "bool", [props.get("calendar:RequiredAttendees") is not None]
    if uri == "calendar:Organizer":
        return "text", [mailbox.address] if item.element == "CalendarItem" else []
    if prop.kind in _UNSEARCHABLE or (prop.kind == "computed" and uri not in props):
        raise EwsError("ErrorUnsupportedPathForQuery", field_uri=path.element())
    if prop.kind == "indexed":
        raise EwsError("ErrorUnsupportedPathForQuery", field_uri=path.element())
    if not item_type.has_uri(uri) or uri not in props:
        return _kind(prop.kind), []
    value = props[uri]
    if prop.kind == "strings":
        return "text", list(value)
    return _kind(prop.kind), [value]


def _kind(kind: str) -> str:
    if kind in ("strings",):
        return "text"
    return kind


def folder_getter(folder: Folder, mailbox: Mailbox) -> Getter:
    def get(path: Path) -> tuple[str, list[Any]]:
        if path.kind == "extended":
            value = folder.extended.get(path.extended_path.key)
            kind = "ext:" + path.extended_path.base_type
            return kind, [] if value is None else [comparable(value.path.base_type, v) for v in value.values]
        uri = path.uri
        if uri == "folder:DisplayName":
            return "text", [folder.display_name]
        if uri == "folder:FolderClass":
            return "text", [] if folder.folder_class is None else [folder.folder_class]
        if uri == "folder:TotalCount":
            return "int", [len(folder.items)]
        if uri == "folder:ChildFolderCount":
            return "int", [len(mailbox.children(folder))]
        if uri == "folder:UnreadCount":
            return "int", [0]
        if uri == "folder:FolderId":
            return "text", [folder.id]
        if uri == "folder:DistinguishedFolderId":
            return "text", [] if folder.distinguished is None else [folder.distinguished]
        raise EwsError("ErrorUnsupportedPathForQuery", field_uri=path.element())

    return get
