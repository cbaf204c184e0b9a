"""Folder operations: GetFolder, FindFolder, CreateFolder, UpdateFolder, DeleteFolder, EmptyFolder."""

from __future__ import annotations

from lxml import etree

from .context import Context
from .errors import EwsError, schema_error
from .extended import parse_property
from .folderxml import read_new_folder, write_folder
from .namespaces import local, m, t
from .restrictions import compile_restriction
from .schema import folder_element_for_class
from .shapes import parse_path, parse_shape
from .soap import ResponseBuilder
from .store import Folder
from .values import folder_getter
from .views import paged, root_folder

DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")


def get_folder(ctx: Context) -> etree._Element:
    request = ctx.request.element
    shape = parse_shape(request.find(m("FolderShape")), folders=True)
    response = ResponseBuilder("GetFolder")
    for folder_elem in ctx.folder_elements(request.find(m("FolderIds")), "FolderIds"):
        try:
            folder = ctx.folder(folder_elem)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Folders"))
            continue
        msg = response.success()
        write_folder(etree.SubElement(msg, m("Folders")), folder, ctx.mailbox, shape)
    return response.root


def find_folder(ctx: Context) -> etree._Element:
    request = ctx.request.element
    traversal = request.get("Traversal")
    if traversal not in ("Shallow", "Deep", "SoftDeleted"):
        raise schema_error(f"The 'Traversal' attribute is invalid - The value '{traversal}' is invalid.")
    shape = parse_shape(request.find(m("FolderShape")), folders=True)
    restriction_elem = request.find(m("Restriction"))
    restriction = None
    if restriction_elem is not None:
        restriction = compile_restriction(restriction_elem, folders=True, zone=ctx.request_zone)
    response = ResponseBuilder("FindFolder")
    for folder_elem in ctx.folder_elements(request.find(m("ParentFolderIds")), "ParentFolderIds"):
        try:
            parent = ctx.folder(folder_elem)
            if traversal == "Deep":
                found = ctx.mailbox.descendants(parent)
            elif traversal == "Shallow":
                found = ctx.mailbox.children(parent)
            else:
                found = []
            if restriction is not None:
                found = [f for f in found if restriction(folder_getter(f, ctx.mailbox))]
            page = paged(request, found, "Folder")
        except EwsError as exc:
            response.error(exc)
            continue
        msg = response.success()
        folders_elem = etree.SubElement(root_folder(msg, page), t("Folders"))
        for folder in page.objects:
            write_folder(folders_elem, folder, ctx.mailbox, shape)
    return response.root


def create_folder(ctx: Context) -> etree._Element:
    request = ctx.request.element
    parent = ctx.single_folder(request.find(m("ParentFolderId")), "ParentFolderId")
    folders = request.find(m("Folders"))
    if folders is None:
        raise schema_error("The element 'Folders' is missing.")
    if not [child for child in folders if isinstance(child.tag, str)]:
        raise schema_error("The element 'Folders' has incomplete content: a folder is expected.")
    response = ResponseBuilder("CreateFolder")
    for folder_elem in folders:
        if not isinstance(folder_elem.tag, str):
            continue
        try:
            new = read_new_folder(folder_elem)
            siblings = {f.display_name.casefold() for f in ctx.mailbox.children(parent)}
            if new.display_name.casefold() in siblings:
                raise EwsError("ErrorFolderExists")
            element = folder_element_for_class(new.folder_class) if new.element == "Folder" else new.element
            folder = ctx.mailbox.new_folder(parent, new.display_name, new.folder_class, element)
            folder.extended.update(new.extended)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Folders"))
            continue
        _answer_folder_id(response, folder)
    return response.root


def _delete_type(request: etree._Element) -> str:
    delete_type = request.get("DeleteType")
    if delete_type not in DELETE_TYPES:
        raise schema_error(f"The 'DeleteType' attribute is invalid - The value '{delete_type}' is invalid.")
    return delete_type


def delete_folder(ctx: Context) -> etree._Element:
    request = ctx.request.element
    delete_type = _delete_type(request)
    response = ResponseBuilder("DeleteFolder")
    for folder_elem in ctx.folder_elements(request.find(m("FolderIds")), "FolderIds"):
        try:
            folder = ctx.folder(folder_elem)
            if folder.distinguished:
                raise EwsError("ErrorDeleteDistinguishedFolder")
            trash = ctx.mailbox.distinguished["deleteditems"]
            if delete_type == "MoveToDeletedItems" and trash not in ctx.mailbox.path_of(folder):
                _move_folder(ctx, folder, trash)
            else:
                ctx.mailbox.remove_folder(folder)
        except EwsError as exc:
            response.error(exc)
            continue
        response.success()
    return response.root


def _move_folder(ctx: Context, folder: Folder, target: Folder) -> None:
    ctx.mailbox.move_folder(folder, target)


def empty_folder(ctx: Context) -> etree._Element:
    request = ctx.request.element
    _delete_type(request)
    delete_subfolders = (request.get("DeleteSubFolders") or "false").lower() in ("true", "1")
    response = ResponseBuilder("EmptyFolder")
    for folder_elem in ctx.folder_elements(request.find(m("FolderIds")), "FolderIds"):
        try:
            folder = ctx.folder(folder_elem)
            for item in ctx.mailbox.folder_items(folder):
                ctx.mailbox.remove_item(item)
            if delete_subfolders:
                for child in ctx.mailbox.children(folder):
                    ctx.mailbox.remove_folder(child)
        except EwsError as exc:
            response.error(exc)
            continue
        response.success()
    return response.root


def update_folder(ctx: Context) -> etree._Element:
    request = ctx.request.element
    changes = request.find(m("FolderChanges"))
    if changes is None:
        raise schema_error("The element 'FolderChanges' is missing.")
    if not [child for child in changes if isinstance(child.tag, str)]:
        raise schema_error("The element 'FolderChanges' has incomplete content: a FolderChange is expected.")
    response = ResponseBuilder("UpdateFolder")
    for change in changes:
        if not isinstance(change.tag, str):
            continue
        id_elems = [c for c in change if local(c.tag) in ("FolderId", "DistinguishedFolderId")]
        updates = change.find(t("Updates"))
        if not id_elems or updates is None:
            raise schema_error("The element 'FolderChange' needs a folder id and Updates.")
        try:
            folder = ctx.folder(id_elems[0])
            for update in updates:
                if isinstance(update.tag, str):
                    _apply_folder_update(ctx, folder, update)
            ctx.mailbox.touch_folder(folder)
        except EwsError as exc:
            msg = response.error(exc)
            etree.SubElement(msg, m("Folders"))
            continue
        _answer_folder_id(response, folder)
    return response.root


def _apply_folder_update(ctx: Context, folder: Folder, update: etree._Element) -> None:
    kind = local(update.tag)
    if kind not in ("SetFolderField", "AppendToFolderField", "DeleteFolderField"):
        raise schema_error(f"The element '{kind}' is not a folder update.")
    children = [c for c in update if isinstance(c.tag, str)]
    if not children:
        raise schema_error(f"The element '{kind}' has incomplete content.")
    path = parse_path(children[0], folders=True)
    if path.kind == "field" and path.uri == "folder:PermissionSet":
        return  # the emulator keeps the default permissions; setting or clearing them is accepted
    if kind == "DeleteFolderField":
        if path.kind == "extended":
            folder.extended.pop(path.extended_path.key, None)
            return
        raise EwsError("ErrorInvalidPropertyDelete", field_uri=path.element())
    if len(children) != 2:
        raise EwsError("ErrorIncorrectUpdatePropertyCount")
    values = [c for c in children[1] if isinstance(c.tag, str)]
    if len(values) != 1:
        raise EwsError("ErrorIncorrectUpdatePropertyCount")
    value = values[0]
    if path.kind == "extended":
        parsed = parse_property(value)
        folder.extended[parsed.path.key] = parsed
    elif path.uri == "folder:DisplayName" and local(value.tag) == "DisplayName":
        name = value.text or ""
        if not name:
            raise EwsError("ErrorInvalidPropertySet", field_uri=path.element())
        siblings = (
            {
                f.display_name.casefold()
                for f in ctx.mailbox.children(ctx.mailbox.folders[folder.parent])
                if f is not folder
            }
            if folder.parent is not None
            else set()
        )
        if name.casefold() in siblings:
            raise EwsError("ErrorFolderExists")
        folder.display_name = name
    elif path.uri == "folder:FolderClass" and local(value.tag) == "FolderClass" and kind == "SetFolderField":
        folder.folder_class = (value.text or "").strip() or None
    else:
        raise EwsError("ErrorInvalidPropertySet", field_uri=path.element())


def _answer_folder_id(response, folder) -> None:
    """A success message naming the folder by its id and change key (CreateFolder, UpdateFolder)."""
    msg = response.success()
    etree.SubElement(
        etree.SubElement(etree.SubElement(msg, m("Folders")), t(folder.element)),
        t("FolderId"),
        Id=folder.id,
        ChangeKey=folder.changekey,
    )
