"""What Exchange does to an item when it is saved: defaults, derived names, all-day times, checks."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import uuid

from lxml import etree

from .errors import EwsError
from .itemxml import zone_of
from .namespaces import local, t
from .schema import ITEM_TYPES
from .store import Folder, Item, Store
from .timezones import UTC, parse_date, utc_now

ATTENDEE_LISTS = ("calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources")


def check_folder_accepts(folder: Folder, element: str) -> None:
    if element in ("Contact", "DistributionList") and not folder.holds_contacts:
        raise EwsError("ErrorCannotCreateContactInNonContactFolder")  # Exchange has no code of its own for groups
    if element == "CalendarItem" and not folder.holds_calendar_items:
        raise EwsError("ErrorCannotCreateCalendarItemInNonCalendarFolder")
    if element == "Task" and folder.element != "TasksFolder":
        raise EwsError("ErrorCannotCreateTaskInNonTaskFolder", "Cannot create a task in a non-task folder.")


def apply_defaults(element: str, props: dict) -> None:
    """The properties Exchange sets on a new item that the client left out."""
    item_type = ITEM_TYPES[element]
    props.setdefault("item:ItemClass", item_type.item_class)
    props.setdefault("item:Sensitivity", "Normal")
    props.setdefault("item:Importance", "Normal")
    props.setdefault("item:Culture", "en-US")
    if element == "CalendarItem":
        props.setdefault("calendar:UID", "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper())
        if "calendar:Start" not in props:
            now = utc_now()
            start = now.replace(minute=0, second=0) + dt.timedelta(minutes=30 if now.minute < 30 else 60)
            props["calendar:Start"] = start
        props.setdefault("calendar:End", props["calendar:Start"] + dt.timedelta(minutes=30))
        props.setdefault("calendar:IsAllDayEvent", False)
        props.setdefault("calendar:LegacyFreeBusyStatus", "Busy")
        props.setdefault("item:ReminderIsSet", True)
        props.setdefault("item:ReminderMinutesBeforeStart", 15)
    elif element == "Contact":
        given = props.get("contacts:GivenName", "")
        middle = props.get("contacts:MiddleName", "")
        surname = props.get("contacts:Surname", "")
        company = props.get("contacts:CompanyName", "")
        full = " ".join(part for part in (given, middle, surname) if part)
        if "contacts:DisplayName" not in props:
            props["contacts:DisplayName"] = full or company
        if "contacts:FileAs" not in props:
            if surname and (given or middle):
                props["contacts:FileAs"] = f"{surname}, {' '.join(p for p in (given, middle) if p)}"
            else:
                props["contacts:FileAs"] = full or company or props.get("contacts:DisplayName", "")
        props.setdefault("item:ReminderIsSet", False)
    elif element == "Message":
        props.setdefault("message:IsRead", True)
        props.setdefault("item:ReminderIsSet", False)
    else:
        props.setdefault("item:ReminderIsSet", False)


def normalize(item: Item, store: Store | None = None) -> None:
    """Checks and derived values after a create or an update."""
    props = item.props
    if item.element == "DistributionList":
        _normalize_distribution_list(props, store)
        return
    if item.element != "CalendarItem":
        return
    for uri in ATTENDEE_LISTS:
        if uri in props:
            props[uri] = _attendees(props[uri], store)
    start, end = props.get("calendar:Start"), props.get("calendar:End")
    if start is None or end is None:
        raise EwsError("ErrorInvalidPropertyDelete", "Start and End of a calendar item cannot be deleted.")
    if props.get("calendar:IsAllDayEvent"):
        # All-day events run from midnight to midnight in their time zone.
        start_zone, end_zone = zone_of(item, "Start"), zone_of(item, "End")
        local_start = start.astimezone(start_zone)
        local_end = end.astimezone(end_zone)
        midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        start = _localize(midnight, start_zone)
        end_midnight = local_end.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        if local_end.replace(tzinfo=None) != end_midnight or end_midnight <= midnight:
            end_midnight += dt.timedelta(days=1)
        end = _localize(end_midnight, end_zone)
        props["calendar:Start"], props["calendar:End"] = start, end
    if end < start:
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate")
    if props.get("calendar:Recurrence") is not None:
        props["calendar:Recurrence"] = _plain_range_dates(props["calendar:Recurrence"])
    if props.get("item:ReminderIsSet"):
        props["item:ReminderDueBy"] = start
    props.setdefault("calendar:DateTimeStamp", item.created)


def _plain_range_dates(recurrence: etree._Element) -> etree._Element:
    """A recurrence with its range's StartDate and EndDate kept as plain dates: a client may send
    them with an offset (2026-01-05+01:00, as Exchange writes them) or without; the dates are the
    series' own, in its time zone, and go out with that zone's offset (recurrence.py)."""
    elem = copy.deepcopy(recurrence)
    for child in elem.iter(t("StartDate"), t("EndDate")):
        child.text = parse_date(child.text, what=local(child.tag)).isoformat()
    return elem


def _localize(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _normalize_distribution_list(props: dict, store: Store | None) -> None:
    """A contact group is filed under its name; its members come back resolved."""
    props["contacts:FileAs"] = props.get("contacts:DisplayName", "")
    if props.get("distributionlist:Members") is not None:
        props["distributionlist:Members"] = _members(props["distributionlist:Members"], store)


def _resolved_mailbox(mailbox: etree._Element | None, store: Store | None, keep_type: bool = False) -> etree._Element:
    """A t:Mailbox as Exchange returns it: name, address, routing type and mailbox type (an
    address of this server's a Mailbox, any other OneOff; with `keep_type` the type the client
    gave, and the contact it named, stay)."""
    address = (mailbox.findtext(t("EmailAddress")) if mailbox is not None else None) or ""
    name = mailbox.findtext(t("Name")) if mailbox is not None else None
    given_type = mailbox.findtext(t("MailboxType")) if mailbox is not None and keep_type else None
    item_id = mailbox.find(t("ItemId")) if mailbox is not None and keep_type else None
    known = store.mailbox(address) if store is not None and address else None
    box = etree.Element(t("Mailbox"))
    etree.SubElement(box, t("Name")).text = name or (known.display_name if known else address)
    etree.SubElement(box, t("EmailAddress")).text = address
    etree.SubElement(box, t("RoutingType")).text = "SMTP"
    etree.SubElement(box, t("MailboxType")).text = given_type or ("Mailbox" if known else "OneOff")
    if item_id is not None:
        box.append(etree.Element(t("ItemId"), dict(item_id.attrib)))
    return box


def _attendees(elem: etree._Element, store: Store | None) -> etree._Element:
    """Attendees as Exchange returns them: a full mailbox and a response type each."""
    result = etree.Element(elem.tag)
    for attendee in elem:
        if not isinstance(attendee.tag, str) or local(attendee.tag) != "Attendee":
            continue
        new = etree.SubElement(result, t("Attendee"))
        new.append(_resolved_mailbox(attendee.find(t("Mailbox")), store))
        etree.SubElement(new, t("ResponseType")).text = attendee.findtext(t("ResponseType")) or "Unknown"
    return result


def _member_key(address: str) -> str:
    """The opaque Key Exchange gives a member of a contact group."""
    return base64.b64encode(hashlib.sha1(("SMTP:" + address.lower()).encode()).digest()).decode("ascii")


def _members(elem: etree._Element, store: Store | None) -> etree._Element:
    """Members of a contact group as Exchange returns them: a key, a full mailbox and a status each."""
    result = etree.Element(t("Members"))
    for member in elem:
        if not isinstance(member.tag, str) or local(member.tag) != "Member":
            continue
        mailbox = _resolved_mailbox(member.find(t("Mailbox")), store, keep_type=True)
        key = member.get("Key") or _member_key(mailbox.findtext(t("EmailAddress")) or "")
        new = etree.SubElement(result, t("Member"), Key=key)
        new.append(mailbox)
        etree.SubElement(new, t("Status")).text = member.findtext(t("Status")) or "Normal"
    return result
