"""Every failure of an Exchange call becomes one of a few stable codes on the wire.

| code | meaning | the sync service should |
|---|---|---|
| auth_failed | wrong user name or password, or no access to the mailbox | stop this mailbox until its account changes |
| not_found | the item or folder does not exist (any more) | treat it as deleted |
| conflict | the item changed since the change key we sent | re-read it and decide again |
| throttled | the server asks us to slow down; `retry_after` seconds | wait that long for this mailbox |
| unreachable | the server cannot be reached (DNS, refused, TLS) | retry later |
| timeout | no answer within the deadline | retry later; the outcome is unknown |
| invalid | the request is wrong (bad arguments, a value Exchange refuses) | not retry the same item unchanged |
| server_error | anything else the server said | retry later, counting an attempt |
| unsupported | an item of a kind the sync does not handle (a contact group, say) | skip it, counting it |
| busy | an earlier create of the same item is still running in the gateway | ask again later; no attempt counted |
"""

from __future__ import annotations

import socket
import ssl

import requests
from exchangelib import errors as ews_errors

from protocol.rpc import OperationError

AUTH_FAILED = "auth_failed"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
THROTTLED = "throttled"
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
INVALID = "invalid"
SERVER_ERROR = "server_error"
UNSUPPORTED = "unsupported"
BUSY = "busy"
CODES = (AUTH_FAILED, NOT_FOUND, CONFLICT, THROTTLED, UNREACHABLE, TIMEOUT, INVALID, SERVER_ERROR, UNSUPPORTED, BUSY)
DEFAULT_RETRY_AFTER = 60.0


class GatewayError(OperationError):
    """An OperationError with one of CODES, and for `throttled` the seconds to wait."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message, {"retry_after": retry_after} if retry_after is not None else None)
        self.retry_after = retry_after

    def to_wire(self) -> dict[str, object]:
        """As an item's error in a batch result."""
        return {**self.details, "code": self.code, "message": self.message}


_NOT_FOUND = (
    ews_errors.ErrorItemNotFound,
    ews_errors.ErrorFolderNotFound,
    ews_errors.ErrorInvalidIdMalformed,
    ews_errors.ErrorInvalidIdMalformedEwsLegacyIdFormat,
    ews_errors.ErrorMoveCopyFailed,
)
_CONFLICT = (ews_errors.ErrorIrresolvableConflict, ews_errors.ErrorChangeKeyRequiredForWriteOperations)
_AUTH = (
    ews_errors.UnauthorizedError,
    ews_errors.ErrorAccessDenied,
    ews_errors.ErrorNonExistentMailbox,
    ews_errors.ErrorImpersonateUserDenied,
    ews_errors.ErrorImpersonationDenied,
)
_INVALID = (
    ews_errors.ErrorInvalidPropertySet,
    ews_errors.ErrorInvalidRequest,
    ews_errors.ErrorSchemaValidation,
    ews_errors.ErrorInvalidPropertyRequest,
    ews_errors.ErrorInvalidValueForProperty,
    ews_errors.ErrorCalendarEndDateIsEarlierThanStartDate,
    ews_errors.ErrorInvalidOperation,
    ValueError,
    TypeError,
)
_UNREACHABLE = (
    requests.exceptions.ConnectionError,
    requests.exceptions.SSLError,
    ssl.SSLError,
    socket.gaierror,
    ConnectionError,
    ews_errors.RedirectError,
)
_TIMEOUT = (requests.exceptions.Timeout, socket.timeout, TimeoutError, ews_errors.ErrorTimeoutExpired)


_NO_CONNECTION = ("Connection refused", "Failed to establish a new connection", "Name or service not known",
                  "No route to host", "nodename nor servname", "getaddrinfo failed")  # fmt: skip


def _never_connected(exc: BaseException) -> bool:
    """exchangelib reports every connection error as a timeout; one that never connected is not
    an unknown outcome but an unreachable server."""
    text = f"{exc} {exc.__context__ or ''} {exc.__cause__ or ''}"
    return any(marker in text for marker in _NO_CONNECTION)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _root(exc: BaseException) -> BaseException:
    """exchangelib sometimes wraps the real failure in a generic TransportError (e.g. while it
    asks the server for its version); the first specific exception in the chain tells more."""
    seen = {id(exc)}
    current: BaseException | None = exc
    while current is not None and type(current) in (ews_errors.TransportError, ews_errors.EWSError):
        current = current.__cause__ or current.__context__
        if current is None or id(current) in seen:
            return exc
        seen.add(id(current))
    return current or exc


def map_exception(exc: BaseException) -> GatewayError:
    """The stable code for an exception raised by exchangelib (or by the network under it)."""
    if isinstance(exc, GatewayError):
        return exc
    exc = _root(exc)
    name = type(exc).__name__
    if isinstance(exc, ews_errors.ErrorServerBusy):
        back_off = getattr(exc, "back_off", None)
        return GatewayError(THROTTLED, "the Exchange server is busy", float(back_off or DEFAULT_RETRY_AFTER))
    if isinstance(exc, ews_errors.RateLimitError):
        wait = getattr(exc, "wait", None)
        return GatewayError(THROTTLED, "the Exchange server is busy", float(wait or DEFAULT_RETRY_AFTER))
    if isinstance(exc, ews_errors.ErrorTimeoutExpired) and _never_connected(exc):
        return GatewayError(
            UNREACHABLE, f"the Exchange server cannot be reached: {_first_line(exc.__context__ or exc)}"
        )
    if isinstance(exc, _NOT_FOUND):
        return GatewayError(NOT_FOUND, f"{name}: {_first_line(exc)}")
    if isinstance(exc, _CONFLICT):
        return GatewayError(CONFLICT, f"{name}: the item changed in Exchange since it was read")
    if isinstance(exc, _AUTH):
        return GatewayError(AUTH_FAILED, "Exchange refused the user name or password, or access to the mailbox")
    if isinstance(exc, _TIMEOUT):
        return GatewayError(TIMEOUT, f"no answer from the Exchange server in time ({name})")
    if isinstance(exc, _UNREACHABLE):
        return GatewayError(UNREACHABLE, f"the Exchange server cannot be reached: {_first_line(exc)}")
    if isinstance(exc, _INVALID):
        return GatewayError(INVALID, f"{name}: {_first_line(exc)}")
    if isinstance(exc, ews_errors.TransportError) and "503" in str(exc):
        return GatewayError(THROTTLED, "the Exchange server is unavailable (HTTP 503)", DEFAULT_RETRY_AFTER)
    return GatewayError(SERVER_ERROR, f"{name}: {_first_line(exc)}")
