"""The messages of the wire protocol as frozen dataclasses, validated from and to wire maps.

    {"op": "connect", "protocol": 1, "client": str, "token": str}
    {"op": "confirm", "protocol": 1, "server": "exchange-gateway", "version": str}
    {"op": "refuse", "reason": str}
    {"op": <any other str>, "id": int, "args": map}                       a request
    {"op": "reply", "id": int, "ok": true, "result": any}
    {"op": "reply", "id": int, "ok": false, "error": {"code": str, "message": str}}

Keys a message does not know are ignored, so that a newer peer may add some.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from .errors import ProtocolError

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Connect:
    protocol: int
    client: str
    token: str = field(repr=False)

    def to_wire(self) -> dict[str, Any]:
        return {"op": "connect", "protocol": self.protocol, "client": self.client, "token": self.token}


@dataclass(frozen=True)
class Confirm:
    protocol: int
    server: str
    version: str

    def to_wire(self) -> dict[str, Any]:
        return {"op": "confirm", "protocol": self.protocol, "server": self.server, "version": self.version}


@dataclass(frozen=True)
class Refuse:
    reason: str

    def to_wire(self) -> dict[str, Any]:
        return {"op": "refuse", "reason": self.reason}


@dataclass(frozen=True)
class Request:
    op: str
    id: int
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"op": self.op, "id": self.id, "args": dict(self.args)}


@dataclass(frozen=True)
class ErrorDetail:
    """`details` are further keys of the error map, e.g. `retry_after` for a throttled request."""

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {**self.details, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Success:
    """A reply with ok=true."""

    id: int
    result: Any = None

    def to_wire(self) -> dict[str, Any]:
        return {"op": "reply", "id": self.id, "ok": True, "result": self.result}


@dataclass(frozen=True)
class Failure:
    """A reply with ok=false."""

    id: int
    error: ErrorDetail

    def to_wire(self) -> dict[str, Any]:
        return {"op": "reply", "id": self.id, "ok": False, "error": self.error.to_wire()}


Message = Union[Connect, Confirm, Refuse, Request, Success, Failure]
Reply = Union[Success, Failure]
RESERVED_OPS = frozenset({"connect", "confirm", "refuse", "reply"})


def _get(wire: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in wire:
        raise ProtocolError(f"{what} lacks the field {key!r}")
    value = wire[key]
    # bool is an int in Python, never on our wire
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise ProtocolError(f"{what} field {key!r} has the wrong type {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _get_id(wire: Mapping[str, Any], what: str) -> int:
    value = _get(wire, "id", int, what)
    if not 0 <= value <= MAX_ID:
        raise ProtocolError(f"{what} id {value} is out of range")
    return value


def message_from_wire(wire: Mapping[str, Any]) -> Message:
    """Validate a decoded frame and build its message. Raises ProtocolError with the reason."""
    if not isinstance(wire, Mapping):
        raise ProtocolError(f"a message must be a map, not {type(wire).__name__}")
    op = _get(wire, "op", str, "message")
    if op == "connect":
        return Connect(
            protocol=_get(wire, "protocol", int, "connect"),
            client=_get(wire, "client", str, "connect"),
            token=_get(wire, "token", str, "connect"),
        )
    if op == "confirm":
        return Confirm(
            protocol=_get(wire, "protocol", int, "confirm"),
            server=_get(wire, "server", str, "confirm"),
            version=_get(wire, "version", str, "confirm"),
        )
    if op == "refuse":
        return Refuse(reason=_get(wire, "reason", str, "refuse"))
    if op == "reply":
        rid = _get_id(wire, "reply")
        if _get(wire, "ok", bool, "reply"):
            return Success(id=rid, result=wire.get("result"))
        error = _get(wire, "error", dict, "reply")
        return Failure(
            id=rid,
            error=ErrorDetail(
                code=_get(error, "code", str, "reply error"),
                message=_get(error, "message", str, "reply error"),
                details={k: v for k, v in error.items() if k not in ("code", "message")},
            ),
        )
    if not op:
        raise ProtocolError("request op is empty")
    args = wire.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError(f"request field 'args' has the wrong type {type(args).__name__}")
    return Request(op=op, id=_get_id(wire, "request"), args=args)
