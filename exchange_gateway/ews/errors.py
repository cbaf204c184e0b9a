"""exchangelib's failures (and the network's under it) mapped to the gateway's stable codes
(../errors.py, where the codes and their meaning are listed).

The mailbox-wide and server-wide failures (`MAILBOX_WIDE`: a full mailbox, a store being moved or
unavailable, a server timeout or a busy server, whether they come as a SOAP fault or in the
response message of one item) always answer the whole request, so that the sync service ends that
mailbox's cycle without blaming any item.
"""

from __future__ import annotations

import socket
import ssl

import requests
from exchangelib import errors as ews_errors

from protocol.entries import EntryError

from ..errors import (
    AUTH_FAILED,
    CONFLICT,
    DEFAULT_RETRY_AFTER,
    INVALID,
    MAILBOX_FULL,
    MAILBOX_OUT_OF_REACH,
    NOT_FOUND,
    SERVER_ERROR,
    SYNC_STATE_INVALID,
    THROTTLED,
    TIMEOUT,
    UNREACHABLE,
    GatewayError,
)

__all__ = ["MAILBOX_WIDE", "ServiceUnavailable", "is_mailbox_wide", "map_exception"]


class ServiceUnavailable(ews_errors.TransportError):
    """HTTP 503 from the server (or a load balancer in front of it), with its Retry-After in seconds
    (None: it gave none). Raised by the gateway's retry policy (connection.py) instead of
    exchangelib's ErrorInternalServerTransientError, which loses the header."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_NOT_FOUND = (
    ews_errors.ErrorItemNotFound,
    ews_errors.ErrorFolderNotFound,
    ews_errors.ErrorInvalidIdMalformed,
    ews_errors.ErrorInvalidIdMalformedEwsLegacyIdFormat,
    ews_errors.ErrorMoveCopyFailed,
    ews_errors.ErrorCalendarOccurrenceIsDeletedFromRecurrence,  # an occurrence deleted: as good as gone
)
_CONFLICT = (ews_errors.ErrorIrresolvableConflict, ews_errors.ErrorChangeKeyRequiredForWriteOperations)
_AUTH = (
    ews_errors.UnauthorizedError,
    ews_errors.ErrorAccessDenied,
    ews_errors.ErrorNonExistentMailbox,
    ews_errors.ErrorImpersonateUserDenied,
    ews_errors.ErrorImpersonationDenied,
)
# the refusals of the mailbox itself, not of the credentials (the reason mailbox_out_of_reach)
_OUT_OF_REACH = (
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
    ews_errors.ErrorPropertyValidationFailure,
    ews_errors.ErrorCalendarEndDateIsEarlierThanStartDate,
    ews_errors.ErrorCalendarDurationIsTooLong,
    ews_errors.ErrorCalendarInvalidTimeZone,
    ews_errors.ErrorTimeZone,
    ews_errors.ErrorInvalidOperation,
    ValueError,
    TypeError,
)
_UNREACHABLE = (
    requests.exceptions.ConnectTimeout,  # never connected: nothing was sent
    requests.exceptions.ConnectionError,
    requests.exceptions.SSLError,
    ssl.SSLError,
    socket.gaierror,
    ConnectionError,
    ews_errors.RedirectError,
)
_TIMEOUT = (requests.exceptions.Timeout, socket.timeout, TimeoutError, ews_errors.ErrorTimeoutExpired)

# Failures of the mailbox or the server, not of an item: wherever they come (a SOAP fault, or the
# response message of one item of a batch), they answer the whole request.
MAILBOX_WIDE: dict[type[BaseException], str] = {
    ews_errors.ErrorQuotaExceeded: MAILBOX_FULL,
    ews_errors.ErrorMailboxStoreUnavailable: UNREACHABLE,
    ews_errors.ErrorMailboxMoveInProgress: UNREACHABLE,
    ews_errors.ErrorConnectionFailed: UNREACHABLE,
    ews_errors.ErrorConnectionFailedTransientError: UNREACHABLE,
    ews_errors.ErrorADUnavailable: UNREACHABLE,
    ews_errors.ErrorTimeoutExpired: TIMEOUT,
    ews_errors.ErrorServerBusy: THROTTLED,
    ews_errors.ErrorExceededConnectionCount: THROTTLED,
    ews_errors.ErrorTooManyObjectsOpened: SERVER_ERROR,
    ews_errors.ErrorInternalServerTransientError: SERVER_ERROR,
    ews_errors.ErrorBatchProcessingStopped: SERVER_ERROR,
    ews_errors.ErrorInvalidSyncStateData: SYNC_STATE_INVALID,
    ews_errors.ErrorNonExistentMailbox: AUTH_FAILED,
    ews_errors.ErrorImpersonateUserDenied: AUTH_FAILED,
    ews_errors.ErrorImpersonationDenied: AUTH_FAILED,
    ews_errors.UnauthorizedError: AUTH_FAILED,
}
_MAILBOX_WIDE_TYPES = tuple(MAILBOX_WIDE)


def is_mailbox_wide(exc: BaseException) -> bool:
    """Whether a failure concerns the mailbox or the server rather than one item."""
    return isinstance(exc, _MAILBOX_WIDE_TYPES) or isinstance(_unwrap(exc), _MAILBOX_WIDE_TYPES)


_NO_CONNECTION = (
    "Connection refused",
    "Failed to establish a new connection",
    "Name or service not known",
    "No route to host",
    "nodename nor servname",
    "getaddrinfo failed",
    "ConnectTimeout",
)


def _never_connected(exc: BaseException) -> bool:
    """exchangelib reports every connection error as a timeout; one that never connected is not
    an unknown outcome but an unreachable server."""
    text = f"{exc} {exc.__context__ or ''} {exc.__cause__ or ''}"
    return isinstance(exc.__context__, requests.exceptions.ConnectTimeout) or any(m in text for m in _NO_CONNECTION)


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


def _unwrap(exc: BaseException) -> BaseException:
    """The failure itself. exchangelib turns a connection error into ErrorTimeoutExpired, and that
    (or a transient error) into an ErrorServerBusy "Reraised from …" with a back-off of its own
    making (10 s): that is not the server asking us to wait, the failure before it tells what
    happened."""
    exc = _root(exc)
    seen = {id(exc)}
    while (
        isinstance(exc, ews_errors.ErrorServerBusy)
        and str(exc).startswith("Reraised from")
        and exc.__context__ is not None
        and id(exc.__context__) not in seen
    ):
        exc = _root(exc.__context__)
        seen.add(id(exc))
    return exc


def map_exception(exc: BaseException) -> GatewayError:
    """The stable code for an exception raised by exchangelib (or by the network under it)."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, EntryError):  # a value the entries' schema refuses, met while building the item
        return GatewayError(INVALID, exc.message)
    exc = _unwrap(exc)
    name = type(exc).__name__
    if isinstance(exc, ServiceUnavailable):
        if exc.retry_after:
            return GatewayError(THROTTLED, "the Exchange server is unavailable (HTTP 503)", float(exc.retry_after))
        return GatewayError(UNREACHABLE, "the Exchange server is unavailable (HTTP 503)")
    if isinstance(exc, ews_errors.ErrorServerBusy):
        if str(exc).startswith("Caused by"):  # exchangelib's reading of a closed connection, not the server's word
            return GatewayError(SERVER_ERROR, f"the Exchange server closed the connection ({_first_line(exc)})")
        back_off = getattr(exc, "back_off", None)
        return GatewayError(THROTTLED, "the Exchange server is busy", float(back_off or DEFAULT_RETRY_AFTER))
    if isinstance(exc, ews_errors.RateLimitError):
        wait = getattr(exc, "wait", None)
        return GatewayError(THROTTLED, "the Exchange server is busy", float(wait or DEFAULT_RETRY_AFTER))
    if isinstance(exc, ews_errors.ErrorTimeoutExpired) and _never_connected(exc):
        return GatewayError(
            UNREACHABLE, f"the Exchange server cannot be reached: {_first_line(exc.__context__ or exc)}"
        )
    if isinstance(exc, ews_errors.ErrorQuotaExceeded):
        return GatewayError(MAILBOX_FULL, "the mailbox is full (over its quota): Exchange refuses to store more")
    if isinstance(exc, ews_errors.ErrorInvalidSyncStateData):
        return GatewayError(SYNC_STATE_INVALID, "Exchange no longer accepts the sync state: the folder is read afresh")
    code = next((code for kind, code in MAILBOX_WIDE.items() if isinstance(exc, kind)), None)
    if code in (UNREACHABLE, SERVER_ERROR):
        return GatewayError(code, f"{name}: {_first_line(exc)}")
    if isinstance(exc, _NOT_FOUND):
        return GatewayError(NOT_FOUND, f"{name}: {_first_line(exc)}")
    if isinstance(exc, _CONFLICT):
        return GatewayError(CONFLICT, f"{name}: the item changed in Exchange since it was read")
    if isinstance(exc, _AUTH):  # a refused login names no reason: the operations give it by the credentials
        reason = MAILBOX_OUT_OF_REACH if isinstance(exc, _OUT_OF_REACH) else None
        return GatewayError(
            AUTH_FAILED, "Exchange refused the user name or password, or access to the mailbox", reason=reason
        )
    if isinstance(exc, _TIMEOUT) and not isinstance(exc, requests.exceptions.ConnectTimeout):
        return GatewayError(TIMEOUT, f"no answer from the Exchange server in time ({name})")
    if isinstance(exc, _UNREACHABLE):
        return GatewayError(UNREACHABLE, f"the Exchange server cannot be reached: {_first_line(exc)}")
    if isinstance(exc, _INVALID):
        return GatewayError(INVALID, f"{name}: {_first_line(exc)}")
    if isinstance(exc, ews_errors.TransportError) and "503" in str(exc):
        return GatewayError(UNREACHABLE, "the Exchange server is unavailable (HTTP 503)")
    return GatewayError(SERVER_ERROR, f"{name}: {_first_line(exc)}")
