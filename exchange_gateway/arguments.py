"""A request's arguments read and checked, the same for every backend: anything wrong is
GatewayError(invalid) with a sentence, before any work is done."""

from __future__ import annotations

from typing import Any, Mapping

from protocol.accounts import EWS_SCOPE, GRAPH_SCOPE, AccountError, AppCredentials
from protocol.entries import (
    CALENDAR,
    KINDS,
    MAX_SERIES,
    CalendarEntry,
    ContactEntry,
    Entry,
    EntryError,
    ItemRef,
    UpdateRequest,
    parse_utc,
)

from .errors import INVALID, GatewayError

MAX_BATCH = 500  # items (ids, requests) in one request, at most
MAX_CHANGES = 512  # changes in one page, at most
SCOPES = (GRAPH_SCOPE, EWS_SCOPE)  # the token scopes `exchange.app_check` may ask for


def kind(args: Mapping[str, Any]) -> str:
    value = args.get("kind", CALENDAR)
    if value not in KINDS:
        raise GatewayError(INVALID, f"kind must be one of {', '.join(KINDS)}")
    return str(value)


def text(args: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if not isinstance(value, str):
        raise GatewayError(INVALID, f"{name} must be a string")
    return value


def texts(args: Mapping[str, Any], name: str, each: str) -> list[str]:
    """A list of strings (ids), each checked as `each`."""
    return [text({each: value}, each) for value in batch(args, name)]


def batch(args: Mapping[str, Any], name: str) -> list[Any]:
    value = args.get(name)
    if not isinstance(value, list):
        raise GatewayError(INVALID, f"{name} must be a list")
    if len(value) > MAX_BATCH:
        raise GatewayError(INVALID, f"at most {MAX_BATCH} {name} per request, not {len(value)}")
    return value


def series(args: Mapping[str, Any]) -> list[str]:
    """The masters of `exchange.occurrences`: at most MAX_SERIES ids, each named once."""
    value = args.get("series")
    if not isinstance(value, list) or not all(isinstance(i, str) and i for i in value):
        raise GatewayError(INVALID, "series must be a list of master ids")
    if len(value) > MAX_SERIES:
        raise GatewayError(INVALID, f"at most {MAX_SERIES} series per request, not {len(value)}")
    return list(dict.fromkeys(value))


def window(args: Mapping[str, Any]) -> tuple[str, str]:
    """`start` and `end`, UTC instants 'YYYY-MM-DDTHH:MM:SSZ', start before end."""
    start, end = text(args, "start"), text(args, "end")
    try:
        first, last = parse_utc(start, "start"), parse_utc(end, "end")
    except EntryError as refused:
        raise GatewayError(INVALID, refused.message) from None
    if last <= first:
        raise GatewayError(INVALID, "end must be after start")
    return start, end


def entry(kind: str, wire: Any) -> Entry:
    try:
        return CalendarEntry.from_wire(wire) if kind == CALENDAR else ContactEntry.from_wire(wire)
    except EntryError as refused:
        raise GatewayError(INVALID, refused.message) from None


def item_ref(wire: Any) -> ItemRef:
    try:
        return ItemRef.from_wire(wire)
    except EntryError as refused:
        raise GatewayError(INVALID, refused.message) from None


def update(kind: str, wire: Any) -> UpdateRequest:
    """One item of an update: its reference, the writable fields named and the entry."""
    try:
        return UpdateRequest.from_wire(kind, wire)
    except EntryError as refused:
        raise GatewayError(INVALID, refused.message) from None


def app(args: Mapping[str, Any]) -> AppCredentials:
    """The club's app registration a request carries (`app`: the credentials map of an app account)."""
    wire = args.get("app")
    if not isinstance(wire, Mapping):
        raise GatewayError(INVALID, "app must be a map like an account's credentials of kind 'app'")
    try:
        return AppCredentials.from_wire(wire, "app.")
    except AccountError as refused:
        raise GatewayError(
            INVALID, refused.message if refused.message.startswith("app.") else f"app: {refused.message}"
        ) from None


def scopes(args: Mapping[str, Any]) -> list[str]:
    value = args.get("scopes", [GRAPH_SCOPE])
    if not isinstance(value, list) or not value or not all(scope in SCOPES for scope in value):
        raise GatewayError(INVALID, f"scopes must be a list of {', '.join(SCOPES)}")
    return list(dict.fromkeys(value))
