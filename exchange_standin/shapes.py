"""Property paths (FieldURI, IndexedFieldURI, ExtendedFieldURI) and response shapes (ItemShape,
FolderShape): which properties a response carries."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .errors import schema_error
from .extended import ExtendedPath
from .extended import parse_path as parse_extended_path
from .namespaces import local, t
from .schema import BASE_SHAPES, BODY_TYPES, FOLDER_URIS, INDEXED, INDEXED_BY_URI, ITEM_URIS

PATH_ELEMENTS = ("FieldURI", "IndexedFieldURI", "ExtendedFieldURI")


@dataclass(frozen=True)
class Path:
    """One property path. kind: field, indexed or extended."""

    kind: str
    uri: str = ""
    index: str | None = None  # the FieldIndex of an indexed path
    extended: ExtendedPath | None = None

    @property
    def extended_path(self) -> ExtendedPath:
        """The ExtendedPath of an extended path (kind "extended")."""
        if self.extended is None:
            raise ValueError(f"the {self.kind} path {self.uri!r} is not an extended property path")
        return self.extended

    @property
    def indexed_name(self) -> str | None:
        """EmailAddresses, PhysicalAddresses, ... for an indexed path."""
        if self.kind != "indexed":
            return None
        base, _, _part = self.uri.partition(":PhysicalAddress:")
        if _part:
            return "PhysicalAddresses"
        return INDEXED_BY_URI[self.uri].name

    @property
    def address_part(self) -> str | None:
        _, sep, part = self.uri.partition("contacts:PhysicalAddress:")
        return part if sep else None

    def element(self) -> etree._Element:
        """The path as an element again (for MessageXml)."""
        if self.kind == "extended":
            return self.extended_path.element()
        if self.kind == "indexed":
            return etree.Element(t("IndexedFieldURI"), FieldURI=self.uri, FieldIndex=self.index or "")
        return etree.Element(t("FieldURI"), FieldURI=self.uri)


def parse_path(elem: etree._Element, *, folders: bool = False) -> Path:
    """Read a path element. `folders` selects folder URIs instead of item URIs."""
    name = local(elem.tag)
    if name == "FieldURI":
        uri = (elem.get("FieldURI") or "").strip()
        known = FOLDER_URIS if folders else ITEM_URIS
        if uri not in known:
            raise schema_error(
                f"The 'FieldURI' attribute is invalid - The value '{uri}' is invalid according to its datatype "
                "'http://schemas.microsoft.com/exchange/services/2006/types:UnindexedFieldURIType' - "
                "The Enumeration constraint failed."
            )
        return Path("field", uri)
    if name == "IndexedFieldURI":
        uri = (elem.get("FieldURI") or "").strip()
        index = (elem.get("FieldIndex") or "").strip()
        base, sep, part = uri.partition(":PhysicalAddress:")
        if sep:
            entry = INDEXED["PhysicalAddresses"]
            if part not in entry.parts:
                raise schema_error(f"The 'FieldURI' attribute is invalid - The value '{uri}' is invalid.")
        elif uri in INDEXED_BY_URI and uri != "contacts:PhysicalAddress":
            entry = INDEXED_BY_URI[uri]
        else:
            raise schema_error(f"The 'FieldURI' attribute is invalid - The value '{uri}' is invalid.")
        if index not in entry.keys:
            raise schema_error(f"The 'FieldIndex' attribute is invalid - The value '{index}' is invalid for {uri}.")
        return Path("indexed", uri, index)
    if name == "ExtendedFieldURI":
        return Path("extended", extended=parse_extended_path(elem))
    raise schema_error(f"The element '{name}' is not a property path.")


def is_path(elem: etree._Element) -> bool:
    return local(elem.tag) in PATH_ELEMENTS


@dataclass
class Shape:
    base: str = "Default"
    fields: set[str] = field(default_factory=set)  # field URIs
    indexed: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)  # name -> {(key, part)}
    extended: list[ExtendedPath] = field(default_factory=list)
    body_type: str = "Best"
    unique_body_type: str = "HTML"  # UniqueBody is an HTML fragment unless asked for otherwise
    include_mime: bool = False
    paths: list[Path] = field(default_factory=list)


def parse_shape(elem: etree._Element | None, *, folders: bool = False) -> Shape:
    """Read an ItemShape or FolderShape element (None: the element is missing)."""
    if elem is None:
        what = "FolderShape" if folders else "ItemShape"
        raise schema_error(f"The element '{what}' is missing.")
    shape = Shape()
    base = elem.find(t("BaseShape"))
    if base is None or (base.text or "").strip() not in BASE_SHAPES:
        value = None if base is None else base.text
        raise schema_error(f"The 'BaseShape' element is invalid - The value '{value}' is invalid.")
    shape.base = base.text.strip()
    for child in elem:
        name = local(child.tag)
        if name in ("BodyType", "UniqueBodyType"):
            value = (child.text or "").strip()
            if value not in BODY_TYPES:
                raise schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid.")
            if name == "BodyType":
                shape.body_type = value
            else:
                shape.unique_body_type = value
        elif name == "IncludeMimeContent":
            shape.include_mime = (child.text or "").strip().lower() in ("true", "1")
        elif name == "AdditionalProperties":
            for path_elem in child:
                if not isinstance(path_elem.tag, str):
                    continue
                path = parse_path(path_elem, folders=folders)
                shape.paths.append(path)
                if path.kind == "field":
                    shape.fields.add(path.uri)
                elif path.kind == "indexed":
                    indexed_name, index = path.indexed_name, path.index
                    assert indexed_name is not None and index is not None  # an indexed path has both
                    shape.indexed.setdefault(indexed_name, set()).add((index, path.address_part))
                else:
                    shape.extended.append(path.extended_path)
    return shape
