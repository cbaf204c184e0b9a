"""Microsoft Graph's JSON for the store's items and folders, and back: events, contacts,
calendars, contact folders and single-value extended properties. No HTTP here.

Graph ids are the EWS ids in REST form ('/' -> '-', '+' -> '_'), so both APIs name one item
alike and every id is stable."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from . import bodies
from .extended import ExtendedPath, ExtendedValue, normalize_value
from .graph_errors import GraphError
from .graph_recurrence import from_ews, to_ews
from .itemxml import EmailEntry, TimeZoneValue, zone_of
from .namespaces import t
from .store import Folder, Item, Mailbox
from .timezones import UTC, WINDOWS_ZONES, zone_for_windows_id


def graph_id(ews_id: str) -> str:
    return ews_id.replace("/", "-").replace("+", "_")


def ews_id(rest_id: str) -> str:
    return rest_id.replace("-", "/").replace("_", "+")


def etag(changekey: str) -> str:
    return f'W/"{changekey}"'


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# time ---------------------------------------------------------------------------------------------

_GRAPH_DATETIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,7}))?)?(Z|[+-]\d\d:\d\d)?$")


def zone_named(name: str | None) -> dt.tzinfo | None:
    """A Windows or IANA zone name as Graph accepts it; None if unknown."""
    if not name:
        return UTC
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    zone = zone_for_windows_id(name)
    if zone is not None:
        return zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_instant(text: object, what: str, zone: dt.tzinfo | None = UTC) -> dt.datetime:
    """A Graph dateTime (with or without offset, up to 7 fractional digits) as aware UTC."""
    match = _GRAPH_DATETIME.match(str(text).strip()) if isinstance(text, str) else None
    if match is None:
        raise GraphError(400, "ErrorInvalidDateTime" if what else "BadRequest", f"The {what} {text!r} is not valid.")
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    try:
        value = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise GraphError(400, "ErrorInvalidDateTime", f"The {what} {text!r} is not valid.") from None
    offset = match.group(8)
    if offset is None:
        value = value.replace(tzinfo=zone or UTC)
    elif offset == "Z":
        value = value.replace(tzinfo=UTC)
    else:
        sign = 1 if offset[0] == "+" else -1
        value = value.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))))
    return value.astimezone(UTC)


def date_time_zone(value: dt.datetime, zone_name: str) -> dict[str, str]:
    zone = zone_named(zone_name) or UTC
    return {"dateTime": value.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def _parse_date_time_zone(data: object, what: str) -> tuple[dt.datetime, str]:
    if not isinstance(data, dict) or "dateTime" not in data:
        raise GraphError(400, "ErrorInvalidRequest", f"{what} needs dateTime and timeZone.")
    zone_name = str(data.get("timeZone") or "UTC")
    zone = zone_named(zone_name)
    if zone is None:
        raise GraphError(
            400, "TimeZoneNotSupportedException", f"A valid TimeZone value must be specified: {zone_name}."
        )
    return parse_instant(data["dateTime"], what, zone), zone_name


def _windows_name(zone_name: str) -> str:
    if zone_name in WINDOWS_ZONES or zone_name.upper() == "UTC":
        return "UTC" if zone_name.upper() == "UTC" else zone_name
    for windows, (iana, _display) in WINDOWS_ZONES.items():
        if iana == zone_name:
            return windows
    return zone_name


def _zone_value(which: str, zone_name: str) -> TimeZoneValue:
    windows = _windows_name(zone_name)
    return TimeZoneValue(windows, None, etree.Element(t(f"{which}TimeZone"), Id=windows))


# extended properties -------------------------------------------------------------------------------

_PROPERTY_ID = re.compile(
    r"^\s*(?P<type>\w+)\s+(?:\{(?P<guid>[0-9a-fA-F-]{36})\}\s+(?P<kind>Name|Id)\s+(?P<name>.+?)|(?P<tag>0x[0-9a-fA-F]{1,4}))\s*$"
)


def parse_property_id(text: str) -> ExtendedPath:
    """'String {guid} Name name', 'Integer {guid} Id 0x8233' or 'String 0x0037' as the EWS path."""
    match = _PROPERTY_ID.match(text or "")
    if match is None:
        raise GraphError(400, "ErrorInvalidProperty", f"The extended property id {text!r} is not valid.")
    property_type = match["type"]
    attributes: tuple[tuple[str, str], ...]
    if match["tag"]:
        number = int(match["tag"], 16)
        attributes = (("PropertyTag", match["tag"]), ("PropertyType", property_type))
        return ExtendedPath(attributes, ("tag", number), property_type)
    guid = str(uuid.UUID(match["guid"]))
    if match["kind"] == "Name":
        attributes = (("PropertyName", match["name"]), ("PropertySetId", guid), ("PropertyType", property_type))
        return ExtendedPath(attributes, ("set", guid, "name", match["name"]), property_type)
    try:
        number = int(match["name"], 16) if match["name"].lower().startswith("0x") else int(match["name"])
    except ValueError:
        raise GraphError(400, "ErrorInvalidProperty", f"The extended property id {text!r} is not valid.") from None
    attributes = (("PropertyId", str(number)), ("PropertySetId", guid), ("PropertyType", property_type))
    return ExtendedPath(attributes, ("set", guid, "id", number), property_type)


def property_id_of(path: ExtendedPath) -> str:
    key = path.key
    if key[0] == "tag":
        return f"{path.property_type} 0x{key[1]:04x}"
    kind = "Name" if key[2] == "name" else "Id"
    name = key[3] if kind == "Name" else f"0x{key[3]:x}"
    return f"{path.property_type} {{{key[1]}}} {kind} {name}"


def extended_json(item_extended: dict, wanted: list[str] | None) -> list[dict[str, str]]:
    """singleValueExtendedProperties: those of `wanted` ids (all if None) the item has."""
    keys = None if wanted is None else {parse_property_id(text).key for text in wanted}
    found = []
    for key, value in item_extended.items():
        if value.path.is_array or (keys is not None and key not in keys):
            continue
        found.append({"id": property_id_of(value.path), "value": value.values[0] if value.values else ""})
    return found


def read_extended(data: object) -> dict[tuple, ExtendedValue]:
    if not isinstance(data, list):
        raise GraphError(400, "BadRequest", "singleValueExtendedProperties must be an array.")
    found: dict[tuple, ExtendedValue] = {}
    for entry in data:
        if not isinstance(entry, dict) or "id" not in entry or "value" not in entry:
            raise GraphError(400, "BadRequest", "Each single-value extended property needs id and value.")
        path = parse_property_id(str(entry["id"]))
        if path.is_array:
            raise GraphError(400, "ErrorInvalidProperty", "A single-value extended property cannot be an array.")
        try:
            value = normalize_value(path.base_type, str(entry["value"]))
        except Exception:  # noqa: BLE001 - EWS's conversion error, said in Graph's words
            raise GraphError(
                400, "ErrorInvalidExtendedPropertyValue", f"The value {entry['value']!r} is not a {path.base_type}."
            ) from None
        found[path.key] = ExtendedValue(path, (value,))
    return found


# events -----------------------------------------------------------------------------------------

SHOW_AS = {
    "Free": "free",
    "Tentative": "tentative",
    "Busy": "busy",
    "OOF": "oof",
    "WorkingElsewhere": "workingElsewhere",
    "NoData": "unknown",
}
SHOW_AS_BACK = {value: key for key, value in SHOW_AS.items()}
LEVELS = {"Low": "low", "Normal": "normal", "High": "high"}
SENSITIVITY = {"Normal": "normal", "Personal": "personal", "Private": "private", "Confidential": "confidential"}


def _body_json(body: tuple[str, str] | None, text_wanted: bool) -> dict[str, str]:
    if body is None:
        return {"contentType": "text" if text_wanted else "html", "content": ""}
    kind, content = bodies.converted(body, "Text" if text_wanted else "HTML")
    return {"contentType": kind.lower(), "content": content}


def _preview(body: tuple[str, str] | None) -> str:
    if body is None:
        return ""
    return bodies.converted(body, "Text")[1].strip()[:255]


def event_json(
    mailbox: Mailbox,
    item: Item,
    *,
    zone_name: str = "UTC",
    text_body: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    event_type: str | None = None,
    master: Item | None = None,
    transaction_id: str | None = None,
) -> dict[str, Any]:
    """An event as Graph shows it (occurrences: pass their own id in item.id, start, end and the master)."""
    props = item.props
    body = props.get("item:Body")
    recurring = props.get("calendar:Recurrence") is not None
    kind = event_type or ("seriesMaster" if recurring else "singleInstance")
    location = props.get("calendar:Location") or ""
    start_zone = zone_of(item)
    end_zone = zone_of(item, "End")
    data: dict[str, Any] = {
        "@odata.etag": etag(item.changekey),
        "id": graph_id(item.id),
        "createdDateTime": _stamp(item.created),
        "lastModifiedDateTime": _stamp(item.modified),
        "changeKey": item.changekey,
        "categories": list(props.get("item:Categories") or []),
        "transactionId": transaction_id,
        "originalStartTimeZone": getattr(props.get("calendar:StartTimeZone"), "id", None) or _zone_label(start_zone),
        "originalEndTimeZone": getattr(props.get("calendar:EndTimeZone"), "id", None) or _zone_label(end_zone),
        "iCalUId": props.get("calendar:UID"),
        "reminderMinutesBeforeStart": int(props.get("item:ReminderMinutesBeforeStart") or 0),
        "isReminderOn": bool(props.get("item:ReminderIsSet")),
        "hasAttachments": False,
        "subject": props.get("item:Subject") or "",
        "bodyPreview": _preview(body),
        "importance": LEVELS.get(props.get("item:Importance", "Normal"), "normal"),
        "sensitivity": SENSITIVITY.get(props.get("item:Sensitivity", "Normal"), "normal"),
        "isAllDay": bool(props.get("calendar:IsAllDayEvent")),
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": bool(props.get("calendar:IsResponseRequested", True)),
        "seriesMasterId": graph_id(master.id) if master is not None else None,
        "showAs": SHOW_AS.get(props.get("calendar:LegacyFreeBusyStatus", "Busy"), "busy"),
        "type": kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={graph_id(item.id)}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": _body_json(body, text_body),
        "start": date_time_zone(start or props["calendar:Start"], zone_name),
        "end": date_time_zone(end or props["calendar:End"], zone_name),
        "location": {"displayName": location, "locationType": "default", "uniqueIdType": "unknown"}
        if location
        else {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        "locations": [{"displayName": location, "locationType": "default", "uniqueIdType": "unknown"}]
        if location
        else [],
        "recurrence": _recurrence_json(props.get("calendar:Recurrence"), zone_name) if kind == "seriesMaster" else None,
        "attendees": [],
        "organizer": {"emailAddress": {"name": mailbox.display_name, "address": mailbox.address}},
        "onlineMeeting": None,
    }
    if item.occurrence_of is not None and props.get("calendar:OriginalStart") is not None:
        data["originalStart"] = _stamp(props["calendar:OriginalStart"])  # where the series put it
    return data


def _recurrence_json(recurrence: Any, zone_name: str) -> dict[str, Any] | None:
    if recurrence is None:
        return None
    return from_ews(recurrence, zone_name)


def _zone_label(zone: dt.tzinfo) -> str:
    key = getattr(zone, "key", None)
    if key:
        for windows, (iana, _display) in WINDOWS_ZONES.items():
            if iana == key:
                return windows
        return str(key)
    return "UTC"


EVENT_WRITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "isAllDay",
    "showAs",
    "importance",
    "sensitivity",
    "categories",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "attendees",
    "allowNewTimeProposals",
    "transactionId",
    "singleValueExtendedProperties",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "hideAttendees",
    "recurrence",
    # accepted and not kept: the stand-in has no online meetings, and these say nothing it stores
    "originalStartTimeZone",
    "originalEndTimeZone",
    "responseStatus",
}


def event_props(data: dict[str, Any], props: dict[str, Any]) -> None:
    """Apply a Graph event body (a create or a PATCH) to EWS-style properties."""
    unknown = sorted(key for key in data if key not in EVENT_WRITABLE and not key.startswith("@odata."))
    if unknown:
        raise GraphError(
            400, "RequestBodyRead", f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.event'."
        )
    if "subject" in data:
        props["item:Subject"] = _text(data["subject"], "subject")
    if "body" in data:
        props["item:Body"] = _body_of(data["body"])
    for which in ("start", "end"):
        if which in data:
            value, zone_name = _parse_date_time_zone(data[which], which)
            props[f"calendar:{which.capitalize()}"] = value
            props[f"calendar:{which.capitalize()}TimeZone"] = _zone_value(which.capitalize(), zone_name)
    if "location" in data:
        location = data["location"]
        if location is not None and not isinstance(location, dict):
            raise GraphError(400, "BadRequest", "location must be an object.")
        props["calendar:Location"] = str((location or {}).get("displayName") or "")
    if "isAllDay" in data:
        props["calendar:IsAllDayEvent"] = _bool(data["isAllDay"], "isAllDay")
    if "showAs" in data:
        if data["showAs"] not in SHOW_AS_BACK:
            raise GraphError(400, "BadRequest", f"showAs {data['showAs']!r} is not valid.")
        props["calendar:LegacyFreeBusyStatus"] = SHOW_AS_BACK[data["showAs"]]
    if "importance" in data:
        props["item:Importance"] = _choice(data["importance"], LEVELS, "importance")
    if "sensitivity" in data:
        props["item:Sensitivity"] = _choice(data["sensitivity"], SENSITIVITY, "sensitivity")
    if "categories" in data:
        props["item:Categories"] = _strings(data["categories"], "categories")
    if "isReminderOn" in data:
        props["item:ReminderIsSet"] = _bool(data["isReminderOn"], "isReminderOn")
    if "reminderMinutesBeforeStart" in data:
        minutes = data["reminderMinutesBeforeStart"]
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise GraphError(400, "BadRequest", "reminderMinutesBeforeStart must be an integer.")
        props["item:ReminderMinutesBeforeStart"] = minutes
    if "responseRequested" in data:
        props["calendar:IsResponseRequested"] = _bool(data["responseRequested"], "responseRequested")
    if "recurrence" in data:
        if data["recurrence"] is None:
            props.pop("calendar:Recurrence", None)
        else:
            props["calendar:Recurrence"] = to_ews(data["recurrence"])


def _text(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GraphError(400, "BadRequest", f"{what} must be a string.")
    return value


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise GraphError(400, "BadRequest", f"{what} must be true or false.")
    return value


def _choice(value: object, choices: dict[str, str], what: str) -> str:
    for key, shown in choices.items():
        if isinstance(value, str) and value.lower() == shown.lower():
            return key
    raise GraphError(400, "BadRequest", f"{what} {value!r} is not valid.")


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise GraphError(400, "BadRequest", f"{what} must be an array of strings.")
    return list(value)


def _body_of(value: object) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise GraphError(400, "BadRequest", "body must be an object with contentType and content.")
    kind = str(value.get("contentType") or "text").lower()
    if kind not in ("text", "html"):
        raise GraphError(400, "BadRequest", f"contentType {kind!r} is not text or html.")
    return ("HTML" if kind == "html" else "Text", _text(value.get("content"), "content"))


# contacts ---------------------------------------------------------------------------------------

CONTACT_TEXT = {
    "givenName": "contacts:GivenName",
    "surname": "contacts:Surname",
    "middleName": "contacts:MiddleName",
    "displayName": "contacts:DisplayName",
    "fileAs": "contacts:FileAs",
    "nickName": "contacts:Nickname",
    "initials": "contacts:Initials",
    "generation": "contacts:Generation",
    "jobTitle": "contacts:JobTitle",
    "companyName": "contacts:CompanyName",
    "department": "contacts:Department",
    "officeLocation": "contacts:OfficeLocation",
    "profession": "contacts:Profession",
    "businessHomePage": "contacts:BusinessHomePage",
    "assistantName": "contacts:AssistantName",
    "manager": "contacts:Manager",
    "spouseName": "contacts:SpouseName",
}
PHONES = {"businessPhones": ("BusinessPhone", "BusinessPhone2"), "homePhones": ("HomePhone", "HomePhone2")}
ADDRESSES = {"homeAddress": "Home", "businessAddress": "Business", "otherAddress": "Other"}
ADDRESS_PARTS = {
    "street": "Street",
    "city": "City",
    "state": "State",
    "countryOrRegion": "CountryOrRegion",
    "postalCode": "PostalCode",
}
CONTACT_WRITABLE = (
    set(CONTACT_TEXT)
    | set(PHONES)
    | set(ADDRESSES)
    | {
        "emailAddresses",
        "imAddresses",
        "mobilePhone",
        "birthday",
        "children",
        "categories",
        "personalNotes",
        "title",
        "yomiGivenName",
        "yomiSurname",
        "yomiCompanyName",
        "singleValueExtendedProperties",
    }
)


def contact_json(item: Item, folder: Folder) -> dict[str, Any]:
    props = item.props
    emails = props.get("contacts:EmailAddresses") or {}
    phones = props.get("contacts:PhoneNumbers") or {}
    addresses = props.get("contacts:PhysicalAddresses") or {}
    ims = props.get("contacts:ImAddresses") or {}
    birthday = props.get("contacts:Birthday")
    body = props.get("item:Body")
    data: dict[str, Any] = {
        "@odata.etag": etag(item.changekey),
        "id": graph_id(item.id),
        "createdDateTime": _stamp(item.created),
        "lastModifiedDateTime": _stamp(item.modified),
        "changeKey": item.changekey,
        "categories": list(props.get("item:Categories") or []),
        "parentFolderId": graph_id(folder.id),
        "birthday": birthday.strftime("%Y-%m-%dT11:59:00Z") if birthday is not None else None,
    }
    for name, uri in CONTACT_TEXT.items():
        data[name] = props.get(uri)
    data["fileAs"] = props.get("contacts:FileAs") or ""
    data.update({"title": None, "yomiGivenName": None, "yomiSurname": None, "yomiCompanyName": None})
    data["imAddresses"] = [ims[key] for key in ("ImAddress1", "ImAddress2", "ImAddress3") if ims.get(key)]
    data["mobilePhone"] = phones.get("MobilePhone")
    for name, keys in PHONES.items():
        data[name] = [phones[key] for key in keys if phones.get(key)]
    data["personalNotes"] = bodies.converted(body, "Text")[1] if body is not None else ""
    data["children"] = list(props.get("contacts:Children") or [])
    data["emailAddresses"] = [
        {"name": entry.address, "address": entry.address}
        for key in ("EmailAddress1", "EmailAddress2", "EmailAddress3")
        if (entry := emails.get(key)) is not None
    ]
    for name, key in ADDRESSES.items():
        parts = addresses.get(key) or {}
        data[name] = {graph: parts[ews] for graph, ews in ADDRESS_PARTS.items() if parts.get(ews)}
    return data


def contact_props(data: dict[str, Any], props: dict[str, Any]) -> None:
    unknown = sorted(key for key in data if key not in CONTACT_WRITABLE and not key.startswith("@odata."))
    if unknown:
        raise GraphError(
            400, "RequestBodyRead", f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.contact'."
        )
    for name, uri in CONTACT_TEXT.items():
        if name in data:
            value = data[name]
            if value is None or value == "":
                props.pop(uri, None)
            else:
                props[uri] = _text(value, name)
    if "emailAddresses" in data:
        entries = data["emailAddresses"] or []
        if not isinstance(entries, list) or len(entries) > 3 or not all(isinstance(e, dict) for e in entries):
            raise GraphError(400, "BadRequest", "emailAddresses must be an array of up to 3 emailAddress objects.")
        emails = {
            f"EmailAddress{index}": EmailEntry(str(entry.get("address") or ""))
            for index, entry in enumerate(entries, 1)
            if entry.get("address")
        }
        _set_or_drop(props, "contacts:EmailAddresses", emails)
    phones = dict(props.get("contacts:PhoneNumbers") or {})
    touched = False
    for name, keys in PHONES.items():
        if name in data:
            values = _strings(data[name] or [], name)
            if len(values) > len(keys):
                raise GraphError(400, "BadRequest", f"{name} holds at most {len(keys)} numbers.")
            for key in keys:
                phones.pop(key, None)
            phones.update(zip(keys, values))
            touched = True
    if "mobilePhone" in data:
        phones.pop("MobilePhone", None)
        if data["mobilePhone"]:
            phones["MobilePhone"] = _text(data["mobilePhone"], "mobilePhone")
        touched = True
    if touched:
        _set_or_drop(props, "contacts:PhoneNumbers", phones)
    if "imAddresses" in data:
        values = _strings(data["imAddresses"] or [], "imAddresses")[:3]
        _set_or_drop(props, "contacts:ImAddresses", {f"ImAddress{i}": v for i, v in enumerate(values, 1)})
    addresses = dict(props.get("contacts:PhysicalAddresses") or {})
    changed = False
    for name, key in ADDRESSES.items():
        if name in data:
            value = data[name] or {}
            if not isinstance(value, dict) or set(value) - set(ADDRESS_PARTS):
                raise GraphError(400, "BadRequest", f"{name} must be a physicalAddress object.")
            parts = {ADDRESS_PARTS[part]: str(text) for part, text in value.items() if text}
            if parts:
                addresses[key] = parts
            else:
                addresses.pop(key, None)
            changed = True
    if changed:
        _set_or_drop(props, "contacts:PhysicalAddresses", addresses)
    if "birthday" in data:
        if data["birthday"] in (None, ""):
            props.pop("contacts:Birthday", None)
        else:
            text = str(data["birthday"])
            day = parse_instant(text if "T" in text else f"{text}T11:59:00Z", "birthday")
            props["contacts:Birthday"] = day
    if "children" in data:
        _set_or_drop(props, "contacts:Children", _strings(data["children"] or [], "children"))
    if "categories" in data:
        _set_or_drop(props, "item:Categories", _strings(data["categories"] or [], "categories"))
    if "personalNotes" in data:
        notes = _text(data["personalNotes"], "personalNotes")
        if notes:
            props["item:Body"] = ("Text", notes)
        else:
            props.pop("item:Body", None)


def _set_or_drop(props: dict[str, Any], uri: str, value: Any) -> None:
    if value:
        props[uri] = value
    else:
        props.pop(uri, None)


# folders ----------------------------------------------------------------------------------------


def calendar_json(mailbox: Mailbox, folder: Folder) -> dict[str, Any]:
    return {
        "id": graph_id(folder.id),
        "name": folder.display_name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": folder.distinguished == "calendar",
        "changeKey": folder.changekey,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "isRemovable": folder.distinguished != "calendar",
        "isTallyingResponses": True,
        "allowedOnlineMeetingProviders": [],
        "defaultOnlineMeetingProvider": "unknown",
        "owner": {"name": mailbox.display_name, "address": mailbox.address},
    }


def contact_folder_json(mailbox: Mailbox, folder: Folder) -> dict[str, Any]:
    parent = mailbox.folders.get(folder.parent) if folder.parent is not None else None
    return {
        "id": graph_id(folder.id),
        "displayName": folder.display_name,
        "parentFolderId": graph_id(parent.id) if parent is not None else None,
    }
