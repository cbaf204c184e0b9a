"""SyncFolderItems and SyncFolderHierarchy: the changes since a sync state, one per object."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from . import ids, syncstate
from .context import ITEM_ID_ELEMENTS, Context
from .errors import EwsError, schema_error
from .folderxml import write_folder
from .itemxml import write_item
from .namespaces import local, m, t
from .shapes import parse_shape
from .soap import ResponseBuilder
from .store import Folder

ITEMS = b"I"
HIERARCHY = b"H"
MAX_CHANGES = 512


@dataclass
class _Change:
    kind: str  # Create, Update, Delete
    serial: int
    order: int


def _collapse(current: dict[int, int], known: dict[int, int], tombstones: dict[int, int]) -> list[_Change]:
    """One change per object whose state differs from what the client knows."""
    changes = []
    for serial, change in current.items():
        if serial not in known:
            changes.append(_Change("Create", serial, change))
        elif known[serial] != change:
            changes.append(_Change("Update", serial, change))
    for serial in known:
        if serial not in current:
            changes.append(_Change("Delete", serial, tombstones.get(serial, 0)))
    changes.sort(key=lambda change: (change.order, change.serial))
    return changes


def _error(response: ResponseBuilder, exc: EwsError, last_name: str) -> None:
    msg = response.error(exc)
    etree.SubElement(msg, m("SyncState"))
    etree.SubElement(msg, m(last_name)).text = "true"


def _max_changes(request: etree._Element) -> int:
    text = request.findtext(m("MaxChangesReturned"))
    if text is None:
        raise schema_error("The element 'MaxChangesReturned' is missing.")
    try:
        value = int(text.strip())
    except ValueError:
        raise schema_error(f"The 'MaxChangesReturned' element is invalid - The value '{text}' is invalid.") from None
    if not 1 <= value <= MAX_CHANGES:
        raise schema_error(
            f"The 'MaxChangesReturned' element is invalid - The value '{text}' is invalid according to its "
            "datatype 'MaxSyncChangesReturnedType' - The MaxInclusive constraint failed (1..512)."
        )
    return value


def _ignored_serials(ctx: Context, request: etree._Element) -> set[int]:
    ignore = request.find(m("Ignore"))
    serials: set[int] = set()
    if ignore is None:
        return serials
    for elem in ignore:
        if local(elem.tag) not in ITEM_ID_ELEMENTS:
            continue
        parsed = ctx.store.codec.parse(elem.get("Id"))
        if parsed is not None and parsed.kind == ids.ITEM and parsed.mailbox == ctx.mailbox.key:
            serials.add(parsed.serial)
    return serials


def sync_folder_items(ctx: Context) -> etree._Element:
    request = ctx.request.element
    shape = parse_shape(request.find(m("ItemShape")))
    maximum = _max_changes(request)
    scope = request.findtext(m("SyncScope"))
    if scope is not None and scope.strip() not in ("NormalItems", "NormalAndAssociatedItems"):
        raise schema_error(f"The 'SyncScope' element is invalid - The value '{scope}' is invalid.")
    response = ResponseBuilder("SyncFolderItems")
    try:
        folder = ctx.single_folder(request.find(m("SyncFolderId")), "SyncFolderId")
        known = syncstate.decode(
            ctx.store.secret, request.findtext(m("SyncState")), ITEMS, ctx.mailbox.key, folder.serial
        )
        ignored = _ignored_serials(ctx, request)
    except EwsError as exc:
        _error(response, exc, "IncludesLastItemInRange")
        return response.root
    mailbox = ctx.mailbox
    current = {item.serial: item.change_number for item in mailbox.folder_items(folder)}
    new_known = dict(known)
    delivered: list[_Change] = []
    includes_last = True
    for change in _collapse(current, known, folder.tombstones):
        if change.serial not in ignored and len(delivered) == maximum:
            includes_last = False
            break
        if change.kind == "Delete":
            new_known.pop(change.serial, None)
        else:
            new_known[change.serial] = current[change.serial]
        if change.serial not in ignored:
            delivered.append(change)
    msg = response.success()
    etree.SubElement(msg, m("SyncState")).text = syncstate.encode(
        ctx.store.secret, ITEMS, mailbox.key, folder.serial, new_known
    )
    etree.SubElement(msg, m("IncludesLastItemInRange")).text = "true" if includes_last else "false"
    changes_elem = etree.SubElement(msg, m("Changes"))
    for change in delivered:
        change_elem = etree.SubElement(changes_elem, t(change.kind))
        if change.kind == "Delete":
            item_id = ctx.store.codec.make(ids.ITEM, mailbox.key, change.serial)
            etree.SubElement(change_elem, t("ItemId"), Id=item_id)
        else:
            write_item(change_elem, mailbox.items[change.serial], mailbox, shape)
    return response.root


def sync_folder_hierarchy(ctx: Context) -> etree._Element:
    request = ctx.request.element
    shape = parse_shape(request.find(m("FolderShape")), folders=True)
    response = ResponseBuilder("SyncFolderHierarchy")
    mailbox = ctx.mailbox
    try:
        folder_elem = request.find(m("SyncFolderId"))
        root: Folder = (
            ctx.single_folder(folder_elem, "SyncFolderId") if folder_elem is not None else mailbox.distinguished["root"]
        )
        known = syncstate.decode(
            ctx.store.secret, request.findtext(m("SyncState")), HIERARCHY, mailbox.key, root.serial
        )
    except EwsError as exc:
        _error(response, exc, "IncludesLastFolderInRange")
        return response.root
    current = {folder.serial: folder.change_number for folder in mailbox.descendants(root)}
    tombstones = {serial: change for serial, (_parent, change) in mailbox.folder_tombstones.items()}
    changes = _collapse(current, known, tombstones)
    msg = response.success()
    etree.SubElement(msg, m("SyncState")).text = syncstate.encode(
        ctx.store.secret, HIERARCHY, mailbox.key, root.serial, current
    )
    etree.SubElement(msg, m("IncludesLastFolderInRange")).text = "true"
    changes_elem = etree.SubElement(msg, m("Changes"))
    for change in changes:
        change_elem = etree.SubElement(changes_elem, t(change.kind))
        if change.kind == "Delete":
            folder_id = ctx.store.codec.make(ids.FOLDER, mailbox.key, change.serial)
            etree.SubElement(change_elem, t("FolderId"), Id=folder_id)
        else:
            write_folder(change_elem, mailbox.folders[change.serial], mailbox, shape)
    return response.root
