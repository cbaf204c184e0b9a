"""exchangelib's EWS services, answering per response message instead of raising at the first error.

exchangelib raises the error of the first response message it does not expect (ErrorTimeoutExpired,
ErrorQuotaExceeded, ErrorIrresolvableConflict, …) and drops the others, although Exchange has
answered, and usually carried out, every item of the request. These services give each response
message's outcome instead, an element or the exception, so that the caller knows item by item
what happened. A failure of the request as a whole (a SOAP fault, HTTP, the network) still
raises. An ErrorServerBusy in a response message keeps its BackOffMilliseconds.
"""

from __future__ import annotations

import copy
from typing import Any

from exchangelib.errors import ErrorServerBusy, UnknownTimeZone
from exchangelib.services import CreateItem, DeleteItem, GetItem, SyncFolderItems, UpdateItem
from exchangelib.services.common import EWSService
from exchangelib.util import MNS, TNS, set_xml_value
from loguru import logger
from lxml import etree


def _back_off(message: Any) -> float | None:
    """The seconds in an error message's <MessageXml><Value Name="BackOffMilliseconds">."""
    for value in message.iterfind(f"{{{MNS}}}MessageXml/{{{TNS}}}Value"):
        if value.get("Name") == "BackOffMilliseconds" and value.text:
            try:
                return int(value.text) / 1000
            except ValueError:
                return None
    return None


class PerMessage(EWSService):
    """The outcome of every response message: exceptions are returned in their place, not raised."""

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        response_class = message.get("ResponseClass")
        code = message.findtext(f"{{{MNS}}}ResponseCode")
        if code == "NoError" or (response_class == "Success" and not code):
            return super()._get_element_container(message, name)
        text = message.findtext(f"{{{MNS}}}MessageText") or ""
        exc = self._get_exception(code=code, text=text, msg_xml=message.find(f"{{{MNS}}}MessageXml"))
        if isinstance(exc, ErrorServerBusy) and exc.back_off is None:
            exc.back_off = _back_off(message)
        return exc


class CreateItems(PerMessage, CreateItem):
    """CreateItem; `requested` tells whether the request was written (exchangelib checks every
    item as it writes it, and refuses one with ValueError or TypeError before anything is sent).
    An item may also come as its XML element, written already (calendar_xml.py); it is sent as
    it is, in its place."""

    requested = False

    def get_payload(self, items: Any, folder: Any, message_disposition: Any, send_meeting_invitations: Any) -> Any:
        payload = super().get_payload([], folder, message_disposition, send_meeting_invitations)
        container = payload.find(f"{{{MNS}}}Items")
        for item in items:
            if isinstance(item, etree._Element):
                container.append(item)
                continue
            if not item.account:
                item.account = self.account
            set_xml_value(container, item, version=self.account.version)
        self.requested = True
        return payload


class UpdateItems(PerMessage, UpdateItem):
    pass


class DeleteItems(PerMessage, DeleteItem):
    pass


ZONE_ELEMENTS = tuple(f"{{{TNS}}}{name}" for name in ("StartTimeZone", "EndTimeZone", "MeetingTimeZone"))
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, UnknownTimeZone)


class GetItems(PerMessage, GetItem):
    """GetItem; an item exchangelib cannot read comes back as the exception in its place, not as
    the failure of the whole request. An item whose time zone exchangelib cannot read (a custom
    zone of an imported invitation, without an id) is read without it: its instants are UTC
    anyway, and its zone reads as UTC."""

    def _elems_to_objs(self, elems: Any) -> Any:
        for elem in elems:
            if isinstance(elem, (Exception, bool)):
                yield elem
                continue
            spare = copy.deepcopy(elem)  # exchangelib takes the element apart as it reads it
            try:
                yield self._elem_to_obj(elem)
            except UNREADABLE as exc:
                zones = [child for child in spare if child.tag in ZONE_ELEMENTS]
                if not zones:
                    yield exc
                    continue
                for zone in zones:
                    spare.remove(zone)
                try:
                    item = self._elem_to_obj(spare)
                except UNREADABLE as again:
                    yield again
                    continue
                logger.warning(f"Exchange item {item.id}: its time zone cannot be read ({exc}); it is read as UTC")
                yield item


class SyncItems(PerMessage, SyncFolderItems):
    """SyncFolderItems. exchangelib's reads the SyncState of a response before looking whether it
    is an error and then fails on the missing element; an error message is an error here."""

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        if message.findtext(f"{{{MNS}}}ResponseCode") != "NoError":
            return PerMessage._get_element_container(self, message, name)
        return super()._get_element_container(message, name)
