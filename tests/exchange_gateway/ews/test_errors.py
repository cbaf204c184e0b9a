import socket

import pytest
import requests
from exchangelib import errors as ews

from exchange_gateway.errors import CODES, GatewayError
from exchange_gateway.ews.errors import map_exception


@pytest.mark.parametrize(
    "exception, code",
    [
        (ews.ErrorServerBusy("busy", back_off=7), "throttled"),
        (ews.ErrorItemNotFound("gone"), "not_found"),
        (ews.ErrorCalendarOccurrenceIsDeletedFromRecurrence("deleted"), "not_found"),  # one occurrence deleted
        (ews.ErrorInvalidIdMalformed("bad id"), "not_found"),
        (ews.ErrorFolderNotFound("no folder"), "not_found"),
        (ews.ErrorIrresolvableConflict("changed"), "conflict"),
        (ews.UnauthorizedError("401"), "auth_failed"),
        (ews.ErrorAccessDenied("no"), "auth_failed"),
        (ews.ErrorNonExistentMailbox("who"), "auth_failed"),
        (requests.exceptions.ConnectTimeout("slow"), "unreachable"),  # never connected: nothing was sent
        (requests.exceptions.ReadTimeout("slow"), "timeout"),
        (ews.ErrorTimeoutExpired("slow"), "timeout"),
        (requests.exceptions.ConnectionError("refused"), "unreachable"),
        (requests.exceptions.SSLError("bad cert"), "unreachable"),
        (socket.gaierror("no such host"), "unreachable"),
        (ews.ErrorSchemaValidation("bad xml"), "invalid"),
        (ValueError("bad value"), "invalid"),
        (ews.ErrorInternalServerError("oops"), "server_error"),
        (ews.TransportError("Unknown failure\nHTTP 500"), "server_error"),
        (RuntimeError("anything"), "server_error"),
    ],
)
def test_every_failure_has_a_stable_code(exception, code):
    error = map_exception(exception)
    assert error.code == code and error.code in CODES
    assert error.message and "\n" not in error.message


def test_throttling_carries_the_servers_back_off():
    assert map_exception(ews.ErrorServerBusy("busy", back_off=7)).details == {"retry_after": 7.0}
    assert map_exception(ews.ErrorServerBusy("busy")).retry_after == 60.0


def test_gateway_errors_pass_through():
    error = GatewayError("invalid", "x")
    assert map_exception(error) is error


def _reraised_by_exchangelib(cause: BaseException) -> BaseException:
    """What exchangelib raises for a connection error with more than one session: the requests
    error becomes ErrorTimeoutExpired, and that an ErrorServerBusy with a back-off of 10 s."""
    try:
        try:
            try:
                raise cause
            except Exception as e:
                raise ews.ErrorTimeoutExpired(f"Reraised from {e.__class__.__name__}({e})") from e
        except ews.ErrorTimeoutExpired as e:
            raise ews.ErrorServerBusy(f"Reraised from {e.__class__.__name__}({e})", back_off=10) from e
    except ews.ErrorServerBusy as busy:
        return busy


@pytest.mark.parametrize(
    "cause, code",
    [
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), "unreachable"),
        (requests.exceptions.ConnectTimeout("connect timed out"), "unreachable"),
        (requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")), "timeout"),
        (requests.exceptions.ReadTimeout("read timed out"), "timeout"),
    ],
)
def test_a_transport_failure_is_not_throttling_with_a_made_up_wait(cause, code):
    error = map_exception(_reraised_by_exchangelib(cause))
    assert error.code == code and error.retry_after is None


@pytest.mark.parametrize(
    "exception, code",
    [
        (ews.ErrorQuotaExceeded("full"), "mailbox_full"),
        (ews.ErrorInvalidSyncStateData("stale"), "sync_state_invalid"),
        (ews.ErrorMailboxStoreUnavailable("down"), "unreachable"),
        (ews.ErrorMailboxMoveInProgress("moving"), "unreachable"),
        (ews.ErrorInternalServerTransientError("transient"), "server_error"),
    ],
)
def test_failures_of_the_mailbox_have_their_own_codes(exception, code):
    from exchange_gateway.ews.errors import is_mailbox_wide

    assert map_exception(exception).code == code and is_mailbox_wide(exception)
    assert not is_mailbox_wide(ews.ErrorIrresolvableConflict("item")) and not is_mailbox_wide(ValueError("item"))
