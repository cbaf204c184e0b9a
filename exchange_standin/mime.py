"""MimeContent: an item as the MIME document Exchange makes of it (iCalendar for calendar items,
vCard for contacts, RFC 822 for messages; a contact group as an RFC 822 message of its name and
members, where Exchange sends its TNEF form)."""

from __future__ import annotations

import base64

from lxml import etree

from .bodies import body_text
from .errors import EwsError
from .itemxml import EmailEntry
from .namespaces import t
from .store import Item
from .timezones import format_datetime


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _ical_time(value) -> str:
    return format_datetime(value).replace("-", "").replace(":", "")


def _icalendar(item: Item) -> str:
    props = item.props
    lines = [
        "BEGIN:VCALENDAR",
        "METHOD:PUBLISH",
        "PRODID:Microsoft Exchange Server 2016",
        "VERSION:2.0",
        "BEGIN:VEVENT",
        f"UID:{props.get('calendar:UID', item.id)}",
        f"SUMMARY:{_escape(props.get('item:Subject', ''))}",
        f"DTSTART:{_ical_time(props['calendar:Start'])}",
        f"DTEND:{_ical_time(props['calendar:End'])}",
        f"CLASS:{'PRIVATE' if props.get('item:Sensitivity') in ('Private', 'Confidential') else 'PUBLIC'}",
        f"DTSTAMP:{_ical_time(item.modified)}",
    ]
    if props.get("calendar:Location"):
        lines.append(f"LOCATION:{_escape(props['calendar:Location'])}")
    if props.get("item:Body"):
        lines.append(f"DESCRIPTION:{_escape(body_text(item))}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def _vcard(item: Item) -> str:
    props = item.props
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:"
        + ";".join(
            _escape(props.get(uri, "")) for uri in ("contacts:Surname", "contacts:GivenName", "contacts:MiddleName")
        )
        + ";;",
        f"FN:{_escape(props.get('contacts:DisplayName', ''))}",
    ]
    if props.get("contacts:CompanyName"):
        lines.append(f"ORG:{_escape(props['contacts:CompanyName'])}")
    for entry in (props.get("contacts:EmailAddresses") or {}).values():
        address = entry.address if isinstance(entry, EmailEntry) else str(entry)
        lines.append(f"EMAIL;TYPE=INTERNET:{address}")
    for key, number in (props.get("contacts:PhoneNumbers") or {}).items():
        kind = "CELL" if key == "MobilePhone" else "HOME" if key.startswith("Home") else "WORK"
        lines.append(f"TEL;TYPE={kind}:{number}")
    for key, parts in (props.get("contacts:PhysicalAddresses") or {}).items():
        fields = [parts.get(name, "") for name in ("Street", "City", "State", "PostalCode", "CountryOrRegion")]
        lines.append(f"ADR;TYPE={'WORK' if key == 'Business' else key.upper()}:;;" + ";".join(map(_escape, fields)))
    lines += ["END:VCARD", ""]
    return "\r\n".join(lines)


def _rfc822(item: Item, subject: str, text: str) -> str:
    return (
        f"Subject: {subject}\r\nDate: {format_datetime(item.created)}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )


def _member_lines(item: Item) -> str:
    members = item.props.get("distributionlist:Members")
    lines = []
    for mailbox in members.iter(t("Mailbox")) if members is not None else ():
        name, address = mailbox.findtext(t("Name")) or "", mailbox.findtext(t("EmailAddress")) or ""
        lines.append(f"{name} <{address}>" if name and name != address else address)
    return "\r\n".join(lines)


def mime_content(item: Item) -> etree._Element:
    if item.element == "CalendarItem":
        text = _icalendar(item)
    elif item.element == "Contact":
        text = _vcard(item)
    elif item.element in ("Message", "Item"):
        text = _rfc822(item, item.props.get("item:Subject", ""), body_text(item))
    elif item.element == "DistributionList":
        text = _rfc822(item, item.props.get("contacts:DisplayName", ""), _member_lines(item))
    else:
        raise EwsError("ErrorUnsupportedMimeConversion")
    elem = etree.Element(t("MimeContent"), CharacterSet="UTF-8")
    elem.text = base64.b64encode(text.encode()).decode()
    return elem
