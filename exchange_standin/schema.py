"""What EWS items and folders consist of: their properties in the order of Microsoft's schema
(types.xsd), each with its field URI, the kind of value and whether a client may set it."""

from __future__ import annotations

from dataclasses import dataclass

# Kinds of values:
#   text, bool, int, datetime, enum  simple values
#   body                            (BodyType, text)
#   strings                         a list of <t:String>
#   xml                             kept as the element the client sent (attendees, recurrence, ...)
#   timezone                        a time zone definition (its Id, Name and the element)
#   indexed                         entries by Key: EmailAddresses, PhoneNumbers, ImAddresses, PhysicalAddresses
#   computed                        made by the server when it writes the item (ids, sizes, flags)
#   extended                        the place of the ExtendedProperty elements


@dataclass(frozen=True)
class Prop:
    name: str
    uri: str
    kind: str = "text"
    read_only: bool = False
    choices: tuple[str, ...] = ()
    in_all: bool = True  # returned for BaseShape AllProperties
    in_find: bool = True  # may be asked for in FindItem (Exchange refuses streamed and recipient properties)


SENSITIVITIES = ("Normal", "Personal", "Private", "Confidential")
IMPORTANCES = ("Low", "Normal", "High")
FREE_BUSY = ("Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData")
CALENDAR_ITEM_TYPES = ("Single", "Occurrence", "Exception", "RecurringMaster")
RESPONSE_TYPES = ("Unknown", "Organizer", "Tentative", "Accept", "Decline", "NoResponseReceived")
FILE_AS_MAPPINGS = (
    "None",
    "LastCommaFirst",
    "FirstSpaceLast",
    "Company",
    "LastCommaFirstCompany",
    "CompanyLastFirst",
    "LastFirst",
    "LastFirstCompany",
    "CompanyLastCommaFirst",
    "LastFirstSuffix",
    "LastSpaceFirstCompany",
    "CompanyLastSpaceFirst",
    "LastSpaceFirst",
    "DisplayName",
    "FirstName",
    "LastFirstMiddleSuffix",
    "LastName",
    "Empty",
)
POSTAL_ADDRESS_INDEXES = ("Business", "Home", "Other", "None")


def _p(prefix: str, name: str, kind: str = "text", **options) -> Prop:
    return Prop(name=name, uri=f"{prefix}:{name}", kind=kind, **options)


ITEM_PROPS: tuple[Prop, ...] = (
    _p("item", "MimeContent", "xml", in_all=False, in_find=False),
    _p("item", "ItemId", "computed", read_only=True),
    _p("item", "ParentFolderId", "computed", read_only=True),
    _p("item", "ItemClass"),
    _p("item", "Subject"),
    _p("item", "Sensitivity", "enum", choices=SENSITIVITIES),
    _p("item", "Body", "body", in_find=False),
    _p("item", "Attachments", "computed", read_only=True, in_find=False),
    _p("item", "DateTimeReceived", "datetime", read_only=True),
    _p("item", "Size", "computed", read_only=True),
    _p("item", "Categories", "strings"),
    _p("item", "Importance", "enum", choices=IMPORTANCES),
    _p("item", "InReplyTo"),
    _p("item", "IsSubmitted", "computed", read_only=True),
    _p("item", "IsDraft", "computed", read_only=True),
    _p("item", "IsFromMe", "computed", read_only=True),
    _p("item", "IsResend", "computed", read_only=True),
    _p("item", "IsUnmodified", "computed", read_only=True),
    _p("item", "InternetMessageHeaders", "xml", read_only=True, in_find=False),
    _p("item", "DateTimeSent", "datetime", read_only=True),
    _p("item", "DateTimeCreated", "datetime", read_only=True),
    _p("item", "ResponseObjects", "computed", read_only=True, in_find=False),
    _p("item", "ReminderDueBy", "datetime"),
    _p("item", "ReminderIsSet", "bool"),
    _p("item", "ReminderNextTime", "datetime", in_all=False),
    _p("item", "ReminderMinutesBeforeStart", "int"),
    _p("item", "DisplayCc", "computed", read_only=True),
    _p("item", "DisplayTo", "computed", read_only=True),
    _p("item", "DisplayBcc", "computed", read_only=True, in_all=False),
    _p("item", "HasAttachments", "computed", read_only=True),
    Prop("ExtendedProperty", "", "extended", in_all=False),
    _p("item", "Culture"),
    _p("item", "EffectiveRights", "computed", read_only=True),
    _p("item", "LastModifiedName", "computed", read_only=True),
    _p("item", "LastModifiedTime", "datetime", read_only=True),
    _p("item", "IsAssociated", "computed", read_only=True),
    _p("item", "WebClientReadFormQueryString", "computed", read_only=True),
    _p("item", "WebClientEditFormQueryString", "computed", read_only=True),
    _p("item", "ConversationId", "computed", read_only=True),
    _p("item", "UniqueBody", "computed", read_only=True, in_all=False, in_find=False),
    _p("item", "Flag", "xml", in_all=False),
    _p("item", "StoreEntryId", "computed", read_only=True, in_all=False),
    _p("item", "InstanceKey", "computed", read_only=True, in_all=False),
    _p("item", "NormalizedBody", "computed", read_only=True, in_all=False, in_find=False),
    _p("item", "EntityExtractionResult", "computed", read_only=True, in_all=False),
    _p("item", "PolicyTag", "xml", in_all=False),
    _p("item", "ArchiveTag", "xml", in_all=False),
    _p("item", "RetentionDate", "datetime", read_only=True, in_all=False),
    _p("item", "Preview", "computed", read_only=True, in_all=False),
    _p("item", "RightsManagementLicenseData", "computed", read_only=True, in_all=False),
    _p("item", "PredictedActionReasons", "computed", read_only=True, in_all=False),
    _p("item", "IsClutter", "computed", read_only=True, in_all=False),
    _p("item", "BlockStatus", "computed", read_only=True, in_all=False),
    _p("item", "HasBlockedImages", "computed", read_only=True, in_all=False),
    _p("item", "TextBody", "computed", read_only=True, in_all=False, in_find=False),
    _p("item", "IconIndex", "computed", read_only=True, in_all=False),
)

MESSAGE_PROPS: tuple[Prop, ...] = (
    _p("message", "Sender", "xml"),
    _p("message", "ToRecipients", "xml", in_find=False),
    _p("message", "CcRecipients", "xml", in_find=False),
    _p("message", "BccRecipients", "xml", in_find=False),
    _p("message", "IsReadReceiptRequested", "bool"),
    _p("message", "IsDeliveryReceiptRequested", "bool"),
    _p("message", "ConversationIndex", "text", read_only=True),
    _p("message", "ConversationTopic", "text", read_only=True),
    _p("message", "From", "xml"),
    _p("message", "InternetMessageId"),
    _p("message", "IsRead", "bool"),
    _p("message", "IsResponseRequested", "bool"),
    _p("message", "References"),
    _p("message", "ReplyTo", "xml", in_find=False),
    _p("message", "ReceivedBy", "xml", read_only=True),
    _p("message", "ReceivedRepresenting", "xml", read_only=True),
    _p("message", "ApprovalRequestData", "xml", read_only=True, in_all=False),
    _p("message", "VotingInformation", "xml", read_only=True, in_all=False),
    _p("message", "ReminderMessageData", "xml", read_only=True, in_all=False),
)

CALENDAR_PROPS: tuple[Prop, ...] = (
    _p("calendar", "UID"),
    _p("calendar", "RecurrenceId", "datetime", read_only=True),
    _p("calendar", "DateTimeStamp", "datetime", read_only=True),
    _p("calendar", "Start", "datetime"),
    _p("calendar", "End", "datetime"),
    _p("calendar", "OriginalStart", "datetime", read_only=True),
    _p("calendar", "IsAllDayEvent", "bool"),
    _p("calendar", "LegacyFreeBusyStatus", "enum", choices=FREE_BUSY),
    _p("calendar", "Location"),
    _p("calendar", "When"),
    _p("calendar", "IsMeeting", "computed", read_only=True),
    _p("calendar", "IsCancelled", "computed", read_only=True),
    _p("calendar", "IsRecurring", "computed", read_only=True),
    _p("calendar", "MeetingRequestWasSent", "computed", read_only=True),
    _p("calendar", "IsResponseRequested", "bool"),
    _p("calendar", "CalendarItemType", "computed", read_only=True),
    _p("calendar", "MyResponseType", "computed", read_only=True),
    _p("calendar", "Organizer", "computed", read_only=True),
    _p("calendar", "RequiredAttendees", "xml", in_find=False),
    _p("calendar", "OptionalAttendees", "xml", in_find=False),
    _p("calendar", "Resources", "xml", in_find=False),
    _p("calendar", "ConflictingMeetingCount", "computed", read_only=True),
    _p("calendar", "AdjacentMeetingCount", "computed", read_only=True),
    _p("calendar", "ConflictingMeetings", "computed", read_only=True, in_all=False, in_find=False),
    _p("calendar", "AdjacentMeetings", "computed", read_only=True, in_all=False, in_find=False),
    _p("calendar", "Duration", "computed", read_only=True),
    _p("calendar", "TimeZone", "computed", read_only=True),
    _p("calendar", "AppointmentReplyTime", "datetime", read_only=True),
    _p("calendar", "AppointmentSequenceNumber", "computed", read_only=True),
    _p("calendar", "AppointmentState", "computed", read_only=True),
    _p("calendar", "Recurrence", "xml", in_find=False),
    _p("calendar", "FirstOccurrence", "computed", read_only=True, in_find=False),
    _p("calendar", "LastOccurrence", "computed", read_only=True, in_find=False),
    _p("calendar", "ModifiedOccurrences", "computed", read_only=True, in_find=False),
    _p("calendar", "DeletedOccurrences", "computed", read_only=True, in_find=False),
    _p("calendar", "MeetingTimeZone", "timezone"),
    _p("calendar", "StartTimeZone", "timezone"),
    _p("calendar", "EndTimeZone", "timezone"),
    _p("calendar", "ConferenceType", "int"),
    _p("calendar", "AllowNewTimeProposal", "bool"),
    _p("calendar", "IsOnlineMeeting", "bool"),
    _p("calendar", "MeetingWorkspaceUrl"),
    _p("calendar", "NetShowUrl"),
    _p("calendar", "EnhancedLocation", "xml", in_all=False),
    _p("calendar", "StartWallClock", "computed", read_only=True, in_all=False),
    _p("calendar", "EndWallClock", "computed", read_only=True, in_all=False),
    _p("calendar", "StartTimeZoneId", "computed", read_only=True, in_all=False),
    _p("calendar", "EndTimeZoneId", "computed", read_only=True, in_all=False),
    _p("calendar", "IntendedFreeBusyStatus", "enum", choices=FREE_BUSY, in_all=False),
    _p("calendar", "JoinOnlineMeetingUrl", "computed", read_only=True, in_all=False),
    _p("calendar", "OnlineMeetingSettings", "computed", read_only=True, in_all=False),
    _p("calendar", "IsOrganizer", "computed", read_only=True, in_all=False),
)

EMAIL_KEYS = ("EmailAddress1", "EmailAddress2", "EmailAddress3")
IM_KEYS = ("ImAddress1", "ImAddress2", "ImAddress3")
PHONE_KEYS = (
    "AssistantPhone",
    "BusinessFax",
    "BusinessPhone",
    "BusinessPhone2",
    "Callback",
    "CarPhone",
    "CompanyMainPhone",
    "HomeFax",
    "HomePhone",
    "HomePhone2",
    "Isdn",
    "MobilePhone",
    "OtherFax",
    "OtherTelephone",
    "Pager",
    "PrimaryPhone",
    "RadioPhone",
    "Telex",
    "TtyTddPhone",
)
ADDRESS_KEYS = ("Home", "Business", "Other")
ADDRESS_PARTS = ("Street", "City", "State", "CountryOrRegion", "PostalCode")


@dataclass(frozen=True)
class Indexed:
    """An indexed contact property: the element holding entries, the URI naming one entry."""

    name: str  # EmailAddresses
    uri: str  # contacts:EmailAddress (contacts:PhysicalAddress for the parts, with ':Street' etc.)
    keys: tuple[str, ...]
    parts: tuple[str, ...] = ()  # sub-elements of an entry (physical addresses only)


INDEXED: dict[str, Indexed] = {
    "EmailAddresses": Indexed("EmailAddresses", "contacts:EmailAddress", EMAIL_KEYS),
    "PhysicalAddresses": Indexed("PhysicalAddresses", "contacts:PhysicalAddress", ADDRESS_KEYS, ADDRESS_PARTS),
    "PhoneNumbers": Indexed("PhoneNumbers", "contacts:PhoneNumber", PHONE_KEYS),
    "ImAddresses": Indexed("ImAddresses", "contacts:ImAddress", IM_KEYS),
}
INDEXED_BY_URI = {entry.uri: entry for entry in INDEXED.values()}

CONTACT_PROPS: tuple[Prop, ...] = (
    _p("contacts", "FileAs"),
    _p("contacts", "FileAsMapping", "enum", choices=FILE_AS_MAPPINGS),
    _p("contacts", "DisplayName"),
    _p("contacts", "GivenName"),
    _p("contacts", "Initials"),
    _p("contacts", "MiddleName"),
    _p("contacts", "Nickname"),
    _p("contacts", "CompleteName", "computed", read_only=True),
    _p("contacts", "CompanyName"),
    Prop("EmailAddresses", "contacts:EmailAddresses", "indexed"),
    Prop("PhysicalAddresses", "contacts:PhysicalAddresses", "indexed"),
    Prop("PhoneNumbers", "contacts:PhoneNumbers", "indexed"),
    _p("contacts", "AssistantName"),
    _p("contacts", "Birthday", "datetime"),
    _p("contacts", "BusinessHomePage"),
    _p("contacts", "Children", "strings"),
    _p("contacts", "Companies", "strings"),
    _p("contacts", "ContactSource", "computed", read_only=True),
    _p("contacts", "Department"),
    _p("contacts", "Generation"),
    Prop("ImAddresses", "contacts:ImAddresses", "indexed"),
    _p("contacts", "JobTitle"),
    _p("contacts", "Manager"),
    _p("contacts", "Mileage"),
    _p("contacts", "OfficeLocation"),
    _p("contacts", "PostalAddressIndex", "enum", choices=POSTAL_ADDRESS_INDEXES),
    _p("contacts", "Profession"),
    _p("contacts", "SpouseName"),
    _p("contacts", "Surname"),
    _p("contacts", "WeddingAnniversary", "datetime"),
    _p("contacts", "HasPicture", "computed", read_only=True),
    _p("contacts", "PhoneticFullName", read_only=True, in_all=False),
    _p("contacts", "PhoneticFirstName", read_only=True, in_all=False),
    _p("contacts", "PhoneticLastName", read_only=True, in_all=False),
    _p("contacts", "Alias", read_only=True, in_all=False),
    _p("contacts", "Notes", read_only=True, in_all=False),
    _p("contacts", "Photo", read_only=True, in_all=False),
    _p("contacts", "UserSMIMECertificate", "xml", read_only=True, in_all=False),
    _p("contacts", "MSExchangeCertificate", "xml", read_only=True, in_all=False),
    _p("contacts", "DirectoryId", read_only=True, in_all=False),
    _p("contacts", "ManagerMailbox", "xml", read_only=True, in_all=False),
    _p("contacts", "DirectReports", "xml", read_only=True, in_all=False),
)

DISTRIBUTION_LIST_PROPS: tuple[Prop, ...] = (
    _p("contacts", "DisplayName"),
    _p("contacts", "FileAs"),
    _p("contacts", "ContactSource", "computed", read_only=True),
    _p("distributionlist", "Members", "xml", in_find=False),
)

TASK_PROPS: tuple[Prop, ...] = (
    _p("task", "ActualWork", "int"),
    _p("task", "AssignedTime", "datetime", read_only=True),
    _p("task", "BillingInformation"),
    _p("task", "ChangeCount", "computed", read_only=True),
    _p("task", "Companies", "strings"),
    _p("task", "CompleteDate", "datetime"),
    _p("task", "Contacts", "strings"),
    _p("task", "DelegationState", "computed", read_only=True),
    _p("task", "Delegator", "computed", read_only=True),
    _p("task", "DueDate", "datetime"),
    _p("task", "IsAssignmentEditable", "computed", read_only=True),
    _p("task", "IsComplete", "computed", read_only=True),
    _p("task", "IsRecurring", "computed", read_only=True),
    _p("task", "IsTeamTask", "computed", read_only=True),
    _p("task", "Mileage"),
    _p("task", "Owner", "computed", read_only=True),
    _p("task", "PercentComplete", "text"),
    _p("task", "Recurrence", "xml", in_find=False),
    _p("task", "StartDate", "datetime"),
    _p("task", "Status", "enum", choices=("NotStarted", "InProgress", "Completed", "WaitingOnOthers", "Deferred")),
    _p("task", "StatusDescription", "computed", read_only=True),
    _p("task", "TotalWork", "int"),
)


@dataclass(frozen=True)
class ItemType:
    element: str  # CalendarItem
    props: tuple[Prop, ...]
    item_class: str  # the default ItemClass
    default_shape: tuple[str, ...]  # property names of BaseShape Default

    def prop(self, name: str) -> Prop | None:
        return _PROPS_BY_TYPE_AND_NAME[self.element].get(name)

    def has_uri(self, uri: str) -> bool:
        return uri in _URIS_BY_TYPE[self.element]


_ITEM_DEFAULT = ("ItemId", "Subject", "Attachments", "ResponseObjects", "HasAttachments", "IsAssociated")

ITEM_TYPES: dict[str, ItemType] = {
    "Item": ItemType("Item", ITEM_PROPS, "IPM", _ITEM_DEFAULT),
    "Message": ItemType(
        "Message",
        ITEM_PROPS + MESSAGE_PROPS,
        "IPM.Note",
        _ITEM_DEFAULT + ("Sensitivity", "Size", "DateTimeSent", "DateTimeCreated", "From", "IsRead", "ToRecipients"),
    ),
    "CalendarItem": ItemType(
        "CalendarItem",
        ITEM_PROPS + CALENDAR_PROPS,
        "IPM.Appointment",
        _ITEM_DEFAULT + ("Start", "End", "LegacyFreeBusyStatus", "Location", "CalendarItemType", "Organizer"),
    ),
    "Contact": ItemType(
        "Contact",
        ITEM_PROPS + CONTACT_PROPS,
        "IPM.Contact",
        _ITEM_DEFAULT
        + (
            "FileAs",
            "FileAsMapping",
            "DisplayName",
            "GivenName",
            "CompanyName",
            "EmailAddresses",
            "PhysicalAddresses",
            "PhoneNumbers",
            "Surname",
        ),
    ),
    "DistributionList": ItemType(
        "DistributionList", ITEM_PROPS + DISTRIBUTION_LIST_PROPS, "IPM.DistList", _ITEM_DEFAULT + ("DisplayName",)
    ),
    "Task": ItemType(
        "Task",
        ITEM_PROPS + TASK_PROPS,
        "IPM.Task",
        _ITEM_DEFAULT + ("DueDate", "PercentComplete", "StartDate", "Status"),
    ),
}
_PROPS_BY_TYPE_AND_NAME = {key: {p.name: p for p in value.props} for key, value in ITEM_TYPES.items()}
_URIS_BY_TYPE = {key: {p.uri for p in value.props if p.uri} for key, value in ITEM_TYPES.items()}

# Every field URI any item type knows, to its property (the first type that has it wins).
ITEM_URIS: dict[str, Prop] = {}
for _type in ITEM_TYPES.values():
    for _prop in _type.props:
        if _prop.uri:
            ITEM_URIS.setdefault(_prop.uri, _prop)
# Meeting messages' and other types' URIs that a client may ask for; they are simply never set here.
for _uri in (
    "meeting:AssociatedCalendarItemId",
    "meeting:IsDelegated",
    "meeting:IsOutOfDate",
    "meeting:HasBeenProcessed",
    "meeting:ResponseType",
    "meeting:ProposedStart",
    "meeting:ProposedEnd",
    "meetingRequest:MeetingRequestType",
    "meetingRequest:IntendedFreeBusyStatus",
    "postitem:PostedTime",
    "conversation:ConversationId",
    "persona:PersonaId",
    "item:Hashtags",
    "item:Mentions",
    "item:MentionedMe",
):
    ITEM_URIS.setdefault(_uri, Prop(_uri.partition(":")[2], _uri, "computed", read_only=True, in_all=False))

# The element that carries an item's properties, by the element name clients send.
CREATABLE_ITEMS = ("Item", "Message", "CalendarItem", "Contact", "DistributionList", "Task")


# Folders ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderProp:
    name: str
    uri: str
    read_only: bool = True
    in_default: bool = False
    in_all: bool = True


_BASE_FOLDER_PROPS = (
    FolderProp("FolderId", "folder:FolderId", in_default=True),
    FolderProp("ParentFolderId", "folder:ParentFolderId"),
    FolderProp("FolderClass", "folder:FolderClass", read_only=False),
    FolderProp("DisplayName", "folder:DisplayName", read_only=False, in_default=True),
    FolderProp("TotalCount", "folder:TotalCount", in_default=True),
    FolderProp("ChildFolderCount", "folder:ChildFolderCount", in_default=True),
    FolderProp("ExtendedProperty", "", read_only=False, in_all=False),
    FolderProp("ManagedFolderInformation", "folder:ManagedFolderInformation", in_all=False),
    FolderProp("EffectiveRights", "folder:EffectiveRights"),
    FolderProp("DistinguishedFolderId", "folder:DistinguishedFolderId", in_all=False),
    FolderProp("PolicyTag", "folder:PolicyTag", in_all=False),
    FolderProp("ArchiveTag", "folder:ArchiveTag", in_all=False),
    FolderProp("ReplicaList", "folder:ReplicaList", in_all=False),
)
_PERMISSIONS = FolderProp("PermissionSet", "folder:PermissionSet", read_only=False, in_all=False)
_UNREAD = FolderProp("UnreadCount", "folder:UnreadCount", in_default=True)
_SHARING = FolderProp("SharingEffectiveRights", "folder:SharingEffectiveRights", in_all=False)

FOLDER_TYPES: dict[str, tuple[FolderProp, ...]] = {
    "Folder": _BASE_FOLDER_PROPS + (_PERMISSIONS, _UNREAD),
    "CalendarFolder": _BASE_FOLDER_PROPS + (_SHARING, _PERMISSIONS),
    "ContactsFolder": _BASE_FOLDER_PROPS + (_SHARING, _PERMISSIONS),
    "SearchFolder": _BASE_FOLDER_PROPS
    + (_PERMISSIONS, _UNREAD, FolderProp("SearchParameters", "folder:SearchParameters", in_all=False)),
    "TasksFolder": _BASE_FOLDER_PROPS + (_PERMISSIONS, _UNREAD),
}
FOLDER_URIS = {p.uri for props in FOLDER_TYPES.values() for p in props if p.uri}
FOLDER_ELEMENT_FOR_CLASS = {
    "IPF.Appointment": "CalendarFolder",
    "IPF.Contact": "ContactsFolder",
    "IPF.Task": "TasksFolder",
}


def folder_element_for_class(folder_class: str | None) -> str:
    for prefix, element in FOLDER_ELEMENT_FOR_CLASS.items():
        if folder_class and (folder_class == prefix or folder_class.startswith(prefix + ".")):
            return element
    return "Folder"


BASE_SHAPES = ("IdOnly", "Default", "AllProperties", "PcxPeopleSearch")
BODY_TYPES = ("Best", "HTML", "Text")
