"""The two ways an EWS request fails: an error response message, or a SOAP fault for the whole request."""

from __future__ import annotations

from collections.abc import Sequence

MESSAGE_TEXTS = {
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorCalendarEndDateIsEarlierThanStartDate": "EndDate is earlier than StartDate",
    "ErrorCannotCreateCalendarItemInNonCalendarFolder": "Cannot create a calendar item in a non-calendar folder.",
    "ErrorCannotCreateContactInNonContactFolder": "Cannot create a contact in a non-contact Folder.",
    "ErrorChangeKeyRequired": "ChangeKey is required for this operation.",
    "ErrorDeleteDistinguishedFolder": "Distinguished folders cannot be deleted.",
    "ErrorFolderExists": "A folder with the specified name already exists.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorImpersonateUserDenied": "The account does not have permission to impersonate the requested user.",
    "ErrorIncorrectUpdatePropertyCount": "An object within a change description must contain one and only one "
    "property to modify.",
    "ErrorInternalServerError": "An internal server error occurred. The operation failed.",
    "ErrorInvalidChangeKey": "The change key is invalid.",
    "ErrorInvalidExtendedProperty": "The extended property attribute combination is invalid.",
    "ErrorInvalidExtendedPropertyValue": "The extended property value is inconsistent with its type.",
    "ErrorInvalidIdEmpty": "Id must be non-empty.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorInvalidIndexedPagingParameters": "Invalid indexed paging parameters.",
    "ErrorInvalidOperation": "The operation isn't valid.",
    "ErrorInvalidPropertyAppend": "Append action is invalid for property.",
    "ErrorInvalidPropertyDelete": "Delete action is invalid for property.",
    "ErrorInvalidPropertyRequest": "The property can't be used in this request.",
    "ErrorInvalidPropertySet": "Set action is invalid for property.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorInvalidRestriction": "The restriction or sort order is too complex for this operation.",
    "ErrorInvalidSyncStateData": "Synchronization state data is corrupt or otherwise invalid.",
    "ErrorInvalidServerVersion": "The specified server version is invalid.",
    "ErrorIrresolvableConflict": "The send or update operation could not be performed because the change key "
    "passed in the request does not match the current change key for the item.",
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorQuotaExceeded": "The mailbox quota has been exceeded.",
    "ErrorMailboxStoreUnavailable": "The mailbox database is temporarily unavailable.",
    "ErrorMailboxMoveInProgress": "The mailbox is being moved.",
    "ErrorTimeoutExpired": "The request timed out.",
    "ErrorTimeZone": "The time zone isn't valid.",
    "ErrorUnsupportedMimeConversion": "Mime conversion is not supported for this item type.",
    "ErrorUnsupportedPathForQuery": "The property path is not supported for this query.",
    "ErrorUnsupportedPathForSortGroup": "The property path is not supported for sorting or grouping.",
}


def message_text(code: str) -> str:
    return MESSAGE_TEXTS.get(code, code)


class EwsError(Exception):
    """One response message fails with this ResponseCode; the others of the request go on.

    `message_xml` holds (name, value) pairs written as <t:Value Name="name">value</t:Value> in
    m:MessageXml; `field_uri` (a ready element) is written into m:MessageXml too, as Exchange
    does for ErrorInvalidPropertyRequest and friends.
    """

    def __init__(
        self,
        code: str,
        text: str | None = None,
        *,
        message_xml: Sequence[tuple[str, str]] = (),
        field_uri: object | None = None,
    ) -> None:
        self.code = code
        self.text = text or message_text(code)
        self.message_xml = tuple(message_xml)
        self.field_uri = field_uri
        super().__init__(f"{code}: {self.text}")


class SoapFault(Exception):
    """The whole request fails: a SOAP fault (HTTP 500), as Exchange answers invalid requests."""

    def __init__(
        self,
        code: str,
        text: str | None = None,
        *,
        violation: str | None = None,
        message_xml: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.code = code
        self.text = text or message_text(code)
        self.violation = violation
        self.message_xml = tuple(message_xml)
        super().__init__(f"{code}: {self.text}" + (f" ({violation})" if violation else ""))


def schema_error(violation: str) -> SoapFault:
    """The fault Exchange sends for a request that does not follow its XML schema."""
    return SoapFault("ErrorSchemaValidation", "The request failed schema validation.", violation=violation)
