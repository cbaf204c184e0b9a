"""The answers of the faults that look like Exchange's own failures: an error in every response
message of a request (a full mailbox, an invalid sync state, a store that is unavailable), or a
request carried out and then answered with errors (ErrorTimeoutExpired in its messages, or a
SOAP fault), as Exchange does when it runs out of time after the work."""

from __future__ import annotations

from lxml import etree

from .errors import EwsError
from .namespaces import local, m
from .soap import XML_DECLARATION, Request, ResponseBuilder, envelope

_ITEMS_OF = {
    "CreateItem": "Items",
    "UpdateItem": "ItemChanges",
    "DeleteItem": "ItemIds",
    "GetItem": "ItemIds",
    "MoveItem": "ItemIds",
    "CopyItem": "ItemIds",
    "CreateFolder": "Folders",
    "GetFolder": "FolderIds",
    "DeleteFolder": "FolderIds",
}


def message_count(request: Request) -> int:
    """How many response messages Exchange writes for the request: one per object it names."""
    container = _ITEMS_OF.get(request.operation)
    if container is None:
        return 1
    elem = request.element.find(m(container))
    if elem is None:
        return 1
    return max(1, sum(1 for child in elem if isinstance(child.tag, str)))


def every_message_fails(request: Request, error: EwsError) -> bytes:
    """A response in which each object of the request fails with `error` (nothing was done)."""
    builder = ResponseBuilder(request.operation)
    for _ in range(message_count(request)):
        builder.error(error)
    return envelope(builder.root)


def messages_replaced(document: bytes, error: EwsError, keep: int = 0) -> bytes:
    """The response `document` with every response message after the first `keep` replaced by
    `error` (the work stays done)."""
    root = etree.fromstring(document)
    container = root.find(f".//{m('ResponseMessages')}")
    if container is None:
        return document
    for message in [child for child in container if isinstance(child.tag, str)][keep:]:
        operation = local(container.getparent().tag).removesuffix("Response")
        builder = ResponseBuilder(operation, local(message.tag))
        container.replace(message, builder.error(error))
    return XML_DECLARATION + etree.tostring(root, encoding="utf-8")
