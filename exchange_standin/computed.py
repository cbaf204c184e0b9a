"""MAPI properties the store computes from an item, as Exchange does, answered to EWS
(ExtendedFieldURI PropertyTag) and Graph (singleValueExtendedProperties "Integer 0x1016") alike
when a client names them. A client cannot set them: what the store computes wins.

PidTagNativeBody (0x1016, PT_LONG, [MS-OXCMSG] 2.2.1.58.2): the format the body is stored in,
0 undefined (no body), 1 plain text, 2 RTF, 3 HTML, 4 clear-signed. The stand-in keeps bodies as
HTML or Text only (bodies.py), so it answers 0, 1 or 3.
"""

from __future__ import annotations

from .extended import ExtendedPath, ExtendedValue
from .store import Item

NATIVE_BODY_TAG = 0x1016
NATIVE_BODY_PATH = ExtendedPath((("PropertyTag", "0x1016"), ("PropertyType", "Integer")), ("tag", 0x1016), "Integer")
UNDEFINED, PLAIN_TEXT, RTF, HTML, CLEAR_SIGNED = 0, 1, 2, 3, 4
_NATIVE = {"Text": PLAIN_TEXT, "HTML": HTML}


def native_body(item: Item) -> int:
    """PidTagNativeBody of the item's stored body."""
    body = item.props.get("item:Body")
    if body is None:
        return UNDEFINED
    return _NATIVE[body[0]]


def computed_properties(item: Item) -> dict[tuple, ExtendedValue]:
    """The computed properties of the item, keyed as Item.extended is."""
    return {NATIVE_BODY_PATH.key: ExtendedValue(NATIVE_BODY_PATH, (str(native_body(item)),))}


def with_computed(item: Item) -> dict[tuple, ExtendedValue]:
    """The item's extended properties with the computed ones (which a stored value cannot hide)."""
    return {**item.extended, **computed_properties(item)}
