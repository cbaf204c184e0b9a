"""Extended (MAPI) properties: ExtendedFieldURI paths and their typed values."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from lxml import etree

from .errors import EwsError, schema_error
from .namespaces import local, t
from .timezones import format_datetime, parse_datetime

DISTINGUISHED_SETS = {
    "Meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "Appointment": "00062002-0000-0000-c000-000000000046",
    "Common": "00062008-0000-0000-c000-000000000046",
    "PublicStrings": "00020329-0000-0000-c000-000000000046",
    "Address": "00062004-0000-0000-c000-000000000046",
    "InternetHeaders": "00020386-0000-0000-c000-000000000046",
    "CalendarAssistant": "11000e07-b51b-40d6-af21-caa85edab1d0",
    "UnifiedMessaging": "4442858e-a9e3-4e80-b900-317a210cc15b",
    "Task": "00062003-0000-0000-c000-000000000046",
    "Sharing": "00062040-0000-0000-c000-000000000046",
}
_SCALAR_TYPES = (
    "ApplicationTime",
    "Binary",
    "Boolean",
    "CLSID",
    "Currency",
    "Double",
    "Error",
    "Float",
    "Integer",
    "Long",
    "Null",
    "Object",
    "Short",
    "SystemTime",
    "String",
)
PROPERTY_TYPES = _SCALAR_TYPES + tuple(f"{name}Array" for name in _SCALAR_TYPES if name not in ("Error", "Null"))
_INT_TYPES = ("Integer", "Long", "Short", "Currency", "Error")
_FLOAT_TYPES = ("Double", "Float", "ApplicationTime")


@dataclass(frozen=True)
class ExtendedPath:
    """An ExtendedFieldURI as the client wrote it, and the identity of the property it names."""

    attributes: tuple[tuple[str, str], ...]  # as received, to echo them back
    key: tuple
    property_type: str

    @property
    def is_array(self) -> bool:
        return self.property_type.endswith("Array")

    @property
    def base_type(self) -> str:
        return self.property_type[:-5] if self.is_array else self.property_type

    def element(self) -> etree._Element:
        elem = etree.Element(t("ExtendedFieldURI"))
        for name, value in self.attributes:
            elem.set(name, value)
        return elem


def _invalid(reason: str) -> EwsError:
    return EwsError("ErrorInvalidExtendedProperty", f"The extended property attribute combination is invalid: {reason}")


def parse_path(elem: etree._Element) -> ExtendedPath:
    """Read a t:ExtendedFieldURI element."""
    attrs = {name: value.strip() for name, value in elem.attrib.items() if "}" not in name}
    unknown = set(attrs) - {
        "DistinguishedPropertySetId",
        "PropertySetId",
        "PropertyTag",
        "PropertyName",
        "PropertyId",
        "PropertyType",
    }
    if unknown:
        raise schema_error(f"The attribute '{sorted(unknown)[0]}' is not declared on ExtendedFieldURI.")
    property_type = attrs.get("PropertyType")
    if property_type is None:
        raise schema_error("The required attribute 'PropertyType' is missing on ExtendedFieldURI.")
    if property_type not in PROPERTY_TYPES:
        raise schema_error(f"The 'PropertyType' attribute is invalid - the value '{property_type}' is invalid.")
    distinguished = attrs.get("DistinguishedPropertySetId")
    set_id = attrs.get("PropertySetId")
    tag = attrs.get("PropertyTag")
    name = attrs.get("PropertyName")
    prop_id = attrs.get("PropertyId")
    if distinguished is not None and distinguished not in DISTINGUISHED_SETS:
        raise schema_error(f"The 'DistinguishedPropertySetId' attribute is invalid - the value '{distinguished}'.")
    if tag is not None:
        if distinguished or set_id or name or prop_id:
            raise _invalid("PropertyTag cannot be combined with a property set, name or id")
        try:
            number = int(tag, 16) if tag.lower().startswith("0x") else int(tag)
        except ValueError:
            raise _invalid(f"PropertyTag {tag!r} is not a number") from None
        if not 0 <= number <= 0xFFFF:
            raise _invalid(f"PropertyTag {tag!r} is out of range")
        return ExtendedPath(tuple(sorted(attrs.items())), ("tag", number), property_type)
    if (distinguished is None) == (set_id is None):
        raise _invalid("give exactly one of DistinguishedPropertySetId, PropertySetId or PropertyTag")
    if (name is None) == (prop_id is None):
        raise _invalid("give exactly one of PropertyName or PropertyId with a property set")
    if set_id is not None:
        try:
            guid = str(uuid.UUID(set_id))
        except ValueError:
            raise schema_error(
                f"The 'PropertySetId' attribute is invalid - the value '{set_id}' is not a GUID."
            ) from None
    else:
        assert distinguished is not None  # exactly one of the two is given, checked above
        guid = DISTINGUISHED_SETS[distinguished]
    if name is not None:
        return ExtendedPath(tuple(sorted(attrs.items())), ("set", guid, "name", name), property_type)
    assert prop_id is not None  # exactly one of name and id is given, checked above
    try:
        number = int(prop_id, 16) if prop_id.lower().startswith("0x") else int(prop_id)
    except ValueError:
        raise schema_error(f"The 'PropertyId' attribute is invalid - the value '{prop_id}'.") from None
    return ExtendedPath(tuple(sorted(attrs.items())), ("set", guid, "id", number), property_type)


def normalize_value(base_type: str, text: str | None) -> str:
    """The value as Exchange gives it back; EwsError for a value its type cannot hold."""
    text = text or ""
    try:
        if base_type in _INT_TYPES:
            return str(int(text.strip()))
        if base_type in _FLOAT_TYPES:
            float(text.strip())
            return text.strip()
        if base_type == "Boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return "true" if lowered in ("true", "1") else "false"
        if base_type == "SystemTime":
            return format_datetime(parse_datetime(text))
        if base_type == "CLSID":
            return str(uuid.UUID(text.strip()))
        if base_type in ("Binary", "Object"):
            base64.b64decode(text.strip(), validate=True)
            return text.strip()
    except Exception:  # noqa: BLE001 - any conversion failure is the same EWS error
        raise EwsError(
            "ErrorInvalidExtendedPropertyValue",
            f"The extended property value {text!r} is inconsistent with its type {base_type}.",
        ) from None
    return text


def comparable(base_type: str, text: str):
    """A value to compare and sort by."""
    if base_type in _INT_TYPES:
        return int(text)
    if base_type in _FLOAT_TYPES:
        return float(text)
    if base_type == "Boolean":
        return text == "true"
    if base_type == "SystemTime":
        return parse_datetime(text)
    if base_type == "String":
        return text.casefold()
    return text


@dataclass(frozen=True)
class ExtendedValue:
    path: ExtendedPath  # how it was written
    values: tuple[str, ...]  # one value for scalar types


def parse_property(elem: etree._Element) -> ExtendedValue:
    """Read a t:ExtendedProperty element (ExtendedFieldURI, then Value or Values)."""
    uri_elem = None
    value_elem = None
    values_elem = None
    for child in elem:
        name = local(child.tag)
        if name == "ExtendedFieldURI":
            uri_elem = child
        elif name == "Value":
            value_elem = child
        elif name == "Values":
            values_elem = child
        elif name:
            raise schema_error(f"The element '{name}' is not expected in ExtendedProperty.")
    if uri_elem is None:
        raise schema_error("The element 'ExtendedProperty' is incomplete: ExtendedFieldURI is missing.")
    path = parse_path(uri_elem)
    if path.is_array:
        if values_elem is None:
            raise EwsError("ErrorInvalidExtendedPropertyValue", "An array property needs Values.")
        texts = [child.text for child in values_elem if local(child.tag) == "Value"]
        return ExtendedValue(path, tuple(normalize_value(path.base_type, text) for text in texts))
    if value_elem is None:
        raise EwsError("ErrorInvalidExtendedPropertyValue", "A single-valued property needs a Value.")
    return ExtendedValue(path, (normalize_value(path.base_type, value_elem.text),))


def write_property(parent: etree._Element, path: ExtendedPath, value: ExtendedValue) -> None:
    prop = etree.SubElement(parent, t("ExtendedProperty"))
    prop.append(path.element())
    if value.path.is_array:
        values = etree.SubElement(prop, t("Values"))
        for text in value.values:
            etree.SubElement(values, t("Value")).text = text
    else:
        etree.SubElement(prop, t("Value")).text = value.values[0] if value.values else ""
