"""Restrictions (the EWS search expressions of FindItem and FindFolder) and sort orders.

A restriction is compiled into a predicate over a *getter*: a function that gives, for a property
path, the kind of its values and the values an object has (several for multi-valued properties,
none when the property is not set). Like MAPI, a comparison with a property an object does not
have is false, whatever the operator."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any

from lxml import etree

from .errors import EwsError, schema_error
from .extended import comparable, normalize_value
from .namespaces import local
from .shapes import Path, is_path, parse_path
from .timezones import parse_datetime

Getter = Callable[[Path], tuple[str, list[Any]]]
Predicate = Callable[[Getter], bool]

COMPARISONS = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}
CONTAINMENT_MODES = ("FullString", "Prefixed", "Substring", "PrefixOnWords", "ExactPhrase")
CONTAINMENT_COMPARISONS = (
    "Exact",
    "IgnoreCase",
    "IgnoreNonSpacingCharacters",
    "Loose",
    "IgnoreCaseAndNonSpacingCharacters",
    "LooseAndIgnoreCase",
    "LooseAndIgnoreNonSpace",
    "LooseAndIgnoreCaseAndIgnoreNonSpace",
)


def _children(elem: etree._Element) -> list[etree._Element]:
    return [child for child in elem if isinstance(child.tag, str)]


def convert_constant(kind: str, text: str | None, zone: dt.tzinfo | None) -> Any:
    """The constant of a comparison as a value of the property's kind."""
    text = text if text is not None else ""
    try:
        if kind in ("text", "enum"):
            return text.casefold()
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return lowered in ("true", "1")
        if kind == "int":
            return int(text.strip())
        if kind == "datetime":
            return parse_datetime(text, zone)
        if kind.startswith("ext:"):
            base = kind[4:]
            return comparable(base, normalize_value(base, text))
    except (ValueError, EwsError):
        raise EwsError("ErrorInvalidValueForProperty", f"The value {text!r} is invalid for the property.") from None
    return text


def _comparable(kind: str, value: Any) -> Any:
    if kind in ("text", "enum") and isinstance(value, str):
        return value.casefold()
    return value


def _fold(text: str, comparison: str) -> str:
    if "IgnoreCase" in comparison or comparison in ("Loose", "LooseAndIgnoreCase"):
        text = text.casefold()
    if "NonSpac" in comparison or "NonSpace" in comparison:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return text


def _contains(value: str, constant: str, mode: str, comparison: str) -> bool:
    value, constant = _fold(value, comparison), _fold(constant, comparison)
    if mode == "FullString":
        return value == constant
    if mode == "Prefixed":
        return value.startswith(constant)
    if mode == "PrefixOnWords":
        return any(word.startswith(constant) for word in value.split())
    return constant in value  # Substring, ExactPhrase


def compile_restriction(elem: etree._Element, *, folders: bool = False, zone: dt.tzinfo | None = None) -> Predicate:
    """Compile the one search expression inside an m:Restriction element."""
    expressions = _children(elem)
    if len(expressions) != 1:
        raise schema_error("The element 'Restriction' must hold exactly one search expression.")
    return _compile(expressions[0], folders, zone)


def _compile(elem: etree._Element, folders: bool, zone) -> Predicate:
    name = local(elem.tag)
    children = _children(elem)
    if name in ("And", "Or"):
        if not children:
            raise schema_error(f"The element '{name}' has incomplete content.")
        parts = [_compile(child, folders, zone) for child in children]
        if name == "And":
            return lambda get: all(part(get) for part in parts)
        return lambda get: any(part(get) for part in parts)
    if name == "Not":
        if len(children) != 1:
            raise schema_error("The element 'Not' must hold exactly one search expression.")
        inner = _compile(children[0], folders, zone)
        return lambda get: not inner(get)
    if not children or not is_path(children[0]):
        raise schema_error(f"The element '{name}' has incomplete content: a property path is expected.")
    path = parse_path(children[0], folders=folders)
    if name == "Exists":
        return lambda get: bool(get(path)[1])
    if name == "Excludes":
        bitmask = children[1] if len(children) > 1 else None
        if bitmask is None or local(bitmask.tag) != "Bitmask":
            raise schema_error("The element 'Excludes' needs a Bitmask.")
        text = (bitmask.get("Value") or "").strip()
        try:
            mask = int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            raise schema_error(f"The Bitmask value {text!r} is invalid.") from None

        def excludes(get: Getter) -> bool:
            kind, values = get(path)
            if kind != "int" and kind not in ("ext:Integer", "ext:Long", "ext:Short"):
                raise EwsError("ErrorUnsupportedPathForQuery", field_uri=path.element())
            return bool(values) and all(int(value) & mask == 0 for value in values)

        return excludes
    if name == "Contains":
        constant_elem = children[1] if len(children) > 1 else None
        if constant_elem is None or local(constant_elem.tag) != "Constant":
            raise schema_error("The element 'Contains' needs a Constant.")
        constant = constant_elem.get("Value") or ""
        mode = elem.get("ContainmentMode", "Substring")
        comparison = elem.get("ContainmentComparison", "Exact")
        if mode not in CONTAINMENT_MODES or comparison not in CONTAINMENT_COMPARISONS:
            raise schema_error(f"The containment mode {mode!r} or comparison {comparison!r} is invalid.")

        def contains(get: Getter) -> bool:
            kind, values = get(path)
            if kind not in ("text", "enum", "body", "ext:String"):
                raise EwsError("ErrorUnsupportedPathForQuery", field_uri=path.element())
            return any(_contains(str(value), constant, mode, comparison) for value in values)

        return contains
    if name in COMPARISONS:
        operator = COMPARISONS[name]
        operand = children[1] if len(children) > 1 else None
        if operand is None or local(operand.tag) != "FieldURIOrConstant":
            raise schema_error(f"The element '{name}' needs a FieldURIOrConstant.")
        operands = _children(operand)
        if len(operands) != 1:
            raise schema_error("The element 'FieldURIOrConstant' must hold one constant or path.")
        if local(operands[0].tag) == "Constant":
            text = operands[0].get("Value")

            def compare_constant(get: Getter) -> bool:
                kind, values = get(path)
                if kind == "body":
                    raise EwsError("ErrorUnsupportedPathForQuery", field_uri=path.element())
                constant = convert_constant(kind, text, zone)
                return any(operator(_comparable(kind, value), constant) for value in values)

            return compare_constant
        other = parse_path(operands[0], folders=folders)

        def compare_paths(get: Getter) -> bool:
            kind, values = get(path)
            other_kind, other_values = get(other)
            if kind != other_kind:
                return False
            return any(operator(_comparable(kind, a), _comparable(kind, b)) for a in values for b in other_values)

        return compare_paths
    raise schema_error(f"The element '{name}' is not a supported search expression.")


def parse_sort_order(elem: etree._Element | None, *, folders: bool = False) -> list[tuple[Path, bool]]:
    """The (path, descending) pairs of an m:SortOrder element."""
    if elem is None:
        return []
    orders = []
    for field_order in _children(elem):
        if local(field_order.tag) != "FieldOrder":
            raise schema_error(f"The element 'SortOrder' has invalid child element '{local(field_order.tag)}'.")
        direction = field_order.get("Order", "Ascending")
        if direction not in ("Ascending", "Descending"):
            raise schema_error(f"The 'Order' attribute is invalid - The value '{direction}' is invalid.")
        paths = _children(field_order)
        if len(paths) != 1 or not is_path(paths[0]):
            raise schema_error("The element 'FieldOrder' needs one property path.")
        orders.append((parse_path(paths[0], folders=folders), direction == "Descending"))
    return orders


class _Missing:
    """Sorts before every value (Exchange puts objects without the property first, ascending)."""

    def __lt__(self, other: object) -> bool:
        return not isinstance(other, _Missing)

    def __gt__(self, other: object) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Missing)

    def __hash__(self) -> int:
        return 0


class _Reversed:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value


def sort_key(orders: list[tuple[Path, bool]], get: Getter) -> tuple:
    parts = []
    for path, descending in orders:
        kind, values = get(path)
        if kind in ("body",):
            raise EwsError("ErrorUnsupportedPathForSortGroup", field_uri=path.element())
        value = _comparable(kind, values[0]) if values else _Missing()
        parts.append(_Reversed(value) if descending else value)
    return tuple(parts)
