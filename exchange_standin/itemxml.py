"""Items in XML: reading the properties a client sends (CreateItem, SetItemField) and writing
an item with the properties a shape asks for, in the element order of the schema."""

from __future__ import annotations

import copy
import datetime as dt
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .bodies import body_text, converted, unique_body
from .computed import with_computed
from .errors import EwsError, schema_error
from .extended import ExtendedValue, parse_property, write_property
from .namespaces import T, local, namespace, t
from .schema import INDEXED, ITEM_TYPES, ItemType, Prop
from .shapes import Shape
from .store import Folder, Item, Mailbox
from .timezones import UTC, display_name, format_datetime, parse_datetime, zone_for_windows_id


@dataclass(frozen=True)
class TimeZoneValue:
    """A time zone element as sent (StartTimeZone, EndTimeZone, MeetingTimeZone)."""

    id: str | None
    name: str | None
    element: etree._Element

    @property
    def zone(self) -> dt.tzinfo | None:
        zone = zone_for_windows_id(self.id) or zone_for_windows_id(self.name)
        if zone is not None:
            return zone
        base_offset = self.element.findtext(t("BaseOffset"))
        if base_offset:
            offset = _parse_duration(base_offset)
            if offset is not None:
                return dt.timezone(-offset)
        return None


@dataclass(frozen=True)
class EmailEntry:
    address: str
    attributes: tuple[tuple[str, str], ...] = ()


_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?)?$")


def _parse_duration(text: str) -> dt.timedelta | None:
    match = _DURATION.match(text.strip())
    if not match:
        return None
    sign, days, hours, minutes, seconds = match.groups()
    value = dt.timedelta(
        days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=int(seconds or 0)
    )
    return -value if sign else value


def format_duration(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    if time:
        text += "T" + time
    return text if text not in ("P", "-P") else "PT0S"


# Reading ------------------------------------------------------------------------------------------


@dataclass
class ItemContent:
    """The properties read from one item element."""

    props: dict[str, Any]
    extended: dict[tuple, ExtendedValue]
    order: list[str]  # URIs in the order they came (and the ':' keys of extended properties)


def _bool(text: str | None, what: str) -> bool:
    value = (text or "").strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise schema_error(f"The '{what}' element is invalid - The value '{text}' is invalid according to xs:boolean.")


def _int(text: str | None, what: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        raise schema_error(
            f"The '{what}' element is invalid - The value '{text}' is invalid according to xs:int."
        ) from None  # noqa: B904


def read_indexed(prop: Prop, elem: etree._Element) -> dict[str, Any]:
    entry_def = INDEXED[prop.name]
    entries: dict[str, Any] = {}
    for entry in elem:
        if not isinstance(entry.tag, str):
            continue
        if entry.tag != t("Entry"):
            raise schema_error(f"The element '{prop.name}' has invalid child element '{local(entry.tag)}'.")
        key = entry.get("Key")
        if key not in entry_def.keys:
            raise schema_error(
                f"The 'Key' attribute is invalid - The value '{key}' is invalid according to its datatype "
                f"'http://schemas.microsoft.com/exchange/services/2006/types:{prop.name[:-2]}KeyType' "
                "- The Enumeration constraint failed."
            )
        if entry_def.parts:
            parts: dict[str, str] = {}
            last = -1
            for part in entry:
                if not isinstance(part.tag, str):
                    continue
                name = local(part.tag)
                if name not in entry_def.parts or entry_def.parts.index(name) <= last:
                    raise schema_error(f"The element 'Entry' has invalid child element '{name}'.")
                last = entry_def.parts.index(name)
                parts[name] = part.text or ""
            entries[key] = parts
        elif prop.name == "EmailAddresses":
            attributes = tuple(
                (name, entry.get(name)) for name in ("Name", "RoutingType", "MailboxType") if entry.get(name)
            )
            entries[key] = EmailEntry(entry.text or "", attributes)
        else:
            entries[key] = entry.text or ""
    return entries


def without_blank_text(elem: etree._Element) -> etree._Element:
    """Drop the indentation a client's XML may carry (Exchange keeps values, not layout)."""
    for node in elem.iter():
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node is not elem and node.tail is not None and not node.tail.strip():
            node.tail = None
    elem.tail = None
    return elem


def read_value(prop: Prop, elem: etree._Element, zone: dt.tzinfo | None) -> Any:
    kind = prop.kind
    if kind == "text":
        return elem.text or ""
    if kind == "bool":
        return _bool(elem.text, prop.name)
    if kind == "int":
        return _int(elem.text, prop.name)
    if kind == "datetime":
        return parse_datetime(elem.text, zone, what=prop.name)
    if kind == "enum":
        value = (elem.text or "").strip()
        if value not in prop.choices:
            raise schema_error(f"The '{prop.name}' element is invalid - The value '{elem.text}' is invalid.")
        return value
    if kind == "body":
        body_type = elem.get("BodyType")
        if body_type not in ("HTML", "Text"):
            raise schema_error(f"The 'BodyType' attribute is invalid - The value '{body_type}' is invalid.")
        return (body_type, elem.text or "")
    if kind == "strings":
        values = []
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            if child.tag != t("String"):
                raise schema_error(f"The element '{prop.name}' has invalid child element '{local(child.tag)}'.")
            values.append(child.text or "")
        return values
    if kind == "xml":
        return without_blank_text(copy.deepcopy(elem))
    if kind == "timezone":
        return TimeZoneValue(elem.get("Id"), elem.get("Name") or elem.get("TimeZoneName"), copy.deepcopy(elem))
    if kind == "indexed":
        return read_indexed(prop, elem)
    raise EwsError("ErrorInvalidPropertySet", field_uri=etree.Element(t("FieldURI"), FieldURI=prop.uri))


def read_item(elem: etree._Element, *, stored_zones: dict[str, TimeZoneValue] | None = None, zone=None) -> ItemContent:
    """Read the properties of an item element (t:CalendarItem, t:Contact, ...).

    Read-only properties give ErrorInvalidPropertySet; unknown or misplaced elements a schema fault.
    Datetimes without an offset are in the item's time zone, else `zone` (TimeZoneContext), else UTC.
    """
    item_type = ITEM_TYPES.get(local(elem.tag))
    if item_type is None or namespace(elem.tag) != T:
        raise schema_error(f"The element '{local(elem.tag)}' is not an item type.")
    positions = {p.name: i for i, p in enumerate(item_type.props)}
    last = -1
    raw: list[tuple[Prop, etree._Element]] = []
    for child in elem:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        position = positions.get(name)
        if (
            namespace(child.tag) != T
            or position is None
            or position < last
            or (position == last and name != "ExtendedProperty")
        ):
            raise schema_error(
                f"The element '{item_type.element}' in namespace '{T}' has invalid child element '{name}'."
            )
        last = position
        raw.append((item_type.props[position], child))
    zones = dict(stored_zones or {})
    for prop, child in raw:
        if prop.kind == "timezone":
            zones[prop.name] = read_value(prop, child, None)
    content = ItemContent({}, {}, [])
    for prop, child in raw:
        if prop.kind == "extended":
            value = parse_property(child)
            content.extended[value.path.key] = value
            content.order.append(":" + repr(value.path.key))
            continue
        if prop.read_only or prop.kind == "computed":
            raise EwsError("ErrorInvalidPropertySet", field_uri=etree.Element(t("FieldURI"), FieldURI=prop.uri))
        value_zone = zone
        if prop.name in ("Start", "End"):
            candidates: tuple[str, ...] = (
                ("StartTimeZone", "MeetingTimeZone") if prop.name == "Start" else ("EndTimeZone",)
            )
            candidates += ("StartTimeZone", "MeetingTimeZone")
            for candidate in candidates:
                if candidate in zones and zones[candidate].zone is not None:
                    value_zone = zones[candidate].zone
                    break
        content.props[prop.uri] = read_value(prop, child, value_zone)
        content.order.append(prop.uri)
    return content


# Writing ------------------------------------------------------------------------------------------


def item_size(item: Item) -> int:
    size = 200
    for value in item.props.values():
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
            size += len(value[1].encode())
        else:
            size += 16
    return size + 32 * len(item.extended)


def _mailbox_element(tag: str, mailbox: Mailbox) -> etree._Element:
    elem = etree.Element(t(tag))
    box = etree.SubElement(elem, t("Mailbox"))
    etree.SubElement(box, t("Name")).text = mailbox.display_name
    etree.SubElement(box, t("EmailAddress")).text = mailbox.address
    etree.SubElement(box, t("RoutingType")).text = "SMTP"
    etree.SubElement(box, t("MailboxType")).text = "Mailbox"
    return elem


def attendee_names(item: Item, uri: str) -> list[str]:
    elem = item.props.get(uri)
    if elem is None:
        return []
    names = []
    for mailbox in elem.iter(t("Mailbox")):
        names.append(mailbox.findtext(t("Name")) or mailbox.findtext(t("EmailAddress")) or "")
    return names


def _effective_rights(folder_level: bool) -> etree._Element:
    elem = etree.Element(t("EffectiveRights"))
    for name in ("CreateAssociated", "CreateContents", "CreateHierarchy"):
        etree.SubElement(elem, t(name)).text = "true" if folder_level else "false"
    for name in ("Delete", "Modify", "Read"):
        etree.SubElement(elem, t(name)).text = "true"
    etree.SubElement(elem, t("ViewPrivateItems")).text = "true"
    return elem


def effective_rights(folder_level: bool) -> etree._Element:
    return _effective_rights(folder_level)


def _simple(name: str, text: str) -> etree._Element:
    elem = etree.Element(t(name))
    elem.text = text
    return elem


def _body_element(name: str, body: tuple[str, str]) -> etree._Element:
    elem = etree.Element(t(name), BodyType=body[0], IsTruncated="false")
    elem.text = body[1]
    return elem


def _unique_body(item: Item, shape: Shape | None) -> etree._Element | None:
    if item.element == "DistributionList":  # not for contact groups (Exchange Online even fails on it)
        return None
    body = unique_body(item, shape.unique_body_type if shape is not None else "HTML")
    return None if body is None else _body_element("UniqueBody", body)


def computed(
    name: str, item: Item, mailbox: Mailbox, folder: Folder, shape: Shape | None = None
) -> etree._Element | None:
    """A property the server makes, or None if the item has none."""
    props = item.props
    if name == "ItemId":
        return etree.Element(t("ItemId"), Id=item.id, ChangeKey=item.changekey)
    if name == "ParentFolderId":
        return etree.Element(t("ParentFolderId"), Id=folder.id, ChangeKey=folder.changekey)
    if name == "Size":
        return _simple(name, str(item_size(item)))
    if name in ("IsSubmitted", "IsFromMe", "IsResend", "HasAttachments", "IsAssociated", "IsCancelled"):
        return _simple(name, "false")
    if name == "IsDraft":
        return _simple(name, "true" if item.element == "Message" and folder.distinguished == "drafts" else "false")
    if name == "IsUnmodified":
        return _simple(name, "true" if item.element == "Message" else "false")
    if name == "MeetingRequestWasSent":
        return _simple(name, "false")
    if name == "ResponseObjects":
        elem = etree.Element(t("ResponseObjects"))
        if item.element == "CalendarItem" and props.get("calendar:RequiredAttendees") is not None:
            etree.SubElement(elem, t("CancelCalendarItem"))
        etree.SubElement(elem, t("ForwardItem"))
        return elem
    if name == "DisplayTo":
        uri = "message:ToRecipients" if item.element == "Message" else "calendar:RequiredAttendees"
        return _simple(name, "; ".join(attendee_names(item, uri)))
    if name == "DisplayCc":
        uri = "message:CcRecipients" if item.element == "Message" else "calendar:OptionalAttendees"
        return _simple(name, "; ".join(attendee_names(item, uri)))
    if name == "EffectiveRights":
        return _effective_rights(False)
    if name == "LastModifiedName":
        return _simple(name, mailbox.display_name)
    if name == "WebClientReadFormQueryString":
        query = urllib.parse.urlencode({"ItemID": item.id, "exvsurl": "1", "viewmodel": "ReadMessageItem"})
        return _simple(name, f"https://localhost/owa/?{query}")
    if name == "WebClientEditFormQueryString" and item.element == "CalendarItem":
        query = urllib.parse.urlencode({"ItemID": item.id, "exvsurl": "1", "viewmodel": "CalendarItemDetails"})
        return _simple(name, f"https://localhost/owa/?{query}")
    if name == "ConversationId" and item.element == "Message":
        return etree.Element(t("ConversationId"), Id=item.id)
    if name == "TextBody":
        return _body_element(name, ("Text", body_text(item)))
    if name == "UniqueBody":
        return _unique_body(item, shape)
    if name == "Preview":
        return _simple(name, " ".join(body_text(item).split())[:255])
    if name == "InstanceKey":
        return _simple(name, item.id)
    if item.element == "CalendarItem":
        return _computed_calendar(name, item, mailbox)
    if item.element == "Contact":
        return _computed_contact(name, item)
    if item.element == "DistributionList" and name == "ContactSource":
        return _simple(name, "Store")
    return None


def _computed_calendar(name: str, item: Item, mailbox: Mailbox) -> etree._Element | None:
    props = item.props
    recurring = props.get("calendar:Recurrence") is not None
    if name == "IsRecurring":  # as Exchange: true on occurrences and exceptions, false on a master
        return _simple(name, "true" if item.occurrence_of is not None else "false")
    if name == "CalendarItemType":
        if item.occurrence_of is not None:
            return _simple(name, "Exception" if item.is_exception else "Occurrence")
        return _simple(name, "RecurringMaster" if recurring else "Single")
    if name == "IsMeeting":
        is_meeting = any(
            props.get(uri) is not None for uri in ("calendar:RequiredAttendees", "calendar:OptionalAttendees")
        )
        return _simple(name, "true" if is_meeting else "false")
    if name == "MyResponseType":
        return _simple(name, "Organizer")
    if name == "Organizer":
        return _mailbox_element("Organizer", mailbox)
    if name in ("ConflictingMeetingCount", "AdjacentMeetingCount", "AppointmentSequenceNumber"):
        return _simple(name, "0")
    if name == "AppointmentState":
        is_meeting = props.get("calendar:RequiredAttendees") is not None
        return _simple(name, "1" if is_meeting else "0")
    if name == "Duration":
        start, end = props.get("calendar:Start"), props.get("calendar:End")
        return None if start is None or end is None else _simple(name, format_duration(end - start))
    if name == "TimeZone":
        zone = props.get("calendar:StartTimeZone") or props.get("calendar:MeetingTimeZone")
        if zone is None:
            return _simple(name, "(UTC) Coordinated Universal Time")
        return _simple(name, zone.name or display_name(zone.id or "") or zone.id or "")
    if name == "IsOrganizer":
        return _simple(name, "true")
    if name in ("FirstOccurrence", "LastOccurrence", "ModifiedOccurrences", "DeletedOccurrences") and recurring:
        return _series_element(name, item, mailbox)
    return None


def _occurrence_info(name: str, occurrence: Item) -> etree._Element:
    elem = etree.Element(t(name))
    etree.SubElement(elem, t("ItemId"), Id=occurrence.id, ChangeKey=occurrence.changekey)
    for part in ("Start", "End", "OriginalStart"):
        etree.SubElement(elem, t(part)).text = format_datetime(occurrence.props[f"calendar:{part}"])
    return elem


def _series_element(name: str, master: Item, mailbox: Mailbox) -> etree._Element | None:
    """A master's FirstOccurrence, LastOccurrence, ModifiedOccurrences or DeletedOccurrences."""
    from . import recurrence

    if name in ("FirstOccurrence", "LastOccurrence"):
        first, last = recurrence.first_and_last(mailbox, master)
        occurrence = first if name == "FirstOccurrence" else last
        return None if occurrence is None else _occurrence_info(name, occurrence)
    if name == "ModifiedOccurrences":
        modified = recurrence.modified_occurrences(mailbox, master)
        if not modified:
            return None
        elem = etree.Element(t(name))
        for occurrence in modified:
            elem.append(_occurrence_info("Occurrence", occurrence))
        return elem
    starts = recurrence.deleted_starts(master)
    if not starts:
        return None
    elem = etree.Element(t(name))
    for start in starts:
        etree.SubElement(etree.SubElement(elem, t("DeletedOccurrence")), t("Start")).text = format_datetime(start)
    return elem


def _computed_contact(name: str, item: Item) -> etree._Element | None:
    props = item.props
    if name == "ContactSource":
        return _simple(name, "Store")
    if name == "HasPicture":
        return _simple(name, "false")
    if name == "CompleteName":
        elem = etree.Element(t("CompleteName"))
        for part, uri in (
            ("FirstName", "contacts:GivenName"),
            ("MiddleName", "contacts:MiddleName"),
            ("LastName", "contacts:Surname"),
            ("Suffix", "contacts:Generation"),
            ("Initials", "contacts:Initials"),
            ("FullName", "contacts:DisplayName"),
            ("Nickname", "contacts:Nickname"),
        ):
            if props.get(uri):
                etree.SubElement(elem, t(part)).text = props[uri]
        return elem
    return None


def write_value(prop: Prop, value: Any, body_type: str = "Best") -> etree._Element | None:
    elem = etree.Element(t(prop.name))
    kind = prop.kind
    if kind in ("text", "enum"):
        elem.text = value
    elif kind == "bool":
        elem.text = "true" if value else "false"
    elif kind == "int":
        elem.text = str(value)
    elif kind == "datetime":
        elem.text = format_datetime(value)
    elif kind == "body":
        return _body_element(prop.name, converted(value, body_type))
    elif kind == "strings":
        for text in value:
            etree.SubElement(elem, t("String")).text = text
    elif kind == "xml":
        elem = copy.deepcopy(value)
    elif kind == "timezone":
        elem = copy.deepcopy(value.element)
        if value.id and not elem.get("Name") and display_name(value.id):
            elem.set("Name", display_name(value.id))
    else:
        return None
    return elem


def write_indexed(prop: Prop, entries: dict[str, Any], selection: set[tuple[str, str | None]] | None):
    entry_def = INDEXED[prop.name]
    elem = etree.Element(t(prop.name))
    for key in entry_def.keys:
        if key not in entries:
            continue
        value = entries[key]
        if entry_def.parts:
            parts = [
                part for part in entry_def.parts if part in value and (selection is None or (key, part) in selection)
            ]
            if not parts:
                continue
            entry = etree.SubElement(elem, t("Entry"), Key=key)
            for part in parts:
                etree.SubElement(entry, t(part)).text = value[part]
            continue
        if selection is not None and (key, None) not in selection:
            continue
        entry = etree.SubElement(elem, t("Entry"), Key=key)
        if isinstance(value, EmailEntry):
            for name, attr in value.attributes:
                entry.set(name, attr)
            entry.text = value.address
        else:
            entry.text = value
    return elem if len(elem) else None


def selected_names(item_type: ItemType, shape: Shape, *, find: bool = False) -> set[str]:
    if shape.base == "IdOnly":
        names = {"ItemId"}
    elif shape.base == "AllProperties":
        names = {p.name for p in item_type.props if p.in_all}
    else:
        names = set(item_type.default_shape) | {"ItemId"}
    for prop in item_type.props:
        if prop.uri in shape.fields:
            names.add(prop.name)
    if shape.include_mime:
        names.add("MimeContent")
    if find:
        names = {name for name in names if (found := item_type.prop(name)) is None or found.in_find}
    return names


def write_item(
    parent: etree._Element, item: Item, mailbox: Mailbox, shape: Shape, *, find: bool = False
) -> etree._Element:
    """Append the item to `parent` with the properties the shape asks for (`find`: as FindItem
    writes it, without the streamed properties)."""
    item_type = ITEM_TYPES[item.element]
    folder = mailbox.folders[item.folder]
    elem = etree.SubElement(parent, t(item_type.element))
    names = selected_names(item_type, shape, find=find)
    for prop in item_type.props:
        if prop.kind == "extended":
            extended = with_computed(item) if shape.extended else {}
            for path in shape.extended:
                value = extended.get(path.key)
                if value is not None:
                    write_property(elem, path, value)
            continue
        if prop.kind == "indexed":
            entries = item.props.get(prop.uri) or {}
            if prop.name in names:
                child = write_indexed(prop, entries, None)
            elif prop.name in shape.indexed:
                child = write_indexed(prop, entries, shape.indexed[prop.name])
            else:
                child = None
            if child is not None:
                elem.append(child)
            continue
        if prop.name not in names:
            continue
        if prop.kind == "computed":
            child = computed(prop.name, item, mailbox, folder, shape)
        elif prop.name == "DateTimeCreated":
            child = _simple(prop.name, format_datetime(item.created))
        elif prop.name in ("DateTimeReceived", "DateTimeSent") and prop.uri not in item.props:
            child = _simple(prop.name, format_datetime(item.created))
        elif prop.name == "LastModifiedTime":
            child = _simple(prop.name, format_datetime(item.modified))
        elif prop.name == "MimeContent":
            from .mime import mime_content

            child = mime_content(item)
        elif prop.uri == "calendar:Recurrence" and prop.uri in item.props:
            from .recurrence import recurrence_element

            child = recurrence_element(item)
        elif prop.uri in item.props:
            child = write_value(prop, item.props[prop.uri], shape.body_type)
        elif prop.name == "Body" and shape.base == "AllProperties":
            child = etree.Element(t("Body"), BodyType="Text")
        else:
            child = None
        if child is not None:
            elem.append(child)
    return elem


def zone_of(item: Item, which: str = "Start") -> dt.tzinfo:
    """The zone an item's start (or end) is kept in, UTC if it has none."""
    for uri in (f"calendar:{which}TimeZone", "calendar:StartTimeZone", "calendar:MeetingTimeZone"):
        value = item.props.get(uri)
        if value is not None and value.zone is not None:
            return value.zone
    return UTC
