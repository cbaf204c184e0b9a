"""Folders in XML: writing a folder with the properties a FolderShape asks for, reading the
folder a client wants to create."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .errors import EwsError, schema_error
from .extended import ExtendedValue, parse_property, write_property
from .itemxml import effective_rights
from .namespaces import T, local, namespace, t
from .schema import FOLDER_TYPES
from .shapes import Shape
from .store import Folder, Mailbox


def _permission(parent: etree._Element, calendar: bool, user: str) -> None:
    perm = etree.SubElement(parent, t("CalendarPermission" if calendar else "Permission"))
    user_id = etree.SubElement(perm, t("UserId"))
    etree.SubElement(user_id, t("DistinguishedUser")).text = user
    for name in ("CanCreateItems", "CanCreateSubFolders", "IsFolderOwner", "IsFolderVisible", "IsFolderContact"):
        etree.SubElement(perm, t(name)).text = "false"
    etree.SubElement(perm, t("EditItems")).text = "None"
    etree.SubElement(perm, t("DeleteItems")).text = "None"
    if calendar:
        etree.SubElement(perm, t("ReadItems")).text = "TimeOnly" if user == "Default" else "None"
        level = "FreeBusyTimeOnly" if user == "Default" else "None"
        etree.SubElement(perm, t("CalendarPermissionLevel")).text = level
    else:
        etree.SubElement(perm, t("ReadItems")).text = "None"
        etree.SubElement(perm, t("PermissionLevel")).text = "None"


def _permission_set(folder: Folder) -> etree._Element:
    calendar = folder.element == "CalendarFolder"
    elem = etree.Element(t("PermissionSet"))
    perms = etree.SubElement(elem, t("CalendarPermissions" if calendar else "Permissions"))
    for user in ("Default", "Anonymous"):
        _permission(perms, calendar, user)
    return elem


def _sharing_rights() -> etree._Element:
    elem = etree.Element(t("SharingEffectiveRights"))
    elem.text = "Read"
    return elem


def write_folder(parent: etree._Element, folder: Folder, mailbox: Mailbox, shape: Shape) -> etree._Element:
    props = FOLDER_TYPES[folder.element]
    elem = etree.SubElement(parent, t(folder.element))
    if shape.base == "IdOnly":
        names = {"FolderId"}
    elif shape.base == "AllProperties":
        names = {p.name for p in props if p.in_all}
    else:
        names = {p.name for p in props if p.in_default}
    names |= {p.name for p in props if p.uri in shape.fields}
    for prop in props:
        name = prop.name
        if name == "ExtendedProperty":
            for path in shape.extended:
                value = folder.extended.get(path.key)
                if value is not None:
                    write_property(elem, path, value)
            continue
        if name not in names:
            continue
        if name == "FolderId":
            etree.SubElement(elem, t(name), Id=folder.id, ChangeKey=folder.changekey)
        elif name == "ParentFolderId":
            if folder.parent is not None:
                parent_folder = mailbox.folders[folder.parent]
                etree.SubElement(elem, t(name), Id=parent_folder.id, ChangeKey=parent_folder.changekey)
        elif name == "FolderClass":
            if folder.folder_class is not None:
                etree.SubElement(elem, t(name)).text = folder.folder_class
        elif name == "DisplayName":
            etree.SubElement(elem, t(name)).text = folder.display_name
        elif name == "TotalCount":
            etree.SubElement(elem, t(name)).text = str(len(folder.items))
        elif name == "ChildFolderCount":
            etree.SubElement(elem, t(name)).text = str(len(mailbox.children(folder)))
        elif name == "UnreadCount":
            unread = sum(
                1
                for item in mailbox.folder_items(folder)
                if item.element == "Message" and not item.props.get("message:IsRead", True)
            )
            etree.SubElement(elem, t(name)).text = str(unread)
        elif name == "EffectiveRights":
            elem.append(effective_rights(True))
        elif name == "DistinguishedFolderId":
            if folder.distinguished:
                etree.SubElement(elem, t(name)).text = folder.distinguished
        elif name == "PermissionSet":
            elem.append(_permission_set(folder))
        elif name == "SharingEffectiveRights":
            elem.append(_sharing_rights())
    return elem


@dataclass
class NewFolder:
    element: str
    display_name: str
    folder_class: str | None
    extended: dict[tuple, ExtendedValue]


_ORDER = ("FolderClass", "DisplayName", "ExtendedProperty", "PermissionSet", "SearchParameters")


def read_new_folder(elem: etree._Element) -> NewFolder:
    """Read a folder element of CreateFolder."""
    element = local(elem.tag)
    if element not in FOLDER_TYPES or namespace(elem.tag) != T:
        raise schema_error(f"The element '{element}' is not a folder type.")
    display_name = None
    folder_class = None
    extended: dict[tuple, ExtendedValue] = {}
    last = -1
    for child in elem:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        if name in ("FolderId", "ParentFolderId", "TotalCount", "ChildFolderCount", "UnreadCount", "EffectiveRights"):
            raise EwsError("ErrorInvalidPropertySet", field_uri=etree.Element(t("FieldURI"), FieldURI=f"folder:{name}"))
        if name not in _ORDER or _ORDER.index(name) < last:
            raise schema_error(f"The element '{element}' has invalid child element '{name}'.")
        last = _ORDER.index(name)
        if name == "DisplayName":
            display_name = child.text or ""
        elif name == "FolderClass":
            folder_class = (child.text or "").strip() or None
        elif name == "ExtendedProperty":
            value = parse_property(child)
            extended[value.path.key] = value
    if not display_name:
        raise EwsError(
            "ErrorInvalidFolderId" if display_name is None else "ErrorInvalidRequest", "A folder needs a display name."
        )
    defaults = {"CalendarFolder": "IPF.Appointment", "ContactsFolder": "IPF.Contact", "TasksFolder": "IPF.Task"}
    if folder_class is None:
        folder_class = defaults.get(element, "IPF.Note" if element == "Folder" else None)
    return NewFolder(element, display_name, folder_class, extended)
