"""ConvertId (exchangelib sends it to learn the server's version) and the answer to operations
the emulator does not implement."""

from __future__ import annotations

import base64
import binascii

from lxml import etree

from .context import Context
from .errors import EwsError, schema_error
from .ids import decode_base64
from .namespaces import XSI, local, m
from .soap import ResponseBuilder

ID_FORMATS = ("EwsLegacyId", "EwsId", "EntryId", "HexEntryId", "StoreId", "OwaId")

# Operations of the EWS schema the emulator does not implement: they get an error response message.
OTHER_OPERATIONS = (
    "AddDelegate",
    "AddDistributionGroupToImList",
    "AddImContactToGroup",
    "AddImGroup",
    "AddNewImContactToGroup",
    "AddNewTelUriContactToGroup",
    "ApplyConversationAction",
    "ArchiveItem",
    "CopyFolder",
    "CreateAttachment",
    "CreateFolderPath",
    "CreateManagedFolder",
    "CreateUserConfiguration",
    "DeleteAttachment",
    "DeleteUserConfiguration",
    "DisconnectPhoneCall",
    "ExpandDL",
    "ExportItems",
    "FindConversation",
    "FindMessageTrackingReport",
    "FindPeople",
    "GetAppManifests",
    "GetAppMarketplaceUrl",
    "GetAttachment",
    "GetClientAccessToken",
    "GetConversationItems",
    "GetDelegate",
    "GetDiscoverySearchConfiguration",
    "GetEvents",
    "GetHoldOnMailboxes",
    "GetImItemList",
    "GetImItems",
    "GetInboxRules",
    "GetMailTips",
    "GetMessageTrackingReport",
    "GetNonIndexableItemDetails",
    "GetNonIndexableItemStatistics",
    "GetPasswordExpirationDate",
    "GetPersona",
    "GetPhoneCallInformation",
    "GetReminders",
    "GetRoomLists",
    "GetRooms",
    "GetSearchableMailboxes",
    "GetServerTimeZones",
    "GetServiceConfiguration",
    "GetSharingFolder",
    "GetSharingMetadata",
    "GetStreamingEvents",
    "GetUserAvailability",
    "GetUserConfiguration",
    "GetUserOofSettings",
    "GetUserPhoto",
    "GetUserRetentionPolicyTags",
    "InstallApp",
    "MarkAllItemsAsRead",
    "MarkAsJunk",
    "MoveFolder",
    "PerformReminderAction",
    "PlayOnPhone",
    "RefreshSharingFolder",
    "RemoveContactFromImList",
    "RemoveDelegate",
    "RemoveDistributionGroupFromImList",
    "RemoveImContactFromGroup",
    "RemoveImGroup",
    "ResolveNames",
    "SearchMailboxes",
    "SendItem",
    "SetHoldOnMailboxes",
    "SetImGroup",
    "SetUserOofSettings",
    "Subscribe",
    "SyncFolderHierarchy",
    "UninstallApp",
    "Unsubscribe",
    "UpdateDelegate",
    "UpdateInboxRules",
    "UpdateUserConfiguration",
    "UploadItems",
)


def _raw_id(format_name: str, text: str) -> bytes:
    if format_name == "HexEntryId":
        try:
            return binascii.unhexlify(text.strip())
        except (binascii.Error, ValueError):
            raise EwsError("ErrorInvalidIdMalformed") from None
    if format_name == "OwaId":
        try:
            return base64.urlsafe_b64decode(text.strip())
        except (binascii.Error, ValueError):
            raise EwsError("ErrorInvalidIdMalformed") from None
    raw = decode_base64(text)
    if raw is None:
        raise EwsError("ErrorInvalidIdMalformed")
    return raw


def _format_id(format_name: str, raw: bytes) -> str:
    if format_name == "HexEntryId":
        return raw.hex().upper()
    if format_name == "OwaId":
        return base64.urlsafe_b64encode(raw).decode()
    return base64.b64encode(raw).decode()


def convert_id(ctx: Context) -> etree._Element:
    request = ctx.request.element
    destination = request.get("DestinationFormat")
    if destination not in ID_FORMATS:
        raise schema_error(f"The 'DestinationFormat' attribute is invalid - The value '{destination}' is invalid.")
    source_ids = request.find(m("SourceIds"))
    if source_ids is None:
        raise schema_error("The element 'SourceIds' is missing.")
    if not [child for child in source_ids if isinstance(child.tag, str)]:
        raise schema_error("The element 'SourceIds' has incomplete content: an id is expected.")
    response = ResponseBuilder("ConvertId")
    for alternate in source_ids:
        if not isinstance(alternate.tag, str):
            continue
        if local(alternate.tag) not in ("AlternateId", "AlternatePublicFolderId", "AlternatePublicFolderItemId"):
            raise schema_error(f"The element '{local(alternate.tag)}' is not an alternate id.")
        source_format = alternate.get("Format")
        if source_format not in ID_FORMATS:
            raise schema_error(f"The 'Format' attribute is invalid - The value '{source_format}' is invalid.")
        try:
            if local(alternate.tag) != "AlternateId":
                raise EwsError("ErrorInvalidOperation", "Public folders are not available.")
            raw = _raw_id(source_format, alternate.get("Id") or "")
            parsed = ctx.store.codec.parse(base64.b64encode(raw).decode())
            if parsed is None:
                raise EwsError("ErrorInvalidIdMalformed")
            ctx.check_mailbox_address(alternate.get("Mailbox"))
            if parsed.mailbox != ctx.mailbox.key:
                raise EwsError("ErrorAccessDenied")
        except EwsError as exc:
            response.error(exc)
            continue
        msg = response.success()
        converted = etree.SubElement(msg, m("AlternateId"))
        converted.set(f"{{{XSI}}}type", "t:AlternateIdType")
        converted.set("Format", destination)
        converted.set("Id", _format_id(destination, raw))
        converted.set("Mailbox", ctx.mailbox.address)
    return response.root


def not_implemented(ctx: Context) -> etree._Element:
    response = ResponseBuilder(ctx.request.operation)
    response.error(EwsError("ErrorInvalidOperation", f"The emulator does not implement {ctx.request.operation}."))
    return response.root
