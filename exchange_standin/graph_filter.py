"""Graph's $filter on events and contacts, as far as a sync client needs it: a single-value
extended property (eq, contains, cast … eq), startsWith on a name field, and an e-mail address of a
contact. Anything else is a 400 ErrorInvalidUrlQueryFilter."""

from __future__ import annotations

import re

from .graph_errors import GraphError
from .graph_model import parse_property_id
from .store import Item

_EXT = re.compile(
    r"^\s*singleValueExtendedProperties\s*/\s*any\s*\(\s*(\w+)\s*:\s*\1\s*/\s*id\s+eq\s+'([^']*)'\s+and\s+"
    r"(?:\1\s*/\s*value\s+eq\s+'([^']*)'|contains\s*\(\s*\1\s*/\s*value\s*,\s*'([^']*)'\s*\)|"
    r"cast\s*\(\s*\1\s*/\s*value\s*,\s*Edm\.\w+\s*\)\s+eq\s+\(?([^)\s]+)\)?)\s*\)\s*$",
    re.I,
)
_STARTS = re.compile(r"^\s*startswith\s*\(\s*(\w+)\s*,\s*'([^']*)'\s*\)\s*$", re.I)
_EMAIL = re.compile(r"^\s*emailAddresses\s*/\s*any\s*\(\s*(\w+)\s*:\s*\1\s*/\s*address\s+eq\s+'([^']*)'\s*\)\s*$", re.I)
_FIELDS = {
    "subject": "item:Subject",
    "displayname": "contacts:DisplayName",
    "givenname": "contacts:GivenName",
    "surname": "contacts:Surname",
}


def matches(text: str, item: Item) -> bool:
    match = _EXT.match(text)
    if match:
        path = parse_property_id(match.group(2))
        value = item.extended.get(path.key)
        if value is None or not value.values:
            return False
        have = value.values[0]
        if match.group(3) is not None:
            return have == match.group(3)
        if match.group(4) is not None:
            return match.group(4).casefold() in have.casefold()
        return have.strip().lower() == match.group(5).strip().lower()
    match = _STARTS.match(text)
    if match and match.group(1).lower() in _FIELDS:
        return str(item.props.get(_FIELDS[match.group(1).lower()]) or "").lower().startswith(match.group(2).lower())
    match = _EMAIL.match(text)
    if match:
        emails = item.props.get("contacts:EmailAddresses") or {}
        return any(entry.address.lower() == match.group(2).lower() for entry in emails.values())
    raise GraphError(400, "ErrorInvalidUrlQueryFilter", f"The $filter {text!r} is not supported.")
