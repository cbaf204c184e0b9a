"""What an operation works with: the store, the caller's own mailbox and the request; and how the
ids in a request are resolved to folders and items (with the access rules of a mailbox user)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from . import ids
from .errors import EwsError, schema_error
from .namespaces import local, t
from .soap import Request
from .store import Folder, Item, Mailbox, Store
from .timezones import zone_for_windows_id

FOLDER_ID_ELEMENTS = ("FolderId", "DistinguishedFolderId")
ITEM_ID_ELEMENTS = ("ItemId", "OccurrenceItemId", "RecurringMasterItemId")


@dataclass
class Context:
    store: Store
    mailbox: Mailbox  # the authenticated user's mailbox, the only one it may use
    request: Request

    @property
    def request_zone(self) -> dt.tzinfo | None:
        """The zone of TimeZoneContext: what datetimes without offset mean."""
        return zone_for_windows_id(self.request.timezone_id)

    # mailboxes ----------------------------------------------------------------------------------

    def check_mailbox_address(self, address: str | None) -> None:
        """A request naming a mailbox may only name the caller's own."""
        if address is None or address.strip().lower() == self.mailbox.address.lower():
            return
        if self.store.mailbox(address) is not None:
            raise EwsError("ErrorAccessDenied")
        raise EwsError("ErrorNonExistentMailbox", f"The SMTP address has no mailbox associated with it: {address}")

    def _check_mailbox_key(self, key: bytes, not_found: str) -> None:
        if key == self.mailbox.key:
            return
        if key in self.store.by_key:
            raise EwsError("ErrorAccessDenied")
        raise EwsError(not_found)

    # folders ------------------------------------------------------------------------------------

    def folder(self, elem: etree._Element) -> Folder:
        """Resolve a t:FolderId or t:DistinguishedFolderId element."""
        name = local(elem.tag)
        if name == "DistinguishedFolderId":
            distinguished = (elem.get("Id") or "").strip()
            if not distinguished.isalpha() or not distinguished.islower():
                raise schema_error(f"The 'Id' attribute is invalid - The value '{distinguished}' is invalid.")
            mailbox_elem = elem.find(t("Mailbox"))
            if mailbox_elem is not None:
                address = mailbox_elem.findtext(t("EmailAddress"))
                if address is None or not address.strip():
                    raise EwsError("ErrorInvalidRequest", "A Mailbox element needs an EmailAddress.")
                self.check_mailbox_address(address)
            folder = self.mailbox.distinguished.get(distinguished)
            if folder is None or folder.is_deleted:
                raise EwsError("ErrorFolderNotFound")
            return folder
        if name == "FolderId":
            parsed = self.store.codec.parse(elem.get("Id"))
            if parsed is None:
                raise EwsError("ErrorFolderNotFound")
            self._check_mailbox_key(parsed.mailbox, "ErrorFolderNotFound")
            if parsed.kind != ids.FOLDER:
                raise EwsError("ErrorInvalidIdMalformed")
            ids.check_change_key(elem.get("ChangeKey"))
            folder = self.mailbox.folder_by_serial(parsed.serial)
            if folder is None:
                raise EwsError("ErrorFolderNotFound")
            return folder
        raise schema_error(f"The element '{name}' is not a folder id.")

    def folder_elements(self, container: etree._Element | None, what: str) -> list[etree._Element]:
        if container is None:
            raise schema_error(f"The element '{what}' is missing.")
        found = [child for child in container if local(child.tag) in FOLDER_ID_ELEMENTS]
        if not found:
            raise schema_error(f"The element '{what}' has incomplete content: a folder id is expected.")
        return found

    def single_folder(self, container: etree._Element | None, what: str) -> Folder:
        return self.folder(self.folder_elements(container, what)[0])

    # items --------------------------------------------------------------------------------------

    def item(self, elem: etree._Element) -> Item:
        """Resolve a t:ItemId (or RecurringMasterItemId / OccurrenceItemId) element."""
        name = local(elem.tag)
        if name == "OccurrenceItemId":
            from .recurrence import occurrence_item

            master = self._item_by_id(elem.get("RecurringMasterId"))
            if master.occurrence_of is not None:
                master = self.mailbox.items[master.occurrence_of]
            try:
                index = int(elem.get("InstanceIndex") or "")
            except ValueError:
                raise schema_error("The 'InstanceIndex' attribute is invalid.") from None
            return occurrence_item(self.mailbox, master, index)
        if name == "RecurringMasterItemId":
            item = self._item_by_id(elem.get("OccurrenceId"))
            if item.occurrence_of is not None:
                return self.mailbox.items[item.occurrence_of]
            return item
        if name != "ItemId":
            raise schema_error(f"The element '{name}' is not an item id.")
        return self._item_by_id(elem.get("Id"))

    def _item_by_id(self, text: str | None) -> Item:
        parsed = self.store.codec.parse(text)
        if parsed is None:
            raise EwsError("ErrorItemNotFound")
        self._check_mailbox_key(parsed.mailbox, "ErrorItemNotFound")
        if parsed.kind == ids.OCCURRENCE:
            from .recurrence import INDEX_BITS, occurrence_item

            master = self.mailbox.items.get(parsed.serial >> INDEX_BITS)
            if master is None:
                raise EwsError("ErrorItemNotFound")
            return occurrence_item(self.mailbox, master, parsed.serial & ((1 << INDEX_BITS) - 1))
        if parsed.kind != ids.ITEM:
            raise EwsError("ErrorInvalidIdMalformed")
        item = self.mailbox.items.get(parsed.serial)
        if item is None:
            raise EwsError("ErrorItemNotFound")
        return item

    def item_elements(self, container: etree._Element | None, what: str) -> list[etree._Element]:
        if container is None:
            raise schema_error(f"The element '{what}' is missing.")
        found = [child for child in container if local(child.tag) in ITEM_ID_ELEMENTS]
        if not found:
            raise schema_error(f"The element '{what}' has incomplete content: an item id is expected.")
        return found
