"""Item operations: CreateItem, GetItem, UpdateItem, DeleteItem, MoveItem, CopyItem."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lxml import etree

from . import ids, recurrence
from .bodies import text_to_html
from .context import ITEM_ID_ELEMENTS, Context
from .errors import EwsError, schema_error
from .extended import parse_property
from .itemrules import apply_defaults, check_folder_accepts, normalize
from .itemxml import ItemContent, read_item, write_item
from .namespaces import local, m, t
from .schema import INDEXED, ITEM_TYPES, ITEM_URIS
from .shapes import Path, parse_path, parse_shape
from .soap import ResponseBuilder
from .store import Folder, Item

CONFLICT_RESOLUTIONS = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")
MESSAGE_DISPOSITIONS = ("SaveOnly", "SendOnly", "SendAndSaveCopy")
SEND_INVITATIONS = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")
SEND_INVITATIONS_OR_CANCELLATIONS = (
    "SendToNone",
    "SendOnlyToAll",
    "SendOnlyToChanged",
    "SendToAllAndSaveCopy",
    "SendToChangedAndSaveCopy",
)
SEND_CANCELLATIONS = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")
DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")
DEFAULT_FOLDERS = {"CalendarItem": "calendar", "Contact": "contacts", "DistributionList": "contacts", "Task": "tasks"}


def _choice(request: etree._Element, name: str, choices: tuple[str, ...], required: bool = False) -> str | None:
    value = request.get(name)
    if value is None:
        if required:
            raise schema_error(f"The required attribute '{name}' is missing.")
        return None
    if value not in choices:
        raise schema_error(f"The '{name}' attribute is invalid - The value '{value}' is invalid.")
    return value


def copy_props(props: dict) -> dict:
    return {
        key: copy.deepcopy(value) if isinstance(value, dict | list | etree._Element) else value
        for key, value in props.items()
    }


def _refuse_occurrence(item: Item) -> None:
    if item.occurrence_of is not None:
        raise EwsError(
            "ErrorCalendarCannotMoveOrCopyOccurrence", "Cannot move or copy an occurrence of a recurring calendar item."
        )


# what an occurrence cannot have on its own: the series' pattern is the master's
OCCURRENCE_READ_ONLY = ("calendar:Recurrence",)


def _item_reference(parent: etree._Element, item: Item) -> None:
    etree.SubElement(etree.SubElement(parent, t(item.element)), t("ItemId"), Id=item.id, ChangeKey=item.changekey)


def _checked(ctx: Context, folder: Folder, element: str, props: dict, extended: dict) -> dict:
    """The props of a new item after Exchange's defaults and checks (nothing stored yet)."""
    check_folder_accepts(folder, element)
    apply_defaults(element, props)
    probe = Item(serial=0, id="", element=element, folder=folder.serial, props=props, extended=extended)
    normalize(probe, ctx.store)
    return probe.props


# CreateItem ---------------------------------------------------------------------------------------


def create_item(ctx: Context) -> etree._Element:
    request = ctx.request.element
    disposition = _choice(request, "MessageDisposition", MESSAGE_DISPOSITIONS)
    invitations = _choice(request, "SendMeetingInvitations", SEND_INVITATIONS)
    items_elem = request.find(m("Items"))
    if items_elem is None:
        raise schema_error("The element 'Items' is missing.")
    parsed: list[tuple[str, ItemContent | EwsError]] = []
    for item_elem in items_elem:
        if not isinstance(item_elem.tag, str):
            continue
        element = local(item_elem.tag)
        if element not in ITEM_TYPES:
            raise schema_error(f"The element 'Items' has invalid child element '{element}'.")
        try:
            parsed.append((element, read_item(item_elem, zone=ctx.request_zone)))
        except EwsError as exc:
            parsed.append((element, exc))
    if not parsed:
        raise schema_error("The element 'Items' has incomplete content: an item is expected.")
    saved_folder_elem = request.find(m("SavedItemFolderId"))
    folder_error = None
    saved_folder = None
    if saved_folder_elem is not None:
        try:
            saved_folder = ctx.single_folder(saved_folder_elem, "SavedItemFolderId")
        except EwsError as exc:
            folder_error = exc
    response = ResponseBuilder("CreateItem")
    for element, content in parsed:
        try:
            if isinstance(content, EwsError):
                raise content
            if folder_error is not None:
                raise folder_error
            if element == "Message" and disposition is None:
                raise EwsError("ErrorMessageDispositionRequired", "MessageDisposition is required for messages.")
            if element == "CalendarItem" and invitations is None:
                raise EwsError(
                    "ErrorSendMeetingInvitationsRequired",
                    "The SendMeetingInvitations attribute is required for calendar items.",
                )
            folder = saved_folder or _default_folder(ctx, element, disposition)
            props = _checked(ctx, folder, element, content.props, content.extended)
            item = ctx.mailbox.add_item(folder, element, props, content.extended)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Items"))
            continue
        msg = response.success()
        _item_reference(etree.SubElement(msg, m("Items")), item)
    return response.root


def _default_folder(ctx: Context, element: str, disposition: str | None) -> Folder:
    if element in DEFAULT_FOLDERS:
        return ctx.mailbox.distinguished[DEFAULT_FOLDERS[element]]
    if disposition in ("SendOnly", "SendAndSaveCopy"):
        return ctx.mailbox.distinguished["sentitems"]
    return ctx.mailbox.distinguished["drafts"]


# GetItem ------------------------------------------------------------------------------------------


def get_item(ctx: Context) -> etree._Element:
    request = ctx.request.element
    shape = parse_shape(request.find(m("ItemShape")))
    response = ResponseBuilder("GetItem")
    for id_elem in ctx.item_elements(request.find(m("ItemIds")), "ItemIds"):
        try:
            item = ctx.item(id_elem)
            holder = etree.Element(m("Items"))
            write_item(holder, item, ctx.mailbox, shape)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Items"))
            continue
        msg = response.success()
        msg.append(holder)
    return response.root


# UpdateItem ---------------------------------------------------------------------------------------


@dataclass
class Update:
    kind: str  # SetItemField, AppendToItemField, DeleteItemField
    path: Path
    value: etree._Element | None = None  # the item element of a set or append


@dataclass
class Change:
    id_elem: etree._Element
    updates: list[Update] = field(default_factory=list)


def _parse_changes(request: etree._Element) -> list[Change]:
    changes_elem = request.find(m("ItemChanges"))
    if changes_elem is None:
        raise schema_error("The element 'ItemChanges' is missing.")
    changes = []
    for change_elem in changes_elem:
        if not isinstance(change_elem.tag, str):
            continue
        if local(change_elem.tag) != "ItemChange":
            raise schema_error(f"The element 'ItemChanges' has invalid child element '{local(change_elem.tag)}'.")
        id_elems = [child for child in change_elem if local(child.tag) in ITEM_ID_ELEMENTS]
        updates_elem = change_elem.find(t("Updates"))
        if len(id_elems) != 1 or updates_elem is None:
            raise schema_error("The element 'ItemChange' needs one item id and Updates.")
        change = Change(id_elems[0])
        for update_elem in updates_elem:
            if not isinstance(update_elem.tag, str):
                continue
            kind = local(update_elem.tag)
            if kind not in ("SetItemField", "AppendToItemField", "DeleteItemField"):
                raise schema_error(f"The element 'Updates' has invalid child element '{kind}'.")
            children = [child for child in update_elem if isinstance(child.tag, str)]
            if not children:
                raise schema_error(f"The element '{kind}' has incomplete content.")
            path = parse_path(children[0])
            if kind == "DeleteItemField":
                if len(children) != 1:
                    raise schema_error("The element 'DeleteItemField' holds only a property path.")
                change.updates.append(Update(kind, path))
                continue
            if len(children) != 2 or local(children[1].tag) not in ITEM_TYPES:
                raise schema_error(f"The element '{kind}' needs a property path and an item.")
            change.updates.append(Update(kind, path, children[1]))
        changes.append(change)
    if not changes:
        raise schema_error("The element 'ItemChanges' has incomplete content: an ItemChange is expected.")
    return changes


def update_item(ctx: Context) -> etree._Element:
    request = ctx.request.element
    resolution = _choice(request, "ConflictResolution", CONFLICT_RESOLUTIONS, required=True)
    disposition = _choice(request, "MessageDisposition", MESSAGE_DISPOSITIONS)
    invitations = _choice(request, "SendMeetingInvitationsOrCancellations", SEND_INVITATIONS_OR_CANCELLATIONS)
    changes = _parse_changes(request)
    response = ResponseBuilder("UpdateItem")
    for change in changes:
        try:
            item = ctx.item(change.id_elem)
            given = ids.check_change_key(change.id_elem.get("ChangeKey"))
            if given is not None and given != item.changekey and resolution == "NeverOverwrite":
                raise EwsError("ErrorIrresolvableConflict")
            if item.element == "Message" and disposition is None:
                raise EwsError("ErrorMessageDispositionRequired", "MessageDisposition is required for messages.")
            if item.element == "CalendarItem" and invitations is None:
                raise EwsError(
                    "ErrorSendMeetingInvitationsOrCancellationsRequired",
                    "The SendMeetingInvitationsOrCancellations attribute is required for calendar items.",
                )
            props = copy_props(item.props)
            extended = dict(item.extended)
            for update in change.updates:
                if item.occurrence_of is not None and update.path.kind == "field":
                    if update.path.uri in OCCURRENCE_READ_ONLY or update.path.uri == "calendar:UID":
                        if update.kind == "DeleteItemField":
                            continue  # exchangelib clears them on an occurrence: nothing to do
                        if update.path.uri in OCCURRENCE_READ_ONLY:
                            raise EwsError("ErrorInvalidPropertySet", field_uri=update.path.element())
                _apply(ctx, item, props, extended, update)
            probe = Item(
                serial=0,
                id="",
                element=item.element,
                folder=item.folder,
                props=props,
                extended=extended,
                created=item.created,
            )
            normalize(probe, ctx.store)
            if item.occurrence_of is not None:
                master = ctx.mailbox.items[item.occurrence_of]
                item = recurrence.change_occurrence(ctx.mailbox, master, item, probe.props, extended)
            else:
                before = item.props
                item.props, item.extended = probe.props, extended
                if item.element == "CalendarItem":
                    recurrence.master_changed(item, before)
                ctx.mailbox.touch_item(item)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Items"))
            continue
        msg = response.success()
        _item_reference(etree.SubElement(msg, m("Items")), item)
        conflicts = etree.SubElement(msg, m("ConflictResults"))
        etree.SubElement(conflicts, t("Count")).text = "0"
    return response.root


def _single_property(value: etree._Element) -> etree._Element:
    children = [child for child in value if isinstance(child.tag, str)]
    if len(children) != 1:
        raise EwsError("ErrorIncorrectUpdatePropertyCount")
    return children[0]


def _apply(ctx: Context, item: Item, props: dict, extended: dict, update: Update) -> None:
    path = update.path
    item_type = ITEM_TYPES[item.element]
    if path.kind == "extended":
        if update.kind == "DeleteItemField":
            extended.pop(path.extended_path.key, None)
            return
        child = _single_property(update.value)
        if local(child.tag) != "ExtendedProperty":
            raise EwsError("ErrorIncorrectUpdatePropertyCount")
        value = parse_property(child)
        if value.path.key != path.extended_path.key:
            raise EwsError("ErrorIncorrectUpdatePropertyCount")
        if update.kind == "AppendToItemField":
            raise EwsError("ErrorInvalidPropertyAppend", field_uri=path.element())
        extended[value.path.key] = value
        return
    if path.kind == "indexed":
        _apply_indexed(item, props, update)
        return
    prop = ITEM_URIS[path.uri]
    if not item_type.has_uri(path.uri):
        if update.kind == "DeleteItemField":
            return
        raise EwsError("ErrorInvalidPropertySet", field_uri=path.element())
    if update.kind == "DeleteItemField":
        if prop.read_only or prop.kind == "computed" or path.uri in ("item:ItemClass",):
            raise EwsError("ErrorInvalidPropertyDelete", field_uri=path.element())
        props.pop(path.uri, None)
        return
    child = _single_property(update.value)
    if local(child.tag) != prop.name:
        raise EwsError("ErrorIncorrectUpdatePropertyCount")
    stored_zones = {
        name: props[f"calendar:{name}"]
        for name in ("StartTimeZone", "EndTimeZone", "MeetingTimeZone")
        if f"calendar:{name}" in props
    }
    content = read_item(update.value, stored_zones=stored_zones, zone=ctx.request_zone)
    new_value = content.props[path.uri]
    if update.kind == "SetItemField":
        props[path.uri] = new_value
        return
    # AppendToItemField
    if prop.kind == "body":
        old = props.get(path.uri)
        if old is None:
            props[path.uri] = new_value
        elif old[0] == new_value[0]:
            props[path.uri] = (old[0], old[1] + new_value[1])
        elif old[0] == "HTML":
            props[path.uri] = ("HTML", old[1] + text_to_html(new_value[1]))
        else:
            raise EwsError("ErrorInvalidPropertyAppend", field_uri=path.element())
        return
    if prop.kind == "xml" and prop.name.endswith(("Recipients", "Attendees", "Resources", "ReplyTo", "Members")):
        old = props.get(path.uri)
        if old is None:
            props[path.uri] = new_value
        else:
            for child_elem in new_value:
                old.append(copy.deepcopy(child_elem))
        return
    raise EwsError("ErrorInvalidPropertyAppend", field_uri=path.element())


def _apply_indexed(item: Item, props: dict, update: Update) -> None:
    path = update.path
    name = path.indexed_name
    if item.element != "Contact":
        if update.kind == "DeleteItemField":
            return
        raise EwsError("ErrorInvalidPropertySet", field_uri=path.element())
    uri = f"contacts:{name}"
    entries = dict(props.get(uri) or {})
    part = path.address_part
    if update.kind == "DeleteItemField":
        if part is None:
            entries.pop(path.index, None)
        elif path.index in entries:
            remaining = {k: v for k, v in entries[path.index].items() if k != part}
            if remaining:
                entries[path.index] = remaining
            else:
                del entries[path.index]
        if entries:
            props[uri] = entries
        else:
            props.pop(uri, None)
        return
    if update.kind == "AppendToItemField":
        raise EwsError("ErrorInvalidPropertyAppend", field_uri=path.element())
    child = _single_property(update.value)
    if local(child.tag) != name:
        raise EwsError("ErrorIncorrectUpdatePropertyCount")
    content = read_item(update.value)
    given = content.props.get(uri) or {}
    if set(given) != {path.index}:
        raise EwsError("ErrorIncorrectUpdatePropertyCount")
    value = given[path.index]
    if part is not None:
        if set(value) != {part}:
            raise EwsError("ErrorIncorrectUpdatePropertyCount")
        merged = dict(entries.get(path.index) or {})
        merged[part] = value[part]
        entries[path.index] = {p: merged[p] for p in INDEXED["PhysicalAddresses"].parts if p in merged}
    else:
        entries[path.index] = value
    props[uri] = entries


# DeleteItem, MoveItem, CopyItem -------------------------------------------------------------------


def delete_item(ctx: Context) -> etree._Element:
    request = ctx.request.element
    delete_type = _choice(request, "DeleteType", DELETE_TYPES, required=True)
    cancellations = _choice(request, "SendMeetingCancellations", SEND_CANCELLATIONS)
    response = ResponseBuilder("DeleteItem")
    mailbox = ctx.mailbox
    for id_elem in ctx.item_elements(request.find(m("ItemIds")), "ItemIds"):
        try:
            item = ctx.item(id_elem)
            if item.element == "CalendarItem" and cancellations is None:
                raise EwsError(
                    "ErrorSendMeetingCancellationsRequired",
                    "The SendMeetingCancellations attribute is required for calendar items.",
                )
            if item.occurrence_of is not None:
                # one occurrence: whatever the DeleteType, the master keeps it as deleted
                recurrence.delete_occurrence(mailbox, mailbox.items[item.occurrence_of], item)
                response.success()
                continue
            trash = mailbox.distinguished["deleteditems"]
            dumpster = mailbox.distinguished["recoverableitemsdeletions"]
            if delete_type == "HardDelete" or item.folder == dumpster.serial:
                mailbox.remove_item(item)
            elif delete_type == "MoveToDeletedItems" and item.folder != trash.serial:
                mailbox.move_item(item, trash)
            else:
                mailbox.move_item(item, dumpster)
        except EwsError as exc:
            response.error(exc)
            continue
        response.success()
    return response.root


def _move_or_copy(ctx: Context, operation: str) -> etree._Element:
    request = ctx.request.element
    target = ctx.single_folder(request.find(m("ToFolderId")), "ToFolderId")
    return_ids = (request.findtext(m("ReturnNewItemIds")) or "true").strip().lower() in ("true", "1")
    response = ResponseBuilder(operation)
    for id_elem in ctx.item_elements(request.find(m("ItemIds")), "ItemIds"):
        try:
            item = ctx.item(id_elem)
            _refuse_occurrence(item)
            if operation == "MoveItem":
                new_item = item if item.folder == target.serial else ctx.mailbox.move_item(item, target)
            else:
                new_item = ctx.mailbox.add_item(target, item.element, copy_props(item.props), dict(item.extended))
                new_item.modified_occurrences_from(item)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Items"))
            continue
        msg = response.success()
        items = etree.SubElement(msg, m("Items"))
        if return_ids:
            _item_reference(items, new_item)
    return response.root


def move_item(ctx: Context) -> etree._Element:
    return _move_or_copy(ctx, "MoveItem")


def copy_item(ctx: Context) -> etree._Element:
    return _move_or_copy(ctx, "CopyItem")
