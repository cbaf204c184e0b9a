"""Paged views of FindItem and FindFolder: which slice of the matching objects a page holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar, overload

from lxml import etree

from .errors import EwsError, schema_error
from .namespaces import m

T_ = TypeVar("T_")

# Exchange's EWSFindCountLimit: no page holds more than this many objects.
FIND_COUNT_LIMIT = 1000


@dataclass
class Page:
    objects: list
    total: int
    includes_last: bool
    offset_attributes: dict[str, str]


@overload
def _int_attr(elem: etree._Element, name: str, required: Literal[True], default: int | None = None) -> int: ...


@overload
def _int_attr(elem: etree._Element, name: str, required: bool, default: int | None = None) -> int | None: ...


def _int_attr(elem: etree._Element, name: str, required: bool, default: int | None = None) -> int | None:
    text = elem.get(name)
    if text is None:
        if required:
            raise schema_error(f"The required attribute '{name}' is missing.")
        return default
    try:
        return int(text)
    except ValueError:
        raise schema_error(f"The '{name}' attribute is invalid - The value '{text}' is invalid.") from None


def paged(request: etree._Element, objects: list, kind: str) -> Page:
    """Apply the request's IndexedPage<kind>View or FractionalPage<kind>View (kind: Item or Folder)."""
    indexed = request.find(m(f"IndexedPage{kind}View"))
    fractional = request.find(m(f"FractionalPage{kind}View"))
    total = len(objects)
    if indexed is not None:
        maximum = _int_attr(indexed, "MaxEntriesReturned", False)
        offset = _int_attr(indexed, "Offset", True)
        base_point = indexed.get("BasePoint")
        if base_point not in ("Beginning", "End"):
            raise schema_error(f"The 'BasePoint' attribute is invalid - The value '{base_point}' is invalid.")
        if offset < 0 or (maximum is not None and maximum < 1):
            raise EwsError("ErrorInvalidIndexedPagingParameters")
        count = min(maximum or FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)
        if base_point == "Beginning":
            start = min(offset, total)
            end = min(start + count, total)
            page = objects[start:end]
            includes_last = end >= total
            next_offset = end
        else:
            end = max(total - offset, 0)
            start = max(end - count, 0)
            page = objects[start:end]
            includes_last = start <= 0
            next_offset = offset + len(page)
        return Page(page, total, includes_last, {"IndexedPagingOffset": str(next_offset)})
    if fractional is not None:
        maximum = _int_attr(fractional, "MaxEntriesReturned", False)
        numerator = _int_attr(fractional, "Numerator", True)
        denominator = _int_attr(fractional, "Denominator", True)
        if denominator <= 0 or numerator < 0 or numerator > denominator or (maximum is not None and maximum < 1):
            raise EwsError("ErrorInvalidFractionalPagingParameters", "Invalid fractional paging parameters.")
        count = min(maximum or FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)
        start = total * numerator // denominator
        end = min(start + count, total)
        return Page(
            objects[start:end],
            total,
            end >= total,
            {"NumeratorOffset": str(end), "AbsoluteDenominator": str(total)},
        )
    page = objects[:FIND_COUNT_LIMIT]
    return Page(page, total, len(page) >= total, {})


def root_folder(parent: etree._Element, page: Page) -> etree._Element:
    """The m:RootFolder element with the paging attributes Exchange writes."""
    elem = etree.SubElement(parent, m("RootFolder"))
    for name, value in page.offset_attributes.items():
        elem.set(name, value)
    elem.set("TotalItemsInView", str(page.total))
    elem.set("IncludesLastItemInRange", "true" if page.includes_last else "false")
    return elem
